/* --cert-create: a new key pair and certificate, written as three files that
 * appear together or not at all. */
#ifndef QSJWT_CERT_FILES_H
#define QSJWT_CERT_FILES_H

#include <stdint.h>

#include <qsjwt/qsjwt.h>

/*
 * Create PREFIXpublickey.pem, PREFIXprivatekey.pem (0600) and
 * PREFIXpublickey.cer, and hand back the new key's signer. Nothing is
 * generated when a file exists (unless force) or the directory is unusable.
 * SIGINT/SIGTERM during the work: the temporaries are removed, then the
 * signal is re-raised. Returns an exit code.
 */
int cert_files_create(const char *prefix, unsigned bits, int days, int force, int64_t now,
		      qsjwt_signer **out);

#endif
