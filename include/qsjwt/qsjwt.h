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

/* On calls whose result must be read (every qsjwt_err: a failure ignored is
 * a token or a verdict that is not what it seems). */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L
#define QSJWT_MUST_USE [[nodiscard]]
#elif defined(__GNUC__) || defined(__clang__)
#define QSJWT_MUST_USE __attribute__((warn_unused_result))
#elif defined(_MSC_VER)
#define QSJWT_MUST_USE _Check_return_
#else
#define QSJWT_MUST_USE
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
	QSJWT_ERR_LOGIN,       /* PKCS#11 login failed or impossible */
	QSJWT_ERR_SESSIONS     /* PKCS#11 token opens no more sessions (CKR_SESSION_COUNT) */
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
QSJWT_MUST_USE
qsjwt_err qsjwt_log_level_from_name(const char *name, qsjwt_log_level *out);

/* ---- secrets ------------------------------------------------------------- */

/* Overwrite n bytes at p in a way the compiler cannot drop. */
void qsjwt_secret_wipe(void *p, size_t n);
/* Wipe a NUL-terminated string and free it (NULL is fine). */
void qsjwt_secret_free(char *s);

/* ---- algorithms and times ------------------------------------------------ */

typedef enum { QSJWT_RS256 = 0, QSJWT_RS384, QSJWT_RS512 } qsjwt_alg;

/* "RS256", "RS384", "RS512" (exact case, as in the JWS header). */
QSJWT_MUST_USE
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
 * Independent of the process locale ("1.5h" is 5400 s under de_DE too).
 * QSJWT_ERR_INVALID is not reported: the caller names the option or field.
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_timespan_parse(const char *text, double *ms_out, int *has_unit);

/*
 * exp = floor(iat + ms / 1000) in doubles (RFC 7519 NumericDate, as the
 * original). QSJWT_ERR_INVALID when the result is before 1970 or after
 * QSJWT_MAX_TIME.
 */
QSJWT_MUST_USE
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
QSJWT_MUST_USE
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
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_from_pem(const char *pem, size_t len, const char *what,
				qsjwt_passphrase_fn pass, void *pass_ud,
				qsjwt_signer **out);

/*
 * Generate a new RSA key pair in memory (e = 65537). `cancel` (may be NULL)
 * is polled during generation: when it becomes non-zero, generation stops
 * with QSJWT_ERR_INTERRUPTED.
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_generate(unsigned bits, const volatile sig_atomic_t *cancel,
				qsjwt_signer **out);

/*
 * RSASSA-PKCS1-v1_5 signature over data with the hash of `alg`. *sig_out is
 * the caller's (free()).
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_sign(qsjwt_signer *s, qsjwt_alg alg, const unsigned char *data,
			    size_t len, unsigned char **sig_out, size_t *sig_len);

/*
 * A signer is used by one thread at a time (it keeps signing contexts).
 * A signer over the same key for another thread: file keys share the key;
 * token keys get their own session on the token, sharing the login (one
 * login per run). Free every such signer before `s`. QSJWT_ERR_SESSIONS
 * (not logged) when the token opens no more sessions (CKR_SESSION_COUNT):
 * the caller may go on with the signers it has.
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_session(qsjwt_signer *s, qsjwt_signer **out);

/* No session limit is known (qsjwt_signer_sessions_left). */
#define QSJWT_SESSIONS_UNLIMITED 0xffffffffu
/*
 * How many more qsjwt_signer_session() signers the token says it can take:
 * its ulMaxSessionCount less the sessions this process has open on it now
 * (CK_TOKEN_INFO, PKCS#11 v2.40 section 5.5), or QSJWT_SESSIONS_UNLIMITED
 * for a file key or a token that reports no limit (CK_EFFECTIVELY_INFINITE
 * or CK_UNAVAILABLE_INFORMATION). A token may still refuse earlier
 * (QSJWT_ERR_SESSIONS).
 */
unsigned qsjwt_signer_sessions_left(qsjwt_signer *s);

