/*
 * tests/chain/test_rounds.c — the round schedule and the round txs: joins,
 * a round opening with an elected coordinator list, update commits inside
 * the window only, aggregate commits by the right coordinator at the right
 * time, the exact reward split, the fallback coordinator after a deadline,
 * failed rounds (too few updates, every coordinator late) and eval reports.
 *
 * Profile "mnist": window 3 blocks, deadline 2, min 2 participants, reward
 * 1000 with a 20% coordinator share, weights capped at 1000 samples.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Validators 0..3, members 4..7, outsider 8. */
#define M(i)    (4 + (i))
#define OUT     8
#define REWARD  1000
#define BALANCE 1000000
#define BONDED  2000000 /* two stake units each: weight 2 * reputation */

static chain_fixture fx;

static uint64_t round_reward = REWARD;

static void open_with(uint64_t balance, uint64_t bonded)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = 4;
	o.n_outsiders = 1;
	o.balance = balance;
	o.bonded = bonded;
	o.tweak = fixture_short_round_profile;
	o.tweak_arg = &round_reward;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void open_rounds(void)
{
	open_with(BALANCE, BONDED);
}

static void close_rounds(void)
{
	fixture_close(&fx);
}

TestSuite(rounds, .init = open_rounds, .fini = close_rounds);

/* ------------------------------------------------------------- tx makers */

static void join_tx(chain_tx *tx, uint32_t who, uint64_t a, uint64_t b)
{
	chain_tx_round_join *j = &tx->u.round_join;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_ROUND_JOIN;
	strcpy(j->profile, "mnist");
	j->n_labels = 2;
	j->labels[0] = 1;
	j->labels[1] = 7;
	j->label_counts[0] = a;
	j->label_counts[1] = b;
	j->n_samples = a + b;
	j->n_summary = 1;
	j->summary[0] = 1234;
	cr_assert_eq(fixture_sign(&fx, tx, who), 0);
}

static void update_hash(fl_hash *h, uint32_t who, uint64_t round)
{
	char s[64];
	int n = snprintf(s, sizeof(s), "update %u round %llu", who, (unsigned long long)round);

	fl_sha256(h, s, (size_t)n);
}

static void update_tx(chain_tx *tx, uint32_t who, uint64_t round, const fl_hash *base,
		      uint64_t n_samples)
{
	chain_tx_update_commit *u = &tx->u.update_commit;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_UPDATE_COMMIT;
	strcpy(u->profile, "mnist");
	u->round = round;
	u->base_model = *base;
	update_hash(&u->update, who, round);
	u->n_samples = n_samples;
	u->train_loss_ppm = 500000;
	u->train_accuracy_ppm = 800000;
	cr_assert_eq(fixture_sign(&fx, tx, who), 0);
}

static int by_key(const void *a, const void *b)
{
	return fl_pubkey_cmp(&((const chain_aggregate_entry *)a)->participant,
			     &((const chain_aggregate_entry *)b)->participant);
}

/* An aggregate of the given participants with the given weights (in the
 * order given; sorted here), signed by `who`. */
static void aggregate_tx(chain_tx *tx, uint32_t who, uint64_t round, const fl_hash *base,
			 const uint32_t *parts, const uint64_t *weights, uint32_t n)
{
	chain_tx_aggregate_commit *a = &tx->u.aggregate_commit;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_AGGREGATE_COMMIT;
	strcpy(a->profile, "mnist");
	a->round = round;
	a->base_model = *base;
	fl_sha256(&a->new_model, "new model", 9);
	a->new_model.b[0] = (uint8_t)round;
	a->entries = fl_calloc(n, sizeof(*a->entries));
	cr_assert_not_null(a->entries);
	a->n_entries = n;
	for (uint32_t i = 0; i < n; i++) {
		a->entries[i].participant = fx.pk[parts[i]];
		update_hash(&a->entries[i].update, parts[i], round);
		a->entries[i].weight = weights[i];
	}
	qsort(a->entries, n, sizeof(*a->entries), by_key);
	a->eval_accuracy_ppm = 870000;
	a->eval_loss_ppm = 410000;
	cr_assert_eq(fixture_sign(&fx, tx, who), 0);
}

static int submit(chain_tx *tx)
{
	int rc = fixture_next_block(&fx, tx, 1);

	chain_tx_free(tx);
	return rc;
}

static int submit_many(chain_tx *txs, uint32_t n)
{
	int rc = fixture_next_block(&fx, txs, n);

	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
	return rc;
}

static chain_round round_of(uint64_t r)
{
	chain_round out;

	cr_assert_eq(chain_get_round(fx.store, "mnist", r, &out), 0);
	return out;
}

static chain_profile_state profile_state(void)
{
	chain_profile_state st;

	cr_assert_eq(chain_get_profile(fx.store, "mnist", NULL, &st), 0);
	return st;
}

static uint32_t coordinator(const chain_round *r, uint32_t j)
{
	int k;

	cr_assert_lt(j, r->n_coordinators);
	k = fixture_key_index(&fx, &r->coordinators[j]);
	cr_assert_geq(k, 0);
	return (uint32_t)k;
}

static uint32_t reputation(uint32_t who)
{
	chain_account a;

	cr_assert_eq(chain_get_account(fx.store, &fx.pk[who], &a), 0);
	return a.reputation;
}

/* Block 1: M0..M2 join with 1000 + i samples. Block 2: round 1 opens
 * (window 2..4). */
static void start_round(void)
{
	chain_tx txs[3];
	chain_round none;

	for (uint32_t i = 0; i < 3; i++)
		join_tx(&txs[i], M(i), 600 + i, 400);
	cr_assert_eq(submit_many(txs, 3), 0);
	cr_assert_eq(chain_get_round(fx.store, "mnist", 1, &none), FL_ENOTFOUND);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(round_of(1).status, CHAIN_ROUND_OPEN);
}

/* The updates of M(first..last) with n_samples[i] (zero = none) in one
 * block. */
static void commit_updates(const uint64_t *n_samples, uint32_t first, uint32_t last)
{
	chain_tx txs[3];
	fl_hash zero;
	uint32_t k = 0;

	memset(txs, 0, sizeof(txs));
	memset(&zero, 0, sizeof(zero));
	for (uint32_t i = first; i <= last; i++)
		if (n_samples[i] > 0)
			update_tx(&txs[k++], M(i), 1, &zero, n_samples[i]);
	cr_assert_eq(submit_many(txs, k), 0, "%s", fx.res.reason ? fx.res.reason : "-");
}

/* start_round, then updates of M0, M1 at h = 3 and of M2 at h = 4. */
static void run_to_aggregating(const uint64_t *n_samples)
{
	start_round();
	commit_updates(n_samples, 0, 1);
	commit_updates(n_samples, 2, 2);
	cr_assert_eq(fixture_height(&fx), 4);
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

/* ------------------------------------------ who may act and be paid */

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
	cr_assert_eq(fixture_vote(&fx, &tx->u.evidence.vote_a, culprit, CHAIN_VOTE_PRECOMMIT, 1, 0,
				  &ha),
		     0);
	cr_assert_eq(fixture_vote(&fx, &tx->u.evidence.vote_b, culprit, CHAIN_VOTE_PRECOMMIT, 1, 0,
				  &hb),
		     0);
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
