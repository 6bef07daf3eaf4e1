/*
 * fl/compress.c — blobs on the wire and on disk: one zstd frame (level 3,
 * content size and checksum recorded) of the canonical bytes.
 *
 * Decompression trusts nothing in the frame: it must be exactly one frame
 * filling the input, its declared size must be within the caller's maximum
 * before anything is allocated, and a frame without a declared size is
 * streamed into a buffer that may not grow past the maximum. zstd allocates
 * through fl_malloc (its custom allocator), so the failure-injection hook
 * reaches it too.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem, the *_advanced constructors */
#include "fl/internal.h"

#include <assert.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#define LEVEL 3

static void *zstd_alloc(void *opaque, size_t size)
{
	(void)opaque;
	return fl_malloc(size);
}

static void zstd_free(void *opaque, void *p)
{
	(void)opaque;
	fl_free(p);
}

static const ZSTD_customMem zstd_mem = {zstd_alloc, zstd_free, NULL};

/* zstd's error codes in ours: allocation failures, a window larger than
 * the output limit allows (a size refusal), and otherwise `otherwise`. */
static int zstd_error(size_t code, int otherwise)
{
	switch (ZSTD_getErrorCode(code)) {
	case ZSTD_error_memory_allocation:
		return FL_ENOMEM;
	case ZSTD_error_frameParameter_windowTooLarge:
		return FL_ETOOBIG;
	default:
		return otherwise;
	}
}

int fl_blob_compress(uint8_t **out, size_t *n, const uint8_t *p, size_t len)
{
	ZSTD_CCtx *cctx = NULL;
	uint8_t *buf = NULL, *shrunk;
	size_t cap, got;
	int rc = FL_ENOMEM;

	assert(out != NULL && n != NULL && (p != NULL || len == 0));
	*out = NULL;
	*n = 0;
	if (len > FL_BLOB_MAX)
		return FL_ETOOBIG;
	cap = ZSTD_compressBound(len);
	buf = fl_malloc(cap);
	cctx = ZSTD_createCCtx_advanced(zstd_mem);
	if (buf == NULL || cctx == NULL)
		goto cleanup;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1))) {
		rc = FL_EINVAL;
		goto cleanup;
	}
	got = ZSTD_compress2(cctx, buf, cap, p, len);
	if (ZSTD_isError(got)) {
		rc = zstd_error(got, FL_EINVAL);
		goto cleanup;
	}
	/* Give back the slack of the worst-case bound; keep the larger
	 * buffer if the shrink fails. */
	shrunk = fl_realloc(buf, got);
	if (shrunk != NULL)
		buf = shrunk;
	*out = buf;
	*n = got;
	buf = NULL;
	rc = FL_OK;
cleanup:
	ZSTD_freeCCtx(cctx);
	fl_free(buf);
	return rc;
}

/* A frame that does not declare its size: stream it into a buffer that
 * doubles up to max + 1 bytes (reaching the extra byte means "over max"),
 * with the decoder's window bounded by max too. */
static int decompress_stream(ZSTD_DCtx *dctx, uint8_t **buf, size_t *got, const uint8_t *p,
			     size_t len, size_t max)
{
	const size_t limit = max + 1; /* max <= FL_BLOB_MAX: no overflow */
	ZSTD_inBuffer in = {p, len, 0};
	size_t cap = 0;
	int wlog = ZSTD_WINDOWLOG_MIN;

	while (wlog < ZSTD_WINDOWLOG_MAX_64 && ((size_t)1 << wlog) < max)
		wlog++;
	if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, wlog)))
		return FL_EINVAL;
	*got = 0;
	for (;;) {
		ZSTD_outBuffer ob;
		size_t ret;

		if (*got == cap) {
			size_t grow = cap == 0 ? 65536 : cap * 2;
			uint8_t *bigger;

			if (cap == limit)
				return FL_ETOOBIG;
			if (grow > limit)
				grow = limit;
			bigger = fl_realloc(*buf, grow);
			if (bigger == NULL)
				return FL_ENOMEM;
			*buf = bigger;
			cap = grow;
		}
		ob = (ZSTD_outBuffer){*buf, cap, *got};
		ret = ZSTD_decompressStream(dctx, &ob, &in);
		*got = ob.pos;
		if (ZSTD_isError(ret))
			return zstd_error(ret, FL_ECORRUPT);
		if (ret == 0) {
			if (*got > max)
				return FL_ETOOBIG;
			return in.pos == len ? FL_OK : FL_ETRAILING;
		}
		/* More expected, no input left, room to write: cut short. */
		if (in.pos == len && ob.pos < ob.size)
			return FL_ECORRUPT;
	}
}

int fl_blob_decompress(uint8_t **out, size_t *n, const uint8_t *p, size_t len, size_t max)
{
	ZSTD_DCtx *dctx = NULL;
	uint8_t *buf = NULL;
	unsigned long long declared;
	size_t frame, got = 0;
	int rc;

	assert(out != NULL && n != NULL && (p != NULL || len == 0));
	*out = NULL;
	*n = 0;
	if (max > FL_BLOB_MAX)
		max = FL_BLOB_MAX;
	if (len > ZSTD_compressBound(max))
		return FL_ETOOBIG;
	/* Exactly one data frame, filling the input. A skippable frame is a
	 * valid zstd frame that decompresses to nothing: never a blob. */
	if (len >= 4 && ZSTD_isSkippableFrame(p, len))
		return FL_ECORRUPT;
	frame = ZSTD_findFrameCompressedSize(p, len);
	if (ZSTD_isError(frame))
		return FL_ECORRUPT;
	if (frame != len)
		return FL_ETRAILING;
	declared = ZSTD_getFrameContentSize(p, len);
	if (declared == ZSTD_CONTENTSIZE_ERROR)
		return FL_ECORRUPT;
	if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > max)
		return FL_ETOOBIG;

	rc = FL_ENOMEM;
	dctx = ZSTD_createDCtx_advanced(zstd_mem);
	if (dctx == NULL)
		goto cleanup;
	if (declared != ZSTD_CONTENTSIZE_UNKNOWN) {
		size_t ret;

		buf = fl_malloc(declared ? (size_t)declared : 1);
		if (buf == NULL)
			goto cleanup;
		ret = ZSTD_decompressDCtx(dctx, buf, (size_t)declared, p, len);
		if (ZSTD_isError(ret)) {
			rc = zstd_error(ret, FL_ECORRUPT);
			goto cleanup;
		}
		if (ret != declared) {
			rc = FL_ECORRUPT;
			goto cleanup;
		}
		got = ret;
	} else {
		rc = decompress_stream(dctx, &buf, &got, p, len, max);
		if (rc != FL_OK)
			goto cleanup;
	}
	*out = buf;
	*n = got;
	buf = NULL;
	rc = FL_OK;
cleanup:
	ZSTD_freeDCtx(dctx);
	fl_free(buf);
	return rc;
}
