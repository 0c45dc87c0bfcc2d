/* libFuzzer: PEM/DER private key, public key and certificate loading from
 * memory. */
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

static int pass(char *buf, int size, const char *what, void *ud)
{
	(void)what;
	(void)ud;
	if (size < 4)
		return -1;
	memcpy(buf, "test", 4);
	return 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	qsjwt_signer *s = NULL;
	qsjwt_pubkey *k = NULL;
	char *copy;

	qsjwt_log_set_handler(quiet, NULL);
	copy = malloc(size + 1); /* callers hand NUL-terminated buffers */
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (qsjwt_signer_from_pem(copy, size, "fuzz", pass, NULL, &s) == QSJWT_OK) {
		if (qsjwt_signer_bits(s) < 2048)
			abort();
		qsjwt_signer_free(s);
	}
	if (qsjwt_pubkey_from_data((const unsigned char *)copy, size, "fuzz", &k) == QSJWT_OK)
		qsjwt_pubkey_free(k);
	free(copy);
	return 0;
}
