/*
 * tests/chain/test_stake.c — bonded stake: bond moves liquid balance into
 * the bond, unbond moves it into an entry that turns liquid exactly
 * unbonding_blocks later (and not one block earlier), each refusal with its
 * reason, the bound on pending entries, the bond record codec, and the
 * supply invariant (supply == balances + bonded + unbonding) over a seeded
 * random run of transfers, bonds and unbonds. Then what stake is for: a
 * slash that moving funds out or unbonding ahead of the evidence cannot
 * dodge, election weight from the bond alone, and stake bonded at genesis.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Validators 0..1, members 2..4, outsider 5; each starts with BALANCE. */
#define N_KEYS  6
#define OUT     5
#define BALANCE 1000000

static chain_fixture fx;

typedef struct {
	uint32_t unbonding_blocks;
	uint32_t slash_bps;
	int profile; /* the fixture's short-round profile "mnist" */
} stake_genesis;

static void tweak_genesis(chain_genesis *g, void *arg)
{
	const stake_genesis *sg = arg;
	static uint64_t reward = 1000;

	if (sg->profile)
		fixture_short_round_profile(g, &reward);
	g->params.unbonding_blocks = sg->unbonding_blocks;
	g->params.slash_bps = sg->slash_bps;
}

static void open_with(uint32_t unbonding_blocks, uint32_t slash_bps, int profile)
{
	static stake_genesis arg;
	fixture_opts o;

	arg = (stake_genesis){unbonding_blocks, slash_bps, profile};
	memset(&o, 0, sizeof(o));
	o.n_validators = 2;
	o.n_members = 3;
	o.n_outsiders = 1;
	o.balance = BALANCE;
	o.tweak = tweak_genesis;
	o.tweak_arg = &arg;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void open_stake(uint32_t unbonding_blocks)
{
	open_with(unbonding_blocks, 500, 0);
}

static void close_stake(void)
{
	fixture_close(&fx);
}

TestSuite(stake, .fini = close_stake);

static chain_info info_now(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info;
}

static void stake_tx(chain_tx *tx, uint8_t kind, uint64_t amount, uint32_t who)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = kind;
	tx->u.stake.amount = amount;
	cr_assert_eq(fixture_sign(&fx, tx, who), 0);
}

/* One block holding one bond or unbond of `who`: the apply's code. */
static int submit(uint8_t kind, uint64_t amount, uint32_t who)
{
	chain_tx tx;
	int rc;

	stake_tx(&tx, kind, amount, who);
	rc = fixture_next_block(&fx, &tx, 1);
	chain_tx_free(&tx);
	return rc;
}

static void expect_refused(int rc, int code, const char *reason)
{
	cr_assert_eq(rc, code, "rc %d (%s)", rc, fx.res.reason ? fx.res.reason : "-");
	cr_assert_str_eq(fx.res.reason, reason);
	cr_assert_eq(fx.res.failed_tx, 0);
}

/* Where every token is: the scalars match the records, and the supply is
 * the balances plus the deposits (none here) plus the stake. */
static void check_supply(void)
{
	chain_info info = info_now();
	uint64_t bonded = 0, unbonding = 0;

	for (uint32_t i = 0; i < fx.n_keys; i++) {
		chain_bond b = fixture_bond(&fx, i);
		bonded += b.bonded;
		unbonding += chain_bond_unbonding_sum(&b);
	}
	cr_assert_eq(info.bonded_total, bonded);
	cr_assert_eq(info.unbonding_total, unbonding);
	cr_assert_eq(fixture_sum_stake(&fx), bonded + unbonding);
	cr_assert_eq(info.supply, fixture_sum_balances(&fx) + info.deposits + bonded + unbonding);
	cr_assert_eq(info.supply, fixture_sum_held(&fx));
}

