/* Signer backend for an RSA key on a PKCS#11 token. The key never leaves the
 * token; every signature is checked in software with the public half before
 * it is used (qsjwt_jwt_sign, qsjwt_cert_create). */
#include "keys/signer_pkcs11.h"
#include "keys/token_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "keys/signer_impl.h"
#include "util/log.h"
#include "util/secret.h"

#define MAX_MATCHES 64

/* DigestInfo prefixes for CKM_RSA_PKCS (RFC 8017 section 9.2, note 1). */
static const unsigned char di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
					   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					   0x01, 0x05, 0x00, 0x04, 0x20 };
static const unsigned char di_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
					   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					   0x02, 0x05, 0x00, 0x04, 0x30 };
static const unsigned char di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
					   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					   0x03, 0x05, 0x00, 0x04, 0x40 };
static const CK_MECHANISM_TYPE hashed_mechs[3] = { CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
						   CKM_SHA512_RSA_PKCS };

char *p11_hex(const unsigned char *b, size_t n)
{
	char *s = malloc(n * 2 + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + i * 2, 3, "%02x", b[i]);
	s[n * 2] = '\0';
	return s;
}

/* ---- opening ------------------------------------------------------------------ */

static void list_tokens_seen(p11_modules *m)
{
	p11_token *all = NULL;
	size_t n = 0;

	if (p11_tokens_find(m, NULL, &all, &n) != QSJWT_OK)
		return;
	if (n == 0)
		log_error("no token is present in the PKCS#11 module(s) searched");
	else
		log_error("tokens seen:");
	for (size_t i = 0; i < n; i++) {
		char *u = p11_uri_token(&all[i].info, p11_modules_path(m));
		log_error("  %s", u != NULL ? u : "?");
		free(u);
	}
	p11_tokens_free(all, n);
}

qsjwt_err p11_signer_login(p11_signer *ps, const qsjwt_pkcs11_opts *o)
{
	p11_login_opts lo;

	memset(&lo, 0, sizeof(lo));
	lo.pin_value = p11_kit_uri_get_pin_value(ps->uri);
	lo.pin_source = p11_kit_uri_get_pin_source(ps->uri);
	lo.final_try = o->pin_final_try;
	lo.pin_fn = o->pin_fn;
	lo.pin_ud = o->pin_ud;
	/* The PIN is kept only until we know whether the key needs it for each
	 * signature (CKA_ALWAYS_AUTHENTICATE); p11_signer_wrap wipes it. */
	return p11_login(ps->tok, ps->session, &lo, ps->pin, &ps->pin_len, &ps->logged_in);
}

qsjwt_err p11_signer_open(p11_signer *ps, const qsjwt_pkcs11_opts *o, int for_key, int rw,
			  int login)
{
	qsjwt_err rc;

	memset(ps, 0, sizeof(*ps));
	rc = p11_uri_parse(o->uri, for_key ? P11_URI_KEY : P11_URI_TOKEN_FILTER,
			   o->allow_pin_in_uri, &ps->uri);
	if (rc == QSJWT_OK)
		rc = p11_modules_open(ps->uri, o->module_path, &ps->mods);
	if (rc == QSJWT_OK)
		rc = p11_tokens_find(ps->mods, ps->uri, &ps->tokens, &ps->n_tokens);
	if (rc != QSJWT_OK)
		goto out;
	/* A token that is not initialised holds no keys and takes no login
	 * (SoftHSM2 always offers one such free slot). */
	for (size_t i = 0; i < ps->n_tokens;) {
		if (ps->tokens[i].info.flags & CKF_TOKEN_INITIALIZED) {
			i++;
			continue;
		}
		free(ps->tokens[i].module_name);
		free(ps->tokens[i].label);
		free(ps->tokens[i].mechs);
		memmove(&ps->tokens[i], &ps->tokens[i + 1],
			(ps->n_tokens - i - 1) * sizeof(ps->tokens[0]));
		ps->n_tokens--;
	}
	if (ps->n_tokens != 1) {
		int same_label = ps->n_tokens > 1 &&
				 strcmp(ps->tokens[0].label, ps->tokens[1].label) == 0;
		if (ps->n_tokens == 0) {
			log_error("the PKCS#11 URI matches no token");
			list_tokens_seen(ps->mods);
		} else {
			log_error("the PKCS#11 URI matches %zu tokens; add %s to choose one:",
				  ps->n_tokens, same_label ? "serial=" : "token= (or serial=)");
			for (size_t i = 0; i < ps->n_tokens; i++) {
				char *u = p11_uri_token(&ps->tokens[i].info,
							p11_modules_path(ps->mods));
				log_error("  %s", u != NULL ? u : "?");
				free(u);
			}
		}
		rc = QSJWT_ERR_NOT_FOUND;
		goto out;
	}
	ps->tok = &ps->tokens[0];
	log_verbose("token '%s' (module %s)", ps->tok->label, ps->tok->module_name);
	rc = p11_session_open(ps->tok, rw, &ps->session);
	if (rc != QSJWT_OK)
		goto out;
	ps->have_session = 1;
	if (login)
		rc = p11_signer_login(ps, o);
out:
	if (rc != QSJWT_OK)
		p11_signer_close(ps);
	return rc;
}

