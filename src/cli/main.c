/* qs-jwt: look the command word up and run it. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/stop.h"
#include "platform/platform.h"
#include "util/log.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "create-qseow", cmd_create_qseow,
	  "create a JWT for Qlik Sense Enterprise on Windows" },
	{ "create-qscloud", cmd_create_qscloud,
	  "create a JWT for a Qlik Cloud JWT identity provider" },
	{ "decode", cmd_decode, "show a JWT and, given a key, verify it" },
	{ "pkcs11", cmd_pkcs11,
	  "list-tokens | list-keys: PKCS#11 tokens and keys, with URIs" },
	{ "serve", cmd_serve, "a token service: one login, a policy per caller, an audit log" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: qs-jwt <command> [options]\n\n"
		    "Create JSON Web Tokens for Qlik Sense Enterprise on Windows, signed with a\n"
		    "key from a PEM file, a PEM parameter, a PKCS#11 token (HSM, smartcard), or a\n"
		    "new key pair.\n\n"
		    "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(fp, "  %-16s %s\n", commands[i].name, commands[i].help);
	fprintf(fp, "\nOptions:\n"
		    "  -h, --help       display help (qs-jwt help <command>, or\n"
		    "                   qs-jwt <command> --help: help for a command)\n"
		    "  --version [--json]\n"
		    "                   the version, and those of OpenSSL, p11-kit and cJSON\n\n"
		    "Environment:\n"
		    "  QSJWT_KEY_PASSPHRASE  passphrase of an encrypted private key\n"
		    "  QSJWT_PKCS11_PIN      user PIN of a PKCS#11 token\n"
		    "  NO_COLOR              when set and not empty, logs are never coloured\n\n");
	cli_print_exit_codes(fp, 1);
}

/* What a bug report needs: our version and those of the libraries we run
 * with (OpenSSL and cJSON as loaded; p11-kit has no runtime query, so the
 * version built against). */
static int version(int argc, char **argv)
{
	const char *openssl = OpenSSL_version(OPENSSL_VERSION);
	char line[512];

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json") != 0)) {
		cli_usage_error(NULL, "--version takes only --json");
		return EXIT_USAGE;
	}
	if (argc == 1) {
		cJSON *o = cJSON_CreateObject();
		char *text;
		int code;
		cJSON_AddStringToObject(o, "qs-jwt", QSJWT_VERSION);
		cJSON_AddStringToObject(o, "openssl", openssl);
		cJSON_AddStringToObject(o, "p11-kit", QSJWT_P11KIT_VERSION);
		cJSON_AddStringToObject(o, "cjson", cJSON_Version());
		text = cJSON_PrintUnformatted(o);
		code = text != NULL ? cli_write_stdout_line(text) : EXIT_RUNTIME;
		cJSON_free(text);
		cJSON_Delete(o);
		return code;
	}
	snprintf(line, sizeof(line),
		 "qs-jwt %s\n%s\np11-kit %s (built with)\ncJSON %s", QSJWT_VERSION, openssl,
		 QSJWT_P11KIT_VERSION, cJSON_Version());
	return cli_write_stdout_line(line);
}

static void unknown_command(const char *word)
{
	const char *names[N_COMMANDS], *near;

	for (size_t i = 0; i < N_COMMANDS; i++)
		names[i] = commands[i].name;
	/* Shown only as cli_shown() allows: a PEM key pasted in the wrong
	 * place is not printed, escape sequences do not reach the terminal. */
	near = cli_shown(word)[0] == '\'' ? cli_closest(word, strlen(word), names, N_COMMANDS)
					  : NULL;
	if (near != NULL)
		cli_usage_error(NULL, "unknown command %s; did you mean '%s'?", cli_shown(word),
				near);
	else
		cli_usage_error(NULL, "unknown command %s", cli_shown(word));
}

int main(int argc, char **argv)
{
	/* Started with stdin, stdout or stderr closed, the next file we open
	 * would take that number, and the token would be written into it (a
	 * private key file being created, say). */
	if (!plat_sanitize_std_fds()) {
		/* Every command writes its result there: fail before any work
		 * (no key made, no file written, no token lost). */
		log_error("cannot write to standard output: it is closed; nothing was done");
		return EXIT_RUNTIME;
	}

	/* No core dumps (keys and passphrases live here), no death by SIGPIPE,
	 * binary stdout. */
	plat_process_init();

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 && argc > 2) {
		/* qs-jwt help CMD [SUB]: that command's --help. */
		char help_arg[] = "--help";
		char *args[3];
		int n = 0;
		for (size_t i = 0; i < N_COMMANDS; i++) {
			if (strcmp(argv[2], commands[i].name) != 0)
				continue;
			if (argc > 3)
				args[n++] = argv[3];
			args[n++] = help_arg;
			args[n] = NULL;
			return commands[i].run(n, args);
		}
		unknown_command(argv[2]);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return cli_flush_stdout();
	}
	if (strcmp(argv[1], "--version") == 0)
		return version(argc - 2, argv + 2);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			int code = commands[i].run(argc - 2, argv + 2);
			/* A signal noted during the run (a --batch stopped by it):
			 * everything is undone or flushed; end by it, 128+N. */
			stop_reraise();
			return code;
		}
	}
	unknown_command(argv[1]);
	return EXIT_USAGE;
}
