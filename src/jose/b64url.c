#include "jose/b64url.h"

#include <stdlib.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void b64url_append(strbuf *b, const unsigned char *in, size_t len)
{
	char q[4];
	size_t i;

	for (i = 0; i + 3 <= len; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		q[0] = alphabet[(v >> 18) & 63];
		q[1] = alphabet[(v >> 12) & 63];
		q[2] = alphabet[(v >> 6) & 63];
		q[3] = alphabet[v & 63];
		strbuf_add(b, q, 4);
	}
	if (len - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;
		q[0] = alphabet[(v >> 18) & 63];
		q[1] = alphabet[(v >> 12) & 63];
		strbuf_add(b, q, 2);
	} else if (len - i == 2) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		q[0] = alphabet[(v >> 18) & 63];
		q[1] = alphabet[(v >> 12) & 63];
		q[2] = alphabet[(v >> 6) & 63];
		strbuf_add(b, q, 3);
	}
}

static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

qsjwt_err b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf;
	unsigned long acc = 0;
	size_t n = 0, i;
	int bits = 0;

	if (len % 4 == 1)
		return QSJWT_ERR_INVALID;
	buf = malloc(len / 4 * 3 + 3);
	if (buf == NULL)
		return QSJWT_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		int v = value_of((unsigned char)in[i]);
		if (v < 0) {
			free(buf);
			return QSJWT_ERR_INVALID;
		}
		acc = (acc << 6 | (unsigned long)v) & 0xffffffUL;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Left-over bits must be zero: "QQ" and "QR" must not both mean "A". */
	if ((acc & ((1UL << bits) - 1)) != 0) {
		free(buf);
		return QSJWT_ERR_INVALID;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return QSJWT_OK;
}
