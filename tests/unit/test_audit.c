/* The serve audit log: the exact bytes of each kind of line, the file's
 * mode and the refusals at open, appends from several threads, and a write
 * that fails (a file size limit stands in for a full disk). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "serve/audit.h"

#include "unit.h"

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static char dir[] = "/tmp/qsjwt-audit-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

static char *path_of(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* The whole file, NUL-terminated (caller frees). */
static char *slurp(const char *path, size_t *len)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	size_t got = 0;
	char *out;

	assert_true(fd >= 0);
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	out = malloc(got + 1);
	assert_non_null(out);
	memcpy(out, buf, got);
	out[got] = '\0';
	*len = got;
	return out;
}

static audit *open_ok(const char *path, int use_syslog)
{
	char *err = NULL;
	audit *a = audit_open(path, use_syslog, &err);

	if (a == NULL) {
		print_error("audit_open: %s\n", err);
		free(err);
		fail();
	}
	assert_null(err);
	return a;
}

static void write_ok(audit *a, const audit_record *r)
{
	char *err = NULL;

	if (audit_write(a, r, &err) != 0) {
		print_error("audit_write: %s\n", err);
		free(err);
		fail();
	}
	assert_null(err);
}

/* ---- the line ----------------------------------------------------------------- */

static const char *const groups[] = {"Sales", "Fin \"q\""};
static const serve_request qseow = {REQ_QSEOW, "ACME", "alice", "qlik-aud", NULL,
				    NULL,      NULL,   groups,	2,	    3600};
static const serve_request qseow_sparse = {REQ_QSEOW, "ACME", "bob", NULL, NULL,
					   NULL,      NULL,   NULL,  0,	   60};
static const serve_request qscloud = {REQ_QSCLOUD,   NULL, NULL, NULL, "svc\n1",
				      "https://iss", "k1", NULL, 0,    -1};
static const serve_request bad_utf8 = {REQ_QSEOW, "A\xff", "u\x1b", "aud", NULL,
				       NULL,	  NULL,	   NULL,    0,	   1};
static const serve_caller root_caller = {CALLER_UNIX, 0, 0, 1234, NULL, NULL};
static const serve_caller nameless = {CALLER_UNIX, 4000000000u, 4000000001u, 7, NULL, NULL};
static const serve_caller lo = {CALLER_LOOPBACK, 0, 0, 0, NULL, NULL};
static const serve_caller tls = {CALLER_TLS, 0, 0, 0, "CN=portal,O=ACME", SHA};

#define T 1796126400 /* 2026-12-01T12:00:00Z */

struct line_row {
	audit_record r;
	const char *want;
};

