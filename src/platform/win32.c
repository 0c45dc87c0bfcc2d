/* The platform layer on Windows (platform.h); docs/windows.md. */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
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

int plat_sanitize_std_fds(void)
{
	int stdout_open = 1;

	for (int fd = 0; fd <= 2; fd++) {
		int nul;
		if (_get_osfhandle(fd) != -1)
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

static BOOL WINAPI on_console_event(DWORD event)
{
	void (*h)(int) = g_handler;

	if (h == NULL)
		return FALSE;
	h(event == CTRL_C_EVENT ? SIGINT : SIGTERM);
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
