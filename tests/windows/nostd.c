/* nostd.exe WHICH PROGRAM [ARG...]: runs PROGRAM with the standard handles
 * named in WHICH ("in", "out", "err", or several, e.g. "in,out") left NULL,
 * as a service or a GUI program may start it, the others inherited; exits
 * with its exit code. A unix descriptor closed before wine starts a program
 * does not give that: wine hands the number to a file of its own. Built and
 * run by tests/windows/run.sh. */
#include <windows.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Appends arg to cmd, quoted as CommandLineToArgvW splits it. */
static void append_arg(wchar_t *cmd, const wchar_t *arg)
{
	size_t n = wcslen(cmd);

	if (n > 0)
		cmd[n++] = L' ';
	cmd[n++] = L'"';
	for (const wchar_t *p = arg;; p++) {
		size_t slashes = 0;
		while (*p == L'\\') {
			slashes++;
			p++;
		}
		if (*p == L'\0') {
			for (size_t i = 0; i < slashes * 2; i++)
				cmd[n++] = L'\\';
			break;
		}
		if (*p == L'"')
			slashes = slashes * 2 + 1;
		for (size_t i = 0; i < slashes; i++)
			cmd[n++] = L'\\';
		cmd[n++] = *p;
	}
	cmd[n++] = L'"';
	cmd[n] = L'\0';
}

static HANDLE inheritable(DWORD which)
{
	HANDLE h = GetStdHandle(which), dup = NULL;

	if (h == NULL || h == INVALID_HANDLE_VALUE ||
	    !DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0, TRUE,
			     DUPLICATE_SAME_ACCESS))
		return NULL;
	return dup;
}

int wmain(int argc, wchar_t **argv)
{
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	DWORD code = 120;
	size_t len = 1;
	wchar_t *cmd;

	if (argc < 3)
		return 121;
	for (int i = 2; i < argc; i++)
		len += wcslen(argv[i]) * 2 + 3;
	cmd = calloc(len, sizeof(wchar_t));
	if (cmd == NULL)
		return 122;
	for (int i = 2; i < argc; i++)
		append_arg(cmd, argv[i]);
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = wcsstr(argv[1], L"in") ? NULL : inheritable(STD_INPUT_HANDLE);
	si.hStdOutput = wcsstr(argv[1], L"out") ? NULL : inheritable(STD_OUTPUT_HANDLE);
	si.hStdError = wcsstr(argv[1], L"err") ? NULL : inheritable(STD_ERROR_HANDLE);
	if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
		return 123;
	WaitForSingleObject(pi.hProcess, INFINITE);
	GetExitCodeProcess(pi.hProcess, &code);
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	free(cmd);
	return (int)code;
}
