#include "cli/secret_sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/prompt.h"
#include "keys/pin.h"
#include "platform/platform.h"
#include "util/log.h"

/* First source found wins: file, environment, terminal. Returns the length,
 * -1 when no source has a secret (nothing reported), -2 on an error
 * (reported, *err set). */
static int from_sources(const secret_source *src, const char *env_name, const char *what,
			const char *prompt, char *buf, size_t size, qsjwt_err *err)
{
	const char *env = plat_getenv(env_name);
	char *secret = NULL;
	size_t len = 0;
	int n;

	if (src->file != NULL) {
		char what_file[64];
		snprintf(what_file, sizeof(what_file), "%s file", what);
		*err = secret_file_read(src->file, what_file, &secret, &len);
		if (*err != QSJWT_OK)
			return -2;
		log_verbose("%s from '%s'", what, src->file);
	} else if (env != NULL && env[0] != '\0') {
		len = strlen(env);
		log_verbose("%s from %s", what, env_name);
	} else if (plat_isatty(STDIN_FILENO)) {
		n = prompt_secret(prompt, buf, size);
		if (n < 0) {
			log_error("no %s: %s", what,
				  errno == EINTR ? "interrupted" : "nothing read from the terminal");
			*err = QSJWT_ERR_LOGIN;
			return -2;
		}
		return n;
	} else {
		return -1;
	}
	if (len >= size) {
		log_error("the %s is longer than %zu bytes", what, size - 1);
		qsjwt_secret_free(secret);
		*err = QSJWT_ERR_INVALID;
		return -2;
	}
	memcpy(buf, secret != NULL ? secret : env, len);
	qsjwt_secret_free(secret);
	return (int)len;
}

int passphrase_from_sources(char *buf, int size, const char *what, void *ud)
{
	secret_source *src = ud;
	char prompt[300];
	int n;

	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", what);
	n = from_sources(src, "QSJWT_KEY_PASSPHRASE", "passphrase", prompt, buf,
			 (size_t)size, &src->err);
	if (n == -2 && src->err == QSJWT_ERR_LOGIN)
		src->err = QSJWT_ERR_PASSPHRASE;
	if (n == -1) {
		log_error("%s is encrypted and no passphrase was given: use "
			  "--cert-privatekey-passphrase-file FILE or the environment variable "
			  "QSJWT_KEY_PASSPHRASE (or run on a terminal to be asked)",
			  what);
		src->err = QSJWT_ERR_PASSPHRASE;
	}
	return n < 0 ? -1 : n;
}

qsjwt_err pin_from_sources(char *buf, size_t size, size_t *len, const char *token, void *ud)
{
	secret_source *src = ud;
	qsjwt_err err = QSJWT_OK;
	char prompt[300];
	int n;

	snprintf(prompt, sizeof(prompt), "PIN for token '%s': ", token);
	n = from_sources(src, "QSJWT_PKCS11_PIN", "PIN", prompt, buf, size, &err);
	if (n == -2)
		return err;
	if (n == -1) {
		log_error("token '%s' needs a PIN and none was given: use pin-source=FILE in the "
			  "URI, --pkcs11-pin-file FILE, the environment variable QSJWT_PKCS11_PIN, "
			  "or run on a terminal to be asked",
			  token);
		return QSJWT_ERR_LOGIN;
	}
	*len = (size_t)n;
	return QSJWT_OK;
}
