/* Signers from PEM and generated keys, RS256/384/512 signatures checked with
 * OpenSSL directly, compact JWS, self-signed certificates. Keys are made at
 * test time; the reference vectors of the original tool are compared byte
 * for byte. */
#include <limits.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jose/b64url.h"
#include "keys/signer_impl.h"

#include "unit.h"

#define PASS "correct horse battery"
#define WHAT "key file 'test.pem'"
#define NOW INT64_C(1893456000) /* 2030-01-01T00:00:00Z */
#define B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static struct {
	EVP_PKEY *rsa, *rsa1024, *ec, *ed25519, *pss;
	qsjwt_signer *file; /* k.rsa loaded from PKCS#8 */
	qsjwt_signer *gen;  /* from qsjwt_signer_generate */
} k;

/* Expected refusals log errors: collect them instead of printing them. */
static unit_log msgs;

static const char *const alg_header_b64[] = {
	"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9", /* {"alg":"RS256","typ":"JWT"} */
	"eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCJ9", /* {"alg":"RS384","typ":"JWT"} */
	"eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9", /* {"alg":"RS512","typ":"JWT"} */
};

static const EVP_MD *md_of(qsjwt_alg alg)
{
	return alg == QSJWT_RS256 ? EVP_sha256() : alg == QSJWT_RS384 ? EVP_sha384() : EVP_sha512();
}

/* ---- key material -------------------------------------------------------- */

enum pem_kind { PKCS1, PKCS8, PKCS8_ENC, LEGACY_ENC, PUBKEY };

/* The key as PEM; the encrypted kinds use passphrase `pw`. */
static char *pem_pw(EVP_PKEY *key, enum pem_kind kind, const char *pw)
{
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned char *pass = (unsigned char *)pw;
	int plen = (int)strlen(pw), ok = 0;
	char *data, *out;
	long n;

	assert_non_null(bio);
	switch (kind) {
	case PKCS1:
		ok = PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL);
		break;
	case PKCS8:
		ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
		break;
	case PKCS8_ENC:
		ok = PEM_write_bio_PrivateKey(bio, key, EVP_aes_256_cbc(), pass, plen, NULL, NULL);
		break;
	case LEGACY_ENC:
		ok = PEM_write_bio_PrivateKey_traditional(bio, key, EVP_aes_128_cbc(), pass, plen,
							  NULL, NULL);
		break;
	case PUBKEY:
		ok = PEM_write_bio_PUBKEY(bio, key);
		break;
	}
	assert_int_equal(ok, 1);
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

static char *pem_of(EVP_PKEY *key, enum pem_kind kind)
{
	return pem_pw(key, kind, PASS);
}

/* a b c concatenated (b and c may be NULL); caller frees. */
static char *cat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
	char *s = malloc(la + lb + lc + 1);

	assert_non_null(s);
	memcpy(s, a, la);
	memcpy(s + la, b ? b : "", lb);
	memcpy(s + la + lb, c ? c : "", lc);
	s[la + lb + lc] = '\0';
	return s;
}

static char *crlf(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *p = out;

	assert_non_null(out);
	for (; *s; s++) {
		if (*s == '\n')
			*p++ = '\r';
		*p++ = *s;
	}
	*p = '\0';
	return out;
}

static EVP_PKEY *keygen(const char *type, size_t bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *key = NULL;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	if (bits != 0)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &key), 1);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf = calloc(1, 65536);
	size_t n;

	if (fp == NULL)
		print_error("cannot open %s\n", path);
	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static int group_setup(void **state)
{
	static const volatile sig_atomic_t go_on = 0;
	char *pem;

	(void)state;
	unit_log_start(&msgs);
	k.rsa = keygen("RSA", 2048);
	k.rsa1024 = keygen("RSA", 1024);
	k.pss = keygen("RSA-PSS", 2048);
	k.ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k.ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (k.ec == NULL || k.ed25519 == NULL)
		return -1;
	pem = pem_of(k.rsa, PKCS8);
	if (qsjwt_signer_from_pem(pem, strlen(pem), WHAT, NULL, NULL, &k.file) != QSJWT_OK ||
	    qsjwt_signer_generate(2048, &go_on, &k.gen) != QSJWT_OK)
		return -1;
	free(pem);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	qsjwt_signer_free(k.file);
	qsjwt_signer_free(k.gen);
	EVP_PKEY_free(k.rsa);
	EVP_PKEY_free(k.rsa1024);
	EVP_PKEY_free(k.pss);
	EVP_PKEY_free(k.ec);
	EVP_PKEY_free(k.ed25519);
	unit_log_stop();
	return 0;
}

/* ---- qsjwt_signer_from_pem ----------------------------------------------- */

struct pass_src {
	const char *give; /* NULL: the callback returns -1 */
	int calls;
	int what_ok;      /* the callback was told which key */
};

static int pass_cb(char *buf, int size, const char *what, void *ud)
{
	struct pass_src *p = ud;
	int n;

	p->calls++;
	p->what_ok = what != NULL && strcmp(what, WHAT) == 0;
	if (p->give == NULL)
		return -1;
	n = (int)strlen(p->give);
	if (n > size)
		return -1;
	memcpy(buf, p->give, (size_t)n);
	return n;
}

