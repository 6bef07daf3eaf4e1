/*
 * Model and update blobs (docs/blob-format.md): the exact layout, round
 * trips, the hash, rejection of every truncation, corrupt header bytes,
 * trailing bytes, NaN, size mismatches; zstd framing with its limits;
 * allocation failures in every decoder.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include "fl/fl.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zstd.h>

static fl_spec spec_of(const char *text)
{
	fl_spec s;

	cr_assert_eq(fl_spec_parse(&s, text), FL_OK);
	return s;
}

static void model_blob(uint8_t **blob, size_t *len, fl_model *m, const char *spec, uint64_t seed)
{
	fl_spec s = spec_of(spec);

	cr_assert_eq(fl_model_init(m, &s, seed), FL_OK);
	cr_assert_eq(fl_blob_encode_model(blob, len, m), FL_OK);
}

static void update_blob(uint8_t **blob, size_t *len, fl_update *u, const char *spec)
{
	fl_spec s = spec_of(spec);

	u->spec = s;
	u->n = fl_spec_params(&s);
	u->n_samples = 0x0102030405060708ULL;
	u->q = fl_malloc(u->n * sizeof(int32_t));
	cr_assert_not_null(u->q);
	for (size_t i = 0; i < u->n; i++)
		u->q[i] = (int32_t)(i * 2654435761u) % FL_FIXED_MAX;
	u->q[0] = -FL_FIXED_MAX;
	u->q[1] = FL_FIXED_MAX;
	cr_assert_eq(fl_blob_encode_update(blob, len, u), FL_OK);
}

/* Offset of the first payload byte: the header, then W's tensor header. */
static size_t first_payload(const fl_spec *s, int update)
{
	return 4 + 2 + 4 + 4 * (s->n_layers + 1) + s->n_layers + (update ? 8 : 0) + 10;
}

Test(blob, exact_layout_of_a_small_model)
{
	fl_spec s = spec_of("1-2");
	fl_model m;
	uint8_t *blob;
	size_t len;
	/* W = [1.0, −2.0], b = [0.5, 0]. */
	/* clang-format off */
	static const uint8_t want[] = {
		'F', 'L', 'B', '1', 1, 1,	/* magic, version 1, kind model */
		1, 0, 0, 0,			/* n_layers */
		1, 0, 0, 0, 2, 0, 0, 0,		/* sizes 1, 2 */
		0,				/* act: none */
		1, 0, 1, 0, 0, 0, 2, 0, 0, 0,	/* W: f32, frac 0, 1 x 2 */
		0x00, 0x00, 0x80, 0x3f,		/* 1.0 */
		0x00, 0x00, 0x00, 0xc0,		/* -2.0 */
		1, 0, 1, 0, 0, 0, 2, 0, 0, 0,	/* b: f32, frac 0, 1 x 2 */
		0x00, 0x00, 0x00, 0x3f,		/* 0.5 */
		0x00, 0x00, 0x00, 0x00,		/* 0.0 */
	};
	/* clang-format on */

	cr_assert_eq(fl_model_new(&m, &s), FL_OK);
	m.params[0] = 1.0f;
	m.params[1] = -2.0f;
	m.params[2] = 0.5f;
	cr_assert_eq(fl_blob_encode_model(&blob, &len, &m), FL_OK);
	cr_assert_eq(len, sizeof(want));
	cr_assert_eq(memcmp(blob, want, len), 0);
	fl_free(blob);
	fl_model_free(&m);
}

