/*
 * fl/blob.c — the canonical model and update blob (docs/blob-format.md).
 *
 * All integers little-endian, no padding, nothing optional:
 *
 *   magic      4 bytes  "FLB1"
 *   version    u8       1
 *   kind       u8       1 = model, 2 = update (fl_blob_kind)
 *   n_layers   u32      1..FL_MAX_LAYERS
 *   sizes      u32 × (n_layers + 1), each 1..FL_MAX_WIDTH
 *   act        u8 × n_layers, 0 = none, 1 = ReLU; the last is 0
 *   n_samples  u64      updates only
 *   then per layer l, the tensors W (rows = sizes[l], cols = sizes[l+1],
 *   row-major, the parameter layout of fl_spec_layer_offset) and b
 *   (rows = 1, cols = sizes[l+1]), each as
 *     dtype    u8       1 = f32 (models), 2 = q32 (updates)
 *     frac     u8       fractional bits: 0 for f32, FL_FIXED_FRAC for q32
 *     rows     u32
 *     cols     u32
 *     payload  rows·cols × 4 bytes: IEEE binary32 bits, or int32 two's
 *              complement with value q·2^-frac
 *
 * Every field has one accepted value given the ones before it, so a blob
 * that decodes re-encodes to the same bytes, and the blob's hash (SHA-256 of
 * these bytes) names its content. Decoding also refuses NaN and infinities
 * in models and INT32_MIN in updates (quantisation saturates at
 * ±FL_FIXED_MAX), and checks the total length against the spec before it
 * allocates anything.
 */
#include "fl/internal.h"

#include <assert.h>
#include <string.h>

#define BLOB_VERSION 1
#define DTYPE_F32    1
#define DTYPE_Q32    2
#define TENSOR_HEAD  10 /* dtype, frac, rows, cols */

static const uint8_t blob_magic[4] = {'F', 'L', 'B', '1'};

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#define BLOB_BIG_ENDIAN 1
#endif

typedef struct {
	fl_blob_kind kind;
	fl_spec spec;
	uint64_t n_samples;
	size_t n_params;
} blob_head;

static size_t head_size(const fl_spec *spec, fl_blob_kind kind)
{
	return sizeof(blob_magic) + 2 + 4 + 4 * ((size_t)spec->n_layers + 1) + spec->n_layers +
	       (kind == FL_BLOB_UPDATE ? 8 : 0);
}

/* The exact length of a blob of this spec: the check that comes before any
 * allocation sized by the spec. */
static size_t blob_size(const fl_spec *spec, fl_blob_kind kind, size_t n_params)
{
	return head_size(spec, kind) + 2 * (size_t)spec->n_layers * TENSOR_HEAD +
	       n_params * sizeof(uint32_t);
}

/* ------------------------------------------------------------------ encode */

static void write_head(fl_writer *w, const fl_spec *spec, fl_blob_kind kind, uint64_t n_samples)
{
	fl_write_fixed(w, blob_magic, sizeof(blob_magic));
	fl_write_u8(w, BLOB_VERSION);
	fl_write_u8(w, (uint8_t)kind);
	fl_write_u32(w, spec->n_layers);
	for (uint32_t i = 0; i <= spec->n_layers; i++)
		fl_write_u32(w, spec->sizes[i]);
	for (uint32_t i = 0; i < spec->n_layers; i++)
		fl_write_u8(w, spec->act[i]);
	if (kind == FL_BLOB_UPDATE)
		fl_write_u64(w, n_samples);
}

/* n 32-bit words in little-endian order. */
static void write_words(fl_writer *w, const void *p, size_t n)
{
#ifdef BLOB_BIG_ENDIAN
	for (size_t i = 0; i < n; i++) {
		uint32_t v;

		memcpy(&v, (const uint8_t *)p + 4 * i, 4);
		fl_write_u32(w, v);
	}
#else
	fl_write_fixed(w, p, n * 4);
#endif
}

static void write_tensors(fl_writer *w, const fl_spec *spec, const void *payload, uint8_t dtype)
{
	const uint8_t *p = payload;

	for (uint32_t l = 0; l < spec->n_layers; l++) {
		const uint32_t rows[2] = {spec->sizes[l], 1};

		for (int t = 0; t < 2; t++) {
			size_t count = (size_t)rows[t] * spec->sizes[l + 1];

			fl_write_u8(w, dtype);
			fl_write_u8(w, dtype == DTYPE_Q32 ? FL_FIXED_FRAC : 0);
			fl_write_u32(w, rows[t]);
			fl_write_u32(w, spec->sizes[l + 1]);
			write_words(w, p, count);
			p += count * 4;
		}
	}
}

