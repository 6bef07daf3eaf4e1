/*
 * fl/idx.c — the IDX reader (the MNIST/Fashion-MNIST file format): an images
 * file (magic 0x00000803: n, rows, cols, then n·rows·cols u8 pixels) and a
 * labels file (magic 0x00000801: n, then n u8 labels), each raw or as one
 * gzip member, dimensions big-endian.
 *
 * Untrusted input: every dimension has a maximum, the arrays are sized from
 * dimensions that the input's own length makes plausible, and both files
 * must end exactly where their header says.
 */
#include "fl/internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

/* Deflate never expands more than 1032:1 (a 258-byte match costs at least
 * two bits), so a gzip member of c bytes inflates to under 1032·c bytes: a
 * header declaring more describes a truncated file, and is refused before
 * anything is allocated for it. */
#define DEFLATE_MAX_RATIO 1032u

/* zlib hands us at most this much input per call (its counters are uInt). */
#define ZLIB_MAX_IN ((size_t)1 << 30)

/* A forward-only byte source over one file in memory, inflating if gzip. */
struct idx_stream {
	const char *name;
	const uint8_t *p;
	size_t len;
	size_t pos; /* raw: bytes consumed; gzip: bytes handed to zlib */
	int gzip;
	int z_ready; /* inflateInit2 succeeded: inflateEnd is due */
	int z_done;  /* the member's end (and its CRC and size) was seen */
	z_stream z;
};

/* zlib's own allocations go through the failure hook too. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return fl_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	fl_free(p);
}

static int stream_open(struct idx_stream *s, const char *name, const uint8_t *p, size_t len)
{
	int zrc;

	memset(s, 0, sizeof(*s));
	s->name = name;
	s->p = p;
	s->len = len;
	if (len < 2 || p[0] != 0x1f || p[1] != 0x8b)
		return FL_OK;
	s->gzip = 1;
	s->z.zalloc = z_alloc;
	s->z.zfree = z_free;
	/* 16 + MAX_WBITS: a gzip wrapper only, whose CRC-32 and length
	 * trailer inflate checks for us. */
	zrc = inflateInit2(&s->z, 16 + MAX_WBITS);
	if (zrc == Z_MEM_ERROR)
		return FL_ENOMEM;
	if (zrc != Z_OK)
		return FL_EIO;
	s->z_ready = 1;
	return FL_OK;
}

static void stream_close(struct idx_stream *s)
{
	if (s->z_ready)
		inflateEnd(&s->z);
	s->z_ready = 0;
}

/* One inflate step into whatever output space z has; FL_OK while progress
 * is possible, FL_ECORRUPT for bad data or input that ends too early. */
static int stream_inflate(struct idx_stream *s)
{
	int zrc;

	if (s->z.avail_in == 0 && s->pos < s->len) {
		size_t chunk = s->len - s->pos < ZLIB_MAX_IN ? s->len - s->pos : ZLIB_MAX_IN;

		s->z.next_in = (Bytef *)(uintptr_t)(s->p + s->pos);
		s->z.avail_in = (uInt)chunk;
		s->pos += chunk;
	}
	zrc = inflate(&s->z, Z_NO_FLUSH);
	switch (zrc) {
	case Z_OK:
		return FL_OK;
	case Z_STREAM_END:
		s->z_done = 1;
		return FL_OK;
	case Z_MEM_ERROR:
		return FL_ENOMEM;
	case Z_BUF_ERROR:
		/* No progress possible: the input ran out mid-stream. */
		fl_log(FL_LOG_ERROR, "fl", "%s: gzip stream is truncated", s->name);
		return FL_ECORRUPT;
	default:
		fl_log(FL_LOG_ERROR, "fl", "%s: corrupt gzip stream (%s)", s->name,
		       s->z.msg != NULL ? s->z.msg : "zlib error");
		return FL_ECORRUPT;
	}
}

/* Exactly n bytes into out, or FL_ECORRUPT if the file ends first. */
static int stream_read(struct idx_stream *s, uint8_t *out, size_t n)
{
	int rc;

	if (!s->gzip) {
		if (s->len - s->pos < n) {
			fl_log(FL_LOG_ERROR, "fl", "%s: file is truncated", s->name);
			return FL_ECORRUPT;
		}
		memcpy(out, s->p + s->pos, n);
		s->pos += n;
		return FL_OK;
	}
	assert(n <= UINT32_MAX);
	s->z.next_out = out;
	s->z.avail_out = (uInt)n;
	while (s->z.avail_out > 0) {
		if (s->z_done) {
			fl_log(FL_LOG_ERROR, "fl", "%s: file is truncated", s->name);
			return FL_ECORRUPT;
		}
		if ((rc = stream_inflate(s)) != FL_OK)
			return rc;
	}
	return FL_OK;
}