/* Verify a signature with the signer's public key. QSJWT_ERR_VERIFY if bad. */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_verify(qsjwt_signer *s, qsjwt_alg alg, const unsigned char *data,
			      size_t len, const unsigned char *sig, size_t sig_len);

/* Modulus size in bits. */
unsigned qsjwt_signer_bits(const qsjwt_signer *s);
/* Where the key came from, for messages (never key material). Borrowed. */
const char *qsjwt_signer_describe(const qsjwt_signer *s);
/* SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), caller frees. */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_public_pem(const qsjwt_signer *s, char **pem_out);
/* The private key as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), for keys that are
 * in memory. A secret: free it with qsjwt_secret_free(). QSJWT_ERR_KEY for
 * keys that cannot leave their token. */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_private_pem(const qsjwt_signer *s, char **pem_out);
void qsjwt_signer_free(qsjwt_signer *s);

/* ---- JWT ------------------------------------------------------------------ */

/*
 * Sign a compact JWS: base64url(header) "." base64url(payload) "."
 * base64url(signature), header exactly {"alg":ALG,"typ":"JWT"}. The
 * signature is verified with the signer's public key before the token is
 * returned. The token is a bearer credential: free it with qsjwt_secret_free().
 */
QSJWT_MUST_USE
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
QSJWT_MUST_USE
qsjwt_err qsjwt_cert_create(qsjwt_signer *s, int64_t now, int days, qsjwt_cert **out);
void qsjwt_cert_free(qsjwt_cert *c);

/* ---- PKCS#11 tokens ------------------------------------------------------ */

/*
 * PIN source for a token that needs a login, asked only when the URI has no
 * pin-source. Write the PIN (no NUL needed) into buf (size bytes) and its
 * length into *len. Return QSJWT_OK, QSJWT_ERR_LOGIN when no PIN is
 * available (after reporting which sources exist), or another error (a PIN
 * file readable by others: QSJWT_ERR_INVALID). `token` is the token label.
 */
typedef qsjwt_err (*qsjwt_pin_fn)(char *buf, size_t size, size_t *len, const char *token,
				  void *ud);

typedef struct {
	const char *uri;         /* RFC 7512 "pkcs11:" URI */
	const char *module_path; /* --pkcs11-module; NULL: the URI's module-path or
				  * module-name, else every module registered with p11-kit */
	int allow_pin_in_uri;    /* accept pin-value in the URI */
	int pin_final_try;       /* try the PIN even when one try is left */
	qsjwt_pin_fn pin_fn;
	void *pin_ud;
	const char *module_init; /* --pkcs11-module-init: C_Initialize's pReserved for a
				  * module named by path (NSS softokn's configdir=...);
				  * NULL: none, or the p11-kit configuration's
				  * x-init-reserved of the registered module with that path */
} qsjwt_pkcs11_opts;

/* Check a URI without touching a token: QSJWT_ERR_INVALID (reported) when it
 * does not parse, uses an attribute we do not support, names a non-private
 * object (for_key), or has pin-value without allow_pin_in_uri. */
QSJWT_MUST_USE
qsjwt_err qsjwt_pkcs11_check_uri(const char *uri, int allow_pin_in_uri, int for_key);

/*
 * A signer over the one RSA private key the URI matches on the one token it
 * matches (QSJWT_ERR_NOT_FOUND otherwise, listing what was seen as URIs).
 * Logs in following the PIN rules (QSJWT_ERR_LOGIN). One module
 * initialisation, one session and one login for the signer's life;
 * qsjwt_signer_free() logs out and finalizes the module.
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_from_pkcs11(const qsjwt_pkcs11_opts *o, qsjwt_signer **out);
/* The same in a read-write session, so that qsjwt_signer_store_cert() can
 * store a certificate beside the key. */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_from_pkcs11_rw(const qsjwt_pkcs11_opts *o, qsjwt_signer **out);

