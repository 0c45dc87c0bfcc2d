/* Memory for a secret that must stay in the process for its whole life (the
 * service's PIN, for logging in again): locked in RAM (never swapped) and
 * left out of core dumps. */
#ifndef QSJWT_LOCKED_H
#define QSJWT_LOCKED_H

#include <stddef.h>

/* n zero bytes, locked and excluded from core dumps; NULL when the memory
 * cannot be locked (RLIMIT_MEMLOCK) or had no room. */
void *locked_alloc(size_t n);
/* Wipe, unlock and release what locked_alloc(n) gave; NULL is a no-op. */
void locked_free(void *p, size_t n);

#endif
