/* The QSEoW payload, byte for byte (docs/compatibility.md, "The token"). */
#include <stdlib.h>

#include "unit.h"

static const qsjwt_qseow_claims base = {
	.user_id = "jdoe",
	.user_directory = "ACME",
	.name = "John Doe",
	.email = "john.doe@example.com",
	.groups = NULL,
	.n_groups = 0,
	.iat = 1893456000,
	.exp = 1893459600,
	.audience = "qlik-aud",
};

static void check_payload(const char *ctx, const qsjwt_qseow_claims *c, const char *want)
{
	char *json = NULL;
	size_t len = 0;

	check_rc(ctx, qsjwt_qseow_payload(c, &json, &len), QSJWT_OK);
	check_bytes(ctx, json, len, want, strlen(want));
	check_int(ctx, (long long)strlen(json), (long long)len);
	free(json);
}

static void test_payloads(void **state)
{
	static const char *const one[] = { "Sales" };
	static const char *const two[] = { "Sales", "Finance" };
	static const char *const empty[] = { "" };
	static const char *const commas[] = { "a,b", " c " };
	static const char *const uni[] = { "\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xf0\x9f\x98\x80",
					   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" };
	static const char *const esc[] = { "g\"1\"", "a\\b", "x/y<z>" };
	struct {
		const char *ctx;
		qsjwt_qseow_claims c;
		const char *want;
	} rows[] = {
		{ "no groups: no group key", base,
		  "{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\","
		  "\"email\":\"john.doe@example.com\",\"iat\":1893456000,\"exp\":1893459600,"
		  "\"aud\":\"qlik-aud\"}" },
		{ "one group: an array", base,
		  "{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\","
		  "\"email\":\"john.doe@example.com\",\"group\":[\"Sales\"],\"iat\":1893456000,"
		  "\"exp\":1893459600,\"aud\":\"qlik-aud\"}" },
		/* the original's output for the all-claims vector */
		{ "two groups", base,
		  "{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\","
		  "\"email\":\"john.doe@example.com\",\"group\":[\"Sales\",\"Finance\"],"
		  "\"iat\":1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}" },
		{ "empty strings kept", base,
		  "{\"userId\":\"\",\"userDirectory\":\"\",\"name\":\"\",\"email\":\"\","
		  "\"group\":[\"\"],\"iat\":0,\"exp\":253402300799,\"aud\":\"\"}" },
		{ "commas do not split", base,
		  "{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\","
		  "\"email\":\"john.doe@example.com\",\"group\":[\"a,b\",\" c \"],"
		  "\"iat\":1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}" },
		/* the original's output for the unicode vector */
		{ "unicode raw", base,
		  "{\"userId\":\"g\xc3\xb6ran\",\"userDirectory\":\"\xc3\x85\xc3\x84\xc3\x96\","
		  "\"name\":\"G\xc3\xb6ran Sand\xc3\xa9r\",\"email\":\"g\xc3\xb6ran@ex\xc3\xa4mple.se\","
		  "\"group\":[\"\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xf0\x9f\x98\x80\","
		  "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"],\"iat\":1893456000,\"exp\":1893459600,"
		  "\"aud\":\"a\xc3\xbc" "d\"}" },
		{ "escaping in every field", base,
		  "{\"userId\":\"a\\\"b\",\"userDirectory\":\"C:\\\\dir\",\"name\":\"l1\\nl2\\t\","
		  "\"email\":\"\\u0001\\u001f\x7f\",\"group\":[\"g\\\"1\\\"\",\"a\\\\b\",\"x/y<z>\"],"
		  "\"iat\":1893456000,\"exp\":1893459600,\"aud\":\"</script>\\r\\b\\f\"}" },
		{ "negative lifetime", base,
		  "{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\","
		  "\"email\":\"john.doe@example.com\",\"iat\":1893456000,\"exp\":1893452400,"
		  "\"aud\":\"qlik-aud\"}" },
	};

	(void)state;
	rows[1].c.groups = one;
	rows[1].c.n_groups = 1;
	rows[2].c.groups = two;
	rows[2].c.n_groups = 2;
	rows[3].c = (qsjwt_qseow_claims){ "", "", "", "", empty, 1, 0, QSJWT_MAX_TIME, "" };
	rows[4].c.groups = commas;
	rows[4].c.n_groups = 2;
	rows[5].c = (qsjwt_qseow_claims){ "g\xc3\xb6ran", "\xc3\x85\xc3\x84\xc3\x96",
					  "G\xc3\xb6ran Sand\xc3\xa9r", "g\xc3\xb6ran@ex\xc3\xa4mple.se",
					  uni, 2, 1893456000, 1893459600, "a\xc3\xbc" "d" };
	rows[6].c = (qsjwt_qseow_claims){ "a\"b", "C:\\dir", "l1\nl2\t", "\x01\x1f\x7f", esc, 3,
					  1893456000, 1893459600, "</script>\r\b\f" };
	rows[7].c.exp = 1893452400;
	for (size_t i = 0; i < N_ELEMS(rows); i++)
		check_payload(rows[i].ctx, &rows[i].c, rows[i].want);
}

