/*
 * Self-signed X.509 v3 certificates (RFC 5280) whose to-be-signed part is
 * signed through the signer interface, so a key on a token signs its own
 * certificate without leaving the token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "keys/signer_impl.h"
#include "util/log.h"
#include "util/strbuf.h"

#define CERT_MAX_DAYS 36500

/* AlgorithmIdentifier sha256WithRSAEncryption with NULL parameters
 * (RFC 4055 section 5), DER. */
static const unsigned char alg_sha256_rsa[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
						0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };

static void der_add_header(strbuf *b, unsigned char tag, size_t len)
{
	unsigned char h[6];
	size_t n = 0;

	h[n++] = tag;
	if (len < 0x80) {
		h[n++] = (unsigned char)len;
	} else if (len < 0x100) {
		h[n++] = 0x81;
		h[n++] = (unsigned char)len;
	} else if (len < 0x10000) {
		h[n++] = 0x82;
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = 0x83;
		h[n++] = (unsigned char)(len >> 16);
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	}
	strbuf_add(b, h, n);
}

static size_t der_header_len(size_t len)
{
	return len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : 5;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* A random positive serial of 127 bits (RFC 5280 section 4.1.2.2: at most
 * 20 octets; CA/B forum: at least 64 bits of randomness). */
static int set_serial(X509 *x)
{
	unsigned char raw[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int ok = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return 0;
	raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn != NULL)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (ai != NULL)
		ok = X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok;
}

/* Build the certificate up to its signature. */
static qsjwt_err build_tbs(X509 *x, EVP_PKEY *pub, int64_t now, int days)
{
	X509_NAME *name = X509_NAME_new();
	X509_ALGOR *alg;
	qsjwt_err rc = QSJWT_ERR_CRYPTO;

	if (name == NULL)
		return QSJWT_ERR_NOMEM;
	if (X509_set_version(x, 2) != 1 || !set_serial(x) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)"qs-jwt", -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)now) == NULL ||
	    ASN1_TIME_adj(X509_getm_notAfter(x), (time_t)now, days, 0) == NULL ||
	    X509_set_pubkey(x, pub) != 1 ||
	    !add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, NID_subject_key_identifier, "hash"))
		goto out;
	/* OpenSSL sets the inner signature algorithm only inside X509_sign(),
	 * which needs the private key; ours may be on a token, so we set the
	 * field ourselves. The object is ours and heap-allocated. */
	alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256WithRSAEncryption), V_ASN1_NULL,
			    NULL) != 1)
		goto out;
	rc = QSJWT_OK;
out:
	if (rc != QSJWT_OK)
		log_error("cannot build the certificate: %s", log_openssl_reason("unknown error"));
	X509_NAME_free(name);
	return rc;
}

static char *time_text(const ASN1_TIME *t)
{
	struct tm tm;
	char *s = malloc(64);

	if (s == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		free(s);
		return NULL;
	}
	snprintf(s, 64, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return s;
}

static char *fingerprint(const unsigned char *der, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *s;

	if (EVP_Digest(der, len, md, &n, EVP_sha256(), NULL) != 1)
		return NULL;
	s = malloc(n * 3 + 1);
	if (s == NULL)
		return NULL;
	for (unsigned int i = 0; i < n; i++)
		snprintf(s + i * 3, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	return s;
}

/* Fill the text fields of c from the finished certificate. */
static qsjwt_err describe(X509 *cert, qsjwt_cert *c)
{
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned char *der = NULL;
	int dn;
	qsjwt_err rc = QSJWT_ERR_NOMEM;

	if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1)
		goto out;
	c->pem = signer_bio_string(bio);
	dn = i2d_X509(cert, &der);
	if (c->pem == NULL || dn <= 0)
		goto out;
	c->der = malloc((size_t)dn);
	if (c->der == NULL)
		goto out;
	memcpy(c->der, der, (size_t)dn);
	c->der_len = (size_t)dn;
	c->fingerprint = fingerprint(c->der, c->der_len);
	c->not_before = time_text(X509_get0_notBefore(cert));
	c->not_after = time_text(X509_get0_notAfter(cert));
	if (c->fingerprint != NULL && c->not_before != NULL && c->not_after != NULL)
		rc = QSJWT_OK;
out:
	OPENSSL_free(der);
	BIO_free(bio);
	return rc;
}

qsjwt_err qsjwt_cert_create(qsjwt_signer *s, int64_t now, int days, qsjwt_cert **out)
{
	qsjwt_err rc;
	EVP_PKEY *pub = signer_public_key(s);
	X509 *x = X509_new(), *cert = NULL;
	unsigned char *tbs = NULL, *sig = NULL, *p;
	const unsigned char *cp;
	size_t sig_len = 0, body;
	int tbs_len;
	qsjwt_cert *c = NULL;
	strbuf der;

	strbuf_init(&der);
	if (days < 1 || days > CERT_MAX_DAYS) {
		log_error("certificate validity of %d days is out of range (1 to %d)", days,
			  CERT_MAX_DAYS);
		rc = QSJWT_ERR_INVALID;
		goto out;
	}
	if (x == NULL) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	rc = build_tbs(x, pub, now, days);
	if (rc != QSJWT_OK)
		goto out;
	rc = QSJWT_ERR_CRYPTO;
	tbs_len = i2d_re_X509_tbs(x, NULL);
	if (tbs_len <= 0)
		goto out;
	tbs = malloc((size_t)tbs_len);
	if (tbs == NULL)
		goto out;
	p = tbs;
	if (i2d_re_X509_tbs(x, &p) != tbs_len)
		goto out;
	rc = qsjwt_signer_sign(s, QSJWT_RS256, tbs, (size_t)tbs_len, &sig, &sig_len);
	if (rc != QSJWT_OK)
		goto out;
	rc = QSJWT_ERR_CRYPTO;
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue BIT STRING } (RFC 5280 section 4.1). */
	body = (size_t)tbs_len + sizeof(alg_sha256_rsa) + der_header_len(sig_len + 1) + sig_len + 1;
	der_add_header(&der, 0x30, body);
	strbuf_add(&der, tbs, (size_t)tbs_len);
	strbuf_add(&der, alg_sha256_rsa, sizeof(alg_sha256_rsa));
	der_add_header(&der, 0x03, sig_len + 1);
	strbuf_addch(&der, 0); /* no unused bits */
	strbuf_add(&der, sig, sig_len);
	if (der.failed) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	cp = (const unsigned char *)der.data;
	cert = d2i_X509(NULL, &cp, (long)der.len);
	/* Verify before anyone gets to use it. */
	if (cert == NULL || X509_verify(cert, pub) != 1) {
		log_error("the new certificate does not verify with its own key: %s",
			  log_openssl_reason("bad signature"));
		rc = QSJWT_ERR_VERIFY;
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	rc = describe(cert, c);
	if (rc != QSJWT_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	qsjwt_cert_free(c);
	strbuf_release(&der);
	free(sig);
	free(tbs);
	X509_free(cert);
	X509_free(x);
	return rc;
}

void qsjwt_cert_free(qsjwt_cert *c)
{
	if (c == NULL)
		return;
	free(c->pem);
	free(c->fingerprint);
	free(c->not_before);
	free(c->not_after);
	free(c->der);
	free(c);
}