Test(blob, model_round_trip_and_hash)
{
	fl_model m, back;
	uint8_t *blob, *again;
	size_t len, len2;
	fl_hash h1, h2, h3;
	fl_blob_kind kind;

	model_blob(&blob, &len, &m, "12-7-5-3", 9);
	m.params[3] = -0.0f;  /* the sign of zero is kept */
	m.params[4] = 1e-40f; /* and subnormals */
	fl_free(blob);
	cr_assert_eq(fl_blob_encode_model(&blob, &len, &m), FL_OK);
	cr_assert_eq(fl_blob_kind_of(blob, len, &kind), FL_OK);
	cr_assert_eq(kind, FL_BLOB_MODEL);
	cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_OK);
	cr_assert_eq(back.n_params, m.n_params);
	cr_assert_eq(memcmp(back.params, m.params, m.n_params * sizeof(float)), 0);
	cr_assert_eq(memcmp(&back.spec, &m.spec, sizeof(fl_spec)), 0);

	/* Canonical: re-encoding gives the same bytes, so the same hash. */
	cr_assert_eq(fl_blob_encode_model(&again, &len2, &back), FL_OK);
	cr_assert_eq(len2, len);
	cr_assert_eq(memcmp(again, blob, len), 0);
	fl_sha256(&h1, blob, len);
	fl_sha256(&h2, again, len2);
	cr_assert_eq(fl_hash_cmp(&h1, &h2), 0);
	fl_free(again);

	/* One parameter changed, another hash. */
	back.params[0] = nextafterf(back.params[0], 1.0f);
	cr_assert_eq(fl_blob_encode_model(&again, &len2, &back), FL_OK);
	fl_sha256(&h3, again, len2);
	cr_assert_neq(fl_hash_cmp(&h1, &h3), 0);

	fl_free(again);
	fl_free(blob);
	fl_model_free(&back);
	fl_model_free(&m);
}

Test(blob, update_round_trip)
{
	fl_update u, back;
	uint8_t *blob, *again;
	size_t len, len2;
	fl_blob_kind kind;

	update_blob(&blob, &len, &u, "9-4-2");
	cr_assert_eq(fl_blob_kind_of(blob, len, &kind), FL_OK);
	cr_assert_eq(kind, FL_BLOB_UPDATE);
	cr_assert_eq(fl_blob_decode_update(&back, blob, len), FL_OK);
	cr_assert_eq(back.n, u.n);
	cr_assert_eq(back.n_samples, u.n_samples);
	cr_assert_eq(memcmp(back.q, u.q, u.n * sizeof(int32_t)), 0);
	cr_assert_eq(fl_blob_encode_update(&again, &len2, &back), FL_OK);
	cr_assert_eq(len2, len);
	cr_assert_eq(memcmp(again, blob, len), 0);
	fl_free(again);
	fl_free(blob);
	fl_update_free(&back);
	fl_update_free(&u);
}

Test(blob, every_truncation_is_refused)
{
	fl_model m, back;
	fl_update u, uback;
	uint8_t *blob;
	size_t len;

	model_blob(&blob, &len, &m, "5-3-2", 1);
	for (size_t n = 0; n < len; n++) {
		int rc = fl_blob_decode_model(&back, blob, n);

		cr_assert(rc == FL_ETRUNC, "length %zu: %s", n, fl_strerror(rc));
		cr_assert_null(back.params);
	}
	fl_free(blob);
	fl_model_free(&m);

	update_blob(&blob, &len, &u, "5-3-2");
	for (size_t n = 0; n < len; n++) {
		cr_assert_eq(fl_blob_decode_update(&uback, blob, n), FL_ETRUNC, "length %zu", n);
		cr_assert_null(uback.q);
	}
	fl_free(blob);
	fl_update_free(&u);
}

Test(blob, trailing_bytes_are_refused)
{
	fl_model m, back;
	uint8_t *blob, *longer;
	size_t len;

	model_blob(&blob, &len, &m, "5-3-2", 1);
	longer = malloc(len + 1);
	memcpy(longer, blob, len);
	longer[len] = 0;
	cr_assert_eq(fl_blob_decode_model(&back, longer, len + 1), FL_ETRAILING);
	cr_assert_null(back.params);
	free(longer);
	fl_free(blob);
	fl_model_free(&m);
}

/* Every byte before the first payload, inverted, must be refused: each
 * has exactly one accepted value given the spec it encodes. */