static int queued(uint64_t release, uint32_t who)
{
	uint8_t key[8 + FL_PUBKEY_LEN];
	const uint8_t *v;
	size_t n;
	chain_txn *t = NULL;
	int rc;

	chain_put_be64(key, release);
	memcpy(key + 8, fx.pk[who].b, FL_PUBKEY_LEN);
	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	rc = chain_txn_get(t, CHAIN_DB_UNBONDING, key, sizeof(key), &v, &n);
	chain_txn_abort(t);
	cr_assert(rc == FL_OK || rc == FL_ENOTFOUND);
	return rc == FL_OK;
}

/* ------------------------------------------------------------- bond */

Test(stake, bond_moves_liquid_into_the_bond)
{
	uint64_t supply;
	chain_bond b;

	open_stake(5);
	supply = info_now().supply;
	cr_assert_eq(submit(CHAIN_TX_BOND, 600000, 2), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_balance(&fx, 2), BALANCE - 600000);
	b = fixture_bond(&fx, 2);
	cr_assert_eq(b.bonded, 600000);
	cr_assert_eq(b.n_unbonding, 0);
	cr_assert_eq(info_now().bonded_total, 600000);
	cr_assert_eq(info_now().supply, supply, "bonding mints and burns nothing");
	/* Again, into the same bond; an outsider may bond too. */
	cr_assert_eq(submit(CHAIN_TX_BOND, 400000, 2), 0);
	cr_assert_eq(submit(CHAIN_TX_BOND, 1, OUT), 0);
	cr_assert_eq(fixture_balance(&fx, 2), 0);
	cr_assert_eq(fixture_bond(&fx, 2).bonded, BALANCE);
	cr_assert_eq(fixture_bond(&fx, OUT).bonded, 1);
	check_supply();
}

Test(stake, bond_refusals)
{
	chain_tx tx;
	chain_txn *t;
	chain_bond b;
	uint64_t height;

	open_stake(5);
	height = fixture_height(&fx);
	expect_refused(submit(CHAIN_TX_BOND, BALANCE + 1, 2), FL_EFUNDS, "tx: balance too low");
	/* The bonded balance is not liquid: it cannot be transferred... */
	cr_assert_eq(submit(CHAIN_TX_BOND, 700000, 3), 0);
	cr_assert_eq(fixture_transfer(&fx, &tx, 3, 4, 300001), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), FL_EFUNDS);
	cr_assert_str_eq(fx.res.reason, "tx: balance too low");
	chain_tx_free(&tx);
	/* ...nor bonded twice. */
	expect_refused(submit(CHAIN_TX_BOND, 300001, 3), FL_EFUNDS, "tx: balance too low");
	/* Zero is not a tx: it cannot be signed, so no block can hold it. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_BOND;
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, 2, 1), FL_EINVAL);
	/* A bond that would pass 2^64 (only a broken supply could hold one). */
	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	memset(&b, 0, sizeof(b));
	b.bonded = UINT64_MAX - 5;
	cr_assert_eq(chain_state_put_bond(t, &fx.pk[4], &b), 0);
	cr_assert_eq(chain_stake_bond(t, &fx.pk[4], 10), FL_EOVERFLOW);
	cr_assert_eq(chain_stake_bond(t, &fx.pk[4], 0), FL_EINVAL);
	/* The unbonding entries count too: bonded + unbonding stays in 64 bits. */
	b.bonded = 1;
	b.n_unbonding = 1;
	b.unbonding[0] = (chain_unbonding){100, UINT64_MAX - 5};
	cr_assert_eq(chain_state_put_bond(t, &fx.pk[4], &b), 0);
	cr_assert_eq(chain_stake_bond(t, &fx.pk[4], 10), FL_EOVERFLOW);
	cr_assert_eq(chain_stake_bond(t, &fx.pk[4], 4), 0);
	chain_txn_abort(t);
	/* Refused blocks wrote nothing. */
	cr_assert_eq(fixture_height(&fx), height + 1);
	cr_assert_eq(fixture_bond(&fx, 2).bonded, 0);
	check_supply();
}

/* ----------------------------------------------------------- unbond */

