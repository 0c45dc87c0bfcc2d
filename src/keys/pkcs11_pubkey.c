/* The public half of a key on a token, for verification: the public key
 * object or the certificate with the label/id the URI names (public objects:
 * no login), else, after a login, the private key's modulus and exponent. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "keys/pubkey.h"
#include "keys/signer_pkcs11.h"
#include "util/log.h"
#include "util/strbuf.h"

/* id-ecPublicKey (RFC 5480 section 2.1.1), DER. */
static const unsigned char oid_ec_public_key[] = { 0x06, 0x07, 0x2a, 0x86, 0x48,
						   0xce, 0x3d, 0x02, 0x01 };

static void der_header(strbuf *b, unsigned char tag, size_t len)
{
	unsigned char h[4] = { tag, 0, 0, 0 };
	size_t n = 2;

	if (len < 0x80) {
		h[1] = (unsigned char)len;
	} else if (len < 0x100) {
		h[1] = 0x81;
		h[2] = (unsigned char)len;
		n = 3;
	} else {
		h[1] = 0x82;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		n = 4;
	}
	strbuf_add(b, h, n);
}

static size_t der_len(size_t len)
{
	return len < 0x80 ? 2 + len : len < 0x100 ? 3 + len : 4 + len;
}

/* An EC public key object: CKA_EC_PARAMS (the curve OID, DER) and
 * CKA_EC_POINT (a DER OCTET STRING around the point, PKCS#11 v2.40 section
 * 2.3.3; some tokens give the bare point) made into a SubjectPublicKeyInfo. */
static EVP_PKEY *ec_public(p11_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
	unsigned char *params = NULL, *point = NULL;
	size_t params_len = 0, point_len = 0, alg_len, body, pt_len;
	const unsigned char *pt, *p;
	EVP_PKEY *pkey = NULL;
	strbuf b;

	strbuf_init(&b);
	if (p11_get_attr(t, h, o, CKA_EC_PARAMS, &params, &params_len) != QSJWT_OK ||
	    p11_get_attr(t, h, o, CKA_EC_POINT, &point, &point_len) != QSJWT_OK ||
	    params_len == 0 || point_len < 3)
		goto out;
	pt = point;
	pt_len = point_len;
	if (point[0] == 0x04 && point[1] == point_len - 2) {
		pt = point + 2;
		pt_len = point_len - 2;
	} else if (point[0] == 0x04 && point[1] == 0x81 && point[2] == point_len - 3) {
		pt = point + 3;
		pt_len = point_len - 3;
	}
	alg_len = sizeof(oid_ec_public_key) + params_len;
	body = der_len(alg_len) + der_len(pt_len + 1);
	der_header(&b, 0x30, body);
	der_header(&b, 0x30, alg_len);
	strbuf_add(&b, oid_ec_public_key, sizeof(oid_ec_public_key));
	strbuf_add(&b, params, params_len);
	der_header(&b, 0x03, pt_len + 1);
	strbuf_addch(&b, 0);
	strbuf_add(&b, pt, pt_len);
	if (b.failed)
		goto out;
	p = (const unsigned char *)b.data;
	pkey = d2i_PUBKEY(NULL, &p, (long)b.len);
out:
	strbuf_release(&b);
	free(params);
	free(point);
	return pkey;
}

EVP_PKEY *p11_object_public(p11_signer *ps, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE o)
{
	unsigned char *der = NULL, *n = NULL, *e = NULL;
	size_t len = 0, n_len = 0, e_len = 0;
	const unsigned char *p;
	EVP_PKEY *pkey = NULL;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	X509 *x;

	if (cls == CKO_CERTIFICATE) {
		if (p11_get_attr(ps->tok, ps->session, o, CKA_VALUE, &der, &len) == QSJWT_OK) {
			p = der;
			x = d2i_X509(NULL, &p, (long)len);
			if (x != NULL)
				pkey = X509_get_pubkey(x);
			X509_free(x);
		}
		free(der);
		return pkey;
	}
	(void)ps->tok->f->C_GetAttributeValue(ps->session, o, &a, 1);
	if (kt == CKK_EC)
		return cls == CKO_PUBLIC_KEY ? ec_public(ps->tok, ps->session, o) : NULL;
	if (p11_get_attr(ps->tok, ps->session, o, CKA_MODULUS, &n, &n_len) == QSJWT_OK &&
	    p11_get_attr(ps->tok, ps->session, o, CKA_PUBLIC_EXPONENT, &e, &e_len) == QSJWT_OK &&
	    n_len > 0 && e_len > 0)
		pkey = p11_rsa_public(n, n_len, e, e_len);
	free(n);
	free(e);
	return pkey;
}

