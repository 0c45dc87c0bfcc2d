/*
 * The signing pool: N workers signing with one key and one login, for
 * --batch and qs-jwt serve. Each worker has its own signer (a signing
 * context for a file key, a session on the token for a token key, all
 * sharing the one login: qsjwt_signer_session). Every signature is verified
 * with the key's public half before a token leaves a worker
 * (qsjwt_jwt_sign).
 *
 * Jobs are taken in the order they were queued. A job's callbacks run on
 * the worker's thread without the pool's lock, so they may take the
 * submitter's own lock (which may be held while calling pool_submit or
 * pool_cancel).
 */
#ifndef QSJWT_POOL_H
#define QSJWT_POOL_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

/* How long one signing call may take before its caller gives up on it: a
 * healthy token answers in well under a second even for RSA-4096 on a
 * smartcard; a module whose token or connection hangs may never answer.
 * serve answers 503 after it, --batch stops (docs/reliability.md). */
#define POOL_SIGN_TIMEOUT_SECONDS 30

typedef struct pool pool;
typedef struct pool_job pool_job;

struct pool_job {
	qsjwt_alg alg;
	const char *kid;     /* header "kid" (NULL: none); borrowed until done() */
	const char *payload; /* borrowed until done() */
	size_t payload_len;
	char *token;  /* set before done(): a secret, the owner frees it
		       * with qsjwt_secret_free() */
	qsjwt_err rc; /* set before done() */
	/* Before signing: non-zero skips the job (done() is not called). May
	 * be NULL. */
	int (*start)(pool_job *j);
	/* After signing, with token and rc set. */
	void (*done)(pool_job *j);
	void *ctx;	/* the owner's */
	pool_job *next; /* the pool's */
};

/*
 * A pool of `jobs` workers over `signer` (borrowed; it must outlive the
 * pool). Every worker's signer is made before this returns, so a token
 * that cannot give a session per worker fails here, before anything is
 * signed. A token that opens fewer sessions (CKR_SESSION_COUNT) gets fewer
 * workers, with a warning (pool_workers says how many); one that opens
 * none for a worker fails with QSJWT_ERR_SESSIONS.
 */
qsjwt_err pool_new(qsjwt_signer *signer, unsigned jobs, pool **out);

/* How many workers the pool has. */
unsigned pool_workers(const pool *p);

/* Queue j (borrowed until done() or until it is skipped or dropped).
 * QSJWT_ERR_INTERRUPTED when the pool is cancelled: j is not queued. */
qsjwt_err pool_submit(pool *p, pool_job *j);

/*
 * Sign `payload` on a worker and wait for it, at most `timeout_ms`
 * milliseconds (0: no limit). The token (secret, qsjwt_secret_free) in
 * *token_out; the signing error; or QSJWT_ERR_INTERRUPTED when the pool
 * is cancelled or the time ran out (the worker then throws the token away
 * when it returns).
 */
qsjwt_err pool_sign(pool *p, qsjwt_alg alg, const char *kid, const char *payload,
		    size_t payload_len, unsigned timeout_ms, char **token_out);

/* Stop taking jobs: the queued ones are dropped without a call to their
 * callbacks; a signing call under way finishes. Thread-safe. */
void pool_cancel(pool *p);

/*
 * Wait until no job is queued or being signed. Once the pool is cancelled,
 * a signing call still inside the module gets `grace_seconds`: the result
 * is the number of workers still inside one then (0 when all returned).
 * When it is not 0, the pool and its signer must not be touched again (a
 * module whose connection broke may never return: p11-kit-client.so
 * 0.24.1 leaves its other callers waiting forever when the p11-kit server
 * dies while several threads share the connection).
 */
unsigned pool_drain(pool *p, unsigned grace_seconds);

/* Cancel, join the workers and free their signers. Only after pool_drain
 * returned 0 (or when nothing was ever queued). pool_free(NULL) is a no-op. */
void pool_free(pool *p);

#endif
