/* Logging to stderr (or the handler set through the public API). */
#ifndef QSJWT_LOG_H
#define QSJWT_LOG_H

#include <qsjwt/qsjwt.h>

#if defined(__GNUC__)
#define QSJWT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define QSJWT_PRINTF(a, b)
#endif

/* Never pass a secret (key, PIN, passphrase, token) to these. */
void log_msg(qsjwt_log_level level, const char *fmt, ...) QSJWT_PRINTF(2, 3);
/* `in` as it may be shown on a terminal: control bytes and bytes that are
 * not UTF-8 become \xHH; cut to fit `size` (at least 1). */
void log_escape(const char *in, char *out, size_t size);
/* Whether a line at `level` would be shown (skip expensive formatting). */
int log_enabled(qsjwt_log_level level);

#define log_error(...) log_msg(QSJWT_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(QSJWT_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(QSJWT_LOG_INFO, __VA_ARGS__)
#define log_verbose(...) log_msg(QSJWT_LOG_VERBOSE, __VA_ARGS__)
#define log_debug(...) log_msg(QSJWT_LOG_DEBUG, __VA_ARGS__)

/* The first reason on OpenSSL's error queue (or `fallback`), then clear
 * the queue. The returned string is static. */
const char *log_openssl_reason(const char *fallback);

#endif
