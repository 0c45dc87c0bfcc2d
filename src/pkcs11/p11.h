/*
 * The PKCS#11 layer: modules found and initialised through p11-kit, URIs
 * parsed and matched with p11-kit (RFC 7512), and direct Cryptoki calls for
 * everything on the token (docs/design.md decisions 1, 4, 6).
 */
#ifndef QSJWT_P11_H
#define QSJWT_P11_H

#include <stddef.h>

#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include <qsjwt/qsjwt.h>

/* ---- URIs (uri.c) ---------------------------------------------------------- */

/* What a URI is for: signing wants a private key; listing wants anything. */
typedef enum { P11_URI_KEY, P11_URI_TOKEN_FILTER } p11_uri_use;

/*
 * Parse an RFC 7512 URI and check that it uses only the attributes we
 * support (QSJWT_ERR_INVALID naming the first other one), that `type` is
 * `private` when given, and that pin-value is absent unless allowed.
 */
qsjwt_err p11_uri_parse(const char *text, p11_uri_use use, int allow_pin_value,
			P11KitUri **out);

typedef struct p11_modules p11_modules;

/* A paste-able URI for a token, or for an object on it (label/id may be
 * NULL/empty, cls (CKO_*) or (CK_ULONG)-1 for none). The module the user
 * named (m may be NULL) is repeated as module-path= or module-name=, so
 * the URI finds the same module again. Caller frees. */
char *p11_uri_token(const CK_TOKEN_INFO *ti, const p11_modules *m);
char *p11_uri_object(const CK_TOKEN_INFO *ti, CK_OBJECT_CLASS cls, const char *label,
		     const unsigned char *id, size_t id_len, const p11_modules *m);

/* ---- a registered module by name (registry.c) ------------------------------ */

typedef struct {
	char *path; /* the module file */
	char *init; /* x-init-reserved, or NULL */
} p11_registered;

/* The module registered with p11-kit as `name`, read from p11-kit's
 * configuration files without loading any module: 1 found (free with
 * p11_registered_free); 0 when p11-kit must settle it (not registered,
 * disabled in this program, remote:, managed:, log-calls:, a file p11-kit
 * would refuse, ...) or on failure. */
int p11_registry_find(const char *name, p11_registered *out);
void p11_registered_free(p11_registered *r);
/* Parse one p11-kit configuration text as p11_registry_find does: 0 with
 * the number of distinct fields, or -1 where it would hand the file back to
 * p11-kit (the fuzz target's entry). */
int p11_registry_parse(const char *data, size_t len, size_t *n_fields);

/* ---- modules and tokens (module.c) --------------------------------------------- */

typedef struct {
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;      /* only for calls; never shown, never selected by */
	CK_TOKEN_INFO info;
	char *module_name;    /* p11-kit's name or the file name; owned */
	char *label;          /* trimmed token label; owned */
	CK_MECHANISM_TYPE *mechs; /* C_GetMechanismList, read on first use; owned */
	CK_ULONG n_mechs;
	int mechs_read;
} p11_token;

/*
 * Load and initialise the modules to search: the URI's module-path or
 * module-name, else `module_path` (--pkcs11-module), else every module
 * registered with p11-kit. QSJWT_ERR_NOT_FOUND when none can be used.
 */
qsjwt_err p11_modules_open(const P11KitUri *uri, const char *module_path, const char *module_init,
			   p11_modules **out);
/* C_Finalize every module and unload it. */
void p11_modules_close(p11_modules *m);
/* The module path to repeat in listed URIs (NULL when modules came from the
 * p11-kit registry or by name). Borrowed. */
const char *p11_modules_path(const p11_modules *m);
/* The module-name= the module was chosen by (NULL: by path, or the whole
 * registry). Borrowed. */
const char *p11_modules_name(const p11_modules *m);

/* Every token present in the modules that matches uri (NULL: all). */
qsjwt_err p11_tokens_find(p11_modules *m, const P11KitUri *uri, p11_token **out, size_t *n);
void p11_tokens_free(p11_token *t, size_t n);
/* Refresh t->info (flags change after logins). */
qsjwt_err p11_token_refresh(p11_token *t);

/* "CKR_PIN_INCORRECT" and the like. */
const char *p11_rv_name(CK_RV rv);
/* Whether rv says the token, its reader or its connection failed (removed,
 * device error, session lost), as opposed to a refusal of what was asked. */
int p11_rv_device_failure(CK_RV rv);

/* ---- sessions and login (login.c) ---------------------------------------------- */

typedef struct {
	const char *pin_value;   /* from the URI, only when allowed */
	const char *pin_source;  /* from the URI */
	int final_try;           /* --pkcs11-pin-final-try */
	qsjwt_err (*pin_fn)(char *buf, size_t size, size_t *len, const char *token, void *ud);
	void *pin_ud;
} p11_login_opts;

#define P11_PIN_MAX 256

qsjwt_err p11_session_open(p11_token *t, int rw, CK_SESSION_HANDLE *out);
/*
 * Log the user in when the token needs it, following the PIN rules: a locked
 * PIN or a final try (unless allowed) is never tried; a PIN is tried exactly
 * once. When keep_pin is not NULL the PIN is handed back for context-specific
 * logins (wipe it with qsjwt_secret_wipe); else it is wiped at once.
 * *logged_in: 0 no login, P11_LOGIN_OURS we logged in (log out at the end),
 * P11_LOGIN_SHARED the token was logged in already by another user of the
 * module in this process (CKR_USER_ALREADY_LOGGED_IN): use it, never log it
 * out.
 */
#define P11_LOGIN_OURS 1
#define P11_LOGIN_SHARED 2
qsjwt_err p11_login(p11_token *t, CK_SESSION_HANDLE h, const p11_login_opts *o,
		    char *keep_pin, size_t *keep_len, int *logged_in);
/* The login for a CKA_ALWAYS_AUTHENTICATE key, right after C_SignInit. */
qsjwt_err p11_context_login(p11_token *t, CK_SESSION_HANDLE h, const char *pin, size_t len);

/* ---- objects (objects.c) --------------------------------------------------------- */

/* Find up to max objects matching the template. */
qsjwt_err p11_find(p11_token *t, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		   CK_OBJECT_HANDLE *found, CK_ULONG max, CK_ULONG *count);
/* Read one attribute into a new buffer (*len 0 and *val NULL when the
 * attribute is empty). QSJWT_ERR_KEY when it cannot be read. */
qsjwt_err p11_get_attr(p11_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
		       CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len);
/* A CK_BBOOL attribute: 1, 0, or -1 when unreadable. */
int p11_get_bool(p11_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);
/* Whether the slot offers mechanism `mech` with all of `flags`. */
int p11_has_mechanism(p11_token *t, CK_MECHANISM_TYPE mech, CK_FLAGS flags,
		      CK_MECHANISM_INFO *info_out);

#endif
