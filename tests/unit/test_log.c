/* log_escape: what a log line or usage error may show of a value. Control
 * bytes and bytes that are not UTF-8 become \xHH; well-formed UTF-8 stays. */
#include <pthread.h>
#include <stdlib.h>

#include "pkcs11/p11.h"
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

/* p11_rv_name of an unknown code is formatted per thread (worker threads
 * report token failures): each thread gets its own buffer, and two threads
 * naming different codes at once each keep their own text. */
typedef struct {
	CK_RV rv;
	const char *buf; /* the buffer p11_rv_name returned (compared, not read) */
	int bad;
} rv_job;

static void *rv_names(void *arg)
{
	rv_job *j = arg;
	char want[32];

	snprintf(want, sizeof(want), "CKR 0x%08lx", (unsigned long)j->rv);
	for (int i = 0; i < 20000 && !j->bad; i++) {
		j->buf = p11_rv_name(j->rv);
		j->bad = strcmp(j->buf, want) != 0;
	}
	return NULL;
}

static void rv_name_threads(void **state)
{
	rv_job jobs[2] = { { 0x8000aaaaUL, NULL, 0 }, { 0x8000bbbbUL, NULL, 0 } };
	pthread_t t[2];

	(void)state;
	check_str("known code", p11_rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, rv_names, &jobs[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	check_int("thread 1 saw another thread's text", jobs[0].bad, 0);
	check_int("thread 2 saw another thread's text", jobs[1].bad, 0);
	check_int("the two threads got the same buffer", jobs[0].buf == jobs[1].buf, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(cut_to_fit),
		cmocka_unit_test(seq_len),
		cmocka_unit_test(rv_name_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
