/* create-qseow --batch: many tokens in one process, one login. */
#ifndef QSJWT_BATCH_H
#define QSJWT_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <qsjwt/qsjwt.h>

typedef struct {
	const char *input;    /* file, or "-" for standard input */
	const char *expires;  /* --expires: default for lines without one (may be NULL) */
	const char *audience; /* --audience: likewise */
	qsjwt_alg alg;
	unsigned jobs;        /* signing workers, >= 1 */
} batch_opts;

/*
 * Issue one token per JSON line of o->input ({"userid", "userdir",
 * "username", "useremail", "groups", "expires", "audience"}), writing
 * {"line":N,"userid":…,"userdir":…,"token":…} or {"line":N,"error":…} lines to
 * stdout in input order. Returns the exit code: 0 when every line was
 * issued, 1 otherwise (a summary is logged).
 */
int batch_run(const batch_opts *o, qsjwt_signer *signer);

/* One input line (without its newline) as batch_run reads it: NULL and the
 * payload JSON (caller frees), or the error message for the output line
 * (caller frees). For tests and fuzzing. */
char *batch_parse_line(const batch_opts *o, const char *text, size_t len, int64_t iat,
		       char **payload, size_t *payload_len);

#endif