/*
 * Generate an RSA key pair on the token: private key sensitive, never
 * extractable, sign-only; label from the URI's object (required), id from its
 * id or 16 random bytes. bits 0: 4096, lowered to the token's maximum. An
 * object with the same label or id: QSJWT_ERR_EXISTS, nothing created.
 * `cancel` is checked when the token returns. Until qsjwt_signer_keep() the
 * new objects are removed by qsjwt_signer_free().
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_pkcs11_generate(const qsjwt_pkcs11_opts *o, unsigned bits,
				const volatile sig_atomic_t *cancel, qsjwt_signer **out);
/* Store the certificate on the token beside the signer's key (same label
 * and id); a no-op for signers not on a token. For a key that was on the
 * token before, a certificate with the same id already there is
 * QSJWT_ERR_EXISTS. Until qsjwt_signer_keep() the stored certificate is
 * removed by qsjwt_signer_free(). */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_store_cert(qsjwt_signer *s, const qsjwt_cert *c);
/* Keep the objects qsjwt_pkcs11_generate or qsjwt_signer_store_cert
 * created (the run succeeded). */
void qsjwt_signer_keep(qsjwt_signer *s);
/* The key's canonical URI for later runs; NULL for keys not on a token. */
const char *qsjwt_signer_uri(const qsjwt_signer *s);

typedef struct {
	char *label, *manufacturer, *model, *serial, *module;
	char *flags; /* "login-required, token-initialized, ..." */
	char *uri;
} qsjwt_token_desc;

/* Every token of the modules (filtered by uri when not NULL). */
QSJWT_MUST_USE
qsjwt_err qsjwt_pkcs11_list_tokens(const qsjwt_pkcs11_opts *o, qsjwt_token_desc **out,
				   size_t *n);
void qsjwt_token_descs_free(qsjwt_token_desc *d, size_t n);

typedef struct {
	char *label;
	char *id_hex;         /* "01a2..." */
	unsigned bits;
	int sensitive, extractable, always_authenticate; /* 1, 0, -1 unknown */
	int has_cert;
	char *cert_subject;   /* with has_cert */
	char *cert_not_after; /* "YYYY-MM-DDTHH:MM:SSZ" */
	char *uri;
	unsigned char *modulus, *exponent; /* CKA_MODULUS, CKA_PUBLIC_EXPONENT;
					    * NULL when the token hides them */
	size_t modulus_len, exponent_len;
} qsjwt_key_desc;

/* Every RSA private key on the one token the URI matches (login by the PIN
 * rules when the token needs it). */
QSJWT_MUST_USE
qsjwt_err qsjwt_pkcs11_list_keys(const qsjwt_pkcs11_opts *o, qsjwt_key_desc **out, size_t *n);
void qsjwt_key_descs_free(qsjwt_key_desc *d, size_t n);

/* ---- verifying -------------------------------------------------------------- */

/* A public key to verify with: RSA or EC (P-256, P-384, P-521). */
typedef struct qsjwt_pubkey qsjwt_pubkey;

/* From SPKI PEM ("BEGIN PUBLIC KEY"), PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"), or
 * an X.509 certificate in PEM or DER. `what` names the source in messages. */
QSJWT_MUST_USE
qsjwt_err qsjwt_pubkey_from_data(const unsigned char *data, size_t len, const char *what,
				 qsjwt_pubkey **out);
/* The public key object or certificate on a token with the label/id the URI
 * names (no login when those objects are public; else the PIN rules). */
QSJWT_MUST_USE
qsjwt_err qsjwt_pubkey_from_pkcs11(const qsjwt_pkcs11_opts *o, qsjwt_pubkey **out);
/* "RSA 2048 bits", "EC P-256", for messages. Borrowed. */
const char *qsjwt_pubkey_describe(const qsjwt_pubkey *k);
void qsjwt_pubkey_free(qsjwt_pubkey *k);

/* A compact JWS split and decoded (not verified). */
typedef struct qsjwt_jwt qsjwt_jwt;

/* Largest token we decode. */
#define QSJWT_MAX_TOKEN (64 * 1024)

