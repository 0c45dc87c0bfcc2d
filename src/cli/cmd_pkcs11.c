/* qs-jwt pkcs11 list-tokens | list-keys: what the PKCS#11 modules offer, with
 * URIs to paste into --pkcs11-uri (create-cert: cmd_pkcs11_cert.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <qsjwt/qsjwt.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/secret_sources.h"
#include "util/log.h"

enum {
	OPT_URI = 1,
	OPT_MODULE,
	OPT_MODULE_INIT,
	OPT_PIN_FILE,
	OPT_ALLOW_PIN,
	OPT_FINAL_TRY,
	OPT_JSON,
	OPT_LOGLEVEL,
	OPT_HELP,
	OPT_VERSION
};

static const cli_option opts[] = {
	{ OPT_URI, "pkcs11-uri", 0, CLI_VALUE, 0, "<uri>",
	  "RFC 7512 URI: list-tokens shows the tokens it matches (default: all);\n"
	  "list-keys needs one that matches exactly one token" },
	{ OPT_MODULE, "pkcs11-module", 0, CLI_VALUE, 0, "<path>",
	  "PKCS#11 module to load when the URI names none (default: every module\n"
	  "registered with p11-kit)" },
	{ OPT_MODULE_INIT, "pkcs11-module-init", 0, CLI_VALUE, 0, "<string>",
	  CLI_MODULE_INIT_HELP },
	{ OPT_PIN_FILE, "pkcs11-pin-file", 0, CLI_VALUE, 0, "<file>",
	  "list-keys: file holding the user PIN (not readable by group or others)" },
	{ OPT_ALLOW_PIN, "allow-pin-in-uri", 0, CLI_FLAG, 0, NULL,
	  "accept pin-value in the URI (it puts the PIN on the command line)" },
	{ OPT_FINAL_TRY, "pkcs11-pin-final-try", 0, CLI_FLAG, 0, NULL,
	  "try the PIN even when the token has one try left before it locks" },
	{ OPT_JSON, "json", 0, CLI_FLAG, 0, NULL, "print JSON instead of text" },
	{ OPT_LOGLEVEL, "loglevel", 0, CLI_VALUE, 0, "<level>",
	  "log level: error, warn (or warning), info, verbose, debug (default info)" },
	{ OPT_HELP, "help", 'h', CLI_FLAG, 0, NULL, "display help for command" },
	{ OPT_VERSION, "version", 0, CLI_FLAG, 0, NULL, "output the version number" },
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

typedef struct {
	const char *cmd;
	qsjwt_pkcs11_opts p11;
	secret_source pin_src;
	int json, help, version;
	qsjwt_log_level level;
} settings;

static int handle(void *ud, int id, char *value)
{
	settings *s = ud;

	switch (id) {
	case OPT_URI: s->p11.uri = value; break;
	case OPT_MODULE: s->p11.module_path = value; break;
	case OPT_MODULE_INIT: s->p11.module_init = value; break;
	case OPT_PIN_FILE: s->pin_src.file = value; break;
	case OPT_ALLOW_PIN: s->p11.allow_pin_in_uri = 1; break;
	case OPT_FINAL_TRY: s->p11.pin_final_try = 1; break;
	case OPT_JSON: s->json = 1; break;
	case OPT_HELP: s->help = 1; break;
	case OPT_VERSION: s->version = 1; break;
	case OPT_LOGLEVEL:
		if (qsjwt_log_level_from_name(value, &s->level) != QSJWT_OK) {
			cli_usage_error(s->cmd,
					"--loglevel must be one of error, warn, warning, info, "
					"verbose, debug, not %s",
					cli_shown(value));
			return -1;
		}
		break;
	}
	return 0;
}

static void help(const char *which)
{
	printf("Usage: qs-jwt pkcs11 %s [options]\n\n", which);
	if (strcmp(which, "list-tokens") == 0)
		printf("List every token of every PKCS#11 module searched: label, manufacturer,\n"
		       "model, serial, module, flags and the URI that names it.\n\n");
	else
		printf("List every RSA private key on the one token the URI matches: label, id,\n"
		       "size, whether a certificate with the same id is there (subject, expiry),\n"
		       "sensitive / extractable / always-authenticate, and the key's URI.\n"
		       "Private keys are only visible after a login: the PIN comes from the URI's\n"
		       "pin-source, --pkcs11-pin-file, QSJWT_PKCS11_PIN or a terminal prompt.\n\n");
	printf("Options:\n");
	cli_print_options(stdout, opts, N_OPTS);
	printf("\n");
	cli_print_exit_codes(stdout, 0);
}

static const char *yes_no(int v)
{
	return v == 1 ? "yes" : v == 0 ? "no" : "unknown";
}

static void add_tri(cJSON *o, const char *name, int v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddBoolToObject(o, name, v);
}

/* Print the JSON document (and free it): an exit code. */
static int print_json(cJSON *doc)
{
	char *text = doc != NULL ? cJSON_Print(doc) : NULL;
	int code = text != NULL ? cli_write_stdout_line(text) : EXIT_RUNTIME;

	cJSON_free(text);
	cJSON_Delete(doc);
	return code;
}

