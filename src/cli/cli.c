#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jose/json.h"
#include "pkcs11/uri_check.h"
#include "util/log.h"

void cli_usage_error(const char *cmd, const char *fmt, ...)
{
	/* Room for a path, twice (a file and the command that fixes it). */
	char msg[2048], shown[2048 * 4];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A value quoted in the message is the user's input: one line, no
	 * control bytes (they could forge lines or drive the terminal), no
	 * bytes that are not UTF-8, and not 64 KiB of it. */
	log_escape(msg, shown, sizeof(shown));
	if (cmd == NULL)
		fprintf(stderr, "qs-jwt: error: %s%s\nsee 'qs-jwt --help'\n", shown,
			n >= (int)sizeof(msg) ? "..." : "");
	else
		fprintf(stderr, "qs-jwt %s: error: %s%s\nsee 'qs-jwt %s --help'\n", cmd, shown,
			n >= (int)sizeof(msg) ? "..." : "", cmd);
}

typedef struct {
	char msg[1024];
} first_error;

static void capture_error(qsjwt_log_level level, const char *msg, void *ud)
{
	first_error *e = ud;

	if (level == QSJWT_LOG_ERROR && e->msg[0] == '\0')
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

int cli_check_uri(const char *cmd, const char *uri, int allow_pin_in_uri, int for_key)
{
	first_error e;
	qsjwt_err rc;

	/* The library reports why through the log; a usage error has the one
	 * format of every other usage error, naming the option. */
	e.msg[0] = '\0';
	qsjwt_log_set_handler(capture_error, &e);
	rc = qsjwt_pkcs11_check_uri(uri, allow_pin_in_uri, for_key);
	qsjwt_log_set_handler(NULL, NULL);
	if (rc == QSJWT_OK)
		return 0;
	cli_usage_error(cmd, "--pkcs11-uri: %s", e.msg[0] != '\0' ? e.msg : qsjwt_err_str(rc));
	return -1;
}

int cli_check_p11_options(const char *cmd, const char *uri, const char *module_path,
			  const char *module_init, int for_create)
{
	char why[512];

	if (p11_uri_options_check(uri, module_path, module_init, for_create, why, sizeof(why)) ==
	    QSJWT_OK)
		return 0;
	cli_usage_error(cmd, "%s", why);
	return -1;
}

/* Longest argument repeated in a message. */
#define CLI_SHOWN_MAX 64

/*
 * An argument as a message may show it: quoted when it looks like a word a
 * user typed (short, one line, no control bytes); otherwise only its size,
 * since it may be a private key or a PIN put in the wrong place.
 */
static const char *show_arg(const char *a, size_t len, char *buf)
{
	int plain = len <= CLI_SHOWN_MAX && utf8_valid(a, len);

	for (size_t i = 0; plain && i < len; i++)
		plain = (unsigned char)a[i] >= 0x20 && a[i] != 0x7f;
	if (plain && len >= 5 && strncmp(a, "-----", 5) == 0)
		plain = 0; /* a PEM armour line */
	if (plain)
		snprintf(buf, CLI_SHOWN_MAX + 40, "'%.*s'", (int)len, a);
	else
		snprintf(buf, CLI_SHOWN_MAX + 40, "of %zu bytes (not shown: it may be a secret)",
			 len);
	return buf;
}

const char *cli_shown(const char *value)
{
	static char buf[CLI_SHOWN_MAX + 40];

	return show_arg(value, strlen(value), buf);
}

static const cli_option *find_long(const cli_option *opts, size_t n, const char *name,
				   size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	}
	return NULL;
}

static const cli_option *find_short(const cli_option *opts, size_t n, char c)
{
	for (size_t i = 0; i < n; i++) {
		if (opts[i].short_name != 0 && opts[i].short_name == c)
			return &opts[i];
	}
	return NULL;
}

size_t cli_edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	/* Levenshtein over two rows; option names are short. */
	size_t row[2][65], i, j;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[0][j] = j;
	for (i = 1; i <= la; i++) {
		size_t *cur = row[i % 2], *prev = row[(i - 1) % 2];
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	}
	return row[la % 2][lb];
}

/* The known name closest to what was typed, when it is close enough to be
 * a slip (at most 2 edits, and fewer than a third of the name); else NULL. */
const char *cli_closest(const char *typed, size_t len, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; i < n; i++) {
		size_t d = cli_edit_distance(typed, len, names[i], strlen(names[i]));
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	return best != NULL && best_d <= 2 && best_d * 3 < strlen(best) ? best : NULL;
}

