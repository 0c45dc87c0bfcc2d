/*
 * A PKCS#11 module whose C_Initialize fails (CKR_GENERAL_ERROR), for the
 * hardening tests (tests/hardening/test_faults.sh): qs-jwt must report the
 * module and the CKR_* name, exit 4, and print nothing on stdout.
 *
 * Every entry point but C_Initialize is a real module's: the function list of
 * SoftHSM2 (QSJWT_REAL_MODULE, loaded on the first C_GetFunctionList), copied
 * with C_Initialize replaced. So no hand-written stub can drift from the
 * PKCS#11 prototypes, and a caller that went on after the failure would talk
 * to an uninitialised real module (which refuses: CKR_CRYPTOKI_NOT_INITIALIZED)
 * rather than to a stub that pretends.
 */
#define CRYPTOKI_GNU 1
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#ifndef QSJWT_REAL_MODULE
#error "QSJWT_REAL_MODULE must name the PKCS#11 module whose function list is borrowed"
#endif

static struct ck_function_list bad_list;
static ck_rv_t load_rv = CKR_GENERAL_ERROR;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static ck_rv_t bad_Initialize(void *init_args)
{
	(void)init_args;
	return CKR_GENERAL_ERROR;
}

static void load_real(void)
{
	ck_rv_t (*get_list)(struct ck_function_list **) = NULL;
	struct ck_function_list *real = NULL;
	/* Never closed: the copied entry points live in it. */
	void *lib = dlopen(QSJWT_REAL_MODULE, RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL)
		return;
	/* POSIX allows converting dlsym's object pointer to a function pointer. */
	*(void **)&get_list = dlsym(lib, "C_GetFunctionList");
	if (get_list == NULL || get_list(&real) != CKR_OK || real == NULL)
		return;
	bad_list = *real;
	bad_list.C_Initialize = bad_Initialize;
	bad_list.C_GetFunctionList = C_GetFunctionList;
	load_rv = CKR_OK;
}

ck_rv_t C_GetFunctionList(struct ck_function_list **list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pthread_once(&load_once, load_real) != 0 || load_rv != CKR_OK)
		return CKR_GENERAL_ERROR;
	*list = &bad_list;
	return CKR_OK;
}
