/*
 * tools/bench_chain.c — the `chain` suite: a store in a temp dir with one
 * validator and funded accounts, then, each against the one-thread BIP340
 * verify rate of the same run (the cost that used to dominate):
 *
 *   bip340_verify_1thread        fl_verify of distinct tx signatures, verifies/s
 *   apply_5000_cached            chain_apply_block of a 5,000-transfer block
 *                                after chain_check_block of it (what a
 *                                validator does with a proposal), tx/s
 *   apply_5000_cold_1thread      the same with no signature cached, one thread
 *   apply_5000_cold_2threads     the same with two verify threads, tx/s
 *   admission_while_applying     chain_mempool_check_tx of fresh transfers on
 *                                one thread while another applies blocks, tx/s
 *   txindex_5000                 chain_index_txs of one such block after it
 *                                committed (the tx index is written after the
 *                                block, off its path: chain/txindex.c), tx/s
 *
 * Each apply includes the durable commit (fsync) of the store, in a temp dir
 * under $TMPDIR (/tmp by default). Each figure is the best of `reps` runs.
 */
#include "chain/chain.h"
#include "tools/bench.h"

#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUITE       "chain"
#define VERIFY_NAME "bip340_verify_1thread"
#define BENCH_CHAIN "fedledger-bench"
#define BLOCK_TXS   5000
#define APPLY_TXS   1000 /* per block of the applying thread during admission */

typedef struct {
	chain_store *store;
	char dir[64];
	uint32_t n_keys;
	fl_seckey *sk;
	fl_pubkey *pk;
	uint64_t *nonce; /* last nonce signed per key */
	fl_seckey val_sk;
	fl_pubkey val_pk;
} bench_store;

