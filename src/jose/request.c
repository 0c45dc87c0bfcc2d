#include "jose/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jose/json.h"

static char *errorf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static char *errorf(const char *fmt, ...)
{
	char buf[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return strdup(buf);
}

enum { F_USERID, F_USERDIR, F_USERNAME, F_USEREMAIL, F_GROUPS, F_EXPIRES, F_AUDIENCE, N_FIELDS };

static const char *const fields[N_FIELDS] = {"userid", "userdir", "username", "useremail",
					     "groups", "expires", "audience"};

/* Whether a JSON text holds the escape \u0000 (an odd number of
 * backslashes before "u0000"). */
static int has_nul_escape(const char *text, size_t len)
{
	for (size_t i = 0; i + 5 < len; i++) {
		size_t k = i;
		if (text[i + 1] != 'u' || strncmp(text + i + 2, "0000", 4) != 0 || text[i] != '\\')
			continue;
		while (k > 0 && text[k - 1] == '\\')
			k--;
		if ((i - k) % 2 == 0)
			return 1;
	}
	return 0;
}

void qseow_request_release(qseow_request *r)
{
	free(r->groups);
	cJSON_Delete(r->doc);
	memset(r, 0, sizeof(*r));
}

/* A JSON object of known fields: kinds[k] is 's' (string), 'g' (array of
 * strings: *groups) or 'b' (boolean: *flag, else -1). */
static char *parse_object(const char *text, size_t len, const char *what,
			  const char *const *names, const char *kinds, size_t n, const char *known,
			  const char **v, const char ***groups, size_t *n_groups, int *flag,
			  cJSON **doc)
{
	const cJSON *g, *m;
	cJSON *j = NULL;
	const char *end = NULL;
	char *err = NULL;
	size_t k;
	int have_groups = 0;

	*groups = NULL;
	*n_groups = 0;
	*flag = -1;
	if (!utf8_valid(text, len)) {
		return errorf(memchr(text, '\0', len) != NULL ? "the %s holds a NUL byte"
							      : "the %s is not valid UTF-8",
			      what);
	}
	if (has_nul_escape(text, len)) {
		/* cJSON would cut the value there: a token for "admin" from
		 * "admin\u0000evil". No command line can carry a NUL either. */
		return strdup("a value holds a NUL character (\\u0000)");
	}
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	while (j != NULL && end < text + len &&
	       (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (j == NULL || !cJSON_IsObject(j) || end != text + len) {
		err = errorf("the %s is not a JSON object", what);
		goto out;
	}
	for (m = j->child; m != NULL; m = m->next) {
		for (k = 0; k < n && strcmp(m->string, names[k]) != 0; k++)
			;
		if (k == n) {
			err = errorf("unknown field '%.100s' (known: %s)", m->string, known);
			goto out;
		}
		if (v[k] != NULL || (kinds[k] == 'g' && have_groups) || (kinds[k] == 'b' && *flag >= 0)) {
			err = errorf("field '%s' given twice", names[k]);
			goto out;
		}
		if (kinds[k] == 'b') {
			if (!cJSON_IsBool(m)) {
				err = errorf("field '%s' must be true or false", names[k]);
				goto out;
			}
			*flag = cJSON_IsTrue(m) ? 1 : 0;
			continue;
		}
		if (kinds[k] == 'g') {
			have_groups = 1;
			if (!cJSON_IsArray(m)) {
				err = errorf("field '%s' must be an array of strings", names[k]);
				goto out;
			}
			*groups = calloc((size_t)cJSON_GetArraySize(m) + 1, sizeof(**groups));
			if (*groups == NULL) {
				err = strdup("out of memory");
				goto out;
			}
			cJSON_ArrayForEach(g, m)
			{
				if (!cJSON_IsString(g)) {
					err = errorf("field '%s' must be an array of strings", names[k]);
					goto out;
				}
				(*groups)[(*n_groups)++] = g->valuestring;
			}
			continue;
		}
		if (!cJSON_IsString(m)) {
			err = errorf("field '%s' must be a string", names[k]);
			goto out;
		}
		v[k] = m->valuestring;
	}
	*doc = j;
	j = NULL;
out:
	cJSON_Delete(j);
	if (err != NULL) {
		free(*groups);
		*groups = NULL;
		*n_groups = 0;
	}
	return err;
}

char *qseow_request_parse(const char *text, size_t len, const char *what, qseow_request *r)
{
	static const char kinds[N_FIELDS + 1] = "ssssgss";
	const char *v[N_FIELDS] = { NULL };
	cJSON *doc = NULL;
	char *err;
	size_t k;
	int flag;

	memset(r, 0, sizeof(*r));
	err = parse_object(text, len, what, fields, kinds, N_FIELDS,
			   "userid, userdir, username, useremail, groups, expires, audience", v,
			   &r->groups, &r->n_groups, &flag, &doc);
	if (err != NULL)
		return err;
	for (k = 0; k < F_GROUPS && err == NULL; k++) {
		if (v[k] == NULL)
			err = errorf("missing field '%s'", fields[k]);
	}
	if (err == NULL &&
	    (strlen(v[F_USERID]) > REQUEST_MAX_VALUE || strlen(v[F_USERDIR]) > REQUEST_MAX_VALUE))
		err = strdup("a value is longer than 64 KiB");
	if (err != NULL) {
		free(r->groups);
		cJSON_Delete(doc);
		memset(r, 0, sizeof(*r));
		return err;
	}
	r->userid = v[F_USERID];
	r->userdir = v[F_USERDIR];
	r->username = v[F_USERNAME];
	r->useremail = v[F_USEREMAIL];
	r->expires = v[F_EXPIRES];
	r->audience = v[F_AUDIENCE];
	r->doc = doc;
	return NULL;
}

/* ---- Qlik Cloud -------------------------------------------------------------------- */

enum { C_SUB, C_USERNAME, C_USEREMAIL, C_VERIFIED, C_GROUPS, C_EXPIRES, C_ISSUER, C_KEYID, N_CLOUD };

static const char *const cloud_fields[N_CLOUD] = { "sub",	     "username", "useremail",
						   "useremail_verified", "groups",   "expires",
						   "issuer",		 "keyid" };

void qscloud_request_release(qscloud_request *r)
{
	free(r->groups);
	cJSON_Delete(r->doc);
	memset(r, 0, sizeof(*r));
}

char *qscloud_request_parse(const char *text, size_t len, const char *what, qscloud_request *r)
{
	static const char kinds[N_CLOUD + 1] = "sssbgsss";
	static const int required[] = { C_SUB, C_EXPIRES, C_ISSUER, C_KEYID };
	const char *v[N_CLOUD] = { NULL };
	cJSON *doc = NULL;
	char *err;
	int flag;

	memset(r, 0, sizeof(*r));
	err = parse_object(text, len, what, cloud_fields, kinds, N_CLOUD,
			   "sub, username, useremail, useremail_verified, groups, expires, issuer, "
			   "keyid",
			   v, &r->groups, &r->n_groups, &flag, &doc);
	if (err != NULL)
		return err;
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]) && err == NULL; k++) {
		if (v[required[k]] == NULL)
			err = errorf("missing field '%s'", cloud_fields[required[k]]);
	}
	/* As create-qscloud: an email comes with whether it is verified. */
	if (err == NULL && v[C_USEREMAIL] != NULL && flag < 0)
		err = strdup("field 'useremail' needs 'useremail_verified' (true or false)");
	if (err == NULL && v[C_USEREMAIL] == NULL && flag >= 0)
		err = strdup("field 'useremail_verified' only applies with 'useremail'");
	if (err != NULL) {
		free(r->groups);
		cJSON_Delete(doc);
		memset(r, 0, sizeof(*r));
		return err;
	}
	r->sub = v[C_SUB];
	r->username = v[C_USERNAME];
	r->useremail = v[C_USEREMAIL];
	r->email_verified = flag;
	r->expires = v[C_EXPIRES];
	r->issuer = v[C_ISSUER];
	r->keyid = v[C_KEYID];
	r->doc = doc;
	return NULL;
}

