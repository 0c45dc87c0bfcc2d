/* serve/metrics: the exposition text byte for byte, label escaping, counts
 * from several threads. `test_metrics --dump` prints a filled-in text for
 * `promtool check metrics` (tests/unit/CMakeLists.txt). */
#include <pthread.h>
#include <stdlib.h>

#include "serve/metrics.h"

#include "unit.h"

static const char empty_text[] =
    "# HELP qsjwt_build_info The version of qs-jwt that serves.\n"
    "# TYPE qsjwt_build_info gauge\n"
    "qsjwt_build_info{version=\"0.1.0\"} 1\n"
    "# HELP qsjwt_http_requests_total HTTP requests answered, by route and status.\n"
    "# TYPE qsjwt_http_requests_total counter\n"
    "# HELP qsjwt_tokens_issued_total Tokens issued, by policy client.\n"
    "# TYPE qsjwt_tokens_issued_total counter\n"
    "# HELP qsjwt_tokens_denied_total Token requests refused, by policy client ((none): no "
    "client matched).\n"
    "# TYPE qsjwt_tokens_denied_total counter\n"
    "# HELP qsjwt_sign_duration_seconds Time to sign and verify one token.\n"
    "# TYPE qsjwt_sign_duration_seconds histogram\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.0005\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.001\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.0025\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.005\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.01\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.025\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.05\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.1\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.25\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.5\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"1\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"2.5\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"5\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"10\"} 0\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"+Inf\"} 0\n"
    "qsjwt_sign_duration_seconds_sum 0.000000\n"
    "qsjwt_sign_duration_seconds_count 0\n"
    "# HELP qsjwt_token_up Whether the key can sign now (1) or not (0).\n"
    "# TYPE qsjwt_token_up gauge\n"
    "qsjwt_token_up 1\n"
    "# HELP qsjwt_relogins_total Logins to the token again after a token failure.\n"
    "# TYPE qsjwt_relogins_total counter\n"
    "qsjwt_relogins_total 0\n"
    "# HELP qsjwt_audit_failures_total Audit lines that could not be written (their "
    "requests got 503).\n"
    "# TYPE qsjwt_audit_failures_total counter\n"
    "qsjwt_audit_failures_total 0\n"
    "# HELP qsjwt_requests_shed_total Token requests answered 503 at once because every "
    "signing place was taken.\n"
    "# TYPE qsjwt_requests_shed_total counter\n"
    "qsjwt_requests_shed_total 0\n"
    "# HELP qsjwt_sign_places_in_use Token requests signing or waiting for a signing worker "
    "now.\n"
    "# TYPE qsjwt_sign_places_in_use gauge\n"
    "qsjwt_sign_places_in_use 0\n"
    "# HELP qsjwt_sign_places Token requests that may sign or wait for a worker at once "
    "(--jobs + --queue).\n"
    "# TYPE qsjwt_sign_places gauge\n"
    "qsjwt_sign_places 0\n";

static const char filled_text[] =
    "# HELP qsjwt_build_info The version of qs-jwt that serves.\n"
    "# TYPE qsjwt_build_info gauge\n"
    "qsjwt_build_info{version=\"1.2.3\"} 1\n"
    "# HELP qsjwt_http_requests_total HTTP requests answered, by route and status.\n"
    "# TYPE qsjwt_http_requests_total counter\n"
    "qsjwt_http_requests_total{route=\"/v1/qseow\",status=\"200\"} 2\n"
    "qsjwt_http_requests_total{route=\"/v1/qseow\",status=\"403\"} 1\n"
    "qsjwt_http_requests_total{route=\"(unknown)\",status=\"404\"} 1\n"
    "# HELP qsjwt_tokens_issued_total Tokens issued, by policy client.\n"
    "# TYPE qsjwt_tokens_issued_total counter\n"
    "qsjwt_tokens_issued_total{client=\"portal\"} 2\n"
    "# HELP qsjwt_tokens_denied_total Token requests refused, by policy client ((none): no "
    "client matched).\n"
    "# TYPE qsjwt_tokens_denied_total counter\n"
    "qsjwt_tokens_denied_total{client=\"a\\\"b\\\\c\\nd\"} 1\n"
    "qsjwt_tokens_denied_total{client=\"(none)\"} 1\n"
    "# HELP qsjwt_sign_duration_seconds Time to sign and verify one token.\n"
    "# TYPE qsjwt_sign_duration_seconds histogram\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.0005\"} 1\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.001\"} 2\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.0025\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.005\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.01\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.025\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.05\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.1\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.25\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"0.5\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"1\"} 3\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"2.5\"} 4\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"5\"} 4\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"10\"} 4\n"
    "qsjwt_sign_duration_seconds_bucket{le=\"+Inf\"} 5\n"
    "qsjwt_sign_duration_seconds_sum 12.003001\n"
    "qsjwt_sign_duration_seconds_count 5\n"
    "# HELP qsjwt_token_up Whether the key can sign now (1) or not (0).\n"
    "# TYPE qsjwt_token_up gauge\n"
    "qsjwt_token_up 0\n"
    "# HELP qsjwt_relogins_total Logins to the token again after a token failure.\n"
    "# TYPE qsjwt_relogins_total counter\n"
    "qsjwt_relogins_total 2\n"
    "# HELP qsjwt_audit_failures_total Audit lines that could not be written (their "
    "requests got 503).\n"
    "# TYPE qsjwt_audit_failures_total counter\n"
    "qsjwt_audit_failures_total 1\n"
    "# HELP qsjwt_requests_shed_total Token requests answered 503 at once because every "
    "signing place was taken.\n"
    "# TYPE qsjwt_requests_shed_total counter\n"
    "qsjwt_requests_shed_total 2\n"
    "# HELP qsjwt_sign_places_in_use Token requests signing or waiting for a signing worker "
    "now.\n"
    "# TYPE qsjwt_sign_places_in_use gauge\n"
    "qsjwt_sign_places_in_use 3\n"
    "# HELP qsjwt_sign_places Token requests that may sign or wait for a worker at once "
    "(--jobs + --queue).\n"
    "# TYPE qsjwt_sign_places gauge\n"
    "qsjwt_sign_places 10\n";

