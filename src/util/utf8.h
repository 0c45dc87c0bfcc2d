/* UTF-8 sequences (RFC 3629): the one check behind claim validation and the
 * escaping of log lines. */
#ifndef QSJWT_UTF8_H
#define QSJWT_UTF8_H

#include <stddef.h>

/* The length (1 to 4) of the well-formed UTF-8 sequence at s, which has
 * `left` bytes (left >= 1); 0 when it is not one: NUL, a stray continuation
 * byte, an overlong form, a surrogate, above U+10FFFF, or cut short. */
size_t utf8_seq_len(const unsigned char *s, size_t left);

#endif
