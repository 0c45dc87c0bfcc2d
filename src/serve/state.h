/* What the serve modules share: the key's pool, the policy in force, the
 * audit log. */
#ifndef QSJWT_SERVE_STATE_H
#define QSJWT_SERVE_STATE_H

#include <pthread.h>

#include <qsjwt/qsjwt.h>

#include "serve/audit.h"
#include "serve/key.h"
#include "serve/metrics.h"
#include "serve/policy.h"
#include "pool/pool.h"

/* How long a request waits for a signature before it gets 503. */
#define SERVE_SIGN_TIMEOUT_MS (POOL_SIGN_TIMEOUT_SECONDS * 1000)
/* The largest request body (413 above it). */
#define SERVE_MAX_BODY (64 * 1024)

typedef struct {
	keyholder *key;
	char *cert_pem; /* GET /v1/certificate; NULL: none */
	qsjwt_alg alg;
	audit *audit;
	pthread_mutex_t policy_mu;
	policy *policy; /* swapped on reload; take a reference under policy_mu */
	const char *policy_path;
	metrics *metrics; /* GET /metrics */
} serve_state;

/* The policy in force, with a reference the caller drops (policy_unref). */
policy *state_policy(serve_state *st);

#endif
