/*
 * A keep-alive HTTP/1.1 load generator for qs-jwt serve (scripts/bench.sh):
 * over TLS with a client certificate (wrk and hey have no option for one),
 * plain TCP or a unix socket. N connections, one thread each, send the same
 * POST for a time, optionally paced to a total rate; latency is taken from
 * when a request was due (so a late start counts, no coordinated
 * omission). Prints one line of key=value results: counts by status, and
 * latency percentiles of all answers, of the 200s (ok_) and of the 503s
 * (s503_).
 *
 * serve_load (--tls HOST:PORT --cacert F --cert F --key F | --tcp HOST:PORT |
 *             --unix PATH) --path P --body FILE --connections N --seconds S
 *             [--rate R]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_SAMPLES 4000000

static const char *mode, *target, *cacert, *cert, *keyf, *path = "/v1/qseow";
static char *request;
static size_t request_len;
static int n_conn = 1;
static double seconds = 5, rate = 0;
static SSL_CTX *ctx;
static double t_start, t_end;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* Latencies of all answers, of the 200s, of the 503s. */
typedef struct {
	double *v;
	size_t n;
} sample_set;
static sample_set all, oks, shed;
static unsigned long long st_ok, st_429, st_503, st_other, errors, reconnects;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
	int fd;
	SSL *ssl;
} conn;

static void conn_close(conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->ssl = NULL;
}

