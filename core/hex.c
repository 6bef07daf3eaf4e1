/* core/hex.c — lowercase hex out, either case in. */
#include "core/core.h"

#include <assert.h>
#include <string.h>

void fl_hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	assert(out != NULL && (in != NULL || n == 0));
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fl_hex_decode(uint8_t *out, size_t n, const char *hex)
{
	assert(out != NULL && hex != NULL);
	/* strnlen bounds the scan: a huge unterminated-looking input costs at
	 * most 2*n+1 reads before it is refused. */
	if (n > (SIZE_MAX - 1) / 2 || strnlen(hex, 2 * n + 1) != 2 * n)
		return FL_EPARSE;
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			memset(out, 0, n);
			return FL_EPARSE;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return FL_OK;
}
