/* qs-jwt serve: the token service (src/serve), run in the foreground until
 * SIGTERM or SIGINT; SIGHUP reloads the policy. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <qsjwt/qsjwt.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/key_opts.h"
#include "serve/serve.h"
#include "util/locked.h"
#include "util/log.h"

#define CMD "serve"
#define MAX_JOBS 256
#define MAX_LISTEN 16
/* --queue: at most; the default is QUEUE_PER_JOB a worker. */
#define MAX_QUEUE 1024
#define QUEUE_PER_JOB 4
/* The longest PIN kept (the library asks for at most 256 bytes). */
#define KEPT_PIN_MAX 4096
/* How long SIGTERM waits for the requests under way. */
#define STOP_GRACE_SECONDS 10

enum {
	OPT_LISTEN = 1,
	OPT_SOCKET_MODE,
	OPT_JOBS,
	OPT_QUEUE,
	OPT_POLICY,
	OPT_AUDIT_LOG,
	OPT_AUDIT_SYSLOG,
	OPT_TIMEOUT,
	OPT_ALG,
	OPT_CERTIFICATE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CLIENT_CA,
	OPT_LOGLEVEL,
	OPT_HELP,
	OPT_VERSION
};

static const cli_option serve_opts_table[] = {
    {OPT_LISTEN, "listen", 0, CLI_VALUE, 0, "<where>",
     "where to answer: unix:PATH (a unix socket; callers known by uid and gid),\n"
     "tcp:127.0.0.1:PORT (loopback only; callers are \"loopback\"),\n"
     "https:ADDRESS:PORT (TLS; callers known by their client certificate) or\n"
     "systemd (the sockets of socket activation); repeatable; required"},
    {OPT_SOCKET_MODE, "socket-mode", 0, CLI_VALUE, 0, "<mode>",
     "permissions of the unix sockets, octal (default 0660)"},
    {OPT_JOBS, "jobs", 0, CLI_VALUE, 0, "<n>",
     "signing workers (token keys: a session each, one login for all; default 1)"},
    {OPT_QUEUE, "queue", 0, CLI_VALUE, 0, "<n>",
     "token requests that may wait for a busy worker, 0 to 1024 (default 4 per\n"
     "worker); more at once are answered 503 with Retry-After: 1 (load shedding)"},
    {OPT_POLICY, "policy", 0, CLI_VALUE, 0, "<file>",
     "which caller may ask for which tokens (JSON, see the README); default:\n"
     "only the uid running the service, for anything; SIGHUP reloads it"},
    {OPT_AUDIT_LOG, "audit-log", 0, CLI_VALUE, 0, "<file>",
     "append one JSON line per decision to FILE (created 0600)"},
    {OPT_AUDIT_SYSLOG, "audit-syslog", 0, CLI_FLAG, 0, NULL,
     "send each audit line to syslog (authpriv) too"},
    {OPT_TIMEOUT, "connection-timeout", 0, CLI_VALUE, 0, "<seconds>",
     "close a connection idle (or sending too slowly) this long (default 10)"},
    {OPT_CERTIFICATE, "certificate", 0, CLI_VALUE, 0, "<file>",
     "certificate of the key (PEM or DER) for GET /v1/certificate (default: the\n"
     "one stored beside a token key); refused when it is for another key"},
    {OPT_ALG, "alg", 0, CLI_VALUE, 0, "<alg>",
     "signature algorithm: RS256 (default), RS384 or RS512"},
    {OPT_TLS_CERT, "tls-cert", 0, CLI_VALUE, 0, "<file>",
     "https: the server's certificate chain (PEM, leaf first); SIGHUP rereads it"},
    {OPT_TLS_KEY, "tls-key", 0, CLI_VALUE, 0, "<file>",
     "https: the server's private key (PEM, unencrypted); SIGHUP rereads it"},
    {OPT_TLS_CLIENT_CA, "tls-client-ca", 0, CLI_VALUE, 0, "<file>",
     "https: the CA certificates (PEM) that every client certificate must chain to"},
};

static const cli_option common_opts[] = {
    {OPT_LOGLEVEL, "loglevel", 0, CLI_VALUE, 0, "<level>",
     "log level: error, warn (or warning), info, verbose, debug (default info)"},
    {OPT_HELP, "help", 'h', CLI_FLAG, 0, NULL, "display help for command"},
    {OPT_VERSION, "version", 0, CLI_FLAG, 0, NULL, "output the version number"},
};

#define N_SERVE (sizeof(serve_opts_table) / sizeof(serve_opts_table[0]))
#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))

typedef struct {
	const char *listen[MAX_LISTEN];
	size_t n_listen;
	long socket_mode; /* -1: not given */
	long jobs, queue, timeout; /* queue -1: not given */
	const char *policy, *audit_log, *certificate;
	const char *tls_cert, *tls_key, *tls_client_ca;
	int audit_syslog;
	qsjwt_alg alg;
	qsjwt_log_level loglevel;
	int help, version;
	key_opts key;
} settings;

