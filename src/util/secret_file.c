#include "util/secret_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"
#include "util/file.h"
#include "util/secret.h"

#define PATH_FIX_MAX 4200

qsjwt_err secret_file_read(const char *path, const char *what, char **out, size_t *len_out,
			   char *why, size_t why_size)
{
	qsjwt_err rc;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	char mode[160], fix[PATH_FIX_MAX];
	int fd;

	fd = plat_open_read(path);
	if (fd < 0) {
		snprintf(why, why_size, "cannot read %s '%s': %s", what, path, strerror(errno));
		return QSJWT_ERR_IO;
	}
	if (plat_file_readable_by_others(fd, path, mode, sizeof(mode), fix, sizeof(fix)) == 1) {
		snprintf(why, why_size,
			 "%s '%s' is readable by other users (%s); make it private first: %s", what,
			 path, mode, fix);
		rc = QSJWT_ERR_INVALID;
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
		/* The same answer as a file holding only a newline. */
		snprintf(why, why_size, "%s '%s' is empty", what, path);
		rc = QSJWT_ERR_INVALID;
		goto out;
	}
	rc = file_read_fd_bounded_why(fd, path, SECRET_FILE_MAX, what, &buf, &len, &cap, why,
				      why_size);
	if (rc != QSJWT_OK)
		goto out;
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
		buf[len] = '\0';
	}
	rc = QSJWT_ERR_INVALID;
	if (len == 0) {
		snprintf(why, why_size, "%s '%s' holds an empty value", what, path);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, why_size, "%s '%s' holds a NUL byte", what, path);
		goto out;
	}
	*out = (char *)buf;
	*len_out = len;
	buf = NULL;
	rc = QSJWT_OK;
out:
	secret_free_n(buf, cap);
	close(fd);
	return rc;
}
