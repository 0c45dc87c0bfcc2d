/* The platform layer on Windows (platform.h); docs/windows.md. */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* UTF-8 to UTF-16 (caller frees); NULL with errno EINVAL for invalid UTF-8. */
static wchar_t *wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
	wchar_t *w;

	if (n <= 0) {
		errno = EINVAL;
		return NULL;
	}
	w = malloc((size_t)n * sizeof(*w));
	if (w == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
	return w;
}

/* UTF-16 to UTF-8 (caller frees), NULL on failure: an unpaired surrogate
 * is refused rather than turned into U+FFFD. */
char *plat_win_utf8(const wchar_t *w);
char *plat_win_utf8(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
	char *s;

	if (n <= 0)
		return NULL;
	s = malloc((size_t)n);
	if (s != NULL)
		WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL);
	return s;
}

static void set_errno_from_win32(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_INVALID_NAME:
		errno = ENOENT;
		break;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		errno = EEXIST;
		break;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
		errno = EACCES;
		break;
	case ERROR_NOT_ENOUGH_MEMORY:
		errno = ENOMEM;
		break;
	default:
		errno = EIO;
	}
}

void plat_process_init(void)
{
	/* No crash or "insert disk" dialogs, no Windows Error Reporting UI;
	 * a WER dump configured machine-wide (LocalDumps) may still be written. */
	SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
	/* A token, a key or a certificate never gets a CR. */
	(void)_setmode(0, _O_BINARY);
	(void)_setmode(1, _O_BINARY);
	(void)_setmode(2, _O_BINARY);
}

/* Whether standard descriptor fd has a handle behind it. A process started
 * without one gets -1 or, from the CRT, -2 (_NO_CONSOLE_FILENO: msvcrt and
 * wine give that for a standard handle that is NULL or invalid), on which
 * every write fails with EBADF. */
static int std_fd_open(int fd)
{
	intptr_t h = _get_osfhandle(fd);

	if (h == -1 || h == -2 || h == 0)
		return 0;
	SetLastError(NO_ERROR);
	return GetFileType((HANDLE)h) != FILE_TYPE_UNKNOWN || GetLastError() == NO_ERROR;
}

int plat_sanitize_std_fds(void)
{
	int stdout_open = 1;

	for (int fd = 0; fd <= 2; fd++) {
		int nul;
		if (std_fd_open(fd))
			continue;
		if (fd == 1)
			stdout_open = 0;
		nul = _open("NUL", fd == 0 ? _O_RDONLY : _O_WRONLY);
		if (nul < 0 || (nul != fd && _dup2(nul, fd) != 0))
			abort(); /* cannot even get NUL: nothing safe to do */
		if (nul != fd)
			_close(nul);
	}
	return stdout_open;
}

int plat_isatty(int fd)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	DWORD mode;

	/* _isatty() is also true for NUL and serial ports. */
	return h != INVALID_HANDLE_VALUE && GetConsoleMode(h, &mode) != 0;
}

#define ENV_CACHE 16

const char *plat_getenv(const char *name)
{
	/* The CRT's narrow environment is in the ANSI code page; ours is UTF-8,
	 * converted once per name and kept for the life of the process. */
	static struct {
		char *name;
		char *value;
	} cache[ENV_CACHE];
	const wchar_t *wv;
	wchar_t *wn;
	char *v;
	int i;

	for (i = 0; i < ENV_CACHE && cache[i].name != NULL; i++)
		if (strcmp(cache[i].name, name) == 0)
			return cache[i].value;
	wn = wide(name);
	if (wn == NULL)
		return NULL;
	wv = _wgetenv(wn);
	free(wn);
	if (wv == NULL)
		return NULL;
	v = plat_win_utf8(wv);
	if (v != NULL && i < ENV_CACHE) {
		cache[i].name = strdup(name);
		if (cache[i].name != NULL)
			cache[i].value = v;
	}
	return v;
}

long plat_cpu_count(void)
{
	return (long)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
}

static int wopen(const char *path, int flags)
{
	wchar_t *w = wide(path);
	int fd;

	if (w == NULL)
		return -1;
	fd = _wopen(w, flags | _O_BINARY | _O_NOINHERIT);
	free(w);
	return fd;
}

