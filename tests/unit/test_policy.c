/* The serve policy: every match kind, first match wins, glob and list rules,
 * the lifetime cap, the groups rule, the rate limiter on a fake clock, every
 * load error with its exact message, and the reference count. */
#define _DEFAULT_SOURCE /* getgrent, to find a group with members */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve/policy.h"

#include "unit.h"

#define SHA_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SHA_COLONS                                                                                 \
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:"           \
	"aa:BB:cc:DD:ee:FF"

static serve_caller unix_caller(uid_t uid, gid_t gid)
{
	serve_caller c = {CALLER_UNIX, uid, gid, 1234, NULL, NULL};
	return c;
}

static serve_caller loopback_caller(void)
{
	serve_caller c = {CALLER_LOOPBACK, 0, 0, 0, NULL, NULL};
	return c;
}

static serve_caller tls_caller(const char *subject, const char *sha)
{
	serve_caller c = {CALLER_TLS, 0, 0, 0, subject, sha};
	return c;
}

static policy *parse_ok(const char *text)
{
	char *err = NULL;
	policy *p = policy_parse(text, strlen(text), &err);

	if (p == NULL) {
		print_error("policy did not parse: %s\n%s\n", err, text);
		free(err);
		fail();
	}
	assert_null(err);
	return p;
}

/* The name of the client that matches c, or "-" for none. */
static const char *who(const policy *p, serve_caller c)
{
	const policy_client *pc = policy_match(p, &c);
	return pc != NULL ? policy_client_name(pc) : "-";
}

/* ---- matching ----------------------------------------------------------------- */

static void match_kinds(void **state)
{
	policy *p =
	    parse_ok("{\"clients\": ["
		     "{\"name\": \"by-uid\", \"match\": {\"uid\": 1000}, \"allow\": {}},"
		     "{\"name\": \"by-user\", \"match\": {\"user\": \"root\"}, \"allow\": {}},"
		     "{\"name\": \"by-gid\", \"match\": {\"gid\": 4242}, \"allow\": {}},"
		     "{\"name\": \"by-group\", \"match\": {\"group\": \"root\"}, \"allow\": {}},"
		     "{\"name\": \"lo\", \"match\": {\"loopback\": true}, \"allow\": {}},"
		     "{\"name\": \"subj\", \"match\": {\"cert_subject\": \"CN=portal,O=ACME\"}, "
		     "\"allow\": {}},"
		     "{\"name\": \"sha\", \"match\": {\"cert_sha256\": \"" SHA_COLONS "\"}, "
		     "\"allow\": {}}]}");

	(void)state;
	assert_false(policy_is_default(p));
	check_str("uid", who(p, unix_caller(1000, 5000)), "by-uid");
	check_str("user root", who(p, unix_caller(0, 5000)), "by-user");
	check_str("gid", who(p, unix_caller(5001, 4242)), "by-gid");
	/* group "root" is gid 0: the caller's primary gid */
	check_str("group root", who(p, unix_caller(5001, 0)), "by-group");
	check_str("unknown uid", who(p, unix_caller(5001, 5001)), "-");
	check_str("loopback", who(p, loopback_caller()), "lo");
	check_str("subject", who(p, tls_caller("CN=portal,O=ACME", "ff")), "subj");
	/* exact compare: no RFC 4514 normalisation */
	check_str("subject spaced", who(p, tls_caller("CN=portal, O=ACME", "ff")), "-");
	check_str("sha", who(p, tls_caller("CN=other", SHA_HEX)), "sha");
	check_str("sha other", who(p, tls_caller("CN=other", SHA_HEX "0")), "-");
	check_str("tls without values", who(p, tls_caller(NULL, NULL)), "-");
	policy_unref(p);
}

/* A uid or gid rule never matches a loopback or TLS caller (whose uid and
 * gid fields are 0, as root's). */
static void match_kind_only(void **state)
{
	policy *p = parse_ok("{\"clients\": ["
			     "{\"name\": \"root\", \"match\": {\"uid\": 0}, \"allow\": {}},"
			     "{\"name\": \"g0\", \"match\": {\"gid\": 0}, \"allow\": {}}]}");

	(void)state;
	check_str("loopback", who(p, loopback_caller()), "-");
	check_str("tls", who(p, tls_caller("CN=x", SHA_HEX)), "-");
	check_str("unix", who(p, unix_caller(0, 0)), "root");
	policy_unref(p);
}

static void first_match_wins(void **state)
{
	policy *p = parse_ok("{\"clients\": ["
			     "{\"name\": \"first\", \"match\": {\"gid\": 100}, \"allow\": {}},"
			     "{\"name\": \"second\", \"match\": {\"uid\": 1000}, \"allow\": "
			     "{\"userid\": [\"*\"]}},"
			     "{\"name\": \"third\", \"match\": {\"uid\": 1000}, \"allow\": {}}]}");

	(void)state;
	check_str("gid first", who(p, unix_caller(1000, 100)), "first");
	check_str("uid second", who(p, unix_caller(1000, 101)), "second");
	policy_unref(p);
}

