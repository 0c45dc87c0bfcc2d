/* Compact JWS (RFC 7515 section 7.1) with the RSASSA-PKCS1-v1_5 algorithms of
 * RFC 7518 section 3.3. */
#include <stdlib.h>
#include <string.h>

#include <qsjwt/qsjwt.h>

#include "jose/b64url.h"
#include "jose/json.h"
#include "keys/signer_impl.h"
#include "util/log.h"
#include "util/strbuf.h"

static const char *const alg_names[] = { "RS256", "RS384", "RS512" };

qsjwt_err qsjwt_alg_from_name(const char *name, qsjwt_alg *out)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(name, alg_names[i]) == 0) {
			*out = (qsjwt_alg)i;
			return QSJWT_OK;
		}
	}
	return QSJWT_ERR_INVALID;
}

const char *qsjwt_alg_name(qsjwt_alg alg)
{
	return (unsigned)alg < 3 ? alg_names[alg] : "?";
}

qsjwt_err qsjwt_jwt_sign(qsjwt_signer *s, qsjwt_alg alg, const char *payload,
			 size_t payload_len, char **token_out)
{
	return qsjwt_jwt_sign_kid(s, alg, NULL, payload, payload_len, token_out);
}

qsjwt_err qsjwt_jwt_sign_kid(qsjwt_signer *s, qsjwt_alg alg, const char *kid,
			     const char *payload, size_t payload_len, char **token_out)
{
	qsjwt_err rc;
	unsigned char *sig = NULL;
	size_t sig_len = 0, signing_len;
	char *token;
	strbuf b, header;

	if ((unsigned)alg > QSJWT_RS512 || (kid != NULL && !utf8_valid(kid, strlen(kid))))
		return QSJWT_ERR_INVALID;
	/* Exactly the original's header bytes; only alg (and kid) vary. */
	strbuf_init(&header);
	strbuf_addstr(&header, "{\"alg\":\"");
	strbuf_addstr(&header, alg_names[alg]);
	strbuf_addstr(&header, "\",\"typ\":\"JWT\"");
	if (kid != NULL) {
		strbuf_addstr(&header, ",\"kid\":");
		json_append_string(&header, kid);
	}
	strbuf_addch(&header, '}');
	strbuf_init(&b);
	b64url_append(&b, (const unsigned char *)header.data, header.len);
	strbuf_release(&header);
	strbuf_addch(&b, '.');
	b64url_append(&b, (const unsigned char *)payload, payload_len);
	if (b.failed) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	signing_len = b.len;
	rc = qsjwt_signer_sign(s, alg, (const unsigned char *)b.data, signing_len, &sig, &sig_len);
	if (rc != QSJWT_OK)
		goto out;
	/* Never hand out a token whose signature nobody checked: a faulty
	 * token or a fault during signing must not reach a user. File keys
	 * signed by OpenSSL with CRT were checked by OpenSSL itself (see
	 * signer_self_checked); a second verification there cost about 6% of
	 * the CPU time of a token in --batch (RSA-2048). */
	rc = signer_self_checked(s) ? QSJWT_OK
				    : qsjwt_signer_verify(s, alg, (const unsigned char *)b.data,
							  signing_len, sig, sig_len);
	if (rc != QSJWT_OK) {
		log_error("the signature made by %s does not verify with its public key; "
			  "no token issued",
			  qsjwt_signer_describe(s));
		goto out;
	}
	strbuf_addch(&b, '.');
	b64url_append(&b, sig, sig_len);
	token = strbuf_detach(&b, NULL);
	if (token == NULL) {
		rc = QSJWT_ERR_NOMEM;
		goto out;
	}
	*token_out = token;
out:
	free(sig);
	strbuf_release(&b);
	return rc;
}