static void check_text(metrics *m, const char *want)
{
	char *got = metrics_render(m);

	assert_non_null(got);
	if (strcmp(got, want) != 0) {
		unit_print_bytes("got", got, strlen(got));
		unit_print_bytes("want", want, strlen(want));
		free(got);
		fail();
	}
	free(got);
}

static void fill(metrics *m)
{
	metrics_request(m, "/v1/qseow", 200);
	metrics_request(m, "/v1/qseow", 403);
	metrics_request(m, "/v1/qseow", 200);
	metrics_request(m, "(unknown)", 404);
	metrics_token(m, "portal", 1);
	metrics_token(m, "portal", 1);
	/* A client name holds what the policy's author wrote. */
	metrics_token(m, "a\"b\\c\nd", 0);
	metrics_token(m, NULL, 0);
	metrics_sign_latency(m, 500);	  /* on a bound: in that bucket */
	metrics_sign_latency(m, 501);	  /* just above: the next one */
	metrics_sign_latency(m, 1500);
	metrics_sign_latency(m, 2000000);
	metrics_sign_latency(m, 10000500); /* above the last: +Inf only */
	metrics_token_up(m, 0);
	metrics_relogin(m);
	metrics_relogin(m);
	metrics_relogins_set(m, 1); /* below the count: ignored */
	metrics_audit_failure(m);
	metrics_shed(m);
	metrics_shed(m);
	metrics_sign_load(m, 3, 10);
}

static void empty(void **state)
{
	metrics *m = metrics_new("0.1.0");

	(void)state;
	assert_non_null(m);
	check_text(m, empty_text);
	metrics_free(m);
}

static void filled(void **state)
{
	metrics *m = metrics_new("1.2.3");

	(void)state;
	assert_non_null(m);
	fill(m);
	check_text(m, filled_text);
	/* Up again: the gauge follows; the key's own tally moves the
	 * re-login counter on. */
	metrics_token_up(m, 1);
	metrics_relogins_set(m, 5);
	{
		char *t = metrics_render(m);
		assert_non_null(strstr(t, "\nqsjwt_token_up 1\n"));
		assert_non_null(strstr(t, "\nqsjwt_relogins_total 5\n"));
		free(t);
	}
	metrics_free(m);
}

#define N_THREADS 4
#define N_PER_THREAD 20000

static void *hammer(void *arg)
{
	metrics *m = arg;

	for (int i = 0; i < N_PER_THREAD; i++) {
		metrics_request(m, "/v1/qseow", i % 2 ? 200 : 429);
		metrics_token(m, "portal", 1);
		metrics_sign_latency(m, 1);
	}
	return NULL;
}

static void threads(void **state)
{
	metrics *m = metrics_new("0.1.0");
	pthread_t t[N_THREADS];
	char *text;

	(void)state;
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, m), 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(t[i], NULL);
	text = metrics_render(m);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nqsjwt_http_requests_total{route=\"/v1/qseow\",status="
				     "\"429\"} 40000\n"
				     "qsjwt_http_requests_total{route=\"/v1/qseow\",status="
				     "\"200\"} 40000\n"));
	assert_non_null(strstr(text, "\nqsjwt_tokens_issued_total{client=\"portal\"} 80000\n"));
	assert_non_null(strstr(text, "\nqsjwt_sign_duration_seconds_sum 0.080000\n"
				     "qsjwt_sign_duration_seconds_count 80000\n"));
	free(text);
	metrics_free(m);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty),
	    cmocka_unit_test(filled),
	    cmocka_unit_test(threads),
	};

	if (argc == 2 && strcmp(argv[1], "--dump") == 0) {
		metrics *m = metrics_new("0.1.0");
		char *t;
		int rc = 1;
		if (m != NULL) {
			fill(m);
			t = metrics_render(m);
			if (t != NULL && fputs(t, stdout) >= 0 && fflush(stdout) == 0)
				rc = 0;
			free(t);
		}
		metrics_free(m);
		return rc;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
