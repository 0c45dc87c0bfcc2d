/* qs-jwt decode: show a JWT's header and payload and, given a key, verify its
 * signature and claims. Exit 0 only when every check passes, 3 when any
 * fails (the original exited 0 on a bad signature). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <qsjwt/qsjwt.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/secret_sources.h"
#include "jose/json.h"
#include "util/file.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/strbuf.h"

#define CMD "decode"
#define PUBKEY_MAX (1024 * 1024)

enum {
	OPT_JWT = 1,
	OPT_JWT_FILE,
	OPT_PUB_FILE,
	OPT_PUB,
	OPT_URI,
	OPT_MODULE,
	OPT_MODULE_INIT,
	OPT_PIN_FILE,
	OPT_ALLOW_PIN,
	OPT_FINAL_TRY,
	OPT_SKEW,
	OPT_AUDIENCE,
	OPT_PROFILE,
	OPT_USERID_CLAIM,
	OPT_USERDIR_CLAIM,
	OPT_ISSUER,
	OPT_KEYID,
	OPT_MINIMAL,
	OPT_LOGLEVEL,
	OPT_HELP,
	OPT_VERSION
};

static const cli_option opts[] = {
	{ OPT_JWT, "jwt", 0, CLI_VALUE, CLI_NOLIMIT, "<jwt>",
	  "the JWT to decode (at most 64 KiB, surrounding whitespace ignored)" },
	{ OPT_JWT_FILE, "jwt-file", 0, CLI_VALUE, 0, "<file>",
	  "file holding the JWT; '-' reads standard input" },
	{ OPT_PUB_FILE, "cert-publickey-file", 0, CLI_VALUE, 0, "<file>",
	  "verify with this public key or certificate: PEM 'PUBLIC KEY', 'RSA PUBLIC\n"
	  "KEY' or 'CERTIFICATE', or a DER certificate (e.g. publickey.cer)" },
	{ OPT_PUB, "cert-publickey", 0, CLI_VALUE, 0, "<publickey>",
	  "verify with this public key or certificate PEM text; '-' reads standard input" },
	{ OPT_URI, "pkcs11-uri", 0, CLI_VALUE, 0, "<uri>",
	  "verify with the public key or certificate with the key's label/id on a PKCS#11\n"
	  "token (no PIN needed when those objects are public)" },
	{ OPT_MODULE, "pkcs11-module", 0, CLI_VALUE, 0, "<path>",
	  "PKCS#11 module to load when the URI names none" },
	{ OPT_MODULE_INIT, "pkcs11-module-init", 0, CLI_VALUE, 0, "<string>",
	  CLI_MODULE_INIT_HELP },
	{ OPT_PIN_FILE, "pkcs11-pin-file", 0, CLI_VALUE, 0, "<file>",
	  "file holding the token's user PIN, if the key's public half is private" },
	{ OPT_ALLOW_PIN, "allow-pin-in-uri", 0, CLI_FLAG, 0, NULL,
	  "accept pin-value in the PKCS#11 URI" },
	{ OPT_FINAL_TRY, "pkcs11-pin-final-try", 0, CLI_FLAG, 0, NULL,
	  "try the PIN even when the token has one try left" },
	{ OPT_SKEW, "clock-skew", 0, CLI_VALUE, 0, "<seconds>",
	  "clock difference to allow for exp, nbf and iat (default 0)" },
	{ OPT_AUDIENCE, "expected-audience", 0, CLI_VALUE, 1, "<audience>",
	  "check that aud equals this (or, for a list, holds it); needs a key" },
	{ OPT_PROFILE, "profile", 0, CLI_VALUE, 0, "<qseow|qscloud>",
	  "also check what that Qlik product accepts (alg, required claims and their\n"
	  "types; for qscloud kid, aud, groups and exp - nbf <= 3600); needs a key" },
	{ OPT_USERID_CLAIM, "userid-claim", 0, CLI_VALUE, 1, "<claim>",
	  "with --profile qseow: the claim the virtual proxy maps to the user ID\n"
	  "(default userId)" },
	{ OPT_USERDIR_CLAIM, "userdir-claim", 0, CLI_VALUE, 1, "<claim>",
	  "with --profile qseow: the user directory claim (default userDirectory)" },
	{ OPT_ISSUER, "expected-issuer", 0, CLI_VALUE, 1, "<issuer>",
	  "check that iss equals this (the issuer of the Qlik Cloud IdP); needs a key" },
	{ OPT_KEYID, "expected-keyid", 0, CLI_VALUE, 1, "<kid>",
	  "check that the header's kid equals this (the IdP's key ID); needs a key" },
	{ OPT_MINIMAL, "minimal-output", 0, CLI_FLAG, 0, NULL,
	  "print one JSON object: {\"header\", \"payload\", \"verification\"}" },
	{ OPT_MINIMAL, "json", 0, CLI_FLAG, 0, NULL, "the same as --minimal-output" },
	{ OPT_LOGLEVEL, "loglevel", 0, CLI_VALUE, 0, "<level>",
	  "log level: error, warn (or warning), info, verbose, debug (default info)" },
	{ OPT_HELP, "help", 'h', CLI_FLAG, 0, NULL, "display help for command" },
	{ OPT_VERSION, "version", 0, CLI_FLAG, 0, NULL, "output the version number" },
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

typedef struct {
	const char *jwt, *jwt_file, *pub_file, *pub, *audience;
	qsjwt_profile_opts prof;
	long skew;
	int minimal, help, version;
	qsjwt_log_level level;
	qsjwt_pkcs11_opts p11;
	secret_source pin_src;
} settings;

static int handle(void *ud, int id, char *value)
{
	settings *s = ud;
	char *end;

	switch (id) {
	case OPT_JWT: s->jwt = value; break;
	case OPT_JWT_FILE: s->jwt_file = value; break;
	case OPT_PUB_FILE: s->pub_file = value; break;
	case OPT_PUB: s->pub = value; break;
	case OPT_URI: s->p11.uri = value; break;
	case OPT_MODULE: s->p11.module_path = value; break;
	case OPT_MODULE_INIT: s->p11.module_init = value; break;
	case OPT_PIN_FILE: s->pin_src.file = value; break;
	case OPT_ALLOW_PIN: s->p11.allow_pin_in_uri = 1; break;
	case OPT_FINAL_TRY: s->p11.pin_final_try = 1; break;
	case OPT_AUDIENCE: s->audience = value; break;
	case OPT_USERID_CLAIM: s->prof.userid_claim = value; break;
	case OPT_USERDIR_CLAIM: s->prof.userdir_claim = value; break;
	case OPT_ISSUER: s->prof.issuer = value; break;
	case OPT_KEYID: s->prof.keyid = value; break;
	case OPT_PROFILE:
		if (qsjwt_profile_from_name(value, &s->prof.profile) != QSJWT_OK) {
			cli_usage_error(CMD, "--profile takes 'qseow' or 'qscloud', not %s",
					cli_shown(value));
			return -1;
		}
		break;
	case OPT_MINIMAL: s->minimal = 1; break;
	case OPT_HELP: s->help = 1; break;
	case OPT_VERSION: s->version = 1; break;
	case OPT_LOGLEVEL: return cli_loglevel(CMD, value, &s->level);
	case OPT_SKEW:
		s->skew = strtol(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end != '\0' || s->skew > 31557600L) {
			cli_usage_error(CMD, "--clock-skew must be a whole number of seconds from 0 "
					     "to 31557600, not %s",
					cli_shown(value));
			return -1;
		}
		break;
	}
	return 0;
}

static void help(void)
{
	printf("Usage: qs-jwt decode (--jwt <jwt> | --jwt-file <file>) [options]\n\n"
	       "Show a JWT's header and payload. Given a key (--cert-publickey-file,\n"
	       "--cert-publickey or --pkcs11-uri), verify its signature (RS256/384/512,\n"
	       "ES256/384/512; the key decides which are acceptable) and its claims: exp,\n"
	       "nbf, iat not in the future, and aud with --expected-audience. With --profile,\n"
	       "also what QSEoW or Qlik Cloud accepts, each rule by name.\n\n"
	       "Options:\n");
	cli_print_options(stdout, opts, N_OPTS);
	printf("\nEnvironment:\n"
	       "  QSJWT_PKCS11_PIN      user PIN of the token, if needed\n\n");
	cli_print_exit_codes(stdout, 1);
}

static int validate(settings *s)
{
	int keys = (s->pub_file != NULL) + (s->pub != NULL) + (s->p11.uri != NULL);
	int stdin_users = (s->jwt_file != NULL && strcmp(s->jwt_file, "-") == 0) +
			  (s->pub != NULL && strcmp(s->pub, "-") == 0);
	const char *needs_key;

	if ((s->jwt != NULL) == (s->jwt_file != NULL)) {
		cli_usage_error(CMD, "give exactly one of --jwt and --jwt-file");
		return -1;
	}
	if (keys > 1) {
		cli_usage_error(CMD, "give at most one key: --cert-publickey-file, --cert-publickey "
				     "or --pkcs11-uri");
		return -1;
	}
	if (stdin_users > 1) {
		cli_usage_error(CMD, "--jwt-file - and --cert-publickey - cannot both read standard "
				     "input");
		return -1;
	}
	if (s->prof.profile != QSJWT_PROFILE_QSEOW &&
	    (s->prof.userid_claim != NULL || s->prof.userdir_claim != NULL)) {
		cli_usage_error(CMD, "%s only applies with --profile qseow",
				s->prof.userid_claim != NULL ? "--userid-claim" : "--userdir-claim");
		return -1;
	}
	/* Checked claims without a checked signature would read as a verdict
	 * on a token anybody could have written. */
	needs_key = s->audience != NULL	     ? "--expected-audience"
		    : s->skew != 0	     ? "--clock-skew"
		    : s->prof.profile != 0   ? "--profile"
		    : s->prof.issuer != NULL ? "--expected-issuer"
		    : s->prof.keyid != NULL  ? "--expected-keyid"
					     : NULL;
	if (keys == 0 && needs_key != NULL) {
		cli_usage_error(CMD, "%s needs a key to verify with (--cert-publickey-file, "
				     "--cert-publickey or --pkcs11-uri)",
				needs_key);
		return -1;
	}
	if (s->p11.uri == NULL &&
	    (s->p11.module_path != NULL || s->p11.module_init != NULL || s->pin_src.file != NULL ||
	     s->p11.allow_pin_in_uri ||
	     s->p11.pin_final_try)) {
		cli_usage_error(CMD, "the PKCS#11 options only apply with --pkcs11-uri");
		return -1;
	}
	if (s->p11.uri != NULL &&
	    (cli_check_uri(CMD, s->p11.uri, s->p11.allow_pin_in_uri, 0) != 0 ||
	     cli_check_p11_options(CMD, s->p11.uri, s->p11.module_path, s->p11.module_init, 0) != 0))
		return -1;
	return 0;
}

