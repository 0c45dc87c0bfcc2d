/* Signer backend for an RSA key on a PKCS#11 token. The key never leaves the
 * token; every signature is checked in software with the public half before
 * it is used (qsjwt_jwt_sign, qsjwt_cert_create). */
#include "keys/signer_pkcs11.h"
#include "keys/token_cert.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
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
static const char *const hashed_mech_names[3] = { "CKM_SHA256_RSA_PKCS", "CKM_SHA384_RSA_PKCS",
						  "CKM_SHA512_RSA_PKCS" };
static const char *const digest_names[3] = { "SHA-256", "SHA-384", "SHA-512" };

/* ---- public key --------------------------------------------------------------- */

qsjwt_err p11_choose_mechanisms(p11_signer *ps)
{
	CK_MECHANISM_TYPE *allowed = NULL;
	unsigned char *raw = NULL;
	size_t len = 0, n_allowed = 0;

	/* CKA_ALLOWED_MECHANISMS (PKCS#11 v2.40 section 4.6): when the key
	 * lists mechanisms, only those may be used with it. */
	if (p11_get_attr(ps->s.tok, ps->s.session, ps->key, CKA_ALLOWED_MECHANISMS, &raw, &len) ==
		    QSJWT_OK &&
	    len >= sizeof(CK_MECHANISM_TYPE)) {
		allowed = (CK_MECHANISM_TYPE *)(void *)raw;
		n_allowed = len / sizeof(CK_MECHANISM_TYPE);
	}
	for (int a = 0; a < 4; a++) {
		CK_MECHANISM_TYPE m = a < 3 ? hashed_mechs[a] : CKM_RSA_PKCS;
		int ok = p11_has_mechanism(ps->s.tok, m, CKF_SIGN, NULL);
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
			  ps->s.tok->label);
		return QSJWT_ERR_KEY;
	}
	return QSJWT_OK;
}

/* ---- signing ------------------------------------------------------------------ */

/* The context-specific logins of one key, one at a time: once one failed, no
 * other worker tries the PIN again (docs/design.md decision 5: a PIN is
 * tried once; N workers trying a wrong one at once could lock the card). */
struct p11_auth_gate {
	pthread_mutex_t mu;
	int failed;
};

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

	/* Said once per signer (a batch worker's session is a child: the
	 * parent said it), so a user can tell which path signed. */
	if (!ps->s.child && !ps->mech_said[alg] && (ps->hashed_mech[alg] || ps->raw_mech)) {
		ps->mech_said[alg] = 1;
		if (ps->hashed_mech[alg])
			log_verbose("token '%s' signs %s with %s", ps->s.tok->label,
				    qsjwt_alg_name(alg), hashed_mech_names[alg]);
		else
			log_verbose("token '%s' signs %s with CKM_RSA_PKCS over the %s DigestInfo "
				    "(it has no usable %s)",
				    ps->s.tok->label, qsjwt_alg_name(alg), digest_names[alg],
				    hashed_mech_names[alg]);
	}
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
		log_error("token '%s' cannot sign %s with this key", ps->s.tok->label,
			  qsjwt_alg_name(alg));
		return QSJWT_ERR_KEY;
	}
	out_len = (CK_ULONG)EVP_PKEY_get_size(s->pub);
	sig = malloc(out_len);
	if (sig == NULL)
		return QSJWT_ERR_NOMEM;
	if (ps->gate != NULL) {
		pthread_mutex_lock(&ps->gate->mu);
		if (ps->gate->failed) {
			log_error("%s: the login for an earlier signature failed; the PIN is not "
				  "tried again",
				  s->what);
			rc = QSJWT_ERR_LOGIN;
			goto out;
		}
	}
	rv = ps->s.tok->f->C_SignInit(ps->s.session, &mech, ps->key);
	if (rv == CKR_OK && ps->always_auth) {
		rc = p11_context_login(ps->s.tok, ps->s.session, ps->s.pin, ps->s.pin_len);
		if (rc != QSJWT_OK) {
			if (ps->gate != NULL)
				ps->gate->failed = 1;
			/* The signing operation is still active: a C_Sign that fails
			 * ends it (PKCS#11 v2.40 section 5.12), else the next
			 * C_SignInit in this session gets CKR_OPERATION_ACTIVE. */
			CK_ULONG n = out_len;
			(void)ps->s.tok->f->C_Sign(ps->s.session, (CK_BYTE *)in, in_len, sig, &n);
			goto out;
		}
	}
	if (rv == CKR_OK)
		rv = ps->s.tok->f->C_Sign(ps->s.session, (CK_BYTE *)in, in_len, sig, &out_len);
	if (rv != CKR_OK) {
		log_error("token '%s' failed to sign: %s", ps->s.tok->label, p11_rv_name(rv));
		rc = p11_rv_device_failure(rv) ? QSJWT_ERR_IO : QSJWT_ERR_CRYPTO;
		goto out;
	}
	*sig_out = sig;
	*sig_len = out_len;
	sig = NULL;
	rc = QSJWT_OK;
