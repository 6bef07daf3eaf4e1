/*
 * tests/chain/test_store_map.c — a store that does not wedge on its map
 * size: reopened with a map smaller than its data (or 0 on a store past the
 * default), it applies the next block; a block larger than the map applies
 * after the map grows, with the app hash of a store that never ran out.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

static const fixture_opts map_opts = {.n_validators = 1, .n_outsiders = 4, .balance = 1000000};

Test(store_map, size_policy)
{
	/* The request stands when the data leaves room under it. */
	cr_assert_eq(chain_store_map_size_for(0, 0), GIB);
	cr_assert_eq(chain_store_map_size_for(2 * GIB, 10 * MIB), 2 * GIB);
	cr_assert_eq(chain_store_map_size_for(64 * KIB, 0), 256 * KIB);
	/* Never below the data plus a quarter of it: a smaller request, or 0
	 * (1 GiB) on a store of 3 GiB. */
	cr_assert_eq(chain_store_map_size_for(MIB, 10 * MIB), 10 * MIB + 10 * MIB / 4);
	cr_assert_eq(chain_store_map_size_for(0, 3 * GIB), 3 * GIB + 3 * GIB / 4);
	cr_assert_eq(chain_store_map_size_for(0, SIZE_MAX - 1), SIZE_MAX);
}

/* Reopens the fixture's store with map_size. */
static void reopen_with(chain_fixture *fx, size_t map_size)
{
	fixture_detach(fx);
	cr_assert_eq(chain_store_open(&fx->store, fx->dir, map_size), FL_OK);
}

/* `bytes` of index entries in txns of 256 KiB: data that fills pages and
 * frees none, as a long chain's blocks do. */
static void fill(chain_fixture *fx, size_t bytes)
{
	uint8_t val[4000];

	memset(val, 0x5a, sizeof(val));
	for (size_t done = 0, i = 0; done < bytes;) {
		chain_txn *t;
		int rc = FL_OK;

		cr_assert_eq(chain_txn_begin(fx->store, 1, &t), FL_OK);
		for (size_t k = 0; k < 64 && done < bytes && rc == FL_OK;
		     k++, i++, done += sizeof(val)) {
			fl_hash key;

			fl_sha256(&key, &i, sizeof(i));
			rc = chain_txn_put(t, CHAIN_DB_TXS, key.b, FL_HASH_LEN, val, sizeof(val));
		}
		cr_assert_eq(rc, FL_OK);
		cr_assert_eq(chain_txn_commit(t), FL_OK);
	}
}

/* The next block with n transfers among the outsiders (keys 1..4). */
static int transfers_block(chain_fixture *fx, uint32_t n)
{
	chain_tx *txs = fl_calloc(n ? n : 1, sizeof(*txs));
	int rc;

	cr_assert_not_null(txs);
	/* One assertion for the loop: Criterion reports each one to its
	 * runner, and thousands of them cost more than the test. */
	rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++)
		rc = fixture_transfer(fx, &txs[i], 1 + i % 4, 1 + (i + 1) % 4, 1 + i % 7);
	cr_assert_eq(rc, 0);
	rc = fixture_next_block(fx, txs, n);
	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
	fl_free(txs);
	return rc;
}

Test(store_map, reopen_below_the_data_applies_next_block)
{
	chain_fixture fx;

	fl_log_set_level(FL_LOG_OFF);
	cr_assert_eq(fixture_open(&fx, &map_opts), 0);
	reopen_with(&fx, 16 * MIB);
	fill(&fx, 6 * MIB);
	cr_assert_eq(transfers_block(&fx, 10), 0);

	/* LMDB alone would map exactly the data, leaving no page to write. */
	reopen_with(&fx, MIB);
	cr_assert_geq(chain_store_mapsize(fx.store), 6 * MIB + 6 * MIB / 4);
	cr_assert_eq(transfers_block(&fx, 200), 0, "%s", fx.res.reason);
	reopen_with(&fx, 0);
	cr_assert_eq(chain_store_mapsize(fx.store), GIB);
	cr_assert_eq(transfers_block(&fx, 200), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_height(&fx), 3);
	fixture_close(&fx);
}