static const struct line_row line_rows[] = {
    {{T, &root_caller, "portal", "/v1/qseow", &qseow, 1, NULL, 200, 1796130000, SHA},
     "{\"time\":\"2026-12-01T12:00:00Z\",\"caller\":{\"uid\":0,\"user\":\"root\",\"gid\":0,"
     "\"pid\":1234},\"client\":\"portal\",\"route\":\"/v1/qseow\",\"userdir\":\"ACME\","
     "\"userid\":\"alice\",\"audience\":\"qlik-aud\",\"groups\":[\"Sales\",\"Fin \\\"q\\\"\"],"
     "\"lifetime\":3600,\"decision\":\"allowed\",\"status\":200,\"exp\":1796130000,"
     "\"token_sha256\":\"" SHA "\"}\n"},
    {{T + 1, &nameless, "portal", "/v1/qseow", &qseow_sparse, 0,
      "userdir \"ACME\" is not allowed for client \"portal\"", 403, 0, NULL},
     "{\"time\":\"2026-12-01T12:00:01Z\",\"caller\":{\"uid\":4000000000,\"gid\":4000000001,"
     "\"pid\":7},\"client\":\"portal\",\"route\":\"/v1/qseow\",\"userdir\":\"ACME\","
     "\"userid\":\"bob\",\"lifetime\":60,\"decision\":\"denied\",\"reason\":\"userdir "
     "\\\"ACME\\\" is not allowed for client \\\"portal\\\"\",\"status\":403}\n"},
    {{T, &lo, NULL, "/v1/qseow", NULL, 0, "no policy entry matches this caller", 403, 0, NULL},
     "{\"time\":\"2026-12-01T12:00:00Z\",\"caller\":{\"peer\":\"loopback\"},\"route\":"
     "\"/v1/qseow\",\"decision\":\"denied\",\"reason\":\"no policy entry matches this "
     "caller\",\"status\":403}\n"},
    {{T, &lo, "cloud", "/v1/qscloud", &qscloud, 0, "over requests_per_minute", 429, 0, NULL},
     "{\"time\":\"2026-12-01T12:00:00Z\",\"caller\":{\"peer\":\"loopback\"},\"client\":"
     "\"cloud\",\"route\":\"/v1/qscloud\",\"sub\":\"svc\\n1\",\"issuer\":\"https://iss\","
     "\"keyid\":\"k1\",\"lifetime\":-1,\"decision\":\"denied\",\"reason\":\"over "
     "requests_per_minute\",\"status\":429}\n"},
    {{T, &tls, "tls-client", "/v1/qscloud", &qscloud, 1, NULL, 200, 1796126460, SHA},
     "{\"time\":\"2026-12-01T12:00:00Z\",\"caller\":{\"peer\":\"tls\",\"cert_subject\":"
     "\"CN=portal,O=ACME\",\"cert_sha256\":\"" SHA "\"},\"client\":\"tls-client\","
     "\"route\":\"/v1/qscloud\",\"sub\":\"svc\\n1\",\"issuer\":\"https://iss\",\"keyid\":"
     "\"k1\",\"lifetime\":-1,\"decision\":\"allowed\",\"status\":200,\"exp\":1796126460,"
     "\"token_sha256\":\"" SHA "\"}\n"},
    /* a bad request: no request, no client */
    {{0, &root_caller, NULL, "/v1/qseow", NULL, 0, "body is not JSON", 400, 0, NULL},
     "{\"time\":\"1970-01-01T00:00:00Z\",\"caller\":{\"uid\":0,\"user\":\"root\",\"gid\":0,"
     "\"pid\":1234},\"route\":\"/v1/qseow\",\"decision\":\"failed\",\"reason\":\"body is "
     "not JSON\",\"status\":400}\n"},
    /* allowed, but signing failed */
    {{T, &root_caller, "portal", "/v1/qseow", &qseow_sparse, 1, "the token is unavailable", 503, 0,
      NULL},
     "{\"time\":\"2026-12-01T12:00:00Z\",\"caller\":{\"uid\":0,\"user\":\"root\",\"gid\":0,"
     "\"pid\":1234},\"client\":\"portal\",\"route\":\"/v1/qseow\",\"userdir\":\"ACME\","
     "\"userid\":\"bob\",\"lifetime\":60,\"decision\":\"failed\",\"reason\":\"the token is "
     "unavailable\",\"status\":503}\n"},
    /* bytes that are not UTF-8 are shown escaped, controls as JSON escapes */
    {{T, NULL, NULL, "/v1/qseow", &bad_utf8, 0, "bad \xc3", 400, 0, NULL},
     "{\"time\":\"2026-12-01T12:00:00Z\",\"route\":\"/v1/qseow\",\"userdir\":\"A\\\\xff\","
     "\"userid\":\"u\\u001b\",\"audience\":\"aud\",\"lifetime\":1,\"decision\":\"failed\","
     "\"reason\":\"bad \\\\xc3\",\"status\":400}\n"},
};

static void lines(void **state)
{
	char ctx[32], *got;
	const char *path = path_of("lines.log");
	audit *a;
	size_t len, off = 0;

	(void)state;
	a = open_ok(path, 0);
	for (size_t i = 0; i < N_ELEMS(line_rows); i++)
		write_ok(a, &line_rows[i].r);
	audit_close(a);
	got = slurp(path, &len);
	for (size_t i = 0; i < N_ELEMS(line_rows); i++) {
		const char *nl = strchr(got + off, '\n');
		size_t n;

		snprintf(ctx, sizeof(ctx), "row %zu", i);
		assert_non_null(nl);
		n = (size_t)(nl - (got + off)) + 1;
		check_bytes(ctx, got + off, n, line_rows[i].want, strlen(line_rows[i].want));
		off += n;
	}
	check_int("all read", (long long)off, (long long)len);
	free(got);
	unlink(path);
}

/* A new file is 0600 whatever the umask; an existing one is appended to. */
static void mode_and_append(void **state)
{
	const char *path = path_of("new.log");
	audit_record r = line_rows[2].r;
	mode_t old = umask(0);
	struct stat st;
	char *got;
	size_t len;
	audit *a;
	int fd;

	(void)state;
	a = open_ok(path, 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	check_int("mode", st.st_mode & 07777, 0600);
	check_int("empty", st.st_size, 0);
	write_ok(a, &r);
	audit_close(a);

	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "earlier\n", 8), 8);
	close(fd);
	a = open_ok(path, 0);
	write_ok(a, &r);
	audit_close(a);
	got = slurp(path, &len);
	check_int("length", (long long)len, 2 * (long long)strlen(line_rows[2].want) + 8);
	assert_memory_equal(got + strlen(line_rows[2].want), "earlier\n", 8);
	free(got);
	unlink(path);
}

