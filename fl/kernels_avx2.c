/*
 * fl/kernels_avx2.c — AVX2/FMA versions of the trainer's loops (kernels.c
 * says which and when; tests/fl/test_train.c checks each against the
 * portable path): the two dense-layer products whose OpenBLAS form is
 * slowest at the trainer's batch sizes, and the momentum step.
 *
 * Why hand-written: with a batch of 10 rows, sgemm spends about as long
 * packing W (157k floats for 784×200) as multiplying by it, and then needs
 * separate passes for the bias, the ReLU and its mask. These kernels read W
 * where it lies, keep a tile of outputs in registers for the whole inner
 * product, and apply bias/ReLU or the ReLU mask on the way out, reaching
 * ~90% of the FMA peak at batch 10 where sgemm gets ~50%.
 *
 * Compiled for any x86-64 through target attributes (no global -mavx2), and
 * only called after a runtime CPU check. Loads are unaligned (row strides
 * such as 784 floats are not multiples of 8); a row's tail goes through
 * masked loads and stores, which never touch the masked-off lanes.
 */
#include "fl/internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define AVX2_FN __attribute__((target("avx2,fma")))
#define TILE_FN static inline __attribute__((always_inline, target("avx2,fma")))

int fl_kernels_avx2_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* Lanes [0, n) set, n clamped to 0..8. */
TILE_FN __m256i lane_mask(long n)
{
	static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

	n = n < 0 ? 0 : n > 8 ? 8 : n;
	return _mm256_loadu_si256((const __m256i *)(bits + 8 - n));
}

/* ------------------------------------------------------------ forward */

/*
 * Rows x 16 columns of Y = X·W + bias (then ReLU): 2·R accumulators start at
 * the bias and stay in registers over all of K; per k, two loads of W's row
 * and one broadcast of X per row feed 2·R FMAs. R <= 6 keeps 12
 * accumulators + 2 W vectors + 1 broadcast within the 16 ymm registers.
 * `rows` is a compile-time constant at every call, so the loops unroll and
 * the arrays become registers.
 */
TILE_FN void forward_tile(float *y, const float *x, const float *w, const float *bias, int rows,
			  uint32_t in, uint32_t out, int relu, int masked, __m256i m0, __m256i m1)
{
	__m256 a0[6], a1[6];
	const __m256 b0 = masked ? _mm256_maskload_ps(bias, m0) : _mm256_loadu_ps(bias);
	const __m256 b1 = masked ? _mm256_maskload_ps(bias + 8, m1) : _mm256_loadu_ps(bias + 8);

#pragma GCC unroll 6
	for (int r = 0; r < rows; r++) {
		a0[r] = b0;
		a1[r] = b1;
	}
	for (uint32_t k = 0; k < in; k++) {
		const float *wk = w + (size_t)k * out;
		const __m256 w0 = masked ? _mm256_maskload_ps(wk, m0) : _mm256_loadu_ps(wk);
		const __m256 w1 = masked ? _mm256_maskload_ps(wk + 8, m1) : _mm256_loadu_ps(wk + 8);

#pragma GCC unroll 6
		for (int r = 0; r < rows; r++) {
			const __m256 xv = _mm256_broadcast_ss(x + (size_t)r * in + k);

			a0[r] = _mm256_fmadd_ps(xv, w0, a0[r]);
			a1[r] = _mm256_fmadd_ps(xv, w1, a1[r]);
		}
	}
#pragma GCC unroll 6
	for (int r = 0; r < rows; r++) {
		float *yr = y + (size_t)r * out;
		__m256 v0 = a0[r], v1 = a1[r];

		if (relu) {
			/* max(v, 0) with v first: NaN gives 0, like v > 0 ? v : 0. */
			v0 = _mm256_max_ps(v0, _mm256_setzero_ps());
			v1 = _mm256_max_ps(v1, _mm256_setzero_ps());
		}
		if (masked) {
			_mm256_maskstore_ps(yr, m0, v0);
			_mm256_maskstore_ps(yr + 8, m1, v1);
		} else {
			_mm256_storeu_ps(yr, v0);
			_mm256_storeu_ps(yr + 8, v1);
		}
	}
}