/* Look for the key among public keys, then certificates, then (when logged
 * in) private keys. 1: found, 0: nothing, -1: error (reported). */
static int find_public(p11_signer *ps, EVP_PKEY **out)
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PUBLIC_KEY, CKO_CERTIFICATE,
						   CKO_PRIVATE_KEY };
	CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(ps->uri, CKA_LABEL);
	CK_ATTRIBUTE *id = p11_kit_uri_get_attribute(ps->uri, CKA_ID);
	CK_ATTRIBUTE *cls_attr = p11_kit_uri_get_attribute(ps->uri, CKA_CLASS);

	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		CK_OBJECT_CLASS cls = classes[c];
		CK_ATTRIBUTE t[3] = { { CKA_CLASS, &cls, sizeof(cls) } };
		CK_OBJECT_HANDLE found[2];
		CK_ULONG n = 1, count = 0;

		if (cls_attr != NULL && cls_attr->ulValueLen == sizeof(cls) &&
		    *(CK_OBJECT_CLASS *)cls_attr->pValue != cls)
			continue;
		if (cls == CKO_PRIVATE_KEY && !ps->logged_in)
			continue;
		if (label != NULL)
			t[n++] = *label;
		if (id != NULL)
			t[n++] = *id;
		if (p11_find(ps->tok, ps->session, t, n, found, 2, &count) != QSJWT_OK)
			return -1;
		if (count > 1) {
			log_error("the PKCS#11 URI matches several %s on token '%s'; add object= or "
				  "id= to choose one",
				  cls == CKO_CERTIFICATE ? "certificates" : "keys", ps->tok->label);
			return -1;
		}
		if (count == 0)
			continue;
		*out = p11_object_public(ps, cls, found[0]);
		ERR_clear_error();
		if (*out == NULL) {
			log_error("cannot read the public key of the object the URI names on token "
				  "'%s'",
				  ps->tok->label);
			return -1;
		}
		log_verbose("verification key: the %s on token '%s'",
			    cls == CKO_PUBLIC_KEY    ? "public key object"
			    : cls == CKO_CERTIFICATE ? "certificate"
						     : "private key's public half",
			    ps->tok->label);
		return 1;
	}
	return 0;
}

qsjwt_err qsjwt_pubkey_from_pkcs11(const qsjwt_pkcs11_opts *o, qsjwt_pubkey **out)
{
	p11_signer ps;
	EVP_PKEY *pkey = NULL;
	char what[300];
	qsjwt_err rc;
	int r;

	rc = p11_signer_open(&ps, o, 0, 0, 0);
	if (rc != QSJWT_OK)
		return rc;
	r = find_public(&ps, &pkey);
	if (r == 0 && (ps.tok->info.flags & CKF_LOGIN_REQUIRED)) {
		/* Not public: look again as the user (PIN rules apply). */
		rc = p11_signer_login(&ps, o);
		if (rc != QSJWT_OK)
			goto out;
		r = find_public(&ps, &pkey);
	}
	if (r <= 0) {
		if (r == 0) {
			log_error("the PKCS#11 URI matches no public key, certificate or private key "
				  "on token '%s'",
				  ps.tok->label);
			p11_list_keys_seen(&ps);
		}
		rc = QSJWT_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(what, sizeof(what), "the key on token '%s'", ps.tok->label);
	rc = pubkey_from_evp(pkey, what, out);
out:
	p11_signer_close(&ps);
	return rc;
}
