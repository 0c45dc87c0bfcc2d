/*
 * The audit line (docs/serve-policy.md): built with cJSON, written with one
 * write(2) on an O_APPEND descriptor, so concurrent lines never interleave
 * and a line that was written survives kill -9 of the service (the page
 * cache belongs to the kernel, not the process). No fdatasync: it would
 * only help against a crash of the machine, at the cost of a disk flush per
 * token.
 */
#include "serve/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jose/json.h"
#include "util/log.h"

struct audit {
	int fd; /* -1: no file */
	int use_syslog;
	char *path;
	int torn; /* a short write left a line without its '\n' */
	pthread_mutex_t mu;
};

static char *format(const char *fmt, ...) QSJWT_PRINTF(1, 2);
static char *format(const char *fmt, ...)
{
	va_list ap, ap2;
	char *s;
	int n;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (s != NULL)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

audit *audit_open(const char *path, int use_syslog, char **err)
{
	audit *a = NULL, *res = NULL;
	struct stat st;
	int fd = -1;

	*err = NULL;
	if (path != NULL) {
		/* Checked before the open too: opening a FIFO or a device can
		 * block or act; the fstat below is the check that counts. */
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			*err = format("audit log '%s' is not a regular file", path);
			goto out;
		}
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			  0600);
		if (fd < 0 || fstat(fd, &st) != 0) {
			*err = format("cannot open audit log '%s': %s", path, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			*err = format("audit log '%s' is not a regular file", path);
			goto out;
		}
		/* Who asked for which user's token is for the service's
		 * owner only. */
		if (st.st_mode & 077) {
			*err = format("audit log '%s' is open to group or others (mode %04o); "
				      "chmod 600 it",
				      path, (unsigned)(st.st_mode & 07777));
			goto out;
		}
		if (fcntl(fd, F_SETFL, O_APPEND) != 0) {
			*err = format("cannot open audit log '%s': %s", path, strerror(errno));
			goto out;
		}
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL || (path != NULL && (a->path = strdup(path)) == NULL) ||
	    pthread_mutex_init(&a->mu, NULL) != 0) {
		if (a != NULL)
			free(a->path);
		free(a);
		*err = format("out of memory");
		goto out;
	}
	a->fd = fd;
	a->use_syslog = use_syslog;
	fd = -1;
	res = a;
out:
	if (fd >= 0)
		close(fd);
	return res;
}

void audit_close(audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0)
		close(a->fd);
	pthread_mutex_destroy(&a->mu);
	free(a->path);
	free(a);
}

/* A string member; values that are not UTF-8 (they should have been
 * refused before) are shown escaped rather than written raw. */
static int add_str(cJSON *o, const char *key, const char *v)
{
	char buf[1024];

	if (v == NULL)
		return 0;
	if (!utf8_valid(v, strlen(v))) {
		log_escape(v, buf, sizeof(buf));
		v = buf;
	}
	return cJSON_AddStringToObject(o, key, v) != NULL ? 0 : -1;
}

/* Integers as raw text: cJSON prints numbers through a double. */
static int add_int(cJSON *o, const char *key, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	return cJSON_AddRawToObject(o, key, buf) != NULL ? 0 : -1;
}

