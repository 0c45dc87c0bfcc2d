/*
 * The serve policy (docs/serve-policy.md): parsed once into plain structs,
 * so a request's decision reads no file and asks no name service. User and
 * group names are resolved when the policy loads; SIGHUP reloads it.
 */
#include "serve/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <qsjwt/qsjwt.h>

#include "util/log.h"
#include "util/utf8.h"

/* A policy is a few KiB; anything near this is not one. */
#define POLICY_MAX_BYTES (1024 * 1024)
#define RATE_MAX 1000000
/* A value shown in a message: cut, escaped (log_escape). */
#define SHOWN_MAX 200

typedef struct {
	char **v;
	size_t n;
} plist;

/* Token bucket: `rpm` requests fit in a burst, refilled at rpm per minute.
 * Tokens are counted in 1/60000 of a request so integer math refills
 * exactly rpm per 60,000 ms. */
typedef struct {
	pthread_mutex_t mu;
	int64_t rpm;
	int64_t tokens;
	int64_t last_ms;
	int started;
} limiter;

enum match_kind { M_UID, M_GID, M_LOOPBACK, M_CERT_SUBJECT, M_CERT_SHA256 };

struct policy_client {
	char *name;
	enum match_kind mk;
	uid_t uid;
	gid_t gid;
	uid_t *members; /* M_GID: the group's members, as uids */
	size_t n_members;
	char *cert; /* M_CERT_SUBJECT, M_CERT_SHA256 (normalised) */
	plist userdir, userid, audience, groups, issuer, keyid;
	int64_t max_lifetime; /* seconds; 0: no cap */
	char *max_lifetime_text;
	int metrics;
	limiter *rate; /* NULL: no limit */
};

struct policy {
	atomic_int refs;
	int is_default;
	policy_client *clients;
	size_t n;
};

static char *vformat(const char *fmt, va_list ap) QSJWT_PRINTF(1, 0);
static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s != NULL)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

/* *err = the formatted message (NULL only when out of memory). */
static void seterr(char **err, const char *fmt, ...) QSJWT_PRINTF(2, 3);
static void seterr(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*err = vformat(fmt, ap);
	va_end(ap);
}

static void shown(const char *s, char *buf)
{
	log_escape(s, buf, SHOWN_MAX);
}