out:
	if (ps->gate != NULL)
		pthread_mutex_unlock(&ps->gate->mu);
	qsjwt_secret_wipe(input, sizeof(input));
	free(sig);
	return rc;
}

qsjwt_err p11_signer_open(p11_signer *ps, const qsjwt_pkcs11_opts *o, int rw)
{
	memset(ps, 0, sizeof(*ps));
	return p11_session_begin(&ps->s, o, 1, rw, 1);
}

void p11_signer_close(p11_signer *ps)
{
	p11_session_end(&ps->s);
}

static void p11_free(void *impl)
{
	p11_signer *ps = impl;

	if (ps == NULL)
		return;
	if (!ps->s.child && ps->gate != NULL) {
		pthread_mutex_destroy(&ps->gate->mu);
		free(ps->gate);
	}
	p11_signer_close(ps);
	free(ps);
}

static qsjwt_err p11_store_cert(qsjwt_signer *s, const qsjwt_cert *c);

static void p11_keep(qsjwt_signer *s)
{
	((p11_signer *)s->impl)->s.keep = 1;
}

static qsjwt_err p11_worker_session(qsjwt_signer *s, void **impl_out)
{
	p11_signer *parent = s->impl, *c = malloc(sizeof(*c));
	qsjwt_err rc;

	if (c == NULL)
		return QSJWT_ERR_NOMEM;
	/* Same key handle and mechanisms; the session shares the parent's
	 * login and PIN (always-authenticate). */
	*c = *parent;
	rc = p11_session_child(&parent->s, &c->s);
	if (rc != QSJWT_OK) {
		free(c);
		return rc;
	}
	*impl_out = c;
	return QSJWT_OK;
}

static unsigned p11_sessions_left(qsjwt_signer *s)
{
	return p11_session_room(&((p11_signer *)s->impl)->s);
}

static const signer_ops p11_ops = { p11_sign, NULL, p11_free, p11_store_cert, p11_keep,
				    p11_worker_session, p11_sessions_left };

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
	/* The PIN is kept only for a key that asks for it on every signature
	 * (CKA_ALWAYS_AUTHENTICATE). */
	if (!heap->always_auth) {
		p11_session_forget_pin(&heap->s);
	} else {
		heap->gate = calloc(1, sizeof(*heap->gate));
		if (heap->gate == NULL) {
			p11_free(heap);
			EVP_PKEY_free(pub);
			return QSJWT_ERR_NOMEM;
		}
		pthread_mutex_init(&heap->gate->mu, NULL);
	}
	uri = p11_uri_object(&heap->s.tok->info, CKO_PRIVATE_KEY, label, id, id_len,
			     heap->s.mods);
	snprintf(what, sizeof(what), "key '%s' on token '%s'", label != NULL ? label : "",
		 heap->s.tok->label);
	rc = signer_new(&p11_ops, heap, pub, strdup(what), out);
	if (rc == QSJWT_OK)
		(*out)->uri = uri;
	else
		free(uri);
	return rc;
}

/* ---- finding the key ------------------------------------------------------------- */

