#include "cli/cert_files.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/log.h"

enum { F_PUB, F_PRIV, F_CERT, F_COUNT };
static const char *const file_names[F_COUNT] = { "publickey.pem", "privatekey.pem",
						 "publickey.cer" };
static const unsigned file_modes[F_COUNT] = { 0644, 0600, 0644 };

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	g_signal = sig;
}

int cert_files_create(const char *prefix, unsigned bits, int days, int force, int64_t now,
		      qsjwt_signer **out)
{
	struct sigaction sa, old_int, old_term;
	char *path[F_COUNT] = { NULL };
	size_t idx[F_COUNT];
	char *pem[F_COUNT] = { NULL };
	qsjwt_signer *signer = NULL;
	qsjwt_cert *cert = NULL;
	file_set *files = NULL;
	qsjwt_err rc = QSJWT_OK;
	int i, sig = 0;

	for (i = 0; i < F_COUNT; i++) {
		size_t n = strlen(prefix) + strlen(file_names[i]) + 1;
		path[i] = malloc(n);
		if (path[i] == NULL) {
			rc = QSJWT_ERR_NOMEM;
			goto out;
		}
		snprintf(path[i], n, "%s%s", prefix, file_names[i]);
	}
	/* Every check before the first byte is generated or written. */
	for (i = 0; i < F_COUNT && rc == QSJWT_OK; i++)
		rc = file_set_check(path[i], force);
	if (rc != QSJWT_OK)
		goto out;

	g_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	rc = file_set_new(&files);
	for (i = 0; i < F_COUNT && rc == QSJWT_OK; i++)
		rc = file_set_add(files, path[i], file_modes[i], &idx[i]);
	if (rc != QSJWT_OK)
		goto restore;
	log_info("generating an RSA-%u key pair ...", bits);
	rc = qsjwt_signer_generate(bits, &g_signal, &signer);
	if (rc == QSJWT_OK)
		rc = qsjwt_cert_create(signer, now, days, &cert);
	if (rc == QSJWT_OK)
		rc = qsjwt_signer_public_pem(signer, &pem[F_PUB]);
	if (rc == QSJWT_OK)
		rc = qsjwt_signer_private_pem(signer, &pem[F_PRIV]);
	if (rc == QSJWT_OK) {
		pem[F_CERT] = strdup(cert->pem);
		if (pem[F_CERT] == NULL)
			rc = QSJWT_ERR_NOMEM;
	}
	for (i = 0; i < F_COUNT && rc == QSJWT_OK; i++)
		rc = file_set_write(files, idx[i], pem[i], strlen(pem[i]));
	if (rc == QSJWT_OK && g_signal)
		rc = QSJWT_ERR_INTERRUPTED;
	if (rc == QSJWT_OK)
		rc = file_set_commit(files, force);
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sig = g_signal;
	if (rc == QSJWT_OK && sig == 0) {
		log_info("wrote '%s', '%s' (mode 0600) and '%s'", path[F_PUB], path[F_PRIV],
			 path[F_CERT]);
		log_info("certificate CN=qs-jwt valid from %s to %s, SHA-256 fingerprint %s",
			 cert->not_before, cert->not_after, cert->fingerprint);
		log_info("give '%s' to the QSEoW virtual proxy (JWT certificate)", path[F_CERT]);
		*out = signer;
		signer = NULL;
	}
out:
	file_set_free(files); /* removes the temporaries of an unfinished set */
	qsjwt_signer_free(signer);
	qsjwt_cert_free(cert);
	qsjwt_secret_free(pem[F_PRIV]);
	free(pem[F_PUB]);
	free(pem[F_CERT]);
	for (i = 0; i < F_COUNT; i++)
		free(path[i]);
	if (sig != 0) {
		/* Die of the signal, as the caller expects, once nothing is left
		 * half-done. */
		log_error(rc == QSJWT_OK ? "interrupted after the files were written; no token issued"
					 : "interrupted; no files were written");
		signal(sig, SIG_DFL);
		raise(sig);
		return 128 + sig;
	}
	return cli_exit_code(rc == QSJWT_ERR_INVALID ? QSJWT_ERR_IO : rc);
}