int plat_open_read(const char *path)
{
	return wopen(path, _O_RDONLY);
}

int plat_open_plain(const char *path)
{
	return wopen(path, _O_RDONLY);
}

int plat_path_is_dir(const char *path, int follow)
{
	wchar_t *w = wide(path);
	DWORD a;

	(void)follow;
	if (w == NULL)
		return -1;
	a = GetFileAttributesW(w);
	free(w);
	if (a == INVALID_FILE_ATTRIBUTES) {
		set_errno_from_win32(GetLastError());
		return -1;
	}
	return (a & FILE_ATTRIBUTE_DIRECTORY) != 0;
}

char *plat_path_native(const char *path)
{
	char *p = strdup(path);

	for (char *c = p; c != NULL && *c != '\0'; c++)
		if (*c == '/')
			*c = '\\';
	return p;
}

int plat_dir_writable(const char *dir)
{
	/* Windows decides with the DACL at create time; CREATE_NEW reports it. */
	return plat_path_is_dir(dir, 1) == 1 ? 0 : -1;
}

/* A protected DACL: full access for the current user, SYSTEM and the
 * Administrators, nothing inherited from the folder. */
static PSECURITY_DESCRIPTOR private_sd(void)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	HANDLE token = NULL;
	unsigned char buf[256];
	TOKEN_USER *user = (TOKEN_USER *)buf;
	DWORD len = 0;
	wchar_t *sid = NULL, sddl[512];

	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
		goto out;
	if (!GetTokenInformation(token, TokenUser, buf, sizeof(buf), &len))
		goto out;
	if (!ConvertSidToStringSidW(user->User.Sid, &sid))
		goto out;
	_snwprintf(sddl, sizeof(sddl) / sizeof(sddl[0]),
		   L"D:P(A;;FA;;;%ls)(A;;FA;;;SY)(A;;FA;;;BA)", sid);
	sddl[sizeof(sddl) / sizeof(sddl[0]) - 1] = L'\0';
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd,
								  NULL))
		sd = NULL;
out:
	if (sid != NULL)
		LocalFree(sid);
	if (token != NULL)
		CloseHandle(token);
	return sd;
}

const char *plat_private_desc(void)
{
	return "owner-only DACL";
}

int plat_create_private(char *tmpl, unsigned mode)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(tmpl);
	SECURITY_ATTRIBUTES sa;
	PSECURITY_DESCRIPTOR sd;
	HANDLE h = INVALID_HANDLE_VALUE;
	int fd = -1, tries;

	(void)mode; /* the DACL is the mode */
	if (n < 6 || strcmp(tmpl + n - 6, "XXXXXX") != 0) {
		errno = EINVAL;
		return -1;
	}
	sd = private_sd();
	if (sd == NULL) {
		errno = EACCES;
		return -1;
	}
	sa.nLength = sizeof(sa);
	sa.lpSecurityDescriptor = sd;
	sa.bInheritHandle = FALSE;
	for (tries = 0; tries < 100 && h == INVALID_HANDLE_VALUE; tries++) {
		unsigned char r[6];
		wchar_t *w;
		DWORD e;
		if (RAND_bytes(r, sizeof(r)) != 1) {
			errno = EIO;
			goto out;
		}
		for (int i = 0; i < 6; i++)
			tmpl[n - 6 + i] = chars[r[i] % (sizeof(chars) - 1)];
		w = wide(tmpl);
		if (w == NULL)
			goto out;
		/* CREATE_NEW: never an existing file (O_EXCL). */
		h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, &sa, CREATE_NEW,
				FILE_ATTRIBUTE_NORMAL, NULL);
		e = GetLastError();
		free(w);
		if (h == INVALID_HANDLE_VALUE && e != ERROR_FILE_EXISTS) {
			set_errno_from_win32(e);
			goto out;
		}
	}
	if (h == INVALID_HANDLE_VALUE) {
		errno = EEXIST;
		goto out;
	}
	fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
	if (fd < 0) {
		CloseHandle(h);
		plat_unlink(tmpl);
	}
out:
	LocalFree(sd);
	return fd;
}

int plat_fsync(int fd)
{
	return _commit(fd);
}