static void derive_key(fl_seckey *sk, fl_pubkey *pk, const char *role, uint32_t i)
{
	char label[64];
	fl_hash h;
	int n = snprintf(label, sizeof(label), "bench %s %u", role, i);

	/* SHA-256 of a label is a valid scalar but with negligible odds. */
	fl_sha256(&h, label, (size_t)n);
	memcpy(sk->b, h.b, FL_SECKEY_LEN);
	if (fl_key_public(pk, sk) != FL_OK)
		memset(pk, 0, sizeof(*pk));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void store_close(bench_store *s)
{
	chain_store_close(s->store);
	if (s->dir[0] != '\0')
		nftw(s->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	fl_free(s->sk);
	fl_free(s->pk);
	fl_free(s->nonce);
	memset(s, 0, sizeof(*s));
}

static int store_open(bench_store *s, uint32_t n_keys)
{
	const char *tmp = getenv("TMPDIR");
	chain_genesis_validator val;
	chain_genesis g;
	int rc = FL_ENOMEM;

	memset(s, 0, sizeof(*s));
	memset(&g, 0, sizeof(g));
	snprintf(s->dir, sizeof(s->dir), "%s/fedledger-bench-XXXXXX",
		 tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL) {
		s->dir[0] = '\0';
		return FL_EIO;
	}
	s->n_keys = n_keys;
	s->sk = fl_calloc(n_keys, sizeof(*s->sk));
	s->pk = fl_calloc(n_keys, sizeof(*s->pk));
	s->nonce = fl_calloc(n_keys, sizeof(*s->nonce));
	g.balances = fl_calloc(n_keys, sizeof(*g.balances));
	if (s->sk == NULL || s->pk == NULL || s->nonce == NULL || g.balances == NULL)
		goto cleanup;
	derive_key(&s->val_sk, &s->val_pk, "validator", 0);
	for (uint32_t i = 0; i < n_keys; i++) {
		derive_key(&s->sk[i], &s->pk[i], "account", i);
		g.balances[i].account = s->pk[i];
		g.balances[i].amount = 1000000000;
	}
	snprintf(g.chain_id, sizeof(g.chain_id), "%s", BENCH_CHAIN);
	g.genesis_time_ms = 1700000000000ull;
	chain_params_default(&g.params);
	g.params.max_block_txs = CHAIN_MAX_BLOCK_TXS;
	g.params.max_block_bytes = CHAIN_MAX_BLOCK_BYTES;
	memset(&val, 0, sizeof(val));
	val.pubkey = s->val_pk;
	val.power = 10;
	snprintf(val.name, sizeof(val.name), "validator");
	g.validators = &val;
	g.n_validators = 1;
	g.n_balances = n_keys;
	if ((rc = chain_store_open(&s->store, s->dir, 0)) != FL_OK)
		goto cleanup;
	rc = chain_store_init_genesis(s->store, &g);

cleanup:
	fl_free(g.balances);
	if (rc != FL_OK)
		store_close(s);
	return rc;
}

/* Transfers of 1 from each key of [lo, lo + n) to the next one, each with
 * its sender's next nonce; txs owns nothing (free with fl_free). */
static int sign_transfers(bench_store *s, uint32_t lo, uint32_t n, chain_tx **out)
{
	chain_tx *txs = fl_calloc(n ? n : 1, sizeof(*txs));
	int rc = FL_OK;

	*out = NULL;
	if (txs == NULL)
		return FL_ENOMEM;
	for (uint32_t i = 0; i < n && rc == FL_OK; i++) {
		uint32_t from = lo + i, to = lo + (i + 1) % n;

		txs[i].kind = CHAIN_TX_TRANSFER;
		txs[i].u.transfer.to = s->pk[to];
		txs[i].u.transfer.amount = 1;
		txs[i].nonce = ++s->nonce[from];
		rc = chain_tx_sign(&txs[i], BENCH_CHAIN, &s->sk[from]);
	}
	if (rc != FL_OK) {
		fl_free(txs);
		return rc;
	}
	*out = txs;
	return FL_OK;
}

/* The next block over txs (copied; b owns the copy): the one validator
 * proposes and signs the last commit. */
static int build_block(bench_store *s, const chain_tx *txs, uint32_t n, chain_block *b)
{
	chain_block_header *h = &b->header;
	chain_info info;
	chain_vote v;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = chain_store_info(s->store, &info)) != FL_OK)
		return rc;
	if (n > 0) {
		if ((b->txs = fl_calloc(n, sizeof(*b->txs))) == NULL)
			return FL_ENOMEM;
		memcpy(b->txs, txs, n * sizeof(*txs)); /* transfers own no memory */
		b->n_txs = n;
	}
	h->version = CHAIN_BLOCK_VERSION;
	memcpy(h->chain_id, info.chain_id, sizeof(h->chain_id));
	h->height = info.height + 1;
	h->time_ms = info.last_time_ms + 1000;
	h->prev_hash = info.last_block_hash;
	h->app_hash = info.app_hash;
	h->proposer = s->val_pk;
	if ((rc = chain_block_tx_root(&h->tx_root, b)) != FL_OK)
		goto fail;
	if (info.height > 0) {
		memset(&v, 0, sizeof(v));
		v.type = CHAIN_VOTE_PRECOMMIT;
		v.height = info.height;
		v.block_hash = info.last_block_hash;
		if ((rc = chain_vote_sign(&v, info.chain_id, &s->val_sk)) != FL_OK)
			goto fail;
		b->last_commit.height = info.height;
		b->last_commit.block_hash = info.last_block_hash;
		b->last_commit.n_sigs = 1;
		b->last_commit.sigs[0].validator = v.validator;
		b->last_commit.sigs[0].sig = v.sig;
		if ((rc = chain_commit_hash(&h->last_commit_hash, &b->last_commit)) != FL_OK)
			goto fail;
	}
	if ((rc = chain_header_prove_beacon(h, &s->val_sk, &info.beacon)) != FL_OK)
		goto fail;
	return FL_OK;
fail:
	chain_block_free(b);
	return rc;
}

/* ------------------------------------------------------------ verify */

typedef struct {
	const chain_tx *txs;
	const fl_hash *msgs;
	uint32_t n;
} verify_job;

static int verify_call(void *ctx)
{
	verify_job *j = ctx;

	for (uint32_t i = 0; i < j->n; i++)
		if (fl_verify(&j->txs[i].sig, &j->txs[i].sender, &j->msgs[i]) != FL_OK)
			return FL_ESIG;
	return FL_OK;
}

static int measure_verify(const bench_ctx *b, bench_store *s, uint32_t n, double *rate)
{
	bench_plan plan = {b->quick ? 1 : 3, 1, 0.0};
	fl_hash *msgs = fl_calloc(n, sizeof(*msgs));
	chain_tx *txs = NULL;
	double sec;
	int rc;

	if (msgs == NULL)
		return FL_ENOMEM;
	if ((rc = sign_transfers(s, 0, n, &txs)) != FL_OK)
		goto cleanup;
	/* Signed, never applied: the nonces go back. */
	for (uint32_t i = 0; i < n; i++)
		s->nonce[i]--;
	for (uint32_t i = 0; i < n && rc == FL_OK; i++)
		rc = chain_tx_sighash(&msgs[i], BENCH_CHAIN, &txs[i]);
	if (rc == FL_OK)
		rc = bench_time(&sec, &plan, verify_call, &(verify_job){txs, msgs, n});
	if (rc == FL_OK)
		*rate = n / sec;
cleanup:
	fl_free(txs);
	fl_free(msgs);
	return rc;
}

/* ------------------------------------------------------------- apply */

