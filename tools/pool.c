/*
 * tools/pool.c — a fixed-size pthread pool (tools/internal.h). Workers take
 * the next job index under one mutex; jobs are coarse (a client's whole
 * local training, a slice of the test set), so a shared counter costs
 * nothing next to them and keeps the pool small and obviously correct.
 */
#include "tools/internal.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

typedef struct {
	tool_pool *pool;
	void *state;
	pthread_t thread;
} pool_worker;

struct tool_pool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* a batch started, or stop */
	pthread_cond_t done; /* a job finished */
	int stop;

	/* The current batch, all guarded by mu. */
	tool_job_fn fn;
	void *ctx;
	const size_t *order;
	size_t n_jobs, next, finished;
	int err;        /* error of the lowest failed job, 0 if none */
	size_t err_job; /* which job that was */

	size_t n_workers;
	size_t n_started;
	pool_worker *workers;
};

static void *worker_main(void *arg)
{
	pool_worker *w = arg;
	tool_pool *p = w->pool;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t job;
		int rc;

		while (!p->stop && p->next >= p->n_jobs)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		job = p->order ? p->order[p->next] : p->next;
		p->next++;
		pthread_mutex_unlock(&p->mu);

		rc = p->fn(p->ctx, w->state, job);

		pthread_mutex_lock(&p->mu);
		if (rc < 0 && (p->err == 0 || job < p->err_job)) {
			p->err = rc;
			p->err_job = job;
		}
		p->finished++;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int tool_pool_new(tool_pool **out, size_t threads, void *const *workers)
{
	tool_pool *p;
	int rc = FL_OK;

	assert(out != NULL && threads >= 1 && workers != NULL);
	*out = NULL;
	p = fl_calloc(1, sizeof(*p));
	if (p == NULL)
		return FL_ENOMEM;
	p->workers = fl_calloc(threads, sizeof(*p->workers));
	if (p->workers == NULL) {
		fl_free(p);
		return FL_ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->n_workers = threads;
	for (size_t i = 0; i < threads; i++) {
		p->workers[i].pool = p;
		p->workers[i].state = workers[i];
		if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
			rc = FL_EIO;
			goto cleanup;
		}
		p->n_started++;
	}
	*out = p;
	return FL_OK;
cleanup:
	tool_pool_free(p);
	return rc;
}

void tool_pool_free(tool_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->n_started; i++)
		pthread_join(p->workers[i].thread, NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	fl_free(p->workers);
	fl_free(p);
}

size_t tool_pool_threads(const tool_pool *p)
{
	return p->n_workers;
}

int tool_pool_run(tool_pool *p, size_t n, const size_t *order, tool_job_fn fn, void *ctx,
		  tool_progress_fn progress, void *progress_ctx)
{
	size_t reported = 0;
	int err;

	assert(p != NULL && fn != NULL);
	if (n == 0)
		return FL_OK;
	pthread_mutex_lock(&p->mu);
	assert(p->next >= p->n_jobs && "tool_pool_run is not reentrant");
	p->fn = fn;
	p->ctx = ctx;
	p->order = order;
	p->n_jobs = n;
	p->next = 0;
	p->finished = 0;
	p->err = 0;
	p->err_job = 0;
	pthread_cond_broadcast(&p->work);
	/* The count is read under the lock before every wait, so the last
	 * finish is always reported even if it came while we were drawing. */
	for (;;) {
		size_t finished = p->finished;

		if (progress != NULL && finished != reported) {
			/* Drawing happens outside the lock so workers never wait on
			 * the terminal. */
			pthread_mutex_unlock(&p->mu);
			progress(progress_ctx, finished, n);
			reported = finished;
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (finished == n)
			break;
		pthread_cond_wait(&p->done, &p->mu);
	}
	err = p->err;
	p->fn = NULL;
	p->order = NULL;
	pthread_mutex_unlock(&p->mu);
	return err;
}
