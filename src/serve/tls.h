/*
 * TLS for qs-jwt serve (GnuTLS, the TLS library libmicrohttpd is built
 * with): the server's certificate and key, handed to each handshake by a
 * callback so that SIGHUP can replace them without restarting a listener;
 * the client CA that every caller's certificate must chain to; and who the
 * caller is (RFC 4514 subject, SHA-256 of the DER) for the policy.
 *
 * One TLS configuration per process: the handshake callback has no
 * argument of its own, so the pair in force is module state.
 */
#ifndef QSJWT_SERVE_TLS_H
#define QSJWT_SERVE_TLS_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "serve/policy.h"

/* TLS 1.3 preferred, 1.2 the minimum (RFC 8996 deprecates 1.0 and 1.1);
 * GnuTLS's NORMAL cipher suites otherwise. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

typedef struct tls_conf tls_conf;

/*
 * Read the server's certificate chain `cert_path` (PEM, leaf first), its
 * private key `key_path` (PEM, unencrypted) and the client CA certificates
 * `ca_path` (PEM), check that the key belongs to the certificate, and make
 * the pair the one handshakes use. NULL on any failure, logged with the
 * file's name. Free with tls_conf_free().
 */
tls_conf *tls_conf_load(const char *cert_path, const char *key_path, const char *ca_path);

/*
 * SIGHUP: read the certificate and key files again. 0 and the new pair is
 * used by the next handshakes; -1 (logged), and the pair in force stays.
 * The previous pair is kept until tls_conf_free() (a handshake under way
 * may still hold it).
 */
int tls_conf_reload(tls_conf *t);

/* The client CA certificates, PEM (MHD_OPTION_HTTPS_MEM_TRUST). */
const char *tls_conf_trust(const tls_conf *t);

/* The certificate callback for MHD_OPTION_HTTPS_CERT_CALLBACK: the pair
 * in force. */
gnutls_certificate_retrieve_function2 *tls_cert_callback(void);

/*
 * A new connection's session (MHD_CONNECTION_INFO_GNUTLS_SESSION): require a
 * client certificate that verifies against the client CA for TLS client
 * use (extendedKeyUsage clientAuth when the certificate has the extension),
 * so that the handshake itself fails without one. 0, or -1.
 */
int tls_session_require_client(void *session);

/*
 * The caller on a TLS session after the handshake: verifies the client
 * certificate again and fills c (kind CALLER_TLS) with its subject in
 * *subject (RFC 4514; caller frees) and the lowercase hex SHA-256 of its DER
 * in sha256. 0, or -1 with *why (a static message) when there is no
 * certificate or it does not verify.
 */
int tls_peer(void *session, serve_caller *c, char **subject, char sha256[65], const char **why);

void tls_conf_free(tls_conf *t);

#endif
