/*
 * qsjwt: JSON Web Tokens for Qlik Sense Enterprise on Windows, signed with a
 * key from a PEM file, a PEM string or a PKCS#11 token.
 *
 * Conventions of this API:
 * - Every call that can fail returns a qsjwt_err; QSJWT_OK (0) is success.
 *   Results come back through out-parameters that are written only on success.
 * - The reason of a failure is reported once, through the log handler (see
 *   qsjwt_log_set_handler), where the cause is known. No call prints a secret.
 * - Strings are NUL-terminated UTF-8. Memory returned through a `char **` or
 *   `unsigned char **` out-parameter is the caller's, freed with free() (or
 *   qsjwt_secret_free() for secrets, which the documentation of the call names).
 * - Nothing here calls exit(), prompts, or reads the clock: the current time is
 *   a parameter, so callers (and tests) own it.
 */
#ifndef QSJWT_QSJWT_H
#define QSJWT_QSJWT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	QSJWT_OK = 0,
	QSJWT_ERR_INVALID,     /* a value given by the caller is not acceptable */
	QSJWT_ERR_NOMEM,       /* out of memory */
	QSJWT_ERR_IO,          /* reading or writing a file failed */
	QSJWT_ERR_KEY,         /* key missing, unreadable or unusable */
	QSJWT_ERR_PASSPHRASE,  /* encrypted key: passphrase missing or wrong */
	QSJWT_ERR_CRYPTO,      /* a cryptographic operation failed */
	QSJWT_ERR_EXISTS,      /* an output file exists already */
	QSJWT_ERR_INTERRUPTED, /* cancelled through the cancel flag */
	QSJWT_ERR_VERIFY,      /* a signature or certificate did not verify */
	QSJWT_ERR_NOT_FOUND,   /* PKCS#11 token or key not found or ambiguous */
	QSJWT_ERR_LOGIN        /* PKCS#11 login failed or impossible */
} qsjwt_err;

/* A short English name of an error code, for messages. */
const char *qsjwt_err_str(qsjwt_err err);

/* ---- logging -------------------------------------------------------------- */

typedef enum {
	QSJWT_LOG_ERROR = 0,
	QSJWT_LOG_WARN,
	QSJWT_LOG_INFO,
	QSJWT_LOG_VERBOSE,
	QSJWT_LOG_DEBUG
} qsjwt_log_level;

typedef void (*qsjwt_log_fn)(qsjwt_log_level level, const char *msg, void *ud);

/* Lines above `level` are dropped. Default: QSJWT_LOG_INFO. */
void qsjwt_log_set_level(qsjwt_log_level level);
/* Drop QSJWT_LOG_INFO lines whatever the level (--minimal-output). */
void qsjwt_log_set_hide_info(int hide);
/* Replace the default handler (stderr, `TIMESTAMP LEVEL: message`, colour
 * when stderr is a terminal and NO_COLOR is unset). NULL restores it. */
void qsjwt_log_set_handler(qsjwt_log_fn fn, void *ud);
/* Parse "error", "warn", "warning", "info", "verbose", "debug". */
qsjwt_err qsjwt_log_level_from_name(const char *name, qsjwt_log_level *out);

/* ---- secrets ------------------------------------------------------------- */

/* Overwrite n bytes at p in a way the compiler cannot drop. */
void qsjwt_secret_wipe(void *p, size_t n);
/* Wipe a NUL-terminated string and free it (NULL is fine). */
void qsjwt_secret_free(char *s);

/* ---- algorithms and times ------------------------------------------------ */

typedef enum { QSJWT_RS256 = 0, QSJWT_RS384, QSJWT_RS512 } qsjwt_alg;

/* "RS256", "RS384", "RS512" (exact case, as in the JWS header). */
qsjwt_err qsjwt_alg_from_name(const char *name, qsjwt_alg *out);
const char *qsjwt_alg_name(qsjwt_alg alg);

/* Latest `exp` we issue: 9999-12-31T23:59:59Z. */
#define QSJWT_MAX_TIME INT64_C(253402300799)

/*
 * Parse an --expires timespan with the grammar of the `ms` package that the
 * original tool used: -?(DIGITS|DIGITS.DIGITS|.DIGITS) SPACES* UNIT?,
 * case-insensitive, at most 100 characters. No unit means milliseconds.
 * *ms_out gets the lifetime in milliseconds as an IEEE-754 double, exactly as
 * the original computed it; *has_unit (may be NULL) whether a unit was given.
 */
qsjwt_err qsjwt_timespan_parse(const char *text, double *ms_out, int *has_unit);

/*
 * exp = floor(iat + ms / 1000) in doubles (RFC 7519 NumericDate, as the
 * original). QSJWT_ERR_INVALID when the result is before 1970 or after
 * QSJWT_MAX_TIME.
 */
qsjwt_err qsjwt_exp_from_ms(int64_t iat, double ms, int64_t *exp_out);

/* ---- claims --------------------------------------------------------------- */

