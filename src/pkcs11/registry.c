/* One module registered with p11-kit, found by its name without loading the
 * others: p11-kit 0.24 has no call for that (p11_kit_modules_load opens
 * every enabled module), so its configuration files are read here with
 * p11-kit's own rules (pkcs11.conf(5)). Whatever those rules would not
 * settle plainly sends the caller back to p11-kit's registry
 * (docs/design.md, decision 13). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"
#include "platform/platform.h"
#include "util/log.h"

/* Larger configuration files than this are left to p11-kit. */
#define CONF_MAX 65536

struct conf {
	size_t n;
	struct field {
		char *name, *value;
	} *f;
};

/* The first n bytes of s as a string (strndup is not in every C library:
 * mingw-w64 has none). */
static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void conf_free(struct conf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->f[i].name);
		free(c->f[i].value);
	}
	free(c->f);
	c->f = NULL;
	c->n = 0;
}

static const char *conf_get(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->f[i].name, name) == 0)
			return c->f[i].value;
	}
	return NULL;
}

/* Set name (replace: the last line of a file wins) or, with keep, only add
 * it when absent (a later file supplies what an earlier one left out). */
static int conf_set(struct conf *c, const char *name, size_t nlen, const char *value,
		    size_t vlen, int keep)
{
	struct field *f;

	for (size_t i = 0; i < c->n; i++) {
		if (strlen(c->f[i].name) == nlen && memcmp(c->f[i].name, name, nlen) == 0) {
			char *v;
			if (keep)
				return 0;
			v = dup_n(value, vlen);
			if (v == NULL)
				return -1;
			free(c->f[i].value);
			c->f[i].value = v;
			return 0;
		}
	}
	f = realloc(c->f, (c->n + 1) * sizeof(*f));
	if (f == NULL)
		return -1;
	c->f = f;
	f[c->n].name = dup_n(name, nlen);
	f[c->n].value = dup_n(value, vlen);
	if (f[c->n].name == NULL || f[c->n].value == NULL) {
		free(f[c->n].name);
		free(f[c->n].value);
		return -1;
	}
	c->n++;
	return 0;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f' || ch == '\n';
}

/* p11-kit's "name: value" lines (common/lexer.c: each line trimmed; empty
 * lines and '#' comments skipped; the name before the first colon, both
 * trimmed) into c, replacing: the last line of a name wins. 0 done; -1
 * what p11-kit would refuse or what is not read here (a section, a PEM
 * block, a line without a colon, a NUL byte, more than CONF_MAX bytes). */
static int conf_parse(const char *data, size_t len, struct conf *c)
{
	if (len > CONF_MAX || memchr(data, '\0', len) != NULL)
		return -1;
	for (size_t at = 0; at < len;) {
		const char *line = data + at, *end, *colon, *value;
		const char *nl = memchr(line, '\n', len - at);

		end = nl != NULL ? nl : data + len;
		at = (size_t)(end - data) + 1;
		if ((size_t)(end - line) >= 11 && memcmp(line, "-----BEGIN ", 11) == 0)
			return -1;
		while (line != end && is_space(*line))
			line++;
		while (line != end && is_space(end[-1]))
			end--;
		if (line == end || *line == '#')
			continue;
		colon = memchr(line, ':', (size_t)(end - line));
		if (*line == '[' || colon == NULL)
			return -1;
		value = colon + 1;
		while (value != end && is_space(*value))
			value++;
		while (colon != line && is_space(colon[-1]))
			colon--;
		if (conf_set(c, line, (size_t)(colon - line), value, (size_t)(end - value), 0) != 0)
			return -1;
	}
	return 0;
}

/* The file at path, parsed into c. 0 done; 1 missing (ENOENT, ENOTDIR; and
 * EACCES, EPERM when deny_ok); -1 a read error, or what conf_parse refuses. */
