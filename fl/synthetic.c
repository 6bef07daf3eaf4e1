/*
 * fl/synthetic.c — Gaussian blobs for tests: one centre per class, drawn
 * uniformly from a cube and kept at least MIN_GAP apart, and samples that are
 * their class centre plus N(0, NOISE²) per feature. With MIN_GAP = 8·NOISE
 * the best classifier between any two classes errs with probability
 * Φ(−4) ≈ 3·10⁻⁵, so a model that learns is told apart from one that does
 * not.
 */
#include "fl/fl.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NOISE   0.25
#define MIN_GAP 2.0
/* Draws of a centre before the cube grows: in few dimensions, many classes
 * may not fit in the first cube at that distance. */
#define CENTRE_TRIES         64
#define SYNTHETIC_MAX_VALUES ((size_t)1 << 28)

static double distance2(const double *a, const double *b, size_t dim)
{
	double s = 0.0;

	for (size_t j = 0; j < dim; j++)
		s += (a[j] - b[j]) * (a[j] - b[j]);
	return s;
}

static void draw_centres(double *centres, size_t dim, uint32_t n_classes, fl_rng *rng)
{
	double half = 1.0;

	for (uint32_t c = 0; c < n_classes; c++) {
		double *mine = centres + (size_t)c * dim;
		int tries = 0, clear;

		do {
			if (++tries > CENTRE_TRIES) {
				half *= 1.25;
				tries = 1;
			}
			for (size_t j = 0; j < dim; j++)
				mine[j] = half * (2.0 * fl_rng_uniform(rng) - 1.0);
			clear = 1;
			for (uint32_t o = 0; o < c && clear; o++)
				clear = distance2(mine, centres + (size_t)o * dim, dim) >=
					MIN_GAP * MIN_GAP;
		} while (!clear);
	}
}

int fl_dataset_synthetic(fl_dataset *out, size_t n, uint32_t dim, uint32_t n_classes, uint64_t seed)
{
	double *centres = NULL;
	float *x = NULL;
	uint16_t *y = NULL;
	fl_rng rng;
	int rc;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	if (n == 0 || n > UINT32_MAX || dim == 0 || dim > FL_MAX_WIDTH || n_classes == 0 ||
	    n_classes > FL_MAX_CLASSES)
		return FL_EINVAL;
	if (n > SYNTHETIC_MAX_VALUES / dim)
		return FL_ETOOBIG;
	centres = fl_malloc((size_t)n_classes * dim * sizeof(*centres));
	x = fl_malloc(n * dim * sizeof(*x));
	y = fl_malloc(n * sizeof(*y));
	if (centres == NULL || x == NULL || y == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	/* The stream is used in a fixed order (centres, label shuffle, noise),
	 * so (n, dim, n_classes, seed) always give the same bytes. */
	fl_rng_seed(&rng, seed);
	draw_centres(centres, dim, n_classes, &rng);
	/* Balanced classes in a random order. */
	for (size_t i = 0; i < n; i++)
		y[i] = (uint16_t)(i % n_classes);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = fl_rng_below(&rng, (uint32_t)(i + 1));
		uint16_t t = y[i];
		y[i] = y[j];
		y[j] = t;
	}
	for (size_t i = 0; i < n; i++) {
		const double *c = centres + (size_t)y[i] * dim;
		for (size_t j = 0; j < dim; j++)
			x[i * dim + j] = (float)(c[j] + NOISE * fl_rng_gauss(&rng));
	}
	out->n = n;
	out->dim = dim;
	out->n_classes = n_classes;
	out->x = x;
	out->y = y;
	snprintf(out->data_type, sizeof(out->data_type), "tabular/%u", dim);
	x = NULL;
	y = NULL;
	rc = FL_OK;

cleanup:
	fl_free(centres);
	fl_free(x);
	fl_free(y);
	return rc;
}
