/* The signer interface: every key source signs through these calls. */
#include "keys/signer_impl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "util/log.h"

qsjwt_err signer_new(const signer_ops *ops, void *impl, EVP_PKEY *pub, char *what,
		     qsjwt_signer **out)
{
	qsjwt_signer *s = calloc(1, sizeof(*s));

	if (s == NULL || what == NULL) {
		free(s);
		ops->free(impl);
		EVP_PKEY_free(pub);
		free(what);
		return QSJWT_ERR_NOMEM;
	}
	s->ops = ops;
	s->impl = impl;
	s->pub = pub;
	s->what = what;
	*out = s;
	return QSJWT_OK;
}

int signer_self_checked(const qsjwt_signer *s)
{
	return s->self_checked;
}

const char *qsjwt_err_str(qsjwt_err err)
{
	static const char *const names[] = {
		"success", "invalid value", "out of memory", "input/output error",
		"unusable key", "passphrase missing or wrong", "cryptographic failure",
		"file exists", "interrupted", "verification failed", "token or key not found",
		"login failed", "no more token sessions",
	};

	return (unsigned)err < sizeof(names) / sizeof(names[0]) ? names[err] : "unknown error";
}

char *signer_bio_string(BIO *bio)
{
	char *data, *s;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

EVP_PKEY *signer_public_key(const qsjwt_signer *s)
{
	return s->pub;
}

const EVP_MD *signer_md(qsjwt_alg alg)
{
	switch (alg) {
	case QSJWT_RS384:
		return EVP_sha384();
	case QSJWT_RS512:
		return EVP_sha512();
	default:
		return EVP_sha256();
	}
}

qsjwt_err signer_check_rsa(EVP_PKEY *pkey, const char *what)
{
	int bits;

	if (EVP_PKEY_is_a(pkey, "RSA-PSS")) {
		log_error("%s holds an RSA-PSS key; QSEoW tokens need a plain RSA key "
			  "(PKCS#1 v1.5 signatures, RS256/RS384/RS512)",
			  what);
		return QSJWT_ERR_KEY;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA")) {
		const char *type = EVP_PKEY_get0_type_name(pkey);
		log_error("%s holds a%s %s key; QSEoW tokens need an RSA key (2048 bits or more)",
			  what, type != NULL && strchr("AEIOU", type[0]) ? "n" : "",
			  type != NULL ? type : "non-RSA");
		return QSJWT_ERR_KEY;
	}
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < 2048) {
		log_error("%s holds an RSA key of %d bits; at least 2048 bits are needed "
			  "(RFC 7518 section 3.3)",
			  what, bits);
		return QSJWT_ERR_KEY;
	}
	return QSJWT_OK;
}

qsjwt_err qsjwt_signer_sign(qsjwt_signer *s, qsjwt_alg alg, const unsigned char *data,
			    size_t len, unsigned char **sig_out, size_t *sig_len)
{
	if ((unsigned)alg > QSJWT_RS512)
		return QSJWT_ERR_INVALID;
	return s->ops->sign(s, alg, data, len, sig_out, sig_len);
}

qsjwt_err qsjwt_signer_verify(qsjwt_signer *s, qsjwt_alg alg, const unsigned char *data,
			      size_t len, const unsigned char *sig, size_t sig_len)
{
	qsjwt_err rc = QSJWT_ERR_VERIFY;

	if ((unsigned)alg > QSJWT_RS512)
		return QSJWT_ERR_INVALID;
	if (s->vwork == NULL && (s->vwork = EVP_MD_CTX_new()) == NULL)
		return QSJWT_ERR_NOMEM;
	if (s->vtmpl[alg] == NULL) {
		s->vtmpl[alg] = EVP_MD_CTX_new();
		if (s->vtmpl[alg] == NULL ||
		    EVP_DigestVerifyInit(s->vtmpl[alg], NULL, signer_md(alg), NULL, s->pub) != 1) {
			EVP_MD_CTX_free(s->vtmpl[alg]);
			s->vtmpl[alg] = NULL;
			ERR_clear_error();
			return QSJWT_ERR_CRYPTO;
		}
	}
	if (EVP_MD_CTX_copy_ex(s->vwork, s->vtmpl[alg]) == 1 &&
	    EVP_DigestVerify(s->vwork, sig, sig_len, data, len) == 1)
		rc = QSJWT_OK;
	ERR_clear_error();
	return rc;
}

unsigned qsjwt_signer_bits(const qsjwt_signer *s)
{
	return (unsigned)EVP_PKEY_get_bits(s->pub);
}

const char *qsjwt_signer_describe(const qsjwt_signer *s)
{
	return s->what;
}

qsjwt_err qsjwt_signer_public_pem(const qsjwt_signer *s, char **pem_out)
{
	qsjwt_err rc = QSJWT_ERR_CRYPTO;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;

	if (bio == NULL)
		return QSJWT_ERR_NOMEM;
	if (PEM_write_bio_PUBKEY(bio, s->pub) != 1) {
		log_error("cannot encode the public key: %s", log_openssl_reason("unknown error"));
		goto out;
	}
	pem = signer_bio_string(bio);
	if (pem == NULL) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	*pem_out = pem;
	rc = QSJWT_OK;
out:
	BIO_free(bio);
	return rc;
}

qsjwt_err qsjwt_signer_private_pem(const qsjwt_signer *s, char **pem_out)
{
	if (s->ops->private_pem == NULL) {
		log_error("%s cannot be exported", s->what);
		return QSJWT_ERR_KEY;
	}
	return s->ops->private_pem(s, pem_out);
}

void qsjwt_signer_free(qsjwt_signer *s)
{
	if (s == NULL)
		return;
	s->ops->free(s->impl);
	for (int i = 0; i < 3; i++)
		EVP_MD_CTX_free(s->vtmpl[i]);
	EVP_MD_CTX_free(s->vwork);
	EVP_PKEY_free(s->pub);
	free(s->what);
	free(s->uri);
	free(s);
}

qsjwt_err qsjwt_signer_store_cert(qsjwt_signer *s, const qsjwt_cert *c)
{
	return s->ops->store_cert != NULL ? s->ops->store_cert(s, c) : QSJWT_OK;
}

void qsjwt_signer_keep(qsjwt_signer *s)
{
	if (s->ops->keep != NULL)
		s->ops->keep(s);
}

qsjwt_err qsjwt_signer_session(qsjwt_signer *s, qsjwt_signer **out)
{
	void *impl = NULL;
	qsjwt_err rc = s->ops->session(s, &impl);
	qsjwt_signer *c;

	if (rc != QSJWT_OK)
		return rc;
	if (EVP_PKEY_up_ref(s->pub) != 1) {
		s->ops->free(impl);
		return QSJWT_ERR_CRYPTO;
	}
	rc = signer_new(s->ops, impl, s->pub, strdup(s->what), &c);
	if (rc != QSJWT_OK)
		return rc;
	c->self_checked = s->self_checked;
	/* The child's uri stays NULL: the parent owns the key's identity. */
	*out = c;
	return QSJWT_OK;
}

unsigned qsjwt_signer_sessions_left(qsjwt_signer *s)
{
	return s->ops->sessions_left != NULL ? s->ops->sessions_left(s) : QSJWT_SESSIONS_UNLIMITED;
}

const char *qsjwt_signer_uri(const qsjwt_signer *s)
{
	return s->uri;
}
