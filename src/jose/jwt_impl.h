/* Inside a decoded JWT, for the files of src/jose that check it
 * (jwt_decode.c: signature and times; profile.c: what Qlik accepts). */
#ifndef QSJWT_JWT_IMPL_H
#define QSJWT_JWT_IMPL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include <qsjwt/qsjwt.h>

struct qsjwt_jwt {
	unsigned char *header, *payload, *sig;
	size_t header_len, payload_len, sig_len;
	char *signing_input; /* header "." payload, as sent */
	size_t signing_len;
	cJSON *hdr, *pl;
};

/* Append a check to r; a failed one clears r->valid and becomes r->reason
 * when it is the first. NULL when r is full (QSJWT_MAX_CHECKS): the caller
 * must then not report the result as valid. */
qsjwt_check *jwt_add_check(qsjwt_verify_result *r, const char *name, qsjwt_check_result res,
			   const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

#endif
