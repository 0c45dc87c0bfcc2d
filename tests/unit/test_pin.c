/* secret_file_read: PIN and passphrase files. Exactly one trailing "\n" or
 * "\r\n" is stripped; files readable by group or others, empty values, NUL
 * bytes and files over SECRET_FILE_MAX are refused with one message, handed
 * to the caller (nothing logged), that names the file and never shows the
 * secret. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/secret_file.h"

#include "unit.h"

static char dir[] = "/tmp/qsjwt-unit-pin.XXXXXX"; /* small_why knows the start */
static char path[256];

static const char *write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

struct good {
	const char *content;
	size_t len;
	const char *want;
	size_t want_len;
};

static const struct good goods[] = {
	{ "1234\n", 5, "1234", 4 },
	{ "1234\r\n", 6, "1234", 4 },
	{ "1234", 4, "1234", 4 },
	/* Only one newline: the rest is the PIN (which will be wrong). */
	{ "1234\n\n", 6, "1234\n", 5 },
	{ "12\r34\n", 6, "12\r34", 5 },
	{ " p\xc3\xa4ss w\xc3\xb6rd \n", 14, " p\xc3\xa4ss w\xc3\xb6rd ", 13 },
	{ "\r\n\r\n", 4, "\r\n", 2 },
};

static void good_files(void **state)
{
	unit_log log;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(goods); i++) {
		char ctx[32], *out = NULL, why[SECRET_FILE_WHY_MAX];
		size_t len = 0;

		snprintf(ctx, sizeof(ctx), "row %zu", i);
		write_file("pin", goods[i].content, goods[i].len, 0600);
		unit_log_start(&log);
		check_rc(ctx, secret_file_read(path, "PIN file", &out, &len, why, sizeof(why)),
			 QSJWT_OK);
		unit_log_stop();
		check_bytes(ctx, out, len, goods[i].want, goods[i].want_len);
		assert_int_equal(out[len], '\0');
		check_int(ctx, log.errors, 0);
		qsjwt_secret_free(out);
	}
	/* 0400 is private too. */
	{
		char *out = NULL, why[SECRET_FILE_WHY_MAX];
		size_t len = 0;

		write_file("ro", "4321\n", 5, 0400);
		check_rc("0400", secret_file_read(path, "PIN file", &out, &len, why, sizeof(why)),
			 QSJWT_OK);
		check_bytes("0400", out, len, "4321", 4);
		qsjwt_secret_free(out);
	}
}

struct bad {
	const char *content;
	size_t len;
	mode_t mode;
	qsjwt_err rc;
	const char *message; /* after "PIN file '<path>' " */
	int fix;             /* then "; make it private first: chmod 600 '<path>'" */
};

static const struct bad bads[] = {
	{ "s3cr3t\n", 7, 0640, QSJWT_ERR_INVALID, "is readable by other users (mode 0640)", 1 },
	{ "s3cr3t\n", 7, 0604, QSJWT_ERR_INVALID, "is readable by other users (mode 0604)", 1 },
	{ "s3cr3t\n", 7, 0644, QSJWT_ERR_INVALID, "is readable by other users (mode 0644)", 1 },
	{ "s3cr3t\n", 7, 0440, QSJWT_ERR_INVALID, "is readable by other users (mode 0440)", 1 },
	{ "", 0, 0600, QSJWT_ERR_INVALID, "is empty", 0 },
	{ "\n", 1, 0600, QSJWT_ERR_INVALID, "holds an empty value", 0 },
	{ "\r\n", 2, 0600, QSJWT_ERR_INVALID, "holds an empty value", 0 },
	{ "s3\0cr3t\n", 8, 0600, QSJWT_ERR_INVALID, "holds a NUL byte", 0 },
};

/* The one message in why, exactly, and nothing in the log. */
static void check_why(const char *ctx, const unit_log *log, const char *why, const char *want)
{
	check_int(ctx, log->errors, 0);
	check_str(ctx, log->all, "");
	check_str(ctx, why, want);
}

