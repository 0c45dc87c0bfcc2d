/*
 * create-qseow --batch: one token per JSON line, signed by N workers (one
 * signing context or token session each, one login for the run), written in
 * input order through a bounded window so memory does not grow with the
 * input. A signing failure stops the batch: the lines signed and verified
 * before it are written, and the first line not issued is reported.
 */
#include "cli/batch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/stop.h"
#include "jose/json.h"
#include "jose/request.h"
#include "platform/platform.h"
#include "pool/pool.h"
#include "util/log.h"
#include "util/strbuf.h"

#define LINE_MAX_BYTES (64 * 1024)
#define READ_CHUNK (128 * 1024)
/* After the batch stops, how long a signing call still inside the module
 * may take before the batch gives up on it. A module whose connection
 * broke may never answer: p11-kit-client.so 0.24.1 leaves its other
 * callers waiting forever when the p11-kit server dies while several
 * threads share the connection. */
#define STOP_GRACE_SECONDS 10

enum { S_FREE = 0, S_READY, S_SIGNING, S_DONE };

typedef struct {
	int state;
	unsigned long long seq; /* position in the input, for the writer */
	unsigned long line;
	char *userid, *userdir; /* for the output line */
	char *payload;
	size_t payload_len;
	char *token;            /* a secret: wiped when freed */
	char *error;            /* this line cannot be issued; the batch goes on */
	int fatal;              /* signing failed: the batch stops here */
	struct timespec since;  /* S_SIGNING: when the worker took it */
	pool_job job;           /* while queued on the pool or being signed */
} slot;

typedef struct {
	const batch_opts *o;
	pthread_mutex_t mu;
	pthread_cond_t cv_done, cv_space;
	slot *ring;
	size_t window;
	unsigned long long head, next_write;
	int input_done, stop;
	int wake[2];            /* the reader polls wake[0]: a stop or a signal */
	pool *pool;
	int abandoned;          /* gave up waiting for the workers still signing */
	unsigned long issued, failed, stopped_at; /* lines written; first line not issued */
	unsigned long pend_issued, pend_failed;   /* in the writer's buffer, not yet written */
	int write_failed;
	/* progress */
	int progress;
	off_t total_bytes, read_bytes;
	struct timespec start;
} batch;

static double elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void slot_clear(slot *s)
{
	free(s->userid);
	free(s->userdir);
	free(s->payload);
	qsjwt_secret_free(s->token);
	free(s->error);
	memset(s, 0, sizeof(*s));
}

/* Stop the batch (lock held): no more lines are read or signed; everyone
 * waiting re-checks. */
static void batch_stop(batch *b)
{
	b->stop = 1;
	/* The reader may be blocked on a pipe that sends nothing more. */
	if (b->wake[1] >= 0)
		(void)!write(b->wake[1], "", 1);
	if (b->pool != NULL)
		pool_cancel(b->pool);
	pthread_cond_broadcast(&b->cv_space);
	pthread_cond_broadcast(&b->cv_done);
}

/* ---- parsing a line ------------------------------------------------------------ */

/* Fill s from one JSON line, or set s->error. */
static void parse_line(const batch_opts *o, const char *text, size_t len, int64_t iat, slot *s)
{
	qseow_request r;
	int64_t exp;

	s->error = qseow_request_parse(text, len, "line", &r);
	if (s->error != NULL)
		return;
	s->error = qseow_request_payload(&r, o->expires, o->audience, 1, iat, &s->payload,
					 &s->payload_len, &exp);
	if (s->error == NULL) {
		s->userid = strdup(r.userid);
		s->userdir = strdup(r.userdir);
		if (s->userid == NULL || s->userdir == NULL)
			s->error = strdup("cannot build the claims");
	}
	qseow_request_release(&r);
}

char *batch_parse_line(const batch_opts *o, const char *text, size_t len, int64_t iat,
		       char **payload, size_t *payload_len)
{
	slot s;
	char *err;

	memset(&s, 0, sizeof(s));
	parse_line(o, text, len, iat, &s);
	err = s.error;
	s.error = NULL;
	if (err == NULL) {
		*payload = s.payload;
		*payload_len = s.payload_len;
		s.payload = NULL;
	}
	slot_clear(&s);
	return err;
}

/* ---- signing (on the pool's workers) --------------------------------------------- */

