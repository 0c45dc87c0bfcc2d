/* qs-jwt create-qscloud: a JWT for a Qlik Cloud JWT identity provider, as the
 * original made it, without its defects (a string email_verified, a random
 * subject on every token, groups as "group", any lifetime; see
 * docs/compatibility.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qsjwt/qsjwt.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/key_opts.h"
#include "util/log.h"

#define CMD "create-qscloud"
/* The original's sizes of the random jti and sub, in bytes. */
#define JTI_BYTES 32
#define SUB_BYTES 42

enum {
	OPT_ISSUER = 1,
	OPT_KEYID,
	OPT_KEYID_FROM_KEY,
	OPT_SUB,
	OPT_USERNAME,
	OPT_USEREMAIL,
	OPT_VERIFIED,
	OPT_GROUPS,
	OPT_EXPIRES,
	OPT_ALG,
	OPT_LOGLEVEL,
	OPT_MINIMAL,
	OPT_HELP,
	OPT_VERSION
};

static const cli_option claim_opts[] = {
	{ OPT_ISSUER, "issuer", 0, CLI_VALUE, 1, "<issuer>",
	  "issuer (claim iss), as configured in the Qlik Cloud JWT IdP; required" },
	{ OPT_KEYID, "keyid", 0, CLI_VALUE, 1, "<keyid>",
	  "key ID (header kid), as configured in the Qlik Cloud JWT IdP; this or\n"
	  "--keyid-from-key is required" },
	{ OPT_KEYID_FROM_KEY, "keyid-from-key", 0, CLI_FLAG, 0, NULL,
	  "the key ID is the signing key's RFC 7638 JWK thumbprint (for a new IdP)" },
	{ OPT_SUB, "sub", 0, CLI_VALUE, 1, "<sub>",
	  "subject (claim sub): a stable ID of the user. Without it a random one is\n"
	  "made, as the original did, and Qlik Cloud sees a new user on every token" },
	{ OPT_SUB, "subject", 0, CLI_VALUE, 1, "<sub>", "the same as --sub" },
	{ OPT_USERNAME, "username", 0, CLI_VALUE, 1, "<username>", "user's name (claim name)" },
	{ OPT_USEREMAIL, "useremail", 0, CLI_VALUE, 1, "<useremail>",
	  "user's email (claim email); needs --useremail-verified" },
	{ OPT_VERIFIED, "useremail-verified", 0, CLI_VALUE, 0, "<true|false>",
	  "whether the email is verified (claim email_verified, a JSON boolean)" },
	{ OPT_GROUPS, "groups", 0, CLI_VARIADIC, 1, "<groups...>",
	  "groups the user belongs to (claim groups, always an array): takes the\n"
	  "arguments up to the next option; repeating --groups appends" },
	{ OPT_EXPIRES, "expires", 0, CLI_VALUE, 1, "<expires>",
	  "lifetime of the JWT: a number and a unit, e.g. 30s, 5m, 60m; at most 3600 s\n"
	  "(Qlik Cloud's limit); no unit means milliseconds, as in the original; required" },
	{ OPT_ALG, "alg", 0, CLI_VALUE, 0, "<alg>",
	  "signature algorithm: RS256 (default), RS384 or RS512" },
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
	const char *issuer, *keyid, *sub, *username, *useremail, *expires;
	int verified; /* -1: not given */
	int keyid_from_key;
	const char **groups;
	size_t n_groups;
	qsjwt_alg alg;
	qsjwt_log_level loglevel;
	int minimal, help, version;
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
	printf("Usage: qs-jwt create-qscloud [options]\n\n"
	       "Create a JWT for a Qlik Cloud tenant's JWT identity provider, signed with a\n"
	       "key from a PEM file, a PEM parameter, a PKCS#11 token, or a new key pair.\n"
	       "The token alone is printed on standard output; logs go to standard error.\n\n"
	       "Options:\n");
	cli_print_options(stdout, all_opts, n_all);
	printf("\nWith --cert-create, PREFIXqscloud-idp.json is written too: the request that\n"
	       "creates the Qlik Cloud JWT identity provider for the new key\n"
	       "('qlik identity-provider create jwtauth --file PREFIXqscloud-idp.json').\n");
	printf("\nEnvironment:\n"
	       "  QSJWT_KEY_PASSPHRASE  passphrase of an encrypted private key\n"
	       "  QSJWT_PKCS11_PIN      user PIN of the token\n"
	       "  NO_COLOR              when set and not empty, logs are never coloured\n\n");
	cli_print_exit_codes(stdout);
	printf("\nExample:\n"
	       "  qs-jwt create-qscloud --issuer my-issuer --keyid my-key --sub jdoe \\\n"
	       "    --username 'John Doe' --useremail jdoe@example.com --useremail-verified true \\\n"
	       "    --groups Sales --expires 5m --cert-privatekey-file privatekey.pem\n");
}

