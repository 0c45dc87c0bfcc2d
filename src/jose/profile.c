/* Qlik profiles: does a token have what Qlik Cloud's JWT identity provider
 * or a QSEoW JWT virtual proxy accepts? Each rule, its source and what a
 * real tenant or proxy still has to confirm: docs/compatibility.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <qsjwt/qsjwt.h>

#include "jose/jwt_impl.h"

#define QSCLOUD_AUD "qlik.api/login/jwt-session"

qsjwt_err qsjwt_profile_from_name(const char *name, qsjwt_profile *out)
{
	if (strcmp(name, "qseow") == 0)
		*out = QSJWT_PROFILE_QSEOW;
	else if (strcmp(name, "qscloud") == 0)
		*out = QSJWT_PROFILE_QSCLOUD;
	else
		return QSJWT_ERR_INVALID;
	return QSJWT_OK;
}

static const char *json_type(const cJSON *v)
{
	return cJSON_IsString(v)   ? "a string"
	       : cJSON_IsNumber(v) ? "a number"
	       : cJSON_IsBool(v)   ? "a boolean"
	       : cJSON_IsArray(v)  ? "an array"
	       : cJSON_IsObject(v) ? "an object"
				   : "null";
}

/* The header alg among `algs` (NULL-terminated). */
static void check_alg(const qsjwt_jwt *t, const char *name, const char *const *algs,
		      const char *list, qsjwt_verify_result *r)
{
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(t->hdr, "alg");

	if (!cJSON_IsString(alg)) {
		jwt_add_check(r, name, QSJWT_CHECK_FAIL,
			      "the header has no 'alg' string; accepted: %s", list);
		return;
	}
	for (size_t i = 0; algs[i] != NULL; i++) {
		if (strcmp(alg->valuestring, algs[i]) == 0) {
			jwt_add_check(r, name, QSJWT_CHECK_PASS, "alg %s is accepted", algs[i]);
			return;
		}
	}
	jwt_add_check(r, name, QSJWT_CHECK_FAIL, "alg '%.40s' is not accepted; accepted: %s",
		      alg->valuestring, list);
}

/* A non-empty string member of `obj` (`where`: "claim" or "header"), equal
 * to `want` when that is not NULL. */
static void check_string(const cJSON *obj, const char *where, const char *key, const char *name,
			 const char *want, qsjwt_verify_result *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v == NULL)
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "no '%.60s' %s%s%.60s%s", key, where,
			      want != NULL ? "; expected '" : "", want != NULL ? want : "",
			      want != NULL ? "'" : "");
	else if (!cJSON_IsString(v))
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "'%.60s' is %s, not a string", key,
			      json_type(v));
	else if (v->valuestring[0] == '\0')
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "'%.60s' is empty", key);
	else if (want != NULL && strcmp(v->valuestring, want) != 0)
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "'%.40s' is '%.60s', expected '%.60s'",
			      key, v->valuestring, want);
	else
		jwt_add_check(r, name, QSJWT_CHECK_PASS, "'%.40s' is '%.80s'", key, v->valuestring);
}

/* A NumericDate claim (RFC 7519 section 2) that must be there. */
static const cJSON *check_number(const qsjwt_jwt *t, const char *key, const char *name,
				 qsjwt_verify_result *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(t->pl, key);

	if (v == NULL) {
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "no '%s' claim; Qlik Cloud requires it",
			      key);
		return NULL;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "'%s' is %s, not a number", key,
			      json_type(v));
		return NULL;
	}
	jwt_add_check(r, name, QSJWT_CHECK_PASS, "'%s' is a number", key);
	return v;
}

/* An optional array of strings. */
static void check_groups(const qsjwt_jwt *t, const char *key, const char *name,
			 qsjwt_verify_result *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(t->pl, key), *g;
	int n = 0;

	if (v == NULL) {
		jwt_add_check(r, name, QSJWT_CHECK_ABSENT, "no '%s' claim", key);
		return;
	}
	if (!cJSON_IsArray(v)) {
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "'%s' is %s, not an array of strings", key,
			      json_type(v));
		return;
	}
	cJSON_ArrayForEach(g, v)
	{
		if (!cJSON_IsString(g)) {
			jwt_add_check(r, name, QSJWT_CHECK_FAIL, "'%s' item %d is %s, not a string",
				      key, n, json_type(g));
			return;
		}
		n++;
	}
	jwt_add_check(r, name, QSJWT_CHECK_PASS, "'%s' is an array of %d string%s", key, n,
		      n == 1 ? "" : "s");
}

/* name, email: Qlik's POST /login/jwt-session reference says a token
 * "should" contain them; their absence is reported, not failed. */
static void check_optional_string(const qsjwt_jwt *t, const char *key, const char *name,
				  qsjwt_verify_result *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(t->pl, key);

	if (v == NULL)
		jwt_add_check(r, name, QSJWT_CHECK_ABSENT,
			      "no '%s' claim; Qlik's reference says a token should have one", key);
	else if (!cJSON_IsString(v))
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "'%s' is %s, not a string", key,
			      json_type(v));
	else
		jwt_add_check(r, name, QSJWT_CHECK_PASS, "'%s' is a string", key);
}

