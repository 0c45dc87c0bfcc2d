#include "serve/key.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool/pool.h"
#include "serve/state.h"
#include "util/log.h"

enum { K_OK, K_DOWN, K_FAILED };

/* Backoff between reconnection attempts: 0.5 s doubling up to 30 s. */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000

struct keyholder {
	pthread_rwlock_t use; /* read: a request signing; write: swapping the pool */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	int state, stopping, thread_started, stuck;
	char reason[256];
	qsjwt_signer *signer;
	pool *pool;
	unsigned jobs;
	/* keyholder_enter's places: a lock of their own, never held long (mu
	 * waits for `use` during a reconnection) */
	pthread_mutex_t adm_mu;
	unsigned admitted, limit;
	unsigned long long shed;
	struct timespec shed_logged;
	key_reopen_fn reopen;
	void *ud;
	pthread_t thread;
	char *what;
	unsigned relogins; /* reconnections that logged in again (metrics) */
	struct timespec last_probe;
};

/* How often /healthz may make a test signature (it costs one on the token). */
#define PROBE_EVERY_MS 1000

static void set_down(keyholder *k, int state, const char *reason)
{
	pthread_mutex_lock(&k->mu);
	if (k->state == K_OK || state == K_FAILED) {
		k->state = state;
		snprintf(k->reason, sizeof(k->reason), "%s", reason);
		pthread_cond_broadcast(&k->cv);
	}
	pthread_mutex_unlock(&k->mu);
}

/* Wait `ms` or until stopping; 1 when stopping. Lock held. */
static int pause_ms(keyholder *k, unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (!k->stopping && pthread_cond_timedwait(&k->cv, &k->mu, &t) != ETIMEDOUT)
		;
	return k->stopping;
}

/* Drop the old pool and signer; 0, or -1 when a call is stuck in the module
 * (nothing can be closed then). */
static int tear_down(keyholder *k)
{
	unsigned stuck = 0;

	pthread_rwlock_wrlock(&k->use);
	if (k->pool != NULL) {
		pool_cancel(k->pool);
		stuck = pool_drain(k->pool, 10);
	}
	if (stuck == 0) {
		pool_free(k->pool);
		qsjwt_signer_free(k->signer);
		k->pool = NULL;
		k->signer = NULL;
	}
	pthread_rwlock_unlock(&k->use);
	return stuck == 0 ? 0 : -1;
}

