/* Helpers shared by the cmocka unit tests: row-aware checks that say which
 * table row failed and show the bytes, and a log handler that collects what
 * the library reported. */
#ifndef QSJWT_TEST_UNIT_H
#define QSJWT_TEST_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <qsjwt/qsjwt.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static inline const char *unit_err_name(qsjwt_err e)
{
	static const char *const names[] = {
		"OK",           "ERR_INVALID", "ERR_NOMEM",  "ERR_IO",
		"ERR_KEY",      "ERR_PASSPHRASE", "ERR_CRYPTO", "ERR_EXISTS",
		"ERR_INTERRUPTED", "ERR_VERIFY", "ERR_NOT_FOUND", "ERR_LOGIN",
	};
	return (unsigned)e < N_ELEMS(names) ? names[e] : "?";
}

/* Print bytes with C escapes, for failure messages. */
static inline void unit_print_bytes(const char *label, const void *p, size_t len)
{
	const unsigned char *s = p;

	print_error("  %s (%zu bytes): \"", label, len);
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			print_error("%c", s[i]);
		else
			print_error("\\x%02x", s[i]);
	}
	print_error("\"\n");
}

/* `ctx` names the table row in the failure message. */
static inline void check_bytes(const char *ctx, const void *got, size_t got_len,
			       const void *want, size_t want_len)
{
	if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0))
		return;
	print_error("%s: bytes differ\n", ctx);
	unit_print_bytes("got ", got, got_len);
	unit_print_bytes("want", want, want_len);
	fail();
}

static inline void check_str(const char *ctx, const char *got, const char *want)
{
	if (got == NULL) {
		print_error("%s: got NULL, want \"%s\"\n", ctx, want);
		fail();
	}
	check_bytes(ctx, got, strlen(got), want, strlen(want));
}

static inline void check_rc(const char *ctx, qsjwt_err got, qsjwt_err want)
{
	if (got == want)
		return;
	print_error("%s: got %s (%d), want %s (%d)\n", ctx, unit_err_name(got), (int)got,
		    unit_err_name(want), (int)want);
	fail();
}

static inline void check_int(const char *ctx, long long got, long long want)
{
	if (got == want)
		return;
	print_error("%s: got %lld, want %lld\n", ctx, got, want);
	fail();
}

/* ---- log capture ------------------------------------------------------------ */

typedef struct {
	int errors;      /* QSJWT_LOG_ERROR lines */
	char all[16384]; /* every line, '\n'-separated (truncated) */
} unit_log;

static inline void unit_log_fn(qsjwt_log_level level, const char *msg, void *ud)
{
	unit_log *l = ud;
	size_t used = strlen(l->all);

	if (level == QSJWT_LOG_ERROR)
		l->errors++;
	snprintf(l->all + used, sizeof(l->all) - used, "%s\n", msg);
}

/* Route library messages into *l (cleared) instead of stderr. */
static inline void unit_log_start(unit_log *l)
{
	memset(l, 0, sizeof(*l));
	qsjwt_log_set_handler(unit_log_fn, l);
}

static inline void unit_log_stop(void)
{
	qsjwt_log_set_handler(NULL, NULL);
}

#endif
