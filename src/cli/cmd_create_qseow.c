/* qs-jwt create-qseow: a JWT for Qlik Sense Enterprise on Windows, byte for
 * byte as the original Node.js tool made it (REFERENCE.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qsjwt/qsjwt.h>

#include "cli/batch.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/key_opts.h"
#include "util/log.h"

#define CMD "create-qseow"
#define MAX_JOBS 256

enum {
	OPT_USERDIR = 1,
	OPT_USERID,
	OPT_USERNAME,
	OPT_USEREMAIL,
	OPT_GROUPS,
	OPT_EXPIRES,
	OPT_AUDIENCE,
	OPT_ALG,
	OPT_BATCH,
	OPT_JOBS,
	OPT_LOGLEVEL,
	OPT_MINIMAL,
	OPT_HELP,
	OPT_VERSION
};

static const cli_option claim_opts[] = {
	{ OPT_USERDIR, "userdir", 0, CLI_VALUE, 1, "<userdir>",
	  "user directory of the user (claim userDirectory); required" },
	{ OPT_USERID, "userid", 0, CLI_VALUE, 1, "<userid>", "user ID (claim userId); required" },
	{ OPT_USERNAME, "username", 0, CLI_VALUE, 1, "<username>",
	  "full name of the user (claim name); required" },
	{ OPT_USEREMAIL, "useremail", 0, CLI_VALUE, 1, "<useremail>",
	  "email address of the user (claim email); required" },
	{ OPT_GROUPS, "groups", 0, CLI_VARIADIC, 1, "<groups...>",
	  "groups the user belongs to (claim group, always an array): takes the\n"
	  "arguments up to the next option; repeating --groups appends" },
	{ OPT_EXPIRES, "expires", 0, CLI_VALUE, 1, "<expires>",
	  "lifetime of the JWT: a number and a unit, e.g. 30s, 60m, 8h, 7d, 1y;\n"
	  "no unit means milliseconds, as in the original; required" },
	{ OPT_AUDIENCE, "audience", 0, CLI_VALUE, 1, "<audience>",
	  "audience (claim aud); must equal the virtual proxy's JWT audience; required" },
	{ OPT_ALG, "alg", 0, CLI_VALUE, 0, "<alg>",
	  "signature algorithm: RS256 (default), RS384 or RS512" },
	{ OPT_BATCH, "batch", 0, CLI_VALUE, 0, "<file>",
	  "issue one token per JSON line of FILE ('-': standard input):\n"
	  "{\"userid\",\"userdir\",\"username\",\"useremail\",\"groups\":[...]} and optional\n"
	  "\"expires\" and \"audience\" (else --expires/--audience); prints JSON lines\n"
	  "{\"line\",\"userid\",\"userdir\",\"token\"} or {\"line\",\"error\"} in input order" },
	{ OPT_JOBS, "jobs", 0, CLI_VALUE, 0, "<n>",
	  "with --batch: signing workers (default: the number of online CPUs)" },
};

static const cli_option common_opts[] = {
	{ OPT_LOGLEVEL, "loglevel", 0, CLI_VALUE, 0, "<level>",
	  "log level: error, warn (or warning), info, verbose, debug (default info)" },
	{ OPT_MINIMAL, "minimal-output", 0, CLI_FLAG, 0, NULL,
	  "hide info lines (warnings and errors remain); stdout holds the token alone\n"
	  "either way" },
	{ OPT_HELP, "help", 'h', CLI_FLAG, 0, NULL, "display help for command" },
	{ OPT_VERSION, "version", 0, CLI_FLAG, 0, NULL, "output the version number" },
};

#define N_CLAIM (sizeof(claim_opts) / sizeof(claim_opts[0]))
#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))
#define N_ALL (N_CLAIM + 16 + N_COMMON)

typedef struct {
	const char *userdir, *userid, *username, *useremail, *expires, *audience;
	const char **groups;
	size_t n_groups;
	qsjwt_alg alg;
	qsjwt_log_level loglevel;
	int minimal, help, version;
	const char *batch;
	long jobs; /* 0: not given */
	int any_user_opt;
	key_opts key;
} settings;

static cli_option all_opts[N_ALL];
static size_t n_all;

static void build_table(void)
{
	n_all = 0;
	for (size_t i = 0; i < N_CLAIM; i++)
		all_opts[n_all++] = claim_opts[i];
	for (size_t i = 0; i < key_opts_table_len && n_all < N_ALL; i++)
		all_opts[n_all++] = key_opts_table[i];
	for (size_t i = 0; i < N_COMMON && n_all < N_ALL; i++)
		all_opts[n_all++] = common_opts[i];
}

