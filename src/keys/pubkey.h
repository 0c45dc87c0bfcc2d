/* Public keys for verification. Not part of the public API. */
#ifndef QSJWT_PUBKEY_H
#define QSJWT_PUBKEY_H

#include <openssl/evp.h>

#include <qsjwt/qsjwt.h>

/* The kinds of key a JWS algorithm can be checked with. */
typedef enum { PUBKEY_RSA, PUBKEY_EC_P256, PUBKEY_EC_P384, PUBKEY_EC_P521 } pubkey_kind;

/* Take pkey (also on failure) and check it is a kind we verify with. */
qsjwt_err pubkey_from_evp(EVP_PKEY *pkey, const char *what, qsjwt_pubkey **out);
EVP_PKEY *pubkey_evp(const qsjwt_pubkey *k);
pubkey_kind pubkey_kind_of(const qsjwt_pubkey *k);

#endif