void p11_signer_close(p11_signer *ps)
{
	if (ps->child) {
		/* Not C_Logout: the login belongs to every session of the token. */
		if (ps->have_session)
			ps->tok->f->C_CloseSession(ps->session);
		qsjwt_secret_wipe(ps->pin, sizeof(ps->pin));
		memset(ps, 0, sizeof(*ps));
		return;
	}
	if (ps->have_session) {
		for (size_t i = ps->n_created; !ps->keep && i > 0; i--) {
			CK_RV rv = ps->tok->f->C_DestroyObject(ps->session, ps->created[i - 1]);
			if (rv != CKR_OK)
				log_error("cannot remove a new object from token '%s': %s",
					  ps->tok->label, p11_rv_name(rv));
		}
		if (ps->n_created > 0 && !ps->keep)
			log_info("removed the new objects from token '%s'", ps->tok->label);
		if (ps->logged_in)
			ps->tok->f->C_Logout(ps->session);
		ps->tok->f->C_CloseSession(ps->session);
	}
	ps->have_session = 0;
	ps->n_created = 0;
	p11_tokens_free(ps->tokens, ps->n_tokens);
	ps->tokens = NULL;
	ps->tok = NULL;
	p11_modules_close(ps->mods);
	ps->mods = NULL;
	if (ps->uri != NULL)
		p11_kit_uri_free(ps->uri);
	ps->uri = NULL;
	qsjwt_secret_wipe(ps->pin, sizeof(ps->pin));
	ps->pin_len = 0;
}

/* ---- public key --------------------------------------------------------------- */

EVP_PKEY *p11_rsa_public(const unsigned char *n, size_t n_len, const unsigned char *e,
			 size_t e_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL), *bn_e = BN_bin2bn(e, (int)e_len, NULL);

	if (bld == NULL || bn_n == NULL || bn_e == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return pkey;
}

qsjwt_err p11_public_of(p11_signer *ps, CK_OBJECT_HANDLE key, EVP_PKEY **out)
{
	unsigned char *id = NULL;
	size_t id_len = 0;
	EVP_PKEY *pkey = NULL;
	const char *from = "the private key's modulus and exponent";

	(void)p11_get_attr(ps->tok, ps->session, key, CKA_ID, &id, &id_len);
	if (id_len > 0) {
		CK_OBJECT_CLASS classes[2] = { CKO_PUBLIC_KEY, CKO_CERTIFICATE };
		for (int c = 0; c < 2 && pkey == NULL; c++) {
			CK_ATTRIBUTE t[2] = { { CKA_CLASS, &classes[c], sizeof(classes[c]) },
					      { CKA_ID, id, id_len } };
			CK_OBJECT_HANDLE found[1];
			CK_ULONG count = 0;
			if (p11_find(ps->tok, ps->session, t, 2, found, 1, &count) != QSJWT_OK ||
			    count == 0)
				continue;
			pkey = p11_object_public(ps, classes[c], found[0]);
			if (pkey != NULL && !EVP_PKEY_is_a(pkey, "RSA")) {
				/* another key with the same id (an EC key, say) */
				EVP_PKEY_free(pkey);
				pkey = NULL;
				continue;
			}
			from = c == 0 ? "the public key object with the same id"
				      : "the certificate with the same id";
		}
	}
	if (pkey == NULL) {
		pkey = p11_object_public(ps, CKO_PRIVATE_KEY, key);
		from = "the private key's modulus and exponent";
	}
	free(id);
	ERR_clear_error();
	if (pkey == NULL) {
		log_error("cannot find the public half of the key on token '%s' (no public key "
			  "or certificate with the same id, and the private key does not show "
			  "its modulus)",
			  ps->tok->label);
		return QSJWT_ERR_KEY;
	}
	log_verbose("public key for verification: %s", from);
	*out = pkey;
	return QSJWT_OK;
}

