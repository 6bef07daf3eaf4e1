/* tests/tools/test_pool.c — the thread pool behind fedledger-sim. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "tools/internal.h"

#define JOBS 200

typedef struct {
	size_t slot[JOBS];     /* job -> 1 + the worker that ran it */
	unsigned runs[JOBS];   /* how many times each job ran */
	size_t fail_a, fail_b; /* jobs that fail, with codes -100 - job */
	size_t last_done, progress_calls;
	int progress_monotonic;
} pool_case;

static int job(void *ctx, void *worker, size_t j)
{
	pool_case *c = ctx;

	cr_assert_lt(j, JOBS);
	/* Each job owns its slot: no lock needed, whatever the thread. */
	c->slot[j] = 1 + *(size_t *)worker;
	c->runs[j]++;
	if (j == c->fail_a || j == c->fail_b)
		return -100 - (int)j;
	return 0;
}

static void progress(void *ctx, size_t done, size_t total)
{
	pool_case *c = ctx;

	cr_assert_eq(total, JOBS);
	if (done <= c->last_done || done > total)
		c->progress_monotonic = 0;
	c->last_done = done;
	c->progress_calls++;
}

static void run_case(size_t threads, pool_case *c, const size_t *order, int want)
{
	size_t ids[8];
	void *workers[8];
	tool_pool *p;

	cr_assert_leq(threads, 8);
	for (size_t i = 0; i < threads; i++) {
		ids[i] = i;
		workers[i] = &ids[i];
	}
	cr_assert_eq(tool_pool_new(&p, threads, workers), 0);
	cr_assert_eq(tool_pool_threads(p), threads);
	/* Two batches on the same pool: the second must start clean. */
	for (int batch = 0; batch < 2; batch++) {
		memset(c->runs, 0, sizeof(c->runs));
		c->last_done = 0;
		c->progress_calls = 0;
		c->progress_monotonic = 1;
		cr_assert_eq(tool_pool_run(p, JOBS, order, job, c, progress, c), want);
		for (size_t j = 0; j < JOBS; j++) {
			cr_assert_eq(c->runs[j], 1, "job %zu ran %u times", j, c->runs[j]);
			cr_assert(c->slot[j] >= 1 && c->slot[j] <= threads);
		}
		cr_assert(c->progress_monotonic);
		cr_assert_eq(c->last_done, JOBS, "the last report is all jobs done");
		cr_assert_geq(c->progress_calls, 1);
	}
	tool_pool_free(p);
}

Test(pool, every_job_runs_once)
{
	pool_case c = {.fail_a = JOBS, .fail_b = JOBS};

	run_case(1, &c, NULL, 0);
	run_case(3, &c, NULL, 0);
}

Test(pool, order_is_followed_by_one_worker)
{
	pool_case c = {.fail_a = JOBS, .fail_b = JOBS};
	size_t order[JOBS];

	for (size_t j = 0; j < JOBS; j++)
		order[j] = JOBS - 1 - j;
	run_case(2, &c, order, 0);
}

/* All jobs still run; the error is the lowest failed job's, for any count
 * of threads, so a failure reads the same on every run. */
Test(pool, lowest_failed_job_wins)
{
	pool_case c = {.fail_a = 150, .fail_b = 7};

	run_case(1, &c, NULL, -107);
	run_case(4, &c, NULL, -107);
}

Test(pool, empty_batch)
{
	size_t id = 0;
	void *w = &id;
	tool_pool *p;

	cr_assert_eq(tool_pool_new(&p, 1, &w), 0);
	cr_assert_eq(tool_pool_run(p, 0, NULL, job, NULL, NULL, NULL), 0);
	tool_pool_free(p);
	tool_pool_free(NULL);
}

Test(pool, allocation_failure_is_reported)
{
	size_t id = 0;
	void *w = &id;
	tool_pool *p = (tool_pool *)&id;

	for (unsigned long n = 1; n <= 2; n++) {
		fl_alloc_fail_after(n);
		cr_assert_eq(tool_pool_new(&p, 1, &w), FL_ENOMEM);
		cr_assert_null(p);
	}
	fl_alloc_fail_after(0);
}
