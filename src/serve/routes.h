/* The service's routes: what each answers, every decision audited. */
#ifndef QSJWT_SERVE_ROUTES_H
#define QSJWT_SERVE_ROUTES_H

#include <stddef.h>

#include "serve/state.h"

typedef struct {
	int status;
	char *body;	   /* JSON (or PEM), malloc'ed */
	int secret;	   /* body holds a token: wiped when freed */
	const char *allow; /* 405: the Allow header */
	int retry_after;   /* seconds for a Retry-After header; 0: none */
	const char *content_type;
} reply;

typedef struct route route;
typedef void (*route_fn)(serve_state *st, const serve_caller *c, const char *body, size_t len,
			 reply *out);
struct route {
	const char *path, *method;
	int has_body; /* a JSON body is required */
	int audited;  /* decisions about tokens: every answer is audited */
	int token;    /* 1 /v1/qseow, 2 /v1/qscloud: route_token_*; 0 other */
	route_fn fn;  /* the whole answer (a token route's waits for the signature) */
};

/*
 * A token route in three steps, so that the wait for a signature need not
 * hold the thread that reads connections: begin (the checks, 1 when a
 * signing place is taken and the request must be signed, 0 when it is
 * decided), sign (waits for the signature, at most
 * POOL_SIGN_TIMEOUT_SECONDS; any thread), end (the audit line and the
 * answer; frees w, NULL included: out of memory).
 */
typedef struct token_work token_work;
int route_token_begin(serve_state *st, const serve_caller *c, const route *r, const char *body,
		      size_t len, token_work **w);
void route_token_sign(token_work *w);
void route_token_end(token_work *w, reply *out);

/* The route for `path`, or NULL (404). */
const route *route_find(const char *path);

/*
 * An answer `status` {"error": msg} for a request on `path` (a route, or
 * NULL: unknown) refused before its handler ran; audited when the path is
 * an audited route or unknown. An audit failure turns the answer into 503.
 */
void route_refuse(serve_state *st, const serve_caller *c, const route *r, int status,
		  const char *msg, reply *out);

#define ROUTE_UNKNOWN_CALLER "unknown caller: no policy client matches it"
/* The answer (503, Retry-After: 1) of a request shed under overload. */
#define ROUTE_OVERLOADED "overloaded: every signing worker is busy and the queue is full; try again"

/* Whether a policy client matches caller c. */
int route_caller_known(serve_state *st, const serve_caller *c);

/* {"error": msg} with `status` (no audit). */
void reply_error(reply *out, int status, const char *msg);
void reply_release(reply *r);

#endif
