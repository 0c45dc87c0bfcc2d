/* The QSEoW claim set, serialized byte for byte as the original did, and the
 * Qlik Cloud one with the rules Qlik Cloud applies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include <qsjwt/qsjwt.h>

#include "jose/b64url.h"
#include "jose/json.h"
#include "util/log.h"
#include "util/strbuf.h"

static void add_member(strbuf *b, const char *key, const char *value)
{
	json_append_string(b, key);
	strbuf_addch(b, ':');
	json_append_string(b, value);
}

static int valid(const char *s)
{
	return s != NULL && utf8_valid(s, strlen(s));
}

static int valid_or_null(const char *s)
{
	return s == NULL || valid(s);
}

/* Always an array, even with one group. `name` is "group" for QSEoW (the
 * original's name, which the virtual proxy maps) and "groups" for Qlik
 * Cloud, whose JWT identity provider reads only that one (see
 * docs/compatibility.md). */
static void add_groups(strbuf *b, const char *name, const char *const *groups, size_t n)
{
	strbuf_addstr(b, ",\"");
	strbuf_addstr(b, name);
	strbuf_addstr(b, "\":[");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strbuf_addch(b, ',');
		json_append_string(b, groups[i]);
	}
	strbuf_addch(b, ']');
}

qsjwt_err qsjwt_qseow_payload(const qsjwt_qseow_claims *c, char **json_out, size_t *len_out)
{
	strbuf b;
	char *json;
	size_t i;

	if (!valid(c->user_id) || !valid(c->user_directory) || !valid(c->name) ||
	    !valid(c->email) || !valid(c->audience))
		return QSJWT_ERR_INVALID;
	for (i = 0; c->groups != NULL && i < c->n_groups; i++) {
		if (!valid(c->groups[i]))
			return QSJWT_ERR_INVALID;
	}
	strbuf_init(&b);
	strbuf_addch(&b, '{');
	add_member(&b, "userId", c->user_id);
	strbuf_addch(&b, ',');
	add_member(&b, "userDirectory", c->user_directory);
	strbuf_addch(&b, ',');
	add_member(&b, "name", c->name);
	strbuf_addch(&b, ',');
	add_member(&b, "email", c->email);
	if (c->groups != NULL)
		add_groups(&b, "group", c->groups, c->n_groups);
	strbuf_addstr(&b, ",\"iat\":");
	json_append_int(&b, (long long)c->iat);
	strbuf_addstr(&b, ",\"exp\":");
	json_append_int(&b, (long long)c->exp);
	strbuf_addch(&b, ',');
	add_member(&b, "aud", c->audience);
	strbuf_addch(&b, '}');
	json = strbuf_detach(&b, len_out);
	if (json == NULL)
		return QSJWT_ERR_NOMEM;
	*json_out = json;
	return QSJWT_OK;
}

qsjwt_err qsjwt_qscloud_check(const qsjwt_qscloud_claims *c, char *why, size_t why_size)
{
	/* exp - nbf in seconds; nbf is iat. Qlik Cloud has refused longer
	 * tokens since June 2022 (docs/compatibility.md). */
	if (c->exp - c->iat > QSJWT_QSCLOUD_MAX_LIFETIME) {
		if (why != NULL && why_size > 0)
			snprintf(why, why_size,
				 "Qlik Cloud rejects a token whose exp is more than %d s after nbf "
				 "(this one: %lld s)",
				 QSJWT_QSCLOUD_MAX_LIFETIME, (long long)(c->exp - c->iat));
		return QSJWT_ERR_INVALID;
	}
	return QSJWT_OK;
}

qsjwt_err qsjwt_qscloud_payload(const qsjwt_qscloud_claims *c, char **json_out, size_t *len_out)
{
	strbuf b;
	char *json, why[160];

	if (qsjwt_qscloud_check(c, why, sizeof(why)) != QSJWT_OK) {
		log_error("%s", why);
		return QSJWT_ERR_INVALID;
	}
	if (!valid(c->jti) || !valid(c->sub) || !valid_or_null(c->name) ||
	    !valid_or_null(c->email) || !valid(c->issuer))
		return QSJWT_ERR_INVALID;
	for (size_t i = 0; c->groups != NULL && i < c->n_groups; i++) {
		if (!valid(c->groups[i]))
			return QSJWT_ERR_INVALID;
	}
	strbuf_init(&b);
	strbuf_addch(&b, '{');
	add_member(&b, "jti", c->jti);
	strbuf_addch(&b, ',');
	add_member(&b, "sub", c->sub);
	strbuf_addstr(&b, ",\"subType\":\"user\"");
	if (c->name != NULL) {
		strbuf_addch(&b, ',');
		add_member(&b, "name", c->name);
	}
	if (c->email != NULL) {
		strbuf_addch(&b, ',');
		add_member(&b, "email", c->email);
	}
	if (c->groups != NULL)
		add_groups(&b, "groups", c->groups, c->n_groups);
	if (c->email_verified >= 0)
		strbuf_addstr(&b, c->email_verified ? ",\"email_verified\":true"
						    : ",\"email_verified\":false");
	strbuf_addstr(&b, ",\"iat\":");
	json_append_int(&b, (long long)c->iat);
	strbuf_addstr(&b, ",\"nbf\":");
	json_append_int(&b, (long long)c->iat);
	strbuf_addstr(&b, ",\"exp\":");
	json_append_int(&b, (long long)c->exp);
	strbuf_addstr(&b, ",\"aud\":\"qlik.api/login/jwt-session\",");
	add_member(&b, "iss", c->issuer);
	strbuf_addch(&b, '}');
	json = strbuf_detach(&b, len_out);
	if (json == NULL)
		return QSJWT_ERR_NOMEM;
	*json_out = json;
	return QSJWT_OK;
}

qsjwt_err qsjwt_random_b64url(size_t n, char **out)
{
	unsigned char raw[64];
	strbuf b;
	char *s;

	if (n > sizeof(raw))
		return QSJWT_ERR_INVALID;
	if (RAND_bytes(raw, (int)n) != 1)
		return QSJWT_ERR_CRYPTO;
	strbuf_init(&b);
	b64url_append(&b, raw, n);
	s = strbuf_detach(&b, NULL);
	if (s == NULL)
		return QSJWT_ERR_NOMEM;
	*out = s;
	return QSJWT_OK;
}
