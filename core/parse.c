/* core/parse.c — strict text-to-number parsing for config, CLI and JSON. */
#include "core/core.h"

#include <assert.h>

/* Stricter than strtoull, which accepts spaces, signs, "0x" and wraps
 * "-1" to UINT64_MAX: a number has exactly one spelling here. */
int fl_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	assert(s != NULL && out != NULL);
	*out = 0;
	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return FL_EPARSE;
	for (const char *c = s; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return FL_EPARSE;
	}
	for (const char *c = s; *c != '\0'; c++) {
		unsigned d = (unsigned)(*c - '0');
		if (v > (UINT64_MAX - d) / 10)
			return FL_EOVERFLOW;
		v = v * 10 + d;
	}
	*out = v;
	return FL_OK;
}
