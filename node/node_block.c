/*
 * node/node_block.c — blocks of the height in progress (a small cache by
 * header hash), the proposer's block, and the block work on the thread
 * pool: one job at a time, since a check and an apply both take the
 * store's write lock; the loop sees each result in after_work.
 */
#include "node/node_internal.h"

#include <assert.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG "node"

node__block *node__block_find(node *n, const fl_hash *hash)
{
	for (unsigned i = 0; i < NODE_CONS_MAX_BLOCKS; i++)
		if (n->blocks[i].used && fl_hash_cmp(&n->blocks[i].hash, hash) == 0)
			return &n->blocks[i];
	return NULL;
}

static void block_drop(node__block *b)
{
	chain_block_free(&b->block);
	fl_free(b->bytes);
	memset(b, 0, sizeof(*b));
}

/*
 * Decodes and holds a block of a height not yet committed. NULL with *rc:
 * FL_ECHAIN for a committed height, a decode error, FL_ENOMEM. A full
 * cache gives up its highest-height block (the furthest from use), never
 * one a VALIDATE job is reading.
 */
node__block *node__block_put(node *n, const uint8_t *bytes, size_t len, const fl_hash *expect,
			     int *rc)
{
	node__block *slot = NULL, *b;
	chain_block blk;
	fl_hash hash;

	memset(&blk, 0, sizeof(blk));
	if ((*rc = chain_block_decode(&blk, bytes, len)) != 0 ||
	    (*rc = chain_header_hash(&hash, &blk.header)) != 0) {
		chain_block_free(&blk);
		return NULL;
	}
	/* Bytes that are not the block a signed proposal names never take a
	 * slot: the proposal's signature covers its hash, not these bytes. */
	if (expect != NULL && fl_hash_cmp(&hash, expect) != 0) {
		chain_block_free(&blk);
		*rc = FL_EINVAL;
		return NULL;
	}
	if (blk.header.height <= n->info.height) {
		chain_block_free(&blk);
		*rc = FL_ECHAIN;
		return NULL;
	}
	if ((b = node__block_find(n, &hash)) != NULL) {
		chain_block_free(&blk);
		return b;
	}
	for (unsigned i = 0; i < NODE_CONS_MAX_BLOCKS; i++) {
		b = &n->blocks[i];
		if (!b->used) {
			slot = b;
			break;
		}
		if (!b->busy && (slot == NULL || b->height > slot->height))
			slot = b;
	}
	if (slot == NULL) {
		chain_block_free(&blk);
		*rc = FL_ETOOBIG;
		return NULL;
	}
	if (slot->used)
		block_drop(slot);
	if ((slot->bytes = fl_malloc(len)) == NULL) {
		chain_block_free(&blk);
		*rc = FL_ENOMEM;
		return NULL;
	}
	memcpy(slot->bytes, bytes, len);
	slot->n = len;
	slot->block = blk;
	slot->hash = hash;
	slot->height = blk.header.height;
	slot->used = 1;
	*rc = FL_OK;
	return slot;
}

void node__blocks_prune(node *n, uint64_t below)
{
	for (unsigned i = 0; i < NODE_CONS_MAX_BLOCKS; i++)
		if (n->blocks[i].used && n->blocks[i].height < below)
			block_drop(&n->blocks[i]);
}

void node__blocks_free(node *n)
{
	for (unsigned i = 0; i < NODE_CONS_MAX_BLOCKS; i++)
		if (n->blocks[i].used)
			block_drop(&n->blocks[i]);
}

/* ------------------------------------------------------------- building */

/*
 * A proposer carries only aggregates it has recomputed itself (their check
 * starts here otherwise, and a later block carries them): a block with one
 * the others cannot verify would cost the height a round. The sender's
 * later txs go too, since their nonces follow it.
 */
static void leave_out_unchecked(node *n, chain_block *b)
{
	fl_pubkey dropped[16];
	uint32_t n_dropped = 0, kept = 0;

	for (uint32_t i = 0; i < b->n_txs; i++) {
		int drop = 0;

		for (uint32_t k = 0; k < n_dropped && !drop; k++)
			drop = fl_pubkey_cmp(&dropped[k], &b->txs[i].sender) == 0;
		if (!drop && !node__round_includable(n, &b->txs[i])) {
			drop = 1;
			if (n_dropped == FL_ARRAY_LEN(dropped)) {
				/* More unchecked aggregates than that in one block: the
				 * rest of the block waits for the next one. */
				for (uint32_t k = i; k < b->n_txs; k++)
					chain_tx_free(&b->txs[k]);
				break;
			}
			dropped[n_dropped++] = b->txs[i].sender;
		}
		if (drop) {
			chain_tx_free(&b->txs[i]);
			continue;
		}
		if (kept != i)
			b->txs[kept] = b->txs[i];
		kept++;
	}
	b->n_txs = kept;
}

