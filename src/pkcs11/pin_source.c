#include "pkcs11/pin_source.h"

#include <stdio.h>
#include <string.h>

#include "pkcs11/p11.h"
#include "util/secret_file.h"

size_t p11_pin_len_max(void)
{
	return P11_PIN_MAX - 1;
}

qsjwt_err p11_pin_file_check(const char *path, const char *what, char *why, size_t why_size)
{
	char *pin = NULL;
	size_t len = 0;
	qsjwt_err rc = secret_file_read(path, what, &pin, &len, why, why_size);

	if (rc == QSJWT_OK && len >= P11_PIN_MAX) {
		snprintf(why, why_size, "%s '%s' holds a PIN longer than %d bytes", what, path,
			 P11_PIN_MAX - 1);
		rc = QSJWT_ERR_INVALID;
	}
	qsjwt_secret_free(pin);
	return rc;
}

qsjwt_err p11_pin_source_check(const char *uri, int *found, char *why, size_t why_size)
{
	P11KitUri *u = p11_kit_uri_new();
	qsjwt_err rc = QSJWT_OK;
	const char *src, *path;

	*found = 0;
	if (u == NULL) {
		snprintf(why, why_size, "out of memory");
		return QSJWT_ERR_NOMEM;
	}
	if (p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, u) != P11_KIT_URI_OK)
		goto out; /* p11_uri_parse reported it */
	src = p11_kit_uri_get_pin_source(u);
	if (src == NULL)
		goto out;
	*found = 1;
	/* The forms pkcs11/login.c reads. */
	path = strncmp(src, "file://", 7) == 0 ? src + 7
	       : strncmp(src, "file:", 5) == 0 ? src + 5
					       : src;
	if (path[0] != '/' && path != src) {
		snprintf(why, why_size, "pin-source '%s' is not a file: URI with an absolute path",
			 src);
		rc = QSJWT_ERR_INVALID;
		goto out;
	}
	rc = p11_pin_file_check(path, "pin-source", why, why_size);
out:
	p11_kit_uri_free(u);
	return rc;
}