static const char *closest_option(const cli_option *opts, size_t n, const char *typed,
				  size_t len)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; i < n; i++) {
		size_t d = cli_edit_distance(typed, len, opts[i].name, strlen(opts[i].name));
		if (d < best_d) {
			best_d = d;
			best = opts[i].name;
		}
	}
	return best != NULL && best_d <= 2 && best_d * 3 < strlen(best) ? best : NULL;
}

static int check_value(const char *cmd, const cli_option *o, const char *v)
{
	size_t len = strlen(v);

	if (len > CLI_MAX_VALUE && !(o->flags & CLI_NOLIMIT)) {
		cli_usage_error(cmd, "the value of --%s is longer than 64 KiB (%zu bytes)", o->name,
				len);
		return -1;
	}
	if ((o->flags & CLI_TEXT) && !utf8_valid(v, len)) {
		cli_usage_error(cmd, "the value of --%s is not valid UTF-8", o->name);
		return -1;
	}
	return 0;
}

int cli_parse(const char *cmd, const cli_option *opts, size_t n, int argc, char **argv,
	      cli_handler fn, void *ud)
{
	for (int i = 0; i < argc; i++) {
		char *a = argv[i], *value = NULL;
		const cli_option *o = NULL;
		int has_inline = 0;

		if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0') {
			char shown[CLI_SHOWN_MAX + 40];
			cli_usage_error(cmd, "unexpected argument %s", show_arg(a, strlen(a), shown));
			return -1;
		}
		if (a[1] == '-') {
			char *eq = strchr(a + 2, '=');
			size_t len = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			o = find_long(opts, n, a + 2, len);
			if (eq != NULL) {
				value = eq + 1;
				has_inline = 1;
			}
		} else if (a[2] == '\0') {
			o = find_short(opts, n, a[1]);
		}
		if (o == NULL) {
			char shown[CLI_SHOWN_MAX + 40];
			/* Never echo a value (after '='): it may be a key or a PIN. */
			size_t len = has_inline ? (size_t)(strchr(a, '=') - a) : strlen(a);
			const char *near = NULL;
			if (a[1] == '-' && show_arg(a, len, shown)[0] == '\'')
				near = closest_option(opts, n, a + 2, len - 2);
			show_arg(a, len, shown);
			if (near != NULL)
				cli_usage_error(cmd, "unknown option %s; did you mean --%s?", shown, near);
			else
				cli_usage_error(cmd, "unknown option %s", shown);
			return -1;
		}
		switch (o->arg) {
		case CLI_FLAG:
			if (has_inline) {
				cli_usage_error(cmd, "option --%s takes no value", o->name);
				return -1;
			}
			if (fn(ud, o->id, NULL) != 0)
				return -1;
			break;
		case CLI_OPT_BOOL:
			if (!has_inline && i + 1 < argc && argv[i + 1][0] != '-')
				value = argv[++i];
			if (value != NULL && check_value(cmd, o, value) != 0)
				return -1;
			if (fn(ud, o->id, value) != 0)
				return -1;
			break;
		case CLI_VALUE:
		case CLI_VARIADIC:
			if (!has_inline) {
				if (i + 1 >= argc) {
					cli_usage_error(cmd, "option --%s %s needs a value", o->name,
							o->metavar);
					return -1;
				}
				value = argv[++i];
			}
			if (check_value(cmd, o, value) != 0 || fn(ud, o->id, value) != 0)
				return -1;
			while (o->arg == CLI_VARIADIC && i + 1 < argc && argv[i + 1][0] != '-') {
				value = argv[++i];
				if (check_value(cmd, o, value) != 0 || fn(ud, o->id, value) != 0)
					return -1;
			}
			break;
		}
	}
	return 0;
}

/* Help lines fit 80 columns: "  LEFT" in HELP_COL columns, then the help
 * text wrapped at word boundaries ('\n' in a help text is a space, except
 * "\n\n", a line break). */
#define HELP_COL 32
#define HELP_WIDTH 80