/* Best tx/s of applying a fresh n-transfer block, `reps` times; with
 * `warm` the block is checked first (which verifies and caches its
 * signatures), as a validator checks a proposal before it commits it. */
static int measure_apply(bench_store *s, uint32_t n, unsigned reps, int warm, double *rate)
{
	double best = 0;
	int rc = FL_OK;

	for (unsigned r = 0; r < reps && rc == FL_OK; r++) {
		chain_block_result res;
		chain_tx *txs = NULL;
		chain_block blk;
		double t0;

		if ((rc = sign_transfers(s, 0, n, &txs)) != FL_OK)
			break;
		rc = build_block(s, txs, n, &blk);
		fl_free(txs);
		if (rc != FL_OK)
			break;
		if (warm)
			rc = chain_check_block(s->store, &blk, &res);
		if (rc == FL_OK) {
			t0 = fl_now();
			rc = chain_apply_block(s->store, &blk, &res);
			if (rc == FL_OK && n / (fl_now() - t0) > best)
				best = n / (fl_now() - t0);
		}
		if (rc != FL_OK)
			fprintf(stderr, BENCH_PROG ": chain: block refused: %s\n",
				res.reason != NULL ? res.reason : "?");
		chain_block_free(&blk);
	}
	*rate = best;
	return rc;
}

/* Best tx/s of indexing one freshly applied n-transfer block, the index
 * being up to date before it (chain_index_txs reads the block back). */
static int measure_index(bench_store *s, uint32_t n, unsigned reps, double *rate)
{
	double best = 0;
	int rc = FL_OK;

	for (unsigned r = 0; r < reps && rc == FL_OK; r++) {
		chain_block_result res;
		chain_tx *txs = NULL;
		chain_block blk;
		uint64_t before = 0, after = 0;
		double t0, sec;

		if ((rc = chain_index_txs(s->store, UINT64_MAX, &before)) != FL_OK ||
		    (rc = sign_transfers(s, 0, n, &txs)) != FL_OK)
			break;
		rc = build_block(s, txs, n, &blk);
		fl_free(txs);
		if (rc != FL_OK)
			break;
		rc = chain_apply_block(s->store, &blk, &res);
		chain_block_free(&blk);
		if (rc != FL_OK)
			break;
		t0 = fl_now();
		rc = chain_index_txs(s->store, UINT64_MAX, &after);
		sec = fl_now() - t0;
		if (rc == FL_OK && after != before + 1)
			rc = FL_ECORRUPT;
		if (rc == FL_OK && n / sec > best)
			best = n / sec;
	}
	*rate = best;
	return rc;
}

/* --------------------------------------------------------- admission */

typedef struct {
	bench_store *s;
	const chain_tx *txs; /* n_batches * batch, their signatures cached */
	uint32_t n_batches, batch;
	atomic_int stop;
	atomic_uint blocks;
	int rc;
} apply_loop;

/* Blocks one after another until told to stop: the batches, then empty
 * blocks (each still a durable commit). */
static void *apply_thread(void *arg)
{
	apply_loop *a = arg;

	for (uint32_t k = 0; !atomic_load(&a->stop) && a->rc == FL_OK; k++) {
		uint32_t n = k < a->n_batches ? a->batch : 0;
		chain_block_result res;
		chain_block blk;

		a->rc = build_block(a->s, n > 0 ? a->txs + (size_t)k * n : NULL, n, &blk);
		if (a->rc != FL_OK)
			break;
		a->rc = chain_apply_block(a->s->store, &blk, &res);
		chain_block_free(&blk);
		atomic_fetch_add(&a->blocks, 1);
	}
	return NULL;
}

/* Fills the cache with the batches' signatures, as their admission would. */
static int warm_batches(bench_store *s, const chain_tx *txs, uint32_t n)
{
	chain_block blk;

	memset(&blk, 0, sizeof(blk));
	memcpy(blk.header.chain_id, BENCH_CHAIN, sizeof(BENCH_CHAIN));
	blk.txs = (chain_tx *)txs;
	blk.n_txs = n;
	return chain_preverify_block(s->store, &blk, 0);
}

/* Fresh transfers of keys [n, 2n) (never applied, so their nonces are
 * reused by the next repetition with new signatures: never cached). */