static int conf_read(const char *path, int deny_ok, struct conf *c)
{
	FILE *fp = fopen(path, "rb");
	char *data;
	size_t len;
	int rc;

	if (fp == NULL) {
		if (errno == ENOENT || errno == ENOTDIR ||
		    (deny_ok && (errno == EACCES || errno == EPERM)))
			return 1;
		return -1;
	}
	data = malloc(CONF_MAX + 1);
	if (data == NULL) {
		fclose(fp);
		return -1;
	}
	len = fread(data, 1, CONF_MAX + 1, fp);
	rc = ferror(fp) ? -1 : conf_parse(data, len, c);
	fclose(fp);
	free(data);
	return rc;
}

int p11_registry_parse(const char *data, size_t len, size_t *n_fields)
{
	struct conf c = { 0, NULL };
	int rc = conf_parse(data, len, &c);

	*n_fields = c.n;
	conf_free(&c);
	return rc;
}

static char *join(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 2);

	if (s != NULL)
		sprintf(s, "%s/%s", a, b);
	return s;
}

/* p11-kit's name for a module file: the name before ".module" when the
 * file name is well formed, else the whole file name. */
static char *conf_name_of(const char *file)
{
	size_t len = strlen(file), i;
	int ok = len > 7 && strcmp(file + len - 7, ".module") == 0 &&
		 ((file[0] >= 'a' && file[0] <= 'z') || (file[0] >= 'A' && file[0] <= 'Z') ||
		  (file[0] >= '0' && file[0] <= '9'));

	for (i = 1; ok && i < len; i++) {
		char ch = file[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
	}
	return ok ? dup_n(file, len - 7) : strdup(file);
}

struct dir_walk {
	const char *dir, *want;
	struct conf *merged; /* the wanted module's fields so far */
	int seen;            /* a file of this directory had the wanted name */
	int bad;             /* a file p11-kit would refuse, or two with the name */
};

/* Every module file is read, as p11-kit refuses the whole registry over
 * one it cannot parse; the wanted one's fields are merged in. */
static int dir_entry(void *ctx, const char *file, int is_dir)
{
	struct dir_walk *w = ctx;
	struct conf c = { 0, NULL };
	char *path, *name;
	int rc;

	if (is_dir)
		return 0;
	path = join(w->dir, file);
	name = conf_name_of(file);
	if (path == NULL || name == NULL) {
		free(path);
		free(name);
		return -1;
	}
	rc = conf_read(path, 0, &c);
	if (rc < 0) {
		log_debug("p11-kit module file '%s' is left to p11-kit", path);
		w->bad = 1;
	} else if (strcmp(name, w->want) == 0) {
		if (w->seen)
			w->bad = 1; /* which one p11-kit takes first depends on the listing */
		w->seen = 1;
		for (size_t i = 0; i < c.n && !w->bad; i++) {
			if (conf_set(w->merged, c.f[i].name, strlen(c.f[i].name), c.f[i].value,
				     strlen(c.f[i].value), 1) != 0)
				w->bad = 1;
		}
	}
	conf_free(&c);
	free(path);
	free(name);
	return w->bad ? 1 : 0;
}

/* 0 read (or missing; or, with deny_ok, not ours to read); -1 not settled
 * here. */
static int dir_merge(const char *dir, const char *name, int deny_ok, struct conf *merged)
{
	struct dir_walk w = { dir, name, merged, 0, 0 };
	int rc = plat_dir_each(dir, dir_entry, &w);

	if (rc == -1 && !w.bad)
		return (errno == ENOENT || errno == ENOTDIR ||
			(deny_ok && (errno == EACCES || errno == EPERM)))
			   ? 0
			   : -1;
	return rc == 0 && !w.bad ? 0 : -1;
}

/* p11-kit's test: the program's name as a whole word of the list (the
 * first place it occurs decides, as in p11-kit). */
static int in_list(const char *list, const char *word)
{
	const char *at = strstr(list, word);
	size_t n = strlen(word);

	if (at == NULL)
		return 0;
	if (at != list && at[-1] != ',' && !is_space(at[-1]))
		return 0;
	return at[n] == '\0' || at[n] == ',' || is_space(at[n]);
}

static int enabled(const struct conf *c)
{
	const char *in = conf_get(c, "enable-in"), *out = conf_get(c, "disable-in");
	const char *prog = plat_progname();

	if (prog != NULL && strncmp(prog, "lt-", 3) == 0)
		prog += 3;
	if (in != NULL)
		return prog != NULL && in_list(in, prog);
	if (out != NULL)
		return prog == NULL || !in_list(out, prog);
	return 1;
}

/* Options of a module file this loader applies, or that do not matter for
 * one module; any other (managed, log-calls, remote, ...) is p11-kit's. */
static int option_known(const char *name)
{
	static const char *const known[] = { "module",	 "x-init-reserved", "enable-in",
					     "disable-in", "critical",	      "priority",
					     "trust-policy" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(name, known[i]) == 0)
			return 1;
	}
	return strncmp(name, "x-", 2) == 0;
}

