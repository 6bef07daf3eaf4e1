/*
 * tests/chain/test_governance.c — member_add/member_remove and profile
 * proposals and votes, with validator powers 3, 3, 2, 1 (total 9) so that
 * the thresholds can be hit exactly: 6 of 9 is exactly 2/3 and does not
 * pass, 7 does; 3 of 9 is exactly 1/3 and rejects. A proposal locks a
 * deposit of 100 (every key holds 1000), at most 4 are open per proposer,
 * and one still undecided 20 blocks after it was made expires.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Key indices: validators 0..3 (powers 3,3,2,1), members 4, 5, outsider 6. */
#define V0  0
#define V1  1
#define V2  2
#define V3  3
#define M0  4
#define M1  5
#define OUT 6

#define DEPOSIT  100
#define MAX_OPEN 4
#define TTL      20

static chain_fixture fx;

static void gov_params(chain_genesis *g, void *arg)
{
	(void)arg;
	g->params.proposal_deposit = DEPOSIT;
	g->params.max_open_proposals = MAX_OPEN;
	g->params.proposal_ttl_blocks = TTL;
}

static void open_gov(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.powers[0] = 3;
	o.powers[1] = 3;
	o.powers[2] = 2;
	o.powers[3] = 1;
	o.n_members = 2;
	o.n_outsiders = 1;
	o.balance = 1000;
	o.tweak = gov_params;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void close_gov(void)
{
	fixture_close(&fx);
}

TestSuite(governance, .init = open_gov, .fini = close_gov);

/* One signed tx in its own block; returns the block's code. */
static int submit(chain_tx *tx, uint32_t who)
{
	int rc;

	cr_assert_eq(fixture_sign(&fx, tx, who), 0);
	rc = fixture_next_block(&fx, tx, 1);
	chain_tx_free(tx);
	return rc;
}

static int member_vote(int kind, uint32_t who, uint32_t subject)
{
	chain_tx tx;

	memset(&tx, 0, sizeof(tx));
	tx.kind = (uint8_t)kind;
	tx.u.member.member = fx.pk[subject];
	snprintf(tx.u.member.name, sizeof(tx.u.member.name), "new member %u", subject);
	return submit(&tx, who);
}

static int is_member(uint32_t who)
{
	chain_account a;

	cr_assert_eq(chain_get_account(fx.store, &fx.pk[who], &a), 0);
	return a.member;
}

static int count_votes(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	(*(int *)ctx)++;
	return 0;
}

/* Rows in CHAIN_DB_VOTES (pending votes and evidence marks). */
static int votes_stored(void)
{
	chain_txn *t = NULL;
	int n = 0;

	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_VOTES, NULL, 0, count_votes, &n), 0);
	chain_txn_abort(t);
	return n;
}

Test(governance, member_add_needs_more_than_two_thirds)
{
	chain_member_record rec;
	chain_txn *t = NULL;

	cr_assert_eq(is_member(OUT), 0);
	/* Only validators vote. */
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, M0, OUT), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a validator");
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, V0, OUT), 0);
	cr_assert_eq(votes_stored(), 1);
	/* One vote per validator. */
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, V0, OUT), FL_EDUP);
	cr_assert_str_eq(fx.res.reason, "tx: duplicate vote");
	/* 3 + 3 = 6 of 9: exactly two thirds is not more than two thirds. */
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, V1, OUT), 0);
	cr_assert_eq(is_member(OUT), 0);
	cr_assert_eq(votes_stored(), 2);
	/* One more unit of power carries it. */
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, V3, OUT), 0);
	cr_assert_eq(is_member(OUT), 1);
	cr_assert_eq(votes_stored(), 0);
	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	cr_assert_eq(chain_state_get_member(t, &fx.pk[OUT], &rec), 0);
	chain_txn_abort(t);
	cr_assert_eq(rec.height, fixture_height(&fx));
	cr_assert_str_eq(rec.name, "new member 6");
	/* Adding an existing member is refused outright. */
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, V2, OUT), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: already a member");
}