/* The test data is what the rows say it is. */
static void test_pem_kinds(void **state)
{
	static const struct {
		enum pem_kind kind;
		const char *marker;
	} rows[] = {
		{ PKCS1, "-----BEGIN RSA PRIVATE KEY-----\n" },
		{ PKCS8, "-----BEGIN PRIVATE KEY-----\n" },
		{ PKCS8_ENC, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" },
		{ LEGACY_ENC, "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n" },
		{ PUBKEY, "-----BEGIN PUBLIC KEY-----\n" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char *pem = pem_of(k.rsa, rows[i].kind);
		check_bytes(rows[i].marker, pem, strlen(rows[i].marker), rows[i].marker,
			    strlen(rows[i].marker));
		free(pem);
	}
}

/* A certificate in PEM, to stand before (or instead of) a key. */
static char *cert_pem(void)
{
	qsjwt_cert *cert = NULL;
	char *pem;

	assert_int_equal(qsjwt_cert_create(k.file, NOW, 30, &cert), QSJWT_OK);
	pem = cat3(cert->pem, NULL, NULL);
	qsjwt_cert_free(cert);
	return pem;
}

/* A copy of s with a NUL byte at offset at. */
static char *with_nul(const char *s, size_t at)
{
	char *c = cat3(s, NULL, NULL);

	c[at] = '\0';
	return c;
}

static void test_from_pem_accepts(void **state)
{
	char *pkcs1 = pem_of(k.rsa, PKCS1), *pkcs8 = pem_of(k.rsa, PKCS8);
	char *enc8 = pem_of(k.rsa, PKCS8_ENC), *pub = pem_of(k.rsa, PUBKEY), *cert = cert_pem();
	/* every row owns its text */
	struct {
		const char *ctx;
		char *text;
		size_t len; /* 0: strlen */
		const char *give;
		int calls;
	} rows[] = {
		{ "PKCS#1", cat3(pkcs1, NULL, NULL), 0, NULL, 0 },
		{ "PKCS#8", cat3(pkcs8, NULL, NULL), 0, NULL, 0 },
		{ "text before", cat3("Bag Attributes\n    friendlyName: qs\nsome text\n", pkcs8, NULL),
		  0, NULL, 0 },
		{ "text before PKCS#1", cat3("subject=/CN=x\n\n", pkcs1, NULL), 0, NULL, 0 },
		{ "text after", cat3(pkcs8, "trailing text\n", NULL), 0, NULL, 0 },
		{ "CRLF PKCS#1", crlf(pkcs1), 0, NULL, 0 },
		{ "CRLF PKCS#8", crlf(pkcs8), 0, NULL, 0 },
		{ "certificate before the key", cat3(cert, pkcs8, NULL), 0, NULL, 0 },
		{ "certificate before PKCS#1", cat3(cert, "\n", pkcs1), 0, NULL, 0 },
		{ "public key before the key", cat3(pub, pkcs8, NULL), 0, NULL, 0 },
		{ "len stops before junk", cat3(pkcs8, "\x01\x02junk", NULL), strlen(pkcs8), NULL, 0 },
		{ "encrypted PKCS#8", cat3(enc8, NULL, NULL), 0, PASS, 1 },
		{ "legacy encrypted PEM", pem_of(k.rsa, LEGACY_ENC), 0, PASS, 1 },
		{ "CRLF encrypted PKCS#8", crlf(enc8), 0, PASS, 1 },
		{ "certificate before encrypted", cat3(cert, enc8, NULL), 0, PASS, 1 },
		{ "unencrypted with a source", cat3(pkcs8, NULL, NULL), 0, "unused", 0 },
		{ "PKCS#8, empty passphrase", pem_pw(k.rsa, PKCS8_ENC, ""), 0, "", 1 },
		{ "legacy, empty passphrase", pem_pw(k.rsa, LEGACY_ENC, ""), 0, "", 1 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		struct pass_src src = { rows[i].give, 0, 0 };
		qsjwt_signer *s = NULL;
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].text);
		check_rc(rows[i].ctx, qsjwt_signer_from_pem(rows[i].text, len, WHAT, pass_cb, &src, &s),
			 QSJWT_OK);
		check_int(rows[i].ctx, qsjwt_signer_bits(s), 2048);
		check_str(rows[i].ctx, qsjwt_signer_describe(s), WHAT);
		check_int(rows[i].ctx, EVP_PKEY_eq(signer_public_key(s), k.rsa), 1);
		/* asked once, and only for an encrypted key */
		check_int(rows[i].ctx, src.calls, rows[i].calls);
		if (src.calls)
			check_int(rows[i].ctx, src.what_ok, 1);
		qsjwt_signer_free(s);
		free(rows[i].text);
	}
	free(pkcs1);
	free(pkcs8);
	free(enc8);
	free(pub);
	free(cert);
}

static void test_from_pem_refuses(void **state)
{
	char *enc8 = pem_of(k.rsa, PKCS8_ENC), *legacy = pem_of(k.rsa, LEGACY_ENC);
	char *pkcs8 = pem_of(k.rsa, PKCS8);
	/* every row owns its text */
	struct {
		const char *ctx;
		char *text;
		size_t len; /* 0: strlen */
		int use_cb;
		const char *give;
		qsjwt_err rc;
		int calls;
		int logs; /* the library reports it (not when the callback said -1:
			   * the callback has reported why) */
	} rows[] = {
		{ "PKCS#8 wrong passphrase", cat3(enc8, NULL, NULL), 0, 1, "wrong horse",
		  QSJWT_ERR_PASSPHRASE, 1, 1 },
		{ "legacy wrong passphrase", cat3(legacy, NULL, NULL), 0, 1, "wrong horse",
		  QSJWT_ERR_PASSPHRASE, 1, 1 },
		{ "PKCS#8 callback -1", cat3(enc8, NULL, NULL), 0, 1, NULL, QSJWT_ERR_PASSPHRASE, 1, 0 },
		{ "legacy callback -1", cat3(legacy, NULL, NULL), 0, 1, NULL, QSJWT_ERR_PASSPHRASE, 1, 0 },
		{ "PKCS#8 empty passphrase", cat3(enc8, NULL, NULL), 0, 1, "", QSJWT_ERR_PASSPHRASE, 1, 1 },
		/* -1 means "no passphrase", not "the empty passphrase" */
		{ "PKCS#8 '' callback -1", pem_pw(k.rsa, PKCS8_ENC, ""), 0, 1, NULL,
		  QSJWT_ERR_PASSPHRASE, 1, 0 },
		{ "legacy '' callback -1", pem_pw(k.rsa, LEGACY_ENC, ""), 0, 1, NULL,
		  QSJWT_ERR_PASSPHRASE, 1, 0 },
		{ "PKCS#8 no callback", cat3(enc8, NULL, NULL), 0, 0, NULL, QSJWT_ERR_PASSPHRASE, 0, 1 },
		{ "legacy no callback", cat3(legacy, NULL, NULL), 0, 0, NULL, QSJWT_ERR_PASSPHRASE, 0, 1 },
		{ "EC P-256", pem_of(k.ec, PKCS8), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "EC P-256 traditional", pem_of(k.ec, PKCS1), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "Ed25519", pem_of(k.ed25519, PKCS8), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "RSA-PSS", pem_of(k.pss, PKCS8), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "RSA-1024 PKCS#1", pem_of(k.rsa1024, PKCS1), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "RSA-1024 PKCS#8", pem_of(k.rsa1024, PKCS8), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "public key only", pem_of(k.rsa, PUBKEY), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "certificate only", cert_pem(), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "garbage", cat3("hello world, this is not a key\n", NULL, NULL), 0, 1, PASS,
		  QSJWT_ERR_KEY, 0, 1 },
		{ "empty", cat3("", NULL, NULL), 0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "empty block", cat3("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", NULL, NULL),
		  0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "damaged body", cat3("-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASC\n"
				       "-----END PRIVATE KEY-----\n", NULL, NULL),
		  0, 1, PASS, QSJWT_ERR_KEY, 0, 1 },
		{ "len cuts the key", cat3(pkcs8, NULL, NULL), strlen(pkcs8) / 2, 1, PASS, QSJWT_ERR_KEY,
		  0, 1 },
		{ "NUL inside", with_nul(pkcs8, 100), strlen(pkcs8), 1, PASS, QSJWT_ERR_KEY, 0, 1 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		struct pass_src src = { rows[i].give, 0, 0 };
		qsjwt_signer sentinel, *s = &sentinel;
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].text);
		memset(&msgs, 0, sizeof(msgs));
		check_rc(rows[i].ctx,
			 qsjwt_signer_from_pem(rows[i].text, len, WHAT, rows[i].use_cb ? pass_cb : NULL,
					       &src, &s),
			 rows[i].rc);
		assert_ptr_equal(s, &sentinel);
		check_int(rows[i].ctx, src.calls, rows[i].calls);
		/* reported, naming the key, never showing a passphrase */
		if (rows[i].logs ? msgs.errors < 1 || strstr(msgs.all, WHAT) == NULL
				 : msgs.errors != 0) {
			print_error("%s: log was \"%s\"\n", rows[i].ctx, msgs.all);
			fail();
		}
		assert_null(strstr(msgs.all, "horse"));
		free(rows[i].text);
	}
	free(enc8);
	free(legacy);
	free(pkcs8);
}

