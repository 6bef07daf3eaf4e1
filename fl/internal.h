/* fl/internal.h — shared between fl/ files only; never included outside fl/
 * (the fuzz targets and tests/fl may include it to reach the parsers). Each
 * area keeps its declarations in its own section. */
#ifndef FEDLEDGER_FL_INTERNAL_H
#define FEDLEDGER_FL_INTERNAL_H

#include "fl/fl.h"

/* ------------------------------------------------- data (idx.c, csv.c) */

/* Largest pixel payload an IDX images file may declare (n·rows·cols bytes),
 * and the largest file the reader will read: that payload, its header, and
 * room for gzip's framing of incompressible data. */
#define FL_IDX_MAX_PIXELS ((uint64_t)1 << 31)
#define FL_IDX_MAX_FILE   ((size_t)FL_IDX_MAX_PIXELS + ((size_t)FL_IDX_MAX_PIXELS >> 10) + 4096)

/*
 * The IDX parser behind fl_dataset_load_idx, on whole files in memory: each
 * buffer is raw IDX or a single gzip member of it (detected by 1f 8b). The
 * output is bounded by the header's dimensions, never by what the
 * compressed stream would produce. FL_ECORRUPT for a malformed, truncated or
 * overlong file, FL_ETOOBIG for dimensions over the limits, FL_EINVAL for a
 * bad n_classes, FL_ENOMEM. out is zeroed on failure.
 */
int fl_idx_parse_buffer(fl_dataset *out, const uint8_t *images, size_t images_len,
			const uint8_t *labels, size_t labels_len, uint32_t n_classes) FL_MUST_CHECK;

/* Limits of the CSV reader. */
#define FL_CSV_MAX_FILE  ((size_t)1 << 30)
#define FL_CSV_MAX_LINE  ((size_t)1 << 20)
#define FL_CSV_MAX_FIELD 64

/*
 * The CSV parser behind fl_dataset_load_csv, on text that need not be
 * NUL-terminated; `name` prefixes the line numbers in log messages.
 * FL_EPARSE (logged with the line), FL_EINVAL for a bad n_classes,
 * FL_ENOMEM. out is zeroed on failure.
 */
int fl_csv_parse_buffer(fl_dataset *out, const char *text, size_t len, uint32_t n_classes,
			const char *name) FL_MUST_CHECK;

/* ------------- models and training (model.c, train.c, eval.c, kernels.c,
 * kernels_avx2.c) */

/* Alignment of every parameter and workspace vector: one cache line, and a
 * whole number of AVX/AVX-512 vectors. */
#define FL_FLOAT_ALIGN 64

/*
 * n floats, FL_FLOAT_ALIGN-aligned, through fl_malloc (so the failure hook
 * reaches it); NULL on failure or overflow. Free only with fl_floats_free:
 * fl_model.params comes from here, so a model's params must be allocated by
 * fl_model_new (or this function) and released by fl_model_free, never by
 * fl_free.
 */
float *fl_floats_alloc(size_t n);
void fl_floats_free(float *p);

/*
 * The trainer's workspace (train.c; eval.c reads it). One block of aligned
 * floats holds every buffer, sized for max_batch once, so a training step
 * never allocates.
 */
struct fl_trainer {
	fl_spec spec;
	uint32_t max_batch;
	uint32_t max_width;   /* widest layer output, the size of dy rows */
	size_t n_params;
	size_t offset[FL_MAX_LAYERS]; /* fl_spec_layer_offset, precomputed */
	/* act[0]: a gathered input batch; act[l]: output of layer l-1 after its
	 * activation (the last one holds the logits). */
	float *act[FL_MAX_LAYERS + 1];
	float *dy[2];     /* ping-pong gradients w.r.t. a layer's pre-activation output */
	float *ones;      /* max_batch ones: the bias gradient is dYᵀ·1 */
	float *velocity;  /* SGD momentum, n_params */
	uint16_t *labels; /* a gathered label batch */
	float *block;     /* the allocation behind the float buffers */
};

