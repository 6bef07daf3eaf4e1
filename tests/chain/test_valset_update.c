/*
 * tests/chain/test_valset_update.c — validator_update: a chain that lost
 * half its power to jail is mended by an unjail voted by > 2/3 of the power
 * left, in force at H+2 and signed by the new set from then on; an add
 * and a power change follow the same H+2 rule; every refusal (not a
 * validator, duplicate, an update that does not apply, one that would empty
 * the set) has its reason; a voter's open votes stay bounded; and a
 * scheduled update that no longer applies when its height comes lapses.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

/* Validators 0..3 (power 10 unless a test says), members 4..5, outsider 6. */
#define MEMBER   4
#define OUTSIDER 6

static chain_fixture fx;

static void open_with(uint32_t n_validators, const uint64_t *powers)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = n_validators;
	o.n_members = 2;
	o.n_outsiders = 1;
	o.balance = 1000000;
	for (uint32_t i = 0; powers != NULL && i < n_validators; i++)
		o.powers[i] = powers[i];
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void open_four(void)
{
	open_with(4, NULL);
}

static void close_fixture(void)
{
	fixture_close(&fx);
}

TestSuite(valset_update, .init = open_four, .fini = close_fixture);

static uint64_t tip(void)
{
	return fixture_height(&fx);
}

static chain_account account(uint32_t who)
{
	chain_account a;

	cr_assert_eq(chain_get_account(fx.store, &fx.pk[who], &a), 0);
	return a;
}

static chain_validator_set set_at(uint64_t height)
{
	chain_validator_set set;

	cr_assert_eq(chain_get_validator_set(fx.store, height, &set), 0, "height %llu",
		     (unsigned long long)height);
	return set;
}

static uint64_t power_in(const chain_validator_set *set, uint32_t who)
{
	for (uint32_t i = 0; i < set->n; i++)
		if (fl_pubkey_cmp(&set->pubkey[i], &fx.pk[who]) == 0)
			return set->power[i];
	return 0;
}

/* A signed validator_update vote of `voter`. */
static void vote(chain_tx *tx, uint32_t voter, uint8_t action, uint32_t target, uint64_t power)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_VALIDATOR_UPDATE;
	tx->u.validator_update.target = fx.pk[target];
	tx->u.validator_update.action = action;
	tx->u.validator_update.power = power;
	cr_assert_eq(fixture_sign(&fx, tx, voter), 0);
}

/* One block holding the votes of voters[0..n) for one subject. */
static int votes_block(const uint32_t *voters, uint32_t n, uint8_t action, uint32_t target,
		       uint64_t power)
{
	chain_tx txs[8];

	cr_assert(n <= 8);
	for (uint32_t i = 0; i < n; i++)
		vote(&txs[i], voters[i], action, target, power);
	return fixture_next_block(&fx, txs, n);
}

/* A block with one vote; its rc, and the reason in fx.res. */
static int one_vote(uint32_t voter, uint8_t action, uint32_t target, uint64_t power)
{
	return votes_block(&voter, 1, action, target, power);
}

static fl_hash tip_hash(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info.last_block_hash;
}

/*
 * The case: jail 2 of 4 equal validators (half the power), so the
 * old quorum (any 3 of the 4) no longer makes a commit; the 2 left (all of
 * the current power) vote an unjail of both; from H+2 the set is whole
 * again and its commits need it: 2 signers are no longer enough.
 */
