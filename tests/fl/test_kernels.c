/*
 * The trainer's kernels (split from test_train.c): the forward product with
 * bias and ReLU fused, the input gradient with the ReLU mask fused, the
 * parameter gradient, and the SGD step, on the AVX2/FMA and portable paths.
 */
#include "fl/internal.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static void *xmalloc(size_t n)
{
	void *p = fl_malloc(n);

	cr_assert_not_null(p);
	return p;
}

/*
 * The AVX2 kernels and the portable (sgemm) path against a double-precision
 * reference, over shapes that exercise every tile and tail: rows not a
 * multiple of the row groups, widths not a multiple of 8 or 16, fewer than
 * 4 inputs. The tolerance scales with Σ|terms|, the bound on a float sum's
 * rounding error. Without AVX2 the _avx2 entry points run the portable
 * code, and the comparison still checks it.
 */
static const size_t kernel_rows[] = {1, 2, 3, 5, 6, 7, 10, 13, 64};
static const uint32_t kernel_dims[][2] = {{1, 1},   {3, 2},   {4, 8},    {5, 4},    {9, 17},
					  {16, 16}, {33, 31}, {200, 10}, {37, 200}, {784, 24}};

static float *random_floats(fl_rng *rng, size_t n)
{
	float *p = xmalloc((n ? n : 1) * sizeof(float));

	for (size_t i = 0; i < n; i++)
		p[i] = (float)(2.0 * fl_rng_uniform(rng) - 1.0);
	return p;
}

/* |got − want| within 1e-5 of the sum of the magnitudes that formed want. */
static void assert_close(float got, double want, double magnitude, const char *what, size_t b,
			 uint32_t in, uint32_t out, size_t i)
{
	cr_assert(fabs(got - want) <= 1e-5 * magnitude + 1e-30,
		  "%s b=%zu %ux%u at %zu: %.9g want %.9g", what, b, in, out, i, got, want);
}

Test(kernels, forward_matches_reference)
{
	fl_rng rng;

	fl_rng_seed(&rng, 31);
	cr_log_info("AVX2 kernels %s", fl_kernels_avx2_supported() ? "on" : "off (portable twice)");
	for (size_t bi = 0; bi < sizeof(kernel_rows) / sizeof(kernel_rows[0]); bi++)
		for (size_t di = 0; di < sizeof(kernel_dims) / sizeof(kernel_dims[0]); di++) {
			const size_t b = kernel_rows[bi];
			const uint32_t in = kernel_dims[di][0], out = kernel_dims[di][1];
			float *x = random_floats(&rng, b * in),
			      *w = random_floats(&rng, (size_t)in * out);
			float *bias = random_floats(&rng, out);
			float *y1 = xmalloc(b * out * sizeof(float)),
			      *y2 = xmalloc(b * out * sizeof(float));

			for (int relu = 0; relu <= 1; relu++) {
				const fl_activation act = relu ? FL_ACT_RELU : FL_ACT_NONE;

				fl_dense_forward_blas(y1, x, w, bias, b, in, out, act);
				fl_dense_forward_avx2(y2, x, w, bias, b, in, out, act);
				for (size_t i = 0; i < b; i++)
					for (uint32_t j = 0; j < out; j++) {
						double want = bias[j], mag = fabs(bias[j]);

						for (uint32_t k = 0; k < in; k++) {
							want += (double)x[i * in + k] *
								w[(size_t)k * out + j];
							mag += fabs((double)x[i * in + k] *
								    w[(size_t)k * out + j]);
						}
						if (relu && want < -1e-5 * mag) {
							/* Clearly negative: exactly zero. */
							cr_assert_eq(y1[i * out + j], 0.0f);
							cr_assert_eq(y2[i * out + j], 0.0f);
							continue;
						}
						if (relu && want < 1e-5 * mag)
							continue; /* rounding decides the sign */
						assert_close(y1[i * out + j], want, mag,
							     "forward blas", b, in, out,
							     i * out + j);
						assert_close(y2[i * out + j], want, mag,
							     "forward avx2", b, in, out,
							     i * out + j);
					}
			}
			fl_free(x);
			fl_free(w);
			fl_free(bias);
			fl_free(y1);
			fl_free(y2);
		}
}