/* A group's supplementary members (from the group database when the policy
 * loads) match as well as its primary-gid callers. */
static void group_members(void **state)
{
	struct group *g;
	struct passwd *pw = NULL;
	char text[512], grname[128] = "";
	uid_t member = 0;
	gid_t gid = 0;
	policy *p;

	(void)state;
	setgrent();
	while ((g = getgrent()) != NULL && grname[0] == '\0') {
		for (size_t i = 0; g->gr_mem[i] != NULL; i++) {
			pw = getpwnam(g->gr_mem[i]);
			if (pw != NULL && pw->pw_gid != g->gr_gid && strlen(g->gr_name) < 100) {
				snprintf(grname, sizeof(grname), "%s", g->gr_name);
				member = pw->pw_uid;
				gid = g->gr_gid;
				break;
			}
		}
	}
	endgrent();
	if (grname[0] == '\0') {
		print_message("no group with a member on this machine: skipped\n");
		skip();
	}
	snprintf(text, sizeof(text),
		 "{\"clients\": [{\"name\": \"g\", \"match\": {\"group\": \"%s\"}, "
		 "\"allow\": {}}, {\"name\": \"n\", \"match\": {\"gid\": %u}, \"allow\": {}}]}",
		 grname, (unsigned)gid);
	p = parse_ok(text);
	check_str("member", who(p, unix_caller(member, 65533)), "g");
	check_str("not a member", who(p, unix_caller(65532, 65533)), "-");
	policy_unref(p);
	/* the numeric gid reads the same member list */
	snprintf(text, sizeof(text),
		 "{\"clients\": [{\"name\": \"n\", \"match\": {\"gid\": %u}, \"allow\": {}}]}",
		 (unsigned)gid);
	p = parse_ok(text);
	check_str("member by gid", who(p, unix_caller(member, 65533)), "n");
	policy_unref(p);
}

static void default_policy(void **state)
{
	policy *p = policy_default(4321);
	const char *groups[] = {"anything", "at all"};
	serve_request r = {REQ_QSEOW, "ANY", "who", "aud", NULL, NULL, NULL, groups, 2, 999999999};
	serve_request cloud = {REQ_QSCLOUD, NULL, NULL, NULL, "s", "iss", "kid", NULL, 0, 60};
	serve_caller c = unix_caller(4321, 1);
	const policy_client *pc;
	char *why = NULL;

	(void)state;
	assert_non_null(p);
	assert_true(policy_is_default(p));
	pc = policy_match(p, &c);
	assert_non_null(pc);
	check_str("name", policy_client_name(pc), "default");
	check_int("qseow", policy_check(pc, &r, &why), 0);
	assert_null(why);
	check_int("qscloud", policy_check(pc, &cloud, &why), 0);
	check_int("metrics", policy_allows_metrics(pc), 1);
	for (int i = 0; i < 10000; i++)
		check_int("no rate limit", policy_rate_take(pc, 0), 0);
	check_str("other uid", who(p, unix_caller(4322, 1)), "-");
	check_str("loopback", who(p, loopback_caller()), "-");
	policy_unref(p);
}

/* ---- allow rules -------------------------------------------------------------- */

static const char portal[] =
    "{\"clients\": [\n"
    "  {\"name\": \"portal\",\n"
    "   \"match\": {\"uid\": 1000},\n"
    "   \"allow\": {\"userdir\": [\"ACME\", \"EXT-*\", \"[AB]DIR\", \"LIT\\\\*\"],\n"
    "             \"userid\": [\"*\"],\n"
    "             \"audience\": [\"qlik-aud\"], \"groups\": [\"Sales\", \"Fin*\"],\n"
    "             \"issuer\": [], \"keyid\": [],\n"
    "             \"max_lifetime\": \"8h\", \"requests_per_minute\": 600,\n"
    "             \"metrics\": false}},\n"
    "  {\"name\": \"cloud\", \"match\": {\"loopback\": true},\n"
    "   \"allow\": {\"userid\": [\"svc-*\"], \"issuer\": [\"https://iss\"],\n"
    "             \"keyid\": [\"k1\", \"k2\"], \"metrics\": true}},\n"
    "  {\"name\": \"none\", \"match\": {\"uid\": 7}, \"allow\": {}}]}\n";

struct check_row {
	const char *client;
	serve_request r;
	const char *why; /* NULL: allowed */
};

static const char *const g_ok[] = {"Sales", "Finance", "Fin"};
static const char *const g_bad[] = {"Sales", "Admins"};
static const char *const g_ctl[] = {"Sa\x1b[1mles"};

