/*
 * qs-jwt serve: a local HTTP service that holds one login to the key and
 * issues policy-checked, audited tokens (README: "qs-jwt serve").
 */
#ifndef QSJWT_SERVE_H
#define QSJWT_SERVE_H

#include <stddef.h>
#include <sys/types.h>

#include <qsjwt/qsjwt.h>

#include "serve/key.h"

typedef struct {
	/* "unix:PATH", "tcp:127.0.0.1:PORT", "https:ADDR:PORT" or "systemd"
	 * (the sockets socket activation passed) */
	const char *const *listen;
	size_t n_listen;
	mode_t socket_mode;    /* of the unix sockets */
	unsigned jobs;	       /* signing workers */
	unsigned queue;	       /* token requests that may wait for a worker; more: 503 */
	unsigned conn_timeout; /* seconds a connection may be idle */
	qsjwt_alg alg;
	const char *policy_path; /* NULL: only the service's own uid */
	const char *audit_path;	 /* NULL: no file */
	int audit_syslog;
	const char *certificate;   /* for GET /v1/certificate; NULL: the token's */
	key_reopen_fn reopen; /* token keys: a new signer after a device failure */
	void *reopen_ud;
	/* https: listeners (PEM files); all three or none */
	const char *tls_cert, *tls_key, *tls_client_ca;
} serve_opts;

typedef struct server server;

/*
 * Check a --listen value as server_start() would take it, without opening
 * anything: the tcp: and https: address and port, and a tcp: address on
 * this machine only. 0, or -1 with *err (the caller frees it).
 */
int serve_listen_check(const char *spec, char **err);

/*
 * Open the audit log, load the policy, start the signing pool over `signer`
 * (taken over: freed with the server, also when the start fails) and
 * listen. 0, or -1 with the reason logged (nothing is left listening).
 */
int server_start(const serve_opts *o, qsjwt_signer *signer, server **out);

/* SIGHUP: read the policy file again, and the TLS certificate and key. A
 * policy or pair that does not load is logged and the one in force stays. */
void server_reload(server *s);

/*
 * Stop accepting connections, let the requests in flight finish (at most
 * `grace_seconds`), then close every connection. 0, or the number of
 * signing calls still inside the module (the signer must then not be
 * freed: the process should exit as it is).
 */
unsigned server_stop(server *s, unsigned grace_seconds);

/* After server_stop() returned 0. NULL is a no-op. */
void server_free(server *s);

#endif