static void plist_release(plist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void client_release(policy_client *c)
{
	free(c->name);
	free(c->members);
	free(c->cert);
	plist_release(&c->userdir);
	plist_release(&c->userid);
	plist_release(&c->audience);
	plist_release(&c->groups);
	plist_release(&c->issuer);
	plist_release(&c->keyid);
	free(c->max_lifetime_text);
	if (c->rate != NULL) {
		pthread_mutex_destroy(&c->rate->mu);
		free(c->rate);
	}
}

static void policy_free(policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		client_release(&p->clients[i]);
	free(p->clients);
	free(p);
}

/* ---- name service ------------------------------------------------------------- */

static size_t nss_bufsize(int which)
{
	long n = sysconf(which);

	return n > 0 && n < 1024 * 1024 ? (size_t)n : 16384;
}

/* 0 found (*uid set), 1 no such user, -1 lookup error (errno). */
static int lookup_user(const char *name, uid_t *uid)
{
	size_t size = nss_bufsize(_SC_GETPW_R_SIZE_MAX);
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	int rc = -1, e;

	for (;;) {
		char *nb = realloc(buf, size);
		if (nb == NULL) {
			errno = ENOMEM;
			goto out;
		}
		buf = nb;
		e = getpwnam_r(name, &pw, buf, size, &res);
		if (e != ERANGE || size >= 1024 * 1024)
			break;
		size *= 2;
	}
	/* glibc reports "not found" as 0 or, for some NSS modules, ENOENT. */
	if (res == NULL && (e == 0 || e == ENOENT || e == ESRCH)) {
		rc = 1;
	} else if (res == NULL) {
		errno = e;
	} else {
		*uid = pw.pw_uid;
		rc = 0;
	}
out:
	free(buf);
	return rc;
}

/*
 * The group `name` (or, when name is NULL, the one with gid `*gid`): its gid
 * and its members' uids (members without a passwd entry are left out).
 * 0 found, 1 no such group, -1 lookup error (errno).
 */
static int lookup_group(const char *name, gid_t *gid, uid_t **members, size_t *n_members)
{
	size_t size = nss_bufsize(_SC_GETGR_R_SIZE_MAX), n = 0, k;
	struct group gr, *res = NULL;
	char *buf = NULL;
	uid_t *m = NULL;
	int rc = -1, e;

	for (;;) {
		char *nb = realloc(buf, size);
		if (nb == NULL) {
			errno = ENOMEM;
			goto out;
		}
		buf = nb;
		if (name != NULL)
			e = getgrnam_r(name, &gr, buf, size, &res);
		else
			e = getgrgid_r(*gid, &gr, buf, size, &res);
		if (e != ERANGE || size >= 1024 * 1024)
			break;
		size *= 2;
	}
	if (res == NULL && (e == 0 || e == ENOENT || e == ESRCH)) {
		rc = 1;
		goto out;
	} else if (res == NULL) {
		errno = e;
		goto out;
	}
	for (k = 0; gr.gr_mem[k] != NULL; k++)
		;
	m = calloc(k + 1, sizeof(*m));
	if (m == NULL) {
		errno = ENOMEM;
		goto out;
	}
	for (k = 0; gr.gr_mem[k] != NULL; k++) {
		int u = lookup_user(gr.gr_mem[k], &m[n]);
		if (u < 0)
			goto out;
		if (u == 0)
			n++;
	}
	*gid = gr.gr_gid;
	*members = m;
	*n_members = n;
	m = NULL;
	rc = 0;
out:
	free(m);
	free(buf);
	return rc;
}

/* ---- parsing ------------------------------------------------------------------ */

/* Every key of object `o` is one of `keys` (NULL-terminated) and none is
 * given twice (cJSON keeps duplicates; a second "uid" must not hide). */
static int check_keys(const cJSON *o, const char *path, const char *const *keys, char **err)
{
	char buf[SHOWN_MAX];

	for (const cJSON *it = o->child; it != NULL; it = it->next) {
		size_t k;

		for (k = 0; keys[k] != NULL; k++) {
			if (strcmp(it->string, keys[k]) == 0)
				break;
		}
		if (keys[k] == NULL) {
			shown(it->string, buf);
			seterr(err, "%s: unknown key \"%s\"", path, buf);
			return -1;
		}
		for (const cJSON *prev = o->child; prev != it; prev = prev->next) {
			if (strcmp(prev->string, it->string) == 0) {
				shown(it->string, buf);
				seterr(err, "%s: duplicate key \"%s\"", path, buf);
				return -1;
			}
		}
	}
	return 0;
}

/* A whole number in [min, max]. */
static int get_whole(const cJSON *v, double min, double max, const char *path, double *out,
		     char **err)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max) ||
	    v->valuedouble != floor(v->valuedouble)) {
		seterr(err, "%s: must be a whole number from %.0f to %.0f", path, min, max);
		return -1;
	}
	*out = v->valuedouble;
	return 0;
}

static int get_string(const cJSON *v, const char *path, const char **out, char **err)
{
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		seterr(err, "%s: must be a non-empty string", path);
		return -1;
	}
	*out = v->valuestring;
	return 0;
}

/* Lowercase hex of 32 bytes, from hex digits in any case with optional
 * colons between the bytes (as `openssl x509 -fingerprint` prints them). */
static int norm_sha256(const char *in, char **out)
{
	static const char hex[] = "0123456789abcdef";
	char buf[65];
	size_t n = 0;

	for (const char *s = in; *s != '\0'; s++) {
		const char *h;
		char c = *s;

		if (c == ':') {
			if (n == 0 || n % 2 != 0 || n == 64 || s[1] == ':')
				return -1;
			continue;
		}
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		h = c != '\0' ? strchr(hex, c) : NULL;
		if (h == NULL || n == 64)
			return -1;
		buf[n++] = c;
	}
	if (n != 64)
		return -1;
	buf[n] = '\0';
	*out = strdup(buf);
	return *out != NULL ? 0 : -2;
}

