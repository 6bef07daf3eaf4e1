/*
 * tests/chain/test_txindex.c — the tx index written after the blocks
 * (chain_index_txs): nothing until it runs, every tx of every block after,
 * bounded by max_blocks a call, carried on across a restart, idempotent,
 * and a block the store cannot read back is corruption, not a silent gap.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

static chain_fixture fx;

static void open_default(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_outsiders = 4;
	o.balance = 1000000;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void close_fixture(void)
{
	fixture_close(&fx);
}

TestSuite(txindex, .init = open_default, .fini = close_fixture);

/* Block k (1-based) carries k transfers, from keys 0..k-1. */
static void blocks(uint32_t n, fl_hash hashes[][8])
{
	for (uint32_t k = 1; k <= n; k++) {
		chain_tx txs[8];

		cr_assert(k <= 8);
		for (uint32_t i = 0; i < k; i++) {
			cr_assert_eq(fixture_transfer(&fx, &txs[i], i, 7, 10 + k), 0);
			cr_assert_eq(chain_tx_hash(&hashes[k - 1][i], &txs[i]), 0);
		}
		cr_assert_eq(fixture_next_block(&fx, txs, k), 0);
		for (uint32_t i = 0; i < k; i++)
			chain_tx_free(&txs[i]);
	}
}

static void expect_at(const fl_hash *h, uint64_t height, uint32_t index)
{
	uint64_t got_h = 0;
	uint32_t got_i = 99;

	cr_assert_eq(chain_get_tx_location(fx.store, h, &got_h, &got_i), 0);
	cr_assert_eq(got_h, height);
	cr_assert_eq(got_i, index);
}

Test(txindex, written_by_index_txs_not_by_the_block)
{
	fl_hash hashes[3][8];
	uint64_t h = 0, at = 0;
	uint32_t idx = 0;

	blocks(3, hashes);
	/* The blocks committed without it. */
	cr_assert_eq(chain_get_tx_location(fx.store, &hashes[0][0], &h, &idx), FL_ENOTFOUND);
	cr_assert_eq(chain_index_txs(fx.store, 100, &at), 0);
	cr_assert_eq(at, 3);
	for (uint32_t k = 1; k <= 3; k++)
		for (uint32_t i = 0; i < k; i++)
			expect_at(&hashes[k - 1][i], k, i);
	/* Nothing left: a no-op. */
	cr_assert_eq(chain_index_txs(fx.store, 100, &at), 0);
	cr_assert_eq(at, 3);
}

Test(txindex, max_blocks_bounds_each_call)
{
	fl_hash hashes[5][8];
	uint64_t at = 0, h;
	uint32_t idx;

	blocks(5, hashes);
	cr_assert_eq(chain_index_txs(fx.store, 2, &at), 0);
	cr_assert_eq(at, 2);
	expect_at(&hashes[1][1], 2, 1);
	cr_assert_eq(chain_get_tx_location(fx.store, &hashes[2][0], &h, &idx), FL_ENOTFOUND);
	cr_assert_eq(chain_index_txs(fx.store, 2, &at), 0);
	cr_assert_eq(at, 4);
	cr_assert_eq(chain_index_txs(fx.store, 2, &at), 0);
	cr_assert_eq(at, 5);
	expect_at(&hashes[4][4], 5, 4);
}

Test(txindex, carries_on_after_a_restart)
{
	fl_hash hashes[4][8];
	uint64_t at = 0;

	blocks(2, hashes);
	cr_assert_eq(chain_index_txs(fx.store, 1, &at), 0);
	cr_assert_eq(at, 1);
	cr_assert_eq(fixture_reopen(&fx), 0);
	/* More blocks after the restart; the index picks up at height 2. */
	{
		chain_tx tx;

		cr_assert_eq(fixture_transfer(&fx, &tx, 5, 6, 3), 0);
		cr_assert_eq(chain_tx_hash(&hashes[2][0], &tx), 0);
		cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
		chain_tx_free(&tx);
	}
	cr_assert_eq(chain_index_txs(fx.store, 10, &at), 0);
	cr_assert_eq(at, 3);
	expect_at(&hashes[0][0], 1, 0);
	expect_at(&hashes[1][1], 2, 1);
	expect_at(&hashes[2][0], 3, 0);
}

Test(txindex, empty_blocks_and_genesis_only)
{
	uint64_t at = 99;

	/* Genesis only: nothing to index. */
	cr_assert_eq(chain_index_txs(fx.store, 4, &at), 0);
	cr_assert_eq(at, 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(chain_index_txs(fx.store, 4, &at), 0);
	cr_assert_eq(at, 2);
}

Test(txindex, an_unreadable_block_is_corruption)
{
	fl_hash hashes[2][8];
	uint8_t key[8];
	chain_txn *t;
	uint64_t at = 99;

	blocks(2, hashes);
	/* Block 2's bytes damaged behind the store's back. */
	chain_put_be64(key, 2);
	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_BLOCKS, key, sizeof(key), "junk", 4), 0);
	cr_assert_eq(chain_txn_commit(t), 0);
	cr_assert_eq(chain_index_txs(fx.store, 10, &at), FL_ECORRUPT);
	/* Nothing of that call was written. */
	cr_assert_eq(at, 0);
	{
		uint64_t h;
		uint32_t idx;

		cr_assert_eq(chain_get_tx_location(fx.store, &hashes[0][0], &h, &idx),
			     FL_ENOTFOUND);
	}
	/* One block at a time gets block 1 in. */
	cr_assert_eq(chain_index_txs(fx.store, 1, &at), 0);
	cr_assert_eq(at, 1);
	expect_at(&hashes[0][0], 1, 0);
}
