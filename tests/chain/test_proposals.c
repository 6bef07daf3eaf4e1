/*
 * tests/chain/test_proposals.c — proposals are no free spam: thousands of
 * them, open and expired, leave the start-of-block step (which every block
 * and every chain_check_tx runs) doing exactly the work it did on an empty
 * chain, counted in store reads (chain_txn_reads), never in wall time; and
 * every deposit is accounted for, locked and burned, to the token.
 *
 * 31 proposers (validators 0..3, members 4..30) with 64 open proposals each,
 * a deposit of 1000 and a ttl of 5 blocks; the genesis profile "mnist" is
 * the one active profile.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define PROPOSERS 31
#define MAX_OPEN  64
#define DEPOSIT   1000
#define TTL       5
#define WAVE      (PROPOSERS * MAX_OPEN)

static chain_fixture fx;

static void spam_params(chain_genesis *g, void *arg)
{
	fixture_short_round_profile(g, arg);
	g->params.max_open_proposals = MAX_OPEN;
	g->params.proposal_deposit = DEPOSIT;
	g->params.proposal_ttl_blocks = TTL;
}

static uint64_t reward = 1000;

static void open_spam(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = PROPOSERS - 4;
	o.n_outsiders = 1;
	o.balance = 1000000000;
	o.tweak = spam_params;
	o.tweak_arg = &reward;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void close_spam(void)
{
	fixture_close(&fx);
}

TestSuite(proposals, .init = open_spam, .fini = close_spam);

static chain_info info_now(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info;
}

/* Store reads of the start-of-block step of the next block, in a write
 * transaction that is then aborted (what chain_check_tx does first). */
static uint64_t begin_block_reads(void)
{
	chain_txn *t = NULL;
	chain_info info;
	chain_exec x;
	uint64_t before;

	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	cr_assert_eq(chain_state_info(t, &info), 0);
	memset(&x, 0, sizeof(x));
	x.t = t;
	memcpy(x.chain_id, info.chain_id, sizeof(x.chain_id));
	x.params = info.params;
	x.height = info.height + 1;
	x.beacon = info.beacon;
	before = chain_txn_reads(t);
	cr_assert_eq(chain_begin_block(&x), 0);
	before = chain_txn_reads(t) - before;
	chain_txn_abort(t);
	return before;
}

/* Every proposer up to its cap, in one block. */
static void propose_wave(int wave)
{
	static chain_tx txs[WAVE];
	uint32_t n = 0;

	for (uint32_t who = 0; who < PROPOSERS; who++)
		for (int i = 0; i < MAX_OPEN; i++) {
			chain_tx *tx = &txs[n++];

			memset(tx, 0, sizeof(*tx));
			tx->kind = CHAIN_TX_PROFILE_PROPOSE;
			chain_sample_profile(&tx->u.profile_propose, "x");
			snprintf(tx->u.profile_propose.id, sizeof(tx->u.profile_propose.id),
				 "w%d.%u.%d", wave, who, i);
			cr_assert_eq(fixture_sign(&fx, tx, who), 0);
		}
	cr_assert_eq(fixture_next_block(&fx, txs, n), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
}

static int propose_one(uint32_t who, const char *id)
{
	chain_tx tx;
	int rc;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_PROPOSE;
	chain_sample_profile(&tx.u.profile_propose, id);
	cr_assert_eq(fixture_sign(&fx, &tx, who), 0);
	rc = fixture_next_block(&fx, &tx, 1);
	chain_tx_free(&tx);
	return rc;
}

static uint8_t status_of(const char *id)
{
	chain_profile_state st;

	cr_assert_eq(chain_get_profile(fx.store, id, NULL, &st), 0, "%s", id);
	return st.status;
}

Test(proposals, many_proposals_leave_the_begin_block_cost_flat)
{
	const uint64_t supply0 = info_now().supply;
	uint64_t base, reads;

	base = begin_block_reads();
	cr_assert_gt(base, 0);
	/* The genesis profile is the active set the schedule walks. */
	{
		chain_txn *t = NULL;
		const uint8_t *v;
		size_t n;

		cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
		cr_assert_eq(chain_txn_get(t, CHAIN_DB_ACTIVE_PROFILES, "mnist", 5, &v, &n), 0);
		chain_txn_abort(t);
	}

	/* Block 1: WAVE proposals, every proposer at its cap. */
	propose_wave(1);
	cr_assert_eq(fixture_height(&fx), 1);
	cr_assert_eq(info_now().deposits, (uint64_t)WAVE * DEPOSIT);
	cr_assert_eq(info_now().supply, supply0);
	cr_assert_eq(fixture_sum_held(&fx), supply0);
	cr_assert_eq(propose_one(7, "one.more"), FL_ETOOBIG);
	cr_assert_eq(fixture_balance(&fx, 7), 1000000000 - (uint64_t)MAX_OPEN * DEPOSIT);

	/* An empty block while they are open: the same work as before any. */
	cr_assert_eq(begin_block_reads(), base);
	cr_assert_eq(fixture_advance_to(&fx, TTL), 0);

	/* Block 1 + TTL expires them: it visits those, a bounded number of
	 * reads each, and nothing else. */
	reads = begin_block_reads();
	cr_assert_geq(reads, base + WAVE);
	cr_assert_leq(reads, base + 8 * (uint64_t)WAVE);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(fixture_height(&fx), 1 + TTL);
	cr_assert_eq(status_of("w1.0.0"), CHAIN_PROFILE_EXPIRED);
	cr_assert_eq(status_of("w1.30.63"), CHAIN_PROFILE_EXPIRED);
	cr_assert_eq(info_now().deposits, 0);
	cr_assert_eq(info_now().supply, supply0 - (uint64_t)WAVE * DEPOSIT);
	cr_assert_eq(fixture_sum_held(&fx), info_now().supply);
	cr_assert_eq(begin_block_reads(), base);

	/* A second wave on top of the expired first. */
	propose_wave(2);
	cr_assert_eq(info_now().deposits, (uint64_t)WAVE * DEPOSIT);
	cr_assert_eq(info_now().supply, supply0 - (uint64_t)WAVE * DEPOSIT);
	cr_assert_eq(fixture_sum_held(&fx), info_now().supply);
	{
		char(*ids)[CHAIN_PROFILE_ID_MAX + 1] = NULL;
		size_t n = 0;

		cr_assert_eq(chain_list_profiles(fx.store, &ids, &n), 0);
		fl_free(ids);
		cr_assert_eq(n, 1 + 2 * (size_t)WAVE);
	}
	cr_assert_eq(begin_block_reads(), base);
}
