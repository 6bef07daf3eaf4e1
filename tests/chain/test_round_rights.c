/*
 * tests/chain/test_round_rights.c — who may act in a round and be paid: a
 * participant removed or jailed once the window closed is paid nothing
 * (its share is not minted), a removed or jailed coordinator may not commit
 * and the next in the draw does not wait out its deadline, and an update
 * counts at most the samples its sender declared when joining.
 *
 * Suite "rounds" (declared in test_rounds.c); fixture and tx makers in
 * rounds_helpers.{c,h}. Profile "mnist": window 3 blocks, deadline 2, min 2
 * participants, reward 1000 with a 20% coordinator share.
 */
#include "tests/chain/rounds_helpers.h"

#include <criterion/criterion.h>
#include <string.h>

/* The votes of validators 0..2 (30 of 40) that remove member `who`. */
static void remove_member_txs(chain_tx *txs, uint32_t who)
{
	for (uint32_t v = 0; v < 3; v++) {
		memset(&txs[v], 0, sizeof(txs[v]));
		txs[v].kind = CHAIN_TX_MEMBER_REMOVE;
		txs[v].u.member.member = fx.pk[who];
		cr_assert_eq(fixture_sign(&fx, &txs[v], v), 0);
	}
}

/* Evidence that validator `culprit` signed two blocks at height 1 (jails
 * it), filed by member M(3). */
static void jail_tx(chain_tx *tx, uint32_t culprit)
{
	fl_hash ha, hb;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_EVIDENCE;
	tx->u.evidence.type = CHAIN_EVIDENCE_DOUBLE_SIGN;
	fl_sha256(&ha, "a", 1);
	fl_sha256(&hb, "b", 1);
	if (fl_hash_cmp(&ha, &hb) > 0) {
		fl_hash t = ha;
		ha = hb;
		hb = t;
	}
	cr_assert_eq(
	    fixture_vote(&fx, &tx->u.evidence.vote_a, culprit, CHAIN_VOTE_PRECOMMIT, 1, 0, &ha), 0);
	cr_assert_eq(
	    fixture_vote(&fx, &tx->u.evidence.vote_b, culprit, CHAIN_VOTE_PRECOMMIT, 1, 0, &hb), 0);
	cr_assert_eq(fixture_sign(&fx, tx, M(3)), 0);
}

static chain_account account_of(uint32_t who)
{
	chain_account a;

	cr_assert_eq(chain_get_account(fx.store, &fx.pk[who], &a), 0);
	return a;
}

static uint32_t first_not(const uint32_t *keys, uint32_t n, uint32_t avoid)
{
	for (uint32_t i = 0; i < n; i++)
		if (keys[i] != avoid)
			return keys[i];
	cr_assert_fail("no key but %u", avoid);
	return 0;
}

/* Members M0, M1 and validators 2, 3 join and commit updates of 100, 200,
 * 300, 400 samples; once the window closed, one member that is not the
 * elected coordinator is removed and one such validator jailed. Their
 * shares of the reward are not minted: the supply grows by less. */
