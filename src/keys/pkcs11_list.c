/* Discovery: the tokens of every module, and the RSA keys on a token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>

#include "keys/signer_impl.h"
#include "pkcs11/session.h"
#include "util/log.h"
#include "util/strbuf.h"

static char *trimmed(const unsigned char *s, size_t max)
{
	char *t = p11_kit_space_strdup(s, max);

	return t != NULL ? t : strdup("");
}

static char *flags_text(CK_FLAGS f)
{
	static const struct {
		CK_FLAGS flag;
		const char *name;
	} names[] = {
		{ CKF_TOKEN_INITIALIZED, "token-initialized" },
		{ CKF_LOGIN_REQUIRED, "login-required" },
		{ CKF_USER_PIN_INITIALIZED, "user-pin-initialized" },
		{ CKF_PROTECTED_AUTHENTICATION_PATH, "protected-authentication-path" },
		{ CKF_WRITE_PROTECTED, "write-protected" },
		{ CKF_RNG, "rng" },
		{ CKF_USER_PIN_COUNT_LOW, "user-pin-count-low" },
		{ CKF_USER_PIN_FINAL_TRY, "user-pin-final-try" },
		{ CKF_USER_PIN_LOCKED, "user-pin-locked" },
		{ CKF_USER_PIN_TO_BE_CHANGED, "user-pin-to-be-changed" },
	};
	strbuf b;

	strbuf_init(&b);
	strbuf_addstr(&b, "");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (f & names[i].flag) {
			if (b.len > 0)
				strbuf_addstr(&b, ", ");
			strbuf_addstr(&b, names[i].name);
		}
	}
	return strbuf_detach(&b, NULL);
}

void qsjwt_token_descs_free(qsjwt_token_desc *d, size_t n)
{
	for (size_t i = 0; d != NULL && i < n; i++) {
		free(d[i].label);
		free(d[i].manufacturer);
		free(d[i].model);
		free(d[i].serial);
		free(d[i].module);
		free(d[i].flags);
		free(d[i].uri);
	}
	free(d);
}

qsjwt_err qsjwt_pkcs11_list_tokens(const qsjwt_pkcs11_opts *o, qsjwt_token_desc **out,
				   size_t *n_out)
{
	P11KitUri *uri = NULL;
	p11_modules *mods = NULL;
	p11_token *toks = NULL;
	qsjwt_token_desc *d = NULL;
	size_t n = 0;
	qsjwt_err rc = QSJWT_OK;

	if (o->uri != NULL)
		rc = p11_uri_parse(o->uri, P11_URI_TOKEN_FILTER, o->allow_pin_in_uri, &uri);
	if (rc == QSJWT_OK)
		rc = p11_modules_open(uri, o->module_path, o->module_init, &mods);
	if (rc == QSJWT_OK)
		rc = p11_tokens_find(mods, uri, &toks, &n);
	if (rc != QSJWT_OK)
		goto out;
	d = calloc(n ? n : 1, sizeof(*d));
	if (d == NULL) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const CK_TOKEN_INFO *ti = &toks[i].info;
		d[i].label = trimmed(ti->label, sizeof(ti->label));
		d[i].manufacturer = trimmed(ti->manufacturerID, sizeof(ti->manufacturerID));
		d[i].model = trimmed(ti->model, sizeof(ti->model));
		d[i].serial = trimmed(ti->serialNumber, sizeof(ti->serialNumber));
		d[i].module = strdup(toks[i].module_name);
		d[i].flags = flags_text(ti->flags);
		d[i].uri = p11_uri_token(ti, mods);
		if (!d[i].label || !d[i].manufacturer || !d[i].model || !d[i].serial ||
		    !d[i].module || !d[i].flags || !d[i].uri)
			rc = QSJWT_ERR_NOMEM;
	}
	if (rc != QSJWT_OK)
		goto out;
	*out = d;
	*n_out = n;
	d = NULL;
out:
	qsjwt_token_descs_free(d, n);
	p11_tokens_free(toks, n);
	p11_modules_close(mods);
	if (uri != NULL)
		p11_kit_uri_free(uri);
	return rc;
}

void qsjwt_key_descs_free(qsjwt_key_desc *d, size_t n)
{
	for (size_t i = 0; d != NULL && i < n; i++) {
		free(d[i].label);
		free(d[i].id_hex);
		free(d[i].cert_subject);
		free(d[i].cert_not_after);
		free(d[i].uri);
		free(d[i].modulus);
		free(d[i].exponent);
	}
	free(d);
}

/* Subject and expiry of the certificate with the key's id, if any. */
static void describe_cert(p11_session *s, const unsigned char *id, size_t id_len,
			  qsjwt_key_desc *k)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, (void *)id, id_len } };
	CK_OBJECT_HANDLE h[1];
	CK_ULONG count = 0;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509 *x = NULL;
	struct tm tm;
	char buf[64];

	if (id_len == 0 || p11_find(s->tok, s->session, t, 2, h, 1, &count) != QSJWT_OK ||
	    count == 0)
		return;
	k->has_cert = 1;
	if (p11_get_attr(s->tok, s->session, h[0], CKA_VALUE, &der, &len) != QSJWT_OK)
		return;
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL) {
		BIO *bio = BIO_new(BIO_s_mem());
		if (bio != NULL &&
		    X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0)
			k->cert_subject = signer_bio_string(bio);
		BIO_free(bio);
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
			strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
			k->cert_not_after = strdup(buf);
		}
	}
	ERR_clear_error();
	X509_free(x);
	free(der);
}