/* ---- generate --------------------------------------------------------------- */

static void test_generate(void **state)
{
	static const volatile sig_atomic_t cancelled = 1;
	qsjwt_signer sentinel, *s = &sentinel;
	char *pub = NULL, *priv = NULL;
	BIGNUM *e = NULL;
	BIO *bio;
	EVP_PKEY *key;

	(void)state;
	check_rc("cancelled", qsjwt_signer_generate(2048, &cancelled, &s), QSJWT_ERR_INTERRUPTED);
	assert_ptr_equal(s, &sentinel);

	check_int("bits", qsjwt_signer_bits(k.gen), 2048);
	assert_int_equal(EVP_PKEY_is_a(signer_public_key(k.gen), "RSA"), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(signer_public_key(k.gen), OSSL_PKEY_PARAM_RSA_E, &e), 1);
	check_int("e", (long long)BN_get_word(e), 65537);
	BN_free(e);

	/* public PEM: SPKI that parses back to the same key */
	assert_int_equal(qsjwt_signer_public_pem(k.gen, &pub), QSJWT_OK);
	check_bytes("public PEM", pub, 27, "-----BEGIN PUBLIC KEY-----\n", 27);
	bio = BIO_new_mem_buf(pub, -1);
	key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(key);
	assert_int_equal(EVP_PKEY_eq(key, signer_public_key(k.gen)), 1);
	EVP_PKEY_free(key);
	free(pub);

	/* private PEM: PKCS#1, and it loads back as the same key */
	assert_int_equal(qsjwt_signer_private_pem(k.gen, &priv), QSJWT_OK);
	check_bytes("private PEM", priv, 32, "-----BEGIN RSA PRIVATE KEY-----\n", 32);
	assert_int_equal(qsjwt_signer_from_pem(priv, strlen(priv), WHAT, NULL, NULL, &s), QSJWT_OK);
	assert_int_equal(EVP_PKEY_eq(signer_public_key(s), signer_public_key(k.gen)), 1);
	qsjwt_signer_free(s);
	qsjwt_secret_free(priv);
}

