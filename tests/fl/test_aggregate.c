/*
 * Aggregation rules on hand-computed cases, determinism across input
 * orders and thread counts (byte-identical result blobs), robustness to
 * scaled updates, parameter checks, allocation failures, server momentum.
 */
#include "fl/fl.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ONE (1 << FL_FIXED_FRAC)

__extension__ typedef __int128 i128;

/* "1-2": a spec of exactly 4 parameters, for cases computed by hand. */
static fl_spec spec4(void)
{
	fl_spec s;

	cr_assert_eq(fl_spec_parse(&s, "1-2"), FL_OK);
	cr_assert_eq(fl_spec_params(&s), 4);
	return s;
}

static void make_update(fl_update *u, const fl_spec *spec, const int32_t *q, uint64_t n_samples)
{
	u->spec = *spec;
	u->n = fl_spec_params(spec);
	u->q = calloc(u->n, sizeof(int32_t));
	cr_assert_not_null(u->q);
	if (q != NULL)
		memcpy(u->q, q, u->n * sizeof(int32_t));
	u->n_samples = n_samples;
}

static void free_updates(fl_update *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].q);
		u[i].q = NULL;
	}
}

/* Aggregates u[0..n) in the given order; asserts success. */
static void run(fl_agg_result *r, fl_update *u, size_t n, const fl_agg_params *ap)
{
	const fl_update *ptr[64];

	cr_assert_leq(n, 64);
	for (size_t i = 0; i < n; i++)
		ptr[i] = &u[i];
	cr_assert_eq(fl_aggregate(r, ptr, n, ap), FL_OK);
}

static int rc_of(fl_update *u, size_t n, const fl_agg_params *ap)
{
	const fl_update *ptr[64];
	fl_agg_result r;
	int rc;

	for (size_t i = 0; i < n; i++)
		ptr[i] = &u[i];
	rc = fl_aggregate(&r, ptr, n, ap);
	if (rc == FL_OK)
		fl_agg_result_free(&r);
	else
		cr_assert(r.q == NULL && r.weights == NULL && r.n == 0);
	return rc;
}

