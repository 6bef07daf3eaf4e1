/*
 * fl/csv.c — the strict CSV reader: one sample a line, the label (a decimal
 * integer below n_classes) first, then the features as decimal numbers.
 * Every line has the same number of columns; the first line may instead be
 * a header, recognised by a first field that is not a number. No quoting, no
 * spaces around fields, no empty lines; "\r\n" endings and a missing final
 * newline are accepted.
 *
 * Two passes over the text: the first checks the shape and counts the rows,
 * so the arrays are allocated once, sized by what the text really holds.
 */
#include "fl/internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows are indexed by uint32 everywhere in fl/ (partitions, subsets). */
#define CSV_MAX_ROWS ((size_t)1 << 26)

struct csv_cursor {
	const char *name;
	const char *text;
	size_t len;
	size_t pos;
	size_t line_no; /* 1-based number of the line last returned */
};

/* The next line without its "\n" or "\r\n": 1 if there is one, 0 at the
 * end of the text, FL_EPARSE for an overlong line or a NUL byte. */
static int next_line(struct csv_cursor *c, const char **line, size_t *n)
{
	const char *start = c->text + c->pos, *nl;
	size_t left = c->len - c->pos, k;

	if (left == 0)
		return 0;
	c->line_no++;
	nl = memchr(start, '\n', left);
	k = nl != NULL ? (size_t)(nl - start) : left;
	c->pos += nl != NULL ? k + 1 : k;
	if (k > 0 && start[k - 1] == '\r')
		k--;
	if (k > FL_CSV_MAX_LINE) {
		fl_log(FL_LOG_ERROR, "fl", "%s:%zu: line longer than %zu bytes", c->name,
		       c->line_no, FL_CSV_MAX_LINE);
		return FL_EPARSE;
	}
	if (memchr(start, '\0', k) != NULL) {
		fl_log(FL_LOG_ERROR, "fl", "%s:%zu: NUL byte in the line", c->name, c->line_no);
		return FL_EPARSE;
	}
	*line = start;
	*n = k;
	return 1;
}

static size_t count_columns(const char *line, size_t n)
{
	size_t cols = 1;

	for (size_t i = 0; i < n; i++)
		cols += line[i] == ',';
	return cols;
}

/* The field that starts at line[*at], ending at the next comma or at the
 * end of the line; *at moves past its comma. */
static void next_field(const char *line, size_t n, size_t *at, const char **field, size_t *len)
{
	const char *comma = memchr(line + *at, ',', n - *at);
	size_t k = comma != NULL ? (size_t)(comma - (line + *at)) : n - *at;

	*field = line + *at;
	*len = k;
	*at += comma != NULL ? k + 1 : k;
}

/*
 * A finite decimal number, all of the field: strtof alone would accept
 * leading spaces, "inf", "nan" and hex floats, so the characters are checked
 * first. strtof is locale-dependent; fl/ never calls setlocale, so the
 * decimal point is '.'.
 */
static int parse_float(const char *field, size_t len, float *out)
{
	char buf[FL_CSV_MAX_FIELD + 1];
	char *end;
	float v;

	if (len == 0 || len > FL_CSV_MAX_FIELD)
		return FL_EPARSE;
	for (size_t i = 0; i < len; i++) {
		char ch = field[i];
		if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '+' ||
		      ch == 'e' || ch == 'E'))
			return FL_EPARSE;
	}
	memcpy(buf, field, len);
	buf[len] = '\0';
	v = strtof(buf, &end);
	if (end != buf + len || !isfinite(v))
		return FL_EPARSE;
	*out = v;
	return FL_OK;
}

static int parse_label(const char *field, size_t len, uint32_t n_classes, uint16_t *out)
{
	char buf[FL_CSV_MAX_FIELD + 1];
	uint64_t v;

	if (len == 0 || len > FL_CSV_MAX_FIELD)
		return FL_EPARSE;
	memcpy(buf, field, len);
	buf[len] = '\0';
	if (fl_parse_u64(buf, &v) != FL_OK || v >= n_classes)
		return FL_EPARSE;
	*out = (uint16_t)v;
	return FL_OK;
}

/* First pass: the number of columns and rows, and whether line 1 is a
 * header. */
