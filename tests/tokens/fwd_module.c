/*
 * A PKCS#11 module for the tests that forwards every call to a real module
 * (SoftHSM2) and changes a few answers, chosen by environment variables.
 *
 * Why a forwarding module: the answers tested here are ones no real module
 * can be made to give on demand. SoftHSM2 has no session limit that can be
 * set, and tpm2-pkcs11 (1024), openCryptoki and NSS report none or one far
 * above --jobs' range; a PIN that has expired, a PIN entry cancelled on a
 * PIN pad, a PIN length a token refuses at C_Login (SoftHSM2 answers
 * CKR_PIN_INCORRECT for any PIN it does not take) and a failed login for
 * one signature come from cards and HSMs we cannot run in a test. Every
 * other call, the key, the signatures and the login state are SoftHSM2's
 * own.
 *
 *   QSJWT_FWD_TARGET=PATH          the real module (required)
 *   QSJWT_FWD_SESSIONS=N           C_OpenSession answers CKR_SESSION_COUNT while
 *                                  N sessions of this process are open; the
 *                                  token info says ulMaxSessionCount N
 *   QSJWT_FWD_REPORT_SESSIONS=0    ... but says CK_EFFECTIVELY_INFINITE (a token
 *                                  that refuses without saying so first)
 *   QSJWT_FWD_LOGIN=CKR_NAME       C_Login(CKU_USER) answers that, unforwarded
 *   QSJWT_FWD_CONTEXT_LOGIN=CKR_NAME   the same for CKU_CONTEXT_SPECIFIC
 *   QSJWT_FWD_CONTEXT_DELAY_MS=N   ... answered after N ms (as a person at a
 *                                  PIN pad would), so that other threads'
 *                                  signatures start meanwhile
 *   QSJWT_FWD_PIN_PAD=1            the token reports a PIN pad
 *                                  (CKF_PROTECTED_AUTHENTICATION_PATH)
 *   QSJWT_FWD_LOG=PATH             one line per C_OpenSession, C_Login,
 *                                  C_SignInit, C_Sign with its answer; when a
 *                                  session that signed is closed or logged
 *                                  out, the forwarder first tries C_SignInit
 *                                  on it itself and logs "probe C_SignInit
 *                                  RV": an operation left active shows as
 *                                  CKR_OPERATION_ACTIVE.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define MAX_TRACKED 64

static const struct {
	const char *name;
	CK_RV rv;
} rv_names[] = {
	{ "CKR_OK", CKR_OK },
	{ "CKR_FUNCTION_CANCELED", CKR_FUNCTION_CANCELED },
	{ "CKR_OPERATION_ACTIVE", CKR_OPERATION_ACTIVE },
	{ "CKR_OPERATION_NOT_INITIALIZED", CKR_OPERATION_NOT_INITIALIZED },
	{ "CKR_PIN_INCORRECT", CKR_PIN_INCORRECT },
	{ "CKR_PIN_LEN_RANGE", CKR_PIN_LEN_RANGE },
	{ "CKR_PIN_EXPIRED", CKR_PIN_EXPIRED },
	{ "CKR_PIN_LOCKED", CKR_PIN_LOCKED },
	{ "CKR_SESSION_COUNT", CKR_SESSION_COUNT },
	{ "CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN },
	{ "CKR_USER_PIN_NOT_INITIALIZED", CKR_USER_PIN_NOT_INITIALIZED },
	{ "CKR_USER_ALREADY_LOGGED_IN", CKR_USER_ALREADY_LOGGED_IN },
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST fwd;
static unsigned long open_sessions;
/* Sessions that started a signature, with the last mechanism and key. */
static struct {
	CK_SESSION_HANDLE h;
	CK_MECHANISM_TYPE mech;
	CK_OBJECT_HANDLE key;
} signed_in[MAX_TRACKED];

static const char *rv_name(CK_RV rv)
{
	static char buf[32];

	for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++) {
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	}
	snprintf(buf, sizeof(buf), "0x%lx", (unsigned long)rv);
	return buf;
}

/* The CK_RV an environment variable names; -1 when unset or unknown. */
static long env_rv(const char *var)
{
	const char *v = getenv(var);

	for (size_t i = 0; v != NULL && i < sizeof(rv_names) / sizeof(rv_names[0]); i++) {
		if (strcmp(rv_names[i].name, v) == 0)
			return (long)rv_names[i].rv;
	}
	return -1;
}

static unsigned long env_num(const char *var, unsigned long dflt)
{
	const char *v = getenv(var);

	return v != NULL && *v != '\0' ? strtoul(v, NULL, 10) : dflt;
}

/* A line of words (b may be NULL) in QSJWT_FWD_LOG. Under mu. */
static void log_words(const char *call, const char *a, const char *b)
{
	const char *path = getenv("QSJWT_FWD_LOG");
	FILE *f;

	if (path == NULL || (f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "%s %s%s%s\n", call, a, b != NULL ? " " : "", b != NULL ? b : "");
	fclose(f);
}

static CK_RV fwd_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	CK_RV rv = real->C_GetTokenInfo(slot, info);
	unsigned long limit = env_num("QSJWT_FWD_SESSIONS", 0);

	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&mu);
	if (limit > 0 && env_num("QSJWT_FWD_REPORT_SESSIONS", 1) != 0) {
		info->ulMaxSessionCount = limit;
		info->ulSessionCount = open_sessions;
	} else if (limit > 0) {
		info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	}
	pthread_mutex_unlock(&mu);
	if (env_num("QSJWT_FWD_PIN_PAD", 0) != 0)
		info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
	return CKR_OK;
}