qsjwt_err p11_choose_mechanisms(p11_signer *ps)
{
	CK_MECHANISM_TYPE *allowed = NULL;
	unsigned char *raw = NULL;
	size_t len = 0, n_allowed = 0;

	/* CKA_ALLOWED_MECHANISMS (PKCS#11 v2.40 section 4.6): when the key
	 * lists mechanisms, only those may be used with it. */
	if (p11_get_attr(ps->tok, ps->session, ps->key, CKA_ALLOWED_MECHANISMS, &raw, &len) ==
		    QSJWT_OK &&
	    len >= sizeof(CK_MECHANISM_TYPE)) {
		allowed = (CK_MECHANISM_TYPE *)(void *)raw;
		n_allowed = len / sizeof(CK_MECHANISM_TYPE);
	}
	for (int a = 0; a < 4; a++) {
		CK_MECHANISM_TYPE m = a < 3 ? hashed_mechs[a] : CKM_RSA_PKCS;
		int ok = p11_has_mechanism(ps->tok, m, CKF_SIGN, NULL);
		if (ok && allowed != NULL) {
			ok = 0;
			for (size_t i = 0; i < n_allowed; i++)
				ok |= allowed[i] == m;
		}
		if (a < 3)
			ps->hashed_mech[a] = ok;
		else
			ps->raw_mech = ok;
	}
	free(raw);
	if (!ps->raw_mech && !ps->hashed_mech[0] && !ps->hashed_mech[1] && !ps->hashed_mech[2]) {
		log_error("token '%s' offers neither CKM_SHA256_RSA_PKCS nor CKM_RSA_PKCS for "
			  "signing with this key",
			  ps->tok->label);
		return QSJWT_ERR_KEY;
	}
	return QSJWT_OK;
}

/* ---- signing ------------------------------------------------------------------ */

static qsjwt_err p11_sign(qsjwt_signer *s, qsjwt_alg alg, const unsigned char *data, size_t len,
			  unsigned char **sig_out, size_t *sig_len)
{
	p11_signer *ps = s->impl;
	CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
	unsigned char input[19 + 64];
	const unsigned char *in = data;
	CK_ULONG in_len = (CK_ULONG)len, out_len;
	unsigned char *sig = NULL;
	qsjwt_err rc = QSJWT_ERR_CRYPTO;
	CK_RV rv;

	if (ps->hashed_mech[alg]) {
		mech.mechanism = hashed_mechs[alg];
	} else if (ps->raw_mech) {
		/* Many smartcards only sign a ready DigestInfo: hash here, same
		 * bytes as the token's hashing mechanism would give. */
		const unsigned char *prefix = alg == QSJWT_RS512   ? di_sha512
					      : alg == QSJWT_RS384 ? di_sha384
								   : di_sha256;
		unsigned int md_len = 0;
		memcpy(input, prefix, 19);
		if (EVP_Digest(data, len, input + 19, &md_len, signer_md(alg), NULL) != 1)
			return QSJWT_ERR_CRYPTO;
		in = input;
		in_len = 19 + md_len;
	} else {
		log_error("token '%s' cannot sign %s with this key", ps->tok->label,
			  qsjwt_alg_name(alg));
		return QSJWT_ERR_KEY;
	}
	out_len = (CK_ULONG)EVP_PKEY_get_size(s->pub);
	sig = malloc(out_len);
	if (sig == NULL)
		return QSJWT_ERR_NOMEM;
	rv = ps->tok->f->C_SignInit(ps->session, &mech, ps->key);
	if (rv == CKR_OK && ps->always_auth) {
		rc = p11_context_login(ps->tok, ps->session, ps->pin, ps->pin_len);
		if (rc != QSJWT_OK)
			goto out;
	}
	if (rv == CKR_OK)
		rv = ps->tok->f->C_Sign(ps->session, (CK_BYTE *)in, in_len, sig, &out_len);
	if (rv != CKR_OK) {
		log_error("token '%s' failed to sign: %s", ps->tok->label, p11_rv_name(rv));
		rc = p11_rv_device_failure(rv) ? QSJWT_ERR_IO : QSJWT_ERR_CRYPTO;
		goto out;
	}
	*sig_out = sig;
	*sig_len = out_len;
	sig = NULL;
	rc = QSJWT_OK;
out:
	qsjwt_secret_wipe(input, sizeof(input));
	free(sig);
	return rc;
}

