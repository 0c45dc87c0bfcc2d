/* The state of a signer whose key is on a PKCS#11 token, shared by the
 * signing and generation code. The token, session and login are a
 * p11_session (src/pkcs11/session.h). Not part of the public API. */
#ifndef QSJWT_SIGNER_PKCS11_H
#define QSJWT_SIGNER_PKCS11_H

#include <openssl/evp.h>

#include "pkcs11/session.h"

/* One per always-authenticate key, shared by its worker sessions. */
typedef struct p11_auth_gate p11_auth_gate;

typedef struct {
	p11_session s;
	CK_OBJECT_HANDLE key;
	int always_auth;    /* CKA_ALWAYS_AUTHENTICATE: s.pin is kept for it */
	int hashed_mech[3]; /* CKM_SHA{256,384,512}_RSA_PKCS usable, by qsjwt_alg */
	int raw_mech;	    /* CKM_RSA_PKCS usable */
	int mech_said[3];   /* the mechanism of this alg was logged */
	p11_auth_gate *gate; /* always_auth: owned by the signer that is no child */
} p11_signer;

/* Begin the session holder for a private key (URI checked for_key, logged
 * in); ps zeroed first. p11_signer_close ends it. */
qsjwt_err p11_signer_open(p11_signer *ps, const qsjwt_pkcs11_opts *o, int rw);
void p11_signer_close(p11_signer *ps);
/* Which signing mechanisms the token offers for ps->key. */
qsjwt_err p11_choose_mechanisms(p11_signer *ps);
/* Make the signer around an opened p11_signer (taken over, even on
 * failure: ps is left ended). */
qsjwt_err p11_signer_wrap(p11_signer *ps, EVP_PKEY *pub, const char *label, const unsigned char *id,
			  size_t id_len, qsjwt_signer **out);

#endif