Test(valset_update, unjail_restores_the_set_at_h_plus_2)
{
	const char *id = fx.genesis.chain_id;
	uint32_t left[] = {0, 3}, old_quorum[] = {0, 1, 2}, all[] = {0, 1, 2, 3};
	chain_tx txs[2];
	chain_commit c;
	fl_hash h;
	uint64_t H;

	cr_assert_eq(fixture_advance_to(&fx, 2), 0);
	cr_assert_eq(fixture_double_sign(&fx, &txs[0], 1, 1, 0, "one"), 0);
	cr_assert_eq(fixture_sign(&fx, &txs[0], 0), 0);
	cr_assert_eq(fixture_double_sign(&fx, &txs[1], 2, 1, 0, "two"), 0);
	cr_assert_eq(fixture_sign(&fx, &txs[1], 0), 0);
	cr_assert_eq(fixture_next_block(&fx, txs, 2), 0, "%s", fx.res.reason); /* block 3 */
	chain_tx_free(&txs[0]);
	chain_tx_free(&txs[1]);
	cr_assert(account(1).jailed && account(2).jailed);
	cr_assert_eq(set_at(4).total, 20);

	/* Block 4 applies (signed by all of the old set, as it was in force
	 * at 3); then the old quorum's commit of block 4 is no commit. */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	h = tip_hash();
	cr_assert_eq(fixture_commit(&fx, 4, &h, old_quorum, 3, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, 4, &h, &c), FL_EPERM);
	/* A jailed validator cannot vote its own way back. */
	cr_assert_eq(one_vote(1, CHAIN_VALSET_UNJAIL, 1, 10), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a validator");

	/* 0 alone holds half of the power left: not enough. */
	cr_assert_eq(votes_block(left, 1, CHAIN_VALSET_UNJAIL, 1, 10), 0);
	cr_assert_eq(set_at(tip() + 1).n, 2);
	cr_assert(account(1).jailed);
	/* 3 joins: 20/20 > 2/3; the deciding block is H. */
	{
		chain_tx t[3];
		vote(&t[0], 3, CHAIN_VALSET_UNJAIL, 1, 10);
		vote(&t[1], 0, CHAIN_VALSET_UNJAIL, 2, 10);
		vote(&t[2], 3, CHAIN_VALSET_UNJAIL, 2, 10);
		cr_assert_eq(fixture_next_block(&fx, t, 3), 0, "%s", fx.res.reason);
	}
	H = tip();
	/* Not yet: H+1 is signed by the set fixed before H. */
	cr_assert(account(1).jailed);
	cr_assert_eq(set_at(H + 1).n, 2);
	cr_assert_eq(chain_get_validator_set(fx.store, H + 2, &(chain_validator_set){0}),
		     FL_ENOTFOUND);

	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0); /* H+1 */
	cr_assert(!account(1).jailed && !account(2).jailed);
	cr_assert_eq(account(1).power, 10);
	cr_assert_eq(set_at(H + 1).n, 2);
	cr_assert_eq(set_at(H + 2).n, 4);
	cr_assert_eq(set_at(H + 2).total, 40);

	/* H+2 and on: proposed and signed by the whole set again. */
	cr_assert_eq(fixture_advance_to(&fx, H + 5), 0, "%s", fx.res.reason);
	h = tip_hash();
	cr_assert_eq(fixture_commit(&fx, tip(), &h, left, 2, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, tip(), &h, &c), FL_EPERM);
	cr_assert_eq(fixture_commit(&fx, tip(), &h, old_quorum, 3, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, tip(), &h, &c), 0);
	cr_assert_eq(fixture_commit(&fx, tip(), &h, all, 4, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, tip(), &h, &c), 0);
	/* A block whose last commit is by those two alone is refused. */
	{
		chain_block b;

		cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
		cr_assert_eq(b.last_commit.n_sigs, 4);
		cr_assert_eq(fixture_commit(&fx, tip(), &h, left, 2, &b.last_commit), 0);
		cr_assert_eq(chain_commit_hash(&b.header.last_commit_hash, &b.last_commit), 0);
		cr_assert_eq(fixture_apply(&fx, &b), FL_EPERM);
		cr_assert_str_eq(fx.res.reason, "last_commit");
		chain_block_free(&b);
	}
	/* Height H+1 keeps its two-validator set in the history. */
	cr_assert_eq(chain_get_commit(fx.store, H + 1, &c), 0);
	cr_assert_eq(c.n_sigs, 2);
	/* and block H+2's commit, which block H+3 carried, is the new set's. */
	cr_assert_eq(chain_get_commit(fx.store, H + 2, &c), 0);
	cr_assert_eq(c.n_sigs, 4);
	{
		chain_block b;
		uint8_t *bytes;
		size_t n;
		fl_pubkey proposer;
		int seen_freed = 0;

		/* Validators 1 and 2 propose again (the fixture's round robin). */
		for (uint64_t k = H + 2; k <= tip(); k++) {
			cr_assert_eq(chain_get_block(fx.store, k, &bytes, &n), 0);
			cr_assert_eq(chain_block_decode(&b, bytes, n), 0);
			proposer = b.header.proposer;
			seen_freed |= fl_pubkey_cmp(&proposer, &fx.pk[1]) == 0 ||
				      fl_pubkey_cmp(&proposer, &fx.pk[2]) == 0;
			chain_block_free(&b);
			fl_free(bytes);
		}
		cr_assert(seen_freed);
	}
}

/* A member joins with power 20: 3 of 4 validators (30/40) carry it in one
 * block; from H+2 the set is 60 strong, so the old four alone hold exactly
 * 2/3 and are no longer a commit. A power change follows the same rule. */
