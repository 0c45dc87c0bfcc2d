#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "platform/platform.h"
#include "util/utf8.h"

static qsjwt_log_level g_level = QSJWT_LOG_INFO;
static int g_hide_info;
static qsjwt_log_fn g_fn;
static void *g_ud;

static const struct {
	const char *name;
	qsjwt_log_level level;
} level_names[] = {
	{ "error", QSJWT_LOG_ERROR },     { "warn", QSJWT_LOG_WARN },
	{ "warning", QSJWT_LOG_WARN },    { "info", QSJWT_LOG_INFO },
	{ "verbose", QSJWT_LOG_VERBOSE }, { "debug", QSJWT_LOG_DEBUG },
};

/* The label and its ANSI colour, indexed by level. */
static const char *const level_label[] = { "ERROR", "WARN", "INFO", "VERBOSE", "DEBUG" };
static const char *const level_colour[] = { "31", "33", "32", "36", "34" };

void qsjwt_log_set_level(qsjwt_log_level level)
{
	g_level = level;
}

void qsjwt_log_set_hide_info(int hide)
{
	g_hide_info = hide;
}

void qsjwt_log_set_handler(qsjwt_log_fn fn, void *ud)
{
	g_fn = fn;
	g_ud = ud;
}

qsjwt_err qsjwt_log_level_from_name(const char *name, qsjwt_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i].name) == 0) {
			*out = level_names[i].level;
			return QSJWT_OK;
		}
	}
	return QSJWT_ERR_INVALID;
}

int log_enabled(qsjwt_log_level level)
{
	if (level > g_level)
		return 0;
	return !(level == QSJWT_LOG_INFO && g_hide_info);
}

static void default_handler(qsjwt_log_level level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char stamp[64] = "";
	const char *nc = getenv("NO_COLOR");
	int colour = plat_isatty(STDERR_FILENO) && (nc == NULL || nc[0] == '\0');

	/* ISO 8601 UTC with milliseconds, like the original's log lines. */
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm) != NULL)
		snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000L);
	if (colour)
		fprintf(stderr, "%s \033[%sm%s\033[0m: %s\n", stamp, level_colour[level],
			level_label[level], msg);
	else
		fprintf(stderr, "%s %s: %s\n", stamp, level_label[level], msg);
}

/* Control bytes in a message would let a value (a claim, a file name) forge
 * log lines or drive the terminal (CWE-117), and bytes that are not UTF-8
 * garble it: show both as \xHH. */
void log_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, left = strlen(in), n;

	while (left > 0 && o + 5 < size) {
		n = utf8_seq_len(s, left);
		if (n == 0 || s[0] < 0x20 || s[0] == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[0] >> 4];
			out[o++] = hex[s[0] & 15];
			n = 1;
		} else {
			/* n <= 4 and o + 5 < size: it fits with its NUL. */
			memcpy(out + o, s, n);
			o += n;
		}
		s += n;
		left -= n;
	}
	out[o] = '\0';
}

void log_msg(qsjwt_log_level level, const char *fmt, ...)
{
	char raw[2048], buf[2048 * 4];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	log_escape(raw, buf, sizeof(buf));
	if (g_fn != NULL)
		g_fn(level, buf, g_ud);
	else
		default_handler(level, buf);
}

const char *log_openssl_reason(const char *fallback)
{
	static _Thread_local char buf[256];
	unsigned long e = ERR_peek_last_error();
	const char *reason;

	if (e == 0) {
		snprintf(buf, sizeof(buf), "%s", fallback);
	} else {
		reason = ERR_reason_error_string(e);
		snprintf(buf, sizeof(buf), "%s", reason != NULL ? reason : fallback);
	}
	ERR_clear_error();
	return buf;
}
