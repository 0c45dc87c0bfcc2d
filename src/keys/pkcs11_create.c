/* A new RSA key pair generated on the token: it is born there and never
 * leaves (PKCS#11 v2.40 section 5.14, C_GenerateKeyPair). */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "keys/signer_impl.h"
#include "keys/signer_pkcs11.h"
#include "util/log.h"

#define DEFAULT_BITS 4096
#define NEW_ID_LEN 16

/* Anything on the token with this label or id? */
static qsjwt_err check_free(p11_signer *ps, const char *label, const unsigned char *id,
			    size_t id_len)
{
	CK_ATTRIBUTE by_label = { CKA_LABEL, (void *)label, strlen(label) };
	CK_ATTRIBUTE by_id = { CKA_ID, (void *)id, id_len };
	CK_OBJECT_HANDLE h[1];
	CK_ULONG count = 0;
	qsjwt_err rc;

	rc = p11_find(ps->s.tok, ps->s.session, &by_label, 1, h, 1, &count);
	if (rc == QSJWT_OK && count > 0) {
		log_error("token '%s' already holds an object labelled '%s'; nothing was created "
			  "(choose another object= or remove the old key first)",
			  ps->s.tok->label, label);
		return QSJWT_ERR_EXISTS;
	}
	if (rc == QSJWT_OK && id_len > 0)
		rc = p11_find(ps->s.tok, ps->s.session, &by_id, 1, h, 1, &count);
	if (rc == QSJWT_OK && count > 0) {
		log_error("token '%s' already holds an object with this id; nothing was created "
			  "(choose another id= or leave it out for a random one)",
			  ps->s.tok->label);
		return QSJWT_ERR_EXISTS;
	}
	return rc;
}

/* The key size to ask for: explicit sizes must fit the token, the default
 * is lowered to what the token can do. */
static qsjwt_err choose_bits(p11_signer *ps, unsigned bits, CK_ULONG *out)
{
	CK_MECHANISM_INFO info;

	if (!p11_has_mechanism(ps->s.tok, CKM_RSA_PKCS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR,
			       &info)) {
		log_error("token '%s' cannot generate RSA key pairs (no "
			  "CKM_RSA_PKCS_KEY_PAIR_GEN)",
			  ps->s.tok->label);
		return QSJWT_ERR_KEY;
	}
	if (bits == 0) {
		bits = DEFAULT_BITS;
		if (info.ulMaxKeySize != 0 && info.ulMaxKeySize < bits) {
			bits = (unsigned)info.ulMaxKeySize;
			log_info("token '%s' makes RSA keys of at most %u bits; using %u",
				 ps->s.tok->label, bits, bits);
		}
	}
	if (bits < 2048 || bits < info.ulMinKeySize ||
	    (info.ulMaxKeySize != 0 && bits > info.ulMaxKeySize)) {
		log_error("token '%s' makes RSA keys of %lu to %lu bits; %u is out of that range%s",
			  ps->s.tok->label, (unsigned long)info.ulMinKeySize,
			  (unsigned long)info.ulMaxKeySize, bits,
			  bits < 2048 ? " (and JWT keys need at least 2048)" : "");
		return QSJWT_ERR_KEY;
	}
	*out = bits;
	return QSJWT_OK;
}

/* Read back what the token made of our template: a token that quietly
 * ignores CKA_SENSITIVE or CKA_EXTRACTABLE would let the key out. */