int p11_registry_find(const char *name, p11_registered *out)
{
	struct conf global = { 0, NULL }, user = { 0, NULL }, mod = { 0, NULL };
	const char *home = plat_getenv("HOME"), *mode, *file;
	const plat_p11kit_places *at = plat_p11kit_config();
	char *path = NULL;
	int rc = 0, user_dirs = 0, system_dirs = 1;

	memset(out, 0, sizeof(*out));
	if (at == NULL || conf_read(at->global_file, 0, &global) < 0)
		goto done;
	mode = conf_get(&global, "user-config");
	if (plat_p11kit_user_config() && (mode == NULL || strcmp(mode, "none") != 0)) {
		if (home == NULL || home[0] == '\0')
			goto done;
		path = join(home, at->user_file);
		if (path == NULL || conf_read(path, 1, &user) < 0)
			goto done;
		if (conf_get(&user, "user-config") != NULL)
			mode = conf_get(&user, "user-config");
		for (size_t i = 0; i < user.n; i++) {
			if (conf_set(&global, user.f[i].name, strlen(user.f[i].name),
				     user.f[i].value, strlen(user.f[i].value), 0) != 0)
				goto done;
		}
		user_dirs = mode == NULL || strcmp(mode, "none") != 0;
		system_dirs = mode == NULL ||
			      (strcmp(mode, "only") != 0 && strcmp(mode, "override") != 0);
	}
	if (mode != NULL && strcmp(mode, "none") != 0 && strcmp(mode, "merge") != 0 &&
	    strcmp(mode, "only") != 0 && strcmp(mode, "override") != 0)
		goto done;
	/* managed: and log-calls: in the global file change how every module is
	 * loaded: p11-kit's to apply. */
	for (size_t i = 0; i < global.n; i++) {
		if (strcmp(global.f[i].name, "user-config") != 0 &&
		    strncmp(global.f[i].name, "x-", 2) != 0)
			goto done;
	}
	if (user_dirs) {
		free(path);
		path = join(home, at->user_modules);
		if (path == NULL || dir_merge(path, name, 1, &mod) < 0)
			goto done;
	}
	if (system_dirs && (dir_merge(at->system_modules, name, 0, &mod) < 0 ||
			    dir_merge(at->package_modules, name, 0, &mod) < 0))
		goto done;
	for (size_t i = 0; i < mod.n; i++) {
		if (!option_known(mod.f[i].name))
			goto done;
	}
	file = conf_get(&mod, "module");
	if (file == NULL || file[0] == '\0' || !enabled(&mod))
		goto done;
	out->path = file[0] == '/' ? strdup(file) : join(at->module_dir, file);
	if (conf_get(&mod, "x-init-reserved") != NULL)
		out->init = strdup(conf_get(&mod, "x-init-reserved"));
	if (out->path == NULL || (conf_get(&mod, "x-init-reserved") != NULL && out->init == NULL))
		p11_registered_free(out);
	else
		rc = 1;
done:
	free(path);
	conf_free(&global);
	conf_free(&user);
	conf_free(&mod);
	return rc;
}

void p11_registered_free(p11_registered *r)
{
	free(r->path);
	free(r->init);
	r->path = NULL;
	r->init = NULL;
}
