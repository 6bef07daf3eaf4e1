/*
 * fl/kernels.c — the trainer's inner loops: the forward product
 * Y = act(X·W + b), the input gradient dX = (dY·Wᵀ) ⊙ ReLU mask, the
 * parameter gradient [dW; db] = [X | 1]ᵀ·dY folded into an update, and the
 * momentum / weight-decay / prox step.
 *
 * The forward, input-gradient and step loops have a portable path (sgemm
 * and plain C) and an AVX2/FMA path (kernels_avx2.c), chosen once per
 * process from the CPU's features. The parameter gradient stays on sgemm:
 * it is a large-M×N, small-K product with nothing to fuse but the update,
 * which sgemm's alpha and beta already do, and OpenBLAS's Haswell kernel
 * runs it at 70–100% of the FMA peak at batch 10 to 64.
 *
 * Paths compute the same sums in different orders, so they agree to float
 * rounding, not bit for bit. Training is thus reproducible on one machine
 * (and across thread counts) but not across CPUs with different kernels —
 * as with OpenBLAS itself, which picks its kernels by CPU too. Nothing a
 * validator recomputes depends on it.
 */
#include "fl/internal.h"

#include <cblas.h>
#include <pthread.h>
#include <string.h>

/* ------------------------------------------------------ portable paths */

/*
 * v when keep, else +0, without a branch: a ReLU's sign pattern is random,
 * and a mispredicted branch per element cost more than the sgemm around it.
 */
static inline float keep_if(float v, int keep)
{
	uint32_t bits;

	memcpy(&bits, &v, sizeof(bits));
	bits &= (uint32_t)0 - (uint32_t)(keep != 0);
	memcpy(&v, &bits, sizeof(v));
	return v;
}

void fl_dense_forward_blas(float *y, const float *x, const float *w, const float *bias, size_t b,
			   uint32_t in, uint32_t out, fl_activation act)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)out, (int)in, 1.0f, x,
		    (int)in, w, (int)out, 0.0f, y, (int)out);
	for (size_t i = 0; i < b; i++) {
		float *restrict r = y + i * out;

		if (act == FL_ACT_RELU) {
			for (uint32_t j = 0; j < out; j++) {
				const float v = r[j] + bias[j];

				r[j] = keep_if(v, v > 0.0f);
			}
		} else {
			for (uint32_t j = 0; j < out; j++)
				r[j] += bias[j];
		}
	}
}

void fl_dense_input_grad_blas(float *dx, const float *dy, const float *w, const float *x, size_t b,
			      uint32_t in, uint32_t out, fl_activation act)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)in, (int)out, 1.0f, dy,
		    (int)out, w, (int)out, 0.0f, dx, (int)in);
	if (act == FL_ACT_RELU) {
		const size_t n = b * in;

		for (size_t i = 0; i < n; i++)
			dx[i] = keep_if(dx[i], x[i] > 0.0f);
	}
}

void fl_sgd_step_portable(float *restrict w, float *restrict v, const float *restrict ref, size_t n,
			  float lr, float wd, float mu)
{
	if (ref != NULL) {
		for (size_t i = 0; i < n; i++) {
			const float g = v[i] + wd * w[i] + mu * (w[i] - ref[i]);

			v[i] = g;
			w[i] -= lr * g;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			const float g = v[i] + wd * w[i];

			v[i] = g;
			w[i] -= lr * g;
		}
	}
}

/* ------------------------------------------------------------ dispatch */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int have_avx2;

static void probe(void)
{
	have_avx2 = fl_kernels_avx2_supported();
}

static int use_avx2(void)
{
	pthread_once(&probe_once, probe);
	return have_avx2;
}

void fl_dense_forward(float *y, const float *x, const float *w, const float *bias, size_t b,
		      uint32_t in, uint32_t out, fl_activation act)
{
	if (use_avx2())
		fl_dense_forward_avx2(y, x, w, bias, b, in, out, act);
	else
		fl_dense_forward_blas(y, x, w, bias, b, in, out, act);
}

void fl_dense_input_grad(float *dx, const float *dy, const float *w, const float *x, size_t b,
			 uint32_t in, uint32_t out, fl_activation act)
{
	if (use_avx2())
		fl_dense_input_grad_avx2(dx, dy, w, x, b, in, out, act);
	else
		fl_dense_input_grad_blas(dx, dy, w, x, b, in, out, act);
}

void fl_dense_param_grad(float *p, const float *x, const float *dy, const float *ones, size_t b,
			 uint32_t in, uint32_t out, float alpha, float beta)
{
	/* W part, then the bias row as dYᵀ·1: sgemv is vectorised where a
	 * plain column-sum loop at -O2 is not. */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)in, (int)out, (int)b, alpha, x,
		    (int)in, dy, (int)out, beta, p, (int)out);
	/* BLAS says beta = 0 ignores y, but some OpenBLAS versions scale it by
	 * 0, which keeps a NaN from an uninitialised caller buffer. */
	if (beta == 0.0f)
		memset(p + (size_t)in * out, 0, out * sizeof(float));
	cblas_sgemv(CblasRowMajor, CblasTrans, (int)b, (int)out, alpha, dy, (int)out, ones, 1, beta,
		    p + (size_t)in * out, 1);
}

void fl_sgd_step(float *w, float *v, const float *ref, size_t n, float lr, float wd, float mu)
{
	if (use_avx2())
		fl_sgd_step_avx2(w, v, ref, n, lr, wd, mu);
	else
		fl_sgd_step_portable(w, v, ref, n, lr, wd, mu);
}
