/*
 * fl/dp.c — the Gaussian mechanism on an update (design.md §7): clip its L2
 * norm to C, then add N(0, (z·C)²) to every coordinate. The accountant that
 * turns (z, rounds) into epsilon is rdp.c.
 */
#include "fl/internal.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* Sequential double sum: the same norm on every machine (the build keeps
 * -ffp-contract=off, so no fused multiply-adds creep in). */
static double l2_norm(const float *v, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (double)v[i] * v[i];
	return sqrt(sum);
}

/*
 * The DP guarantee needs the clipped norm at most C, not "C up to float
 * rounding": if rounding the scaled values to float lands the norm above C,
 * the vector is scaled again by a factor a float epsilon smaller. One extra
 * pass is common, a third rare.
 */
double fl_dp_clip(float *delta, size_t n, double clip)
{
	double norm, after, scale;

	assert((delta != NULL || n == 0) && clip > 0);
	norm = l2_norm(delta, n);
	if (!(norm > clip))
		return norm;
	scale = clip / norm;
	after = norm;
	for (int tries = 0; tries < 64 && after > clip; tries++) {
		for (size_t i = 0; i < n; i++)
			delta[i] = (float)(delta[i] * scale);
		after = l2_norm(delta, n);
		/* Shrinking by one float epsilon moves every nonzero value by at
		 * least one ulp, so each further pass makes progress. */
		scale = clip / after * (1 - FLT_EPSILON);
	}
	return norm;
}

void fl_dp_noise(float *delta, size_t n, double stddev, fl_rng *rng)
{
	assert((delta != NULL || n == 0) && rng != NULL && stddev >= 0);
	if (stddev == 0)
		return;
	for (size_t i = 0; i < n; i++)
		delta[i] = (float)((double)delta[i] + stddev * fl_rng_gauss(rng));
}

int fl_dp_update(fl_update *u, fl_model *local, const fl_model *base, uint64_t n_samples,
		 double clip, double z, fl_rng *rng)
{
	float *delta;
	size_t n;

	assert(u != NULL && local != NULL && base != NULL && rng != NULL && clip > 0 && z >= 0);
	memset(u, 0, sizeof(*u));
	if (!fl_spec_equal(&local->spec, &base->spec) || local->n_params != base->n_params)
		return FL_EINVAL;
	n = local->n_params;
	delta = local->params;
	for (size_t i = 0; i < n; i++)
		delta[i] -= base->params[i];
	fl_dp_clip(delta, n, clip);
	fl_dp_noise(delta, n, z * clip, rng);
	u->q = fl_malloc(n * sizeof(*u->q));
	if (u->q == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		u->q[i] = fl_fixed_from_float(delta[i]);
	u->spec = local->spec;
	u->n = n;
	u->n_samples = n_samples;
	return FL_OK;
}