Test(stake, unbond_releases_exactly_after_unbonding_blocks)
{
	const uint32_t U = 5;
	uint64_t h, supply;
	chain_tx tx;
	chain_bond b;
	const char *why = NULL;

	open_stake(U);
	cr_assert_eq(submit(CHAIN_TX_BOND, 600000, 2), 0);
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 200000, 2), 0, "%s", fx.res.reason);
	h = fixture_height(&fx);
	supply = info_now().supply;
	b = fixture_bond(&fx, 2);
	cr_assert_eq(b.bonded, 400000);
	cr_assert_eq(b.n_unbonding, 1);
	cr_assert_eq(b.unbonding[0].release_height, h + U);
	cr_assert_eq(b.unbonding[0].amount, 200000);
	cr_assert(queued(h + U, 2));
	cr_assert_eq(info_now().unbonding_total, 200000);
	cr_assert_eq(info_now().bonded_total, 400000);
	cr_assert_eq(fixture_balance(&fx, 2), BALANCE - 600000, "unbonding is not liquid");
	check_supply();

	/* Up to block h+U-1 the entry is locked: spending it is refused. */
	cr_assert_eq(fixture_advance_to(&fx, h + U - 2), 0);
	cr_assert_eq(fixture_transfer(&fx, &tx, 2, 3, BALANCE - 600000 + 1), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), FL_EFUNDS, "block h+U-1 spends too early");
	chain_tx_free(&tx);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(fixture_height(&fx), h + U - 1);
	cr_assert_eq(fixture_balance(&fx, 2), BALANCE - 600000);
	cr_assert_eq(fixture_bond(&fx, 2).n_unbonding, 1);

	/* Admission already sees the release of the next block, h+U... */
	cr_assert_eq(fixture_transfer(&fx, &tx, 2, 3, BALANCE - 600000 + 1), 0);
	cr_assert_eq(chain_check_tx(fx.store, &tx, 0, &why), 0, "%s", why);
	/* ...which releases the entry at its start, so a tx in it may spend it. */
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0, "%s", fx.res.reason);
	chain_tx_free(&tx);
	cr_assert_eq(fixture_balance(&fx, 2), 200000 - 1);
	b = fixture_bond(&fx, 2);
	cr_assert_eq(b.bonded, 400000);
	cr_assert_eq(b.n_unbonding, 0);
	cr_assert(!queued(h + U, 2));
	cr_assert_eq(info_now().unbonding_total, 0);
	cr_assert_eq(info_now().supply, supply);
	check_supply();
}

Test(stake, unbond_refusals)
{
	open_stake(5);
	expect_refused(submit(CHAIN_TX_UNBOND, 1, 2), FL_EFUNDS, "tx: bonded stake too low");
	cr_assert_eq(submit(CHAIN_TX_BOND, 1000, 2), 0);
	expect_refused(submit(CHAIN_TX_UNBOND, 1001, 2), FL_EFUNDS, "tx: bonded stake too low");
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 1000, 2), 0);
	/* What is unbonding cannot be unbonded again. */
	expect_refused(submit(CHAIN_TX_UNBOND, 1, 2), FL_EFUNDS, "tx: bonded stake too low");
	/* The whole bond unbonded, then released: no record is left behind. */
	cr_assert_eq(fixture_advance_to(&fx, fixture_height(&fx) + 5), 0);
	cr_assert_eq(fixture_balance(&fx, 2), BALANCE);
	cr_assert_eq(fixture_sum_stake(&fx), 0);
	check_supply();
}

Test(stake, unbonds_of_one_block_share_an_entry)
{
	chain_tx txs[3];

	open_stake(5);
	cr_assert_eq(submit(CHAIN_TX_BOND, 9000, 2), 0);
	for (int i = 0; i < 3; i++)
		stake_tx(&txs[i], CHAIN_TX_UNBOND, 1000 * (uint64_t)(i + 1), 2);
	cr_assert_eq(fixture_next_block(&fx, txs, 3), 0, "%s", fx.res.reason);
	for (int i = 0; i < 3; i++)
		chain_tx_free(&txs[i]);
	cr_assert_eq(fixture_bond(&fx, 2).n_unbonding, 1);
	cr_assert_eq(fixture_bond(&fx, 2).unbonding[0].amount, 6000);
	cr_assert_eq(fixture_bond(&fx, 2).bonded, 3000);
	check_supply();
}

