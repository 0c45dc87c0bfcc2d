/* base64url without padding (RFC 7515 section 2, RFC 4648 section 5). */
#ifndef QSJWT_B64URL_H
#define QSJWT_B64URL_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

#include "util/strbuf.h"

void b64url_append(strbuf *b, const unsigned char *in, size_t len);

/*
 * Strict decoding: only A-Z a-z 0-9 - _, no padding, no whitespace, no
 * length of 4k+1, unused trailing bits zero (so every input has exactly one
 * encoding). *out (NUL-terminated for convenience) is the caller's.
 */
qsjwt_err b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

#endif