char *qscloud_request_payload(const qscloud_request *r, const char *jti, int64_t iat,
			      char **payload, size_t *payload_len, int64_t *exp)
{
	qsjwt_qscloud_claims c;
	double ms = 0;
	int64_t e;

	if (qsjwt_timespan_parse(r->expires, &ms, NULL) != QSJWT_OK)
		return errorf("expires '%.100s' is not a timespan (e.g. 60m, 8h, 7d)", r->expires);
	if (qsjwt_exp_from_ms(iat, ms, &e) != QSJWT_OK)
		return errorf("expires '%.100s' puts exp outside 1970 to 9999", r->expires);
	memset(&c, 0, sizeof(c));
	c.jti = jti;
	c.sub = r->sub;
	c.name = r->username;
	c.email = r->useremail;
	c.email_verified = r->email_verified;
	c.groups = r->n_groups > 0 ? (const char *const *)r->groups : NULL;
	c.n_groups = r->n_groups;
	c.iat = iat;
	c.exp = e;
	c.issuer = r->issuer;
	if (qsjwt_qscloud_payload(&c, payload, payload_len) != QSJWT_OK)
		return strdup("cannot build the claims");
	*exp = e;
	return NULL;
}

char *qseow_request_payload(const qseow_request *r, const char *def_expires,
			    const char *def_audience, int cli_hint, int64_t iat, char **payload,
			    size_t *payload_len, int64_t *exp)
{
	const char *expires = r->expires != NULL ? r->expires : def_expires;
	const char *audience = r->audience != NULL ? r->audience : def_audience;
	qsjwt_qseow_claims c;
	double ms = 0;
	int64_t e;

	if (expires == NULL || audience == NULL) {
		const char *field = expires == NULL ? "expires" : "audience";
		if (cli_hint)
			return errorf("no %s: give it in the line or with --%s on the command line",
				      field, field);
		return errorf("missing field '%s'", field);
	}
	if (qsjwt_timespan_parse(expires, &ms, NULL) != QSJWT_OK)
		return errorf("expires '%.100s' is not a timespan (e.g. 60m, 8h, 7d)", expires);
	if (qsjwt_exp_from_ms(iat, ms, &e) != QSJWT_OK)
		return errorf("expires '%.100s' puts exp outside 1970 to 9999", expires);
	c.user_id = r->userid;
	c.user_directory = r->userdir;
	c.name = r->username;
	c.email = r->useremail;
	/* "groups": [] is no group, as a run without --groups: no claim. */
	c.groups = r->n_groups > 0 ? (const char *const *)r->groups : NULL;
	c.n_groups = r->n_groups;
	c.iat = iat;
	c.exp = e;
	c.audience = audience;
	if (qsjwt_qseow_payload(&c, payload, payload_len) != QSJWT_OK)
		return strdup("cannot build the claims");
	*exp = e;
	return NULL;
}
