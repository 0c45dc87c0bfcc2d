/* The platform layer on POSIX systems (platform.h). */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static struct sigaction g_old_int, g_old_term;

void plat_stop_signals_catch(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &g_old_int);
	sigaction(SIGTERM, &sa, &g_old_term);
}

void plat_stop_signals_restore(void)
{
	sigaction(SIGINT, &g_old_int, NULL);
	sigaction(SIGTERM, &g_old_term, NULL);
}

void plat_wipe_arg_copies(const char *value)
{
	(void)value;
}

void plat_die_of_signal(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
}