/* groups non-NULL with no items: the claim is there, as an empty array. */
static void test_empty_group_array(void **state)
{
	static const char *const none[] = { NULL };
	qsjwt_qseow_claims c = base;

	(void)state;
	c.groups = none;
	c.n_groups = 0;
	check_payload("zero groups", &c,
		      "{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\","
		      "\"email\":\"john.doe@example.com\",\"group\":[],\"iat\":1893456000,"
		      "\"exp\":1893459600,\"aud\":\"qlik-aud\"}");
}

/* Invalid UTF-8 in any one field refuses the whole payload. */
static void test_invalid_utf8(void **state)
{
	static const char *const bad[] = { "\xff", "a\xc0\x80", "\xed\xa0\x80", "x\xc3",
					   "\xf4\x90\x80\x80", "\x80" };
	static const char *const field[] = { "userId", "userDirectory", "name", "email",
					     "group[0]", "group[1]", "aud" };

	(void)state;
	for (size_t f = 0; f < N_ELEMS(field); f++) {
		for (size_t b = 0; b < N_ELEMS(bad); b++) {
			const char *groups[2] = { "Sales", "Finance" };
			qsjwt_qseow_claims c = base;
			const char **slot[] = { &c.user_id, &c.user_directory, &c.name, &c.email,
						&groups[0], &groups[1], &c.audience };
			char sentinel = 0, *json = &sentinel, ctx[48];
			size_t len = 777;
			c.groups = groups;
			c.n_groups = 2;
			*slot[f] = bad[b];
			snprintf(ctx, sizeof(ctx), "%s bad value %zu", field[f], b);
			check_rc(ctx, qsjwt_qseow_payload(&c, &json, &len), QSJWT_ERR_INVALID);
			assert_ptr_equal(json, &sentinel);
			assert_int_equal(len, 777);
		}
	}
}

/* Qlik Cloud: groups as "groups" (the name Qlik Cloud's JWT IdP reads), and
 * the 3600 s lifetime rule in qsjwt_qscloud_check and qsjwt_qscloud_payload. */
static const qsjwt_qscloud_claims qsc_base = {
	.jti = "J", .sub = "jdoe", .name = "John Doe", .email = "jdoe@example.com",
	.email_verified = 1, .groups = NULL, .n_groups = 0,
	.iat = 1893456000, .exp = 1893459600, .issuer = "my-issuer",
};

static void test_qscloud_payload(void **state)
{
	static const char *const two[] = { "Sales", "Finance" };
	qsjwt_qscloud_claims c = qsc_base;
	char *json = NULL;
	size_t len = 0;
	static const char want[] =
		"{\"jti\":\"J\",\"sub\":\"jdoe\",\"subType\":\"user\",\"name\":\"John Doe\","
		"\"email\":\"jdoe@example.com\",\"groups\":[\"Sales\",\"Finance\"],"
		"\"email_verified\":true,\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,"
		"\"aud\":\"qlik.api/login/jwt-session\",\"iss\":\"my-issuer\"}";

	(void)state;
	c.groups = two;
	c.n_groups = 2;
	check_rc("groups", qsjwt_qscloud_payload(&c, &json, &len), QSJWT_OK);
	check_bytes("groups", json, len, want, strlen(want));
	free(json);
}

static void test_qscloud_lifetime(void **state)
{
	static const struct {
		int64_t life;
		qsjwt_err want;
		const char *why;
	} rows[] = {
		{ 3600, QSJWT_OK, "" },
		{ 3599, QSJWT_OK, "" },
		{ 0, QSJWT_OK, "" },
		{ -3600, QSJWT_OK, "" },
		{ 3601, QSJWT_ERR_INVALID,
		  "Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: "
		  "3601 s)" },
		{ 7200, QSJWT_ERR_INVALID,
		  "Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: "
		  "7200 s)" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		qsjwt_qscloud_claims c = qsc_base;
		char why[160] = "", sentinel = 0, *json = &sentinel, ctx[40];
		size_t len = 777;
		qsjwt_err rc;
		c.exp = c.iat + rows[i].life;
		snprintf(ctx, sizeof(ctx), "lifetime %lld", (long long)rows[i].life);
		check_rc(ctx, qsjwt_qscloud_check(&c, why, sizeof(why)), rows[i].want);
		check_str(ctx, why, rows[i].why);
		rc = qsjwt_qscloud_payload(&c, &json, &len);
		check_rc(ctx, rc, rows[i].want);
		if (rc == QSJWT_OK) {
			free(json);
		} else {
			assert_ptr_equal(json, &sentinel);
			assert_int_equal(len, 777);
		}
	}
	/* why may be NULL */
	{
		qsjwt_qscloud_claims c = qsc_base;
		c.exp = c.iat + 3601;
		check_rc("why NULL", qsjwt_qscloud_check(&c, NULL, 0), QSJWT_ERR_INVALID);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payloads),
		cmocka_unit_test(test_empty_group_array),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_qscloud_payload),
		cmocka_unit_test(test_qscloud_lifetime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