static void p11_free(void *impl)
{
	p11_signer *ps = impl;

	if (ps == NULL)
		return;
	p11_signer_close(ps);
	free(ps);
}

static qsjwt_err p11_store_cert(qsjwt_signer *s, const qsjwt_cert *c);

static void p11_keep(qsjwt_signer *s)
{
	((p11_signer *)s->impl)->keep = 1;
}

static qsjwt_err p11_session(qsjwt_signer *s, void **impl_out)
{
	p11_signer *parent = s->impl, *c = malloc(sizeof(*c));
	qsjwt_err rc;

	if (c == NULL)
		return QSJWT_ERR_NOMEM;
	/* Same token, key handle, mechanisms and PIN (always-authenticate);
	 * object handles are valid in every session of the application. */
	*c = *parent;
	c->child = 1;
	c->have_session = 0;
	c->logged_in = 0;
	c->n_created = 0;
	c->uri = NULL;
	c->mods = NULL;
	c->tokens = NULL;
	c->n_tokens = 0;
	rc = p11_session_open(c->tok, 0, &c->session);
	if (rc != QSJWT_OK) {
		qsjwt_secret_wipe(c->pin, sizeof(c->pin));
		free(c);
		return rc;
	}
	c->have_session = 1;
	*impl_out = c;
	return QSJWT_OK;
}

static const signer_ops p11_ops = { p11_sign, NULL, p11_free, p11_store_cert, p11_keep,
				    p11_session };

qsjwt_err p11_signer_wrap(p11_signer *ps, EVP_PKEY *pub, const char *label,
			  const unsigned char *id, size_t id_len, qsjwt_signer **out)
{
	p11_signer *heap = malloc(sizeof(*heap));
	char what[300];
	char *uri;
	qsjwt_err rc;

	if (heap == NULL) {
		p11_signer_close(ps);
		EVP_PKEY_free(pub);
		return QSJWT_ERR_NOMEM;
	}
	*heap = *ps;
	memset(ps, 0, sizeof(*ps));
	if (!heap->always_auth) {
		qsjwt_secret_wipe(heap->pin, sizeof(heap->pin));
		heap->pin_len = 0;
	}
	uri = p11_uri_object(&heap->tok->info, CKO_PRIVATE_KEY, label, id, id_len,
			     p11_modules_path(heap->mods));
	snprintf(what, sizeof(what), "key '%s' on token '%s'", label != NULL ? label : "",
		 heap->tok->label);
	rc = signer_new(&p11_ops, heap, pub, strdup(what), out);
	if (rc == QSJWT_OK)
		(*out)->uri = uri;
	else
		free(uri);
	return rc;
}

/* ---- finding the key ------------------------------------------------------------- */