Test(blob, corrupt_header_bytes_are_refused)
{
	fl_model m, back;
	fl_update u, uback;
	uint8_t *blob;
	size_t len, head;
	fl_spec s = spec_of("5-3-2");

	model_blob(&blob, &len, &m, "5-3-2", 1);
	head = first_payload(&s, 0);
	for (size_t i = 0; i < head; i++) {
		blob[i] ^= 0xff;
		cr_assert_neq(fl_blob_decode_model(&back, blob, len), FL_OK, "byte %zu", i);
		cr_assert_null(back.params);
		blob[i] ^= 0xff;
	}
	/* The second tensor's header (b of layer 0) too. */
	for (size_t i = head + 15 * 4; i < head + 15 * 4 + 10; i++) {
		blob[i] ^= 0x01;
		cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_ECORRUPT, "byte %zu", i);
		blob[i] ^= 0x01;
	}
	cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_OK);
	fl_model_free(&back);
	fl_free(blob);
	fl_model_free(&m);

	/* Updates: all but n_samples, which may hold any value. */
	update_blob(&blob, &len, &u, "5-3-2");
	head = first_payload(&s, 1);
	for (size_t i = 0; i < head; i++) {
		if (i >= head - 18 && i < head - 10)
			continue; /* n_samples */
		blob[i] ^= 0xff;
		cr_assert_neq(fl_blob_decode_update(&uback, blob, len), FL_OK, "byte %zu", i);
		blob[i] ^= 0xff;
	}
	fl_free(blob);
	fl_update_free(&u);
}

Test(blob, specific_errors)
{
	fl_model m, back;
	fl_update ub;
	uint8_t *blob;
	size_t len;
	fl_blob_kind kind;

	model_blob(&blob, &len, &m, "5-3-2", 1);
	/* A model is not an update. */
	cr_assert_eq(fl_blob_decode_update(&ub, blob, len), FL_EINVAL);
	/* Version and magic. */
	blob[4] = 2;
	cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_EVERSION);
	cr_assert_eq(fl_blob_kind_of(blob, len, &kind), FL_EVERSION);
	blob[4] = 1;
	blob[0] = 'X';
	cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_ECORRUPT);
	cr_assert_eq(fl_blob_kind_of(blob, len, &kind), FL_ECORRUPT);
	blob[0] = 'F';
	cr_assert_eq(fl_blob_kind_of(blob, 5, &kind), FL_ETRUNC);
	/* Size mismatch: the header says 5-4-2, the payload is 5-3-2's. */
	blob[14] = 4;
	cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_ETRUNC);
	blob[14] = 2;
	cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_ETRAILING);
	blob[14] = 3;
	/* A spec that fl_spec_check refuses: one output class. */
	blob[18] = 1;
	cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_ECORRUPT);
	blob[18] = 2;
	cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_OK);
	fl_model_free(&back);
	fl_free(blob);
	fl_model_free(&m);
}

Test(blob, non_finite_values_are_refused)
{
	fl_model m, back;
	fl_update u, ub;
	uint8_t *blob, *out;
	size_t len, off, olen;
	const uint32_t bad[] = {0x7fc00000u, 0xffc00001u, 0x7f800000u, 0xff800000u};
	fl_spec s = spec_of("5-3-2");

	model_blob(&blob, &len, &m, "5-3-2", 1);
	off = first_payload(&s, 0) + 4 * 7;
	for (size_t k = 0; k < FL_ARRAY_LEN(bad); k++) {
		uint8_t saved[4];

		memcpy(saved, blob + off, 4);
		memcpy(blob + off, &bad[k], 4); /* little-endian host */
		cr_assert_eq(fl_blob_decode_model(&back, blob, len), FL_ECORRUPT);
		memcpy(blob + off, saved, 4);
	}
	/* Encoding refuses them too, so every blob written decodes. */
	m.params[7] = NAN;
	cr_assert_eq(fl_blob_encode_model(&out, &olen, &m), FL_EINVAL);
	cr_assert_null(out);
	m.params[7] = -INFINITY;
	cr_assert_eq(fl_blob_encode_model(&out, &olen, &m), FL_EINVAL);
	fl_free(blob);
	fl_model_free(&m);

	/* INT32_MIN is outside ±FL_FIXED_MAX. */
	update_blob(&blob, &len, &u, "5-3-2");
	off = first_payload(&s, 1);
	blob[off + 0] = 0x00;
	blob[off + 1] = 0x00;
	blob[off + 2] = 0x00;
	blob[off + 3] = 0x80;
	cr_assert_eq(fl_blob_decode_update(&ub, blob, len), FL_ECORRUPT);
	u.q[5] = INT32_MIN;
	cr_assert_eq(fl_blob_encode_update(&out, &olen, &u), FL_EINVAL);
	fl_free(blob);
	fl_update_free(&u);
}