Test(valset_update, add_and_set_power_at_h_plus_2)
{
	const char *id = fx.genesis.chain_id;
	uint32_t three[] = {0, 1, 2}, old_four[] = {0, 1, 2, 3},
		 with_member[] = {0, 1, 2, 3, MEMBER};
	chain_validator_set set;
	chain_commit c;
	fl_hash h;
	uint64_t H;

	cr_assert_eq(fixture_advance_to(&fx, 2), 0);
	/* Two votes: 20/40 is not > 2/3, nothing is scheduled. */
	cr_assert_eq(votes_block(three, 2, CHAIN_VALSET_ADD, MEMBER, 20), 0);
	cr_assert_eq(fixture_advance_to(&fx, tip() + 3), 0);
	cr_assert_eq(account(MEMBER).power, 0);
	cr_assert_eq(one_vote(2, CHAIN_VALSET_ADD, MEMBER, 20), 0, "%s", fx.res.reason);
	H = tip();
	cr_assert_eq(account(MEMBER).power, 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(account(MEMBER).power, 20);
	set = set_at(H + 2);
	cr_assert_eq(set.n, 5);
	cr_assert_eq(set.total, 60);
	cr_assert_eq(power_in(&set, MEMBER), 20);
	cr_assert_eq(set_at(H + 1).total, 40);

	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0); /* H+2, by the new set */
	h = tip_hash();
	cr_assert_eq(fixture_commit(&fx, H + 2, &h, old_four, 4, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, H + 2, &h, &c), FL_EPERM);
	cr_assert_eq(fixture_commit(&fx, H + 2, &h, with_member, 5, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, H + 2, &h, &c), 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0); /* carries it */

	/* Validator 0 from 10 to 40 (total 90), voted by the other four of
	 * the five: 50/60 > 2/3. */
	{
		uint32_t voters[] = {1, 2, 3, MEMBER};
		cr_assert_eq(votes_block(voters, 4, CHAIN_VALSET_SET_POWER, 0, 40), 0, "%s",
			     fx.res.reason);
	}
	H = tip();
	cr_assert_eq(set_at(H + 1).total, 60);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	set = set_at(H + 2);
	cr_assert_eq(set.total, 90);
	cr_assert_eq(power_in(&set, 0), 40);
	cr_assert_eq(fixture_advance_to(&fx, H + 4), 0);
}