/* At most CHAIN_MAX_UNBONDING release heights pending per account: the
 * next unbond is refused until one of them is released. */
Test(stake, pending_entries_are_bounded)
{
	const uint32_t U = CHAIN_MAX_UNBONDING + 4;
	uint64_t first;

	open_stake(U);
	cr_assert_eq(submit(CHAIN_TX_BOND, 100000, 2), 0);
	first = fixture_height(&fx) + 1;
	for (uint32_t i = 0; i < CHAIN_MAX_UNBONDING; i++)
		cr_assert_eq(submit(CHAIN_TX_UNBOND, 10, 2), 0, "unbond %u: %s", i, fx.res.reason);
	cr_assert_eq(fixture_bond(&fx, 2).n_unbonding, CHAIN_MAX_UNBONDING);
	expect_refused(submit(CHAIN_TX_UNBOND, 10, 2), FL_ETOOBIG,
		       "tx: too many unbonding entries");
	/* Another account is not held up by it. */
	cr_assert_eq(submit(CHAIN_TX_BOND, 100, 3), 0);
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 100, 3), 0);
	/* Block first+U releases the first entry before its txs run: an
	 * unbond in that very block has its slot. */
	cr_assert_eq(fixture_advance_to(&fx, first + U - 1), 0);
	cr_assert_eq(fixture_bond(&fx, 2).n_unbonding, CHAIN_MAX_UNBONDING);
	cr_assert_eq(fixture_bond(&fx, 2).unbonding[0].release_height, first + U);
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 10, 2), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_bond(&fx, 2).n_unbonding, CHAIN_MAX_UNBONDING);
	cr_assert_eq(fixture_bond(&fx, 2).unbonding[0].release_height, first + U + 1);
	cr_assert_eq(fixture_bond(&fx, 2).unbonding[CHAIN_MAX_UNBONDING - 1].release_height,
		     first + 2 * U);
	check_supply();
}

/* The release step reads the queue keys of its own height and nothing
 * else: 1,000 keys planted for a later height (with no entry behind them,
 * which a visit would report as corruption) leave every earlier block alone,
 * and the block of that height is the first to see them. */
Test(stake, release_reads_only_the_entries_due)
{
	uint8_t key[8 + FL_PUBKEY_LEN];
	chain_txn *t = NULL;
	uint64_t due;

	open_stake(5);
	due = fixture_height(&fx) + 20;
	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	for (uint32_t i = 0; i < 1000; i++) {
		chain_put_be64(key, due);
		memset(key + 8, 0, FL_PUBKEY_LEN);
		chain_put_be32(key + 8, i + 1);
		cr_assert_eq(chain_txn_put(t, CHAIN_DB_UNBONDING, key, sizeof(key), "\x01", 1), 0);
	}
	cr_assert_eq(chain_txn_commit(t), 0);
	cr_assert_eq(fixture_advance_to(&fx, due - 1), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), FL_ECORRUPT);
	cr_assert_str_eq(fx.res.reason, "begin_block");
}

