/* JSON strings escaped as ECMAScript JSON.stringify (docs/compatibility.md, "The token"),
 * strict UTF-8 validation, integers. */
#include <limits.h>
#include <stdlib.h>

#include "jose/json.h"
#include "util/strbuf.h"

#include "unit.h"

/* json_append_string(s) into an empty buffer, compared with want. */
static void check_json(const char *ctx, const char *s, const char *want)
{
	strbuf b;

	strbuf_init(&b);
	json_append_string(&b, s);
	assert_int_equal(b.failed, 0);
	check_bytes(ctx, b.data, b.len, want, strlen(want));
	assert_int_equal(b.data[b.len], '\0');
	strbuf_release(&b);
}

static void test_string_escapes(void **state)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "", "\"\"" },
		{ "abc", "\"abc\"" },
		{ "\"", "\"\\\"\"" },
		{ "\\", "\"\\\\\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		/* not escaped: / and < (JSON.stringify leaves them alone) */
		{ "/", "\"/\"" },
		{ "</script>", "\"</script>\"" },
		{ "http://x/y", "\"http://x/y\"" },
		{ "'>&", "\"'>&\"" },
		/* short escapes */
		{ "\b", "\"\\b\"" },
		{ "\t", "\"\\t\"" },
		{ "\n", "\"\\n\"" },
		{ "\f", "\"\\f\"" },
		{ "\r", "\"\\r\"" },
		{ "\b\t\n\f\r", "\"\\b\\t\\n\\f\\r\"" },
		/* other controls: \u00xx, lowercase hex */
		{ "\x01", "\"\\u0001\"" },
		{ "\x07", "\"\\u0007\"" },
		{ "\x0b", "\"\\u000b\"" },
		{ "\x0e", "\"\\u000e\"" },
		{ "\x1a", "\"\\u001a\"" },
		{ "\x1b", "\"\\u001b\"" },
		{ "\x1f", "\"\\u001f\"" },
		{ "a\x01z", "\"a\\u0001z\"" },
		/* space and DEL are raw */
		{ " ", "\" \"" },
		{ "\x7f", "\"\x7f\"" },
		{ "~\x7f", "\"~\x7f\"" },
		/* non-ASCII stays raw UTF-8: 2, 3 and 4 bytes */
		{ "\xc3\xa9", "\"\xc3\xa9\"" },
		{ "\xc2\x80", "\"\xc2\x80\"" },
		{ "\xe2\x82\xac", "\"\xe2\x82\xac\"" },
		{ "\xe2\x80\xa8\xe2\x80\xa9", "\"\xe2\x80\xa8\xe2\x80\xa9\"" }, /* U+2028/9 */
		{ "\xef\xbf\xbf", "\"\xef\xbf\xbf\"" },
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
		{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },
		{ "\xc3\x85\xc3\x84\xc3\x96", "\"\xc3\x85\xc3\x84\xc3\x96\"" },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"" },
		/* everything at once */
		{ "G\xc3\xb6ran \"x\"\\\n\x01/<\x7f\xf0\x9f\x98\x80\t",
		  "\"G\xc3\xb6ran \\\"x\\\"\\\\\\n\\u0001/<\x7f\xf0\x9f\x98\x80\\t\"" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char ctx[32];
		snprintf(ctx, sizeof(ctx), "escape row %zu", i);
		check_json(ctx, rows[i].in, rows[i].want);
	}
}

/* Every control character 0x01..0x1f, and every byte 0x20..0x7f. */
static void test_string_all_ascii(void **state)
{
	static const char *const shorts[32] = {
		['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n", ['\f'] = "\\f", ['\r'] = "\\r",
	};

	(void)state;
	for (int c = 1; c < 0x80; c++) {
		char in[2] = { (char)c, '\0' }, want[16], ctx[16];
		if (c < 0x20 && shorts[c] != NULL)
			snprintf(want, sizeof(want), "\"%s\"", shorts[c]);
		else if (c < 0x20)
			snprintf(want, sizeof(want), "\"\\u00%c%c\"", "01"[c >> 4],
				 "0123456789abcdef"[c & 15]);
		else if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\"\\%c\"", c);
		else
			snprintf(want, sizeof(want), "\"%c\"", c);
		snprintf(ctx, sizeof(ctx), "byte 0x%02x", (unsigned)c);
		check_json(ctx, in, want);
	}
}

