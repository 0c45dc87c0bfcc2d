/* Secrets read from files: PIN files, key passphrase files, a PKCS#11 URI's
 * pin-source. */
#ifndef QSJWT_SECRET_FILE_H
#define QSJWT_SECRET_FILE_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

/* Largest secret file we read. */
#define SECRET_FILE_MAX 4096

/* Room for any message of secret_file_read (a path, twice, and the fix). */
#define SECRET_FILE_WHY_MAX 9000

/*
 * Read a secret from `path`. Refused with QSJWT_ERR_INVALID: a file readable
 * by group or others (the secret is exposed: fix the mode first), an empty
 * file or value, a NUL byte. QSJWT_ERR_IO: a file that cannot be opened or
 * read, a directory, more than SECRET_FILE_MAX bytes. Exactly one trailing
 * "\n" or "\r\n" is stripped. *out is NUL-terminated: free it with
 * qsjwt_secret_free().
 *
 * Nothing is logged: on a failure why (why_size bytes, SECRET_FILE_WHY_MAX
 * is enough) gets the one message, "WHAT 'PATH' ..." with the fix where there
 * is one, never the secret. The caller reports it once in its own format:
 * the CLI as an error naming its option, the library through the log.
 */
qsjwt_err secret_file_read(const char *path, const char *what, char **out, size_t *len_out,
			   char *why, size_t why_size);

#endif