/* One column strip for every row group, with `rows` fixed per group. */
#define FORWARD_GROUP(masked)                                                                      \
	switch (rows) {                                                                            \
	case 6:                                                                                    \
		forward_tile(yy, xx, w + j, bias + j, 6, in, out, relu, masked, m0, m1);           \
		break;                                                                             \
	case 5:                                                                                    \
		forward_tile(yy, xx, w + j, bias + j, 5, in, out, relu, masked, m0, m1);           \
		break;                                                                             \
	case 4:                                                                                    \
		forward_tile(yy, xx, w + j, bias + j, 4, in, out, relu, masked, m0, m1);           \
		break;                                                                             \
	case 3:                                                                                    \
		forward_tile(yy, xx, w + j, bias + j, 3, in, out, relu, masked, m0, m1);           \
		break;                                                                             \
	case 2:                                                                                    \
		forward_tile(yy, xx, w + j, bias + j, 2, in, out, relu, masked, m0, m1);           \
		break;                                                                             \
	default:                                                                                   \
		forward_tile(yy, xx, w + j, bias + j, 1, in, out, relu, masked, m0, m1);           \
		break;                                                                             \
	}

AVX2_FN void fl_dense_forward_avx2(float *y, const float *x, const float *w, const float *bias,
				   size_t b, uint32_t in, uint32_t out, fl_activation act)
{
	const int relu = act == FL_ACT_RELU;
	/* Row groups of at most 6, as even as possible (10 = 5 + 5, not 6 + 4),
	 * so no group runs with too few accumulators to hide FMA latency. */
	const size_t groups = (b + 5) / 6, per = (b + groups - 1) / groups;

	for (uint32_t j = 0; j < out; j += 16) {
		const long left = (long)out - (long)j;
		const __m256i m0 = lane_mask(left), m1 = lane_mask(left - 8);

		for (size_t r0 = 0; r0 < b; r0 += per) {
			const int rows = (int)(b - r0 < per ? b - r0 : per);
			float *yy = y + r0 * out + j;
			const float *xx = x + r0 * in;

			if (left >= 16) {
				FORWARD_GROUP(0)
			} else {
				FORWARD_GROUP(1)
			}
		}
	}
}

/* ---------------------------------------------------- backward (input) */

/* The four horizontal sums of a, b, c, d, in that order. */
TILE_FN __m128 sum4(__m256 a, __m256 b, __m256 c, __m256 d)
{
	const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));

	return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

/*
 * dX[r][k..k+4) for `rows` (1 or 2) rows r: dot products of dY's row r with
 * W's rows k..k+4, both contiguous, 8 lanes at a time, reduced at the end.
 * 4 W rows × 2 dY rows = 8 accumulators + 4 W vectors + 1 dY vector: a
 * larger tile would spill an accumulator to the stack, and the spill's
 * store-to-load latency would then serialise the loop.
 */
TILE_FN void input_grad_tile(float *dx, const float *dy, const float *w, const float *x, int rows,
			     uint32_t in, uint32_t out, int relu)
{
	__m256 acc[2][4];
	const float *w1 = w + out, *w2 = w + 2 * (size_t)out, *w3 = w + 3 * (size_t)out;
	uint32_t n = 0;

#pragma GCC unroll 2
	for (int r = 0; r < rows; r++)
		for (int q = 0; q < 4; q++)
			acc[r][q] = _mm256_setzero_ps();
	for (; n + 8 <= out; n += 8) {
		const __m256 v0 = _mm256_loadu_ps(w + n), v1 = _mm256_loadu_ps(w1 + n);
		const __m256 v2 = _mm256_loadu_ps(w2 + n), v3 = _mm256_loadu_ps(w3 + n);

#pragma GCC unroll 2
		for (int r = 0; r < rows; r++) {
			const __m256 d = _mm256_loadu_ps(dy + (size_t)r * out + n);

			acc[r][0] = _mm256_fmadd_ps(d, v0, acc[r][0]);
			acc[r][1] = _mm256_fmadd_ps(d, v1, acc[r][1]);
			acc[r][2] = _mm256_fmadd_ps(d, v2, acc[r][2]);
			acc[r][3] = _mm256_fmadd_ps(d, v3, acc[r][3]);
		}
	}
	if (n < out) {
		/* Masked-off lanes load as 0 and add nothing. */
		const __m256i m = lane_mask((long)(out - n));
		const __m256 v0 = _mm256_maskload_ps(w + n, m), v1 = _mm256_maskload_ps(w1 + n, m);
		const __m256 v2 = _mm256_maskload_ps(w2 + n, m), v3 = _mm256_maskload_ps(w3 + n, m);

#pragma GCC unroll 2
		for (int r = 0; r < rows; r++) {
			const __m256 d = _mm256_maskload_ps(dy + (size_t)r * out + n, m);

			acc[r][0] = _mm256_fmadd_ps(d, v0, acc[r][0]);
			acc[r][1] = _mm256_fmadd_ps(d, v1, acc[r][1]);
			acc[r][2] = _mm256_fmadd_ps(d, v2, acc[r][2]);
			acc[r][3] = _mm256_fmadd_ps(d, v3, acc[r][3]);
		}
	}
#pragma GCC unroll 2
	for (int r = 0; r < rows; r++) {
		__m128 s = sum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);

		if (relu) {
			const __m128 xv = _mm_loadu_ps(x + (size_t)r * in);

			s = _mm_and_ps(s, _mm_cmpgt_ps(xv, _mm_setzero_ps()));
		}
		_mm_storeu_ps(dx + (size_t)r * in, s);
	}
}

