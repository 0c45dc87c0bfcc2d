#include "cli/stop.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define N_STOP (sizeof(stop_signals) / sizeof(stop_signals[0]))

static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_wake_fd = -1;
static struct sigaction g_old[N_STOP];
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
	struct sigaction sa;

	if (g_depth++ > 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_STOP; i++)
		sigaddset(&sa.sa_mask, stop_signals[i]);
	/* No SA_RESTART: a blocking read() returns EINTR and sees the flag. */
	for (size_t i = 0; i < N_STOP; i++)
		sigaction(stop_signals[i], &sa, &g_old[i]);
}

void stop_release(void)
{
	if (g_depth == 0 || --g_depth > 0)
		return;
	for (size_t i = 0; i < N_STOP; i++)
		sigaction(stop_signals[i], &g_old[i], NULL);
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
	sigset_t set;

	if (sig == 0 || g_depth > 0)
		return;
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}