static int finish(fl_writer *w, uint8_t **out, size_t *n)
{
	int rc = fl_writer_finish(w);

	if (rc != FL_OK) {
		fl_writer_free(w);
		return rc;
	}
	*out = w->buf;
	*n = w->len;
	w->buf = NULL;
	return FL_OK;
}

static int is_finite_bits(uint32_t bits)
{
	return (bits & 0x7f800000u) != 0x7f800000u;
}

int fl_blob_encode_model(uint8_t **out, size_t *n, const fl_model *m)
{
	fl_writer w;
	int rc;

	assert(out != NULL && n != NULL && m != NULL);
	*out = NULL;
	*n = 0;
	rc = fl_spec_check(&m->spec);
	if (rc != FL_OK)
		return rc;
	if (m->n_params != fl_spec_params(&m->spec))
		return FL_EINVAL;
	/* A blob holds only what a decoder accepts. */
	for (size_t i = 0; i < m->n_params; i++) {
		uint32_t bits;

		memcpy(&bits, &m->params[i], 4);
		if (!is_finite_bits(bits))
			return FL_EINVAL;
	}
	fl_writer_init(&w, FL_BLOB_MAX);
	write_head(&w, &m->spec, FL_BLOB_MODEL, 0);
	write_tensors(&w, &m->spec, m->params, DTYPE_F32);
	return finish(&w, out, n);
}

int fl_blob_encode_update(uint8_t **out, size_t *n, const fl_update *u)
{
	fl_writer w;
	int rc;

	assert(out != NULL && n != NULL && u != NULL);
	*out = NULL;
	*n = 0;
	rc = fl_spec_check(&u->spec);
	if (rc != FL_OK)
		return rc;
	if (u->n != fl_spec_params(&u->spec))
		return FL_EINVAL;
	for (size_t i = 0; i < u->n; i++)
		if (u->q[i] < -FL_FIXED_MAX)
			return FL_EINVAL;
	fl_writer_init(&w, FL_BLOB_MAX);
	write_head(&w, &u->spec, FL_BLOB_UPDATE, u->n_samples);
	write_tensors(&w, &u->spec, u->q, DTYPE_Q32);
	return finish(&w, out, n);
}

/* ------------------------------------------------------------------ decode */

/* Magic, version and kind: the part fl_blob_kind_of reads. */
static int read_kind(fl_reader *r, fl_blob_kind *kind)
{
	uint8_t magic[sizeof(blob_magic)], version = 0, k = 0;

	fl_read_fixed(r, magic, sizeof(magic));
	fl_read_u8(r, &version);
	if (fl_read_u8(r, &k) != FL_OK)
		return r->err;
	if (memcmp(magic, blob_magic, sizeof(magic)) != 0)
		return FL_ECORRUPT;
	if (version != BLOB_VERSION)
		return FL_EVERSION;
	if (k != FL_BLOB_MODEL && k != FL_BLOB_UPDATE)
		return FL_EVERSION;
	*kind = (fl_blob_kind)k;
	return FL_OK;
}

/* Everything before the tensors, and the length check against the spec. */
static int read_head(fl_reader *r, size_t len, fl_blob_kind want, blob_head *h)
{
	uint8_t act;
	int rc;

	memset(h, 0, sizeof(*h));
	if (len > FL_BLOB_MAX)
		return FL_ETOOBIG;
	rc = read_kind(r, &h->kind);
	if (rc != FL_OK)
		return rc;
	if (h->kind != want)
		return FL_EINVAL;
	if (fl_read_u32(r, &h->spec.n_layers) != FL_OK)
		return r->err;
	if (h->spec.n_layers < 1 || h->spec.n_layers > FL_MAX_LAYERS)
		return FL_ECORRUPT;
	for (uint32_t i = 0; i <= h->spec.n_layers; i++)
		fl_read_u32(r, &h->spec.sizes[i]);
	for (uint32_t i = 0; i < h->spec.n_layers; i++) {
		fl_read_u8(r, &act);
		h->spec.act[i] = act;
	}
	if (want == FL_BLOB_UPDATE)
		fl_read_u64(r, &h->n_samples);
	if (r->err != FL_OK)
		return r->err;
	/* fl_spec_check bounds every width, the activations, and the
	 * parameter count (FL_MAX_PARAMS), so blob_size cannot overflow. */
	if (fl_spec_check(&h->spec) != FL_OK)
		return FL_ECORRUPT;
	h->n_params = fl_spec_params(&h->spec);
	if (len < blob_size(&h->spec, want, h->n_params))
		return FL_ETRUNC;
	if (len > blob_size(&h->spec, want, h->n_params))
		return FL_ETRAILING;
	return FL_OK;
}

