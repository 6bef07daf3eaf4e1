/*
 * tests/node/test_mempool_update.c — what the pool hands out and how it
 * follows the chain, on a real store with blocks built and applied the way
 * an honest proposer does (tests/support/chain_fixture): the reap is a
 * prefix of admission order within the limits; a block made from a reap
 * applies, and the update after it removes what it included and admits
 * the rest again; a sender whose nonce was used by another tx loses that
 * tx only; a tx that no longer applies takes its sender's later txs with
 * it, and a spend of tokens that no longer arrive fails too; the pause
 * between release and update; a checker that cannot begin empties the
 * pool; the block overhead bound.
 */
#include "tests/node/mempool_helpers.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(mempool_update, .init = mph_open, .fini = mph_close);

static void admit(node_mempool *mp, const chain_tx *tx)
{
	const char *reason = NULL;

	cr_assert_eq(node_mempool_add(mp, tx, NULL, &reason), 0, "%s", reason);
}

static void same_tx(const chain_tx *a, const chain_tx *b)
{
	fl_hash ha, hb;

	cr_assert_eq(chain_tx_hash(&ha, a), 0);
	cr_assert_eq(chain_tx_hash(&hb, b), 0);
	cr_assert_eq(fl_hash_cmp(&ha, &hb), 0);
}

