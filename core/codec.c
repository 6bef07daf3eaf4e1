/*
 * core/codec.c — the canonical binary codec (design.md §4).
 *
 * Every value has exactly one encoding, so the hash of a thing is the hash of
 * its encoding: the reader rejects anything the writer would not produce
 * (overlong varints, booleans other than 0/1, non-printable strings).
 * Errors are sticky in both directions; see core.h.
 */
#include "core/core.h"

#include <assert.h>
#include <string.h>

#define WRITER_DEFAULT_MAX ((size_t)64 << 20)
#define VARINT_MAX_LEN     10

/* ------------------------------------------------------------------ writer */

void fl_writer_init(fl_writer *w, size_t max)
{
	assert(w != NULL);
	w->buf = NULL;
	w->len = 0;
	w->cap = 0;
	w->max = max ? max : WRITER_DEFAULT_MAX;
	w->err = FL_OK;
}

void fl_writer_free(fl_writer *w)
{
	assert(w != NULL);
	fl_free(w->buf);
	w->buf = NULL;
	w->len = 0;
	w->cap = 0;
}

static int writer_fail(fl_writer *w, int err)
{
	w->err = err;
	return err;
}

/* Makes room for n more bytes, doubling but never past w->max (curl's
 * dynbuf "toobig"): an encoder bug cannot eat all memory. */
static int writer_reserve(fl_writer *w, size_t n)
{
	size_t need, cap;
	uint8_t *grown;

	if (w->err != FL_OK)
		return w->err;
	if (n > w->max - w->len)
		return writer_fail(w, FL_ETOOBIG);
	need = w->len + n;
	if (need <= w->cap)
		return FL_OK;
	cap = w->cap ? w->cap : 64;
	while (cap < need)
		cap = cap > w->max / 2 ? w->max : cap * 2;
	if (cap > w->max)
		cap = w->max;
	grown = fl_realloc(w->buf, cap);
	if (grown == NULL)
		return writer_fail(w, FL_ENOMEM);
	w->buf = grown;
	w->cap = cap;
	return FL_OK;
}

static int writer_put(fl_writer *w, const void *p, size_t n)
{
	int rc = writer_reserve(w, n);

	if (rc != FL_OK)
		return rc;
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
	return FL_OK;
}

/* Little-endian whatever the host order. */
static int writer_put_le(fl_writer *w, uint64_t v, size_t width)
{
	uint8_t b[8];

	for (size_t i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return writer_put(w, b, width);
}

int fl_write_u8(fl_writer *w, uint8_t v)
{
	assert(w != NULL);
	return writer_put(w, &v, 1);
}

int fl_write_bool(fl_writer *w, int v)
{
	assert(w != NULL);
	return fl_write_u8(w, v ? 1 : 0);
}

int fl_write_u16(fl_writer *w, uint16_t v)
{
	assert(w != NULL);
	return writer_put_le(w, v, 2);
}

int fl_write_u32(fl_writer *w, uint32_t v)
{
	assert(w != NULL);
	return writer_put_le(w, v, 4);
}

int fl_write_u64(fl_writer *w, uint64_t v)
{
	assert(w != NULL);
	return writer_put_le(w, v, 8);
}

int fl_write_i64(fl_writer *w, int64_t v)
{
	assert(w != NULL);
	/* Two's complement; the conversion to unsigned is defined by C. */
	return writer_put_le(w, (uint64_t)v, 8);
}

int fl_write_varint(fl_writer *w, uint64_t v)
{
	uint8_t b[VARINT_MAX_LEN];
	size_t n = 0;

	assert(w != NULL);
	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	return writer_put(w, b, n);
}

int fl_write_fixed(fl_writer *w, const void *p, size_t n)
{
	assert(w != NULL && (p != NULL || n == 0));
	return writer_put(w, p, n);
}

int fl_write_bytes(fl_writer *w, const void *p, size_t n, size_t max)
{
	int rc;

	assert(w != NULL && (p != NULL || n == 0));
	if (w->err != FL_OK)
		return w->err;
	if (n > max)
		return writer_fail(w, FL_ETOOBIG);
	if ((rc = fl_write_varint(w, n)) != FL_OK)
		return rc;
	return writer_put(w, p, n);
}

static int printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	}
	return 1;
}

int fl_write_str(fl_writer *w, const char *s, size_t max)
{
	size_t n;

	assert(w != NULL && s != NULL);
	if (w->err != FL_OK)
		return w->err;
	n = strlen(s);
	/* Never write what fl_read_str would refuse. */
	if (!printable((const uint8_t *)s, n))
		return writer_fail(w, FL_EINVAL);
	return fl_write_bytes(w, s, n, max);
}

int fl_writer_finish(fl_writer *w)
{
	assert(w != NULL);
	return w->err;
}

/* ------------------------------------------------------------------ reader */

void fl_reader_init(fl_reader *r, const void *p, size_t len)
{
	assert(r != NULL && (p != NULL || len == 0));
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->err = FL_OK;
}

static int reader_fail(fl_reader *r, int err)
{
	r->err = err;
	return err;
}

/* Points at the next n bytes and consumes them, or fails FL_ETRUNC. */
static int reader_take(fl_reader *r, const uint8_t **p, size_t n)
{
	if (r->err != FL_OK)
		return r->err;
	if (n > r->len - r->pos)
		return reader_fail(r, FL_ETRUNC);
	*p = r->p + r->pos;
	r->pos += n;
	return FL_OK;
}

