/*
 * fl/agg_fedavg.c — the weighted mean behind FedAvg, Multi-Krum and norm
 * bounding: out = round(Σ w_i·q_i / Σ w_i), half away from zero, with the
 * numerator exact.
 *
 * Three exact paths, chosen by W = Σ w_i (|q| <= 2^31, w_i < 2^31):
 *   - W < 2^21 (the usual case: weights are sample counts): every product
 *     and partial sum is an integer below 2^52, which a double holds
 *     exactly, so the sum is computed in doubles (vectorised; any order
 *     gives the same exact value) and the quotient by fl_quotient_exact
 *     (fl/internal.h);
 *   - W < 2^32: the numerator is below W·2^31 < 2^63: int64;
 *   - otherwise 128-bit integers.
 * All three give the same integers; tests/fl/test_aggregate.c checks each
 * path against the formula. A mean of 2^31-bounded integers rounds to a
 * 2^31-bounded integer, so the result always fits int32.
 */
#include "fl/internal.h"

#include <string.h>

/* Coordinates per block: the accumulators (and a scaled copy of one input)
 * stay in L1/L2 while every input streams through once. */
#define BLOCK 2048

/* Below this weight sum the double path is exact (see the top). */
#define EXACT_DOUBLE_W ((uint64_t)1 << 21)

typedef struct {
	fl_i128 wide[BLOCK];
	int64_t acc[BLOCK];
	double dacc[BLOCK];
	int32_t scaled[BLOCK];
} scratch;

typedef struct {
	const fl_agg_job *job;
	uint64_t w_sum;
	scratch *s[FL_AGG_MAX_PARTS];
} mean_ctx;

/* round(q·num/den), half away from zero, in integers; num < den keeps it
 * within |q|. */
static int32_t scale_value_exact(int32_t q, uint64_t num, uint64_t den)
{
	uint64_t m = q < 0 ? 0 - (uint64_t)(int64_t)q : (uint64_t)q;
	uint64_t r;

	if (num < ((uint64_t)1 << 33)) {
		r = fl_udiv_round(m * num, den); /* m <= 2^31: no overflow */
	} else {
		fl_u128 p = (fl_u128)m * num;
		fl_u128 qq = p / den, rem = p % den;

		r = (uint64_t)(qq + (rem >= den - rem));
	}
	/* r <= 2^31, and equals it only for q = INT32_MIN: negate in 64 bits. */
	return (int32_t)(q < 0 ? -(int64_t)r : (int64_t)r);
}

/*
 * The same value without a division in the common case: t = q·(num/den) in
 * doubles is within |t|·2^-51 <= 2^-20 of the exact quotient (three
 * roundings of relative size 2^-53, |t| < 2^31). Rounding t gives the exact
 * answer unless the exact quotient could lie on the other side of a
 * half-integer, i.e. unless t is within that error of one; those rare
 * values are recomputed in integers. The result is the exact rounded
 * quotient either way, on every machine. The nearest integer comes from
 * adding and removing 2^52 (exact for |t| < 2^51 in round-to-nearest), which
 * keeps the loop free of float-integer conversions and their dependencies.
 */
static int32_t scale_value(int32_t q, uint64_t num, uint64_t den, double ratio)
{
	const double shift = 0x1p52;
	double t = (double)q * ratio;
	double a = __builtin_fabs(t);
	double r = (a + shift) - shift;

	if (__builtin_fabs(a - r) < 0.5 - 0x1p-18)
		return (int32_t)__builtin_copysign(r, t);
	return scale_value_exact(q, num, den);
}

/* Input i's values at [lo, lo+len), scaled if norm bounding says so. */
static const int32_t *input_block(const fl_agg_job *job, size_t i, size_t lo, size_t len,
				  int32_t *scaled)
{
	const int32_t *q = job->u[i]->q + lo;

	uint64_t num, den;
	double ratio;

	if (job->scale_den == NULL || job->scale_den[i] == 0)
		return q;
	num = job->scale_num[i];
	den = job->scale_den[i];
	ratio = (double)num / (double)den;
	for (size_t j = 0; j < len; j++)
		scaled[j] = scale_value(q[j], num, den, ratio);
	return scaled;
}

/* The full-block loop has a constant trip count, which lets -O2 vectorise
 * it; the tail of a chunk takes the plain loop. */
static void accumulate_block(double *restrict acc, const int32_t *restrict v, double w)
{
	for (size_t j = 0; j < BLOCK; j++)
		acc[j] += w * v[j];
}