static int load_key(settings *s, qsjwt_pubkey **key)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	char what[4200];
	qsjwt_err rc;

	if (s->p11.uri != NULL) {
		int code = pin_sources_check(&s->pin_src, s->p11.uri);
		return code != EXIT_OK ? code : cli_exit_code(qsjwt_pubkey_from_pkcs11(&s->p11, key));
	}
	if (s->pub_file != NULL) {
		snprintf(what, sizeof(what), "public key file '%s'", s->pub_file);
		rc = file_read_bounded(s->pub_file, PUBKEY_MAX, "public key file", &buf, &len, &cap);
	} else if (strcmp(s->pub, "-") == 0) {
		snprintf(what, sizeof(what), "the public key read from standard input");
		rc = file_read_bounded("-", PUBKEY_MAX, "public key from standard input", &buf, &len,
				       &cap);
	} else {
		snprintf(what, sizeof(what), "the public key given with --cert-publickey");
		rc = qsjwt_pubkey_from_data((const unsigned char *)s->pub, strlen(s->pub), what,
					    key);
		return rc == QSJWT_OK ? EXIT_OK : EXIT_RUNTIME;
	}
	if (rc == QSJWT_OK)
		rc = qsjwt_pubkey_from_data(buf, len, what, key);
	free(buf);
	return rc == QSJWT_OK ? EXIT_OK : EXIT_RUNTIME;
}

