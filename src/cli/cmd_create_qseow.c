/* qs-jwt create-qseow: a JWT for Qlik Sense Enterprise on Windows, byte for
 * byte as the original Node.js tool made it (docs/compatibility.md). */
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
#include "platform/platform.h"
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
	OPT_JOBS
};

/* The original's placeholders (<directory>, <name>, <email>, <time>). */
static const cli_option claim_opts[] = {
	{ OPT_USERDIR, "userdir", 0, CLI_VALUE, 1, "<directory>",
	  "user directory of the user (claim userDirectory); required" },
	{ OPT_USERID, "userid", 0, CLI_VALUE, 1, "<userid>", "user ID (claim userId); required" },
	{ OPT_USERNAME, "username", 0, CLI_VALUE, 1, "<name>",
	  "full name of the user (claim name); required" },
	{ OPT_USEREMAIL, "useremail", 0, CLI_VALUE, 1, "<email>",
	  "email address of the user (claim email); required" },
	{ OPT_GROUPS, "groups", 0, CLI_VARIADIC, 1, "<groups...>",
	  "groups the user belongs to (claim group, always an array): takes the "
	  "arguments up to the next option; repeating --groups appends" },
	{ OPT_EXPIRES, "expires", 0, CLI_VALUE, 1, "<time>",
	  "lifetime of the JWT: a number and a unit, e.g. 30s, 60m, 8h, 7d, 1y; "
	  "no unit means milliseconds and M means minutes, as in the original; required" },
	{ OPT_AUDIENCE, "audience", 0, CLI_VALUE, 1, "<audience>",
	  "audience (claim aud); must equal the virtual proxy's JWT audience; required" },
	{ OPT_ALG, "alg", 0, CLI_VALUE, 0, "<alg>",
	  "signature algorithm: RS256 (default), RS384 or RS512" },
	{ OPT_BATCH, "batch", 0, CLI_VALUE, 0, "<file>",
	  "issue one token per JSON line of FILE ('-': standard input), with the "
	  "fields userid, userdir, username, useremail, groups (an array) and, "
	  "optionally, expires and audience (else --expires and --audience); "
	  "prints JSON lines {\"line\", \"userid\", \"userdir\", \"token\"} or "
	  "{\"line\", \"error\"} in input order" },
	{ OPT_JOBS, "jobs", 0, CLI_VALUE, 0, "<n>",
	  "with --batch: signing workers (default: the number of online CPUs)" },
};

/* The original's options, in the original's order (its --help); then ours. */
static const int original_order[] = {
	OPT_USERDIR,	  OPT_USERID,	      OPT_USERNAME,	OPT_USEREMAIL,
	OPT_EXPIRES,	  OPT_AUDIENCE,	      CLI_OPT_LOGLEVEL, OPT_GROUPS,
	KEY_OPT_FILE,	  KEY_OPT_PARAM,      KEY_OPT_CERT_CREATE, KEY_OPT_PREFIX,
	KEY_OPT_DAYS,	  CLI_OPT_MINIMAL,    CLI_OPT_HELP,	CLI_OPT_VERSION,
};
#define N_ORIGINAL (sizeof(original_order) / sizeof(original_order[0]))

typedef struct {
	const char *userdir, *userid, *username, *useremail, *expires, *audience;
	const char **groups;
	size_t n_groups;
	qsjwt_alg alg;
	cli_common common;
	const char *batch;
	long jobs; /* 0: not given */
	key_opts key;
} settings;

static cli_table table;

static int build_table(void)
{
	const cli_option *parts[] = { claim_opts, key_opts_table, cli_common_opts };
	const size_t lens[] = { sizeof(claim_opts) / sizeof(claim_opts[0]), key_opts_table_len,
				cli_common_opts_len };

	return cli_table_build(&table, original_order, N_ORIGINAL, parts, lens, 3);
}