#define QSEOW(dir, id, aud) REQ_QSEOW, dir, id, aud, NULL, NULL, NULL
#define CLOUD(sub, iss, kid) REQ_QSCLOUD, NULL, NULL, NULL, sub, iss, kid

static const struct check_row check_rows[] = {
    {"portal", {QSEOW("ACME", "alice", "qlik-aud"), NULL, 0, 3600}, NULL},
    {"portal", {QSEOW("EXT-1", "bob", "qlik-aud"), NULL, 0, 3600}, NULL},
    {"portal", {QSEOW("EXT-", "bob", "qlik-aud"), NULL, 0, 3600}, NULL},
    {"portal", {QSEOW("BDIR", "bob", "qlik-aud"), NULL, 0, 3600}, NULL},
    {"portal", {QSEOW("LIT*", "bob", "qlik-aud"), NULL, 0, 3600}, NULL},
    {"portal",
     {QSEOW("LITX", "bob", "qlik-aud"), NULL, 0, 3600},
     "userdir \"LITX\" is not allowed for client \"portal\""},
    {"portal",
     {QSEOW("CDIR", "bob", "qlik-aud"), NULL, 0, 3600},
     "userdir \"CDIR\" is not allowed for client \"portal\""},
    {"portal",
     {QSEOW("ext-1", "bob", "qlik-aud"), NULL, 0, 3600},
     "userdir \"ext-1\" is not allowed for client \"portal\""},
    {"portal",
     {QSEOW("ACME2", "bob", "qlik-aud"), NULL, 0, 3600},
     "userdir \"ACME2\" is not allowed for client \"portal\""},
    {"portal",
     {QSEOW("AC\nME", "bob", "qlik-aud"), NULL, 0, 3600},
     "userdir \"AC\\x0aME\" is not allowed for client \"portal\""},
    {"portal",
     {QSEOW(NULL, "bob", "qlik-aud"), NULL, 0, 3600},
     "an absent userdir is not allowed for client \"portal\""},
    /* ["*"] allows an absent value too */
    {"portal", {QSEOW("ACME", NULL, "qlik-aud"), NULL, 0, 3600}, NULL},
    {"portal", {QSEOW("ACME", "", "qlik-aud"), NULL, 0, 3600}, NULL},
    {"portal",
     {QSEOW("ACME", "alice", "qlik-aud2"), NULL, 0, 3600},
     "audience \"qlik-aud2\" is not allowed for client \"portal\""},
    {"portal",
     {QSEOW("ACME", "alice", NULL), NULL, 0, 3600},
     "an absent audience is not allowed for client \"portal\""},
    /* groups: each requested group must match a pattern */
    {"portal", {QSEOW("ACME", "alice", "qlik-aud"), g_ok, 3, 3600}, NULL},
    {"portal",
     {QSEOW("ACME", "alice", "qlik-aud"), g_bad, 2, 3600},
     "group \"Admins\" is not allowed for client \"portal\""},
    {"portal",
     {QSEOW("ACME", "alice", "qlik-aud"), g_ctl, 1, 3600},
     "group \"Sa\\x1b[1mles\" is not allowed for client \"portal\""},
    /* lifetime cap: 8h = 28800 s */
    {"portal", {QSEOW("ACME", "alice", "qlik-aud"), NULL, 0, 28800}, NULL},
    {"portal", {QSEOW("ACME", "alice", "qlik-aud"), NULL, 0, -5}, NULL},
    {"portal",
     {QSEOW("ACME", "alice", "qlik-aud"), NULL, 0, 28801},
     "lifetime 28801s is over max_lifetime \"8h\" (28800s) for client \"portal\""},
    /* empty lists (issuer, keyid): no Qlik Cloud tokens */
    {"portal",
     {CLOUD("alice", "https://iss", "k1"), NULL, 0, 60},
     "issuer \"https://iss\" is not allowed for client \"portal\""},
    /* qscloud: sub against allow.userid */
    {"cloud", {CLOUD("svc-etl", "https://iss", "k2"), NULL, 0, 99999999}, NULL},
    {"cloud",
     {CLOUD("alice", "https://iss", "k2"), NULL, 0, 60},
     "sub \"alice\" is not allowed by allow.userid for client \"cloud\""},
    {"cloud",
     {CLOUD("svc-etl", "https://iss/", "k2"), NULL, 0, 60},
     "issuer \"https://iss/\" is not allowed for client \"cloud\""},
    {"cloud",
     {CLOUD("svc-etl", "https://iss", "k3"), NULL, 0, 60},
     "keyid \"k3\" is not allowed for client \"cloud\""},
    {"cloud",
     {CLOUD("svc-etl", "https://iss", NULL), NULL, 0, 60},
     "an absent keyid is not allowed for client \"cloud\""},
    /* absent groups list: no group may be asked for, none is fine */
    {"cloud", {CLOUD("svc-etl", "https://iss", "k1"), NULL, 0, 60}, NULL},
    {"cloud",
     {CLOUD("svc-etl", "https://iss", "k1"), g_ok, 1, 60},
     "group \"Sales\" is not allowed for client \"cloud\""},
    /* qseow lists absent: QSEoW tokens refused */
    {"cloud",
     {QSEOW("ACME", "svc-etl", "qlik-aud"), NULL, 0, 60},
     "userdir \"ACME\" is not allowed for client \"cloud\""},
    {"none", {QSEOW("", "", ""), NULL, 0, 0}, "userdir \"\" is not allowed for client \"none\""},
    {"none",
     {CLOUD("a", "b", "c"), NULL, 0, 0},
     "sub \"a\" is not allowed by allow.userid for client \"none\""},
};

