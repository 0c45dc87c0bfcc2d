/* RFC 7512 URIs: parsed by p11-kit, checked against what we support. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"
#include "util/log.h"

static const char *const path_attrs[] = {
	"token", "manufacturer", "serial", "model", "library-manufacturer",
	"library-description", "library-version", "object", "id", "type",
};
static const char *const query_attrs[] = { "module-path", "module-name", "pin-source",
					   "pin-value" };

static int known(const char *name, size_t len, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(list[i]) == len && strncmp(list[i], name, len) == 0)
			return 1;
	}
	return 0;
}

/* Check every attribute name of one part (path: ';'-separated, query:
 * '&'-separated). p11-kit keeps unknown attributes to itself, so we look. */
static qsjwt_err check_names(const char *part, size_t len, char sep, const char *const *list,
			     size_t n, const char *where)
{
	const char *p = part, *end = part + len;

	while (p < end) {
		const char *next = memchr(p, sep, (size_t)(end - p));
		const char *eq;
		size_t item = next != NULL ? (size_t)(next - p) : (size_t)(end - p);
		eq = memchr(p, '=', item);
		if (item > 0) {
			size_t name_len = eq != NULL ? (size_t)(eq - p) : item;
			if (!known(p, name_len, list, n)) {
				log_error("the PKCS#11 URI has the %s attribute '%.*s', which qs-jwt "
					  "does not support (RFC 7512); supported %s attributes: %s",
					  where, (int)name_len, p, where,
					  sep == ';' ? "token, manufacturer, serial, model, "
						       "library-manufacturer, library-description, "
						       "library-version, object, id, type"
						     : "module-path, module-name, pin-source, pin-value");
				return QSJWT_ERR_INVALID;
			}
		}
		p += item + 1;
	}
	return QSJWT_OK;
}

/* RFC 7512 section 2.3 lists the values of "type"; p11-kit 0.24 silently
 * drops any other, which would turn "type=nonsense" into "any type". */
static qsjwt_err check_type(const char *part, size_t len)
{
	static const char *const types[] = { "public", "private", "cert", "secret-key", "data" };
	const char *p = part, *end = part + len;

	while (p < end) {
		const char *next = memchr(p, ';', (size_t)(end - p));
		size_t item = next != NULL ? (size_t)(next - p) : (size_t)(end - p);
		if (item >= 5 && strncmp(p, "type=", 5) == 0 &&
		    !known(p + 5, item - 5, types, sizeof(types) / sizeof(types[0]))) {
			log_error("the PKCS#11 URI's type is not one of public, private, cert, "
				  "secret-key, data (RFC 7512)");
			return QSJWT_ERR_INVALID;
		}
		p += item + 1;
	}
	return QSJWT_OK;
}