void p11_list_keys_seen(p11_signer *ps)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE found[MAX_MATCHES];
	CK_ULONG count = 0;

	if (p11_find(ps->tok, ps->session, &t, 1, found, MAX_MATCHES, &count) != QSJWT_OK)
		return;
	if (count == 0)
		log_error("token '%s' holds no private key%s", ps->tok->label,
			  ps->logged_in ? "" : " visible without login");
	else
		log_error("private keys on token '%s':", ps->tok->label);
	for (CK_ULONG i = 0; i < count; i++) {
		unsigned char *label = NULL, *id = NULL;
		size_t label_len = 0, id_len = 0;
		char *u;
		(void)p11_get_attr(ps->tok, ps->session, found[i], CKA_LABEL, &label, &label_len);
		(void)p11_get_attr(ps->tok, ps->session, found[i], CKA_ID, &id, &id_len);
		u = p11_uri_object(&ps->tok->info, CKO_PRIVATE_KEY, (char *)label, id, id_len,
				   p11_modules_path(ps->mods));
		log_error("  %s", u != NULL ? u : "?");
		free(u);
		free(label);
		free(id);
	}
}

qsjwt_err qsjwt_signer_from_pkcs11(const qsjwt_pkcs11_opts *o, qsjwt_signer **out)
{
	p11_signer ps;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[3];
	CK_ATTRIBUTE *label_attr, *id_attr;
	CK_OBJECT_HANDLE found[MAX_MATCHES], rsa[MAX_MATCHES];
	CK_ULONG count = 0, n_rsa = 0, n = 0;
	unsigned char *label = NULL, *id = NULL;
	size_t label_len = 0, id_len = 0;
	EVP_PKEY *pub = NULL;
	char what[300];
	qsjwt_err rc;

	rc = p11_signer_open(&ps, o, 1, 0, 1);
	if (rc != QSJWT_OK)
		return rc;
	tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	label_attr = p11_kit_uri_get_attribute(ps.uri, CKA_LABEL);
	id_attr = p11_kit_uri_get_attribute(ps.uri, CKA_ID);
	if (label_attr != NULL)
		tmpl[n++] = *label_attr;
	if (id_attr != NULL)
		tmpl[n++] = *id_attr;
	rc = p11_find(ps.tok, ps.session, tmpl, n, found, MAX_MATCHES, &count);
	if (rc != QSJWT_OK)
		goto out;
	for (CK_ULONG i = 0; i < count; i++) {
		CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
		CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
		if (ps.tok->f->C_GetAttributeValue(ps.session, found[i], &a, 1) == CKR_OK &&
		    kt == CKK_RSA)
			rsa[n_rsa++] = found[i];
	}
	if (n_rsa != 1) {
		rc = QSJWT_ERR_NOT_FOUND;
		if (n_rsa == 0 && count > 0)
			log_error("the PKCS#11 URI matches %lu private key(s) on token '%s', none "
				  "of them RSA; QSEoW tokens need an RSA key",
				  (unsigned long)count, ps.tok->label);
		else if (n_rsa == 0)
			log_error("the PKCS#11 URI matches no private key on token '%s'",
				  ps.tok->label);
		else
			log_error("the PKCS#11 URI matches %lu RSA private keys on token '%s'; add "
				  "object= or id= to choose one",
				  (unsigned long)n_rsa, ps.tok->label);
		p11_list_keys_seen(&ps);
		goto out;
	}
	ps.key = rsa[0];
	(void)p11_get_attr(ps.tok, ps.session, ps.key, CKA_LABEL, &label, &label_len);
	(void)p11_get_attr(ps.tok, ps.session, ps.key, CKA_ID, &id, &id_len);
	snprintf(what, sizeof(what), "key '%s' on token '%s'", label != NULL ? (char *)label : "",
		 ps.tok->label);
	ps.always_auth = p11_get_bool(ps.tok, ps.session, ps.key, CKA_ALWAYS_AUTHENTICATE) == 1;
	if (ps.always_auth)
		log_verbose("%s asks for the PIN on every signature (CKA_ALWAYS_AUTHENTICATE)",
			    what);
	rc = p11_choose_mechanisms(&ps);
	if (rc == QSJWT_OK)
		rc = p11_public_of(&ps, ps.key, &pub);
	if (rc == QSJWT_OK)
		rc = signer_check_rsa(pub, what);
	if (rc != QSJWT_OK)
		goto out;
	rc = p11_signer_wrap(&ps, pub, (char *)label, id, id_len, out);
	pub = NULL;
	if (rc == QSJWT_OK)
		log_verbose("signing key: %s, %s (RSA %u bits)", qsjwt_signer_uri(*out), what,
			    qsjwt_signer_bits(*out));
out:
	EVP_PKEY_free(pub);
	free(label);
	free(id);
	p11_signer_close(&ps); /* a no-op after p11_signer_wrap took it over */
	return rc;
}

