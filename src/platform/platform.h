/*
 * What differs between POSIX and Windows, behind one set of calls: posix.c
 * and win32.c implement it (CMake compiles one). Paths and strings are UTF-8
 * on both; the rest of the code has no platform conditionals. See
 * docs/windows.md for the Windows behaviour of each call.
 */
#ifndef QSJWT_PLATFORM_H
#define QSJWT_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Once at start: no core dumps (RLIMIT_CORE; Windows: SetErrorMode, no
 * crash dialog), a closed pipe is an error not a signal, binary stdin and
 * stdout (Windows: a token never gets a CR). */
void plat_process_init(void);

/* Standard descriptors closed at start are opened on the null device, so no
 * file we open takes their number. Returns whether stdout was open. */
int plat_sanitize_std_fds(void);

/* Whether descriptor fd is an interactive terminal (Windows: a console;
 * _isatty is also true for NUL). */
int plat_isatty(int fd);

/* A variable of the environment, in UTF-8; NULL when unset. */
const char *plat_getenv(const char *name);

/* The number of online CPUs, or 0 when unknown. */
long plat_cpu_count(void);

/* Opens a file for reading without blocking on a FIFO that has no writer;
 * -1 with errno set on failure. */
int plat_open_read(const char *path);

/* Opens a file for reading (the batch input); -1 with errno. */
int plat_open_plain(const char *path);

/* Kind of what path names: 1 directory, 0 something else, -1 errno (ENOENT
 * when missing). follow: through a final symbolic link. */
int plat_path_is_dir(const char *path, int follow);

/* A copy of path (caller frees) in the form the system's loaders expect
 * (Windows: backslashes, which p11-kit needs to see "C:\\..." as absolute). */
char *plat_path_native(const char *path);

/* Whether the directory can be written to (files created in it); -1 errno. */
int plat_dir_writable(const char *dir);

/*
 * Creates a new file from a template ending in "XXXXXX" (replaced in place),
 * never an existing one, readable and writable by its owner only (Windows: a
 * protected DACL granting the owner, SYSTEM and Administrators only); then
 * mode (masked by the umask) is applied where the platform has modes.
 * Returns the descriptor, -1 with errno.
 */
int plat_create_private(char *tmpl, unsigned mode);

/* How plat_create_private protects a file, for messages: "mode 0600"
 * (Windows: "owner-only DACL"). */
const char *plat_private_desc(void);

/* Flushes a file's data to the disk; -1 errno. */
int plat_fsync(int fd);

/* After new names were placed in the directory of path: make them durable. */
void plat_sync_dir_of(const char *path);

/*
 * Gives the file tmp the name final. Without overwrite, an existing final is
 * never replaced (-1, errno EEXIST), even one that appeared since it was
 * checked; with it, final is replaced in one step. tmp is gone afterwards.
 */
int plat_place(const char *tmp, const char *final, int overwrite);

/* Removes a file; -1 errno. */
int plat_unlink(const char *path);

/*
 * Whether the open regular file fd (named path) can be read by other users
 * than its owner (and, on Windows, SYSTEM and Administrators): 1 yes, 0 no,
 * -1 unknown. When 1, why gets a short reason for the message ("mode 0644",
 * "its DACL lets Everyone read it") and fix the command that makes it private.
 */
int plat_file_readable_by_others(int fd, const char *path, char *why, size_t why_size,
				 char *fix, size_t fix_size);

/*
 * The stop signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT): while caught, they
 * call handler with the signal number instead of ending the process, each
 * blocking the others meanwhile, and a blocking read() returns EINTR (no
 * SA_RESTART). Windows: Ctrl-C through the CRT and SetConsoleCtrlHandler as
 * SIGINT, Ctrl-Break and console close as SIGTERM; the handler runs on a
 * thread of its own there. plat_stop_signals_restore() puts the previous
 * handling back; plat_die_of_signal() ends the process as that signal
 * would (default action, unblocked, raised; Windows: STATUS_CONTROL_C_EXIT).
 */
void plat_stop_signals_catch(void (*handler)(int));
void plat_stop_signals_restore(void);
void plat_die_of_signal(int sig);

/* In the calling thread, block (1) or unblock (0) the stop signals, so the
 * threads it starts meanwhile inherit the mask and never take them
 * (pthread_sigmask). Windows: nothing to do, no thread gets interrupted. */
void plat_stop_signals_block(int block);

/* A pipe to wake a waiter from a signal handler: both ends non-blocking and
 * not inherited by children. 0, or -1 with errno. */
int plat_wake_pipe(int fds[2]);

/*
 * Waits until fd has input, end of file or an error (read() tells which):
 * returns 1. Returns 0 when wake_fd got bytes (drained here) or a signal
 * interrupted the wait; Windows: also after a short time (~50 ms), since a
 * pipe or console cannot be waited on together with another pipe there. On
 * 0 the caller checks its flags and calls again.
 */
int plat_wait_input(int fd, int wake_fd);

/* read(), for the batch input after plat_wait_input(). Windows: a pipe
 * that cannot be waited on (PeekNamedPipe fails: wine's unix FIFOs) is read
 * by a thread of its own, and a stop signal ends the wait (-1, EINTR). */
ssize_t plat_read(int fd, void *buf, size_t n);

/*
 * strtod in the "C" locale: the process locale (setlocale(LC_ALL, "") in a
 * program using the library, under de_DE say) would make ',' the decimal
 * point and read "1.5" as 1. 0, or -1 when no "C" locale object can be had.
 */
int plat_strtod_c(const char *num, double *out);

/* Whether the paths name the same file, whatever their spelling (links,
 * case): 1 yes, 0 no or either cannot be examined. */
int plat_same_file(const char *a, const char *b);

/* Before a secret given as an argument is wiped in argv: wipe the other
 * copies the system keeps (Windows: GetCommandLineW() and the CRT's wide
 * argv; POSIX: argv is the only one). */
void plat_wipe_arg_copies(const char *value);

/* Call fn for each entry of dir but "." and "..", in the order the system
 * lists them, with whether it is a directory (a symbolic link is not, as
 * for p11-kit, unless the system gives no entry types);
 * stops at fn's first non-zero return and returns it. -1 with errno when the
 * directory cannot be listed (ENOSYS where this is not done: Windows). */
int plat_dir_each(const char *dir, int (*fn)(void *ctx, const char *name, int is_dir),
		  void *ctx);

/* Whether p11-kit reads the user's own configuration (~/.config/pkcs11) in
 * this process: not for root, nor in a setuid or setgid program. */
int plat_p11kit_user_config(void);

/* Where this build's p11-kit reads its configuration (from pkg-config at
 * build time); NULL where qs-jwt does not read it (Windows). */
typedef struct {
	const char *global_file;     /* pkcs11.conf */
	const char *system_modules;  /* the administrator's module files */
	const char *package_modules; /* the packages' module files */
	const char *module_dir;      /* where a relative module: is */
	const char *user_file;       /* the user's pkcs11.conf, under $HOME */
	const char *user_modules;    /* the user's module files, under $HOME */
} plat_p11kit_places;
const plat_p11kit_places *plat_p11kit_config(void);

/* The base name of the running program, as p11-kit matches it against a
 * module's enable-in and disable-in; NULL when unknown. */
const char *plat_progname(void);

/* The directory of the running program's file (caller frees); NULL when
 * unknown. */
char *plat_exe_dir(void);

/* Replace this process with the program at path, given argv (NULL-ended):
 * the same process, environment and open descriptors. Returns only on
 * failure, -1 with errno (ENOSYS on Windows). */
int plat_exec(const char *path, char *const argv[]);

#endif