qsjwt_err p11_uri_parse(const char *text, p11_uri_use use, int allow_pin_value,
			P11KitUri **out)
{
	P11KitUri *uri = NULL;
	const char *body, *q;
	CK_ATTRIBUTE *cls;
	qsjwt_err rc = QSJWT_ERR_INVALID;
	int r;

	if (strncmp(text, "pkcs11:", 7) != 0) {
		/* Not echoed: what is not a URI may be a PIN or a key given in
		 * the wrong place. */
		log_error("the value given (%zu bytes, not shown) is not a PKCS#11 URI: it must "
			  "start with 'pkcs11:' (RFC 7512), e.g. "
			  "'pkcs11:token=qlik;object=jwt-signing'",
			  strlen(text));
		return QSJWT_ERR_INVALID;
	}
	body = text + 7;
	q = strchr(body, '?');
	rc = check_names(body, q != NULL ? (size_t)(q - body) : strlen(body), ';', path_attrs,
			 sizeof(path_attrs) / sizeof(path_attrs[0]), "path");
	if (rc == QSJWT_OK)
		rc = check_type(body, q != NULL ? (size_t)(q - body) : strlen(body));
	if (rc == QSJWT_OK && q != NULL)
		rc = check_names(q + 1, strlen(q + 1), '&', query_attrs,
				 sizeof(query_attrs) / sizeof(query_attrs[0]), "query");
	if (rc != QSJWT_OK)
		return rc;
	rc = QSJWT_ERR_INVALID;
	uri = p11_kit_uri_new();
	if (uri == NULL)
		return QSJWT_ERR_NOMEM;
	r = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, uri);
	if (r != P11_KIT_URI_OK) {
		log_error("cannot parse the PKCS#11 URI: %s", p11_kit_uri_message(r));
		goto out;
	}
	cls = p11_kit_uri_get_attribute(uri, CKA_CLASS);
	if (cls != NULL && cls->ulValueLen == sizeof(CK_OBJECT_CLASS) &&
	    *(CK_OBJECT_CLASS *)cls->pValue != CKO_PRIVATE_KEY && use == P11_URI_KEY) {
		log_error("the PKCS#11 URI names an object of another type; signing needs "
			  "'type=private' (or no type)");
		goto out;
	}
	if (p11_kit_uri_get_pin_value(uri) != NULL && !allow_pin_value) {
		log_error("the PKCS#11 URI holds the PIN (pin-value), which puts it on the "
			  "command line for every local user to see; use pin-source=FILE in the "
			  "URI, --pkcs11-pin-file FILE or QSJWT_PKCS11_PIN instead "
			  "(--allow-pin-in-uri accepts it anyway)");
		goto out;
	}
	if (p11_kit_uri_get_pin_value(uri) != NULL &&
	    strlen(p11_kit_uri_get_pin_value(uri)) >= P11_PIN_MAX) {
		log_error("the PIN in the PKCS#11 URI (pin-value) is longer than %d bytes",
			  P11_PIN_MAX - 1);
		goto out;
	}
	*out = uri;
	uri = NULL;
	rc = QSJWT_OK;
out:
	if (uri != NULL)
		p11_kit_uri_free(uri);
	return rc;
}

static char *format(P11KitUri *uri, P11KitUriType type, const p11_modules *m)
{
	const char *path = m != NULL ? p11_modules_path(m) : NULL;
	const char *name = m != NULL ? p11_modules_name(m) : NULL;
	char *s = NULL;

	if (path != NULL)
		p11_kit_uri_set_module_path(uri, path);
	else if (name != NULL)
		p11_kit_uri_set_module_name(uri, name);
	if (p11_kit_uri_format(uri, type, &s) != P11_KIT_URI_OK)
		s = NULL;
	p11_kit_uri_free(uri);
	return s;
}

char *p11_uri_token(const CK_TOKEN_INFO *ti, const p11_modules *m)
{
	P11KitUri *uri = p11_kit_uri_new();

	if (uri == NULL)
		return NULL;
	memcpy(p11_kit_uri_get_token_info(uri), ti, sizeof(*ti));
	return format(uri, P11_KIT_URI_FOR_TOKEN, m);
}

char *p11_uri_object(const CK_TOKEN_INFO *ti, CK_OBJECT_CLASS cls, const char *label,
		     const unsigned char *id, size_t id_len, const p11_modules *m)
{
	P11KitUri *uri = p11_kit_uri_new();
	CK_ATTRIBUTE a;

	if (uri == NULL)
		return NULL;
	memcpy(p11_kit_uri_get_token_info(uri), ti, sizeof(*ti));
	if (label != NULL && label[0] != '\0') {
		a.type = CKA_LABEL;
		a.pValue = (void *)label;
		a.ulValueLen = strlen(label);
		p11_kit_uri_set_attribute(uri, &a);
	}
	if (id != NULL && id_len > 0) {
		a.type = CKA_ID;
		a.pValue = (void *)id;
		a.ulValueLen = id_len;
		p11_kit_uri_set_attribute(uri, &a);
	}
	if (cls != (CK_OBJECT_CLASS)-1) {
		a.type = CKA_CLASS;
		a.pValue = &cls;
		a.ulValueLen = sizeof(cls);
		p11_kit_uri_set_attribute(uri, &a);
	}
	return format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, m);
}
