/* The signing pool: tokens from pool_sign equal qsjwt_jwt_sign's (RS256 is
 * deterministic), async jobs all done in any number of workers, a cancelled
 * pool takes nothing, and the request parser shared by --batch and serve. */
#include <pthread.h>
#include <stdlib.h>

#include "jose/request.h"
#include "pool/pool.h"

#include "unit.h"

static qsjwt_signer *key;

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	size_t len;
	char *pem = slurp(QSJWT_TEST_DATA "/vectors/privatekey.pem", &len);

	(void)state;
	assert_int_equal(qsjwt_signer_from_pem(pem, len, "test key", NULL, NULL, &key), QSJWT_OK);
	free(pem);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	qsjwt_signer_free(key);
	return 0;
}

static const char pl[] = "{\"userId\":\"jdoe\",\"iat\":1,\"exp\":2,\"aud\":\"a\"}";

static void test_sign_equals_direct(void **state)
{
	static const unsigned workers[] = {1, 2, 4};
	char *want = NULL, *got = NULL;
	pool *p = NULL;

	(void)state;
	assert_int_equal(qsjwt_jwt_sign(key, QSJWT_RS256, pl, sizeof(pl) - 1, &want), QSJWT_OK);
	for (size_t i = 0; i < N_ELEMS(workers); i++) {
		assert_int_equal(pool_new(key, workers[i], &p), QSJWT_OK);
		for (int n = 0; n < 8; n++) {
			assert_int_equal(
			    pool_sign(p, QSJWT_RS256, NULL, pl, sizeof(pl) - 1, n % 2 ? 0 : 5000, &got),
			    QSJWT_OK);
			assert_string_equal(got, want);
			qsjwt_secret_free(got);
		}
		assert_int_equal(pool_drain(p, 1), 0);
		pool_free(p);
	}
	qsjwt_secret_free(want);
}

typedef struct {
	pthread_mutex_t mu;
	int done, skip_all;
	int ok;
} counter;

static int job_start(pool_job *j)
{
	counter *c = j->ctx;
	return c->skip_all;
}

static void job_done(pool_job *j)
{
	counter *c = j->ctx;

	pthread_mutex_lock(&c->mu);
	c->done++;
	c->ok += j->rc == QSJWT_OK && j->token != NULL;
	pthread_mutex_unlock(&c->mu);
	qsjwt_secret_free(j->token);
	j->token = NULL;
}

static void test_async_jobs(void **state)
{
	pool_job jobs[64];
	counter c = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
	pool *p = NULL;

	(void)state;
	memset(jobs, 0, sizeof(jobs));
	assert_int_equal(pool_new(key, 3, &p), QSJWT_OK);
	for (size_t i = 0; i < N_ELEMS(jobs); i++) {
		jobs[i].alg = (qsjwt_alg)(i % 3);
		jobs[i].payload = pl;
		jobs[i].payload_len = sizeof(pl) - 1;
		jobs[i].start = job_start;
		jobs[i].done = job_done;
		jobs[i].ctx = &c;
		assert_int_equal(pool_submit(p, &jobs[i]), QSJWT_OK);
	}
	assert_int_equal(pool_drain(p, 1), 0);
	assert_int_equal(c.done, 64);
	assert_int_equal(c.ok, 64);
	/* Skipped by start(): done() is not called. */
	c.skip_all = 1;
	assert_int_equal(pool_submit(p, &jobs[0]), QSJWT_OK);
	assert_int_equal(pool_drain(p, 1), 0);
	assert_int_equal(c.done, 64);
	/* Cancelled: nothing more is taken, pool_sign does not sign. */
	pool_cancel(p);
	assert_int_equal(pool_submit(p, &jobs[1]), QSJWT_ERR_INTERRUPTED);
	{
		char *t = NULL;
		assert_int_equal(pool_sign(p, QSJWT_RS256, NULL, pl, sizeof(pl) - 1, 100, &t),
				 QSJWT_ERR_INTERRUPTED);
		assert_null(t);
	}
	assert_int_equal(pool_drain(p, 1), 0);
	pool_free(p);
	pool_free(NULL);
}

static void test_no_workers(void **state)
{
	pool *p = NULL;

	(void)state;
	assert_int_equal(pool_new(key, 0, &p), QSJWT_ERR_NOMEM);
	assert_null(p);
}

