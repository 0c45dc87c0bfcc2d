/* The public half of a key on a token, for verification: the public key
 * object or the certificate with the label/id the URI names (public objects:
 * no login), else, after a login, the private key's modulus and exponent. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "keys/pubkey.h"
#include "pkcs11/session.h"
#include "util/log.h"

/* Look for the key among public keys, then certificates, then (when logged
 * in) private keys. 1: found, 0: nothing, -1: error (reported). */
static int find_public(p11_session *s, EVP_PKEY **out)
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PUBLIC_KEY, CKO_CERTIFICATE,
						   CKO_PRIVATE_KEY };
	CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(s->uri, CKA_LABEL);
	CK_ATTRIBUTE *id = p11_kit_uri_get_attribute(s->uri, CKA_ID);
	CK_ATTRIBUTE *cls_attr = p11_kit_uri_get_attribute(s->uri, CKA_CLASS);

	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		CK_OBJECT_CLASS cls = classes[c];
		CK_ATTRIBUTE t[3] = { { CKA_CLASS, &cls, sizeof(cls) } };
		CK_OBJECT_HANDLE found[2];
		CK_ULONG n = 1, count = 0;

		if (cls_attr != NULL && cls_attr->ulValueLen == sizeof(cls) &&
		    *(CK_OBJECT_CLASS *)cls_attr->pValue != cls)
			continue;
		if (cls == CKO_PRIVATE_KEY && !s->logged_in)
			continue;
		if (label != NULL)
			t[n++] = *label;
		if (id != NULL)
			t[n++] = *id;
		if (p11_find(s->tok, s->session, t, n, found, 2, &count) != QSJWT_OK)
			return -1;
		if (count > 1) {
			log_error("the PKCS#11 URI matches several %s on token '%s'; add object= or "
				  "id= to choose one",
				  cls == CKO_CERTIFICATE ? "certificates" : "keys", s->tok->label);
			return -1;
		}
		if (count == 0)
			continue;
		*out = p11_object_public(s, cls, found[0]);
		ERR_clear_error();
		if (*out == NULL) {
			log_error("cannot read the public key of the object the URI names on token "
				  "'%s'",
				  s->tok->label);
			return -1;
		}
		log_verbose("verification key: the %s on token '%s'",
			    cls == CKO_PUBLIC_KEY    ? "public key object"
			    : cls == CKO_CERTIFICATE ? "certificate"
						     : "private key's public half",
			    s->tok->label);
		return 1;
	}
	return 0;
}

qsjwt_err qsjwt_pubkey_from_pkcs11(const qsjwt_pkcs11_opts *o, qsjwt_pubkey **out)
{
	p11_session s;
	EVP_PKEY *pkey = NULL;
	char what[300];
	qsjwt_err rc;
	int r;

	rc = p11_session_begin(&s, o, 0, 0, 0);
	if (rc != QSJWT_OK)
		return rc;
	r = find_public(&s, &pkey);
	if (r == 0 && (s.tok->info.flags & CKF_LOGIN_REQUIRED)) {
		/* Not public: look again as the user (PIN rules apply). */
		rc = p11_session_login(&s, o);
		if (rc != QSJWT_OK)
			goto out;
		r = find_public(&s, &pkey);
	}
	if (r <= 0) {
		if (r == 0) {
			log_error("the PKCS#11 URI matches no public key, certificate or private key "
				  "on token '%s'",
				  s.tok->label);
			p11_session_list_keys(&s);
		}
		rc = QSJWT_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(what, sizeof(what), "the key on token '%s'", s.tok->label);
	rc = pubkey_from_evp(pkey, what, out);
out:
	p11_session_end(&s);
	return rc;
}
