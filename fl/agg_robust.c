/*
 * fl/agg_robust.c — coordinate-wise median and trimmed mean.
 *
 * Per coordinate the n values are sorted, so the result depends only on the
 * multiset of values, never on the order of the inputs. Rounding:
 *   - median of an even count: the mean of the two middle values rounded
 *     toward negative infinity, floor((a + b) / 2);
 *   - trimmed mean: drop floor(beta·n) values at each end and take the mean
 *     of the rest rounded half away from zero, as FedAvg does (so beta = 0
 *     is the unweighted FedAvg).
 * Weights play no part here; every input counts once.
 */
#include "fl/internal.h"

#include <stdint.h>

/* Values per transposition buffer: inputs are read in runs of `block`
 * coordinates (sequential reads), transposed so that each coordinate's n
 * values are contiguous, then sorted in place. */
#define BUF_VALUES 16384

typedef struct {
	const fl_agg_job *job;
	int median;
	size_t block;
	int32_t *buf[FL_AGG_MAX_PARTS];
} sorted_ctx;

static void insertion_sort(int32_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		int32_t x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void sift_down(int32_t *v, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		int32_t t;

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

/* Heap sort above 32 values: O(n log n) without recursion or allocation. */
static void sort_values(int32_t *v, size_t n)
{
	if (n <= 32) {
		insertion_sort(v, n);
		return;
	}
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		int32_t t = v[0];

		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}

static int32_t floor_half(int64_t s)
{
	return (int32_t)(s >= 0 ? s / 2 : -((-s + 1) / 2));
}

static int32_t reduce(const int32_t *v, size_t n, int median, uint32_t trim)
{
	int64_t sum = 0;

	if (median)
		return n % 2 ? v[n / 2] : floor_half((int64_t)v[n / 2 - 1] + v[n / 2]);
	/* At most FL_AGG_MAX_INPUTS values below 2^31: the sum fits easily. */
	for (size_t i = trim; i < n - trim; i++)
		sum += v[i];
	return (int32_t)fl_div_round(sum, n - 2 * (size_t)trim);
}

static void sorted_range(void *arg, size_t lo, size_t hi, unsigned part)
{
	const sorted_ctx *c = arg;
	const fl_agg_job *job = c->job;
	const size_t n = job->n;
	int32_t *buf = c->buf[part];

	for (size_t b = lo; b < hi; b += c->block) {
		size_t len = hi - b < c->block ? hi - b : c->block;

		for (size_t i = 0; i < n; i++) {
			const int32_t *q = job->u[i]->q + b;

			for (size_t j = 0; j < len; j++)
				buf[j * n + i] = q[j];
		}
		for (size_t j = 0; j < len; j++) {
			sort_values(buf + j * n, n);
			job->out[b + j] = reduce(buf + j * n, n, c->median, job->trim);
		}
	}
}

int fl_agg_sorted(const fl_agg_job *job, int median)
{
	sorted_ctx c = {.job = job, .median = median};
	int rc = FL_ENOMEM;

	c.block = job->n < BUF_VALUES ? BUF_VALUES / job->n : 1;
	for (unsigned k = 0; k < job->parts; k++)
		if ((c.buf[k] = fl_malloc(c.block * job->n * sizeof(int32_t))) == NULL)
			goto cleanup;
	fl_agg_run(job->n_params, job->parts, sorted_range, &c);
	rc = FL_OK;
cleanup:
	for (unsigned k = 0; k < job->parts; k++)
		fl_free(c.buf[k]);
	return rc;
}
