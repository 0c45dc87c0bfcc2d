/* Sessions and the user login, with the PIN rules of docs/design.md decision 5:
 * a locked or final-try PIN is not tried; a PIN is tried exactly once. */
#include <string.h>

#include "pkcs11/p11.h"
#include "pkcs11/uri_check.h"
#include "util/log.h"
#include "util/secret_file.h"

qsjwt_err p11_session_open(p11_token *t, int rw, CK_SESSION_HANDLE *out)
{
	CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	CK_RV rv = t->f->C_OpenSession(t->slot, flags, NULL, NULL, out);

	if (rv != CKR_OK) {
		log_error("cannot open a session on token '%s': %s", t->label, p11_rv_name(rv));
		return rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED ? QSJWT_ERR_NOT_FOUND
									       : QSJWT_ERR_IO;
	}
	return QSJWT_OK;
}

static qsjwt_err get_pin(p11_token *t, const p11_login_opts *o, char *pin, size_t *len)
{
	qsjwt_err rc;
	char *secret = NULL, why[SECRET_FILE_WHY_MAX];
	size_t n = 0;

	if (o->pin_value != NULL) {
		n = strlen(o->pin_value);
		if (n >= P11_PIN_MAX) {
			log_error("the PIN in the PKCS#11 URI (pin-value) is longer than %d bytes",
				  P11_PIN_MAX - 1);
			return QSJWT_ERR_INVALID;
		}
		memcpy(pin, o->pin_value, n);
		*len = n;
		log_verbose("PIN for token '%s' from the URI's pin-value", t->label);
		return QSJWT_OK;
	}
	if (o->pin_source != NULL) {
		const char *path = p11_pin_source_path(o->pin_source, why, sizeof(why));
		if (path == NULL) {
			log_error("%s", why);
			return QSJWT_ERR_INVALID;
		}
		rc = secret_file_read(path, "PIN file (pin-source)", &secret, &n, why, sizeof(why));
		if (rc != QSJWT_OK) {
			log_error("%s", why);
			return rc;
		}
		if (n >= P11_PIN_MAX) {
			log_error("the PIN in '%s' is longer than %d bytes", path, P11_PIN_MAX - 1);
			qsjwt_secret_free(secret);
			return QSJWT_ERR_INVALID;
		}
		memcpy(pin, secret, n);
		qsjwt_secret_free(secret);
		*len = n;
		log_verbose("PIN for token '%s' from the URI's pin-source '%s'", t->label, path);
		return QSJWT_OK;
	}
	if (o->pin_fn != NULL)
		return o->pin_fn(pin, P11_PIN_MAX, len, t->label, o->pin_ud);
	log_error("token '%s' needs a PIN and no PIN source was given", t->label);
	return QSJWT_ERR_LOGIN;
}

