/*
 * tests/chain/test_rounds.c — the round schedule and the round txs: joins,
 * a round opening with an elected coordinator list, update commits inside
 * the window only, aggregate commits by the right coordinator at the right
 * time, the exact reward split, the fallback coordinator after a deadline,
 * failed rounds (too few updates, every coordinator late), eval reports, a
 * reward past the supply, allocation failures in a round's block, and a
 * child profile that starts from its parent's model when activated. Who
 * may act and be paid (removed or jailed participants and coordinators,
 * n_samples within the join) is in test_round_rights.c; the helpers both
 * use are in rounds_helpers.{c,h}.
 *
 * Profile "mnist": window 3 blocks, deadline 2, min 2 participants, reward
 * 1000 with a 20% coordinator share, weights capped at 1000 samples.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"
#include "tests/chain/rounds_helpers.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* The suite of both test_rounds.c and test_round_rights.c, declared once
 * here: each test starts from a fresh fixture (rounds_helpers.c). */
TestSuite(rounds, .init = open_rounds, .fini = close_rounds);

static chain_profile_state profile_state(void)
{
	chain_profile_state st;

	cr_assert_eq(chain_get_profile(fx.store, "mnist", NULL, &st), 0);
	return st;
}

static uint32_t reputation(uint32_t who)
{
	chain_account a;

	cr_assert_eq(chain_get_account(fx.store, &fx.pk[who], &a), 0);
	return a.reputation;
}

Test(rounds, opens_with_the_elected_coordinators)
{
	chain_tx txs[3];
	chain_candidate cands[3];
	fl_pubkey want[4];
	uint32_t n_want = 0;
	chain_info info;
	chain_round r;

	for (uint32_t i = 0; i < 3; i++)
		join_tx(&txs[i], M(i), 10, 20);
	/* Joined at h = 1: the round opens at the begin of h = 2, not before. */
	cr_assert_eq(submit_many(txs, 3), 0);
	cr_assert_eq(profile_state().round, 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	r = round_of(1);
	cr_assert_eq(profile_state().round, 1);
	cr_assert_eq(r.status, CHAIN_ROUND_OPEN);
	cr_assert_eq(r.open_height, 2);
	cr_assert_eq(r.window_end, 4);
	cr_assert_eq(fl_hash_cmp(&r.beacon, &info.beacon), 0);
	cr_assert(fl_hash_is_zero(&r.base_model));
	cr_assert_eq(r.n_updates, 0);
	/* The draw, recomputed: joined members sorted by key, weight
	 * floor(bonded / stake_unit) * reputation = 2 * 500. */
	for (uint32_t i = 0; i < 3; i++) {
		cands[i].id = fx.pk[M(i)];
		cands[i].weight = 1000;
	}
	for (uint32_t i = 0; i < 3; i++)
		for (uint32_t j = i + 1; j < 3; j++)
			if (fl_pubkey_cmp(&cands[j].id, &cands[i].id) < 0) {
				chain_candidate t = cands[i];
				cands[i] = cands[j];
				cands[j] = t;
			}
	cr_assert_eq(chain_elect(want, &n_want, 4, cands, 3, &info.beacon, "mnist", 1), 0);
	cr_assert_eq(r.n_coordinators, 3);
	cr_assert_eq(n_want, 3);
	cr_assert_eq(memcmp(r.coordinators, want, 3 * sizeof(want[0])), 0);
}

Test(rounds, too_few_members_wait)
{
	chain_tx tx;

	join_tx(&tx, M(0), 5, 5);
	cr_assert_eq(submit(&tx), 0);
	cr_assert_eq(fixture_advance_to(&fx, 5), 0);
	cr_assert_eq(profile_state().round, 0);
	/* A second joiner lets round 1 open at the next block. */
	join_tx(&tx, M(1), 5, 5);
	cr_assert_eq(submit(&tx), 0);
	cr_assert_eq(profile_state().round, 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(round_of(1).open_height, 7);
	cr_assert_eq(round_of(1).n_coordinators, 2);
}

Test(rounds, join_rules)
{
	chain_tx tx;
	chain_join_record rec;
	chain_txn *t = NULL;

	/* An outsider is not a member. */
	join_tx(&tx, OUT, 5, 5);
	cr_assert_eq(submit(&tx), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a member");
	/* Labels outside the profile's. */
	join_tx(&tx, M(0), 5, 5);
	tx.u.round_join.labels[1] = 42;
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, M(0), 1), 0);
	cr_assert_eq(submit(&tx), FL_EINVAL);
	cr_assert_str_eq(fx.res.reason, "tx: labels not in profile");
	/* An unknown profile. */
	join_tx(&tx, M(0), 5, 5);
	strcpy(tx.u.round_join.profile, "cifar");
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, M(0), 1), 0);
	cr_assert_eq(submit(&tx), FL_ENOTFOUND);
	/* Join, then re-join: the record is replaced. */
	join_tx(&tx, M(0), 5, 5);
	cr_assert_eq(submit(&tx), 0);
	join_tx(&tx, M(0), 30, 70);
	cr_assert_eq(submit(&tx), 0);
	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	cr_assert_eq(chain_state_get_join(t, "mnist", &fx.pk[M(0)], &rec), 0);
	chain_txn_abort(t);
	cr_assert_eq(rec.n_samples, 100);
	cr_assert_eq(rec.label_counts[0], 30);
	cr_assert_eq(rec.label_counts[1], 70);
	cr_assert_eq(rec.height, 2);
	cr_assert_eq(rec.n_summary, 1);
}