/* ---- text output ------------------------------------------------------------------ */

static void append_number(strbuf *b, double v)
{
	char num[40];

	if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
		snprintf(num, sizeof(num), "%.0f", v);
	else
		snprintf(num, sizeof(num), "%.17g", v);
	strbuf_addstr(b, num);
}

static void indent(strbuf *b, int depth)
{
	for (int i = 0; i < depth; i++)
		strbuf_addstr(b, "  ");
}

/* Indented JSON, keys in the token's order; top-level iat/exp/nbf followed
 * by their time, as the original showed them. */
static void pretty(strbuf *b, const cJSON *j, int depth)
{
	const cJSON *c;
	char when[40];

	if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
		int obj = cJSON_IsObject(j);
		if (j->child == NULL) {
			strbuf_addstr(b, obj ? "{}" : "[]");
			return;
		}
		strbuf_addstr(b, obj ? "{\n" : "[\n");
		for (c = j->child; c != NULL; c = c->next) {
			indent(b, depth + 1);
			if (obj) {
				json_append_string(b, c->string);
				strbuf_addstr(b, ": ");
			}
			pretty(b, c, depth + 1);
			if (obj && depth == 0 && cJSON_IsNumber(c) &&
			    (strcmp(c->string, "iat") == 0 || strcmp(c->string, "exp") == 0 ||
			     strcmp(c->string, "nbf") == 0) &&
			    fabs(c->valuedouble) < 253402300800.0) {
				cli_iso_time((int64_t)floor(c->valuedouble), when, sizeof(when));
				strbuf_addstr(b, " (");
				strbuf_addstr(b, when);
				strbuf_addch(b, ')');
			}
			if (c->next != NULL)
				strbuf_addch(b, ',');
			strbuf_addch(b, '\n');
		}
		indent(b, depth);
		strbuf_addch(b, obj ? '}' : ']');
	} else if (cJSON_IsString(j)) {
		json_append_string(b, j->valuestring);
	} else if (cJSON_IsNumber(j)) {
		append_number(b, j->valuedouble);
	} else if (cJSON_IsBool(j)) {
		strbuf_addstr(b, cJSON_IsTrue(j) ? "true" : "false");
	} else {
		strbuf_addstr(b, "null");
	}
}

