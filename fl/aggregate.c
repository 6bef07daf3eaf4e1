/*
 * fl/aggregate.c — fl_aggregate: checks the inputs, derives the weights,
 * runs a rule's kernels (agg_fedavg.c, agg_robust.c, agg_krum.c,
 * agg_norm.c) over coordinate chunks on pthreads.
 *
 * Everything is integer arithmetic on the quantised updates, with every
 * division rounded by one stated rule, so validators recompute the
 * coordinator's aggregate bit for bit (design.md §5, step 4).
 */
#include "fl/internal.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

/* Below this many coordinates a chunk is not worth a thread. */
#define MIN_CHUNK 256

/* Weights stay below 2^31 so that a weighted sum of 2^31-bounded values over
 * FL_AGG_MAX_INPUTS inputs fits the 64/128-bit sums of agg_fedavg.c. */
#define WEIGHT_MAX ((uint64_t)INT32_MAX)

typedef struct {
	fl_agg_range_fn fn;
	void *ctx;
	size_t lo, hi;
	unsigned part;
} chunk;

static void *chunk_main(void *arg)
{
	chunk *c = arg;

	c->fn(c->ctx, c->lo, c->hi, c->part);
	return NULL;
}

void fl_agg_run(size_t n, unsigned parts, fl_agg_range_fn fn, void *ctx)
{
	chunk chunks[FL_AGG_MAX_PARTS];
	pthread_t tids[FL_AGG_MAX_PARTS];
	int started[FL_AGG_MAX_PARTS];

	assert(parts >= 1 && parts <= FL_AGG_MAX_PARTS);
	for (unsigned k = 0; k < parts; k++) {
		chunks[k] = (chunk){fn, ctx, n * k / parts, n * (k + 1) / parts, k};
		started[k] = 0;
	}
	for (unsigned k = 1; k < parts; k++)
		started[k] = pthread_create(&tids[k], NULL, chunk_main, &chunks[k]) == 0;
	chunk_main(&chunks[0]);
	for (unsigned k = 1; k < parts; k++) {
		if (started[k])
			pthread_join(tids[k], NULL);
		else
			chunk_main(&chunks[k]);
	}
}

/* Every input of one valid spec, with its full parameter vector. */
static int check_inputs(const fl_update *const *u, size_t n)
{
	size_t n_params;
	int rc;

	if (n < 1 || n > FL_AGG_MAX_INPUTS)
		return FL_EINVAL;
	assert(u[0] != NULL);
	rc = fl_spec_check(&u[0]->spec);
	if (rc != FL_OK)
		return FL_EINVAL;
	n_params = fl_spec_params(&u[0]->spec);
	for (size_t i = 0; i < n; i++) {
		assert(u[i] != NULL);
		if (!fl_spec_equal(&u[i]->spec, &u[0]->spec) || u[i]->n != n_params)
			return FL_EINVAL;
		assert(u[i]->q != NULL);
	}
	return FL_OK;
}

static int check_params(const fl_agg_params *ap, size_t n, uint32_t *trim)
{
	uint64_t k;

	switch (ap->rule) {
	case FL_RULE_FEDAVG:
	case FL_RULE_MEDIAN:
		return FL_OK;
	case FL_RULE_TRIMMED:
		if (ap->trim_beta_ppm >= 1000000)
			return FL_EINVAL;
		k = (uint64_t)ap->trim_beta_ppm * n / 1000000; /* floor(beta·n) */
		if (n < 2 * k + 1)
			return FL_EINVAL;
		*trim = (uint32_t)k;
		return FL_OK;
	case FL_RULE_MULTIKRUM:
		/* Krum's guarantee needs n > 2f + 2, and each score sums
		 * n − f − 2 >= 1 distances. */
		if ((uint64_t)n <= 2 * (uint64_t)ap->krum_f + 2)
			return FL_EINVAL;
		return FL_OK;
	case FL_RULE_NORM_BOUND:
		return ap->norm_bound_q > 0 ? FL_OK : FL_EINVAL;
	}
	return FL_EINVAL;
}

static unsigned parts_for(size_t n_params, uint32_t threads)
{
	size_t parts = threads > 1 ? threads : 1;

	if (parts > FL_AGG_MAX_PARTS)
		parts = FL_AGG_MAX_PARTS;
	if (parts > (n_params + MIN_CHUNK - 1) / MIN_CHUNK)
		parts = (n_params + MIN_CHUNK - 1) / MIN_CHUNK;
	return parts > 1 ? (unsigned)parts : 1;
}

int fl_aggregate(fl_agg_result *out, const fl_update *const *updates, size_t n,
		 const fl_agg_params *ap)
{
	fl_agg_job job;
	uint64_t *w = NULL, *num = NULL, *den = NULL;
	int32_t *q = NULL;
	uint32_t trim = 0;
	int rc;

	assert(out != NULL && ap != NULL && (updates != NULL || n == 0));
	memset(out, 0, sizeof(*out));
	rc = check_inputs(updates, n);
	if (rc != FL_OK)
		return rc;
	rc = check_params(ap, n, &trim);
	if (rc != FL_OK)
		return rc;

	rc = FL_ENOMEM;
	q = fl_malloc(updates[0]->n * sizeof(*q));
	w = fl_malloc(n * sizeof(*w));
	if (q == NULL || w == NULL)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		uint64_t wi = updates[i]->n_samples;

		if (ap->max_weight != 0 && wi > ap->max_weight)
			wi = ap->max_weight;
		w[i] = wi < WEIGHT_MAX ? wi : WEIGHT_MAX;
	}
	job = (fl_agg_job){
	    .u = updates,
	    .n = n,
	    .n_params = updates[0]->n,
	    .parts = parts_for(updates[0]->n, ap->threads),
	    .w = w,
	    .trim = trim,
	    .out = q,
	};

	switch (ap->rule) {
	case FL_RULE_FEDAVG:
		rc = fl_agg_mean(&job);
		break;
	case FL_RULE_MEDIAN:
	case FL_RULE_TRIMMED:
		rc = fl_agg_sorted(&job, ap->rule == FL_RULE_MEDIAN);
		break;
	case FL_RULE_MULTIKRUM:
		rc = fl_agg_krum_select(w, &job, ap->krum_f);
		if (rc == FL_OK)
			rc = fl_agg_mean(&job);
		break;
	case FL_RULE_NORM_BOUND:
		rc = FL_ENOMEM;
		num = fl_calloc(n, sizeof(*num));
		den = fl_calloc(n, sizeof(*den));
		if (num == NULL || den == NULL)
			break;
		rc = fl_agg_norm_scales(num, den, &job, ap->norm_bound_q);
		if (rc != FL_OK)
			break;
		job.scale_num = num;
		job.scale_den = den;
		rc = fl_agg_mean(&job);
		break;
	}
	if (rc != FL_OK)
		goto cleanup;

	out->n = updates[0]->n;
	out->q = q;
	out->n_inputs = n;
	out->weights = w;
	q = NULL;
	w = NULL;
cleanup:
	fl_free(q);
	fl_free(w);
	fl_free(num);
	fl_free(den);
	return rc;
}

void fl_agg_result_free(fl_agg_result *r)
{
	if (r == NULL)
		return;
	fl_free(r->q);
	fl_free(r->weights);
	memset(r, 0, sizeof(*r));
}