/* ---- sign and verify -------------------------------------------------------- */

/* An independent check with OpenSSL: RSASSA-PKCS1-v1_5 with md. */
static int ossl_verify(EVP_PKEY *key, const EVP_MD *md, const unsigned char *data, size_t len,
		       const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		 EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;

	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

static void test_sign_verify(void **state)
{
	static const unsigned char data[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0";
	const size_t len = sizeof(data) - 1;
	qsjwt_signer *signers[] = { k.file, k.gen };

	(void)state;
	for (size_t si = 0; si < N_ELEMS(signers); si++) {
		qsjwt_signer *s = signers[si];
		/* the test's own key where there is one */
		EVP_PKEY *pub = s == k.file ? k.rsa : signer_public_key(s);
		for (int a = QSJWT_RS256; a <= QSJWT_RS512; a++) {
			unsigned char *sig = NULL, *again = NULL, bad[256], baddata[sizeof(data)];
			size_t n = 0, n2 = 0;
			char ctx[48];
			static const size_t flips[] = { 0, 1, 128, 255 };
			snprintf(ctx, sizeof(ctx), "signer %zu %s", si, qsjwt_alg_name((qsjwt_alg)a));
			check_rc(ctx, qsjwt_signer_sign(s, (qsjwt_alg)a, data, len, &sig, &n), QSJWT_OK);
			check_int(ctx, (long long)n, 256);
			/* deterministic */
			check_rc(ctx, qsjwt_signer_sign(s, (qsjwt_alg)a, data, len, &again, &n2), QSJWT_OK);
			check_bytes(ctx, again, n2, sig, n);
			free(again);
			check_int(ctx, ossl_verify(pub, md_of((qsjwt_alg)a), data, len, sig, n), 1);
			check_rc(ctx, qsjwt_signer_verify(s, (qsjwt_alg)a, data, len, sig, n), QSJWT_OK);
			/* the hash is the alg's: the other algs do not verify it */
			for (int b = QSJWT_RS256; b <= QSJWT_RS512; b++) {
				if (b == a)
					continue;
				check_rc(ctx, qsjwt_signer_verify(s, (qsjwt_alg)b, data, len, sig, n),
					 QSJWT_ERR_VERIFY);
				check_int(ctx, ossl_verify(pub, md_of((qsjwt_alg)b), data, len, sig, n), 0);
			}
			for (size_t f = 0; f < N_ELEMS(flips); f++) {
				memcpy(bad, sig, n);
				bad[flips[f]] ^= 0x01;
				check_rc(ctx, qsjwt_signer_verify(s, (qsjwt_alg)a, data, len, bad, n),
					 QSJWT_ERR_VERIFY);
			}
			memcpy(baddata, data, sizeof(data));
			baddata[len - 1] ^= 0x20;
			check_rc(ctx, qsjwt_signer_verify(s, (qsjwt_alg)a, baddata, len, sig, n),
				 QSJWT_ERR_VERIFY);
			check_rc(ctx, qsjwt_signer_verify(s, (qsjwt_alg)a, data, len - 1, sig, n),
				 QSJWT_ERR_VERIFY);
			check_rc(ctx, qsjwt_signer_verify(s, (qsjwt_alg)a, data, len, sig, n - 1),
				 QSJWT_ERR_VERIFY);
			check_rc(ctx, qsjwt_signer_verify(s, (qsjwt_alg)a, data, len, sig, 0),
				 QSJWT_ERR_VERIFY);
			free(sig);
		}
	}
	/* the two keys differ: one's signature does not verify with the other */
	{
		unsigned char *sig = NULL;
		size_t n = 0;
		assert_int_equal(qsjwt_signer_sign(k.file, QSJWT_RS256, data, len, &sig, &n), QSJWT_OK);
		check_rc("other key", qsjwt_signer_verify(k.gen, QSJWT_RS256, data, len, sig, n),
			 QSJWT_ERR_VERIFY);
		free(sig);
	}
}

static void test_sign_bad_alg(void **state)
{
	unsigned char sentinel = 0, *sig = &sentinel;
	size_t n = 5;
	char tsentinel = 0, *token = &tsentinel;

	(void)state;
	check_rc("sign alg 3", qsjwt_signer_sign(k.file, (qsjwt_alg)3, (const unsigned char *)"x", 1,
						 &sig, &n),
		 QSJWT_ERR_INVALID);
	assert_ptr_equal(sig, &sentinel);
	check_rc("jwt alg 3", qsjwt_jwt_sign(k.file, (qsjwt_alg)3, "{}", 2, &token),
		 QSJWT_ERR_INVALID);
	assert_ptr_equal(token, &tsentinel);
}

/* ---- JWT ------------------------------------------------------------------ */

static void test_jwt_shape(void **state)
{
	static const char payload[] = "{\"userId\":\"g\xc3\xb6ran\",\"iat\":1893456000,\"aud\":\"?>\"}";
	static const char *const headers[] = { "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
					       "{\"alg\":\"RS384\",\"typ\":\"JWT\"}",
					       "{\"alg\":\"RS512\",\"typ\":\"JWT\"}" };

	(void)state;
	for (int a = QSJWT_RS256; a <= QSJWT_RS512; a++) {
		const char *ctx = qsjwt_alg_name((qsjwt_alg)a);
		char *token = NULL, *dot1, *dot2;
		unsigned char *part = NULL;
		size_t n = 0;
		/* only payload_len bytes are used */
		char *padded = cat3(payload, "JUNK", NULL);
		check_rc(ctx, qsjwt_jwt_sign(k.file, (qsjwt_alg)a, padded, strlen(payload), &token),
			 QSJWT_OK);
		free(padded);
		check_int(ctx, (long long)strspn(token, B64URL_CHARS "."), (long long)strlen(token));
		dot1 = strchr(token, '.');
		assert_non_null(dot1);
		dot2 = strchr(dot1 + 1, '.');
		assert_non_null(dot2);
		assert_null(strchr(dot2 + 1, '.'));
		/* header: exactly the expected base64url text and bytes */
		check_bytes(ctx, token, (size_t)(dot1 - token), alg_header_b64[a],
			    strlen(alg_header_b64[a]));
		check_rc(ctx, b64url_decode(token, (size_t)(dot1 - token), &part, &n), QSJWT_OK);
		check_bytes(ctx, part, n, headers[a], strlen(headers[a]));
		free(part);
		/* payload: the bytes given */
		check_rc(ctx, b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &part, &n), QSJWT_OK);
		check_bytes(ctx, part, n, payload, strlen(payload));
		free(part);
		/* signature: 256 bytes (342 characters) over "header.payload" */
		check_int(ctx, (long long)strlen(dot2 + 1), 342);
		check_rc(ctx, b64url_decode(dot2 + 1, strlen(dot2 + 1), &part, &n), QSJWT_OK);
		check_int(ctx, (long long)n, 256);
		check_int(ctx, ossl_verify(k.rsa, md_of((qsjwt_alg)a), (unsigned char *)token,
					   (size_t)(dot2 - token), part, n), 1);
		free(part);
		qsjwt_secret_free(token);
	}
}

/* Tokens made by the original (docs/compatibility.md, "The token"), byte for byte. */
static void test_jwt_reference_vectors(void **state)
{
	static const char *const g_ascii[] = { "Sales", "Finance" };
	static const char *const g_uni[] = { "\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xf0\x9f\x98\x80",
					     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" };
	const struct {
		const char *file;
		qsjwt_qseow_claims c;
	} rows[] = {
		{ "all-claims.jwt",
		  { "jdoe", "ACME", "John Doe", "john.doe@example.com", g_ascii, 2, NOW, NOW + 3600,
		    "qlik-aud" } },
		{ "unicode.jwt",
		  { "g\xc3\xb6ran", "\xc3\x85\xc3\x84\xc3\x96", "G\xc3\xb6ran Sand\xc3\xa9r",
		    "g\xc3\xb6ran@ex\xc3\xa4mple.se", g_uni, 2, NOW, NOW + 3600, "a\xc3\xbc" "d" } },
	};
	char *pem = slurp(QSJWT_TEST_DATA "/vectors/privatekey.pem");
	qsjwt_signer *s = NULL;

	(void)state;
	assert_int_equal(qsjwt_signer_from_pem(pem, strlen(pem), WHAT, NULL, NULL, &s), QSJWT_OK);
	qsjwt_secret_free(pem);
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char path[512], *want, *json = NULL, *token = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/vectors/%s", QSJWT_TEST_DATA, rows[i].file);
		want = slurp(path);
		want[strcspn(want, "\r\n")] = '\0';
		check_rc(rows[i].file, qsjwt_qseow_payload(&rows[i].c, &json, &len), QSJWT_OK);
		check_rc(rows[i].file, qsjwt_jwt_sign(s, QSJWT_RS256, json, len, &token), QSJWT_OK);
		check_str(rows[i].file, token, want);
		qsjwt_secret_free(token);
		free(json);
		free(want);
	}
	qsjwt_signer_free(s);
}

/* ---- certificates ------------------------------------------------------------ */

static void check_cert(const char *ctx, qsjwt_signer *s, EVP_PKEY *key, int days,
		       const char *not_after, BIGNUM **serial_out)
{
	qsjwt_cert *c = NULL;
	X509 *x, *x2;
	const unsigned char *p;
	unsigned char md[32], *der2 = NULL;
	unsigned int mdlen = 0;
	char fp[3 * 32], cn[64];
	const ASN1_OCTET_STRING *ski;
	const ASN1_BIT_STRING *spk;
	const X509_ALGOR *algs[2];
	const ASN1_BIT_STRING *signature;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	BIGNUM *serial;
	BIO *bio;
	int crit = -1, der2_len;

	check_rc(ctx, qsjwt_cert_create(s, NOW, days, &c), QSJWT_OK);

	/* DER parses completely; the PEM holds the same certificate */
	p = c->der;
	x = d2i_X509(NULL, &p, (long)c->der_len);
	assert_non_null(x);
	check_int(ctx, (long long)(p - c->der), (long long)c->der_len);
	check_bytes(ctx, c->pem, 28, "-----BEGIN CERTIFICATE-----\n", 28);
	check_bytes(ctx, c->pem + strlen(c->pem) - 26, 26, "-----END CERTIFICATE-----\n", 26);
	assert_null(strchr(c->pem, '\r'));
	bio = BIO_new_mem_buf(c->pem, -1);
	x2 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(x2);
	der2_len = i2d_X509(x2, &der2);
	check_bytes(ctx, der2, (size_t)der2_len, c->der, c->der_len);
	OPENSSL_free(der2);
	X509_free(x2);

	/* v3, CN=qs-jwt, self-issued */
	check_int(ctx, X509_get_version(x), 2);
	check_int(ctx, X509_NAME_entry_count(X509_get_subject_name(x)), 1);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
						   sizeof(cn)),
			 6);
	check_str(ctx, cn, "qs-jwt");
	check_int(ctx, X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

	/* serial: positive, at least 64 bits, at most 20 octets */
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_non_null(serial);
	check_int(ctx, BN_is_negative(serial), 0);
	assert_true(BN_num_bits(serial) >= 64);
	assert_true(BN_num_bytes(serial) <= 20);
	*serial_out = serial;

	/* sha256WithRSAEncryption outside and inside, NULL parameters */
	check_int(ctx, X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	X509_get0_signature(&signature, &algs[0], x);
	algs[1] = X509_get0_tbs_sigalg(x);
	for (int i = 0; i < 2; i++) {
		const ASN1_OBJECT *obj;
		int ptype = -1;
		X509_ALGOR_get0(&obj, &ptype, NULL, algs[i]);
		check_int(ctx, OBJ_obj2nid(obj), NID_sha256WithRSAEncryption);
		check_int(ctx, ptype, V_ASN1_NULL);
	}
	check_int(ctx, ASN1_STRING_length(signature), 256);

	/* exactly three extensions */
	check_int(ctx, X509_get_ext_count(x), 3);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	check_int(ctx, crit, 1);
	check_int(ctx, bc->ca, 0);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	check_int(ctx, crit, 1);
	ASN1_BIT_STRING_free(ku);
	check_int(ctx, (long long)X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	/* SKI: SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1) */
	ski = X509_get0_subject_key_id(x);
	assert_non_null(ski);
	spk = X509_get0_pubkey_bitstr(x);
	assert_int_equal(EVP_Digest(ASN1_STRING_get0_data(spk), (size_t)ASN1_STRING_length(spk), md,
				    &mdlen, EVP_sha1(), NULL),
			 1);
	check_bytes(ctx, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), md, mdlen);

	/* validity: now .. now + days */
	check_int(ctx, ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), (time_t)NOW), 0);
	check_int(ctx, ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), (time_t)(NOW + days * 86400LL)),
		  0);
	check_str(ctx, c->not_before, "2030-01-01T00:00:00Z");
	check_str(ctx, c->not_after, not_after);

	/* the key's certificate, signed by it */
	check_int(ctx, EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	check_int(ctx, X509_verify(x, key), 1);

	/* fingerprint: SHA-256 of the DER, "AB:CD:..." upper case */
	assert_int_equal(EVP_Digest(c->der, c->der_len, md, &mdlen, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < 32; i++)
		snprintf(fp + 3 * i, 4, i < 31 ? "%02X:" : "%02X", md[i]);
	check_int(ctx, (long long)strlen(c->fingerprint), 95);
	check_str(ctx, c->fingerprint, fp);

	X509_free(x);
	qsjwt_cert_free(c);
}

static void test_cert(void **state)
{
	static const struct {
		int days;
		const char *not_after;
	} rows[] = {
		{ 1, "2030-01-02T00:00:00Z" },
		{ 365, "2031-01-01T00:00:00Z" },
		{ 36500, "2129-12-08T00:00:00Z" },
	};
	BIGNUM *serials[N_ELEMS(rows) + 1];

	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		char ctx[32];
		snprintf(ctx, sizeof(ctx), "cert %d days", rows[i].days);
		check_cert(ctx, k.file, k.rsa, rows[i].days, rows[i].not_after, &serials[i]);
	}
	check_cert("generated key", k.gen, signer_public_key(k.gen), 365, "2031-01-01T00:00:00Z",
		   &serials[N_ELEMS(rows)]);
	/* random serials: all different */
	for (size_t i = 0; i < N_ELEMS(serials); i++) {
		for (size_t j = i + 1; j < N_ELEMS(serials); j++)
			assert_int_not_equal(BN_cmp(serials[i], serials[j]), 0);
	}
	for (size_t i = 0; i < N_ELEMS(serials); i++)
		BN_free(serials[i]);
}