/*
 * Split and decode a compact JWS (surrounding whitespace ignored): three
 * base64url parts, header and payload JSON objects without duplicate member
 * names. QSJWT_ERR_INVALID with a message naming the part that is wrong (a
 * JWE, five parts, is named as such). Free with qsjwt_jwt_free().
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_jwt_decode(const char *text, size_t len, qsjwt_jwt **out);
/* The decoded header and payload JSON, as sent (NUL-terminated). Borrowed. */
const char *qsjwt_jwt_header(const qsjwt_jwt *t);
const char *qsjwt_jwt_payload(const qsjwt_jwt *t);
void qsjwt_jwt_free(qsjwt_jwt *t);

typedef enum { QSJWT_CHECK_PASS = 0, QSJWT_CHECK_FAIL, QSJWT_CHECK_ABSENT } qsjwt_check_result;

typedef struct {
	const char *name;          /* "signature", "exp", "nbf", "iat", "aud", "iss",
				    * "kid", and a profile's "qscloud.*", "qseow.*" */
	qsjwt_check_result result;
	char detail[200];          /* why, in words */
} qsjwt_check;

typedef struct {
	int64_t now;               /* the current time, seconds */
	int64_t skew;              /* clock skew allowed, seconds (>= 0) */
	const char *audience;      /* expected aud; NULL: not checked */
} qsjwt_verify_opts;

#define QSJWT_MAX_CHECKS 24

typedef struct {
	int valid;                 /* every check passed */
	char alg[16];              /* the header's alg (as far as printable) */
	qsjwt_check checks[QSJWT_MAX_CHECKS];
	size_t n_checks;
	const char *reason;        /* the first failed check's detail, or NULL */
} qsjwt_verify_result;

/*
 * Verify the signature with `key` and the claims: exp (not expired), nbf
 * (already valid), iat (not in the future), each with opts->skew, and aud
 * when opts->audience is set. The key decides which algorithms are
 * acceptable (RS256/384/512 for RSA keys of 2048 bits or more, ES256/384/512
 * for the matching EC curve); the header's alg never chooses the key type
 * (RFC 8725 section 3.1), so "none", HMAC and mismatched algorithms fail.
 * Returns QSJWT_OK when the checks could be run (see r->valid).
 * r->valid is 1 only when every check ran and passed: after any error
 * (a negative skew, say) it is 0 and no check is listed.
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_jwt_verify(const qsjwt_jwt *t, const qsjwt_pubkey *key,
			   const qsjwt_verify_opts *o, qsjwt_verify_result *r);

/* ---- Qlik profiles: what each product accepts ---------------------------- */

typedef enum { QSJWT_PROFILE_NONE = 0, QSJWT_PROFILE_QSEOW, QSJWT_PROFILE_QSCLOUD } qsjwt_profile;

/* "qseow", "qscloud" (exact case). */
QSJWT_MUST_USE
qsjwt_err qsjwt_profile_from_name(const char *name, qsjwt_profile *out);

typedef struct {
	qsjwt_profile profile;
	const char *userid_claim;  /* QSEoW: the claim the virtual proxy maps to the
				    * user ID; NULL: "userId" */
	const char *userdir_claim; /* QSEoW: the user directory claim; NULL:
				    * "userDirectory" */
	const char *issuer;        /* expected iss; NULL: not compared */
	const char *keyid;         /* expected header kid; NULL: not compared */
} qsjwt_profile_opts;

/*
 * Append to r (a result of qsjwt_jwt_verify) the checks of the profile, each
 * named "qscloud.<rule>" or "qseow.<rule>", and, with QSJWT_PROFILE_NONE,
 * "iss" and "kid" for an expected issuer and key ID. A failed check clears
 * r->valid. The rules and their sources are in docs/compatibility.md.
 * Returns QSJWT_OK when the checks could be run, QSJWT_ERR_INVALID for a bad
 * profile.
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_profile_check(const qsjwt_jwt *t, const qsjwt_profile_opts *o,
			      qsjwt_verify_result *r);

/* ---- Qlik Cloud ---------------------------------------------------------- */