/* Logits of b <= max_batch samples x (row-major, b·sizes[0]) under params;
 * the result lives in t's workspace until the next pass. */
const float *fl_trainer_forward(fl_trainer *t, const float *params, const float *x, size_t b);

/*
 * The trainer's inner loops (kernels.c, kernels_avx2.c). Matrices are
 * row-major and dense: X [b×in], W [in×out], Y and dY [b×out], dX [b×in].
 *
 * fl_dense_forward: Y = act(X·W + bias).
 * fl_dense_input_grad: dX = dY·Wᵀ, zeroed where x <= 0 when act is RELU
 *   (x being that ReLU's output, i.e. this layer's input).
 * fl_dense_param_grad: P ← alpha·[X | 1]ᵀ·dY + beta·P, where P is a layer's
 *   parameters as laid out in fl.h (W [in×out], then bias [out]) and ones
 *   holds b ones; beta = 0 does not read P. With alpha = −lr, beta = 1 it
 *   is a plain SGD step; with alpha = 1, beta = momentum it updates the
 *   velocity.
 * fl_sgd_step: g = v + wd·w + mu·(w − ref) (no prox term if ref is NULL),
 *   v ← g, w ← w − lr·g, over n floats.
 *
 * Each dispatches to its AVX2/FMA version when the CPU has it, else to the
 * portable one (sgemm and plain C). Both are exposed so that tests can
 * compare them; call an _avx2 function only when
 * fl_kernels_avx2_supported() (elsewhere it falls back to the portable one).
 */
void fl_dense_forward(float *y, const float *x, const float *w, const float *bias, size_t b,
		      uint32_t in, uint32_t out, fl_activation act);
void fl_dense_input_grad(float *dx, const float *dy, const float *w, const float *x, size_t b,
			 uint32_t in, uint32_t out, fl_activation act);
void fl_dense_param_grad(float *p, const float *x, const float *dy, const float *ones, size_t b,
			 uint32_t in, uint32_t out, float alpha, float beta);
void fl_sgd_step(float *w, float *v, const float *ref, size_t n, float lr, float wd, float mu);

int fl_kernels_avx2_supported(void);
void fl_dense_forward_blas(float *y, const float *x, const float *w, const float *bias, size_t b,
			   uint32_t in, uint32_t out, fl_activation act);
void fl_dense_forward_avx2(float *y, const float *x, const float *w, const float *bias, size_t b,
			   uint32_t in, uint32_t out, fl_activation act);
void fl_dense_input_grad_blas(float *dx, const float *dy, const float *w, const float *x,
			      size_t b, uint32_t in, uint32_t out, fl_activation act);
void fl_dense_input_grad_avx2(float *dx, const float *dy, const float *w, const float *x,
			      size_t b, uint32_t in, uint32_t out, fl_activation act);
void fl_sgd_step_portable(float *w, float *v, const float *ref, size_t n, float lr, float wd,
			  float mu);
void fl_sgd_step_avx2(float *w, float *v, const float *ref, size_t n, float lr, float wd,
		      float mu);

/*
 * Cross-entropy of one row of logits z[0..k) against label y, stable
 * (log-sum-exp around the largest logit), summed in double. *argmax gets
 * the first largest logit; p, if not NULL, the k softmax probabilities.
 */
double fl_xent_row(const float *z, uint32_t k, uint32_t y, uint32_t *argmax, float *p);

/* ------------- fixed point, aggregation, blobs (fixed.c, update.c, aggregate.c,
 *               agg_*.c, momentum.c, blob.c) */

/* GCC's 128-bit integers; __extension__ keeps -std=c11 -Wpedantic quiet. */
__extension__ typedef __int128 fl_i128;
__extension__ typedef unsigned __int128 fl_u128;

/* fl_fixed_from_float of a double: the same rounding and saturation. */
int32_t fl_fixed_from_double(double x);

