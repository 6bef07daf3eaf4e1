/* core/random.c — bytes from the kernel CSPRNG. */
#include "core/internal.h"

#include <assert.h>
#include <errno.h>
#include <sys/random.h>

int fl_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;

	assert(buf != NULL || n == 0);
	while (n > 0) {
		/* Blocks only until the pool is first initialised at boot. */
		ssize_t got = getrandom(p, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return FL_EIO;
		p += got;
		n -= (size_t)got;
	}
	return FL_OK;
}
