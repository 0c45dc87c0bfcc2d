/* prompt_secret() on Windows (cli/prompt.h): the console, not /dev/tty. */
#include "cli/prompt.h"

#include <errno.h>
#include <string.h>

#include <windows.h>

#include <qsjwt/qsjwt.h>

#include "cli/stop.h"

int prompt_secret(const char *prompt, char *buf, size_t size)
{
	HANDLE in, out;
	DWORD old_mode, n;
	size_t len = 0;
	int rc = -1, restore = 0;
	wchar_t c;

	in = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
			 NULL, OPEN_EXISTING, 0, NULL);
	out = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE,
			  FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
	if (in == INVALID_HANDLE_VALUE || out == INVALID_HANDLE_VALUE ||
	    !GetConsoleMode(in, &old_mode))
		goto out;
	/* Line input without echo; restored on every path below. */
	if (!SetConsoleMode(in, (old_mode & ~(DWORD)ENABLE_ECHO_INPUT) | ENABLE_LINE_INPUT |
					ENABLE_PROCESSED_INPUT))
		goto out;
	restore = 1;
	/* Ctrl-C must not leave the console without echo: caught, the mode
	 * restored below, then the process dies of it (as on POSIX). */
	stop_catch();
	(void)WriteConsoleA(out, prompt, (DWORD)strlen(prompt), &n, NULL);
	for (;;) {
		char u[4];
		int k;
		if (!ReadConsoleW(in, &c, 1, &n, NULL) || n == 0 || stop_signal()) {
			/* Ctrl-C ends the read with no character */
			errno = EINTR;
			goto out;
		}
		if (c == L'\n')
			break;
		if (c == L'\r')
			continue;
		k = WideCharToMultiByte(CP_UTF8, 0, &c, 1, u, sizeof(u), NULL, NULL);
		if (k <= 0 || len + (size_t)k + 1 >= size)
			goto out;
		memcpy(buf + len, u, (size_t)k);
		len += (size_t)k;
	}
	buf[len] = '\0';
	rc = len > 0 ? (int)len : -1;
out:
	SecureZeroMemory(&c, sizeof(c));
	if (restore) {
		(void)SetConsoleMode(in, old_mode);
		(void)WriteConsoleA(out, "\r\n", 2, &n, NULL);
	}
	if (rc < 0)
		qsjwt_secret_wipe(buf, size);
	if (in != INVALID_HANDLE_VALUE)
		CloseHandle(in);
	if (out != INVALID_HANDLE_VALUE)
		CloseHandle(out);
	if (restore) {
		stop_release();
		if (stop_signal()) {
			/* Outside a phase that catches signals: die now. Inside
			 * one (--cert-create on a token), its owner undoes first. */
			stop_reraise();
			errno = EINTR;
			rc = -1;
		}
	}
	return rc;
}