static int reader_get_le(fl_reader *r, uint64_t *v, size_t width)
{
	const uint8_t *b;
	int rc;

	*v = 0;
	if ((rc = reader_take(r, &b, width)) != FL_OK)
		return rc;
	for (size_t i = 0; i < width; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return FL_OK;
}

int fl_read_u8(fl_reader *r, uint8_t *v)
{
	uint64_t x;
	int rc;

	assert(r != NULL && v != NULL);
	rc = reader_get_le(r, &x, 1);
	*v = (uint8_t)x;
	return rc;
}

int fl_read_bool(fl_reader *r, int *v)
{
	uint8_t b;
	int rc;

	assert(r != NULL && v != NULL);
	*v = 0;
	if ((rc = fl_read_u8(r, &b)) != FL_OK)
		return rc;
	if (b > 1)
		return reader_fail(r, FL_ENONCANON);
	*v = b;
	return FL_OK;
}

int fl_read_u16(fl_reader *r, uint16_t *v)
{
	uint64_t x;
	int rc;

	assert(r != NULL && v != NULL);
	rc = reader_get_le(r, &x, 2);
	*v = (uint16_t)x;
	return rc;
}

int fl_read_u32(fl_reader *r, uint32_t *v)
{
	uint64_t x;
	int rc;

	assert(r != NULL && v != NULL);
	rc = reader_get_le(r, &x, 4);
	*v = (uint32_t)x;
	return rc;
}

int fl_read_u64(fl_reader *r, uint64_t *v)
{
	assert(r != NULL && v != NULL);
	return reader_get_le(r, v, 8);
}

int fl_read_i64(fl_reader *r, int64_t *v)
{
	uint64_t x;
	int rc;

	assert(r != NULL && v != NULL);
	rc = reader_get_le(r, &x, 8);
	/* Implementation-defined before C23, two's complement on every target
	 * we build for (gcc and clang document it). */
	*v = (int64_t)x;
	return rc;
}

int fl_read_varint(fl_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	assert(r != NULL && v != NULL);
	*v = 0;
	for (size_t i = 0;; i++) {
		const uint8_t *b;
		int rc;

		if (i == VARINT_MAX_LEN)
			return reader_fail(r, FL_ENONCANON);
		if ((rc = reader_take(r, &b, 1)) != FL_OK)
			return rc;
		/* The tenth byte holds bit 63 only; more would not fit in 64 bits. */
		if (i == VARINT_MAX_LEN - 1 && (*b & 0x7f) > 1)
			return reader_fail(r, FL_EOVERFLOW);
		x |= (uint64_t)(*b & 0x7f) << (7 * i);
		if ((*b & 0x80) == 0) {
			/* A zero last byte after others is the overlong form of a
			 * shorter encoding (e.g. 0x80 0x00 for 0). */
			if (*b == 0 && i > 0)
				return reader_fail(r, FL_ENONCANON);
			break;
		}
	}
	*v = x;
	return FL_OK;
}

int fl_read_count(fl_reader *r, size_t *n, size_t max)
{
	uint64_t v;
	int rc;

	assert(r != NULL && n != NULL);
	*n = 0;
	if ((rc = fl_read_varint(r, &v)) != FL_OK)
		return rc;
	if (v > max)
		return reader_fail(r, FL_ETOOBIG);
	*n = (size_t)v;
	return FL_OK;
}

int fl_read_fixed(fl_reader *r, void *out, size_t n)
{
	const uint8_t *b;
	int rc;

	assert(r != NULL && (out != NULL || n == 0));
	if ((rc = reader_take(r, &b, n)) != FL_OK) {
		if (n > 0)
			memset(out, 0, n);
		return rc;
	}
	if (n > 0)
		memcpy(out, b, n);
	return FL_OK;
}

int fl_read_bytes(fl_reader *r, const uint8_t **p, size_t *n, size_t max)
{
	size_t len;
	int rc;

	assert(r != NULL && p != NULL && n != NULL);
	*p = NULL;
	*n = 0;
	if ((rc = fl_read_count(r, &len, max)) != FL_OK)
		return rc;
	if ((rc = reader_take(r, p, len)) != FL_OK) {
		*p = NULL;
		return rc;
	}
	*n = len;
	return FL_OK;
}

int fl_read_str(fl_reader *r, char *out, size_t max)
{
	const uint8_t *p;
	size_t n;
	int rc;

	assert(r != NULL && out != NULL);
	out[0] = '\0';
	if ((rc = fl_read_bytes(r, &p, &n, max)) != FL_OK)
		return rc;
	if (!printable(p, n))
		return reader_fail(r, FL_ENONCANON);
	memcpy(out, p, n);
	out[n] = '\0';
	return FL_OK;
}

int fl_reader_finish(fl_reader *r)
{
	assert(r != NULL);
	if (r->err != FL_OK)
		return r->err;
	if (r->pos != r->len)
		return reader_fail(r, FL_ETRAILING);
	return FL_OK;
}

size_t fl_reader_remaining(const fl_reader *r)
{
	assert(r != NULL);
	return r->len - r->pos;
}
