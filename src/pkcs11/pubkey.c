/* The public key of a token object, for verifying what the token signs:
 * a certificate's, an RSA key's modulus and exponent, an EC public key's
 * point. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "pkcs11/session.h"
#include "util/log.h"
#include "util/strbuf.h"

EVP_PKEY *p11_rsa_public(const unsigned char *n, size_t n_len, const unsigned char *e,
			 size_t e_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL), *bn_e = BN_bin2bn(e, (int)e_len, NULL);

	if (bld == NULL || bn_n == NULL || bn_e == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return pkey;
}

qsjwt_err p11_public_of(p11_session *s, CK_OBJECT_HANDLE key, EVP_PKEY **out)
{
	unsigned char *id = NULL;
	size_t id_len = 0;
	EVP_PKEY *pkey = NULL;
	const char *from = "the private key's modulus and exponent";

	(void)p11_get_attr(s->tok, s->session, key, CKA_ID, &id, &id_len);
	if (id_len > 0) {
		CK_OBJECT_CLASS classes[2] = { CKO_PUBLIC_KEY, CKO_CERTIFICATE };
		for (int c = 0; c < 2 && pkey == NULL; c++) {
			CK_ATTRIBUTE t[2] = { { CKA_CLASS, &classes[c], sizeof(classes[c]) },
					      { CKA_ID, id, id_len } };
			CK_OBJECT_HANDLE found[1];
			CK_ULONG count = 0;
			if (p11_find(s->tok, s->session, t, 2, found, 1, &count) != QSJWT_OK ||
			    count == 0)
				continue;
			pkey = p11_object_public(s, classes[c], found[0]);
			if (pkey != NULL && !EVP_PKEY_is_a(pkey, "RSA")) {
				/* another key with the same id (an EC key, say) */
				EVP_PKEY_free(pkey);
				pkey = NULL;
				continue;
			}
			from = c == 0 ? "the public key object with the same id"
				      : "the certificate with the same id";
		}
	}
	if (pkey == NULL) {
		pkey = p11_object_public(s, CKO_PRIVATE_KEY, key);
		from = "the private key's modulus and exponent";
	}
	free(id);
	ERR_clear_error();
	if (pkey == NULL) {
		log_error("cannot find the public half of the key on token '%s' (no public key "
			  "or certificate with the same id, and the private key does not show "
			  "its modulus)",
			  s->tok->label);
		return QSJWT_ERR_KEY;
	}
	log_verbose("public key for verification: %s", from);
	*out = pkey;
	return QSJWT_OK;
}

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

EVP_PKEY *p11_object_public(p11_session *s, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE o)
{
	unsigned char *der = NULL, *n = NULL, *e = NULL;
	size_t len = 0, n_len = 0, e_len = 0;
	const unsigned char *p;
	EVP_PKEY *pkey = NULL;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	X509 *x;

	if (cls == CKO_CERTIFICATE) {
		if (p11_get_attr(s->tok, s->session, o, CKA_VALUE, &der, &len) == QSJWT_OK) {
			p = der;
			x = d2i_X509(NULL, &p, (long)len);
			if (x != NULL)
				pkey = X509_get_pubkey(x);
			X509_free(x);
		}
		free(der);
		return pkey;
	}
	(void)s->tok->f->C_GetAttributeValue(s->session, o, &a, 1);
	if (kt == CKK_EC)
		return cls == CKO_PUBLIC_KEY ? ec_public(s->tok, s->session, o) : NULL;
	if (p11_get_attr(s->tok, s->session, o, CKA_MODULUS, &n, &n_len) == QSJWT_OK &&
	    p11_get_attr(s->tok, s->session, o, CKA_PUBLIC_EXPONENT, &e, &e_len) == QSJWT_OK &&
	    n_len > 0 && e_len > 0)
		pkey = p11_rsa_public(n, n_len, e, e_len);
	free(n);
	free(e);
	return pkey;
}