static const policy_client *client_named(const policy *p, const char *name)
{
	serve_caller c;

	if (strcmp(name, "portal") == 0)
		c = unix_caller(1000, 1);
	else if (strcmp(name, "cloud") == 0)
		c = loopback_caller();
	else
		c = unix_caller(7, 1);
	const policy_client *pc = policy_match(p, &c);
	assert_non_null(pc);
	check_str("client", policy_client_name(pc), name);
	return pc;
}

static void check_table(void **state)
{
	policy *p = parse_ok(portal);
	char ctx[64];

	(void)state;
	for (size_t i = 0; i < N_ELEMS(check_rows); i++) {
		const struct check_row *row = &check_rows[i];
		const policy_client *pc = client_named(p, row->client);
		char *why = (char *)"unset";
		int rc = policy_check(pc, &row->r, &why);

		snprintf(ctx, sizeof(ctx), "row %zu", i);
		check_int(ctx, rc, row->why != NULL);
		if (row->why == NULL) {
			if (why != NULL) {
				print_error("%s: why = %s\n", ctx, why);
				fail();
			}
		} else {
			check_str(ctx, why, row->why);
		}
		free(why);
		/* why may be NULL */
		check_int(ctx, policy_check(pc, &row->r, NULL), row->why != NULL);
	}
	check_int("metrics portal", policy_allows_metrics(client_named(p, "portal")), 0);
	check_int("metrics cloud", policy_allows_metrics(client_named(p, "cloud")), 1);
	check_int("metrics none", policy_allows_metrics(client_named(p, "none")), 0);
	policy_unref(p);
}

/* A client name with a control byte is shown escaped in why. */
static void why_escapes_name(void **state)
{
	policy *p = parse_ok("{\"clients\": [{\"name\": \"a\\u001bb\", \"match\": {\"uid\": 1}, "
			     "\"allow\": {}}]}");
	serve_request r = {QSEOW("D", "u", "a"), NULL, 0, 1};
	serve_caller c = unix_caller(1, 1);
	char *why = NULL;

	(void)state;
	check_int("denied", policy_check(policy_match(p, &c), &r, &why), 1);
	check_str("why", why, "userdir \"D\" is not allowed for client \"a\\x1bb\"");
	free(why);
	policy_unref(p);
}

/* ---- rate limit --------------------------------------------------------------- */

static void rate_limit(void **state)
{
	policy *p = parse_ok("{\"clients\": [{\"name\": \"r\", \"match\": {\"uid\": 1}, "
			     "\"allow\": {\"requests_per_minute\": 2}},"
			     "{\"name\": \"s\", \"match\": {\"uid\": 2}, "
			     "\"allow\": {\"requests_per_minute\": 600}},"
			     "{\"name\": \"u\", \"match\": {\"uid\": 3}, \"allow\": {}}]}");
	serve_caller c1 = unix_caller(1, 1), c2 = unix_caller(2, 1), c3 = unix_caller(3, 1);
	const policy_client *r = policy_match(p, &c1), *s = policy_match(p, &c2),
			    *u = policy_match(p, &c3);
	int64_t t0 = 1000000;

	(void)state;
	/* a burst of rpm, then one per 60000/rpm ms */
	check_int("1st", policy_rate_take(r, t0), 0);
	check_int("2nd", policy_rate_take(r, t0), 0);
	check_int("3rd", policy_rate_take(r, t0), 1);
	check_int("29.999 s", policy_rate_take(r, t0 + 29999), 1);
	check_int("30 s", policy_rate_take(r, t0 + 30000), 0);
	check_int("30 s again", policy_rate_take(r, t0 + 30000), 1);
	/* a clock that goes back refills nothing */
	check_int("back", policy_rate_take(r, t0), 1);
	/* ten minutes: the burst again, no more */
	check_int("later 1", policy_rate_take(r, t0 + 600000), 0);
	check_int("later 2", policy_rate_take(r, t0 + 600000), 0);
	check_int("later 3", policy_rate_take(r, t0 + 600000), 1);
	/* clients are counted apart */
	for (int i = 0; i < 600; i++)
		check_int("600 in a burst", policy_rate_take(s, 5), 0);
	check_int("601st", policy_rate_take(s, 5), 1);
	check_int("100 ms later", policy_rate_take(s, 105), 0);
	check_int("and no more", policy_rate_take(s, 105), 1);
	for (int i = 0; i < 100000; i++)
		check_int("no limit", policy_rate_take(u, 0), 0);
	policy_unref(p);
}