static int measure_admission(bench_store *s, uint32_t n, unsigned reps, uint32_t n_batches,
			     double *rate)
{
	uint32_t batch = n < APPLY_TXS ? n : APPLY_TXS;
	double best = 0;
	int rc = FL_OK;

	for (unsigned r = 0; r < reps && rc == FL_OK; r++) {
		chain_tx *adm = NULL, *batches = NULL, *one = NULL;
		chain_mempool_check *ck = NULL;
		apply_loop a;
		pthread_t th;
		double t0, t1;

		memset(&a, 0, sizeof(a));
		batches = fl_calloc((size_t)n_batches * batch, sizeof(*batches));
		if (batches == NULL)
			return FL_ENOMEM;
		for (uint32_t k = 0; k < n_batches && rc == FL_OK; k++) {
			if ((rc = sign_transfers(s, 0, batch, &one)) == FL_OK)
				memcpy(batches + (size_t)k * batch, one, batch * sizeof(*one));
			fl_free(one);
		}
		if (rc == FL_OK)
			rc = warm_batches(s, batches, n_batches * batch);
		if (rc == FL_OK)
			rc = sign_transfers(s, n, n, &adm);
		for (uint32_t i = 0; i < n && rc == FL_OK; i++)
			s->nonce[n + i]--;
		if (rc != FL_OK) {
			fl_free(batches);
			fl_free(adm);
			return rc;
		}
		a.s = s;
		a.txs = batches;
		a.n_batches = n_batches;
		a.batch = batch;
		if (pthread_create(&th, NULL, apply_thread, &a) != 0) {
			fl_free(batches);
			fl_free(adm);
			return FL_ENOMEM;
		}
		/* Admission starts once blocks are being applied. */
		while (atomic_load(&a.blocks) == 0 && a.rc == FL_OK)
			sched_yield();
		t0 = fl_now();
		rc = chain_mempool_check_begin(s->store, &ck);
		for (uint32_t i = 0; i < n && rc == FL_OK; i++) {
			const char *why = NULL;

			rc = chain_mempool_check_tx(ck, &adm[i], &why);
			if (rc != FL_OK)
				fprintf(stderr, BENCH_PROG ": chain: tx %u refused: %s\n", i,
					why != NULL ? why : "?");
		}
		chain_mempool_check_end(ck);
		t1 = fl_now();
		atomic_store(&a.stop, 1);
		pthread_join(th, NULL);
		if (rc == FL_OK)
			rc = a.rc;
		if (rc == FL_OK && n / (t1 - t0) > best)
			best = n / (t1 - t0);
		/* The batches the applier did not reach were never applied. */
		for (uint32_t k = atomic_load(&a.blocks); k < n_batches; k++)
			for (uint32_t i = 0; i < batch; i++)
				s->nonce[i]--;
		fl_free(batches);
		fl_free(adm);
	}
	*rate = best;
	return rc;
}

int bench_suite_chain(bench_ctx *b)
{
	uint32_t n = b->quick ? 100 : BLOCK_TXS;
	unsigned reps = b->quick ? 1 : 3;
	double verify = 0, rate = 0;
	bench_store s;
	int rc;

	if ((rc = store_open(&s, 2 * n)) != FL_OK)
		return rc;
	if ((rc = measure_verify(b, &s, n, &verify)) != FL_OK)
		goto cleanup;
	bench_emit(b, &(bench_figure){SUITE, VERIFY_NAME, verify, "verifies/s", VERIFY_NAME,
				      verify, 1.0});
	if ((rc = measure_apply(&s, n, reps, 1, &rate)) != FL_OK)
		goto cleanup;
	bench_emit(b, &(bench_figure){SUITE, "apply_5000_cached", rate, "tx/s", VERIFY_NAME,
				      verify, rate / verify});
	if ((rc = measure_apply(&s, n, reps, 0, &rate)) != FL_OK)
		goto cleanup;
	bench_emit(b, &(bench_figure){SUITE, "apply_5000_cold_1thread", rate, "tx/s", VERIFY_NAME,
				      verify, rate / verify});
	if ((rc = chain_store_set_verify_threads(s.store, 2)) != FL_OK)
		goto cleanup;
	rc = measure_apply(&s, n, reps, 0, &rate);
	if (rc == FL_OK)
		rc = chain_store_set_verify_threads(s.store, 1);
	if (rc != FL_OK)
		goto cleanup;
	bench_emit(b, &(bench_figure){SUITE, "apply_5000_cold_2threads", rate, "tx/s",
				      VERIFY_NAME, verify, rate / verify});
	if ((rc = measure_admission(&s, n, reps, b->quick ? 1 : 8, &rate)) != FL_OK)
		goto cleanup;
	bench_emit(b, &(bench_figure){SUITE, "admission_while_applying", rate, "tx/s",
				      VERIFY_NAME, verify, rate / verify});
	if ((rc = measure_index(&s, n, reps, &rate)) != FL_OK)
		goto cleanup;
	bench_emit(b, &(bench_figure){SUITE, "txindex_5000", rate, "tx/s", VERIFY_NAME, verify,
				      rate / verify});

cleanup:
	store_close(&s);
	return rc;
}
