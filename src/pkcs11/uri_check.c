#include "pkcs11/uri_check.h"

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

const char *p11_pin_source_path(const char *src, char *why, size_t why_size)
{
	const char *path = strncmp(src, "file://", 7) == 0 ? src + 7
			   : strncmp(src, "file:", 5) == 0 ? src + 5
							   : src;

	if (path[0] != '/' && path != src) {
		/* Not echoed: a value that is no path may be the PIN itself,
		 * written where its file's name belonged. */
		snprintf(why, why_size,
			 "pin-source is a file: URI without an absolute path (it must be "
			 "file:/PATH or file:///PATH)");
		return NULL;
	}
	return path;
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
	path = p11_pin_source_path(src, why, why_size);
	rc = path != NULL ? p11_pin_file_check(path, "pin-source", why, why_size)
			  : QSJWT_ERR_INVALID;
out:
	p11_kit_uri_free(u);
	return rc;
}

qsjwt_err p11_uri_options_check(const char *uri, const char *module_path, const char *module_init,
				int for_create, char *why, size_t why_size)
{
	P11KitUri *u = NULL;
	qsjwt_err rc = QSJWT_OK;
	CK_ATTRIBUTE *label;

	if (uri != NULL) {
		u = p11_kit_uri_new();
		if (u == NULL) {
			snprintf(why, why_size, "out of memory");
			return QSJWT_ERR_NOMEM;
		}
		if (p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, u) != P11_KIT_URI_OK)
			goto out; /* p11_uri_parse reported it */
	}
	if (module_init != NULL && module_path == NULL &&
	    (u == NULL || p11_kit_uri_get_module_path(u) == NULL)) {
		/* The same rule and words as p11_modules_open. */
		snprintf(why, why_size,
			 "--pkcs11-module-init needs the module named by path (--pkcs11-module or "
			 "the URI's module-path=); a module named with module-name= takes its "
			 "p11-kit configuration's x-init-reserved");
		rc = QSJWT_ERR_INVALID;
		goto out;
	}
	label = u != NULL ? p11_kit_uri_get_attribute(u, CKA_LABEL) : NULL;
	if (for_create && u != NULL && (label == NULL || label->ulValueLen == 0)) {
		snprintf(why, why_size,
			 "--pkcs11-uri: to create a key on a token, the URI must name it with "
			 "object=, e.g. 'pkcs11:token=qlik;object=jwt-signing'");
		rc = QSJWT_ERR_INVALID;
	}
out:
	if (u != NULL)
		p11_kit_uri_free(u);
	return rc;
}
