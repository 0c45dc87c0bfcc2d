#include "cli/key_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cert_files.h"
#include "cli/prompt.h"
#include "keys/pin.h"
#include "util/file.h"
#include "util/log.h"
#include "util/secret.h"

/* Largest key file or PEM we read. */
#define KEY_MAX (1024 * 1024)

const cli_option key_opts_table[] = {
	{ KEY_OPT_FILE, "cert-privatekey-file", 0, CLI_VALUE, 0, "<file>",
	  "private key file (PEM: PKCS#1 or PKCS#8, may be encrypted) to sign the JWT with" },
	{ KEY_OPT_PASSPHRASE_FILE, "cert-privatekey-passphrase-file", 0, CLI_VALUE, 0, "<file>",
	  "file holding the passphrase of an encrypted private key (mode 0600;\n"
	  "one trailing newline is ignored); see also QSJWT_KEY_PASSPHRASE" },
	{ KEY_OPT_PARAM, "cert-privatekey", 0, CLI_VALUE, 0, "<privatekey>",
	  "private key PEM text to sign the JWT with; '-' reads it from standard input.\n"
	  "WARNING: a key given on the command line is visible to other local users\n"
	  "(ps, /proc); prefer --cert-privatekey-file or '-'" },
	{ KEY_OPT_CERT_CREATE, "cert-create", 0, CLI_OPT_BOOL, 0, "[true|false]",
	  "create a new key pair and self-signed certificate, write PREFIXpublickey.pem,\n"
	  "PREFIXprivatekey.pem (mode 0600) and PREFIXpublickey.cer, and sign the JWT\n"
	  "with the new key (bare --cert-create means true)" },
	{ KEY_OPT_KEY_BITS, "cert-create-key-bits", 0, CLI_VALUE, 0, "<bits>",
	  "size of the new RSA key: 2048, 3072 or 4096 (default 4096)" },
	{ KEY_OPT_DAYS, "cert-create-expires-days", 0, CLI_VALUE, 0, "<days>",
	  "validity of the new certificate in days, from now (1 to 36500);\n"
	  "required with --cert-create" },
	{ KEY_OPT_PREFIX, "cert-file-prefix", 0, CLI_VALUE, 0, "<prefix>",
	  "prefix of the created files, e.g. 'out/qlik_' (default: none, current directory)" },
	{ KEY_OPT_FORCE, "force", 0, CLI_FLAG, 0, NULL,
	  "with --cert-create: replace existing files instead of refusing" },
};
const size_t key_opts_table_len = sizeof(key_opts_table) / sizeof(key_opts_table[0]);

void key_opts_init(key_opts *k)
{
	memset(k, 0, sizeof(*k));
	k->prefix = "";
}

void key_opts_release(key_opts *k)
{
	secret_free_n(k->param, k->param_len + 1);
	k->param = NULL;
}

/* A whole decimal number in [lo, hi] with nothing around it. */
static int parse_uint(const char *s, long lo, long hi, long *out)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > hi)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int key_opts_handle(key_opts *k, const char *cmd, int id, char *value)
{
	long v;

	switch (id) {
	case KEY_OPT_FILE:
		k->file = value;
		return 0;
	case KEY_OPT_PASSPHRASE_FILE:
		k->passphrase_file = value;
		return 0;
	case KEY_OPT_PARAM:
		key_opts_release(k);
		k->param_stdin = strcmp(value, "-") == 0;
		if (!k->param_stdin) {
			k->param_len = strlen(value);
			k->param = malloc(k->param_len + 1);
			if (k->param == NULL) {
				cli_usage_error(cmd, "out of memory");
				return -1;
			}
			memcpy(k->param, value, k->param_len + 1);
			/* Shorten the window in which other users can read the key
			 * from /proc/PID/cmdline. */
			qsjwt_secret_wipe(value, k->param_len);
		}
		return 0;
	case KEY_OPT_CERT_CREATE:
		if (value == NULL || strcmp(value, "true") == 0) {
			k->cert_create = 1;
		} else if (strcmp(value, "false") == 0) {
			k->cert_create = 0;
		} else {
			cli_usage_error(cmd, "--cert-create takes 'true' or 'false', not '%s'", value);
			return -1;
		}
		return 0;
	case KEY_OPT_KEY_BITS:
		if (parse_uint(value, 0, 100000, &v) != 0 || (v != 2048 && v != 3072 && v != 4096)) {
			cli_usage_error(cmd, "--cert-create-key-bits must be 2048, 3072 or 4096, not '%s'",
					value);
			return -1;
		}
		k->key_bits = (unsigned)v;
		return 0;
	case KEY_OPT_DAYS:
		if (parse_uint(value, 1, 36500, &v) != 0) {
			cli_usage_error(cmd,
					"--cert-create-expires-days must be a whole number of days "
					"from 1 to 36500, not '%s'",
					value);
			return -1;
		}
		k->days = (int)v;
		k->days_given = 1;
		return 0;
	case KEY_OPT_PREFIX:
		k->prefix = value;
		k->prefix_given = 1;
		return 0;
	case KEY_OPT_FORCE:
		k->force = 1;
		return 0;
	default:
		return 1;
	}
}

