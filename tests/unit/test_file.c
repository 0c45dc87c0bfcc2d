/* Bounded reads, all-or-nothing file sets, secret files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/secret_file.h"
#include "util/file.h"

#include "unit.h"

#define PATH_LEN 512

/* Refusals are expected here: their messages go here, not to stderr. */
static unit_log quiet;

/* Each test gets a fresh directory (its path is *state). */
static int dir_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = malloc(PATH_LEN);

	if (dir == NULL)
		return -1;
	snprintf(dir, PATH_LEN, "%s/qsjwt-unit-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	(void)chmod(path, 0700);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char sub[PATH_LEN];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int n = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (n > 0 && n < PATH_LEN)
			rm_rf(sub);
	}
	closedir(d);
	return rmdir(path);
}

static int dir_teardown(void **state)
{
	int r = rm_rf(*state);

	free(*state);
	return r;
}

static const char *join(char buf[PATH_LEN], const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_LEN, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_LEN);
	return buf;
}

/* Create dir/name with exactly these bytes and mode (umask bypassed). */
static void put_file(const char *dir, const char *name, const void *data, size_t len,
		     mode_t mode)
{
	char p[PATH_LEN];
	int fd = open(join(p, dir, name), O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The entries of dir, sorted, comma-separated (caller frees). */
static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *listing(const char *dir)
{
	char *names[64], *out = calloc(1, 64 * 260);
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	assert_non_null(out);
	while ((de = readdir(d)) != NULL && n < N_ELEMS(names)) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, names[i]);
		free(names[i]);
	}
	return out;
}

static void check_listing(const char *ctx, const char *dir, const char *want)
{
	char *got = listing(dir);

	check_str(ctx, got, want);
	free(got);
}

/* Content and mode of dir/name. */
static void check_file(const char *ctx, const char *dir, const char *name, const char *want,
		       mode_t mode)
{
	char p[PATH_LEN];
	unsigned char *data = NULL;
	size_t len = 0;
	struct stat st;

	check_rc(ctx, file_read_bounded(join(p, dir, name), 4096, "test file", &data, &len, NULL),
		 QSJWT_OK);
	check_bytes(ctx, data, len, want, strlen(want));
	free(data);
	assert_int_equal(stat(p, &st), 0);
	check_int(ctx, (long long)(st.st_mode & 07777), (long long)mode);
}

/* ---- file_read_bounded ---------------------------------------------------- */

static void test_read_sizes(void **state)
{
	static const struct {
		const char *data;
		size_t len, max;
		qsjwt_err rc;
	} rows[] = {
		{ "hello\n", 6, 100, QSJWT_OK },
		{ "a", 1, 1, QSJWT_OK },
		{ "ab", 2, 1, QSJWT_ERR_IO },
		{ "0123456789abcdef", 16, 16, QSJWT_OK },
		{ "0123456789abcdefg", 17, 16, QSJWT_ERR_IO },
		{ "a\0b\xff", 4, 4, QSJWT_OK },
		{ "", 0, 100, QSJWT_ERR_IO },
	};
	const char *dir = *state;

	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char name[16], p[PATH_LEN], ctx[32];
		unsigned char sentinel = 0, *out = &sentinel;
		size_t len = 999, cap = 999;
		snprintf(name, sizeof(name), "f%zu", i);
		snprintf(ctx, sizeof(ctx), "read row %zu", i);
		put_file(dir, name, rows[i].data, rows[i].len, 0600);
		check_rc(ctx, file_read_bounded(join(p, dir, name), rows[i].max, "test file", &out,
						&len, &cap),
			 rows[i].rc);
		if (rows[i].rc != QSJWT_OK) {
			assert_ptr_equal(out, &sentinel);
			assert_int_equal(len, 999);
			continue;
		}
		check_bytes(ctx, out, len, rows[i].data, rows[i].len);
		assert_int_equal(out[len], '\0');
		assert_true(cap > len);
		free(out);
	}
}

