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
	OPT_ALG
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

typedef struct {
	const char *issuer, *keyid, *sub, *username, *useremail, *expires;
	int verified; /* -1: not given */
	int keyid_from_key;
	const char **groups;
	size_t n_groups;
	qsjwt_alg alg;
	cli_common common;
	key_opts key;
} settings;

static cli_table table;

static int build_table(void)
{
	const cli_option *parts[] = { claim_opts, key_opts_table, cli_common_opts };
	const size_t lens[] = { sizeof(claim_opts) / sizeof(claim_opts[0]), key_opts_table_len,
				cli_common_opts_len };

	return cli_table_build(&table, NULL, 0, parts, lens, 3);
}

static void help(void)
{
	printf("Usage: qs-jwt create-qscloud [options]\n\n"
	       "Create a JWT for a Qlik Cloud tenant's JWT identity provider, signed with a\n"
	       "key from a PEM file, a PEM parameter, a PKCS#11 token, or a new key pair.\n"
	       "The token alone is printed on standard output; logs go to standard error.\n\n"
	       "Options:\n");
	cli_print_options(stdout, table.v, table.n);
	printf("\nWith --cert-create, PREFIXqscloud-idp.json is written too: the request that\n"
	       "creates the Qlik Cloud JWT identity provider for the new key\n"
	       "('qlik identity-provider create jwtauth --file PREFIXqscloud-idp.json').\n");
	printf("\nEnvironment:\n"
	       "  QSJWT_KEY_PASSPHRASE  passphrase of an encrypted private key\n"
	       "  QSJWT_PKCS11_PIN      user PIN of the token\n"
	       "  NO_COLOR              when set and not empty, logs are never coloured\n\n");
	cli_print_exit_codes(stdout, 0);
	printf("\nExample:\n"
	       "  qs-jwt create-qscloud --issuer my-issuer --keyid my-key --sub jdoe \\\n"
	       "    --username 'John Doe' --useremail jdoe@example.com \\\n"
	       "    --useremail-verified true --groups Sales --expires 5m \\\n"
	       "    --cert-privatekey-file privatekey.pem\n");
}

static int handle(void *ud, int id, char *value)
{
	settings *s = ud;
	int rc;

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
		return cli_groups_add(CMD, &s->groups, &s->n_groups, value);
	case OPT_ALG: return cli_alg(CMD, value, &s->alg);
	default:
		rc = cli_common_handle(&s->common, CMD, id, value);
		if (rc != 1)
			return rc;
		return key_opts_handle(&s->key, CMD, id, value) < 0 ? -1 : 0;
	}
}

static int validate(settings *s)
{
	/* --keyid-from-key stands for --keyid. */
	const char *values[] = { s->issuer, s->keyid != NULL || s->keyid_from_key ? "" : NULL,
				 s->expires };
	static const char *const names[] = { "--issuer <issuer>",
					     "--keyid <keyid> (or --keyid-from-key)",
					     "--expires <expires>" };

	if (cli_require(CMD, values, names, sizeof(names) / sizeof(names[0])) != 0)
		return -1;
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
	cli_table_free(&table);
	return code;
}