/* The PIN, kept for logging in again after the token went away: the first
 * login reads it from its source, the next ones from here. */
typedef struct {
	secret_source *src;
	char *pin; /* KEPT_PIN_MAX bytes of locked memory */
	size_t len;
	int have;
} kept_pin;

static qsjwt_err keep_pin(char *buf, size_t size, size_t *len, const char *token, void *ud)
{
	kept_pin *kp = ud;
	qsjwt_err rc;

	if (kp->have) {
		if (kp->len > size)
			return QSJWT_ERR_LOGIN;
		memcpy(buf, kp->pin, kp->len);
		*len = kp->len;
		return QSJWT_OK;
	}
	rc = pin_from_sources(buf, size, len, token, kp->src);
	if (rc == QSJWT_OK && *len <= KEPT_PIN_MAX) {
		memcpy(kp->pin, buf, *len);
		kp->len = *len;
		kp->have = 1;
	}
	return rc;
}

static qsjwt_err reopen_token(void *ud, qsjwt_signer **out)
{
	const qsjwt_pkcs11_opts *p11 = ud;

	return qsjwt_signer_from_pkcs11(p11, out);
}

static cli_table table;

/* A key made on the spot (--cert-create) has no place in a service. */
static int serve_key_opt(int id)
{
	return id != KEY_OPT_CERT_CREATE && id != KEY_OPT_KEY_BITS && id != KEY_OPT_DAYS &&
	       id != KEY_OPT_PREFIX && id != KEY_OPT_FORCE;
}

/* The serve options, the key options a service can use, the common ones. */
static int build_table(void)
{
	const cli_option *parts[] = { serve_opts_table, key_opts_table, common_opts };
	const size_t lens[] = { N_SERVE, key_opts_table_len, N_COMMON };
	size_t n = 0;

	if (cli_table_build(&table, NULL, 0, parts, lens, 3) != 0)
		return -1;
	for (size_t i = 0; i < table.n; i++) {
		if (serve_key_opt(table.v[i].id))
			table.v[n++] = table.v[i];
	}
	table.n = n;
	return 0;
}

static void help(void)
{
	printf("Usage: qs-jwt serve --listen <where> [options]\n\n"
	       "Answer HTTP requests for tokens, signing with one key and one login:\n"
	       "  POST /v1/qseow  {\"userid\",\"userdir\",\"username\",\"useremail\",\"groups\",\n"
	       "                  \"expires\",\"audience\"} -> {\"token\",\"exp\"}\n"
	       "  POST /v1/qscloud {\"sub\",\"username\",\"useremail\",\"useremail_verified\",\n"
	       "                  \"groups\",\"expires\",\"issuer\",\"keyid\"} -> {\"token\",\"exp\"}\n"
	       "  GET  /v1/certificate  the key's certificate (PEM)\n"
	       "  GET  /healthz   {\"status\":\"ok\"} when the key can sign now\n"
	       "  GET  /metrics   Prometheus text, for policy clients with \"metrics\": true\n"
	       "Each caller gets what the policy allows it; every decision is one line in\n"
	       "the audit log. Runs in the foreground: SIGTERM or SIGINT stops it once the\n"
	       "requests under way are answered, SIGHUP reloads the policy and the TLS\n"
	       "certificate and key. Under systemd (Type=notify) it reports READY=1 once\n"
	       "the key is logged in.\n\n"
	       "Options:\n");
	cli_print_options(stdout, table.v, table.n);
	printf("\nEnvironment:\n"
	       "  QSJWT_KEY_PASSPHRASE  passphrase of an encrypted private key (when no\n"
	       "                        --cert-privatekey-passphrase-file is given)\n"
	       "  QSJWT_PKCS11_PIN      user PIN of the token (when the URI has no pin-source\n"
	       "                        and no --pkcs11-pin-file is given)\n"
	       "  NO_COLOR              when set and not empty, logs are never coloured\n\n");
	cli_print_exit_codes(stdout, 0);
	printf("\nExample:\n"
	       "  qs-jwt serve --listen unix:/run/qs-jwt/sock --audit-log audit.jsonl \\\n"
	       "    --cert-privatekey-file privatekey.pem\n");
}

/* A whole number from lo to hi in `base`; -1 when it is not one. */
static long number(const char *v, int base, long lo, long hi)
{
	long n = 0;

	if (*v == '\0')
		return -1;
	for (const char *p = v; *p != '\0'; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : 99;
		if (d >= base || n > hi)
			return -1;
		n = n * base + d;
	}
	return n < lo || n > hi ? -1 : n;
}