/*
 * The proposer's block for (height, round): the mempool's first txs within
 * the block limits, on top of the tip; time now (above the last block's);
 * the last commit; the beacon from this node's VRF.
 */
int node__block_build(node *n, uint64_t height, uint32_t round, fl_hash *hash, uint64_t *time_ms)
{
	const chain_params *pp = &n->info.params;
	size_t max_bytes = pp->max_block_bytes > NODE_MEMPOOL_BLOCK_OVERHEAD
			       ? pp->max_block_bytes - NODE_MEMPOOL_BLOCK_OVERHEAD
			       : 0;
	chain_block b;
	fl_writer w;
	node__block *held;
	int rc;

	(void)round;
	memset(&b, 0, sizeof(b));
	fl_writer_init(&w, CHAIN_MAX_BLOCK_BYTES);
	if (height != n->info.height + 1) {
		rc = FL_ECHAIN;
		goto cleanup;
	}
	if ((rc = node_mempool_reap(n->mempool, pp->max_block_txs, max_bytes, &b.txs, &b.n_txs)) !=
	    0)
		goto cleanup;
	leave_out_unchecked(n, &b);
	if (height > 1) {
		const chain_commit *lc = node_cons_last_commit(n->cons);
		if (chain_get_commit(n->store, height - 1, &b.last_commit) != 0) {
			if (lc == NULL || lc->height != height - 1) {
				rc = FL_ENOTFOUND;
				goto cleanup;
			}
			b.last_commit = *lc;
		}
		if ((rc = chain_commit_hash(&b.header.last_commit_hash, &b.last_commit)) != 0)
			goto cleanup;
	}
	b.header.version = CHAIN_BLOCK_VERSION;
	memcpy(b.header.chain_id, n->chain_id, sizeof(b.header.chain_id));
	b.header.height = height;
	b.header.time_ms = node__now_ms();
	if (b.header.time_ms <= n->info.last_time_ms)
		b.header.time_ms = n->info.last_time_ms + 1;
	b.header.prev_hash = n->info.last_block_hash;
	b.header.app_hash = n->info.app_hash;
	if (n->opts.byzantine == NODE_BYZ_BAD_PROPOSAL)
		b.header.app_hash.b[0] ^= 0x5a; /* test mode: a block no one may accept */
	b.header.proposer = n->home.member_id;
	if ((rc = chain_block_tx_root(&b.header.tx_root, &b)) != 0 ||
	    (rc = chain_header_prove_beacon(&b.header, &n->home.member_key, &n->info.beacon)) !=
		0 ||
	    (rc = chain_block_encode(&w, &b)) != 0 || (rc = fl_writer_finish(&w)) != 0)
		goto cleanup;
	if ((held = node__block_put(n, w.buf, w.len, NULL, &rc)) == NULL)
		goto cleanup;
	*hash = held->hash;
	*time_ms = b.header.time_ms;
	fl_log(FL_LOG_DEBUG, LOG, "height %llu round %u: built a block of %u txs, %zu bytes",
	       (unsigned long long)height, round, b.n_txs, w.len);
cleanup:
	chain_block_free(&b);
	fl_writer_free(&w);
	return rc;
}

/* ----------------------------------------------------------------- jobs */

/* A decided block that did not apply is tried again after 1 s, doubling
 * up to 32 s: a store error may pass, and a block this node cannot apply
 * must not make it spin. */
#define RETRY_MIN_MS 1000u
#define RETRY_MAX_MS 32000u

static void job_next(node *n);