struct rate_arg {
	const policy_client *pc;
	int ok;
};

static void *rate_thread(void *v)
{
	struct rate_arg *a = v;

	for (int i = 0; i < 2000; i++)
		if (policy_rate_take(a->pc, 42) == 0)
			a->ok++;
	return NULL;
}

/* Four threads at once: exactly rpm requests get through. */
static void rate_threads(void **state)
{
	policy *p = parse_ok("{\"clients\": [{\"name\": \"r\", \"match\": {\"uid\": 1}, "
			     "\"allow\": {\"requests_per_minute\": 5000}}]}");
	serve_caller c = unix_caller(1, 1);
	struct rate_arg a[4];
	pthread_t t[4];
	int total = 0;

	(void)state;
	for (int i = 0; i < 4; i++) {
		a[i].pc = policy_match(p, &c);
		a[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, rate_thread, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += a[i].ok;
	}
	check_int("total", total, 5000);
	policy_unref(p);
}

/* ---- reference count ---------------------------------------------------------- */

static void *ref_thread(void *v)
{
	policy *p = v;

	for (int i = 0; i < 20000; i++)
		policy_unref(policy_ref(p));
	policy_unref(p); /* the reference the starter took for us */
	return NULL;
}

static void refcount(void **state)
{
	policy *p = parse_ok(portal);
	serve_caller c = unix_caller(1000, 1);
	pthread_t t[4];

	(void)state;
	assert_ptr_equal(policy_ref(p), p);
	policy_unref(p);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, ref_thread, policy_ref(p)), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	/* still ours: ASan would see a use after free */
	check_str("alive", policy_client_name(policy_match(p, &c)), "portal");
	policy_unref(p);
	policy_unref(NULL);
}

/* ---- load errors -------------------------------------------------------------- */

struct err_row {
	const char *text;
	const char *err;
};

#define C1(match, allow)                                                                           \
	"{\"clients\": [{\"name\": \"a\", \"match\": " match ", \"allow\": " allow "}]}"
#define M(match) C1(match, "{}")
#define A(allow) C1("{\"uid\": 1}", allow)

