/* batch_parse_line: one JSON line of create-qseow --batch, as batch_run reads
 * it. A good line gives exactly the payload a single create-qseow run gives;
 * a bad one gives the exact error its output line carries. */
#include <stdint.h>
#include <stdlib.h>

#include "cli/batch.h"

#include "unit.h"

/* 2030-01-01T00:00:00Z, the reference vectors' clock. */
#define IAT 1893456000

static const batch_opts opts = { .input = "-", .expires = "1h", .audience = "qlik-aud",
				 .alg = QSJWT_RS256, .jobs = 1 };

struct good {
	const char *line;
	const char *payload;
};

static const struct good goods[] = {
	{ "{\"userid\":\"jdoe\",\"userdir\":\"ACME\",\"username\":\"John Doe\","
	  "\"useremail\":\"j@acme.com\",\"groups\":[\"Sales\",\"Finance\"]}",
	  "{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\",\"email\":"
	  "\"j@acme.com\",\"group\":[\"Sales\",\"Finance\"],\"iat\":1893456000,\"exp\":"
	  "1893459600,\"aud\":\"qlik-aud\"}" },
	/* Field order does not matter; no groups, or [], is no group claim. */
	{ "{\"useremail\":\"e\",\"username\":\"n\",\"userdir\":\"D\",\"userid\":\"u\"}",
	  "{\"userId\":\"u\",\"userDirectory\":\"D\",\"name\":\"n\",\"email\":\"e\",\"iat\":"
	  "1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}" },
	{ "{\"userid\":\"u\",\"userdir\":\"D\",\"username\":\"n\",\"useremail\":\"e\",\"groups\":[]}",
	  "{\"userId\":\"u\",\"userDirectory\":\"D\",\"name\":\"n\",\"email\":\"e\",\"iat\":"
	  "1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}" },
	/* The line's expires and audience win over the command line's. */
	{ "{\"userid\":\"u\",\"userdir\":\"D\",\"username\":\"n\",\"useremail\":\"e\","
	  "\"expires\":\"2 days\",\"audience\":\"other\"}",
	  "{\"userId\":\"u\",\"userDirectory\":\"D\",\"name\":\"n\",\"email\":\"e\",\"iat\":"
	  "1893456000,\"exp\":1893628800,\"aud\":\"other\"}" },
	/* Escapes are decoded and re-escaped as JSON.stringify does; UTF-8 stays. */
	{ "{\"userid\":\"a\\\"b\\\\c\\/d\",\"userdir\":\"\\u00e9\",\"username\":\"\\t\","
	  "\"useremail\":\"\xe2\x9c\x93\"}  \t\r",
	  "{\"userId\":\"a\\\"b\\\\c/d\",\"userDirectory\":\"\xc3\xa9\",\"name\":\"\\t\",\"email\":"
	  "\"\xe2\x9c\x93\",\"iat\":1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}" },
	/* Empty strings are kept, as the original kept them. */
	{ "{\"userid\":\"\",\"userdir\":\"\",\"username\":\"\",\"useremail\":\"\"}",
	  "{\"userId\":\"\",\"userDirectory\":\"\",\"name\":\"\",\"email\":\"\",\"iat\":"
	  "1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}" },
};

static void good_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(goods); i++) {
		char ctx[32], *payload = NULL, *err;
		size_t len = 0;

		snprintf(ctx, sizeof(ctx), "row %zu", i);
		err = batch_parse_line(&opts, goods[i].line, strlen(goods[i].line), IAT, &payload,
				       &len);
		if (err != NULL) {
			print_error("%s: error '%s'\n", ctx, err);
			fail();
		}
		check_bytes(ctx, payload, len, goods[i].payload, strlen(goods[i].payload));
		free(payload);
	}
}

struct bad {
	const char *line;
	size_t len; /* 0: strlen */
	const char *error;
};

#define USER "\"userid\":\"u\",\"userdir\":\"D\",\"username\":\"n\",\"useremail\":\"e\""