Test(mempool_update, reap_in_admission_order_within_limits)
{
	node_mempool *mp = mph_pool(NULL);
	chain_tx in[6], *out = NULL;
	uint8_t buf[512];
	uint32_t n = 7;
	size_t len;

	cr_assert_eq(node_mempool_reap(mp, 10, 1 << 20, &out, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(out);

	/* Interleaved senders; B spends what A sends it. */
	mph_transfer(&in[0], MPH_A, MPH_B, 500000, 1);
	mph_transfer(&in[1], MPH_B, MPH_C, 1200000, 1);
	mph_transfer(&in[2], MPH_A, MPH_C, 1, 2);
	mph_transfer(&in[3], MPH_C, MPH_D, 1, 1);
	mph_transfer(&in[4], MPH_B, MPH_D, 1, 2);
	mph_transfer(&in[5], MPH_A, MPH_D, 1, 3);
	for (int i = 0; i < 6; i++)
		admit(mp, &in[i]);
	len = mph_encode(&in[0], buf, sizeof(buf));

	cr_assert_eq(node_mempool_reap(mp, 10, 1 << 20, &out, &n), 0);
	cr_assert_eq(n, 6);
	for (uint32_t i = 0; i < n; i++)
		same_tx(&out[i], &in[i]);
	mph_free_txs(out, n);

	cr_assert_eq(node_mempool_reap(mp, 4, 1 << 20, &out, &n), 0);
	cr_assert_eq(n, 4);
	same_tx(&out[3], &in[3]);
	mph_free_txs(out, n);

	/* Every transfer here has one size: two and a half fit two. */
	cr_assert_eq(node_mempool_reap(mp, 10, 2 * len + len / 2, &out, &n), 0);
	cr_assert_eq(n, 2);
	mph_free_txs(out, n);
	cr_assert_eq(node_mempool_reap(mp, 10, len - 1, &out, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(node_mempool_reap(mp, 0, 1 << 20, &out, &n), 0);
	cr_assert_eq(n, 0);

	/* Reaping removed nothing. */
	n = mph_check_contents(mp, &out);
	cr_assert_eq(n, 6);
	mph_free_txs(out, n);
	node_mempool_free(mp);
}

Test(mempool_update, block_from_reap_applies_and_update_removes_it)
{
	node_mempool *mp = mph_pool(NULL);
	node_mempool_update_result r;
	chain_tx in[5], *out = NULL;
	node_mempool_stats st;
	uint32_t n;

	mph_transfer(&in[0], MPH_A, MPH_B, 10, 1);
	mph_transfer(&in[1], MPH_A, MPH_B, 10, 2);
	mph_transfer(&in[2], MPH_B, MPH_C, 10, 1);
	mph_transfer(&in[3], MPH_A, MPH_B, 10, 3);
	mph_transfer(&in[4], MPH_C, MPH_A, 10, 1);
	for (int i = 0; i < 5; i++)
		admit(mp, &in[i]);

	cr_assert_eq(node_mempool_reap(mp, 3, 1 << 20, &out, &n), 0);
	cr_assert_eq(n, 3);
	mph_commit(mp, out, n, &r);
	mph_free_txs(out, n);
	cr_assert_eq(r.included, 3);
	cr_assert_eq(r.stale + r.failed + r.gapped, 0);
	cr_assert_eq(r.kept, 2);
	cr_assert_eq(fixture_balance(&mph_fx, MPH_B), MPH_BALANCE + 20 - 10);

	n = mph_check_contents(mp, &out);
	cr_assert_eq(n, 2);
	same_tx(&out[0], &in[3]);
	same_tx(&out[1], &in[4]);
	/* A's queue goes on from its new account nonce. */
	mph_transfer(&in[0], MPH_A, MPH_B, 10, 4);
	admit(mp, &in[0]);
	mph_free_txs(out, n);

	cr_assert_eq(node_mempool_reap(mp, 100, 1 << 20, &out, &n), 0);
	mph_commit(mp, out, n, &r);
	mph_free_txs(out, n);
	cr_assert_eq(r.included, 3);
	cr_assert_eq(r.kept, 0);
	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.count, 0);
	cr_assert_eq(st.bytes, 0);
	cr_assert_eq(st.senders, 0);
	cr_assert_eq(st.removed, 6);
	cr_assert_eq(fixture_height(&mph_fx), 2);

	/* An included tx offered again is refused as a used nonce. */
	mph_transfer(&in[0], MPH_A, MPH_B, 10, 1);
	cr_assert_eq(node_mempool_add(mp, &in[0], NULL, NULL), FL_ENONCE);
	node_mempool_free(mp);
}

/* Another tx of A's nonce 1 lands (from another node's pool): A's queued
 * nonce 1 is stale, its 2 and 3 still apply. */
Test(mempool_update, stale_nonce_removed_alone)
{
	node_mempool *mp = mph_pool(NULL);
	node_mempool_update_result r;
	chain_tx in[3], other, *out = NULL;
	uint32_t n;

	for (uint64_t k = 1; k <= 3; k++)
		mph_transfer(&in[k - 1], MPH_A, MPH_B, 10, k);
	for (int i = 0; i < 3; i++)
		admit(mp, &in[i]);
	mph_transfer(&other, MPH_A, MPH_C, 99, 1);
	mph_commit(mp, &other, 1, &r);
	cr_assert_eq(r.included, 0);
	cr_assert_eq(r.stale, 1);
	cr_assert_eq(r.failed + r.gapped, 0);
	cr_assert_eq(r.kept, 2);
	n = mph_check_contents(mp, &out);
	cr_assert_eq(n, 2);
	same_tx(&out[0], &in[1]);
	same_tx(&out[1], &in[2]);
	mph_free_txs(out, n);
	node_mempool_free(mp);
}

/* Nonce 1 lands elsewhere and spends most of A's balance: A's queued 1 is
 * stale, its 2 now overdraws (failed) and its 3 has a gap (gapped). B
 * spent the tokens A's stale 1 would have sent it: failed too. C is not
 * touched. */
Test(mempool_update, failed_tx_drops_its_sender_and_dependants)
{
	node_mempool *mp = mph_pool(NULL);
	node_mempool_update_result r;
	chain_tx in[5], other, *out = NULL;
	node_mempool_stats st;
	uint32_t n;

	mph_transfer(&in[0], MPH_A, MPH_B, 500000, 1);
	mph_transfer(&in[1], MPH_B, MPH_D, 1200000, 1);
	mph_transfer(&in[2], MPH_A, MPH_D, 60000, 2);
	mph_transfer(&in[3], MPH_C, MPH_D, 1, 1);
	mph_transfer(&in[4], MPH_A, MPH_D, 1, 3);
	for (int i = 0; i < 5; i++)
		admit(mp, &in[i]);

	mph_transfer(&other, MPH_A, MPH_C, MPH_BALANCE - 50000, 1);
	mph_commit(mp, &other, 1, &r);
	cr_assert_eq(r.included, 0);
	cr_assert_eq(r.stale, 1, "A's own nonce 1");
	cr_assert_eq(r.failed, 2, "B's spend and A's overdraw");
	cr_assert_eq(r.gapped, 1, "A's nonce 3");
	cr_assert_eq(r.kept, 1);
	n = mph_check_contents(mp, &out);
	cr_assert_eq(n, 1);
	same_tx(&out[0], &in[3]);
	mph_free_txs(out, n);
	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.senders, 1);

	/* A's queue starts again at its account nonce + 1. */
	mph_transfer(&in[0], MPH_A, MPH_D, 1, 2);
	admit(mp, &in[0]);
	node_mempool_free(mp);
}

Test(mempool_update, paused_between_release_and_update)
{
	node_mempool *mp = mph_pool(NULL);
	node_mempool_update_result r;
	const char *reason = NULL;
	chain_tx a, b, *out = NULL;
	uint32_t n;
	int rc;

	mph_transfer(&a, MPH_A, MPH_B, 10, 1);
	admit(mp, &a);
	node_mempool_release(mp);
	node_mempool_release(mp);
	mph_transfer(&b, MPH_B, MPH_A, 10, 1);
	rc = node_mempool_add(mp, &b, NULL, &reason);
	cr_assert_eq(rc, FL_ESTATE);
	cr_assert_str_eq(reason, "mempool: paused for a block");
	cr_assert_eq(node_mempool_verdict(rc), P2P_GOSSIP_IGNORE);
	/* The proposer may still reap. */
	cr_assert_eq(node_mempool_reap(mp, 10, 1 << 20, &out, &n), 0);
	cr_assert_eq(n, 1);
	mph_free_txs(out, n);

	/* No block came (it failed): the same state, everything kept. */
	cr_assert_eq(node_mempool_update(mp, NULL, &r), 0);
	cr_assert_eq(r.kept, 1);
	cr_assert_eq(r.included + r.stale + r.failed + r.gapped, 0);
	admit(mp, &b);
	node_mempool_free(mp);
}

/* The checker's first allocation fails: nothing can be checked on the new
 * state, so nothing is kept; the next admission begins a checker. */
Test(mempool_update, checker_failure_empties_the_pool)
{
	node_mempool *mp = mph_pool(NULL);
	node_mempool_update_result r;
	node_mempool_stats st;
	chain_tx tx;

	for (uint64_t k = 1; k <= 3; k++) {
		mph_transfer(&tx, MPH_A, MPH_B, 10, k);
		admit(mp, &tx);
	}
	(void)fl_alloc_fail_after(1);
	cr_assert_eq(node_mempool_update(mp, NULL, &r), FL_ENOMEM);
	(void)fl_alloc_fail_after(0);
	cr_assert_eq(r.failed, 3);
	cr_assert_eq(r.kept, 0);
	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.count, 0);
	cr_assert_eq(st.bytes, 0);
	cr_assert_eq(st.senders, 0);
	mph_transfer(&tx, MPH_A, MPH_B, 10, 1);
	admit(mp, &tx);
	node_mempool_free(mp);
}

/* Every allocation of an update failing in turn: the pool always matches
 * its contents (a tx whose recheck ran out of memory is dropped with its
 * sender's later ones), until the failure comes after the update's last
 * allocation and everything is kept. */
Test(mempool_update, allocation_failures_in_update)
{
	node_mempool *mp = NULL;
	node_mempool_update_result r;
	chain_tx tx, *out = NULL;
	unsigned long made = 0, fail;
	uint32_t n;
	int rc;

	for (fail = 1; fail < 1000; fail++) {
		mp = mph_pool(NULL);
		for (uint64_t k = 1; k <= 3; k++) {
			mph_transfer(&tx, MPH_A, MPH_B, 10, k);
			admit(mp, &tx);
		}
		mph_transfer(&tx, MPH_B, MPH_C, 10, 1);
		admit(mp, &tx);
		(void)fl_alloc_fail_after(fail);
		rc = node_mempool_update(mp, NULL, &r);
		made = fl_alloc_fail_after(0);
		cr_assert(rc == FL_OK || rc == FL_ENOMEM);
		n = mph_check_contents(mp, &out);
		cr_assert_eq(n, r.kept);
		cr_assert_eq(r.kept + r.failed + r.gapped, 4);
		mph_free_txs(out, n);
		node_mempool_free(mp);
		if (made < fail)
			break;
	}
	cr_assert_lt(made, fail, "the update's allocations ran out of the loop");
	cr_assert_eq(rc, FL_OK);
	cr_assert_eq(r.kept, 4);
}

/* The largest block a proposer can make from a reap at
 * max_block_bytes - NODE_MEMPOOL_BLOCK_OVERHEAD: the longest chain id, a
 * commit of CHAIN_MAX_VALIDATORS signatures and CHAIN_MAX_BLOCK_TXS txs
 * add at most the overhead to the txs' bytes. */
Test(mempool_update, block_overhead_bound)
{
	chain_block b;
	fl_writer w;

	memset(&b, 0, sizeof(b));
	b.header.version = CHAIN_BLOCK_VERSION;
	memset(b.header.chain_id, 'a', CHAIN_ID_MAX);
	b.header.height = UINT64_MAX;
	b.header.time_ms = UINT64_MAX;
	b.header.proposer = mph_fx.pk[0];
	cr_assert_eq(chain_header_prove_beacon(&b.header, &mph_fx.sk[0], &b.header.prev_hash), 0);
	b.last_commit.height = UINT64_MAX;
	b.last_commit.round = UINT32_MAX;
	b.last_commit.n_sigs = CHAIN_MAX_VALIDATORS;
	for (uint32_t i = 0; i < CHAIN_MAX_VALIDATORS; i++)
		memset(&b.last_commit.sigs[i].validator, (int)i + 1, FL_PUBKEY_LEN);
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_block_encode(&w, &b), 0);
	/* The tx count's varint grows from 1 byte to at most 3. */
	cr_assert_leq(w.len + 2, NODE_MEMPOOL_BLOCK_OVERHEAD, "%zu", w.len);
	fl_writer_free(&w);
}
