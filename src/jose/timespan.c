/*
 * --expires as the original computed it: the `ms` package (v2) parses the
 * text into milliseconds, jsonwebtoken's timespan() adds it to iat. Both are
 * reproduced operation for operation in IEEE-754 doubles, so odd inputs give
 * the original's numbers (68.1y: one second below the exact decimal).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <qsjwt/qsjwt.h>

#include "platform/platform.h"
#include "util/log.h"

#define TIMESPAN_MAX_LEN 100

static const struct {
	const char *name;
	double ms;
} units[] = {
	{ "milliseconds", 1 }, { "millisecond", 1 }, { "msecs", 1 }, { "msec", 1 },
	{ "ms", 1 },           { "seconds", 1000 },  { "second", 1000 }, { "secs", 1000 },
	{ "sec", 1000 },       { "s", 1000 },        { "minutes", 60000 }, { "minute", 60000 },
	{ "mins", 60000 },     { "min", 60000 },     { "m", 60000 },     { "hours", 3600000 },
	{ "hour", 3600000 },   { "hrs", 3600000 },   { "hr", 3600000 },  { "h", 3600000 },
	{ "days", 86400000 },  { "day", 86400000 },  { "d", 86400000 },  { "weeks", 604800000 },
	{ "week", 604800000 }, { "w", 604800000 },   { "years", 31557600000.0 },
	{ "year", 31557600000.0 }, { "yrs", 31557600000.0 }, { "yr", 31557600000.0 },
	{ "y", 31557600000.0 },
};

/* ASCII case-insensitive equality: strcasecmp follows the locale. */
static int ascii_ieq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

static size_t digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

qsjwt_err qsjwt_timespan_parse(const char *text, double *ms_out, int *has_unit)
{
	char num[TIMESPAN_MAX_LEN + 1];
	size_t len = strlen(text), i = 0, d;
	double n, factor = 1;
	int unit = 0;

	if (len == 0 || len > TIMESPAN_MAX_LEN)
		return QSJWT_ERR_INVALID;
	if (text[i] == '-')
		i++;
	/* DIGITS | DIGITS.DIGITS | .DIGITS */
	d = digits(text + i);
	i += d;
	if (text[i] == '.') {
		size_t frac = digits(text + i + 1);
		if (frac == 0)
			return QSJWT_ERR_INVALID;
		i += 1 + frac;
	} else if (d == 0) {
		return QSJWT_ERR_INVALID;
	}
	memcpy(num, text, i);
	num[i] = '\0';
	while (text[i] == ' ')
		i++;
	if (text[i] != '\0') {
		size_t k;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			if (ascii_ieq(text + i, units[k].name))
				break;
		}
		if (k == sizeof(units) / sizeof(units[0]))
			return QSJWT_ERR_INVALID;
		factor = units[k].ms;
		unit = 1;
	}
	/* parseFloat and strtod both round correctly to the nearest double. */
	if (plat_strtod_c(num, &n) != 0) {
		log_error("cannot read the number in --expires: no \"C\" locale");
		return QSJWT_ERR_NOMEM;
	}
	*ms_out = unit ? n * factor : n;
	if (has_unit != NULL)
		*has_unit = unit;
	return QSJWT_OK;
}

qsjwt_err qsjwt_exp_from_ms(int64_t iat, double ms, int64_t *exp_out)
{
	double exp = floor((double)iat + ms / 1000);

	if (!(exp >= 0 && exp <= (double)QSJWT_MAX_TIME))
		return QSJWT_ERR_INVALID;
	*exp_out = (int64_t)exp;
	return QSJWT_OK;
}
