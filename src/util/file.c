#include "util/file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"
#include "util/log.h"
#include "util/secret.h"

#define FILE_SET_MAX 8

static void format_size(size_t n, char *buf, size_t size)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(buf, size, "%zu MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, size, "%zu KiB", n / 1024);
	else
		snprintf(buf, size, "%zu bytes", n);
}

/* One message: into why when the caller reports it itself, else the log. */
static void report(char *why, size_t why_size, const char *fmt, ...) QSJWT_PRINTF(3, 4);
static void report(char *why, size_t why_size, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	if (why != NULL)
		vsnprintf(why, why_size, fmt, ap);
	else
		vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (why == NULL)
		log_error("%s", msg);
}

qsjwt_err file_read_fd_bounded_why(int fd, const char *name, size_t max, const char *what,
				   unsigned char **out, size_t *len_out, size_t *cap_out,
				   char *why, size_t why_size)
{
	qsjwt_err rc = QSJWT_ERR_IO;
	size_t cap = max + 2, len = 0;
	unsigned char *buf = NULL;
	struct stat st;
	char size[32];

	if (fstat(fd, &st) != 0) {
		report(why, why_size, "cannot read %s '%s': %s", what, name, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		report(why, why_size, "cannot read %s '%s': it is a directory, not a file", what,
		       name);
		goto out;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		rc = QSJWT_ERR_NOMEM;
		report(why, why_size, "cannot read %s '%s': out of memory", what, name);
		goto out;
	}
	while (len < max + 1) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			report(why, why_size, "cannot read %s '%s': %s", what, name,
			       strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		format_size(max, size, sizeof(size));
		report(why, why_size, "%s '%s' is larger than %s; refusing to read it", what, name,
		       size);
		goto out;
	}
	if (len == 0) {
		report(why, why_size, "%s '%s' is empty", what, name);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	if (cap_out != NULL)
		*cap_out = cap;
	buf = NULL;
	rc = QSJWT_OK;
out:
	secret_free_n(buf, cap);
	return rc;
}

qsjwt_err file_read_fd_bounded(int fd, const char *name, size_t max, const char *what,
			       unsigned char **out, size_t *len_out, size_t *cap_out)
{
	return file_read_fd_bounded_why(fd, name, max, what, out, len_out, cap_out, NULL, 0);
}

int file_open_read(const char *path, const char *what)
{
	int fd = plat_open_read(path);

	if (fd < 0)
		log_error("cannot read %s '%s': %s", what, path, strerror(errno));
	return fd;
}

qsjwt_err file_read_bounded(const char *path, size_t max, const char *what,
			    unsigned char **out, size_t *len_out, size_t *cap_out)
{
	qsjwt_err rc;
	int fd;

	if (strcmp(path, "-") == 0)
		return file_read_fd_bounded(STDIN_FILENO, "(stdin)", max, what, out, len_out,
					    cap_out);
	fd = file_open_read(path, what);
	if (fd < 0)
		return QSJWT_ERR_IO;
	rc = file_read_fd_bounded(fd, path, max, what, out, len_out, cap_out);
	close(fd);
	return rc;
}

struct file_entry {
	char *final;
	char *tmp;
	int fd;
	int placed; /* moved into place */
};

struct file_set {
	struct file_entry e[FILE_SET_MAX];
	size_t n;
};

qsjwt_err file_set_new(file_set **out)
{
	file_set *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return QSJWT_ERR_NOMEM;
	*out = f;
	return QSJWT_OK;
}

/* The directory part of path ("." when there is none); caller frees. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	char *d;

	if (slash == NULL)
		return strdup(".");
	n = slash == path ? 1 : (size_t)(slash - path);
	d = malloc(n + 1);
	if (d == NULL)
		return NULL;
	memcpy(d, path, n);
	d[n] = '\0';
	return d;
}

qsjwt_err file_set_check(const char *path, int overwrite)
{
	qsjwt_err rc = QSJWT_ERR_IO;
	char *dir = dir_of(path);
	int kind;

	if (dir == NULL) {
		log_error("cannot write '%s': out of memory", path);
		return QSJWT_ERR_NOMEM;
	}
	kind = plat_path_is_dir(dir, 1);
	if (kind < 0) {
		log_error("cannot write '%s': directory '%s': %s", path, dir, strerror(errno));
		goto out;
	}
	if (kind == 0) {
		log_error("cannot write '%s': '%s' is not a directory", path, dir);
		goto out;
	}
	if (plat_dir_writable(dir) != 0) {
		log_error("cannot write '%s': directory '%s': %s", path, dir, strerror(errno));
		goto out;
	}
	kind = plat_path_is_dir(path, 0);
	if (kind >= 0) {
		if (kind == 1) {
			log_error("cannot write '%s': it is a directory", path);
			goto out;
		}
		if (!overwrite) {
			log_error("'%s' exists already; not overwriting it (--force replaces it)",
				  path);
			rc = QSJWT_ERR_EXISTS;
			goto out;
		}
	} else if (errno != ENOENT) {
		log_error("cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = QSJWT_OK;
out:
	free(dir);
	return rc;
}

qsjwt_err file_set_add(file_set *f, const char *path, unsigned mode, size_t *idx_out)
{
	struct file_entry *e;
	size_t n = strlen(path);

	if (f->n == FILE_SET_MAX) {
		log_error("cannot create '%s': a set holds at most %d files", path, FILE_SET_MAX);
		return QSJWT_ERR_INVALID;
	}
	e = &f->e[f->n];
	e->fd = -1;
	e->final = strdup(path);
	e->tmp = malloc(n + sizeof(".tmp-XXXXXX"));
	if (e->final == NULL || e->tmp == NULL) {
		log_error("cannot create '%s': out of memory", path);
		free(e->final);
		free(e->tmp);
		return QSJWT_ERR_NOMEM;
	}
	memcpy(e->tmp, path, n);
	memcpy(e->tmp + n, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
	/* Never an existing file, owner-only until the mode is set. */
	e->fd = plat_create_private(e->tmp, mode);
	if (e->fd < 0) {
		log_error("cannot create '%s': %s", path, strerror(errno));
		free(e->final);
		free(e->tmp);
		return QSJWT_ERR_IO;
	}
	f->n++;
	*idx_out = f->n - 1;
	return QSJWT_OK;
}

qsjwt_err file_set_write(file_set *f, size_t idx, const void *data, size_t len)
{
	const char *p = data;
	struct file_entry *e;

	if (idx >= f->n) {
		log_error("cannot write file %zu of a set of %zu", idx, f->n);
		return QSJWT_ERR_INVALID;
	}
	e = &f->e[idx];
	while (len > 0) {
		ssize_t n = write(e->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("cannot write '%s': %s", e->final, strerror(errno));
			return QSJWT_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return QSJWT_OK;
}

qsjwt_err file_set_commit(file_set *f, int overwrite)
{
	qsjwt_err rc = QSJWT_ERR_IO;
	size_t i;

	for (i = 0; i < f->n; i++) {
		struct file_entry *e = &f->e[i];
		if (plat_fsync(e->fd) != 0 || close(e->fd) != 0) {
			e->fd = -1;
			log_error("cannot write '%s': %s", e->final, strerror(errno));
			goto out;
		}
		e->fd = -1;
	}
	for (i = 0; i < f->n; i++) {
		struct file_entry *e = &f->e[i];
		/* Without overwrite, a file that appeared since the check is
		 * never replaced (EEXIST). */
		int r = plat_place(e->tmp, e->final, overwrite);
		if (r != 0 && errno == EEXIST) {
			log_error("'%s' appeared while it was being made; not overwriting it",
				  e->final);
			rc = QSJWT_ERR_EXISTS;
			goto out;
		}
		if (r != 0) {
			log_error("cannot create '%s': %s", e->final, strerror(errno));
			goto out;
		}
		e->placed = 1;
	}
	if (f->n > 0)
		plat_sync_dir_of(f->e[0].final);
	rc = QSJWT_OK;
out:
	if (rc != QSJWT_OK) {
		/* All or nothing: take back what was moved. With overwrite the old
		 * file is gone already; removing the new one is still better than
		 * leaving a mismatched set. */
		for (i = 0; i < f->n; i++) {
			if (f->e[i].placed) {
				(void)plat_unlink(f->e[i].final);
				f->e[i].placed = 0;
			}
		}
	}
	return rc;
}

void file_set_free(file_set *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		struct file_entry *e = &f->e[i];
		if (e->fd >= 0)
			close(e->fd);
		/* Already gone after a commit. */
		(void)plat_unlink(e->tmp);
		free(e->final);
		free(e->tmp);
	}
	free(f);
}