static const struct err_row err_rows[] = {
    {"", "not valid JSON near line 1, column 1"},
    {"{\"clients\": [\n  {\"name\": \"a\",,}]}", "not valid JSON near line 2, column 17"},
    {"{\"clients\": [{\"name\": \"a\", \"match\": {\"uid\": 1}, \"allow\": {}}]} x",
     "not valid JSON: more after the policy object (line 1, column 64)"},
    {"{\"clients\": [{\"name\": \"a\xff\"}]}", "not UTF-8 text (line 1, column 25)"},
    {"\n{\"clients\": [{\"name\": \"root\\u0000x\"}]}",
     "a string holds \\u0000 (line 2, column 28)"},
    {"[]", "the policy must be a JSON object"},
    {"{}", "policy: no \"clients\" array"},
    {"{\"clients\": [], \"client\": 1}", "policy: unknown key \"client\""},
    {"{\"clients\": [], \"clients\": []}", "policy: duplicate key \"clients\""},
    {"{\"clients\": {}}", "clients: must be an array"},
    {"{\"clients\": []}", "clients: is empty (name at least one client)"},
    {"{\"clients\": [1]}", "clients[0]: must be an object"},
    {"{\"clients\": [{\"match\": {\"uid\": 1}, \"allow\": {}}]}", "clients[0]: no \"name\""},
    {"{\"clients\": [{\"name\": \"a\", \"allow\": {}}]}", "clients[0]: no \"match\""},
    {"{\"clients\": [{\"name\": \"a\", \"match\": {\"uid\": 1}}]}", "clients[0]: no \"allow\""},
    {"{\"clients\": [{\"name\": \"a\", \"match\": {\"uid\": 1}, \"allow\": {}, \"x\": 1}]}",
     "clients[0]: unknown key \"x\""},
    {"{\"clients\": [{\"name\": \"a\", \"name\": \"b\", \"match\": {\"uid\": 1}, "
     "\"allow\": {}}]}",
     "clients[0]: duplicate key \"name\""},
    {"{\"clients\": [{\"name\": \"\", \"match\": {\"uid\": 1}, \"allow\": {}}]}",
     "clients[0].name: must be a non-empty string"},
    {"{\"clients\": [{\"name\": 1, \"match\": {\"uid\": 1}, \"allow\": {}}]}",
     "clients[0].name: must be a non-empty string"},
    {"{\"clients\": [{\"name\": \"a\", \"match\": {\"uid\": 1}, \"allow\": {}},"
     "{\"name\": \"b\", \"match\": {\"uid\": 1}, \"allow\": {}},"
     "{\"name\": \"a\", \"match\": {\"uid\": 1}, \"allow\": {}}]}",
     "clients[2].name: \"a\" is already the name of clients[0]"},
    {"{\"clients\": [{\"name\": \"a\", \"match\": {\"uid\": 1}, \"allow\": {}},"
     "{\"name\": \"b\", \"match\": {\"uid\": 1}, \"allow\": {\"userdirs\": []}}]}",
     "clients[1].allow: unknown key \"userdirs\""},
    {"{\"clients\": [{\"name\": \"a\\u001b\", \"match\": {\"uid\": 1}, \"allow\": {}},"
     "{\"name\": \"a\\u001b\", \"match\": {\"uid\": 1}, \"allow\": {}}]}",
     "clients[1].name: \"a\\x1b\" is already the name of clients[0]"},
    {M("[]"), "clients[0].match: must be an object"},
    {M("{}"), "clients[0].match: is empty; give one of uid, user, gid, group, loopback, "
	      "cert_subject, cert_sha256"},
    {M("{\"uid\": 1, \"gid\": 2}"),
     "clients[0].match: holds both \"uid\" and \"gid\"; give exactly one"},
    {M("{\"uid\": 1, \"uid\": 2}"), "clients[0].match: duplicate key \"uid\""},
    {M("{\"usr\": \"root\"}"), "clients[0].match: unknown key \"usr\""},
    {M("{\"Uid\": 1}"), "clients[0].match: unknown key \"Uid\""},
    {M("{\"uid\": -1}"), "clients[0].match.uid: must be a whole number from 0 to 4294967294"},
    {M("{\"uid\": 1.5}"), "clients[0].match.uid: must be a whole number from 0 to 4294967294"},
    {M("{\"uid\": \"1\"}"), "clients[0].match.uid: must be a whole number from 0 to 4294967294"},
    {M("{\"uid\": 4294967295}"),
     "clients[0].match.uid: must be a whole number from 0 to 4294967294"},
    {M("{\"uid\": 1e400}"), "clients[0].match.uid: must be a whole number from 0 to 4294967294"},
    {M("{\"gid\": true}"), "clients[0].match.gid: must be a whole number from 0 to 4294967294"},
    {M("{\"user\": \"qsjwt-no-such-user\"}"),
     "clients[0].match.user: no user \"qsjwt-no-such-user\" on this system"},
    {M("{\"user\": \"\"}"), "clients[0].match.user: must be a non-empty string"},
    {M("{\"user\": 0}"), "clients[0].match.user: must be a non-empty string"},
    {M("{\"group\": \"qsjwt-no-such-group\"}"),
     "clients[0].match.group: no group \"qsjwt-no-such-group\" on this system"},
    {M("{\"group\": \"x\\ny\"}"), "clients[0].match.group: no group \"x\\x0ay\" on this system"},
    {M("{\"loopback\": false}"), "clients[0].match.loopback: must be true"},
    {M("{\"loopback\": 1}"), "clients[0].match.loopback: must be true"},
    {M("{\"cert_subject\": \"\"}"), "clients[0].match.cert_subject: must be a non-empty string"},
    {M("{\"cert_sha256\": \"abc\"}"),
     "clients[0].match.cert_sha256: \"abc\" is not a SHA-256 in hex (64 hex digits, colons "
     "allowed between bytes)"},
    {M("{\"cert_sha256\": \"" SHA_HEX "00\"}"),
     "clients[0].match.cert_sha256: \"" SHA_HEX "00\" is not a SHA-256 in hex (64 hex "
     "digits, colons allowed between bytes)"},
    {M("{\"cert_sha256\": \"g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}"),
     "clients[0].match.cert_sha256: \"g0112233445566778899aabbccddeeff00112233445566778899aab"
     "bccddeeff\" is not a SHA-256 in hex (64 hex digits, colons allowed between bytes)"},
    {M("{\"cert_sha256\": \"0:0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}"),
     "clients[0].match.cert_sha256: \"0:0112233445566778899aabbccddeeff00112233445566778899aab"
     "bccddeeff\" is not a SHA-256 in hex (64 hex digits, colons allowed between bytes)"},
    {M("{\"cert_sha256\": \":" SHA_HEX "\"}"),
     "clients[0].match.cert_sha256: \":" SHA_HEX "\" is not a SHA-256 in hex (64 hex "
     "digits, colons allowed between bytes)"},
    {M("{\"cert_sha256\": \"" SHA_HEX ":\"}"),
     "clients[0].match.cert_sha256: \"" SHA_HEX ":\" is not a SHA-256 in hex (64 hex "
     "digits, colons allowed between bytes)"},
    {M("{\"cert_sha256\": \"00::11\"}"),
     "clients[0].match.cert_sha256: \"00::11\" is not a SHA-256 in hex (64 hex digits, "
     "colons allowed between bytes)"},
    {A("[]"), "clients[0].allow: must be an object"},
    {A("{\"userdir\": \"ACME\"}"), "clients[0].allow.userdir: must be an array of strings"},
    {A("{\"userid\": {}}"), "clients[0].allow.userid: must be an array of strings"},
    {A("{\"groups\": [\"a\", 1]}"), "clients[0].allow.groups[1]: must be a string"},
    {A("{\"audience\": [null]}"), "clients[0].allow.audience[0]: must be a string"},
    {A("{\"issuer\": [[]]}"), "clients[0].allow.issuer[0]: must be a string"},
    {A("{\"keyid\": true}"), "clients[0].allow.keyid: must be an array of strings"},
    {A("{\"keyid\": [], \"keyid\": [\"*\"]}"), "clients[0].allow: duplicate key \"keyid\""},
    {A("{\"max_lifetime\": 8}"), "clients[0].allow.max_lifetime: must be a string such as \"8h\""},
    {A("{\"max_lifetime\": \"8x\"}"),
     "clients[0].allow.max_lifetime: \"8x\" is not a timespan: a number with a unit (s, m, "
     "h, d, w, y), e.g. \"8h\""},
    {A("{\"max_lifetime\": \"\"}"),
     "clients[0].allow.max_lifetime: \"\" is not a timespan: a number with a unit (s, m, "
     "h, d, w, y), e.g. \"8h\""},
    {A("{\"max_lifetime\": \"3600\"}"),
     "clients[0].allow.max_lifetime: \"3600\" has no unit; write e.g. \"3600s\" for seconds"},
    {A("{\"max_lifetime\": \"999ms\"}"),
     "clients[0].allow.max_lifetime: \"999ms\" must be from 1s to 9999 years"},
    {A("{\"max_lifetime\": \"-1h\"}"),
     "clients[0].allow.max_lifetime: \"-1h\" must be from 1s to 9999 years"},
    {A("{\"max_lifetime\": \"10000y\"}"),
     "clients[0].allow.max_lifetime: \"10000y\" must be from 1s to 9999 years"},
    {A("{\"requests_per_minute\": 0}"),
     "clients[0].allow.requests_per_minute: must be at least 1 (leave it out for no limit)"},
    {A("{\"requests_per_minute\": 1.5}"),
     "clients[0].allow.requests_per_minute: must be a whole number from 1 to 1000000"},
    {A("{\"requests_per_minute\": \"600\"}"),
     "clients[0].allow.requests_per_minute: must be a whole number from 1 to 1000000"},
    {A("{\"requests_per_minute\": -3}"),
     "clients[0].allow.requests_per_minute: must be a whole number from 1 to 1000000"},
    {A("{\"requests_per_minute\": 1000001}"),
     "clients[0].allow.requests_per_minute: must be a whole number from 1 to 1000000"},
    {A("{\"metrics\": \"yes\"}"), "clients[0].allow.metrics: must be true or false"},
    {A("{\"metrics\": null}"), "clients[0].allow.metrics: must be true or false"},
};

