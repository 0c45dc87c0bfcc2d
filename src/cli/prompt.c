#include "cli/prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <qsjwt/qsjwt.h>

static volatile sig_atomic_t g_interrupted;

static void on_signal(int sig)
{
	(void)sig;
	g_interrupted = 1;
}

int prompt_secret(const char *prompt, char *buf, size_t size)
{
	struct termios old, noecho;
	struct sigaction sa, old_int, old_term;
	size_t len = 0;
	int fd, rc = -1;
	char c;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return -1;
	}
	/* Ctrl-C must not leave the terminal without echo: catch it (without
	 * SA_RESTART, so read() returns), restore, then report. */
	g_interrupted = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	noecho.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &noecho) != 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR && !g_interrupted)
			continue;
		if (n <= 0 || g_interrupted)
			goto out;
		if (c == '\n' || c == '\r')
			break;
		if (len + 1 >= size)
			goto out;
		buf[len++] = c;
	}
	buf[len] = '\0';
	rc = len > 0 ? (int)len : -1;
out:
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc < 0)
		qsjwt_secret_wipe(buf, size);
	close(fd);
	if (g_interrupted)
		errno = EINTR;
	return rc;
}
