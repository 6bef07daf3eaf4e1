/*
 * tools/bench_trainer.c — the `trainer` suite: single-thread sgemm GFLOP/s
 * (the peak on a large square product, and the shapes the MLP's first layer
 * runs), then fl_train samples/s for 784-200-200-10 at batch 10 and 64 with
 * its FLOP rate as a fraction of that peak.
 *
 * Training FLOPs per sample count only the matrix products, per dense layer
 * l with W_l = in_l · out_l weights:
 *   forward Y = X·W           2·W_l
 *   weight gradient X^T·dY    2·W_l
 *   input gradient dY·W^T     2·W_l, for every layer but the first (nothing
 *                             needs the gradient of the input pixels)
 * i.e. 4·ΣW_l + 2·Σ_{l≥1} W_l; 879,200 for 784-200-200-10. Biases, ReLU,
 * softmax and the SGD step are O(parameters + activations) and left out, so
 * the ratio slightly understates the work done.
 */
#include "tools/bench.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

#define SUITE      "trainer"
#define PEAK_NAME  "sgemm_1024x1024x1024_gflops"
#define TRAIN_SPEC "784-200-200-10"

uint64_t bench_train_flops(const fl_spec *spec)
{
	uint64_t flops = 0;

	for (uint32_t l = 0; l < spec->n_layers; l++) {
		uint64_t w = (uint64_t)spec->sizes[l] * spec->sizes[l + 1];

		flops += (l == 0 ? 4 : 6) * w;
	}
	return flops;
}

typedef struct {
	int m, n, k;
	float *a, *b, *c;
} gemm_job;

static int gemm_call(void *ctx)
{
	gemm_job *g = ctx;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->m, g->n, g->k, 1.0f, g->a, g->k,
		    g->b, g->n, 0.0f, g->c, g->n);
	return FL_OK;
}

/* GFLOP/s of C[m×n] = A[m×k]·B[k×n]. */
static int measure_gemm(const bench_ctx *b, int m, int n, int k, double *gflops)
{
	bench_plan plan = {b->quick ? 1 : 3, b->quick ? 2 : 100000, b->quick ? 0.0 : 0.3};
	gemm_job g = {m, n, k, NULL, NULL, NULL};
	size_t sa = (size_t)m * k, sb = (size_t)k * n, sc = (size_t)m * n;
	fl_rng rng;
	double s;
	int rc = FL_ENOMEM;

	g.a = fl_malloc(sa * sizeof(float));
	g.b = fl_malloc(sb * sizeof(float));
	g.c = fl_malloc(sc * sizeof(float));
	if (g.a == NULL || g.b == NULL || g.c == NULL)
		goto cleanup;
	fl_rng_seed(&rng, 1);
	for (size_t i = 0; i < sa; i++)
		g.a[i] = (float)fl_rng_uniform(&rng) - 0.5f;
	for (size_t i = 0; i < sb; i++)
		g.b[i] = (float)fl_rng_uniform(&rng) - 0.5f;
	rc = bench_time(&s, &plan, gemm_call, &g);
	if (rc == FL_OK)
		*gflops = 2.0 * m * n * k / s / 1e9;
cleanup:
	fl_free(g.a);
	fl_free(g.b);
	fl_free(g.c);
	return rc;
}

typedef struct {
	fl_trainer *trainer;
	fl_model *model;
	const fl_dataset *data;
	const uint32_t *idx;
	size_t n;
	fl_train_params tp;
	fl_rng rng;
} train_job;

static int train_call(void *ctx)
{
	train_job *j = ctx;
	fl_train_stats stats;

	return fl_train(j->trainer, j->model, j->data, j->idx, j->n, &j->tp, NULL, &j->rng, &stats);
}

