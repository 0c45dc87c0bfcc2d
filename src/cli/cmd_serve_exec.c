/* qs-jwt serve in the qs-jwt that does not carry the service. The service
 * links libmicrohttpd, GnuTLS and libsystemd, 15 more shared libraries that
 * cost every other command 3 MB and 1.4 ms at each start; so it is a program
 * of its own, qs-jwt-serve (the whole CLI plus serve), which this replaces
 * itself with, arguments unchanged: the same process, PID, environment and
 * sockets passed by systemd (docs/design.md, decision 14). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "platform/platform.h"
#include "util/log.h"

/* dir/rel, or NULL (dir NULL, or no memory). */
static char *under(const char *dir, const char *rel)
{
	char *p = dir != NULL ? malloc(strlen(dir) + strlen(rel) + 2) : NULL;

	if (p != NULL) {
		strcpy(p, dir);
		strcat(p, "/");
		strcat(p, rel);
	}
	return p;
}

int cmd_serve(int argc, char **argv)
{
	char *dir = plat_exe_dir();
	/* Beside this program (the build tree), then where an installed tree
	 * keeps it relative to this program (an install under any prefix),
	 * then where it was to be installed. */
	char *cand[3] = { under(dir, "qs-jwt-serve"), under(dir, QSJWT_SERVE_REL),
			  strdup(QSJWT_SERVE_EXEC) };
	char **args = calloc((size_t)argc + 3, sizeof(*args));
	const char *tried = QSJWT_SERVE_EXEC;
	int err = ENOMEM;

	if (args != NULL) {
		args[0] = (char *)"qs-jwt";
		args[1] = (char *)"serve";
		for (int i = 0; i < argc; i++)
			args[i + 2] = argv[i];
		err = ENOENT;
		for (size_t i = 0; i < 3 && err == ENOENT; i++) {
			if (cand[i] == NULL)
				continue;
			plat_exec(cand[i], args);
			err = errno;
			if (err != ENOENT)
				tried = cand[i];
		}
	}
	log_error("serve: cannot start the service program '%s': %s", tried, strerror(err));
	free(args);
	for (size_t i = 0; i < 3; i++)
		free(cand[i]);
	free(dir);
	return EXIT_RUNTIME;
}