static int read_words(fl_reader *r, void *p, size_t n)
{
#ifdef BLOB_BIG_ENDIAN
	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0;

		fl_read_u32(r, &v);
		memcpy((uint8_t *)p + 4 * i, &v, 4);
	}
	return r->err;
#else
	return fl_read_fixed(r, p, n * 4);
#endif
}

/* Reads every tensor into payload (n_params 32-bit words) and checks each
 * tensor header and value. */
static int read_tensors(fl_reader *r, const blob_head *h, void *payload)
{
	const uint8_t dtype = h->kind == FL_BLOB_MODEL ? DTYPE_F32 : DTYPE_Q32;
	const uint8_t frac = h->kind == FL_BLOB_MODEL ? 0 : FL_FIXED_FRAC;
	uint8_t *p = payload;

	for (uint32_t l = 0; l < h->spec.n_layers; l++) {
		const uint32_t want_rows[2] = {h->spec.sizes[l], 1};

		for (int t = 0; t < 2; t++) {
			uint8_t got_dtype = 0, got_frac = 0;
			uint32_t rows = 0, cols = 0;
			size_t count;

			fl_read_u8(r, &got_dtype);
			fl_read_u8(r, &got_frac);
			fl_read_u32(r, &rows);
			fl_read_u32(r, &cols);
			if (r->err != FL_OK)
				return r->err;
			if (got_dtype != dtype || got_frac != frac || rows != want_rows[t] ||
			    cols != h->spec.sizes[l + 1])
				return FL_ECORRUPT;
			count = (size_t)rows * cols;
			if (read_words(r, p, count) != FL_OK)
				return r->err;
			for (size_t i = 0; i < count; i++) {
				uint32_t bits;

				memcpy(&bits, p + 4 * i, 4);
				if (dtype == DTYPE_F32 ? !is_finite_bits(bits)
						       : bits == 0x80000000u)
					return FL_ECORRUPT;
			}
			p += count * 4;
		}
	}
	return fl_reader_finish(r);
}

int fl_blob_decode_model(fl_model *m, const uint8_t *p, size_t n)
{
	fl_reader r;
	blob_head h;
	int rc;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	fl_reader_init(&r, p, n);
	rc = read_head(&r, n, FL_BLOB_MODEL, &h);
	if (rc != FL_OK)
		return rc;
	rc = fl_model_new(m, &h.spec);
	if (rc != FL_OK)
		return rc;
	rc = read_tensors(&r, &h, m->params);
	if (rc != FL_OK)
		fl_model_free(m);
	return rc;
}

int fl_blob_decode_update(fl_update *u, const uint8_t *p, size_t n)
{
	fl_reader r;
	blob_head h;
	int rc;

	assert(u != NULL && (p != NULL || n == 0));
	memset(u, 0, sizeof(*u));
	fl_reader_init(&r, p, n);
	rc = read_head(&r, n, FL_BLOB_UPDATE, &h);
	if (rc != FL_OK)
		return rc;
	u->q = fl_malloc(h.n_params * sizeof(int32_t));
	if (u->q == NULL)
		return FL_ENOMEM;
	rc = read_tensors(&r, &h, u->q);
	if (rc != FL_OK) {
		fl_update_free(u);
		return rc;
	}
	u->spec = h.spec;
	u->n = h.n_params;
	u->n_samples = h.n_samples;
	return FL_OK;
}

int fl_blob_kind_of(const uint8_t *p, size_t n, fl_blob_kind *kind)
{
	fl_reader r;

	assert((p != NULL || n == 0) && kind != NULL);
	fl_reader_init(&r, p, n);
	return read_kind(&r, kind);
}
