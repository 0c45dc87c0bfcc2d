/* Another user of the same PKCS#11 module in the process is logged in
 * already: qs-jwt gets CKR_USER_ALREADY_LOGGED_IN from its C_Login, must use
 * that login to sign, and must not log it out when it is done (C_Logout
 * ends the login of every session of the application, PKCS#11 v2.40
 * section 5.6).
 *
 * Usage: shared_login MODULE URI PIN_FILE
 * Prints one line per check; exit 0 when all pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>
#include <qsjwt/qsjwt.h>

static const char *pin_file;

static qsjwt_err pin_cb(char *buf, size_t size, size_t *len, const char *token, void *ud)
{
	FILE *f = fopen(pin_file, "r");
	size_t n;

	(void)token;
	(void)ud;
	if (f == NULL)
		return QSJWT_ERR_IO;
	n = fread(buf, 1, size, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	*len = n;
	return QSJWT_OK;
}

static int state_of(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_STATE *st)
{
	CK_SESSION_INFO info;

	if (f->C_GetSessionInfo(h, &info) != CKR_OK)
		return -1;
	*st = info.state;
	return 0;
}

int main(int argc, char **argv)
{
	CK_FUNCTION_LIST *f = NULL;
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_STATE st = 0;
	char pin[256];
	size_t pin_len = 0;
	qsjwt_pkcs11_opts o;
	qsjwt_signer *s = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int fails = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s MODULE URI PIN_FILE\n", argv[0]);
		return 2;
	}
	pin_file = argv[3];
	/* The other user: its own p11-kit instance of the module, logged in. */
	f = p11_kit_module_load(argv[1], 0);
	if (f == NULL || p11_kit_module_initialize(f) != CKR_OK ||
	    f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n == 0 ||
	    f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK ||
	    pin_cb(pin, sizeof(pin), &pin_len, NULL, NULL) != QSJWT_OK ||
	    f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, (CK_ULONG)pin_len) != CKR_OK) {
		fprintf(stderr, "setup: cannot log in with the module\n");
		return 2;
	}
	memset(pin, 0, sizeof(pin));
	memset(&o, 0, sizeof(o));
	o.uri = argv[2];
	o.module_path = argv[1];
	o.pin_fn = pin_cb;
	if (qsjwt_signer_from_pkcs11(&o, &s) == QSJWT_OK &&
	    qsjwt_signer_sign(s, QSJWT_RS256, (const unsigned char *)"x", 1, &sig, &sig_len) ==
		    QSJWT_OK &&
	    sig_len > 0) {
		printf("ok: qs-jwt signed while the token was logged in already\n");
	} else {
		printf("FAIL: qs-jwt could not sign on the shared login\n");
		fails++;
	}
	free(sig);
	qsjwt_signer_free(s);
	if (state_of(f, h, &st) == 0 && st == CKS_RO_USER_FUNCTIONS) {
		printf("ok: the other user is still logged in after qs-jwt finished\n");
	} else {
		printf("FAIL: the other user's session is in state %lu, not CKS_RO_USER_FUNCTIONS "
		       "(qs-jwt logged it out)\n",
		       (unsigned long)st);
		fails++;
	}
	f->C_Logout(h);
	f->C_CloseSession(h);
	p11_kit_module_finalize(f);
	p11_kit_module_release(f);
	return fails == 0 ? 0 : 1;
}
