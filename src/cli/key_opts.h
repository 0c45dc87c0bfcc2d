/* The key-source options every signing command shares: a PEM file, a PEM
 * parameter, or a new key pair with --cert-create. Exactly one per run. */
#ifndef QSJWT_KEY_OPTS_H
#define QSJWT_KEY_OPTS_H

#include <stdint.h>

#include <qsjwt/qsjwt.h>

#include "cli/cli.h"
#include "cli/secret_sources.h"

enum {
	KEY_OPT_FILE = 1000,
	KEY_OPT_PASSPHRASE_FILE,
	KEY_OPT_PARAM,
	KEY_OPT_CERT_CREATE,
	KEY_OPT_KEY_BITS,
	KEY_OPT_DAYS,
	KEY_OPT_PREFIX,
	KEY_OPT_FORCE,
	KEY_OPT_P11_URI,
	KEY_OPT_P11_MODULE,
	KEY_OPT_P11_MODULE_INIT,
	KEY_OPT_P11_PIN_FILE,
	KEY_OPT_P11_ALLOW_PIN,
	KEY_OPT_P11_FINAL_TRY
};

/* The option table entries, to be copied into a command's table. */
extern const cli_option key_opts_table[];
extern const size_t key_opts_table_len;

typedef struct {
	const char *file;            /* --cert-privatekey-file */
	const char *passphrase_file; /* --cert-privatekey-passphrase-file */
	char *param;                 /* --cert-privatekey (owned copy, wiped) */
	size_t param_len;
	int param_stdin;             /* --cert-privatekey - */
	int cert_create;             /* --cert-create true */
	unsigned key_bits;           /* 0: not given */
	int days;                    /* 0: not given */
	int days_given;
	const char *prefix;          /* --cert-file-prefix */
	int prefix_given;
	int force;
	qsjwt_pkcs11_opts p11;       /* p11.uri: --pkcs11-uri */
	const char *pin_file;        /* --pkcs11-pin-file */
	const char *idp_issuer;      /* create-qscloud: with --cert-create, also write
				      * the Qlik Cloud identity provider (cert_job.h) */
	const char *idp_kid;
	struct cert_job *job;        /* --cert-create */
	qsjwt_signer *signer;
	secret_source pass_src;      /* passphrase: file, env, terminal */
	secret_source pin_src;       /* PIN: file, env, terminal */
} key_opts;

void key_opts_init(key_opts *k);
/* Free the signer; undo an uncommitted --cert-create (files, token objects). */
void key_opts_release(key_opts *k);

/* Handle one option of key_opts_table: 0, 1 (not ours), -1 (usage error
 * printed). */
int key_opts_handle(key_opts *k, const char *cmd, int id, char *value);

/* Check the options together (exactly one key source, ...); 0 or -1 (usage
 * error printed). */
int key_opts_validate(key_opts *k, const char *cmd);

/* Make the signer (borrowed from k): load the key, open the token key, or
 * create the key pair and its certificate. `now` dates the certificate.
 * Returns an exit code. */
int key_opts_signer(key_opts *k, int64_t now, qsjwt_signer **out);

/* After the JWT was signed: put --cert-create's files in place and keep its
 * token objects. Returns an exit code (0 when there is nothing to do). */
int key_opts_commit(key_opts *k);

#endif
