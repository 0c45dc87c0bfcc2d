/* A growable byte buffer that wipes what it leaves behind when it grows, so
 * it can hold secrets (a token is a bearer credential). */
#ifndef QSJWT_STRBUF_H
#define QSJWT_STRBUF_H

#include <stddef.h>

typedef struct {
	char *data; /* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	int failed; /* an allocation failed; further appends are ignored */
} strbuf;

void strbuf_init(strbuf *b);
/* Wipe and free the contents. */
void strbuf_release(strbuf *b);
void strbuf_add(strbuf *b, const void *data, size_t len);
void strbuf_addstr(strbuf *b, const char *s);
void strbuf_addch(strbuf *b, char c);
/* Hand the NUL-terminated contents to the caller (free() or wipe+free);
 * NULL if an allocation failed (the buffer is then released). */
char *strbuf_detach(strbuf *b, size_t *len_out);

#endif
