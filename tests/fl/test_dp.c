/*
 * Differential privacy: L2 clipping, Gaussian noise, and the RDP accountant
 * against closed forms and TensorFlow Privacy's published values.
 */
#include "fl/fl.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double norm_of(const float *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)v[i] * v[i];
	return sqrt(s);
}

Test(dp, clip_scales_to_the_bound)
{
	float v[2] = {3, 4};

	cr_assert_float_eq(fl_dp_clip(v, 2, 1.0), 5.0, 1e-12);
	cr_assert_leq(norm_of(v, 2), 1.0);
	cr_assert_float_eq(v[0], 0.6f, 1e-6);
	cr_assert_float_eq(v[1], 0.8f, 1e-6);
}

Test(dp, clip_never_exceeds_the_bound)
{
	size_t n = 10007;
	float *v = malloc(n * sizeof(float)), *orig = malloc(n * sizeof(float));
	fl_rng rng;

	fl_rng_seed(&rng, 5);
	for (int trial = 0; trial < 20; trial++) {
		double clip = 0.1 + trial * 0.37, before, after;

		for (size_t i = 0; i < n; i++)
			orig[i] = v[i] = (float)fl_rng_gauss(&rng);
		before = fl_dp_clip(v, n, clip);
		cr_assert_float_eq(before, norm_of(orig, n), 1e-9 * before);
		after = norm_of(v, n);
		/* At most the bound, and no more than float rounding below it. */
		cr_assert_leq(after, clip, "trial %d", trial);
		cr_assert_geq(after, clip * (1 - 1e-6), "trial %d", trial);
		/* Same direction. */
		for (size_t i = 0; i < n; i += 997)
			cr_assert_float_eq(v[i], orig[i] * (clip / before), 1e-6);
	}
	free(v);
	free(orig);
}

Test(dp, clip_leaves_small_updates_alone)
{
	float v[3] = {0.1f, -0.2f, 0.05f}, same[3];

	memcpy(same, v, sizeof(v));
	cr_assert_float_eq(fl_dp_clip(v, 3, 1.0), norm_of(same, 3), 1e-12);
	cr_assert_eq(memcmp(v, same, sizeof(v)), 0);
	cr_assert_eq(fl_dp_clip(NULL, 0, 1.0), 0.0);
}

/* 1e5 draws: the sample standard deviation of N(0, σ²) is within 2% of σ
 * with overwhelming probability (its relative error is ~1/sqrt(2n) = 0.22%,
 * so 2% is 9 standard errors), and the mean within 5 standard errors. */
Test(dp, noise_has_the_requested_stddev)
{
	size_t n = 100000;
	float *v = calloc(n, sizeof(float));
	fl_rng rng;
	double sum = 0, sq = 0, mean, sd;
	const double sigma = 0.75;

	fl_rng_seed(&rng, 2024);
	fl_dp_noise(v, n, sigma, &rng);
	for (size_t i = 0; i < n; i++) {
		sum += v[i];
		sq += (double)v[i] * v[i];
	}
	mean = sum / n;
	sd = sqrt(sq / n - mean * mean);
	cr_assert_lt(fabs(sd - sigma) / sigma, 0.02, "sd %g", sd);
	cr_assert_lt(fabs(mean), 5 * sigma / sqrt((double)n), "mean %g", mean);

	/* Added to what is there; stddev 0 changes nothing. */
	for (size_t i = 0; i < 4; i++)
		v[i] = 100.0f;
	fl_dp_noise(v, 4, 0, &rng);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(v[i], 100.0f);
	fl_dp_noise(v, 4, 1e-3, &rng);
	for (size_t i = 0; i < 4; i++)
		cr_assert(v[i] != 100.0f && fabsf(v[i] - 100.0f) < 0.01f);
	free(v);
}

Test(dp, noise_is_reproducible_from_the_seed)
{
	float a[64] = {0}, b[64] = {0};
	fl_rng r1, r2;

	fl_rng_seed(&r1, 9);
	fl_rng_seed(&r2, 9);
	fl_dp_noise(a, 64, 1.0, &r1);
	fl_dp_noise(b, 64, 1.0, &r2);
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
}