/* A worker takes the slot: signed only while the batch goes on. */
static int sign_start(pool_job *j)
{
	slot *s = (slot *)(void *)((char *)j - offsetof(slot, job));
	batch *b = j->ctx;
	int skip;

	pthread_mutex_lock(&b->mu);
	skip = b->stop;
	if (!skip) {
		s->state = S_SIGNING;
		clock_gettime(CLOCK_MONOTONIC, &s->since);
		/* The writer waiting for this line now waits with a time limit. */
		if (s->seq == b->next_write)
			pthread_cond_broadcast(&b->cv_done);
	}
	pthread_mutex_unlock(&b->mu);
	return skip;
}

static void sign_done(pool_job *j)
{
	slot *s = (slot *)(void *)((char *)j - offsetof(slot, job));
	batch *b = j->ctx;

	pthread_mutex_lock(&b->mu);
	s->token = j->token;
	j->token = NULL;
	if (j->rc != QSJWT_OK) {
		s->fatal = 1;
		batch_stop(b);
	}
	s->state = S_DONE;
	/* The writer waits for the next line only: wake it for that one
	 * (it then writes every finished line after it). */
	if (s->seq == b->next_write || s->fatal)
		pthread_cond_broadcast(&b->cv_done);
	pthread_mutex_unlock(&b->mu);
}

/* ---- writing -------------------------------------------------------------------- */

static void progress(batch *b, int final)
{
	double t = elapsed(&b->start), rate = t > 0 ? (double)b->issued / t : 0;
	char eta[40] = "";

	if (!b->progress)
		return;
	if (!final && b->total_bytes > 0 && b->read_bytes > 0 && b->read_bytes < b->total_bytes)
		snprintf(eta, sizeof(eta), ", ETA %.0f s",
			 t * (double)(b->total_bytes - b->read_bytes) / (double)b->read_bytes);
	fprintf(stderr, "\r%lu issued, %.0f/s%s\033[K%s", b->issued, rate, eta, final ? "\n" : "");
}

static void output_line(strbuf *out, const slot *s)
{
	char num[32];

	snprintf(num, sizeof(num), "{\"line\":%lu,", s->line);
	strbuf_addstr(out, num);
	if (s->error != NULL) {
		strbuf_addstr(out, "\"error\":");
		json_append_string(out, s->error);
	} else {
		strbuf_addstr(out, "\"userid\":");
		json_append_string(out, s->userid);
		strbuf_addstr(out, ",\"userdir\":");
		json_append_string(out, s->userdir);
		strbuf_addstr(out, ",\"token\":\"");
		strbuf_addstr(out, s->token);
		strbuf_addch(out, '"');
	}
	strbuf_addstr(out, "}\n");
}

static int flush_out(strbuf *out)
{
	int ok = out->len == 0 || (fwrite(out->data, 1, out->len, stdout) == out->len &&
				   fflush(stdout) == 0);

	/* The buffer held tokens: wipe before reuse. */
	if (out->data != NULL)
		qsjwt_secret_wipe(out->data, out->len);
	out->len = 0;
	if (out->data != NULL)
		out->data[0] = '\0';
	return ok;
}

/* What the writer can do next: WAIT, WRITE the next slot, FINISHED (all
 * written), or STOPPED at the next slot (a signing failure, or no more
 * signing after one). */
enum { W_WAIT, W_WRITE, W_FINISHED, W_STOPPED };

static int writer_state(const batch *b)
{
	const slot *s;

	if (b->next_write == b->head)
		return b->input_done ? W_FINISHED : b->stop ? W_STOPPED : W_WAIT;
	s = &b->ring[b->next_write % b->window];
	if (s->state == S_DONE)
		return s->fatal ? W_STOPPED : W_WRITE;
	if ((b->stop && s->state == S_READY) || (b->abandoned && s->state == S_SIGNING))
		return W_STOPPED;
	return W_WAIT;
}

/* Write out what is buffered, with the lock released. 0 or -1 (failed:
 * the batch is stopped). */
static int writer_flush(batch *b, strbuf *out)
{
	int ok;

	pthread_mutex_unlock(&b->mu);
	errno = 0;
	ok = flush_out(out);
	pthread_mutex_lock(&b->mu);
	if (ok) {
		/* Only lines that reached stdout count. */
		b->issued += b->pend_issued;
		b->failed += b->pend_failed;
		b->pend_issued = b->pend_failed = 0;
		return 0;
	}
	b->write_failed = errno != 0 ? errno : EIO;
	return -1;
}

