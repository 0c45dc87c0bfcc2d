/*
 * systemd: the listening sockets a .socket unit passes (socket activation,
 * sd_listen_fds(3)) and the state the service reports to its manager
 * (sd_notify(3): READY=1 once the key is logged in, STOPPING=1, STATUS=).
 * Without systemd (no LISTEN_FDS, no NOTIFY_SOCKET) both do nothing.
 */
#ifndef QSJWT_SERVE_SD_H
#define QSJWT_SERVE_SD_H

#include <stddef.h>

/* One socket systemd passed. */
typedef struct {
	int fd;	      /* close-on-exec, non-blocking */
	int is_unix;  /* AF_UNIX stream; else TCP (IPv4 or IPv6) */
	int loopback; /* TCP bound to 127.0.0.0/8 or ::1 */
	char *name;   /* FileDescriptorName= of the unit ("https": serve TLS on it) */
	char where[128]; /* for logs: unix:PATH, tcp:ADDR:PORT, tcp:[ADDR]:PORT */
} sdl_socket;

/*
 * The sockets passed to this process (LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES; the variables are then unset so that no child takes them
 * too). 0 with *n = 0 when there are none; 0 with the sockets in *out
 * (free with sdl_sockets_free()); -1 and *err (caller frees) when one of
 * them is not a listening stream socket of AF_UNIX, AF_INET or AF_INET6.
 */
int sdl_listen_fds(sdl_socket **out, size_t *n, char **err);

/* Close the sockets that are still >= 0 and free the array. */
void sdl_sockets_free(sdl_socket *s, size_t n);

/* READY=1 with STATUS=`status`: the key is logged in and the listeners
 * answer (Type=notify units start their dependants now). */
void sdl_notify_ready(const char *status);

/* STOPPING=1 with STATUS=`status`. */
void sdl_notify_stopping(const char *status);

/* STATUS=`status` (what `systemctl status` shows), e.g. the token state. */
void sdl_notify_status(const char *status);

#endif