/* fl_dp_update is the clip, noise and quantise steps by hand. */
Test(dp, update_is_clip_noise_quantise_of_the_delta)
{
	fl_spec spec;
	fl_model base, local, copy;
	fl_update u;
	fl_rng r1, r2;
	float *delta;

	cr_assert_eq(fl_spec_parse(&spec, "6-5-3"), FL_OK);
	cr_assert_eq(fl_model_init(&base, &spec, 1), FL_OK);
	cr_assert_eq(fl_model_init(&local, &spec, 2), FL_OK);
	cr_assert_eq(fl_model_copy(&copy, &local), FL_OK);
	fl_rng_seed(&r1, 4);
	fl_rng_seed(&r2, 4);
	cr_assert_eq(fl_dp_update(&u, &local, &base, 17, 0.5, 0.8, &r1), FL_OK);
	delta = copy.params;
	for (size_t i = 0; i < copy.n_params; i++)
		delta[i] -= base.params[i];
	cr_assert_gt(fl_dp_clip(delta, copy.n_params, 0.5), 0.5, "the clip must bite");
	fl_dp_noise(delta, copy.n_params, 0.8 * 0.5, &r2);
	cr_assert_eq(u.n, copy.n_params);
	cr_assert_eq(u.n_samples, 17);
	cr_assert_eq(memcmp(u.spec.sizes, spec.sizes, sizeof(spec.sizes)), 0);
	for (size_t i = 0; i < u.n; i++)
		cr_assert_eq(u.q[i], fl_fixed_from_float(delta[i]), "entry %zu", i);
	cr_assert_eq(memcmp(local.params, delta, u.n * sizeof(float)), 0,
		     "local holds the noised delta");
	fl_update_free(&u);
	fl_model_free(&copy);
	cr_assert_eq(fl_spec_parse(&spec, "6-4-3"), FL_OK);
	cr_assert_eq(fl_model_init(&copy, &spec, 2), FL_OK);
	cr_assert_eq(fl_dp_update(&u, &copy, &base, 1, 0.5, 0.8, &r1), FL_EINVAL);
	cr_assert_null(u.q);
	fl_model_free(&copy);
	fl_model_free(&local);
	fl_model_free(&base);
}

/* ------------------------------------------------------------ accountant */

Test(rdp, gaussian_without_sampling_is_closed_form)
{
	/* TF Privacy's test_compute_rdp_no_sampling: q = 1, z = 10, order 20
	 * -> 20 / (2·100) = 0.1. */
	cr_assert_eq(fl_rdp_gaussian(10, 1, 20), 0.1);
	cr_assert_eq(fl_rdp_gaussian(0.5, 1, 3), 6.0);
	cr_assert_eq(fl_rdp_gaussian(2, 0, 7), 0.0); /* nothing sampled */
	cr_assert(isinf(fl_rdp_gaussian(0, 0.5, 7)));
	cr_assert(isnan(fl_rdp_gaussian(1, 0.5, 1)));
	cr_assert(isnan(fl_rdp_gaussian(1, 1.5, 2)));
	cr_assert(isnan(fl_rdp_gaussian(-1, 0.5, 2)));
}

/*
 * For q = 1 the RDP curve is T·alpha/(2z²), and
 *   min over alpha > 1 of T·alpha/(2z²) + log(1/δ)/(alpha − 1)
 *   = ρ + 2·sqrt(ρ·log(1/δ)),  ρ = T/(2z²)
 * (set β = alpha − 1). The accountant minimises over a grid, so its epsilon
 * is at least that and, with the optimum inside the grid, close to it;
 * and it is exactly the conversion at the order it reports.
 */