static const char *result_name(qsjwt_check_result r)
{
	return r == QSJWT_CHECK_PASS ? "pass" : r == QSJWT_CHECK_FAIL ? "fail" : "absent";
}

static int print_text(const cJSON *hdr, const cJSON *pl, const qsjwt_verify_result *r)
{
	strbuf b;
	int code;

	strbuf_init(&b);
	strbuf_addstr(&b, "Header:\n");
	pretty(&b, hdr, 0);
	strbuf_addstr(&b, "\nPayload:\n");
	pretty(&b, pl, 0);
	strbuf_addstr(&b, "\nVerification: ");
	if (r == NULL) {
		strbuf_addstr(&b, "NOT CHECKED: no key was given, so the signature and the claims "
				  "were not verified\n(use --cert-publickey-file, --cert-publickey "
				  "or --pkcs11-uri)");
	} else {
		int width = 9;
		for (size_t i = 0; i < r->n_checks; i++) {
			if ((int)strlen(r->checks[i].name) > width)
				width = (int)strlen(r->checks[i].name);
		}
		strbuf_addstr(&b, r->valid ? "valid" : "INVALID");
		for (size_t i = 0; i < r->n_checks; i++) {
			char line[300];
			snprintf(line, sizeof(line), "\n  %-*s %-6s %s", width, r->checks[i].name,
				 result_name(r->checks[i].result), r->checks[i].detail);
			strbuf_addstr(&b, line);
		}
	}
	if (b.failed) {
		strbuf_release(&b);
		return EXIT_RUNTIME;
	}
	code = cli_write_stdout_line(b.data);
	strbuf_release(&b);
	return code;
}

