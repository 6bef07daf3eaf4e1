/*
 * Fixed-point quantisation (fl.h): rounding half away from zero, saturation,
 * NaN; dequantisation as one IEEE rounding; updates from models and back.
 */
#include "fl/fl.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ONE (1 << FL_FIXED_FRAC) /* 1.0 in fixed point */

Test(fixed, exact_values)
{
	cr_assert_eq(fl_fixed_from_float(0.0f), 0);
	cr_assert_eq(fl_fixed_from_float(-0.0f), 0);
	cr_assert_eq(fl_fixed_from_float(1.0f), ONE);
	cr_assert_eq(fl_fixed_from_float(-1.0f), -ONE);
	cr_assert_eq(fl_fixed_from_float(0.75f), 3 * ONE / 4);
	cr_assert_eq(fl_fixed_from_float(ldexpf(1, -FL_FIXED_FRAC)), 1);
	cr_assert_eq(fl_fixed_from_float(-100.5f), -201 * (ONE / 2));
}

Test(fixed, rounds_half_away_from_zero)
{
	const float ulp = ldexpf(1, -FL_FIXED_FRAC); /* one fixed-point step */

	cr_assert_eq(fl_fixed_from_float(0.5f * ulp), 1);
	cr_assert_eq(fl_fixed_from_float(-0.5f * ulp), -1);
	cr_assert_eq(fl_fixed_from_float(1.5f * ulp), 2);
	/* Not to even: 2.5 -> 3, −2.5 -> −3. */
	cr_assert_eq(fl_fixed_from_float(2.5f * ulp), 3);
	cr_assert_eq(fl_fixed_from_float(-2.5f * ulp), -3);
	cr_assert_eq(fl_fixed_from_float(nextafterf(0.5f * ulp, 0)), 0);
	cr_assert_eq(fl_fixed_from_float(nextafterf(0.5f * ulp, 1)), 1);
	cr_assert_eq(fl_fixed_from_float(nextafterf(-0.5f * ulp, 0)), 0);
	cr_assert_eq(fl_fixed_from_float(0.25f * ulp), 0);
	cr_assert_eq(fl_fixed_from_float(FLT_TRUE_MIN), 0);
	cr_assert_eq(fl_fixed_from_float(-FLT_TRUE_MIN), 0);
}

Test(fixed, saturates_symmetrically)
{
	/* 128 · 2^24 = 2^31 is just out of range; the largest float below
	 * 128 is 128 − 2^-17, which maps to 2^31 − 128 exactly. */
	cr_assert_eq(fl_fixed_from_float(128.0f), FL_FIXED_MAX);
	cr_assert_eq(fl_fixed_from_float(-128.0f), -FL_FIXED_MAX);
	cr_assert_eq(fl_fixed_from_float(nextafterf(128.0f, 0)), INT32_MAX - 127);
	cr_assert_eq(fl_fixed_from_float(-nextafterf(128.0f, 0)), -(INT32_MAX - 127));
	cr_assert_eq(fl_fixed_from_float(1e9f), FL_FIXED_MAX);
	cr_assert_eq(fl_fixed_from_float(FLT_MAX), FL_FIXED_MAX);
	cr_assert_eq(fl_fixed_from_float(-FLT_MAX), -FL_FIXED_MAX);
	cr_assert_eq(fl_fixed_from_float(INFINITY), FL_FIXED_MAX);
	cr_assert_eq(fl_fixed_from_float(-INFINITY), -FL_FIXED_MAX);
	cr_assert_eq(fl_fixed_from_float(NAN), 0);
	cr_assert_eq(fl_fixed_from_float(-NAN), 0);
}

Test(fixed, to_float_is_one_rounding)
{
	cr_assert_eq(fl_fixed_to_float(ONE), 1.0f);
	cr_assert_eq(fl_fixed_to_float(-ONE), -1.0f);
	cr_assert_eq(fl_fixed_to_float(1), ldexpf(1, -FL_FIXED_FRAC));
	cr_assert_eq(fl_fixed_to_float(3), 3 * ldexpf(1, -FL_FIXED_FRAC));
	cr_assert_eq(fl_fixed_to_float(0), 0.0f);
	/* 1 + 2^-24 needs 25 bits: the tie goes to the even neighbour 1.0;
	 * 1 + 3·2^-24 lies halfway between 1 + 2^-23 and 1 + 2^-22 and goes
	 * to 1 + 2^-22 (even mantissa). */
	cr_assert_eq(fl_fixed_to_float(ONE + 1), 1.0f);
	cr_assert_eq(fl_fixed_to_float(ONE + 3), 1.0f + ldexpf(1, -22));
	cr_assert_eq(fl_fixed_to_float(FL_FIXED_MAX), 128.0f);
	cr_assert_eq(fl_fixed_to_float(-FL_FIXED_MAX), -128.0f);
}

Test(fixed, round_trips)
{
	/* Every q with |q| <= 2^24 is a float: it comes back exactly. */
	for (int32_t q = -ONE; q <= ONE; q += 4099)
		cr_assert_eq(fl_fixed_from_float(fl_fixed_to_float(q)), q);
	/* A float in range comes back within half a step (plus its own ulp
	 * for the dequantisation). */
	for (int i = -1000; i <= 1000; i++) {
		float x = (float)i * 0.0123457f;
		float back = fl_fixed_to_float(fl_fixed_from_float(x));

		cr_assert_leq(fabsf(back - x),
			      ldexpf(1, -FL_FIXED_FRAC - 1) + fabsf(x) * FLT_EPSILON,
			      "x=%g back=%g", x, back);
	}
}