static int list_tokens(settings *s)
{
	qsjwt_token_desc *d = NULL;
	size_t n = 0;
	qsjwt_err rc = qsjwt_pkcs11_list_tokens(&s->p11, &d, &n);
	int code;

	if (rc != QSJWT_OK)
		return cli_exit_code(rc);
	if (s->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; arr != NULL && i < n; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddItemToArray(arr, o);
			cJSON_AddStringToObject(o, "label", d[i].label);
			cJSON_AddStringToObject(o, "manufacturer", d[i].manufacturer);
			cJSON_AddStringToObject(o, "model", d[i].model);
			cJSON_AddStringToObject(o, "serial", d[i].serial);
			cJSON_AddStringToObject(o, "module", d[i].module);
			cJSON_AddStringToObject(o, "flags", d[i].flags);
			cJSON_AddStringToObject(o, "uri", d[i].uri);
		}
		code = print_json(arr);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("token: %s\n  manufacturer: %s\n  model: %s\n  serial: %s\n"
			       "  module: %s\n  flags: %s\n  uri: %s\n",
			       d[i].label, d[i].manufacturer, d[i].model, d[i].serial, d[i].module,
			       d[i].flags, d[i].uri);
		if (n == 0)
			log_info("no token found");
		code = cli_flush_stdout();
	}
	qsjwt_token_descs_free(d, n);
	return code;
}

/* "jwk" (RFC 7517) and "jwk_thumbprint" (RFC 7638: a kid for the Qlik
 * Cloud identity provider), null when the token hides the public half. */
static void add_jwk(cJSON *o, const qsjwt_key_desc *k)
{
	char *jwk = NULL, *thumb = NULL;
	cJSON *j = NULL;

	if (k->modulus != NULL && k->exponent != NULL &&
	    qsjwt_jwk_rsa(k->modulus, k->modulus_len, k->exponent, k->exponent_len, &jwk,
			  &thumb) == QSJWT_OK)
		j = cJSON_Parse(jwk);
	if (j != NULL && thumb != NULL) {
		cJSON_AddItemToObject(o, "jwk", j);
		cJSON_AddStringToObject(o, "jwk_thumbprint", thumb);
	} else {
		cJSON_Delete(j);
		cJSON_AddNullToObject(o, "jwk");
		cJSON_AddNullToObject(o, "jwk_thumbprint");
	}
	free(jwk);
	free(thumb);
}