static void test_read_not_regular(void **state)
{
	const char *dir = *state;
	char p[PATH_LEN];
	unsigned char *out = NULL;
	size_t len = 0;
	const char *paths[4];

	/* Guard against hangs: an endless read or a blocking FIFO open kills
	 * the test with SIGALRM instead of stalling it. */
	alarm(30);
	assert_int_equal(mkfifo(join(p, dir, "fifo"), 0600), 0);
	paths[0] = p;      /* FIFO without a writer: empty, not a hang */
	paths[1] = dir;    /* a directory */
	paths[2] = "/dev/zero";
	paths[3] = "/dev/null";
	for (size_t i = 0; i < N_ELEMS(paths); i++)
		check_rc(paths[i], file_read_bounded(paths[i], 1 << 20, "test file", &out, &len, NULL),
			 QSJWT_ERR_IO);
	check_rc("missing", file_read_bounded(join(p, dir, "missing"), 100, "test file", &out,
					      &len, NULL),
		 QSJWT_ERR_IO);
	alarm(0);
}

static void test_read_stdin_and_pipe(void **state)
{
	const char *dir = *state;
	char p[PATH_LEN];
	unsigned char *out = NULL;
	size_t len = 0;
	int saved = dup(STDIN_FILENO), fd, fds[2];

	put_file(dir, "in", "from stdin", 10, 0600);
	fd = open(join(p, dir, "in"), O_RDONLY);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	check_rc("-", file_read_bounded("-", 100, "test file", &out, &len, NULL), QSJWT_OK);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	check_bytes("-", out, len, "from stdin", 10);
	free(out);

	for (size_t max = 5; max >= 4; max--) {
		assert_int_equal(pipe(fds), 0);
		assert_int_equal(write(fds[1], "abcde", 5), 5);
		close(fds[1]);
		check_rc("pipe", file_read_fd_bounded(fds[0], "pipe", max, "test", &out, &len, NULL),
			 max == 5 ? QSJWT_OK : QSJWT_ERR_IO);
		close(fds[0]);
		if (max == 5) {
			check_bytes("pipe", out, len, "abcde", 5);
			free(out);
		}
	}
}

/* ---- file_set ------------------------------------------------------------- */

static void test_set_check(void **state)
{
	static const struct {
		const char *name;
		int overwrite;
		qsjwt_err rc;
	} rows[] = {
		{ "new", 0, QSJWT_OK },           { "new", 1, QSJWT_OK },
		{ "exists", 0, QSJWT_ERR_EXISTS }, { "exists", 1, QSJWT_OK },
		{ "link", 0, QSJWT_ERR_EXISTS },   /* a dangling symlink exists too */
		{ "subdir", 0, QSJWT_ERR_IO },     { "subdir", 1, QSJWT_ERR_IO },
		{ "missing/x", 0, QSJWT_ERR_IO },  { "missing/x", 1, QSJWT_ERR_IO },
		{ "exists/x", 0, QSJWT_ERR_IO },   /* parent is a regular file */
		{ "subdir/x", 0, QSJWT_OK },
	};
	const char *dir = *state;
	char p[PATH_LEN], ctx[64];

	put_file(dir, "exists", "old", 3, 0644);
	assert_int_equal(mkdir(join(p, dir, "subdir"), 0700), 0);
	assert_int_equal(symlink("nowhere", join(p, dir, "link")), 0);
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		snprintf(ctx, sizeof(ctx), "check %s overwrite=%d", rows[i].name, rows[i].overwrite);
		check_rc(ctx, file_set_check(join(p, dir, rows[i].name), rows[i].overwrite),
			 rows[i].rc);
	}
	/* check never creates anything */
	check_listing("after checks", dir, "exists,link,subdir");
	if (geteuid() != 0) { /* root may write anywhere */
		assert_int_equal(chmod(join(p, dir, "subdir"), 0500), 0);
		check_rc("read-only dir", file_set_check(join(p, dir, "subdir/x"), 0), QSJWT_ERR_IO);
	}
}