AVX2_FN void fl_dense_input_grad_avx2(float *dx, const float *dy, const float *w, const float *x,
				      size_t b, uint32_t in, uint32_t out, fl_activation act)
{
	const int relu = act == FL_ACT_RELU;
	uint32_t k = 0;

	/* k outer: the 4 W rows of a tile stay in L1 while every dY row pair
	 * passes over them. */
	for (; k + 4 <= in; k += 4) {
		const float *wk = w + (size_t)k * out;

		for (size_t r = 0; r < b; r += 2) {
			float *d = dx + r * in + k;
			const float *dyr = dy + r * out, *xr = x + r * in + k;

			if (b - r >= 2)
				input_grad_tile(d, dyr, wk, xr, 2, in, out, relu);
			else
				input_grad_tile(d, dyr, wk, xr, 1, in, out, relu);
		}
	}
	/* At most 3 leftover inputs: plain dot products. */
	for (; k < in; k++)
		for (size_t r = 0; r < b; r++) {
			const float *wk = w + (size_t)k * out, *dyr = dy + r * out;
			float s = 0.0f;

			for (uint32_t n = 0; n < out; n++)
				s += dyr[n] * wk[n];
			dx[r * in + k] = relu && !(x[r * in + k] > 0.0f) ? 0.0f : s;
		}
}

/* ------------------------------------------------------ momentum step */

/* fl_sgd_step_portable's loop, 8 lanes at a time (GCC's -O2 leaves the
 * portable loop scalar, and it runs over every parameter each step). */
AVX2_FN void fl_sgd_step_avx2(float *w, float *v, const float *ref, size_t n, float lr, float wd,
			      float mu)
{
	const __m256 vlr = _mm256_set1_ps(lr), vwd = _mm256_set1_ps(wd), vmu = _mm256_set1_ps(mu);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		const __m256 wi = _mm256_loadu_ps(w + i);
		__m256 g = _mm256_fmadd_ps(vwd, wi, _mm256_loadu_ps(v + i));

		if (ref != NULL)
			g = _mm256_fmadd_ps(vmu, _mm256_sub_ps(wi, _mm256_loadu_ps(ref + i)), g);
		_mm256_storeu_ps(v + i, g);
		_mm256_storeu_ps(w + i, _mm256_fnmadd_ps(vlr, g, wi));
	}
	if (i < n)
		fl_sgd_step_portable(w + i, v + i, ref != NULL ? ref + i : NULL, n - i, lr, wd, mu);
}

#else /* not x86-64 with GCC or clang */

int fl_kernels_avx2_supported(void)
{
	return 0;
}

void fl_dense_forward_avx2(float *y, const float *x, const float *w, const float *bias, size_t b,
			   uint32_t in, uint32_t out, fl_activation act)
{
	fl_dense_forward_blas(y, x, w, bias, b, in, out, act);
}

void fl_dense_input_grad_avx2(float *dx, const float *dy, const float *w, const float *x, size_t b,
			      uint32_t in, uint32_t out, fl_activation act)
{
	fl_dense_input_grad_blas(dx, dy, w, x, b, in, out, act);
}

void fl_sgd_step_avx2(float *w, float *v, const float *ref, size_t n, float lr, float wd, float mu)
{
	fl_sgd_step_portable(w, v, ref, n, lr, wd, mu);
}

#endif
