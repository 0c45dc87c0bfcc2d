/* The QSEoW claim set, serialized byte for byte as the original did. */
#include <string.h>

#include <qsjwt/qsjwt.h>

#include "jose/json.h"
#include "util/log.h"
#include "util/strbuf.h"

static void add_member(strbuf *b, const char *key, const char *value)
{
	json_append_string(b, key);
	strbuf_addch(b, ':');
	json_append_string(b, value);
}

static int valid(const char *s)
{
	return s != NULL && utf8_valid(s, strlen(s));
}

qsjwt_err qsjwt_qseow_payload(const qsjwt_qseow_claims *c, char **json_out, size_t *len_out)
{
	strbuf b;
	char *json;
	size_t i;

	if (!valid(c->user_id) || !valid(c->user_directory) || !valid(c->name) ||
	    !valid(c->email) || !valid(c->audience))
		return QSJWT_ERR_INVALID;
	for (i = 0; c->groups != NULL && i < c->n_groups; i++) {
		if (!valid(c->groups[i]))
			return QSJWT_ERR_INVALID;
	}
	strbuf_init(&b);
	strbuf_addch(&b, '{');
	add_member(&b, "userId", c->user_id);
	strbuf_addch(&b, ',');
	add_member(&b, "userDirectory", c->user_directory);
	strbuf_addch(&b, ',');
	add_member(&b, "name", c->name);
	strbuf_addch(&b, ',');
	add_member(&b, "email", c->email);
	if (c->groups != NULL) {
		/* Always an array, even with one group (REFERENCE.md section 1). */
		strbuf_addstr(&b, ",\"group\":[");
		for (i = 0; i < c->n_groups; i++) {
			if (i > 0)
				strbuf_addch(&b, ',');
			json_append_string(&b, c->groups[i]);
		}
		strbuf_addch(&b, ']');
	}
	strbuf_addstr(&b, ",\"iat\":");
	json_append_int(&b, (long long)c->iat);
	strbuf_addstr(&b, ",\"exp\":");
	json_append_int(&b, (long long)c->exp);
	strbuf_addch(&b, ',');
	add_member(&b, "aud", c->audience);
	strbuf_addch(&b, '}');
	json = strbuf_detach(&b, len_out);
	if (json == NULL)
		return QSJWT_ERR_NOMEM;
	*json_out = json;
	return QSJWT_OK;
}