/* The file must end here: no byte after the declared data, raw or
 * decompressed, and nothing after the gzip member. */
static int stream_finish(struct idx_stream *s)
{
	uint8_t extra;
	int rc;

	if (!s->gzip) {
		if (s->pos != s->len)
			goto trailing;
		return FL_OK;
	}
	while (!s->z_done) {
		s->z.next_out = &extra;
		s->z.avail_out = 1;
		if ((rc = stream_inflate(s)) != FL_OK)
			return rc;
		if (s->z.avail_out == 0)
			goto trailing;
	}
	if (s->z.avail_in != 0 || s->pos != s->len)
		goto trailing;
	return FL_OK;

trailing:
	fl_log(FL_LOG_ERROR, "fl", "%s: data after the declared end", s->name);
	return FL_ECORRUPT;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Magic and n_dims big-endian dimensions. */
static int read_header(struct idx_stream *s, uint32_t magic, uint32_t *dims, size_t n_dims)
{
	uint8_t head[16];
	int rc;

	assert(n_dims <= 3);
	if ((rc = stream_read(s, head, 4 + 4 * n_dims)) != FL_OK)
		return rc;
	if (be32(head) != magic) {
		fl_log(FL_LOG_ERROR, "fl", "%s: not an IDX %s file (magic %08x, expected %08x)",
		       s->name, magic == IDX_IMAGES_MAGIC ? "u8 images" : "u8 labels", be32(head),
		       magic);
		return FL_ECORRUPT;
	}
	for (size_t i = 0; i < n_dims; i++)
		dims[i] = be32(head + 4 + 4 * i);
	return FL_OK;
}

/* Before allocating for `payload` bytes: a raw file must hold exactly
 * them, a gzip member must be able to. */
static int check_payload(const struct idx_stream *s, uint64_t payload)
{
	if (!s->gzip) {
		if (s->len - s->pos == payload)
			return FL_OK;
		fl_log(FL_LOG_ERROR, "fl", "%s: %zu data bytes, the header declares %llu", s->name,
		       s->len - s->pos, (unsigned long long)payload);
		return FL_ECORRUPT;
	}
	if (payload / DEFLATE_MAX_RATIO <= s->len)
		return FL_OK;
	fl_log(FL_LOG_ERROR, "fl", "%s: %zu compressed bytes cannot hold the %llu declared",
	       s->name, s->len, (unsigned long long)payload);
	return FL_ECORRUPT;
}

static int read_labels(struct idx_stream *s, uint16_t *y, size_t n, uint32_t n_classes)
{
	uint8_t chunk[16384];
	size_t done = 0;
	int rc;

	while (done < n) {
		size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);

		if ((rc = stream_read(s, chunk, k)) != FL_OK)
			return rc;
		for (size_t i = 0; i < k; i++) {
			if (chunk[i] >= n_classes) {
				fl_log(FL_LOG_ERROR, "fl",
				       "%s: label %u of sample %zu is not below %u", s->name,
				       chunk[i], done + i, n_classes);
				return FL_ECORRUPT;
			}
			y[done + i] = chunk[i];
		}
		done += k;
	}
	return FL_OK;
}

static int read_pixels(struct idx_stream *s, float *x, size_t count)
{
	uint8_t chunk[16384];
	float scale[256];
	size_t done = 0;
	int rc;

	/* Division, not multiplication by 1/255: the correctly rounded
	 * quotient, the same bits everywhere. */
	for (int v = 0; v < 256; v++)
		scale[v] = (float)v / 255.0f;
	while (done < count) {
		size_t k = count - done < sizeof(chunk) ? count - done : sizeof(chunk);

		if ((rc = stream_read(s, chunk, k)) != FL_OK)
			return rc;
		for (size_t i = 0; i < k; i++)
			x[done + i] = scale[chunk[i]];
		done += k;
	}
	return FL_OK;
}

