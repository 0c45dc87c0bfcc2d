/* p11_uri_parse: RFC 7512 URIs as qs-jwt takes them. The supported path and
 * query attributes parse (through p11-kit) into what they say; anything else
 * is refused with one error that names the attribute, and a value that is not
 * a URI, or a PIN in it, is never echoed. p11_uri_token/p11_uri_object format
 * URIs a user can paste back. */
#include <stdlib.h>

#include "pkcs11/p11.h"

#include "unit.h"

static P11KitUri *parse_ok(const char *text, p11_uri_use use, int allow_pin)
{
	P11KitUri *uri = NULL;
	unit_log log;

	unit_log_start(&log);
	check_rc(text, p11_uri_parse(text, use, allow_pin, &uri), QSJWT_OK);
	unit_log_stop();
	assert_non_null(uri);
	check_int(text, log.errors, 0);
	return uri;
}

/* A blank-padded CK_UTF8CHAR field holds `want`. */
static void check_padded(const char *ctx, const unsigned char *field, size_t size,
			 const char *want)
{
	size_t n = size;

	while (n > 0 && field[n - 1] == ' ')
		n--;
	check_bytes(ctx, field, n, want, strlen(want));
}

static void check_attr(const char *ctx, P11KitUri *uri, CK_ATTRIBUTE_TYPE type,
		       const void *want, size_t want_len)
{
	CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri, type);

	if (a == NULL) {
		print_error("%s: attribute 0x%lx missing\n", ctx, (unsigned long)type);
		fail();
	}
	check_bytes(ctx, a->pValue, a->ulValueLen, want, want_len);
}

static void supported(void **state)
{
	P11KitUri *uri;
	CK_TOKEN_INFO *ti;
	CK_INFO *mi;
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;

	(void)state;
	uri = parse_ok("pkcs11:token=qlik;object=jwt-signing", P11_URI_KEY, 0);
	ti = p11_kit_uri_get_token_info(uri);
	check_padded("token", ti->label, sizeof(ti->label), "qlik");
	check_attr("object", uri, CKA_LABEL, "jwt-signing", 11);
	assert_null(p11_kit_uri_get_attribute(uri, CKA_ID));
	assert_null(p11_kit_uri_get_module_path(uri));
	p11_kit_uri_free(uri);

	uri = parse_ok("pkcs11:token=qlik;id=%01%FE;type=private", P11_URI_KEY, 0);
	check_attr("id", uri, CKA_ID, "\x01\xfe", 2);
	check_attr("type", uri, CKA_CLASS, &priv, sizeof(priv));
	p11_kit_uri_free(uri);

	uri = parse_ok("pkcs11:manufacturer=SoftHSM%20project;model=SoftHSM%20v2;"
		       "serial=0188536327a72bfe;token=my%20token",
		       P11_URI_TOKEN_FILTER, 0);
	ti = p11_kit_uri_get_token_info(uri);
	check_padded("manufacturer", ti->manufacturerID, sizeof(ti->manufacturerID),
		     "SoftHSM project");
	check_padded("model", ti->model, sizeof(ti->model), "SoftHSM v2");
	check_padded("serial", ti->serialNumber, sizeof(ti->serialNumber), "0188536327a72bfe");
	check_padded("token", ti->label, sizeof(ti->label), "my token");
	p11_kit_uri_free(uri);

	uri = parse_ok("pkcs11:library-manufacturer=OpenSC%20Project;"
		       "library-description=OpenSC%20smartcard;library-version=0.23",
		       P11_URI_TOKEN_FILTER, 0);
	mi = p11_kit_uri_get_module_info(uri);
	check_padded("library-manufacturer", mi->manufacturerID, sizeof(mi->manufacturerID),
		     "OpenSC Project");
	check_padded("library-description", mi->libraryDescription,
		     sizeof(mi->libraryDescription), "OpenSC smartcard");
	check_int("library-version major", mi->libraryVersion.major, 0);
	check_int("library-version minor", mi->libraryVersion.minor, 23);
	p11_kit_uri_free(uri);

	uri = parse_ok("pkcs11:token=qlik;object=k?module-path=/usr/lib/x.so&pin-source=file:"
		       "///home/me/pin",
		       P11_URI_KEY, 0);
	check_str("module-path", p11_kit_uri_get_module_path(uri), "/usr/lib/x.so");
	check_str("pin-source", p11_kit_uri_get_pin_source(uri), "file:///home/me/pin");
	p11_kit_uri_free(uri);

	uri = parse_ok("pkcs11:token=qlik?module-name=softhsm2", P11_URI_TOKEN_FILTER, 0);
	check_str("module-name", p11_kit_uri_get_module_name(uri), "softhsm2");
	p11_kit_uri_free(uri);

	/* Matches every token. */
	uri = parse_ok("pkcs11:", P11_URI_TOKEN_FILTER, 0);
	p11_kit_uri_free(uri);

	/* Another object type is fine where only tokens are matched. */
	uri = parse_ok("pkcs11:token=qlik;type=cert", P11_URI_TOKEN_FILTER, 0);
	p11_kit_uri_free(uri);

	/* pin-value only when allowed. */
	uri = parse_ok("pkcs11:token=qlik;object=k?pin-value=2468", P11_URI_KEY, 1);
	check_str("pin-value", p11_kit_uri_get_pin_value(uri), "2468");
	p11_kit_uri_free(uri);
}

struct bad {
	const char *text;
	p11_uri_use use;
	const char *message; /* a part of the one error line */
	const char *hidden;  /* must not appear in it (NULL: no check) */
};