static void test_set_commit_modes(void **state)
{
	static const struct {
		mode_t umask, mode, want;
	} rows[] = {
		{ 022, 0600, 0600 }, { 022, 0644, 0644 }, { 022, 0666, 0644 }, { 022, 0640, 0640 },
		{ 077, 0644, 0600 }, { 0, 0604, 0604 },   { 027, 0666, 0640 },
	};
	const char *dir = *state;
	char names[N_ELEMS(rows)][8], want[64] = "";
	file_set *f = NULL;
	mode_t old = umask(022);

	assert_int_equal(file_set_new(&f), QSJWT_OK);
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char p[PATH_LEN];
		size_t idx = 99;
		snprintf(names[i], sizeof(names[i]), "f%zu", i);
		umask(rows[i].umask);
		check_rc(names[i], file_set_check(join(p, dir, names[i]), 0), QSJWT_OK);
		check_rc(names[i], file_set_add(f, p, rows[i].mode, &idx), QSJWT_OK);
		check_int(names[i], (long long)idx, (long long)i);
		check_rc(names[i], file_set_write(f, idx, names[i], strlen(names[i])), QSJWT_OK);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i ? "," : "",
			 names[i]);
	}
	umask(022);
	/* nothing under a final name before the commit */
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char p[PATH_LEN];
		assert_int_equal(access(join(p, dir, names[i]), F_OK), -1);
	}
	check_rc("bad index", file_set_write(f, N_ELEMS(rows), "x", 1), QSJWT_ERR_INVALID);
	check_rc("commit", file_set_commit(f, 0), QSJWT_OK);
	check_listing("after commit", dir, want);
	for (size_t i = 0; i < N_ELEMS(rows); i++)
		check_file(names[i], dir, names[i], names[i], rows[i].want);
	file_set_free(f);
	check_listing("after free", dir, want);
	umask(old);
}

/* A target that appears between add and commit is never replaced; the files
 * of the set already moved are taken back; no temporary is left. */
static void test_set_commit_race(void **state)
{
	static const char *const names[] = { "a.pem", "b.pem", "c.cer" };
	const char *top = *state;
	mode_t old = umask(022);

	for (size_t victim = 0; victim < N_ELEMS(names); victim++) {
		char dir[PATH_LEN], p[PATH_LEN], ctx[32];
		file_set *f = NULL;
		size_t idx;
		snprintf(ctx, sizeof(ctx), "victim %s", names[victim]);
		snprintf(dir, sizeof(dir), "%s/race%zu", top, victim);
		assert_int_equal(mkdir(dir, 0700), 0);
		assert_int_equal(file_set_new(&f), QSJWT_OK);
		for (size_t i = 0; i < N_ELEMS(names); i++) {
			check_rc(ctx, file_set_add(f, join(p, dir, names[i]), 0600, &idx), QSJWT_OK);
			check_rc(ctx, file_set_write(f, idx, "new", 3), QSJWT_OK);
		}
		put_file(dir, names[victim], "old", 3, 0644);
		check_rc(ctx, file_set_commit(f, 0), QSJWT_ERR_EXISTS);
		check_file(ctx, dir, names[victim], "old", 0644);
		for (size_t i = 0; i < N_ELEMS(names); i++) {
			if (i != victim)
				check_int(names[i], access(join(p, dir, names[i]), F_OK), -1);
		}
		file_set_free(f);
		check_listing(ctx, dir, names[victim]);
	}
	umask(old);
}

static void test_set_overwrite(void **state)
{
	const char *dir = *state;
	char p[PATH_LEN];
	file_set *f = NULL;
	size_t idx;
	mode_t old = umask(022);

	put_file(dir, "key.pem", "old", 3, 0644);
	assert_int_equal(file_set_new(&f), QSJWT_OK);
	check_rc("check", file_set_check(join(p, dir, "key.pem"), 1), QSJWT_OK);
	check_rc("add", file_set_add(f, p, 0600, &idx), QSJWT_OK);
	check_rc("write", file_set_write(f, idx, "new", 3), QSJWT_OK);
	check_rc("commit", file_set_commit(f, 1), QSJWT_OK);
	file_set_free(f);
	/* the new file replaced the old one, with its own mode */
	check_file("overwritten", dir, "key.pem", "new", 0600);
	check_listing("overwrite", dir, "key.pem");
	umask(old);
}

