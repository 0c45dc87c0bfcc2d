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

int p11_has_mechanism(p11_token *t, CK_MECHANISM_TYPE mech, CK_FLAGS flags,
		      CK_MECHANISM_INFO *info_out)
{
	CK_MECHANISM_INFO info;

	if (t->f->C_GetMechanismInfo(t->slot, mech, &info) != CKR_OK)
		return 0;
	if ((info.flags & flags) != flags)
		return 0;
	if (info_out != NULL)
		*info_out = info;
	return 1;
}