static void help(void)
{
	printf("Usage: qs-jwt create-qseow [options]\n\n"
	       "Create a JWT for Qlik Sense Enterprise on Windows (QSEoW), signed RS256 with\n"
	       "a key from a PEM file, a PEM parameter, or a new key pair (--cert-create).\n"
	       "The token alone is printed on standard output; logs go to standard error.\n\n"
	       "Options:\n");
	cli_print_options(stdout, all_opts, n_all);
	printf("\nEnvironment:\n"
	       "  QSJWT_KEY_PASSPHRASE  passphrase of an encrypted private key (when no\n"
	       "                        --cert-privatekey-passphrase-file is given)\n"
	       "  QSJWT_PKCS11_PIN      user PIN of the token (when the URI has no pin-source\n"
	       "                        and no --pkcs11-pin-file is given)\n"
	       "  NO_COLOR              when set and not empty, logs are never coloured\n\n");
	cli_print_exit_codes(stdout);
	printf("\nExample:\n"
	       "  qs-jwt create-qseow --userdir ACME --userid jdoe --username 'John Doe' \\\n"
	       "    --useremail john.doe@example.com --groups Sales Finance --expires 60m \\\n"
	       "    --audience qlik-aud --cert-privatekey-file privatekey.pem\n");
}

static int handle(void *ud, int id, char *value)
{
	settings *s = ud;
	const char **g;

	switch (id) {
	case OPT_USERDIR: s->userdir = value; return 0;
	case OPT_USERID: s->userid = value; return 0;
	case OPT_USERNAME: s->username = value; return 0;
	case OPT_USEREMAIL: s->useremail = value; return 0;
	case OPT_BATCH: s->batch = value; return 0;
	case OPT_JOBS:
		s->jobs = 0;
		for (const char *p = value; *p != '\0' && s->jobs <= MAX_JOBS; p++)
			s->jobs = *p >= '0' && *p <= '9' ? s->jobs * 10 + (*p - '0') : MAX_JOBS + 1;
		if (s->jobs < 1 || s->jobs > MAX_JOBS) {
			cli_usage_error(CMD, "--jobs must be a whole number from 1 to %d, not %s",
					MAX_JOBS, cli_shown(value));
			return -1;
		}
		return 0;
	case OPT_EXPIRES: s->expires = value; return 0;
	case OPT_AUDIENCE: s->audience = value; return 0;
	case OPT_GROUPS:
		g = realloc(s->groups, (s->n_groups + 1) * sizeof(*g));
		if (g == NULL) {
			cli_usage_error(CMD, "out of memory");
			return -1;
		}
		g[s->n_groups++] = value;
		s->groups = g;
		return 0;
	case OPT_ALG:
		return cli_alg(CMD, value, &s->alg);
	case OPT_LOGLEVEL:
		return cli_loglevel(CMD, value, &s->loglevel);
	case OPT_MINIMAL: s->minimal = 1; return 0;
	case OPT_HELP: s->help = 1; return 0;
	case OPT_VERSION: s->version = 1; return 0;
	default:
		return key_opts_handle(&s->key, CMD, id, value) < 0 ? -1 : 0;
	}
}

static int validate(settings *s)
{
	static const struct {
		size_t offset;
		const char *name;
	} required[] = {
		{ offsetof(settings, userdir), "--userdir <userdir>" },
		{ offsetof(settings, userid), "--userid <userid>" },
		{ offsetof(settings, username), "--username <username>" },
		{ offsetof(settings, useremail), "--useremail <useremail>" },
		{ offsetof(settings, expires), "--expires <expires>" },
		{ offsetof(settings, audience), "--audience <audience>" },
	};

	if (s->batch != NULL) {
		/* The per-user values come from the file. */
		const char *stray = s->userdir != NULL	   ? "--userdir"
				    : s->userid != NULL	   ? "--userid"
				    : s->username != NULL  ? "--username"
				    : s->useremail != NULL ? "--useremail"
				    : s->groups != NULL	   ? "--groups"
							   : NULL;
		if (stray != NULL) {
			cli_usage_error(CMD, "%s cannot be used with --batch: each line gives its "
					     "own user",
					stray);
			return -1;
		}
		/* Two readers of one stdin: the key reader would swallow the
		 * users' lines. */
		if (strcmp(s->batch, "-") == 0 && s->key.param_stdin) {
			cli_usage_error(CMD, "--batch - and --cert-privatekey - cannot both read "
					     "standard input; give the key with "
					     "--cert-privatekey-file");
			return -1;
		}
		return key_opts_validate(&s->key, CMD);
	}
	if (s->jobs != 0) {
		cli_usage_error(CMD, "--jobs only applies with --batch");
		return -1;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (*(const char **)((char *)s + required[i].offset) == NULL) {
			cli_usage_error(CMD, "required option '%s' not specified", required[i].name);
			return -1;
		}
	}
	return key_opts_validate(&s->key, CMD);
}