/* Past FL_BLOB_MAX, the length alone is enough to refuse: the test maps
 * that much address space (untouched zero pages) so nothing is faked. */
Test(blob, over_the_maximum_is_refused_before_reading)
{
	size_t len = FL_BLOB_MAX + 1;
	uint8_t *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	fl_model m;
	fl_update u;

	cr_assert_neq(p, MAP_FAILED);
	cr_assert_eq(fl_blob_decode_model(&m, p, len), FL_ETOOBIG);
	cr_assert_eq(fl_blob_decode_update(&u, p, len), FL_ETOOBIG);
	munmap(p, len);
}

Test(blob, decode_under_allocation_failure)
{
	fl_model m, back;
	fl_update u, ub;
	uint8_t *blob;
	size_t len;
	unsigned long n;
	int rc;

	model_blob(&blob, &len, &m, "6-4-3", 2);
	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_blob_decode_model(&back, blob, len);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_null(back.params);
	}
	cr_assert_gt(n, 1);
	fl_model_free(&back);
	fl_free(blob);
	fl_model_free(&m);

	update_blob(&blob, &len, &u, "6-4-3");
	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_blob_decode_update(&ub, blob, len);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_null(ub.q);
	}
	cr_assert_gt(n, 1);
	fl_update_free(&ub);
	fl_free(blob);
	fl_update_free(&u);
}

/* --------------------------------------------------------------- zstd */

Test(compress, round_trip)
{
	fl_model m;
	uint8_t *blob, *z, *back;
	size_t len, zlen, blen;

	model_blob(&blob, &len, &m, "64-32-10", 5);
	cr_assert_eq(fl_blob_compress(&z, &zlen, blob, len), FL_OK);
	cr_assert_lt(zlen, len);
	cr_assert_eq(fl_blob_decompress(&back, &blen, z, zlen, len), FL_OK);
	cr_assert_eq(blen, len);
	cr_assert_eq(memcmp(back, blob, len), 0);
	fl_free(back);
	/* A maximum of exactly the size is fine; one byte less is not. */
	cr_assert_eq(fl_blob_decompress(&back, &blen, z, zlen, len - 1), FL_ETOOBIG);
	cr_assert_null(back);
	fl_free(z);

	/* Empty input is a valid frame of nothing. */
	cr_assert_eq(fl_blob_compress(&z, &zlen, NULL, 0), FL_OK);
	cr_assert_eq(fl_blob_decompress(&back, &blen, z, zlen, 100), FL_OK);
	cr_assert_eq(blen, 0);
	fl_free(back);
	fl_free(z);
	fl_free(blob);
	fl_model_free(&m);
}

Test(compress, over_max_is_refused)
{
	size_t len = 1 << 20;
	uint8_t *zeros = calloc(len, 1), *z, *back;
	size_t zlen, blen;

	cr_assert_eq(fl_blob_compress(&z, &zlen, zeros, len), FL_OK);
	cr_assert_lt(zlen, 1000); /* a zip bomb in miniature */
	cr_assert_eq(fl_blob_decompress(&back, &blen, z, zlen, 1000), FL_ETOOBIG);
	cr_assert_null(back);
	cr_assert_eq(fl_blob_decompress(&back, &blen, z, zlen, len), FL_OK);
	cr_assert_eq(blen, len);
	fl_free(back);
	fl_free(z);
	free(zeros);
}

/* A frame that does not declare its size (as a streaming writer makes):
 * decoded by streaming, under the same maximum. */