/* The claims of a QSEoW token. All strings borrowed, valid UTF-8. */
typedef struct {
	const char *user_id;        /* userId */
	const char *user_directory; /* userDirectory */
	const char *name;           /* name */
	const char *email;          /* email */
	const char *const *groups;  /* group: NULL = no claim; else n_groups items */
	size_t n_groups;
	int64_t iat;
	int64_t exp;
	const char *audience;       /* aud */
} qsjwt_qseow_claims;

/*
 * Serialize the payload in the original's fixed key order
 * userId, userDirectory, name, email, group, iat, exp, aud, with strings
 * escaped as ECMAScript JSON.stringify does. *json_out is NUL-terminated and
 * the caller's (free()). QSJWT_ERR_INVALID if a string is not valid UTF-8.
 */
qsjwt_err qsjwt_qseow_payload(const qsjwt_qseow_claims *claims, char **json_out,
			      size_t *len_out);

/* ---- signer ----------------------------------------------------------------- */

typedef struct qsjwt_signer qsjwt_signer;

/*
 * Passphrase source for encrypted keys. Called at most once, only when the
 * key is encrypted. Write the passphrase (no NUL needed) into buf (size
 * bytes) and return its length, or -1 when none is available (the callback
 * has then reported why). `what` names the key for a prompt.
 */
typedef int (*qsjwt_passphrase_fn)(char *buf, int size, const char *what, void *ud);

/*
 * A signer over an RSA private key in PEM (PKCS#1 or PKCS#8, encrypted or
 * not; other PEM blocks and text around it are skipped). `what` names the
 * source in messages ("key file 'k.pem'"). Refuses non-RSA keys, RSA-PSS
 * keys and RSA below 2048 bits. The caller keeps and wipes `pem`.
 * Free the result with qsjwt_signer_free().
 */
qsjwt_err qsjwt_signer_from_pem(const char *pem, size_t len, const char *what,
				qsjwt_passphrase_fn pass, void *pass_ud,
				qsjwt_signer **out);

/*
 * Generate a new RSA key pair in memory (e = 65537). `cancel` (may be NULL)
 * is polled during generation: when it becomes non-zero, generation stops
 * with QSJWT_ERR_INTERRUPTED.
 */
qsjwt_err qsjwt_signer_generate(unsigned bits, const volatile sig_atomic_t *cancel,
				qsjwt_signer **out);

/*
 * RSASSA-PKCS1-v1_5 signature over data with the hash of `alg`. *sig_out is
 * the caller's (free()).
 */
qsjwt_err qsjwt_signer_sign(qsjwt_signer *s, qsjwt_alg alg, const unsigned char *data,
			    size_t len, unsigned char **sig_out, size_t *sig_len);

/* Verify a signature with the signer's public key. QSJWT_ERR_VERIFY if bad. */
qsjwt_err qsjwt_signer_verify(qsjwt_signer *s, qsjwt_alg alg, const unsigned char *data,
			      size_t len, const unsigned char *sig, size_t sig_len);

/* Modulus size in bits. */
unsigned qsjwt_signer_bits(const qsjwt_signer *s);
/* Where the key came from, for messages (never key material). Borrowed. */
const char *qsjwt_signer_describe(const qsjwt_signer *s);
/* SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), caller frees. */
qsjwt_err qsjwt_signer_public_pem(const qsjwt_signer *s, char **pem_out);
/* The private key as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), for keys that are
 * in memory. A secret: free it with qsjwt_secret_free(). QSJWT_ERR_KEY for
 * keys that cannot leave their token. */
qsjwt_err qsjwt_signer_private_pem(const qsjwt_signer *s, char **pem_out);
void qsjwt_signer_free(qsjwt_signer *s);

/* ---- JWT ------------------------------------------------------------------ */

/*
 * Sign a compact JWS: base64url(header) "." base64url(payload) "."
 * base64url(signature), header exactly {"alg":ALG,"typ":"JWT"}. The
 * signature is verified with the signer's public key before the token is
 * returned. The token is a bearer credential: free it with qsjwt_secret_free().
 */
qsjwt_err qsjwt_jwt_sign(qsjwt_signer *s, qsjwt_alg alg, const char *payload,
			 size_t payload_len, char **token_out);

/* ---- certificates ---------------------------------------------------------- */

typedef struct {
	char *pem;            /* the certificate, PEM, LF line endings */
	char *fingerprint;    /* SHA-256 of the DER, "AB:CD:..." */
	char *not_before;     /* "YYYY-MM-DDTHH:MM:SSZ" */
	char *not_after;
	unsigned char *der;   /* the certificate, DER */
	size_t der_len;
} qsjwt_cert;

/*
 * A self-signed X.509 v3 certificate for the signer's key: subject and issuer
 * CN=qs-jwt, random positive 64-bit+ serial, sha256WithRSAEncryption,
 * basicConstraints CA:FALSE (critical), keyUsage digitalSignature (critical),
 * subject key identifier, valid from `now` for `days` days (1..36500). The
 * to-be-signed bytes are signed through the signer, and the result is
 * verified before it is returned. Free with qsjwt_cert_free().
 */
qsjwt_err qsjwt_cert_create(qsjwt_signer *s, int64_t now, int days, qsjwt_cert **out);
void qsjwt_cert_free(qsjwt_cert *c);

#ifdef __cplusplus
}
#endif
#endif
