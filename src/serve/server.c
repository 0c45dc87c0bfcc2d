/*
 * The HTTP side of qs-jwt serve, on libmicrohttpd: one daemon per listening
 * socket (sockets we create, handed over with MHD_OPTION_LISTEN_SOCKET),
 * each with a small pool of polling threads; a request's body is collected,
 * then its route decides. Callers are known by the socket only: SO_PEERCRED
 * on a unix socket, "loopback" on 127.0.0.1, never by anything they send.
 *
 * A token request that passed its checks took a signing place (one of
 * --jobs + --queue; none free: 503 at once): its connection is suspended
 * and a place thread waits for the signature, then resumes it, so the
 * polling threads never wait for a token and keep answering everybody else
 * (docs/serve-production.md, "Under overload").
 */
#include "serve/serve.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "serve/cert.h"
#include "serve/inet.h"
#include "serve/listen.h"
#include "serve/routes.h"
#include "serve/sd.h"
#include "serve/state.h"
#include "serve/tls.h"
#include "util/log.h"

typedef struct request request;

typedef struct listener {
	struct server *s;
	serve_caller_kind kind;
	char *unix_path; /* removed at stop */
	char where[160];  /* for logs */
	int fd;
	struct MHD_Daemon *d;
} listener;

struct server {
	serve_state st;
	listener *l;
	size_t n_l;
	pthread_mutex_t mu;
	pthread_cond_t cv_idle;
	unsigned inflight; /* requests between their first byte and their answer */
	tls_conf *tls;	   /* https: listeners */
	/* The signing places' threads and the requests handed to them (under
	 * mu); never more than there are threads (keyholder_enter). */
	pthread_t *place;
	unsigned n_place;
	pthread_cond_t cv_place;
	request *place_head, *place_tail;
	int place_stop;
	int policy_mu_init, mu_init;
};

/* A TLS connection's client, read from its certificate once. */
typedef struct {
	char *subject;
	char sha256[65];
	int known; /* 1: read and verified; -1: refused */
} tls_client;

struct request {
	const route *r;
	serve_caller caller;
	char *body;
	size_t len, cap;
	int answered;
	/* A token request: its checks and, once signed, its answer. pending:
	 * suspended, with a place thread until it resumes the connection. */
	token_work *work;
	int pending;
	struct MHD_Connection *conn;
	request *next;
};

/* Place threads only wait for a signature (the pool's workers sign). */
#define PLACE_STACK_SIZE (256 * 1024)

static void *place_run(void *arg)
{
	server *s = arg;
	request *q;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->place_head == NULL && !s->place_stop)
			pthread_cond_wait(&s->cv_place, &s->mu);
		q = s->place_head;
		if (q == NULL)
			break;
		s->place_head = q->next;
		if (s->place_head == NULL)
			s->place_tail = NULL;
		pthread_mutex_unlock(&s->mu);
		route_token_sign(q->work);
		/* q may be gone as soon as its connection resumes. */
		MHD_resume_connection(q->conn);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Hand q to a place thread, its connection suspended (resumed once
 * signed: MHD calls on_request again then): 1; or 0 when the places have
 * stopped (the service stops; the caller signs on its own thread). From
 * on_request only. */
