/*
 * chain/bytes.c — big-endian integers for store keys. The canonical codec is
 * little-endian, but LMDB orders keys bytewise, so a height or round inside a
 * key is big-endian to make byte order the numeric order.
 */
#include "chain/internal.h"

#include <assert.h>

void chain_put_be64(uint8_t out[8], uint64_t v)
{
	assert(out != NULL);
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

uint64_t chain_get_be64(const uint8_t in[8])
{
	uint64_t v = 0;

	assert(in != NULL);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}
