/* libFuzzer: PIN and passphrase files (size bound, newline stripping, NUL
 * bytes), read back from a private temporary file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/secret_file.h"

static void quiet(qsjwt_log_level level, const char *msg, void *ud)
{
	(void)level;
	(void)msg;
	(void)ud;
}

static char path[64];

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char *pin = NULL, why[SECRET_FILE_WHY_MAX];
	size_t len = 0;

	if (fd < 0) {
		qsjwt_log_set_handler(quiet, NULL);
		/* tmpfs where there is one: on a disk file system most of the
		 * time went to waiting for ftruncate, not to fuzzing. */
		snprintf(path, sizeof(path), "%s/qsjwt-fuzz-pin-XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		fd = mkstemp(path); /* mode 0600, as a PIN file must be */
		if (fd < 0)
			abort();
		atexit(remove_file);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (secret_file_read(path, "PIN file", &pin, &len, why, sizeof(why)) == QSJWT_OK) {
		if (len == 0 || len > SECRET_FILE_MAX || memchr(pin, '\0', len) != NULL ||
		    strlen(pin) != len)
			abort();
		qsjwt_secret_free(pin);
	}
	return 0;
}