static void test_cert_bad_days(void **state)
{
	static const int bad[] = { 0, -1, 36501, INT_MIN, INT_MAX };

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		qsjwt_cert sentinel, *c = &sentinel;
		char ctx[32];
		snprintf(ctx, sizeof(ctx), "days %d", bad[i]);
		check_rc(ctx, qsjwt_cert_create(k.file, NOW, bad[i], &c), QSJWT_ERR_INVALID);
		assert_ptr_equal(c, &sentinel);
	}
}

/* ---- library promises ------------------------------------------------------ */

/* A result never says valid unless every check ran and passed: a negative
 * skew is refused before any check, and the result must say so. */
static void test_verify_negative_skew(void **state)
{
	static const char payload[] = "{\"iat\":1893456000,\"exp\":1893459600}";
	qsjwt_verify_opts o = {NOW, -1, NULL};
	qsjwt_verify_result r;
	qsjwt_pubkey *pub = NULL;
	qsjwt_jwt *t = NULL;
	char *token = NULL, *pem = NULL;

	(void)state;
	assert_int_equal(qsjwt_jwt_sign(k.file, QSJWT_RS256, payload, strlen(payload), &token),
			 QSJWT_OK);
	assert_int_equal(qsjwt_jwt_decode(token, strlen(token), &t), QSJWT_OK);
	assert_int_equal(qsjwt_signer_public_pem(k.file, &pem), QSJWT_OK);
	assert_int_equal(qsjwt_pubkey_from_data((unsigned char *)pem, strlen(pem), "pub", &pub),
			 QSJWT_OK);
	unit_log_start(&msgs);
	r.valid = 1;
	check_rc("skew -1", qsjwt_jwt_verify(t, pub, &o, &r), QSJWT_ERR_INVALID);
	unit_log_stop();
	check_int("skew -1: valid", r.valid, 0);
	check_int("skew -1: checks run", (long long)r.n_checks, 0);
	check_int("skew -1: errors reported", msgs.errors, 1);
	assert_non_null(strstr(msgs.all, "skew"));
	/* A public key longer than OpenSSL takes: refused, with a message. */
	{
		qsjwt_pubkey *big = NULL;
		unit_log_start(&msgs);
		check_rc("pubkey len > INT32_MAX",
			 qsjwt_pubkey_from_data((unsigned char *)pem, (size_t)INT32_MAX + 1, "pub",
						&big),
			 QSJWT_ERR_INVALID);
		unit_log_stop();
		check_int("pubkey len > INT32_MAX: errors", msgs.errors, 1);
		assert_null(big);
	}
	/* The same token with a sane skew is valid: the test can tell. */
	o.skew = 0;
	check_rc("skew 0", qsjwt_jwt_verify(t, pub, &o, &r), QSJWT_OK);
	check_int("skew 0: valid", r.valid, 1);
	qsjwt_pubkey_free(pub);
	qsjwt_jwt_free(t);
	free(pem);
	qsjwt_secret_free(token);
}