qsjwt_err p11_login(p11_token *t, CK_SESSION_HANDLE h, const p11_login_opts *o,
		    char *keep_pin, size_t *keep_len, int *logged_in)
{
	qsjwt_err rc;
	CK_FLAGS flags;
	char pin[P11_PIN_MAX];
	size_t len = 0;
	CK_RV rv;

	*logged_in = 0;
	rc = p11_token_refresh(t);
	if (rc != QSJWT_OK)
		return rc;
	flags = t->info.flags;
	if (!(flags & CKF_LOGIN_REQUIRED)) {
		log_verbose("token '%s' needs no login", t->label);
		return QSJWT_OK;
	}
	/* Read the counters before trying (PKCS#11 v2.40 section 3.2, token
	 * information flags): a try on a locked or final-try PIN can brick a
	 * smartcard. */
	if (flags & CKF_USER_PIN_LOCKED) {
		log_error("the user PIN of token '%s' is locked; not trying. Unlock it with the "
			  "SO PIN (e.g. pkcs11-tool --login --login-type so --init-pin)",
			  t->label);
		return QSJWT_ERR_LOGIN;
	}
	if ((flags & CKF_USER_PIN_FINAL_TRY) && !o->final_try) {
		log_error("token '%s' allows one more PIN try before it locks; not trying. "
			  "Make sure of the PIN, then run again with --pkcs11-pin-final-try",
			  t->label);
		return QSJWT_ERR_LOGIN;
	}
	if (flags & CKF_USER_PIN_COUNT_LOW)
		log_warn("token '%s' reports failed PIN tries: few tries are left before the PIN "
			 "locks",
			 t->label);
	if (flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		log_info("enter the PIN for token '%s' on the reader's PIN pad", t->label);
		rv = t->f->C_Login(h, CKU_USER, NULL, 0);
	} else {
		rc = get_pin(t, o, pin, &len);
		if (rc != QSJWT_OK)
			goto out;
		rv = t->f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, (CK_ULONG)len);
	}
	switch (rv) {
	case CKR_OK:
	case CKR_USER_ALREADY_LOGGED_IN:
		*logged_in = rv == CKR_OK ? P11_LOGIN_OURS : P11_LOGIN_SHARED;
		if (rv == CKR_OK)
			log_verbose("logged in to token '%s'", t->label);
		else
			log_verbose("token '%s' is logged in already (by another user of the module "
				    "in this process): using that login, and not logging it out",
				    t->label);
		rc = QSJWT_OK;
		if (keep_pin != NULL) {
			memcpy(keep_pin, pin, len);
			*keep_len = len;
		}
		break;
	case CKR_PIN_INCORRECT:
		log_error("wrong PIN for token '%s'. It was tried once and is not retried: each "
			  "wrong try brings the PIN closer to being locked",
			  t->label);
		rc = QSJWT_ERR_LOGIN;
		break;
	case CKR_PIN_LOCKED:
		log_error("the user PIN of token '%s' is locked", t->label);
		rc = QSJWT_ERR_LOGIN;
		break;
	case CKR_PIN_EXPIRED:
		log_error("the user PIN of token '%s' has expired; set a new one first (e.g. "
			  "pkcs11-tool --login --change-pin), then run again",
			  t->label);
		rc = QSJWT_ERR_LOGIN;
		break;
	case CKR_PIN_LEN_RANGE:
		/* Not the PIN's own length: even that is not logged. */
		log_error("token '%s' does not accept a PIN of that length (it takes %lu to %lu "
			  "characters); check the PIN source (a PIN file's one trailing newline is "
			  "ignored)",
			  t->label, (unsigned long)t->info.ulMinPinLen,
			  (unsigned long)t->info.ulMaxPinLen);
		rc = QSJWT_ERR_LOGIN;
		break;
	case CKR_USER_PIN_NOT_INITIALIZED:
		log_error("token '%s' has no user PIN yet; set one with the SO PIN first (e.g. "
			  "pkcs11-tool --login --login-type so --init-pin)",
			  t->label);
		rc = QSJWT_ERR_LOGIN;
		break;
	case CKR_FUNCTION_CANCELED:
		log_error("the PIN entry for token '%s' was cancelled on the reader; nothing was "
			  "signed. Run again and enter the PIN on the PIN pad",
			  t->label);
		rc = QSJWT_ERR_LOGIN;
		break;
	default:
		if (p11_rv_device_failure(rv)) {
			/* Not a PIN problem: the token or the connection to it
			 * failed (exit 1, not 5). */
			log_error("token '%s' failed during the login: %s (a token or connection "
				  "failure, not a wrong PIN)",
				  t->label, p11_rv_name(rv));
			rc = QSJWT_ERR_IO;
			break;
		}
		log_error("cannot log in to token '%s': %s", t->label, p11_rv_name(rv));
		rc = QSJWT_ERR_LOGIN;
		break;
	}
out:
	qsjwt_secret_wipe(pin, sizeof(pin));
	return rc;
}

qsjwt_err p11_context_login(p11_token *t, CK_SESSION_HANDLE h, const char *pin, size_t len)
{
	CK_RV rv;

	/* PKCS#11 v2.40 section 4.9, CKA_ALWAYS_AUTHENTICATE: the user must
	 * log in with CKU_CONTEXT_SPECIFIC after each C_SignInit. */
	if (t->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		log_info("enter the PIN for token '%s' on the reader's PIN pad (the key asks for "
			 "it on every signature)",
			 t->label);
		rv = t->f->C_Login(h, CKU_CONTEXT_SPECIFIC, NULL, 0);
	} else {
		rv = t->f->C_Login(h, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)pin, (CK_ULONG)len);
	}
	if (rv != CKR_OK) {
		log_error("the key on token '%s' asks for the PIN again for every signature "
			  "(CKA_ALWAYS_AUTHENTICATE), and that login failed: %s; nothing was signed. "
			  "Check the PIN source: this key may take a PIN of its own (some cards have "
			  "a signature PIN)",
			  t->label, p11_rv_name(rv));
		return p11_rv_device_failure(rv) ? QSJWT_ERR_IO : QSJWT_ERR_LOGIN;
	}
	return QSJWT_OK;
}
