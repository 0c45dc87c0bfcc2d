/* The session holder (session.h): from a URI to one token, one session and
 * the user's login, and back. */
#include "pkcs11/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define MAX_MATCHES 64

char *p11_hex(const unsigned char *b, size_t n)
{
	char *s = malloc(n * 2 + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + i * 2, 3, "%02x", b[i]);
	s[n * 2] = '\0';
	return s;
}

static void list_tokens_seen(p11_modules *m)
{
	p11_token *all = NULL;
	size_t n = 0;

	if (p11_tokens_find(m, NULL, &all, &n) != QSJWT_OK)
		return;
	if (n == 0)
		log_error("no token is present in the PKCS#11 module(s) searched");
	else
		log_error("tokens seen:");
	for (size_t i = 0; i < n; i++) {
		char *u = p11_uri_token(&all[i].info, m);
		log_error("  %s", u != NULL ? u : "?");
		free(u);
	}
	p11_tokens_free(all, n);
}

qsjwt_err p11_session_login(p11_session *s, const qsjwt_pkcs11_opts *o)
{
	p11_login_opts lo;

	memset(&lo, 0, sizeof(lo));
	lo.pin_value = p11_kit_uri_get_pin_value(s->uri);
	lo.pin_source = p11_kit_uri_get_pin_source(s->uri);
	lo.final_try = o->pin_final_try;
	lo.pin_fn = o->pin_fn;
	lo.pin_ud = o->pin_ud;
	return p11_login(s->tok, s->session, &lo, s->pin, &s->pin_len, &s->logged_in);
}

void p11_session_forget_pin(p11_session *s)
{
	qsjwt_secret_wipe(s->pin, sizeof(s->pin));
	s->pin_len = 0;
}

qsjwt_err p11_session_begin(p11_session *s, const qsjwt_pkcs11_opts *o, int for_key, int rw,
			    int login)
{
	qsjwt_err rc;

	memset(s, 0, sizeof(*s));
	rc = p11_uri_parse(o->uri, for_key ? P11_URI_KEY : P11_URI_TOKEN_FILTER,
			   o->allow_pin_in_uri, &s->uri);
	if (rc == QSJWT_OK)
		rc = p11_modules_open(s->uri, o->module_path, o->module_init, &s->mods);
	if (rc == QSJWT_OK)
		rc = p11_tokens_find(s->mods, s->uri, &s->tokens, &s->n_tokens);
	if (rc != QSJWT_OK)
		goto out;
	/* A token that is not initialised holds no keys and takes no login
	 * (SoftHSM2 always offers one such free slot). */
	for (size_t i = 0; i < s->n_tokens;) {
		if (s->tokens[i].info.flags & CKF_TOKEN_INITIALIZED) {
			i++;
			continue;
		}
		free(s->tokens[i].module_name);
		free(s->tokens[i].label);
		free(s->tokens[i].mechs);
		memmove(&s->tokens[i], &s->tokens[i + 1],
			(s->n_tokens - i - 1) * sizeof(s->tokens[0]));
		s->n_tokens--;
	}
	if (s->n_tokens != 1) {
		int same_label = s->n_tokens > 1 &&
				 strcmp(s->tokens[0].label, s->tokens[1].label) == 0;
		if (s->n_tokens == 0) {
			log_error("the PKCS#11 URI matches no token");
			list_tokens_seen(s->mods);
		} else {
			log_error("the PKCS#11 URI matches %zu tokens; add %s to choose one:",
				  s->n_tokens, same_label ? "serial=" : "token= (or serial=)");
			for (size_t i = 0; i < s->n_tokens; i++) {
				char *u = p11_uri_token(&s->tokens[i].info, s->mods);
				log_error("  %s", u != NULL ? u : "?");
				free(u);
			}
		}
		rc = QSJWT_ERR_NOT_FOUND;
		goto out;
	}
	s->tok = &s->tokens[0];
	log_verbose("token '%s' (module %s)", s->tok->label, s->tok->module_name);
	rc = p11_session_open(s->tok, rw, &s->session);
	if (rc != QSJWT_OK)
		goto out;
	s->have_session = 1;
	if (login)
		rc = p11_session_login(s, o);
out:
	if (rc != QSJWT_OK)
		p11_session_end(s);
	return rc;
}

