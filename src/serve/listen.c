/* SO_PEERCRED and struct ucred are Linux, declared by glibc under
 * _GNU_SOURCE only. */
#define _GNU_SOURCE
#include "serve/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char *format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static char *format(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return strdup(buf);
}

/* Whether a socket file is stale: connecting to it is refused (nobody
 * listens). A live service's socket is never taken over. */
static int stale_socket(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), stale;

	if (fd < 0)
		return 0;
	stale = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 && errno == ECONNREFUSED;
	close(fd);
	return stale;
}

int listen_unix(const char *path, mode_t mode, char **err)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1;

	*err = NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = format("socket path '%s' is longer than %zu bytes", path,
			      sizeof(sa.sun_path) - 1);
		goto fail;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*err = format("'%s' exists and is not a socket: not replaced", path);
			goto fail;
		}
		if (!stale_socket(&sa)) {
			*err = format("'%s' is in use (a service answers on it)", path);
			goto fail;
		}
		if (unlink(path) != 0) {
			*err = format("cannot remove the stale socket '%s': %s", path,
				      strerror(errno));
			goto fail;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		*err = format("cannot create socket '%s': %s", path, strerror(errno));
		goto fail;
	}
	/* chmod after bind: the file is created with the umask, and nobody can
	 * connect before listen() anyway. */
	if (chmod(path, mode) != 0 || listen(fd, SOMAXCONN) != 0) {
		*err = format("cannot listen on socket '%s': %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	if (*err == NULL)
		*err = strdup("out of memory");
	return -1;
}

int listen_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int listen_loopback(const char *host, unsigned port, unsigned *bound_port, char **err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = -1, one = 1, family;

	*err = NULL;
	if (!listen_is_loopback(host))
		goto not_loopback;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		family = AF_INET;
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)port);
		len = sizeof(*in);
	} else {
		/* ::1, as listen_is_loopback found. */
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		(void)inet_pton(AF_INET6, host, &in6->sin6_addr);
		family = AF_INET6;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		len = sizeof(*in6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		*err = format("cannot listen on %s port %u: %s", host, port, strerror(errno));
		goto fail;
	}
	*bound_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
not_loopback:
	/* Plain HTTP carries tokens in clear: only on this machine. */
	*err = format("'%s' is not a loopback address (127.0.0.0/8 or ::1): plain HTTP is "
		      "only served on this machine",
		      host);
fail:
	if (fd >= 0)
		close(fd);
	if (*err == NULL)
		*err = strdup("out of memory");
	return -1;
}

int peer_unix(int fd, serve_caller *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return -1;
	memset(c, 0, sizeof(*c));
	c->kind = CALLER_UNIX;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	return 0;
}