static int add_caller(cJSON *o, const serve_caller *c)
{
	cJSON *k = cJSON_AddObjectToObject(o, "caller");
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc = -1;

	if (k == NULL)
		goto out;
	switch (c->kind) {
	case CALLER_UNIX:
		if (add_int(k, "uid", (long long)c->uid) != 0)
			goto out;
		/* The name as it is now; the uid is what was matched. */
		if (getpwuid_r(c->uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
		    add_str(k, "user", pw.pw_name) != 0)
			goto out;
		if (add_int(k, "gid", (long long)c->gid) != 0 ||
		    add_int(k, "pid", (long long)c->pid) != 0)
			goto out;
		break;
	case CALLER_LOOPBACK:
		if (add_str(k, "peer", "loopback") != 0)
			goto out;
		break;
	case CALLER_TLS:
		if (add_str(k, "peer", "tls") != 0 ||
		    add_str(k, "cert_subject", c->cert_subject) != 0 ||
		    add_str(k, "cert_sha256", c->cert_sha256) != 0)
			goto out;
		break;
	}
	rc = 0;
out:
	return rc;
}

static int add_request(cJSON *o, const serve_request *r)
{
	cJSON *g;

	if (r->kind == REQ_QSEOW) {
		if (add_str(o, "userdir", r->userdir) != 0 ||
		    add_str(o, "userid", r->userid) != 0 ||
		    add_str(o, "audience", r->audience) != 0)
			return -1;
	} else {
		if (add_str(o, "sub", r->sub) != 0 || add_str(o, "issuer", r->issuer) != 0 ||
		    add_str(o, "keyid", r->keyid) != 0)
			return -1;
	}
	if (r->n_groups > 0) {
		g = cJSON_AddArrayToObject(o, "groups");
		if (g == NULL)
			return -1;
		for (size_t i = 0; i < r->n_groups; i++) {
			cJSON *s = cJSON_CreateString(r->groups[i] != NULL ? r->groups[i] : "");
			if (s == NULL)
				return -1;
			if (!utf8_valid(s->valuestring, strlen(s->valuestring))) {
				char buf[1024];
				log_escape(s->valuestring, buf, sizeof(buf));
				cJSON_Delete(s);
				s = cJSON_CreateString(buf);
				if (s == NULL)
					return -1;
			}
			cJSON_AddItemToArray(g, s);
		}
	}
	return add_int(o, "lifetime", (long long)r->lifetime);
}

static const char *decision(const audit_record *r)
{
	if (r->allowed)
		return r->status == 200 ? "allowed" : "failed";
	return r->status == 403 || r->status == 429 ? "denied" : "failed";
}

/* "\n" + the line + "\n" in malloc'ed memory (NULL: out of memory); *len
 * counts the line and its end, not the leading "\n". */
static char *build_line(const audit_record *r, size_t *len)
{
	char tbuf[32];
	time_t t = (time_t)r->time;
	struct tm tm;
	cJSON *o = cJSON_CreateObject();
	char *json = NULL, *line = NULL;
	size_t n;

	if (o == NULL)
		goto out;
	if (gmtime_r(&t, &tm) == NULL)
		snprintf(tbuf, sizeof(tbuf), "%lld", (long long)r->time);
	else
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (add_str(o, "time", tbuf) != 0 || (r->caller != NULL && add_caller(o, r->caller) != 0) ||
	    add_str(o, "client", r->client) != 0 || add_str(o, "route", r->route) != 0 ||
	    (r->req != NULL && add_request(o, r->req) != 0) ||
	    add_str(o, "decision", decision(r)) != 0 || add_str(o, "reason", r->reason) != 0 ||
	    add_int(o, "status", r->status) != 0 ||
	    (r->exp != 0 && add_int(o, "exp", (long long)r->exp) != 0) ||
	    add_str(o, "token_sha256", r->token_sha256) != 0)
		goto out;
	json = cJSON_PrintUnformatted(o);
	if (json == NULL)
		goto out;
	n = strlen(json);
	line = malloc(n + 3);
	if (line == NULL)
		goto out;
	line[0] = '\n';
	memcpy(line + 1, json, n);
	line[n + 1] = '\n';
	line[n + 2] = '\0';
	*len = n + 1;
out:
	cJSON_free(json);
	cJSON_Delete(o);
	return line;
}

int audit_write(audit *a, const audit_record *r, char **err)
{
	char *line = NULL;
	size_t len = 0;
	ssize_t n;
	int rc = -1, failed = 0;

	*err = NULL;
	line = build_line(r, &len);
	if (line == NULL) {
		*err = format("cannot build the audit line: out of memory");
		goto out;
	}
	pthread_mutex_lock(&a->mu);
	if (a->fd >= 0) {
		/* After a short write the next line first ends the fragment,
		 * in the same write(2), so it starts on a line of its own. */
		const char *from = a->torn ? line : line + 1;
		size_t want = a->torn ? len + 1 : len;

		do {
			n = write(a->fd, from, want);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			failed = 1;
			*err = format("cannot write audit log '%s': %s", a->path, strerror(errno));
		} else if ((size_t)n != want) {
			failed = 1;
			if (n > 0)
				a->torn = from[n - 1] != '\n';
			*err = format("short write to audit log '%s' (%zd of %zu bytes)", a->path,
				      n, want);
		} else {
			a->torn = 0;
		}
	}
	if (!failed && a->use_syslog) {
		line[len] = '\0';
		syslog(LOG_AUTHPRIV | LOG_INFO, "%s", line + 1);
	}
	pthread_mutex_unlock(&a->mu);
	if (!failed)
		rc = 0;
out:
	free(line);
	return rc;
}
