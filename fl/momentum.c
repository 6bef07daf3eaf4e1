/*
 * fl/momentum.c — FedAvgM server momentum (Hsu, Qi, Brown, 2019) in fixed
 * point: v = round(beta·v) + delta, saturated to ±FL_FIXED_MAX, so every
 * validator carries the same velocity from round to round.
 */
#include "fl/internal.h"

#include <assert.h>

#define PPM 1000000

int fl_server_momentum(int32_t *v, const int32_t *delta, size_t n, uint32_t beta_ppm)
{
	assert(n == 0 || (v != NULL && delta != NULL));
	/* beta > 1 would make the velocity grow without bound. */
	if (beta_ppm > PPM)
		return FL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		/* |beta_ppm·v| < 2^20·2^31: int64 is plenty. */
		int64_t t = fl_div_round((int64_t)beta_ppm * v[i], PPM) + delta[i];

		if (t > FL_FIXED_MAX)
			t = FL_FIXED_MAX;
		if (t < -FL_FIXED_MAX)
			t = -FL_FIXED_MAX;
		v[i] = (int32_t)t;
	}
	return FL_OK;
}