static int place_submit(server *s, request *q, struct MHD_Connection *conn)
{
	int ok;

	pthread_mutex_lock(&s->mu);
	ok = !s->place_stop;
	if (ok) {
		q->pending = 1;
		q->conn = conn;
		q->next = NULL;
		/* Before a place can take it: a resume needs a suspend. */
		MHD_suspend_connection(conn);
		if (s->place_tail != NULL)
			s->place_tail->next = q;
		else
			s->place_head = q;
		s->place_tail = q;
		pthread_cond_signal(&s->cv_place);
	}
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* Start `n` place threads: 0, or -1 logged. */
static int places_start(server *s, unsigned n)
{
	pthread_attr_t attr;
	int rc = -1, e = ENOMEM;

	s->place = calloc(n, sizeof(*s->place));
	if (s->place == NULL)
		goto out;
	pthread_attr_init(&attr);
	(void)pthread_attr_setstacksize(&attr, PLACE_STACK_SIZE);
	e = 0;
	while (e == 0 && s->n_place < n) {
		e = pthread_create(&s->place[s->n_place], &attr, place_run, s);
		if (e == 0)
			s->n_place++;
	}
	pthread_attr_destroy(&attr);
	rc = e == 0 ? 0 : -1;
out:
	if (rc != 0)
		log_error("cannot start %u signing place threads: %s", n, strerror(e));
	return rc;
}

/* The requests handed to places are signed and resumed, then the threads
 * end. */
static void places_stop(server *s)
{
	pthread_mutex_lock(&s->mu);
	s->place_stop = 1;
	pthread_cond_broadcast(&s->cv_place);
	pthread_mutex_unlock(&s->mu);
	for (unsigned i = 0; i < s->n_place; i++)
		pthread_join(s->place[i], NULL);
	s->n_place = 0;
}

policy *state_policy(serve_state *st)
{
	policy *p;

	pthread_mutex_lock(&st->policy_mu);
	p = st->policy != NULL ? policy_ref(st->policy) : NULL;
	pthread_mutex_unlock(&st->policy_mu);
	return p;
}

static void free_secret(void *p)
{
	qsjwt_secret_free(p);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t n = r->body != NULL ? strlen(r->body) : 0;

	if (r->body == NULL)
		reply_error(r, 500, "out of memory");
	if (r->body == NULL)
		return MHD_NO;
	n = strlen(r->body);
	/* The token's buffer is wiped when MHD lets go of it. */
	resp = r->secret
		   ? MHD_create_response_from_buffer_with_free_callback(n, r->body, free_secret)
		   : MHD_create_response_from_buffer(n, r->body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		reply_release(r);
		return MHD_NO;
	}
	r->body = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->content_type != NULL ? r->content_type : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (r->allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->retry_after > 0) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%d", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
	ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	reply_release(r);
	return ret;
}

/* Whether a Content-Type is JSON: application/json, any case, parameters
 * (charset) allowed. */
static int is_json(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	(void)kind;
	(void)value;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		++*(unsigned *)cls;
	return MHD_YES;
}

/* The checks before a body is read: 0 to go on, else the status of the
 * refusal with *msg. */
static int check_head(struct MHD_Connection *conn, const request *q, size_t *length,
		      const char **msg)
{
	const char *cl =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned long long n = 0;
	unsigned n_cl = 0;

	if (!q->r->has_body)
		return 0;
	/* Two lengths leave the body's end to a guess (RFC 9112, 6.3: an
	 * unrecoverable error); libmicrohttpd takes one of them. */
	(void)MHD_get_connection_values(conn, MHD_HEADER_KIND, count_length, &n_cl);
	if (n_cl > 1) {
		*msg = "more than one Content-Length";
		return 400;
	}
	if (cl == NULL || te != NULL) {
		*msg = "a Content-Length is required (no chunked bodies)";
		return 411;
	}
	for (const char *p = cl; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > SERVE_MAX_BODY) {
			n = SERVE_MAX_BODY + 1;
			break;
		}
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (n > SERVE_MAX_BODY) {
		*msg = "the body is larger than 64 KiB";
		return 413;
	}
	if (!is_json(
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		*msg = "the body must be Content-Type: application/json";
		return 415;
	}
	*length = (size_t)n;
	return 0;
}

/* The caller on a TLS connection: its client certificate, verified in the
 * handshake and here again, read once per connection. 0, or -1 (nothing is
 * answered on the connection). */
static int tls_caller(struct MHD_Connection *conn, serve_caller *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	tls_client *tc = ci != NULL ? ci->socket_context : NULL;
	const char *why = "no connection state";

	if (tc != NULL && tc->known == 0) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		tc->known = ci != NULL && tls_peer(ci->tls_session, c, &tc->subject, tc->sha256,
						   &why) == 0
				? 1
				: -1;
		if (tc->known < 0)
			log_warn("a TLS connection is refused: %s", why);
	}
	if (tc == NULL || tc->known < 0)
		return -1;
	memset(c, 0, sizeof(*c));
	c->kind = CALLER_TLS;
	c->cert_subject = tc->subject;
	c->cert_sha256 = tc->sha256;
	return 0;
}

/* A TLS connection starts: no handshake without a client certificate the
 * client CA signed; ends: its client is forgotten. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	tls_client *tc = *socket_context;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = calloc(1, sizeof(tls_client));
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci != NULL && ci->tls_session != NULL)
			(void)tls_session_require_client(ci->tls_session);
		return;
	}
	if (tc != NULL) {
		free(tc->subject);
		free(tc);
	}
	*socket_context = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	listener *l = cls;
	server *s = l->s;
	request *q = *con_cls;
	reply rep;
	const char *msg = NULL;
	size_t length = 0;
	int status;

	(void)version;
	memset(&rep, 0, sizeof(rep));
	if (q == NULL) {
		const union MHD_ConnectionInfo *ci;
		q = calloc(1, sizeof(*q));
		if (q == NULL)
			return MHD_NO;
		*con_cls = q;
		pthread_mutex_lock(&s->mu);
		s->inflight++;
		pthread_mutex_unlock(&s->mu);
		q->caller.kind = l->kind;
		if (l->kind == CALLER_UNIX) {
			ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
			if (ci == NULL || peer_unix(ci->connect_fd, &q->caller) != 0) {
				/* Nobody we can name: nothing is answered. */
				log_error("cannot read the peer credentials of a connection: %s",
					  strerror(errno));
				return MHD_NO;
			}
		} else if (l->kind == CALLER_TLS && tls_caller(conn, &q->caller) != 0) {
			return MHD_NO;
		}
		q->r = route_find(url);
		if (q->r == NULL) {
			route_refuse(&s->st, &q->caller, NULL, 404, "no such route", &rep);
			goto answer;
		}
		/* Deny by default: a caller the policy does not know learns
		 * nothing more about the route. */
		if (q->r->audited && !route_caller_known(&s->st, &q->caller)) {
			route_refuse(&s->st, &q->caller, q->r, 403, ROUTE_UNKNOWN_CALLER, &rep);
			goto answer;
		}
		if (strcmp(method, q->r->method) != 0) {
			route_refuse(&s->st, &q->caller, q->r, 405,
				     strcmp(q->r->method, "GET") == 0 ? "only GET is allowed here"
								      : "only POST is allowed here",
				     &rep);
			rep.allow = q->r->method;
			goto answer;
		}
		status = check_head(conn, q, &length, &msg);
		if (status != 0) {
			route_refuse(&s->st, &q->caller, q->r, status, msg, &rep);
			goto answer;
		}
		if (q->r->has_body) {
			q->cap = length;
			q->body = malloc(length + 1);
			if (q->body == NULL)
				return MHD_NO;
			return MHD_YES;
		}
	}
	if (*data_size > 0) {
		/* MHD holds the body to Content-Length; more is not ours. */
		size_t n = *data_size;
		if (!q->answered && q->body != NULL && n <= q->cap - q->len) {
			memcpy(q->body + q->len, data, n);
			q->len += n;
		}
		*data_size = 0;
		return MHD_YES;
	}
	if (q->answered)
		return MHD_YES;
	if (q->r->token) {
		if (!q->pending &&
		    route_token_begin(&s->st, &q->caller, q->r, q->body != NULL ? q->body : "",
				      q->len, &q->work) == 1) {
			if (place_submit(s, q, conn)) {
				log_debug("POST %s: waiting for its signature", q->r->path);
				return MHD_YES;
			}
			route_token_sign(q->work);
		}
		route_token_end(q->work, &rep);
		q->work = NULL;
		goto answer;
	}
	q->r->fn(&s->st, &q->caller, q->body != NULL ? q->body : "", q->len, &rep);
