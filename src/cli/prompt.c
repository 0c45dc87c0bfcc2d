#include "cli/prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <qsjwt/qsjwt.h>

#include "cli/stop.h"

int prompt_secret(const char *prompt, char *buf, size_t size)
{
	struct termios old, noecho;
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
	/* Ctrl-C must not leave the terminal without echo: catch it (read()
	 * returns EINTR), restore the terminal, then die of it. */
	stop_catch();
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	noecho.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &noecho) != 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR && !stop_signal())
			continue;
		if (n <= 0 || stop_signal())
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
	if (rc < 0)
		qsjwt_secret_wipe(buf, size);
	close(fd);
	stop_release();
	if (stop_signal()) {
		/* Nothing half-made outside a phase that catches signals: die
		 * now (128+N). Inside one (--cert-create on a token), its owner
		 * undoes its work first. */
		stop_reraise();
		errno = EINTR;
		rc = -1;
	}
	return rc;
}
