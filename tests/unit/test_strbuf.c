/* strbuf: the growable buffer behind tokens and messages. Appends keep the
 * bytes (NULs included) and the terminating NUL; an overflowing size marks
 * the buffer failed instead of wrapping, and a failed buffer detaches to
 * NULL, released. */
#include <stdint.h>
#include <stdlib.h>

#include "util/strbuf.h"

#include "unit.h"

static void empty(void **state)
{
	strbuf b;
	size_t len = 99;
	char *s;

	(void)state;
	strbuf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	/* Nothing added: detach still gives a string the caller can free. */
	s = strbuf_detach(&b, &len);
	check_str("empty detach", s, "");
	check_int("empty len", (long long)len, 0);
	assert_null(b.data);
	free(s);

	strbuf_init(&b);
	strbuf_add(&b, "", 0);
	check_str("add of 0 bytes", b.data, "");
	strbuf_release(&b);
	strbuf_release(&b); /* twice: a no-op */
}

static void appends(void **state)
{
	strbuf b;
	size_t len = 0;
	char *s;

	(void)state;
	strbuf_init(&b);
	strbuf_addstr(&b, "header");
	strbuf_addch(&b, '.');
	strbuf_add(&b, "pay\0load", 8);
	check_int("len", (long long)b.len, 15);
	check_bytes("bytes", b.data, b.len, "header.pay\0load", 15);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(b.failed, 0);
	s = strbuf_detach(&b, &len);
	check_bytes("detached", s, len, "header.pay\0load", 15);
	assert_int_equal(s[len], '\0');
	free(s);
	/* Detached: the buffer is empty and reusable. */
	assert_null(b.data);
	strbuf_addstr(&b, "again");
	check_str("reused", b.data, "again");
	s = strbuf_detach(&b, NULL); /* len_out may be NULL */
	check_str("detach without len", s, "again");
	free(s);
}

/* Growth over many reallocations keeps every byte in order. */
static void grows(void **state)
{
	strbuf b;
	size_t len = 0;
	char *s;

	(void)state;
	strbuf_init(&b);
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	s = strbuf_detach(&b, &len);
	assert_non_null(s);
	check_int("len", (long long)len, 100000);
	for (size_t i = 0; i < len; i++) {
		if (s[i] != (char)('a' + i % 26)) {
			print_error("byte %zu: got '%c'\n", i, s[i]);
			fail();
		}
	}
	assert_int_equal(s[len], '\0');
	free(s);
}

/* A length that would wrap size_t fails the buffer; later appends are
 * ignored and detach gives NULL with the buffer released. */
static void overflow(void **state)
{
	strbuf b;
	size_t len = 7;

	(void)state;
	strbuf_init(&b);
	strbuf_addstr(&b, "secret");
	strbuf_add(&b, "x", SIZE_MAX);
	assert_int_equal(b.failed, 1);
	check_int("len unchanged", (long long)b.len, 6);
	strbuf_addstr(&b, "more");
	check_int("append after failure ignored", (long long)b.len, 6);
	assert_null(strbuf_detach(&b, &len));
	check_int("len_out untouched", (long long)len, 7);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.failed, 0);

	strbuf_init(&b);
	strbuf_add(&b, "x", SIZE_MAX - 1); /* need + 1 would wrap */
	assert_int_equal(b.failed, 1);
	assert_null(strbuf_detach(&b, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty),
		cmocka_unit_test(appends),
		cmocka_unit_test(grows),
		cmocka_unit_test(overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
