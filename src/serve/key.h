/*
 * The service's key: the signing pool over it, whether it can sign now, and
 * the reconnection when the token goes away (device removed, HSM restarted,
 * p11-kit server gone): sessions reopened, a new login, the key found again
 * by its URI, with backoff. A login the token refuses stops the retries (no
 * PIN lockout); requests get 503 with the reason meanwhile.
 */
#ifndef QSJWT_SERVE_KEY_H
#define QSJWT_SERVE_KEY_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

/* A fresh signer over the same key (a new module load and login), for the
 * reconnection. */
typedef qsjwt_err (*key_reopen_fn)(void *ud, qsjwt_signer **out);

typedef struct keyholder keyholder;

/*
 * Take over `signer` (freed by keyholder_free, even on failure) and start
 * `jobs` workers, with room for `queue` more requests waiting for one
 * (keyholder_enter). `reopen` (NULL for keys that cannot go away: key
 * files) makes the next signer after a device failure.
 */
qsjwt_err keyholder_new(qsjwt_signer *signer, unsigned jobs, unsigned queue, key_reopen_fn reopen,
			void *ud, keyholder **out);

/*
 * Load shedding (docs/serve-production.md, "Under overload"): a request
 * takes one of jobs + queue places before it signs, and gives it back
 * after. 1 when it got one; 0 when all are taken: the request is answered
 * 503 at once instead of waiting. The /healthz probe takes none.
 */
int keyholder_enter(keyholder *k);
void keyholder_leave(keyholder *k);

/* The places taken now, and how many there are. */
void keyholder_load(keyholder *k, unsigned *in_use, unsigned *limit);

/* How many workers sign: `jobs`, or fewer when the token opens fewer
 * sessions (pool_new). */
unsigned keyholder_workers(const keyholder *k);

/*
 * Sign on a worker (the token verified). QSJWT_ERR_IO with *why (static)
 * when the key cannot sign now: the token is away, or this signature failed
 * on the device (the reconnection then starts).
 */
qsjwt_err keyholder_sign(keyholder *k, qsjwt_alg alg, const char *kid, const char *payload,
			 size_t len, char **token,
			 const char **why);

/* Whether the key can sign now (a test signature, at most once a second):
 * 1, or 0 with the reason in buf. */
int keyholder_healthy(keyholder *k, char *buf, size_t size);

/* How many reconnections logged in again since the start. */
unsigned keyholder_relogins(keyholder *k);

/* The signer now in use, for the certificate route; borrowed, call under
 * no lock: only for reading what never changes (the public key). */
const char *keyholder_describe(keyholder *k);

/* Stop the workers and the reconnection: 0, or how many signing calls are
 * still inside the module after `grace_seconds` (then do not free). */
unsigned keyholder_stop(keyholder *k, unsigned grace_seconds);
void keyholder_free(keyholder *k);

#endif