static const struct bad bads[] = {
	{ "token=qlik;object=k", P11_URI_KEY, "is not a PKCS#11 URI: it must start with 'pkcs11:'",
	  "token=qlik;object=k" },
	{ "2468-my-pin", P11_URI_KEY, "the value given (11 bytes, not shown) is not a PKCS#11 URI",
	  "2468" },
	{ "PKCS11:token=qlik", P11_URI_KEY, "is not a PKCS#11 URI", NULL },
	{ "", P11_URI_KEY, "the value given (0 bytes, not shown)", NULL },
	{ "pkcs11:token=qlik;slot-id=3", P11_URI_KEY,
	  "the PKCS#11 URI has the path attribute 'slot-id', which qs-jwt does not support "
	  "(RFC 7512); supported path attributes: token, manufacturer, serial, model, "
	  "library-manufacturer, library-description, library-version, object, id, type",
	  NULL },
	{ "pkcs11:token=qlik;x-vendor", P11_URI_KEY, "the path attribute 'x-vendor'", NULL },
	{ "pkcs11:token=qlik?slot-id=3", P11_URI_KEY,
	  "the PKCS#11 URI has the query attribute 'slot-id', which qs-jwt does not support "
	  "(RFC 7512); supported query attributes: module-path, module-name, pin-source, "
	  "pin-value",
	  NULL },
	{ "pkcs11:token=qlik?pin-source=/p&foo=bar", P11_URI_KEY, "the query attribute 'foo'",
	  NULL },
	/* A query attribute in the path is unknown there. */
	{ "pkcs11:token=qlik;module-path=/x.so", P11_URI_KEY, "the path attribute 'module-path'",
	  NULL },
	{ "pkcs11:token=qlik;type=cert", P11_URI_KEY,
	  "the PKCS#11 URI names an object of another type; signing needs 'type=private' (or "
	  "no type)",
	  NULL },
	{ "pkcs11:token=qlik;type=public", P11_URI_KEY, "signing needs 'type=private'", NULL },
	{ "pkcs11:token=qlik;type=nonsense", P11_URI_KEY,
	  "the PKCS#11 URI's type is not one of public, private, cert, secret-key, data (RFC "
	  "7512)",
	  NULL },
	{ "pkcs11:token=qlik;type=", P11_URI_TOKEN_FILTER, "the PKCS#11 URI's type is not one of",
	  NULL },
	{ "pkcs11:token=qlik;object=k?pin-value=2468", P11_URI_KEY,
	  "the PKCS#11 URI holds the PIN (pin-value), which puts it on the command line",
	  "2468" },
	{ "pkcs11:token=%zz", P11_URI_KEY, "cannot parse the PKCS#11 URI: ", NULL },
};

static void refused(void **state)
{
	unit_log log;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bads); i++) {
		P11KitUri *uri = NULL;
		char ctx[64];

		snprintf(ctx, sizeof(ctx), "row %zu '%s'", i, bads[i].text);
		unit_log_start(&log);
		check_rc(ctx, p11_uri_parse(bads[i].text, bads[i].use, 0, &uri), QSJWT_ERR_INVALID);
		unit_log_stop();
		assert_null(uri);
		check_int(ctx, log.errors, 1);
		if (strstr(log.all, bads[i].message) == NULL) {
			print_error("%s: message '%s' lacks '%s'\n", ctx, log.all, bads[i].message);
			fail();
		}
		if (bads[i].hidden != NULL && strstr(log.all, bads[i].hidden) != NULL) {
			print_error("%s: '%s' reached the message: %s\n", ctx, bads[i].hidden,
				    log.all);
			fail();
		}
	}
}

static void pad(CK_UTF8CHAR *dst, size_t size, const char *src)
{
	memset(dst, ' ', size);
	memcpy(dst, src, strlen(src));
}

/* The URIs printed for list-tokens, list-keys and "several matched" errors
 * parse back to the same token and object. */
static void formatted(void **state)
{
	CK_TOKEN_INFO ti;
	P11KitUri *uri;
	char *s;
	const unsigned char id[] = { 0x01, 0xab };

	(void)state;
	memset(&ti, 0, sizeof(ti));
	pad(ti.label, sizeof(ti.label), "qlik hsm");
	pad(ti.manufacturerID, sizeof(ti.manufacturerID), "SoftHSM project");
	pad(ti.model, sizeof(ti.model), "SoftHSM v2");
	pad(ti.serialNumber, sizeof(ti.serialNumber), "0188536327a72bfe");

	s = p11_uri_token(&ti, NULL);
	check_str("token URI", s,
		  "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;"
		  "serial=0188536327a72bfe;token=qlik%20hsm");
	free(s);

	/* The module repeated as module-path= or module-name= needs a loaded
	 * module set: tokens_nss and softhsm_remote check those URIs. */
	s = p11_uri_object(&ti, CKO_PRIVATE_KEY, "jwt signing", id, sizeof(id), NULL);
	assert_non_null(s);
	uri = parse_ok(s, P11_URI_KEY, 0);
	check_attr("label back", uri, CKA_LABEL, "jwt signing", 11);
	check_attr("id back", uri, CKA_ID, id, sizeof(id));
	check_padded("token back", p11_kit_uri_get_token_info(uri)->label, sizeof(ti.label),
		     "qlik hsm");
	p11_kit_uri_free(uri);
	assert_non_null(strstr(s, ";type=private"));
	free(s);

	/* No label, no id, no class: the token's attributes only. */
	s = p11_uri_object(&ti, (CK_OBJECT_CLASS)-1, NULL, NULL, 0, NULL);
	check_str("bare object URI", s,
		  "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;"
		  "serial=0188536327a72bfe;token=qlik%20hsm");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(supported),
		cmocka_unit_test(refused),
		cmocka_unit_test(formatted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
