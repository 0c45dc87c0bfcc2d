/* libFuzzer: base64url decoding, and the encode/decode round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jose/b64url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *out = NULL, *back = NULL;
	size_t n = 0, m = 0;
	strbuf b;

	if (b64url_decode((const char *)data, size, &out, &n) == QSJWT_OK) {
		/* Strict decoding: every accepted input is the canonical encoding. */
		strbuf_init(&b);
		b64url_append(&b, out, n);
		if (b.len != size || (size > 0 && memcmp(b.data, data, size) != 0))
			abort();
		if (b64url_decode(b.len > 0 ? b.data : "", b.len, &back, &m) != QSJWT_OK ||
		    m != n || (n > 0 && memcmp(back, out, n) != 0))
			abort();
		strbuf_release(&b);
	}
	free(out);
	free(back);
	return 0;
}
