/* mmap's MAP_ANONYMOUS and madvise's MADV_DONTDUMP are not POSIX. */
#define _DEFAULT_SOURCE
#include "util/locked.h"

#include <sys/mman.h>

#include <qsjwt/qsjwt.h>

void *locked_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mlock(p, n) != 0 || madvise(p, n, MADV_DONTDUMP) != 0) {
		munmap(p, n);
		return NULL;
	}
	return p;
}

void locked_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	qsjwt_secret_wipe(p, n);
	munlock(p, n);
	munmap(p, n);
}
