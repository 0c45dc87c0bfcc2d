/* Wiping secrets. */
#ifndef QSJWT_SECRET_H
#define QSJWT_SECRET_H

#include <stddef.h>

#include <qsjwt/qsjwt.h>

/* Wipe n bytes and free p (NULL is fine). */
void secret_free_n(void *p, size_t n);

#endif
