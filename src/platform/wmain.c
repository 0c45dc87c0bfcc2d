/* The Windows entry point: the arguments arrive in UTF-16 (-municode), the
 * program takes them in UTF-8, whatever the ANSI code page. */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

int main(int argc, char **argv);
char *plat_win_utf8(const wchar_t *w);
int wmain(int argc, wchar_t **wargv);

int wmain(int argc, wchar_t **wargv)
{
	char **argv = calloc((size_t)argc + 1, sizeof(*argv));

	if (argv == NULL)
		return 1; /* EXIT_RUNTIME */
	for (int i = 0; i < argc; i++) {
		argv[i] = plat_win_utf8(wargv[i]);
		if (argv[i] == NULL) {
			fputs("qs-jwt: error: an argument is not valid UTF-16\n", stderr);
			return 2;
		}
	}
	return main(argc, argv);
}
