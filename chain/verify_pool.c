/*
 * chain/verify_pool.c — a small pthread pool for signature checks, and a
 * block's checks on it. A block's signatures are independent of each other
 * and of the state, so they are verified in parallel: the workers take
 * items in block order from a shared counter from before the write
 * transaction opens (first each tx's preparation, block_prep.c, then the
 * signatures), and the caller waits for a result when it needs one (the
 * commit check), doing unclaimed items itself in the meantime. Apply runs
 * the txs while the workers verify and joins them afterwards (apply.c), so
 * a block with a bad header costs no verify on one thread, and few on
 * several. For a block checked before (a proposal's check,
 * chain_preverify_block) or admitted tx by tx, every check is a cache
 * lookup. chain_verify_pool_run lends the same threads to other work (the
 * state hash's fold, apphash.c).
 *
 * Each item writes only its own result and then its done flag (release),
 * which the reader reads first (acquire): the batch needs no other
 * synchronisation. Threads and the signature cache sit outside the state
 * machine: the outcome of a block never depends on them.
 */
#include "chain/store_impl.h"

#include <assert.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

struct chain_verify_pool {
	pthread_mutex_t run_lock; /* one batch at a time */
	pthread_mutex_t mu;
	pthread_cond_t start; /* a batch began, or stop */
	pthread_cond_t done_cv; /* a worker left the batch */
	int stop;
	uint64_t batch; /* generation: a worker joins each batch once */
	chain_pool_fn fn;
	void *ctx;
	size_t n_items;
	_Atomic unsigned char *done; /* per item, set after fn returns */
	atomic_size_t next;
	unsigned active;  /* workers still in the batch */
	unsigned allowed; /* workers that may join it */
	unsigned n_threads;
	struct pool_thread *threads;
};

/* A worker and the slot it passes to fn: 1 + its index (the caller of a
 * batch is slot 0). */
struct pool_thread {
	pthread_t id;
	chain_verify_pool *pool;
	unsigned slot;
};

/* Items are claimed a few at a time: a verify is tens of microseconds, so
 * this keeps the counter cold without leaving a thread idle at the end. */
#define POOL_CHUNK 4

static void pool_work(chain_verify_pool *p, unsigned slot, size_t chunk)
{
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, chunk), n = p->n_items;

		if (i >= n)
			return;
		for (size_t end = i + chunk < n ? i + chunk : n; i < end; i++) {
			p->fn(p->ctx, slot, i);
			if (p->done != NULL)
				atomic_store_explicit(&p->done[i], 1, memory_order_release);
		}
	}
}

static void *pool_worker(void *arg)
{
	struct pool_thread *me = arg;
	chain_verify_pool *p = me->pool;
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
		pool_work(p, me->slot, POOL_CHUNK);
		pthread_mutex_lock(&p->mu);
		if (--p->active == 0)
			pthread_cond_signal(&p->done_cv);
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
	pthread_cond_init(&p->done_cv, NULL);
	atomic_init(&p->next, 0);
	/* The caller of a batch is one of the threads. */
	for (unsigned i = 0; i + 1 < threads; i++) {
		p->threads[i].pool = p;
		p->threads[i].slot = i + 1;
		if (pthread_create(&p->threads[i].id, NULL, pool_worker, &p->threads[i]) != 0) {
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
		pthread_join(p->threads[i].id, NULL);
	pthread_cond_destroy(&p->done_cv);
	pthread_cond_destroy(&p->start);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->run_lock);
	fl_free(p->threads);
	fl_free(p);
}

/* With run_lock held: wakes up to threads - 1 workers on fn over n items
 * (done: per-item flags, or NULL). */
static void batch_start(chain_verify_pool *p, unsigned threads, chain_pool_fn fn, void *ctx,
			size_t n, _Atomic unsigned char *done)
{
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->n_items = n;
	p->done = done;
	atomic_store(&p->next, 0);
	p->allowed = threads - 1 < p->n_threads ? threads - 1 : p->n_threads;
	p->batch++;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->mu);
}

