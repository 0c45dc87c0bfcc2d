#include "cli/key_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cert_job.h"
#include "platform/platform.h"
#include "util/file.h"
#include "util/log.h"
#include "util/secret.h"

/* Largest key file or PEM we read. */
#define KEY_MAX (1024 * 1024)

const cli_option key_opts_table[] = {
	{ KEY_OPT_FILE, "cert-privatekey-file", 0, CLI_VALUE, 0, "<file>",
	  "private key file (PEM: PKCS#1 or PKCS#8, may be encrypted) to sign the JWT with" },
	{ KEY_OPT_PASSPHRASE_FILE, "cert-privatekey-passphrase-file", 0, CLI_VALUE, 0, "<file>",
	  "file holding the passphrase of an encrypted private key (not readable by\n"
	  "group or others; one trailing newline is ignored); see also QSJWT_KEY_PASSPHRASE" },
	{ KEY_OPT_PARAM, "cert-privatekey", 0, CLI_VALUE, 0, "<privatekey>",
	  "private key PEM text to sign the JWT with; '-' reads it from standard input.\n"
	  "WARNING: a key given on the command line is visible to other local users\n"
	  "(ps, /proc); prefer --cert-privatekey-file or '-'" },
	{ KEY_OPT_P11_URI, "pkcs11-uri", 0, CLI_VALUE, 0, "<uri>",
	  "sign with the RSA key on a PKCS#11 token (HSM, smartcard) that this RFC 7512\n"
	  "URI names, e.g. 'pkcs11:token=qlik;object=jwt-signing'; with --cert-create,\n"
	  "the new key pair is generated on that token" },
	{ KEY_OPT_P11_MODULE, "pkcs11-module", 0, CLI_VALUE, 0, "<path>",
	  "PKCS#11 module to load when the URI names none (default: every module\n"
	  "registered with p11-kit)" },
	{ KEY_OPT_P11_MODULE_INIT, "pkcs11-module-init", 0, CLI_VALUE, 0, "<string>",
	  CLI_MODULE_INIT_HELP },
	{ KEY_OPT_P11_PIN_FILE, "pkcs11-pin-file", 0, CLI_VALUE, 0, "<file>",
	  "file holding the token's user PIN (not readable by group or others; one\n"
	  "trailing newline is ignored); see also QSJWT_PKCS11_PIN" },
	{ KEY_OPT_P11_ALLOW_PIN, "allow-pin-in-uri", 0, CLI_FLAG, 0, NULL,
	  "accept pin-value in the PKCS#11 URI (it puts the PIN on the command line)" },
	{ KEY_OPT_P11_FINAL_TRY, "pkcs11-pin-final-try", 0, CLI_FLAG, 0, NULL,
	  "try the PIN even when the token has one try left before it locks" },
	{ KEY_OPT_CERT_CREATE, "cert-create", 0, CLI_OPT_BOOL, 0, "[true|false]",
	  "create a new key pair and self-signed certificate, write PREFIXpublickey.pem,\n"
	  "PREFIXpublickey.cer and (not for token keys) PREFIXprivatekey.pem (mode 0600),\n"
	  "and sign the JWT with the new key (bare --cert-create means true)" },
	{ KEY_OPT_KEY_BITS, "cert-create-key-bits", 0, CLI_VALUE, 0, "<bits>",
	  "size of the new RSA key: 2048, 3072 or 4096 (default 4096; on a token, at\n"
	  "most what the token supports)" },
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
	k->p11.pin_fn = pin_from_sources;
	k->p11.pin_ud = &k->pin_src;
}

static void release_param(key_opts *k)
{
	secret_free_n(k->param, k->param_len + 1);
	k->param = NULL;
}