Test(rounds, jailed_or_removed_participant_is_paid_nothing)
{
	const uint32_t parts[4] = {M(0), M(1), 2, 3};
	const uint64_t weights[4] = {100, 200, 300, 400};
	const uint32_t members[2] = {M(0), M(1)}, validators[2] = {2, 3};
	chain_tx txs[4];
	chain_reward *rows = NULL;
	size_t n_rows = 0;
	uint64_t before[FX_MAX_KEYS], share[FX_MAX_KEYS] = {0}, paid_total = 0, unpaid;
	uint32_t c0, removed, jailed;
	chain_info info0, info1;
	chain_round r;
	fl_hash zero;

	memset(&zero, 0, sizeof(zero));
	for (uint32_t i = 0; i < 4; i++)
		join_tx(&txs[i], parts[i], weights[i] / 2, weights[i] / 2);
	cr_assert_eq(submit_many(txs, 4), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0); /* round 1 opens at 2 */
	for (uint32_t i = 0; i < 4; i++)
		update_tx(&txs[i], parts[i], 1, &zero, weights[i]);
	cr_assert_eq(submit_many(txs, 4), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(fixture_advance_to(&fx, 4), 0);
	r = round_of(1);
	c0 = coordinator(&r, 0);
	removed = first_not(members, 2, c0);
	jailed = first_not(validators, 2, c0);

	/* h = 5: the window closed; one block removes and jails. */
	remove_member_txs(txs, removed);
	jail_tx(&txs[3], jailed);
	cr_assert_eq(submit_many(txs, 4), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(account_of(removed).member, 0);
	cr_assert_eq(account_of(jailed).jailed, 1);
	cr_assert_eq(round_of(1).status, CHAIN_ROUND_AGGREGATING);

	for (uint32_t i = 0; i < fx.n_keys; i++)
		before[i] = fixture_balance(&fx, i);
	cr_assert_eq(chain_store_info(fx.store, &info0), 0);
	aggregate_tx(&txs[0], c0, 1, &zero, parts, weights, 4);
	cr_assert_eq(submit(&txs[0]), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(chain_store_info(fx.store, &info1), 0);

	/* R = 1000: coordinator 200; P = 800 over weights 1000: 80, 160, 240,
	 * 320 (no remainder). The removed and the jailed get nothing. */
	for (uint32_t i = 0; i < 4; i++)
		share[parts[i]] = 800 * weights[i] / 1000;
	unpaid = share[removed] + share[jailed];
	share[c0] += 200;
	share[removed] = 0;
	share[jailed] = 0;
	for (uint32_t i = 0; i < fx.n_keys; i++) {
		cr_assert_eq(fixture_balance(&fx, i), before[i] + share[i], "key %u", i);
		paid_total += share[i];
	}
	cr_assert_gt(unpaid, 0);
	cr_assert_eq(paid_total, REWARD - unpaid);
	cr_assert_eq(info1.supply, info0.supply + paid_total);
	cr_assert_eq(round_of(1).reward_total, paid_total);
	/* One row per paid account: the coordinator and the two others. */
	cr_assert_eq(chain_get_round_rewards(fx.store, "mnist", 1, &rows, &n_rows), 0);
	cr_assert_eq(n_rows, 3);
	for (size_t i = 0; i < n_rows; i++) {
		int k = fixture_key_index(&fx, &rows[i].account);
		cr_assert(k != (int)removed && k != (int)jailed, "row %zu pays key %d", i, k);
	}
	fl_free(rows);
}

/* The elected coordinator is removed once the window closed: it may not
 * commit, and the next coordinator of the draw does not wait out its
 * deadline. It is not paid for its update either. */
Test(rounds, removed_coordinator_cannot_commit_and_is_skipped)
{
	const uint64_t samples[3] = {100, 200, 300};
	uint32_t parts[3] = {M(0), M(1), M(2)};
	uint64_t weights[3] = {100, 200, 300};
	chain_tx txs[3], tx;
	chain_round r;
	fl_hash zero;
	uint64_t c0_before;
	uint32_t c0, c1;

	memset(&zero, 0, sizeof(zero));
	run_to_aggregating(samples);
	r = round_of(1);
	c0 = coordinator(&r, 0);
	c1 = coordinator(&r, 1);
	remove_member_txs(txs, c0);
	cr_assert_eq(submit_many(txs, 3), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(fixture_height(&fx), 5);
	cr_assert_eq(account_of(c0).member, 0);
	c0_before = fixture_balance(&fx, c0);
	/* h = 6, inside the elected coordinator's turn (window_end 4,
	 * deadline 2): it is no longer a member. */
	aggregate_tx(&tx, c0, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a member");
	/* The first fallback is next in line at once. */
	aggregate_tx(&tx, c1, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	r = round_of(1);
	cr_assert_eq(r.status, CHAIN_ROUND_COMMITTED);
	cr_assert_eq(r.commit_height, 6);
	cr_assert_eq(fl_pubkey_cmp(&r.committed_by, &fx.pk[c1]), 0);
	cr_assert_eq(fixture_balance(&fx, c0), c0_before);
	/* Round 2 does not draw it. */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	r = round_of(2);
	cr_assert_eq(r.n_coordinators, 2);
	for (uint32_t j = 0; j < r.n_coordinators; j++)
		cr_assert_neq(coordinator(&r, j), c0);
}

/* A jailed coordinator is skipped the same way. */
Test(rounds, jailed_coordinator_is_skipped)
{
	const uint32_t parts[3] = {0, 1, 2};
	const uint64_t weights[3] = {100, 200, 300};
	chain_tx txs[3], tx;
	chain_round r;
	fl_hash zero;
	uint32_t c0, c1;

	memset(&zero, 0, sizeof(zero));
	/* Validators 0..2 are the candidates, so the elected one can be jailed. */
	for (uint32_t i = 0; i < 3; i++)
		join_tx(&txs[i], parts[i], weights[i] / 2, weights[i] / 2);
	cr_assert_eq(submit_many(txs, 3), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	for (uint32_t i = 0; i < 3; i++)
		update_tx(&txs[i], parts[i], 1, &zero, weights[i]);
	cr_assert_eq(submit_many(txs, 3), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(fixture_advance_to(&fx, 4), 0);
	r = round_of(1);
	c0 = coordinator(&r, 0);
	c1 = coordinator(&r, 1);
	jail_tx(&tx, c0);
	cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	aggregate_tx(&tx, c0, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: jailed");
	aggregate_tx(&tx, c1, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(round_of(1).commit_height, 6);
}

/* An update counts at most the samples its sender declared when joining
 * (M0 joined with 600 + 400). */
Test(rounds, update_samples_within_the_join)
{
	chain_tx tx;
	fl_hash zero;

	memset(&zero, 0, sizeof(zero));
	start_round();
	update_tx(&tx, M(0), 1, &zero, 1001);
	cr_assert_eq(submit(&tx), FL_EINVAL);
	cr_assert_str_eq(fx.res.reason, "tx: n_samples over the join");
	update_tx(&tx, M(0), 1, &zero, 1000);
	cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(round_of(1).n_updates, 1);
}