void cli_print_options(FILE *fp, const cli_option *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const cli_option *o = &opts[i];
		const char *h = o->help;
		char left[80];
		size_t col;
		int w;

		if (o->short_name)
			w = snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->name);
		else
			w = snprintf(left, sizeof(left), "--%s", o->name);
		if (o->metavar != NULL && w > 0 && (size_t)w < sizeof(left))
			snprintf(left + w, sizeof(left) - (size_t)w, " %s", o->metavar);
		if (strlen(left) > HELP_COL - 5) {
			fprintf(fp, "  %s\n%*s", left, HELP_COL, "");
		} else {
			fprintf(fp, "  %-*s", HELP_COL - 2, left);
		}
		col = HELP_COL;
		while (*h != '\0') {
			size_t len;
			if (*h == '\n' && h[1] == '\n') {
				fprintf(fp, "\n%*s", HELP_COL, "");
				col = HELP_COL;
				h += 2;
				continue;
			}
			if (*h == ' ' || *h == '\n') {
				h++;
				continue;
			}
			len = strcspn(h, " \n");
			if (col > HELP_COL && col + 1 + len > HELP_WIDTH) {
				fprintf(fp, "\n%*s", HELP_COL, "");
				col = HELP_COL;
			}
			if (col > HELP_COL) {
				fputc(' ', fp);
				col++;
			}
			fprintf(fp, "%.*s", (int)len, h);
			col += len;
			h += len;
		}
		fputc('\n', fp);
	}
}

const char *cli_option_name(const cli_option *opts, size_t n, int id)
{
	for (size_t i = 0; i < n; i++) {
		if (opts[i].id == id)
			return opts[i].name;
	}
	return "?";
}

int cli_exit_code(qsjwt_err err)
{
	switch (err) {
	case QSJWT_OK:
		return EXIT_OK;
	case QSJWT_ERR_INVALID:
		return EXIT_USAGE;
	case QSJWT_ERR_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case QSJWT_ERR_LOGIN:
		return EXIT_LOGIN;
	default:
		return EXIT_RUNTIME;
	}
}

int cli_write_stdout_line(const char *line)
{
	errno = 0;
	if (fputs(line, stdout) == EOF || fputc('\n', stdout) == EOF) {
		log_error("cannot write to standard output: %s",
			  errno != 0 ? strerror(errno) : "write error");
		return EXIT_RUNTIME;
	}
	return cli_flush_stdout();
}

