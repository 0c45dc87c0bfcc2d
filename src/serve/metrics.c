#include "serve/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

/* One labelled series: its label pairs already rendered and escaped. */
typedef struct series {
	struct series *next;
	uint64_t value;
	char labels[];
} series;

typedef struct {
	series *head, **tail;
} family;

/* Signing latency buckets, upper bounds in microseconds and as written in
 * the "le" label (a software key signs in about 1 ms, a smartcard in
 * 100 ms or more). */
static const uint64_t bucket_us[] = {500,    1000,   2500,    5000,	   10000,   25000,  50000,
				     100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
static const char *const bucket_le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
					"0.025",  "0.05",  "0.1",    "0.25",  "0.5",
					"1",	  "2.5",   "5",	     "10"};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct metrics {
	pthread_mutex_t mu;
	char *version;
	family requests, issued, denied;
	uint64_t bucket[N_BUCKETS]; /* not cumulative; summed when rendered */
	uint64_t sign_count, sign_sum_us;
	int token_up;
	uint64_t relogins, audit_failures, shed;
	unsigned in_use, limit;
};

/* A label value escaped as the format says: backslash, double quote and
 * line feed become \\, \" and \n. */
static void add_label_value(strbuf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			strbuf_addstr(b, "\\\\");
		else if (*v == '"')
			strbuf_addstr(b, "\\\"");
		else if (*v == '\n')
			strbuf_addstr(b, "\\n");
		else
			strbuf_addch(b, *v);
	}
}

static void family_init(family *f)
{
	f->head = NULL;
	f->tail = &f->head;
}

static void family_release(family *f)
{
	series *s = f->head, *next;

	for (; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	family_init(f);
}

/* Add 1 to the series of `f` with rendered labels `labels`, creating it
 * when new. Called under the mutex; an allocation failure loses the count
 * (metrics never fail a request). */
static void family_inc(family *f, const char *labels)
{
	series *s;
	size_t n;

	for (s = f->head; s != NULL; s = s->next) {
		if (strcmp(s->labels, labels) == 0) {
			s->value++;
			return;
		}
	}
	n = strlen(labels) + 1;
	s = malloc(sizeof(*s) + n);
	if (s == NULL)
		return;
	s->next = NULL;
	s->value = 1;
	memcpy(s->labels, labels, n);
	*f->tail = s;
	f->tail = &s->next;
}

metrics *metrics_new(const char *version)
{
	metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->version = strdup(version);
	if (m->version == NULL) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->mu, NULL);
	family_init(&m->requests);
	family_init(&m->issued);
	family_init(&m->denied);
	m->token_up = 1;
	return m;
}

void metrics_free(metrics *m)
{
	if (m == NULL)
		return;
	family_release(&m->requests);
	family_release(&m->issued);
	family_release(&m->denied);
	pthread_mutex_destroy(&m->mu);
	free(m->version);
	free(m);
}

/* Add 1 to `f` under labels name1="v1"[,name2="v2"]. */
static void inc_labelled(metrics *m, family *f, const char *name1, const char *v1,
			 const char *name2, const char *v2)
{
	strbuf b;

	strbuf_init(&b);
	strbuf_addstr(&b, name1);
	strbuf_addstr(&b, "=\"");
	add_label_value(&b, v1);
	strbuf_addch(&b, '"');
	if (name2 != NULL) {
		strbuf_addch(&b, ',');
		strbuf_addstr(&b, name2);
		strbuf_addstr(&b, "=\"");
		add_label_value(&b, v2);
		strbuf_addch(&b, '"');
	}
	if (!b.failed) {
		pthread_mutex_lock(&m->mu);
		family_inc(f, b.data);
		pthread_mutex_unlock(&m->mu);
	}
	strbuf_release(&b);
}

void metrics_request(metrics *m, const char *route, int status)
{
	char code[16];

	snprintf(code, sizeof(code), "%d", status);
	inc_labelled(m, &m->requests, "route", route, "status", code);
}

void metrics_token(metrics *m, const char *client, int issued)
{
	inc_labelled(m, issued ? &m->issued : &m->denied, "client",
		     client != NULL ? client : "(none)", NULL, NULL);
}

void metrics_sign_latency(metrics *m, uint64_t us)
{
	size_t i;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < N_BUCKETS && us > bucket_us[i]; i++)
		;
	if (i < N_BUCKETS)
		m->bucket[i]++;
	m->sign_count++;
	m->sign_sum_us += us;
	pthread_mutex_unlock(&m->mu);
}

void metrics_token_up(metrics *m, int up)
{
	pthread_mutex_lock(&m->mu);
	m->token_up = up != 0;
	pthread_mutex_unlock(&m->mu);
}

void metrics_relogin(metrics *m)
{
	pthread_mutex_lock(&m->mu);
	m->relogins++;
	pthread_mutex_unlock(&m->mu);
}

void metrics_relogins_set(metrics *m, uint64_t n)
{
	pthread_mutex_lock(&m->mu);
	if (n > m->relogins)
		m->relogins = n;
	pthread_mutex_unlock(&m->mu);
}