Test(governance, member_add_creates_an_account)
{
	fl_seckey sk;
	fl_pubkey pk;
	chain_account a;
	chain_tx tx;
	uint32_t voters[3] = {V0, V1, V2};

	cr_assert_eq(fl_key_generate(&sk, &pk), 0);
	for (int i = 0; i < 3; i++) {
		memset(&tx, 0, sizeof(tx));
		tx.kind = CHAIN_TX_MEMBER_ADD;
		tx.u.member.member = pk;
		strcpy(tx.u.member.name, "lab");
		cr_assert_eq(submit(&tx, voters[i]), 0);
	}
	cr_assert_eq(chain_get_account(fx.store, &pk, &a), 0);
	cr_assert_eq(a.member, 1);
	cr_assert_eq(a.balance, 0);
	cr_assert_eq(a.reputation, CHAIN_REPUTATION_START);
	cr_assert_str_eq(a.name, "lab");
}

Test(governance, member_remove)
{
	chain_tx tx;
	chain_profile p;

	/* Not a member; a validator. */
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_REMOVE, V0, OUT), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: not a member");
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_REMOVE, V0, V3), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: a validator stays a member");
	/* 3 + 3 + 2 = 8 > 6. */
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_REMOVE, V0, M0), 0);
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_REMOVE, V1, M0), 0);
	cr_assert_eq(is_member(M0), 1);
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_REMOVE, V2, M0), 0);
	cr_assert_eq(is_member(M0), 0);
	cr_assert_eq(votes_stored(), 0);
	/* A former member may no longer propose. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_PROPOSE;
	chain_sample_profile(&p, "after");
	tx.u.profile_propose = p;
	cr_assert_eq(submit(&tx, M0), FL_EPERM);
	/* And it can be admitted again, afresh. */
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, V0, M0), 0);
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, V1, M0), 0);
	cr_assert_eq(member_vote(CHAIN_TX_MEMBER_ADD, V2, M0), 0);
	cr_assert_eq(is_member(M0), 1);
}

/* ---------------------------------------------------------------- profiles */

static int propose(uint32_t who, const char *id, const char *parent)
{
	chain_tx tx;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_PROPOSE;
	chain_sample_profile(&tx.u.profile_propose, id);
	snprintf(tx.u.profile_propose.parent, sizeof(tx.u.profile_propose.parent), "%s", parent);
	return submit(&tx, who);
}

static int profile_vote(uint32_t who, const char *id, int choice)
{
	chain_tx tx;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_VOTE;
	snprintf(tx.u.profile_vote.profile, sizeof(tx.u.profile_vote.profile), "%s", id);
	tx.u.profile_vote.choice = (uint8_t)choice;
	return submit(&tx, who);
}

static chain_profile_state state_of(const char *id)
{
	chain_profile def;
	chain_profile_state st;

	cr_assert_eq(chain_get_profile(fx.store, id, &def, &st), 0);
	cr_assert_str_eq(def.id, id);
	return st;
}

/* Whether id is in CHAIN_DB_ACTIVE_PROFILES, the set the round schedule
 * walks. */
static int in_active_set(const char *id)
{
	chain_txn *t = NULL;
	const uint8_t *v;
	size_t n;
	int rc;

	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	rc = chain_txn_get(t, CHAIN_DB_ACTIVE_PROFILES, id, strlen(id), &v, &n);
	chain_txn_abort(t);
	cr_assert(rc == FL_OK || rc == FL_ENOTFOUND);
	return rc == FL_OK;
}

