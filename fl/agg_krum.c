/*
 * fl/agg_krum.c — Multi-Krum selection (Blanchard et al., NeurIPS 2017;
 * El Mhamdi et al., ICML 2018): score_i = the sum of the n − f − 2 smallest
 * squared L2 distances from update i to the others; the m = n − f updates
 * with the lowest scores are kept and averaged (agg_fedavg.c).
 *
 * Distances are exact integers: a coordinate difference is below 2^32 in
 * magnitude, its square below 2^64, and a sum over at most 2^26
 * coordinates below 2^90, held in 128 bits. Exact scores make the selection
 * a pure function of the updates: ties are broken by content (the update's
 * values, then its sample count), and only identical updates fall back to
 * their position, which cannot change the aggregate.
 */
#include "fl/internal.h"

#include <string.h>

/* Coordinates per block: the n inputs' values of one block stay in L2
 * while every pair is visited. */
#define BLOCK 4096

typedef struct {
	const fl_agg_job *job;
	size_t pairs;
	fl_u128 *dist[FL_AGG_MAX_PARTS]; /* per part, pair-indexed */
} krum_ctx;

/* Index of pair (i, j), i < j, in row-major upper-triangle order. */
static size_t pair_index(size_t n, size_t i, size_t j)
{
	return i * (2 * n - i - 1) / 2 + (j - i - 1);
}

/* (a − b)², exactly: |a − b| < 2^32 is max − min in 32-bit unsigned
 * arithmetic, and its square fits 64 bits. Written without 64-bit signed
 * operations so that SSE2 vectorises it (pmuludq). */
static uint64_t square_distance(int32_t a, int32_t b)
{
	uint32_t m = a > b ? (uint32_t)a - (uint32_t)b : (uint32_t)b - (uint32_t)a;

	return (uint64_t)m * m;
}

/* Σ (a_k − b_k)² over a full block: each square is split into 32-bit
 * halves summed separately, which cannot overflow for blocks below 2^32.
 * The constant trip count lets -O2 vectorise it. */
static fl_u128 full_block_distance(const int32_t *restrict a, const int32_t *restrict b)
{
	uint64_t lo = 0, hi = 0;

	for (size_t k = 0; k < BLOCK; k++) {
		uint64_t sq = square_distance(a[k], b[k]);

		lo += (uint32_t)sq;
		hi += sq >> 32;
	}
	return ((fl_u128)hi << 32) + lo;
}

static fl_u128 block_distance(const int32_t *a, const int32_t *b, size_t len)
{
	uint64_t lo = 0, hi = 0;

	if (len == BLOCK)
		return full_block_distance(a, b);
	for (size_t k = 0; k < len; k++) {
		uint64_t sq = square_distance(a[k], b[k]);

		lo += (uint32_t)sq;
		hi += sq >> 32;
	}
	return ((fl_u128)hi << 32) + lo;
}

static void krum_range(void *arg, size_t lo, size_t hi, unsigned part)
{
	const krum_ctx *c = arg;
	const fl_agg_job *job = c->job;
	fl_u128 *dist = c->dist[part];

	for (size_t b = lo; b < hi; b += BLOCK) {
		size_t len = hi - b < BLOCK ? hi - b : BLOCK;
		size_t p = 0;

		for (size_t i = 0; i < job->n; i++)
			for (size_t j = i + 1; j < job->n; j++)
				dist[p++] +=
				    block_distance(job->u[i]->q + b, job->u[j]->q + b, len);
	}
}

static void sift_down_u128(fl_u128 *v, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		fl_u128 t;

		if (child >= n)
			return;
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[root] >= v[child])
			return;
		t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

static void sort_u128(fl_u128 *v, size_t n)
{
	if (n < 2)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift_down_u128(v, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		fl_u128 t = v[0];

		v[0] = v[end];
		v[end] = t;
		sift_down_u128(v, 0, end);
	}
}

/* Orders candidates by score, then by content; position only between
 * identical updates. */
static int candidate_cmp(const fl_agg_job *job, const fl_u128 *score, size_t a, size_t b)
{
	const fl_update *ua = job->u[a], *ub = job->u[b];

	if (score[a] != score[b])
		return score[a] < score[b] ? -1 : 1;
	for (size_t k = 0; k < job->n_params; k++)
		if (ua->q[k] != ub->q[k])
			return ua->q[k] < ub->q[k] ? -1 : 1;
	if (ua->n_samples != ub->n_samples)
		return ua->n_samples < ub->n_samples ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Scores from the summed distance matrix, then the selection into w. */
static int select_lowest(uint64_t *w, const fl_agg_job *job, const fl_u128 *dist, uint32_t f)
{
	const size_t n = job->n, keep = n - f, nearest = n - f - 2;
	fl_u128 *score = fl_malloc(n * sizeof(*score));
	fl_u128 *row = fl_malloc(n * sizeof(*row));
	size_t *order = fl_malloc(n * sizeof(*order));
	int rc = FL_ENOMEM;

	if (score == NULL || row == NULL || order == NULL)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		size_t m = 0;

		for (size_t j = 0; j < n; j++)
			if (j != i)
				row[m++] = dist[i < j ? pair_index(n, i, j) : pair_index(n, j, i)];
		sort_u128(row, m);
		score[i] = 0;
		for (size_t k = 0; k < nearest; k++)
			score[i] += row[k];
	}
	/* Insertion sort of the candidates: n is small and content
	 * comparisons only happen on equal scores. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		for (; j > 0 && candidate_cmp(job, score, order[j - 1], i) > 0; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (size_t k = keep; k < n; k++)
		w[order[k]] = 0;
	rc = FL_OK;
cleanup:
	fl_free(score);
	fl_free(row);
	fl_free(order);
	return rc;
}

int fl_agg_krum_select(uint64_t *w, const fl_agg_job *job, uint32_t f)
{
	krum_ctx c = {.job = job, .pairs = job->n * (job->n - 1) / 2};
	int rc = FL_ENOMEM;

	for (unsigned k = 0; k < job->parts; k++)
		if ((c.dist[k] = fl_calloc(c.pairs ? c.pairs : 1, sizeof(fl_u128))) == NULL)
			goto cleanup;
	fl_agg_run(job->n_params, job->parts, krum_range, &c);
	/* Exact partial sums: adding them in any order gives the same matrix. */
	for (unsigned k = 1; k < job->parts; k++)
		for (size_t p = 0; p < c.pairs; p++)
			c.dist[0][p] += c.dist[k][p];
	rc = select_lowest(w, job, c.dist[0], f);
cleanup:
	for (unsigned k = 0; k < job->parts; k++)
		fl_free(c.dist[k]);
	return rc;
}