/* An outsider (not a member) is admitted as a member when it is added. */
Test(valset_update, add_admits_an_outsider)
{
	uint32_t three[] = {0, 1, 2};

	cr_assert_eq(chain_get_account(fx.store, &fx.pk[OUTSIDER], &(chain_account){0}), 0);
	cr_assert_eq(account(OUTSIDER).member, 0);
	cr_assert_eq(votes_block(three, 3, CHAIN_VALSET_ADD, OUTSIDER, 5), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(account(OUTSIDER).member, 1);
	cr_assert_eq(account(OUTSIDER).power, 5);
	cr_assert_eq(fixture_advance_to(&fx, tip() + 2), 0);
}

Test(valset_update, refusals)
{
	chain_tx tx;

	cr_assert_eq(one_vote(MEMBER, CHAIN_VALSET_ADD, MEMBER, 10), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a validator");
	cr_assert_eq(one_vote(0, CHAIN_VALSET_ADD, 1, 10), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: already a validator");
	cr_assert_eq(one_vote(0, CHAIN_VALSET_REMOVE, MEMBER, 0), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: not a validator");
	cr_assert_eq(one_vote(0, CHAIN_VALSET_SET_POWER, MEMBER, 3), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: not a validator");
	cr_assert_eq(one_vote(0, CHAIN_VALSET_SET_POWER, 1, 10), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: power unchanged");
	cr_assert_eq(one_vote(0, CHAIN_VALSET_UNJAIL, 1, 10), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: not jailed");
	cr_assert_eq(one_vote(0, CHAIN_VALSET_UNJAIL, MEMBER, 0), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: not jailed");

	/* One vote per voter per subject, also inside one block. */
	cr_assert_eq(one_vote(0, CHAIN_VALSET_ADD, MEMBER, 10), 0);
	cr_assert_eq(one_vote(0, CHAIN_VALSET_ADD, MEMBER, 10), FL_EDUP);
	cr_assert_str_eq(fx.res.reason, "tx: duplicate vote");
	{
		uint32_t twice[] = {1, 1};
		cr_assert_eq(votes_block(twice, 2, CHAIN_VALSET_ADD, MEMBER, 10), FL_EDUP);
		cr_assert_eq(fx.res.failed_tx, 1);
	}
	/* Another power is another subject. */
	cr_assert_eq(one_vote(0, CHAIN_VALSET_ADD, MEMBER, 11), 0);

	/* The power bound is a field check: such a tx does not even encode. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_VALIDATOR_UPDATE;
	tx.u.validator_update.target = fx.pk[MEMBER];
	tx.u.validator_update.action = CHAIN_VALSET_ADD;
	tx.u.validator_update.power = CHAIN_MAX_VALIDATOR_POWER + 1;
	cr_assert_eq(chain_tx_sign(&tx, fx.genesis.chain_id, &fx.sk[0]), FL_EINVAL);
}

/* The genesis has the same bound, so no total can come near 2^64. */
Test(valset_update, genesis_power_is_bounded)
{
	chain_genesis g = fx.genesis;
	chain_genesis_validator v[4];
	const char *field = NULL;

	memcpy(v, fx.genesis.validators, sizeof(v));
	g.validators = v;
	v[2].power = CHAIN_MAX_VALIDATOR_POWER;
	cr_assert_eq(chain_genesis_check(&g, &field), 0);
	v[2].power = CHAIN_MAX_VALIDATOR_POWER + 1;
	cr_assert_eq(chain_genesis_check(&g, &field), FL_EINVAL);
	cr_assert_str_eq(field, "validators[2].power");
}

static int count_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(void)k;
	(void)kl;
	(void)v;
	(void)vl;
	(*(uint32_t *)ctx)++;
	return 0;
}

/* How many open validator_update votes `voter` has in the store. */
static uint32_t votes_of(uint32_t voter)
{
	uint8_t prefix[1 + FL_PUBKEY_LEN];
	chain_txn *t = NULL;
	uint32_t n = 0;
	int rc;

	prefix[0] = CHAIN_VOTES_VALSET_BY_VOTER;
	memcpy(prefix + 1, fx.pk[voter].b, FL_PUBKEY_LEN);
	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	rc = chain_txn_scan(t, CHAIN_DB_VOTES, prefix, sizeof(prefix), count_one, &n);
	chain_txn_abort(t);
	cr_assert_eq(rc, 0);
	return n;
}

/*
 * A voter keeps at most CHAIN_VALSET_MAX_PENDING open votes: a fifth
 * replaces its oldest, which then no longer counts. Validator 0 votes to
 * add the member with powers 1..5; then 1 and 2 vote for power 1 (0's
 * oldest, replaced): 20/40 does not pass. Power 5 (0's newest) passes.
 */
Test(valset_update, open_votes_per_voter_are_bounded)
{
	uint32_t two[] = {1, 2};

	for (uint64_t p = 1; p <= CHAIN_VALSET_MAX_PENDING + 1; p++)
		cr_assert_eq(one_vote(0, CHAIN_VALSET_ADD, MEMBER, p), 0, "%s", fx.res.reason);
	cr_assert_eq(votes_of(0), CHAIN_VALSET_MAX_PENDING);
	cr_assert_eq(votes_block(two, 2, CHAIN_VALSET_ADD, MEMBER, 1), 0);
	cr_assert_eq(fixture_advance_to(&fx, tip() + 2), 0);
	cr_assert_eq(account(MEMBER).power, 0);
	/* Its old vote is gone, so 0 may cast it again (replacing its oldest,
	 * power 2), and that carries it. */
	cr_assert_eq(one_vote(0, CHAIN_VALSET_ADD, MEMBER, 1), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_advance_to(&fx, tip() + 1), 0);
	cr_assert_eq(account(MEMBER).power, 1);
	/* The decided subject's votes are gone from both lists: 0 keeps 3..5. */
	cr_assert_eq(votes_of(0), CHAIN_VALSET_MAX_PENDING - 1);
	cr_assert_eq(votes_of(1), 0);
	cr_assert_eq(votes_of(2), 0);
}

/*
 * Two validators of equal power: removing either needs both. Both
 * removals pass in one block (each leaves one validator as the set stood);
 * at H+2 the first applies and the second, which would now empty the set,
 * lapses. Then removing the last one is refused as a vote.
 */
Test(valset_update, a_scheduled_update_that_would_empty_the_set_lapses)
{
	chain_tx txs[4];
	chain_validator_set set;
	uint64_t H;
	uint32_t left;

	fixture_close(&fx);
	open_with(2, NULL);
	vote(&txs[0], 0, CHAIN_VALSET_REMOVE, 0, 0);
	vote(&txs[1], 1, CHAIN_VALSET_REMOVE, 0, 0);
	vote(&txs[2], 0, CHAIN_VALSET_REMOVE, 1, 0);
	vote(&txs[3], 1, CHAIN_VALSET_REMOVE, 1, 0);
	cr_assert_eq(fixture_next_block(&fx, txs, 4), 0, "%s", fx.res.reason);
	H = tip();
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	set = set_at(H + 2);
	cr_assert_eq(set.n, 1);
	cr_assert_eq(set.total, 10);
	cr_assert_eq(power_in(&set, 1), 10, "the first scheduled (removing 0) applies");
	left = 1;
	cr_assert_eq(fixture_advance_to(&fx, H + 3), 0);
	cr_assert_eq(one_vote(left, CHAIN_VALSET_REMOVE, left, 0), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: would empty the validator set");
	/* Still a member after leaving the set. */
	cr_assert_eq(account(0).member, 1);
	cr_assert_eq(account(0).power, 0);
}
