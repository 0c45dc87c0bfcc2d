/* The state of a signer whose key is on a PKCS#11 token, shared by the
 * signing, generation and listing code. Not part of the public API. */
#ifndef QSJWT_SIGNER_PKCS11_H
#define QSJWT_SIGNER_PKCS11_H

#include <openssl/evp.h>

#include "pkcs11/p11.h"

#define P11_MAX_CREATED 3

typedef struct {
	P11KitUri *uri;
	p11_modules *mods;
	p11_token *tokens; /* what the URI matched; tok = &tokens[0] */
	size_t n_tokens;
	p11_token *tok;
	CK_SESSION_HANDLE session;
	int have_session;
	int logged_in;
	CK_OBJECT_HANDLE key;
	int always_auth;
	char pin[P11_PIN_MAX]; /* kept only for always-authenticate keys */
	size_t pin_len;
	int hashed_mech[3];    /* CKM_SHA{256,384,512}_RSA_PKCS usable, by qsjwt_alg */
	int raw_mech;          /* CKM_RSA_PKCS usable */
	int mech_said[3];      /* the mechanism of this alg was logged */
	CK_OBJECT_HANDLE created[P11_MAX_CREATED]; /* destroyed unless kept */
	size_t n_created;
	int keep;
	int child;             /* a session of another p11_signer: owns only it */
} p11_signer;

/*
 * Parse the URI (checked), load the modules, find exactly one token
 * (QSJWT_ERR_NOT_FOUND listing the tokens seen), open a session and, when
 * `login`, log in. On failure everything opened is closed again
 * (p11_signer_close).
 */
qsjwt_err p11_signer_open(p11_signer *ps, const qsjwt_pkcs11_opts *o, int for_key, int rw,
			  int login);
/* Log in by the PIN rules (a no-op for tokens that need no login). */
qsjwt_err p11_signer_login(p11_signer *ps, const qsjwt_pkcs11_opts *o);
/* Log the private keys on the token as URIs (after a "no match" error). */
void p11_list_keys_seen(p11_signer *ps);
/* Destroy objects not kept, log out, close the session, finalize. */
void p11_signer_close(p11_signer *ps);

/* An EVP_PKEY from an RSA modulus and public exponent (big-endian). */
EVP_PKEY *p11_rsa_public(const unsigned char *n, size_t n_len, const unsigned char *e,
			 size_t e_len);
/* The public key of an object: a certificate's (CKA_VALUE), an RSA key's
 * modulus and exponent, an EC public key's point; NULL when unreadable. */
EVP_PKEY *p11_object_public(p11_signer *ps, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE o);
/* The public half of a private key object: the public key with the same
 * CKA_ID, else the certificate with that id, else the key's own modulus and
 * exponent. */
qsjwt_err p11_public_of(p11_signer *ps, CK_OBJECT_HANDLE key, EVP_PKEY **out);
/* Which signing mechanisms the token offers for the key. */
qsjwt_err p11_choose_mechanisms(p11_signer *ps);
/* Make the signer around an opened p11_signer (taken over, even on failure). */
qsjwt_err p11_signer_wrap(p11_signer *ps, EVP_PKEY *pub, const char *label,
			  const unsigned char *id, size_t id_len, qsjwt_signer **out);
/* Lower-case hex of bytes; caller frees. */
char *p11_hex(const unsigned char *b, size_t n);

#endif
