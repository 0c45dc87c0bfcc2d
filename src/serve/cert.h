/* GET /v1/certificate: the certificate of the service's key, for the
 * virtual proxy or the Qlik Cloud IdP. */
#ifndef QSJWT_SERVE_CERT_H
#define QSJWT_SERVE_CERT_H

#include <qsjwt/qsjwt.h>

/*
 * The certificate as PEM (caller frees): from `file` (PEM or DER) when
 * given, else the one stored beside a token key; its public key must be the
 * signer's. NULL with *err (caller frees) when the file cannot be read or is
 * for another key; NULL and *err NULL when there is none (no file, a key
 * file, or none on the token).
 */
char *serve_cert_load(qsjwt_signer *s, const char *file, char **err);

#endif
