/* base64url without padding: RFC 4648 section 10 vectors, strict decoding. */
#include <stdlib.h>

#include "jose/b64url.h"
#include "util/strbuf.h"

#include "unit.h"

struct vector {
	const char *bin;
	size_t len;
	const char *text;
};

/* RFC 4648 section 10, padding removed, plus bytes that need '-' and '_'
 * (standard base64 would give '+' and '/'). */
static const struct vector vectors[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\xfb\xef\xbe", 3, "----" },
	{ "\xff\xff\xff", 3, "____" },
	{ "\xfb\xff", 2, "-_8" },
	{ "\x00", 1, "AA" },
	{ "\x00\x00\x00", 3, "AAAA" },
	{ "A", 1, "QQ" },
	{ "\x03\xe0\x3f", 3, "A-A_" },
};

static void encode(const unsigned char *in, size_t len, strbuf *b)
{
	strbuf_init(b);
	b64url_append(b, in, len);
	assert_int_equal(b->failed, 0);
}

static void test_encode_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(vectors); i++) {
		strbuf b;
		encode((const unsigned char *)vectors[i].bin, vectors[i].len, &b);
		check_bytes(vectors[i].text, b.len ? b.data : "", b.len, vectors[i].text,
			    strlen(vectors[i].text));
		strbuf_release(&b);
	}
}

static void test_encode_appends(void **state)
{
	strbuf b;

	(void)state;
	strbuf_init(&b);
	strbuf_addstr(&b, "x.");
	b64url_append(&b, (const unsigned char *)"foob", 4);
	check_str("append after x.", b.data, "x.Zm9vYg");
	assert_int_equal(b.len, 8);
	strbuf_release(&b);
}

static void test_decode_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(vectors); i++) {
		unsigned char *out = NULL;
		size_t n = 99;
		const char *t = vectors[i].text;
		check_rc(t, b64url_decode(t, strlen(t), &out, &n), QSJWT_OK);
		check_bytes(t, out, n, vectors[i].bin, vectors[i].len);
		assert_int_equal(out[n], '\0');
		free(out);
	}
}

/* Only `len` bytes are read, not up to the NUL. */
static void test_decode_uses_len(void **state)
{
	unsigned char *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(b64url_decode("Zm9vYmFy", 4, &out, &n), QSJWT_OK);
	check_bytes("Zm9v of Zm9vYmFy", out, n, "foo", 3);
	free(out);
}

/* Every length 0..70 and every byte value survive encode + decode, and the
 * encoded length is ceil(4n/3). */
static void test_round_trip(void **state)
{
	unsigned char in[70];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(in); len++) {
		strbuf b;
		unsigned char *out = NULL;
		size_t n = 0;
		char ctx[32];
		snprintf(ctx, sizeof(ctx), "length %zu", len);
		encode(in, len, &b);
		check_int(ctx, (long long)b.len, (long long)((len * 4 + 2) / 3));
		check_rc(ctx, b64url_decode(b.len ? b.data : "", b.len, &out, &n), QSJWT_OK);
		check_bytes(ctx, out, n, in, len);
		free(out);
		strbuf_release(&b);
	}
	for (unsigned v = 0; v < 256; v++) {
		unsigned char byte = (unsigned char)v, *out = NULL;
		size_t n = 0;
		strbuf b;
		encode(&byte, 1, &b);
		assert_int_equal(b64url_decode(b.data, b.len, &out, &n), QSJWT_OK);
		check_bytes("one byte", out, n, &byte, 1);
		free(out);
		strbuf_release(&b);
	}
}

static void test_decode_rejects(void **state)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
		/* padding, the standard alphabet, whitespace, other bytes: each row
		 * would be valid with that byte dropped (or '+' '/' mapped to '-' '_')
		 * and no length is 4k+1, so the byte alone is the reason */
		{ "Zg==", 4 },    { "Zm8=", 4 },   { "Zg=", 3 },      { "==", 2 },
		{ "Zm9v+w", 6 },  { "+w", 2 },     { "/w", 2 },       { "Zm9v/w", 6 },
		{ "Zm 8", 4 },    { " Zm8", 4 },   { "Zm8\n", 4 },    { "Zm9v\r\nYg", 8 },
		{ "Zm\t8", 4 },   { "Zg\0A", 4 },  { "Zm8.", 4 },     { "\xc3\xa9\xc3\xa9", 4 },
		/* length 4k+1, also when the last character carries only zeros */
		{ "Z", 1 },       { "A", 1 },      { "Zm9vY", 5 },    { "AAAAA", 5 },
		{ "Zm9vA", 5 },   { "Zm9vYmFyZ", 9 },
		/* non-zero trailing bits */
		{ "QR", 2 },      { "Zh", 2 },     { "AB", 2 },       { "Zm-", 3 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		unsigned char sentinel = 0, *out = &sentinel;
		size_t n = 12345;
		char ctx[64];
		snprintf(ctx, sizeof(ctx), "reject row %zu", i);
		check_rc(ctx, b64url_decode(bad[i].text, bad[i].len, &out, &n), QSJWT_ERR_INVALID);
		assert_ptr_equal(out, &sentinel);
		assert_int_equal(n, 12345);
	}
}

/* "QQ" is the only encoding of "A": the trailing bits must be zero. */
static void test_decode_trailing_bits(void **state)
{
	/* The last character carries 4 (or 2) unused bits that must be 0. */
	static const char *const good[] = { "QQ", "Qg", "Zg", "Zm8" };
	static const char *const bad[] = { "QR", "QS", "QT", "Q_", "Zh", "Zm9", "Zm-" };
	unsigned char *out = NULL;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		check_rc(good[i], b64url_decode(good[i], strlen(good[i]), &out, &n), QSJWT_OK);
		free(out);
	}
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		check_rc(bad[i], b64url_decode(bad[i], strlen(bad[i]), &out, &n),
			 QSJWT_ERR_INVALID);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_vectors),
		cmocka_unit_test(test_encode_appends),
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_decode_uses_len),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_trailing_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