Test(compress, frame_without_content_size)
{
	size_t len = 300000, zcap = ZSTD_compressBound(len), zlen, blen;
	uint8_t *data = malloc(len), *z = malloc(zcap), *back;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();

	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * i >> 7);
	cr_assert_not_null(cctx);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
	zlen = ZSTD_compress2(cctx, z, zcap, data, len);
	cr_assert(!ZSTD_isError(zlen));
	cr_assert_eq(ZSTD_getFrameContentSize(z, zlen), ZSTD_CONTENTSIZE_UNKNOWN);

	cr_assert_eq(fl_blob_decompress(&back, &blen, z, zlen, len), FL_OK);
	cr_assert_eq(blen, len);
	cr_assert_eq(memcmp(back, data, len), 0);
	fl_free(back);
	cr_assert_eq(fl_blob_decompress(&back, &blen, z, zlen, len - 1), FL_ETOOBIG);
	cr_assert_eq(fl_blob_decompress(&back, &blen, z, zlen, 70000), FL_ETOOBIG);
	cr_assert_null(back);
	/* Truncated: the frame is incomplete. */
	cr_assert_neq(fl_blob_decompress(&back, &blen, z, zlen - 3, len), FL_OK);
	/* Every allocation of the streaming path can fail cleanly. */
	for (unsigned long k = 1;; k++) {
		int rc;

		fl_alloc_fail_after(k);
		rc = fl_blob_decompress(&back, &blen, z, zlen, len);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM, "allocation %lu: %s", k, fl_strerror(rc));
		cr_assert_null(back);
	}
	cr_assert_eq(blen, len);
	cr_assert_eq(memcmp(back, data, len), 0);
	fl_free(back);
	ZSTD_freeCCtx(cctx);
	free(z);
	free(data);
}

Test(compress, corrupt_frames_are_refused)
{
	fl_model m;
	uint8_t *blob, *z, *back, *longer;
	size_t len, zlen, blen;
	int refused = 0;

	model_blob(&blob, &len, &m, "16-8-4", 3);
	cr_assert_eq(fl_blob_compress(&z, &zlen, blob, len), FL_OK);
	/* Every truncation. */
	for (size_t n = 0; n < zlen; n++)
		cr_assert_neq(fl_blob_decompress(&back, &blen, z, n, len), FL_OK, "length %zu", n);
	/* Trailing bytes after the frame. */
	longer = malloc(zlen + 4);
	memcpy(longer, z, zlen);
	memset(longer + zlen, 0, 4);
	cr_assert_eq(fl_blob_decompress(&back, &blen, longer, zlen + 4, len), FL_ETRAILING);
	free(longer);
	/* Every single-byte corruption is refused or, at worst, harmless: the
	 * frame checksum covers the content. */
	for (size_t i = 0; i < zlen; i++) {
		int rc;

		z[i] ^= 0x5a;
		rc = fl_blob_decompress(&back, &blen, z, zlen, len);
		if (rc == FL_OK) {
			cr_assert(blen == len && memcmp(back, blob, len) == 0, "byte %zu", i);
			fl_free(back);
		} else {
			cr_assert_null(back);
			refused++;
		}
		z[i] ^= 0x5a;
	}
	cr_assert_gt(refused, (int)zlen * 9 / 10);
	/* Garbage. */
	cr_assert_eq(fl_blob_decompress(&back, &blen, blob, len, len), FL_ECORRUPT);
	fl_free(z);
	fl_free(blob);
	fl_model_free(&m);
}

Test(compress, under_allocation_failure)
{
	fl_model m;
	uint8_t *blob, *z = NULL, *back = NULL;
	size_t len, zlen, blen;
	unsigned long n;
	int rc;

	model_blob(&blob, &len, &m, "16-8-4", 3);
	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_blob_compress(&z, &zlen, blob, len);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM, "allocation %lu: %s", n, fl_strerror(rc));
		cr_assert_null(z);
	}
	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_blob_decompress(&back, &blen, z, zlen, len);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM, "allocation %lu: %s", n, fl_strerror(rc));
		cr_assert_null(back);
	}
	cr_assert_eq(blen, len);
	fl_free(back);
	fl_free(z);
	fl_free(blob);
	fl_model_free(&m);
}

Test(blob, a_skippable_zstd_frame_is_not_a_blob)
{
	/* Magic 0x184D2A50 (little-endian), a 4-byte length, 4 bytes of user
	 * data: one well-formed zstd frame that holds no content. */
	static const uint8_t skippable[] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
	uint8_t *out = NULL;
	size_t n = 99;

	cr_assert_eq(fl_blob_decompress(&out, &n, skippable, sizeof(skippable), 1024), FL_ECORRUPT);
	cr_assert_null(out);
	cr_assert_eq(n, 0);
}
