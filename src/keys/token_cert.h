/* The certificate stored beside a token key. Not part of the public API. */
#ifndef QSJWT_TOKEN_CERT_H
#define QSJWT_TOKEN_CERT_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

/* The DER of the certificate with the same CKA_ID as the signer's token key
 * (caller frees). QSJWT_ERR_NOT_FOUND for key files and when the token
 * holds none. */
qsjwt_err signer_token_cert(qsjwt_signer *s, unsigned char **der, size_t *der_len);

#endif