static int parse_match(const cJSON *m, const char *path, policy_client *c, char **err)
{
	static const char *const keys[] = {"uid",      "user",	       "gid",	      "group",
					   "loopback", "cert_subject", "cert_sha256", NULL};
	char sub[160], buf[SHOWN_MAX];
	const char *s = NULL;
	const cJSON *v;
	double d;
	int r;

	if (!cJSON_IsObject(m)) {
		seterr(err, "%s: must be an object", path);
		return -1;
	}
	if (check_keys(m, path, keys, err) != 0)
		return -1;
	v = m->child;
	if (v == NULL || v->next != NULL) {
		if (v == NULL)
			seterr(err,
			       "%s: is empty; give one of uid, user, gid, group, loopback, "
			       "cert_subject, cert_sha256",
			       path);
		else
			seterr(err, "%s: holds both \"%s\" and \"%s\"; give exactly one", path,
			       v->string, v->next->string);
		return -1;
	}
	snprintf(sub, sizeof(sub), "%s.%s", path, v->string);
	if (strcmp(v->string, "uid") == 0 || strcmp(v->string, "gid") == 0) {
		/* (uid_t)-1 means "no uid" to setreuid and chown. */
		if (get_whole(v, 0, 4294967294.0, sub, &d, err) != 0)
			return -1;
		if (v->string[0] == 'u') {
			c->mk = M_UID;
			c->uid = (uid_t)d;
			return 0;
		}
		c->mk = M_GID;
		c->gid = (gid_t)d;
		r = lookup_group(NULL, &c->gid, &c->members, &c->n_members);
		if (r < 0) {
			seterr(err, "%s: cannot look up group %.0f: %s", sub, d, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (strcmp(v->string, "loopback") == 0) {
		if (!cJSON_IsTrue(v)) {
			seterr(err, "%s: must be true", sub);
			return -1;
		}
		c->mk = M_LOOPBACK;
		return 0;
	}
	if (get_string(v, sub, &s, err) != 0)
		return -1;
	shown(s, buf);
	if (strcmp(v->string, "user") == 0) {
		c->mk = M_UID;
		r = lookup_user(s, &c->uid);
		if (r == 1)
			seterr(err, "%s: no user \"%s\" on this system", sub, buf);
		else if (r < 0)
			seterr(err, "%s: cannot look up user \"%s\": %s", sub, buf,
			       strerror(errno));
		return r == 0 ? 0 : -1;
	}
	if (strcmp(v->string, "group") == 0) {
		c->mk = M_GID;
		r = lookup_group(s, &c->gid, &c->members, &c->n_members);
		if (r == 1)
			seterr(err, "%s: no group \"%s\" on this system", sub, buf);
		else if (r < 0)
			seterr(err, "%s: cannot look up group \"%s\": %s", sub, buf,
			       strerror(errno));
		return r == 0 ? 0 : -1;
	}
	if (strcmp(v->string, "cert_subject") == 0) {
		c->mk = M_CERT_SUBJECT;
		c->cert = strdup(s);
		if (c->cert == NULL)
			seterr(err, "out of memory");
		return c->cert != NULL ? 0 : -1;
	}
	c->mk = M_CERT_SHA256;
	r = norm_sha256(s, &c->cert);
	if (r == -1)
		seterr(err,
		       "%s: \"%s\" is not a SHA-256 in hex (64 hex digits, colons allowed between "
		       "bytes)",
		       sub, buf);
	else if (r < 0)
		seterr(err, "out of memory");
	return r == 0 ? 0 : -1;
}

static int parse_list(const cJSON *a, const char *path, plist *l, char **err)
{
	size_t n, i = 0;

	if (!cJSON_IsArray(a)) {
		seterr(err, "%s: must be an array of strings", path);
		return -1;
	}
	n = (size_t)cJSON_GetArraySize(a);
	l->v = calloc(n + 1, sizeof(*l->v));
	if (l->v == NULL) {
		seterr(err, "out of memory");
		return -1;
	}
	for (const cJSON *it = a->child; it != NULL; it = it->next, i++) {
		if (!cJSON_IsString(it)) {
			seterr(err, "%s[%zu]: must be a string", path, i);
			return -1;
		}
		l->v[i] = strdup(it->valuestring);
		if (l->v[i] == NULL) {
			seterr(err, "out of memory");
			return -1;
		}
		l->n = i + 1;
	}
	return 0;
}

static int parse_lifetime(const cJSON *v, const char *path, policy_client *c, char **err)
{
	char buf[SHOWN_MAX];
	double ms = 0;
	int unit = 0;

	if (!cJSON_IsString(v)) {
		seterr(err, "%s: must be a string such as \"8h\"", path);
		return -1;
	}
	shown(v->valuestring, buf);
	if (qsjwt_timespan_parse(v->valuestring, &ms, &unit) != QSJWT_OK) {
		seterr(err,
		       "%s: \"%s\" is not a timespan: a number with a unit (s, m, h, d, w, y), "
		       "e.g. \"8h\"",
		       path, buf);
		return -1;
	}
	/* --expires reads a bare number as milliseconds; in a policy that is a
	 * trap ("3600" would cap at 3.6 s), so a unit is required. */
	if (!unit) {
		seterr(err, "%s: \"%s\" has no unit; write e.g. \"%ss\" for seconds", path, buf,
		       buf);
		return -1;
	}
	if (!(ms >= 1000) || !(ms <= (double)QSJWT_MAX_TIME * 1000)) {
		seterr(err, "%s: \"%s\" must be from 1s to 9999 years", path, buf);
		return -1;
	}
	c->max_lifetime = (int64_t)floor(ms / 1000);
	c->max_lifetime_text = strdup(v->valuestring);
	if (c->max_lifetime_text == NULL) {
		seterr(err, "out of memory");
		return -1;
	}
	return 0;
}

static int parse_allow(const cJSON *a, const char *path, policy_client *c, char **err)
{
	static const char *const keys[] = {
	    "userdir", "userid", "audience",	 "groups",
	    "issuer",  "keyid",	 "max_lifetime", "requests_per_minute",
	    "metrics", NULL};
	struct {
		const char *key;
		plist *l;
	} lists[] = {
	    {"userdir", &c->userdir}, {"userid", &c->userid}, {"audience", &c->audience},
	    {"groups", &c->groups},   {"issuer", &c->issuer}, {"keyid", &c->keyid},
	};
	char sub[160];
	const cJSON *v;
	double d;

	if (!cJSON_IsObject(a)) {
		seterr(err, "%s: must be an object", path);
		return -1;
	}
	if (check_keys(a, path, keys, err) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(a, lists[i].key);
		snprintf(sub, sizeof(sub), "%s.%s", path, lists[i].key);
		if (v != NULL && parse_list(v, sub, lists[i].l, err) != 0)
			return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(a, "max_lifetime");
	snprintf(sub, sizeof(sub), "%s.max_lifetime", path);
	if (v != NULL && parse_lifetime(v, sub, c, err) != 0)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(a, "requests_per_minute");
	if (v != NULL) {
		snprintf(sub, sizeof(sub), "%s.requests_per_minute", path);
		if (cJSON_IsNumber(v) && v->valuedouble == 0) {
			seterr(err, "%s: must be at least 1 (leave it out for no limit)", sub);
			return -1;
		}
		if (get_whole(v, 1, RATE_MAX, sub, &d, err) != 0)
			return -1;
		c->rate = calloc(1, sizeof(*c->rate));
		if (c->rate == NULL || pthread_mutex_init(&c->rate->mu, NULL) != 0) {
			free(c->rate);
			c->rate = NULL;
			seterr(err, "out of memory");
			return -1;
		}
		c->rate->rpm = (int64_t)d;
	}
	v = cJSON_GetObjectItemCaseSensitive(a, "metrics");
	if (v != NULL) {
		if (!cJSON_IsBool(v)) {
			seterr(err, "%s.metrics: must be true or false", path);
			return -1;
		}
		c->metrics = cJSON_IsTrue(v);
	}
	return 0;
}

static int parse_client(const cJSON *o, size_t idx, policy *p, char **err)
{
	static const char *const keys[] = {"name", "match", "allow", NULL};
	policy_client *c = &p->clients[idx];
	char path[64], sub[80], buf[SHOWN_MAX];
	const cJSON *v;
	const char *name;

	snprintf(path, sizeof(path), "clients[%zu]", idx);
	if (!cJSON_IsObject(o)) {
		seterr(err, "%s: must be an object", path);
		return -1;
	}
	if (check_keys(o, path, keys, err) != 0)
		return -1;
	for (size_t k = 0; keys[k] != NULL; k++) {
		if (cJSON_GetObjectItemCaseSensitive(o, keys[k]) == NULL) {
			seterr(err, "%s: no \"%s\"", path, keys[k]);
			return -1;
		}
	}
	snprintf(sub, sizeof(sub), "%s.name", path);
	if (get_string(cJSON_GetObjectItemCaseSensitive(o, "name"), sub, &name, err) != 0)
		return -1;
	for (size_t k = 0; k < idx; k++) {
		if (strcmp(p->clients[k].name, name) == 0) {
			shown(name, buf);
			seterr(err, "%s: \"%s\" is already the name of clients[%zu]", sub, buf, k);
			return -1;
		}
	}
	c->name = strdup(name);
	if (c->name == NULL) {
		seterr(err, "out of memory");
		return -1;
	}
	snprintf(sub, sizeof(sub), "%s.match", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "match");
	if (parse_match(v, sub, c, err) != 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s.allow", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "allow");
	return parse_allow(v, sub, c, err);
}

/* cJSON decodes "\u0000" to a NUL that cuts the string short: "root\u0000x"
 * would read as "root". Refuse the escape in the raw text (a backslash run
 * of odd length ends in an escape). */
static const char *find_nul_escape(const char *t, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		size_t run = 0;

		if (t[i] != '\\' || t[i + 1] != 'u' || memcmp(t + i + 2, "0000", 4) != 0)
			continue;
		while (run < i && t[i - 1 - run] == '\\')
			run++;
		if (run % 2 == 0)
			return t + i;
	}
	return NULL;
}

static void line_col(const char *t, const char *at, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (; t < at; t++) {
		if (*t == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

policy *policy_parse(const char *text, size_t len, char **err)
{
	static const char *const top_keys[] = {"clients", NULL};
	const unsigned char *u;
	const char *end = NULL;
	cJSON *root = NULL;
	const cJSON *cl;
	policy *p = NULL, *res = NULL;
	size_t line, col, i, n;

	*err = NULL;
	if (text == NULL)
		text = "";
	u = (const unsigned char *)text;
	for (i = 0; i < len; i += n) {
		n = utf8_seq_len(u + i, len - i);
		if (n == 0) {
			line_col(text, text + i, &line, &col);
			seterr(err, "not UTF-8 text (line %zu, column %zu)", line, col);
			goto out;
		}
	}
	end = find_nul_escape(text, len);
	if (end != NULL) {
		line_col(text, end, &line, &col);
		seterr(err, "a string holds \\u0000 (line %zu, column %zu)", line, col);
		goto out;
	}
	end = NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL) {
		if (end == NULL || end < text || end > text + len)
			end = text + len;
		line_col(text, end, &line, &col);
		seterr(err, "not valid JSON near line %zu, column %zu", line, col);
		goto out;
	}
	while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end < text + len) {
		line_col(text, end, &line, &col);
		seterr(err, "not valid JSON: more after the policy object (line %zu, column %zu)",
		       line, col);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		seterr(err, "the policy must be a JSON object");
		goto out;
	}
	if (check_keys(root, "policy", top_keys, err) != 0)
		goto out;
	cl = cJSON_GetObjectItemCaseSensitive(root, "clients");
	if (cl == NULL) {
		seterr(err, "policy: no \"clients\" array");
		goto out;
	}
	if (!cJSON_IsArray(cl)) {
		seterr(err, "clients: must be an array");
		goto out;
	}
	if (cl->child == NULL) {
		seterr(err, "clients: is empty (name at least one client)");
		goto out;
	}
	p = calloc(1, sizeof(*p));
	n = (size_t)cJSON_GetArraySize(cl);
	if (p == NULL || (p->clients = calloc(n, sizeof(*p->clients))) == NULL) {
		seterr(err, "out of memory");
		goto out;
	}
	atomic_init(&p->refs, 1);
	i = 0;
	for (const cJSON *it = cl->child; it != NULL; it = it->next, i++) {
		p->n = i + 1;
		if (parse_client(it, i, p, err) != 0)
			goto out;
	}
	res = p;
	p = NULL;
out:
	cJSON_Delete(root);
	policy_free(p);
	return res;
}

policy *policy_load(const char *path, char **err)
{
	char *text = NULL, *perr = NULL;
	size_t len = 0;
	policy *p = NULL;
	struct stat st;
	ssize_t got;
	int fd = -1;

	*err = NULL;
	/* O_NONBLOCK: a FIFO without a writer must not hang a SIGHUP reload. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		seterr(err, "cannot read policy file '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, "policy file '%s' is not a regular file", path);
		goto out;
	}
	/* Whoever can write the policy can widen access. */
	if (st.st_mode & S_IWOTH) {
		seterr(err, "policy file '%s' is writable by others (mode %04o); chmod o-w it",
		       path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > POLICY_MAX_BYTES) {
		seterr(err, "policy file '%s' is larger than %d bytes", path, POLICY_MAX_BYTES);
		goto out;
	}
	text = malloc(POLICY_MAX_BYTES + 1);
	if (text == NULL) {
		seterr(err, "out of memory");
		goto out;
	}
	for (;;) {
		got = read(fd, text + len, POLICY_MAX_BYTES + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			seterr(err, "cannot read policy file '%s': %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > POLICY_MAX_BYTES) {
			seterr(err, "policy file '%s' is larger than %d bytes", path,
			       POLICY_MAX_BYTES);
			goto out;
		}
	}
	p = policy_parse(text, len, &perr);
	if (p == NULL)
		seterr(err, "%s: %s", path, perr != NULL ? perr : "out of memory");
out:
	if (fd >= 0)
		close(fd);
	free(perr);
	free(text);
	return p;
}

/* ---- the default policy ------------------------------------------------------- */

static int plist_any(plist *l)
{
	l->v = calloc(2, sizeof(*l->v));
	if (l->v == NULL || (l->v[0] = strdup("*")) == NULL)
		return -1;
	l->n = 1;
	return 0;
}

policy *policy_default(uid_t service_uid)
{
	policy *p = calloc(1, sizeof(*p)), *res = NULL;
	policy_client *c;

	if (p == NULL || (p->clients = calloc(1, sizeof(*p->clients))) == NULL)
		goto out;
	atomic_init(&p->refs, 1);
	p->is_default = 1;
	p->n = 1;
	c = &p->clients[0];
	c->mk = M_UID;
	c->uid = service_uid;
	c->metrics = 1;
	if ((c->name = strdup("default")) == NULL || plist_any(&c->userdir) != 0 ||
	    plist_any(&c->userid) != 0 || plist_any(&c->audience) != 0 ||
	    plist_any(&c->groups) != 0 || plist_any(&c->issuer) != 0 || plist_any(&c->keyid) != 0)
		goto out;
	res = p;
	p = NULL;
out:
	policy_free(p);
	return res;
}

/* ---- references --------------------------------------------------------------- */

policy *policy_ref(policy *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void policy_unref(policy *p)
{
	if (p == NULL)
		return;
	/* acq_rel: the freeing thread sees every other holder's last use. */
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		policy_free(p);
}

int policy_is_default(const policy *p)
{
	return p->is_default;
}

/* ---- decisions ---------------------------------------------------------------- */

static int client_fits(const policy_client *pc, const serve_caller *c)
{
	switch (pc->mk) {
	case M_UID:
		return c->kind == CALLER_UNIX && c->uid == pc->uid;
	case M_GID:
		if (c->kind != CALLER_UNIX)
			return 0;
		if (c->gid == pc->gid)
			return 1;
		for (size_t i = 0; i < pc->n_members; i++) {
			if (pc->members[i] == c->uid)
				return 1;
		}
		return 0;
	case M_LOOPBACK:
		return c->kind == CALLER_LOOPBACK;
	case M_CERT_SUBJECT:
		return c->kind == CALLER_TLS && c->cert_subject != NULL &&
		       strcmp(c->cert_subject, pc->cert) == 0;
	case M_CERT_SHA256:
		return c->kind == CALLER_TLS && c->cert_sha256 != NULL &&
		       strcmp(c->cert_sha256, pc->cert) == 0;
	}
	return 0;
}

const policy_client *policy_match(const policy *p, const serve_caller *c)
{
	for (size_t i = 0; i < p->n; i++) {
		if (client_fits(&p->clients[i], c))
			return &p->clients[i];
	}
	return NULL;
}

const char *policy_client_name(const policy_client *pc)
{
	return pc->name;
}

int policy_allows_metrics(const policy_client *pc)
{
	return pc->metrics;
}

/* An absent value is matched as "": ["*"] allows it, a list of names not. */
static int plist_allows(const plist *l, const char *value)
{
	const char *v = value != NULL ? value : "";

	for (size_t i = 0; i < l->n; i++) {
		if (fnmatch(l->v[i], v, 0) == 0)
			return 1;
	}
	return 0;
}

/* *why = `<what> "<value>" is not allowed<rule> for client "<name>"`. */
static int deny(const policy_client *pc, const char *what, const char *value, const char *rule,
		char **why)
{
	char v[SHOWN_MAX], name[SHOWN_MAX];

	if (why == NULL)
		return 1;
	shown(pc->name, name);
	if (value == NULL) {
		seterr(why, "an absent %s is not allowed%s for client \"%s\"", what, rule, name);
	} else {
		shown(value, v);
		seterr(why, "%s \"%s\" is not allowed%s for client \"%s\"", what, v, rule, name);
	}
	return 1;
}

int policy_check(const policy_client *pc, const serve_request *r, char **why)
{
	char name[SHOWN_MAX], text[SHOWN_MAX];

	if (why != NULL)
		*why = NULL;
	if (r->kind == REQ_QSEOW) {
		if (!plist_allows(&pc->userdir, r->userdir))
			return deny(pc, "userdir", r->userdir, "", why);
		if (!plist_allows(&pc->userid, r->userid))
			return deny(pc, "userid", r->userid, "", why);
		if (!plist_allows(&pc->audience, r->audience))
			return deny(pc, "audience", r->audience, "", why);
	} else {
		/* A Qlik Cloud sub names the user as a QSEoW userid does, so
		 * one list rules both. */
		if (!plist_allows(&pc->userid, r->sub))
			return deny(pc, "sub", r->sub, " by allow.userid", why);
		if (!plist_allows(&pc->issuer, r->issuer))
			return deny(pc, "issuer", r->issuer, "", why);
		if (!plist_allows(&pc->keyid, r->keyid))
			return deny(pc, "keyid", r->keyid, "", why);
	}
	for (size_t i = 0; i < r->n_groups; i++) {
		if (r->groups[i] == NULL || !plist_allows(&pc->groups, r->groups[i]))
			return deny(pc, "group", r->groups[i], "", why);
	}
	if (pc->max_lifetime > 0 && r->lifetime > pc->max_lifetime) {
		if (why == NULL)
			return 1;
		shown(pc->name, name);
		shown(pc->max_lifetime_text, text);
		seterr(why, "lifetime %llds is over max_lifetime \"%s\" (%llds) for client \"%s\"",
		       (long long)r->lifetime, text, (long long)pc->max_lifetime, name);
		return 1;
	}
	return 0;
}

int policy_rate_take(const policy_client *pc, int64_t now_ms)
{
	limiter *l = pc->rate;
	const int64_t one = 60000, cap = l != NULL ? l->rpm * one : 0;
	int64_t elapsed;
	int rc;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	if (!l->started) {
		l->started = 1;
		l->tokens = cap;
		l->last_ms = now_ms;
	}
	elapsed = now_ms - l->last_ms;
	/* A clock that steps back refills nothing; a minute refills all. */
	if (elapsed > 0) {
		if (elapsed >= one)
			l->tokens = cap;
		else if (l->tokens + elapsed * l->rpm > cap)
			l->tokens = cap;
		else
			l->tokens += elapsed * l->rpm;
		l->last_ms = now_ms;
	}
	if (l->tokens >= one) {
		l->tokens -= one;
		rc = 0;
	} else {
		rc = 1;
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}