/* No worker joins the batch any more, and those in it have left. */
static void batch_finish(chain_verify_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->allowed = 0;
	while (p->active > 0)
		pthread_cond_wait(&p->done_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

unsigned chain_verify_pool_slots(const chain_verify_pool *p)
{
	return p == NULL ? 1 : p->n_threads + 1;
}

void chain_verify_pool_run(chain_verify_pool *p, unsigned threads, chain_pool_fn fn, void *ctx,
			   size_t n)
{
	assert(fn != NULL);
	/* Busy (a preverify on another thread holds it, or this thread's own
	 * checks): everything on this thread rather than a wait. */
	if (p == NULL || threads <= 1 || n <= 1 || pthread_mutex_trylock(&p->run_lock) != 0) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, 0, i);
		return;
	}
	batch_start(p, threads, fn, ctx, n, NULL);
	pool_work(p, 0, 1);
	batch_finish(p);
	pthread_mutex_unlock(&p->run_lock);
}

/* ------------------------------------------------------------ checks */

typedef struct chain_prep_checks {
	chain_verify_pool *pool; /* NULL: every check runs on the caller */
	const chain_block *b;
	chain_block_prep *prep;
	fl_sigcache *cache;
	int remember; /* add what verifies to the cache (else lookups only) */
	size_t n_items;
	_Atomic unsigned char *done;
} prep_checks;

static void checks_wait(prep_checks *c, size_t item);

/* Until tx i is prepared. It was claimed before any signature check (the
 * counter only grows, and the preparations are the first items), so a
 * worker is on it when it is not done yet: only wait. */
static void prepared_wait(prep_checks *c, uint32_t i)
{
	if (c->pool == NULL) {
		checks_wait(c, i);
		return;
	}
	while (!atomic_load_explicit(&c->done[i], memory_order_acquire))
		sched_yield();
}

static int verify(const prep_checks *c, const fl_sig *sig, const fl_pubkey *pk,
		  const fl_hash *msg)
{
	if (c->remember)
		return fl_verify_cached(c->cache, sig, pk, msg) == FL_OK;
	return fl_verify_lookup(c->cache, sig, pk, msg) == FL_OK;
}

/* Item i < n_txs prepares tx i; then commit signature i - n_txs; then the
 * signature of tx i - n_txs - n_sigs. */
static void check_item(void *arg, unsigned slot, size_t item)
{
	prep_checks *c = arg;
	const chain_block *b = c->b;
	chain_block_prep *p = c->prep;

	(void)slot;
	if (item < p->n_txs) {
		chain_block_prep_tx(p, b, (uint32_t)item);
	} else if (item - p->n_txs < p->n_sigs) {
		size_t k = item - p->n_txs;
		const struct chain_commit_sig *s = &b->last_commit.sigs[k];

		if (p->vote_ok[k])
			p->commit_ok[k] = verify(c, &s->sig, &s->validator, &p->vote_digest[k]);
	} else {
		uint32_t i = (uint32_t)(item - p->n_txs - p->n_sigs);
		chain_tx_prep *t = &p->txs[i];

		prepared_wait(c, i);
		if (t->sighash_ok)
			t->sig_ok = verify(c, &b->txs[i].sig, &b->txs[i].sender, &t->sighash);
	}
}

