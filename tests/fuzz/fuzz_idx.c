/*
 * fuzz_idx — the IDX parser (fl_idx_parse_buffer, behind
 * fl_dataset_load_idx) on an images and a labels file cut from the input:
 *
 *   u8 n_classes − 1 | u16 LE images length | images | labels
 *
 * Beyond "never crash or over-allocate", it checks what a success
 * promises: the header's dimensions within their limits, every label below
 * n_classes, every pixel k/255, and for raw input files that re-encoding
 * the dataset gives back exactly the bytes read.
 */
#include "fl/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_gzip(const uint8_t *p, size_t n)
{
	return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *images, *labels;
	size_t images_len, labels_len;
	uint32_t n_classes, rows, cols;
	fl_dataset d;
	int rc;

	if (size < 3)
		return 0;
	fl_log_set_level(FL_LOG_OFF);
	n_classes = (uint32_t)data[0] + 1;
	images_len = (size_t)data[1] | (size_t)data[2] << 8;
	images = data + 3;
	if (images_len > size - 3)
		images_len = size - 3;
	labels = images + images_len;
	labels_len = size - 3 - images_len;

	rc = fl_idx_parse_buffer(&d, images, images_len, labels, labels_len, n_classes);
	if (rc != FL_OK) {
		check(rc == FL_ECORRUPT || rc == FL_ETOOBIG || rc == FL_ENOMEM);
		check(d.x == NULL && d.y == NULL && d.n == 0);
		return 0;
	}
	check(d.n >= 1 && d.dim >= 1 && d.dim <= FL_MAX_WIDTH && d.n_classes == n_classes);
	check((uint64_t)d.n * d.dim <= FL_IDX_MAX_PIXELS);
	check(sscanf(d.data_type, "image/%ux%ux1", &rows, &cols) == 2);
	check((uint64_t)rows * cols == d.dim);
	for (size_t i = 0; i < d.n; i++)
		check(d.y[i] < n_classes);
	for (size_t i = 0; i < d.n * d.dim; i++) {
		float k = d.x[i] * 255.0f + 0.5f;
		check(d.x[i] >= 0.0f && d.x[i] <= 1.0f);
		check(d.x[i] == (float)(int)k / 255.0f);
	}
	if (!is_gzip(images, images_len)) {
		check(images_len == 16 + d.n * d.dim);
		check(be32(images) == 0x00000803 && be32(images + 4) == d.n);
		check(be32(images + 8) == rows && be32(images + 12) == cols);
		for (size_t i = 0; i < d.n * d.dim; i++)
			check(images[16 + i] == (uint8_t)(int)(d.x[i] * 255.0f + 0.5f));
	}
	if (!is_gzip(labels, labels_len)) {
		check(labels_len == 8 + d.n);
		check(be32(labels) == 0x00000801 && be32(labels + 4) == d.n);
		for (size_t i = 0; i < d.n; i++)
			check(labels[8 + i] == d.y[i]);
	}
	fl_dataset_free(&d);
	return 0;
}
