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
	route_fn fn;
};

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
