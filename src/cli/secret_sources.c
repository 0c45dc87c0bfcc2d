#include "cli/secret_sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/prompt.h"
#include "pkcs11/uri_check.h"
#include "platform/platform.h"
#include "util/log.h"
#include "util/secret_file.h"

int pin_sources_check(const secret_source *src, const char *uri)
{
	char why[SECRET_FILE_WHY_MAX];
	qsjwt_err rc;
	int found = 0;

	rc = uri != NULL ? p11_pin_source_check(uri, &found, why, sizeof(why)) : QSJWT_OK;
	if (rc != QSJWT_OK) {
		cli_usage_error(src->cmd, "--pkcs11-uri: %s", why);
		return cli_exit_code(rc);
	}
	if (found)
		return EXIT_OK;
	if (src->file == NULL) {
		const char *env = plat_getenv("QSJWT_PKCS11_PIN");
		if (env != NULL && strlen(env) > p11_pin_len_max()) {
			cli_usage_error(src->cmd, "QSJWT_PKCS11_PIN holds a PIN longer than %zu bytes",
					p11_pin_len_max());
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	rc = p11_pin_file_check(src->file, "--pkcs11-pin-file", why, sizeof(why));
	if (rc != QSJWT_OK)
		cli_usage_error(src->cmd, "%s", why);
	return cli_exit_code(rc);
}

/* First source found wins: file, environment, terminal. Returns the length,
 * -1 when no source has a secret (nothing reported), -2 on an error
 * (reported, *err set). `option` names the file's option, `what` the secret. */
static int from_sources(const secret_source *src, const char *option, const char *env_name,
			const char *what, const char *prompt, char *buf, size_t size,
			qsjwt_err *err)
{
	const char *env = plat_getenv(env_name);
	char *secret = NULL, why[SECRET_FILE_WHY_MAX];
	size_t len = 0;
	int n;

	if (src->file != NULL) {
		*err = secret_file_read(src->file, option, &secret, &len, why, sizeof(why));
		if (*err != QSJWT_OK) {
			cli_usage_error(src->cmd, "%s", why);
			return -2;
		}
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
		if (src->file != NULL)
			cli_usage_error(src->cmd, "%s '%s' holds a %s longer than %zu bytes", option,
					src->file, what, size - 1);
		else
			cli_usage_error(src->cmd, "%s holds a %s longer than %zu bytes", env_name,
					what, size - 1);
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
	n = from_sources(src, "--cert-privatekey-passphrase-file", "QSJWT_KEY_PASSPHRASE",
			 "passphrase", prompt, buf, (size_t)size, &src->err);
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
	n = from_sources(src, "--pkcs11-pin-file", "QSJWT_PKCS11_PIN", "PIN", prompt, buf, size,
			 &err);
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
