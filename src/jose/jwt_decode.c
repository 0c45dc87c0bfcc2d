/* Decoding and verifying compact JWS (RFC 7515 section 7.1) with the claims
 * checks of RFC 7519 section 4.1 and the rules of RFC 8725. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <qsjwt/qsjwt.h>

#include "jose/b64url.h"
#include "jose/json.h"
#include "jose/jwt_impl.h"
#include "keys/pubkey.h"
#include "util/log.h"

void qsjwt_jwt_free(qsjwt_jwt *t)
{
	if (t == NULL)
		return;
	free(t->header);
	free(t->payload);
	free(t->sig);
	free(t->signing_input);
	cJSON_Delete(t->hdr);
	cJSON_Delete(t->pl);
	free(t);
}

const char *qsjwt_jwt_header(const qsjwt_jwt *t)
{
	return (const char *)t->header;
}

const char *qsjwt_jwt_payload(const qsjwt_jwt *t)
{
	return (const char *)t->payload;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A JSON object with unique member names (RFC 7515 section 4: a JWS
 * parser MUST reject or use the last; we reject), valid UTF-8, no NUL. */
static qsjwt_err parse_object(const unsigned char *text, size_t len, const char *part,
			      cJSON **out)
{
	const char *end = NULL;
	cJSON *j, *a, *b;

	if (!utf8_valid((const char *)text, len)) {
		log_error("malformed token: the %s is not valid UTF-8 text", part);
		return QSJWT_ERR_INVALID;
	}
	j = cJSON_ParseWithLengthOpts((const char *)text, len, &end, 0);
	while (j != NULL && end != NULL && end < (const char *)text + len && is_space(*end))
		end++;
	if (j == NULL || !cJSON_IsObject(j) || end != (const char *)text + len) {
		log_error("malformed token: the %s is not a JSON object", part);
		cJSON_Delete(j);
		return QSJWT_ERR_INVALID;
	}
	for (a = j->child; a != NULL; a = a->next) {
		for (b = a->next; b != NULL; b = b->next) {
			if (strcmp(a->string, b->string) == 0) {
				log_error("malformed token: the %s has the member '%s' twice", part,
					  a->string);
				cJSON_Delete(j);
				return QSJWT_ERR_INVALID;
			}
		}
	}
	*out = j;
	return QSJWT_OK;
}

qsjwt_err qsjwt_jwt_decode(const char *text, size_t len, qsjwt_jwt **out)
{
	static const char *const part_names[3] = { "header", "payload", "signature" };
	const char *start[5];
	size_t plen[5], parts = 1;
	qsjwt_jwt *t = NULL;
	qsjwt_err rc = QSJWT_ERR_INVALID;

	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len == 0) {
		log_error("malformed token: it is empty");
		return QSJWT_ERR_INVALID;
	}
	if (len > QSJWT_MAX_TOKEN) {
		log_error("malformed token: it is larger than 64 KiB (%zu bytes)", len);
		return QSJWT_ERR_INVALID;
	}
	start[0] = text;
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '.')
			continue;
		if (parts == 5) {
			parts++;
			break;
		}
		plen[parts - 1] = (size_t)(text + i - start[parts - 1]);
		start[parts++] = text + i + 1;
	}
	if (parts <= 5)
		plen[parts - 1] = (size_t)(text + len - start[parts - 1]);
	if (parts == 5) {
		log_error("malformed token: it has five parts, so it is a JWE (an encrypted "
			  "token), not a signed JWT; qs-jwt cannot decrypt it");
		return QSJWT_ERR_INVALID;
	}
	if (parts != 3) {
		log_error("malformed token: it has %s%zu part%s separated by '.'; a signed JWT has "
			  "three (header.payload.signature)",
			  parts > 5 ? "more than " : "", parts > 5 ? (size_t)5 : parts,
			  parts == 1 ? "" : "s");
		return QSJWT_ERR_INVALID;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return QSJWT_ERR_NOMEM;
	for (int i = 0; i < 3; i++) {
		unsigned char **dst = i == 0 ? &t->header : i == 1 ? &t->payload : &t->sig;
		size_t *dlen = i == 0 ? &t->header_len : i == 1 ? &t->payload_len : &t->sig_len;
		rc = b64url_decode(start[i], plen[i], dst, dlen);
		if (rc == QSJWT_ERR_INVALID)
			log_error("malformed token: the %s is not valid base64url", part_names[i]);
		if (rc != QSJWT_OK)
			goto out;
	}
	rc = parse_object(t->header, t->header_len, "header", &t->hdr);
	if (rc == QSJWT_OK)
		rc = parse_object(t->payload, t->payload_len, "payload", &t->pl);
	if (rc != QSJWT_OK)
		goto out;
	t->signing_len = plen[0] + 1 + plen[1];
	t->signing_input = malloc(t->signing_len + 1);
	if (t->signing_input == NULL) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	memcpy(t->signing_input, start[0], t->signing_len);
	t->signing_input[t->signing_len] = '\0';
	*out = t;
	t = NULL;
out:
	qsjwt_jwt_free(t);
	return rc;
}

