/* The Qlik profiles (qsjwt_profile_check): each rule passing and failing on
 * hand-made tokens (the signature is not looked at here), and a result that
 * cannot hold every check is never valid. */
#include <stdlib.h>

#include "unit.h"

#include "jose/b64url.h"
#include "util/strbuf.h"

static qsjwt_jwt *token(const char *hdr, const char *pl)
{
	strbuf b;
	qsjwt_jwt *t = NULL;

	strbuf_init(&b);
	b64url_append(&b, (const unsigned char *)hdr, strlen(hdr));
	strbuf_addch(&b, '.');
	b64url_append(&b, (const unsigned char *)pl, strlen(pl));
	strbuf_addstr(&b, ".AAAA");
	assert_false(b.failed);
	check_rc("decode", qsjwt_jwt_decode(b.data, b.len, &t), QSJWT_OK);
	strbuf_release(&b);
	return t;
}

static const qsjwt_check *find(const qsjwt_verify_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_checks; i++) {
		if (strcmp(r->checks[i].name, name) == 0)
			return &r->checks[i];
	}
	return NULL;
}

#define QSC_HDR "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"
#define QSC_PL                                                                                     \
	"{\"jti\":\"j\",\"sub\":\"s\",\"subType\":\"user\",\"name\":\"N\",\"email\":\"e\","      \
	"\"groups\":[\"G\"],\"email_verified\":true,\"iat\":100,\"nbf\":100,\"exp\":3700,"      \
	"\"aud\":\"qlik.api/login/jwt-session\",\"iss\":\"i\"}"
#define QSE_HDR "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define QSE_PL "{\"userId\":\"u\",\"userDirectory\":\"D\",\"group\":[\"G\"],\"iat\":1,\"exp\":2}"

static void test_from_name(void **state)
{
	qsjwt_profile p = QSJWT_PROFILE_NONE;

	(void)state;
	check_rc("qseow", qsjwt_profile_from_name("qseow", &p), QSJWT_OK);
	check_int("qseow", p, QSJWT_PROFILE_QSEOW);
	check_rc("qscloud", qsjwt_profile_from_name("qscloud", &p), QSJWT_OK);
	check_int("qscloud", p, QSJWT_PROFILE_QSCLOUD);
	p = QSJWT_PROFILE_NONE;
	check_rc("QSEOW", qsjwt_profile_from_name("QSEOW", &p), QSJWT_ERR_INVALID);
	check_rc("empty", qsjwt_profile_from_name("", &p), QSJWT_ERR_INVALID);
	check_int("unchanged", p, QSJWT_PROFILE_NONE);
}