static int handle(void *ud, int id, char *value)
{
	settings *s = ud;
	const char **g;

	switch (id) {
	case OPT_ISSUER: s->issuer = value; return 0;
	case OPT_KEYID: s->keyid = value; return 0;
	case OPT_KEYID_FROM_KEY: s->keyid_from_key = 1; return 0;
	case OPT_SUB: s->sub = value; return 0;
	case OPT_USERNAME: s->username = value; return 0;
	case OPT_USEREMAIL: s->useremail = value; return 0;
	case OPT_EXPIRES: s->expires = value; return 0;
	case OPT_VERIFIED:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			cli_usage_error(CMD, "--useremail-verified takes 'true' or 'false', not %s",
					cli_shown(value));
			return -1;
		}
		s->verified = value[0] == 't';
		return 0;
	case OPT_GROUPS:
		g = realloc(s->groups, (s->n_groups + 1) * sizeof(*g));
		if (g == NULL) {
			cli_usage_error(CMD, "out of memory");
			return -1;
		}
		g[s->n_groups++] = value;
		s->groups = g;
		return 0;
	case OPT_ALG: return cli_alg(CMD, value, &s->alg);
	case OPT_LOGLEVEL: return cli_loglevel(CMD, value, &s->loglevel);
	case OPT_MINIMAL: s->minimal = 1; return 0;
	case OPT_HELP: s->help = 1; return 0;
	case OPT_VERSION: s->version = 1; return 0;
	default: return key_opts_handle(&s->key, CMD, id, value) < 0 ? -1 : 0;
	}
}

static int validate(settings *s)
{
	int no_keyid = s->keyid == NULL && !s->keyid_from_key;
	const char *missing = s->issuer == NULL    ? "--issuer <issuer>"
			      : no_keyid           ? "--keyid <keyid>"
			      : s->expires == NULL ? "--expires <expires>"
						   : NULL;

	if (missing != NULL) {
		cli_usage_error(CMD, "required option '%s' not specified%s", missing,
				s->issuer != NULL && no_keyid ? " (or give --keyid-from-key)" : "");
		return -1;
	}
	if (s->keyid != NULL && s->keyid_from_key) {
		cli_usage_error(CMD, "give --keyid or --keyid-from-key, not both");
		return -1;
	}
	if (s->useremail != NULL && s->verified < 0) {
		cli_usage_error(CMD, "--useremail needs --useremail-verified true|false");
		return -1;
	}
	if (s->useremail == NULL && s->verified >= 0) {
		cli_usage_error(CMD, "--useremail-verified only applies with --useremail");
		return -1;
	}
	return key_opts_validate(&s->key, CMD);
}

int cmd_create_qscloud(int argc, char **argv)
{
	settings s;
	qsjwt_qscloud_claims c;
	qsjwt_signer *signer = NULL;
	char *payload = NULL, *token = NULL, *jti = NULL, *rand_sub = NULL, *thumb = NULL;
	size_t payload_len = 0;
	char why[160];
	int code = EXIT_USAGE;
	int64_t iat, exp;
	qsjwt_err rc;

	memset(&s, 0, sizeof(s));
	s.verified = -1;
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
	if (cli_expires(CMD, s.expires, iat, &exp) != 0)
		goto out;
	memset(&c, 0, sizeof(c));
	c.iat = iat;
	c.exp = exp;
	/* Qlik Cloud's rules before any key is opened or made. */
	if (qsjwt_qscloud_check(&c, why, sizeof(why)) != QSJWT_OK) {
		cli_usage_error(CMD, "--expires %s: %s", cli_shown(s.expires), why);
		goto out;
	}
	code = EXIT_RUNTIME;
	if (qsjwt_random_b64url(JTI_BYTES, &jti) != QSJWT_OK)
		goto out;
	if (s.sub == NULL) {
		if (qsjwt_random_b64url(SUB_BYTES, &rand_sub) != QSJWT_OK)
			goto out;
		log_warn("no --sub given: the subject is random, as in the original, so Qlik Cloud "
			 "sees a new user on every token; give --sub with a stable user ID");
	}
	s.key.idp_issuer = s.issuer;
	s.key.idp_kid = s.keyid;
	code = key_opts_signer(&s.key, iat, &signer);
	if (code != EXIT_OK)
		goto out;
	if (s.keyid_from_key) {
		code = EXIT_RUNTIME;
		if (qsjwt_signer_jwk(signer, NULL, &thumb) != QSJWT_OK)
			goto out;
		s.keyid = thumb;
		log_info("kid: '%s', the RFC 7638 thumbprint of the key", thumb);
	}
	c.jti = jti;
	c.sub = s.sub != NULL ? s.sub : rand_sub;
	c.name = s.username;
	c.email = s.useremail;
	c.email_verified = s.verified;
	c.groups = (const char *const *)s.groups;
	c.n_groups = s.n_groups;
	c.issuer = s.issuer;
	rc = qsjwt_qscloud_payload(&c, &payload, &payload_len);
	if (rc == QSJWT_OK) {
		log_verbose("signing with %s, %s; kid '%s'", qsjwt_alg_name(s.alg),
			    qsjwt_signer_describe(signer), s.keyid);
		log_debug("payload: %s", payload);
		rc = qsjwt_jwt_sign_kid(signer, s.alg, s.keyid, payload, payload_len, &token);
	}
	if (rc != QSJWT_OK) {
		code = EXIT_RUNTIME;
		goto out;
	}
	code = key_opts_commit(&s.key);
	if (code == EXIT_OK)
		code = cli_write_stdout_line(token);
	if (code == EXIT_OK)
		log_info("JWT for subject '%s' signed %s (kid '%s')", c.sub, qsjwt_alg_name(s.alg),
			 s.keyid);
out:
	qsjwt_secret_free(token);
	free(payload);
	free(jti);
	free(rand_sub);
	free(thumb);
	key_opts_release(&s.key);
	free(s.groups);
	return code;
}