/* ---- verification ------------------------------------------------------------- */

qsjwt_check *jwt_add_check(qsjwt_verify_result *r, const char *name, qsjwt_check_result res,
			   const char *fmt, ...)
{
	qsjwt_check *c;
	va_list ap;

	if (r->n_checks >= QSJWT_MAX_CHECKS) {
		/* A check that cannot be recorded did not pass. */
		r->valid = 0;
		if (r->reason == NULL)
			r->reason = "more checks than a result can hold";
		return NULL;
	}
	c = &r->checks[r->n_checks++];
	c->name = name;
	c->result = res;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	if (res == QSJWT_CHECK_FAIL) {
		/* Checks added after qsjwt_jwt_verify (qsjwt_profile_check) can
		 * only take validity away. */
		r->valid = 0;
		if (r->reason == NULL)
			r->reason = c->detail;
	}
	return c;
}

/* JWS ECDSA signatures are R || S, each the size of the curve order
 * (RFC 7518 section 3.4); OpenSSL wants the DER ECDSA-Sig-Value. */
static int ecdsa_der(const unsigned char *sig, size_t len, size_t half, unsigned char **der,
		     int *der_len)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;

	if (len != 2 * half)
		return 0;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return 0;
	}
	*der = NULL;
	*der_len = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *der_len > 0;
}

static void check_signature(const qsjwt_jwt *t, const qsjwt_pubkey *key, qsjwt_verify_result *r)
{
	static const struct {
		const char *alg;
		pubkey_kind kind;
		size_t ec_half;
	} algs[] = {
		{ "RS256", PUBKEY_RSA, 0 },      { "RS384", PUBKEY_RSA, 0 },
		{ "RS512", PUBKEY_RSA, 0 },      { "ES256", PUBKEY_EC_P256, 32 },
		{ "ES384", PUBKEY_EC_P384, 48 }, { "ES512", PUBKEY_EC_P521, 66 },
	};
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(t->hdr, "alg");
	pubkey_kind kind = pubkey_kind_of(key);
	EVP_PKEY *pkey = pubkey_evp(key);
	const unsigned char *sig = t->sig;
	unsigned char *der = NULL;
	size_t sig_len = t->sig_len, i;
	int der_len = 0, ok = 0;
	const EVP_MD *md;
	EVP_MD_CTX *ctx;

	if (!cJSON_IsString(alg)) {
		jwt_add_check(r, "signature", QSJWT_CHECK_FAIL, "the header has no 'alg' string");
		return;
	}
	snprintf(r->alg, sizeof(r->alg), "%s", alg->valuestring);
	if (cJSON_GetObjectItemCaseSensitive(t->hdr, "crit") != NULL) {
		/* RFC 7515 section 4.1.11: extensions we do not know make the
		 * JWS invalid. */
		jwt_add_check(r, "signature", QSJWT_CHECK_FAIL,
			      "the header has 'crit' extensions, which qs-jwt does not understand");
		return;
	}
	/* The key's type decides which algorithms are acceptable; the header
	 * only picks among those (RFC 8725 section 3.1). */
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (strcmp(alg->valuestring, algs[i].alg) == 0 && algs[i].kind == kind)
			break;
	}
	if (i == sizeof(algs) / sizeof(algs[0])) {
		jwt_add_check(r, "signature", QSJWT_CHECK_FAIL,
			      "alg '%.40s' does not fit the key (%s); it takes %s",
			      alg->valuestring, qsjwt_pubkey_describe(key),
			      kind == PUBKEY_RSA       ? "RS256, RS384 or RS512"
			      : kind == PUBKEY_EC_P256 ? "ES256"
			      : kind == PUBKEY_EC_P384 ? "ES384"
						       : "ES512");
		return;
	}
	if (kind == PUBKEY_RSA && EVP_PKEY_get_bits(pkey) < 2048) {
		jwt_add_check(r, "signature", QSJWT_CHECK_FAIL,
			      "the RSA key has %d bits; RS algorithms need 2048 or more "
			      "(RFC 7518 section 3.3)",
			      EVP_PKEY_get_bits(pkey));
		return;
	}
	md = algs[i].alg[2] == '2' ? EVP_sha256() : algs[i].alg[2] == '3' ? EVP_sha384() : EVP_sha512();
	if (algs[i].ec_half != 0) {
		if (!ecdsa_der(t->sig, t->sig_len, algs[i].ec_half, &der, &der_len)) {
			jwt_add_check(r, "signature", QSJWT_CHECK_FAIL,
				      "the %s signature has %zu bytes; it must have %zu",
				      algs[i].alg, t->sig_len, 2 * algs[i].ec_half);
			return;
		}
		sig = der;
		sig_len = (size_t)der_len;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)t->signing_input,
			     t->signing_len) == 1)
		ok = 1;
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	if (ok)
		jwt_add_check(r, "signature", QSJWT_CHECK_PASS,
			      "%s signature verified with the key (%s)", algs[i].alg,
			      qsjwt_pubkey_describe(key));
	else
		jwt_add_check(r, "signature", QSJWT_CHECK_FAIL,
			      "the %s signature does not verify with the key (%s)", algs[i].alg,
			      qsjwt_pubkey_describe(key));
}

