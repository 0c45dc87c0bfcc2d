#include "cli/cert_job.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/log.h"

enum { F_PUB, F_CERT, F_PRIV, F_COUNT };
static const char *const file_names[F_COUNT] = { "publickey.pem", "publickey.cer",
						 "privatekey.pem" };
static const unsigned file_modes[F_COUNT] = { 0644, 0644, 0600 };

struct cert_job {
	char *path[F_COUNT];
	size_t idx[F_COUNT];
	int n_files; /* 2 for a token key: its private half stays there */
	int force;
	file_set *files;
	qsjwt_signer *signer;
	qsjwt_cert *cert;
	int committed;
	int existing;
	int store;
	struct sigaction old_int, old_term;
};

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	g_signal = sig;
}

static qsjwt_err make_key(cert_job *job, const cert_job_opts *o)
{
	if (o->token != NULL && o->existing)
		return o->store ? qsjwt_signer_from_pkcs11_rw(o->token, &job->signer)
				: qsjwt_signer_from_pkcs11(o->token, &job->signer);
	if (o->token != NULL)
		return qsjwt_pkcs11_generate(o->token, o->bits, &g_signal, &job->signer);
	log_info("generating an RSA-%u key pair ...", o->bits ? o->bits : 4096);
	return qsjwt_signer_generate(o->bits ? o->bits : 4096, &g_signal, &job->signer);
}

static qsjwt_err write_files(cert_job *job)
{
	char *pem[F_COUNT] = { NULL };
	qsjwt_err rc;
	int i;

	rc = qsjwt_signer_public_pem(job->signer, &pem[F_PUB]);
	if (rc == QSJWT_OK && (pem[F_CERT] = strdup(job->cert->pem)) == NULL)
		rc = QSJWT_ERR_NOMEM;
	if (rc == QSJWT_OK && job->n_files == F_COUNT)
		rc = qsjwt_signer_private_pem(job->signer, &pem[F_PRIV]);
	for (i = 0; i < job->n_files && rc == QSJWT_OK; i++)
		rc = file_set_write(job->files, job->idx[i], pem[i], strlen(pem[i]));
	free(pem[F_PUB]);
	free(pem[F_CERT]);
	qsjwt_secret_free(pem[F_PRIV]);
	return rc;
}

int cert_job_start(const cert_job_opts *o, int64_t now, cert_job **job_out,
		   qsjwt_signer **signer)
{
	struct sigaction sa;
	cert_job *job = calloc(1, sizeof(*job));
	qsjwt_err rc = QSJWT_OK;
	int i;

	*job_out = job;
	if (job == NULL)
		return EXIT_RUNTIME;
	job->n_files = o->token != NULL ? F_PRIV : F_COUNT;
	job->force = o->force;
	job->existing = o->existing;
	job->store = o->store;
	g_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &job->old_int);
	sigaction(SIGTERM, &sa, &job->old_term);

	for (i = 0; i < job->n_files && rc == QSJWT_OK; i++) {
		size_t n = strlen(o->prefix) + strlen(file_names[i]) + 1;
		job->path[i] = malloc(n);
		if (job->path[i] == NULL)
			rc = QSJWT_ERR_NOMEM;
		else
			snprintf(job->path[i], n, "%s%s", o->prefix, file_names[i]);
	}
	/* Every check before anything is generated or written. */
	for (i = 0; i < job->n_files && rc == QSJWT_OK; i++)
		rc = file_set_check(job->path[i], o->force);
	if (rc == QSJWT_OK)
		rc = file_set_new(&job->files);
	for (i = 0; i < job->n_files && rc == QSJWT_OK; i++)
		rc = file_set_add(job->files, job->path[i], file_modes[i], &job->idx[i]);
	if (rc == QSJWT_OK)
		rc = make_key(job, o);
	if (rc == QSJWT_OK)
		rc = qsjwt_cert_create(job->signer, now, o->days, &job->cert);
	if (rc == QSJWT_OK && o->store)
		rc = qsjwt_signer_store_cert(job->signer, job->cert);
	if (rc == QSJWT_OK)
		rc = write_files(job);
	if (rc == QSJWT_OK && g_signal)
		rc = QSJWT_ERR_INTERRUPTED;
	if (rc != QSJWT_OK)
		return cli_exit_code(rc == QSJWT_ERR_INVALID && o->token == NULL ? QSJWT_ERR_IO : rc);
	*signer = job->signer;
	return EXIT_OK;
}

int cert_job_commit(cert_job *job)
{
	const char *uri;
	qsjwt_err rc;

	if (g_signal)
		return EXIT_RUNTIME; /* cert_job_free re-raises it */
	rc = file_set_commit(job->files, job->force);
	if (rc != QSJWT_OK)
		return cli_exit_code(rc);
	job->committed = 1;
	qsjwt_signer_keep(job->signer);
	if (job->n_files == F_COUNT)
		log_info("wrote '%s', '%s' and '%s' (mode 0600)", job->path[F_PUB],
			 job->path[F_CERT], job->path[F_PRIV]);
	else
		log_info("wrote '%s' and '%s'; the private key stays on the token",
			 job->path[F_PUB], job->path[F_CERT]);
	log_info("certificate CN=qs-jwt valid from %s to %s, SHA-256 fingerprint %s",
		 job->cert->not_before, job->cert->not_after, job->cert->fingerprint);
	log_info("give '%s' to the QSEoW virtual proxy (JWT certificate)", job->path[F_CERT]);
	uri = qsjwt_signer_uri(job->signer);
	if (uri != NULL && job->existing && job->store)
		log_info("stored the certificate on the token beside the key %s", uri);
	else if (uri != NULL && job->existing)
		log_info("the certificate is for the key %s", uri);
	else if (uri != NULL)
		log_info("the new key, for --pkcs11-uri next time: %s", uri);
	return EXIT_OK;
}

void cert_job_free(cert_job *job)
{
	int sig;

	if (job == NULL)
		return;
	/* Token objects not kept are removed here; temporaries too. */
	qsjwt_signer_free(job->signer);
	file_set_free(job->files);
	qsjwt_cert_free(job->cert);
	for (int i = 0; i < F_COUNT; i++)
		free(job->path[i]);
	sigaction(SIGINT, &job->old_int, NULL);
	sigaction(SIGTERM, &job->old_term, NULL);
	sig = g_signal;
	if (sig != 0) {
		/* Die of the signal, as the caller expects, now that nothing is
		 * left half-done. */
		log_error(job->committed ? "interrupted after the files were written"
					 : "interrupted; nothing was written or kept");
		free(job);
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	free(job);
}