/* `len` bounds the read, whatever follows: the PEM is copied into a buffer
 * of exactly `len` bytes (no NUL after it, so ASan sees any read past it).
 * The refusals run the message code that scans the PEM blocks. */
static void test_from_pem_honours_len(void **state)
{
	const char *texts[] = {
	    NULL, /* the key, PKCS#8 */
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN X",
	    "no armour here at all, just text",
	    "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----",
	    "-----BEGIN ",
	};
	char *key = pem_pw(k.rsa, PKCS8, "");

	(void)state;
	texts[0] = key;
	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		size_t len = strlen(texts[i]);
		char *buf = malloc(len);
		qsjwt_signer *s = NULL;
		char ctx[32];
		assert_non_null(buf);
		memcpy(buf, texts[i], len);
		snprintf(ctx, sizeof(ctx), "text %zu", i);
		unit_log_start(&msgs);
		check_rc(ctx, qsjwt_signer_from_pem(buf, len, WHAT, NULL, NULL, &s),
			 i == 0 ? QSJWT_OK : QSJWT_ERR_KEY);
		unit_log_stop();
		check_int(ctx, msgs.errors, i == 0 ? 0 : 1);
		qsjwt_signer_free(s);
		free(buf);
	}
	/* A length above what OpenSSL takes is refused, with a message. */
	{
		qsjwt_signer *s = NULL;
		unit_log_start(&msgs);
		check_rc("len > INT32_MAX",
			 qsjwt_signer_from_pem(key, (size_t)INT32_MAX + 1, WHAT, NULL, NULL, &s),
			 QSJWT_ERR_INVALID);
		unit_log_stop();
		check_int("len > INT32_MAX: errors", msgs.errors, 1);
		assert_null(s);
	}
	qsjwt_secret_free(key);
}