/* -------------------------------------------------- supply invariant */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: a fixed seed gives the same run every time. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random transfers, bonds and unbonds (some refused, as a careless or
 * hostile sender's would be) for 80 blocks with a short unbonding period,
 * so entries are created, merged and released all along. */
Test(stake, supply_invariant_over_a_random_run)
{
	uint32_t applied = 0, refused = 0, released = 0;

	open_stake(3);
	rng_state = 7;
	for (int blk = 0; blk < 80; blk++) {
		chain_tx txs[4];
		uint32_t n = 1 + (uint32_t)(rng() % 4);
		uint64_t before = info_now().unbonding_total;

		for (uint32_t i = 0; i < n; i++) {
			uint32_t who = (uint32_t)(rng() % N_KEYS);
			uint64_t amount = 1 + rng() % (BALANCE / 4);

			switch (rng() % 3) {
			case 0:
				cr_assert_eq(fixture_transfer(&fx, &txs[i], who,
							      (uint32_t)(rng() % N_KEYS), amount),
					     0);
				break;
			case 1:
				stake_tx(&txs[i], CHAIN_TX_BOND, amount, who);
				break;
			default:
				stake_tx(&txs[i], CHAIN_TX_UNBOND, amount / 2 + 1, who);
				break;
			}
		}
		if (fixture_next_block(&fx, txs, n) == 0) {
			applied++;
		} else {
			/* A block with a failing tx is refused whole: apply the
			 * txs one per block instead, keeping what is valid. */
			refused++;
			for (uint32_t i = 0; i < n; i++) {
				chain_tx one;
				cr_assert_eq(chain_tx_copy(&one, &txs[i]), 0);
				cr_assert_eq(
				    fixture_sign(&fx, &one,
						 (uint32_t)fixture_key_index(&fx, &one.sender)),
				    0);
				applied += fixture_next_block(&fx, &one, 1) == 0;
				chain_tx_free(&one);
			}
		}
		for (uint32_t i = 0; i < n; i++)
			chain_tx_free(&txs[i]);
		released += info_now().unbonding_total < before;
		check_supply();
	}
	cr_assert_gt(applied, 40);
	cr_assert_gt(refused, 0);
	cr_assert_gt(released, 0, "entries were released along the way");
	cr_assert_gt(info_now().bonded_total, 0);
	/* The bonds and the queue are state: the incremental state hash kept
	 * through all of it equals one recomputed from the whole store. */
	{
		static chain_lthash kept, again;

		cr_assert_eq(chain_get_state_hash(fx.store, &kept), 0);
		cr_assert_eq(chain_state_hash_recompute(fx.store, &again), 0);
		cr_assert_eq(memcmp(kept.lane, again.lane, sizeof(kept.lane)), 0);
	}
}

/* ------------------------------------------------------- bond record */

static int decode_rc(const uint8_t *p, size_t n)
{
	chain_bond b;

	return chain_bond_record_decode(p, n, &b);
}

Test(stake, bond_record_codec)
{
	chain_bond b, back;
	fl_writer w;

	memset(&b, 0, sizeof(b));
	b.bonded = 7;
	b.n_unbonding = 2;
	b.unbonding[0] = (chain_unbonding){10, 3};
	b.unbonding[1] = (chain_unbonding){12, 4};
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_bond_record_encode(&w, &b), 0);
	/* u64 bonded, count, then (u64 release, u64 amount) pairs */
	cr_assert_eq(w.len, 8 + 1 + 2 * 16);
	cr_assert_eq(chain_bond_record_decode(w.buf, w.len, &back), 0);
	cr_assert_eq(memcmp(&back, &b, sizeof(b)), 0);
	cr_assert_eq(decode_rc(w.buf, w.len - 1), FL_ETRUNC);
	w.len = 0;
	fl_write_u64(&w, 7);
	fl_write_varint(&w, 2);
	fl_write_u64(&w, 12);
	fl_write_u64(&w, 4);
	fl_write_u64(&w, 10);
	fl_write_u64(&w, 3);
	cr_assert_eq(decode_rc(w.buf, w.len), FL_ENONCANON, "release heights out of order");
	w.len = 0;
	fl_write_u64(&w, 7);
	fl_write_varint(&w, 1);
	fl_write_u64(&w, 12);
	fl_write_u64(&w, 0);
	cr_assert_eq(decode_rc(w.buf, w.len), FL_EINVAL, "an empty entry");
	w.len = 0;
	fl_write_u64(&w, 0);
	fl_write_varint(&w, 0);
	cr_assert_eq(decode_rc(w.buf, w.len), FL_EINVAL, "an empty bond is no record");
	w.len = 0;
	fl_write_u64(&w, UINT64_MAX);
	fl_write_varint(&w, 1);
	fl_write_u64(&w, 12);
	fl_write_u64(&w, 1);
	cr_assert_eq(decode_rc(w.buf, w.len), FL_EINVAL, "stake past 2^64");
	w.len = 0;
	fl_write_u64(&w, 1);
	fl_write_varint(&w, CHAIN_MAX_UNBONDING + 1);
	cr_assert_eq(decode_rc(w.buf, w.len), FL_ETOOBIG, "more entries than the bound");
	w.len = 0;
	fl_write_u64(&w, 1);
	fl_write_varint(&w, 0);
	fl_write_u8(&w, 0);
	cr_assert_eq(decode_rc(w.buf, w.len), FL_ETRAILING);
	/* The encoder refuses what the decoder would. */
	b.unbonding[1].release_height = 10;
	w.len = 0;
	cr_assert_eq(chain_bond_record_encode(&w, &b), FL_ENONCANON);
	fl_writer_free(&w);
}