static void accumulate_exact(double *restrict acc, const int32_t *restrict v, double w, size_t len)
{
	if (len == BLOCK) {
		accumulate_block(acc, v, w);
		return;
	}
	for (size_t j = 0; j < len; j++)
		acc[j] += w * v[j];
}

static void divide_block(int32_t *restrict out, const double *restrict acc, double w_sum)
{
	for (size_t j = 0; j < BLOCK; j++)
		out[j] = fl_quotient_exact(acc[j], w_sum);
}

static void divide_exact(int32_t *restrict out, const double *restrict acc, double w_sum,
			 size_t len)
{
	if (len == BLOCK) {
		divide_block(out, acc, w_sum);
		return;
	}
	for (size_t j = 0; j < len; j++)
		out[j] = fl_quotient_exact(acc[j], w_sum);
}

static void mean_block_exact(const mean_ctx *c, scratch *s, size_t lo, size_t len)
{
	const fl_agg_job *job = c->job;

	memset(s->dacc, 0, len * sizeof(*s->dacc));
	for (size_t i = 0; i < job->n; i++) {
		if (job->w[i] == 0)
			continue;
		accumulate_exact(s->dacc, input_block(job, i, lo, len, s->scaled),
				 (double)job->w[i], len);
	}
	divide_exact(job->out + lo, s->dacc, (double)c->w_sum, len);
}

static void mean_block_64(const mean_ctx *c, scratch *s, size_t lo, size_t len)
{
	const fl_agg_job *job = c->job;
	int64_t *acc = s->acc;

	memset(acc, 0, len * sizeof(*acc));
	for (size_t i = 0; i < job->n; i++) {
		/* w < 2^31: a 32x32->64 multiply, which AVX2 vectorises. */
		const int32_t w = (int32_t)job->w[i];
		const int32_t *v;

		if (w == 0)
			continue;
		v = input_block(job, i, lo, len, s->scaled);
		for (size_t j = 0; j < len; j++)
			acc[j] += (int64_t)w * v[j];
	}
	for (size_t j = 0; j < len; j++)
		job->out[lo + j] = (int32_t)fl_div_round(acc[j], c->w_sum);
}

static void mean_block_128(const mean_ctx *c, scratch *s, size_t lo, size_t len)
{
	const fl_agg_job *job = c->job;
	fl_i128 *acc = s->wide;

	memset(acc, 0, len * sizeof(*acc));
	for (size_t i = 0; i < job->n; i++) {
		const fl_i128 w = (fl_i128)job->w[i];
		const int32_t *v;

		if (w == 0)
			continue;
		v = input_block(job, i, lo, len, s->scaled);
		for (size_t j = 0; j < len; j++)
			acc[j] += w * v[j];
	}
	for (size_t j = 0; j < len; j++) {
		fl_u128 m = acc[j] < 0 ? -(fl_u128)acc[j] : (fl_u128)acc[j];
		fl_u128 q = m / c->w_sum, r = m % c->w_sum;

		q += r >= c->w_sum - r;
		job->out[lo + j] = (int32_t)(acc[j] < 0 ? -(int64_t)q : (int64_t)q);
	}
}

static void mean_range(void *arg, size_t lo, size_t hi, unsigned part)
{
	const mean_ctx *c = arg;
	scratch *s = c->s[part];

	for (size_t b = lo; b < hi; b += BLOCK) {
		size_t len = hi - b < BLOCK ? hi - b : BLOCK;

		if (c->w_sum < EXACT_DOUBLE_W)
			mean_block_exact(c, s, b, len);
		else if (c->w_sum < ((uint64_t)1 << 32))
			mean_block_64(c, s, b, len);
		else
			mean_block_128(c, s, b, len);
	}
}

int fl_agg_mean(const fl_agg_job *job)
{
	mean_ctx c = {.job = job};
	int rc = FL_ENOMEM;

	for (size_t i = 0; i < job->n; i++)
		c.w_sum += job->w[i];
	if (c.w_sum == 0)
		return FL_EINVAL;
	for (unsigned k = 0; k < job->parts; k++)
		if ((c.s[k] = fl_malloc(sizeof(scratch))) == NULL)
			goto cleanup;
	fl_agg_run(job->n_params, job->parts, mean_range, &c);
	rc = FL_OK;
cleanup:
	for (unsigned k = 0; k < job->parts; k++)
		fl_free(c.s[k]);
	return rc;
}