/* The second verification is skipped only where OpenSSL checked its CRT
 * result itself: file keys (every CRT value present), and their sessions.
 * Token keys are always verified (softhsm_sign: "mismatch"). */
static void test_self_checked(void **state)
{
	static const char payload[] = "{\"a\":1}";
	qsjwt_signer *sess = NULL;
	char *token = NULL;

	(void)state;
	check_int("file key (PKCS#8, CRT)", signer_self_checked(k.file), 1);
	check_int("generated key", signer_self_checked(k.gen), 1);
	assert_int_equal(qsjwt_signer_session(k.file, &sess), QSJWT_OK);
	check_int("session of a file key", signer_self_checked(sess), 1);
	assert_int_equal(qsjwt_jwt_sign(sess, QSJWT_RS256, payload, strlen(payload), &token),
			 QSJWT_OK);
	/* The token is what OpenSSL verifies. */
	assert_non_null(strrchr(token, '.'));
	{
		const char *dot = strrchr(token, '.');
		unsigned char *sig = NULL;
		size_t sig_len = 0;
		assert_int_equal(b64url_decode(dot + 1, strlen(dot + 1), &sig, &sig_len), QSJWT_OK);
		check_rc("openssl verify", qsjwt_signer_verify(k.file, QSJWT_RS256,
							       (const unsigned char *)token,
							       (size_t)(dot - token), sig, sig_len),
			 QSJWT_OK);
		free(sig);
	}
	qsjwt_secret_free(token);
	qsjwt_signer_free(sess);
}