int key_opts_validate(key_opts *k, const char *cmd)
{
	const char *given[3];
	int n = 0;

	if (k->file != NULL)
		given[n++] = "--cert-privatekey-file";
	if (k->param != NULL || k->param_stdin)
		given[n++] = "--cert-privatekey";
	if (k->cert_create)
		given[n++] = "--cert-create true";
	if (n == 0) {
		cli_usage_error(cmd, "no signing key: give one of --cert-privatekey-file, "
				     "--cert-privatekey or --cert-create true");
		return -1;
	}
	if (n > 1) {
		cli_usage_error(cmd, "%s and %s are both key sources; give exactly one", given[0],
				given[1]);
		return -1;
	}
	if (k->cert_create && !k->days_given) {
		cli_usage_error(cmd, "--cert-create needs --cert-create-expires-days <days>");
		return -1;
	}
	if (!k->cert_create) {
		const char *stray = k->days_given       ? "--cert-create-expires-days"
				    : k->key_bits != 0  ? "--cert-create-key-bits"
				    : k->prefix_given   ? "--cert-file-prefix"
				    : k->force          ? "--force"
							: NULL;
		if (stray != NULL) {
			cli_usage_error(cmd, "%s only applies with --cert-create true", stray);
			return -1;
		}
	}
	if (k->passphrase_file != NULL && k->cert_create) {
		cli_usage_error(cmd, "--cert-privatekey-passphrase-file applies to "
				     "--cert-privatekey-file or --cert-privatekey, not to --cert-create");
		return -1;
	}
	return 0;
}

/* ---- passphrases -------------------------------------------------------------- */

struct pass_src {
	const char *file;
	qsjwt_err err; /* why the source failed, when it did */
};

static int passphrase_cb(char *buf, int size, const char *what, void *ud)
{
	struct pass_src *src = ud;
	const char *env = getenv("QSJWT_KEY_PASSPHRASE");
	char prompt[300];
	char *secret = NULL;
	size_t len = 0;
	int n;

	if (src->file != NULL) {
		src->err = secret_file_read(src->file, "passphrase file", &secret, &len);
		if (src->err != QSJWT_OK)
			return -1;
		log_verbose("passphrase for %s from file '%s'", what, src->file);
	} else if (env != NULL && env[0] != '\0') {
		len = strlen(env);
		log_verbose("passphrase for %s from QSJWT_KEY_PASSPHRASE", what);
	} else if (isatty(STDIN_FILENO)) {
		snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", what);
		n = prompt_secret(prompt, buf, (size_t)size);
		if (n < 0) {
			log_error("no passphrase for %s: %s", what,
				  errno == EINTR ? "interrupted" : "nothing read from the terminal");
			src->err = QSJWT_ERR_PASSPHRASE;
		}
		return n;
	} else {
		log_error("%s is encrypted and no passphrase was given: use "
			  "--cert-privatekey-passphrase-file FILE or the environment variable "
			  "QSJWT_KEY_PASSPHRASE (or run on a terminal to be asked)",
			  what);
		src->err = QSJWT_ERR_PASSPHRASE;
		return -1;
	}
	if (len > (size_t)size) {
		log_error("the passphrase for %s is longer than %d bytes", what, size);
		src->err = QSJWT_ERR_PASSPHRASE;
		qsjwt_secret_free(secret);
		return -1;
	}
	memcpy(buf, secret != NULL ? secret : env, len);
	qsjwt_secret_free(secret);
	return (int)len;
}

static int load_pem_key(key_opts *k, qsjwt_signer **out)
{
	struct pass_src src = { k->passphrase_file, QSJWT_OK };
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	char what[4200];
	qsjwt_err rc;

	if (k->file != NULL) {
		snprintf(what, sizeof(what), "key file '%s'", k->file);
		rc = file_read_bounded(k->file, KEY_MAX, "key file", &buf, &len, &cap);
	} else if (k->param_stdin) {
		snprintf(what, sizeof(what), "the key read from standard input");
		rc = file_read_bounded("-", KEY_MAX, "key from standard input", &buf, &len, &cap);
	} else {
		snprintf(what, sizeof(what), "the key given with --cert-privatekey");
		rc = QSJWT_OK;
		len = k->param_len;
	}
	if (rc != QSJWT_OK)
		return cli_exit_code(rc == QSJWT_ERR_INVALID ? QSJWT_ERR_IO : rc);
	rc = qsjwt_signer_from_pem(buf != NULL ? (const char *)buf : k->param, len, what,
				   passphrase_cb, &src, out);
	secret_free_n(buf, cap);
	key_opts_release(k);
	if (rc != QSJWT_OK)
		return cli_exit_code(src.err != QSJWT_OK ? src.err : rc == QSJWT_ERR_INVALID ? QSJWT_ERR_KEY : rc);
	log_verbose("signing key: %s (RSA %u bits)", what, qsjwt_signer_bits(*out));
	return EXIT_OK;
}

int key_opts_signer(key_opts *k, int64_t now, qsjwt_signer **out)
{
	if (k->cert_create)
		return cert_files_create(k->prefix, k->key_bits ? k->key_bits : 4096, k->days,
					 k->force, now, out);
	return load_pem_key(k, out);
}
