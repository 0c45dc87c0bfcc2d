#include "jose/json.h"

#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

int utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	while (i < len) {
		n = utf8_seq_len(s + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

void json_append_string(strbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	strbuf_addch(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_add(b, run, (size_t)(s - run));
		run = s + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\f': esc[1] = 'f'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
			break;
		}
		strbuf_add(b, esc, n);
	}
	strbuf_add(b, run, (size_t)(s - run));
	strbuf_addch(b, '"');
}

void json_append_int(strbuf *b, long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", v);

	strbuf_add(b, num, (size_t)n);
}
