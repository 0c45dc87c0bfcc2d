/*
 * A shared library that is no PKCS#11 module: it loads, but has no
 * C_GetFunctionList. For the hardening tests (tests/hardening/test_faults.sh):
 * qs-jwt must refuse it with exit 4 and a message naming the file.
 */

/* Something to export, so that the library is an ordinary one. */
int qsjwt_not_a_pkcs11_module(void);

int qsjwt_not_a_pkcs11_module(void)
{
	return 42;
}