/*
 * Wait (lock held) for the next line to write. When it is being signed,
 * at most until its call has taken POOL_SIGN_TIMEOUT_SECONDS: then the
 * batch stops. Without this a module that never answers any call (a
 * p11-kit server that hangs, or dies inside an answer) would hold the
 * batch forever: no call fails, so nothing else stops it.
 */
static void wait_next(batch *b)
{
	slot *s = &b->ring[b->next_write % b->window];
	struct timespec deadline;

	if (b->stop || s->state != S_SIGNING) {
		pthread_cond_wait(&b->cv_done, &b->mu);
		return;
	}
	deadline = s->since;
	deadline.tv_sec += POOL_SIGN_TIMEOUT_SECONDS;
	(void)pthread_cond_timedwait(&b->cv_done, &b->mu, &deadline);
	/* The clock decides, not the wait's result (a preloaded clock can end
	 * a timed wait early). */
	if (!b->stop && s->state == S_SIGNING && elapsed(&s->since) >= POOL_SIGN_TIMEOUT_SECONDS) {
		log_error("line %lu: the signing call has not returned after %d s: stopping the batch",
			  s->line, POOL_SIGN_TIMEOUT_SECONDS);
		batch_stop(b);
	}
}

static void *write_out(void *arg)
{
	batch *b = arg;
	struct timespec last;
	strbuf out;
	slot *s;
	int st;

	strbuf_init(&out);
	clock_gettime(CLOCK_MONOTONIC, &last);
	pthread_mutex_lock(&b->mu);
	for (;;) {
		st = writer_state(b);
		if (st == W_WRITE) {
			s = &b->ring[b->next_write % b->window];
			output_line(&out, s);
			if (s->error != NULL)
				b->pend_failed++;
			else
				b->pend_issued++;
			slot_clear(s);
			b->next_write++;
			/* The reader waits for a full window: wake it when half is free,
			 * not for every line. */
			if (b->head - b->next_write <= b->window / 2)
				pthread_cond_signal(&b->cv_space);
			if (out.len >= 64 * 1024 && writer_flush(b, &out) != 0) {
				st = W_STOPPED;
				break;
			}
			continue;
		}
		if (st == W_STOPPED) {
			/* Everything before this line is written; nothing after it. */
			if (b->next_write < b->head)
				b->stopped_at = b->ring[b->next_write % b->window].line;
			break;
		}
		/* Finished, or nothing to write yet: hand over what we have. */
		if (writer_flush(b, &out) != 0) {
			st = W_STOPPED;
			break;
		}
		if (st == W_FINISHED)
			break;
		if (b->progress && elapsed(&last) > 0.25) {
			clock_gettime(CLOCK_MONOTONIC, &last);
			progress(b, 0);
		}
		if (writer_state(b) == W_WAIT)
			wait_next(b);
	}
	if (out.len > 0 && writer_flush(b, &out) != 0)
		st = W_STOPPED;
	/* Stopped early: the reader and the workers stop too. */
	if (st != W_FINISHED)
		batch_stop(b);
	pthread_mutex_unlock(&b->mu);
	strbuf_release(&out);
	return NULL;
}

/* ---- reading ---------------------------------------------------------------------- */

/* Queue one input line (a parse error is queued too: it is output in order). */
static int push(batch *b, unsigned long line, const char *text, size_t len, int too_long)
{
	slot s, *q;

	memset(&s, 0, sizeof(s));
	s.line = line;
	if (too_long)
		s.error = strdup("the line is longer than 64 KiB");
	else
		parse_line(b->o, text, len, cli_now(), &s);
	pthread_mutex_lock(&b->mu);
	while (!b->stop && !stop_signal() && b->head - b->next_write >= b->window) {
		/* A signal cannot wake a condition wait: look again now and then. */
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 100 * 1000 * 1000;
		if (t.tv_nsec >= 1000 * 1000 * 1000) {
			t.tv_sec++;
			t.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&b->cv_space, &b->mu, &t);
	}
	if (b->stop || stop_signal()) {
		pthread_mutex_unlock(&b->mu);
		slot_clear(&s);
		return -1;
	}
	s.state = s.error != NULL ? S_DONE : S_READY;
	s.seq = b->head;
	q = &b->ring[b->head++ % b->window];
	*q = s;
	if (q->state == S_READY) {
		q->job.alg = b->o->alg;
		q->job.payload = q->payload;
		q->job.payload_len = q->payload_len;
		q->job.start = sign_start;
		q->job.done = sign_done;
		q->job.ctx = b;
		/* Cancelled: the batch is stopping, the slot stays unsigned. */
		(void)pool_submit(b->pool, &q->job);
	} else {
		pthread_cond_signal(&b->cv_done);
	}
	pthread_mutex_unlock(&b->mu);
	return 0;
}

