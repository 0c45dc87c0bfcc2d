#include "serve/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "jose/json.h"
#include "jose/request.h"
#include "util/log.h"
#include "util/strbuf.h"

static int64_t now_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (int64_t)time(NULL);
	return (int64_t)ts.tv_sec;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void reply_release(reply *r)
{
	if (r->body != NULL && r->secret)
		qsjwt_secret_free(r->body);
	else
		free(r->body);
	memset(r, 0, sizeof(*r));
}

void reply_error(reply *out, int status, const char *msg)
{
	strbuf b;
	char safe[600];

	/* Messages quote what the caller sent: shown escaped when it is not
	 * UTF-8, so the JSON answer stays valid. */
	if (!utf8_valid(msg, strlen(msg))) {
		log_escape(msg, safe, sizeof(safe));
		msg = safe;
	}
	reply_release(out);
	strbuf_init(&b);
	strbuf_addstr(&b, "{\"error\":");
	json_append_string(&b, msg);
	strbuf_addstr(&b, "}\n");
	out->status = status;
	out->body = strbuf_detach(&b, NULL);
	out->content_type = "application/json";
}

/* Write the audit line; on failure the answer becomes 503 (no audit line,
 * no token). 0 or -1. */
static int audited(serve_state *st, const audit_record *rec, reply *out)
{
	char *err = NULL;

	if (audit_write(st->audit, rec, &err) == 0) {
		/* A token decision: counted once its line is written. */
		if (rec->route != NULL && (strcmp(rec->route, "/v1/qseow") == 0 ||
					   strcmp(rec->route, "/v1/qscloud") == 0))
			metrics_token(st->metrics, rec->client, rec->allowed);
		return 0;
	}
	metrics_audit_failure(st->metrics);
	log_error("%s: the request is refused", err != NULL ? err : "cannot write the audit log");
	free(err);
	reply_error(out, 503, "the audit log cannot be written: nothing is issued");
	return -1;
}

void route_refuse(serve_state *st, const serve_caller *c, const route *r, int status,
		  const char *msg, reply *out)
{
	policy *p = state_policy(st);
	const policy_client *pc = p != NULL ? policy_match(p, c) : NULL;
	audit_record rec;

	reply_error(out, status, msg);
	if (r == NULL || r->audited) {
		memset(&rec, 0, sizeof(rec));
		rec.time = now_s();
		rec.caller = c;
		rec.client = pc != NULL ? policy_client_name(pc) : NULL;
		rec.route = r != NULL ? r->path : "(unknown)";
		rec.reason = msg;
		rec.status = status;
		(void)audited(st, &rec, out);
	}
	policy_unref(p);
}

int route_caller_known(serve_state *st, const serve_caller *c)
{
	policy *p = state_policy(st);
	int known = p != NULL && policy_match(p, c) != NULL;

	policy_unref(p);
	return known;
}