static void check_qscloud(const qsjwt_jwt *t, const qsjwt_profile_opts *o, qsjwt_verify_result *r)
{
	/* Qlik's reference: any algorithm but HS; RS and ES are what the
	 * identity provider's PEM key can verify. */
	static const char *const algs[] = { "RS256", "RS384", "RS512", "ES256",
					    "ES384", "ES512", NULL };
	const cJSON *nbf, *exp, *ev, *group;

	check_alg(t, "qscloud.alg", algs, "RS256, RS384, RS512, ES256, ES384, ES512", r);
	check_string(t->hdr, "header parameter", "kid", "qscloud.kid", o->keyid, r);
	check_string(t->pl, "claim", "sub", "qscloud.sub", NULL, r);
	check_string(t->pl, "claim", "subType", "qscloud.subType", "user", r);
	check_string(t->pl, "claim", "jti", "qscloud.jti", NULL, r);
	check_number(t, "iat", "qscloud.iat", r);
	nbf = check_number(t, "nbf", "qscloud.nbf", r);
	exp = check_number(t, "exp", "qscloud.exp", r);
	if (nbf == NULL || exp == NULL)
		jwt_add_check(r, "qscloud.lifetime", QSJWT_CHECK_FAIL,
			      "exp - nbf cannot be computed without numbers for both");
	else if (exp->valuedouble - nbf->valuedouble > (double)QSJWT_QSCLOUD_MAX_LIFETIME)
		jwt_add_check(r, "qscloud.lifetime", QSJWT_CHECK_FAIL,
			      "Qlik Cloud rejects a token whose exp is more than %d s after nbf "
			      "(this one: %.0f s)",
			      QSJWT_QSCLOUD_MAX_LIFETIME, exp->valuedouble - nbf->valuedouble);
	else
		jwt_add_check(r, "qscloud.lifetime", QSJWT_CHECK_PASS,
			      "exp is %.0f s after nbf (at most %d)",
			      exp->valuedouble - nbf->valuedouble, QSJWT_QSCLOUD_MAX_LIFETIME);
	check_string(t->pl, "claim", "iss", "qscloud.iss", o->issuer, r);
	/* One string, as Qlik's reference shows it (RFC 7519 also allows an
	 * array; whether Qlik takes one is not documented). */
	check_string(t->pl, "claim", "aud", "qscloud.aud", QSCLOUD_AUD, r);
	group = cJSON_GetObjectItemCaseSensitive(t->pl, "group");
	if (group != NULL && cJSON_GetObjectItemCaseSensitive(t->pl, "groups") == NULL)
		jwt_add_check(r, "qscloud.groups", QSJWT_CHECK_FAIL,
			      "the token has 'group', which Qlik Cloud ignores, and no 'groups': "
			      "its groups are lost");
	else
		check_groups(t, "groups", "qscloud.groups", r);
	check_optional_string(t, "name", "qscloud.name", r);
	check_optional_string(t, "email", "qscloud.email", r);
	ev = cJSON_GetObjectItemCaseSensitive(t->pl, "email_verified");
	if (ev == NULL)
		jwt_add_check(r, "qscloud.email_verified", QSJWT_CHECK_ABSENT,
			      "no 'email_verified' claim; Qlik's reference says a token should "
			      "have one");
	else if (!cJSON_IsBool(ev))
		jwt_add_check(r, "qscloud.email_verified", QSJWT_CHECK_FAIL,
			      "'email_verified' is %s, not a boolean", json_type(ev));
	else
		jwt_add_check(r, "qscloud.email_verified", QSJWT_CHECK_PASS,
			      "'email_verified' is %s", cJSON_IsTrue(ev) ? "true" : "false");
}

static void check_qseow(const qsjwt_jwt *t, const qsjwt_profile_opts *o, qsjwt_verify_result *r)
{
	/* help.qlik.com, QSEoW JWT authentication, Limitations. */
	static const char *const algs[] = { "RS256", "RS384", "RS512", NULL };

	check_alg(t, "qseow.alg", algs, "RS256, RS384, RS512", r);
	check_string(t->pl, "claim", o->userid_claim != NULL ? o->userid_claim : "userId",
		     "qseow.userid", NULL, r);
	check_string(t->pl, "claim", o->userdir_claim != NULL ? o->userdir_claim : "userDirectory",
		     "qseow.userdir", NULL, r);
	check_groups(t, "group", "qseow.group", r);
	if (o->issuer != NULL)
		check_string(t->pl, "claim", "iss", "qseow.iss", o->issuer, r);
	if (o->keyid != NULL)
		check_string(t->hdr, "header parameter", "kid", "qseow.kid", o->keyid, r);
}

qsjwt_err qsjwt_profile_check(const qsjwt_jwt *t, const qsjwt_profile_opts *o,
			      qsjwt_verify_result *r)
{
	switch (o->profile) {
	case QSJWT_PROFILE_QSCLOUD:
		check_qscloud(t, o, r);
		break;
	case QSJWT_PROFILE_QSEOW:
		check_qseow(t, o, r);
		break;
	case QSJWT_PROFILE_NONE:
		if (o->issuer != NULL)
			check_string(t->pl, "claim", "iss", "iss", o->issuer, r);
		if (o->keyid != NULL)
			check_string(t->hdr, "header parameter", "kid", "kid", o->keyid, r);
		break;
	default:
		return QSJWT_ERR_INVALID;
	}
	return QSJWT_OK;
}
