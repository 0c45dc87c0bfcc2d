#include "pool/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

typedef struct {
	pool *p;
	qsjwt_signer *signer;
	pthread_t thread;
	int started;
} worker;

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_idle; /* cv_idle on CLOCK_MONOTONIC */
	pool_job *head, *tail;
	unsigned busy; /* workers inside a job */
	int cancelled, shutdown;
	unsigned n;
	worker *w;
};

static void *work(void *arg)
{
	worker *w = arg;
	pool *p = w->p;
	pool_job *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->shutdown && p->head == NULL)
			pthread_cond_wait(&p->cv_work, &p->mu);
		if (p->head == NULL)
			break;
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		j->next = NULL;
		p->busy++;
		pthread_mutex_unlock(&p->mu);
		if (j->start == NULL || j->start(j) == 0) {
			j->token = NULL;
			/* Signed and verified against the public key. */
			j->rc = qsjwt_jwt_sign_kid(w->signer, j->alg, j->kid, j->payload,
						   j->payload_len, &j->token);
			j->done(j);
		}
		pthread_mutex_lock(&p->mu);
		p->busy--;
		if (p->busy == 0 && p->head == NULL)
			pthread_cond_broadcast(&p->cv_idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

qsjwt_err pool_new(qsjwt_signer *signer, unsigned jobs, pool **out)
{
	pthread_condattr_t ca;
	qsjwt_err rc = QSJWT_ERR_NOMEM;
	pool *p = calloc(1, sizeof(*p));
	unsigned i;

	if (p == NULL || jobs == 0)
		goto fail;
	p->w = calloc(jobs, sizeof(*p->w));
	if (p->w == NULL)
		goto fail;
	p->n = jobs;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv_idle, &ca);
	pthread_condattr_destroy(&ca);
	/* Every worker's session before the first job. */
	for (i = 0; i < jobs; i++) {
		p->w[i].p = p;
		rc = qsjwt_signer_session(signer, &p->w[i].signer);
		if (rc == QSJWT_ERR_SESSIONS && i > 0) {
			/* A card or HSM partition with few sessions, or one whose
			 * other sessions are in use: fewer workers sign the same
			 * tokens, more slowly. */
			log_warn("%s: the token opens no more sessions (CKR_SESSION_COUNT); signing "
				 "with %u worker%s instead of %u",
				 qsjwt_signer_describe(signer), i, i == 1 ? "" : "s", jobs);
			p->n = jobs = i;
			break;
		}
		if (rc == QSJWT_ERR_SESSIONS)
			log_error("%s: the token opens no session for a signing worker beside the "
				  "one that logged in (CKR_SESSION_COUNT); close the other sessions "
				  "on it (other programs using the token) and run again",
				  qsjwt_signer_describe(signer));
		if (rc != QSJWT_OK)
			goto fail;
	}
	for (i = 0; i < jobs; i++) {
		if (pthread_create(&p->w[i].thread, NULL, work, &p->w[i]) != 0) {
			rc = QSJWT_ERR_NOMEM;
			goto fail;
		}
		p->w[i].started = 1;
	}
	*out = p;
	return QSJWT_OK;
fail:
	pool_free(p);
	return rc;
}

unsigned pool_workers(const pool *p)
{
	return p->n;
}

qsjwt_err pool_submit(pool *p, pool_job *j)
{
	qsjwt_err rc = QSJWT_OK;

	pthread_mutex_lock(&p->mu);
	if (p->cancelled) {
		rc = QSJWT_ERR_INTERRUPTED;
		goto out;
	}
	j->next = NULL;
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cv_work);
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* One pool_sign call. Freed by whoever lets go of it last: the caller,
 * or the worker when the caller stopped waiting. */
typedef struct {
	pool_job job;
	pthread_mutex_t *mu; /* the pool's */
	pthread_cond_t cv;
	int finished, abandoned;
} sync_job;

static void sync_free(sync_job *s)
{
	qsjwt_secret_free(s->job.token);
	pthread_cond_destroy(&s->cv);
	free(s);
}

static void sync_done(pool_job *j)
{
	sync_job *s = j->ctx;
	int abandoned;

	pthread_mutex_lock(s->mu);
	s->finished = 1;
	abandoned = s->abandoned;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(s->mu);
	if (abandoned)
		sync_free(s);
}

