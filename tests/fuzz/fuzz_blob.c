/*
 * fuzz_blob — the model and update blob decoders, and zstd framing, on
 * arbitrary bytes. Beyond "never crash or leak": whatever decodes
 * re-encodes to exactly the input (one encoding per blob, so the hash names
 * the content), fl_blob_kind_of agrees with the decoder that accepted it,
 * and whatever decompresses (under a small maximum) respects that maximum
 * and is then tried as a blob too.
 */
#include "fl/fl.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX ((size_t)1 << 20)

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_blob(const uint8_t *data, size_t size)
{
	fl_model m;
	fl_update u;
	fl_blob_kind kind;
	uint8_t *out;
	size_t n;

	if (fl_blob_decode_model(&m, data, size) == FL_OK) {
		check(fl_blob_encode_model(&out, &n, &m) == FL_OK);
		check(n == size && memcmp(out, data, size) == 0);
		check(fl_blob_kind_of(data, size, &kind) == FL_OK && kind == FL_BLOB_MODEL);
		fl_free(out);
		check(fl_blob_decode_update(&u, data, size) != FL_OK);
	}
	fl_model_free(&m);
	if (fl_blob_decode_update(&u, data, size) == FL_OK) {
		check(fl_blob_encode_update(&out, &n, &u) == FL_OK);
		check(n == size && memcmp(out, data, size) == 0);
		check(fl_blob_kind_of(data, size, &kind) == FL_OK && kind == FL_BLOB_UPDATE);
		fl_free(out);
	}
	fl_update_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *raw;
	size_t n;

	check_blob(data, size);
	if (fl_blob_decompress(&raw, &n, data, size, FUZZ_MAX) == FL_OK) {
		check(n <= FUZZ_MAX);
		check_blob(raw, n);
		fl_free(raw);
	} else {
		check(raw == NULL);
	}
	return 0;
}
