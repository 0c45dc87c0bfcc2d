/* The service's listening sockets and who is on the other end of a
 * connection. */
#ifndef QSJWT_SERVE_LISTEN_H
#define QSJWT_SERVE_LISTEN_H

#include <sys/types.h>

#include "serve/policy.h"

/*
 * A listening unix socket at `path` with mode `mode`. A socket file left by
 * a service that is gone (nobody accepts on it) is replaced; anything else
 * at `path` is refused. The fd (close-on-exec, non-blocking), or -1 and
 * *err (caller frees).
 */
int listen_unix(const char *path, mode_t mode, char **err);

/* 1 when `host` is an IPv4 address in 127.0.0.0/8 or the IPv6 ::1 (a
 * literal: no name lookup), else 0. */
int listen_is_loopback(const char *host);

/* A listening TCP socket on 127.0.0.1 or ::1 (`host`), port `port` (0: any
 * free one). The fd, or -1 and *err (caller frees). *bound_port gets the
 * port. */
int listen_loopback(const char *host, unsigned port, unsigned *bound_port, char **err);

/* The caller on a unix-socket connection `fd` (SO_PEERCRED): 0, or -1. */
int peer_unix(int fd, serve_caller *c);

#endif