/* ---- the request parser ----------------------------------------------------- */

static const struct {
	const char *text;
	const char *err; /* NULL: parses */
} parse_rows[] = {
    {"{\"userid\":\"u\",\"userdir\":\"d\",\"username\":\"n\",\"useremail\":\"e\"}", NULL},
    {"{\"userid\":\"u\",\"userdir\":\"d\",\"username\":\"n\",\"useremail\":\"e\"}\r\n", NULL},
    {"{\"userid\":\"u\",\"userdir\":\"d\",\"username\":\"n\",\"useremail\":\"e\","
     "\"groups\":[\"a\",\"b\"],\"expires\":\"1h\",\"audience\":\"x\"}",
     NULL},
    {"[]", "the body is not a JSON object"},
    {"{", "the body is not a JSON object"},
    {"{} x", "the body is not a JSON object"},
    {"\xff", "the body is not valid UTF-8"},
    {"{\"userid\":\"a\\u0000b\"}", "a value holds a NUL character (\\u0000)"},
    {"{\"userid\":1}", "field 'userid' must be a string"},
    {"{\"userid\":\"u\",\"userid\":\"v\"}", "field 'userid' given twice"},
    {"{\"groups\":\"a\"}", "field 'groups' must be an array of strings"},
    {"{\"groups\":[1]}", "field 'groups' must be an array of strings"},
    {"{\"groups\":[],\"groups\":[]}", "field 'groups' given twice"},
    {"{\"userId\":\"u\"}", "unknown field 'userId' (known: userid, userdir, username, "
			   "useremail, groups, expires, audience)"},
    {"{\"userid\":\"u\",\"userdir\":\"d\",\"username\":\"n\"}", "missing field 'useremail'"},
};

static void test_request_parse(void **state)
{
	qseow_request r;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(parse_rows); i++) {
		char *err =
		    qseow_request_parse(parse_rows[i].text, strlen(parse_rows[i].text), "body", &r);
		if (parse_rows[i].err == NULL) {
			if (err != NULL)
				print_error("row %zu: %s\n", i, err);
			assert_null(err);
			assert_string_equal(r.userid, "u");
			qseow_request_release(&r);
		} else {
			assert_non_null(err);
			assert_string_equal(err, parse_rows[i].err);
			assert_null(r.doc);
			free(err);
		}
	}
}

static void test_request_payload(void **state)
{
	static const char body[] = "{\"userid\":\"u\",\"userdir\":\"d\",\"username\":\"n\","
				   "\"useremail\":\"e\",\"groups\":[]}";
	qseow_request r;
	char *payload = NULL, *err;
	size_t len = 0;
	int64_t exp = 0;

	(void)state;
	assert_null(qseow_request_parse(body, sizeof(body) - 1, "body", &r));
	err = qseow_request_payload(&r, NULL, "aud", 0, 1000, &payload, &len, &exp);
	assert_string_equal(err, "missing field 'expires'");
	free(err);
	err = qseow_request_payload(&r, "1h", NULL, 1, 1000, &payload, &len, &exp);
	assert_string_equal(err, "no audience: give it in the line or with --audience on the "
				 "command line");
	free(err);
	err = qseow_request_payload(&r, "soon", "aud", 0, 1000, &payload, &len, &exp);
	assert_string_equal(err, "expires 'soon' is not a timespan (e.g. 60m, 8h, 7d)");
	free(err);
	err = qseow_request_payload(&r, "-1000y", "aud", 0, 1000, &payload, &len, &exp);
	assert_string_equal(err, "expires '-1000y' puts exp outside 1970 to 9999");
	free(err);
	assert_null(qseow_request_payload(&r, "1h", "aud", 0, 1000, &payload, &len, &exp));
	assert_int_equal(exp, 4600);
	/* "groups": [] is no group claim. */
	assert_string_equal(payload, "{\"userId\":\"u\",\"userDirectory\":\"d\",\"name\":\"n\","
				     "\"email\":\"e\",\"iat\":1000,\"exp\":4600,\"aud\":\"aud\"}");
	assert_int_equal(len, strlen(payload));
	free(payload);
	qseow_request_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_equals_direct), cmocka_unit_test(test_async_jobs),
	    cmocka_unit_test(test_no_workers),	       cmocka_unit_test(test_request_parse),
	    cmocka_unit_test(test_request_payload),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
