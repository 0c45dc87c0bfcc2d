/* qs-jwt serve where it is not built (Windows: it listens on unix sockets
 * and knows its callers by SO_PEERCRED; docs/windows.md). */
#include "cli/cli.h"
#include "cli/commands.h"
#include "util/log.h"

int cmd_serve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_error("serve is not available on Windows (docs/windows.md)");
	return EXIT_USAGE;
}