void plat_sync_dir_of(const char *path)
{
	(void)path; /* MOVEFILE_WRITE_THROUGH made the names durable */
}

int plat_place(const char *tmp, const char *final, int overwrite)
{
	wchar_t *wt = wide(tmp), *wf = wide(final);
	int rc = -1;

	if (wt == NULL || wf == NULL)
		goto out;
	/* Without MOVEFILE_REPLACE_EXISTING the move fails when final exists,
	 * even one that appeared since the check. */
	if (MoveFileExW(wt, wf,
			MOVEFILE_WRITE_THROUGH | (overwrite ? MOVEFILE_REPLACE_EXISTING : 0)))
		rc = 0;
	else
		set_errno_from_win32(GetLastError());
out:
	free(wt);
	free(wf);
	return rc;
}

int plat_unlink(const char *path)
{
	wchar_t *w = wide(path);
	int rc = -1;

	if (w == NULL)
		return -1;
	if (DeleteFileW(w))
		rc = 0;
	else
		set_errno_from_win32(GetLastError());
	free(w);
	return rc;
}

/* Whether sid is one that may read private files: the owner, SYSTEM or the
 * Administrators (as OpenSSH for Windows allows for its key files). */
static int trusted_sid(PSID sid, PSID owner)
{
	unsigned char buf[SECURITY_MAX_SID_SIZE];
	DWORD len;
	PSID well = (PSID)buf;

	if (owner != NULL && EqualSid(sid, owner))
		return 1;
	len = sizeof(buf);
	if (CreateWellKnownSid(WinLocalSystemSid, NULL, well, &len) && EqualSid(sid, well))
		return 1;
	len = sizeof(buf);
	if (CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, well, &len) &&
	    EqualSid(sid, well))
		return 1;
	return 0;
}

int plat_file_readable_by_others(int fd, const char *path, char *why, size_t why_size,
				 char *fix, size_t fix_size)
{
	const DWORD read_bits = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL;
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	PACL dacl = NULL;
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	int rc = -1;

	snprintf(fix, fix_size,
		 "icacls \"%s\" /inheritance:r /grant:r \"%%USERNAME%%:R\"", path);
	if (h == INVALID_HANDLE_VALUE || GetFileType(h) != FILE_TYPE_DISK)
		return -1;
	if (GetSecurityInfo(h, SE_FILE_OBJECT,
			    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner, NULL,
			    &dacl, NULL, &sd) != ERROR_SUCCESS)
		return -1;
	rc = 0;
	if (dacl == NULL) {
		snprintf(why, why_size, "it has no DACL: everyone can read it");
		rc = 1;
		goto out;
	}
	for (DWORD i = 0; i < dacl->AceCount && rc == 0; i++) {
		ACE_HEADER *ace;
		ACCESS_ALLOWED_ACE *allow;
		PSID sid;
		wchar_t name[128], domain[128];
		DWORD nn = 128, dn = 128;
		SID_NAME_USE use;
		char *who;
		if (!GetAce(dacl, i, (void **)&ace) || ace->AceType != ACCESS_ALLOWED_ACE_TYPE)
			continue;
		allow = (ACCESS_ALLOWED_ACE *)ace;
		sid = (PSID)&allow->SidStart;
		if ((allow->Mask & read_bits) == 0 || trusted_sid(sid, owner))
			continue;
		rc = 1;
		who = LookupAccountSidW(NULL, sid, name, &nn, domain, &dn, &use)
			      ? plat_win_utf8(name)
			      : NULL;
		snprintf(why, why_size, "its DACL lets %s read it", who != NULL ? who : "others");
		free(who);
	}
out:
	LocalFree(sd);
	return rc;
}

static void (*g_handler)(int);
static void (*g_old_int)(int);

/* Set once a stop reached the handler: plat_read() stops waiting. */
static volatile LONG g_stopped;

static BOOL WINAPI on_console_event(DWORD event)
{
	void (*h)(int) = g_handler;

	if (h == NULL)
		return FALSE;
	h(event == CTRL_C_EVENT ? SIGINT : SIGTERM);
	InterlockedExchange(&g_stopped, 1);
	if (event == CTRL_CLOSE_EVENT || event == CTRL_LOGOFF_EVENT ||
	    event == CTRL_SHUTDOWN_EVENT)
		Sleep(5000); /* Windows ends us when this returns: let main clean up */
	return TRUE;
}