static const struct bad bads[] = {
	{ "not json", 0, "the line is not a JSON object" },
	{ "[1,2]", 0, "the line is not a JSON object" },
	{ "\"a string\"", 0, "the line is not a JSON object" },
	{ "{" USER "} {}", 0, "the line is not a JSON object" },
	{ "{" USER, 0, "the line is not a JSON object" },
	{ "", 0, "the line is not a JSON object" },
	{ "{" USER ",\"group\":[\"A\"]}", 0,
	  "unknown field 'group' (known: userid, userdir, username, useremail, groups, "
	  "expires, audience)" },
	{ "{" USER ",\"userid\":\"v\"}", 0, "field 'userid' given twice" },
	{ "{" USER ",\"groups\":[],\"groups\":[]}", 0, "field 'groups' given twice" },
	{ "{" USER ",\"groups\":\"Sales\"}", 0, "field 'groups' must be an array of strings" },
	{ "{" USER ",\"groups\":[\"A\",1]}", 0, "field 'groups' must be an array of strings" },
	{ "{\"userid\":1,\"userdir\":\"D\",\"username\":\"n\",\"useremail\":\"e\"}", 0,
	  "field 'userid' must be a string" },
	{ "{" USER ",\"expires\":null}", 0, "field 'expires' must be a string" },
	{ "{\"userid\":\"u\",\"userdir\":\"D\",\"username\":\"n\"}", 0,
	  "missing field 'useremail'" },
	{ "{}", 0, "missing field 'userid'" },
	{ "{" USER ",\"expires\":\"soon\"}", 0,
	  "expires 'soon' is not a timespan (e.g. 60m, 8h, 7d)" },
	{ "{" USER ",\"expires\":\"10000y\"}", 0, "expires '10000y' puts exp outside 1970 to 9999" },
	{ "{\"userid\":\"\xff\",\"userdir\":\"D\",\"username\":\"n\",\"useremail\":\"e\"}", 0,
	  "the line is not valid UTF-8" },
	{ "{\"userid\":\"a\0b\",\"userdir\":\"D\",\"username\":\"n\",\"useremail\":\"e\"}", 68,
	  "the line holds a NUL byte" },
	{ "{\"userid\":\"admin\\u0000evil\",\"userdir\":\"D\",\"username\":\"n\",\"useremail\":"
	  "\"e\"}",
	  0, "a value holds a NUL character (\\u0000)" },
};

static void bad_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bads); i++) {
		char ctx[32], *payload = NULL, *err;
		size_t len = bads[i].len ? bads[i].len : strlen(bads[i].line), plen = 0;

		snprintf(ctx, sizeof(ctx), "row %zu", i);
		err = batch_parse_line(&opts, bads[i].line, len, IAT, &payload, &plen);
		check_str(ctx, err, bads[i].error);
		assert_null(payload);
		free(err);
	}
}

/* Without --expires or --audience, a line must carry its own. */
static void defaults_missing(void **state)
{
	const batch_opts none = { .input = "-", .alg = QSJWT_RS256, .jobs = 1 };
	const batch_opts no_aud = { .input = "-", .expires = "1h", .alg = QSJWT_RS256, .jobs = 1 };
	const char *line = "{" USER "}";
	const char *full = "{" USER ",\"expires\":\"1m\",\"audience\":\"a\"}";
	char *payload = NULL, *err;
	size_t len = 0;

	(void)state;
	err = batch_parse_line(&none, line, strlen(line), IAT, &payload, &len);
	check_str("no expires", err, "no expires: give it in the line or with --expires on the "
				     "command line");
	free(err);
	err = batch_parse_line(&no_aud, line, strlen(line), IAT, &payload, &len);
	check_str("no audience", err, "no audience: give it in the line or with --audience on "
				      "the command line");
	free(err);
	assert_null(payload);
	err = batch_parse_line(&none, full, strlen(full), IAT, &payload, &len);
	assert_null(err);
	check_str("both in the line", payload,
		  "{\"userId\":\"u\",\"userDirectory\":\"D\",\"name\":\"n\",\"email\":\"e\","
		  "\"iat\":1893456000,\"exp\":1893456060,\"aud\":\"a\"}");
	free(payload);
}

/* A userid or userdir over 64 KiB is refused (a token in an HTTP header). */
static void too_long(void **state)
{
	const size_t n = 64 * 1024 + 1;
	char *line = malloc(n + 100), *payload = NULL, *err;
	size_t len = 0, off;

	(void)state;
	assert_non_null(line);
	off = (size_t)snprintf(line, 100, "{\"userid\":\"");
	memset(line + off, 'u', n);
	off += n;
	off += (size_t)snprintf(line + off, 100, "\",\"userdir\":\"D\",\"username\":\"n\","
						 "\"useremail\":\"e\"}");
	err = batch_parse_line(&opts, line, off, IAT, &payload, &len);
	check_str("userid over 64 KiB", err, "a value is longer than 64 KiB");
	assert_null(payload);
	free(err);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_lines),
		cmocka_unit_test(bad_lines),
		cmocka_unit_test(defaults_missing),
		cmocka_unit_test(too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
