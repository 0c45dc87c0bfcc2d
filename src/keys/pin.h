/* Secrets read from files: PINs and key passphrases. */
#ifndef QSJWT_PIN_H
#define QSJWT_PIN_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

/* Largest secret file we read. */
#define SECRET_FILE_MAX 4096

/*
 * Read a secret from `path`. Refused: a file readable by group or others
 * (QSJWT_ERR_INVALID: the secret is exposed, fix the mode first), an empty
 * value, a NUL byte, more than SECRET_FILE_MAX bytes. Exactly one trailing
 * "\n" or "\r\n" is stripped. `what` names the secret in messages ("PIN
 * file"). *out is NUL-terminated: free it with qsjwt_secret_free().
 */
qsjwt_err secret_file_read(const char *path, const char *what, char **out, size_t *len_out);

#endif
