/*
 * fuzz_csv — the CSV parser (fl_csv_parse_buffer, behind
 * fl_dataset_load_csv) on text from the input: u8 n_classes − 1, then the
 * text. Beyond "never crash", it checks that a parsed dataset is well
 * formed and that writing it back with %.9g (enough digits for any float)
 * parses to the very same bits.
 */
#include "fl/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fl_dataset d, again;
	uint32_t n_classes;
	char *text, *at;
	size_t cap;
	int rc;

	if (size < 1)
		return 0;
	fl_log_set_level(FL_LOG_OFF);
	n_classes = (uint32_t)data[0] + 1;
	rc = fl_csv_parse_buffer(&d, (const char *)data + 1, size - 1, n_classes, "fuzz.csv");
	if (rc != FL_OK) {
		check(rc == FL_EPARSE || rc == FL_ENOMEM);
		check(d.x == NULL && d.y == NULL && d.n == 0);
		return 0;
	}
	check(d.n >= 1 && d.dim >= 1 && d.dim <= FL_MAX_WIDTH);
	for (size_t i = 0; i < d.n; i++)
		check(d.y[i] < n_classes);
	for (size_t i = 0; i < d.n * d.dim; i++)
		check(isfinite(d.x[i]));

	/* "%u" per label and "%.9g," per feature: at most 16 bytes each. */
	cap = d.n * (d.dim + 1) * 17 + 1;
	text = malloc(cap);
	check(text != NULL);
	at = text;
	for (size_t i = 0; i < d.n; i++) {
		at += sprintf(at, "%u", (unsigned)d.y[i]);
		for (size_t j = 0; j < d.dim; j++)
			at += sprintf(at, ",%.9g", (double)d.x[i * d.dim + j]);
		*at++ = '\n';
	}
	check((size_t)(at - text) < cap);
	rc = fl_csv_parse_buffer(&again, text, (size_t)(at - text), n_classes, "again.csv");
	check(rc == FL_OK || rc == FL_ENOMEM);
	if (rc == FL_OK) {
		check(again.n == d.n && again.dim == d.dim);
		check(strcmp(again.data_type, d.data_type) == 0);
		check(memcmp(again.y, d.y, d.n * sizeof(*d.y)) == 0);
		check(memcmp(again.x, d.x, d.n * d.dim * sizeof(*d.x)) == 0);
		fl_dataset_free(&again);
	}
	free(text);
	fl_dataset_free(&d);
	return 0;
}
