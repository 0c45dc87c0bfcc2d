/* libFuzzer: one qs-jwt serve request body, for POST /v1/qseow and for
 * POST /v1/qscloud (the first byte chooses). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jose/json.h"
#include "jose/request.h"

static void check_payload(char *err, char *payload, size_t len)
{
	if (err == NULL && (payload == NULL || len == 0 || payload[0] != '{' ||
			    !utf8_valid(payload, len)))
		abort(); /* an accepted body always gives a UTF-8 JSON object */
	free(err);
	free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	char *payload = NULL, *err;
	size_t len = 0;
	int64_t exp = 0;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		qscloud_request r;
		err = qscloud_request_parse(text, size - 1, "body", &r);
		if (err == NULL) {
			if (r.sub == NULL || r.expires == NULL || r.issuer == NULL || r.keyid == NULL)
				abort(); /* required fields */
			err = qscloud_request_payload(&r, "jti", 1893456000, &payload, &len, &exp);
			check_payload(err, payload, len);
			qscloud_request_release(&r);
		} else {
			free(err);
		}
	} else {
		qseow_request r;
		err = qseow_request_parse(text, size - 1, "body", &r);
		if (err == NULL) {
			if (r.userid == NULL || r.userdir == NULL || r.username == NULL ||
			    r.useremail == NULL)
				abort();
			err = qseow_request_payload(&r, NULL, NULL, 0, 1893456000, &payload, &len,
						    &exp);
			check_payload(err, payload, len);
			qseow_request_release(&r);
		} else {
			free(err);
		}
	}
	return 0;
}