void metrics_audit_failure(metrics *m)
{
	pthread_mutex_lock(&m->mu);
	m->audit_failures++;
	pthread_mutex_unlock(&m->mu);
}

void metrics_shed(metrics *m)
{
	pthread_mutex_lock(&m->mu);
	m->shed++;
	pthread_mutex_unlock(&m->mu);
}

void metrics_sign_load(metrics *m, unsigned in_use, unsigned limit)
{
	pthread_mutex_lock(&m->mu);
	m->in_use = in_use;
	m->limit = limit;
	pthread_mutex_unlock(&m->mu);
}

static void add_u64(strbuf *b, uint64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	strbuf_addstr(b, num);
}

/* The # HELP and # TYPE lines of a family (help texts hold neither a
 * backslash nor a line feed, the two characters HELP escapes). */
static void add_head(strbuf *b, const char *name, const char *type, const char *help)
{
	strbuf_addstr(b, "# HELP ");
	strbuf_addstr(b, name);
	strbuf_addch(b, ' ');
	strbuf_addstr(b, help);
	strbuf_addstr(b, "\n# TYPE ");
	strbuf_addstr(b, name);
	strbuf_addch(b, ' ');
	strbuf_addstr(b, type);
	strbuf_addch(b, '\n');
}

static void add_family(strbuf *b, const char *name, const char *help, const family *f)
{
	add_head(b, name, "counter", help);
	for (const series *s = f->head; s != NULL; s = s->next) {
		strbuf_addstr(b, name);
		strbuf_addch(b, '{');
		strbuf_addstr(b, s->labels);
		strbuf_addstr(b, "} ");
		add_u64(b, s->value);
		strbuf_addch(b, '\n');
	}
}

static void add_plain(strbuf *b, const char *name, const char *type, const char *help,
		      uint64_t v)
{
	add_head(b, name, type, help);
	strbuf_addstr(b, name);
	strbuf_addch(b, ' ');
	add_u64(b, v);
	strbuf_addch(b, '\n');
}

char *metrics_render(metrics *m)
{
	strbuf b;
	uint64_t cum = 0;
	char sum[96];

	strbuf_init(&b);
	pthread_mutex_lock(&m->mu);
	add_head(&b, "qsjwt_build_info", "gauge", "The version of qs-jwt that serves.");
	strbuf_addstr(&b, "qsjwt_build_info{version=\"");
	add_label_value(&b, m->version);
	strbuf_addstr(&b, "\"} 1\n");
	add_family(&b, "qsjwt_http_requests_total", "HTTP requests answered, by route and status.",
		   &m->requests);
	add_family(&b, "qsjwt_tokens_issued_total", "Tokens issued, by policy client.",
		   &m->issued);
	add_family(&b, "qsjwt_tokens_denied_total",
		   "Token requests refused, by policy client ((none): no client matched).",
		   &m->denied);
	add_head(&b, "qsjwt_sign_duration_seconds", "histogram",
		 "Time to sign and verify one token.");
	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += m->bucket[i];
		strbuf_addstr(&b, "qsjwt_sign_duration_seconds_bucket{le=\"");
		strbuf_addstr(&b, bucket_le[i]);
		strbuf_addstr(&b, "\"} ");
		add_u64(&b, cum);
		strbuf_addch(&b, '\n');
	}
	strbuf_addstr(&b, "qsjwt_sign_duration_seconds_bucket{le=\"+Inf\"} ");
	add_u64(&b, m->sign_count);
	/* Integer arithmetic: a float printed with printf would follow the
	 * locale's decimal point. */
	snprintf(sum, sizeof(sum), "\nqsjwt_sign_duration_seconds_sum %llu.%06llu\n",
		 (unsigned long long)(m->sign_sum_us / 1000000),
		 (unsigned long long)(m->sign_sum_us % 1000000));
	strbuf_addstr(&b, sum);
	strbuf_addstr(&b, "qsjwt_sign_duration_seconds_count ");
	add_u64(&b, m->sign_count);
	strbuf_addch(&b, '\n');
	add_plain(&b, "qsjwt_token_up", "gauge", "Whether the key can sign now (1) or not (0).",
		  (uint64_t)m->token_up);
	add_plain(&b, "qsjwt_relogins_total", "counter",
		  "Logins to the token again after a token failure.", m->relogins);
	add_plain(&b, "qsjwt_audit_failures_total", "counter",
		  "Audit lines that could not be written (their requests got 503).",
		  m->audit_failures);
	add_plain(&b, "qsjwt_requests_shed_total", "counter",
		  "Token requests answered 503 at once because every signing place was taken.",
		  m->shed);
	add_plain(&b, "qsjwt_sign_places_in_use", "gauge",
		  "Token requests signing or waiting for a signing worker now.",
		  (uint64_t)m->in_use);
	add_plain(&b, "qsjwt_sign_places", "gauge",
		  "Token requests that may sign or wait for a worker at once (--jobs + --queue).",
		  (uint64_t)m->limit);
	pthread_mutex_unlock(&m->mu);
	return strbuf_detach(&b, NULL);
}