static int handle(void *ud, int id, char *value)
{
	settings *s = ud;
	char *err = NULL;

	switch (id) {
	case OPT_LISTEN:
		if (strncmp(value, "unix:", 5) != 0 && strncmp(value, "tcp:", 4) != 0 &&
		    strncmp(value, "https:", 6) != 0 && strcmp(value, "systemd") != 0) {
			cli_usage_error(CMD,
					"--listen takes unix:PATH, tcp:127.0.0.1:PORT, "
					"https:ADDRESS:PORT or systemd, not %s",
					cli_shown(value));
			return -1;
		}
		if (strncmp(value, "unix:", 5) == 0 && value[5] == '\0') {
			cli_usage_error(CMD, "--listen unix: needs a path");
			return -1;
		}
		if (serve_listen_check(value, &err) != 0) {
			cli_usage_error(CMD, "--listen %s: %s", cli_shown(value), err);
			free(err);
			return -1;
		}
		if (s->n_listen == MAX_LISTEN) {
			cli_usage_error(CMD, "at most %d --listen", MAX_LISTEN);
			return -1;
		}
		s->listen[s->n_listen++] = value;
		return 0;
	case OPT_SOCKET_MODE:
		s->socket_mode = number(value, 8, 0, 0777);
		if (s->socket_mode < 0) {
			cli_usage_error(
			    CMD, "--socket-mode takes octal permissions such as 0660, not %s",
			    cli_shown(value));
			return -1;
		}
		return 0;
	case OPT_JOBS:
		s->jobs = number(value, 10, 1, MAX_JOBS);
		if (s->jobs < 0) {
			cli_usage_error(CMD, "--jobs must be a whole number from 1 to %d, not %s",
					MAX_JOBS, cli_shown(value));
			return -1;
		}
		return 0;
	case OPT_QUEUE:
		s->queue = number(value, 10, 0, MAX_QUEUE);
		if (s->queue < 0) {
			cli_usage_error(CMD, "--queue must be a whole number from 0 to %d, not %s",
					MAX_QUEUE, cli_shown(value));
			return -1;
		}
		return 0;
	case OPT_TIMEOUT:
		s->timeout = number(value, 10, 1, 3600);
		if (s->timeout < 0) {
			cli_usage_error(
			    CMD,
			    "--connection-timeout must be whole seconds from 1 to 3600, "
			    "not %s",
			    cli_shown(value));
			return -1;
		}
		return 0;
	case OPT_CERTIFICATE:
		s->certificate = value;
		return 0;
	case OPT_POLICY:
		s->policy = value;
		return 0;
	case OPT_AUDIT_LOG:
		s->audit_log = value;
		return 0;
	case OPT_AUDIT_SYSLOG:
		s->audit_syslog = 1;
		return 0;
	case OPT_ALG:
		return cli_alg(CMD, value, &s->alg);
	case OPT_TLS_CERT:
		s->tls_cert = value;
		return 0;
	case OPT_TLS_KEY:
		s->tls_key = value;
		return 0;
	case OPT_TLS_CLIENT_CA:
		s->tls_client_ca = value;
		return 0;
	case OPT_LOGLEVEL:
		return cli_loglevel(CMD, value, &s->loglevel);
	case OPT_HELP:
		s->help = 1;
		return 0;
	case OPT_VERSION:
		s->version = 1;
		return 0;
	default:
		return key_opts_handle(&s->key, CMD, id, value) < 0 ? -1 : 0;
	}
}

static int validate(settings *s)
{
	int https = 0, sd = 0, n_tls = (s->tls_cert != NULL) + (s->tls_key != NULL) +
					(s->tls_client_ca != NULL);

	if (s->n_listen == 0) {
		cli_usage_error(CMD, "required option '--listen <where>' not specified");
		return -1;
	}
	for (size_t i = 0; i < s->n_listen; i++) {
		https |= strncmp(s->listen[i], "https:", 6) == 0;
		sd |= strcmp(s->listen[i], "systemd") == 0;
	}
	if (n_tls != 0 && n_tls != 3) {
		cli_usage_error(CMD, "TLS needs all of --tls-cert, --tls-key and --tls-client-ca");
		return -1;
	}
	if (https && n_tls == 0) {
		cli_usage_error(CMD, "--listen https: needs --tls-cert, --tls-key and "
				     "--tls-client-ca");
		return -1;
	}
	if (n_tls != 0 && !https && !sd) {
		cli_usage_error(CMD, "--tls-cert, --tls-key and --tls-client-ca are for --listen "
				     "https: (or a systemd socket named https)");
		return -1;
	}
	if (s->audit_log == NULL && !s->audit_syslog) {
		/* No audit line, no token: a service without a trail issues nothing. */
		cli_usage_error(CMD, "give --audit-log <file> or --audit-syslog (or both): every "
				     "decision is recorded");
		return -1;
	}
	return key_opts_validate(&s->key, CMD);
}