static CK_RV fwd_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
			     CK_SESSION_HANDLE_PTR h)
{
	unsigned long limit = env_num("QSJWT_FWD_SESSIONS", 0);
	CK_RV rv;

	pthread_mutex_lock(&mu);
	if (limit > 0 && open_sessions >= limit) {
		rv = CKR_SESSION_COUNT;
	} else {
		rv = real->C_OpenSession(slot, flags, app, notify, h);
		if (rv == CKR_OK)
			open_sessions++;
	}
	log_words("C_OpenSession", rv_name(rv), NULL);
	pthread_mutex_unlock(&mu);
	return rv;
}

/* The probe of the sessions that signed (all: h CK_INVALID_HANDLE), once
 * each. Under mu. */
static void probe_locked(CK_SESSION_HANDLE h)
{
	for (size_t i = 0; i < MAX_TRACKED; i++) {
		if (signed_in[i].h == CK_INVALID_HANDLE ||
		    (h != CK_INVALID_HANDLE && signed_in[i].h != h))
			continue;
		if (getenv("QSJWT_FWD_LOG") != NULL) {
			CK_MECHANISM m = { signed_in[i].mech, NULL, 0 };
			log_words("probe C_SignInit",
				  rv_name(real->C_SignInit(signed_in[i].h, &m, signed_in[i].key)), NULL);
		}
		signed_in[i].h = CK_INVALID_HANDLE;
	}
}

/* Before the logout: a private key's handle is not valid after it. */
static CK_RV fwd_Logout(CK_SESSION_HANDLE h)
{
	pthread_mutex_lock(&mu);
	probe_locked(CK_INVALID_HANDLE);
	pthread_mutex_unlock(&mu);
	return real->C_Logout(h);
}

static CK_RV fwd_CloseSession(CK_SESSION_HANDLE h)
{
	CK_RV rv;

	pthread_mutex_lock(&mu);
	if (h != CK_INVALID_HANDLE)
		probe_locked(h);
	rv = real->C_CloseSession(h);
	if (rv == CKR_OK && open_sessions > 0)
		open_sessions--;
	pthread_mutex_unlock(&mu);
	return rv;
}

static CK_RV fwd_CloseAllSessions(CK_SLOT_ID slot)
{
	CK_RV rv;

	pthread_mutex_lock(&mu);
	rv = real->C_CloseAllSessions(slot);
	if (rv == CKR_OK)
		open_sessions = 0;
	pthread_mutex_unlock(&mu);
	return rv;
}

static CK_RV fwd_Login(CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	long forced = env_rv(type == CKU_CONTEXT_SPECIFIC ? "QSJWT_FWD_CONTEXT_LOGIN"
							   : "QSJWT_FWD_LOGIN");
	CK_RV rv;

	if (type == CKU_SO)
		forced = -1;
	if (type == CKU_CONTEXT_SPECIFIC && forced >= 0) {
		unsigned long ms = env_num("QSJWT_FWD_CONTEXT_DELAY_MS", 0);
		struct timespec d = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
	}
	rv = forced >= 0 ? (CK_RV)forced : real->C_Login(h, type, pin, len);
	pthread_mutex_lock(&mu);
	log_words("C_Login",
		    type == CKU_USER ? "CKU_USER" : type == CKU_CONTEXT_SPECIFIC ? "CKU_CONTEXT_SPECIFIC"
										 : "CKU_SO",
		    rv_name(rv));
	pthread_mutex_unlock(&mu);
	return rv;
}

static CK_RV fwd_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key)
{
	CK_RV rv = real->C_SignInit(h, m, key);

	pthread_mutex_lock(&mu);
	for (size_t i = 0; rv == CKR_OK && i < MAX_TRACKED; i++) {
		if (signed_in[i].h == h || signed_in[i].h == CK_INVALID_HANDLE) {
			signed_in[i].h = h;
			signed_in[i].mech = m->mechanism;
			signed_in[i].key = key;
			break;
		}
	}
	log_words("C_SignInit", rv_name(rv), NULL);
	pthread_mutex_unlock(&mu);
	return rv;
}

static CK_RV fwd_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
		      CK_ULONG_PTR sig_len)
{
	CK_RV rv = real->C_Sign(h, data, len, sig, sig_len);

	pthread_mutex_lock(&mu);
	log_words("C_Sign", rv_name(rv), NULL);
	pthread_mutex_unlock(&mu);
	return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	const char *target = getenv("QSJWT_FWD_TARGET");
	void *lib;

	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&mu);
	if (real == NULL) {
		lib = target != NULL ? dlopen(target, RTLD_NOW | RTLD_LOCAL) : NULL;
		*(void **)&get = lib != NULL ? dlsym(lib, "C_GetFunctionList") : NULL;
		if (get == NULL || get(&real) != CKR_OK || real == NULL) {
			real = NULL;
			pthread_mutex_unlock(&mu);
			fprintf(stderr, "fwd_module: cannot load QSJWT_FWD_TARGET '%s'\n",
				target != NULL ? target : "");
			return CKR_GENERAL_ERROR;
		}
		fwd = *real;
		fwd.C_GetTokenInfo = fwd_GetTokenInfo;
		fwd.C_OpenSession = fwd_OpenSession;
		fwd.C_CloseSession = fwd_CloseSession;
		fwd.C_CloseAllSessions = fwd_CloseAllSessions;
		fwd.C_Login = fwd_Login;
		fwd.C_Logout = fwd_Logout;
		fwd.C_SignInit = fwd_SignInit;
		fwd.C_Sign = fwd_Sign;
		for (size_t i = 0; i < MAX_TRACKED; i++)
			signed_in[i].h = CK_INVALID_HANDLE;
	}
	pthread_mutex_unlock(&mu);
	*out = &fwd;
	return CKR_OK;
}
