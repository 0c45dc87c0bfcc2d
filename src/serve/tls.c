#include "serve/tls.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "util/file.h"
#include "util/log.h"
#include "util/secret.h"

/* Certificate files are small; a chain of a few certificates fits. */
#define TLS_MAX_FILE (256 * 1024)
#define TLS_MAX_CHAIN 16

/* A certificate chain and its key, as a handshake takes them. */
typedef struct keypair {
	struct keypair *older;
	gnutls_pcert_st pcert[TLS_MAX_CHAIN];
	unsigned n_pcert;
	gnutls_privkey_t key;
} keypair;

struct tls_conf {
	char *cert_path, *key_path;
	char *trust; /* the client CA, PEM */
	keypair *pair; /* in force; older ones chained behind it */
};

static pthread_mutex_t current_mu = PTHREAD_MUTEX_INITIALIZER;
static keypair *current;

static void keypair_free(keypair *k)
{
	while (k != NULL) {
		keypair *older = k->older;
		for (unsigned i = 0; i < k->n_pcert; i++)
			gnutls_pcert_deinit(&k->pcert[i]);
		gnutls_privkey_deinit(k->key);
		free(k);
		k = older;
	}
}

/* Read the certificate and key files into a keypair; NULL after logging
 * why. The key's PEM is wiped once imported. */
static keypair *keypair_load(const char *cert_path, const char *key_path)
{
	unsigned char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0, key_cap = 0, cap = 0;
	gnutls_certificate_credentials_t check = NULL;
	gnutls_datum_t d;
	keypair *k = calloc(1, sizeof(*k));
	int ret, ok = 0;

	if (k == NULL)
		goto out;
	if (file_read_bounded(cert_path, TLS_MAX_FILE, "TLS certificate file", &cert, &cert_len,
			      &cap) != QSJWT_OK ||
	    file_read_bounded(key_path, TLS_MAX_FILE, "TLS key file", &key, &key_len,
			      &key_cap) != QSJWT_OK)
		goto out;
	/* The pair must belong together: GnuTLS compares the key with the
	 * leaf certificate here. */
	ret = gnutls_certificate_allocate_credentials(&check);
	if (ret == 0) {
		gnutls_datum_t c = {cert, (unsigned)cert_len}, kd = {key, (unsigned)key_len};
		ret = gnutls_certificate_set_x509_key_mem2(check, &c, &kd, GNUTLS_X509_FMT_PEM,
							  NULL, 0);
	}
	if (ret < 0) {
		log_error("TLS certificate '%s' and key '%s': %s", cert_path, key_path,
			  gnutls_strerror(ret));
		goto out;
	}
	d.data = cert;
	d.size = (unsigned)cert_len;
	k->n_pcert = TLS_MAX_CHAIN;
	ret = gnutls_pcert_list_import_x509_raw(k->pcert, &k->n_pcert, &d, GNUTLS_X509_FMT_PEM,
						0);
	if (ret < 0) {
		k->n_pcert = 0;
		log_error("TLS certificate file '%s': %s", cert_path, gnutls_strerror(ret));
		goto out;
	}
	d.data = key;
	d.size = (unsigned)key_len;
	ret = gnutls_privkey_init(&k->key);
	if (ret == 0)
		ret = gnutls_privkey_import_x509_raw(k->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		log_error("TLS key file '%s': %s", key_path, gnutls_strerror(ret));
		goto out;
	}
	ok = 1;
out:
	if (check != NULL)
		gnutls_certificate_free_credentials(check);
	free(cert);
	if (key != NULL)
		secret_free_n(key, key_cap);
	if (!ok) {
		keypair_free(k);
		k = NULL;
	}
	return k;
}

static void set_current(keypair *k)
{
	pthread_mutex_lock(&current_mu);
	current = k;
	pthread_mutex_unlock(&current_mu);
}