answer:
	q->answered = 1;
	metrics_request(s->st.metrics, q->r != NULL ? q->r->path : "(unknown)", rep.status);
	return send_reply(conn, &rep);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	server *s = cls;
	request *q = *con_cls;

	(void)conn;
	(void)toe;
	if (q == NULL)
		return;
	if (q->work != NULL) {
		/* Signed, but the connection ended before its answer: the
		 * decision is audited all the same. */
		reply rep;
		memset(&rep, 0, sizeof(rep));
		route_token_end(q->work, &rep);
		reply_release(&rep);
	}
	free(q->body);
	free(q);
	*con_cls = NULL;
	pthread_mutex_lock(&s->mu);
	if (--s->inflight == 0)
		pthread_cond_broadcast(&s->cv_idle);
	pthread_mutex_unlock(&s->mu);
}

/* The host and port of "tcp:HOST:PORT": 0, or -1 with *err (caller frees). */
static int tcp_host_port(const char *spec, char *host, size_t size, unsigned *port, char **err)
{
	const char *why = NULL;

	if (split_host_port(spec + 4, host, size, port, &why) == 0)
		return 0;
	/* split_host_port's own words, for the tcp: form. */
	*err = strdup(strstr(why, "port") != NULL
			      ? "the port of a tcp listener is a number from 0 to 65535"
			      : "a tcp listener is tcp:127.0.0.1:PORT");
	return -1;
}