/* A line to skip: empty, blank, or a comment. */
static int skipped(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
		i++;
	return i == len || p[i] == '#';
}

/* Wait until fd has input: 1, or 0 when the batch stopped or a stop signal
 * came meanwhile (the wake pipe tells either at once). */
static int wait_input(batch *b, int fd)
{
	int stopped;

	for (;;) {
		pthread_mutex_lock(&b->mu);
		stopped = b->stop;
		pthread_mutex_unlock(&b->mu);
		if (stopped || stop_signal())
			return 0;
		if (plat_wait_input(fd, b->wake[0]))
			return 1;
	}
}

static int read_input(batch *b, int fd)
{
	char *buf = malloc(READ_CHUNK + LINE_MAX_BYTES + 1);
	size_t have = 0, start;
	unsigned long line = 0;
	int too_long = 0, eof = 0, rc = 0;

	if (buf == NULL)
		return -1;
	while (!eof) {
		ssize_t n;
		if (!wait_input(b, fd)) {
			if (stop_signal())
				rc = -1;
			break;
		}
		n = plat_read(fd, buf + have, READ_CHUNK + LINE_MAX_BYTES - have);
		if (n < 0 && (errno == EINTR || stop_signal()))
			continue;
		if (n < 0) {
			log_error("cannot read the batch input: %s", strerror(errno));
			rc = -1;
			break;
		}
		eof = n == 0;
		have += (size_t)n;
		pthread_mutex_lock(&b->mu);
		b->read_bytes += n;
		pthread_mutex_unlock(&b->mu);
		start = 0;
		for (;;) {
			char *nl = memchr(buf + start, '\n', have - start);
			size_t len;
			if (nl == NULL && !(eof && start < have))
				break;
			len = nl != NULL ? (size_t)(nl - (buf + start)) : have - start;
			line++;
			if (!too_long && len > LINE_MAX_BYTES)
				too_long = 1;
			if ((too_long || !skipped(buf + start, len)) &&
			    push(b, line, buf + start, len, too_long) != 0) {
				eof = 1;
				break;
			}
			too_long = 0;
			start += len + (nl != NULL);
		}
		if (eof && too_long && start == have) {
			/* An over-long last line without a final newline. */
			if (push(b, line + 1, NULL, 0, 1) != 0)
				break;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have > LINE_MAX_BYTES) {
			/* The rest of an over-long line is dropped as it comes. */
			too_long = 1;
			have = 0;
		}
	}
	free(buf);
	return rc;
}

/* ---- the batch ------------------------------------------------------------------- */

