#include <stddef.h>

#include "serve/inet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int listen_inet(const char *host, unsigned port, unsigned *bound_port, char **err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = -1, one = 1, family;
	char msg[300];

	*err = NULL;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		family = AF_INET;
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)port);
		len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		family = AF_INET6;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		len = sizeof(*in6);
	} else {
		snprintf(msg, sizeof(msg), "'%.200s' is not an IPv4 or IPv6 address", host);
		*err = strdup(msg);
		return -1;
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		snprintf(msg, sizeof(msg), "cannot listen on %.200s port %u: %s", host, port,
			 strerror(errno));
		*err = strdup(msg);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*bound_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

int split_host_port(const char *spec, char *host, size_t size, unsigned *port, const char **err)
{
	const char *colon = strrchr(spec, ':');
	size_t n;

	*port = 0;
	if (colon == NULL || colon == spec || (size_t)(colon - spec) >= size) {
		*err = "give ADDRESS:PORT";
		return -1;
	}
	n = (size_t)(colon - spec);
	memcpy(host, spec, n);
	host[n] = '\0';
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	for (const char *p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || *port > 65535) {
			*port = 65536;
			break;
		}
		*port = *port * 10 + (unsigned)(*p - '0');
	}
	if (colon[1] == '\0' || *port > 65535) {
		*err = "the port is a number from 0 to 65535";
		return -1;
	}
	return 0;
}