/* ------------------------------------------------------------ slashing */

/* Two precommits of `culprit` for different blocks at (height, 0). */
static void double_sign_tx(chain_tx *tx, uint32_t culprit, uint64_t height)
{
	chain_tx_evidence *e = &tx->u.evidence;
	fl_hash a, b;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_EVIDENCE;
	e->type = CHAIN_EVIDENCE_DOUBLE_SIGN;
	fl_sha256(&a, "block a", 7);
	fl_sha256(&b, "block b", 7);
	if (fl_hash_cmp(&a, &b) > 0) {
		fl_hash t = a;
		a = b;
		b = t;
	}
	cr_assert_eq(fixture_vote(&fx, &e->vote_a, culprit, CHAIN_VOTE_PRECOMMIT, height, 0, &a),
		     0);
	cr_assert_eq(fixture_vote(&fx, &e->vote_b, culprit, CHAIN_VOTE_PRECOMMIT, height, 0, &b),
		     0);
}

/* The case: validator 1 has 500,000 bonded and, in the very block
 * that carries the evidence against it, transfers its whole liquid balance
 * away and unbonds everything. Before bonded stake, the slash burned
 * slash_bps of a balance that was 0 by then. Now: exactly 10 % of the
 * stake, from the unbonding entry. */
Test(stake, slash_not_dodged_in_the_same_block)
{
	const uint32_t culprit = 1;
	uint64_t supply;
	chain_tx txs[3];
	chain_bond b;

	open_with(10, 1000, 0);
	cr_assert_eq(submit(CHAIN_TX_BOND, 500000, culprit), 0);
	supply = info_now().supply;
	cr_assert_eq(fixture_transfer(&fx, &txs[0], culprit, 2, BALANCE - 500000), 0);
	stake_tx(&txs[1], CHAIN_TX_UNBOND, 500000, culprit);
	double_sign_tx(&txs[2], culprit, 3);
	cr_assert_eq(fixture_sign(&fx, &txs[2], 3), 0);
	cr_assert_eq(fixture_next_block(&fx, txs, 3), 0, "%s", fx.res.reason);
	for (int i = 0; i < 3; i++)
		chain_tx_free(&txs[i]);
	cr_assert_eq(fixture_balance(&fx, culprit), 0);
	b = fixture_bond(&fx, culprit);
	cr_assert_eq(b.bonded, 0);
	cr_assert_eq(b.n_unbonding, 1);
	cr_assert_eq(b.unbonding[0].amount, 500000 - 50000);
	cr_assert_eq(info_now().supply, supply - 50000, "burned exactly 50,000");
	check_supply();
	/* What is left is released as usual. */
	cr_assert_eq(fixture_advance_to(&fx, b.unbonding[0].release_height), 0);
	cr_assert_eq(fixture_balance(&fx, culprit), 450000);
	cr_assert_eq(fixture_sum_stake(&fx), 0);
	check_supply();
}

/* Unbonding earlier does not help either, and the burn takes the bond
 * first, then the entries soonest to release. */