typedef struct {
	const char *jti;            /* random, base64url */
	const char *sub;
	const char *name;           /* NULL: no claim */
	const char *email;          /* NULL: no claim */
	int email_verified;         /* -1: no claim, else 0/1 */
	const char *const *groups;  /* NULL: no claim */
	size_t n_groups;
	int64_t iat;                /* nbf = iat */
	int64_t exp;
	const char *issuer;         /* iss */
} qsjwt_qscloud_claims;

/* Longest lifetime (exp - nbf, seconds) Qlik Cloud accepts. */
#define QSJWT_QSCLOUD_MAX_LIFETIME 3600

/*
 * The rules Qlik Cloud applies to the claims we issue, beyond their types:
 * exp at most QSJWT_QSCLOUD_MAX_LIFETIME seconds after nbf (nbf = iat). On a
 * broken rule: QSJWT_ERR_INVALID and `why` (why_size bytes, may be NULL)
 * names it ("Qlik Cloud rejects a token whose exp is more than 3600 s after
 * nbf (this one: 7200 s)"); nothing is logged, so a caller can report it as
 * its own usage error. qsjwt_qscloud_payload() applies the same rules.
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_qscloud_check(const qsjwt_qscloud_claims *c, char *why, size_t why_size);

/* Payload keys in order jti, sub, subType ("user"), name, email, groups
 * (an array of strings, the name Qlik Cloud reads), email_verified (a JSON
 * boolean), iat, nbf, exp, aud ("qlik.api/login/jwt-session"), iss.
 * QSJWT_ERR_INVALID (logged) for a string that is not UTF-8 or a claim set
 * qsjwt_qscloud_check() refuses. */
QSJWT_MUST_USE
qsjwt_err qsjwt_qscloud_payload(const qsjwt_qscloud_claims *c, char **json_out,
				size_t *len_out);
/* n random bytes, base64url (for jti and a random sub); caller frees. */
QSJWT_MUST_USE
qsjwt_err qsjwt_random_b64url(size_t n, char **out);

/* ---- JWK --------------------------------------------------------------------- */

/*
 * An RSA public key (modulus n, exponent e: unsigned big-endian, leading
 * zeros ignored) as a JWK (RFC 7517, RFC 7518 section 6.3.1):
 * {"e":"AQAB","kty":"RSA","n":"..."}, and its RFC 7638 thumbprint, the
 * base64url SHA-256 of exactly those bytes. Either out-parameter may be NULL;
 * the strings are the caller's (free()).
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_jwk_rsa(const unsigned char *n, size_t n_len, const unsigned char *e,
			size_t e_len, char **jwk_out, char **thumbprint_out);
/* The same for a signer's public key (any key source). */
QSJWT_MUST_USE
qsjwt_err qsjwt_signer_jwk(const qsjwt_signer *s, char **jwk_out, char **thumbprint_out);

/*
 * The request body that creates a Qlik Cloud JWT identity provider for one
 * key (POST /api/v1/identity-providers; `qlik identity-provider create
 * jwtauth --file`): {"provider":"external","protocol":"jwtAuth",
 * "description":..,"options":{"issuer":ISSUER,"staticKeys":[{"kid":KID,
 * "pem":PEM}]}}, indented, with a final newline. Caller frees.
 */
QSJWT_MUST_USE
qsjwt_err qsjwt_qscloud_idp_json(const char *issuer, const char *kid, const char *pem,
				 char **json_out);

/* As qsjwt_jwt_sign, with "kid" in the header when kid is not NULL:
 * {"alg":ALG,"typ":"JWT","kid":KID}. */
QSJWT_MUST_USE
qsjwt_err qsjwt_jwt_sign_kid(qsjwt_signer *s, qsjwt_alg alg, const char *kid,
			     const char *payload, size_t payload_len, char **token_out);

#ifdef __cplusplus
}
#endif
#endif
