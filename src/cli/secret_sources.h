/* Where the CLI finds passphrases and PINs: a file, an environment
 * variable, or a no-echo prompt when stdin is a terminal. Never argv. */
#ifndef QSJWT_SECRET_SOURCES_H
#define QSJWT_SECRET_SOURCES_H

#include <qsjwt/qsjwt.h>

typedef struct {
	const char *file; /* --cert-privatekey-passphrase-file / --pkcs11-pin-file */
	const char *cmd;  /* the command, for its error format (cli_usage_error) */
	qsjwt_err err;    /* passphrase: why the source failed */
} secret_source;

/* qsjwt_passphrase_fn: file, QSJWT_KEY_PASSPHRASE, terminal. A file that is
 * refused, or a passphrase too long, is reported as the command's error
 * naming the option (src->err QSJWT_ERR_INVALID: exit 2; QSJWT_ERR_IO: the
 * file cannot be read, exit 1). */
int passphrase_from_sources(char *buf, int size, const char *what, void *ud);
/* qsjwt_pin_fn: file, QSJWT_PKCS11_PIN, terminal; errors as above. */
qsjwt_err pin_from_sources(char *buf, size_t size, size_t *len, const char *token, void *ud);

/*
 * The PIN file the login will read -- the pin-source of `uri` (may be NULL),
 * else --pkcs11-pin-file -- read and wiped now, so that a file refused is the
 * command's error (naming the option and the file) before any module is
 * loaded or token touched; likewise a QSJWT_PKCS11_PIN that is too long.
 * Returns an exit code: 0, 2 for a file refused (readable by others, empty,
 * a PIN too long, ...), 1 when it cannot be read.
 */
int pin_sources_check(const secret_source *src, const char *uri);

#endif
