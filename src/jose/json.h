/* The pieces of our fixed-order JSON serializer. */
#ifndef QSJWT_JSON_H
#define QSJWT_JSON_H

#include <stddef.h>

#include "util/strbuf.h"

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequences. NUL bytes count as invalid here: a C
 * string cannot hold them and a JSON claim should not. */
int utf8_valid(const char *s, size_t len);

/* Append s (valid UTF-8) as a JSON string, escaped as ECMAScript
 * JSON.stringify does (ECMA-262 QuoteJSONString): " and \ escaped;
 * \b \t \n \f \r short; other controls below 0x20 as \u00xx (lowercase hex);
 * everything else, DEL and non-ASCII included, raw. */
void json_append_string(strbuf *b, const char *s);

/* Append a JSON integer. */
void json_append_int(strbuf *b, long long v);

#endif