Test(governance, propose_rules)
{
	chain_profile_state st;
	char(*ids)[CHAIN_PROFILE_ID_MAX + 1] = NULL;
	size_t n = 0;

	cr_assert_eq(propose(OUT, "cifar", ""), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a member");
	cr_assert_eq(propose(M0, "cifar", ""), 0);
	st = state_of("cifar");
	cr_assert_eq(st.status, CHAIN_PROFILE_PROPOSED);
	cr_assert_eq(st.proposed_height, fixture_height(&fx));
	cr_assert_eq(fl_pubkey_cmp(&st.proposer, &fx.pk[M0]), 0);
	cr_assert_eq(st.activated_height, 0);
	cr_assert_eq(st.round, 0);
	cr_assert(fl_hash_is_zero(&st.model_hash));
	/* Unique ids; parents must exist (in any status). */
	cr_assert_eq(propose(M1, "cifar", ""), FL_EEXIST);
	cr_assert_str_eq(fx.res.reason, "tx: profile exists");
	cr_assert_eq(propose(M1, "cifar.small", "nope"), FL_ENOTFOUND);
	cr_assert_str_eq(fx.res.reason, "tx: no such parent");
	cr_assert_eq(propose(V0, "cifar.small", "cifar"), 0);
	cr_assert_eq(chain_list_profiles(fx.store, &ids, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ids[0], "cifar");
	cr_assert_str_eq(ids[1], "cifar.small");
	fl_free(ids);
}

Test(governance, yes_at_exactly_two_thirds_does_not_pass)
{
	uint64_t h;

	cr_assert_eq(propose(M0, "cifar", ""), 0);
	cr_assert_eq(profile_vote(M0, "cifar", CHAIN_VOTE_YES), FL_EPERM);
	cr_assert_eq(profile_vote(V0, "nope", CHAIN_VOTE_YES), FL_ENOTFOUND);
	cr_assert_eq(profile_vote(V0, "cifar", CHAIN_VOTE_YES), 0);
	cr_assert_eq(profile_vote(V0, "cifar", CHAIN_VOTE_YES), FL_EDUP);
	/* Changing one's mind is a second vote in the same phase. */
	cr_assert_eq(profile_vote(V0, "cifar", CHAIN_VOTE_NO), FL_EDUP);
	cr_assert_eq(profile_vote(V1, "cifar", CHAIN_VOTE_YES), 0);
	cr_assert_eq(state_of("cifar").status, CHAIN_PROFILE_PROPOSED); /* 6 of 9 */
	cr_assert_eq(profile_vote(V3, "cifar", CHAIN_VOTE_YES), 0);     /* 7 of 9 */
	h = fixture_height(&fx);
	cr_assert_eq(state_of("cifar").status, CHAIN_PROFILE_ACTIVE);
	cr_assert_eq(state_of("cifar").activated_height, h);
	cr_assert_eq(votes_stored(), 0);
	/* Decided: approval votes are refused now. */
	cr_assert_eq(profile_vote(V2, "cifar", CHAIN_VOTE_YES), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: profile not proposed");
}

Test(governance, no_at_exactly_one_third_rejects)
{
	cr_assert_eq(propose(M0, "a", ""), 0);
	cr_assert_eq(propose(M0, "b", ""), 0);
	/* A NO of power 3 is exactly 1/3 of 9. */
	cr_assert_eq(profile_vote(V0, "a", CHAIN_VOTE_NO), 0);
	cr_assert_eq(state_of("a").status, CHAIN_PROFILE_REJECTED);
	/* 1, then 1 + 1 < 3 would not do: 1 + 2 = 3 does. */
	cr_assert_eq(profile_vote(V3, "b", CHAIN_VOTE_NO), 0);
	cr_assert_eq(state_of("b").status, CHAIN_PROFILE_PROPOSED);
	cr_assert_eq(profile_vote(V0, "b", CHAIN_VOTE_YES), 0);
	cr_assert_eq(state_of("b").status, CHAIN_PROFILE_PROPOSED);
	cr_assert_eq(profile_vote(V2, "b", CHAIN_VOTE_NO), 0);
	cr_assert_eq(state_of("b").status, CHAIN_PROFILE_REJECTED);
	cr_assert_eq(in_active_set("b"), 0);
	cr_assert_eq(state_of("b").activated_height, 0);
	/* A rejected profile can pass no more. */
	cr_assert_eq(profile_vote(V1, "b", CHAIN_VOTE_YES), FL_ESTATE);
	cr_assert_eq(profile_vote(V1, "b", CHAIN_VOTE_RETIRE), FL_ESTATE);
	cr_assert_eq(votes_stored(), 0);
}

Test(governance, retire_an_active_profile)
{
	cr_assert_eq(propose(M0, "c", ""), 0);
	cr_assert_eq(profile_vote(V0, "c", CHAIN_VOTE_RETIRE), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: profile not active");
	cr_assert_eq(profile_vote(V0, "c", CHAIN_VOTE_YES), 0);
	cr_assert_eq(profile_vote(V1, "c", CHAIN_VOTE_YES), 0);
	cr_assert_eq(profile_vote(V2, "c", CHAIN_VOTE_YES), 0);
	cr_assert_eq(state_of("c").status, CHAIN_PROFILE_ACTIVE);
	/* Retirement is its own phase: the same validators vote again. */
	cr_assert_eq(profile_vote(V0, "c", CHAIN_VOTE_RETIRE), 0);
	cr_assert_eq(profile_vote(V0, "c", CHAIN_VOTE_RETIRE), FL_EDUP);
	cr_assert_eq(profile_vote(V1, "c", CHAIN_VOTE_RETIRE), 0);
	cr_assert_eq(state_of("c").status, CHAIN_PROFILE_ACTIVE); /* 6 of 9 */
	cr_assert_eq(profile_vote(V3, "c", CHAIN_VOTE_RETIRE), 0);
	cr_assert_eq(state_of("c").status, CHAIN_PROFILE_RETIRED);
	cr_assert_eq(profile_vote(V2, "c", CHAIN_VOTE_RETIRE), FL_ESTATE);
	cr_assert_eq(votes_stored(), 0);
}

/* ---------------------------------------------------- deposits and caps */

static chain_info info_now(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info;
}

/* supply = balances + deposits, at every height. */
static void check_supply(void)
{
	cr_assert_eq(fixture_sum_held(&fx), info_now().supply);
}

Test(governance, deposit_locked_then_returned_or_burned)
{
	const uint64_t supply0 = info_now().supply;

	cr_assert_eq(info_now().deposits, 0);
	cr_assert_eq(propose(M0, "a", ""), 0);
	cr_assert_eq(propose(M0, "b", ""), 0);
	cr_assert_eq(fixture_balance(&fx, M0), 1000 - 2 * DEPOSIT);
	cr_assert_eq(info_now().deposits, 2 * DEPOSIT);
	cr_assert_eq(info_now().supply, supply0);
	check_supply();
	/* Activation returns it (to the proposer, whoever voted). */
	cr_assert_eq(profile_vote(V0, "a", CHAIN_VOTE_YES), 0);
	cr_assert_eq(profile_vote(V1, "a", CHAIN_VOTE_YES), 0);
	cr_assert_eq(fixture_balance(&fx, M0), 1000 - 2 * DEPOSIT);
	cr_assert_eq(profile_vote(V3, "a", CHAIN_VOTE_YES), 0);
	cr_assert_eq(state_of("a").status, CHAIN_PROFILE_ACTIVE);
	cr_assert_eq(in_active_set("a"), 1);
	cr_assert_eq(fixture_balance(&fx, M0), 1000 - DEPOSIT);
	cr_assert_eq(info_now().deposits, DEPOSIT);
	cr_assert_eq(info_now().supply, supply0);
	check_supply();
	/* Rejection burns it: the supply shrinks by the deposit. */
	cr_assert_eq(profile_vote(V0, "b", CHAIN_VOTE_NO), 0);
	cr_assert_eq(state_of("b").status, CHAIN_PROFILE_REJECTED);
	cr_assert_eq(fixture_balance(&fx, M0), 1000 - DEPOSIT);
	cr_assert_eq(info_now().deposits, 0);
	cr_assert_eq(info_now().supply, supply0 - DEPOSIT);
	check_supply();
	/* Retirement has no deposit left to move. */
	cr_assert_eq(profile_vote(V0, "a", CHAIN_VOTE_RETIRE), 0);
	cr_assert_eq(profile_vote(V1, "a", CHAIN_VOTE_RETIRE), 0);
	cr_assert_eq(profile_vote(V2, "a", CHAIN_VOTE_RETIRE), 0);
	cr_assert_eq(state_of("a").status, CHAIN_PROFILE_RETIRED);
	cr_assert_eq(in_active_set("a"), 0);
	cr_assert_eq(fixture_balance(&fx, M0), 1000 - DEPOSIT);
	cr_assert_eq(info_now().supply, supply0 - DEPOSIT);
	check_supply();
}

Test(governance, proposal_needs_the_deposit)
{
	chain_tx tx;

	/* M1 keeps 99 of its 1000. */
	cr_assert_eq(fixture_transfer(&fx, &tx, M1, OUT, 1000 - DEPOSIT + 1), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
	chain_tx_free(&tx);
	cr_assert_eq(propose(M1, "poor", ""), FL_EFUNDS);
	cr_assert_str_eq(fx.res.reason, "tx: balance below proposal_deposit");
	cr_assert_eq(chain_get_profile(fx.store, "poor", NULL, NULL), FL_ENOTFOUND);
	cr_assert_eq(info_now().deposits, 0);
	/* Exactly the deposit will do, and leaves nothing. */
	cr_assert_eq(fixture_transfer(&fx, &tx, OUT, M1, 1), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
	chain_tx_free(&tx);
	cr_assert_eq(propose(M1, "poor", ""), 0);
	cr_assert_eq(fixture_balance(&fx, M1), 0);
	cr_assert_eq(info_now().deposits, DEPOSIT);
	check_supply();
}

Test(governance, open_proposals_are_capped_per_proposer)
{
	char id[16];

	for (int i = 0; i < MAX_OPEN; i++) {
		snprintf(id, sizeof(id), "m0.%d", i);
		cr_assert_eq(propose(M0, id, ""), 0, "%s", id);
	}
	/* One past the cap. */
	cr_assert_eq(propose(M0, "m0.more", ""), FL_ETOOBIG);
	cr_assert_str_eq(fx.res.reason, "tx: too many open proposals");
	cr_assert_eq(fixture_balance(&fx, M0), 1000 - MAX_OPEN * DEPOSIT);
	/* The cap is per proposer. */
	cr_assert_eq(propose(M1, "m1.0", ""), 0);
	/* A decided proposal frees its place, whichever way it went. */
	cr_assert_eq(profile_vote(V0, "m0.0", CHAIN_VOTE_NO), 0);
	cr_assert_eq(propose(M0, "m0.more", ""), 0);
	cr_assert_eq(propose(M0, "m0.again", ""), FL_ETOOBIG);
	cr_assert_eq(profile_vote(V0, "m0.1", CHAIN_VOTE_YES), 0);
	cr_assert_eq(profile_vote(V1, "m0.1", CHAIN_VOTE_YES), 0);
	cr_assert_eq(profile_vote(V2, "m0.1", CHAIN_VOTE_YES), 0);
	cr_assert_eq(state_of("m0.1").status, CHAIN_PROFILE_ACTIVE);
	cr_assert_eq(propose(M0, "m0.again", ""), 0);
	cr_assert_eq(info_now().deposits, (MAX_OPEN + 1) * DEPOSIT);
	check_supply();
}

/* --------------------------------------------------------------- expiry */

static int vote_tx(chain_tx *tx, uint32_t who, const char *id, int choice)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_PROFILE_VOTE;
	snprintf(tx->u.profile_vote.profile, sizeof(tx->u.profile_vote.profile), "%s", id);
	tx->u.profile_vote.choice = (uint8_t)choice;
	return fixture_sign(&fx, tx, who);
}

/* Would a YES of `who` on `id` be admitted now (the next block's view)? */
static int check_vote(uint32_t who, const char *id, const char **reason)
{
	chain_account a;
	chain_tx tx;
	int rc;

	/* Signed with the next nonce, not counted as pending: it is never
	 * put in a block. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_VOTE;
	snprintf(tx.u.profile_vote.profile, sizeof(tx.u.profile_vote.profile), "%s", id);
	tx.u.profile_vote.choice = CHAIN_VOTE_YES;
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[who], &a), 0);
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, who, a.nonce + 1), 0);
	rc = chain_check_tx(fx.store, &tx, 0, reason);
	chain_tx_free(&tx);
	return rc;
}

static void propose_tx(chain_tx *tx, uint32_t who, const char *id)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_PROFILE_PROPOSE;
	chain_sample_profile(&tx->u.profile_propose, id);
	cr_assert_eq(fixture_sign(&fx, tx, who), 0);
}

static int submit_many(chain_tx *txs, uint32_t n)
{
	int rc = fixture_next_block(&fx, txs, n);

	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
	return rc;
}

/* Two proposals made in block p: "live" is decided in block p + TTL - 1,
 * its last; "dead" is still undecided and expires at the start of block
 * p + TTL, where its deposit is burned and its pending vote deleted. */
Test(governance, undecided_proposal_expires_after_ttl)
{
	const uint64_t supply0 = info_now().supply;
	const uint32_t voters[3] = {V0, V1, V2};
	chain_tx txs[3];
	const char *why = NULL;
	uint64_t p;

	propose_tx(&txs[0], M0, "live");
	propose_tx(&txs[1], M1, "dead");
	cr_assert_eq(submit_many(txs, 2), 0);
	p = fixture_height(&fx);
	cr_assert_eq(profile_vote(V3, "dead", CHAIN_VOTE_YES), 0); /* 1 of 9 */
	cr_assert_eq(votes_stored(), 1);
	cr_assert_eq(fixture_advance_to(&fx, p + TTL - 2), 0);
	/* Admission looks at block p + TTL - 1: still open. */
	cr_assert_eq(check_vote(V0, "dead", &why), 0, "%s", why ? why : "-");
	/* Block p + TTL - 1, the last one that takes votes. */
	for (uint32_t i = 0; i < 3; i++)
		cr_assert_eq(vote_tx(&txs[i], voters[i], "live", CHAIN_VOTE_YES), 0);
	cr_assert_eq(submit_many(txs, 3), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(fixture_height(&fx), p + TTL - 1);
	cr_assert_eq(state_of("live").status, CHAIN_PROFILE_ACTIVE);
	cr_assert_eq(state_of("dead").status, CHAIN_PROFILE_PROPOSED);
	cr_assert_eq(fixture_balance(&fx, M0), 1000);
	cr_assert_eq(info_now().deposits, DEPOSIT);
	/* Admission now looks at block p + TTL: expired. */
	cr_assert_eq(check_vote(V0, "dead", &why), FL_ESTATE);
	cr_assert_str_eq(why, "tx: profile expired");
	/* So does the block itself. */
	cr_assert_eq(profile_vote(V0, "dead", CHAIN_VOTE_YES), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: profile expired");
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(fixture_height(&fx), p + TTL);
	cr_assert_eq(state_of("dead").status, CHAIN_PROFILE_EXPIRED);
	cr_assert_eq(state_of("dead").activated_height, 0);
	cr_assert_eq(fixture_balance(&fx, M1), 1000 - DEPOSIT);
	cr_assert_eq(info_now().deposits, 0);
	cr_assert_eq(info_now().supply, supply0 - DEPOSIT);
	cr_assert_eq(votes_stored(), 0);
	check_supply();
	/* Every choice is refused, and the id stays taken. */
	cr_assert_eq(profile_vote(V0, "dead", CHAIN_VOTE_NO), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: profile expired");
	cr_assert_eq(profile_vote(V0, "dead", CHAIN_VOTE_RETIRE), FL_ESTATE);
	cr_assert_eq(propose(M1, "dead", ""), FL_EEXIST);
	/* The active one is in the active set; the expired one never was. */
	cr_assert_eq(in_active_set("live"), 1);
	cr_assert_eq(in_active_set("dead"), 0);
}

/* A proposer at its cap gets a place back in the very block where one of
 * its proposals expires, not before. */
Test(governance, expiry_frees_a_place_under_the_cap)
{
	const uint64_t supply0 = info_now().supply;
	char id[16];
	uint64_t p0 = 0;

	for (int i = 0; i < MAX_OPEN; i++) {
		snprintf(id, sizeof(id), "c.%d", i);
		cr_assert_eq(propose(M0, id, ""), 0, "%s", id);
		if (i == 0)
			p0 = fixture_height(&fx);
	}
	cr_assert_eq(fixture_advance_to(&fx, p0 + TTL - 2), 0);
	cr_assert_eq(propose(M0, "c.more", ""), FL_ETOOBIG); /* in block p0 + TTL - 1 */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(state_of("c.0").status, CHAIN_PROFILE_PROPOSED);
	cr_assert_eq(propose(M0, "c.more", ""), 0); /* in block p0 + TTL */
	cr_assert_eq(state_of("c.0").status, CHAIN_PROFILE_EXPIRED);
	cr_assert_eq(state_of("c.1").status, CHAIN_PROFILE_PROPOSED);
	cr_assert_eq(info_now().deposits, MAX_OPEN * DEPOSIT);
	cr_assert_eq(info_now().supply, supply0 - DEPOSIT);
	check_supply();
}