int serve_listen_check(const char *spec, char **err)
{
	char host[64], msg[200];
	unsigned port = 0;
	const char *why = NULL;
	int rc = 0;

	*err = NULL;
	if (strncmp(spec, "https:", 6) == 0) {
		if (split_host_port(spec + 6, host, sizeof(host), &port, &why) != 0) {
			*err = strdup(why);
			rc = -1;
		}
		goto out;
	}
	if (strncmp(spec, "tcp:", 4) != 0)
		goto out;
	if (tcp_host_port(spec, host, sizeof(host), &port, err) != 0) {
		rc = -1;
		goto out;
	}
	if (!listen_is_loopback(host)) {
		/* Plain HTTP carries tokens in clear: only on this machine. */
		snprintf(msg, sizeof(msg),
			 "'%.64s' is not a loopback address (127.0.0.0/8 or ::1): plain HTTP is "
			 "only served on this machine",
			 host);
		*err = strdup(msg);
		rc = -1;
	}
out:
	if (rc != 0 && *err == NULL)
		*err = strdup("out of memory");
	return rc;
}

/* "unix:PATH" or "tcp:HOST:PORT" (HOST 127.x.y.z, or [::1]). */
static int open_listener(const char *spec, const serve_opts *o, listener *l)
{
	char *err = NULL, host[64];
	unsigned port = 0, bound = 0;
	int rc = -1;

	if (strncmp(spec, "https:", 6) == 0) {
		const char *why = NULL;
		l->kind = CALLER_TLS;
		if (split_host_port(spec + 6, host, sizeof(host), &port, &why) != 0) {
			err = strdup(why);
			goto out;
		}
		l->fd = listen_inet(host, port, &bound, &err);
		if (l->fd >= 0) {
			snprintf(l->where, sizeof(l->where), "https:%s%s%s:%u",
				 strchr(host, ':') != NULL ? "[" : "", host,
				 strchr(host, ':') != NULL ? "]" : "", bound);
			log_info("listening on %s (callers known by their client certificate)",
				 l->where);
			rc = 0;
		}
		goto out;
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		l->kind = CALLER_UNIX;
		l->fd = listen_unix(spec + 5, o->socket_mode, &err);
		if (l->fd >= 0) {
			l->unix_path = strdup(spec + 5);
			snprintf(l->where, sizeof(l->where), "unix:%.150s", spec + 5);
			log_info("listening on unix:%s (mode %04o)", spec + 5,
				 (unsigned)o->socket_mode);
			rc = 0;
		}
		goto out;
	}
	l->kind = CALLER_LOOPBACK;
	if (tcp_host_port(spec, host, sizeof(host), &port, &err) != 0)
		goto out;
	l->fd = listen_loopback(host, port, &bound, &err);
	if (l->fd >= 0) {
		snprintf(l->where, sizeof(l->where), "tcp:%s%s%s:%u",
			 strchr(host, ':') != NULL ? "[" : "", host,
			 strchr(host, ':') != NULL ? "]" : "", bound);
		log_info("listening on %s (callers are \"loopback\")", l->where);
		rc = 0;
	}
out:
	if (rc != 0)
		log_error("--listen %s: %s", spec, err != NULL ? err : "out of memory");
	free(err);
	return rc;
}

