/*
 * tools/bench_aggregate.c — the `aggregate` suite: memcpy bandwidth on a
 * buffer larger than the last-level cache as the baseline, then
 * fl_aggregate of 10 updates of 199,210 parameters (784-200-200-10) per
 * rule, in GB/s of update input read (10 · 199,210 · 4 bytes per call).
 *
 * The memcpy figure counts the bytes copied (each read once and written
 * once). The updates (8 MB) fit in a 32 MB L3, so repeated aggregation reads
 * them from cache: a ratio above 1 is possible and says the rule is not the
 * bottleneck, not that it beats DRAM.
 */
#include "tools/bench.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SUITE       "aggregate"
#define COPY_NAME   "memcpy_gbps"
#define AGG_SPEC    "784-200-200-10"
#define AGG_UPDATES 10

typedef struct {
	uint8_t *dst, *src;
	size_t n;
} copy_job;

static int copy_call(void *ctx)
{
	copy_job *c = ctx;

	memcpy(c->dst, c->src, c->n);
	/* Keep the copy from being optimised away or merged across calls. */
	__asm__ __volatile__("" : : "r"(c->dst) : "memory");
	return FL_OK;
}

/* 4× the L3, between 64 and 256 MiB (some VMs report the host's whole L3 to
 * sysconf), so that both buffers stream from DRAM. */
static int measure_copy(const bench_ctx *b, double *gbps)
{
	const size_t lo = (size_t)64 << 20, hi = (size_t)256 << 20;
	long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
	bench_plan plan = {b->quick ? 1 : 5, b->quick ? 1 : 50, b->quick ? 0.0 : 0.3};
	copy_job c = {NULL, NULL, lo};
	double s;
	int rc = FL_ENOMEM;

	if (l3 > 0 && (size_t)l3 > lo / 4)
		c.n = (size_t)l3 > hi / 4 ? hi : (size_t)l3 * 4;
	if (b->quick)
		c.n = (size_t)16 << 20;
	c.src = fl_malloc(c.n);
	c.dst = fl_malloc(c.n);
	if (c.src == NULL || c.dst == NULL)
		goto cleanup;
	/* Touch every page first: the first write faults it in. */
	memset(c.src, 1, c.n);
	memset(c.dst, 0, c.n);
	rc = bench_time(&s, &plan, copy_call, &c);
	if (rc == FL_OK)
		*gbps = (double)c.n / s / 1e9;
cleanup:
	fl_free(c.src);
	fl_free(c.dst);
	return rc;
}

typedef struct {
	const fl_update *const *updates;
	fl_agg_params ap;
} agg_job;

static int agg_call(void *ctx)
{
	agg_job *j = ctx;
	fl_agg_result r = {0};
	int rc = fl_aggregate(&r, j->updates, AGG_UPDATES, &j->ap);

	fl_agg_result_free(&r);
	return rc;
}

/* Updates shaped like one local epoch's deltas: small Gaussian values with
 * differing sample counts, so weighting and sorting do real work. */
static int make_updates(fl_update *u, const fl_spec *spec)
{
	size_t n = fl_spec_params(spec);
	fl_rng rng;

	fl_rng_seed(&rng, 7);
	for (size_t i = 0; i < AGG_UPDATES; i++) {
		u[i].q = fl_malloc(n * sizeof(*u[i].q));
		if (u[i].q == NULL)
			return FL_ENOMEM;
		u[i].spec = *spec;
		u[i].n = n;
		u[i].n_samples = 1000 + 250 * i;
		for (size_t k = 0; k < n; k++)
			u[i].q[k] = fl_fixed_from_float((float)(0.01 * fl_rng_gauss(&rng)));
	}
	return FL_OK;
}

int bench_suite_aggregate(bench_ctx *b)
{
	const struct {
		const char *name;
		fl_agg_params ap;
	} rules[] = {
	    {"fedavg", {.rule = FL_RULE_FEDAVG, .threads = 1}},
	    {"fedavg_2threads", {.rule = FL_RULE_FEDAVG, .threads = 2}},
	    {"median", {.rule = FL_RULE_MEDIAN, .threads = 1}},
	    {"trimmed_0.1", {.rule = FL_RULE_TRIMMED, .trim_beta_ppm = 100000, .threads = 1}},
	    {"multikrum_f2", {.rule = FL_RULE_MULTIKRUM, .krum_f = 2, .threads = 1}},
	    {"norm_bound",
	     {.rule = FL_RULE_NORM_BOUND, .norm_bound_q = 1u << FL_FIXED_FRAC, .threads = 1}},
	};
	bench_plan plan = {b->quick ? 1 : 5, b->quick ? 1 : 200, b->quick ? 0.0 : 0.3};
	fl_update updates[AGG_UPDATES];
	const fl_update *ptrs[AGG_UPDATES];
	double copy = 0, s = 0, bytes;
	char name[64];
	fl_spec spec;
	int rc;

	memset(updates, 0, sizeof(updates));
	rc = fl_spec_parse(&spec, AGG_SPEC);
	if (rc < 0)
		return rc;
	rc = measure_copy(b, &copy);
	if (rc < 0)
		return rc;
	bench_emit(b, &(bench_figure){SUITE, COPY_NAME, copy, "GB/s", COPY_NAME, copy, 1.0});

	rc = make_updates(updates, &spec);
	if (rc < 0)
		goto cleanup;
	for (size_t i = 0; i < AGG_UPDATES; i++)
		ptrs[i] = &updates[i];
	bytes = (double)AGG_UPDATES * (double)updates[0].n * sizeof(int32_t);
	for (size_t i = 0; i < FL_ARRAY_LEN(rules); i++) {
		agg_job j = {ptrs, rules[i].ap};

		rc = bench_time(&s, &plan, agg_call, &j);
		if (rc < 0)
			goto cleanup;
		snprintf(name, sizeof(name), "%s_10x199210", rules[i].name);
		bench_emit(b, &(bench_figure){SUITE, name, bytes / s / 1e9, "GB/s", COPY_NAME, copy,
					      bytes / s / 1e9 / copy});
	}
cleanup:
	for (size_t i = 0; i < AGG_UPDATES; i++)
		fl_update_free(&updates[i]);
	return rc;
}