static void bad_files(void **state)
{
	unit_log log;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bads); i++) {
		char ctx[32], tail[600], want[1200], why[SECRET_FILE_WHY_MAX], *out = NULL;
		size_t len = 99;

		snprintf(ctx, sizeof(ctx), "row %zu", i);
		write_file("bad", bads[i].content, bads[i].len, bads[i].mode);
		unit_log_start(&log);
		check_rc(ctx, secret_file_read(path, "PIN file", &out, &len, why, sizeof(why)),
			 bads[i].rc);
		unit_log_stop();
		assert_null(out);
		check_int(ctx, (long long)len, 99);
		snprintf(tail, sizeof(tail), "; make it private first: chmod 600 '%s'", path);
		snprintf(want, sizeof(want), "PIN file '%s' %s%s", path, bads[i].message,
			 bads[i].fix ? tail : "");
		check_why(ctx, &log, why, want);
		if (strstr(why, "s3") != NULL) {
			print_error("%s: the secret reached the message: %s\n", ctx, why);
			fail();
		}
	}
}

/* SECRET_FILE_MAX bytes are read; one more is refused. */
static void size_limit(void **state)
{
	char *big = malloc(SECRET_FILE_MAX + 1), *out = NULL, why[SECRET_FILE_WHY_MAX];
	char want[600];
	size_t len = 0;
	unit_log log;

	(void)state;
	assert_non_null(big);
	memset(big, 'p', SECRET_FILE_MAX + 1);
	write_file("max", big, SECRET_FILE_MAX, 0600);
	check_rc("4096 bytes", secret_file_read(path, "PIN file", &out, &len, why, sizeof(why)),
		 QSJWT_OK);
	check_int("4096 bytes", (long long)len, SECRET_FILE_MAX);
	qsjwt_secret_free(out);
	out = NULL;

	write_file("over", big, SECRET_FILE_MAX + 1, 0600);
	unit_log_start(&log);
	check_rc("4097 bytes", secret_file_read(path, "PIN file", &out, &len, why, sizeof(why)),
		 QSJWT_ERR_IO);
	unit_log_stop();
	assert_null(out);
	snprintf(want, sizeof(want), "PIN file '%s' is larger than 4 KiB; refusing to read it",
		 path);
	check_why("4097 bytes", &log, why, want);
	free(big);
}

/* A missing file and a directory: I/O errors naming the file. */
static void not_files(void **state)
{
	char *out = NULL, missing[300], want[700], why[SECRET_FILE_WHY_MAX];
	size_t len = 0;
	unit_log log;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/none", dir);
	unit_log_start(&log);
	check_rc("missing", secret_file_read(missing, "PIN file", &out, &len, why, sizeof(why)),
		 QSJWT_ERR_IO);
	unit_log_stop();
	snprintf(want, sizeof(want), "cannot read PIN file '%s': No such file or directory",
		 missing);
	check_why("missing", &log, why, want);

	unit_log_start(&log);
	check_rc("directory", secret_file_read(dir, "PIN file", &out, &len, why, sizeof(why)),
		 QSJWT_ERR_IO);
	unit_log_stop();
	assert_null(out);
	snprintf(want, sizeof(want), "cannot read PIN file '%s': it is a directory, not a file",
		 dir);
	check_why("directory", &log, why, want);
}

/* A message longer than why is cut, still NUL-terminated. */
static void small_why(void **state)
{
	char *out = NULL, why[16];
	size_t len = 0;

	(void)state;
	write_file("bad", "s3cr3t\n", 7, 0644);
	memset(why, 'x', sizeof(why));
	check_rc("small why", secret_file_read(path, "PIN file", &out, &len, why, sizeof(why)),
		 QSJWT_ERR_INVALID);
	check_str("small why", why, "PIN file '/tmp/");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	const char *names[] = { "pin", "ro", "bad", "max", "over" };

	(void)state;
	for (size_t i = 0; i < N_ELEMS(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_files),
		cmocka_unit_test(bad_files),
		cmocka_unit_test(size_limit),
		cmocka_unit_test(not_files),
		cmocka_unit_test(small_why),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