/* libmicrohttpd's own messages (MHD_OPTION_EXTERNAL_LOGGER): fmt is its
 * format string, checked as one. */
static void mhd_log(void *cls, const char *fmt, va_list ap) QSJWT_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_verbose("http: %s", buf);
}

/* Take systemd's socket `sd` as listener l: unix sockets know their callers
 * by SO_PEERCRED, a TCP socket named "https" (FileDescriptorName=https)
 * serves TLS, other TCP sockets plain HTTP on loopback only. 0, or -1
 * logged. */
static int adopt_socket(sdl_socket *sd, listener *l)
{
	if (sd->is_unix) {
		l->kind = CALLER_UNIX;
	} else if (strcmp(sd->name, "https") == 0) {
		l->kind = CALLER_TLS;
	} else if (sd->loopback) {
		l->kind = CALLER_LOOPBACK;
	} else {
		log_error("--listen systemd: socket %s (%s) is not on a loopback address and plain "
			  "HTTP is only served on this machine; name it https "
			  "(FileDescriptorName=https) to serve TLS on it",
			  sd->where, sd->name);
		return -1;
	}
	l->fd = sd->fd;
	sd->fd = -1;
	snprintf(l->where, sizeof(l->where), "%s%s", l->kind == CALLER_TLS ? "https+" : "",
		 sd->where);
	log_info("listening on %s (passed by systemd as \"%s\")", l->where, sd->name);
	return 0;
}

/*
 * Connections a listener takes at once: its share of RLIMIT_NOFILE, less a
 * reserve for the rest (audit log, key, token sessions, each polling
 * thread's epoll and wake-up fds). At its limit libmicrohttpd leaves new
 * connections in the kernel's backlog until one closes; at EMFILE it
 * would busy-wait instead, a CPU at 100 % and a log line per try
 * (tests/serve/test_faults.sh). No per-IP limit: every loopback caller is
 * 127.0.0.1, and behind a TCP load balancer every TLS caller is its
 * address.
 */
static unsigned conn_limit(size_t n_l, unsigned threads)
{
	struct rlimit r;
	rlim_t reserve = 64 + (rlim_t)n_l * threads * 3, per = 100000;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY) {
		per = r.rlim_cur > reserve ? (r.rlim_cur - reserve) / n_l : 0;
		if (per < threads)
			per = threads; /* libmicrohttpd's least: one per polling thread */
	}
	return per > 100000 ? 100000 : (unsigned)per;
}

