/*
 * tests/chain/test_verify.c — signatures verified once: admission and
 * chain_check_block fill the store's signature cache with every tx and
 * commit signature of a block, chain_apply_block then finds them; a cached
 * signature never vouches for another body, key or signature; and a
 * block's signatures verified on several threads give the same outcome
 * (failing tx, reason, app hash) as on one.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static chain_fixture fx;

static void open_fixture(chain_fixture *f)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = 2;
	o.n_outsiders = 2;
	o.balance = 1000000;
	cr_assert_eq(fixture_open(f, &o), 0);
}

static void open_default(void)
{
	open_fixture(&fx);
}

static void close_fixture(void)
{
	fixture_close(&fx);
}

TestSuite(verify, .init = open_default, .fini = close_fixture);

static int tx_cached(chain_store *s, const chain_tx *tx)
{
	fl_hash msg;

	cr_assert_eq(chain_tx_sighash(&msg, fx.genesis.chain_id, tx), 0);
	return fl_sigcache_contains(chain_store_sigcache(s), &msg, &tx->sender, &tx->sig);
}

static int commit_sig_cached(chain_store *s, const chain_commit *c, uint32_t k)
{
	chain_vote v;
	fl_hash msg;

	memset(&v, 0, sizeof(v));
	v.type = CHAIN_VOTE_PRECOMMIT;
	v.height = c->height;
	v.round = c->round;
	v.block_hash = c->block_hash;
	v.validator = c->sigs[k].validator;
	cr_assert_eq(chain_vote_digest(&msg, fx.genesis.chain_id, &v), 0);
	return fl_sigcache_contains(chain_store_sigcache(s), &msg, &v.validator, &c->sigs[k].sig);
}

/* n transfers of 1 from keys 0..n-1 (mod the key count) to key 7. */
static void make_transfers(chain_tx *txs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		cr_assert_eq(fixture_transfer(&fx, &txs[i], i % 7, 7, 1 + i), 0);
}

static void free_txs(chain_tx *txs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
}

Test(verify, check_block_fills_the_cache_that_apply_uses)
{
	chain_tx txs[8];
	chain_block b;
	chain_block_result r;

	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	make_transfers(txs, 8);
	cr_assert_eq(fixture_build_block(&fx, txs, 8, &b), 0);
	cr_assert_eq(b.last_commit.n_sigs, 4);
	for (uint32_t i = 0; i < 8; i++)
		cr_assert_eq(tx_cached(fx.store, &b.txs[i]), 0, "tx %u", i);
	cr_assert_eq(chain_check_block(fx.store, &b, &r), 0, "%s", r.reason);
	for (uint32_t i = 0; i < 8; i++)
		cr_assert_eq(tx_cached(fx.store, &b.txs[i]), 1, "tx %u", i);
	for (uint32_t k = 0; k < 4; k++)
		cr_assert_eq(commit_sig_cached(fx.store, &b.last_commit, k), 1, "sig %u", k);
	cr_assert_eq(fixture_apply(&fx, &b), 0, "%s", fx.res.reason);
	cr_assert_eq(fl_hash_cmp(&fx.res.app_hash, &r.app_hash), 0);
	cr_assert_eq(fixture_balance(&fx, 7), 1000000 + 36);
	chain_block_free(&b);
	free_txs(txs, 8);
}

/* Apply's signatures are never checked again: a cold block, on one thread
 * and on two, leaves the cache as it found it (no insert that would only
 * cost time and evict the mempool's entries). */
Test(verify, apply_adds_nothing_to_the_cache)
{
	enum { N = 12 };
	chain_tx txs[N];
	chain_block b;

	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	for (unsigned threads = 1; threads <= 2; threads++) {
		cr_assert_eq(chain_store_set_verify_threads(fx.store, threads), 0);
		make_transfers(txs, N);
		cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
		cr_assert_eq(fixture_apply(&fx, &b), 0, "%s", fx.res.reason);
		for (uint32_t i = 0; i < N; i++)
			cr_assert_eq(tx_cached(fx.store, &b.txs[i]), 0, "tx %u", i);
		for (uint32_t k = 0; k < b.last_commit.n_sigs; k++)
			cr_assert_eq(commit_sig_cached(fx.store, &b.last_commit, k), 0);
		chain_block_free(&b);
		free_txs(txs, N);
	}
}

