/* libFuzzer: p11-kit module and global configuration files as
 * src/pkcs11/registry.c reads them for module-name= (any bytes: a user's
 * ~/.config/pkcs11 is read in their own process). */
#include <stdint.h>
#include <stdlib.h>

#include "pkcs11/p11.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = (size_t)-1;
	int rc = p11_registry_parse((const char *)data, size, &n);

	/* Refused or not, every field counted was freed; a text cannot hold
	 * more fields than lines. */
	if ((rc != 0 && rc != -1) || n > size)
		abort();
	return 0;
}
