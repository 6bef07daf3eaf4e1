/* fl/dataset.c — copies of a dataset's samples, and its release. */
#include "fl/fl.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int fl_dataset_subset(fl_dataset *out, const fl_dataset *in, const uint32_t *idx, size_t n)
{
	float *x = NULL;
	uint16_t *y = NULL;
	size_t dim;
	int rc;

	assert(out != NULL && in != NULL && out != in && (idx != NULL || n == 0));
	memset(out, 0, sizeof(*out));
	dim = in->dim;
	for (size_t i = 0; i < n; i++) {
		if (idx[i] >= in->n)
			return FL_EINVAL;
	}
	if (dim != 0 && n >= SIZE_MAX / sizeof(*x) / dim)
		return FL_ETOOBIG;
	/* One spare element keeps an empty subset's arrays non-NULL. */
	x = fl_malloc((n * dim + 1) * sizeof(*x));
	y = fl_malloc((n + 1) * sizeof(*y));
	if (x == NULL || y == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(x + i * dim, in->x + (size_t)idx[i] * dim, dim * sizeof(*x));
		y[i] = in->y[idx[i]];
	}
	out->n = n;
	out->dim = in->dim;
	out->n_classes = in->n_classes;
	out->x = x;
	out->y = y;
	memcpy(out->data_type, in->data_type, sizeof(out->data_type));
	x = NULL;
	y = NULL;
	rc = FL_OK;

cleanup:
	fl_free(x);
	fl_free(y);
	return rc;
}

void fl_dataset_free(fl_dataset *d)
{
	if (d == NULL)
		return;
	fl_free(d->x);
	fl_free(d->y);
	memset(d, 0, sizeof(*d));
}