static qsjwt_err from_pkcs11(const qsjwt_pkcs11_opts *o, int rw, qsjwt_signer **out)
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

	rc = p11_signer_open(&ps, o, rw);
	if (rc != QSJWT_OK)
		return rc;
	tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	label_attr = p11_kit_uri_get_attribute(ps.s.uri, CKA_LABEL);
	id_attr = p11_kit_uri_get_attribute(ps.s.uri, CKA_ID);
	if (label_attr != NULL)
		tmpl[n++] = *label_attr;
	if (id_attr != NULL)
		tmpl[n++] = *id_attr;
	rc = p11_find(ps.s.tok, ps.s.session, tmpl, n, found, MAX_MATCHES, &count);
	if (rc != QSJWT_OK)
		goto out;
	for (CK_ULONG i = 0; i < count; i++) {
		CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
		CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
		if (ps.s.tok->f->C_GetAttributeValue(ps.s.session, found[i], &a, 1) == CKR_OK &&
		    kt == CKK_RSA)
			rsa[n_rsa++] = found[i];
	}
	if (n_rsa != 1) {
		rc = QSJWT_ERR_NOT_FOUND;
		if (n_rsa == 0 && count > 0)
			log_error("the PKCS#11 URI matches %lu private key(s) on token '%s', none "
				  "of them RSA; QSEoW tokens need an RSA key",
				  (unsigned long)count, ps.s.tok->label);
		else if (n_rsa == 0)
			log_error("the PKCS#11 URI matches no private key on token '%s'",
				  ps.s.tok->label);
		else
			log_error("the PKCS#11 URI matches %lu RSA private keys on token '%s'; add "
				  "object= or id= to choose one",
				  (unsigned long)n_rsa, ps.s.tok->label);
		p11_session_list_keys(&ps.s);
		goto out;
	}
	ps.key = rsa[0];
	(void)p11_get_attr(ps.s.tok, ps.s.session, ps.key, CKA_LABEL, &label, &label_len);
	(void)p11_get_attr(ps.s.tok, ps.s.session, ps.key, CKA_ID, &id, &id_len);
	snprintf(what, sizeof(what), "key '%s' on token '%s'", label != NULL ? (char *)label : "",
		 ps.s.tok->label);
	ps.always_auth = p11_get_bool(ps.s.tok, ps.s.session, ps.key, CKA_ALWAYS_AUTHENTICATE) == 1;
	if (ps.always_auth)
		log_verbose("%s asks for the PIN on every signature (CKA_ALWAYS_AUTHENTICATE)",
			    what);
	rc = p11_choose_mechanisms(&ps);
	if (rc == QSJWT_OK)
		rc = p11_public_of(&ps.s, ps.key, &pub);
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

qsjwt_err qsjwt_signer_from_pkcs11(const qsjwt_pkcs11_opts *o, qsjwt_signer **out)
{
	return from_pkcs11(o, 0, out);
}

qsjwt_err qsjwt_signer_from_pkcs11_rw(const qsjwt_pkcs11_opts *o, qsjwt_signer **out)
{
	return from_pkcs11(o, 1, out);
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

	if (ps->s.n_created >= P11_MAX_CREATED || x == NULL)
		goto out;
	subj_len = i2d_X509_NAME(X509_get_subject_name(x), &subj);
	serial_len = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &serial);
	if (subj_len <= 0 || serial_len <= 0)
		goto out;
	(void)p11_get_attr(ps->s.tok, ps->s.session, ps->key, CKA_LABEL, &label, &label_len);
	(void)p11_get_attr(ps->s.tok, ps->s.session, ps->key, CKA_ID, &id, &id_len);
	if (ps->s.n_created == 0 && id_len > 0) {
		/* A key that was there before: a certificate with its id may be
		 * too (a client takes the first one it finds). */
		CK_ATTRIBUTE q[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, id, id_len } };
		CK_OBJECT_HANDLE seen[1];
		CK_ULONG count = 0;
		rc = p11_find(ps->s.tok, ps->s.session, q, 2, seen, 1, &count);
		if (rc == QSJWT_OK && count > 0) {
			log_error("token '%s' already holds a certificate with this key's id; nothing "
				  "was stored or written (remove it first, or leave out "
				  "--store-on-token)",
				  ps->s.tok->label);
			rc = QSJWT_ERR_EXISTS;
		}
		if (rc != QSJWT_OK)
			goto out;
		rc = QSJWT_ERR_CRYPTO;
	}
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
		rv = ps->s.tok->f->C_CreateObject(ps->s.session, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
						&h);
	}
	if (rv != CKR_OK) {
		log_error("cannot store the certificate on token '%s': %s", ps->s.tok->label,
			  p11_rv_name(rv));
		rc = QSJWT_ERR_IO;
		goto out;
	}
	p11_session_created(&ps->s, h);
	log_verbose("stored the certificate on token '%s'", ps->s.tok->label);
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
	(void)p11_get_attr(ps->s.tok, ps->s.session, ps->key, CKA_ID, &id, &id_len);
	if (id_len > 0) {
		CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, id, id_len } };
		if (p11_find(ps->s.tok, ps->s.session, t, 2, found, 1, &count) == QSJWT_OK && count > 0 &&
		    p11_get_attr(ps->s.tok, ps->s.session, found[0], CKA_VALUE, der, der_len) ==
			    QSJWT_OK &&
		    *der_len > 0)
			rc = QSJWT_OK;
	}
	free(id);
	return rc;
}