tls_conf *tls_conf_load(const char *cert_path, const char *key_path, const char *ca_path)
{
	tls_conf *t = calloc(1, sizeof(*t));
	gnutls_certificate_credentials_t check = NULL;
	unsigned char *ca = NULL;
	size_t ca_len = 0, cap = 0;
	int ret, ok = 0;

	if (t == NULL)
		goto out;
	t->cert_path = strdup(cert_path);
	t->key_path = strdup(key_path);
	if (t->cert_path == NULL || t->key_path == NULL)
		goto out;
	if (file_read_bounded(ca_path, TLS_MAX_FILE, "TLS client CA file", &ca, &ca_len, &cap) !=
	    QSJWT_OK)
		goto out;
	ret = gnutls_certificate_allocate_credentials(&check);
	if (ret == 0) {
		gnutls_datum_t d = {ca, (unsigned)ca_len};
		ret = gnutls_certificate_set_x509_trust_mem(check, &d, GNUTLS_X509_FMT_PEM);
	}
	if (ret <= 0) {
		log_error("TLS client CA file '%s': %s", ca_path,
			  ret == 0 ? "no PEM certificate in it" : gnutls_strerror(ret));
		goto out;
	}
	t->trust = (char *)ca;
	ca = NULL;
	t->pair = keypair_load(cert_path, key_path);
	if (t->pair == NULL)
		goto out;
	set_current(t->pair);
	ok = 1;
out:
	if (check != NULL)
		gnutls_certificate_free_credentials(check);
	free(ca);
	if (!ok) {
		tls_conf_free(t);
		t = NULL;
	}
	return t;
}

int tls_conf_reload(tls_conf *t)
{
	keypair *k = keypair_load(t->cert_path, t->key_path);

	if (k == NULL)
		return -1;
	k->older = t->pair;
	t->pair = k;
	set_current(k);
	return 0;
}

const char *tls_conf_trust(const tls_conf *t)
{
	return t->trust;
}

/* gnutls_certificate_retrieve_function2: the pair in force. GnuTLS neither
 * frees nor changes what it is given. */
static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
		    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	keypair *k;

	(void)session;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	pthread_mutex_lock(&current_mu);
	k = current;
	pthread_mutex_unlock(&current_mu);
	if (k == NULL)
		return -1;
	*pcert = k->pcert;
	*pcert_length = k->n_pcert;
	*pkey = k->key;
	return 0;
}

gnutls_certificate_retrieve_function2 *tls_cert_callback(void)
{
	return retrieve;
}

/* Verification data: the certificate must be meant for TLS clients. */
static gnutls_typed_vdata_st client_purpose[] = {
    {GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0}};

int tls_session_require_client(void *session)
{
	gnutls_session_t s = session;

	/* GNUTLS_CERT_REQUIRE: a client that sends no certificate fails the
	 * handshake; set_verify_cert2 makes GnuTLS verify the one sent
	 * against the credentials' trust list (the client CA) during the
	 * handshake (gnutls_session_set_verify_cert2(3)). */
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_cert2(s, client_purpose, 1, 0);
	return 0;
}

int tls_peer(void *session, serve_caller *c, char **subject, char sha256[65], const char **why)
{
	gnutls_session_t s = session;
	const gnutls_datum_t *list;
	unsigned n = 0, status = 0;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t dn = {NULL, 0};
	unsigned char md[32];
	size_t md_len = sizeof(md);
	int rc = -1;

	*subject = NULL;
	*why = "no TLS session";
	if (s == NULL)
		goto out;
	list = gnutls_certificate_get_peers(s, &n);
	*why = "no client certificate";
	if (list == NULL || n == 0)
		goto out;
	*why = "the client certificate does not verify";
	if (gnutls_certificate_verify_peers(s, client_purpose, 1, &status) < 0 || status != 0)
		goto out;
	*why = "cannot read the client certificate";
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &list[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0 ||
	    gnutls_fingerprint(GNUTLS_DIG_SHA256, &list[0], md, &md_len) < 0 || md_len != 32)
		goto out;
	*subject = strdup((const char *)dn.data);
	if (*subject == NULL)
		goto out;
	for (unsigned i = 0; i < 32; i++) {
		static const char hex[] = "0123456789abcdef";
		sha256[2 * i] = hex[md[i] >> 4];
		sha256[2 * i + 1] = hex[md[i] & 15];
	}
	sha256[64] = '\0';
	memset(c, 0, sizeof(*c));
	c->kind = CALLER_TLS;
	c->cert_subject = *subject;
	c->cert_sha256 = sha256;
	*why = NULL;
	rc = 0;
out:
	gnutls_free(dn.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

void tls_conf_free(tls_conf *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&current_mu);
	if (current == t->pair)
		current = NULL;
	pthread_mutex_unlock(&current_mu);
	keypair_free(t->pair);
	free(t->trust);
	free(t->cert_path);
	free(t->key_path);
	free(t);
}
