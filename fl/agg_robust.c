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
 *
 * The sort is Batcher's odd-even merge sorting network (Knuth, TAOCP vol. 3,
 * §5.3.4; 32 comparators for n = 10) applied to a block of coordinates at
 * once: row i of the block buffer holds input i's values, and each
 * comparator is a branch-free min/max over two rows, which the compiler
 * vectorises. Sorting networks make no data-dependent branches, so random
 * update values cost no mispredictions.
 */
#include "fl/internal.h"

#include <string.h>

/* Coordinates per block: rows of 1 KiB, n rows per block. */
#define BLOCK 256

typedef struct {
	const fl_agg_job *job;
	int median;
	int32_t *buf[FL_AGG_MAX_PARTS]; /* n rows of BLOCK values per part */
} sorted_ctx;

/* Constant trip count: vectorised at -O2. */
static void compare_exchange(int32_t *restrict lo, int32_t *restrict hi)
{
	for (size_t j = 0; j < BLOCK; j++) {
		int32_t a = lo[j], b = hi[j];

		lo[j] = a < b ? a : b;
		hi[j] = a < b ? b : a;
	}
}

/* Sorts every column of the n x BLOCK block (Batcher's network for any n;
 * columns past the block's used length hold stale values, sorted along
 * harmlessly). */
static void sort_columns(int32_t *buf, size_t n)
{
	for (size_t p = 1; p < n; p *= 2)
		for (size_t k = p; k >= 1; k /= 2)
			for (size_t j = k % p; j + k < n; j += 2 * k)
				for (size_t i = 0; i < k && i + j + k < n; i++)
					if ((i + j) / (2 * p) == (i + j + k) / (2 * p))
						compare_exchange(buf + (i + j) * BLOCK,
								 buf + (i + j + k) * BLOCK);
}

static void median_rows(int32_t *out, const int32_t *buf, size_t n, size_t len)
{
	const int32_t *mid = buf + (n / 2) * BLOCK, *below = mid - BLOCK;

	if (n % 2) {
		memcpy(out, mid, len * sizeof(*out));
		return;
	}
	for (size_t j = 0; j < len; j++) {
		int64_t s = (int64_t)below[j] + mid[j];

		/* floor(s / 2): s − (s & 1) is even, so the division is exact. */
		out[j] = (int32_t)((s - (s & 1)) / 2);
	}
}

/* The kept rows' sum is below 2^31·FL_AGG_MAX_INPUTS < 2^52 and the count
 * below 2^21: fl_quotient_exact's conditions, so doubles give the exact
 * rounded mean. */
static void trimmed_rows(int32_t *out, const int32_t *buf, size_t n, uint32_t trim, size_t len)
{
	const double kept = (double)(n - 2 * (size_t)trim);
	double sum[BLOCK];

	memset(sum, 0, sizeof(sum));
	for (size_t i = trim; i < n - trim; i++)
		for (size_t j = 0; j < BLOCK; j++)
			sum[j] += buf[i * BLOCK + j];
	for (size_t j = 0; j < len; j++)
		out[j] = fl_quotient_exact(sum[j], kept);
}

static void sorted_range(void *arg, size_t lo, size_t hi, unsigned part)
{
	const sorted_ctx *c = arg;
	const fl_agg_job *job = c->job;
	int32_t *buf = c->buf[part];

	for (size_t b = lo; b < hi; b += BLOCK) {
		size_t len = hi - b < BLOCK ? hi - b : BLOCK;

		for (size_t i = 0; i < job->n; i++)
			memcpy(buf + i * BLOCK, job->u[i]->q + b, len * sizeof(int32_t));
		sort_columns(buf, job->n);
		if (c->median)
			median_rows(job->out + b, buf, job->n, len);
		else
			trimmed_rows(job->out + b, buf, job->n, job->trim, len);
	}
}

int fl_agg_sorted(const fl_agg_job *job, int median)
{
	sorted_ctx c = {.job = job, .median = median};
	int rc = FL_ENOMEM;

	for (unsigned k = 0; k < job->parts; k++) {
		/* Zeroed so the unused columns of a last, short block are
		 * initialised values. */
		c.buf[k] = fl_calloc(job->n * BLOCK, sizeof(int32_t));
		if (c.buf[k] == NULL)
			goto cleanup;
	}
	fl_agg_run(job->n_params, job->parts, sorted_range, &c);
	rc = FL_OK;
cleanup:
	for (unsigned k = 0; k < job->parts; k++)
		fl_free(c.buf[k]);
	return rc;
}