static void load_errors(void **state)
{
	char ctx[32];

	(void)state;
	for (size_t i = 0; i < N_ELEMS(err_rows); i++) {
		char *err = NULL;
		policy *p = policy_parse(err_rows[i].text, strlen(err_rows[i].text), &err);

		snprintf(ctx, sizeof(ctx), "row %zu", i);
		if (p != NULL) {
			print_error("%s: parsed: %s\n", ctx, err_rows[i].text);
			fail();
		}
		check_str(ctx, err, err_rows[i].err);
		free(err);
	}
}

/* Edge cases that parse: an escaped backslash before "u0000" is no NUL,
 * cert_sha256 in any case with or without colons, every allow key, the
 * length bound (no NUL needed at the end). */
static void parses(void **state)
{
	const char *text = "{\"clients\": [{\"name\": \"a\\\\u0000\", \"match\": {\"cert_sha256\": "
			   "\"" SHA_COLONS "\"}, \"allow\": {}}]} trailing";
	char *err = NULL;
	policy *p;

	(void)state;
	p = policy_parse(text, strlen(text) - strlen(" trailing"), &err);
	assert_non_null(p);
	check_str("name",
		  policy_client_name(
		      policy_match(p, &(serve_caller){CALLER_TLS, 0, 0, 0, NULL, SHA_HEX})),
		  "a\\u0000");
	policy_unref(p);
	p = parse_ok(" \n" M("{\"cert_sha256\": \"" SHA_HEX "\"}") "\n\t ");
	check_str("plain hex", who(p, tls_caller(NULL, SHA_HEX)), "a");
	policy_unref(p);
	p = parse_ok(A("{\"max_lifetime\": \"1s\", \"requests_per_minute\": 1000000, "
		       "\"metrics\": true, \"userdir\": [\"\"]}"));
	policy_unref(p);
}