/* k.rsa with one of its numbers plus 2: a key whose values disagree. */
static EVP_PKEY *rsa_damaged(const char *which)
{
	static const char *const names[] = {
		OSSL_PKEY_PARAM_RSA_N,	       OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D,	       OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1
	};
	BIGNUM *v[8] = { NULL };
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *out = NULL;

	assert_non_null(bld);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(EVP_PKEY_get_bn_param(k.rsa, names[i], &v[i]), 1);
		if (strcmp(names[i], which) == 0)
			assert_int_equal(BN_add_word(v[i], 2), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, names[i], v[i]), 1);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_KEYPAIR, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	for (size_t i = 0; i < 8; i++)
		BN_clear_free(v[i]);
	return out;
}

/* A key whose numbers disagree is not left to OpenSSL's own check: qs-jwt
 * verifies its signatures. With a changed modulus the signature cannot
 * verify, and no token comes out. */
static void test_self_checked_damaged(void **state)
{
	static const char payload[] = "{\"a\":1}";
	static const char *const which[] = { OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_EXPONENT1,
					     OSSL_PKEY_PARAM_RSA_EXPONENT2,
					     OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
					     OSSL_PKEY_PARAM_RSA_N };

	(void)state;
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		EVP_PKEY *bad = rsa_damaged(which[i]);
		char *pem = pem_of(bad, PKCS8), *token = NULL;
		qsjwt_signer *s = NULL;
		qsjwt_err rc;

		assert_int_equal(qsjwt_signer_from_pem(pem, strlen(pem), WHAT, NULL, NULL, &s),
				 QSJWT_OK);
		check_int(which[i], signer_self_checked(s), 0);
		rc = qsjwt_jwt_sign(s, QSJWT_RS256, payload, strlen(payload), &token);
		if (strcmp(which[i], OSSL_PKEY_PARAM_RSA_N) == 0) {
			check_int("changed modulus: no token", rc != QSJWT_OK, 1);
			assert_null(token);
		} else {
			/* OpenSSL's fallback (no CRT) gives the right signature. */
			check_rc(which[i], rc, QSJWT_OK);
		}
		qsjwt_secret_free(token);
		qsjwt_signer_free(s);
		EVP_PKEY_free(bad);
		free(pem);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pem_kinds),
		cmocka_unit_test(test_from_pem_accepts),
		cmocka_unit_test(test_from_pem_refuses),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_sign_bad_alg),
		cmocka_unit_test(test_jwt_shape),
		cmocka_unit_test(test_jwt_reference_vectors),
		cmocka_unit_test(test_cert),
		cmocka_unit_test(test_cert_bad_days),
		cmocka_unit_test(test_verify_negative_skew),
		cmocka_unit_test(test_from_pem_honours_len),
		cmocka_unit_test(test_self_checked),
		cmocka_unit_test(test_self_checked_damaged),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