Test(verify, admission_fills_the_cache)
{
	chain_tx tx;
	const char *reason = NULL;

	cr_assert_eq(fixture_transfer(&fx, &tx, 1, 2, 10), 0);
	cr_assert_eq(tx_cached(fx.store, &tx), 0);
	cr_assert_eq(chain_check_tx(fx.store, &tx, 0, &reason), 0);
	cr_assert_eq(tx_cached(fx.store, &tx), 1);
	/* A tx that fails its rule after its signature verified: the
	 * signature was still good and stays cached; a forged one is never. */
	tx.sig.b[0] ^= 1;
	cr_assert_eq(chain_check_tx(fx.store, &tx, 0, &reason), FL_ESIG);
	cr_assert_str_eq(reason, "tx: signature");
	cr_assert_eq(tx_cached(fx.store, &tx), 0);
	chain_tx_free(&tx);
}

/* The cache holds (sighash, key, sig): the cached signature over another
 * body, with another sender, or a changed signature over the cached body
 * must all fail as if there were no cache. */
Test(verify, cached_signature_never_vouches_for_another_tx)
{
	chain_tx tx, other;
	const char *reason = NULL;
	chain_block b;

	cr_assert_eq(fixture_transfer(&fx, &tx, 1, 2, 10), 0);
	cr_assert_eq(chain_check_tx(fx.store, &tx, 0, &reason), 0);
	cr_assert_eq(tx_cached(fx.store, &tx), 1);

	/* Same signature, another amount (body). */
	other = tx;
	other.u.transfer.amount = 999999;
	cr_assert_eq(chain_check_tx(fx.store, &other, 0, &reason), FL_ESIG);
	cr_assert_eq(fixture_build_block(&fx, &other, 1, &b), 0);
	cr_assert_eq(fixture_apply(&fx, &b), FL_ESIG);
	cr_assert_str_eq(fx.res.reason, "tx: signature");
	cr_assert_eq(fx.res.failed_tx, 0);
	chain_block_free(&b);

	/* Same body and signature, another sender. */
	other = tx;
	other.sender = fx.pk[3];
	cr_assert_eq(fixture_build_block(&fx, &other, 1, &b), 0);
	cr_assert_eq(fixture_apply(&fx, &b), FL_ESIG);
	chain_block_free(&b);

	/* Same body, one bit of the signature changed. */
	other = tx;
	other.sig.b[40] ^= 4;
	cr_assert_eq(fixture_build_block(&fx, &other, 1, &b), 0);
	cr_assert_eq(fixture_apply(&fx, &b), FL_ESIG);
	chain_block_free(&b);

	/* The cached one itself applies; nothing of the others was written. */
	cr_assert_eq(fixture_balance(&fx, 1), 1000000);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_balance(&fx, 1), 1000000 - 10);
	chain_tx_free(&tx);
}

/* The same block applied on two stores of one genesis, verified on one
 * thread and on three: the same outcome, bad signature or not. */