static void *reconnect(void *arg)
{
	keyholder *k = arg;
	unsigned backoff = BACKOFF_FIRST_MS;
	qsjwt_signer *s;
	pool *p;
	qsjwt_err rc;

	pthread_mutex_lock(&k->mu);
	while (!k->stopping) {
		if (k->state != K_DOWN) {
			pthread_cond_wait(&k->cv, &k->mu);
			backoff = BACKOFF_FIRST_MS;
			continue;
		}
		pthread_mutex_unlock(&k->mu);
		log_warn("the key cannot sign (%s): reconnecting", k->reason);
		if (tear_down(k) != 0) {
			pthread_mutex_lock(&k->mu);
			k->stuck = 1;
			k->state = K_FAILED;
			snprintf(k->reason, sizeof(k->reason),
				 "a signing call is stuck inside the PKCS#11 module: restart the "
				 "service");
			log_error("%s", k->reason);
			continue;
		}
		s = NULL;
		p = NULL;
		rc = k->reopen(k->ud, &s);
		if (rc == QSJWT_OK && pool_new(s, k->jobs, &p) != QSJWT_OK)
			rc = QSJWT_ERR_IO;
		pthread_mutex_lock(&k->mu);
		if (rc == QSJWT_OK) {
			pthread_rwlock_wrlock(&k->use);
			k->signer = s;
			k->pool = p;
			pthread_rwlock_unlock(&k->use);
			k->state = K_OK;
			k->reason[0] = '\0';
			k->relogins++;
			log_info("the key signs again (reconnected)");
			continue;
		}
		pool_free(p);
		qsjwt_signer_free(s);
		if (rc == QSJWT_ERR_LOGIN) {
			/* Trying again could lock the PIN. */
			k->state = K_FAILED;
			snprintf(k->reason, sizeof(k->reason),
				 "the token refused the login on reconnection: not retried (no PIN "
				 "lockout); fix the PIN and restart the service");
			log_error("%s", k->reason);
			continue;
		}
		snprintf(k->reason, sizeof(k->reason),
			 "the token is unavailable (%s); reconnecting", qsjwt_err_str(rc));
		log_warn("reconnection failed (%s); next try in %u ms", qsjwt_err_str(rc), backoff);
		if (pause_ms(k, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

qsjwt_err keyholder_new(qsjwt_signer *signer, unsigned jobs, unsigned queue, key_reopen_fn reopen,
			void *ud, keyholder **out)
{
	keyholder *k = calloc(1, sizeof(*k));
	pthread_condattr_t ca;
	qsjwt_err rc = QSJWT_ERR_NOMEM;

	if (k == NULL) {
		qsjwt_signer_free(signer);
		return rc;
	}
	pthread_rwlock_init(&k->use, NULL);
	pthread_mutex_init(&k->mu, NULL);
	pthread_mutex_init(&k->adm_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
	k->signer = signer;
	k->jobs = jobs;
	k->reopen = reopen;
	k->ud = ud;
	k->what = strdup(qsjwt_signer_describe(signer));
	rc = pool_new(signer, jobs, &k->pool);
	/* A reconnection asks for no more workers than the token gave. */
	if (rc == QSJWT_OK)
		k->jobs = pool_workers(k->pool);
	k->limit = k->jobs + queue;
	if (rc == QSJWT_OK && reopen != NULL) {
		if (pthread_create(&k->thread, NULL, reconnect, k) != 0)
			rc = QSJWT_ERR_NOMEM;
		else
			k->thread_started = 1;
	}
	if (rc != QSJWT_OK || k->what == NULL) {
		keyholder_free(k);
		return rc != QSJWT_OK ? rc : QSJWT_ERR_NOMEM;
	}
	*out = k;
	return QSJWT_OK;
}

unsigned keyholder_workers(const keyholder *k)
{
	return k->jobs;
}

qsjwt_err keyholder_sign(keyholder *k, qsjwt_alg alg, const char *kid, const char *payload,
			 size_t len, char **token,
			 const char **why)
{
	qsjwt_err rc;
	int state;

	pthread_rwlock_rdlock(&k->use);
	pthread_mutex_lock(&k->mu);
	state = k->state;
	pthread_mutex_unlock(&k->mu);
	if (state != K_OK || k->pool == NULL) {
		pthread_rwlock_unlock(&k->use);
		*why = "the token is unavailable; see /healthz";
		return QSJWT_ERR_IO;
	}
	rc = pool_sign(k->pool, alg, kid, payload, len, SERVE_SIGN_TIMEOUT_MS, token);
	pthread_rwlock_unlock(&k->use);
	if (rc == QSJWT_OK)
		return rc;
	if (rc == QSJWT_ERR_IO || rc == QSJWT_ERR_INTERRUPTED) {
		/* The device or its connection failed, or it did not answer. */
		*why = "the token is unavailable; see /healthz";
		if (k->reopen != NULL)
			set_down(k, K_DOWN,
				 rc == QSJWT_ERR_IO
				     ? "the token failed to sign (device or connection)"
				     : "the token did not sign in time");
		return QSJWT_ERR_IO;
	}
	*why = "the key failed to sign";
	return rc;
}

/* How often a service that sheds says so in its log (a line per shed
 * request would flood it exactly when it is overloaded). */
#define SHED_LOG_EVERY_S 10

int keyholder_enter(keyholder *k)
{
	struct timespec now;
	unsigned long long shed = 0;
	int ok;

	pthread_mutex_lock(&k->adm_mu);
	ok = k->admitted < k->limit;
	if (ok) {
		k->admitted++;
	} else {
		k->shed++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (k->shed == 1 || now.tv_sec - k->shed_logged.tv_sec >= SHED_LOG_EVERY_S) {
			k->shed_logged = now;
			shed = k->shed;
		}
	}
	pthread_mutex_unlock(&k->adm_mu);
	if (shed > 0)
		log_warn("overloaded: %llu token request%s shed with 503 so far (%u signing or "
			 "waiting at once at most: --jobs %u, --queue %u)",
			 shed, shed == 1 ? "" : "s", k->limit, k->jobs, k->limit - k->jobs);
	return ok;
}

void keyholder_leave(keyholder *k)
{
	pthread_mutex_lock(&k->adm_mu);
	if (k->admitted > 0)
		k->admitted--;
	pthread_mutex_unlock(&k->adm_mu);
}

void keyholder_load(keyholder *k, unsigned *in_use, unsigned *limit)
{
	pthread_mutex_lock(&k->adm_mu);
	*in_use = k->admitted;
	*limit = k->limit;
	pthread_mutex_unlock(&k->adm_mu);
}

int keyholder_healthy(keyholder *k, char *buf, size_t size)
{
	struct timespec now;
	int ok, probe;

	/* "Can sign now" is known by signing: a token that went away while
	 * nobody asked shows here, and the reconnection starts. At most once
	 * a second, so /healthz cannot load the token. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&k->mu);
	probe = k->state == K_OK &&
		(now.tv_sec - k->last_probe.tv_sec) * 1000 +
				(now.tv_nsec - k->last_probe.tv_nsec) / 1000000 >=
			PROBE_EVERY_MS;
	if (probe)
		k->last_probe = now;
	pthread_mutex_unlock(&k->mu);
	if (probe) {
		static const char payload[] = "{\"healthz\":true}";
		char *token = NULL;
		const char *why = NULL;
		(void)keyholder_sign(k, QSJWT_RS256, NULL, payload, sizeof(payload) - 1, &token, &why);
		qsjwt_secret_free(token);
	}
	pthread_mutex_lock(&k->mu);
	ok = k->state == K_OK;
	if (!ok)
		snprintf(buf, size, "%s", k->reason);
	pthread_mutex_unlock(&k->mu);
	return ok;
}

const char *keyholder_describe(keyholder *k)
{
	return k->what;
}

unsigned keyholder_stop(keyholder *k, unsigned grace_seconds)
{
	unsigned stuck = 0;

	if (k == NULL)
		return 0;
	pthread_mutex_lock(&k->mu);
	k->stopping = 1;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	if (k->thread_started) {
		pthread_join(k->thread, NULL);
		k->thread_started = 0;
	}
	if (k->stuck)
		return 1;
	if (k->pool != NULL) {
		pool_cancel(k->pool);
		stuck = pool_drain(k->pool, grace_seconds);
	}
	if (stuck > 0)
		k->stuck = 1;
	return stuck;
}

void keyholder_free(keyholder *k)
{
	if (k == NULL)
		return;
	(void)keyholder_stop(k, 10);
	if (!k->stuck) {
		pool_free(k->pool);
		qsjwt_signer_free(k->signer);
	}
	pthread_rwlock_destroy(&k->use);
	pthread_mutex_destroy(&k->mu);
	pthread_mutex_destroy(&k->adm_mu);
	pthread_cond_destroy(&k->cv);
	free(k->what);
	free(k);
}

unsigned keyholder_relogins(keyholder *k)
{
	unsigned n;

	pthread_mutex_lock(&k->mu);
	n = k->relogins;
	pthread_mutex_unlock(&k->mu);
	return n;
}