int chain_block_prep_checks_begin(chain_store *s, chain_block_prep *p, const chain_block *b,
				  unsigned threads, int remember)
{
	prep_checks *c;

	assert(s != NULL && p != NULL && b != NULL && p->checks == NULL);
	assert(p->n_txs == b->n_txs);
	if (threads == 0 || threads > s->verify_threads)
		threads = s->verify_threads;
	c = fl_calloc(1, sizeof(*c));
	if (c == NULL)
		return FL_ENOMEM;
	c->b = b;
	c->prep = p;
	c->cache = s->sigcache;
	c->remember = remember;
	c->n_items = (size_t)p->n_sigs + 2 * (size_t)p->n_txs;
	c->done = fl_calloc(c->n_items ? c->n_items : 1, sizeof(*c->done));
	if (c->done == NULL) {
		fl_free(c);
		return FL_ENOMEM;
	}
	p->checks = c;
	if (s->verify_pool == NULL || threads <= 1 || c->n_items <= POOL_CHUNK)
		return FL_OK;
	c->pool = s->verify_pool;
	pthread_mutex_lock(&c->pool->run_lock);
	batch_start(c->pool, threads, check_item, c, c->n_items, c->done);
	return FL_OK;
}

/* Until item is done: verify the next unclaimed one, or, when a worker
 * holds every one left, let it finish. */
static void checks_wait(prep_checks *c, size_t item)
{
	assert(item < c->n_items);
	if (c->pool == NULL) {
		if (!atomic_load_explicit(&c->done[item], memory_order_acquire)) {
			check_item(c, 0, item);
			atomic_store_explicit(&c->done[item], 1, memory_order_release);
		}
		return;
	}
	while (!atomic_load_explicit(&c->done[item], memory_order_acquire)) {
		size_t j = atomic_fetch_add(&c->pool->next, 1);

		if (j < c->n_items) {
			check_item(c, 0, j);
			atomic_store_explicit(&c->done[j], 1, memory_order_release);
		} else {
			sched_yield();
		}
	}
}

void chain_block_prep_txs_wait(chain_block_prep *p)
{
	assert(p->checks != NULL);
	for (uint32_t i = 0; i < p->n_txs; i++)
		checks_wait(p->checks, i);
}

int chain_block_prep_checks_done(const chain_block_prep *p)
{
	const prep_checks *c = p->checks;

	if (c == NULL)
		return 1;
	for (size_t k = 0; k < c->n_items; k++)
		if (!atomic_load_explicit(&c->done[k], memory_order_acquire))
			return 0;
	return 1;
}

int chain_block_prep_tx_ok(chain_block_prep *p, uint32_t i)
{
	assert(i < p->n_txs);
	/* Ended: every check is done. */
	if (p->checks != NULL)
		checks_wait(p->checks, (size_t)p->n_txs + p->n_sigs + i);
	return p->txs[i].sig_ok;
}

int chain_block_prep_commit_ok(chain_block_prep *p, uint32_t k)
{
	assert(p->checks != NULL && k < p->n_sigs);
	checks_wait(p->checks, (size_t)p->n_txs + k);
	return p->commit_ok[k];
}

void chain_block_prep_checks_end(chain_block_prep *p, int cancel)
{
	prep_checks *c = p->checks;

	if (c == NULL)
		return;
	if (c->pool != NULL) {
		chain_verify_pool *pool = c->pool;

		/* Cancelled: no worker claims another item (a claim past the
		 * end finds nothing); else the caller helps with the rest. */
		if (cancel)
			atomic_store(&pool->next, c->n_items);
		else
			pool_work(pool, 0, 1);
		batch_finish(pool);
		pthread_mutex_unlock(&pool->run_lock);
	} else if (!cancel) {
		for (size_t k = 0; k < c->n_items; k++)
			checks_wait(c, k);
	}
	fl_free(c->done);
	fl_free(c);
	p->checks = NULL;
}

int chain_preverify_block(chain_store *s, const chain_block *b, unsigned threads)
{
	chain_block_prep prep;
	int rc;

	assert(s != NULL && b != NULL);
	if ((rc = chain_block_prepare(&prep, b)) != FL_OK ||
	    (rc = chain_block_prep_checks_begin(s, &prep, b, threads, 1)) != FL_OK) {
		chain_block_prep_free(&prep);
		return rc;
	}
	chain_block_prep_checks_end(&prep, 0);
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