void key_opts_release(key_opts *k)
{
	release_param(k);
	if (k->job != NULL) {
		cert_job_free(k->job); /* frees the signer too */
		k->job = NULL;
	} else {
		qsjwt_signer_free(k->signer);
	}
	k->signer = NULL;
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
		release_param(k);
		k->param_stdin = strcmp(value, "-") == 0;
		if (!k->param_stdin && strstr(value, "-----BEGIN") == NULL &&
		    strchr(value, '\n') == NULL) {
			/* One line and no PEM armour: a file name, most likely. */
			cli_usage_error(cmd,
					"--cert-privatekey takes the key's PEM text, and %s is "
					"not PEM; did you mean --cert-privatekey-file?",
					cli_shown(value));
			qsjwt_secret_wipe(value, strlen(value));
			return -1;
		}
		if (!k->param_stdin) {
			k->param_len = strlen(value);
			k->param = malloc(k->param_len + 1);
			if (k->param == NULL) {
				cli_usage_error(cmd, "out of memory");
				return -1;
			}
			memcpy(k->param, value, k->param_len + 1);
			/* Shorten the window in which other users can read the key
			 * from /proc/PID/cmdline (or the Windows command line). */
			plat_wipe_arg_copies(value);
			qsjwt_secret_wipe(value, k->param_len);
		}
		return 0;
	case KEY_OPT_P11_URI:
		k->p11.uri = value;
		return 0;
	case KEY_OPT_P11_MODULE:
		k->p11.module_path = value;
		return 0;
	case KEY_OPT_P11_MODULE_INIT:
		k->p11.module_init = value;
		return 0;
	case KEY_OPT_P11_PIN_FILE:
		k->pin_file = value;
		return 0;
	case KEY_OPT_P11_ALLOW_PIN:
		k->p11.allow_pin_in_uri = 1;
		return 0;
	case KEY_OPT_P11_FINAL_TRY:
		k->p11.pin_final_try = 1;
		return 0;
	case KEY_OPT_CERT_CREATE:
		if (value == NULL || strcmp(value, "true") == 0) {
			k->cert_create = 1;
		} else if (strcmp(value, "false") == 0) {
			k->cert_create = 0;
		} else {
			cli_usage_error(cmd, "--cert-create takes 'true' or 'false', not %s",
					cli_shown(value));
			return -1;
		}
		return 0;
	case KEY_OPT_KEY_BITS:
		if (parse_uint(value, 0, 100000, &v) != 0 || (v != 2048 && v != 3072 && v != 4096)) {
			cli_usage_error(cmd, "--cert-create-key-bits must be 2048, 3072 or 4096, not %s",
					cli_shown(value));
			return -1;
		}
		k->key_bits = (unsigned)v;
		return 0;
	case KEY_OPT_DAYS:
		if (parse_uint(value, 1, 36500, &v) != 0) {
			cli_usage_error(cmd,
					"--cert-create-expires-days must be a whole number of days "
					"from 1 to 36500, not %s",
					cli_shown(value));
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

/* Options that only make sense with another one. */
static int check_dependents(const key_opts *k, const char *cmd)
{
	const char *stray = NULL, *needs = NULL;

	if (!k->cert_create) {
		/* The original took these without --cert-create (wrapper scripts
		 * pass every option they know): accepted, with a warning. */
		if (k->days_given)
			log_warn("--cert-create-expires-days has no effect without --cert-create "
				 "true");
		if (k->prefix_given)
			log_warn("--cert-file-prefix has no effect without --cert-create true");
		needs = "--cert-create true";
		stray = k->key_bits != 0 ? "--cert-create-key-bits"
			: k->force       ? "--force"
					 : NULL;
	}
	if (stray == NULL && k->p11.uri == NULL) {
		needs = "--pkcs11-uri";
		stray = k->p11.module_path != NULL   ? "--pkcs11-module"
			: k->p11.module_init != NULL ? "--pkcs11-module-init"
			: k->pin_file != NULL        ? "--pkcs11-pin-file"
			: k->p11.allow_pin_in_uri  ? "--allow-pin-in-uri"
			: k->p11.pin_final_try     ? "--pkcs11-pin-final-try"
						   : NULL;
	}
	if (stray == NULL && k->passphrase_file != NULL && k->file == NULL && k->param == NULL &&
	    !k->param_stdin) {
		needs = "--cert-privatekey-file or --cert-privatekey";
		stray = "--cert-privatekey-passphrase-file";
	}
	if (stray != NULL) {
		cli_usage_error(cmd, "%s only applies with %s", stray, needs);
		return -1;
	}
	return 0;
}

int key_opts_validate(key_opts *k, const char *cmd)
{
	struct stat st;
	const char *given[4];
	int n = 0;

	if (k->file != NULL)
		given[n++] = "--cert-privatekey-file";
	if (k->param != NULL || k->param_stdin)
		given[n++] = "--cert-privatekey";
	/* --cert-create with --pkcs11-uri is one source: a new key on the token. */
	if (k->p11.uri != NULL)
		given[n++] = "--pkcs11-uri";
	else if (k->cert_create)
		given[n++] = "--cert-create true";
	if (n == 0) {
		cli_usage_error(cmd, "no signing key: give one of --cert-privatekey-file, "
				     "--cert-privatekey, --pkcs11-uri or --cert-create true");
		return -1;
	}
	if (n > 1) {
		cli_usage_error(cmd, "%s and %s are both key sources; give exactly one%s", given[0],
				given[1],
				k->cert_create ? " (--cert-create true makes a new key)" : "");
		return -1;
	}
	if (k->cert_create && !k->days_given) {
		cli_usage_error(cmd, "--cert-create needs --cert-create-expires-days <days>");
		return -1;
	}
	if (check_dependents(k, cmd) != 0)
		return -1;
	if (k->cert_create && k->prefix[0] != '\0' && k->prefix[strlen(k->prefix) - 1] != '/' &&
	    stat(k->prefix, &st) == 0 && S_ISDIR(st.st_mode))
		/* The original's behaviour, kept: the prefix is glued to the
		 * file names ('outpublickey.pem' beside 'out/'). */
		log_warn("--cert-file-prefix '%s' is a prefix: the files are '%spublickey.pem' "
			 "and so on, not files in the directory '%s'; did you mean '%s/'?",
			 k->prefix, k->prefix, k->prefix, k->prefix);
	if (k->p11.uri != NULL && cli_check_uri(cmd, k->p11.uri, k->p11.allow_pin_in_uri, 1) != 0)
		return -1;
	if (k->p11.uri != NULL && cli_check_p11_options(cmd, k->p11.uri, k->p11.module_path,
							 k->p11.module_init, k->cert_create) != 0)
		return -1;
	k->pass_src.file = k->passphrase_file;
	k->pass_src.cmd = cmd;
	k->pin_src.file = k->pin_file;
	k->pin_src.cmd = cmd;
	return 0;
}

static int load_pem_key(key_opts *k)
{
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
		return EXIT_RUNTIME;
	rc = qsjwt_signer_from_pem(buf != NULL ? (const char *)buf : k->param, len, what,
				   passphrase_from_sources, &k->pass_src, &k->signer);
	secret_free_n(buf, cap);
	release_param(k);
	if (rc != QSJWT_OK) {
		/* A passphrase file refused (readable by others, empty, ...) is a
		 * usage error (exit 2); everything else about the key, an
		 * unreadable passphrase file included, is a runtime failure. */
		return k->pass_src.err == QSJWT_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
	}
	log_verbose("signing key: %s (RSA %u bits)", what, qsjwt_signer_bits(k->signer));
	return EXIT_OK;
}

int key_opts_signer(key_opts *k, int64_t now, qsjwt_signer **out)
{
	int code;

	if (k->p11.uri != NULL) {
		code = pin_sources_check(&k->pin_src, k->p11.uri);
		if (code != EXIT_OK)
			return code;
	}
	if (k->cert_create) {
		cert_job_opts o = { k->prefix, k->key_bits, k->days, k->force,
				    k->p11.uri != NULL ? &k->p11 : NULL, k->idp_issuer, k->idp_kid, 0, 1 };
		code = cert_job_start(&o, now, &k->job, &k->signer);
	} else if (k->p11.uri != NULL) {
		code = cli_exit_code(qsjwt_signer_from_pkcs11(&k->p11, &k->signer));
	} else {
		code = load_pem_key(k);
	}
	if (code == EXIT_OK)
		*out = k->signer;
	return code;
}

int key_opts_commit(key_opts *k)
{
	return k->job != NULL ? cert_job_commit(k->job) : EXIT_OK;
}