Test(rounds, full_round_flow_and_reward_split)
{
	const uint64_t samples[3] = {100, 200, 300};
	uint32_t parts[3] = {M(0), M(1), M(2)};
	uint64_t weights[3] = {100, 200, 300};
	uint64_t before[FX_MAX_KEYS], paid[FX_MAX_KEYS] = {0};
	chain_reward *rows = NULL;
	chain_update_record *ups = NULL;
	size_t n_rows = 0, n_ups = 0;
	chain_info info0, info1;
	chain_tx tx;
	chain_round r;
	fl_hash zero, other;
	uint32_t c0, c1, non_coord = M(3);

	memset(&zero, 0, sizeof(zero));
	cr_assert_eq(chain_store_info(fx.store, &info0), 0);
	start_round();
	commit_updates(samples, 0, 1);

	/* h = 4, the last block of the window: one update per member, from
	 * joined members only. */
	update_tx(&tx, M(0), 1, &zero, 10);
	cr_assert_eq(submit(&tx), FL_EDUP);
	cr_assert_str_eq(fx.res.reason, "tx: duplicate update");
	update_tx(&tx, M(3), 1, &zero, 10);
	cr_assert_eq(submit(&tx), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not joined");
	{
		chain_tx two[2];
		update_tx(&two[0], M(2), 1, &zero, samples[2]);
		join_tx(&two[1], M(3), 1, 1);
		cr_assert_eq(submit_many(two, 2), 0);
	}
	r = round_of(1);
	cr_assert_eq(r.n_updates, 3);
	cr_assert_eq(chain_get_round_updates(fx.store, "mnist", 1, &ups, &n_ups), 0);
	cr_assert_eq(n_ups, 3);
	for (size_t i = 1; i < n_ups; i++)
		cr_assert_lt(fl_pubkey_cmp(&ups[i - 1].participant, &ups[i].participant), 0);
	for (size_t i = 0; i < n_ups; i++) {
		int k = fixture_key_index(&fx, &ups[i].participant);
		cr_assert_eq(ups[i].n_samples, samples[k - M(0)]);
		cr_assert_eq(ups[i].height, k == M(2) ? 4 : 3);
	}
	fl_free(ups);

	/* h = 5: the window is closed, the round aggregates. */
	update_tx(&tx, M(3), 1, &zero, 10);
	cr_assert_eq(submit(&tx), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: round window closed");
	/* A late joiner is not a coordinator of round 1. */
	for (uint32_t j = 0; j < r.n_coordinators; j++)
		cr_assert_neq(coordinator(&r, j), M(3));

	c0 = coordinator(&r, 0);
	c1 = coordinator(&r, 1);
	/* Not a coordinator: a member that did not join, a validator. */
	aggregate_tx(&tx, non_coord, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a coordinator");
	aggregate_tx(&tx, 0, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EPERM);
	/* The first fallback before the elected one's deadline. */
	aggregate_tx(&tx, c1, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not this coordinator's turn");
	/* Wrong base model; a weight over its cap; a wrong update hash; an
	 * entry without an update; fewer weighted entries than required. */
	fl_sha256(&other, "x", 1);
	aggregate_tx(&tx, c0, 1, &other, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EINVAL);
	cr_assert_str_eq(fx.res.reason, "tx: base model");
	weights[0] = 101;
	aggregate_tx(&tx, c0, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EINVAL);
	cr_assert_str_eq(fx.res.reason, "tx: entry weight");
	weights[0] = 100;
	aggregate_tx(&tx, c0, 1, &zero, parts, weights, 3);
	tx.u.aggregate_commit.entries[1].update.b[0] ^= 1;
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, c0, tx.nonce), 0);
	cr_assert_eq(submit(&tx), FL_EINVAL);
	cr_assert_str_eq(fx.res.reason, "tx: entry update hash");
	{
		uint32_t with_m3[4] = {M(0), M(1), M(2), M(3)};
		uint64_t w4[4] = {100, 200, 300, 1};
		aggregate_tx(&tx, c0, 1, &zero, with_m3, w4, 4);
		cr_assert_eq(submit(&tx), FL_EINVAL);
		cr_assert_str_eq(fx.res.reason, "tx: entry without update");
	}
	{
		uint64_t w1[3] = {100, 0, 0};
		aggregate_tx(&tx, c0, 1, &zero, parts, w1, 3);
		cr_assert_eq(submit(&tx), FL_EINVAL);
		cr_assert_str_eq(fx.res.reason, "tx: too few weighted entries");
	}
	cr_assert_eq(fixture_height(&fx), 4);

	/* The elected coordinator, in its turn. */
	for (uint32_t i = 0; i < fx.n_keys; i++)
		before[i] = fixture_balance(&fx, i);
	aggregate_tx(&tx, c0, 1, &zero, parts, weights, 3);
	{
		fl_hash new_model = tx.u.aggregate_commit.new_model;
		cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
		r = round_of(1);
		cr_assert_eq(r.status, CHAIN_ROUND_COMMITTED);
		cr_assert_eq(r.commit_height, 5);
		cr_assert_eq(fl_pubkey_cmp(&r.committed_by, &fx.pk[c0]), 0);
		cr_assert_eq(fl_hash_cmp(&r.new_model, &new_model), 0);
		cr_assert_eq(r.eval_accuracy_ppm, 870000);
		cr_assert_eq(r.eval_loss_ppm, 410000);
		cr_assert_eq(r.reward_total, REWARD);
		chain_profile_state st = profile_state();
		cr_assert_eq(fl_hash_cmp(&st.model_hash, &new_model), 0);
		cr_assert_eq(st.rounds_committed, 1);
	}
	/* R = 1000: coordinator 200; P = 800 split 100:200:300 of 600 as
	 * floor(133.3) = 133, floor(266.6) = 266, 400; the 1 left over goes
	 * to the coordinator: 201. Rows: coordinator, then by participant key. */
	cr_assert_eq(chain_get_round_rewards(fx.store, "mnist", 1, &rows, &n_rows), 0);
	cr_assert_eq(n_rows, 4);
	cr_assert_eq(fl_pubkey_cmp(&rows[0].account, &fx.pk[c0]), 0);
	cr_assert_eq(rows[0].amount, 201);
	cr_assert_eq(rows[0].weight, 0);
	{
		uint64_t total = 0;
		for (size_t i = 0; i < n_rows; i++) {
			int k = fixture_key_index(&fx, &rows[i].account);
			cr_assert_geq(k, 0);
			paid[k] += rows[i].amount;
			total += rows[i].amount;
			if (i >= 2)
				cr_assert_lt(fl_pubkey_cmp(&rows[i - 1].account, &rows[i].account),
					     0);
			if (i >= 1) {
				uint64_t want = rows[i].weight == 100   ? 133
						: rows[i].weight == 200 ? 266
									: 400;
				cr_assert_eq(rows[i].amount, want);
				cr_assert_eq(rows[i].weight, samples[k - M(0)]);
			}
		}
		cr_assert_eq(total, REWARD);
	}
	fl_free(rows);
	for (uint32_t i = 0; i < fx.n_keys; i++)
		cr_assert_eq(fixture_balance(&fx, i), before[i] + paid[i], "key %u", i);
	cr_assert_eq(chain_store_info(fx.store, &info1), 0);
	cr_assert_eq(info1.supply, info0.supply + REWARD);
	cr_assert_eq(fixture_sum_held(&fx), info1.supply);
	cr_assert_eq(reputation(c0), CHAIN_REPUTATION_START + 5);
	cr_assert_eq(reputation(c1), CHAIN_REPUTATION_START);

	/* A committed round lets round 2 open at the next block, from the new
	 * model, with M3 (joined meanwhile) among the candidates. */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	r = round_of(2);
	cr_assert_eq(r.status, CHAIN_ROUND_OPEN);
	cr_assert_eq(r.open_height, 6);
	{
		chain_profile_state st = profile_state();
		cr_assert_eq(fl_hash_cmp(&r.base_model, &st.model_hash), 0);
	}
	cr_assert_eq(r.n_coordinators, 4);
	/* A second aggregate for round 1 finds it committed. */
	aggregate_tx(&tx, c0, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_ESTATE);
}

Test(rounds, update_rules_inside_the_window)
{
	chain_tx tx;
	fl_hash zero, other;

	memset(&zero, 0, sizeof(zero));
	start_round();
	fl_sha256(&other, "o", 1);
	update_tx(&tx, M(2), 2, &zero, 10);
	cr_assert_eq(submit(&tx), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: not the current round");
	update_tx(&tx, M(2), 1, &other, 10);
	cr_assert_eq(submit(&tx), FL_EINVAL);
	cr_assert_str_eq(fx.res.reason, "tx: base model");
	update_tx(&tx, M(2), 1, &zero, 10);
	strcpy(tx.u.update_commit.profile, "cifar");
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, M(2), tx.nonce), 0);
	cr_assert_eq(submit(&tx), FL_ENOTFOUND);
	cr_assert_eq(fixture_height(&fx), 2);
	/* An update in the very block that opened the round is fine too. */
	update_tx(&tx, M(2), 1, &zero, 10);
	cr_assert_eq(submit(&tx), 0);
	cr_assert_eq(round_of(1).n_updates, 1);
}

Test(rounds, fallback_coordinator_after_the_deadline)
{
	const uint64_t samples[3] = {50, 60, 70};
	uint32_t parts[3] = {M(0), M(1), M(2)};
	uint64_t weights[3] = {50, 60, 70};
	chain_tx tx;
	chain_round r;
	fl_hash zero;
	uint32_t c1, c2;

	memset(&zero, 0, sizeof(zero));
	run_to_aggregating(samples);
	r = round_of(1);
	c1 = coordinator(&r, 1);
	c2 = coordinator(&r, 2);
	/* window_end 4, deadline 2: coordinator 1 from h = 7, 2 from h = 9. */
	for (uint64_t h = 5; h <= 6; h++) {
		aggregate_tx(&tx, c1, 1, &zero, parts, weights, 3);
		cr_assert_eq(submit(&tx), FL_EPERM, "h %llu", (unsigned long long)h);
		cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	}
	cr_assert_eq(fixture_height(&fx), 6);
	aggregate_tx(&tx, c2, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EPERM);
	aggregate_tx(&tx, c1, 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	r = round_of(1);
	cr_assert_eq(r.status, CHAIN_ROUND_COMMITTED);
	cr_assert_eq(r.commit_height, 7);
	cr_assert_eq(fl_pubkey_cmp(&r.committed_by, &fx.pk[c1]), 0);
	cr_assert_eq(reputation(c1), CHAIN_REPUTATION_START + 5);
}

Test(rounds, every_coordinator_late_fails_the_round)
{
	const uint64_t samples[3] = {50, 60, 70};
	chain_round r;
	uint32_t c[3];

	run_to_aggregating(samples);
	r = round_of(1);
	for (uint32_t j = 0; j < 3; j++)
		c[j] = coordinator(&r, j);
	/* Fails once h > window_end + 3 * deadline = 10. */
	cr_assert_eq(fixture_advance_to(&fx, 10), 0);
	cr_assert_eq(round_of(1).status, CHAIN_ROUND_AGGREGATING);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(round_of(1).status, CHAIN_ROUND_FAILED);
	/* 500 - 20% = 400 for each of them. */
	for (uint32_t j = 0; j < 3; j++)
		cr_assert_eq(reputation(c[j]), 400, "coordinator %u", j);
	cr_assert_eq(reputation(M(3)), CHAIN_REPUTATION_START);
	/* The next round opened in the same begin-block step. */
	r = round_of(2);
	cr_assert_eq(r.status, CHAIN_ROUND_OPEN);
	cr_assert_eq(r.open_height, 11);
	cr_assert_eq(profile_state().round, 2);
	cr_assert_eq(profile_state().rounds_committed, 0);
}

Test(rounds, too_few_updates_fail_and_the_next_opens)
{
	const uint64_t samples[3] = {50, 0, 0};
	chain_round r;

	run_to_aggregating(samples);
	cr_assert_eq(round_of(1).n_updates, 1);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0); /* h = 5 */
	r = round_of(1);
	cr_assert_eq(r.status, CHAIN_ROUND_FAILED);
	for (uint32_t j = 0; j < r.n_coordinators; j++)
		cr_assert_eq(reputation(coordinator(&r, j)), CHAIN_REPUTATION_START);
	r = round_of(2);
	cr_assert_eq(r.status, CHAIN_ROUND_OPEN);
	cr_assert_eq(r.open_height, 5);
	cr_assert_eq(r.window_end, 7);
	cr_assert(fl_hash_is_zero(&r.base_model));
}

static void eval_tx(chain_tx *tx, uint64_t round)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_EVAL_REPORT;
	strcpy(tx->u.eval_report.profile, "mnist");
	tx->u.eval_report.round = round;
	fl_sha256(&tx->u.eval_report.model, "m", 1);
	tx->u.eval_report.n_samples = 500;
	tx->u.eval_report.metric_value = 880000;
}