static int print_json(cJSON *hdr, cJSON *pl, const qsjwt_verify_result *r)
{
	cJSON *doc = cJSON_CreateObject(), *v, *checks;
	char *text;
	int code;

	cJSON_AddItemReferenceToObject(doc, "header", hdr);
	cJSON_AddItemReferenceToObject(doc, "payload", pl);
	v = cJSON_AddObjectToObject(doc, "verification");
	cJSON_AddStringToObject(v, "status", r == NULL ? "not-checked" : r->valid ? "valid"
										: "invalid");
	if (r != NULL && r->alg[0] != '\0')
		cJSON_AddStringToObject(v, "algorithm", r->alg);
	else
		cJSON_AddNullToObject(v, "algorithm");
	checks = cJSON_AddObjectToObject(v, "checks");
	for (size_t i = 0; r != NULL && i < r->n_checks; i++) {
		cJSON *c = cJSON_AddObjectToObject(checks, r->checks[i].name);
		cJSON_AddStringToObject(c, "result", result_name(r->checks[i].result));
		cJSON_AddStringToObject(c, "detail", r->checks[i].detail);
	}
	if (r == NULL)
		cJSON_AddStringToObject(v, "reason", "no key given: signature not checked");
	else if (r->reason != NULL)
		cJSON_AddStringToObject(v, "reason", r->reason);
	else
		cJSON_AddNullToObject(v, "reason");
	text = cJSON_PrintUnformatted(doc);
	code = text != NULL ? cli_write_stdout_line(text) : EXIT_RUNTIME;
	cJSON_free(text);
	cJSON_Delete(doc);
	return code;
}

int cmd_decode(int argc, char **argv)
{
	settings s;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	qsjwt_jwt *jwt = NULL;
	qsjwt_pubkey *key = NULL;
	qsjwt_verify_result res;
	qsjwt_verify_opts vo;
	cJSON *hdr = NULL, *pl = NULL;
	int code = EXIT_USAGE, verified = 0;

	memset(&s, 0, sizeof(s));
	s.level = QSJWT_LOG_INFO;
	s.p11.pin_fn = pin_from_sources;
	s.p11.pin_ud = &s.pin_src;
	s.pin_src.cmd = CMD;
	if (cli_parse(CMD, opts, N_OPTS, argc, argv, handle, &s) != 0)
		goto out;
	if (cli_help_or_version(s.help, s.version, help, &code))
		goto out;
	qsjwt_log_set_level(s.level);
	if (validate(&s) != 0)
		goto out;
	code = EXIT_RUNTIME;
	if (s.jwt_file != NULL) {
		if (file_read_bounded(s.jwt_file, QSJWT_MAX_TOKEN + 4096, "JWT file", &buf, &len,
				      &cap) != QSJWT_OK)
			goto out;
	}
	if (qsjwt_jwt_decode(buf != NULL ? (const char *)buf : s.jwt,
			     buf != NULL ? len : strlen(s.jwt), &jwt) != QSJWT_OK)
		goto out;
	hdr = cJSON_Parse(qsjwt_jwt_header(jwt));
	pl = cJSON_Parse(qsjwt_jwt_payload(jwt));
	if (hdr == NULL || pl == NULL)
		goto out;
	if (s.pub_file != NULL || s.pub != NULL || s.p11.uri != NULL) {
		code = load_key(&s, &key);
		if (code != EXIT_OK)
			goto out;
		vo.now = cli_now();
		vo.skew = s.skew;
		vo.audience = s.audience;
		if (qsjwt_jwt_verify(jwt, key, &vo, &res) != QSJWT_OK ||
		    qsjwt_profile_check(jwt, &s.prof, &res) != QSJWT_OK) {
			code = EXIT_RUNTIME;
			goto out;
		}
		verified = 1;
	}
	code = s.minimal ? print_json(hdr, pl, verified ? &res : NULL)
			 : print_text(hdr, pl, verified ? &res : NULL);
	if (code == EXIT_OK && verified && !res.valid) {
		log_error("verification failed: %s", res.reason);
		code = EXIT_VERIFY;
	}
out:
	cJSON_Delete(hdr);
	cJSON_Delete(pl);
	qsjwt_jwt_free(jwt);
	qsjwt_pubkey_free(key);
	secret_free_n(buf, cap);
	return code;
}