/* A connection per file descriptor: as many as the hard limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &r);
	}
}

/*
 * glibc gives threads up to 8 malloc arenas per CPU, and each keeps the
 * free memory of its busiest moment: with the service's threads (polling,
 * places, workers) RSS crept up for minutes under a steady load, memory in
 * use flat (docs/serve-production.md, "Memory"). One arena per worker and
 * one for the rest hold less, at the same throughput. MALLOC_ARENA_MAX,
 * when set, decides instead.
 */
static void limit_arenas(unsigned jobs)
{
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		(void)mallopt(M_ARENA_MAX, (int)jobs + 1);
#else
	(void)jobs;
#endif
}

/* Until SIGTERM or SIGINT; SIGHUP reloads. The signals are blocked in every
 * thread (they are started after), and taken here with sigwait. */
static void wait_signals(server *srv, const sigset_t *set)
{
	int sig = 0;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			server_reload(srv);
			continue;
		}
		log_info("%s: stopping once the requests under way are answered",
			 sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
}

int cmd_serve(int argc, char **argv)
{
	settings s;
	serve_opts o;
	qsjwt_signer *signer = NULL;
	server *srv = NULL;
	sigset_t set, old;
	kept_pin kp;
	int code = EXIT_USAGE, masked = 0;
	unsigned stuck;

	memset(&s, 0, sizeof(s));
	memset(&kp, 0, sizeof(kp));
	s.alg = QSJWT_RS256;
	s.loglevel = QSJWT_LOG_INFO;
	s.socket_mode = -1;
	s.queue = -1;
	key_opts_init(&s.key);
	if (build_table() != 0) {
		code = EXIT_RUNTIME;
		goto out;
	}
	if (cli_parse(CMD, table.v, table.n, argc, argv, handle, &s) != 0)
		goto out;
	if (cli_help_or_version(s.help, s.version, help, &code))
		goto out;
	qsjwt_log_set_level(s.loglevel);
	if (validate(&s) != 0)
		goto out;

	if (s.key.p11.uri != NULL) {
		kp.src = &s.key.pin_src;
		kp.pin = locked_alloc(KEPT_PIN_MAX);
		if (kp.pin == NULL) {
			log_error("cannot lock memory for the PIN (mlock: see ulimit -l): it must "
				  "stay in RAM to log in again after the token goes away");
			code = EXIT_RUNTIME;
			goto out;
		}
		s.key.p11.pin_fn = keep_pin;
		s.key.p11.pin_ud = &kp;
	}
	code = key_opts_signer(&s.key, cli_now(), &signer);
	if (code != EXIT_OK)
		goto out;
	/* The server owns the signer from here. */
	s.key.signer = NULL;
	memset(&o, 0, sizeof(o));
	o.listen = s.listen;
	o.n_listen = s.n_listen;
	o.socket_mode = s.socket_mode >= 0 ? (mode_t)s.socket_mode : 0660;
	o.jobs = s.jobs > 0 ? (unsigned)s.jobs : 1;
	o.queue = s.queue >= 0 ? (unsigned)s.queue : o.jobs * QUEUE_PER_JOB;
	o.conn_timeout = s.timeout > 0 ? (unsigned)s.timeout : 10;
	o.alg = s.alg;
	o.policy_path = s.policy;
	o.audit_path = s.audit_log;
	o.audit_syslog = s.audit_syslog;
	o.certificate = s.certificate;
	if (s.key.p11.uri != NULL) {
		o.reopen = reopen_token;
		o.reopen_ud = &s.key.p11;
	}
	o.tls_cert = s.tls_cert;
	o.tls_key = s.tls_key;
	o.tls_client_ca = s.tls_client_ca;

	raise_fd_limit();
	limit_arenas(o.jobs);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	masked = 1;
	sigdelset(&set, SIGPIPE);
	code = EXIT_RUNTIME;
	if (server_start(&o, signer, &srv) != 0)
		goto out;
	wait_signals(srv, &set);
	stuck = server_stop(srv, STOP_GRACE_SECONDS);
	if (stuck > 0) {
		/* As --batch: a call inside the module may never return, and
		 * closing its session could wait for it forever. */
		log_error("%u signing call%s still inside the PKCS#11 module: exiting without "
			  "closing the token session",
			  stuck, stuck == 1 ? " was" : "s were");
		locked_free(kp.pin, KEPT_PIN_MAX);
		_exit(EXIT_RUNTIME);
	}
	server_free(srv);
	srv = NULL;
	log_info("stopped");
	code = EXIT_OK;
out:
	server_free(srv);
	key_opts_release(&s.key);
	locked_free(kp.pin, KEPT_PIN_MAX);
	cli_table_free(&table);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return code;
}
