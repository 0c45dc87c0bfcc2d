/* libFuzzer: the serve policy parser (a policy file is operator input, but
 * a SIGHUP reload must survive any file), then a match and a check on what
 * parsed. */
#include <stdint.h>
#include <stdlib.h>

#include "serve/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const groups[] = {"Sales", ""};
	const serve_caller callers[] = {
	    {CALLER_UNIX, 0, 0, 1, NULL, NULL},
	    {CALLER_UNIX, 1000, 1000, 1, NULL, NULL},
	    {CALLER_LOOPBACK, 0, 0, 0, NULL, NULL},
	    {CALLER_TLS, 0, 0, 0, "CN=a",
	     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
	};
	const serve_request reqs[] = {
	    {REQ_QSEOW, "ACME", "alice", "aud", NULL, NULL, NULL, groups, 2, 3600},
	    {REQ_QSCLOUD, NULL, NULL, NULL, "sub", "iss", "kid", NULL, 0, 99999999},
	    {REQ_QSEOW, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
	};
	char *err = NULL, *why = NULL;
	policy *p = policy_parse((const char *)data, size, &err);

	/* exactly one of a policy and a message */
	if ((p == NULL) == (err == NULL))
		abort();
	free(err);
	if (p == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(callers) / sizeof(callers[0]); i++) {
		const policy_client *pc = policy_match(p, &callers[i]);
		if (pc == NULL)
			continue;
		if (policy_client_name(pc)[0] == '\0')
			abort();
		for (size_t k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++) {
			int rc = policy_check(pc, &reqs[k], &why);
			if ((rc == 1) != (why != NULL))
				abort();
			free(why);
		}
		(void)policy_allows_metrics(pc);
		(void)policy_rate_take(pc, 0);
	}
	policy_unref(policy_ref(p));
	policy_unref(p);
	return 0;
}