qsjwt_err qsjwt_pkcs11_list_keys(const qsjwt_pkcs11_opts *o, qsjwt_key_desc **out, size_t *n_out)
{
	p11_session s;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &kt, sizeof(kt) } };
	CK_OBJECT_HANDLE found[256];
	CK_ULONG count = 0;
	qsjwt_key_desc *d = NULL;
	qsjwt_err rc;

	rc = p11_session_begin(&s, o, 0, 0, 1);
	if (rc != QSJWT_OK)
		return rc;
	rc = p11_find(s.tok, s.session, t, 2, found, 256, &count);
	if (rc != QSJWT_OK)
		goto out;
	d = calloc(count ? count : 1, sizeof(*d));
	if (d == NULL) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	for (CK_ULONG i = 0; i < count; i++) {
		qsjwt_key_desc *k = &d[i];
		unsigned char *label = NULL, *id = NULL, *mod = NULL;
		size_t label_len = 0, id_len = 0, mod_len = 0;
		CK_ULONG bits = 0;
		CK_ATTRIBUTE ab = { CKA_MODULUS_BITS, &bits, sizeof(bits) };

		(void)p11_get_attr(s.tok, s.session, found[i], CKA_LABEL, &label, &label_len);
		(void)p11_get_attr(s.tok, s.session, found[i], CKA_ID, &id, &id_len);
		if (s.tok->f->C_GetAttributeValue(s.session, found[i], &ab, 1) != CKR_OK ||
		    bits == 0) {
			if (p11_get_attr(s.tok, s.session, found[i], CKA_MODULUS, &mod,
					 &mod_len) == QSJWT_OK)
				bits = mod_len * 8;
		}
		/* The public half of an RSA private key object (PKCS#11 section
		 * 2.1.3: never sensitive), for the key's JWK. */
		if (mod == NULL)
			(void)p11_get_attr(s.tok, s.session, found[i], CKA_MODULUS, &mod,
					   &mod_len);
		(void)p11_get_attr(s.tok, s.session, found[i], CKA_PUBLIC_EXPONENT, &k->exponent,
				   &k->exponent_len);
		k->modulus = mod;
		k->modulus_len = mod_len;
		mod = NULL;
		k->label = label != NULL ? (char *)label : strdup("");
		label = NULL;
		k->id_hex = p11_hex(id, id_len);
		k->bits = (unsigned)bits;
		k->sensitive = p11_get_bool(s.tok, s.session, found[i], CKA_SENSITIVE);
		k->extractable = p11_get_bool(s.tok, s.session, found[i], CKA_EXTRACTABLE);
		k->always_authenticate =
			p11_get_bool(s.tok, s.session, found[i], CKA_ALWAYS_AUTHENTICATE);
		describe_cert(&s, id, id_len, k);
		k->uri = p11_uri_object(&s.tok->info, CKO_PRIVATE_KEY, k->label, id, id_len,
					s.mods);
		free(id);
		free(mod);
		if (k->label == NULL || k->id_hex == NULL || k->uri == NULL)
			rc = QSJWT_ERR_NOMEM;
	}
	if (rc != QSJWT_OK)
		goto out;
	*out = d;
	*n_out = count;
	d = NULL;
out:
	qsjwt_key_descs_free(d, count);
	p11_session_end(&s);
	return rc;
}
