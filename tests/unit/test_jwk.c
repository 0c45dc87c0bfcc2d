/* JWK (RFC 7517) and JWK thumbprints (RFC 7638), and the Qlik Cloud
 * identity-provider request. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "unit.h"

#include "jose/b64url.h"

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
static const char rfc_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
	"BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
	"FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
	"bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char rfc_thumb[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static void rfc_key(unsigned char **n, size_t *n_len, unsigned char **e, size_t *e_len)
{
	check_rc("n", b64url_decode(rfc_n, strlen(rfc_n), n, n_len), QSJWT_OK);
	check_rc("e", b64url_decode("AQAB", 4, e, e_len), QSJWT_OK);
}

static void test_rfc7638_example(void **state)
{
	unsigned char *n = NULL, *e = NULL, *n0 = NULL;
	size_t n_len = 0, e_len = 0;
	char *jwk = NULL, *thumb = NULL, want[600];

	(void)state;
	rfc_key(&n, &n_len, &e, &e_len);
	check_rc("rfc", qsjwt_jwk_rsa(n, n_len, e, e_len, &jwk, &thumb), QSJWT_OK);
	check_str("thumbprint", thumb, rfc_thumb);
	snprintf(want, sizeof(want), "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}", rfc_n);
	check_str("jwk", jwk, want);
	free(jwk);
	free(thumb);
	/* Leading zero bytes (a token's CKA_MODULUS may have them) change nothing. */
	n0 = calloc(1, n_len + 2);
	assert_non_null(n0);
	memcpy(n0 + 2, n, n_len);
	thumb = NULL;
	check_rc("leading zeros", qsjwt_jwk_rsa(n0, n_len + 2, e, e_len, NULL, &thumb), QSJWT_OK);
	check_str("leading zeros", thumb, rfc_thumb);
	free(thumb);
	/* An empty or all-zero modulus is no key. */
	check_rc("empty n", qsjwt_jwk_rsa(n0, 2, e, e_len, NULL, &thumb), QSJWT_ERR_INVALID);
	check_rc("empty e", qsjwt_jwk_rsa(n, n_len, e, 0, NULL, &thumb), QSJWT_ERR_INVALID);
	free(n0);
	free(n);
	free(e);
}

static void test_idp_json(void **state)
{
	char *json = NULL;
	cJSON *doc, *key;
	const char *pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

	(void)state;
	check_rc("idp", qsjwt_qscloud_idp_json("tenant.eu.qlikcloud.com", "k\"1", pem, &json),
		 QSJWT_OK);
	assert_non_null(json);
	assert_int_equal(json[strlen(json) - 1], '\n');
	doc = cJSON_Parse(json);
	assert_non_null(doc);
	check_str("provider", cJSON_GetObjectItem(doc, "provider")->valuestring, "external");
	check_str("protocol", cJSON_GetObjectItem(doc, "protocol")->valuestring, "jwtAuth");
	check_str("issuer",
		  cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "options"), "issuer")->valuestring,
		  "tenant.eu.qlikcloud.com");
	key = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "options"), "staticKeys");
	assert_int_equal(cJSON_GetArraySize(key), 1);
	key = cJSON_GetArrayItem(key, 0);
	check_str("kid", cJSON_GetObjectItem(key, "kid")->valuestring, "k\"1");
	check_str("pem", cJSON_GetObjectItem(key, "pem")->valuestring, pem);
	cJSON_Delete(doc);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7638_example),
		cmocka_unit_test(test_idp_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
