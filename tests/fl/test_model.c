/*
 * Model parameters: allocation, He-uniform initialisation (deterministic
 * bytes, the documented range and variance), copies, failure paths.
 */
#include "fl/internal.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static fl_spec spec_of(const char *text)
{
	fl_spec s;

	cr_assert_eq(fl_spec_parse(&s, text), FL_OK, "spec %s", text);
	return s;
}

Test(model, new_is_zeroed_aligned_and_sized)
{
	fl_spec s = spec_of("784-200-200-10");
	fl_model m;

	cr_assert_eq(fl_model_new(&m, &s), FL_OK);
	cr_assert_eq(m.n_params, (size_t)784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10);
	cr_assert_eq(m.n_params, fl_spec_params(&s));
	cr_assert_eq((uintptr_t)m.params % 64, 0);
	for (size_t i = 0; i < m.n_params; i++)
		cr_assert_eq(m.params[i], 0.0f);
	cr_assert(fl_spec_equal(&m.spec, &s));
	fl_model_free(&m);
	cr_assert_null(m.params);
	cr_assert_eq(m.n_params, 0);
	fl_model_free(&m); /* safe twice, i.e. on a zeroed struct */
}

Test(model, init_is_deterministic)
{
	fl_spec s = spec_of("20-16-8-3");
	fl_model a, b, c;

	cr_assert_eq(fl_model_init(&a, &s, 42), FL_OK);
	cr_assert_eq(fl_model_init(&b, &s, 42), FL_OK);
	cr_assert_eq(fl_model_init(&c, &s, 43), FL_OK);
	cr_assert_eq(memcmp(a.params, b.params, a.n_params * sizeof(float)), 0);
	cr_assert_neq(memcmp(a.params, c.params, a.n_params * sizeof(float)), 0);
	fl_model_free(&a);
	fl_model_free(&b);
	fl_model_free(&c);
}

/* The first weight for a known seed, recomputed from the RNG directly: the
 * formula (2u − 1)·sqrt(6/fan_in), in double, in memory order. */
Test(model, init_formula)
{
	fl_spec s = spec_of("6-5-4");
	fl_model m;
	fl_rng rng;

	cr_assert_eq(fl_model_init(&m, &s, 7), FL_OK);
	fl_rng_seed(&rng, 7);
	for (uint32_t l = 0; l < s.n_layers; l++) {
		const float *w = m.params + fl_spec_layer_offset(&s, l);
		size_t n = (size_t)s.sizes[l] * s.sizes[l + 1];

		for (size_t i = 0; i < n; i++) {
			float want = (float)((2.0 * fl_rng_uniform(&rng) - 1.0) *
					     sqrt(6.0 / (double)s.sizes[l]));
			cr_assert_eq(w[i], want, "layer %u weight %zu", l, i);
		}
	}
	fl_model_free(&m);
}

Test(model, he_uniform_range_and_variance)
{
	fl_spec s = spec_of("784-200-200-10");
	fl_model m;

	cr_assert_eq(fl_model_init(&m, &s, 1), FL_OK);
	for (uint32_t l = 0; l < s.n_layers; l++) {
		const float *w = m.params + fl_spec_layer_offset(&s, l);
		const size_t n = (size_t)s.sizes[l] * s.sizes[l + 1];
		const double limit = sqrt(6.0 / s.sizes[l]);
		double sum = 0.0, sq = 0.0, lo = 0.0, hi = 0.0;

		for (size_t i = 0; i < n; i++) {
			cr_assert(fabs(w[i]) <= limit, "layer %u weight %zu = %g", l, i, w[i]);
			sum += w[i];
			sq += (double)w[i] * w[i];
			lo = w[i] < lo ? w[i] : lo;
			hi = w[i] > hi ? w[i] : hi;
		}
		/* U(−a, a): mean 0, variance a²/3 = 2/fan_in (He). */
		double mean = sum / n, var = sq / n - mean * mean;
		cr_assert(fabs(mean) < 0.05 * limit, "layer %u mean %g", l, mean);
		cr_assert(fabs(var / (2.0 / s.sizes[l]) - 1.0) < 0.1, "layer %u var %g", l, var);
		/* The draws reach close to both ends of the range. */
		cr_assert(lo < -0.9 * limit && hi > 0.9 * limit, "layer %u [%g, %g]", l, lo, hi);
		const float *b = w + n;
		for (uint32_t j = 0; j < s.sizes[l + 1]; j++)
			cr_assert_eq(b[j], 0.0f);
	}
	fl_model_free(&m);
}

Test(model, copy_is_equal_and_independent)
{
	fl_spec s = spec_of("10-7-3");
	fl_model a, b;

	cr_assert_eq(fl_model_init(&a, &s, 5), FL_OK);
	cr_assert_eq(fl_model_copy(&b, &a), FL_OK);
	cr_assert_eq(b.n_params, a.n_params);
	cr_assert(fl_spec_equal(&a.spec, &b.spec));
	cr_assert_neq(a.params, b.params);
	cr_assert_eq(memcmp(a.params, b.params, a.n_params * sizeof(float)), 0);
	b.params[0] += 1.0f;
	cr_assert_neq(a.params[0], b.params[0]);
	fl_model_free(&a);
	fl_model_free(&b);
}

Test(model, rejects_bad_specs)
{
	fl_spec s = spec_of("4-3-2");
	fl_model m;

	s.sizes[1] = 0;
	memset(&m, 0x5a, sizeof(m));
	cr_assert_eq(fl_model_new(&m, &s), FL_EINVAL);
	cr_assert_null(m.params);
	cr_assert_eq(fl_model_init(&m, &s, 1), FL_EINVAL);
	cr_assert_null(m.params);
	s = spec_of("4-3-2");
	s.act[1] = FL_ACT_RELU; /* the head takes raw logits */
	cr_assert_eq(fl_model_new(&m, &s), FL_EINVAL);
	fl_model_free(&m);
}

Test(model, spec_equal_ignores_unused_entries)
{
	fl_spec a = spec_of("4-3-2"), b = a;

	b.sizes[5] = 99;
	b.act[4] = FL_ACT_RELU;
	cr_assert(fl_spec_equal(&a, &b));
	b = a;
	b.act[0] = FL_ACT_NONE;
	cr_assert_not(fl_spec_equal(&a, &b));
	b = a;
	b.sizes[2] = 3;
	cr_assert_not(fl_spec_equal(&a, &b));
}

Test(model, aligned_floats)
{
	for (size_t n = 0; n < 40; n++) {
		float *p = fl_floats_alloc(n);

		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % FL_FLOAT_ALIGN, 0);
		for (size_t i = 0; i < n; i++)
			p[i] = (float)i; /* ASan checks the size */
		fl_floats_free(p);
	}
	cr_assert_null(fl_floats_alloc(SIZE_MAX / 2));
	fl_floats_free(NULL);
}

/* curl-style torture: fail allocation N for every N until the call
 * succeeds; each failure is FL_ENOMEM with a zeroed model (ASan: no leak). */
Test(model, alloc_torture)
{
	fl_spec s = spec_of("8-6-3");
	fl_model src, m;
	unsigned long n;
	int rc;

	cr_assert_eq(fl_model_init(&src, &s, 3), FL_OK);
	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_model_init(&m, &s, 3);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_null(m.params);
	}
	cr_assert_eq(memcmp(m.params, src.params, m.n_params * sizeof(float)), 0);
	fl_model_free(&m);
	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_model_copy(&m, &src);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_null(m.params);
	}
	fl_model_free(&m);
	fl_model_free(&src);
}
