/* libFuzzer: --expires timespans and the exp computation. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qsjwt/qsjwt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256];
	double ms = 0;
	int64_t exp;
	int unit = 0;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (qsjwt_timespan_parse(text, &ms, &unit) != QSJWT_OK)
		return 0;
	/* (the text ends at the first NUL, like a command-line argument) */
	if (strlen(text) > 100 || isnan(ms))
		abort(); /* the grammar bounds the length and has no NaN */
	if (qsjwt_exp_from_ms(1893456000, ms, &exp) == QSJWT_OK &&
	    (exp < 0 || exp > QSJWT_MAX_TIME))
		abort();
	return 0;
}