static qsjwt_err check_attributes(p11_signer *ps, CK_OBJECT_HANDLE priv)
{
	static const struct {
		CK_ATTRIBUTE_TYPE type;
		int want;
		const char *name;
	} want[] = {
		{ CKA_SENSITIVE, 1, "CKA_SENSITIVE" },   { CKA_EXTRACTABLE, 0, "CKA_EXTRACTABLE" },
		{ CKA_SIGN, 1, "CKA_SIGN" },             { CKA_DECRYPT, 0, "CKA_DECRYPT" },
		{ CKA_UNWRAP, 0, "CKA_UNWRAP" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int v = p11_get_bool(ps->s.tok, ps->s.session, priv, want[i].type);
		/* Sign-only, sensitive and never extractable must read back;
		 * CKA_UNWRAP only must not contradict the template. */
		if (v != want[i].want && (v != -1 || want[i].type != CKA_UNWRAP)) {
			log_error("token '%s' did not honour %s=%s on the new key (it reads %s); "
				  "the key is removed",
				  ps->s.tok->label, want[i].name, want[i].want ? "true" : "false",
				  v == -1 ? "nothing" : v ? "true" : "false");
			return QSJWT_ERR_KEY;
		}
	}
	return QSJWT_OK;
}

/* One C_GenerateKeyPair. The private key is sign-only, sensitive and never
 * extractable. The full public template also says what the public half is
 * for; a token may refuse that: tpm2-pkcs11 derives the public key's
 * CKA_VERIFY/CKA_ENCRYPT/CKA_WRAP from the TPM object's sign and decrypt
 * bits and fails with CKR_GENERAL_ERROR on any mismatch (tpm2-pkcs11
 * src/lib/object.c, "User specified and TPM specified attr mismatch").
 * The minimal template leaves them to the token; the private key's
 * attributes, which decide what the key can do, are the same in both. */
static CK_RV generate(p11_signer *ps, CK_ULONG key_bits, const char *label,
		      const unsigned char *idp, size_t id_len, int full,
		      CK_OBJECT_HANDLE *pub_h, CK_OBJECT_HANDLE *priv_h)
{
	CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_BYTE e[] = { 0x01, 0x00, 0x01 };
	/* The three usage attributes come last so that the minimal template
	 * is a prefix of the full one. */
	CK_ATTRIBUTE pub_t[] = {
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &t, sizeof(t) },
		{ CKA_PRIVATE, &f, sizeof(f) },
		{ CKA_MODULUS_BITS, &key_bits, sizeof(key_bits) },
		{ CKA_PUBLIC_EXPONENT, e, sizeof(e) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)idp, id_len },
		{ CKA_VERIFY, &t, sizeof(t) },
		{ CKA_ENCRYPT, &f, sizeof(f) },
		{ CKA_WRAP, &f, sizeof(f) },
	};
	CK_ATTRIBUTE priv_t[] = {
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &t, sizeof(t) },
		{ CKA_PRIVATE, &t, sizeof(t) },
		{ CKA_SENSITIVE, &t, sizeof(t) },
		{ CKA_EXTRACTABLE, &f, sizeof(f) },
		{ CKA_SIGN, &t, sizeof(t) },
		{ CKA_DECRYPT, &f, sizeof(f) },
		{ CKA_UNWRAP, &f, sizeof(f) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)idp, id_len },
	};
	CK_ULONG n_pub = sizeof(pub_t) / sizeof(pub_t[0]);

	if (!full)
		n_pub -= 3;
	return ps->s.tok->f->C_GenerateKeyPair(ps->s.session, &mech, pub_t, n_pub, priv_t,
					     sizeof(priv_t) / sizeof(priv_t[0]), pub_h, priv_h);
}

/* The answers that can mean "not this template" (PKCS#11 v2.40 section
 * 5.14): worth one more try with the minimal one, never a PIN, size,
 * device or cancel error. */
static int retry_minimal(CK_RV rv)
{
	return rv == CKR_GENERAL_ERROR || rv == CKR_TEMPLATE_INCONSISTENT ||
	       rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_ATTRIBUTE_TYPE_INVALID;
}