/* m/d rounded to nearest, halves up (d > 0): with the sign applied outside,
 * this is the "half away from zero" rounding of every fixed-point mean. */
static inline uint64_t fl_udiv_round(uint64_t m, uint64_t d)
{
	uint64_t q = m / d, r = m % d;

	return q + (r >= d - r);
}

/* a/d rounded half away from zero (d > 0). */
static inline int64_t fl_div_round(int64_t a, uint64_t d)
{
	uint64_t m = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
	uint64_t q = fl_udiv_round(m, d);

	return a < 0 ? -(int64_t)q : (int64_t)q;
}

/*
 * round(a / w) half away from zero, for integers |a| < 2^52 and 0 < w < 2^21
 * with |a / w| <= 2^31, from one IEEE division: a/w is correctly rounded,
 * and the exact quotient t is either a half-integer (33 bits: the division
 * returns it exactly) or at least 1/(2w) > 2^-22 away from every
 * half-integer, while the division's error is at most half an ulp of
 * |t| <= 2^31, i.e. <= 2^-22. So the computed quotient lies on the same side
 * of every half-integer as t, and adding ±0.5 (exact at that magnitude)
 * then truncating rounds it as the integers would. Branch-free, since the
 * signs of update values are random.
 */
static inline int32_t fl_quotient_exact(double a, double w)
{
	double t = a / w;

	return (int32_t)(t + __builtin_copysign(0.5, t));
}

/* The most threads (coordinate chunks) one aggregation uses. */
#define FL_AGG_MAX_PARTS 64

/*
 * One aggregation in progress, shared by the rules' kernels. Each kernel
 * splits [0, n_params) into `parts` contiguous chunks run on pthreads; a
 * coordinate's result never depends on the chunking, and cross-coordinate
 * sums (norms, distances) are exact integers added in a fixed order, so
 * the output is the same for any thread count.
 */
typedef struct {
	const fl_update *const *u;
	size_t n;             /* inputs */
	size_t n_params;
	unsigned parts;       /* 1..FL_AGG_MAX_PARTS */
	const uint64_t *w;    /* per input weight, < 2^31; 0 = left out of means */
	/* NORM_BOUND: input i contributes round(q·scale_num[i]/scale_den[i])
	 * where scale_den[i] != 0; NULL = every input as is. */
	const uint64_t *scale_num;
	const uint64_t *scale_den;
	uint32_t trim;        /* TRIMMED: values dropped from each end */
	int32_t *out;         /* n_params */
} fl_agg_job;

/* Runs fn(ctx, lo, hi, part) over `parts` contiguous chunks of [0, n),
 * chunk 0 on the calling thread. If a thread cannot start, its chunk runs
 * on the caller afterwards: slower, same result. */
typedef void (*fl_agg_range_fn)(void *ctx, size_t lo, size_t hi, unsigned part);
void fl_agg_run(size_t n, unsigned parts, fl_agg_range_fn fn, void *ctx);

/* Weighted mean of the inputs with w != 0 (after scaling) into job->out.
 * FL_EINVAL if every weight is 0, FL_ENOMEM. */
int fl_agg_mean(const fl_agg_job *job) FL_MUST_CHECK;
/* Coordinate-wise median (trim ignored) or trimmed mean into job->out. */
int fl_agg_sorted(const fl_agg_job *job, int median) FL_MUST_CHECK;
/* Multi-Krum selection: sets w[i] = 0 for the f inputs not selected. */
int fl_agg_krum_select(uint64_t *w, const fl_agg_job *job, uint32_t f) FL_MUST_CHECK;
/* Norm bounding: den[i] = floor(L2 norm of input i) and num[i] = bound for
 * the inputs whose norm exceeds bound, den[i] = 0 for the others. */
int fl_agg_norm_scales(uint64_t *num, uint64_t *den, const fl_agg_job *job,
		       uint64_t bound) FL_MUST_CHECK;
/* Floor of the square root of x. */
uint64_t fl_isqrt_u128(fl_u128 x);

#endif