/* One epoch over the data at `batch`, best of 3: samples/s. */
static int measure_train(const bench_ctx *b, const fl_spec *spec, const fl_dataset *d,
			 const uint32_t *idx, uint32_t batch, double *samples_per_s)
{
	bench_plan plan = {b->quick ? 1 : 3, 1, 0.0};
	train_job j = {NULL, NULL, d, idx, d->n, {1, batch, 0.05f, 0.0f, 0.0f, 0.0f}, {{0}}};
	fl_model model = {0};
	double s;
	int rc;

	rc = fl_model_init(&model, spec, 1);
	if (rc == FL_OK)
		rc = fl_trainer_new(&j.trainer, spec, batch);
	if (rc < 0)
		goto cleanup;
	j.model = &model;
	fl_rng_seed(&j.rng, 1);
	rc = bench_time(&s, &plan, train_call, &j);
	if (rc == FL_OK)
		*samples_per_s = (double)d->n / s;
cleanup:
	fl_trainer_free(j.trainer);
	fl_model_free(&model);
	return rc;
}

static int gemm_figures(bench_ctx *b, double *peak)
{
	static const int shapes[][3] = {{64, 200, 784}, {10, 200, 784}};
	char name[64];
	double g;
	int rc;

	rc = measure_gemm(b, 1024, 1024, 1024, peak);
	if (rc < 0)
		return rc;
	bench_emit(b, &(bench_figure){SUITE, PEAK_NAME, *peak, "GFLOP/s", PEAK_NAME, *peak, 1.0});
	for (size_t i = 0; i < FL_ARRAY_LEN(shapes); i++) {
		rc = measure_gemm(b, shapes[i][0], shapes[i][1], shapes[i][2], &g);
		if (rc < 0)
			return rc;
		/* m×k·k×n named as the layer sees it: batch × inputs × outputs. */
		snprintf(name, sizeof(name), "sgemm_%dx%dx%d_gflops", shapes[i][0], shapes[i][2],
			 shapes[i][1]);
		bench_emit(b,
			   &(bench_figure){SUITE, name, g, "GFLOP/s", PEAK_NAME, *peak, g / *peak});
	}
	return FL_OK;
}

int bench_suite_trainer(bench_ctx *b)
{
	static const uint32_t batches[] = {10, 64};
	size_t n = b->quick ? 2000 : 20000;
	fl_dataset data = {0};
	uint32_t *idx = NULL;
	double peak = 0, sps = 0;
	char name[64];
	fl_spec spec;
	int rc;

	/* Single-threaded kernels, as fl_trainer uses them (fl/fl.h). */
	openblas_set_num_threads(1);
	rc = fl_spec_parse(&spec, TRAIN_SPEC);
	if (rc < 0)
		return rc;
	rc = gemm_figures(b, &peak);
	if (rc < 0)
		return rc;

	/* Synthetic data: the speed of dense layers does not depend on the
	 * values, and it keeps the suite independent of installed datasets. */
	rc = fl_dataset_synthetic(&data, n, spec.sizes[0], spec.sizes[spec.n_layers], 1);
	if (rc < 0)
		goto cleanup;
	idx = fl_malloc(n * sizeof(*idx));
	if (idx == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	for (size_t i = 0; i < FL_ARRAY_LEN(batches); i++) {
		double gflops;

		rc = measure_train(b, &spec, &data, idx, batches[i], &sps);
		if (rc < 0)
			goto cleanup;
		gflops = sps * (double)bench_train_flops(&spec) / 1e9;
		snprintf(name, sizeof(name), "train_%s_b%u", TRAIN_SPEC, batches[i]);
		/* The ratio of a samples/s figure is its FLOP rate over the peak. */
		bench_emit(b, &(bench_figure){SUITE, name, sps, "samples/s", PEAK_NAME, peak,
					      gflops / peak});
		snprintf(name, sizeof(name), "train_%s_b%u_gflops", TRAIN_SPEC, batches[i]);
		bench_emit(b, &(bench_figure){SUITE, name, gflops, "GFLOP/s", PEAK_NAME, peak,
					      gflops / peak});
	}
cleanup:
	fl_free(idx);
	fl_dataset_free(&data);
	return rc;
}
