/* RSA public keys as JWK (RFC 7517, RFC 7518 section 6.3.1) and their
 * thumbprints (RFC 7638), and the request that creates a Qlik Cloud JWT
 * identity provider for a key. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <qsjwt/qsjwt.h>

#include "jose/b64url.h"
#include "keys/signer_impl.h"
#include "util/log.h"
#include "util/strbuf.h"

qsjwt_err qsjwt_jwk_rsa(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len,
			char **jwk_out, char **thumbprint_out)
{
	unsigned char digest[32];
	strbuf canon, jwk, thumb;
	char *j = NULL, *t = NULL;
	qsjwt_err rc = QSJWT_ERR_NOMEM;

	/* "MUST utilize the minimum number of octets" (RFC 7518 section
	 * 6.3.1.1): a token's CKA_MODULUS may have leading zeros. */
	while (n_len > 0 && n[0] == 0) {
		n++;
		n_len--;
	}
	while (e_len > 0 && e[0] == 0) {
		e++;
		e_len--;
	}
	if (n_len == 0 || e_len == 0)
		return QSJWT_ERR_INVALID;
	strbuf_init(&canon);
	strbuf_init(&jwk);
	strbuf_init(&thumb);
	/* RFC 7638 section 3.2: the required members e, kty, n in
	 * lexicographic order, no whitespace; the JWK uses the same bytes. */
	strbuf_addstr(&canon, "{\"e\":\"");
	b64url_append(&canon, e, e_len);
	strbuf_addstr(&canon, "\",\"kty\":\"RSA\",\"n\":\"");
	b64url_append(&canon, n, n_len);
	strbuf_addstr(&canon, "\"}");
	if (canon.failed)
		goto out;
	if (EVP_Digest(canon.data, canon.len, digest, NULL, EVP_sha256(), NULL) != 1) {
		ERR_clear_error();
		rc = QSJWT_ERR_CRYPTO;
		goto out;
	}
	b64url_append(&thumb, digest, sizeof(digest));
	strbuf_addstr(&jwk, canon.data);
	j = strbuf_detach(&jwk, NULL);
	t = strbuf_detach(&thumb, NULL);
	if (j == NULL || t == NULL)
		goto out;
	if (jwk_out != NULL) {
		*jwk_out = j;
		j = NULL;
	}
	if (thumbprint_out != NULL) {
		*thumbprint_out = t;
		t = NULL;
	}
	rc = QSJWT_OK;
out:
	free(j);
	free(t);
	strbuf_release(&canon);
	strbuf_release(&jwk);
	strbuf_release(&thumb);
	return rc;
}

static unsigned char *bn_param(EVP_PKEY *pkey, const char *name, size_t *len)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 && BN_num_bytes(bn) > 0) {
		buf = malloc((size_t)BN_num_bytes(bn));
		if (buf != NULL)
			*len = (size_t)BN_bn2bin(bn, buf);
	}
	BN_free(bn);
	return buf;
}

qsjwt_err qsjwt_signer_jwk(const qsjwt_signer *s, char **jwk_out, char **thumbprint_out)
{
	EVP_PKEY *pub = signer_public_key(s);
	unsigned char *n = NULL, *e = NULL;
	size_t n_len = 0, e_len = 0;
	qsjwt_err rc = QSJWT_ERR_KEY;

	if (pub != NULL) {
		n = bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n_len);
		e = bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e_len);
	}
	ERR_clear_error();
	if (n != NULL && e != NULL)
		rc = qsjwt_jwk_rsa(n, n_len, e, e_len, jwk_out, thumbprint_out);
	else
		log_error("cannot read the RSA public key of %s", qsjwt_signer_describe(s));
	free(n);
	free(e);
	return rc;
}

qsjwt_err qsjwt_qscloud_idp_json(const char *issuer, const char *kid, const char *pem,
				 char **json_out)
{
	cJSON *doc = cJSON_CreateObject(), *opts, *keys, *key;
	char *text = NULL, *copy = NULL;
	qsjwt_err rc = QSJWT_ERR_NOMEM;

	/* CreateJWTAuthPayload of POST /api/v1/identity-providers, as
	 * `qlik identity-provider create jwtauth --file` takes it (see
	 * docs/compatibility.md). One static key: Qlik allows no more. */
	if (doc == NULL || cJSON_AddStringToObject(doc, "provider", "external") == NULL ||
	    cJSON_AddStringToObject(doc, "protocol", "jwtAuth") == NULL ||
	    cJSON_AddStringToObject(doc, "description", "qs-jwt create-qscloud") == NULL)
		goto out;
	opts = cJSON_AddObjectToObject(doc, "options");
	if (opts == NULL || cJSON_AddStringToObject(opts, "issuer", issuer) == NULL)
		goto out;
	keys = cJSON_AddArrayToObject(opts, "staticKeys");
	key = cJSON_CreateObject();
	if (keys == NULL || key == NULL) {
		cJSON_Delete(key);
		goto out;
	}
	cJSON_AddItemToArray(keys, key);
	if (cJSON_AddStringToObject(key, "kid", kid) == NULL ||
	    cJSON_AddStringToObject(key, "pem", pem) == NULL)
		goto out;
	text = cJSON_Print(doc);
	if (text == NULL)
		goto out;
	copy = malloc(strlen(text) + 2);
	if (copy == NULL)
		goto out;
	memcpy(copy, text, strlen(text));
	copy[strlen(text)] = '\n';
	copy[strlen(text) + 1] = '\0';
	*json_out = copy;
	rc = QSJWT_OK;
out:
	cJSON_free(text);
	cJSON_Delete(doc);
	return rc;
}
