/*
 * fl/dp.c — the Gaussian mechanism on an update (design.md §7): clip its L2
 * norm to C, then add N(0, (z·C)²) to every coordinate. The accountant that
 * turns (z, rounds) into epsilon is rdp.c.
 */
#include "fl/internal.h"

#include <assert.h>
#include <float.h>
#include <math.h>

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