static void test_set_free_without_commit(void **state)
{
	const char *dir = *state;
	char p[PATH_LEN];
	file_set *f = NULL;
	size_t idx;

	assert_int_equal(file_set_new(&f), QSJWT_OK);
	check_rc("add 1", file_set_add(f, join(p, dir, "one"), 0600, &idx), QSJWT_OK);
	check_rc("write 1", file_set_write(f, idx, "secret", 6), QSJWT_OK);
	check_rc("add 2", file_set_add(f, join(p, dir, "two"), 0644, &idx), QSJWT_OK);
	file_set_free(f);
	check_listing("after free", dir, "");

	/* an empty set commits to nothing */
	assert_int_equal(file_set_new(&f), QSJWT_OK);
	check_rc("empty commit", file_set_commit(f, 0), QSJWT_OK);
	file_set_free(f);
	file_set_free(NULL);
	check_listing("after empty", dir, "");
}

/* ---- secret_file_read ----------------------------------------------------- */

static void test_secret_file(void **state)
{
	static const struct {
		const char *data;
		size_t len;
		mode_t mode;
		qsjwt_err rc;
		const char *want;
	} rows[] = {
		{ "1234\n", 5, 0600, QSJWT_OK, "1234" },
		{ "1234\r\n", 6, 0600, QSJWT_OK, "1234" },
		{ "1234", 4, 0600, QSJWT_OK, "1234" },
		{ "1234\n\n", 6, 0600, QSJWT_OK, "1234\n" },         /* only one stripped */
		{ "1234\r\n\r\n", 8, 0600, QSJWT_OK, "1234\r\n" },
		{ "1234\n\r\n", 7, 0600, QSJWT_OK, "1234\n" },
		{ "1234\r", 5, 0600, QSJWT_OK, "1234\r" },           /* a lone CR stays */
		{ "\r1234\n", 6, 0600, QSJWT_OK, "\r1234" },
		{ " pass word \n", 12, 0600, QSJWT_OK, " pass word " },
		{ "p\xc3\xa4ss\n", 6, 0400, QSJWT_OK, "p\xc3\xa4ss" },
		{ "s3cr3t\n", 7, 0640, QSJWT_ERR_INVALID, NULL },   /* group-readable */
		{ "s3cr3t\n", 7, 0644, QSJWT_ERR_INVALID, NULL },
		{ "s3cr3t\n", 7, 0604, QSJWT_ERR_INVALID, NULL },
		{ "s3cr3t\n", 7, 0440, QSJWT_ERR_INVALID, NULL },
		{ "\n", 1, 0600, QSJWT_ERR_INVALID, NULL },          /* empty value */
		{ "\r\n", 2, 0600, QSJWT_ERR_INVALID, NULL },
		{ "", 0, 0600, QSJWT_ERR_INVALID, NULL },            /* empty file: a usage error, like "\\n" */
		{ "s3\0cr3t\n", 8, 0600, QSJWT_ERR_INVALID, NULL },
		{ "\0", 1, 0600, QSJWT_ERR_INVALID, NULL },
	};
	const char *dir = *state;
	static unit_log msgs;
	int refused = 0;

	unit_log_start(&msgs);
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char name[16], p[PATH_LEN], ctx[32], sentinel = 0, *out = &sentinel;
		char why[SECRET_FILE_WHY_MAX];
		size_t len = 999;
		snprintf(name, sizeof(name), "s%zu", i);
		snprintf(ctx, sizeof(ctx), "secret row %zu", i);
		put_file(dir, name, rows[i].data, rows[i].len, rows[i].mode);
		why[0] = '\0';
		check_rc(ctx, secret_file_read(join(p, dir, name), "PIN file", &out, &len, why,
					       sizeof(why)),
			 rows[i].rc);
		if (rows[i].rc != QSJWT_OK) {
			assert_ptr_equal(out, &sentinel);
			assert_int_equal(len, 999);
			/* the reason is handed back, naming the file, never the secret */
			assert_non_null(strstr(why, p));
			assert_null(strstr(why, "cr3t"));
			refused++;
			continue;
		}
		check_bytes(ctx, out, len, rows[i].want, strlen(rows[i].want));
		assert_int_equal(out[len], '\0');
		qsjwt_secret_free(out);
	}
	unit_log_start(&quiet);
	/* every refusal was handed back, none went to the log */
	assert_int_equal(refused, 9);
	assert_int_equal(msgs.errors, 0);
}

