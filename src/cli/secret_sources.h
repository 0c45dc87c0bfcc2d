/* Where the CLI finds passphrases and PINs: a file, an environment
 * variable, or a no-echo prompt when stdin is a terminal. Never argv. */
#ifndef QSJWT_SECRET_SOURCES_H
#define QSJWT_SECRET_SOURCES_H

#include <qsjwt/qsjwt.h>

typedef struct {
	const char *file; /* --cert-privatekey-passphrase-file / --pkcs11-pin-file */
	qsjwt_err err;    /* passphrase: why the source failed */
} secret_source;

/* qsjwt_passphrase_fn: file, QSJWT_KEY_PASSPHRASE, terminal. */
int passphrase_from_sources(char *buf, int size, const char *what, void *ud);
/* qsjwt_pin_fn: file, QSJWT_PKCS11_PIN, terminal. */
qsjwt_err pin_from_sources(char *buf, size_t size, size_t *len, const char *token, void *ud);

#endif