Test(store_map, block_larger_than_the_map_applies_after_growth)
{
	chain_fixture small, big;
	chain_block b;
	chain_block_result rb;
	chain_info si, bi;
	chain_lthash ss, bs;
	size_t before;

	fl_log_set_level(FL_LOG_OFF);
	cr_assert_eq(fixture_open(&small, &map_opts), 0);
	cr_assert_eq(fixture_open(&big, &map_opts), 0);
	reopen_with(&small, 512 * KIB);
	before = chain_store_mapsize(small.store);
	cr_assert_leq(before, MIB);

	/* 5,000 transfers: ~0.7 MiB of block and as much of tx index. */
	chain_tx *txs = fl_calloc(5000, sizeof(*txs));
	int rc = 0;
	cr_assert_not_null(txs);
	for (uint32_t i = 0; i < 5000 && rc == 0; i++)
		rc = fixture_transfer(&small, &txs[i], 1 + i % 4, 1 + (i + 1) % 4, 1);
	cr_assert_eq(rc, 0);
	cr_assert_eq(fixture_build_block(&small, txs, 5000, &b), 0);
	for (uint32_t i = 0; i < 5000; i++)
		chain_tx_free(&txs[i]);
	fl_free(txs);
	cr_assert_eq(fixture_apply(&small, &b), 0, "%s", small.res.reason);
	cr_assert_gt(chain_store_mapsize(small.store), before + 60 * MIB, "the map grew");
	cr_assert_eq(chain_apply_block(big.store, &b, &rb), 0, "%s", rb.reason);
	chain_block_free(&b);

	/* The retry is invisible: same app hash, info and state as the twin. */
	cr_assert_eq(memcmp(small.res.app_hash.b, rb.app_hash.b, FL_HASH_LEN), 0);
	cr_assert_eq(chain_store_info(small.store, &si), FL_OK);
	cr_assert_eq(chain_store_info(big.store, &bi), FL_OK);
	cr_assert_eq(si.height, 1);
	cr_assert_eq(bi.height, 1);
	cr_assert_eq(memcmp(si.app_hash.b, bi.app_hash.b, FL_HASH_LEN), 0);
	cr_assert_eq(memcmp(si.last_block_hash.b, bi.last_block_hash.b, FL_HASH_LEN), 0);
	cr_assert_eq(chain_state_hash_recompute(small.store, &ss), FL_OK);
	cr_assert_eq(chain_state_hash_recompute(big.store, &bs), FL_OK);
	cr_assert_eq(memcmp(&ss, &bs, sizeof(ss)), 0);
	cr_assert_eq(fixture_balance(&small, 1), fixture_balance(&big, 1));
	/* And the chain goes on on both. */
	cr_assert_eq(fixture_build_block(&small, NULL, 0, &b), 0);
	cr_assert_eq(fixture_apply(&small, &b), 0);
	cr_assert_eq(chain_apply_block(big.store, &b, &rb), 0);
	chain_block_free(&b);
	cr_assert_eq(memcmp(small.res.app_hash.b, rb.app_hash.b, FL_HASH_LEN), 0);
	fixture_close(&small);
	fixture_close(&big);
}

/* A thread that holds a txn cannot wait for the map to be free of txns:
 * the growth is refused (an error, not a hang). */
Test(store_map, no_growth_while_this_thread_holds_a_txn)
{
	chain_fixture fx;
	chain_txn *reader;

	fl_log_set_level(FL_LOG_OFF);
	cr_assert_eq(fixture_open(&fx, &map_opts), 0);
	reopen_with(&fx, 512 * KIB);
	cr_assert_eq(chain_txn_begin(fx.store, 0, &reader), FL_OK);
	cr_assert_eq(transfers_block(&fx, 5000), FL_EDB);
	cr_assert_eq(fixture_height(&fx), 0);
	chain_txn_abort(reader);
	cr_assert_eq(transfers_block(&fx, 5000), 0, "%s", fx.res.reason);
	fixture_close(&fx);
}