int batch_run(const batch_opts *o, qsjwt_signer *signer)
{
	pthread_t writer;
	pthread_condattr_t ca;
	unsigned jobs = o->jobs, stuck;
	int started;
	struct stat st;
	batch b;
	int fd = STDIN_FILENO, code = EXIT_RUNTIME, read_rc;
	double t;

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.wake[0] = b.wake[1] = -1;
	if (strcmp(o->input, "-") != 0) {
		fd = plat_open_plain(o->input);
		if (fd < 0) {
			log_error("cannot read batch file '%s': %s", o->input, strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	if (plat_wake_pipe(b.wake) != 0) {
		log_error("cannot start the batch: %s", strerror(errno));
		b.wake[0] = b.wake[1] = -1;
		goto out_fd;
	}
	/* A signal stops the batch like a signing failure: the lines signed
	 * so far are written whole, then main() dies of the signal (128+N). */
	stop_set_wake_fd(b.wake[1]);
	stop_catch();
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		log_error("cannot read batch file '%s': it is a directory", o->input);
		goto out_fd;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		b.total_bytes = st.st_size;
	b.progress = plat_isatty(STDERR_FILENO);
	b.window = jobs * 64 < 256 ? 256 : jobs * 64;
	b.ring = calloc(b.window, sizeof(*b.ring));
	if (b.ring == NULL)
		goto out_fd;
	pthread_mutex_init(&b.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b.cv_done, &ca); /* timed on CLOCK_MONOTONIC */
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&b.cv_space, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b.start);
	log_verbose("batch from %s with %u job%s", strcmp(o->input, "-") == 0 ? "standard input"
									   : o->input,
		    jobs, jobs == 1 ? "" : "s");
	/* Only this thread (the reader, which polls) takes the signals: a
	 * worker's call into a PKCS#11 module must not see EINTR. The pool's
	 * workers and the writer inherit the mask. Every worker's session
	 * comes before the first line: a token that cannot give them fails
	 * the run before anything is printed. */
	plat_stop_signals_block(1);
	started = pool_new(signer, jobs, &b.pool) == QSJWT_OK &&
		  pthread_create(&writer, NULL, write_out, &b) == 0;
	plat_stop_signals_block(0);
	if (!started)
		goto out_sync;
	read_rc = read_input(&b, fd);
	pthread_mutex_lock(&b.mu);
	b.input_done = 1;
	if (read_rc != 0)
		batch_stop(&b);
	pthread_cond_broadcast(&b.cv_done);
	pthread_mutex_unlock(&b.mu);
	/* Every queued line signed; once the batch stopped, a signing call
	 * still inside the module gets STOP_GRACE_SECONDS. */
	stuck = pool_drain(b.pool, STOP_GRACE_SECONDS);
	pthread_mutex_lock(&b.mu);
	if (stuck > 0)
		b.abandoned = 1; /* the writer stops at the first line not signed */
	pthread_cond_broadcast(&b.cv_done);
	pthread_mutex_unlock(&b.mu);
	pthread_join(writer, NULL);

	t = elapsed(&b.start);
	progress(&b, 1);
	if (b.write_failed != 0) {
		log_error("cannot write to standard output: %s; %lu token%s written",
			  strerror(b.write_failed), b.issued, b.issued == 1 ? "" : "s");
	} else if (b.stopped_at != 0) {
		log_error("batch stopped: %lu token%s issued, %lu line%s failed; line %lu and "
			  "after were not issued (resume with: tail -n +%lu %s)",
			  b.issued, b.issued == 1 ? "" : "s", b.failed, b.failed == 1 ? "" : "s",
			  b.stopped_at, b.stopped_at,
			  strcmp(o->input, "-") == 0 ? "INPUT" : o->input);
	} else if (stop_signal()) {
		log_error("batch interrupted by signal %d: %lu token%s issued, %lu line%s failed",
			  stop_signal(), b.issued, b.issued == 1 ? "" : "s", b.failed,
			  b.failed == 1 ? "" : "s");
	} else if (read_rc != 0 || b.stop) {
		log_error("batch stopped: %lu token%s issued, %lu line%s failed", b.issued,
			  b.issued == 1 ? "" : "s", b.failed, b.failed == 1 ? "" : "s");
	} else {
		log_msg(b.failed ? QSJWT_LOG_WARN : QSJWT_LOG_INFO,
			"batch: %lu token%s issued, %lu line%s failed, %.1f s, %.0f tokens/s",
			b.issued, b.issued == 1 ? "" : "s", b.failed, b.failed == 1 ? "" : "s", t,
			t > 0 ? (double)b.issued / t : 0.0);
		code = b.failed == 0 ? EXIT_OK : EXIT_RUNTIME;
	}
	if (stuck > 0) {
		/* A worker is still inside the module and may never return: its
		 * slot, its session and the module stay as they are. Closing the
		 * session or finalizing the module (here, or in the library
		 * destructors exit() runs) could wait for it forever too. Every
		 * written line is flushed; no secret is left to wipe (the PIN
		 * was wiped after the login, a token key never left the token). */
		log_error("%u signing call%s still inside the PKCS#11 module %d s after the batch "
			  "stopped: exiting without closing the token session",
			  stuck, stuck == 1 ? " was" : "s were", STOP_GRACE_SECONDS);
		_exit(stop_signal() ? 128 + stop_signal() : EXIT_RUNTIME);
	}
out_sync:
	pool_free(b.pool);
	for (size_t i = 0; i < b.window; i++)
		slot_clear(&b.ring[i]);
	pthread_mutex_destroy(&b.mu);
	pthread_cond_destroy(&b.cv_done);
	pthread_cond_destroy(&b.cv_space);
out_fd:
	if (b.wake[0] >= 0) {
		stop_release();
		stop_set_wake_fd(-1);
		close(b.wake[0]);
		close(b.wake[1]);
	}
	free(b.ring);
	if (fd != STDIN_FILENO)
		close(fd);
	return code;
}
