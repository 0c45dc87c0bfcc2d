/*
 * The raw PKCS#11 signing rate of a module, as the baseline that
 * scripts/bench.sh compares `create-qseow --batch` with: what a program does
 * that only signs, with nothing around it (no JSON, no base64url, no
 * verification, no p11-kit registry).
 *
 *   p11_sign_loop MODULE TOKEN_LABEL KEY_LABEL PIN_FILE INPUT_FILE THREADS SECONDS
 *
 * dlopen()s MODULE, C_Initialize with CKF_OS_LOCKING_OK (the module may be
 * called from several threads), finds the token and the private key by
 * label, logs in once (the PIN from PIN_FILE: never an argument, where other
 * users could read it), then THREADS threads, each with its own session, run
 * C_SignInit + C_Sign (CKM_SHA256_RSA_PKCS) over the bytes of INPUT_FILE for
 * SECONDS seconds (at least one signature each). Prints the signatures per
 * second (all threads together) on stdout, details on stderr. Exit 0, or 1
 * on any failure.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define MAX_THREADS 64
#define MAX_INPUT (64 * 1024)
#define MAX_SIG 1024 /* RSA-8192 */
#define PIN_MAX 256

typedef struct {
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE key;
	const unsigned char *input;
	CK_ULONG input_len;
	double seconds;
	pthread_barrier_t *start;
	/* results */
	unsigned long count;
	CK_RV rv;
	const char *failed_call;
} loop_arg;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The bytes of a file (at most max), or NULL with a message. */
static unsigned char *read_file(const char *path, size_t max, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0;

	if (fp == NULL) {
		fprintf(stderr, "p11_sign_loop: cannot read '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf != NULL)
		n = fread(buf, 1, max + 1, fp);
	if (buf == NULL || ferror(fp) || n > max) {
		fprintf(stderr, "p11_sign_loop: cannot read '%s' (error, or over %zu bytes)\n", path,
			max);
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	*len = n;
	return buf;
}

/* Wipe that the compiler may not drop (the PIN). */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static void *sign_loop(void *p)
{
	loop_arg *a = p;
	CK_MECHANISM mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_SESSION_HANDLE session;
	unsigned char sig[MAX_SIG];
	CK_ULONG sig_len;
	double end;

	/* Its own session, opened before the clock starts: sessions are what a
	 * batch worker holds for the whole run. */
	a->rv = a->f->C_OpenSession(a->slot, CKF_SERIAL_SESSION, NULL, NULL, &session);
	if (a->rv != CKR_OK)
		a->failed_call = "C_OpenSession";
	pthread_barrier_wait(a->start);
	if (a->rv != CKR_OK)
		return NULL;
	end = now() + a->seconds;
	/* At least one signature, however short SECONDS: the benchmark also
	 * times a single login + signature this way. */
	do {
		a->rv = a->f->C_SignInit(session, &mech, a->key);
		if (a->rv != CKR_OK) {
			a->failed_call = "C_SignInit";
			break;
		}
		sig_len = sizeof(sig);
		a->rv = a->f->C_Sign(session, (CK_BYTE *)a->input, a->input_len, sig, &sig_len);
		if (a->rv != CKR_OK) {
			a->failed_call = "C_Sign";
			break;
		}
		a->count++;
	} while (now() < end);
	a->f->C_CloseSession(session);
	return NULL;
}

/* The slot whose initialised token has this label (the label field is
 * blank-padded to 32 bytes, PKCS#11 v2.40 section 3.2 CK_TOKEN_INFO). */
static int find_slot(CK_FUNCTION_LIST *f, const char *label, CK_SLOT_ID *out)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	size_t len = strlen(label);
	int found = 0;

	if (len > 32 || f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return -1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		size_t k;
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (memcmp(ti.label, label, len) != 0)
			continue;
		for (k = len; k < 32 && ti.label[k] == ' '; k++)
			;
		if (k == 32) {
			*out = slots[i];
			found++;
		}
	}
	return found == 1 ? 0 : -1;
}

static int find_key(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
		    CK_OBJECT_HANDLE *out)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) },
			      { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) } };
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;

	if (f->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return -1;
	if (f->C_FindObjects(s, found, 2, &n) != CKR_OK)
		n = 0;
	f->C_FindObjectsFinal(s);
	if (n != 1)
		return -1;
	*out = found[0];
	return 0;
}