/* Lowercase hex SHA-256 of s into hex (65 bytes). */
static int sha256_hex(const char *s, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* The parsed request of a token route: what the policy sees, what is signed. */
typedef struct {
	serve_request sr;
	int parsed;
	qseow_request qe;
	qscloud_request qc;
	char *jti;
	const char *kid;
	char *payload;
	size_t payload_len;
	int64_t exp;
} token_req;

/* Parse body for route kind into t; NULL or the 400 message (caller frees). */
static char *parse_token_req(serve_req_kind kind, const char *body, size_t len, int64_t iat,
			     token_req *t)
{
	char *err;

	t->sr.kind = kind;
	if (kind == REQ_QSEOW) {
		err = qseow_request_parse(body, len, "body", &t->qe);
		if (err != NULL)
			return err;
		t->parsed = 1;
		t->sr.userdir = t->qe.userdir;
		t->sr.userid = t->qe.userid;
		t->sr.audience = t->qe.audience;
		t->sr.groups = (const char *const *)t->qe.groups;
		t->sr.n_groups = t->qe.n_groups;
		return qseow_request_payload(&t->qe, NULL, NULL, 0, iat, &t->payload,
					     &t->payload_len, &t->exp);
	}
	err = qscloud_request_parse(body, len, "body", &t->qc);
	if (err != NULL)
		return err;
	t->parsed = 1;
	t->sr.sub = t->qc.sub;
	t->sr.issuer = t->qc.issuer;
	t->sr.keyid = t->qc.keyid;
	t->sr.groups = (const char *const *)t->qc.groups;
	t->sr.n_groups = t->qc.n_groups;
	t->kid = t->qc.keyid;
	/* The original's random jti: 16 bytes. */
	if (qsjwt_random_b64url(16, &t->jti) != QSJWT_OK)
		return strdup("cannot make a random jti");
	return qscloud_request_payload(&t->qc, t->jti, iat, &t->payload, &t->payload_len, &t->exp);
}

static void token_req_release(token_req *t)
{
	free(t->payload);
	free(t->jti);
	if (t->parsed && t->sr.kind == REQ_QSEOW)
		qseow_request_release(&t->qe);
	if (t->parsed && t->sr.kind == REQ_QSCLOUD)
		qscloud_request_release(&t->qc);
}

/* A token request between its checks and its answer: it may wait for a
 * signature on another thread (a signing place, server.c). */
struct token_work {
	serve_state *st;
	const serve_caller *c; /* the request's: lives as long as it */
	const char *route_path;
	policy *p;
	const policy_client *pc;
	token_req t;
	char *err, *why, *token;
	const char *reason;
	int64_t iat;
	int status, shed;
};

static void token_work_free(token_work *w)
{
	qsjwt_secret_free(w->token);
	free(w->why);
	free(w->err);
	token_req_release(&w->t);
	policy_unref(w->p);
	free(w);
}

/* The checks of a token route, in order: caller known, within its rate,
 * request well-formed and allowed, a signing place free. 1: w must be
 * signed (route_token_sign); 0: w->status holds the refusal. */
static int token_check(token_work *w, serve_req_kind kind, const char *body, size_t len)
{
	serve_state *st = w->st;

	w->pc = w->p != NULL ? policy_match(w->p, w->c) : NULL;
	if (w->pc == NULL) {
		w->status = 403;
		w->reason = ROUTE_UNKNOWN_CALLER;
		return 0;
	}
	if (policy_rate_take(w->pc, mono_ms()) != 0) {
		w->status = 429;
		w->reason = "over the client's requests_per_minute";
		return 0;
	}
	w->err = parse_token_req(kind, body, len, w->iat, &w->t);
	if (w->err != NULL) {
		w->status = 400;
		w->reason = w->err;
		return 0;
	}
	w->t.sr.lifetime = w->t.exp - w->iat;
	switch (policy_check(w->pc, &w->t.sr, &w->why)) {
	case 0: break;
	case 1:
		w->status = 403;
		w->reason = w->why != NULL ? w->why : "the policy refuses the request";
		return 0;
	default:
		w->status = 503;
		w->reason = "out of memory";
		return 0;
	}
	/* Overload: beyond --jobs + --queue a request is answered now rather
	 * than waiting (docs/serve-production.md). 503, not 429: the
	 * server's state, not this caller's rate. */
	if (!keyholder_enter(st->key)) {
		w->status = 503;
		w->reason = ROUTE_OVERLOADED;
		w->shed = 1;
		metrics_shed(st->metrics);
		return 0;
	}
	return 1;
}

int route_token_begin(serve_state *st, const serve_caller *c, const route *r, const char *body,
		      size_t len, token_work **out)
{
	token_work *w = calloc(1, sizeof(*w));

	*out = w;
	if (w == NULL)
		return 0;
	w->st = st;
	w->c = c;
	w->route_path = r->path;
	w->iat = now_s();
	w->p = state_policy(st);
	return token_check(w, r->token == 2 ? REQ_QSCLOUD : REQ_QSEOW, body, len);
}

void route_token_sign(token_work *w)
{
	serve_state *st = w->st;
	uint64_t t0 = mono_us();
	qsjwt_err rc;

	rc = keyholder_sign(st->key, st->alg, w->t.kid, w->t.payload, w->t.payload_len, &w->token,
			    &w->reason);
	keyholder_leave(st->key);
	if (rc == QSJWT_OK) {
		metrics_sign_latency(st->metrics, mono_us() - t0);
		w->status = 200;
		return;
	}
	w->status = 503;
	log_error("POST %s: %s (%s)", w->route_path, w->reason, qsjwt_err_str(rc));
}

/* Audited; only then the token. */
void route_token_end(token_work *w, reply *out)
{
	audit_record rec;
	char hex[65];

	if (w == NULL) {
		reply_error(out, 503, "out of memory");
		return;
	}
	if (w->status == 200 && sha256_hex(w->token, hex) != 0) {
		w->status = 503;
		w->reason = "cannot hash the token for the audit log";
	}
	memset(&rec, 0, sizeof(rec));
	rec.time = w->iat;
	rec.caller = w->c;
	rec.client = w->pc != NULL ? policy_client_name(w->pc) : NULL;
	rec.route = w->route_path;
	rec.req = w->t.parsed ? &w->t.sr : NULL;
	rec.allowed = w->status == 200;
	rec.reason = w->status == 200 ? NULL : w->reason;
	rec.status = w->status;
	rec.exp = w->status == 200 ? w->t.exp : 0;
	rec.token_sha256 = w->status == 200 ? hex : NULL;
	reply_error(out, w->status, w->reason != NULL && w->status != 200 ? w->reason : "");
	out->retry_after = w->shed;
	if (audited(w->st, &rec, out) == 0 && w->status == 200) {
		/* Sized once: a growing buffer would leave copies of the token
		 * in freed memory. */
		size_t n = strlen(w->token) + 64;
		char *text = malloc(n);
		reply_release(out);
		if (text == NULL) {
			reply_error(out, 503, "out of memory");
		} else {
			snprintf(text, n, "{\"token\":\"%s\",\"exp\":%lld}\n", w->token,
				 (long long)w->t.exp);
			out->status = 200;
			out->body = text;
			out->secret = 1;
			out->content_type = "application/json";
		}
	}
	token_work_free(w);
}

/* A token route in one go (the signature waited for here). */
static void token_route(serve_state *st, const serve_caller *c, const route *r, const char *body,
			size_t len, reply *out)
{
	token_work *w = NULL;

	if (route_token_begin(st, c, r, body, len, &w) == 1)
		route_token_sign(w);
	route_token_end(w, out);
}

/* POST /v1/qseow: the token create-qseow would print for these values. */
static void qseow(serve_state *st, const serve_caller *c, const char *body, size_t len,
		  reply *out)
{
	token_route(st, c, route_find("/v1/qseow"), body, len, out);
}

/* POST /v1/qscloud: as create-qscloud (a random jti, kid in the header). */
static void qscloud(serve_state *st, const serve_caller *c, const char *body, size_t len,
		    reply *out)
{
	token_route(st, c, route_find("/v1/qscloud"), body, len, out);
}

/* GET /healthz: whether the key can sign now. */
static void healthz(serve_state *st, const serve_caller *c, const char *body, size_t len,
		    reply *out)
{
	char why[256];

	(void)c;
	(void)body;
	(void)len;
	if (!keyholder_healthy(st->key, why, sizeof(why))) {
		reply_error(out, 503, why);
		return;
	}
	reply_release(out);
	out->status = 200;
	out->body = strdup("{\"status\":\"ok\"}\n");
	out->content_type = "application/json";
}

/* GET /v1/certificate: public, for whoever configures the proxy. */
static void certificate(serve_state *st, const serve_caller *c, const char *body, size_t len,
			reply *out)
{
	(void)c;
	(void)body;
	(void)len;
	if (st->cert_pem == NULL) {
		reply_error(out, 404,
			    "no certificate: start the service with --certificate FILE, or store "
			    "one beside the token key");
		return;
	}
	reply_release(out);
	out->status = 200;
	out->body = strdup(st->cert_pem);
	out->content_type = "application/x-pem-file";
}

/* GET /metrics: the Prometheus text, for policy clients with
 * "metrics": true. A refusal is audited (a decision like any other); a
 * scrape that is allowed is not (it says nothing about tokens and comes
 * every few seconds). */
static void metrics_route(serve_state *st, const serve_caller *c, const char *body, size_t len,
			  reply *out)
{
	policy *p = state_policy(st);
	const policy_client *pc = p != NULL ? policy_match(p, c) : NULL;
	audit_record rec;
	char why[300];
	unsigned in_use = 0, limit = 0;

	(void)body;
	(void)len;
	reply_release(out);
	if (pc != NULL && policy_allows_metrics(pc)) {
		char why_down[256];
		metrics_token_up(st->metrics, keyholder_healthy(st->key, why_down, sizeof(why_down)));
		metrics_relogins_set(st->metrics, keyholder_relogins(st->key));
		keyholder_load(st->key, &in_use, &limit);
		metrics_sign_load(st->metrics, in_use, limit);
		out->body = metrics_render(st->metrics);
		out->status = out->body != NULL ? 200 : 503;
		out->content_type = METRICS_CONTENT_TYPE;
		if (out->body == NULL)
			reply_error(out, 503, "out of memory");
		goto out;
	}
	if (pc == NULL)
		snprintf(why, sizeof(why), "%s", ROUTE_UNKNOWN_CALLER);
	else
		snprintf(why, sizeof(why), "client \"%.200s\" may not read /metrics",
			 policy_client_name(pc));
	reply_error(out, 403, why);
	memset(&rec, 0, sizeof(rec));
	rec.time = now_s();
	rec.caller = c;
	rec.client = pc != NULL ? policy_client_name(pc) : NULL;
	rec.route = "/metrics";
	rec.reason = why;
	rec.status = 403;
	(void)audited(st, &rec, out);
out:
	policy_unref(p);
}

static const route routes[] = {
    {"/v1/qseow", "POST", 1, 1, 1, qseow},
    {"/v1/qscloud", "POST", 1, 1, 2, qscloud},
    {"/v1/certificate", "GET", 0, 0, 0, certificate},
    {"/healthz", "GET", 0, 0, 0, healthz},
    {"/metrics", "GET", 0, 0, 0, metrics_route},
};

const route *route_find(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	}
	return NULL;
}