Test(rdp, epsilon_without_sampling_matches_the_closed_form)
{
	const struct {
		double z;
		uint64_t steps;
		double delta;
	} cases[] = {{1.0, 1, 1e-5}, {2.0, 10, 1e-6}, {5.0, 100, 1e-5}, {0.8, 3, 1e-3}};

	for (size_t k = 0; k < FL_ARRAY_LEN(cases); k++) {
		double z = cases[k].z, delta = cases[k].delta, order;
		double rho = (double)cases[k].steps / (2 * z * z), l = log(1 / delta);
		double best = rho + 2 * sqrt(rho * l);
		double eps = fl_rdp_epsilon(z, 1, cases[k].steps, delta, &order);
		double direct = (double)cases[k].steps * order / (2 * z * z) + l / (order - 1);
		double grid_min = INFINITY;

		cr_assert_float_eq(eps, direct, 1e-12 * direct, "case %zu", k);
		cr_assert_geq(eps, best - 1e-12, "case %zu", k);
		cr_assert_leq(eps, best * 1.01, "case %zu: %g vs %g", k, eps, best);
		/* No order on a fine grid over the same range does better than
		 * the continuum; and the reported one is among the candidates. */
		for (double a = 1.25; a <= 512; a += 0.25) {
			double e = (double)cases[k].steps * a / (2 * z * z) + l / (a - 1);

			if (e < grid_min)
				grid_min = e;
		}
		cr_assert_leq(grid_min, eps + 1e-12);
		cr_assert_geq(grid_min, best - 1e-12);
	}
}

/*
 * Sampled Gaussian values from TensorFlow Privacy's rdp_accountant_test.py
 * (test_compute_rdp_scalar, places=5; test_compute_rdp_sequence,
 * delta=1e-5), whose reference values the TF tests also check against
 * numerical integration with mpmath. Both integer and fractional orders.
 */
Test(rdp, sampled_gaussian_matches_tf_privacy)
{
	const double orders[] = {1.5, 2.5, 5, 50, 100};
	const double want[] = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307};

	cr_assert_float_eq(10 * fl_rdp_gaussian(2, 0.1, 5), 0.07737, 1e-5);
	for (size_t k = 0; k < FL_ARRAY_LEN(orders); k++)
		cr_assert_float_eq(50 * fl_rdp_gaussian(2.5, 0.01, orders[k]), want[k], 1e-5,
				   "order %g", orders[k]);
}

/*
 * DP-SGD on MNIST as in TensorFlow Privacy's compute_dp_sgd_privacy.py
 * docstring and tutorials/README.md: N = 60000, batch 256 (q = 256/60000),
 * noise 1.12, 60 epochs (ceil(60·60000/256) = 14063 steps), delta = 1e-5:
 * "(2.92, 1e-5)-DP", optimal order 9. The same script's order grid is ours,
 * so the figure should agree to its printed precision (±0.005). The README's
 * table also lists noise 1.2 for 10 epochs as epsilon 1.20 (±0.005).
 */
Test(rdp, dp_sgd_mnist_epsilon)
{
	const double q = 256.0 / 60000;
	double order;
	double eps = fl_rdp_epsilon(1.12, q, 14063, 1e-5, &order);

	cr_assert_float_eq(eps, 2.92, 0.005, "eps %.5f", eps);
	cr_assert_eq(order, 9);
	eps = fl_rdp_epsilon(1.2, q, 2344, 1e-5, &order);
	cr_assert_float_eq(eps, 1.20, 0.005, "eps %.5f", eps);
	/* Less noise or more steps spend more. */
	cr_assert_gt(fl_rdp_epsilon(1.1, q, 14063, 1e-5, NULL), 2.925);
	cr_assert_gt(fl_rdp_epsilon(1.12, q, 20000, 1e-5, NULL), 2.925);
}

Test(rdp, epsilon_edge_cases)
{
	double order = -1;

	cr_assert_eq(fl_rdp_epsilon(1, 0.5, 0, 1e-5, &order), 0.0);
	cr_assert_eq(order, 0);
	cr_assert_eq(fl_rdp_epsilon(1, 0, 100, 1e-5, NULL), 0.0);
	cr_assert(isinf(fl_rdp_epsilon(0, 0.5, 10, 1e-5, &order)));
	cr_assert(isnan(fl_rdp_epsilon(1, 0.5, 10, 0, NULL)));
	cr_assert(isnan(fl_rdp_epsilon(1, 0.5, 10, 1, NULL)));
	cr_assert(isnan(fl_rdp_epsilon(1, -0.1, 10, 1e-5, NULL)));
	/* Monotone in the number of rounds. */
	cr_assert_lt(fl_rdp_epsilon(1.0, 0.1, 10, 1e-5, NULL),
		     fl_rdp_epsilon(1.0, 0.1, 11, 1e-5, NULL));
}
