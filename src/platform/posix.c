/* The platform layer on POSIX systems (platform.h). */
/* readdir's d_type (DT_DIR) is not POSIX. */
#define _DEFAULT_SOURCE
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

void plat_process_init(void)
{
	struct rlimit no_core = { 0, 0 };

	/* Keys and passphrases live in this process: never in a core dump. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	/* A closed stdout is an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
}

int plat_sanitize_std_fds(void)
{
	int stdout_open = 1;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (fd == STDOUT_FILENO)
			stdout_open = 0;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			abort(); /* cannot even get /dev/null: nothing safe to do */
	}
	return stdout_open;
}

int plat_isatty(int fd)
{
	return isatty(fd);
}

const char *plat_getenv(const char *name)
{
	return getenv(name);
}

long plat_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 0;
}

int plat_open_read(const char *path)
{
	/* O_NONBLOCK only for the open: a FIFO without a writer must not hang. */
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), flags;

	if (fd < 0)
		return -1;
	flags = fcntl(fd, F_GETFL);
	if (flags != -1)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

int plat_open_plain(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC);
}

int plat_path_is_dir(const char *path, int follow)
{
	struct stat st;

	if ((follow ? stat(path, &st) : lstat(path, &st)) != 0)
		return -1;
	return S_ISDIR(st.st_mode) ? 1 : 0;
}

char *plat_path_native(const char *path)
{
	return strdup(path);
}

int plat_dir_writable(const char *dir)
{
	return access(dir, W_OK | X_OK);
}

const char *plat_private_desc(void)
{
	return "mode 0600";
}

int plat_create_private(char *tmpl, unsigned mode)
{
	mode_t mask;
	/* mkstemp: O_CREAT | O_EXCL, mode 0600. */
	int fd = mkstemp(tmpl), e;

	if (fd < 0)
		return -1;
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, (mode_t)mode & ~mask) != 0) {
		e = errno;
		close(fd);
		(void)unlink(tmpl);
		errno = e;
		return -1;
	}
	return fd;
}

int plat_fsync(int fd)
{
	return fsync(fd);
}

void plat_sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	size_t n;
	int fd;

	n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
	dir = malloc(n + 1);
	if (dir == NULL)
		return;
	memcpy(dir, slash == NULL ? "." : path, n);
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

int plat_place(const char *tmp, const char *final, int overwrite)
{
	if (overwrite)
		return rename(tmp, final);
	/* link() fails with EEXIST instead of replacing: a file that appeared
	 * since the check is never overwritten. */
	if (link(tmp, final) != 0)
		return -1;
	(void)unlink(tmp);
	return 0;
}

int plat_unlink(const char *path)
{
	return unlink(path);
}

int plat_file_readable_by_others(int fd, const char *path, char *why, size_t why_size,
				 char *fix, size_t fix_size)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	if ((st.st_mode & (S_IRGRP | S_IROTH)) == 0)
		return 0;
	snprintf(why, why_size, "mode %04o", (unsigned)(st.st_mode & 07777));
	snprintf(fix, fix_size, "chmod 600 '%s'", path);
	return 1;
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define N_STOP (sizeof(stop_signals) / sizeof(stop_signals[0]))
static struct sigaction g_old_stop[N_STOP];

static void stop_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < N_STOP; i++)
		sigaddset(set, stop_signals[i]);
}

void plat_stop_signals_catch(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	stop_set(&sa.sa_mask);
	/* No SA_RESTART: a blocking read() returns EINTR and sees the flag. */
	for (size_t i = 0; i < N_STOP; i++)
		sigaction(stop_signals[i], &sa, &g_old_stop[i]);
}

void plat_stop_signals_restore(void)
{
	for (size_t i = 0; i < N_STOP; i++)
		sigaction(stop_signals[i], &g_old_stop[i], NULL);
}

void plat_stop_signals_block(int block)
{
	sigset_t set;

	stop_set(&set);
	pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int plat_wake_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		(void)fcntl(fds[i], F_SETFL, O_NONBLOCK);
		(void)fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

int plat_wait_input(int fd, int wake_fd)
{
	struct pollfd p[2];
	char drain[64];
	int rc = 1;

	p[0].fd = fd;
	p[0].events = POLLIN;
	p[1].fd = wake_fd;
	p[1].events = POLLIN;
	p[0].revents = p[1].revents = 0;
	if (poll(p, 2, -1) < 0) {
		rc = errno == EINTR ? 0 : 1; /* read() reports any other error */
	} else if (p[1].revents != 0) {
		(void)!read(wake_fd, drain, sizeof(drain));
		rc = 0;
	}
	return rc;
}

int plat_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

void plat_wipe_arg_copies(const char *value)
{
	(void)value;
}

void plat_die_of_signal(int sig)
{
	sigset_t set;

	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

ssize_t plat_read(int fd, void *buf, size_t n)
{
	return read(fd, buf, n);
}

int plat_strtod_c(const char *num, double *out)
{
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0), old;

	if (c == (locale_t)0)
		return -1;
	old = uselocale(c);
	*out = strtod(num, NULL);
	uselocale(old);
	freelocale(c);
	return 0;
}

int plat_dir_each(const char *dir, int (*fn)(void *ctx, const char *name, int is_dir),
		  void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return -1;
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		int is_dir;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_type != DT_UNKNOWN) {
			is_dir = e->d_type == DT_DIR;
		} else {
			path = malloc(strlen(dir) + strlen(e->d_name) + 2);
			if (path == NULL) {
				rc = -1;
				break;
			}
			sprintf(path, "%s/%s", dir, e->d_name);
			is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
			free(path);
		}
		rc = fn(ctx, e->d_name, is_dir);
	}
	if (rc == 0 && errno != 0)
		rc = -1;
	closedir(d);
	return rc;
}

int plat_p11kit_user_config(void)
{
	return getuid() != 0 && getauxval(AT_SECURE) == 0;
}

const plat_p11kit_places *plat_p11kit_config(void)
{
#if defined(QSJWT_P11_SYSCONFDIR) && defined(QSJWT_P11_PACKAGE_MODULES) && \
    defined(QSJWT_P11_MODULE_DIR)
	static const plat_p11kit_places places = { QSJWT_P11_SYSCONFDIR "/pkcs11/pkcs11.conf",
						   QSJWT_P11_SYSCONFDIR "/pkcs11/modules",
						   QSJWT_P11_PACKAGE_MODULES, QSJWT_P11_MODULE_DIR,
						   ".config/pkcs11/pkcs11.conf",
						   ".config/pkcs11/modules" };
	return &places;
#else
	return NULL;
#endif
}

const char *plat_progname(void)
{
	extern char *program_invocation_short_name;

	return program_invocation_short_name;
}

char *plat_exe_dir(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= sizeof(buf) - 1)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash == NULL)
		return NULL;
	*slash = '\0';
	return strdup(buf[0] != '\0' ? buf : "/");
}

int plat_exec(const char *path, char *const argv[])
{
	return execv(path, argv);
}