static void help(void)
{
	printf("Usage: qs-jwt create-qseow [options]\n\n"
	       "Create a JWT for Qlik Sense Enterprise on Windows (QSEoW), signed RS256\n"
	       "(or RS384/RS512, --alg) with a key from a PEM file, a PEM parameter, a\n"
	       "PKCS#11 token (HSM, smartcard), or a new key pair (--cert-create).\n"
	       "The token alone is printed on standard output; logs go to standard error.\n\n"
	       "Options (those of the original qs-jwt):\n");
	cli_print_options(stdout, table.v, N_ORIGINAL);
	printf("\nMore options:\n");
	cli_print_options(stdout, table.v + N_ORIGINAL, table.n - N_ORIGINAL);
	printf("\nEnvironment:\n"
	       "  QSJWT_KEY_PASSPHRASE  passphrase of an encrypted private key (when no\n"
	       "                        --cert-privatekey-passphrase-file is given)\n"
	       "  QSJWT_PKCS11_PIN      user PIN of the token (when the URI has no pin-source\n"
	       "                        and no --pkcs11-pin-file is given)\n"
	       "  NO_COLOR              when set and not empty, logs are never coloured\n\n");
	cli_print_exit_codes(stdout, 0);
	printf("\nExample:\n"
	       "  qs-jwt create-qseow --userdir ACME --userid jdoe --username 'John Doe' \\\n"
	       "    --useremail john.doe@example.com --groups Sales Finance --expires 60m \\\n"
	       "    --audience qlik-aud --cert-privatekey-file privatekey.pem\n");
}

static int handle(void *ud, int id, char *value)
{
	settings *s = ud;
	int rc;

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
		return cli_groups_add(CMD, &s->groups, &s->n_groups, value);
	case OPT_ALG:
		return cli_alg(CMD, value, &s->alg);
	default:
		rc = cli_common_handle(&s->common, CMD, id, value);
		if (rc != 1)
			return rc;
		return key_opts_handle(&s->key, CMD, id, value) < 0 ? -1 : 0;
	}
}

static int validate(settings *s)
{
	const char *values[] = { s->userdir, s->userid, s->username,
				 s->useremail, s->expires, s->audience };
	static const char *const names[] = { "--userdir <directory>", "--userid <userid>",
					     "--username <name>",     "--useremail <email>",
					     "--expires <time>",      "--audience <audience>" };

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
	if (cli_require(CMD, values, names, sizeof(names) / sizeof(names[0])) != 0)
		return -1;
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
	cpus = plat_cpu_count();
	bo.input = s->batch;
	bo.expires = s->expires;
	bo.audience = s->audience;
	bo.alg = s->alg;
	bo.jobs = s->jobs != 0 ? (unsigned)s->jobs : cpus > 0 && cpus <= MAX_JOBS ? (unsigned)cpus : 1;
	code = key_opts_signer(&s->key, now, &signer);
	if (code == EXIT_OK && s->jobs == 0) {
		/* The default fits the token: a card or HSM partition may take
		 * only a few sessions at a time (each worker has one, beside the
		 * one that logged in). An explicit --jobs is tried as given. */
		unsigned left = qsjwt_signer_sessions_left(signer);
		if (left != QSJWT_SESSIONS_UNLIMITED) {
			log_verbose("%s: the token takes %u more session%s at a time",
				    qsjwt_signer_describe(signer), left, left == 1 ? "" : "s");
			if (left < bo.jobs)
				bo.jobs = left > 0 ? left : 1;
		}
	}
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
	cli_common_init(&s.common);
	key_opts_init(&s.key);
	if (build_table() != 0) {
		code = EXIT_RUNTIME;
		goto out;
	}
	if (cli_parse(CMD, table.v, table.n, argc, argv, handle, &s) != 0)
		goto out;
	if (cli_help_or_version(s.common.help, s.common.version, help, &code))
		goto out;
	qsjwt_log_set_level(s.common.loglevel);
	qsjwt_log_set_hide_info(s.common.minimal);
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
	cli_table_free(&table);
	return code;
}
