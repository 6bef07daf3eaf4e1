/* core/internal.h — shared between core/ files only; never included outside core/. */
#ifndef FEDLEDGER_CORE_INTERNAL_H
#define FEDLEDGER_CORE_INTERNAL_H

#include "core/core.h"

/*
 * fl_file_write_atomic with a choice: when overwrite is 0 the final step is
 * link() instead of rename(), which fails atomically with FL_EEXIST if path
 * exists, so two writers can never both believe they created it.
 */
int fl_file_write_atomic_ex(const char *path, const void *p, size_t n, unsigned mode,
			    int overwrite) FL_MUST_CHECK;

/* Fills buf from the kernel CSPRNG (getrandom); FL_EIO if it cannot. */
int fl_random_bytes(void *buf, size_t n) FL_MUST_CHECK;

#endif
