/* Public keys to verify tokens with: from PEM/DER data, or from a token. */
#include "keys/pubkey.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/log.h"

struct qsjwt_pubkey {
	EVP_PKEY *pkey;
	pubkey_kind kind;
	char desc[40];
};

qsjwt_err pubkey_from_evp(EVP_PKEY *pkey, const char *what, qsjwt_pubkey **out)
{
	qsjwt_pubkey *k = calloc(1, sizeof(*k));
	char curve[64] = "";

	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return QSJWT_ERR_NOMEM;
	}
	k->pkey = pkey;
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		k->kind = PUBKEY_RSA;
		snprintf(k->desc, sizeof(k->desc), "RSA %d bits", EVP_PKEY_get_bits(pkey));
	} else if (EVP_PKEY_is_a(pkey, "EC") &&
		   EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, curve,
						  sizeof(curve), NULL) == 1 &&
		   (strcmp(curve, "prime256v1") == 0 || strcmp(curve, "secp384r1") == 0 ||
		    strcmp(curve, "secp521r1") == 0)) {
		k->kind = strcmp(curve, "prime256v1") == 0  ? PUBKEY_EC_P256
			  : strcmp(curve, "secp384r1") == 0 ? PUBKEY_EC_P384
							    : PUBKEY_EC_P521;
		snprintf(k->desc, sizeof(k->desc), "EC %s",
			 k->kind == PUBKEY_EC_P256   ? "P-256"
			 : k->kind == PUBKEY_EC_P384 ? "P-384"
						     : "P-521");
	} else {
		const char *type = EVP_PKEY_get0_type_name(pkey);
		log_error("%s holds a %s%s%s key; tokens are verified with RSA keys (RS256, RS384, "
			  "RS512) or EC keys on P-256, P-384 or P-521 (ES256, ES384, ES512)",
			  what, type != NULL ? type : "non-RSA", curve[0] ? " " : "", curve);
		qsjwt_pubkey_free(k);
		return QSJWT_ERR_KEY;
	}
	ERR_clear_error();
	*out = k;
	return QSJWT_OK;
}

EVP_PKEY *pubkey_evp(const qsjwt_pubkey *k)
{
	return k->pkey;
}

pubkey_kind pubkey_kind_of(const qsjwt_pubkey *k)
{
	return k->kind;
}

const char *qsjwt_pubkey_describe(const qsjwt_pubkey *k)
{
	return k->desc;
}

void qsjwt_pubkey_free(qsjwt_pubkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* SPKI or PKCS#1 public key, PEM or DER. */
static EVP_PKEY *decode_public(const unsigned char *data, size_t len, const char *format)
{
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, format, NULL, NULL,
							       EVP_PKEY_PUBLIC_KEY, NULL, NULL);

	if (dctx != NULL && OSSL_DECODER_from_data(dctx, &data, &len) != 1)
		pkey = NULL;
	OSSL_DECODER_CTX_free(dctx);
	return pkey;
}

static int contains(const unsigned char *data, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(data + i, needle, n) == 0)
			return 1;
	}
	return 0;
}

qsjwt_err qsjwt_pubkey_from_data(const unsigned char *data, size_t len, const char *what,
				 qsjwt_pubkey **out)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	const unsigned char *p = data;
	BIO *bio;

	if (len > INT32_MAX) {
		log_error("%s is larger than %ld bytes; refusing to read it", what,
			  (long)INT32_MAX);
		return QSJWT_ERR_INVALID;
	}
	if (contains(data, len, "PRIVATE KEY-----")) {
		log_error("%s holds a private key; give the public key or the certificate "
			  "(publickey.pem or publickey.cer) instead",
			  what);
		return QSJWT_ERR_KEY;
	}
	if (contains(data, len, "-----BEGIN CERTIFICATE-----")) {
		bio = BIO_new_mem_buf(data, (int)len);
		x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else if (contains(data, len, "-----BEGIN ")) {
		pkey = decode_public(data, len, "PEM");
	} else {
		x = d2i_X509(NULL, &p, (long)len);
		if (x == NULL || p != data + len) {
			X509_free(x);
			x = NULL;
			pkey = decode_public(data, len, "DER");
		}
	}
	if (x != NULL) {
		pkey = X509_get_pubkey(x);
		X509_free(x);
	}
	if (pkey == NULL) {
		log_error("%s holds no public key or certificate that can be read (PEM 'PUBLIC "
			  "KEY', 'RSA PUBLIC KEY' or 'CERTIFICATE', or a DER certificate): %s",
			  what, log_openssl_reason("unrecognised data"));
		return QSJWT_ERR_KEY;
	}
	return pubkey_from_evp(pkey, what, out);
}
