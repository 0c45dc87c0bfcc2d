/* The stop signals (cli/stop.h), caught through the platform layer. */
#include "cli/stop.h"

#include <errno.h>
#include <unistd.h>

#include "platform/platform.h"

static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_wake_fd = -1;
static int g_depth;

static void on_signal(int sig)
{
	int fd = g_wake_fd, saved = errno;

	/* The first one decides how the process ends. */
	if (g_signal == 0)
		g_signal = sig;
	if (fd >= 0)
		(void)!write(fd, "", 1);
	errno = saved;
}

void stop_catch(void)
{
	if (g_depth++ > 0)
		return;
	plat_stop_signals_catch(on_signal);
}

void stop_release(void)
{
	if (g_depth == 0 || --g_depth > 0)
		return;
	plat_stop_signals_restore();
}

int stop_signal(void)
{
	return g_signal;
}

const volatile sig_atomic_t *stop_flag(void)
{
	return &g_signal;
}

void stop_set_wake_fd(int fd)
{
	g_wake_fd = fd;
}

void stop_reraise(void)
{
	int sig = g_signal;

	if (sig == 0 || g_depth > 0)
		return;
	plat_die_of_signal(sig);
}