void plat_stop_signals_catch(void (*handler)(int))
{
	g_handler = handler;
	g_old_int = signal(SIGINT, handler);
	SetConsoleCtrlHandler(on_console_event, TRUE);
}

void plat_stop_signals_restore(void)
{
	SetConsoleCtrlHandler(on_console_event, FALSE);
	signal(SIGINT, g_old_int == SIG_ERR ? SIG_DFL : g_old_int);
	g_handler = NULL;
}

static void wipe_wide_in(wchar_t *hay, const wchar_t *needle, size_t n)
{
	wchar_t *p = hay;

	while (p != NULL && (p = wcsstr(p, needle)) != NULL) {
		SecureZeroMemory(p, n * sizeof(*p));
		for (size_t i = 0; i < n; i++)
			p[i] = L' ';
		p += n;
	}
}

void plat_wipe_arg_copies(const char *value)
{
	wchar_t *w = wide(value);
	size_t n;

	if (w == NULL)
		return;
	n = wcslen(w);
	if (n > 0) {
		/* The PEB's copy, which other processes of the user can read. */
		wipe_wide_in(GetCommandLineW(), w, n);
		for (int i = 0; __wargv != NULL && i < __argc; i++)
			if (__wargv[i] != NULL && wcscmp(__wargv[i], w) == 0)
				SecureZeroMemory(__wargv[i], n * sizeof(wchar_t));
	}
	SecureZeroMemory(w, n * sizeof(*w));
	free(w);
}

void plat_die_of_signal(int sig)
{
	(void)sig;
	fflush(NULL);
	/* What Windows reports for a program ended by Ctrl-C. */
	ExitProcess((UINT)STATUS_CONTROL_C_EXIT);
}

void plat_stop_signals_block(int block)
{
	/* Console control handlers run on a thread of their own: no thread's
	 * call (a PKCS#11 module's) is ever interrupted by one. */
	(void)block;
}

int plat_wake_pipe(int fds[2])
{
	DWORD nowait = PIPE_NOWAIT;

	if (_pipe(fds, 4096, _O_BINARY | _O_NOINHERIT) != 0)
		return -1;
	/* The handler's write must never block, however many signals came. */
	for (int i = 0; i < 2; i++)
		(void)SetNamedPipeHandleState((HANDLE)_get_osfhandle(fds[i]), &nowait, NULL,
					      NULL);
	return 0;
}

/* Bytes waiting in a pipe: >0, 0 none, -1 the pipe is closed or broken. */
static long pipe_avail(int fd)
{
	DWORD avail = 0;

	if (!PeekNamedPipe((HANDLE)_get_osfhandle(fd), NULL, 0, NULL, &avail, NULL))
		return -1;
	return (long)avail;
}

int plat_wait_input(int fd, int wake_fd)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	char drain[64];
	int rc = 0;

	if (wake_fd >= 0 && pipe_avail(wake_fd) > 0) {
		(void)!_read(wake_fd, drain, sizeof(drain));
		goto out;
	}
	switch (GetFileType(h)) {
	case FILE_TYPE_PIPE:
		/* 0 bytes: nothing yet, wait a little. Broken (the writer is
		 * gone) or not a pipe PeekNamedPipe knows (wine's view of a unix
		 * FIFO): read() tells, and a stop ends the wait for it (plat_read). */
		rc = pipe_avail(fd) != 0;
		if (!rc)
			Sleep(20);
		break;
	case FILE_TYPE_CHAR:
		/* A console is signalled when it has input events; NUL and
		 * anything else that cannot be waited on is read at once. */
		rc = WaitForSingleObject(h, 50) != WAIT_TIMEOUT;
		break;
	default:
		rc = 1; /* a file: read() never blocks */
	}
out:
	return rc;
}

/* The volume and file index of path, through links; 0 on success. */
static int file_id(const char *path, BY_HANDLE_FILE_INFORMATION *info)
{
	wchar_t *w = wide(path);
	HANDLE h;
	int rc = -1;

	if (w == NULL)
		return -1;
	h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return -1;
	if (GetFileInformationByHandle(h, info))
		rc = 0;
	CloseHandle(h);
	return rc;
}