Test(rounds, eval_reports)
{
	chain_tx tx;
	chain_eval_record rec;
	chain_txn *t = NULL;

	eval_tx(&tx, 1);
	cr_assert_eq(fixture_sign(&fx, &tx, M(0)), 0);
	cr_assert_eq(submit(&tx), FL_ESTATE);
	cr_assert_str_eq(fx.res.reason, "tx: round not opened yet");
	eval_tx(&tx, 0); /* the initial model */
	cr_assert_eq(fixture_sign(&fx, &tx, OUT), 0);
	cr_assert_eq(submit(&tx), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a member");
	eval_tx(&tx, 0);
	cr_assert_eq(fixture_sign(&fx, &tx, M(0)), 0);
	cr_assert_eq(submit(&tx), 0);
	eval_tx(&tx, 0);
	cr_assert_eq(fixture_sign(&fx, &tx, M(0)), 0);
	cr_assert_eq(submit(&tx), FL_EDUP);
	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	cr_assert_eq(chain_state_get_eval(t, "mnist", 0, &fx.pk[M(0)], &rec), 0);
	chain_txn_abort(t);
	cr_assert_eq(rec.n_samples, 500);
	cr_assert_eq(rec.metric_value, 880000);
	cr_assert_eq(rec.height, 1);
	{
		/* The API's listing: a second reporter, sorted by key. */
		chain_eval *evs = NULL;
		size_t n_evs = 0;
		fl_hash m;

		eval_tx(&tx, 0);
		tx.u.eval_report.metric_value = 870000;
		cr_assert_eq(fixture_sign(&fx, &tx, M(1)), 0);
		cr_assert_eq(submit(&tx), 0);
		cr_assert_eq(chain_get_round_evals(fx.store, "mnist", 0, &evs, &n_evs), 0);
		cr_assert_eq(n_evs, 2);
		cr_assert_lt(fl_pubkey_cmp(&evs[0].reporter, &evs[1].reporter), 0);
		fl_sha256(&m, "m", 1);
		for (size_t i = 0; i < n_evs; i++) {
			int k = fixture_key_index(&fx, &evs[i].reporter);
			cr_assert(k == M(0) || k == M(1));
			cr_assert_eq(evs[i].metric_value, k == M(0) ? 880000 : 870000);
			cr_assert_eq(evs[i].n_samples, 500);
			cr_assert_eq(fl_hash_cmp(&evs[i].model, &m), 0);
			cr_assert_eq(evs[i].height, k == M(0) ? 1 : fixture_height(&fx));
		}
		fl_free(evs);
		cr_assert_eq(chain_get_round_evals(fx.store, "mnist", 1, &evs, &n_evs), 0);
		cr_assert_eq(n_evs, 0);
		fl_free(evs);
	}
}

Test(rounds, reward_that_would_overflow_the_supply_is_refused)
{
	const uint64_t samples[3] = {50, 60, 70};
	uint32_t parts[3] = {M(0), M(1), M(2)};
	uint64_t weights[3] = {50, 60, 70};
	chain_info info, after;
	chain_round r;
	chain_tx tx;
	fl_hash zero;

	/* 9 keys of floor((2^64 - 1) / 9) in all: the supply is within 9 of the top. */
	fixture_close(&fx);
	open_with(UINT64_MAX / 9 - BONDED, BONDED);
	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	cr_assert_gt(info.supply, UINT64_MAX - REWARD);
	memset(&zero, 0, sizeof(zero));
	run_to_aggregating(samples);
	{
		/* The node reads back what it declared. */
		chain_tx_round_join j;
		uint64_t h = 0;

		cr_assert_eq(chain_get_join(fx.store, "mnist", &fx.pk[M(1)], &j, &h), 0);
		cr_assert_eq(h, 1);
		cr_assert_str_eq(j.profile, "mnist");
		cr_assert_eq(j.n_samples, 1001);
		cr_assert_eq(chain_get_join(fx.store, "mnist", &fx.pk[M(3)], &j, &h), FL_ENOTFOUND);
		cr_assert_eq(chain_get_join(fx.store, "no such/id", &fx.pk[M(1)], &j, &h), FL_EINVAL);
	}
	r = round_of(1);
	aggregate_tx(&tx, coordinator(&r, 0), 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), FL_EOVERFLOW);
	cr_assert_str_eq(fx.res.reason, "tx: supply overflow");
	/* Nothing of block 5 stays: not even the window closing. */
	cr_assert_eq(round_of(1).status, CHAIN_ROUND_OPEN);
	cr_assert_eq(fixture_height(&fx), 4);
	cr_assert_eq(chain_store_info(fx.store, &after), 0);
	cr_assert_eq(after.supply, info.supply);
}

