/*
 * chain/fields.c — field helpers shared by the chain codecs: identifiers,
 * printable text, label sets and summary vectors, and the sticky reader
 * error for checks that run after the bytes were read.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

int chain_id_valid(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

int chain_text_valid(const char *s, size_t min, size_t max)
{
	size_t n;

	assert(s != NULL);
	n = strnlen(s, max + 1);
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

int chain_labels_check(const uint16_t *labels, uint32_t n)
{
	assert(labels != NULL);
	if (n == 0 || n > CHAIN_MAX_LABELS)
		return FL_EINVAL;
	/* One order for a set: otherwise two encodings would mean the same thing. */
	for (uint32_t i = 1; i < n; i++)
		if (labels[i] <= labels[i - 1])
			return FL_ENONCANON;
	return FL_OK;
}

int chain_summary_check(const int32_t *summary, uint32_t n)
{
	assert(summary != NULL);
	if (n > CHAIN_SUMMARY_MAX)
		return FL_EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (summary[i] > CHAIN_SUMMARY_ABS_MAX || summary[i] < -CHAIN_SUMMARY_ABS_MAX)
			return FL_EINVAL;
	return FL_OK;
}

void chain_write_labels(fl_writer *w, const uint16_t *labels, uint32_t n)
{
	fl_write_varint(w, n);
	for (uint32_t i = 0; i < n && i < CHAIN_MAX_LABELS; i++)
		fl_write_u16(w, labels[i]);
}

int chain_read_labels(fl_reader *r, uint16_t *labels, uint32_t *n)
{
	size_t count = 0;
	int rc;

	if ((rc = fl_read_count(r, &count, CHAIN_MAX_LABELS)) != 0)
		return rc;
	for (size_t i = 0; i < count; i++)
		if ((rc = fl_read_u16(r, &labels[i])) != 0)
			return rc;
	*n = (uint32_t)count;
	return chain_reader_fail(r, chain_labels_check(labels, *n));
}

/* Write errors are sticky in w: the caller reads them at the end.
 * int32 travels as its two's complement in a u32. */
void chain_write_summary(fl_writer *w, const int32_t *summary, uint32_t n)
{
	fl_write_varint(w, n);
	for (uint32_t i = 0; i < n && i < CHAIN_SUMMARY_MAX; i++)
		fl_write_u32(w, (uint32_t)summary[i]);
}

int chain_read_summary(fl_reader *r, int32_t *summary, uint32_t *n)
{
	size_t count = 0;
	int rc;

	if ((rc = fl_read_count(r, &count, CHAIN_SUMMARY_MAX)) != 0)
		return rc;
	for (size_t i = 0; i < count; i++) {
		uint32_t u = 0;
		if ((rc = fl_read_u32(r, &u)) != 0)
			return rc;
		/* No implementation-defined conversion: map the top half down. */
		summary[i] = u <= INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
	}
	*n = (uint32_t)count;
	return chain_reader_fail(r, chain_summary_check(summary, *n));
}

int chain_reader_fail(fl_reader *r, int rc)
{
	if (rc != 0 && r->err == 0)
		r->err = rc;
	return rc;
}

int chain_writer_fail(fl_writer *w, int rc)
{
	if (rc != 0 && w->err == 0)
		w->err = rc;
	return rc;
}
