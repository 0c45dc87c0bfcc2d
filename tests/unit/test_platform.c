/* The platform layer (src/platform/): the calls whose behaviour the rest of
 * the code relies on, the same test on Linux and, cross-built, under wine
 * (tests/windows/run.sh): UTF-8 environment values, the same file whatever
 * the path's spelling, create-never-replace, owner-only files. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>

#ifdef _WIN32
#include <direct.h>
#include <io.h>
#include <process.h>
#define getpid _getpid
#else
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "platform/platform.h"

/* "pässwörd-日本語" in UTF-8: outside every ANSI code page as a whole. */
#define UTF8_VALUE "p\xc3\xa4ssw\xc3\xb6rd-\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"

static char g_dir[64];

static int make_dir(const char *path)
{
#ifdef _WIN32
	return _mkdir(path);
#else
	return mkdir(path, 0700);
#endif
}

static int remove_dir(const char *path)
{
#ifdef _WIN32
	return _rmdir(path);
#else
	return rmdir(path);
#endif
}

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "qsjwt-platform-%ld", (long)getpid());
	return make_dir(g_dir);
}

static int teardown(void **state)
{
	(void)state;
	return remove_dir(g_dir);
}

static const char *in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", g_dir, name);
	return buf;
}

/* A new private file in the test folder holding text; its temporary name
 * goes to tmp. */
static void create_with(char *tmp, size_t size, const char *text)
{
	int fd;

	in_dir(tmp, size, ".tmp-XXXXXX");
	fd = plat_create_private(tmp, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, (unsigned)strlen(text)), (int)strlen(text));
	assert_int_equal(plat_fsync(fd), 0);
	assert_int_equal(close(fd), 0);
}

static void check_content(const char *path, const char *want)
{
	char buf[64] = "";
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	check_str(path, buf, want);
}

/* The environment arrives in UTF-8 (Windows: _wgetenv, converted). */
static void test_getenv_utf8(void **state)
{
	(void)state;
#ifdef _WIN32
	assert_int_equal(
	    _wputenv_s(L"QSJWT_TEST_PLATFORM_ENV", L"p\u00e4ssw\u00f6rd-\u65e5\u672c\u8a9e"), 0);
#else
	assert_int_equal(setenv("QSJWT_TEST_PLATFORM_ENV", UTF8_VALUE, 1), 0);
#endif
	check_str("UTF-8 value", plat_getenv("QSJWT_TEST_PLATFORM_ENV"), UTF8_VALUE);
	assert_null(plat_getenv("QSJWT_TEST_PLATFORM_UNSET"));
}

