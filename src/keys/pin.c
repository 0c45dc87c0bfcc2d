#include "keys/pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"
#include "util/secret.h"

qsjwt_err secret_file_read(const char *path, const char *what, char **out, size_t *len_out)
{
	qsjwt_err rc;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int fd;

	fd = file_open_read(path, what);
	if (fd < 0)
		return QSJWT_ERR_IO;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH))) {
		log_error("%s '%s' is readable by other users (mode %04o); make it private "
			  "first: chmod 600 '%s'",
			  what, path, (unsigned)(st.st_mode & 07777), path);
		rc = QSJWT_ERR_INVALID;
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
		/* The same answer as a file holding only a newline. */
		log_error("%s '%s' is empty", what, path);
		rc = QSJWT_ERR_INVALID;
		goto out;
	}
	rc = file_read_fd_bounded(fd, path, SECRET_FILE_MAX, what, &buf, &len, &cap);
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
		log_error("%s '%s' holds an empty value", what, path);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		log_error("%s '%s' holds a NUL byte", what, path);
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
