/* --cert-create: a new key pair (in memory, or on a token) with its
 * self-signed certificate, and its files; pkcs11 create-cert: the same for
 * a key already on a token. The files appear together or not at all:
 * they are moved into place by cert_job_commit(), after the JWT (or, for
 * create-cert, the certificate) was signed and verified; anything earlier
 * that fails or is interrupted leaves no file and no token object behind. */
#ifndef QSJWT_CERT_JOB_H
#define QSJWT_CERT_JOB_H

#include <stdint.h>

#include <qsjwt/qsjwt.h>

typedef struct cert_job cert_job;

typedef struct {
	const char *prefix;
	unsigned bits;                  /* 0: default */
	int days;
	int force;
	const qsjwt_pkcs11_opts *token; /* NULL: key in memory, with a private key file */
	const char *idp_issuer;         /* not NULL: also PREFIXqscloud-idp.json, the
					 * request that creates the Qlik Cloud JWT
					 * identity provider for the new key */
	const char *idp_kid;            /* its kid; NULL: the key's RFC 7638 thumbprint */
	int existing; /* token: the key the URI names (pkcs11 create-cert), not a new one */
	int store;    /* token: store the certificate beside the key */
} cert_job_opts;

/*
 * Check the targets (nothing exists unless force, the directory is usable),
 * create the temporaries, make the key and certificate and write the
 * temporaries. SIGINT, SIGTERM, SIGHUP and SIGQUIT are caught (cli/stop.h)
 * from here until the commit.
 * *signer is the job's. Returns an exit code; on failure *job is still set
 * and must be freed.
 */
int cert_job_start(const cert_job_opts *o, int64_t now, cert_job **job, qsjwt_signer **signer);
/* Move the files into place and keep the token objects. Exit code. */
int cert_job_commit(cert_job *job);
/* Undo what was not committed, and die of a signal that arrived before the
 * commit. NULL is fine. */
void cert_job_free(cert_job *job);

#endif
