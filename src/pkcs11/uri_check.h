/* What the command line can check of a PKCS#11 URI before any module is
 * loaded: the PIN file its pin-source names (RFC 7512 section 2.4), the
 * options that go with it. Nothing is logged: each message is handed back for
 * the caller to report in its own format. */
#ifndef QSJWT_URI_CHECK_H
#define QSJWT_URI_CHECK_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

/* The longest PIN the login takes, in bytes. */
size_t p11_pin_len_max(void);

/*
 * Read the PIN file `path` as the login will (the rules of secret_file_read,
 * at most P11_PIN_MAX - 1 bytes) and wipe it. QSJWT_OK, or the error with its
 * one message in why ("WHAT 'PATH' ..."), nothing logged.
 */
qsjwt_err p11_pin_file_check(const char *path, const char *what, char *why, size_t why_size);

/*
 * The file a pin-source names ("file:///p", "file:/p" or a plain path), as
 * the login reads it; NULL, with the one message in why, for a file: URI
 * whose path is not absolute.
 */
const char *p11_pin_source_path(const char *src, char *why, size_t why_size);

/*
 * Read the pin-source of `uri` (a URI p11_uri_parse accepted) as the login
 * will, to find a bad file before a module is loaded: "file:///p", "file:/p"
 * or a plain path, checked with p11_pin_file_check. *found tells whether the URI has a
 * pin-source. QSJWT_OK when it has none or the file is fine; else the error
 * of secret_file_read (or QSJWT_ERR_INVALID) with its one message in why
 * ("pin-source 'PATH' ..."), nothing logged.
 */
qsjwt_err p11_pin_source_check(const char *uri, int *found, char *why, size_t why_size);

/*
 * The rules p11_modules_open applies, checked up front: a module
 * initialisation string (module_init, may be NULL) needs the module named by
 * path (module_path or the URI's module-path=; uri may be NULL); a key made
 * on a token (for_create) needs the URI to name it with object=.
 * QSJWT_ERR_INVALID with the message in why.
 */
qsjwt_err p11_uri_options_check(const char *uri, const char *module_path, const char *module_init,
				int for_create, char *why, size_t why_size);

#endif
