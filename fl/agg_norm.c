/*
 * fl/agg_norm.c — norm bounding (Sun et al., "Can you really backdoor
 * federated learning?", 2019): an update whose L2 norm exceeds the bound is
 * scaled down to it before the weighted mean.
 *
 * The norm is floor(sqrt(Σ q²)) computed exactly (squares below 2^62, sums
 * below 2^88 in 128 bits), and agg_fedavg.c scales each value to
 * round(q·bound/norm), half away from zero: integers throughout.
 */
#include "fl/internal.h"

#include <math.h>

typedef struct {
	const fl_agg_job *job;
	fl_u128 *sq[FL_AGG_MAX_PARTS]; /* per part, per input */
} norm_ctx;

uint64_t fl_isqrt_u128(fl_u128 x)
{
	/* The double estimate is within a few units of the root (x < 2^128
	 * has a root below 2^64); the integer steps make it exact. */
	double est = sqrt((double)x);
	uint64_t s = est >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)est;

	while ((fl_u128)s * s > x)
		s--;
	while (s < UINT64_MAX && (fl_u128)(s + 1) * (s + 1) <= x)
		s++;
	return s;
}

/* Coordinates per block, so the full-block loop has a constant trip count
 * and -O2 vectorises it. */
#define BLOCK 4096

/* v², exactly: |v| <= 2^31 as a 32-bit unsigned, squared in 64 bits
 * (pmuludq under SSE2). */
static uint64_t square(int32_t v)
{
	uint32_t m = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;

	return (uint64_t)m * m;
}

/* Squares split into 32-bit halves summed separately: exact for blocks
 * below 2^32 values. */
static void full_block_squares(const int32_t *restrict q, uint64_t *lo, uint64_t *hi)
{
	uint64_t l = 0, h = 0;

	for (size_t k = 0; k < BLOCK; k++) {
		uint64_t sq = square(q[k]);

		l += (uint32_t)sq;
		h += sq >> 32;
	}
	*lo += l;
	*hi += h;
}

static void norm_range(void *arg, size_t lo, size_t hi, unsigned part)
{
	const norm_ctx *c = arg;
	const fl_agg_job *job = c->job;

	for (size_t i = 0; i < job->n; i++) {
		const int32_t *q = job->u[i]->q;
		fl_u128 total = 0;

		for (size_t b = lo; b < hi; b += BLOCK) {
			uint64_t sum_lo = 0, sum_hi = 0;

			if (hi - b >= BLOCK) {
				full_block_squares(q + b, &sum_lo, &sum_hi);
			} else {
				for (size_t k = b; k < hi; k++) {
					uint64_t sq = square(q[k]);

					sum_lo += (uint32_t)sq;
					sum_hi += sq >> 32;
				}
			}
			total += ((fl_u128)sum_hi << 32) + sum_lo;
		}
		c->sq[part][i] = total;
	}
}

int fl_agg_norm_scales(uint64_t *num, uint64_t *den, const fl_agg_job *job, uint64_t bound)
{
	norm_ctx c = {.job = job};
	int rc = FL_ENOMEM;

	for (unsigned k = 0; k < job->parts; k++)
		if ((c.sq[k] = fl_calloc(job->n, sizeof(fl_u128))) == NULL)
			goto cleanup;
	fl_agg_run(job->n_params, job->parts, norm_range, &c);
	for (size_t i = 0; i < job->n; i++) {
		fl_u128 total = 0;
		uint64_t norm;

		for (unsigned k = 0; k < job->parts; k++)
			total += c.sq[k][i];
		norm = fl_isqrt_u128(total);
		num[i] = norm > bound ? bound : 0;
		den[i] = norm > bound ? norm : 0;
	}
	rc = FL_OK;
cleanup:
	for (unsigned k = 0; k < job->parts; k++)
		fl_free(c.sq[k]);
	return rc;
}
