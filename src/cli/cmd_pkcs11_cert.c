/* qs-jwt pkcs11 create-cert: the self-signed certificate the QSEoW virtual
 * proxy needs, for a key that is on a token already (made by tpm2_ptool, a
 * vendor tool, pkcs11-tool, provisioned on a smartcard). The token key signs
 * its own certificate; the files follow the rules of --cert-create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qsjwt/qsjwt.h>

#include "cli/cert_job.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/secret_sources.h"
#include "util/log.h"

#define CMD "pkcs11 create-cert"

enum {
	OPT_URI = 1,
	OPT_MODULE,
	OPT_MODULE_INIT,
	OPT_PIN_FILE,
	OPT_ALLOW_PIN,
	OPT_FINAL_TRY,
	OPT_DAYS,
	OPT_PREFIX,
	OPT_STORE,
	OPT_FORCE,
	OPT_IDP_ISSUER,
	OPT_KEYID,
	OPT_JWK,
	OPT_LOGLEVEL,
	OPT_HELP,
	OPT_VERSION
};

static const cli_option opts[] = {
	{ OPT_URI, "pkcs11-uri", 0, CLI_VALUE, 0, "<uri>",
	  "RFC 7512 URI of the key: exactly one token and one RSA private key" },
	{ OPT_MODULE, "pkcs11-module", 0, CLI_VALUE, 0, "<path>",
	  "PKCS#11 module to load when the URI names none" },
	{ OPT_MODULE_INIT, "pkcs11-module-init", 0, CLI_VALUE, 0, "<string>",
	  CLI_MODULE_INIT_HELP },
	{ OPT_PIN_FILE, "pkcs11-pin-file", 0, CLI_VALUE, 0, "<file>",
	  "file holding the user PIN (not readable by group or others)" },
	{ OPT_ALLOW_PIN, "allow-pin-in-uri", 0, CLI_FLAG, 0, NULL,
	  "accept pin-value in the URI (it puts the PIN on the command line)" },
	{ OPT_FINAL_TRY, "pkcs11-pin-final-try", 0, CLI_FLAG, 0, NULL,
	  "try the PIN even when the token has one try left before it locks" },
	{ OPT_DAYS, "cert-create-expires-days", 0, CLI_VALUE, 0, "<days>",
	  "validity of the certificate in days, from now (1 to 36500); required" },
	{ OPT_PREFIX, "cert-file-prefix", 0, CLI_VALUE, 0, "<prefix>",
	  "prefix of the written files, e.g. 'out/qlik_' (default: none, current directory)" },
	{ OPT_STORE, "store-on-token", 0, CLI_FLAG, 0, NULL,
	  "also store the certificate on the token, with the key's id and label" },
	{ OPT_FORCE, "force", 0, CLI_FLAG, 0, NULL, "replace existing files instead of refusing" },
	{ OPT_IDP_ISSUER, "qscloud-issuer", 0, CLI_VALUE, 0, "<issuer>",
	  "also write PREFIXqscloud-idp.json: the request that creates a Qlik Cloud JWT\n"
	  "identity provider with this issuer for the key" },
	{ OPT_KEYID, "keyid", 0, CLI_VALUE, 0, "<keyid>",
	  "the kid in PREFIXqscloud-idp.json (default: the key's RFC 7638 JWK thumbprint)" },
	{ OPT_JWK, "jwk", 0, CLI_FLAG, 0, NULL,
	  "print the key's public JWK (RFC 7517) on standard output" },
	{ OPT_LOGLEVEL, "loglevel", 0, CLI_VALUE, 0, "<level>",
	  "log level: error, warn (or warning), info, verbose, debug (default info)" },
	{ OPT_HELP, "help", 'h', CLI_FLAG, 0, NULL, "display help for command" },
	{ OPT_VERSION, "version", 0, CLI_FLAG, 0, NULL, "output the version number" },
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

typedef struct {
	qsjwt_pkcs11_opts p11;
	secret_source pin_src;
	const char *prefix, *idp_issuer, *keyid;
	int days, store, force, jwk, help, version;
	qsjwt_log_level level;
} settings;

static int handle(void *ud, int id, char *value)
{
	settings *s = ud;
	char *end = NULL;
	long v;

	switch (id) {
	case OPT_URI: s->p11.uri = value; break;
	case OPT_MODULE: s->p11.module_path = value; break;
	case OPT_MODULE_INIT: s->p11.module_init = value; break;
	case OPT_PIN_FILE: s->pin_src.file = value; break;
	case OPT_ALLOW_PIN: s->p11.allow_pin_in_uri = 1; break;
	case OPT_FINAL_TRY: s->p11.pin_final_try = 1; break;
	case OPT_PREFIX: s->prefix = value; break;
	case OPT_STORE: s->store = 1; break;
	case OPT_FORCE: s->force = 1; break;
	case OPT_IDP_ISSUER: s->idp_issuer = value; break;
	case OPT_KEYID: s->keyid = value; break;
	case OPT_JWK: s->jwk = 1; break;
	case OPT_HELP: s->help = 1; break;
	case OPT_VERSION: s->version = 1; break;
	case OPT_DAYS:
		v = (value[0] >= '0' && value[0] <= '9') ? strtol(value, &end, 10) : 0;
		if (end == NULL || *end != '\0' || v < 1 || v > 36500) {
			cli_usage_error(CMD,
					"--cert-create-expires-days must be a whole number of days "
					"from 1 to 36500, not %s",
					cli_shown(value));
			return -1;
		}
		s->days = (int)v;
		break;
	case OPT_LOGLEVEL:
		if (qsjwt_log_level_from_name(value, &s->level) != QSJWT_OK) {
			cli_usage_error(CMD,
					"--loglevel must be one of error, warn, warning, info, "
					"verbose, debug, not %s",
					cli_shown(value));
			return -1;
		}
		break;
	}
	return 0;
}

static void help(void)
{
	printf("Usage: qs-jwt " CMD " --pkcs11-uri <uri>\n"
	       "       --cert-create-expires-days <days> [--cert-file-prefix <prefix>]\n"
	       "       [--store-on-token] [--qscloud-issuer <issuer>] [--jwk] [options]\n\n"
	       "Make the self-signed certificate of a key that is on a token already: the\n"
	       "token key signs it, qs-jwt verifies it, then writes PREFIXpublickey.pem and\n"
	       "PREFIXpublickey.cer (both or neither; existing files are kept unless\n"
	       "--force). With --store-on-token the certificate is stored on the token too,\n"
	       "with the key's id and label; with --qscloud-issuer PREFIXqscloud-idp.json\n"
	       "too, for a Qlik Cloud JWT identity provider; --jwk prints the key's JWK.\n"
	       "The PIN comes from the URI's pin-source, --pkcs11-pin-file,\n"
	       "QSJWT_PKCS11_PIN or a terminal prompt.\n\n");
	printf("Options:\n");
	cli_print_options(stdout, opts, N_OPTS);
	printf("\n");
	cli_print_exit_codes(stdout, 0);
}

int cmd_pkcs11_create_cert(int argc, char **argv)
{
	static const char *const names[] = { "--pkcs11-uri <uri>",
					     "--cert-create-expires-days <days>" };
	settings s;
	cert_job *job = NULL;
	qsjwt_signer *signer = NULL;
	char *jwk = NULL;
	int code;

	memset(&s, 0, sizeof(s));
	s.prefix = "";
	s.level = QSJWT_LOG_INFO;
	s.p11.pin_fn = pin_from_sources;
	s.p11.pin_ud = &s.pin_src;
	s.pin_src.cmd = CMD;
	if (cli_parse(CMD, opts, N_OPTS, argc, argv, handle, &s) != 0)
		return EXIT_USAGE;
	if (cli_help_or_version(s.help, s.version, help, &code))
		return code;
	qsjwt_log_set_level(s.level);
	{
		const char *values[] = { s.p11.uri, s.days != 0 ? "" : NULL };

		if (cli_require(CMD, values, names, 2) != 0)
			return EXIT_USAGE;
	}
	if (s.keyid != NULL && s.idp_issuer == NULL) {
		cli_usage_error(CMD, "--keyid only applies with --qscloud-issuer");
		return EXIT_USAGE;
	}
	if (cli_check_uri(CMD, s.p11.uri, s.p11.allow_pin_in_uri, 1) != 0 ||
	    cli_check_p11_options(CMD, s.p11.uri, s.p11.module_path, s.p11.module_init, 0) != 0)
		return EXIT_USAGE;
	code = pin_sources_check(&s.pin_src, s.p11.uri);
	if (code != EXIT_OK)
		return code;
	{
		cert_job_opts o = { s.prefix, 0, s.days, s.force, &s.p11, s.idp_issuer, s.keyid,
				    1, s.store };
		code = cert_job_start(&o, cli_now(), &job, &signer);
	}
	if (code == EXIT_OK)
		code = cert_job_commit(job);
	/* The JWK is public: printed once the files are in place. */
	if (code == EXIT_OK && s.jwk) {
		code = cli_exit_code(qsjwt_signer_jwk(signer, &jwk, NULL));
		if (code == EXIT_OK)
			code = cli_write_stdout_line(jwk);
	}
	free(jwk);
	/* Removes a stored certificate that was not kept; re-raises a signal. */
	cert_job_free(job);
	return code;
}