Test(kernels, input_grad_matches_reference)
{
	fl_rng rng;

	fl_rng_seed(&rng, 32);
	for (size_t bi = 0; bi < sizeof(kernel_rows) / sizeof(kernel_rows[0]); bi++)
		for (size_t di = 0; di < sizeof(kernel_dims) / sizeof(kernel_dims[0]); di++) {
			const size_t b = kernel_rows[bi];
			const uint32_t in = kernel_dims[di][0], out = kernel_dims[di][1];
			float *dy = random_floats(&rng, b * out),
			      *w = random_floats(&rng, (size_t)in * out);
			float *x = random_floats(&rng, b * in);
			float *d1 = xmalloc(b * in * sizeof(float)),
			      *d2 = xmalloc(b * in * sizeof(float));

			for (size_t i = 0; i < b * in; i += 3)
				x[i] = 0.0f; /* a ReLU output of exactly 0 masks too */
			for (int relu = 0; relu <= 1; relu++) {
				const fl_activation act = relu ? FL_ACT_RELU : FL_ACT_NONE;

				fl_dense_input_grad_blas(d1, dy, w, x, b, in, out, act);
				fl_dense_input_grad_avx2(d2, dy, w, x, b, in, out, act);
				for (size_t i = 0; i < b; i++)
					for (uint32_t k = 0; k < in; k++) {
						const size_t at = i * in + k;
						double want = 0.0, mag = 0.0;

						if (relu && !(x[at] > 0.0f)) {
							cr_assert_eq(d1[at], 0.0f);
							cr_assert_eq(d2[at], 0.0f);
							continue;
						}
						for (uint32_t j = 0; j < out; j++) {
							want += (double)dy[i * out + j] *
								w[(size_t)k * out + j];
							mag += fabs((double)dy[i * out + j] *
								    w[(size_t)k * out + j]);
						}
						assert_close(d1[at], want, mag, "input grad blas",
							     b, in, out, at);
						assert_close(d2[at], want, mag, "input grad avx2",
							     b, in, out, at);
					}
			}
			fl_free(dy);
			fl_free(w);
			fl_free(x);
			fl_free(d1);
			fl_free(d2);
		}
}

Test(kernels, param_grad_matches_reference)
{
	const float alphas[3] = {1.0f, -0.05f, 1.0f}, betas[3] = {0.0f, 1.0f, 0.9f};
	fl_rng rng;

	fl_rng_seed(&rng, 33);
	for (size_t bi = 0; bi < sizeof(kernel_rows) / sizeof(kernel_rows[0]); bi++)
		for (size_t di = 0; di < sizeof(kernel_dims) / sizeof(kernel_dims[0]); di++) {
			const size_t b = kernel_rows[bi];
			const uint32_t in = kernel_dims[di][0], out = kernel_dims[di][1];
			const size_t np = (size_t)(in + 1) * out;
			float *x = random_floats(&rng, b * in), *dy = random_floats(&rng, b * out);
			float *p0 = random_floats(&rng, np), *p = xmalloc(np * sizeof(float));
			float *ones = xmalloc(b * sizeof(float));

			for (size_t i = 0; i < b; i++)
				ones[i] = 1.0f;
			for (int c = 0; c < 3; c++) {
				if (betas[c] == 0.0f)
					for (size_t i = 0; i < np; i++)
						p[i] = NAN; /* never read */
				else
					memcpy(p, p0, np * sizeof(float));
				fl_dense_param_grad(p, x, dy, ones, b, in, out, alphas[c],
						    betas[c]);
				for (uint32_t k = 0; k <= in; k++)
					for (uint32_t j = 0; j < out; j++) {
						const size_t at = (size_t)k * out + j;
						double sum = 0.0, mag = 0.0;

						for (size_t i = 0; i < b; i++) {
							/* Row `in` is the bias: an input of 1. */
							double xi = k < in ? x[i * in + k] : 1.0;
							sum += xi * dy[i * out + j];
							mag += fabs(xi * dy[i * out + j]);
						}
						double want =
						    alphas[c] * sum + betas[c] * (double)p0[at];
						mag = fabs(alphas[c]) * mag +
						      fabs(betas[c] * (double)p0[at]);
						assert_close(p[at], want, mag, "param grad", b, in,
							     out, at);
					}
			}
			fl_free(x);
			fl_free(dy);
			fl_free(p0);
			fl_free(p);
			fl_free(ones);
		}
}

Test(kernels, sgd_step_paths_agree)
{
	fl_rng rng;

	fl_rng_seed(&rng, 34);
	for (size_t n = 0; n < 40; n++)
		for (int prox = 0; prox <= 1; prox++) {
			float *w = random_floats(&rng, n), *v = random_floats(&rng, n);
			float *ref = random_floats(&rng, n);
			float *w2 = xmalloc((n + 1) * sizeof(float)),
			      *v2 = xmalloc((n + 1) * sizeof(float));
			const float lr = 0.1f, wd = 0.01f, mu = prox ? 0.5f : 0.0f;

			memcpy(w2, w, n * sizeof(float));
			memcpy(v2, v, n * sizeof(float));
			for (size_t i = 0; i < n; i++) {
				double g = (double)v[i] + wd * (double)w[i] +
					   (prox ? mu * ((double)w[i] - ref[i]) : 0.0);
				double wn = w[i] - lr * g;

				fl_sgd_step_portable(w + i, v + i, prox ? ref + i : NULL, 1, lr, wd,
						     mu);
				cr_assert_float_eq(v[i], g, 1e-6);
				cr_assert_float_eq(w[i], wn, 1e-6);
			}
			fl_sgd_step_avx2(w2, v2, prox ? ref : NULL, n, lr, wd, mu);
			for (size_t i = 0; i < n; i++) {
				cr_assert_float_eq(v2[i], v[i], 1e-6, "n=%zu prox=%d v[%zu]", n,
						   prox, i);
				cr_assert_float_eq(w2[i], w[i], 1e-6, "n=%zu prox=%d w[%zu]", n,
						   prox, i);
			}
			fl_free(w);
			fl_free(v);
			fl_free(ref);
			fl_free(w2);
			fl_free(v2);
		}
}