/* Read the PIN (one trailing "\n" or "\r\n" dropped) and log in. */
static int login(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *pin_file)
{
	size_t len = 0;
	unsigned char *pin = read_file(pin_file, PIN_MAX, &len);
	CK_RV rv;

	if (pin == NULL)
		return -1;
	if (len > 0 && pin[len - 1] == '\n')
		len--;
	if (len > 0 && pin[len - 1] == '\r')
		len--;
	rv = f->C_Login(s, CKU_USER, pin, (CK_ULONG)len);
	wipe(pin, PIN_MAX + 1);
	free(pin);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		fprintf(stderr, "p11_sign_loop: C_Login failed: 0x%08lx\n", (unsigned long)rv);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	CK_C_INITIALIZE_ARGS init = { NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL };
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
	CK_FUNCTION_LIST *f = NULL;
	CK_SESSION_HANDLE main_session = 0;
	CK_SLOT_ID slot = 0;
	CK_OBJECT_HANDLE key = 0;
	loop_arg args[MAX_THREADS];
	pthread_t threads[MAX_THREADS];
	pthread_barrier_t start;
	unsigned char *input = NULL;
	size_t input_len = 0;
	int threads_n, initialized = 0, have_session = 0, have_barrier = 0, started = 0;
	int code = 1;
	double seconds, t0, t1;
	unsigned long total = 0;
	void *lib = NULL;
	CK_RV rv;

	if (argc != 8) {
		fprintf(stderr, "usage: p11_sign_loop MODULE TOKEN_LABEL KEY_LABEL PIN_FILE "
				"INPUT_FILE THREADS SECONDS\n");
		return 2;
	}
	threads_n = atoi(argv[6]);
	seconds = atof(argv[7]);
	if (threads_n < 1 || threads_n > MAX_THREADS || !(seconds > 0)) {
		fprintf(stderr, "p11_sign_loop: THREADS must be 1 to %d, SECONDS above 0\n",
			MAX_THREADS);
		return 2;
	}
	input = read_file(argv[5], MAX_INPUT, &input_len);
	if (input == NULL)
		return 1;

	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "p11_sign_loop: cannot load '%s': %s\n", argv[1], dlerror());
		goto out;
	}
	/* POSIX allows converting dlsym's object pointer to a function pointer. */
	*(void **)&get_list = dlsym(lib, "C_GetFunctionList");
	if (get_list == NULL || get_list(&f) != CKR_OK || f == NULL) {
		fprintf(stderr, "p11_sign_loop: '%s' is not a PKCS#11 module\n", argv[1]);
		goto out;
	}
	rv = f->C_Initialize(&init);
	if (rv != CKR_OK) {
		fprintf(stderr, "p11_sign_loop: C_Initialize failed: 0x%08lx\n", (unsigned long)rv);
		goto out;
	}
	initialized = 1;
	if (find_slot(f, argv[2], &slot) != 0) {
		fprintf(stderr, "p11_sign_loop: no single token labelled '%s'\n", argv[2]);
		goto out;
	}
	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &main_session);
	if (rv != CKR_OK) {
		fprintf(stderr, "p11_sign_loop: C_OpenSession failed: 0x%08lx\n", (unsigned long)rv);
		goto out;
	}
	have_session = 1;
	/* One login for the application: it holds in every session (PKCS#11
	 * v2.40 section 5.5, C_Login), as qs-jwt's batch does. */
	if (login(f, main_session, argv[4]) != 0)
		goto out;
	if (find_key(f, main_session, argv[3], &key) != 0) {
		fprintf(stderr, "p11_sign_loop: no single private key labelled '%s'\n", argv[3]);
		goto out;
	}

	if (pthread_barrier_init(&start, NULL, (unsigned)threads_n + 1) != 0)
		goto out;
	have_barrier = 1;
	for (int i = 0; i < threads_n; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].f = f;
		args[i].slot = slot;
		args[i].key = key;
		args[i].input = input;
		args[i].input_len = (CK_ULONG)input_len;
		args[i].seconds = seconds;
		args[i].start = &start;
	}
	for (; started < threads_n; started++) {
		if (pthread_create(&threads[started], NULL, sign_loop, &args[started]) != 0)
			break;
	}
	if (started != threads_n) {
		/* The barrier would never open: nothing to do but leave. */
		fprintf(stderr, "p11_sign_loop: cannot start %d threads\n", threads_n);
		exit(1);
	}
	pthread_barrier_wait(&start);
	t0 = now();
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	t1 = now();
	code = 0;
	for (int i = 0; i < started; i++) {
		if (args[i].rv != CKR_OK) {
			fprintf(stderr, "p11_sign_loop: thread %d: %s failed: 0x%08lx\n", i,
				args[i].failed_call, (unsigned long)args[i].rv);
			code = 1;
		}
		total += args[i].count;
	}
	if (code == 0) {
		fprintf(stderr, "p11_sign_loop: %d thread(s), %lu signatures in %.2f s\n", threads_n,
			total, t1 - t0);
		printf("%.1f\n", (double)total / (t1 - t0));
	}
out:
	if (have_barrier)
		pthread_barrier_destroy(&start);
	if (have_session) {
		f->C_Logout(main_session);
		f->C_CloseSession(main_session);
	}
	if (initialized)
		f->C_Finalize(NULL);
	if (lib != NULL)
		dlclose(lib);
	free(input);
	if (fflush(stdout) != 0)
		code = 1;
	return code;
}
