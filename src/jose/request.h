/* The fields of a QSEoW token request as JSON ({"userid", "userdir",
 * "username", "useremail", "groups", "expires", "audience"}): one --batch
 * line or one POST /v1/qseow body. */
#ifndef QSJWT_REQUEST_H
#define QSJWT_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <qsjwt/qsjwt.h>

/* The longest userid or userdir, as on the command line. */
#define REQUEST_MAX_VALUE (64 * 1024)

typedef struct {
	/* Borrowed from the parsed text (valid until qseow_request_release);
	 * NULL when absent. */
	const char *userid, *userdir, *username, *useremail, *expires, *audience;
	const char **groups; /* n_groups items; NULL when "groups" is absent */
	size_t n_groups;
	void *doc; /* the parsed JSON */
} qseow_request;

/*
 * Parse `len` bytes of `text` (one JSON object, trailing blanks allowed)
 * into *r. `what` names the text in messages ("line", "body"). NULL on
 * success (release *r with qseow_request_release), else the message for
 * the caller (free()) and *r needs no release: not UTF-8, a NUL, not an
 * object, an unknown or repeated field, a value of the wrong type, or
 * userid, userdir, username or useremail missing.
 */
char *qseow_request_parse(const char *text, size_t len, const char *what, qseow_request *r);
void qseow_request_release(qseow_request *r);

/*
 * The payload for request r issued at `iat`, with `def_expires` and
 * `def_audience` standing in for absent fields (either may be NULL: the
 * field is then required; `cli_hint` words that message for the command
 * line). NULL and *payload (caller frees), its length and *exp; or the
 * message (caller frees).
 */
char *qseow_request_payload(const qseow_request *r, const char *def_expires,
			    const char *def_audience, int cli_hint, int64_t iat, char **payload,
			    size_t *payload_len, int64_t *exp);

/* A Qlik Cloud token request ({"sub", "username", "useremail",
 * "useremail_verified", "groups", "expires", "issuer", "keyid"}): one
 * POST /v1/qscloud body. sub, expires, issuer and keyid are required; an
 * email comes with useremail_verified, as on create-qscloud's command line. */
typedef struct {
	const char *sub, *username, *useremail, *expires, *issuer, *keyid;
	int email_verified; /* -1: absent */
	const char **groups;
	size_t n_groups;
	void *doc;
} qscloud_request;

char *qscloud_request_parse(const char *text, size_t len, const char *what, qscloud_request *r);
void qscloud_request_release(qscloud_request *r);
/* The payload (qsjwt_qscloud_payload, as create-qscloud builds it) with
 * this `jti`, issued at `iat`. NULL, or the message (caller frees). */
char *qscloud_request_payload(const qscloud_request *r, const char *jti, int64_t iat,
			      char **payload, size_t *payload_len, int64_t *exp);

#endif