Test(stake, slash_reaches_earlier_unbonds)
{
	const uint32_t culprit = 1;
	uint64_t supply, h1, h2;
	chain_tx txs[2];
	chain_bond b;

	open_with(10, 1000, 0);
	cr_assert_eq(submit(CHAIN_TX_BOND, 500000, culprit), 0);
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 240000, culprit), 0);
	h1 = fixture_height(&fx) + 10;
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 240000, culprit), 0);
	h2 = fixture_height(&fx) + 10;
	supply = info_now().supply;
	cr_assert_eq(fixture_transfer(&fx, &txs[0], culprit, 2, BALANCE - 500000), 0);
	double_sign_tx(&txs[1], culprit, 2);
	cr_assert_eq(fixture_sign(&fx, &txs[1], OUT), 0);
	cr_assert_eq(fixture_next_block(&fx, txs, 2), 0, "%s", fx.res.reason);
	for (int i = 0; i < 2; i++)
		chain_tx_free(&txs[i]);
	/* 10 % of 20,000 + 480,000: 20,000 bonded, then 30,000 of the first. */
	b = fixture_bond(&fx, culprit);
	cr_assert_eq(b.bonded, 0);
	cr_assert_eq(b.n_unbonding, 2);
	cr_assert_eq(b.unbonding[0].release_height, h1);
	cr_assert_eq(b.unbonding[0].amount, 210000);
	cr_assert_eq(b.unbonding[1].release_height, h2);
	cr_assert_eq(b.unbonding[1].amount, 240000);
	cr_assert_eq(info_now().supply, supply - 50000);
	cr_assert_eq(fixture_balance(&fx, culprit), 0, "the liquid balance was never touched");
	check_supply();
}

/* Only stake is at risk: a validator that bonded nothing is jailed (its
 * power gone) and keeps its liquid balance; the supply does not move. */
Test(stake, slash_without_stake_burns_nothing)
{
	uint64_t supply;
	chain_account a;
	chain_tx tx;

	open_with(10, 1000, 0);
	supply = info_now().supply;
	double_sign_tx(&tx, 1, 2);
	cr_assert_eq(fixture_sign(&fx, &tx, 3), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0, "%s", fx.res.reason);
	chain_tx_free(&tx);
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[1], &a), 0);
	cr_assert_eq(a.jailed, 1);
	cr_assert_eq(a.power, 0);
	cr_assert_eq(a.balance, BALANCE);
	cr_assert_eq(info_now().supply, supply);
	check_supply();
}

/* A slash that empties entries takes their queue keys too: the release of
 * those heights later finds nothing and breaks nothing. */
Test(stake, full_slash_empties_the_queue)
{
	uint64_t burned = 0, release;
	chain_txn *t = NULL;

	open_stake(4);
	cr_assert_eq(submit(CHAIN_TX_BOND, 1000, 2), 0);
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 300, 2), 0);
	release = fixture_height(&fx) + 4;
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 300, 2), 0);
	cr_assert(queued(release, 2));
	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	cr_assert_eq(chain_stake_slash(t, &fx.pk[2], CHAIN_BPS, &burned), 0);
	cr_assert_eq(chain_txn_commit(t), 0);
	cr_assert_eq(burned, 1000);
	cr_assert(!queued(release, 2));
	cr_assert(!queued(release + 1, 2));
	cr_assert_eq(fixture_sum_stake(&fx), 0);
	cr_assert_eq(fixture_advance_to(&fx, release + 2), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_balance(&fx, 2), BALANCE - 1000);
	check_supply();
}

/* ------------------------------------------------------------ election */

static void join(uint32_t who)
{
	chain_tx tx;
	chain_tx_round_join *j = &tx.u.round_join;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_ROUND_JOIN;
	strcpy(j->profile, "mnist");
	j->n_labels = 1;
	j->labels[0] = 3;
	j->label_counts[0] = 50;
	j->n_samples = 50;
	cr_assert_eq(fixture_sign(&fx, &tx, who), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0, "%s", fx.res.reason);
	chain_tx_free(&tx);
}

static chain_profile_state mnist_state(void)
{
	chain_profile def;
	chain_profile_state st;

	cr_assert_eq(chain_get_profile(fx.store, "mnist", &def, &st), 0);
	return st;
}

/* Member 2 holds most of the liquid tokens but bonds nothing: it is never
 * elected and does not count towards min_participants (2); members 3 and 4
 * with one stake unit bonded each are. */