/* Create, never replace; replace only when asked; what is placed is whole. */
static void test_place(void **state)
{
	char tmp[128], final[128], tmp2[128];
	char why[128] = "", fix[256] = "";
	int fd;

	(void)state;
	in_dir(final, sizeof(final), "placed.txt");
	create_with(tmp, sizeof(tmp), "first\n");
	assert_int_equal(plat_place(tmp, final, 0), 0);
	check_content(final, "first\n");
	assert_int_equal(plat_path_is_dir(tmp, 1), -1); /* the temporary is gone */
	assert_int_equal(errno, ENOENT);

	create_with(tmp2, sizeof(tmp2), "second\n");
	errno = 0;
	assert_int_equal(plat_place(tmp2, final, 0), -1);
	assert_int_equal(errno, EEXIST);
	check_content(final, "first\n");
	check_content(tmp2, "second\n"); /* the caller removes it */

	assert_int_equal(plat_place(tmp2, final, 1), 0);
	check_content(final, "second\n");

	/* Made private: owner only (Windows: the protected DACL reads back). */
	fd = plat_open_read(final);
	assert_true(fd >= 0);
	assert_int_equal(
	    plat_file_readable_by_others(fd, final, why, sizeof(why), fix, sizeof(fix)), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(plat_unlink(final), 0);
	assert_int_equal(plat_unlink(final), -1);
	assert_int_equal(errno, ENOENT);
}

/* One file, several spellings of its path; another file is another. */
static void test_same_file(void **state)
{
	char a[128], b[128], other[128], tmp[128], spelled[160];

	(void)state;
	in_dir(a, sizeof(a), "Module.dll");
	in_dir(other, sizeof(other), "other.dll");
	create_with(tmp, sizeof(tmp), "a");
	assert_int_equal(plat_place(tmp, a, 0), 0);
	create_with(tmp, sizeof(tmp), "b");
	assert_int_equal(plat_place(tmp, other, 0), 0);

	check_int("same spelling", plat_same_file(a, a), 1);
	snprintf(spelled, sizeof(spelled), "%s/./Module.dll", g_dir);
	check_int("with /./", plat_same_file(a, spelled), 1);
	snprintf(spelled, sizeof(spelled), "%s//Module.dll", g_dir);
	check_int("with //", plat_same_file(a, spelled), 1);
#ifdef _WIN32
	/* Backslashes and another case name the same file on Windows. */
	snprintf(spelled, sizeof(spelled), "%s\\MODULE.DLL", g_dir);
	check_int("backslash, upper case", plat_same_file(a, spelled), 1);
#else
	in_dir(b, sizeof(b), "link.so");
	assert_int_equal(symlink("Module.dll", b), 0);
	check_int("through a symlink", plat_same_file(a, b), 1);
	assert_int_equal(plat_unlink(b), 0);
#endif
	check_int("another file", plat_same_file(a, other), 0);
	in_dir(b, sizeof(b), "missing.dll");
	check_int("a missing file", plat_same_file(a, b), 0);
	check_int("both missing", plat_same_file(b, b), 0);
	assert_int_equal(plat_unlink(a), 0);
	assert_int_equal(plat_unlink(other), 0);
}

static void test_path_native(void **state)
{
	char *p;

	(void)state;
	p = plat_path_native("C:/Program Files/OpenSC/opensc-pkcs11.dll");
	assert_non_null(p);
#ifdef _WIN32
	check_str("native", p, "C:\\Program Files\\OpenSC\\opensc-pkcs11.dll");
#else
	check_str("native", p, "C:/Program Files/OpenSC/opensc-pkcs11.dll");
#endif
	free(p);
}

static void test_strtod_c(void **state)
{
	double d = 0;

	(void)state;
	assert_int_equal(plat_strtod_c("1.5", &d), 0);
	assert_true(d == 1.5);
}

struct listing {
	int files, dirs, calls, stop_at;
};

static int count_entry(void *ctx, const char *name, int is_dir)
{
	struct listing *l = ctx;

	assert_true(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
	l->calls++;
	if (is_dir)
		l->dirs++;
	else
		l->files++;
	return l->calls == l->stop_at ? 7 : 0;
}

/* Reading p11-kit's module files (src/pkcs11/registry.c): every entry but
 * "." and "..", directories told apart; fn's first non-zero ends the walk.
 * Windows does not read them: ENOSYS. */
static void test_dir_each(void **state)
{
	char f1[128], f2[128], sub[128], tmp[128];
	struct listing l = { 0, 0, 0, 0 };
	int rc;

	(void)state;
	create_with(tmp, sizeof(tmp), "a");
	assert_int_equal(plat_place(tmp, in_dir(f1, sizeof(f1), "one.module"), 0), 0);
	create_with(tmp, sizeof(tmp), "b");
	assert_int_equal(plat_place(tmp, in_dir(f2, sizeof(f2), "two.module"), 0), 0);
	assert_int_equal(make_dir(in_dir(sub, sizeof(sub), "sub")), 0);
	rc = plat_dir_each(g_dir, count_entry, &l);
#ifdef _WIN32
	assert_int_equal(rc, -1);
	assert_int_equal(errno, ENOSYS);
	assert_null(plat_p11kit_config());
#else
	assert_int_equal(rc, 0);
	assert_int_equal(l.files, 2);
	assert_int_equal(l.dirs, 1);
	l = (struct listing){ 0, 0, 0, 2 };
	assert_int_equal(plat_dir_each(g_dir, count_entry, &l), 7);
	assert_int_equal(l.calls, 2);
	errno = 0;
	assert_int_equal(plat_dir_each(in_dir(tmp, sizeof(tmp), "missing"), count_entry, &l), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(plat_p11kit_config());
#endif
	assert_int_equal(plat_unlink(f1), 0);
	assert_int_equal(plat_unlink(f2), 0);
	assert_int_equal(remove_dir(sub), 0);
}

/* qs-jwt serve finds qs-jwt-serve beside itself (src/cli/cmd_serve_exec.c). */
static void test_exe_dir(void **state)
{
	char *dir = plat_exe_dir();

	(void)state;
#ifdef _WIN32
	assert_null(dir);
	errno = 0;
	assert_int_equal(plat_exec("x", NULL), -1);
	assert_int_equal(errno, ENOSYS);
#else
	{
		/* The test program is in its build directory's tests/unit. */
		const char *slash;
		assert_non_null(dir);
		assert_true(dir[0] == '/');
		slash = strrchr(dir, '/');
		assert_non_null(slash);
		assert_string_equal(slash, "/unit");
	}
#endif
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getenv_utf8),
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_same_file),
		cmocka_unit_test(test_path_native),
		cmocka_unit_test(test_strtod_c),
		cmocka_unit_test(test_dir_each),
		cmocka_unit_test(test_exe_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