static int idx_parse(fl_dataset *out, struct idx_stream *img, struct idx_stream *lab,
		     uint32_t n_classes)
{
	uint32_t dims[3], n_labels;
	uint64_t pixels, dim;
	float *x = NULL;
	uint16_t *y = NULL;
	int rc;

	/* Labels first: their file is small and fails fast. */
	if ((rc = read_header(lab, IDX_LABELS_MAGIC, &n_labels, 1)) != FL_OK)
		goto cleanup;
	if ((rc = read_header(img, IDX_IMAGES_MAGIC, dims, 3)) != FL_OK)
		goto cleanup;
	if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0) {
		fl_log(FL_LOG_ERROR, "fl", "%s: empty images (%u x %u x %u)", img->name, dims[0],
		       dims[1], dims[2]);
		rc = FL_ECORRUPT;
		goto cleanup;
	}
	/* Each factor is checked before the product, so nothing overflows:
	 * dim <= 2^16 and n < 2^32 keep pixels under 2^48. */
	dim = (uint64_t)dims[1] * dims[2];
	if (dims[1] > FL_MAX_WIDTH || dims[2] > FL_MAX_WIDTH || dim > FL_MAX_WIDTH) {
		fl_log(FL_LOG_ERROR, "fl", "%s: %u x %u pixels per image, over the %u maximum",
		       img->name, dims[1], dims[2], FL_MAX_WIDTH);
		rc = FL_ETOOBIG;
		goto cleanup;
	}
	pixels = (uint64_t)dims[0] * dim;
	if (pixels > FL_IDX_MAX_PIXELS) {
		fl_log(FL_LOG_ERROR, "fl", "%s: %llu pixels, over the %llu maximum", img->name,
		       (unsigned long long)pixels, (unsigned long long)FL_IDX_MAX_PIXELS);
		rc = FL_ETOOBIG;
		goto cleanup;
	}
	if (n_labels != dims[0]) {
		fl_log(FL_LOG_ERROR, "fl", "%s holds %u labels but %s holds %u images", lab->name,
		       n_labels, img->name, dims[0]);
		rc = FL_ECORRUPT;
		goto cleanup;
	}
	if ((rc = check_payload(lab, n_labels)) != FL_OK ||
	    (rc = check_payload(img, pixels)) != FL_OK)
		goto cleanup;

	y = fl_malloc((size_t)n_labels * sizeof(*y));
	x = fl_malloc((size_t)pixels * sizeof(*x));
	if (x == NULL || y == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	if ((rc = read_labels(lab, y, n_labels, n_classes)) != FL_OK ||
	    (rc = stream_finish(lab)) != FL_OK)
		goto cleanup;
	if ((rc = read_pixels(img, x, (size_t)pixels)) != FL_OK ||
	    (rc = stream_finish(img)) != FL_OK)
		goto cleanup;

	out->n = dims[0];
	out->dim = (uint32_t)dim;
	out->n_classes = n_classes;
	out->x = x;
	out->y = y;
	snprintf(out->data_type, sizeof(out->data_type), "image/%ux%ux1", dims[1], dims[2]);
	x = NULL;
	y = NULL;

cleanup:
	fl_free(x);
	fl_free(y);
	return rc;
}

static int idx_parse_named(fl_dataset *out, const char *images_name, const uint8_t *images,
			   size_t images_len, const char *labels_name, const uint8_t *labels,
			   size_t labels_len, uint32_t n_classes)
{
	struct idx_stream img, lab;
	int rc;

	if (n_classes == 0 || n_classes > FL_MAX_CLASSES) {
		fl_log(FL_LOG_ERROR, "fl", "IDX: %u classes, expected 1 to %u", n_classes,
		       FL_MAX_CLASSES);
		return FL_EINVAL;
	}
	if ((rc = stream_open(&img, images_name, images, images_len)) != FL_OK)
		return rc;
	rc = stream_open(&lab, labels_name, labels, labels_len);
	if (rc == FL_OK)
		rc = idx_parse(out, &img, &lab, n_classes);
	stream_close(&lab);
	stream_close(&img);
	return rc;
}

int fl_idx_parse_buffer(fl_dataset *out, const uint8_t *images, size_t images_len,
			const uint8_t *labels, size_t labels_len, uint32_t n_classes)
{
	assert(out != NULL);
	assert(images != NULL || images_len == 0);
	assert(labels != NULL || labels_len == 0);
	memset(out, 0, sizeof(*out));
	return idx_parse_named(out, "IDX images", images, images_len, "IDX labels", labels,
			       labels_len, n_classes);
}

int fl_dataset_load_idx(fl_dataset *out, const char *images_path, const char *labels_path,
			uint32_t n_classes)
{
	uint8_t *images = NULL, *labels = NULL;
	size_t images_len, labels_len;
	const char *failed;
	int rc;

	assert(out != NULL && images_path != NULL && labels_path != NULL);
	memset(out, 0, sizeof(*out));
	failed = images_path;
	if ((rc = fl_file_read(images_path, &images, &images_len, FL_IDX_MAX_FILE)) != FL_OK)
		goto cleanup;
	failed = labels_path;
	if ((rc = fl_file_read(labels_path, &labels, &labels_len, FL_IDX_MAX_FILE)) != FL_OK)
		goto cleanup;
	failed = NULL;
	rc = idx_parse_named(out, images_path, images, images_len, labels_path, labels, labels_len,
			     n_classes);

cleanup:
	if (rc != FL_OK && failed != NULL)
		fl_log(FL_LOG_ERROR, "fl", "%s: %s", failed, fl_strerror(rc));
	fl_free(images);
	fl_free(labels);
	return rc;
}