Test(stake, election_weight_comes_from_the_bond)
{
	chain_info info;
	chain_round r;
	chain_tx tx;

	open_with(5, 500, 1);
	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	cr_assert_eq(info.params.stake_unit, BALANCE, "one stake unit = a genesis balance");
	/* The validators and the outsider hand member 2 their balances. */
	for (uint32_t from = 0; from < N_KEYS; from++) {
		if (from == 2 || (from >= 3 && from <= 4))
			continue;
		cr_assert_eq(fixture_transfer(&fx, &tx, from, 2, BALANCE), 0);
		cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
		chain_tx_free(&tx);
	}
	cr_assert_eq(fixture_balance(&fx, 2), 4 * BALANCE);
	join(2);
	cr_assert_eq(submit(CHAIN_TX_BOND, BALANCE, 3), 0);
	join(3);
	/* Two joined members, one with stake: too few candidates. */
	cr_assert_eq(fixture_advance_to(&fx, fixture_height(&fx) + 3), 0);
	cr_assert_eq(mnist_state().round, 0, "a member with no bond makes up no quorum");
	/* A bond of less than one stake unit is no candidate either. */
	cr_assert_eq(submit(CHAIN_TX_BOND, BALANCE - 1, 4), 0);
	join(4);
	cr_assert_eq(fixture_advance_to(&fx, fixture_height(&fx) + 2), 0);
	cr_assert_eq(mnist_state().round, 0);
	cr_assert_eq(submit(CHAIN_TX_BOND, 1, 4), 0);
	/* Rounds run (each fails for want of updates and the next opens):
	 * member 2 is drawn in none of them. */
	for (uint64_t round = 1; round <= 4; round++) {
		while (mnist_state().round < round)
			cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0, "%s", fx.res.reason);
		cr_assert_eq(chain_get_round(fx.store, "mnist", round, &r), 0);
		cr_assert_eq(r.n_coordinators, 2, "round %lu", (unsigned long)round);
		for (uint32_t i = 0; i < r.n_coordinators; i++)
			cr_assert_neq(fl_pubkey_cmp(&r.coordinators[i], &fx.pk[2]), 0);
	}
	/* Once member 2 bonds, it is a candidate like the others. */
	cr_assert_eq(submit(CHAIN_TX_BOND, BALANCE, 2), 0);
	while (mnist_state().round < 5)
		cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0, "%s", fx.res.reason);
	cr_assert_eq(chain_get_round(fx.store, "mnist", 5, &r), 0);
	cr_assert_eq(r.n_coordinators, 3);
}

/* ------------------------------------------------------------- genesis */

static void bond_at_genesis(chain_genesis *g, void *arg)
{
	(void)arg;
	g->balances[2].bonded = 700000;
	g->balances[3].amount = 0; /* all of it bonded */
	g->balances[3].bonded = 250000;
}

Test(stake, genesis_bonds_initial_stake)
{
	fixture_opts o;
	chain_info info;

	memset(&o, 0, sizeof(o));
	o.n_validators = 2;
	o.n_members = 3;
	o.n_outsiders = 1;
	o.balance = BALANCE;
	o.tweak = bond_at_genesis;
	cr_assert_eq(fixture_open(&fx, &o), 0);
	info = info_now();
	cr_assert_eq(info.bonded_total, 950000);
	cr_assert_eq(info.unbonding_total, 0);
	cr_assert_eq(info.supply, 5 * BALANCE + 950000);
	cr_assert_eq(fixture_balance(&fx, 2), BALANCE);
	cr_assert_eq(fixture_bond(&fx, 2).bonded, 700000);
	cr_assert_eq(fixture_balance(&fx, 3), 0);
	cr_assert_eq(fixture_bond(&fx, 3).bonded, 250000);
	check_supply();
	/* Genesis stake unbonds like any other. */
	cr_assert_eq(submit(CHAIN_TX_UNBOND, 250000, 3), 0);
	cr_assert_eq(fixture_advance_to(&fx, fixture_height(&fx) + info.params.unbonding_blocks),
		     0);
	cr_assert_eq(fixture_balance(&fx, 3), 250000);
	check_supply();
}