static void test_secret_file_size(void **state)
{
	static const struct {
		size_t len;
		int newline;
		qsjwt_err rc;
	} rows[] = {
		{ SECRET_FILE_MAX, 0, QSJWT_OK },
		{ SECRET_FILE_MAX - 1, 1, QSJWT_OK },
		{ SECRET_FILE_MAX + 1, 0, QSJWT_ERR_IO },
		{ SECRET_FILE_MAX, 1, QSJWT_ERR_IO }, /* the limit is on the file */
	};
	const char *dir = *state;
	static char buf[SECRET_FILE_MAX + 2];
	char p[PATH_LEN], why[SECRET_FILE_WHY_MAX];

	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char name[16], *out = NULL;
		size_t len = 0, n = rows[i].len + (size_t)rows[i].newline;
		memset(buf, 'x', rows[i].len);
		buf[rows[i].len] = '\n';
		snprintf(name, sizeof(name), "big%zu", i);
		put_file(dir, name, buf, n, 0600);
		check_rc(name, secret_file_read(join(p, dir, name), "PIN file", &out, &len, why,
						sizeof(why)),
			 rows[i].rc);
		if (rows[i].rc == QSJWT_OK) {
			check_int(name, (long long)len, (long long)rows[i].len);
			qsjwt_secret_free(out);
		}
	}
	check_rc("missing", secret_file_read(join(p, dir, "missing"), "PIN file", &(char *){ NULL },
					     &(size_t){ 0 }, why, sizeof(why)),
		 QSJWT_ERR_IO);
	check_rc("directory", secret_file_read(dir, "PIN file", &(char *){ NULL }, &(size_t){ 0 },
					       why, sizeof(why)),
		 QSJWT_ERR_IO);
}

/* Every refusal of a set is reported, once: a full set and a bad index. */
static void test_set_full(void **state)
{
	const char *dir = *state;
	file_set *f = NULL;
	char p[PATH_LEN], name[16];
	size_t idx = 0;
	int n = 0;

	assert_int_equal(file_set_new(&f), QSJWT_OK);
	for (;;) {
		qsjwt_err rc;
		snprintf(name, sizeof(name), "f%d", n);
		unit_log_start(&quiet);
		rc = file_set_add(f, join(p, dir, name), 0600, &idx);
		unit_log_stop();
		if (rc != QSJWT_OK) {
			check_rc("full set", rc, QSJWT_ERR_INVALID);
			check_int("full set: errors", quiet.errors, 1);
			assert_non_null(strstr(quiet.all, name));
			break;
		}
		check_int("added: errors", quiet.errors, 0);
		assert_true(++n < 100);
	}
	unit_log_start(&quiet);
	check_rc("bad index", file_set_write(f, (size_t)n, "x", 1), QSJWT_ERR_INVALID);
	unit_log_stop();
	check_int("bad index: errors", quiet.errors, 1);
	file_set_free(f);
	check_listing("after free", dir, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_sizes, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_not_regular, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_stdin_and_pipe, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_set_check, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_set_commit_modes, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_set_commit_race, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_set_overwrite, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_set_free_without_commit, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_secret_file, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_secret_file_size, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_set_full, dir_setup, dir_teardown),
	};
	unit_log_start(&quiet);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
