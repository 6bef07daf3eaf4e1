/* core/internal.h — shared between core/ files only; never included outside core/. */
#ifndef FEDLEDGER_CORE_INTERNAL_H
#define FEDLEDGER_CORE_INTERNAL_H

#include "core/core.h"

#include <secp256k1.h>

/*
 * fl_file_write_atomic with a choice: when overwrite is 0 the final step is
 * link() instead of rename(), which fails atomically with FL_EEXIST if path
 * exists, so two writers can never both believe they created it.
 */
int fl_file_write_atomic_ex(const char *path, const void *p, size_t n, unsigned mode,
			    int overwrite) FL_MUST_CHECK;

/* Fills buf from the kernel CSPRNG (getrandom); FL_EIO if it cannot. */
int fl_random_bytes(void *buf, size_t n) FL_MUST_CHECK;

/*
 * The process's one libsecp256k1 context (core/keys.c): created and
 * randomised once, then only read, which libsecp256k1 documents as safe from
 * any thread. NULL if it could not be created or blinded; callers then
 * return FL_ECRYPTO.
 */
const secp256k1_context *fl_secp256k1_context(void);

#endif