/* Criterion does not fail a test whose worker LeakSanitizer flags at exit,
 * so the torture test asks LSan itself when built with ASan. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define ROUNDS_NO_LEAKS() cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "leaks: see stderr")
#else
#define ROUNDS_NO_LEAKS() ((void)0)
#endif

/* curl's torture mode on a block that opens a round (the election) and holds
 * one tx of most kinds: for every n, the nth allocation and all later ones
 * fail; each attempt must fail with FL_ENOMEM, write nothing and leak
 * nothing, until the first n that lets it through gives the same app hash
 * as an undisturbed check. */
Test(rounds, allocation_failures_write_nothing)
{
	chain_tx txs[6], joins[3];
	chain_block b;
	chain_block_result res, want;
	chain_info before, after;
	fl_hash zero;
	unsigned long n;
	int failures = 0, rc = FL_ENOMEM;

	memset(&zero, 0, sizeof(zero));
	for (uint32_t i = 0; i < 3; i++)
		join_tx(&joins[i], M(i), 5, 5);
	cr_assert_eq(submit_many(joins, 3), 0);
	/* Block 2: round 1 opens at its begin, so an update fits in it. */
	cr_assert_eq(fixture_transfer(&fx, &txs[0], 0, OUT, 10), 0);
	memset(&txs[1], 0, sizeof(txs[1]));
	txs[1].kind = CHAIN_TX_MEMBER_ADD;
	txs[1].u.member.member = fx.pk[OUT];
	cr_assert_eq(fixture_sign(&fx, &txs[1], 1), 0);
	memset(&txs[2], 0, sizeof(txs[2]));
	txs[2].kind = CHAIN_TX_PROFILE_PROPOSE;
	chain_sample_profile(&txs[2].u.profile_propose, "mnist.b");
	strcpy(txs[2].u.profile_propose.parent, "mnist");
	cr_assert_eq(fixture_sign(&fx, &txs[2], M(3)), 0);
	update_tx(&txs[3], M(0), 1, &zero, 10);
	eval_tx(&txs[4], 0);
	cr_assert_eq(fixture_sign(&fx, &txs[4], M(1)), 0);
	memset(&txs[5], 0, sizeof(txs[5]));
	txs[5].kind = CHAIN_TX_EVIDENCE;
	txs[5].u.evidence.type = CHAIN_EVIDENCE_DOUBLE_SIGN;
	{
		fl_hash ha, hb;
		fl_sha256(&ha, "a", 1);
		fl_sha256(&hb, "b", 1);
		if (fl_hash_cmp(&ha, &hb) > 0) {
			fl_hash t = ha;
			ha = hb;
			hb = t;
		}
		cr_assert_eq(
		    fixture_vote(&fx, &txs[5].u.evidence.vote_a, 3, CHAIN_VOTE_PREVOTE, 1, 0, &ha),
		    0);
		cr_assert_eq(
		    fixture_vote(&fx, &txs[5].u.evidence.vote_b, 3, CHAIN_VOTE_PREVOTE, 1, 0, &hb),
		    0);
	}
	cr_assert_eq(fixture_sign(&fx, &txs[5], M(2)), 0);
	cr_assert_eq(fixture_build_block(&fx, txs, 6, &b), 0);
	cr_assert_eq(chain_check_block(fx.store, &b, &want), 0, "%s",
		     want.reason ? want.reason : "-");
	cr_assert_eq(chain_store_info(fx.store, &before), 0);

	for (n = 1; n < 100000; n++) {
		fl_alloc_fail_after(n);
		rc = chain_apply_block(fx.store, &b, &res);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM, "allocation %lu: %s (%s)", n, fl_strerror(rc),
			     res.reason ? res.reason : "-");
		cr_assert_eq(chain_store_info(fx.store, &after), 0);
		cr_assert_eq(after.height, before.height);
		cr_assert_eq(fl_hash_cmp(&after.app_hash, &before.app_hash), 0);
		failures++;
	}
	cr_assert_eq(rc, FL_OK);
	cr_assert_gt(failures, 50, "only %d allocation points", failures);
	cr_assert_eq(fl_hash_cmp(&res.app_hash, &want.app_hash), 0);
	cr_assert_eq(round_of(1).n_updates, 1);
	chain_block_free(&b);
	for (int i = 0; i < 6; i++)
		chain_tx_free(&txs[i]);

	/* The lookups that allocate, likewise. */
	for (n = 1; n < 1000; n++) {
		char(*ids)[CHAIN_PROFILE_ID_MAX + 1] = NULL;
		chain_update_record *ups = NULL;
		chain_genesis_validator *vals = NULL;
		size_t k = 0, n_ups = 0, n_vals = 0;
		int r1, r2, r3;

		fl_alloc_fail_after(n);
		r1 = chain_list_profiles(fx.store, &ids, &k);
		r2 = chain_get_round_updates(fx.store, "mnist", 1, &ups, &n_ups);
		r3 = chain_get_validators(fx.store, &vals, &n_vals);
		fl_alloc_fail_after(0);
		cr_assert(r1 == FL_OK || r1 == FL_ENOMEM);
		cr_assert(r2 == FL_OK || r2 == FL_ENOMEM);
		cr_assert(r3 == FL_OK || r3 == FL_ENOMEM);
		fl_free(ids);
		fl_free(ups);
		fl_free(vals);
		if (r1 == FL_OK && r2 == FL_OK && r3 == FL_OK) {
			cr_assert_eq(k, 2);
			cr_assert_eq(n_ups, 1);
			cr_assert_eq(n_vals, 3);
			break;
		}
	}
	ROUNDS_NO_LEAKS();
}

