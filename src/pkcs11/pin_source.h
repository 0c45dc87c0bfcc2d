/* The PIN file a PKCS#11 URI names with pin-source (RFC 7512 section 2.4). */
#ifndef QSJWT_PIN_SOURCE_H
#define QSJWT_PIN_SOURCE_H

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
 * Read the pin-source of `uri` (a URI p11_uri_parse accepted) as the login
 * will, to find a bad file before a module is loaded: "file:///p", "file:/p"
 * or a plain path, checked with p11_pin_file_check. *found tells whether the URI has a
 * pin-source. QSJWT_OK when it has none or the file is fine; else the error
 * of secret_file_read (or QSJWT_ERR_INVALID) with its one message in why
 * ("pin-source 'PATH' ..."), nothing logged.
 */
qsjwt_err p11_pin_source_check(const char *uri, int *found, char *why, size_t why_size);

#endif