static void assert_q(const fl_agg_result *r, const int32_t *want, size_t n)
{
	cr_assert_eq(r->n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(r->q[i], want[i], "coordinate %zu: %d, want %d", i, r->q[i], want[i]);
}

/* ------------------------------------------------------ hand-computed */

Test(aggregate, fedavg_weighted_rounds_half_away)
{
	fl_spec s = spec4();
	fl_update u[3];
	fl_agg_params ap = {.rule = FL_RULE_FEDAVG};
	fl_agg_result r;
	/* Weights 1, 2, 1 (sum 4):
	 *   (10 + 40 + 40)/4 = 22.5 -> 23     (−10 − 40 + 5)/4 = −11.25 -> −11
	 *   (3 + 8 − 7)/4 = 1                 (0 + 2 − 8)/4 = −1.5 -> −2 */
	const int32_t a[4] = {10, -10, 3, 0}, b[4] = {20, -20, 4, 1}, c[4] = {40, 5, -7, -8};
	const int32_t want[4] = {23, -11, 1, -2};

	make_update(&u[0], &s, a, 1);
	make_update(&u[1], &s, b, 2);
	make_update(&u[2], &s, c, 1);
	run(&r, u, 3, &ap);
	assert_q(&r, want, 4);
	cr_assert_eq(r.n_inputs, 3);
	cr_assert(r.weights[0] == 1 && r.weights[1] == 2 && r.weights[2] == 1);
	fl_agg_result_free(&r);

	/* The same ratios through the cap: 100, min(300, 200), 100. */
	u[0].n_samples = 100;
	u[1].n_samples = 300;
	u[2].n_samples = 100;
	ap.max_weight = 200;
	run(&r, u, 3, &ap);
	assert_q(&r, want, 4);
	cr_assert(r.weights[0] == 100 && r.weights[1] == 200 && r.weights[2] == 100);
	fl_agg_result_free(&r);
	fl_agg_result_free(&r); /* safe twice */
	free_updates(u, 3);
}

Test(aggregate, fedavg_extreme_values_and_wide_sums)
{
	fl_spec s = spec4();
	fl_update u[4];
	fl_agg_params ap = {.rule = FL_RULE_FEDAVG};
	fl_agg_result r;
	const int32_t a[4] = {FL_FIXED_MAX, -FL_FIXED_MAX, FL_FIXED_MAX, 1};
	const int32_t b[4] = {FL_FIXED_MAX, -FL_FIXED_MAX, -FL_FIXED_MAX, 2};
	const int32_t c[4] = {FL_FIXED_MAX, -FL_FIXED_MAX, FL_FIXED_MAX, 4};
	const int32_t d[4] = {0, 0, 0, -1000};

	/* Sample counts past 2^31 are capped to 2^31 − 1 each, so the
	 * weight sum passes 2^32 and the 128-bit path runs. */
	make_update(&u[0], &s, a, UINT64_MAX);
	make_update(&u[1], &s, b, (uint64_t)1 << 40);
	make_update(&u[2], &s, c, (uint64_t)INT32_MAX);
	make_update(&u[3], &s, d, 1);
	run(&r, u, 4, &ap);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(r.weights[i], (uint64_t)INT32_MAX);
	cr_assert_eq(r.weights[3], 1);
	/* Expected values with 128-bit arithmetic written out here. */
	for (size_t k = 0; k < 4; k++) {
		i128 num = 0, den = 3 * (i128)INT32_MAX + 1, m, q;

		for (size_t i = 0; i < 4; i++)
			num += (i128)r.weights[i] * u[i].q[k];
		m = num < 0 ? -num : num;
		q = m / den + (2 * (m % den) >= den);
		cr_assert_eq(r.q[k], (int32_t)(num < 0 ? -q : q), "k=%zu", k);
	}
	/* 3·MAX·w / (3w + 1) rounds to MAX; the mixed coordinate to MAX/3. */
	cr_assert_eq(r.q[0], FL_FIXED_MAX);
	cr_assert_eq(r.q[1], -FL_FIXED_MAX);
	fl_agg_result_free(&r);
	free_updates(u, 4);
}

/* The FedAvg formula in 128-bit integers, written out independently. */
static int32_t fedavg_formula(fl_update *u, const uint64_t *w, size_t n, size_t k)
{
	i128 num = 0, den = 0, m, q;

	for (size_t i = 0; i < n; i++) {
		num += (i128)w[i] * u[i].q[k];
		den += (i128)w[i];
	}
	m = num < 0 ? -num : num;
	q = m / den + (2 * (m % den) >= den);
	return (int32_t)(num < 0 ? -q : q);
}

/*
 * agg_fedavg.c has three exact paths by weight sum W: doubles below 2^21,
 * int64 below 2^32, 128-bit above. Each must give the formula's integers,
 * on random values and on crafted near-ties: with W = 2^21 − 1 the
 * quotient can sit 1/(2W) from a half-integer, the closest the double
 * path's proof allows.
 */
Test(aggregate, fedavg_every_path_matches_the_formula)
{
	/* W = 4, 2000, 2^21 − 1 (the largest on the double path), 2^21 (the
	 * smallest on the int64 path), ~2^28, 2^32 − 1 (the largest on the
	 * int64 path, weights capped at 2^31 − 1), 2^32 + 3 (128-bit). */
	const uint64_t weights[][3] = {
	    {1, 2, 1},
	    {1000, 999, 1},
	    {1 << 20, (1 << 20) - 2, 1},
	    {1 << 20, (1 << 20) - 1, 1},
	    {1 << 27, (1 << 27) - 1, 1},
	    {(uint64_t)1 << 31, (uint64_t)1 << 31, 1},
	    {(uint64_t)1 << 40, (uint64_t)1 << 40, 5},
	};
	fl_spec s;
	fl_update u[3];
	uint64_t st = 99;
	const int32_t X = FL_FIXED_MAX - 1;

	cr_assert_eq(fl_spec_parse(&s, "30-40-10"), FL_OK); /* 1650 params */
	for (size_t i = 0; i < 3; i++)
		make_update(&u[i], &s, NULL, 1);
	for (size_t k = 0; k < u[0].n; k++)
		for (size_t i = 0; i < 3; i++) {
			st = st * 6364136223846793005ULL + 1442695040888963407ULL;
			u[i].q[k] = (int32_t)(st >> 32) | 1; /* never INT32_MIN */
			if (k % 7 == 0)
				u[i].q[k] = (int32_t)(st >> 60) - 8; /* small: many ties */
		}
	/* Extremes and near-ties in the first coordinates. */
	u[0].q[0] = FL_FIXED_MAX, u[1].q[0] = FL_FIXED_MAX - 1, u[2].q[0] = FL_FIXED_MAX;
	u[0].q[1] = -FL_FIXED_MAX, u[1].q[1] = -FL_FIXED_MAX + 1, u[2].q[1] = -FL_FIXED_MAX;
	u[0].q[2] = 0, u[1].q[2] = 1, u[2].q[2] = 0;
	u[0].q[3] = 1, u[1].q[3] = 0, u[2].q[3] = 0;
	u[0].q[4] = -1, u[1].q[4] = 0, u[2].q[4] = 0;
	u[0].q[5] = FL_FIXED_MAX - 1, u[1].q[5] = FL_FIXED_MAX, u[2].q[5] = 5;
	/* Large values whose mean is X + w2/W or X − 1 + w1/W: within 1/W of
	 * a half-integer for every weight set below, where an inexact sum
	 * would round the wrong way. */
	u[0].q[6] = X, u[1].q[6] = X + 1, u[2].q[6] = X;
	u[0].q[7] = X, u[1].q[7] = X - 1, u[2].q[7] = X - 1;
	u[0].q[8] = -X, u[1].q[8] = -X - 1, u[2].q[8] = -X;
	u[0].q[9] = -X, u[1].q[9] = -X + 1, u[2].q[9] = -X + 1;

	for (size_t sc = 0; sc < FL_ARRAY_LEN(weights); sc++) {
		fl_agg_params ap = {.rule = FL_RULE_FEDAVG};
		fl_agg_result r;

		for (size_t i = 0; i < 3; i++)
			u[i].n_samples = weights[sc][i];
		for (ap.threads = 1; ap.threads <= 2; ap.threads++) {
			run(&r, u, 3, &ap);
			for (size_t k = 0; k < r.n; k++)
				cr_assert_eq(r.q[k], fedavg_formula(u, r.weights, 3, k),
					     "scale %zu coordinate %zu", sc, k);
			fl_agg_result_free(&r);
		}
	}
	free_updates(u, 3);
}

Test(aggregate, median_odd_and_even)
{
	fl_spec s = spec4();
	fl_update u[4];
	fl_agg_params ap = {.rule = FL_RULE_MEDIAN};
	fl_agg_result r;
	const int32_t a[4] = {10, -10, 3, 0}, b[4] = {20, -20, 4, 2}, c[4] = {40, 5, -7, -8};
	const int32_t d[4] = {0, 0, 0, -1};
	const int32_t odd[4] = {20, -10, 3, 0};
	/* Sorted: {0,10,20,40} -> 15; {−20,−10,0,5} -> −5; {−7,0,3,4} -> 1.5
	 * -> 1; {−8,−1,0,2} -> −0.5 -> −1 (floor). */
	const int32_t even[4] = {15, -5, 1, -1};

	make_update(&u[0], &s, a, 1);
	make_update(&u[1], &s, b, 1000);
	make_update(&u[2], &s, c, 1);
	make_update(&u[3], &s, d, 0);
	run(&r, u, 3, &ap);
	assert_q(&r, odd, 4);
	cr_assert(r.weights[0] == 1 && r.weights[1] == 1000 && r.weights[2] == 1);
	fl_agg_result_free(&r);
	run(&r, u, 4, &ap);
	assert_q(&r, even, 4);
	fl_agg_result_free(&r);
	free_updates(u, 4);
}

Test(aggregate, trimmed_mean_drops_extremes)
{
	fl_spec s = spec4();
	fl_update u[5];
	fl_agg_params ap = {.rule = FL_RULE_TRIMMED, .trim_beta_ppm = 200000};
	fl_agg_result r, avg;
	/* Columns, one per coordinate:
	 *   {1, 2, 3, 4, 1000}       -> (2 + 3 + 4)/3 = 3
	 *   {−1000, −2, −3, 5, 6}    -> (−3 − 2 + 5)/3 = 0
	 *   {1, 2, 2, 3, 100}        -> 7/3 -> 2
	 *   {−1, −2, −2, −1, −100}   -> −5/3 -> −2 */
	const int32_t rows[5][4] = {
	    {1, -1000, 1, -1}, {2, -2, 2, -2}, {3, -3, 2, -2}, {4, 5, 3, -1}, {1000, 6, 100, -100},
	};
	const int32_t want[4] = {3, 0, 2, -2};

	for (size_t i = 0; i < 5; i++)
		make_update(&u[i], &s, rows[i], 1 + i);
	run(&r, u, 5, &ap);
	assert_q(&r, want, 4);
	fl_agg_result_free(&r);

	/* beta·n < 1 trims nothing: the unweighted mean, i.e. FedAvg with
	 * equal weights. */
	ap.trim_beta_ppm = 199999;
	run(&r, u, 5, &ap);
	for (size_t i = 0; i < 5; i++)
		u[i].n_samples = 7;
	ap = (fl_agg_params){.rule = FL_RULE_FEDAVG};
	run(&avg, u, 5, &ap);
	cr_assert_eq(memcmp(r.q, avg.q, 4 * sizeof(int32_t)), 0);
	cr_assert_eq(r.q[0], 202); /* 1010/5 */
	fl_agg_result_free(&r);
	fl_agg_result_free(&avg);

	/* beta = 0.5 of 5 drops 2 per side: the median. */
	ap = (fl_agg_params){.rule = FL_RULE_TRIMMED, .trim_beta_ppm = 500000};
	run(&r, u, 5, &ap);
	cr_assert(r.q[0] == 3 && r.q[1] == -2 && r.q[2] == 2 && r.q[3] == -2);
	fl_agg_result_free(&r);
	free_updates(u, 5);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* Median and trimmed mean by qsort, for every n up to 40 and a few larger,
 * against the sorting network, with values spread over the whole range. */
Test(aggregate, median_and_trimmed_match_a_plain_sort)
{
	static const size_t sizes[] = {1,  2,  3,  4,  5,  6,  7,  8,   9,  10, 11, 12,
				       13, 14, 15, 16, 17, 18, 19, 20,  21, 22, 23, 24,
				       25, 26, 27, 28, 29, 30, 31, 32,  33, 34, 35, 36,
				       37, 38, 39, 40, 63, 64, 65, 100, 257};
	fl_spec s;
	fl_update *u = calloc(257, sizeof(*u));
	const fl_update **ptr = calloc(257, sizeof(*ptr));
	int32_t col[257];
	uint64_t st = 5;

	cr_assert_eq(fl_spec_parse(&s, "10-30-2"), FL_OK); /* 392: a block and a bit */
	for (size_t i = 0; i < 257; i++) {
		make_update(&u[i], &s, NULL, 1);
		ptr[i] = &u[i];
		for (size_t k = 0; k < u[i].n; k++) {
			st = st * 6364136223846793005ULL + 1442695040888963407ULL;
			u[i].q[k] = k % 3 ? (int32_t)(st >> 32) | 1 : (int32_t)(st >> 61) - 3;
		}
	}
	for (size_t t = 0; t < FL_ARRAY_LEN(sizes); t++) {
		size_t n = sizes[t];
		fl_agg_params med = {.rule = FL_RULE_MEDIAN, .threads = 2};
		fl_agg_params trm = {.rule = FL_RULE_TRIMMED, .trim_beta_ppm = 150000};
		size_t k = n * 150000 / 1000000;
		fl_agg_result rm, rt;

		cr_assert_eq(fl_aggregate(&rm, ptr, n, &med), FL_OK);
		cr_assert_eq(fl_aggregate(&rt, ptr, n, &trm), FL_OK);
		for (size_t c = 0; c < rm.n; c++) {
			int64_t sum = 0, mid2;
			i128 m, q;
			size_t kept = n - 2 * k;

			for (size_t i = 0; i < n; i++)
				col[i] = u[i].q[c];
			qsort(col, n, sizeof(int32_t), cmp_i32);
			mid2 =
			    n % 2 ? 2 * (int64_t)col[n / 2] : (int64_t)col[n / 2 - 1] + col[n / 2];
			/* floor(mid2 / 2) */
			cr_assert_eq(rm.q[c], (int32_t)(mid2 >= 0 ? mid2 / 2 : -((-mid2 + 1) / 2)),
				     "n=%zu c=%zu", n, c);
			for (size_t i = k; i < n - k; i++)
				sum += col[i];
			m = sum < 0 ? -(i128)sum : sum;
			q = m / kept + (2 * (m % kept) >= kept);
			cr_assert_eq(rt.q[c], (int32_t)(sum < 0 ? -q : q), "n=%zu c=%zu", n, c);
		}
		fl_agg_result_free(&rm);
		fl_agg_result_free(&rt);
	}
	free_updates(u, 257);
	free(u);
	free(ptr);
}

Test(aggregate, multikrum_rejects_the_far_update)
{
	fl_spec s = spec4();
	fl_update u[5];
	fl_agg_params ap = {.rule = FL_RULE_MULTIKRUM, .krum_f = 1};
	fl_agg_result r;
	/* One coordinate carries values 0, 1, 2, 3, 100. With n = 5, f = 1,
	 * each score sums the 2 smallest squared distances:
	 *   0: 1 + 4 = 5   1: 1 + 1 = 2   2: 1 + 1 = 2   3: 1 + 4 = 5
	 *   100: 9409 + 9604. Keep 4: drop 100; mean (0+1+2+3)/4 = 1.5 -> 2. */
	const int32_t v[5] = {0, 1, 2, 3, 100};

	for (size_t i = 0; i < 5; i++) {
		int32_t q[4] = {v[i], 0, -v[i], 7};

		make_update(&u[i], &s, q, 10);
	}
	run(&r, u, 5, &ap);
	cr_assert(r.q[0] == 2 && r.q[1] == 0 && r.q[2] == -2 && r.q[3] == 7);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(r.weights[i], 10);
	cr_assert_eq(r.weights[4], 0);
	fl_agg_result_free(&r);
	free_updates(u, 5);
}

Test(aggregate, multikrum_breaks_ties_by_content)
{
	fl_spec s = spec4();
	fl_update u[5];
	fl_agg_params ap = {.rule = FL_RULE_MULTIKRUM, .krum_f = 1};
	/* Values −1, 1, 10, −10, 0: scores 5, 5, 181, 181, 2. One of the
	 * tied 10 / −10 must go; content decides (−10 sorts first and stays),
	 * whatever the order: mean(−1, 1, −10, 0) = −2.5 -> −3. */
	const int32_t v[5] = {-1, 1, 10, -10, 0};
	const size_t orders[3][5] = {{0, 1, 2, 3, 4}, {3, 2, 1, 0, 4}, {2, 4, 3, 0, 1}};

	for (size_t i = 0; i < 5; i++) {
		int32_t q[4] = {v[i], 0, 0, 0};

		make_update(&u[i], &s, q, 1);
	}
	for (size_t o = 0; o < 3; o++) {
		const fl_update *ptr[5];
		fl_agg_result r;

		for (size_t i = 0; i < 5; i++)
			ptr[i] = &u[orders[o][i]];
		cr_assert_eq(fl_aggregate(&r, ptr, 5, &ap), FL_OK);
		cr_assert_eq(r.q[0], -3);
		for (size_t i = 0; i < 5; i++)
			cr_assert_eq(r.weights[i], ptr[i]->q[0] == 10 ? 0 : 1);
		fl_agg_result_free(&r);
	}
	free_updates(u, 5);
}

Test(aggregate, norm_bound_scales_large_updates)
{
	fl_spec s = spec4();
	fl_update u[3];
	fl_agg_params ap = {.rule = FL_RULE_NORM_BOUND, .norm_bound_q = 10};
	fl_agg_result r;
	/* Norms 5, 65, 7 with bound 10: only the second is scaled, by 10/65:
	 * −25 -> −3.85 -> −4, 60 -> 9.23 -> 9. Means: (3 − 4 + 0)/3 -> 0,
	 * 4/3 -> 1, 0, (0 + 9 + 7)/3 -> 5. */
	const int32_t a[4] = {3, 4, 0, 0}, b[4] = {-25, 0, 0, 60}, c[4] = {0, 0, 0, 7};
	const int32_t want[4] = {0, 1, 0, 5};

	make_update(&u[0], &s, a, 1);
	make_update(&u[1], &s, b, 1);
	make_update(&u[2], &s, c, 1);
	run(&r, u, 3, &ap);
	assert_q(&r, want, 4);
	cr_assert(r.weights[0] == 1 && r.weights[1] == 1 && r.weights[2] == 1);
	fl_agg_result_free(&r);
	free_updates(u, 3);
}

static uint64_t isqrt_ref(i128 x)
{
	uint64_t lo = 0, hi = (uint64_t)1 << 62;

	while (lo < hi) { /* largest r with r² <= x */
		uint64_t mid = lo + (hi - lo + 1) / 2;

		if ((i128)mid * mid <= x)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* One update through norm bounding is the scaled update itself (a mean of
 * one). Each value must be round(q·B/N) half away from zero with N the
 * integer norm: exact halves, and values 2^-27 below a half-integer that
 * only the integer fallback of agg_fedavg.c's double estimate gets right. */
Test(aggregate, norm_bound_matches_the_formula)
{
	fl_spec s = spec4();
	fl_update u;
	fl_agg_result r;
	const int32_t x = (1 << 30) + 1;
	const int32_t cases[][4] = {
	    {8, 1, -1, 3},    /* N = 8, B = 4: halves 0.5, −0.5, 1.5 */
	    {x, 7, -9, 13},   /* N = x, B = (x − 1)/2: k + 1/2 − y/(2x) */
	    {-x, 15, 11, -5}, /* the same, negated */
	};
	const uint64_t bounds[] = {4, (uint64_t)(x - 1) / 2, (uint64_t)(x - 1) / 2};

	make_update(&u, &s, NULL, 3);
	for (size_t c = 0; c < FL_ARRAY_LEN(cases); c++) {
		fl_agg_params ap = {.rule = FL_RULE_NORM_BOUND, .norm_bound_q = bounds[c]};
		i128 sq = 0;
		uint64_t norm;

		memcpy(u.q, cases[c], sizeof(cases[c]));
		for (size_t k = 0; k < 4; k++)
			sq += (i128)u.q[k] * u.q[k];
		norm = isqrt_ref(sq);
		cr_assert_gt(norm, bounds[c]);
		run(&r, &u, 1, &ap);
		for (size_t k = 0; k < 4; k++) {
			i128 num = (i128)u.q[k] * (i128)bounds[c], m = num < 0 ? -num : num;
			i128 q = m / norm + (2 * (m % norm) >= norm);

			cr_assert_eq(r.q[k], (int32_t)(num < 0 ? -q : q), "case %zu k %zu", c, k);
		}
		if (c == 0)
			cr_assert(r.q[0] == 4 && r.q[1] == 1 && r.q[2] == -1 && r.q[3] == 2);
		if (c == 1) /* 7/2 − tiny rounds down to 3, −9/2 + tiny to −4 */
			cr_assert(r.q[1] == 3 && r.q[2] == -4 && r.q[3] == 6);
		fl_agg_result_free(&r);
	}
	free_updates(&u, 1);
}

Test(aggregate, norm_bound_on_real_values)
{
	fl_spec s;
	fl_update u;
	fl_agg_params ap = {.rule = FL_RULE_NORM_BOUND, .norm_bound_q = ONE}; /* 1.0 */
	fl_agg_result r;
	double norm = 0;

	cr_assert_eq(fl_spec_parse(&s, "30-20-10"), FL_OK);
	make_update(&u, &s, NULL, 3);
	for (size_t i = 0; i < u.n; i++)
		u.q[i] = fl_fixed_from_float((float)sin((double)i) * 0.3f); /* norm ~5 */
	run(&r, &u, 1, &ap);
	for (size_t i = 0; i < r.n; i++) {
		double x = fl_fixed_to_float(r.q[i]);

		norm += x * x;
		/* Same direction: each value shrank by the same factor. */
		cr_assert_leq(fabs(x), fabs(fl_fixed_to_float(u.q[i])));
	}
	cr_assert_float_eq(sqrt(norm), 1.0, 1e-4);
	fl_agg_result_free(&r);

	/* A bound above the norm leaves the update as it is. */
	ap.norm_bound_q = 100 * (uint64_t)ONE;
	run(&r, &u, 1, &ap);
	cr_assert_eq(memcmp(r.q, u.q, u.n * sizeof(int32_t)), 0);
	fl_agg_result_free(&r);
	free_updates(&u, 1);
}

/* --------------------------------------------------------- determinism */

#define DET_N 10

static uint64_t det_state;

static uint32_t det_next(void)
{
	det_state = det_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(det_state >> 33);
}

static void random_updates(fl_update *u, size_t n, const fl_spec *s)
{
	for (size_t i = 0; i < n; i++) {
		make_update(&u[i], s, NULL, 1 + det_next() % 1000);
		for (size_t k = 0; k < u[i].n; k++)
			u[i].q[k] = (int32_t)(det_next() % (1u << 22)) - (1 << 21);
	}
	/* A duplicate with another sample count, and a repeated value per
	 * coordinate, so ties occur. */
	memcpy(u[3].q, u[1].q, u[1].n * sizeof(int32_t));
	u[5].q[0] = u[6].q[0];
}

/* The aggregate as a canonical update blob. */
static void encode_result(uint8_t **blob, size_t *len, const fl_agg_result *r, const fl_spec *s)
{
	fl_update out = {.spec = *s, .n = r->n, .q = r->q, .n_samples = 0};

	cr_assert_eq(fl_blob_encode_update(blob, len, &out), FL_OK);
}

static void check_determinism(fl_agg_params ap)
{
	fl_spec s;
	fl_update u[DET_N];
	const fl_update *ptr[DET_N];
	fl_agg_result ref, r;
	uint8_t *ref_blob, *blob;
	size_t ref_len, len, perm[DET_N];

	det_state = 42;
	cr_assert_eq(fl_spec_parse(&s, "40-50-10"), FL_OK); /* 2560 params */
	random_updates(u, DET_N, &s);
	for (size_t i = 0; i < DET_N; i++)
		ptr[i] = &u[i];
	ap.threads = 1;
	cr_assert_eq(fl_aggregate(&ref, ptr, DET_N, &ap), FL_OK);
	encode_result(&ref_blob, &ref_len, &ref, &s);

	for (unsigned trial = 0; trial < 6; trial++) {
		for (size_t i = 0; i < DET_N; i++)
			perm[i] = i;
		if (trial > 0)
			for (size_t i = DET_N - 1; i > 0; i--) {
				size_t j = det_next() % (i + 1), t = perm[i];

				perm[i] = perm[j];
				perm[j] = t;
			}
		for (size_t i = 0; i < DET_N; i++)
			ptr[i] = &u[perm[i]];
		ap.threads = 1 + trial % 3; /* 1, 2 and 3 threads */
		cr_assert_eq(fl_aggregate(&r, ptr, DET_N, &ap), FL_OK);
		encode_result(&blob, &len, &r, &s);
		cr_assert_eq(len, ref_len);
		cr_assert_eq(memcmp(blob, ref_blob, len), 0, "rule %d trial %u", ap.rule, trial);
		/* Weights follow the caller's order. */
		for (size_t i = 0; i < DET_N; i++)
			cr_assert_eq(r.weights[i], ref.weights[perm[i]], "rule %d input %zu",
				     ap.rule, i);
		fl_free(blob);
		fl_agg_result_free(&r);
	}
	fl_free(ref_blob);
	fl_agg_result_free(&ref);
	free_updates(u, DET_N);
}

Test(determinism, fedavg)
{
	check_determinism((fl_agg_params){.rule = FL_RULE_FEDAVG, .max_weight = 600});
}

Test(determinism, median)
{
	check_determinism((fl_agg_params){.rule = FL_RULE_MEDIAN});
}

Test(determinism, trimmed)
{
	check_determinism((fl_agg_params){.rule = FL_RULE_TRIMMED, .trim_beta_ppm = 200000});
}

Test(determinism, multikrum)
{
	check_determinism((fl_agg_params){.rule = FL_RULE_MULTIKRUM, .krum_f = 2});
}

Test(determinism, norm_bound)
{
	check_determinism((fl_agg_params){.rule = FL_RULE_NORM_BOUND, .norm_bound_q = 20000000});
}

/* ---------------------------------------------------------- robustness */

static double dist_to(const int32_t *a, const double *b, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return sqrt(s);
}

/* 8 honest updates near a common direction and 2 that send −10 times an
 * honest one. Median and Multi-Krum (f = 2) stay near the honest mean;
 * FedAvg is dragged past the origin. */
Test(robustness, median_and_multikrum_resist_scaled_updates)
{
	fl_spec s;
	fl_update u[10];
	const fl_update *ptr[10];
	fl_agg_result r;
	fl_agg_params ap = {0};
	double *honest, hnorm = 0;
	size_t n;

	det_state = 7;
	cr_assert_eq(fl_spec_parse(&s, "20-20-10"), FL_OK);
	n = fl_spec_params(&s);
	honest = calloc(n, sizeof(double));
	for (size_t i = 0; i < 10; i++)
		make_update(&u[i], &s, NULL, 100);
	for (size_t k = 0; k < n; k++) {
		int32_t dir = (int32_t)(det_next() % ONE) - ONE / 2; /* ±0.5 */

		for (size_t i = 0; i < 8; i++) {
			int32_t noise = (int32_t)(det_next() % (ONE / 10)) - ONE / 20;

			u[i].q[k] = dir + noise;
			honest[k] += (double)u[i].q[k] / 8;
		}
		u[8].q[k] = -10 * u[0].q[k];
		u[9].q[k] = -10 * u[1].q[k];
		hnorm += honest[k] * honest[k];
	}
	hnorm = sqrt(hnorm);
	/* Put the attackers in the middle of the input order. */
	for (size_t i = 0; i < 10; i++)
		ptr[i] = &u[(i + 4) % 10];

	ap.rule = FL_RULE_FEDAVG;
	cr_assert_eq(fl_aggregate(&r, ptr, 10, &ap), FL_OK);
	cr_assert_gt(dist_to(r.q, honest, n), 1.5 * hnorm);
	fl_agg_result_free(&r);

	ap.rule = FL_RULE_MEDIAN;
	cr_assert_eq(fl_aggregate(&r, ptr, 10, &ap), FL_OK);
	cr_assert_lt(dist_to(r.q, honest, n), 0.1 * hnorm);
	fl_agg_result_free(&r);

	ap.rule = FL_RULE_MULTIKRUM;
	ap.krum_f = 2;
	cr_assert_eq(fl_aggregate(&r, ptr, 10, &ap), FL_OK);
	/* Both attackers rejected, all honest kept: the honest mean itself,
	 * up to the final rounding. */
	for (size_t i = 0; i < 10; i++)
		cr_assert_eq(r.weights[i], ptr[i] == &u[8] || ptr[i] == &u[9] ? 0 : 100);
	for (size_t k = 0; k < n; k++)
		cr_assert_leq(fabs(r.q[k] - honest[k]), 0.5 + 1e-9);
	fl_agg_result_free(&r);

	free(honest);
	free_updates(u, 10);
}

/* -------------------------------------------------------------- checks */

Test(aggregate, rejects_bad_inputs_and_parameters)
{
	fl_spec s = spec4(), other;
	fl_update u[6];
	fl_agg_params ap = {.rule = FL_RULE_FEDAVG};
	const fl_update *many[FL_AGG_MAX_INPUTS + 1];
	fl_agg_result r;

	for (size_t i = 0; i < 6; i++)
		make_update(&u[i], &s, NULL, 1);
	cr_assert_eq(rc_of(u, 6, &ap), FL_OK);
	cr_assert_eq(rc_of(u, 0, &ap), FL_EINVAL);

	/* Too many inputs. */
	for (size_t i = 0; i < FL_AGG_MAX_INPUTS + 1; i++)
		many[i] = &u[0];
	cr_assert_eq(fl_aggregate(&r, many, FL_AGG_MAX_INPUTS + 1, &ap), FL_EINVAL);
	cr_assert_eq(fl_aggregate(&r, many, FL_AGG_MAX_INPUTS, &ap), FL_OK);
	fl_agg_result_free(&r);

	/* Mixed specs, and a length that does not match the spec. */
	cr_assert_eq(fl_spec_parse(&other, "2-2"), FL_OK);
	u[2].spec = other;
	cr_assert_eq(rc_of(u, 6, &ap), FL_EINVAL);
	u[2].spec = s;
	u[2].n = 3;
	cr_assert_eq(rc_of(u, 6, &ap), FL_EINVAL);
	u[2].n = 4;

	/* Every weight zero. */
	for (size_t i = 0; i < 6; i++)
		u[i].n_samples = 0;
	cr_assert_eq(rc_of(u, 6, &ap), FL_EINVAL);
	ap.rule = FL_RULE_MEDIAN; /* unweighted: fine */
	cr_assert_eq(rc_of(u, 6, &ap), FL_OK);
	for (size_t i = 0; i < 6; i++)
		u[i].n_samples = 1;

	/* Multi-Krum needs n > 2f + 2. */
	ap = (fl_agg_params){.rule = FL_RULE_MULTIKRUM, .krum_f = 2};
	cr_assert_eq(rc_of(u, 6, &ap), FL_EINVAL);
	ap.krum_f = 1;
	cr_assert_eq(rc_of(u, 5, &ap), FL_OK);
	cr_assert_eq(rc_of(u, 4, &ap), FL_EINVAL);
	ap.krum_f = UINT32_MAX;
	cr_assert_eq(rc_of(u, 6, &ap), FL_EINVAL);
	ap.krum_f = 0;
	cr_assert_eq(rc_of(u, 3, &ap), FL_OK);

	/* Trimmed mean needs n − 2·floor(beta·n) >= 1. */
	ap = (fl_agg_params){.rule = FL_RULE_TRIMMED, .trim_beta_ppm = 500000};
	cr_assert_eq(rc_of(u, 5, &ap), FL_OK);     /* drops 2 of 5 per side */
	cr_assert_eq(rc_of(u, 4, &ap), FL_EINVAL); /* would drop all 4 */
	ap.trim_beta_ppm = 1000000;
	cr_assert_eq(rc_of(u, 5, &ap), FL_EINVAL);
	ap.trim_beta_ppm = UINT32_MAX;
	cr_assert_eq(rc_of(u, 5, &ap), FL_EINVAL);

	/* Norm bound must be positive; unknown rules are refused. */
	ap = (fl_agg_params){.rule = FL_RULE_NORM_BOUND, .norm_bound_q = 0};
	cr_assert_eq(rc_of(u, 3, &ap), FL_EINVAL);
	ap = (fl_agg_params){.rule = (fl_rule)99};
	cr_assert_eq(rc_of(u, 3, &ap), FL_EINVAL);
	ap = (fl_agg_params){.rule = (fl_rule)0};
	cr_assert_eq(rc_of(u, 3, &ap), FL_EINVAL);
	free_updates(u, 6);
}

Test(aggregate, many_threads_and_tiny_models)
{
	fl_spec s = spec4();
	fl_update u[3];
	fl_agg_params ap = {.rule = FL_RULE_MEDIAN, .threads = 1000};
	fl_agg_result r;
	const int32_t a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4] = {9, 10, 11, 12};

	make_update(&u[0], &s, a, 1);
	make_update(&u[1], &s, b, 1);
	make_update(&u[2], &s, c, 1);
	run(&r, u, 3, &ap);
	assert_q(&r, b, 4);
	fl_agg_result_free(&r);
	free_updates(u, 3);
}

/* curl-style torture: fail allocation N for N = 1, 2, ... until the call
 * succeeds; each failure is FL_ENOMEM with nothing left allocated (ASan
 * checks the latter under make asan). */
static void torture(fl_agg_params ap, size_t n_inputs)
{
	fl_spec s;
	fl_update u[DET_N];
	const fl_update *ptr[DET_N];
	fl_agg_result r;
	int rc;
	unsigned long n;

	det_state = 3;
	cr_assert_eq(fl_spec_parse(&s, "40-50-10"), FL_OK);
	random_updates(u, DET_N, &s);
	for (size_t i = 0; i < DET_N; i++)
		ptr[i] = &u[i];
	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_aggregate(&r, ptr, n_inputs, &ap);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM, "rule %d, failing allocation %lu", ap.rule, n);
		cr_assert(r.q == NULL && r.weights == NULL);
	}
	cr_assert_gt(n, 2);
	fl_agg_result_free(&r);
	free_updates(u, DET_N);
}

Test(aggregate, allocation_failures)
{
	torture((fl_agg_params){.rule = FL_RULE_FEDAVG, .threads = 2}, DET_N);
	torture((fl_agg_params){.rule = FL_RULE_MEDIAN, .threads = 2}, DET_N);
	torture((fl_agg_params){.rule = FL_RULE_TRIMMED, .trim_beta_ppm = 100000, .threads = 2},
		DET_N);
	torture((fl_agg_params){.rule = FL_RULE_MULTIKRUM, .krum_f = 3, .threads = 2}, DET_N);
	torture((fl_agg_params){.rule = FL_RULE_NORM_BOUND, .norm_bound_q = 1000, .threads = 2},
		DET_N);
}

/* ------------------------------------------------------------ momentum */

Test(momentum, fixed_point_velocity)
{
	int32_t v[6] = {0, 100, -100, 3, 5, -5};
	const int32_t delta[6] = {10, 0, 0, -1, 0, 0};
	/* beta = 0.9: 0 + 10, 90, −90, 2.7 -> 3, − 1 = 2; then beta 0.5 on
	 * 5 and −5: 2.5 -> 3, −2.5 -> −3 (half away from zero). */
	cr_assert_eq(fl_server_momentum(v, delta, 4, 900000), FL_OK);
	cr_assert(v[0] == 10 && v[1] == 90 && v[2] == -90 && v[3] == 2);
	cr_assert_eq(fl_server_momentum(v + 4, delta + 4, 2, 500000), FL_OK);
	cr_assert(v[4] == 3 && v[5] == -3);
	/* beta = 0 is plain FedAvg: v = delta. */
	cr_assert_eq(fl_server_momentum(v, delta, 6, 0), FL_OK);
	cr_assert_eq(memcmp(v, delta, sizeof(v)), 0);
}

Test(momentum, saturates_and_checks_beta)
{
	int32_t v[2] = {FL_FIXED_MAX, -FL_FIXED_MAX};
	const int32_t delta[2] = {FL_FIXED_MAX, -FL_FIXED_MAX};

	cr_assert_eq(fl_server_momentum(v, delta, 2, 1000000), FL_OK);
	cr_assert(v[0] == FL_FIXED_MAX && v[1] == -FL_FIXED_MAX);
	cr_assert_eq(fl_server_momentum(v, delta, 2, 1000001), FL_EINVAL);
	cr_assert(v[0] == FL_FIXED_MAX && v[1] == -FL_FIXED_MAX);
	cr_assert_eq(fl_server_momentum(NULL, NULL, 0, 10), FL_OK);
}
