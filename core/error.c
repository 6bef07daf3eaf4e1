/* core/error.c — words for the FL_E* codes. */
#include "core/core.h"

/* Indexed by -code, so the table and the enum stay side by side in review. */
static const char *const messages[] = {
    [0] = "ok",
    [-FL_ENOMEM] = "out of memory",
    [-FL_EINVAL] = "invalid argument or field",
    [-FL_ETRUNC] = "input truncated",
    [-FL_ETOOBIG] = "length or count over its maximum",
    [-FL_ETRAILING] = "trailing bytes after value",
    [-FL_ENONCANON] = "non-canonical encoding",
    [-FL_EIO] = "I/O error",
    [-FL_ENOTFOUND] = "not found",
    [-FL_EEXIST] = "already exists",
    [-FL_ESIG] = "bad signature",
    [-FL_ECRYPTO] = "crypto library failure",
    [-FL_ECORRUPT] = "corrupt data",
    [-FL_ENONCE] = "bad nonce",
    [-FL_EFUNDS] = "insufficient funds",
    [-FL_EOVERFLOW] = "amount overflow",
    [-FL_EPERM] = "permission denied",
    [-FL_ESTATE] = "not allowed in the current state",
    [-FL_ECHAIN] = "wrong chain id or height",
    [-FL_EPARSE] = "malformed text input",
    [-FL_EVERSION] = "unknown version or kind",
    [-FL_ETIMEOUT] = "timed out",
    [-FL_EPROTO] = "protocol violation",
    [-FL_EDB] = "chain store failure",
    [-FL_EDUP] = "duplicate entry",
};

_Static_assert(FL_ARRAY_LEN(messages) == (size_t)(-FL_E_LAST) + 1,
	       "every FL_E* code needs a message");

const char *fl_strerror(int code)
{
	if (code > 0 || code < FL_E_LAST || messages[-code] == NULL)
		return "unknown error";
	return messages[-code];
}
