/* Bounded reads and all-or-nothing writes of files. */
#ifndef QSJWT_FILE_H
#define QSJWT_FILE_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

/*
 * Read a whole file ("-" = standard input) of at most `max` bytes. Reading
 * stops after max + 1 bytes, so an endless source (/dev/zero) is refused
 * rather than read forever; a FIFO without a writer reads as empty instead of
 * blocking at open. Directories, empty files and larger files are refused
 * with a message naming `what` and the path. *out is NUL-terminated and the
 * caller's: wipe it (secret_free_n(*out, max + 1)) when it held a secret --
 * *cap_out tells the allocated size for that.
 */
qsjwt_err file_read_bounded(const char *path, size_t max, const char *what,
			    unsigned char **out, size_t *len_out, size_t *cap_out);

/* Open a file for reading without blocking on a FIFO that has no writer
 * (reads then see end of file). -1 after reporting the error. */
int file_open_read(const char *path, const char *what);

/* The same on an open descriptor; `name` is used in messages. */
qsjwt_err file_read_fd_bounded(int fd, const char *name, size_t max, const char *what,
			       unsigned char **out, size_t *len_out, size_t *cap_out);
/* The same, with the one message written to why (why_size bytes) instead of
 * the log, for a caller that reports it in its own format. */
qsjwt_err file_read_fd_bounded_why(int fd, const char *name, size_t max, const char *what,
				   unsigned char **out, size_t *len_out, size_t *cap_out,
				   char *why, size_t why_size);

/*
 * A set of new files that appear together or not at all: each is written to
 * a temporary name in its target directory; file_set_commit() moves them into
 * place; file_set_free() removes every temporary that was not moved.
 */
typedef struct file_set file_set;

qsjwt_err file_set_new(file_set **out);
/* QSJWT_ERR_IO if the directory of `path` does not exist or cannot be written,
 * or `path` is a directory; QSJWT_ERR_EXISTS if it exists (unless overwrite). */
qsjwt_err file_set_check(const char *path, int overwrite);
/* Create the temporary for `path` (mode is masked by the umask). */
qsjwt_err file_set_add(file_set *f, const char *path, unsigned mode, size_t *idx_out);
qsjwt_err file_set_write(file_set *f, size_t idx, const void *data, size_t len);
/* fsync and move every file into place. Without overwrite, an existing target
 * is never replaced; if any move fails, the files already moved are removed. */
qsjwt_err file_set_commit(file_set *f, int overwrite);
void file_set_free(file_set *f);

#endif