/* No text at all: an error, not a crash. */
static void parse_null(void **state)
{
	char *err = NULL;

	(void)state;
	assert_null(policy_parse(NULL, 0, &err));
	check_str("null", err, "not valid JSON near line 1, column 1");
	free(err);
}

/* ---- policy_load -------------------------------------------------------------- */

static char dir[] = "/tmp/qsjwt-policy-XXXXXX";

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void load_file(void **state)
{
	char want[512], *err = NULL, *big;
	const char *path;
	policy *p;

	(void)state;
	assert_non_null(mkdtemp(dir));

	path = write_file("ok.json", portal, 0644);
	p = policy_load(path, &err);
	assert_non_null(p);
	assert_null(err);
	check_str("client", who(p, unix_caller(1000, 1)), "portal");
	policy_unref(p);

	/* group-writable is the operator's choice; others-writable is refused */
	path = write_file("ok.json", portal, 0664);
	p = policy_load(path, &err);
	assert_non_null(p);
	policy_unref(p);
	path = write_file("ow.json", portal, 0646);
	assert_null(policy_load(path, &err));
	snprintf(want, sizeof(want),
		 "policy file '%s' is writable by others (mode 0646); chmod o-w it", path);
	check_str("others-writable", err, want);
	free(err);

	path = write_file("bad.json",
			  "{\"clients\": [{\"name\": \"a\", \"match\": {\"uid\": 1}, "
			  "\"allow\": {\"userdirs\": []}}]}",
			  0600);
	assert_null(policy_load(path, &err));
	snprintf(want, sizeof(want), "%s: clients[0].allow: unknown key \"userdirs\"", path);
	check_str("parse error", err, want);
	free(err);

	path = write_file("empty.json", "", 0600);
	assert_null(policy_load(path, &err));
	snprintf(want, sizeof(want), "%s: not valid JSON near line 1, column 1", path);
	check_str("empty", err, want);
	free(err);

	big = malloc(1024 * 1024 + 2);
	assert_non_null(big);
	memset(big, ' ', 1024 * 1024 + 1);
	big[1024 * 1024 + 1] = '\0';
	path = write_file("big.json", big, 0600);
	free(big);
	assert_null(policy_load(path, &err));
	snprintf(want, sizeof(want), "policy file '%s' is larger than 1048576 bytes", path);
	check_str("big", err, want);
	free(err);
	unlink(path);

	snprintf(want, sizeof(want), "%s/missing.json", dir);
	path = strdup(want);
	assert_null(policy_load(path, &err));
	snprintf(want, sizeof(want), "cannot read policy file '%s': No such file or directory",
		 path);
	check_str("missing", err, want);
	free(err);
	free((char *)path);

	assert_null(policy_load(dir, &err));
	snprintf(want, sizeof(want), "policy file '%s' is not a regular file", dir);
	check_str("directory", err, want);
	free(err);

	/* a FIFO without a writer: refused at once, not waited on */
	snprintf(want, sizeof(want), "%s/fifo", dir);
	path = strdup(want);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(policy_load(path, &err));
	snprintf(want, sizeof(want), "policy file '%s' is not a regular file", path);
	check_str("fifo", err, want);
	free(err);
	unlink(path);
	free((char *)path);

	unlink(write_file("ok.json", "", 0600));
	unlink(write_file("ow.json", "", 0600));
	unlink(write_file("bad.json", "", 0600));
	unlink(write_file("empty.json", "", 0600));
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(match_kinds),	cmocka_unit_test(match_kind_only),
	    cmocka_unit_test(first_match_wins), cmocka_unit_test(group_members),
	    cmocka_unit_test(default_policy),	cmocka_unit_test(check_table),
	    cmocka_unit_test(why_escapes_name), cmocka_unit_test(rate_limit),
	    cmocka_unit_test(rate_threads),	cmocka_unit_test(refcount),
	    cmocka_unit_test(load_errors),	cmocka_unit_test(parses),
	    cmocka_unit_test(parse_null),	cmocka_unit_test(load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
