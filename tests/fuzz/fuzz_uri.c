/* libFuzzer: our checks of pkcs11: URIs (attribute names, type, pin-value)
 * on top of p11-kit's parser, and the URIs we format back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

static void quiet(qsjwt_log_level level, const char *msg, void *ud)
{
	(void)level;
	(void)msg;
	(void)ud;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	P11KitUri *uri = NULL;
	CK_TOKEN_INFO *ti;
	CK_ATTRIBUTE *label, *id;
	char *text, *back;

	qsjwt_log_set_handler(quiet, NULL);
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (int use = 0; use < 2; use++) {
		if (p11_uri_parse(text, use ? P11_URI_TOKEN_FILTER : P11_URI_KEY, use, &uri) !=
		    QSJWT_OK)
			continue;
		/* Format what we would list, from what was parsed. */
		ti = p11_kit_uri_get_token_info(uri);
		label = p11_kit_uri_get_attribute(uri, CKA_LABEL);
		id = p11_kit_uri_get_attribute(uri, CKA_ID);
		back = p11_uri_object(ti, CKO_PRIVATE_KEY, NULL,
				      id != NULL ? id->pValue : NULL, id != NULL ? id->ulValueLen : 0,
				      NULL);
		free(back);
		back = p11_uri_token(ti, NULL);
		free(back);
		(void)label;
		p11_kit_uri_free(uri);
		uri = NULL;
	}
	free(text);
	return 0;
}
