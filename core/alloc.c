/*
 * core/alloc.c — the project allocator with a failure hook (curl's torture
 * mode): a test sets fl_alloc_fail_after(n) and the nth allocation from then
 * on, and every later one, returns NULL.
 */
#include "core/core.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong alloc_count;
/* 0 = never fail; otherwise allocation number fail_at (1-based) and later fail. */
static atomic_ulong fail_at;

unsigned long fl_alloc_fail_after(unsigned long n)
{
	unsigned long made = atomic_exchange(&alloc_count, 0);
	atomic_store(&fail_at, n);
	return made;
}

/* Counts the allocation and says whether the hook wants it to fail. */
static int should_fail(void)
{
	unsigned long nth = atomic_fetch_add(&alloc_count, 1) + 1;
	unsigned long at = atomic_load(&fail_at);
	return at != 0 && nth >= at;
}

void *fl_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	/* malloc(0) may return NULL, which callers would read as failure. */
	return malloc(n ? n : 1);
}

void *fl_calloc(size_t count, size_t size)
{
	if (should_fail())
		return NULL;
	/* Checked here, not left to libc, so a hostile count fails the same way
	 * under every allocator and sanitizer. */
	if (size != 0 && count > SIZE_MAX / size)
		return NULL;
	if (count == 0 || size == 0)
		count = size = 1;
	return calloc(count, size);
}

void *fl_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void fl_free(void *p)
{
	free(p);
}

char *fl_strdup(const char *s)
{
	assert(s != NULL);
	size_t n = strlen(s) + 1;
	char *d = fl_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

void fl_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}