static struct MHD_Daemon *start_daemon(server *s, listener *l, unsigned threads, unsigned timeout,
				       unsigned limit)
{
	unsigned flags =
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (l->kind != CALLER_TLS)
		return MHD_start_daemon(
		    flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_LISTEN_SOCKET, l->fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
		    MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_LIMIT, limit,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	/* The certificate and key come from a callback for every handshake
	 * (SIGHUP swaps them); the client CA is the trust list that each
	 * client certificate is verified against. */
	return MHD_start_daemon(
	    flags | MHD_USE_TLS, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
	    NULL, MHD_OPTION_LISTEN_SOCKET, l->fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
	    on_connection, s, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_HTTPS_MEM_TRUST, tls_conf_trust(s->tls), MHD_OPTION_HTTPS_CERT_CALLBACK,
	    tls_cert_callback(), MHD_OPTION_END);
}

int server_start(const serve_opts *o, qsjwt_signer *signer, server **out)
{
	server *s = calloc(1, sizeof(*s));
	char *err = NULL;
	unsigned threads = o->jobs * 2 < 4 ? 4 : o->jobs * 2, workers, limit;
	size_t i, n_sd = 0;
	sdl_socket *sd = NULL;
	int want_sd = 0;

	if (s == NULL) {
		qsjwt_signer_free(signer);
		return -1;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_idle, NULL);
	pthread_cond_init(&s->cv_place, NULL);
	pthread_mutex_init(&s->st.policy_mu, NULL);
	s->mu_init = 1;
	s->st.alg = o->alg;
	s->st.policy_path = o->policy_path;
	s->st.cert_pem = serve_cert_load(signer, o->certificate, &err);
	if (err != NULL) {
		log_error("--certificate: %s", err);
		qsjwt_signer_free(signer);
		goto fail;
	}
	if (keyholder_new(signer, o->jobs, o->queue, o->reopen, o->reopen_ud, &s->st.key) !=
	    QSJWT_OK) {
		log_error("cannot start %u signing worker%s", o->jobs, o->jobs == 1 ? "" : "s");
		goto fail;
	}
	s->st.metrics = metrics_new(QSJWT_VERSION);
	if (s->st.metrics == NULL || places_start(s, o->jobs + o->queue) != 0)
		goto fail;
	for (i = 0; i < o->n_listen; i++)
		want_sd |= strcmp(o->listen[i], "systemd") == 0;
	if (want_sd) {
		if (sdl_listen_fds(&sd, &n_sd, &err) != 0) {
			log_error("--listen systemd: %s", err);
			goto fail;
		}
		if (n_sd == 0) {
			log_error("--listen systemd: no sockets were passed (LISTEN_FDS is not set "
				  "for this process)");
			goto fail;
		}
	}
	if (o->tls_cert != NULL) {
		s->tls = tls_conf_load(o->tls_cert, o->tls_key, o->tls_client_ca);
		if (s->tls == NULL)
			goto fail;
	}
	s->st.audit = audit_open(o->audit_path, o->audit_syslog, &err);
	if (s->st.audit == NULL) {
		log_error("%s", err != NULL ? err : "cannot open the audit log: out of memory");
		goto fail;
	}
	if (o->policy_path != NULL) {
		s->st.policy = policy_load(o->policy_path, &err);
		if (s->st.policy == NULL) {
			log_error("%s",
				  err != NULL ? err : "cannot load the policy: out of memory");
			goto fail;
		}
		log_info("policy from %s", o->policy_path);
	} else {
		struct passwd pw, *res = NULL;
		char buf[4096];
		uid_t uid = getuid();
		s->st.policy = policy_default(uid);
		if (s->st.policy == NULL)
			goto fail;
		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
			res = NULL;
		log_info("no --policy: only uid %lu%s%s%s, the service's own, may ask, for any "
			 "token",
			 (unsigned long)uid, res != NULL ? " (" : "", res != NULL ? pw.pw_name : "",
			 res != NULL ? ")" : "");
	}
	s->l = calloc(o->n_listen + n_sd, sizeof(*s->l));
	if (s->l == NULL)
		goto fail;
	for (i = 0; i < o->n_listen + n_sd; i++) {
		s->l[i].fd = -1;
		s->l[i].s = s;
	}
	for (i = 0; i < o->n_listen; i++) {
		if (strcmp(o->listen[i], "systemd") == 0)
			continue;
		s->n_l++;
		if (open_listener(o->listen[i], o, &s->l[s->n_l - 1]) != 0)
			goto fail;
	}
	for (i = 0; i < n_sd; i++) {
		s->n_l++;
		if (adopt_socket(&sd[i], &s->l[s->n_l - 1]) != 0)
			goto fail;
	}
	limit = conn_limit(s->n_l, threads);
	log_verbose("at most %u connections at once on each listener (RLIMIT_NOFILE)", limit);
	for (i = 0; i < s->n_l; i++) {
		listener *l = &s->l[i];
		if (l->kind == CALLER_TLS && s->tls == NULL) {
			log_error("%s serves TLS: give --tls-cert, --tls-key and --tls-client-ca",
				  l->where);
			goto fail;
		}
		l->d = start_daemon(s, l, threads, o->conn_timeout, limit);
		if (l->d == NULL) {
			log_error("cannot start the HTTP service on %s", l->where);
			goto fail;
		}
	}
	workers = keyholder_workers(s->st.key);
	log_info("ready: %u signing worker%s, %u more request%s may wait for one, %s", workers,
		 workers == 1 ? "" : "s", o->queue, o->queue == 1 ? "" : "s",
		 keyholder_describe(s->st.key));
	{
		char status[300];
		snprintf(status, sizeof(status), "serving: %u signing worker%s, %s", workers,
			 workers == 1 ? "" : "s", keyholder_describe(s->st.key));
		sdl_notify_ready(status);
	}
	sdl_sockets_free(sd, n_sd);
	*out = s;
	free(err);
	return 0;
fail:
	sdl_sockets_free(sd, n_sd);
	free(err);
	(void)server_stop(s, 0);
	server_free(s);
	return -1;
}

void server_reload(server *s)
{
	char *err = NULL;
	policy *p, *old;

	if (s->tls != NULL) {
		if (tls_conf_reload(s->tls) == 0)
			log_info("SIGHUP: TLS certificate and key reloaded");
		else
			log_error("SIGHUP: the TLS certificate and key in force stay");
	}
	if (s->st.policy_path == NULL) {
		log_info("SIGHUP: no --policy to reload");
		return;
	}
	p = policy_load(s->st.policy_path, &err);
	if (p == NULL) {
		log_error("SIGHUP: %s; the policy in force stays",
			  err != NULL ? err : "out of memory");
		free(err);
		return;
	}
	pthread_mutex_lock(&s->st.policy_mu);
	old = s->st.policy;
	s->st.policy = p;
	pthread_mutex_unlock(&s->st.policy_mu);
	/* Requests that hold the old one keep it until they finish. */
	policy_unref(old);
	log_info("SIGHUP: policy reloaded from %s", s->st.policy_path);
}

unsigned server_stop(server *s, unsigned grace_seconds)
{
	struct timespec deadline;
	size_t i;

	if (s == NULL)
		return 0;
	sdl_notify_stopping("stopping: finishing the requests under way");
	for (i = 0; i < s->n_l; i++) {
		listener *l = &s->l[i];
		MHD_socket fd = l->d != NULL ? MHD_quiesce_daemon(l->d) : MHD_INVALID_SOCKET;
		if (fd != MHD_INVALID_SOCKET || l->fd >= 0) {
			close(l->fd);
			l->fd = -1;
		}
		if (l->unix_path != NULL)
			unlink(l->unix_path);
	}
	/* The requests under way finish and get their answers. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += grace_seconds;
	pthread_mutex_lock(&s->mu);
	while (s->inflight > 0 &&
	       pthread_cond_timedwait(&s->cv_idle, &s->mu, &deadline) != ETIMEDOUT)
		;
	if (s->inflight > 0)
		log_warn("%u request%s still under way after %u s: closed", s->inflight,
			 s->inflight == 1 ? "" : "s", grace_seconds);
	pthread_mutex_unlock(&s->mu);
	/* No connection may stay suspended when a daemon stops: the
	 * signatures under way end (at most POOL_SIGN_TIMEOUT_SECONDS). */
	places_stop(s);
	for (i = 0; i < s->n_l; i++) {
		if (s->l[i].d != NULL)
			MHD_stop_daemon(s->l[i].d);
		s->l[i].d = NULL;
	}
	return keyholder_stop(s->st.key, 10);
}

void server_free(server *s)
{
	if (s == NULL)
		return;
	keyholder_free(s->st.key);
	for (size_t i = 0; i < s->n_l; i++) {
		if (s->l[i].fd >= 0)
			close(s->l[i].fd);
		free(s->l[i].unix_path);
	}
	free(s->l);
	policy_unref(s->st.policy);
	audit_close(s->st.audit);
	free(s->st.cert_pem);
	tls_conf_free(s->tls);
	metrics_free(s->st.metrics);
	pthread_mutex_destroy(&s->st.policy_mu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv_idle);
	pthread_cond_destroy(&s->cv_place);
	free(s->place);
	free(s);
}