int plat_same_file(const char *a, const char *b)
{
	BY_HANDLE_FILE_INFORMATION ia, ib;

	return file_id(a, &ia) == 0 && file_id(b, &ib) == 0 &&
	       ia.dwVolumeSerialNumber == ib.dwVolumeSerialNumber &&
	       ia.nFileIndexHigh == ib.nFileIndexHigh && ia.nFileIndexLow == ib.nFileIndexLow;
}

/* A read done by a thread of its own, which the caller may leave behind. */
struct bg_read {
	int fd;
	unsigned n;
	int got, err;
	volatile LONG refs; /* the caller and the thread */
	HANDLE done;
	char buf[];
};

static void bg_read_unref(struct bg_read *r)
{
	if (InterlockedDecrement(&r->refs) == 0) {
		CloseHandle(r->done);
		SecureZeroMemory(r->buf, r->n);
		free(r);
	}
}

static DWORD WINAPI bg_read_run(LPVOID arg)
{
	struct bg_read *r = arg;

	r->got = _read(r->fd, r->buf, r->n);
	r->err = errno;
	SetEvent(r->done);
	bg_read_unref(r);
	return 0;
}

ssize_t plat_read(int fd, void *buf, size_t n)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd), t = NULL;
	unsigned want = n > 0x7fffffff ? 0x7fffffff : (unsigned)n;
	struct bg_read *r = NULL;
	ssize_t got = -1;
	DWORD avail;

	/* Only a pipe that cannot be peeked at (wine's view of a unix FIFO)
	 * may block where nothing can wait on it; everything else is read
	 * here. */
	if (GetFileType(h) == FILE_TYPE_PIPE && !PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) &&
	    GetLastError() != ERROR_BROKEN_PIPE)
		r = calloc(1, sizeof(*r) + want);
	if (r != NULL) {
		r->fd = fd;
		r->n = want;
		r->refs = 2;
		r->done = CreateEventW(NULL, TRUE, FALSE, NULL);
		if (r->done != NULL)
			t = CreateThread(NULL, 0, bg_read_run, r, 0, NULL);
	}
	if (t == NULL) {
		if (r != NULL && r->done != NULL)
			CloseHandle(r->done);
		free(r);
		got = _read(fd, buf, want);
		goto out;
	}
	CloseHandle(t);
	/* A stop ends the wait; the thread, still blocked, is left behind
	 * (the process is about to end) with its own buffer. */
	while (WaitForSingleObject(r->done, 50) == WAIT_TIMEOUT)
		if (InterlockedCompareExchange(&g_stopped, 0, 0) != 0)
			break;
	if (WaitForSingleObject(r->done, 0) == WAIT_OBJECT_0) {
		got = r->got;
		if (got > 0)
			memcpy(buf, r->buf, (size_t)got);
		errno = r->err;
	} else {
		errno = EINTR;
	}
	bg_read_unref(r);
out:
	return got;
}

int plat_strtod_c(const char *num, double *out)
{
	_locale_t c = _create_locale(LC_NUMERIC, "C");

	if (c == NULL)
		return -1;
	*out = _strtod_l(num, NULL, c);
	_free_locale(c);
	return 0;
}

int plat_dir_each(const char *dir, int (*fn)(void *ctx, const char *name, int is_dir),
		  void *ctx)
{
	/* Used only to read p11-kit's module files, which a Windows build
	 * does not look up itself (docs/windows.md). */
	(void)dir;
	(void)fn;
	(void)ctx;
	errno = ENOSYS;
	return -1;
}

int plat_p11kit_user_config(void)
{
	return 0;
}

const plat_p11kit_places *plat_p11kit_config(void)
{
	/* module-name= goes through p11-kit's registry there. */
	return NULL;
}

const char *plat_progname(void)
{
	return NULL;
}

char *plat_exe_dir(void)
{
	return NULL;
}

int plat_exec(const char *path, char *const argv[])
{
	/* serve is not built for Windows (docs/windows.md): nothing execs. */
	(void)path;
	(void)argv;
	errno = ENOSYS;
	return -1;
}