Test(verify, threads_change_no_outcome)
{
	enum { N = 40 };
	chain_fixture fx3;
	chain_tx txs[N];
	chain_block b;
	chain_block_result r1, r3;

	open_fixture(&fx3);
	cr_assert_eq(chain_store_set_verify_threads(fx3.store, 3), 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(fixture_next_block(&fx3, NULL, 0), 0);
	make_transfers(txs, N);

	/* tx 29 forged: both refuse it at index 29; preverify says so too. */
	txs[29].sig.b[7] ^= 1;
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	cr_assert_eq(chain_preverify_block(fx3.store, &b, 0), FL_ESIG);
	cr_assert_eq(chain_apply_block(fx.store, &b, &r1), FL_ESIG);
	cr_assert_eq(chain_apply_block(fx3.store, &b, &r3), FL_ESIG);
	cr_assert_eq(r1.failed_tx, 29);
	cr_assert_eq(r3.failed_tx, 29);
	cr_assert_str_eq(r3.reason, "tx: signature");
	chain_block_free(&b);

	/* A forged commit signature: "last_commit" on both. */
	txs[29].sig.b[7] ^= 1;
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	b.last_commit.sigs[2].sig.b[1] ^= 1;
	cr_assert_eq(chain_commit_hash(&b.header.last_commit_hash, &b.last_commit), 0);
	cr_assert_eq(chain_preverify_block(fx3.store, &b, 2), FL_ESIG);
	cr_assert_eq(chain_apply_block(fx.store, &b, &r1), FL_ESIG);
	cr_assert_eq(chain_apply_block(fx3.store, &b, &r3), FL_ESIG);
	cr_assert_str_eq(r1.reason, "last_commit");
	cr_assert_str_eq(r3.reason, "last_commit");
	chain_block_free(&b);

	/* The honest block: same app hash; preverify first fills the cache. */
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	cr_assert_eq(chain_preverify_block(fx3.store, &b, 0), FL_OK);
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(tx_cached(fx3.store, &b.txs[i]), 1, "tx %u", i);
	cr_assert_eq(chain_apply_block(fx3.store, &b, &r3), 0, "%s", r3.reason);
	cr_assert_eq(chain_apply_block(fx.store, &b, &r1), 0, "%s", r1.reason);
	cr_assert_eq(fl_hash_cmp(&r1.app_hash, &r3.app_hash), 0);
	chain_block_free(&b);
	free_txs(txs, N);
	fixture_close(&fx3);
}

Test(verify, thread_count_bounds)
{
	cr_assert_eq(chain_store_set_verify_threads(fx.store, 0), FL_EINVAL);
	cr_assert_eq(chain_store_set_verify_threads(fx.store, CHAIN_MAX_VERIFY_THREADS + 1),
		     FL_EINVAL);
	cr_assert_eq(chain_store_set_verify_threads(fx.store, 2), 0);
	cr_assert_eq(chain_store_set_verify_threads(fx.store, 4), 0);
	cr_assert_eq(chain_store_set_verify_threads(fx.store, 1), 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
}

/* A block refused before its txs run drops the checks still queued on the
 * pool; the pool then serves the next block. */
Test(verify, early_refusal_drops_queued_checks)
{
	enum { N = 60 };
	chain_tx txs[N];
	chain_block b;

	cr_assert_eq(chain_store_set_verify_threads(fx.store, 2), 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	make_transfers(txs, N);
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	b.header.app_hash.b[0] ^= 1;
	cr_assert_eq(fixture_apply(&fx, &b), FL_ECHAIN);
	cr_assert_str_eq(fx.res.reason, "app_hash");
	b.header.app_hash.b[0] ^= 1;
	/* Tx 1 changed after signing, with 58 more behind it. */
	b.txs[1].nonce += 5;
	cr_assert_eq(chain_block_tx_root(&b.header.tx_root, &b), 0);
	cr_assert_eq(fixture_apply(&fx, &b), FL_ESIG);
	cr_assert_eq(fx.res.failed_tx, 1);
	chain_block_free(&b);
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	cr_assert_eq(fixture_apply(&fx, &b), 0, "%s", fx.res.reason);
	chain_block_free(&b);
	free_txs(txs, N);
}

/* The block on the three stores (1, 2 and 3 verify threads): the same
 * code, failing tx and reason everywhere, and that failing tx expected. */
static void apply_on_all(chain_fixture *f[3], const chain_block *b, int want_rc, uint32_t want_tx)
{
	chain_block_result r[3];
	int rc[3];

	for (int k = 0; k < 3; k++)
		rc[k] = chain_apply_block(f[k]->store, b, &r[k]);
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(rc[k], rc[0], "store %d: %d vs %d", k, rc[k], rc[0]);
		cr_assert_eq(r[k].failed_tx, r[0].failed_tx, "store %d", k);
		cr_assert_eq(r[k].reason == NULL, r[0].reason == NULL, "store %d", k);
		if (r[0].reason != NULL)
			cr_assert_str_eq(r[k].reason, r[0].reason, "store %d", k);
		cr_assert_eq(fl_hash_cmp(&r[k].app_hash, &r[0].app_hash), 0, "store %d", k);
	}
	if (want_rc == FL_OK) {
		cr_assert_eq(rc[0], FL_OK, "%s", r[0].reason);
		return;
	}
	cr_assert_eq(r[0].failed_tx, want_tx, "failed at %u (%s)", r[0].failed_tx, r[0].reason);
	if (want_rc == FL_ESIG) {
		cr_assert_eq(rc[0], FL_ESIG);
		cr_assert_str_eq(r[0].reason, "tx: signature");
	} else {
		/* A rule's refusal, not a signature's. */
		cr_assert_neq(rc[0], FL_OK);
		cr_assert_neq(rc[0], FL_ESIG, "%s", r[0].reason);
	}
}

/* Tx j of b spends more than its sender has, signed again (a rule fails,
 * not its signature); the tx root follows. */
static void overspend(chain_block *b, uint32_t j)
{
	b->txs[j].u.transfer.amount = 1000000000;
	cr_assert_eq(fixture_sign_nonce(&fx, &b->txs[j], j % 7, b->txs[j].nonce), 0);
	cr_assert_eq(chain_block_tx_root(&b->header.tx_root, b), 0);
}

/* Tx j's signature no longer matches it; the tx root follows (it covers
 * the signature). */
static void forge(chain_block *b, uint32_t j)
{
	b->txs[j].sig.b[5] ^= 0x10;
	cr_assert_eq(chain_block_tx_root(&b->header.tx_root, b), 0);
}

/* The txs run while their signatures are checked on the other threads:
 * whatever the threads, a bad signature fails the block at its own tx
 * when no earlier tx failed, a rule's refusal before it wins, and the
 * signature wins over a refusal at or after its tx. */
Test(verify, bad_signature_anywhere_same_outcome_on_1_2_3_threads)
{
	enum { N = 64 };
	static const uint32_t bad_at[] = {0, 1, N / 2, N - 2, N - 1};
	chain_fixture fx2, fx3;
	chain_fixture *all[3] = {&fx, &fx2, &fx3};
	chain_tx txs[N];
	chain_block b;

	open_fixture(&fx2);
	open_fixture(&fx3);
	cr_assert_eq(chain_store_set_verify_threads(fx2.store, 2), 0);
	cr_assert_eq(chain_store_set_verify_threads(fx3.store, 3), 0);
	for (int k = 0; k < 3; k++)
		cr_assert_eq(fixture_next_block(all[k], NULL, 0), 0);
	make_transfers(txs, N);

	for (size_t c = 0; c < FL_ARRAY_LEN(bad_at); c++) {
		cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
		forge(&b, bad_at[c]);
		apply_on_all(all, &b, FL_ESIG, bad_at[c]);
		chain_block_free(&b);
	}
	/* A bad signature before an overspend: the signature. */
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	overspend(&b, 40);
	forge(&b, 10);
	apply_on_all(all, &b, FL_ESIG, 10);
	chain_block_free(&b);
	/* An overspend before a bad signature: the overspend. */
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	overspend(&b, 10);
	forge(&b, 40);
	apply_on_all(all, &b, FL_EFUNDS, 10);
	chain_block_free(&b);
	/* Both on one tx: the signature is checked first. */
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	overspend(&b, 20);
	forge(&b, 20);
	apply_on_all(all, &b, FL_ESIG, 20);
	chain_block_free(&b);
	/* Several bad ones: the first. */
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	forge(&b, 50);
	forge(&b, 33);
	forge(&b, 63);
	apply_on_all(all, &b, FL_ESIG, 33);
	chain_block_free(&b);
	/* The honest block: one app hash on all three. */
	cr_assert_eq(fixture_build_block(&fx, txs, N, &b), 0);
	apply_on_all(all, &b, FL_OK, 0);
	chain_block_free(&b);
	free_txs(txs, N);
	fixture_close(&fx2);
	fixture_close(&fx3);
}
