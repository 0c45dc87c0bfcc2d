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

/* POST /v1/qseow: the token create-qseow would print for these values. */
static void qseow(serve_state *st, const serve_caller *c, const char *body, size_t len, reply *out)
{
	policy *p = state_policy(st);
	const policy_client *pc = NULL;
	qseow_request q;
	serve_request sr;
	audit_record rec;
	char *err = NULL, *payload = NULL, *token = NULL, *why = NULL, hex[65];
	size_t payload_len = 0;
	int64_t iat = now_s(), exp = 0;
	uint64_t t0;
	int parsed = 0, status = 0, allowed = 0;
	const char *reason = NULL;
	qsjwt_err rc;

	memset(&sr, 0, sizeof(sr));
	memset(&rec, 0, sizeof(rec));
	sr.kind = REQ_QSEOW;
	pc = p != NULL ? policy_match(p, c) : NULL;
	if (pc == NULL) {
		status = 403;
		reason = ROUTE_UNKNOWN_CALLER;
		goto answer;
	}
	if (policy_rate_take(pc, mono_ms()) != 0) {
		status = 429;
		reason = "over the client's requests_per_minute";
		goto answer;
	}
	err = qseow_request_parse(body, len, "body", &q);
	if (err == NULL) {
		parsed = 1;
		sr.userdir = q.userdir;
		sr.userid = q.userid;
		sr.audience = q.audience;
		sr.groups = (const char *const *)q.groups;
		sr.n_groups = q.n_groups;
		err = qseow_request_payload(&q, NULL, NULL, 0, iat, &payload, &payload_len, &exp);
	}
	if (err != NULL) {
		status = 400;
		reason = err;
		goto answer;
	}
	sr.lifetime = exp - iat;
	switch (policy_check(pc, &sr, &why)) {
	case 0:
		break;
	case 1:
		status = 403;
		reason = why != NULL ? why : "the policy refuses the request";
		goto answer;
	default:
		status = 503;
		reason = "out of memory";
		goto answer;
	}
	t0 = mono_us();
	rc = pool_sign(st->pool, st->alg, payload, payload_len, SERVE_SIGN_TIMEOUT_MS, &token);
	if (rc == QSJWT_OK)
		metrics_sign_latency(st->metrics, mono_us() - t0);
	/* Whether the key signed the last time it was asked. */
	metrics_token_up(st->metrics, rc == QSJWT_OK || rc == QSJWT_ERR_INTERRUPTED);
	if (rc != QSJWT_OK) {
		status = 503;
		reason = rc == QSJWT_ERR_INTERRUPTED ? "the key did not sign in time"
						     : "the key cannot sign now";
		log_error("POST /v1/qseow: %s (%s)", reason, qsjwt_err_str(rc));
		goto answer;
	}
	if (sha256_hex(token, hex) != 0) {
		status = 503;
		reason = "cannot hash the token for the audit log";
		goto answer;
	}
	status = 200;
	allowed = 1;
answer:
	rec.time = iat;
	rec.caller = c;
	rec.client = pc != NULL ? policy_client_name(pc) : NULL;
	rec.route = "/v1/qseow";
	rec.req = parsed ? &sr : NULL;
	rec.allowed = allowed;
	rec.reason = reason;
	rec.status = status;
	rec.exp = status == 200 ? exp : 0;
	rec.token_sha256 = status == 200 ? hex : NULL;
	reply_error(out, status, reason != NULL ? reason : "");
	if (audited(st, &rec, out) == 0 && status == 200) {
		/* Sized once: a growing buffer would leave copies of the token
		 * in freed memory. */
		size_t n = strlen(token) + 64;
		char *text = malloc(n);
		reply_release(out);
		if (text == NULL) {
			reply_error(out, 503, "out of memory");
		} else {
			snprintf(text, n, "{\"token\":\"%s\",\"exp\":%lld}\n", token,
				 (long long)exp);
			out->status = 200;
			out->body = text;
			out->secret = 1;
			out->content_type = "application/json";
		}
	}
	qsjwt_secret_free(token);
	free(payload);
	free(why);
	free(err);
	if (parsed)
		qseow_request_release(&q);
	policy_unref(p);
}

/* GET /healthz: whether the key can sign now. */
static void healthz(serve_state *st, const serve_caller *c, const char *body, size_t len,
		    reply *out)
{
	(void)st;
	(void)c;
	(void)body;
	(void)len;
	reply_release(out);
	out->status = 200;
	out->body = strdup("{\"status\":\"ok\"}\n");
	out->content_type = "application/json";
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

	(void)body;
	(void)len;
	reply_release(out);
	if (pc != NULL && policy_allows_metrics(pc)) {
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
    {"/v1/qseow", "POST", 1, 1, qseow},
    {"/healthz", "GET", 0, 0, healthz},
    {"/metrics", "GET", 0, 0, metrics_route},
};

const route *route_find(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	}
	return NULL;
}