qsjwt_err pool_sign(pool *p, qsjwt_alg alg, const char *kid, const char *payload,
		    size_t payload_len, unsigned timeout_ms, char **token_out)
{
	pthread_condattr_t ca;
	struct timespec deadline;
	sync_job *s = calloc(1, sizeof(*s));
	qsjwt_err rc;
	int free_it = 1;

	if (s == NULL)
		return QSJWT_ERR_NOMEM;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->mu = &p->mu;
	s->job.alg = alg;
	s->job.kid = kid;
	s->job.payload = payload;
	s->job.payload_len = payload_len;
	s->job.done = sync_done;
	s->job.ctx = s;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	rc = QSJWT_ERR_INTERRUPTED;
	if (p->cancelled)
		goto out;
	if (p->tail != NULL)
		p->tail->next = &s->job;
	else
		p->head = &s->job;
	p->tail = &s->job;
	pthread_cond_signal(&p->cv_work);
	while (!s->finished) {
		struct timespec now;
		if (timeout_ms == 0) {
			pthread_cond_wait(&s->cv, &p->mu);
			continue;
		}
		(void)pthread_cond_timedwait(&s->cv, &p->mu, &deadline);
		/* The clock decides, not the wait's result: a preloaded clock
		 * (faketime in tests) can end a timed wait early. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!s->finished &&
		    (now.tv_sec > deadline.tv_sec ||
		     (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)))
			break;
	}
	if (!s->finished) {
		pool_job **pp = &p->head, *prev = NULL;
		/* Still queued: take it out. Being signed: the worker frees it. */
		while (*pp != NULL && *pp != &s->job) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		if (*pp == &s->job) {
			*pp = s->job.next;
			if (p->tail == &s->job)
				p->tail = prev;
		} else {
			s->abandoned = 1;
			free_it = 0;
		}
		goto out;
	}
	rc = s->job.rc;
	if (rc == QSJWT_OK) {
		*token_out = s->job.token;
		s->job.token = NULL;
	}
out:
	pthread_mutex_unlock(&p->mu);
	if (free_it)
		sync_free(s);
	return rc;
}

void pool_cancel(pool *p)
{
	pool_job *j, *next;

	pthread_mutex_lock(&p->mu);
	p->cancelled = 1;
	for (j = p->head; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		if (j->done == sync_done) {
			/* A pool_sign caller is waiting for it: it returns
			 * QSJWT_ERR_INTERRUPTED. */
			sync_job *s = j->ctx;
			s->job.rc = QSJWT_ERR_INTERRUPTED;
			s->finished = 1;
			pthread_cond_signal(&s->cv);
		}
	}
	p->head = p->tail = NULL;
	pthread_cond_broadcast(&p->cv_idle);
	pthread_mutex_unlock(&p->mu);
}

unsigned pool_drain(pool *p, unsigned grace_seconds)
{
	struct timespec deadline;
	int timed = 0;
	unsigned stuck = 0;

	pthread_mutex_lock(&p->mu);
	while (p->busy > 0 || p->head != NULL) {
		if (!p->cancelled) {
			pthread_cond_wait(&p->cv_idle, &p->mu);
			continue;
		}
		if (!timed) {
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_sec += grace_seconds;
			timed = 1;
		}
		if (pthread_cond_timedwait(&p->cv_idle, &p->mu, &deadline) == ETIMEDOUT &&
		    p->busy > 0) {
			stuck = p->busy;
			break;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return stuck;
}

void pool_free(pool *p)
{
	if (p == NULL)
		return;
	if (p->w != NULL) {
		pool_cancel(p);
		pthread_mutex_lock(&p->mu);
		p->shutdown = 1;
		pthread_cond_broadcast(&p->cv_work);
		pthread_mutex_unlock(&p->mu);
		for (unsigned i = 0; i < p->n; i++) {
			if (p->w[i].started)
				pthread_join(p->w[i].thread, NULL);
		}
		/* Each session before the signer they came from (the caller's). */
		for (unsigned i = 0; i < p->n; i++)
			qsjwt_signer_free(p->w[i].signer);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv_work);
		pthread_cond_destroy(&p->cv_idle);
		free(p->w);
	}
	free(p);
}
