/*
 * Signals that end qs-jwt (SIGINT, SIGTERM, SIGHUP, SIGQUIT) while it holds
 * something half-made: temporaries and new token objects of --cert-create, a
 * terminal with echo off, a batch with lines in flight. Within a
 * stop_catch()/stop_release() pair such a signal only sets a flag (and wakes
 * a poll() through the wake descriptor); the code in that phase sees it,
 * undoes what is half-made and returns; stop_reraise() then ends the process
 * by that signal, so the exit status is 128+N as for any other signal death.
 * Outside such a phase the signals keep their default action: nothing
 * half-made exists then.
 */
#ifndef QSJWT_STOP_H
#define QSJWT_STOP_H

#include <signal.h>

/* Catch the stop signals (nested calls count; the outermost installs). A
 * signal caught earlier and not yet re-raised stays pending. */
void stop_catch(void);
/* Undo one stop_catch(); the outermost restores the previous handlers. */
void stop_release(void);
/* The signal that arrived, or 0. */
int stop_signal(void);
/* The flag that library calls poll (qsjwt_signer_generate's cancel). */
const volatile sig_atomic_t *stop_flag(void);
/* A descriptor the handler writes one byte to when a signal arrives (for
 * poll()); -1 for none. The caller owns it (O_NONBLOCK write end). */
void stop_set_wake_fd(int fd);
/* Outside every phase, when a signal arrived: die of it now (restores the
 * default action, unblocks and raises it). Returns only when none arrived. */
void stop_reraise(void);

#endif
