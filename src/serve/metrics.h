/*
 * What qs-jwt serve counts, rendered for GET /metrics in the Prometheus text
 * exposition format 0.0.4 (docs: prometheus.io/docs/instrumenting/
 * exposition_formats). Every call is thread-safe. Label values come from a
 * bounded set (route table, policy client names, HTTP status codes), never
 * from what a caller sends, so a caller cannot grow the series without end.
 */
#ifndef QSJWT_SERVE_METRICS_H
#define QSJWT_SERVE_METRICS_H

#include <stdint.h>

typedef struct metrics metrics;

/* The Content-Type of metrics_render()'s text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A new set of metrics (all zero, token "up") for build `version`
 * (copied). NULL when out of memory. Free with metrics_free(). */
metrics *metrics_new(const char *version);
void metrics_free(metrics *m);

/* One answered request on `route` (a route's path, or "(unknown)") with
 * HTTP `status`. */
void metrics_request(metrics *m, const char *route, int status);

/* A token decision for policy client `client` (NULL: no client matched the
 * caller, counted as "(none)"): issued (1) or denied (0). */
void metrics_token(metrics *m, const char *client, int issued);

/* One signature that took `us` microseconds, from the request handed to
 * the pool to the verified signature. */
void metrics_sign_latency(metrics *m, uint64_t us);

/* Whether the key can sign now (1) or not (0). */
void metrics_token_up(metrics *m, int up);

/* One login again after a token failure; or the count so far, from the
 * key's own tally (a counter never goes down: a smaller n is ignored). */
void metrics_relogin(metrics *m);
void metrics_relogins_set(metrics *m, uint64_t n);

/* One audit line that could not be written (its request got 503). */
void metrics_audit_failure(metrics *m);

/* One request shed: 503 because every signing place was taken. */
void metrics_shed(metrics *m);

/* The signing places taken now and their number (--jobs + --queue). */
void metrics_sign_load(metrics *m, unsigned in_use, unsigned limit);

/* The exposition text (NUL-terminated; free()), or NULL when out of
 * memory. Families in a fixed order, series in the order first seen. */
char *metrics_render(metrics *m);

#endif
