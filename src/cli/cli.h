/* Option tables, parsing, help and exit codes shared by the commands. */
#ifndef QSJWT_CLI_H
#define QSJWT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <qsjwt/qsjwt.h>

/* Exit codes (docs/design.md decision 8). */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_VERIFY = 3,
	EXIT_NOT_FOUND = 4,
	EXIT_LOGIN = 5
};

/* Longest value we take for any option: a JWT travels in an HTTP header and
 * web servers cap headers at 8 to 64 KiB. */
#define CLI_MAX_VALUE (64 * 1024)

typedef enum {
	CLI_FLAG,      /* --x */
	CLI_VALUE,     /* --x V, --x=V (V may start with '-') */
	CLI_OPT_BOOL,  /* --x, --x true|false, --x=true|false */
	CLI_VARIADIC   /* --x V [V...] up to the next argument starting with '-' */
} cli_arg;

/* cli_option flags. */
enum {
	CLI_TEXT = 1,   /* claim text: must be valid UTF-8 */
	CLI_NOLIMIT = 2 /* exempt from CLI_MAX_VALUE: the command checks the size itself */
};

typedef struct {
	int id;
	const char *name;    /* long name without "--" */
	char short_name;     /* 0: none */
	cli_arg arg;
	int flags;           /* CLI_TEXT, CLI_NOLIMIT */
	const char *metavar; /* "<file>" */
	const char *help;
} cli_option;

/*
 * Called once per option occurrence (per value for CLI_VARIADIC); value is
 * NULL for flags and for a bare CLI_OPT_BOOL. The value points into argv and
 * may be wiped by the handler. Return 0, or -1 after cli_usage_error().
 */
typedef int (*cli_handler)(void *ud, int id, char *value);

/* Parse argv[first..argc-1]; 0 or -1 (usage error already printed). */
int cli_parse(const char *cmd, const cli_option *opts, size_t n, int argc, char **argv,
	      cli_handler fn, void *ud);

/* A value the user gave, as a usage error may show it: 'VALUE' when it is
 * short plain text, else only its size (it may be a secret given in the
 * wrong place, or binary junk). One static buffer: one value per message. */
const char *cli_shown(const char *value);
/* "qs-jwt CMD: error: MESSAGE" and "see 'qs-jwt CMD --help'" on stderr (cmd
 * NULL: "qs-jwt: error: ..." and "see 'qs-jwt --help'"), MESSAGE escaped. */
void cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* ---- the scaffolding every signing command shares -------------------------- */

/* The help of --pkcs11-module-init, the same for every command that loads a
 * module. */
#define CLI_MODULE_INIT_HELP                                                         \
	"initialisation string for a module named by path (C_Initialize's pReserved),\n" \
	"e.g. NSS softokn's \"configdir='sql:DIR' certPrefix='' keyPrefix=''\n"         \
	"secmod='secmod.db' flags=\""

/* Ids of the common options (cli_common_opts). */
enum { CLI_OPT_LOGLEVEL = 2000, CLI_OPT_MINIMAL, CLI_OPT_HELP, CLI_OPT_VERSION };

/* --loglevel, --minimal-output, -h/--help, --version. */
extern const cli_option cli_common_opts[];
extern const size_t cli_common_opts_len;

typedef struct {
	qsjwt_log_level loglevel;
	int minimal, help, version;
} cli_common;

void cli_common_init(cli_common *c);
/* One of cli_common_opts: 0, -1 (usage error printed), 1 (not ours). */
int cli_common_handle(cli_common *c, const char *cmd, int id, const char *value);

/* A command's option table, grown as needed (no fixed size that could drop
 * an option). */
typedef struct {
	cli_option *v;
	size_t n, cap;
} cli_table;

/*
 * The table of a command: the options with the ids in `first` (looked up in
 * the parts), in that order, then every other option of the parts, part by
 * part in their order. Each part is an array of options; parts[i] has
 * lens[i] entries. 0, or -1 (out of memory, reported). Free with
 * cli_table_free().
 */
int cli_table_build(cli_table *t, const int *first, size_t n_first,
		    const cli_option *const *parts, const size_t *lens, size_t n_parts);
void cli_table_free(cli_table *t);

/* --groups VALUE appended to *groups (NULL-free array of borrowed strings):
 * 0, or -1 after a usage error (out of memory). */
int cli_groups_add(const char *cmd, const char ***groups, size_t *n, const char *value);

/* The required options not given (NULL in `values`), named all at once:
 * "required option '--a <x>' not specified", or "required options '--a <x>',
 * '--b <y>' not specified". 0 when all are there, else -1. */
int cli_require(const char *cmd, const char *const *values, const char *const *names, size_t n);

/* --pkcs11-uri checked before any token is touched: 0, or -1 after a usage
 * error that names the option and says why. */
int cli_check_uri(const char *cmd, const char *uri, int allow_pin_in_uri, int for_key);
/* The PKCS#11 options together, before any module is loaded (uri may be
 * NULL): --pkcs11-module-init needs a module named by path; with
 * --cert-create (for_create) the URI names the new key with object=. 0, or -1
 * after a usage error. */
int cli_check_p11_options(const char *cmd, const char *uri, const char *module_path,
			  const char *module_init, int for_create);

/* Levenshtein distance of two short strings ((size_t)-1 above 64 bytes). */
size_t cli_edit_distance(const char *a, size_t la, const char *b, size_t lb);
/* The name in `names` a typed word is a slip of (at most 2 edits, fewer than
 * a third of the name), or NULL: for "did you mean". */
const char *cli_closest(const char *typed, size_t len, const char *const *names, size_t n);

/* The option list of a --help text. */
void cli_print_options(FILE *fp, const cli_option *opts, size_t n);

/* "--name <metavar>" of an option id, for messages. */
const char *cli_option_name(const cli_option *opts, size_t n, int id);

/* Exit code for a library error. */
int cli_exit_code(qsjwt_err err);

/* Print the token and a newline on stdout, flush and check: 0 or EXIT_RUNTIME
 * (a full disk or a closed pipe is a failure, reported on stderr). */
int cli_write_stdout_line(const char *line);
/* Flush stdout and check that everything written so far arrived. */
int cli_flush_stdout(void);

/* After parsing: when --help or --version was given, print it, set *code
 * and return 1 (the command is done); else 0. */
int cli_help_or_version(int help, int version, void (*print_help)(void), int *code);

/* Exit codes, for --help; 3 (verification failed) only for a command that
 * can return it. */
void cli_print_exit_codes(FILE *fp, int with_verify);

/* --loglevel VALUE: 0, or -1 after a usage error. */
int cli_loglevel(const char *cmd, const char *value, qsjwt_log_level *out);
/* --alg VALUE: 0, or -1 after a usage error. */
int cli_alg(const char *cmd, const char *value, qsjwt_alg *out);

/* The current time in whole seconds, floored (Math.floor(Date.now()/1000)). */
int64_t cli_now(void);
/* "YYYY-MM-DDTHH:MM:SSZ". */
void cli_iso_time(int64_t t, char *buf, size_t size);

/*
 * --expires TEXT: exp for a token issued at iat, as the original computed it.
 * A usage error (returns -1) when TEXT is not a timespan or exp falls outside
 * 1970..9999; warnings (the log level must be set) for a missing unit and a
 * lifetime that is not positive.
 */
int cli_expires(const char *cmd, const char *text, int64_t iat, int64_t *exp);

#endif