/* A profile proposed by M0 and voted in by validators 0.. until active. */
static void propose_and_activate(const char *id, const char *parent, int other_spec)
{
	chain_tx tx;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_PROPOSE;
	chain_sample_profile(&tx.u.profile_propose, id);
	snprintf(tx.u.profile_propose.parent, sizeof(tx.u.profile_propose.parent), "%s", parent);
	if (other_spec)
		tx.u.profile_propose.model.sizes[1] += 1;
	cr_assert_eq(fixture_sign(&fx, &tx, M(0)), 0);
	cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	for (uint32_t v = 0; v < 4; v++) {
		chain_profile_state st;

		cr_assert_eq(chain_get_profile(fx.store, id, NULL, &st), 0);
		if (st.status == CHAIN_PROFILE_ACTIVE)
			break;
		memset(&tx, 0, sizeof(tx));
		tx.kind = CHAIN_TX_PROFILE_VOTE;
		snprintf(tx.u.profile_vote.profile, sizeof(tx.u.profile_vote.profile), "%s", id);
		tx.u.profile_vote.choice = CHAIN_VOTE_YES;
		cr_assert_eq(fixture_sign(&fx, &tx, v), 0);
		cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	}
}

Test(rounds, an_activated_child_starts_from_its_parents_model)
{
	const uint64_t samples[3] = {100, 200, 300};
	uint32_t parts[3] = {M(0), M(1), M(2)};
	uint64_t weights[3] = {100, 200, 300};
	chain_profile_state parent, child;
	chain_tx tx;
	chain_round r;
	fl_hash zero;

	memset(&zero, 0, sizeof(zero));
	run_to_aggregating(samples);
	{
		/* The node reads back what it declared. */
		chain_tx_round_join j;
		uint64_t h = 0;

		cr_assert_eq(chain_get_join(fx.store, "mnist", &fx.pk[M(1)], &j, &h), 0);
		cr_assert_eq(h, 1);
		cr_assert_str_eq(j.profile, "mnist");
		cr_assert_eq(j.n_samples, 1001);
		cr_assert_eq(chain_get_join(fx.store, "mnist", &fx.pk[M(3)], &j, &h), FL_ENOTFOUND);
		cr_assert_eq(chain_get_join(fx.store, "no such/id", &fx.pk[M(1)], &j, &h), FL_EINVAL);
	}
	r = round_of(1);
	aggregate_tx(&tx, coordinator(&r, 0), 1, &zero, parts, weights, 3);
	cr_assert_eq(submit(&tx), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	parent = profile_state();
	cr_assert_eq(parent.rounds_committed, 1);

	propose_and_activate("mnist.a", "mnist", 0);
	cr_assert_eq(chain_get_profile(fx.store, "mnist.a", NULL, &child), 0);
	cr_assert_eq(child.status, CHAIN_PROFILE_ACTIVE);
	cr_assert_eq(fl_hash_cmp(&child.model_hash, &parent.model_hash), 0);
	cr_assert_eq(child.rounds_committed, 0);

	/* Another network cannot take the parent's weights. */
	propose_and_activate("mnist.wide", "mnist", 1);
	cr_assert_eq(chain_get_profile(fx.store, "mnist.wide", NULL, &child), 0);
	cr_assert_eq(child.status, CHAIN_PROFILE_ACTIVE);
	cr_assert_eq(fl_hash_cmp(&child.model_hash, &zero), 0);
}

Test(rounds, a_child_activated_before_its_parent_learned_starts_from_its_init)
{
	chain_profile_state child;
	fl_hash zero;

	memset(&zero, 0, sizeof(zero));
	propose_and_activate("mnist.early", "mnist", 0);
	cr_assert_eq(chain_get_profile(fx.store, "mnist.early", NULL, &child), 0);
	cr_assert_eq(child.status, CHAIN_PROFILE_ACTIVE);
	cr_assert_eq(fl_hash_cmp(&child.model_hash, &zero), 0);
}