static int list_keys(settings *s)
{
	qsjwt_key_desc *d = NULL;
	size_t n = 0;
	qsjwt_err rc;
	int code;

	if (s->p11.uri == NULL) {
		cli_usage_error(s->cmd, "list-keys needs --pkcs11-uri naming the token, e.g. "
					"'pkcs11:token=qlik' (see 'qs-jwt pkcs11 list-tokens')");
		return EXIT_USAGE;
	}
	rc = qsjwt_pkcs11_list_keys(&s->p11, &d, &n);
	if (rc != QSJWT_OK)
		return cli_exit_code(rc);
	if (s->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; arr != NULL && i < n; i++) {
			cJSON *o = cJSON_CreateObject(), *c;
			cJSON_AddItemToArray(arr, o);
			if (d[i].label[0] != '\0')
				cJSON_AddStringToObject(o, "label", d[i].label);
			else
				cJSON_AddNullToObject(o, "label");
			cJSON_AddStringToObject(o, "id", d[i].id_hex);
			cJSON_AddNumberToObject(o, "bits", d[i].bits);
			add_tri(o, "sensitive", d[i].sensitive);
			add_tri(o, "extractable", d[i].extractable);
			add_tri(o, "always_authenticate", d[i].always_authenticate);
			if (d[i].has_cert) {
				c = cJSON_AddObjectToObject(o, "certificate");
				if (d[i].cert_subject != NULL)
					cJSON_AddStringToObject(c, "subject", d[i].cert_subject);
				if (d[i].cert_not_after != NULL)
					cJSON_AddStringToObject(c, "not_after", d[i].cert_not_after);
			} else {
				cJSON_AddNullToObject(o, "certificate");
			}
			cJSON_AddStringToObject(o, "uri", d[i].uri);
			add_jwk(o, &d[i]);
		}
		code = print_json(arr);
	} else {
		for (size_t i = 0; i < n; i++) {
			/* A key may have no CKA_LABEL (PKCS#11 v2.40 section 4.4:
			 * the default is empty); its URI names it by id. */
			printf("key: %s\n  id: %s\n  bits: %u\n  sensitive: %s\n  extractable: %s\n"
			       "  always-authenticate: %s\n",
			       d[i].label[0] != '\0' ? d[i].label : "(no label)", d[i].id_hex, d[i].bits, yes_no(d[i].sensitive),
			       yes_no(d[i].extractable), yes_no(d[i].always_authenticate));
			if (d[i].has_cert)
				printf("  certificate: %s, valid until %s\n",
				       d[i].cert_subject ? d[i].cert_subject : "?",
				       d[i].cert_not_after ? d[i].cert_not_after : "?");
			else
				printf("  certificate: none with the same id\n");
			printf("  uri: %s\n", d[i].uri);
		}
		if (n == 0)
			log_info("no RSA private key on this token");
		code = cli_flush_stdout();
	}
	qsjwt_key_descs_free(d, n);
	return code;
}

int cmd_pkcs11(int argc, char **argv)
{
	settings s;
	char cmd[40];
	int tokens;

	if (argc >= 1 && strcmp(argv[0], "create-cert") == 0)
		return cmd_pkcs11_create_cert(argc - 1, argv + 1);
	if (argc < 1 || (strcmp(argv[0], "list-tokens") != 0 && strcmp(argv[0], "list-keys") != 0)) {
		if (argc >= 1 && strcmp(argv[0], "--version") == 0)
			return cli_write_stdout_line(QSJWT_VERSION);
		if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
			printf("Usage: qs-jwt pkcs11 <list-tokens|list-keys|create-cert> [options]\n\n"
			       "  list-tokens  every token of every PKCS#11 module, with its URI\n"
			       "  list-keys    every RSA private key on a token, with its URI\n"
			       "  create-cert  the self-signed certificate of a key already on a token\n");
			return cli_flush_stdout();
		}
		/* The word is the user's: shown only as cli_shown() allows (a
		 * PEM pasted here is not printed, nor escape sequences). */
		if (argc < 1)
			cli_usage_error("pkcs11", "missing subcommand 'list-tokens|list-keys|create-cert'");
		else
			cli_usage_error("pkcs11", "unknown subcommand %s (list-tokens, list-keys or create-cert)",
					cli_shown(argv[0]));
		return EXIT_USAGE;
	}
	tokens = strcmp(argv[0], "list-tokens") == 0;
	snprintf(cmd, sizeof(cmd), "pkcs11 %s", argv[0]);
	memset(&s, 0, sizeof(s));
	s.cmd = cmd;
	s.level = QSJWT_LOG_INFO;
	s.p11.pin_fn = pin_from_sources;
	s.p11.pin_ud = &s.pin_src;
	s.pin_src.cmd = cmd;
	if (cli_parse(cmd, opts, N_OPTS, argc - 1, argv + 1, handle, &s) != 0)
		return EXIT_USAGE;
	if (s.help) {
		help(argv[0]);
		return cli_flush_stdout();
	}
	if (s.version)
		return cli_write_stdout_line(QSJWT_VERSION);
	qsjwt_log_set_level(s.level);
	if (s.p11.uri != NULL && cli_check_uri(cmd, s.p11.uri, s.p11.allow_pin_in_uri, 0) != 0)
		return EXIT_USAGE;
	if (cli_check_p11_options(cmd, s.p11.uri, s.p11.module_path, s.p11.module_init, 0) != 0)
		return EXIT_USAGE;
	if (tokens)
		return list_tokens(&s);
	/* list-keys logs in: a bad PIN file is found before any module loads. */
	{
		int code = pin_sources_check(&s.pin_src, s.p11.uri);
		if (code != EXIT_OK)
			return code;
	}
	return list_keys(&s);
}
