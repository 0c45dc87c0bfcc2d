/* PKCS#11 modules through p11-kit: registered modules, a module path, or a
 * module name; tokens matched against a URI. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>

#include "pkcs11/p11.h"
#include "platform/platform.h"
#include "util/log.h"

struct p11_modules {
	CK_FUNCTION_LIST **list;     /* NULL-terminated, each initialised */
	CK_FUNCTION_LIST **registry; /* module-name: the whole registry, to release */
	CK_FUNCTION_LIST *single;    /* loaded from a path or chosen by name */
	int unmanaged;               /* single was initialised by us, with init args */
	char *path;                  /* module path to show in URIs */
	char *name;                  /* or the module-name= it was chosen by */
	CK_FUNCTION_LIST *one[2];
};

int p11_rv_device_failure(CK_RV rv)
{
	return rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_MEMORY || rv == CKR_DEVICE_REMOVED ||
	       rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SESSION_HANDLE_INVALID ||
	       rv == CKR_SESSION_CLOSED || rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED;
}

const char *p11_rv_name(CK_RV rv)
{
	static const struct {
		CK_RV rv;
		const char *name;
	} names[] = {
		{ CKR_OK, "CKR_OK" },
		{ CKR_CANCEL, "CKR_CANCEL" },
		{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
		{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
		{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
		{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
		{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
		{ CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY" },
		{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
		{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
		{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
		{ CKR_DATA_INVALID, "CKR_DATA_INVALID" },
		{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
		{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
		{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
		{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
		{ CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED" },
		{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
		{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
		{ CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE" },
		{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
		{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
		{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
		{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
		{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
		{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
		{ CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED" },
		{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
		{ CKR_PIN_INVALID, "CKR_PIN_INVALID" },
		{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
		{ CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED" },
		{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
		{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
		{ CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
		{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
		{ CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY" },
		{ CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID" },
		{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
		{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
		{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
		{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
		{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
		{ CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
		{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
		{ CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
		{ CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID" },
		{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
		{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
		{ CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
	};
	/* Worker threads report token failures too. */
	static _Thread_local char other[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].rv == rv)
			return names[i].name;
	}
	snprintf(other, sizeof(other), "CKR 0x%08lx", (unsigned long)rv);
	return other;
}

/* What to do about CKR_ARGUMENTS_BAD from C_Initialize: modules such as
 * NSS softokn need their configuration in CK_C_INITIALIZE_ARGS.pReserved
 * (PKCS#11 v2.40 section 5.4; p11-kit's module option x-init-reserved). */
static void log_init_failed(const char *what, CK_RV rv, int have_init)
{
	if (rv == CKR_ARGUMENTS_BAD && !have_init)
		log_error("PKCS#11 module '%s' failed to initialise (C_Initialize): %s; it needs "
			  "initialisation arguments (NSS softokn: \"configdir='sql:DIR' "
			  "certPrefix='' keyPrefix='' secmod='secmod.db' flags=\"): give them with "
			  "--pkcs11-module-init, or register the module with p11-kit with "
			  "'x-init-reserved:' and name it with module-name=",
			  what, p11_rv_name(rv));
	else if (rv == CKR_ARGUMENTS_BAD)
		log_error("PKCS#11 module '%s' failed to initialise (C_Initialize): %s; it does "
			  "not accept the --pkcs11-module-init string (see the module's "
			  "documentation)",
			  what, p11_rv_name(rv));
	else
		log_error("PKCS#11 module '%s' failed to initialise (C_Initialize): %s", what,
			  p11_rv_name(rv));
}

/* The registered module whose file is `path`, initialised with its p11-kit
 * configuration (x-init-reserved among it); NULL when none is. */
static CK_FUNCTION_LIST *registered_for_path(p11_modules *m, const char *path)
{
	CK_FUNCTION_LIST *found = NULL;

	m->registry = p11_kit_modules_load(NULL, 0);
	for (size_t i = 0; m->registry != NULL && m->registry[i] != NULL && found == NULL; i++) {
		char *file = p11_kit_module_get_filename(m->registry[i]);
		/* The same file, whatever the spelling of its path (symlinks). */
		if (file != NULL && plat_same_file(file, path))
			found = m->registry[i];
		free(file);
	}
	if (found == NULL || p11_kit_module_initialize(found) != CKR_OK) {
		if (m->registry != NULL)
			p11_kit_modules_release(m->registry);
		m->registry = NULL;
		return NULL;
	}
	return found;
}

/* C_Initialize through p11-kit (managed), or, with init (--pkcs11-module-init
 * or a module file's x-init-reserved), ours with that string as pReserved
 * (PKCS#11 v2.40 5.4); the module must then have been loaded unmanaged. */
static CK_RV module_init(p11_modules *m, const char *init)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	if (init == NULL)
		return p11_kit_module_initialize(m->single);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	args.pReserved = (void *)init;
	rv = m->single->C_Initialize(&args);
	m->unmanaged = rv == CKR_OK;
	return rv;
}

static qsjwt_err load_path(p11_modules *m, const char *path, const char *init)
{
	char *native;
	CK_RV rv;

	if (plat_path_is_dir(path, 1) < 0) {
		log_error("cannot load PKCS#11 module '%s': %s", path, strerror(errno));
		return QSJWT_ERR_NOT_FOUND;
	}
	native = plat_path_native(path);
	if (native == NULL)
		return QSJWT_ERR_NOMEM;
	/* With init arguments the module is ours alone: p11-kit's managed
	 * C_Initialize would pass its own (none for a module given by path). */
	m->single = p11_kit_module_load(native, init != NULL ? P11_KIT_MODULE_UNMANAGED : 0);
	free(native);
	if (m->single == NULL) {
		const char *why = p11_kit_message();
		log_error("cannot load PKCS#11 module '%s': %s", path,
			  why != NULL ? why : "not a PKCS#11 module");
		return QSJWT_ERR_NOT_FOUND;
	}
	rv = module_init(m, init);
	if (rv == CKR_ARGUMENTS_BAD && init == NULL) {
		/* A registered module's configuration may carry what it needs. */
		CK_FUNCTION_LIST *reg = registered_for_path(m, path);
		if (reg != NULL) {
			char *name = p11_kit_module_get_name(reg);
			log_verbose(
			    "PKCS#11 module '%s': initialised with the p11-kit configuration "
			    "of module '%s'",
			    path, name != NULL ? name : "?");
			free(name);
			p11_kit_module_release(m->single);
			m->single = reg;
			rv = CKR_OK;
		}
	}
	if (rv != CKR_OK) {
		log_init_failed(path, rv, init != NULL);
		p11_kit_module_release(m->single);
		m->single = NULL;
		return QSJWT_ERR_NOT_FOUND;
	}
	m->path = strdup(path);
	m->one[0] = m->single;
	m->list = m->one;
	log_verbose("PKCS#11 module '%s'%s", path,
		    init != NULL ? ", with the --pkcs11-module-init string" : "");
	return m->path != NULL ? QSJWT_OK : QSJWT_ERR_NOMEM;
}

/* The module registered as `name`, loaded alone from what p11-kit's
 * configuration says (registry.c): 1 loaded, 0 left to the registry, -1
 * failed (reported). */
static int load_registered(p11_modules *m, const char *name)
{
	p11_registered reg;
	CK_RV rv;

	if (p11_registry_find(name, &reg) != 1)
		return 0;
	m->single = p11_kit_module_load(reg.path, reg.init != NULL ? P11_KIT_MODULE_UNMANAGED : 0);
	if (m->single == NULL) {
		const char *why = p11_kit_message();
		log_error("cannot load PKCS#11 module '%s' (%s, registered with p11-kit): %s", name,
			  reg.path, why != NULL ? why : "not a PKCS#11 module");
		p11_registered_free(&reg);
		return -1;
	}
	rv = module_init(m, reg.init);
	if (rv != CKR_OK) {
		if (reg.init != NULL)
			log_error("PKCS#11 module '%s' failed to initialise (C_Initialize) with the "
				  "x-init-reserved of its p11-kit module file: %s",
				  name, p11_rv_name(rv));
		else
			log_init_failed(name, rv, 0);
		p11_kit_module_release(m->single);
		m->single = NULL;
		p11_registered_free(&reg);
		return -1;
	}
	log_verbose("PKCS#11 module '%s' (registered with p11-kit: %s), loaded alone%s", name,
		    reg.path, reg.init != NULL ? ", with its x-init-reserved" : "");
	p11_registered_free(&reg);
	return 1;
}

static qsjwt_err load_name(p11_modules *m, const char *name)
{
	int alone = load_registered(m, name);
	CK_RV rv;

	if (alone < 0)
		return QSJWT_ERR_NOT_FOUND;
	if (alone == 0) {
		/* What registry.c leaves to p11-kit: its whole registry is opened
		 * (no module initialised but this one). */
		m->registry = p11_kit_modules_load(NULL, 0);
		if (m->registry == NULL) {
			const char *why = p11_kit_message();
			log_error("cannot read the PKCS#11 modules registered with p11-kit: %s",
				  why != NULL ? why : "unknown error");
			return QSJWT_ERR_NOT_FOUND;
		}
		m->single = p11_kit_module_for_name(m->registry, name);
		if (m->single == NULL) {
			log_error("no PKCS#11 module named '%s' is registered with p11-kit "
				  "(see 'p11-kit list-modules')",
				  name);
			return QSJWT_ERR_NOT_FOUND;
		}
		rv = p11_kit_module_initialize(m->single);
		if (rv != CKR_OK) {
			log_init_failed(name, rv, 0);
			m->single = NULL;
			return QSJWT_ERR_NOT_FOUND;
		}
		log_verbose("PKCS#11 module '%s' (registered with p11-kit; found through its "
			    "registry)",
			    name);
	}
	m->one[0] = m->single;
	m->list = m->one;
	m->name = strdup(name);
	return m->name != NULL ? QSJWT_OK : QSJWT_ERR_NOMEM;
}

qsjwt_err p11_modules_open(const P11KitUri *uri, const char *module_path, const char *module_init,
			   p11_modules **out)
{
	const char *uri_path = uri != NULL ? p11_kit_uri_get_module_path(uri) : NULL;
	const char *uri_name = uri != NULL ? p11_kit_uri_get_module_name(uri) : NULL;
	p11_modules *m = calloc(1, sizeof(*m));
	qsjwt_err rc;

	if (m == NULL)
		return QSJWT_ERR_NOMEM;
	/* p11-kit would print its own lines on stderr; we report its message. */
	p11_kit_be_quiet();
	if ((uri_path != NULL || uri_name != NULL) && module_path != NULL)
		log_warn("the PKCS#11 URI names the module; --pkcs11-module '%s' is ignored",
			 module_path);
	if (module_init != NULL && uri_path == NULL && module_path == NULL) {
		log_error("--pkcs11-module-init needs the module named by path (--pkcs11-module "
			  "or the URI's module-path=); a module named with module-name= takes "
			  "its p11-kit configuration's x-init-reserved");
		rc = QSJWT_ERR_INVALID;
	} else if (uri_path != NULL) {
		rc = load_path(m, uri_path, module_init);
	} else if (uri_name != NULL) {
		rc = load_name(m, uri_name);
	} else if (module_path != NULL) {
		rc = load_path(m, module_path, module_init);
	} else {
		m->list = p11_kit_modules_load_and_initialize(0);
		if (m->list == NULL) {
			const char *why = p11_kit_message();
			log_error("cannot load the PKCS#11 modules registered with p11-kit: %s",
				  why != NULL ? why : "unknown error");
			rc = QSJWT_ERR_NOT_FOUND;
		} else {
			log_verbose("PKCS#11 modules: all registered with p11-kit");
			rc = QSJWT_OK;
		}
	}
	if (rc != QSJWT_OK) {
		p11_modules_close(m);
		return rc;
	}
	*out = m;
	return QSJWT_OK;
}

void p11_modules_close(p11_modules *m)
{
	if (m == NULL)
		return;
	if (m->list != NULL && m->list != m->one) {
		p11_kit_modules_finalize_and_release(m->list);
	} else if (m->single != NULL && m->unmanaged) {
		m->single->C_Finalize(NULL);
		p11_kit_module_release(m->single);
	} else if (m->single != NULL) {
		p11_kit_module_finalize(m->single);
		if (m->registry == NULL)
			p11_kit_module_release(m->single);
	}
	if (m->registry != NULL)
		p11_kit_modules_release(m->registry);
	free(m->path);
	free(m->name);
	free(m);
}

const char *p11_modules_path(const p11_modules *m)
{
	return m->path;
}

const char *p11_modules_name(const p11_modules *m)
{
	return m->name;
}

static char *module_name(const p11_modules *m, CK_FUNCTION_LIST *f)
{
	/* A module loaded alone by name is, to p11-kit, one given by path. */
	char *name = m->name != NULL ? strdup(m->name) : p11_kit_module_get_name(f);

	if (name == NULL)
		name = p11_kit_module_get_filename(f);
	return name != NULL ? name : strdup("?");
}

void p11_tokens_free(p11_token *t, size_t n)
{
	for (size_t i = 0; t != NULL && i < n; i++) {
		free(t[i].module_name);
		free(t[i].label);
		free(t[i].mechs);
	}
	free(t);
}

qsjwt_err p11_token_refresh(p11_token *t)
{
	CK_RV rv = t->f->C_GetTokenInfo(t->slot, &t->info);

	if (rv != CKR_OK) {
		log_error("cannot read the state of token '%s': %s", t->label, p11_rv_name(rv));
		return rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED ? QSJWT_ERR_NOT_FOUND
									       : QSJWT_ERR_IO;
	}
	return QSJWT_OK;
}

qsjwt_err p11_tokens_find(p11_modules *m, const P11KitUri *uri, p11_token **out, size_t *n_out)
{
	p11_token *found = NULL, *grown;
	size_t n = 0;

	for (size_t i = 0; m->list[i] != NULL; i++) {
		CK_FUNCTION_LIST *f = m->list[i];
		CK_SLOT_ID *slots = NULL;
		CK_ULONG count = 0;
		CK_INFO info;

		if (f->C_GetInfo(&info) != CKR_OK)
			continue;
		if (uri != NULL && !p11_kit_uri_match_module_info(uri, &info))
			continue;
		if (f->C_GetSlotList(CK_TRUE, NULL, &count) != CKR_OK || count == 0)
			continue;
		slots = calloc(count, sizeof(*slots));
		if (slots == NULL || f->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK) {
			free(slots);
			continue;
		}
		for (CK_ULONG s = 0; s < count; s++) {
			p11_token t;
			memset(&t, 0, sizeof(t));
			t.f = f;
			t.slot = slots[s];
			if (f->C_GetTokenInfo(slots[s], &t.info) != CKR_OK)
				continue;
			if (uri != NULL && !p11_kit_uri_match_token_info(uri, &t.info))
				continue;
			grown = realloc(found, (n + 1) * sizeof(*found));
			if (grown == NULL) {
				free(slots);
				p11_tokens_free(found, n);
				return QSJWT_ERR_NOMEM;
			}
			found = grown;
			t.module_name = module_name(m, f);
			t.label = p11_kit_space_strdup(t.info.label, sizeof(t.info.label));
			found[n++] = t;
		}
		free(slots);
	}
	*out = found;
	*n_out = n;
	return QSJWT_OK;
}