static int run_batch(settings *s, int64_t now)
{
	batch_opts bo;
	qsjwt_signer *signer = NULL;
	double ms;
	long cpus;
	int code;

	/* Check the defaults once, before a key is loaded. */
	if (s->expires != NULL && qsjwt_timespan_parse(s->expires, &ms, NULL) != QSJWT_OK) {
		cli_usage_error(CMD, "--expires %s is not a timespan (e.g. 60m, 8h, 7d)",
				cli_shown(s->expires));
		return EXIT_USAGE;
	}
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	bo.input = s->batch;
	bo.expires = s->expires;
	bo.audience = s->audience;
	bo.alg = s->alg;
	bo.jobs = s->jobs != 0 ? (unsigned)s->jobs : cpus > 0 && cpus <= MAX_JOBS ? (unsigned)cpus : 1;
	code = key_opts_signer(&s->key, now, &signer);
	/* A new key's files are kept before the first token is printed. */
	if (code == EXIT_OK)
		code = key_opts_commit(&s->key);
	if (code == EXIT_OK)
		code = batch_run(&bo, signer);
	return code;
}

int cmd_create_qseow(int argc, char **argv)
{
	settings s;
	qsjwt_qseow_claims claims;
	qsjwt_signer *signer = NULL;
	char *payload = NULL, *token = NULL;
	size_t payload_len = 0;
	int code = EXIT_USAGE;
	int64_t iat, exp;
	char when[32];
	qsjwt_err rc;

	memset(&s, 0, sizeof(s));
	s.alg = QSJWT_RS256;
	s.loglevel = QSJWT_LOG_INFO;
	key_opts_init(&s.key);
	build_table();
	if (cli_parse(CMD, all_opts, n_all, argc, argv, handle, &s) != 0)
		goto out;
	if (cli_help_or_version(s.help, s.version, help, &code))
		goto out;
	qsjwt_log_set_level(s.loglevel);
	qsjwt_log_set_hide_info(s.minimal);
	if (validate(&s) != 0)
		goto out;
	iat = cli_now();
	if (s.batch != NULL) {
		code = run_batch(&s, iat);
		goto out;
	}
	if (cli_expires(CMD, s.expires, iat, &exp) != 0)
		goto out;

	code = key_opts_signer(&s.key, iat, &signer);
	if (code != EXIT_OK)
		goto out;

	claims.user_id = s.userid;
	claims.user_directory = s.userdir;
	claims.name = s.username;
	claims.email = s.useremail;
	claims.groups = (const char *const *)s.groups;
	claims.n_groups = s.n_groups;
	claims.iat = iat;
	claims.exp = exp;
	claims.audience = s.audience;
	rc = qsjwt_qseow_payload(&claims, &payload, &payload_len);
	if (rc == QSJWT_OK) {
		log_verbose("signing with %s, %s; iat %lld, exp %lld", qsjwt_alg_name(s.alg),
			    qsjwt_signer_describe(signer), (long long)iat, (long long)exp);
		log_debug("header: {\"alg\":\"%s\",\"typ\":\"JWT\"}", qsjwt_alg_name(s.alg));
		log_debug("payload: %s", payload);
		rc = qsjwt_jwt_sign(signer, s.alg, payload, payload_len, &token);
	}
	if (rc != QSJWT_OK) {
		code = cli_exit_code(rc == QSJWT_ERR_INVALID ? QSJWT_ERR_CRYPTO : rc);
		goto out;
	}
	code = key_opts_commit(&s.key);
	if (code == EXIT_OK)
		code = cli_write_stdout_line(token);
	if (code == EXIT_OK) {
		cli_iso_time(exp, when, sizeof(when));
		log_info("JWT for %s\\%s signed %s, valid until %s", s.userdir, s.userid,
			 qsjwt_alg_name(s.alg), when);
	}
out:
	qsjwt_secret_free(token);
	free(payload);
	key_opts_release(&s.key); /* frees the signer */
	free(s.groups);
	return code;
}
