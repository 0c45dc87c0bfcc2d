/*
 * The session holder: the one token a URI names, an open session on it, the
 * user's login, and the objects made in it until they are kept. Listing,
 * public-key lookup, key generation and the token signer (src/keys/) all
 * work through one. Not part of the public API.
 */
#ifndef QSJWT_P11_SESSION_H
#define QSJWT_P11_SESSION_H

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
	int logged_in;	       /* 0, P11_LOGIN_OURS or P11_LOGIN_SHARED */
	char pin[P11_PIN_MAX]; /* the login's PIN until p11_session_forget_pin */
	size_t pin_len;
	CK_OBJECT_HANDLE created[P11_MAX_CREATED]; /* destroyed unless kept */
	size_t n_created;
	int keep;
	int child; /* another session beside a holder's: owns only it */
} p11_session;

/*
 * Parse the URI (checked; for_key: it names a private key), load the
 * modules, find exactly one initialised token (QSJWT_ERR_NOT_FOUND listing
 * the tokens seen), open a session (rw: read-write) and, when `login`, log
 * in. On failure everything opened is closed again (p11_session_end).
 */
qsjwt_err p11_session_begin(p11_session *s, const qsjwt_pkcs11_opts *o, int for_key, int rw,
			    int login);
/* Log in by the PIN rules (a no-op for tokens that need no login). The PIN
 * is kept in s->pin until p11_session_forget_pin (a key that asks for it on
 * every signature needs it). */
qsjwt_err p11_session_login(p11_session *s, const qsjwt_pkcs11_opts *o);
/* Wipe the kept PIN. */
void p11_session_forget_pin(p11_session *s);
/* Another read-only session on parent's token for another thread: it
 * shares the parent's login and PIN (PKCS#11 v2.40 section 5.6: a login
 * belongs to every session of the application) and must be ended before
 * the parent. QSJWT_ERR_SESSIONS, not logged, when the token opens no more
 * (CKR_SESSION_COUNT): the caller decides what that means. */
qsjwt_err p11_session_child(const p11_session *parent, p11_session *child);
/* How many more sessions the token says this process may open now:
 * ulMaxSessionCount less ulSessionCount (CK_TOKEN_INFO, PKCS#11 v2.40
 * section 5.5; ulSessionCount unknown: less the holder's own session), or
 * QSJWT_SESSIONS_UNLIMITED when the token reports no limit
 * (CK_EFFECTIVELY_INFINITE, CK_UNAVAILABLE_INFORMATION) or cannot be asked. */
unsigned p11_session_room(p11_session *s);
/* Remember a new object: p11_session_end destroys it unless s->keep. */
void p11_session_created(p11_session *s, CK_OBJECT_HANDLE h);
/* Log the private keys on the token as URIs (after a "no match" error). */
void p11_session_list_keys(p11_session *s);
/* Destroy objects not kept, log out (only our own login), close the
 * session, finalize the modules. Safe on a zeroed or ended holder. */
void p11_session_end(p11_session *s);

/* ---- public keys of token objects (pubkey.c) ---------------------------------------- */

/* An EVP_PKEY from an RSA modulus and public exponent (big-endian). */
EVP_PKEY *p11_rsa_public(const unsigned char *n, size_t n_len, const unsigned char *e,
			 size_t e_len);
/* The public key of an object: a certificate's (CKA_VALUE), an RSA key's
 * modulus and exponent, an EC public key's point; NULL when unreadable. */
EVP_PKEY *p11_object_public(p11_session *s, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE o);
/* The public half of a private key object: the public key with the same
 * CKA_ID, else the certificate with that id, else the key's own modulus and
 * exponent. */
qsjwt_err p11_public_of(p11_session *s, CK_OBJECT_HANDLE key, EVP_PKEY **out);

/* Lower-case hex of bytes; caller frees. */
char *p11_hex(const unsigned char *b, size_t n);

#endif