static void refusals(void **state)
{
	const char *const modes_path = path_of("open.log");
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0602, 0620, 0601};
	char want[512], *err = NULL, *p;
	int fd;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(modes); i++) {
		fd = open(modes_path, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		assert_int_equal(fchmod(fd, modes[i]), 0);
		close(fd);
		assert_null(audit_open(modes_path, 0, &err));
		snprintf(want, sizeof(want),
			 "audit log '%s' is open to group or others (mode %04o); chmod 600 it",
			 modes_path, (unsigned)modes[i]);
		check_str("mode", err, want);
		free(err);
		err = NULL;
	}
	unlink(modes_path);
	/* 0700: only the owner; accepted */
	fd = open(modes_path, O_WRONLY | O_CREAT, 0700);
	close(fd);
	chmod(modes_path, 0700);
	audit_close(open_ok(modes_path, 0));
	unlink(modes_path);

	assert_null(audit_open("/dev/full", 0, &err));
	check_str("/dev/full", err, "audit log '/dev/full' is not a regular file");
	free(err);
	assert_null(audit_open(dir, 0, &err));
	snprintf(want, sizeof(want), "audit log '%s' is not a regular file", dir);
	check_str("directory", err, want);
	free(err);

	/* a FIFO without a reader: refused at once, not waited on */
	p = strdup(path_of("fifo"));
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_null(audit_open(p, 0, &err));
	snprintf(want, sizeof(want), "audit log '%s' is not a regular file", p);
	check_str("fifo", err, want);
	free(err);
	unlink(p);
	free(p);

	p = strdup(path_of("nodir/a.log"));
	assert_null(audit_open(p, 0, &err));
	snprintf(want, sizeof(want), "cannot open audit log '%s': No such file or directory", p);
	check_str("no directory", err, want);
	free(err);
	free(p);
}

/* A file size limit makes the write short, then impossible: both are
 * errors, with messages that say so. */
static void write_fails(void **state)
{
	const char *path = path_of("full.log");
	audit_record r = line_rows[0].r;
	size_t line_len = strlen(line_rows[0].want), len;
	struct rlimit old, lim;
	char want[512], *err = NULL, *got;
	void (*old_sig)(int);
	audit *a;
	int rc;

	(void)state;
	a = open_ok(path, 0);
	write_ok(a, &r);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	old_sig = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)line_len + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = audit_write(a, &r, &err);
	check_int("short rc", rc != 0, 1);
	snprintf(want, sizeof(want), "short write to audit log '%s' (10 of %zu bytes)", path,
		 line_len);
	check_str("short", err, want);
	free(err);
	err = NULL;
	rc = audit_write(a, &r, &err);
	check_int("full rc", rc != 0, 1);
	snprintf(want, sizeof(want), "cannot write audit log '%s': %s", path, strerror(EFBIG));
	check_str("full", err, want);
	free(err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_sig);
	/* room again: the next line starts on a line of its own */
	write_ok(a, &r);
	audit_close(a);
	got = slurp(path, &len);
	check_int("length", (long long)len, (long long)(2 * line_len + 10 + 1));
	check_bytes("fragment", got + line_len, 10, line_rows[0].want, 10);
	check_int("fragment end", got[line_len + 10], '\n');
	check_bytes("after", got + line_len + 11, line_len, line_rows[0].want, line_len);
	free(got);
	unlink(path);
}

/* Without a file (and without syslog) a write does nothing and succeeds;
 * with syslog it succeeds too (what syslogd does with it is not ours). */
static void no_file(void **state)
{
	audit *a = open_ok(NULL, 0);

	(void)state;
	write_ok(a, &line_rows[0].r);
	audit_close(a);
	a = open_ok(NULL, 1);
	write_ok(a, &line_rows[0].r);
	audit_close(a);
	audit_close(NULL);
}

struct thread_arg {
	audit *a;
	int failures;
};

static void *writer(void *v)
{
	struct thread_arg *t = v;
	char *err = NULL;

	for (int i = 0; i < 500; i++) {
		if (audit_write(t->a, &line_rows[i % N_ELEMS(line_rows)].r, &err) != 0) {
			t->failures++;
			free(err);
		}
	}
	return NULL;
}

/* Four threads, two descriptors on the same file: every line is whole. */
static void concurrent(void **state)
{
	const char *path = path_of("many.log");
	struct thread_arg t[4];
	pthread_t th[4];
	audit *a1, *a2;
	char *got, *line, *save = NULL;
	size_t len;
	int n = 0;

	(void)state;
	a1 = open_ok(path, 0);
	a2 = open_ok(path, 0);
	for (int i = 0; i < 4; i++) {
		t[i].a = i % 2 ? a1 : a2;
		t[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, writer, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		check_int("failures", t[i].failures, 0);
	}
	audit_close(a1);
	audit_close(a2);
	got = slurp(path, &len);
	for (line = strtok_r(got, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		int found = 0;
		for (size_t i = 0; i < N_ELEMS(line_rows); i++) {
			if (strncmp(line, line_rows[i].want, strlen(line_rows[i].want) - 1) == 0 &&
			    strlen(line) == strlen(line_rows[i].want) - 1)
				found = 1;
		}
		if (!found) {
			print_error("line %d is not one of ours: %s\n", n, line);
			fail();
		}
		n++;
	}
	check_int("lines", n, 2000);
	free(got);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lines),	cmocka_unit_test(mode_and_append),
	    cmocka_unit_test(refusals), cmocka_unit_test(write_fails),
	    cmocka_unit_test(no_file),	cmocka_unit_test(concurrent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
