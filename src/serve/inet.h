/* The TCP listener of an https: --listen: any address (TLS protects it),
 * where listen_loopback() (listen.h) takes only this machine's. */
#ifndef QSJWT_SERVE_INET_H
#define QSJWT_SERVE_INET_H

/*
 * A listening TCP socket on `host` (an IPv4 or IPv6 address, no name
 * lookup), port `port` (0: any free one). The fd (close-on-exec,
 * non-blocking), or -1 and *err (caller frees). *bound_port gets the port.
 */
int listen_inet(const char *host, unsigned port, unsigned *bound_port, char **err);

/*
 * Split "HOST:PORT" or "[V6]:PORT" into host (at most `size` bytes) and
 * port. 0, or -1 with *err (a static message).
 */
int split_host_port(const char *spec, char *host, size_t size, unsigned *port, const char **err);

#endif