static void iso(double t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt;

	/* Range first: converting a double outside time_t is undefined (a
	 * token can say "iat": 1e24; found by fuzzing). */
	if (!(t >= -62135596800.0 && t <= 253402300799.0)) {
		snprintf(buf, size, "%.0f", t);
		return;
	}
	tt = (time_t)floor(t);
	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, size, "%.0f", t);
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* exp, nbf, iat: NumericDate (RFC 7519 section 2), compared as jsonwebtoken
 * does: expired when now >= exp + skew; not yet valid when nbf > now + skew. */
static void check_time(const qsjwt_jwt *t, const char *name, const qsjwt_verify_opts *o,
		       qsjwt_verify_result *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(t->pl, name);
	double now = (double)o->now, skew = (double)o->skew, x;
	char when[40];
	int bad;

	if (v == NULL) {
		jwt_add_check(r, name, QSJWT_CHECK_ABSENT, "no '%s' claim", name);
		return;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
		jwt_add_check(r, name, QSJWT_CHECK_FAIL, "'%s' is not a number", name);
		return;
	}
	x = v->valuedouble;
	iso(x, when, sizeof(when));
	if (strcmp(name, "exp") == 0) {
		bad = now >= x + skew;
		jwt_add_check(r, name, bad ? QSJWT_CHECK_FAIL : QSJWT_CHECK_PASS,
			      bad ? "expired at %s" : "expires at %s", when);
	} else if (strcmp(name, "nbf") == 0) {
		bad = x > now + skew;
		jwt_add_check(r, name, bad ? QSJWT_CHECK_FAIL : QSJWT_CHECK_PASS,
			      bad ? "not valid before %s" : "valid since %s", when);
	} else {
		bad = x > now + skew;
		jwt_add_check(r, name, bad ? QSJWT_CHECK_FAIL : QSJWT_CHECK_PASS,
			      bad ? "issued in the future, at %s" : "issued at %s", when);
	}
}

static void check_audience(const qsjwt_jwt *t, const char *want, qsjwt_verify_result *r)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(t->pl, "aud"), *a;

	if (aud == NULL) {
		jwt_add_check(r, "aud", QSJWT_CHECK_FAIL, "no 'aud' claim; expected '%.80s'", want);
		return;
	}
	if (cJSON_IsString(aud)) {
		if (strcmp(aud->valuestring, want) == 0)
			jwt_add_check(r, "aud", QSJWT_CHECK_PASS, "audience '%.80s'", want);
		else
			jwt_add_check(r, "aud", QSJWT_CHECK_FAIL,
				      "audience '%.60s', expected '%.60s'", aud->valuestring, want);
		return;
	}
	if (cJSON_IsArray(aud)) {
		cJSON_ArrayForEach(a, aud)
		{
			if (cJSON_IsString(a) && strcmp(a->valuestring, want) == 0) {
				jwt_add_check(r, "aud", QSJWT_CHECK_PASS,
					      "audience list holds '%.80s'", want);
				return;
			}
		}
		jwt_add_check(r, "aud", QSJWT_CHECK_FAIL, "audience list does not hold '%.80s'",
			      want);
		return;
	}
	jwt_add_check(r, "aud", QSJWT_CHECK_FAIL, "'aud' is neither a string nor an array");
}

qsjwt_err qsjwt_jwt_verify(const qsjwt_jwt *t, const qsjwt_pubkey *key,
			   const qsjwt_verify_opts *o, qsjwt_verify_result *r)
{
	qsjwt_err rc = QSJWT_ERR_INVALID;
	int failed = 0, signed_ok = 0;

	/* Not valid until every check has run and passed: a caller that reads
	 * only r->valid after an error must not accept the token. */
	memset(r, 0, sizeof(*r));
	if (o->skew < 0 || o->skew > QSJWT_MAX_TIME) {
		log_error("the clock skew must be from 0 to %lld seconds, not %lld",
			  (long long)QSJWT_MAX_TIME, (long long)o->skew);
		goto out;
	}
	check_signature(t, key, r);
	check_time(t, "exp", o, r);
	check_time(t, "nbf", o, r);
	check_time(t, "iat", o, r);
	if (o->audience != NULL)
		check_audience(t, o->audience, r);
	for (size_t i = 0; i < r->n_checks; i++) {
		failed |= r->checks[i].result == QSJWT_CHECK_FAIL;
		signed_ok |= strcmp(r->checks[i].name, "signature") == 0 &&
			     r->checks[i].result == QSJWT_CHECK_PASS;
	}
	r->valid = signed_ok && !failed;
	rc = QSJWT_OK;
out:
	return rc;
}
