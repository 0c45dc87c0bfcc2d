/* libFuzzer: one --batch input line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/batch.h"
#include "jose/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	batch_opts o = { "-", "60m", "qlik-aud", QSJWT_RS256, 1 };
	char *payload = NULL, *err;
	size_t len = 0;

	err = batch_parse_line(&o, (const char *)data, size, 1893456000, &payload, &len);
	if (err == NULL && (payload == NULL || len == 0 || payload[0] != '{' ||
			    !utf8_valid(payload, len)))
		abort(); /* an issued line always gives a UTF-8 JSON object */
	free(err);
	free(payload);
	return 0;
}
