#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

#include "util/secret.h"

void strbuf_init(strbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = 0;
}

void strbuf_release(strbuf *b)
{
	secret_free_n(b->data, b->cap);
	strbuf_init(b);
}

static int grow(strbuf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 64;
	char *n;

	if (b->failed)
		return 0;
	if (need < b->len || need == (size_t)-1) {
		b->failed = 1;
		return 0;
	}
	if (need + 1 <= b->cap)
		return 1;
	while (cap < need + 1) {
		if (cap > ((size_t)-1) / 2) {
			b->failed = 1;
			return 0;
		}
		cap *= 2;
	}
	/* Not realloc: the old block may hold a secret and must be wiped. */
	n = malloc(cap);
	if (n == NULL) {
		b->failed = 1;
		return 0;
	}
	if (b->data != NULL)
		memcpy(n, b->data, b->len + 1);
	else
		n[0] = '\0';
	secret_free_n(b->data, b->cap);
	b->data = n;
	b->cap = cap;
	return 1;
}

void strbuf_add(strbuf *b, const void *data, size_t len)
{
	if (!grow(b, b->len + len))
		return;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void strbuf_addstr(strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

void strbuf_addch(strbuf *b, char c)
{
	strbuf_add(b, &c, 1);
}

char *strbuf_detach(strbuf *b, size_t *len_out)
{
	char *d;

	if (b->failed || !grow(b, b->len)) {
		strbuf_release(b);
		return NULL;
	}
	d = b->data;
	if (len_out != NULL)
		*len_out = b->len;
	strbuf_init(b);
	return d;
}
