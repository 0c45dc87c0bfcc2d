#include "serve/sd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

/* Describe `fd` (a listening socket) in s: family, address, loopback. 0, or
 * -1 when it is no socket we serve on. */
static int describe(int fd, sdl_socket *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
		size_t n = len > offsetof(struct sockaddr_un, sun_path)
			       ? len - offsetof(struct sockaddr_un, sun_path)
			       : 0;
		s->is_unix = 1;
		if (n > 0 && un->sun_path[0] == '\0')
			snprintf(s->where, sizeof(s->where), "unix:@%.*s", (int)(n - 1),
				 un->sun_path + 1);
		else
			snprintf(s->where, sizeof(s->where), "unix:%.*s", (int)strnlen(un->sun_path, n),
				 un->sun_path);
		return 0;
	}
	if (sd_is_socket_inet(fd, AF_INET, SOCK_STREAM, 1, 0) > 0) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		s->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
		snprintf(s->where, sizeof(s->where), "tcp:%s:%u", host, ntohs(in->sin_port));
		return 0;
	}
	if (sd_is_socket_inet(fd, AF_INET6, SOCK_STREAM, 1, 0) > 0) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		/* ::1 only; a v4-mapped 127.x address counts too. */
		s->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
			      (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127);
		snprintf(s->where, sizeof(s->where), "tcp:[%s]:%u", host, ntohs(in6->sin6_port));
		return 0;
	}
	return -1;
}

int sdl_listen_fds(sdl_socket **out, size_t *n, char **err)
{
	char **names = NULL, msg[256];
	sdl_socket *s = NULL;
	int count, rc = -1, i;

	*out = NULL;
	*n = 0;
	*err = NULL;
	count = sd_listen_fds_with_names(1, &names);
	if (count < 0) {
		snprintf(msg, sizeof(msg), "cannot take the sockets systemd passed: %s",
			 strerror(-count));
		*err = strdup(msg);
		goto out;
	}
	if (count == 0) {
		rc = 0;
		goto out;
	}
	s = calloc((size_t)count, sizeof(*s));
	if (s == NULL)
		goto out;
	for (i = 0; i < count; i++)
		s[i].fd = -1;
	for (i = 0; i < count; i++) {
		int fd = SD_LISTEN_FDS_START + i, fl;
		s[i].fd = fd;
		s[i].name = strdup(names != NULL && names[i] != NULL ? names[i] : "unknown");
		if (s[i].name == NULL)
			goto out;
		if (describe(fd, &s[i]) != 0) {
			snprintf(msg, sizeof(msg),
				 "socket %d (%s) that systemd passed is not a listening unix or "
				 "TCP stream socket",
				 fd, s[i].name);
			*err = strdup(msg);
			goto out;
		}
		/* systemd passes blocking sockets unless NonBlocking=yes;
		 * libmicrohttpd's accept loop must never block. */
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
			snprintf(msg, sizeof(msg), "cannot set up socket %d (%s): %s", fd,
				 s[i].name, strerror(errno));
			*err = strdup(msg);
			goto out;
		}
	}
	*out = s;
	*n = (size_t)count;
	s = NULL;
	rc = 0;
out:
	if (s != NULL)
		sdl_sockets_free(s, (size_t)count);
	if (names != NULL) {
		for (i = 0; names[i] != NULL; i++)
			free(names[i]);
		free(names);
	}
	if (rc != 0 && *err == NULL)
		*err = strdup("cannot take the sockets systemd passed: out of memory");
	return rc;
}

void sdl_sockets_free(sdl_socket *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i].fd >= 0)
			close(s[i].fd);
		free(s[i].name);
	}
	free(s);
}

/* One notification: "FIELD\nSTATUS=status". Line feeds in status would
 * start a new field: they become spaces. */
static void notify(const char *field, const char *status)
{
	char buf[512];
	size_t i, n;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	n = (size_t)snprintf(buf, sizeof(buf), "%s%sSTATUS=", field != NULL ? field : "",
			     field != NULL ? "\n" : "");
	for (i = 0; status[i] != '\0' && n + 1 < sizeof(buf); i++)
		buf[n++] = status[i] == '\n' ? ' ' : status[i];
	buf[n] = '\0';
	(void)sd_notify(0, buf);
}

void sdl_notify_ready(const char *status)
{
	notify("READY=1", status);
}

void sdl_notify_stopping(const char *status)
{
	notify("STOPPING=1", status);
}

void sdl_notify_status(const char *status)
{
	notify(NULL, status);
}
