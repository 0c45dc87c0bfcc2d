/* --expires: the `ms` package grammar and jsonwebtoken's exp arithmetic
 * (docs/compatibility.md, "--expires"). */
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "unit.h"

#define IAT INT64_C(1893456000) /* 2030-01-01T00:00:00Z */

/* Parse text, expecting success; *ms and *has_unit returned. */
static void parse_ok(const char *text, double *ms, int *has_unit)
{
	*has_unit = -1;
	check_rc(text, qsjwt_timespan_parse(text, ms, has_unit), QSJWT_OK);
	if (*has_unit != 0 && *has_unit != 1)
		check_int(text, *has_unit, 1);
}

static void test_reference_examples(void **state)
{
	static const struct {
		const char *text;
		double ms;
		long long delta; /* exp - iat */
	} rows[] = {
		{ "60m", 3600000, 3600 },
		{ "48h", 172800000, 172800 },
		{ "365d", 31536000000.0, 31536000 },
		{ "5y", 157788000000.0, 157788000 },
		{ "1.5h", 5400000, 5400 },
		{ "2 days", 172800000, 172800 },
		{ ".5h", 1800000, 1800 },
		{ "59999ms", 59999, 59 },
		{ "1.999s", 1.999 * 1000, 1 },
		/* 68.1 * 31557600000 is 2149072559999.9998 in doubles: one second
		 * below the exact decimal, as the original computed it. */
		{ "68.1y", 68.1 * 31557600000.0, 2149072559 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		double ms = 0;
		int unit;
		int64_t exp = 0;
		parse_ok(rows[i].text, &ms, &unit);
		check_int(rows[i].text, unit, 1);
		if (ms != rows[i].ms) {
			print_error("%s: ms = %.17g, want %.17g\n", rows[i].text, ms, rows[i].ms);
			fail();
		}
		check_rc(rows[i].text, qsjwt_exp_from_ms(IAT, ms, &exp), QSJWT_OK);
		check_int(rows[i].text, (long long)(exp - IAT), rows[i].delta);
	}
}

/* Every unit spelling, in lower, upper and mixed case, with 0, 1 and 3
 * spaces before it. */
static void test_units(void **state)
{
	static const struct {
		const char *name;
		double ms;
	} units[] = {
		{ "ms", 1 },        { "msec", 1 },       { "msecs", 1 },       { "millisecond", 1 },
		{ "milliseconds", 1 }, { "s", 1000 },    { "sec", 1000 },      { "secs", 1000 },
		{ "second", 1000 }, { "seconds", 1000 }, { "m", 60000 },       { "min", 60000 },
		{ "mins", 60000 },  { "minute", 60000 }, { "minutes", 60000 }, { "h", 3600000 },
		{ "hr", 3600000 },  { "hrs", 3600000 },  { "hour", 3600000 },  { "hours", 3600000 },
		{ "d", 86400000 },  { "day", 86400000 }, { "days", 86400000 }, { "w", 604800000 },
		{ "week", 604800000 }, { "weeks", 604800000 }, { "y", 31557600000.0 },
		{ "yr", 31557600000.0 }, { "yrs", 31557600000.0 }, { "year", 31557600000.0 },
		{ "years", 31557600000.0 },
	};
	static const char *const spaces[] = { "", " ", "   " };

	(void)state;
	for (size_t i = 0; i < N_ELEMS(units); i++) {
		for (int form = 0; form < 3; form++) {
			char unit[16], text[32];
			size_t k;
			for (k = 0; units[i].name[k] != '\0'; k++) {
				char c = units[i].name[k];
				if (form == 1 || (form == 2 && k == 0))
					c = (char)(c - 'a' + 'A');
				unit[k] = c;
			}
			unit[k] = '\0';
			for (size_t sp = 0; sp < N_ELEMS(spaces); sp++) {
				double ms = 0;
				int has;
				snprintf(text, sizeof(text), "2%s%s", spaces[sp], unit);
				parse_ok(text, &ms, &has);
				check_int(text, has, 1);
				if (ms != 2 * units[i].ms) {
					print_error("%s: ms = %.17g, want %.17g\n", text, ms,
						    2 * units[i].ms);
					fail();
				}
			}
		}
	}
}

/* Odd cases of the grammar: case, no unit (= milliseconds), signs. */
static void test_values(void **state)
{
	static const struct {
		const char *text;
		double ms;
		int has_unit;
		long long delta;
	} rows[] = {
		{ "5M", 300000, 1, 300 },            /* M is minutes, not months */
		{ "1MS", 1, 1, 0 },
		{ "1 YEARS", 31557600000.0, 1, 31557600 },
		{ "1 Hours", 3600000, 1, 3600 },
		{ "100", 100, 0, 0 },                /* no unit: milliseconds */
		{ "0", 0, 0, 0 },
		{ "999", 999, 0, 0 },
		{ "1000", 1000, 0, 1 },
		{ "1000 ", 1000, 0, 1 },             /* SPACES* before an absent unit */
		{ "3600000", 3600000, 0, 3600 },
		{ "1.5", 1.5, 0, 0 },
		{ "-100", -100, 0, -1 },             /* floor(iat - 0.1) */
		{ "-1h", -3600000, 1, -3600 },
		{ "-.5h", -1800000, 1, -1800 },
		{ "-1.5 hours", -5400000, 1, -5400 },
		{ "-0", 0, 0, 0 },
		{ "0h", 0, 1, 0 },
		{ "007s", 7000, 1, 7 },
		{ "1.000000000000000000001h", 3600000, 1, 3600 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		double ms = 0;
		int has;
		int64_t exp = 0;
		parse_ok(rows[i].text, &ms, &has);
		check_int(rows[i].text, has, rows[i].has_unit);
		if (ms != rows[i].ms) {
			print_error("%s: ms = %.17g, want %.17g\n", rows[i].text, ms, rows[i].ms);
			fail();
		}
		check_rc(rows[i].text, qsjwt_exp_from_ms(IAT, ms, &exp), QSJWT_OK);
		check_int(rows[i].text, (long long)(exp - IAT), rows[i].delta);
	}
}

static void test_has_unit_optional(void **state)
{
	double ms = 0;

	(void)state;
	assert_int_equal(qsjwt_timespan_parse("2h", &ms, NULL), QSJWT_OK);
	assert_true(ms == 7200000);
	assert_int_equal(qsjwt_timespan_parse("2", &ms, NULL), QSJWT_OK);
	assert_true(ms == 2);
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
		"", " 1h", "1h ", " 1", "1 h ", "+1h", "+1", "1e3", "1E3", "1e3ms", "5.", "5.h",
		"1d2h", "1h30m", "1 hx", "1hh", "1 h s", "1 mss", "1months", "1mo", "h", "-",
		".", "-.", "-h", ".h", "--1h", "- 1h", "1..5h", "1.5.5h", "1.5.h", "1_000",
		"1,5h", "0x10", "1\th", "1\nh", "1h\n", "\t1h", "1\xc2\xa0h", "\xef\xbc\x91h",
		"1 \xc2\xb5s", "inf", "Infinity", "nan", "-inf", "1h\xff", "\xff",
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		double ms = 42;
		int has = 42;
		check_rc(bad[i], qsjwt_timespan_parse(bad[i], &ms, &has), QSJWT_ERR_INVALID);
		/* out-parameters are written only on success */
		check_int(bad[i], (long long)ms, 42);
		check_int(bad[i], has, 42);
	}
}

/* At most 100 characters: the limit is on the whole string. */
static void test_length_limit(void **state)
{
	static const struct {
		char fill;    /* repeated to make the string this long: */
		size_t len;
		const char *tail;
		int ok;
		double ms;
	} rows[] = {
		{ '0', 100, "1h", 1, 3600000 },
		{ '0', 101, "1h", 0, 0 },
		{ ' ', 100, "h", 1, 3600000 },  /* "1" + spaces + "h" */
		{ ' ', 101, "h", 0, 0 },
		{ '0', 100, "", 1, 1e99 },      /* "1" + zeros */
		{ '0', 101, "", 0, 0 },
		{ '0', 300, "1h", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char text[302], ctx[48];
		size_t tail = strlen(rows[i].tail);
		double ms = -7;
		int has;
		memset(text, rows[i].fill, rows[i].len);
		if (rows[i].fill == ' ' || tail == 0)
			text[0] = '1';
		memcpy(text + rows[i].len - tail, rows[i].tail, tail);
		text[rows[i].len] = '\0';
		assert_int_equal(strlen(text), rows[i].len);
		snprintf(ctx, sizeof(ctx), "length row %zu (%zu chars)", i, rows[i].len);
		if (!rows[i].ok) {
			check_rc(ctx, qsjwt_timespan_parse(text, &ms, &has), QSJWT_ERR_INVALID);
			continue;
		}
		check_rc(ctx, qsjwt_timespan_parse(text, &ms, &has), QSJWT_OK);
		if (ms != rows[i].ms) {
			print_error("%s: ms = %.17g, want %.17g\n", ctx, ms, rows[i].ms);
			fail();
		}
	}
}

static void test_exp_range(void **state)
{
	static const struct {
		int64_t iat;
		double ms;
		qsjwt_err rc;
		int64_t exp;
	} rows[] = {
		{ 0, 0, QSJWT_OK, 0 },
		{ 0, 999, QSJWT_OK, 0 },
		{ 0, -1, QSJWT_ERR_INVALID, 0 },          /* floor(-0.001) = -1 */
		{ 10, -10000, QSJWT_OK, 0 },
		{ 10, -10001, QSJWT_ERR_INVALID, 0 },
		{ IAT, -IAT * 1000.0, QSJWT_OK, 0 },
		{ IAT, -IAT * 1000.0 - 1, QSJWT_ERR_INVALID, 0 },
		{ 0, QSJWT_MAX_TIME * 1000.0, QSJWT_OK, QSJWT_MAX_TIME },
		{ 0, (QSJWT_MAX_TIME + 1) * 1000.0, QSJWT_ERR_INVALID, 0 },
		{ QSJWT_MAX_TIME, 0, QSJWT_OK, QSJWT_MAX_TIME },
		{ QSJWT_MAX_TIME, 999, QSJWT_OK, QSJWT_MAX_TIME },
		{ QSJWT_MAX_TIME, 1000, QSJWT_ERR_INVALID, 0 },
		{ QSJWT_MAX_TIME - 3600, 3600000, QSJWT_OK, QSJWT_MAX_TIME },
		{ QSJWT_MAX_TIME - 3600, 3601000, QSJWT_ERR_INVALID, 0 },
		{ IAT, (QSJWT_MAX_TIME - IAT) * 1000.0, QSJWT_OK, QSJWT_MAX_TIME },
		{ IAT, (QSJWT_MAX_TIME - IAT + 1) * 1000.0, QSJWT_ERR_INVALID, 0 },
		{ IAT, 100 * 31557600000.0, QSJWT_OK, IAT + 3155760000 },
		{ IAT, 1e99, QSJWT_ERR_INVALID, 0 },
		{ IAT, -1e99, QSJWT_ERR_INVALID, 0 },
		{ IAT, HUGE_VAL, QSJWT_ERR_INVALID, 0 },
		{ IAT, -HUGE_VAL, QSJWT_ERR_INVALID, 0 },
		{ IAT, NAN, QSJWT_ERR_INVALID, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		int64_t exp = -12345;
		char ctx[32];
		snprintf(ctx, sizeof(ctx), "exp row %zu", i);
		check_rc(ctx, qsjwt_exp_from_ms(rows[i].iat, rows[i].ms, &exp), rows[i].rc);
		check_int(ctx, (long long)exp, rows[i].rc == QSJWT_OK ? rows[i].exp : -12345);
	}
}

/* A locale whose decimal point is ',' (de_DE.UTF-8), made in a temporary
 * directory (LOCPATH) when the system has not generated it. 0: none. */
static int german_locale(char *dir, size_t size)
{
#ifdef _WIN32
	/* The CRT's own German locale (under wine too): decimal comma. */
	(void)dir;
	(void)size;
	return setlocale(LC_ALL, "German_Germany.1252") != NULL ||
	       setlocale(LC_ALL, "de-DE") != NULL;
#else
	char cmd[600];

	if (setlocale(LC_ALL, "de_DE.UTF-8") != NULL)
		return 1;
	snprintf(dir, size, "%s", "/tmp/qsjwt-locale-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 0;
	snprintf(cmd, sizeof(cmd), "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1",
		 dir);
	if (system(cmd) != 0)
		return 0;
	setenv("LOCPATH", dir, 1);
	return setlocale(LC_ALL, "de_DE.UTF-8") != NULL;
#endif
}

/* The library is locale-independent: a program that calls
 * setlocale(LC_ALL, "") under a locale with a decimal comma still gets
 * 1.5h = 5400 s (strtod there stops at the '.'). */
static void test_locale_independent(void **state)
{
	char dir[64] = "", cmd[128];
	double ms = 0;
	int unit = 0, have;
	int64_t exp = 0;

	(void)state;
	have = german_locale(dir, sizeof(dir));
	if (have && strtod("1.5", NULL) != 1.0)
		have = 0; /* not a decimal-comma locale after all */
	if (have) {
		check_rc("1.5h", qsjwt_timespan_parse("1.5h", &ms, &unit), QSJWT_OK);
		check_rc("1.5h exp", qsjwt_exp_from_ms(IAT, ms, &exp), QSJWT_OK);
		check_int("1.5h under de_DE.UTF-8", (long long)(exp - IAT), 5400);
		check_rc(".5h", qsjwt_timespan_parse(".5h", &ms, &unit), QSJWT_OK);
		check_int(".5h under de_DE.UTF-8", (long long)ms, 1800000);
		/* Case folding is ASCII whatever the locale. */
		check_rc("1.5 HOURS", qsjwt_timespan_parse("1.5 HOURS", &ms, &unit), QSJWT_OK);
		check_int("1.5 HOURS", (long long)ms, 5400000);
		/* A comma is not a decimal point in the grammar, in any locale. */
		check_rc("1,5h", qsjwt_timespan_parse("1,5h", &ms, &unit), QSJWT_ERR_INVALID);
	}
	setlocale(LC_ALL, "C");
	if (dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
	if (!have)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_examples),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_has_unit_optional),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_exp_range),
		cmocka_unit_test(test_locale_independent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
