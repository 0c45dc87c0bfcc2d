/* Object search and attributes (PKCS#11 v2.40 sections 5.6 and 5.7). */
#include <stdlib.h>

#include "pkcs11/p11.h"
#include "util/log.h"

qsjwt_err p11_find(p11_token *t, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		   CK_OBJECT_HANDLE *found, CK_ULONG max, CK_ULONG *count)
{
	CK_RV rv = t->f->C_FindObjectsInit(h, tmpl, n);

	*count = 0;
	if (rv == CKR_OK) {
		rv = t->f->C_FindObjects(h, found, max, count);
		t->f->C_FindObjectsFinal(h);
	}
	if (rv != CKR_OK) {
		log_error("cannot search objects on token '%s': %s", t->label, p11_rv_name(rv));
		return QSJWT_ERR_IO;
	}
	return QSJWT_OK;
}

qsjwt_err p11_get_attr(p11_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
		       CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv = t->f->C_GetAttributeValue(h, o, &a, 1);

	*val = NULL;
	*len = 0;
	if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return QSJWT_ERR_KEY;
	if (a.ulValueLen == 0)
		return QSJWT_OK;
	a.pValue = malloc(a.ulValueLen + 1);
	if (a.pValue == NULL)
		return QSJWT_ERR_NOMEM;
	rv = t->f->C_GetAttributeValue(h, o, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return QSJWT_ERR_KEY;
	}
	((unsigned char *)a.pValue)[a.ulValueLen] = 0;
	*val = a.pValue;
	*len = a.ulValueLen;
	return QSJWT_OK;
}

int p11_get_bool(p11_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = { type, &b, sizeof(b) };

	if (t->f->C_GetAttributeValue(h, o, &a, 1) != CKR_OK || a.ulValueLen != sizeof(b))
		return -1;
	return b == CK_TRUE;
}

/* The slot's mechanism list, read once. Some tokens (SoftHSM2 with
 * slots.mechanisms) answer C_GetMechanismInfo for mechanisms they then
 * refuse in C_SignInit; only the list is filtered. */
static int in_mechanism_list(p11_token *t, CK_MECHANISM_TYPE mech)
{
	CK_ULONG n = 0;

	if (!t->mechs_read) {
		t->mechs_read = 1;
		if (t->f->C_GetMechanismList(t->slot, NULL, &n) == CKR_OK && n > 0) {
			/* One spare entry: p11-kit-client.so before 0.25 reads one
			 * past the buffer when it drops a mechanism it cannot
			 * forward (p11-kit pull request 456). */
			t->mechs = calloc(n + 1, sizeof(*t->mechs));
			if (t->mechs != NULL &&
			    t->f->C_GetMechanismList(t->slot, t->mechs, &n) == CKR_OK) {
				t->n_mechs = n;
			} else {
				free(t->mechs);
				t->mechs = NULL;
			}
		}
	}
	for (CK_ULONG i = 0; i < t->n_mechs; i++) {
		if (t->mechs[i] == mech)
			return 1;
	}
	return 0;
}

int p11_has_mechanism(p11_token *t, CK_MECHANISM_TYPE mech, CK_FLAGS flags,
		      CK_MECHANISM_INFO *info_out)
{
	CK_MECHANISM_INFO info;

	if (!in_mechanism_list(t, mech))
		return 0;
	if (t->f->C_GetMechanismInfo(t->slot, mech, &info) != CKR_OK)
		return 0;
	if ((info.flags & flags) != flags)
		return 0;
	if (info_out != NULL)
		*info_out = info;
	return 1;
}