qsjwt_err p11_session_child(const p11_session *parent, p11_session *child)
{
	qsjwt_err rc;
	CK_RV rv;

	/* Same token and PIN (always-authenticate keys); object handles are
	 * valid in every session of the application. */
	memset(child, 0, sizeof(*child));
	child->child = 1;
	child->tok = parent->tok;
	child->keep = parent->keep;
	memcpy(child->pin, parent->pin, parent->pin_len);
	child->pin_len = parent->pin_len;
	rv = child->tok->f->C_OpenSession(child->tok->slot, CKF_SERIAL_SESSION, NULL, NULL,
					  &child->session);
	rc = QSJWT_OK;
	if (rv == CKR_SESSION_COUNT) {
		rc = QSJWT_ERR_SESSIONS;
	} else if (rv != CKR_OK) {
		log_error("cannot open a session on token '%s': %s", child->tok->label,
			  p11_rv_name(rv));
		rc = rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED ? QSJWT_ERR_NOT_FOUND
									       : QSJWT_ERR_IO;
	}
	if (rc != QSJWT_OK) {
		p11_session_forget_pin(child);
		return rc;
	}
	child->have_session = 1;
	return QSJWT_OK;
}

unsigned p11_session_room(p11_session *s)
{
	CK_ULONG max, open;

	if (p11_token_refresh(s->tok) != QSJWT_OK)
		return QSJWT_SESSIONS_UNLIMITED;
	max = s->tok->info.ulMaxSessionCount;
	open = s->tok->info.ulSessionCount;
	/* 0xffffffff and above is no real limit either: openCryptoki 3.8's
	 * soft token reports 0xffffffff on 64-bit Linux (seen in
	 * tests/tokens/test_opencryptoki.sh). */
	if (max == CK_EFFECTIVELY_INFINITE || max == CK_UNAVAILABLE_INFORMATION ||
	    max >= 0xffffffffUL)
		return QSJWT_SESSIONS_UNLIMITED;
	if (open == CK_UNAVAILABLE_INFORMATION)
		open = s->have_session ? 1 : 0;
	if (open >= max)
		return 0;
	return max - open >= QSJWT_SESSIONS_UNLIMITED ? QSJWT_SESSIONS_UNLIMITED - 1
						     : (unsigned)(max - open);
}

void p11_session_created(p11_session *s, CK_OBJECT_HANDLE h)
{
	if (s->n_created < P11_MAX_CREATED)
		s->created[s->n_created++] = h;
}

void p11_session_end(p11_session *s)
{
	if (s->child) {
		/* Not C_Logout: the login belongs to every session of the token. */
		if (s->have_session)
			s->tok->f->C_CloseSession(s->session);
		qsjwt_secret_wipe(s->pin, sizeof(s->pin));
		memset(s, 0, sizeof(*s));
		return;
	}
	if (s->have_session) {
		for (size_t i = s->n_created; !s->keep && i > 0; i--) {
			CK_RV rv = s->tok->f->C_DestroyObject(s->session, s->created[i - 1]);
			if (rv != CKR_OK)
				log_error("cannot remove a new object from token '%s': %s",
					  s->tok->label, p11_rv_name(rv));
		}
		if (s->n_created > 0 && !s->keep)
			log_info("removed the new objects from token '%s'", s->tok->label);
		/* Only our own login: C_Logout ends the login of every session
		 * of the application (PKCS#11 v2.40 section 5.6). */
		if (s->logged_in == P11_LOGIN_OURS)
			s->tok->f->C_Logout(s->session);
		s->tok->f->C_CloseSession(s->session);
	}
	s->have_session = 0;
	s->n_created = 0;
	p11_tokens_free(s->tokens, s->n_tokens);
	s->tokens = NULL;
	s->n_tokens = 0;
	s->tok = NULL;
	p11_modules_close(s->mods);
	s->mods = NULL;
	if (s->uri != NULL)
		p11_kit_uri_free(s->uri);
	s->uri = NULL;
	p11_session_forget_pin(s);
}

void p11_session_list_keys(p11_session *s)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE found[MAX_MATCHES];
	CK_ULONG count = 0;

	if (p11_find(s->tok, s->session, &t, 1, found, MAX_MATCHES, &count) != QSJWT_OK)
		return;
	if (count == 0)
		log_error("token '%s' holds no private key%s", s->tok->label,
			  s->logged_in ? "" : " visible without login");
	else
		log_error("private keys on token '%s':", s->tok->label);
	for (CK_ULONG i = 0; i < count; i++) {
		unsigned char *label = NULL, *id = NULL;
		size_t label_len = 0, id_len = 0;
		char *u;
		(void)p11_get_attr(s->tok, s->session, found[i], CKA_LABEL, &label, &label_len);
		(void)p11_get_attr(s->tok, s->session, found[i], CKA_ID, &id, &id_len);
		u = p11_uri_object(&s->tok->info, CKO_PRIVATE_KEY, (char *)label, id, id_len,
				   s->mods);
		log_error("  %s", u != NULL ? u : "?");
		free(u);
		free(label);
		free(id);
	}
}