static int conn_open(conn *c)
{
	c->fd = -1;
	c->ssl = NULL;
	if (strcmp(mode, "unix") == 0) {
		struct sockaddr_un sa;
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", target);
		c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			goto fail;
		return 0;
	} else {
		struct sockaddr_in sa;
		char host[64];
		const char *colon = strrchr(target, ':');
		int one = 1;
		if (colon == NULL || (size_t)(colon - target) >= sizeof(host))
			goto fail;
		memcpy(host, target, (size_t)(colon - target));
		host[colon - target] = '\0';
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((unsigned short)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
			goto fail;
		c->fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			goto fail;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (strcmp(mode, "tls") == 0) {
		c->ssl = SSL_new(ctx);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
			goto fail;
	}
	return 0;
fail:
	conn_close(c);
	return -1;
}

static int conn_write(conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = c->ssl != NULL ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t conn_read(conn *c, char *p, size_t n)
{
	return c->ssl != NULL ? SSL_read(c->ssl, p, (int)n) : read(c->fd, p, n);
}

/* One response: its status, or -1 when the connection broke. The server
 * answers with Content-Length (libmicrohttpd does for buffers). */
static int read_response(conn *c, char *buf, size_t cap)
{
	size_t len = 0, body = 0, head = 0;
	char *end;
	int status;

	for (;;) {
		ssize_t r = conn_read(c, buf + len, cap - 1 - len);
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL)
			break;
		if (len + 1 >= cap)
			return -1;
	}
	head = (size_t)(end - buf) + 4;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	for (char *l = strstr(buf, "\r\n"); l != NULL && l < end; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
			body = (size_t)strtoul(l + 17, NULL, 10);
	}
	while (len < head + body) {
		size_t want = head + body - len;
		ssize_t r = conn_read(c, buf, want < cap ? want : cap);
		if (r <= 0)
			return -1;
		len += (size_t)r;
	}
	return status;
}

static void *worker(void *arg)
{
	double interval = rate > 0 ? n_conn / rate : 0, due;
	size_t n_mine = 0, cap_mine = MAX_SAMPLES / (size_t)n_conn + 1;
	double *mine = malloc(sizeof(double) * cap_mine);
	int *kind = malloc(sizeof(int) * cap_mine);
	unsigned long long ok = 0, s429 = 0, s503 = 0, other = 0, err = 0, rec = 0;
	char *buf = malloc(65536);
	conn c;

	due = t_start + (interval > 0 ? interval * (double)(intptr_t)arg / n_conn : 0);
	if (mine == NULL || kind == NULL || buf == NULL || conn_open(&c) != 0) {
		err++;
		c.fd = -1;
		c.ssl = NULL;
	}
	while (now() < t_end) {
		double t0, t1;
		int status;
		if (interval > 0) {
			double w = due - now();
			if (w > 0) {
				struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
				nanosleep(&ts, NULL);
			}
			t0 = due;
			due += interval;
		} else {
			t0 = now();
		}
		if (c.fd < 0) {
			rec++;
			if (conn_open(&c) != 0) {
				err++;
				struct timespec ts = {0, 10000000};
				nanosleep(&ts, NULL);
				continue;
			}
		}
		if (conn_write(&c, request, request_len) != 0 ||
		    (status = read_response(&c, buf, 65536)) < 0) {
			err++;
			conn_close(&c);
			continue;
		}
		t1 = now();
		if (status == 200)
			ok++;
		else if (status == 429)
			s429++;
		else if (status == 503)
			s503++;
		else
			other++;
		if (n_mine < cap_mine) {
			kind[n_mine] = status;
			mine[n_mine++] = t1 - t0;
		}
	}
	conn_close(&c);
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_mine && all.n < MAX_SAMPLES; i++) {
		all.v[all.n++] = mine[i];
		if (kind[i] == 200)
			oks.v[oks.n++] = mine[i];
		else if (kind[i] == 503)
			shed.v[shed.n++] = mine[i];
	}
	st_ok += ok;
	st_429 += s429;
	st_503 += s503;
	st_other += other;
	errors += err;
	reconnects += rec;
	pthread_mutex_unlock(&mu);
	free(mine);
	free(kind);
	free(buf);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile of a sorted set, in ms. */
static double pct(const sample_set *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)(p * (double)(s->n - 1) + 0.5);
	return s->v[i] * 1000;
}

int main(int argc, char **argv)
{
	const char *body_path = NULL;
	char *body = NULL;
	long body_len = 0;
	pthread_t *t;
	FILE *f;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (strcmp(o, "--tls") == 0 || strcmp(o, "--tcp") == 0 || strcmp(o, "--unix") == 0) {
			mode = o + 2;
			target = v;
		} else if (strcmp(o, "--cacert") == 0) {
			cacert = v;
		} else if (strcmp(o, "--cert") == 0) {
			cert = v;
		} else if (strcmp(o, "--key") == 0) {
			keyf = v;
		} else if (strcmp(o, "--path") == 0) {
			path = v;
		} else if (strcmp(o, "--body") == 0) {
			body_path = v;
		} else if (strcmp(o, "--connections") == 0) {
			n_conn = atoi(v);
		} else if (strcmp(o, "--seconds") == 0) {
			seconds = atof(v);
		} else if (strcmp(o, "--rate") == 0) {
			rate = atof(v);
		} else {
			fprintf(stderr, "serve_load: unknown option %s\n", o);
			return 2;
		}
	}
	if (mode == NULL || body_path == NULL || n_conn < 1) {
		fprintf(stderr, "usage: serve_load (--tls|--tcp HOST:PORT | --unix PATH) --body FILE "
				"[--cacert F --cert F --key F] [--path P] [--connections N] "
				"[--seconds S] [--rate R]\n");
		return 2;
	}
	f = fopen(body_path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (body_len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (body = malloc((size_t)body_len + 1)) == NULL ||
	    fread(body, 1, (size_t)body_len, f) != (size_t)body_len) {
		fprintf(stderr, "serve_load: cannot read %s\n", body_path);
		return 2;
	}
	fclose(f);
	request = malloc((size_t)body_len + 512);
	request_len = (size_t)snprintf(request, (size_t)body_len + 512,
				       "POST %s HTTP/1.1\r\nHost: qs-jwt\r\nContent-Type: "
				       "application/json\r\nContent-Length: %ld\r\n\r\n",
				       path, body_len);
	memcpy(request + request_len, body, (size_t)body_len);
	request_len += (size_t)body_len;
	if (strcmp(mode, "tls") == 0) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1 ||
		    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, keyf, SSL_FILETYPE_PEM) != 1) {
			ERR_print_errors_fp(stderr);
			return 2;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	all.v = malloc(sizeof(double) * MAX_SAMPLES);
	oks.v = malloc(sizeof(double) * MAX_SAMPLES);
	shed.v = malloc(sizeof(double) * MAX_SAMPLES);
	t = calloc((size_t)n_conn, sizeof(*t));
	if (all.v == NULL || oks.v == NULL || shed.v == NULL || t == NULL)
		return 2;
	t_start = now();
	t_end = t_start + seconds;
	for (int i = 0; i < n_conn; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < n_conn; i++)
		pthread_join(t[i], NULL);
	qsort(all.v, all.n, sizeof(double), cmp_double);
	qsort(oks.v, oks.n, sizeof(double), cmp_double);
	qsort(shed.v, shed.n, sizeof(double), cmp_double);
	printf("requests=%llu ok=%llu s429=%llu s503=%llu other=%llu errors=%llu reconnects=%llu "
	       "rps=%.1f ok_rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f ok_p50_ms=%.3f "
	       "ok_p99_ms=%.3f s503_p50_ms=%.3f s503_p99_ms=%.3f\n",
	       st_ok + st_429 + st_503 + st_other, st_ok, st_429, st_503, st_other, errors,
	       reconnects, (double)(st_ok + st_429 + st_503 + st_other) / seconds,
	       (double)st_ok / seconds, pct(&all, 0.5), pct(&all, 0.99), pct(&all, 1),
	       pct(&oks, 0.5), pct(&oks, 0.99), pct(&shed, 0.5), pct(&shed, 0.99));
	free(all.v);
	free(oks.v);
	free(shed.v);
	free(t);
	free(body);
	free(request);
	SSL_CTX_free(ctx);
	return 0;
}