qsjwt_err qsjwt_pkcs11_check_uri(const char *uri, int allow_pin_in_uri, int for_key)
{
	P11KitUri *u = NULL;
	qsjwt_err rc = p11_uri_parse(uri, for_key ? P11_URI_KEY : P11_URI_TOKEN_FILTER,
				     allow_pin_in_uri, &u);

	if (u != NULL)
		p11_kit_uri_free(u);
	return rc;
}

/* ---- storing a certificate -------------------------------------------------------- */

static qsjwt_err p11_store_cert(qsjwt_signer *s, const qsjwt_cert *c)
{
	p11_signer *ps = s->impl;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	unsigned char *label = NULL, *id = NULL, *subj = NULL, *serial = NULL;
	size_t label_len = 0, id_len = 0;
	int subj_len, serial_len;
	const unsigned char *p = c->der;
	X509 *x = d2i_X509(NULL, &p, (long)c->der_len);
	CK_OBJECT_HANDLE h;
	qsjwt_err rc = QSJWT_ERR_CRYPTO;
	CK_RV rv;

	if (ps->n_created == 0 || ps->n_created >= P11_MAX_CREATED)
		goto out; /* only beside a key we generated */
	if (x == NULL)
		goto out;
	subj_len = i2d_X509_NAME(X509_get_subject_name(x), &subj);
	serial_len = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &serial);
	if (subj_len <= 0 || serial_len <= 0)
		goto out;
	(void)p11_get_attr(ps->tok, ps->session, ps->key, CKA_LABEL, &label, &label_len);
	(void)p11_get_attr(ps->tok, ps->session, ps->key, CKA_ID, &id, &id_len);
	{
		CK_ATTRIBUTE tmpl[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_TOKEN, &t, sizeof(t) },
			{ CKA_PRIVATE, &f, sizeof(f) },
			{ CKA_LABEL, label, label_len },
			{ CKA_ID, id, id_len },
			/* self-signed: issuer = subject */
			{ CKA_SUBJECT, subj, (CK_ULONG)subj_len },
			{ CKA_ISSUER, subj, (CK_ULONG)subj_len },
			{ CKA_SERIAL_NUMBER, serial, (CK_ULONG)serial_len },
			{ CKA_VALUE, c->der, c->der_len },
		};
		rv = ps->tok->f->C_CreateObject(ps->session, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
						&h);
	}
	if (rv != CKR_OK) {
		log_error("cannot store the certificate on token '%s': %s", ps->tok->label,
			  p11_rv_name(rv));
		rc = QSJWT_ERR_IO;
		goto out;
	}
	ps->created[ps->n_created++] = h;
	log_verbose("stored the certificate on token '%s'", ps->tok->label);
	rc = QSJWT_OK;
out:
	OPENSSL_free(subj);
	OPENSSL_free(serial);
	X509_free(x);
	free(label);
	free(id);
	return rc;
}

qsjwt_err signer_token_cert(qsjwt_signer *s, unsigned char **der, size_t *der_len)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_OBJECT_HANDLE found[1];
	CK_ULONG count = 0;
	unsigned char *id = NULL;
	size_t id_len = 0;
	p11_signer *ps;
	qsjwt_err rc = QSJWT_ERR_NOT_FOUND;

	if (s->ops != &p11_ops)
		return rc;
	ps = s->impl;
	(void)p11_get_attr(ps->tok, ps->session, ps->key, CKA_ID, &id, &id_len);
	if (id_len > 0) {
		CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, id, id_len } };
		if (p11_find(ps->tok, ps->session, t, 2, found, 1, &count) == QSJWT_OK && count > 0 &&
		    p11_get_attr(ps->tok, ps->session, found[0], CKA_VALUE, der, der_len) ==
			    QSJWT_OK &&
		    *der_len > 0)
			rc = QSJWT_OK;
	}
	free(id);
	return rc;
}