/* ------------------------------------------------------------- updates */

static fl_spec small_spec(void)
{
	fl_spec s;

	cr_assert_eq(fl_spec_parse(&s, "4-3-2"), FL_OK);
	return s;
}

Test(update, from_models_quantises_the_difference)
{
	fl_spec spec = small_spec();
	fl_model base, local;
	fl_update u;

	cr_assert_eq(fl_model_init(&base, &spec, 7), FL_OK);
	cr_assert_eq(fl_model_copy(&local, &base), FL_OK);
	local.params[0] += 0.5f;
	local.params[1] -= 1.25f;
	local.params[2] = NAN;                      /* NaN quantises to 0 */
	local.params[3] = base.params[3] + 1000.0f; /* saturates */
	cr_assert_eq(fl_update_from_models(&u, &local, &base, 321), FL_OK);
	cr_assert_eq(u.n, fl_spec_params(&spec));
	cr_assert_eq(u.n_samples, 321);
	cr_assert_eq(u.q[2], 0);
	cr_assert_eq(u.q[3], FL_FIXED_MAX);
	for (size_t i = 0; i < u.n; i++) {
		if (i == 2 || i == 3)
			continue;
		double d = (double)local.params[i] - (double)base.params[i];

		cr_assert_eq(u.q[i], (int32_t)round(d * ONE), "i=%zu", i);
	}
	cr_assert_eq(u.q[4], 0);
	fl_update_free(&u);
	fl_update_free(&u); /* safe twice */
	fl_model_free(&local);
	fl_model_free(&base);
}

Test(update, from_models_rejects_mismatched_specs)
{
	fl_spec a = small_spec(), b;
	fl_model ma, mb;
	fl_update u;

	cr_assert_eq(fl_spec_parse(&b, "4-5-2"), FL_OK);
	cr_assert_eq(fl_model_new(&ma, &a), FL_OK);
	cr_assert_eq(fl_model_new(&mb, &b), FL_OK);
	cr_assert_eq(fl_update_from_models(&u, &ma, &mb, 1), FL_EINVAL);
	cr_assert_null(u.q);
	fl_model_free(&ma);
	fl_model_free(&mb);
}

Test(update, apply_adds_the_dequantised_delta)
{
	fl_spec spec = small_spec();
	fl_model base, out, other;
	int32_t *delta;
	size_t n;

	cr_assert_eq(fl_model_init(&base, &spec, 3), FL_OK);
	n = base.n_params;
	delta = calloc(n, sizeof(*delta));
	for (size_t i = 0; i < n; i++)
		delta[i] = (int32_t)(i * 1234567) - 9000000;
	delta[0] = FL_FIXED_MAX;

	/* Into a zeroed struct: allocated. */
	memset(&out, 0, sizeof(out));
	cr_assert_eq(fl_update_apply(&out, &base, delta), FL_OK);
	cr_assert_eq(out.n_params, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(out.params[i], base.params[i] + fl_fixed_to_float(delta[i]));
	cr_assert_eq(out.params[0], base.params[0] + 128.0f);

	/* In place gives the same bytes. */
	cr_assert_eq(fl_update_apply(&base, &base, delta), FL_OK);
	cr_assert_eq(memcmp(base.params, out.params, n * sizeof(float)), 0);

	/* Into a model of another spec: refused. */
	cr_assert_eq(fl_spec_parse(&spec, "4-4-2"), FL_OK);
	cr_assert_eq(fl_model_new(&other, &spec), FL_OK);
	cr_assert_eq(fl_update_apply(&other, &base, delta), FL_EINVAL);

	fl_model_free(&other);
	fl_model_free(&out);
	fl_model_free(&base);
	free(delta);
}

Test(update, apply_inverts_from_models_within_a_step)
{
	fl_spec spec = small_spec();
	fl_model base, local, back;
	fl_update u;

	cr_assert_eq(fl_model_init(&base, &spec, 11), FL_OK);
	cr_assert_eq(fl_model_init(&local, &spec, 12), FL_OK);
	cr_assert_eq(fl_update_from_models(&u, &local, &base, 5), FL_OK);
	memset(&back, 0, sizeof(back));
	cr_assert_eq(fl_update_apply(&back, &base, u.q), FL_OK);
	for (size_t i = 0; i < u.n; i++)
		cr_assert_leq(fabsf(back.params[i] - local.params[i]),
			      ldexpf(1, -FL_FIXED_FRAC) + 2 * FLT_EPSILON * fabsf(local.params[i]));
	fl_update_free(&u);
	fl_model_free(&back);
	fl_model_free(&local);
	fl_model_free(&base);
}

Test(update, from_models_under_allocation_failure)
{
	fl_spec spec = small_spec();
	fl_model base, local;
	fl_update u;

	cr_assert_eq(fl_model_init(&base, &spec, 1), FL_OK);
	cr_assert_eq(fl_model_init(&local, &spec, 2), FL_OK);
	fl_alloc_fail_after(1);
	cr_assert_eq(fl_update_from_models(&u, &local, &base, 1), FL_ENOMEM);
	cr_assert_null(u.q);
	fl_alloc_fail_after(0);
	fl_model_free(&local);
	fl_model_free(&base);
}