static void test_rules(void **state)
{
	static const struct {
		const char *ctx;
		qsjwt_profile profile;
		const char *hdr, *pl, *issuer, *keyid, *uid, *udir;
		const char *check;
		qsjwt_check_result want;
		const char *detail;
		int valid;
	} rows[] = {
		{ "qscloud all pass", QSJWT_PROFILE_QSCLOUD, QSC_HDR, QSC_PL, "i", "k1", NULL, NULL,
		  "qscloud.lifetime", QSJWT_CHECK_PASS, "exp is 3600 s after nbf (at most 3600)", 1 },
		{ "qscloud 3601 s", QSJWT_PROFILE_QSCLOUD, QSC_HDR,
		  "{\"jti\":\"j\",\"sub\":\"s\",\"subType\":\"user\",\"iat\":100,\"nbf\":100,"
		  "\"exp\":3701,\"aud\":\"qlik.api/login/jwt-session\",\"iss\":\"i\"}",
		  NULL, NULL, NULL, NULL, "qscloud.lifetime", QSJWT_CHECK_FAIL,
		  "Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: "
		  "3601 s)",
		  0 },
		{ "qscloud group, no groups", QSJWT_PROFILE_QSCLOUD, QSC_HDR,
		  "{\"jti\":\"j\",\"sub\":\"s\",\"subType\":\"user\",\"group\":[\"G\"],\"iat\":100,"
		  "\"nbf\":100,\"exp\":200,\"aud\":\"qlik.api/login/jwt-session\",\"iss\":\"i\"}",
		  NULL, NULL, NULL, NULL, "qscloud.groups", QSJWT_CHECK_FAIL,
		  "the token has 'group', which Qlik Cloud ignores, and no 'groups': its groups are "
		  "lost",
		  0 },
		{ "qscloud email_verified string", QSJWT_PROFILE_QSCLOUD, QSC_HDR,
		  "{\"jti\":\"j\",\"sub\":\"s\",\"subType\":\"user\",\"email_verified\":\"true\","
		  "\"iat\":100,\"nbf\":100,\"exp\":200,\"aud\":\"qlik.api/login/jwt-session\","
		  "\"iss\":\"i\"}",
		  NULL, NULL, NULL, NULL, "qscloud.email_verified", QSJWT_CHECK_FAIL,
		  "'email_verified' is a string, not a boolean", 0 },
		{ "qscloud name absent, still valid", QSJWT_PROFILE_QSCLOUD, QSC_HDR,
		  "{\"jti\":\"j\",\"sub\":\"s\",\"subType\":\"user\",\"iat\":100,\"nbf\":100,"
		  "\"exp\":200,\"aud\":\"qlik.api/login/jwt-session\",\"iss\":\"i\"}",
		  NULL, NULL, NULL, NULL, "qscloud.name", QSJWT_CHECK_ABSENT,
		  "no 'name' claim; Qlik's reference says a token should have one", 1 },
		{ "qscloud wrong kid", QSJWT_PROFILE_QSCLOUD, QSC_HDR, QSC_PL, NULL, "k2", NULL, NULL,
		  "qscloud.kid", QSJWT_CHECK_FAIL, "'kid' is 'k1', expected 'k2'", 0 },
		{ "qscloud no kid", QSJWT_PROFILE_QSCLOUD, QSE_HDR, QSC_PL, NULL, NULL, NULL, NULL,
		  "qscloud.kid", QSJWT_CHECK_FAIL, "no 'kid' header parameter", 0 },
		{ "qscloud wrong iss", QSJWT_PROFILE_QSCLOUD, QSC_HDR, QSC_PL, "x", NULL, NULL, NULL,
		  "qscloud.iss", QSJWT_CHECK_FAIL, "'iss' is 'i', expected 'x'", 0 },
		{ "qscloud alg none", QSJWT_PROFILE_QSCLOUD, "{\"alg\":\"none\",\"kid\":\"k1\"}", QSC_PL,
		  NULL, NULL, NULL, NULL, "qscloud.alg", QSJWT_CHECK_FAIL,
		  "alg 'none' is not accepted; accepted: RS256, RS384, RS512, ES256, ES384, ES512", 0 },
		{ "qscloud no alg", QSJWT_PROFILE_QSCLOUD, "{\"kid\":\"k1\"}", QSC_PL, NULL, NULL, NULL,
		  NULL, "qscloud.alg", QSJWT_CHECK_FAIL,
		  "the header has no 'alg' string; accepted: RS256, RS384, RS512, ES256, ES384, ES512",
		  0 },
		{ "qseow all pass", QSJWT_PROFILE_QSEOW, QSE_HDR, QSE_PL, NULL, NULL, NULL, NULL,
		  "qseow.group", QSJWT_CHECK_PASS, "'group' is an array of 1 string", 1 },
		{ "qseow ES256", QSJWT_PROFILE_QSEOW, "{\"alg\":\"ES256\"}", QSE_PL, NULL, NULL, NULL,
		  NULL, "qseow.alg", QSJWT_CHECK_FAIL,
		  "alg 'ES256' is not accepted; accepted: RS256, RS384, RS512", 0 },
		{ "qseow mapped userid", QSJWT_PROFILE_QSEOW, QSE_HDR, QSE_PL, NULL, NULL, "uid", NULL,
		  "qseow.userid", QSJWT_CHECK_FAIL, "no 'uid' claim", 0 },
		{ "qseow mapped userdir", QSJWT_PROFILE_QSEOW, QSE_HDR,
		  "{\"userId\":\"u\",\"dir\":\"D\"}", NULL, NULL, NULL, "dir", "qseow.userdir",
		  QSJWT_CHECK_PASS, "'dir' is 'D'", 1 },
		{ "qseow group string", QSJWT_PROFILE_QSEOW, QSE_HDR,
		  "{\"userId\":\"u\",\"userDirectory\":\"D\",\"group\":\"G\"}", NULL, NULL, NULL, NULL,
		  "qseow.group", QSJWT_CHECK_FAIL, "'group' is a string, not an array of strings", 0 },
		{ "qseow expected kid", QSJWT_PROFILE_QSEOW, QSE_HDR, QSE_PL, NULL, "k", NULL, NULL,
		  "qseow.kid", QSJWT_CHECK_FAIL, "no 'kid' header parameter; expected 'k'", 0 },
		{ "none: iss", QSJWT_PROFILE_NONE, QSE_HDR, QSC_PL, "i", NULL, NULL, NULL, "iss",
		  QSJWT_CHECK_PASS, "'iss' is 'i'", 1 },
		{ "none: kid", QSJWT_PROFILE_NONE, QSC_HDR, QSC_PL, NULL, "k9", NULL, NULL, "kid",
		  QSJWT_CHECK_FAIL, "'kid' is 'k1', expected 'k9'", 0 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		qsjwt_jwt *t = token(rows[i].hdr, rows[i].pl);
		qsjwt_profile_opts o = { rows[i].profile, rows[i].uid, rows[i].udir, rows[i].issuer,
					 rows[i].keyid };
		qsjwt_verify_result r;
		const qsjwt_check *c;

		memset(&r, 0, sizeof(r));
		r.valid = 1;
		check_rc(rows[i].ctx, qsjwt_profile_check(t, &o, &r), QSJWT_OK);
		c = find(&r, rows[i].check);
		if (c == NULL) {
			print_error("%s: no check %s\n", rows[i].ctx, rows[i].check);
			fail();
		}
		check_int(rows[i].ctx, c->result, rows[i].want);
		check_str(rows[i].ctx, c->detail, rows[i].detail);
		check_int(rows[i].ctx, r.valid, rows[i].valid);
		if (!rows[i].valid && r.reason == NULL) {
			print_error("%s: invalid without a reason\n", rows[i].ctx);
			fail();
		}
		qsjwt_jwt_free(t);
	}
}

/* Every rule of qscloud is checked, in this order. */
static void test_qscloud_order(void **state)
{
	static const char *const names[] = { "qscloud.alg",     "qscloud.kid",   "qscloud.sub",
					     "qscloud.subType", "qscloud.jti",   "qscloud.iat",
					     "qscloud.nbf",     "qscloud.exp",   "qscloud.lifetime",
					     "qscloud.iss",     "qscloud.aud",   "qscloud.groups",
					     "qscloud.name",    "qscloud.email", "qscloud.email_verified" };
	qsjwt_jwt *t = token(QSC_HDR, QSC_PL);
	qsjwt_profile_opts o = { QSJWT_PROFILE_QSCLOUD, NULL, NULL, NULL, NULL };
	qsjwt_verify_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.valid = 1;
	check_rc("qscloud", qsjwt_profile_check(t, &o, &r), QSJWT_OK);
	check_int("checks", (long long)r.n_checks, (long long)N_ELEMS(names));
	for (size_t i = 0; i < N_ELEMS(names) && i < r.n_checks; i++) {
		check_str(names[i], r.checks[i].name, names[i]);
		check_int(names[i], r.checks[i].result, QSJWT_CHECK_PASS);
	}
	check_int("valid", r.valid, 1);
	qsjwt_jwt_free(t);
}

/* A result too small for every check: not valid, with a reason. */
static void test_full_result(void **state)
{
	qsjwt_jwt *t = token(QSC_HDR, QSC_PL);
	qsjwt_profile_opts o = { QSJWT_PROFILE_QSCLOUD, NULL, NULL, NULL, NULL };
	qsjwt_verify_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.valid = 1;
	r.n_checks = QSJWT_MAX_CHECKS - 2;
	for (size_t i = 0; i < r.n_checks; i++) {
		r.checks[i].name = "filler";
		r.checks[i].result = QSJWT_CHECK_PASS;
	}
	check_rc("full", qsjwt_profile_check(t, &o, &r), QSJWT_OK);
	check_int("n_checks", (long long)r.n_checks, QSJWT_MAX_CHECKS);
	check_int("valid", r.valid, 0);
	check_str("reason", r.reason, "more checks than a result can hold");
	qsjwt_jwt_free(t);
}

static void test_bad_profile(void **state)
{
	qsjwt_jwt *t = token(QSC_HDR, QSC_PL);
	qsjwt_profile_opts o = { (qsjwt_profile)7, NULL, NULL, NULL, NULL };
	qsjwt_verify_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	check_rc("bad profile", qsjwt_profile_check(t, &o, &r), QSJWT_ERR_INVALID);
	qsjwt_jwt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_name),     cmocka_unit_test(test_rules),
		cmocka_unit_test(test_qscloud_order), cmocka_unit_test(test_full_result),
		cmocka_unit_test(test_bad_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
