#include "serve/cert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keys/token_cert.h"
#include "util/file.h"

#define CERT_MAX (1024 * 1024)

static char *errf(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;

static char *errf(const char *fmt, ...)
{
	char buf[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return strdup(buf);
}

/* PEM text of a BIO's contents. */
static char *bio_text(BIO *b)
{
	char *data = NULL, *out;
	long n = BIO_get_mem_data(b, &data);

	if (n <= 0 || (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	return out;
}

char *serve_cert_load(qsjwt_signer *s, const char *file, char **err)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	const unsigned char *p;
	X509 *x = NULL;
	BIO *in = NULL, *out = NULL, *kb = NULL;
	char *pem = NULL, *cert_key = NULL, *key = NULL;
	const char *shown = file != NULL ? file : "the token";

	*err = NULL;
	if (file != NULL) {
		if (file_read_bounded(file, CERT_MAX, "certificate", &buf, &len, &cap) != QSJWT_OK) {
			*err = errf("cannot read the certificate '%s'", file);
			goto out;
		}
	} else if (signer_token_cert(s, &buf, &len) != QSJWT_OK) {
		goto out; /* none */
	}
	in = BIO_new_mem_buf(buf, (int)len);
	x = in != NULL ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
	if (x == NULL) {
		p = buf;
		x = d2i_X509(NULL, &p, (long)len);
	}
	ERR_clear_error();
	if (x == NULL) {
		*err = errf("'%s' holds no X.509 certificate (PEM or DER)", shown);
		goto out;
	}
	kb = BIO_new(BIO_s_mem());
	out = BIO_new(BIO_s_mem());
	if (kb == NULL || out == NULL || PEM_write_bio_PUBKEY(kb, X509_get0_pubkey(x)) != 1 ||
	    PEM_write_bio_X509(out, x) != 1 || (cert_key = bio_text(kb)) == NULL ||
	    qsjwt_signer_public_pem(s, &key) != QSJWT_OK) {
		*err = errf("cannot read the certificate from %s", shown);
		goto out;
	}
	if (strcmp(cert_key, key) != 0) {
		/* A proxy given it would refuse every token. */
		*err = errf("the certificate from %s is for another key than the signing key",
			    shown);
		goto out;
	}
	pem = bio_text(out);
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(in);
	BIO_free(out);
	BIO_free(kb);
	free(buf);
	free(cert_key);
	free(key);
	return pem;
}