static void work_cb(uv_work_t *req)
{
	node__job *j = req->data;
	node *n = j->node;

	if (j->kind == NODE__JOB_VALIDATE) {
		if (j->bad_aggregate) {
			j->rc = FL_EINVAL;
			j->res.reason = "an aggregate_commit that does not recompute";
			return;
		}
		if (j->test_delay_ms > 0) {
			struct timespec ts = {j->test_delay_ms / 1000,
					      (long)(j->test_delay_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
		j->rc = chain_preverify_block(n->store, j->block, 0);
		if (j->rc == 0)
			j->rc = chain_check_block(n->store, j->block, &j->res);
		return;
	}
	if (n->test.lose_tip_commit == j->commit.height) {
		/* test hook: a fedledgerd that wrote the block and its commit
		 * apart, crashed between the two */
		if ((j->rc = chain_apply_block(n->store, j->block, &j->res)) == 0)
			_exit(NODE__TEST_EXIT);
		return;
	}
	if (j->test_fail) {
		j->rc = FL_EIO;
		j->res.reason = "test hook: apply failure";
		return;
	}
	/* A bad signature fails the apply itself; this only fills the cache. */
	if (chain_preverify_block(n->store, j->block, 0) == FL_ENOMEM)
		fl_log(FL_LOG_WARN, LOG, "preverify: out of memory");
	/* The block with its commit, in one store transaction: a restart
	 * always finds the commit of its tip, to build the next block on and
	 * to prove the tip to peers. */
	if ((j->rc = chain_apply_block_commit(n->store, j->block, &j->commit, &j->res)) != 0)
		return;
	if (n->test.exit_after_apply == j->commit.height)
		_exit(NODE__TEST_EXIT); /* test hook: a crash right after the store commit */
	/* The tx index trails the chain by design and catches up 16 blocks a
	 * call, in a synced write of its own: while sync holds the next block
	 * it runs every 16 heights only. It holds no block, so a crash loses
	 * nothing committed; the next call carries on where it stopped. */
	if ((j->flags & NODE__APPLY_MORE) && j->commit.height % 16 != 0)
		return;
	if (chain_index_txs(n->store, 16, &j->indexed) != 0)
		fl_log(FL_LOG_WARN, LOG, "the tx index did not advance");
}

static void job_free(node__job *j)
{
	if (j->kind == NODE__JOB_APPLY) {
		chain_block_free(j->block);
		fl_free(j->block);
		fl_free(j->bytes);
	}
	fl_free(j);
}

static void feed_verdict(node *n, const fl_hash *hash, int valid)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_VERDICT;
	ev.u.block.hash = *hash;
	ev.u.block.valid = valid;
	(void)node__cons_feed(n, &ev, NULL, 0);
}

static void after_validate(node *n, node__job *j)
{
	char hex[17];

	fl_hex_encode(hex, j->hash.b, 8);
	if (j->timed_out) {
		/* The round had its nil prevote already; a late verdict would
		 * contradict it. */
		fl_log(FL_LOG_INFO, LOG, "block %s… checked after its timeout: %s (ignored)", hex,
		       j->rc == 0 ? "valid" : fl_strerror(j->rc));
		return;
	}
	if (j->rc != 0)
		fl_log(FL_LOG_WARN, LOG, "block %s… refused: %s (%s)", hex,
		       j->res.reason != NULL ? j->res.reason : "-", fl_strerror(j->rc));
	feed_verdict(n, &j->hash, j->rc == 0);
}

/* timeouts.block_validation_ms passed while a VALIDATE job runs: the block
 * counts as invalid for this round (a nil prevote), and the core moves on
 * while the check finishes on the pool. */
static void validate_timeout_cb(uv_timer_t *t)
{
	node *n = t->data;
	node__job *j = n->job_running ? n->work.data : NULL;
	char hex[17];

	if (n->stopping || j == NULL || j->kind != NODE__JOB_VALIDATE || j->timed_out)
		return;
	j->timed_out = 1;
	fl_hex_encode(hex, j->hash.b, 8);
	fl_log(FL_LOG_WARN, LOG,
	       "height %llu: block %s… not checked within timeouts.block_validation_ms (%u ms): "
	       "treated as invalid this round",
	       (unsigned long long)j->block->header.height, hex,
	       n->home.config.timeouts.block_validation_ms);
	if (n->m.validate_timeouts != NULL)
		node_metric_add(n->m.validate_timeouts, 1);
	feed_verdict(n, &j->hash, 0);
}

static void stuck_clear(node *n)
{
	fl_free(n->stuck.bytes);
	memset(&n->stuck, 0, sizeof(n->stuck));
	if (n->m.apply_stuck != NULL)
		node_metric_set(n->m.apply_stuck, 0);
}

/* Keeps the job's copy of the decided block for the next attempt. */
static void apply_failed(node *n, node__job *j)
{
	node__stuck *s = &n->stuck;
	uint64_t h = j->block->header.height;
	char hex[FL_HASH_HEX_LEN + 1];
	unsigned shift;
	uint32_t delay;

	if (s->height != h) {
		stuck_clear(n);
		s->height = h;
		s->hash = j->hash;
	}
	fl_free(s->bytes);
	s->bytes = j->bytes;
	s->n = j->n;
	s->commit = j->commit;
	j->bytes = NULL;
	s->attempts++;
	shift = s->attempts - 1 < 5 ? s->attempts - 1 : 5;
	delay = RETRY_MIN_MS << shift;
	if (delay > RETRY_MAX_MS)
		delay = RETRY_MAX_MS;
	s->retry_ms = node__now_ms() + delay;
	fl_hex_encode(hex, j->hash.b, FL_HASH_LEN);
	fl_log(FL_LOG_ERROR, LOG,
	       "height %llu: decided block %s does not apply: %s (%s); attempt %u, next in %u ms "
	       "(with a peer's copy if sync brings one); no other block is taken at this height",
	       (unsigned long long)h, hex, j->res.reason != NULL ? j->res.reason : "-",
	       fl_strerror(j->rc), s->attempts, delay);
	if (n->m.apply_failures != NULL) {
		node_metric_add(n->m.apply_failures, 1);
		node_metric_set(n->m.apply_stuck, (double)h);
	}
}

static void after_apply(node *n, node__job *j)
{
	node_mempool_update_result ur;
	uint64_t h = j->block->header.height;
	uint64_t prev_time = n->info.last_time_ms;

	n->applying = 0;
	if (j->rc != 0) {
		apply_failed(n, j);
		if (node_mempool_update(n->mempool, NULL, NULL) != 0)
			fl_log(FL_LOG_WARN, LOG, "mempool: recheck failed; it was emptied");
		node__own_txs_flush(n);
		if (n->http_open)
			node_rpc_mempool_resumed(&n->rpc);
		return;
	}
	node__sync_applied(n, h);
	if (n->stuck.height != 0) {
		fl_log(FL_LOG_INFO, LOG, "height %llu: applied after %u failed attempts",
		       (unsigned long long)h, n->stuck.attempts);
		stuck_clear(n);
	}
	if (node_mempool_update(n->mempool, j->block, &ur) != 0)
		fl_log(FL_LOG_WARN, LOG, "mempool: recheck failed; it was emptied");
	node__own_txs_flush(n);
	char hex[17];
	fl_hex_encode(hex, j->hash.b, 8);
	fl_log(FL_LOG_INFO, LOG, "committed height %llu block %s… round %u, %u txs%s",
	       (unsigned long long)h, hex, j->commit.round, j->block->n_txs,
	       (j->flags & NODE__APPLY_SYNC) ? " (sync)" : "");
	node__metrics_commit(n, j->block, h > 1 ? prev_time : 0, n->decided_ms);
	node__cons_committed(n, h);
	node__rpc_committed(n, j->block, &j->hash);
	node__round_committed(n, j->block);
	node__sync_next(n);
}

static void after_work_cb(uv_work_t *req, int status)
{
	node__job *j = req->data;
	node *n = j->node;

	(void)status;
	n->job_running = 0;
	if (j->kind == NODE__JOB_VALIDATE)
		uv_timer_stop(&n->validate_timer);
	if (j->cached != NULL)
		((node__block *)j->cached)->busy = 0;
	if (!n->stopping) {
		if (j->kind == NODE__JOB_VALIDATE)
			after_validate(n, j);
		else
			after_apply(n, j);
	} else if (j->kind == NODE__JOB_APPLY) {
		n->applying = 0;
	}
	job_free(j);
	job_next(n);
}

static void job_next(node *n)
{
	node__job *j;

	while (!n->job_running && (j = n->jobs) != NULL && !n->stopping) {
		n->jobs = j->next;
		if (n->jobs == NULL)
			n->jobs_tail = NULL;
		if (j->kind == NODE__JOB_VALIDATE) {
			/* The block must still be held, and of the next height. */
			node__block *b = node__block_find(n, &j->hash);
			if (b == NULL || b->height != n->info.height + 1 || n->applying) {
				fl_free(j);
				continue;
			}
			/* Validators verify before they prevote: a block with an
			 * aggregate still being recomputed waits for it. */
			switch (node__round_block_ready(n, &b->block, &b->hash)) {
			case NODE__BLOCK_PARKED:
				fl_free(j);
				continue;
			case NODE__BLOCK_BAD:
				j->bad_aggregate = 1;
				break;
			default:
				break;
			}
			j->block = &b->block;
			j->cached = b;
			b->busy = 1;
			j->test_delay_ms = n->test.slow_validate_ms;
			n->test.slow_validate_ms = 0;
		} else {
			node_mempool_release(n->mempool);
			if (n->test.fail_applies > 0) {
				j->test_fail = 1;
				n->test.fail_applies--;
			}
		}
		n->work.data = j;
		n->job_running = 1;
		if (uv_queue_work(n->loop, &n->work, work_cb, after_work_cb) != 0) {
			n->job_running = 0;
			if (j->cached != NULL)
				((node__block *)j->cached)->busy = 0;
			if (j->kind == NODE__JOB_APPLY)
				n->applying = 0;
			job_free(j);
			continue;
		}
		if (j->kind == NODE__JOB_VALIDATE &&
		    n->home.config.timeouts.block_validation_ms > 0)
			uv_timer_start(&n->validate_timer, validate_timeout_cb,
				       n->home.config.timeouts.block_validation_ms, 0);
	}
	/* On shutdown, jobs not started are dropped. */
	while (n->stopping && !n->job_running && (j = n->jobs) != NULL) {
		n->jobs = j->next;
		if (j->kind == NODE__JOB_VALIDATE)
			fl_free(j);
		else
			job_free(j);
	}
	if (n->jobs == NULL)
		n->jobs_tail = NULL;
}

static void job_push(node *n, node__job *j)
{
	j->node = n;
	j->next = NULL;
	if (n->jobs_tail != NULL)
		n->jobs_tail->next = j;
	else
		n->jobs = j;
	n->jobs_tail = j;
	job_next(n);
}

void node__job_validate(node *n, const fl_hash *hash)
{
	node__job *j = fl_calloc(1, sizeof(*j));

	if (j == NULL)
		return; /* no verdict: the prevote timeout moves on */
	j->kind = NODE__JOB_VALIDATE;
	j->hash = *hash;
	job_push(n, j);
}

/*
 * A decided block of the height that failed to apply (n->stuck): another
 * block of that height is refused, whoever offers it; another copy of that
 * block (a peer's, by sync) replaces the kept one for the next attempt,
 * which waits for its time (node__block_retry). 1: do not apply now.
 */
static int stuck_holds(node *n, const uint8_t *bytes, size_t len, const chain_commit *c)
{
	node__stuck *s = &n->stuck;
	uint8_t *copy;

	if (s->height == 0 || c->height != s->height)
		return 0;
	if (fl_hash_cmp(&c->block_hash, &s->hash) != 0) {
		char want[17], got[17];
		fl_hex_encode(want, s->hash.b, 8);
		fl_hex_encode(got, c->block_hash.b, 8);
		fl_log(FL_LOG_ERROR, LOG,
		       "height %llu: refusing block %s…: this node decided block %s… there",
		       (unsigned long long)c->height, got, want);
		return 1;
	}
	if (node__now_ms() >= s->retry_ms)
		return 0;
	if (bytes != s->bytes && (copy = fl_malloc(len)) != NULL) {
		memcpy(copy, bytes, len);
		fl_free(s->bytes);
		s->bytes = copy;
		s->n = len;
		s->commit = *c;
	}
	return 1;
}

void node__block_retry(node *n)
{
	node__stuck *s = &n->stuck;

	if (s->height == 0 || n->applying != 0 || n->stopping)
		return;
	if (s->height != n->info.height + 1) {
		stuck_clear(n); /* applied meanwhile */
		return;
	}
	if (node__now_ms() < s->retry_ms)
		return;
	node__job_apply(n, s->bytes, s->n, &s->commit, 0);
}

/* Applies a decided block: its own decoded copy, since the cache is pruned
 * while it runs. One at a time: a second for the same height is dropped. */
void node__job_apply(node *n, const uint8_t *bytes, size_t len, const chain_commit *c, int flags)
{
	node__job *j;
	int rc;

	if (n->applying != 0 || c->height != n->info.height + 1 || stuck_holds(n, bytes, len, c))
		return;
	if ((j = fl_calloc(1, sizeof(*j))) == NULL ||
	    (j->block = fl_calloc(1, sizeof(chain_block))) == NULL ||
	    (j->bytes = fl_malloc(len)) == NULL) {
		if (j != NULL) {
			fl_free(j->block);
			fl_free(j);
		}
		return;
	}
	memcpy(j->bytes, bytes, len);
	j->n = len;
	j->kind = NODE__JOB_APPLY;
	j->commit = *c;
	j->flags = flags;
	j->hash = c->block_hash;
	if ((rc = chain_block_decode(j->block, bytes, len)) != 0) {
		job_free(j);
		return;
	}
	n->applying = c->height;
	job_push(n, j);
}