qsjwt_err qsjwt_pkcs11_generate(const qsjwt_pkcs11_opts *o, unsigned bits,
				const volatile sig_atomic_t *cancel, qsjwt_signer **out)
{
	p11_signer ps;
	CK_ATTRIBUTE *label_attr, *id_attr;
	unsigned char id[NEW_ID_LEN], *idp = id;
	size_t id_len = NEW_ID_LEN;
	char *label = NULL;
	CK_ULONG key_bits = 0;
	CK_OBJECT_HANDLE pub_h = CK_INVALID_HANDLE, priv_h = CK_INVALID_HANDLE;
	EVP_PKEY *pub = NULL;
	qsjwt_err rc;
	CK_RV rv;

	rc = p11_signer_open(&ps, o, 1);
	if (rc != QSJWT_OK)
		return rc;
	label_attr = p11_kit_uri_get_attribute(ps.s.uri, CKA_LABEL);
	id_attr = p11_kit_uri_get_attribute(ps.s.uri, CKA_ID);
	if (label_attr == NULL || label_attr->ulValueLen == 0) {
		log_error("to create a key on a token, the PKCS#11 URI must name it with object=, "
			  "e.g. 'pkcs11:token=%s;object=jwt-signing'",
			  ps.s.tok->label);
		rc = QSJWT_ERR_INVALID;
		goto out;
	}
	label = malloc(label_attr->ulValueLen + 1);
	if (label == NULL) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	memcpy(label, label_attr->pValue, label_attr->ulValueLen);
	label[label_attr->ulValueLen] = '\0';
	if (id_attr != NULL && id_attr->ulValueLen > 0) {
		idp = id_attr->pValue;
		id_len = id_attr->ulValueLen;
	} else if (RAND_bytes(id, sizeof(id)) != 1) {
		rc = QSJWT_ERR_CRYPTO;
		goto out;
	}
	rc = check_free(&ps, label, idp, id_len);
	if (rc == QSJWT_OK)
		rc = choose_bits(&ps, bits, &key_bits);
	if (rc != QSJWT_OK)
		goto out;
	log_info("generating an RSA-%lu key pair on token '%s' ...", (unsigned long)key_bits,
		 ps.s.tok->label);
	rv = generate(&ps, key_bits, label, idp, id_len, 1, &pub_h, &priv_h);
	if (retry_minimal(rv) && !(cancel != NULL && *cancel)) {
		log_verbose("token '%s' refused the public key template (%s); generating again "
			    "without CKA_VERIFY, CKA_ENCRYPT and CKA_WRAP on the public key",
			    ps.s.tok->label, p11_rv_name(rv));
		rv = generate(&ps, key_bits, label, idp, id_len, 0, &pub_h, &priv_h);
	}
	if (rv != CKR_OK && cancel != NULL && *cancel) {
		rc = QSJWT_ERR_INTERRUPTED;
		goto out;
	}
	if (rv != CKR_OK) {
		log_error("token '%s' failed to generate the key pair: %s", ps.s.tok->label,
			  p11_rv_name(rv));
		rc = rv == CKR_KEY_SIZE_RANGE ? QSJWT_ERR_KEY : QSJWT_ERR_IO;
		goto out;
	}
	/* From here on, ps owns the new objects: p11_signer_close removes them
	 * unless the caller keeps them. */
	p11_session_created(&ps.s, priv_h);
	p11_session_created(&ps.s, pub_h);
	ps.key = priv_h;
	if (cancel != NULL && *cancel) {
		rc = QSJWT_ERR_INTERRUPTED;
		goto out;
	}
	rc = check_attributes(&ps, priv_h);
	if (rc == QSJWT_OK)
		rc = p11_choose_mechanisms(&ps);
	if (rc == QSJWT_OK)
		rc = p11_public_of(&ps.s, priv_h, &pub);
	if (rc != QSJWT_OK)
		goto out;
	rc = p11_signer_wrap(&ps, pub, label, idp, id_len, out);
	pub = NULL;
out:
	EVP_PKEY_free(pub);
	free(label);
	p11_signer_close(&ps);
	return rc;
}
