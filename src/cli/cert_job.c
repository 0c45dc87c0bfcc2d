#include "cli/cert_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/stop.h"
#include "platform/platform.h"
#include "util/file.h"
#include "util/log.h"

enum { F_PUB, F_CERT, F_PRIV, F_COUNT };
static const char *const file_names[F_COUNT] = { "publickey.pem", "publickey.cer",
						 "privatekey.pem" };
static const unsigned file_modes[F_COUNT] = { 0644, 0644, 0600 };
#define IDP_FILE "qscloud-idp.json"

struct cert_job {
	char *path[F_COUNT];
	size_t idx[F_COUNT];
	int n_files; /* 2 for a token key: its private half stays there */
	char *idp_path; /* with cert_job_opts.idp_issuer */
	size_t idp_idx;
	const char *idp_issuer, *idp_kid;
	int force;
	file_set *files;
	qsjwt_signer *signer;
	qsjwt_cert *cert;
	int committed;
	int catching; /* between stop_catch() and stop_release() */
	int existing;
	int store;
};

static qsjwt_err make_key(cert_job *job, const cert_job_opts *o)
{
	if (o->token != NULL && o->existing)
		return o->store ? qsjwt_signer_from_pkcs11_rw(o->token, &job->signer)
				: qsjwt_signer_from_pkcs11(o->token, &job->signer);
	if (o->token != NULL)
		return qsjwt_pkcs11_generate(o->token, o->bits, stop_flag(), &job->signer);
	log_info("generating an RSA-%u key pair ...", o->bits ? o->bits : 4096);
	return qsjwt_signer_generate(o->bits ? o->bits : 4096, stop_flag(), &job->signer);
}

/* The Qlik Cloud identity provider for the new key: its certificate under
 * the kid the token will carry. */
static qsjwt_err write_idp(cert_job *job)
{
	char *thumb = NULL, *json = NULL;
	qsjwt_err rc = QSJWT_OK;

	if (job->idp_kid == NULL)
		rc = qsjwt_signer_jwk(job->signer, NULL, &thumb);
	if (rc == QSJWT_OK)
		rc = qsjwt_qscloud_idp_json(job->idp_issuer,
					    job->idp_kid != NULL ? job->idp_kid : thumb,
					    job->cert->pem, &json);
	if (rc == QSJWT_OK)
		rc = file_set_write(job->files, job->idp_idx, json, strlen(json));
	free(thumb);
	free(json);
	return rc;
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
	if (rc == QSJWT_OK && job->idp_path != NULL)
		rc = write_idp(job);
	free(pem[F_PUB]);
	free(pem[F_CERT]);
	qsjwt_secret_free(pem[F_PRIV]);
	return rc;
}

int cert_job_start(const cert_job_opts *o, int64_t now, cert_job **job_out,
		   qsjwt_signer **signer)
{
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
	/* From the first temporary to the commit, a signal (a Ctrl-C, a kill,
	 * a dropped SSH session) is noted and everything undone before the
	 * process dies of it. */
	stop_catch();
	job->catching = 1;

	for (i = 0; i < job->n_files && rc == QSJWT_OK; i++) {
		size_t n = strlen(o->prefix) + strlen(file_names[i]) + 1;
		job->path[i] = malloc(n);
		if (job->path[i] == NULL)
			rc = QSJWT_ERR_NOMEM;
		else
			snprintf(job->path[i], n, "%s%s", o->prefix, file_names[i]);
	}
	if (rc == QSJWT_OK && o->idp_issuer != NULL) {
		size_t n = strlen(o->prefix) + sizeof(IDP_FILE);
		job->idp_issuer = o->idp_issuer;
		job->idp_kid = o->idp_kid;
		job->idp_path = malloc(n);
		if (job->idp_path == NULL)
			rc = QSJWT_ERR_NOMEM;
		else
			snprintf(job->idp_path, n, "%s%s", o->prefix, IDP_FILE);
	}
	/* Every check before anything is generated or written. */
	for (i = 0; i < job->n_files && rc == QSJWT_OK; i++)
		rc = file_set_check(job->path[i], o->force);
	if (rc == QSJWT_OK && job->idp_path != NULL)
		rc = file_set_check(job->idp_path, o->force);
	if (rc == QSJWT_OK)
		rc = file_set_new(&job->files);
	for (i = 0; i < job->n_files && rc == QSJWT_OK; i++)
		rc = file_set_add(job->files, job->path[i], file_modes[i], &job->idx[i]);
	if (rc == QSJWT_OK && job->idp_path != NULL)
		rc = file_set_add(job->files, job->idp_path, 0644, &job->idp_idx);
	if (rc == QSJWT_OK)
		rc = make_key(job, o);
	if (rc == QSJWT_OK)
		rc = qsjwt_cert_create(job->signer, now, o->days, &job->cert);
	if (rc == QSJWT_OK && o->store)
		rc = qsjwt_signer_store_cert(job->signer, job->cert);
	if (rc == QSJWT_OK)
		rc = write_files(job);
	if (rc == QSJWT_OK && stop_signal())
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

	if (stop_signal())
		return EXIT_RUNTIME; /* cert_job_free undoes and re-raises it */
	rc = file_set_commit(job->files, job->force);
	if (rc != QSJWT_OK)
		return cli_exit_code(rc);
	job->committed = 1;
	qsjwt_signer_keep(job->signer);
	/* Nothing is half-made any more: what follows (a --batch, say) must
	 * not have its signals held back until the run ends. */
	job->catching = 0;
	stop_release();
	if (stop_signal()) {
		log_error("interrupted after the files were written");
		stop_reraise();
	}
	if (job->n_files == F_COUNT)
		log_info("wrote '%s', '%s' and '%s' (%s)", job->path[F_PUB], job->path[F_CERT],
			 job->path[F_PRIV], plat_private_desc());
	else
		log_info("wrote '%s' and '%s'; the private key stays on the token",
			 job->path[F_PUB], job->path[F_CERT]);
	log_info("certificate CN=qs-jwt valid from %s to %s, SHA-256 fingerprint %s",
		 job->cert->not_before, job->cert->not_after, job->cert->fingerprint);
	if (job->idp_path != NULL)
		log_info("wrote '%s'; create the Qlik Cloud JWT identity provider with 'qlik "
			 "identity-provider create jwtauth --file %s' (or POST it to "
			 "/api/v1/identity-providers)",
			 job->idp_path, job->idp_path);
	else
		log_info("give '%s' to the QSEoW virtual proxy (JWT certificate)",
			 job->path[F_CERT]);
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
	if (job == NULL)
		return;
	/* Token objects not kept are removed here; temporaries too. */
	qsjwt_signer_free(job->signer);
	file_set_free(job->files);
	qsjwt_cert_free(job->cert);
	for (int i = 0; i < F_COUNT; i++)
		free(job->path[i]);
	free(job->idp_path);
	if (job->catching) {
		stop_release();
		if (stop_signal()) {
			/* Die of the signal, as the caller expects, now that
			 * nothing is left half-done. */
			log_error("interrupted; nothing was written or kept");
			free(job);
			stop_reraise();
			return;
		}
	}
	free(job);
}
