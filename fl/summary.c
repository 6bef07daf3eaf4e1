/*
 * fl/summary.c — what a member declares about its data (design.md §5): the
 * type, the label histogram and a coarse feature sketch. The sketch cuts the
 * feature vector into FL_SKETCH_DIM equal slices and reports, per slice, the
 * average over its features of each feature's mean and of each feature's
 * (population) variance, so it does not depend on the feature count beyond
 * the slicing. Sums are in double, in sample order: the same data gives the
 * same bytes.
 */
#include "fl/fl.h"

#include <assert.h>
#include <string.h>

int fl_data_summarize(fl_data_summary *out, const fl_dataset *d, const uint32_t *idx, size_t n)
{
	double *mean = NULL, *var = NULL;
	size_t count, dim;
	int rc;

	assert(out != NULL && d != NULL && (d->x != NULL || d->n == 0));
	memset(out, 0, sizeof(*out));
	count = idx != NULL ? n : d->n;
	dim = d->dim;
	if (count == 0 || d->n_classes == 0 || d->n_classes > FL_MAX_CLASSES)
		return FL_EINVAL;
	for (size_t i = 0; i < count; i++) {
		size_t s = idx != NULL ? idx[i] : i;
		if (s >= d->n || d->y[s] >= d->n_classes)
			return FL_EINVAL;
	}
	mean = fl_calloc(dim + 1, sizeof(*mean));
	var = fl_calloc(dim + 1, sizeof(*var));
	if (mean == NULL || var == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	/* Two passes (mean, then squared deviations): no cancellation from
	 * E[x²] − E[x]² on features with a large mean. */
	for (size_t i = 0; i < count; i++) {
		size_t s = idx != NULL ? idx[i] : i;
		const float *x = d->x + s * dim;

		out->label_counts[d->y[s]]++;
		for (size_t j = 0; j < dim; j++)
			mean[j] += x[j];
	}
	for (size_t j = 0; j < dim; j++)
		mean[j] /= (double)count;
	for (size_t i = 0; i < count; i++) {
		size_t s = idx != NULL ? idx[i] : i;
		const float *x = d->x + s * dim;

		for (size_t j = 0; j < dim; j++)
			var[j] += (x[j] - mean[j]) * (x[j] - mean[j]);
	}
	for (size_t k = 0; k < FL_SKETCH_DIM; k++) {
		size_t from = k * dim / FL_SKETCH_DIM, to = (k + 1) * dim / FL_SKETCH_DIM;
		double m = 0.0, v = 0.0;

		/* With fewer features than slices some slices are empty: 0. */
		if (from == to)
			continue;
		for (size_t j = from; j < to; j++) {
			m += mean[j];
			v += var[j] / (double)count;
		}
		out->mean[k] = (float)(m / (double)(to - from));
		out->var[k] = (float)(v / (double)(to - from));
	}
	memcpy(out->data_type, d->data_type, sizeof(out->data_type));
	out->data_type[FL_DATA_TYPE_MAX] = '\0';
	out->n_classes = d->n_classes;
	out->n = count;
	rc = FL_OK;

cleanup:
	fl_free(mean);
	fl_free(var);
	if (rc != FL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