int cli_flush_stdout(void)
{
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_error("cannot write to standard output: %s",
			  errno != 0 ? strerror(errno) : "write error");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

void cli_print_exit_codes(FILE *fp, int with_verify)
{
	fputs("Exit codes:\n"
	      "  0  success\n"
	      "  1  runtime failure (key unreadable or unusable, file write failed, ...)\n"
	      "  2  usage error (unknown option, missing or bad value, no key source or two)\n",
	      fp);
	if (with_verify)
		fputs("  3  verification failed\n", fp);
	fputs("  4  PKCS#11 token or key not found, or more than one matched\n"
	      "  5  PKCS#11 login failed (wrong, locked or missing PIN)\n"
	      "  128+N  interrupted by signal N (nothing left behind)\n",
	      fp);
}

const cli_option cli_common_opts[] = {
	{ CLI_OPT_LOGLEVEL, "loglevel", 0, CLI_VALUE, 0, "<level>",
	  "log level: error, warn (or warning), info, verbose, debug (default info)" },
	{ CLI_OPT_MINIMAL, "minimal-output", 0, CLI_FLAG, 0, NULL,
	  "hide info lines (warnings and errors remain); stdout holds the token alone\n"
	  "either way" },
	{ CLI_OPT_HELP, "help", 'h', CLI_FLAG, 0, NULL, "display help for command" },
	{ CLI_OPT_VERSION, "version", 0, CLI_FLAG, 0, NULL, "output the version number" },
};
const size_t cli_common_opts_len = sizeof(cli_common_opts) / sizeof(cli_common_opts[0]);

void cli_common_init(cli_common *c)
{
	memset(c, 0, sizeof(*c));
	c->loglevel = QSJWT_LOG_INFO;
}

int cli_common_handle(cli_common *c, const char *cmd, int id, const char *value)
{
	switch (id) {
	case CLI_OPT_LOGLEVEL:
		return cli_loglevel(cmd, value, &c->loglevel);
	case CLI_OPT_MINIMAL:
		c->minimal = 1;
		return 0;
	case CLI_OPT_HELP:
		c->help = 1;
		return 0;
	case CLI_OPT_VERSION:
		c->version = 1;
		return 0;
	default:
		return 1;
	}
}

static int table_add(cli_table *t, const cli_option *o)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		cli_option *v = realloc(t->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *o;
	return 0;
}

static int table_has(const cli_table *t, const cli_option *o)
{
	for (size_t i = 0; i < t->n; i++) {
		/* Aliases share an id: the name tells them apart. */
		if (t->v[i].id == o->id && strcmp(t->v[i].name, o->name) == 0)
			return 1;
	}
	return 0;
}

int cli_table_build(cli_table *t, const int *first, size_t n_first,
		    const cli_option *const *parts, const size_t *lens, size_t n_parts)
{
	int rc = 0;

	memset(t, 0, sizeof(*t));
	for (size_t f = 0; f < n_first && rc == 0; f++) {
		for (size_t p = 0; p < n_parts && rc == 0; p++) {
			for (size_t i = 0; i < lens[p] && rc == 0; i++) {
				if (parts[p][i].id == first[f] && !table_has(t, &parts[p][i]))
					rc = table_add(t, &parts[p][i]);
			}
		}
	}
	for (size_t p = 0; p < n_parts && rc == 0; p++) {
		for (size_t i = 0; i < lens[p] && rc == 0; i++) {
			if (!table_has(t, &parts[p][i]))
				rc = table_add(t, &parts[p][i]);
		}
	}
	if (rc != 0) {
		log_error("out of memory");
		cli_table_free(t);
	}
	return rc;
}

void cli_table_free(cli_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int cli_groups_add(const char *cmd, const char ***groups, size_t *n, const char *value)
{
	const char **g = realloc(*groups, (*n + 1) * sizeof(*g));

	if (g == NULL) {
		cli_usage_error(cmd, "out of memory for --groups");
		return -1;
	}
	g[(*n)++] = value;
	*groups = g;
	return 0;
}

int cli_require(const char *cmd, const char *const *values, const char *const *names, size_t n)
{
	char list[512];
	size_t used = 0, missing = 0;

	list[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (values[i] != NULL)
			continue;
		missing++;
		used += (size_t)snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0,
					 "%s'%s'", missing > 1 ? ", " : "", names[i]);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	if (missing == 0)
		return 0;
	cli_usage_error(cmd, "required option%s %s not specified", missing > 1 ? "s" : "", list);
	return -1;
}

int cli_help_or_version(int help, int version, void (*print_help)(void), int *code)
{
	if (help) {
		print_help();
		*code = cli_flush_stdout();
		return 1;
	}
	if (version) {
		*code = cli_write_stdout_line(QSJWT_VERSION);
		return 1;
	}
	return 0;
}

int cli_loglevel(const char *cmd, const char *value, qsjwt_log_level *out)
{
	if (qsjwt_log_level_from_name(value, out) == QSJWT_OK)
		return 0;
	cli_usage_error(cmd, "--loglevel must be one of error, warn, warning, info, verbose, "
			     "debug, not %s",
			cli_shown(value));
	return -1;
}

int cli_alg(const char *cmd, const char *value, qsjwt_alg *out)
{
	if (qsjwt_alg_from_name(value, out) == QSJWT_OK)
		return 0;
	cli_usage_error(cmd, "--alg must be RS256, RS384 or RS512, not %s", cli_shown(value));
	return -1;
}

int64_t cli_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (int64_t)time(NULL);
	return (int64_t)ts.tv_sec;
}

void cli_iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, size, "%lld", (long long)t);
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cli_expires(const char *cmd, const char *text, int64_t iat, int64_t *exp)
{
	double ms = 0;
	int has_unit = 0;

	if (qsjwt_timespan_parse(text, &ms, &has_unit) != QSJWT_OK) {
		cli_usage_error(cmd,
				"--expires %s is not a timespan: a number with an optional unit "
				"(ms, s, m, h, d, w, y), e.g. 60m, 8h, 7d",
				cli_shown(text));
		return -1;
	}
	if (qsjwt_exp_from_ms(iat, ms, exp) != QSJWT_OK) {
		cli_usage_error(cmd, "--expires %s puts exp outside 1970 to 9999", cli_shown(text));
		return -1;
	}
	if (!has_unit)
		log_warn("--expires '%s' has no unit and is read as milliseconds, as the "
			 "original did; write e.g. '%ss' for seconds",
			 text, text);
	else if (text[strlen(text) - 1] == 'M' &&
		 (strlen(text) < 2 || text[strlen(text) - 2] == ' ' ||
		  (text[strlen(text) - 2] >= '0' && text[strlen(text) - 2] <= '9')))
		/* The `ms` grammar is case-insensitive: M is m, minutes. */
		log_warn("--expires '%s' means minutes (M is m, as in the original), not "
			 "months; write e.g. '30d' for a month",
			 text);
	if (*exp <= iat)
		log_warn("--expires '%s' gives a token that is expired when issued (exp %lld, "
			 "iat %lld)",
			 text, (long long)*exp, (long long)iat);
	return 0;
}
