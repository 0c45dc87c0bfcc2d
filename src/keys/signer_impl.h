/* What a signer backend provides. Not part of the public API. */
#ifndef QSJWT_SIGNER_IMPL_H
#define QSJWT_SIGNER_IMPL_H

#include <openssl/evp.h>

#include <qsjwt/qsjwt.h>

typedef struct {
	/* RSASSA-PKCS1-v1_5 signature; *sig is the caller's (free()). */
	qsjwt_err (*sign)(qsjwt_signer *s, qsjwt_alg alg, const unsigned char *data,
			  size_t len, unsigned char **sig, size_t *sig_len);
	/* PKCS#1 PEM of the private key, or NULL when it cannot leave its home. */
	qsjwt_err (*private_pem)(const qsjwt_signer *s, char **out);
	/* Free what `impl` holds. */
	void (*free)(void *impl);
	/* Optional (NULL: no-op): store a certificate beside the key; keep the
	 * objects a generation created. */
	qsjwt_err (*store_cert)(qsjwt_signer *s, const qsjwt_cert *c);
	void (*keep)(qsjwt_signer *s);
	/* Another signer over the same key for another thread (impl only:
	 * signer_session makes the rest). */
	qsjwt_err (*session)(qsjwt_signer *s, void **impl_out);
	/* Optional (NULL: no limit): qsjwt_signer_sessions_left. */
	unsigned (*sessions_left)(qsjwt_signer *s);
} signer_ops;

struct qsjwt_signer {
	const signer_ops *ops;
	void *impl;     /* the backend's state */
	EVP_PKEY *pub;  /* public half, for verification and certificates
			 * (file keys: the whole key, shared with impl) */
	char *what;     /* "key file 'k.pem'" and the like */
	char *uri;      /* token keys: canonical URI (owned), else NULL */
	/* The backend's private operation checks its own result (see
	 * signer_self_checked). */
	int self_checked;
	/* EVP_DigestVerifyInit done once per algorithm, copied per check. */
	EVP_MD_CTX *vtmpl[3];
	EVP_MD_CTX *vwork;
};

/* Take ownership of impl, pub and what (what: malloc'd) and make a signer;
 * on failure everything given is freed. */
qsjwt_err signer_new(const signer_ops *ops, void *impl, EVP_PKEY *pub, char *what,
		     qsjwt_signer **out);

/* Whether a signature of s needs no second verification before it is
 * handed out: only file keys that OpenSSL's own RSA code signs with CRT, which
 * verifies each CRT result with the public exponent itself and recomputes
 * without CRT when it does not match. Token keys: never (we cannot see what
 * their hardware checks). */
int signer_self_checked(const qsjwt_signer *s);

/* The public key (borrowed). */
EVP_PKEY *signer_public_key(const qsjwt_signer *s);

/* The digest of alg (SHA-256/384/512). */
const EVP_MD *signer_md(qsjwt_alg alg);

/* The contents of a memory BIO as a new NUL-terminated string (free()), or
 * NULL. */
char *signer_bio_string(BIO *bio);

/* Refuse anything but an RSA key (not RSA-PSS) of at least 2048 bits, with a
 * message naming `what`. */
qsjwt_err signer_check_rsa(EVP_PKEY *pkey, const char *what);

#endif
