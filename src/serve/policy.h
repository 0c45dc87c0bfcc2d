/*
 * The serve policy: which caller may ask for which tokens (the file format is
 * in docs/serve-policy.md). A loaded policy is immutable and refcounted, so a
 * SIGHUP reload can swap it while requests still hold the old one; only the
 * per-client rate limiters change, under their own mutex.
 */
#ifndef QSJWT_SERVE_POLICY_H
#define QSJWT_SERVE_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum { CALLER_UNIX, CALLER_LOOPBACK, CALLER_TLS } serve_caller_kind;

/* Who is asking. All pointers are borrowed. */
typedef struct {
	serve_caller_kind kind;
	uid_t uid; /* CALLER_UNIX: SO_PEERCRED */
	gid_t gid;
	pid_t pid;
	const char *cert_subject; /* CALLER_TLS: RFC 4514 string */
	const char *cert_sha256;  /* CALLER_TLS: lowercase hex of the DER */
} serve_caller;

typedef enum { REQ_QSEOW, REQ_QSCLOUD } serve_req_kind;

/* What is asked for. All pointers are borrowed; NULL when absent. */
typedef struct {
	serve_req_kind kind;
	const char *userdir, *userid, *audience; /* qseow */
	const char *sub, *issuer, *keyid;	 /* qscloud */
	const char *const *groups;
	size_t n_groups;
	int64_t lifetime; /* seconds, from "expires" */
} serve_request;

typedef struct policy policy;
typedef struct policy_client policy_client;

/*
 * Read and parse the policy file at `path`. On failure NULL, and *err gets
 * a message (the caller frees it with free()) naming the file and the JSON
 * path of the fault, e.g.
 *   policy.json: clients[1].allow.userdir: unknown key "userdirs"
 * The result has one reference: release it with policy_unref().
 */
policy *policy_load(const char *path, char **err);

/*
 * Parse a policy from memory (`len` bytes of `text`, need not be
 * NUL-terminated). As policy_load(), but the message in *err has no file
 * name in front.
 */
policy *policy_parse(const char *text, size_t len, char **err);

/*
 * The policy without --policy: one client "default" that matches the unix
 * caller with uid `service_uid` and allows anything, without a rate limit or
 * lifetime cap, metrics included. NULL only when out of memory. One
 * reference, released with policy_unref().
 */
policy *policy_default(uid_t service_uid);

/* Take another reference (returns `p`); drop one, freeing the policy with
 * the last. Both are thread-safe; policy_unref(NULL) does nothing. */
policy *policy_ref(policy *p);
void policy_unref(policy *p);

/* Whether `p` came from policy_default(). */
int policy_is_default(const policy *p);

/*
 * The first client of `p` whose match fits caller `c`, or NULL when none
 * does (an unknown caller: 403). The client belongs to `p` and lives as long
 * as the caller holds its reference on `p`.
 */
const policy_client *policy_match(const policy *p, const serve_caller *c);

/* The client's "name" (owned by the policy). */
const char *policy_client_name(const policy_client *pc);

/*
 * Whether client `pc` may ask for `r`: 0 allowed, 1 denied. When denied and
 * `why` is not NULL, *why gets a message naming the rule (the caller frees
 * it), e.g.  userdir "X" is not allowed for client "portal"  with the values
 * escaped for a terminal. It never holds a secret (a request has none).
 * *why is NULL when allowed, and when denied but out of memory.
 */
int policy_check(const policy_client *pc, const serve_request *r, char **why);

/* Whether client `pc` may read /metrics ("metrics": true). */
int policy_allows_metrics(const policy_client *pc);

/*
 * Take one request from client `pc`'s requests_per_minute budget at time
 * `now_ms` (milliseconds on a monotonic clock): 0 within the limit (or no
 * limit), 1 over it (429). Thread-safe.
 */
int policy_rate_take(const policy_client *pc, int64_t now_ms);

#endif
