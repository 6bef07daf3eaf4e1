/*
 * chain/verify_pool.c — a small pthread pool for signature checks, and
 * chain_preverify_block on it. A block's signatures are independent of
 * each other and of the state, so they are verified in parallel before the
 * block's write transaction opens; the transaction then only looks up what
 * the pool found (chain_block_prep.sig_ok).
 *
 * The pool runs one batch at a time: the caller takes part, items are
 * claimed from a shared counter, and the call returns when every item is
 * done. Each item writes only its own result slot, so the batch needs no
 * other synchronisation. Threads and the signature cache sit outside the
 * state machine: the outcome of a block never depends on them.
 */
#include "chain/store_impl.h"

#include <assert.h>
#include <stdatomic.h>
#include <string.h>

struct chain_verify_pool {
	pthread_mutex_t run_lock; /* one batch at a time */
	pthread_mutex_t mu;
	pthread_cond_t start; /* a batch began, or stop */
	pthread_cond_t done;  /* a worker left the batch */
	int stop;
	uint64_t batch; /* generation: a worker joins each batch once */
	chain_pool_fn fn;
	void *ctx;
	size_t n_items;
	atomic_size_t next;
	unsigned active;  /* workers still in the batch */
	unsigned allowed; /* workers that may join it */
	unsigned n_threads;
	pthread_t *threads;
};

/* Items are claimed a few at a time: a verify is tens of microseconds, so
 * this keeps the counter cold without leaving a thread idle at the end. */
#define POOL_CHUNK 4

static void pool_work(chain_verify_pool *p, chain_pool_fn fn, void *ctx, size_t n)
{
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, POOL_CHUNK);

		if (i >= n)
			return;
		for (size_t end = i + POOL_CHUNK < n ? i + POOL_CHUNK : n; i < end; i++)
			fn(ctx, i);
	}
}

static void *pool_worker(void *arg)
{
	chain_verify_pool *p = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && (p->batch == seen || p->allowed == 0))
			pthread_cond_wait(&p->start, &p->mu);
		if (p->stop)
			break;
		seen = p->batch;
		p->allowed--;
		p->active++;
		pthread_mutex_unlock(&p->mu);
		pool_work(p, p->fn, p->ctx, p->n_items);
		pthread_mutex_lock(&p->mu);
		if (--p->active == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int chain_verify_pool_new(chain_verify_pool **out, unsigned threads)
{
	chain_verify_pool *p;
	int rc = FL_OK;

	assert(out != NULL && threads >= 1 && threads <= CHAIN_MAX_VERIFY_THREADS);
	*out = NULL;
	p = fl_calloc(1, sizeof(*p));
	if (p == NULL)
		return FL_ENOMEM;
	p->threads = fl_calloc(threads, sizeof(*p->threads));
	if (p->threads == NULL) {
		fl_free(p);
		return FL_ENOMEM;
	}
	pthread_mutex_init(&p->run_lock, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->start, NULL);
	pthread_cond_init(&p->done, NULL);
	atomic_init(&p->next, 0);
	/* The caller of chain_verify_pool_run is one of the threads. */
	for (unsigned i = 0; i + 1 < threads; i++) {
		if (pthread_create(&p->threads[i], NULL, pool_worker, p) != 0) {
			rc = FL_ENOMEM;
			break;
		}
		p->n_threads++;
	}
	if (rc != FL_OK) {
		chain_verify_pool_free(p);
		return rc;
	}
	*out = p;
	return FL_OK;
}

void chain_verify_pool_free(chain_verify_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->start);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->run_lock);
	fl_free(p->threads);
	fl_free(p);
}

void chain_verify_pool_run(chain_verify_pool *p, unsigned threads, size_t n, chain_pool_fn fn,
			   void *ctx)
{
	assert(fn != NULL);
	if (p == NULL || threads <= 1 || n <= POOL_CHUNK) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	pthread_mutex_lock(&p->run_lock);
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->n_items = n;
	atomic_store(&p->next, 0);
	p->allowed = threads - 1 < p->n_threads ? threads - 1 : p->n_threads;
	p->batch++;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->mu);

	pool_work(p, fn, ctx, n);

	/* Every item is claimed; wait for the workers still finishing theirs,
	 * and close the batch to the ones that never woke for it. */
	pthread_mutex_lock(&p->mu);
	p->allowed = 0;
	while (p->active > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->run_lock);
}

/* ----------------------------------------------------- block signatures */

typedef struct {
	const chain_block *b;
	chain_block_prep *prep;
	fl_sigcache *cache;
} preverify_job;

/* Item i < n_txs is tx i; the rest are the last commit's signatures. */
static void preverify_item(void *arg, size_t i)
{
	preverify_job *j = arg;
	const chain_block *b = j->b;

	if (i < b->n_txs) {
		chain_tx_prep *t = &j->prep->txs[i];

		if (t->sighash_ok)
			t->sig_ok = fl_verify_cached(j->cache, &b->txs[i].sig, &b->txs[i].sender,
						     &t->sighash) == FL_OK;
	} else {
		size_t k = i - b->n_txs;
		const struct chain_commit_sig *s = &b->last_commit.sigs[k];

		if (j->prep->vote_ok[k])
			j->prep->commit_ok[k] = fl_verify_cached(j->cache, &s->sig, &s->validator,
								 &j->prep->vote_digest[k]) == FL_OK;
	}
}

void chain_block_prep_verify(chain_store *s, chain_block_prep *prep, const chain_block *b,
			     unsigned threads)
{
	preverify_job j = {b, prep, s->sigcache};
	size_t n = (size_t)b->n_txs + (b->last_commit.n_sigs <= CHAIN_MAX_VALIDATORS
					   ? b->last_commit.n_sigs
					   : 0);

	assert(prep->n_txs == b->n_txs);
	if (threads == 0 || threads > s->verify_threads)
		threads = s->verify_threads;
	chain_verify_pool_run(s->verify_pool, threads, n, preverify_item, &j);
}

int chain_preverify_block(chain_store *s, const chain_block *b, unsigned threads)
{
	chain_block_prep prep;
	int rc;

	assert(s != NULL && b != NULL);
	if ((rc = chain_block_prepare(&prep, b)) != FL_OK)
		return rc;
	chain_block_prep_verify(s, &prep, b, threads);
	rc = FL_OK;
	for (uint32_t i = 0; i < b->n_txs && rc == FL_OK; i++)
		if (!prep.txs[i].sig_ok)
			rc = FL_ESIG;
	for (uint32_t k = 0; k < prep.n_sigs && rc == FL_OK; k++)
		if (!prep.commit_ok[k])
			rc = FL_ESIG;
	chain_block_prep_free(&prep);
	return rc;
}

int chain_store_set_verify_threads(chain_store *s, unsigned threads)
{
	chain_verify_pool *p = NULL;
	int rc;

	assert(s != NULL);
	if (threads == 0 || threads > CHAIN_MAX_VERIFY_THREADS)
		return FL_EINVAL;
	if (threads > 1 && (rc = chain_verify_pool_new(&p, threads)) != FL_OK)
		return rc;
	chain_verify_pool_free(s->verify_pool);
	s->verify_pool = p;
	s->verify_threads = threads;
	return FL_OK;
}
