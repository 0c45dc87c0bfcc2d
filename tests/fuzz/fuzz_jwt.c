/* libFuzzer: JWT splitting, base64url parts, header/payload JSON, and the
 * verification checks (with a fixed RSA and a fixed EC key). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qsjwt/qsjwt.h>

static void quiet(qsjwt_log_level level, const char *msg, void *ud)
{
	(void)level;
	(void)msg;
	(void)ud;
}

/* Keys whose private halves were thrown away when they were made: no
 * input can carry a valid signature for them. */
static const char rsa_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoUxk9LdIudL49J/KyoNQ\n"
	"yDrFKrysRGOOE6mmIIeBBNudrGiIkB+bGtyYSdWwA2G0oR/eSfxTvtokT49W99iU\n"
	"wXmKSSHLku8YLjH2NYf/BCRla3qPZRCV7B6W5FkHbYvH9v+E1D96Rth6x2xefdQ1\n"
	"9+PlwaIMsjbx8/kv/R5SoU+JAD/K17zFfvw44BYeLArnLXBXrmuexoQzQOhw9may\n"
	"rfMkAnkDKyjF688+45M3oeWNeKsDOdh8+gLniJVmaJeIOABzhON1jqDt7kZvm1bO\n"
	"hvwj5NjSikEDvrFFWOBixc0UD5wXlAx11Dh5b9NAmQeRVppRM4q0YUCn+MLF7ga+\n"
	"bwIDAQAB\n"
	"-----END PUBLIC KEY-----\n";

static const char ec_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEyCoz/08R1WVgnij3pa0+j5YlWLAn\n"
	"+I8YYgHrP2QCd1USUuWCg8+bVNqp0L0yMHXouLcVt1+SGCXIlYCGQIYvSw==\n"
	"-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qsjwt_pubkey *rsa, *ec;
	static int init;
	qsjwt_verify_opts o = { 1893456000, 0, "qlik-aud" };
	qsjwt_verify_result r;
	qsjwt_jwt *t = NULL;

	if (!init) {
		init = 1;
		qsjwt_log_set_handler(quiet, NULL);
		if (qsjwt_pubkey_from_data((const unsigned char *)rsa_pub, strlen(rsa_pub), "rsa",
					   &rsa) != QSJWT_OK ||
		    qsjwt_pubkey_from_data((const unsigned char *)ec_pub, strlen(ec_pub), "ec",
					   &ec) != QSJWT_OK)
			abort();
	}
	if (qsjwt_jwt_decode((const char *)data, size, &t) != QSJWT_OK)
		return 0;
	if (strlen(qsjwt_jwt_header(t)) == 0 && strlen(qsjwt_jwt_payload(t)) == 0)
		abort(); /* both are JSON objects: never empty */
	if (qsjwt_jwt_verify(t, rsa, &o, &r) == QSJWT_OK && r.valid)
		abort(); /* nobody has this key's private half */
	if (qsjwt_jwt_verify(t, ec, &o, &r) == QSJWT_OK && r.valid)
		abort();
	qsjwt_jwt_free(t);
	return 0;
}
