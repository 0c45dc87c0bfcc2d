/*
 * The audit trail of qs-jwt serve: one JSON line per decision, appended to a
 * file and/or sent to syslog (the line format is in docs/serve-policy.md).
 * The line never holds a token, a PIN or key material: a token is shown by
 * its SHA-256 only.
 */
#ifndef QSJWT_SERVE_AUDIT_H
#define QSJWT_SERVE_AUDIT_H

#include <stdint.h>

#include "serve/policy.h"

typedef struct audit audit;

/*
 * Open the audit log. `path` (may be NULL: no file) is opened with
 * O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0600 when created; an existing
 * file that is not a regular file, or that group or others may read or
 * write, is refused. `use_syslog`: also send each line to syslog
 * (LOG_AUTHPRIV|LOG_INFO). On failure NULL and *err gets a message (the
 * caller frees it). Release with audit_close().
 */
audit *audit_open(const char *path, int use_syslog, char **err);

/* One decision. Every pointer is borrowed. */
typedef struct {
	int64_t time; /* unix seconds */
	const serve_caller *caller;
	const char *client;	  /* policy client name or NULL */
	const char *route;	  /* "/v1/qseow" ... */
	const serve_request *req; /* may be NULL (bad request) */
	int allowed;
	const char *reason; /* why denied / failed, NULL when allowed */
	int status;
	int64_t exp;		  /* 0 when no token */
	const char *token_sha256; /* hex, NULL when no token */
} audit_record;

/*
 * Write the line for `r`: 0 when the whole line went to the file in one
 * write(2) (and to syslog when asked). Otherwise nonzero and *err gets a
 * message (the caller frees it); the caller must then not issue the token.
 * Thread-safe: one write(2) on an O_APPEND descriptor never interleaves.
 */
int audit_write(audit *a, const audit_record *r, char **err);

/* Close the log; audit_close(NULL) does nothing. */
void audit_close(audit *a);

#endif