static int csv_scan(struct csv_cursor *c, size_t *cols, size_t *rows, int *header)
{
	const char *line, *field;
	size_t n, len, at = 0;
	float ignored;
	int r;

	*cols = 0;
	*rows = 0;
	*header = 0;
	while ((r = next_line(c, &line, &n)) > 0) {
		size_t k;

		if (n == 0) {
			fl_log(FL_LOG_ERROR, "fl", "%s:%zu: empty line", c->name, c->line_no);
			return FL_EPARSE;
		}
		k = count_columns(line, n);
		if (c->line_no == 1) {
			if (k < 2 || k - 1 > FL_MAX_WIDTH) {
				fl_log(FL_LOG_ERROR, "fl",
				       "%s:1: %zu columns; expected a label and 1 to %u features",
				       c->name, k, FL_MAX_WIDTH);
				return FL_EPARSE;
			}
			*cols = k;
			next_field(line, n, &at, &field, &len);
			if (parse_float(field, len, &ignored) != FL_OK) {
				*header = 1;
				continue;
			}
		} else if (k != *cols) {
			fl_log(FL_LOG_ERROR, "fl", "%s:%zu: %zu columns, line 1 has %zu", c->name,
			       c->line_no, k, *cols);
			return FL_EPARSE;
		}
		if (++*rows > CSV_MAX_ROWS) {
			fl_log(FL_LOG_ERROR, "fl", "%s:%zu: more than %zu samples", c->name,
			       c->line_no, CSV_MAX_ROWS);
			return FL_EPARSE;
		}
	}
	if (r < 0)
		return r;
	if (*rows == 0) {
		fl_log(FL_LOG_ERROR, "fl", "%s: no samples", c->name);
		return FL_EPARSE;
	}
	return FL_OK;
}

/* Second pass: the values of one row that the scan has shaped. */
static int csv_row(struct csv_cursor *c, const char *line, size_t n, size_t dim, uint32_t n_classes,
		   float *x, uint16_t *y)
{
	const char *field;
	size_t len, at = 0;

	next_field(line, n, &at, &field, &len);
	if (parse_label(field, len, n_classes, y) != FL_OK) {
		fl_log(FL_LOG_ERROR, "fl", "%s:%zu: label '%.*s' is not an integer below %u",
		       c->name, c->line_no, (int)(len < 32 ? len : 32), field, n_classes);
		return FL_EPARSE;
	}
	for (size_t j = 0; j < dim; j++) {
		next_field(line, n, &at, &field, &len);
		if (parse_float(field, len, &x[j]) != FL_OK) {
			fl_log(FL_LOG_ERROR, "fl", "%s:%zu: column %zu: '%.*s' is not a number",
			       c->name, c->line_no, j + 2, (int)(len < 32 ? len : 32), field);
			return FL_EPARSE;
		}
	}
	return FL_OK;
}

int fl_csv_parse_buffer(fl_dataset *out, const char *text, size_t len, uint32_t n_classes,
			const char *name)
{
	struct csv_cursor c = {.name = name, .text = text, .len = len};
	size_t cols, rows, dim, row = 0, n;
	float *x = NULL;
	uint16_t *y = NULL;
	const char *line;
	int header, r, rc;

	assert(out != NULL && name != NULL && (text != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	if (n_classes == 0 || n_classes > FL_MAX_CLASSES) {
		fl_log(FL_LOG_ERROR, "fl", "%s: %u classes, expected 1 to %u", name, n_classes,
		       FL_MAX_CLASSES);
		return FL_EINVAL;
	}
	if ((rc = csv_scan(&c, &cols, &rows, &header)) != FL_OK)
		return rc;
	dim = cols - 1;
	/* Each feature took at least its comma of the text, so this
	 * allocation is bounded by the input's length. */
	x = fl_malloc(rows * dim * sizeof(*x));
	y = fl_malloc(rows * sizeof(*y));
	if (x == NULL || y == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	c.pos = 0;
	c.line_no = 0;
	while ((r = next_line(&c, &line, &n)) > 0) {
		if (header && c.line_no == 1)
			continue;
		if ((rc = csv_row(&c, line, n, dim, n_classes, x + row * dim, y + row)) != FL_OK)
			goto cleanup;
		row++;
	}
	assert(r == 0 && row == rows);

	out->n = rows;
	out->dim = (uint32_t)dim;
	out->n_classes = n_classes;
	out->x = x;
	out->y = y;
	snprintf(out->data_type, sizeof(out->data_type), "tabular/%zu", dim);
	x = NULL;
	y = NULL;
	rc = FL_OK;

cleanup:
	fl_free(x);
	fl_free(y);
	return rc;
}

int fl_dataset_load_csv(fl_dataset *out, const char *path, uint32_t n_classes)
{
	uint8_t *text = NULL;
	size_t len;
	int rc;

	assert(out != NULL && path != NULL);
	memset(out, 0, sizeof(*out));
	if ((rc = fl_file_read(path, &text, &len, FL_CSV_MAX_FILE)) != FL_OK) {
		fl_log(FL_LOG_ERROR, "fl", "%s: %s", path, fl_strerror(rc));
		return rc;
	}
	rc = fl_csv_parse_buffer(out, (const char *)text, len, n_classes, path);
	fl_free(text);
	return rc;
}
