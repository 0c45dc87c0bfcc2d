/* log_escape: what a log line or usage error may show of a value. Control
 * bytes and bytes that are not UTF-8 become \xHH; well-formed UTF-8 stays. */
#include <stdlib.h>

#include "util/log.h"
#include "util/utf8.h"

#include "unit.h"

struct row {
	const char *in;
	const char *want;
};

static const struct row rows[] = {
	{ "", "" },
	{ "plain text, 'quoted' / <ok>", "plain text, 'quoted' / <ok>" },
	{ "\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", "\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80" },
	{ "\x1b[31mred", "\\x1b[31mred" },
	{ "a\nb\rc\td", "a\\x0ab\\x0dc\\x09d" },
	{ "\x7f", "\\x7f" },
	{ "\xff", "\\xff" },
	{ "x\x80y", "x\\x80y" },
	{ "\xc0\xaf", "\\xc0\\xaf" },                    /* overlong '/' */
	{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },           /* UTF-16 surrogate */
	{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },  /* above U+10FFFF */
	{ "\xe2\x82", "\\xe2\\x82" },                    /* cut short */
	{ "\xe2\x82\xac\xe2\x82", "\xe2\x82\xac\\xe2\\x82" },
};

static void table(void **state)
{
	char out[256];

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		log_escape(rows[i].in, out, sizeof(out));
		if (strcmp(out, rows[i].want) != 0) {
			print_error("row %zu: got '%s', want '%s'\n", i, out, rows[i].want);
			fail();
		}
	}
}

/* A small buffer: the result fits, is a prefix of the whole escape, and
 * never ends inside an escape or a UTF-8 sequence. */
static void cut_to_fit(void **state)
{
	const char *in = "ab\xff\xf0\x9f\x98\x80" "cd\x1b" "efgh";
	char whole[256], out[32];

	(void)state;
	log_escape(in, whole, sizeof(whole));
	assert_string_equal(whole, "ab\\xff\xf0\x9f\x98\x80" "cd\\x1befgh");
	for (size_t size = 1; size < sizeof(out); size++) {
		size_t n;

		memset(out, 'Z', sizeof(out));
		log_escape(in, out, size);
		n = strlen(out);
		assert_true(n < size);
		assert_memory_equal(out, whole, n);
		assert_true(whole[n] == '\0' || whole[n] == '\\' ||
			    utf8_seq_len((const unsigned char *)whole + n, strlen(whole + n)) > 0);
	}
}

static void seq_len(void **state)
{
	(void)state;
	assert_int_equal(utf8_seq_len((const unsigned char *)"A", 1), 1);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80", 3), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\0", 1), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\x80\x80", 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(cut_to_fit),
		cmocka_unit_test(seq_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