static void test_string_appends(void **state)
{
	strbuf b;

	(void)state;
	strbuf_init(&b);
	strbuf_addstr(&b, "{\"k\":");
	json_append_string(&b, "v\n");
	strbuf_addch(&b, '}');
	check_bytes("member", b.data, b.len, "{\"k\":\"v\\n\"}", 11);
	strbuf_release(&b);
}

static void test_utf8_valid(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		int valid;
	} rows[] = {
		{ "", 0, 1 },
		{ "a", 1, 1 },
		{ "\x7f", 1, 1 },
		{ "\xc2\x80", 2, 1 },              /* U+0080 */
		{ "\xdf\xbf", 2, 1 },              /* U+07FF */
		{ "\xe0\xa0\x80", 3, 1 },          /* U+0800 */
		{ "\xed\x9f\xbf", 3, 1 },          /* U+D7FF */
		{ "\xee\x80\x80", 3, 1 },          /* U+E000 */
		{ "\xef\xbf\xbf", 3, 1 },          /* U+FFFF */
		{ "\xf0\x90\x80\x80", 4, 1 },      /* U+10000 */
		{ "\xf0\x9f\x98\x80", 4, 1 },      /* emoji */
		{ "\xf4\x8f\xbf\xbf", 4, 1 },      /* U+10FFFF */
		{ "G\xc3\xb6ran \xe6\x97\xa5 \xf0\x9f\x98\x80!", 16, 1 },
		/* overlong forms */
		{ "\xc0\x80", 2, 0 },
		{ "\xc0\xaf", 2, 0 },
		{ "\xc1\xbf", 2, 0 },
		{ "\xe0\x80\x80", 3, 0 },
		{ "\xe0\x9f\xbf", 3, 0 },
		{ "\xf0\x80\x80\x80", 4, 0 },
		{ "\xf0\x8f\xbf\xbf", 4, 0 },
		/* surrogates */
		{ "\xed\xa0\x80", 3, 0 },
		{ "\xed\xbf\xbf", 3, 0 },
		{ "\xed\xa0\xbd\xed\xb8\x80", 6, 0 }, /* CESU-8 emoji */
		/* above U+10FFFF */
		{ "\xf4\x90\x80\x80", 4, 0 },
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "\xf7\xbf\xbf\xbf", 4, 0 },
		{ "\xf8\x88\x80\x80\x80", 5, 0 },
		/* lone continuation bytes */
		{ "\x80", 1, 0 },
		{ "\xbf", 1, 0 },
		{ "a\x80", 2, 0 },
		{ "\xc3\xa9\xa9", 3, 0 },
		/* truncated sequences, at the end and before other bytes */
		{ "\xc3", 1, 0 },
		{ "\xe2\x82", 2, 0 },
		{ "\xf0\x9f\x98", 3, 0 },
		{ "\xc3" "a", 2, 0 },
		{ "\xe2\x82" "a", 3, 0 },
		{ "\xf0\x9f\x98" "a", 4, 0 },
		{ "\xc3\xa9", 1, 0 },              /* len cuts the sequence */
		{ "\xf0\x9f\x98\x80", 3, 0 },
		/* never valid bytes */
		{ "\xff", 1, 0 },
		{ "\xfe", 1, 0 },
		{ "a\xff" "b", 3, 0 },
		/* NUL */
		{ "\0", 1, 0 },
		{ "a\0b", 3, 0 },
		{ "\xc3\xa9\0", 3, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char ctx[32];
		snprintf(ctx, sizeof(ctx), "utf8 row %zu", i);
		if (utf8_valid(rows[i].s, rows[i].len) != rows[i].valid) {
			unit_print_bytes("input", rows[i].s, rows[i].len);
			check_int(ctx, !rows[i].valid, rows[i].valid);
		}
	}
}

static void test_int(void **state)
{
	static const struct {
		long long v;
		const char *want;
	} rows[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -1, "-1" },
		{ 1893456000, "1893456000" },
		{ 253402300799LL, "253402300799" },
		{ -3600, "-3600" },
		{ LLONG_MAX, "9223372036854775807" },
		{ LLONG_MIN, "-9223372036854775808" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		strbuf b;
		strbuf_init(&b);
		strbuf_addch(&b, ':');
		json_append_int(&b, rows[i].v);
		check_bytes(rows[i].want, b.data + 1, b.len - 1, rows[i].want, strlen(rows[i].want));
		strbuf_release(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_all_ascii),
		cmocka_unit_test(test_string_appends),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_int),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
