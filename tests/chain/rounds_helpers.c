/*
 * tests/chain/rounds_helpers.c — what the round tests share (test_rounds.c,
 * test_round_rights.c): the fixture, the makers of join, update and
 * aggregate txs, submitting them, and a round started or run to its
 * aggregation. No tests here.
 */
#include "tests/chain/rounds_helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

chain_fixture fx;

static uint64_t round_reward = REWARD;

void open_with(uint64_t balance, uint64_t bonded)
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

void open_rounds(void)
{
	open_with(BALANCE, BONDED);
}

void close_rounds(void)
{
	fixture_close(&fx);
}
/* ------------------------------------------------------------- tx makers */

void join_tx(chain_tx *tx, uint32_t who, uint64_t a, uint64_t b)
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

void update_tx(chain_tx *tx, uint32_t who, uint64_t round, const fl_hash *base, uint64_t n_samples)
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
void aggregate_tx(chain_tx *tx, uint32_t who, uint64_t round, const fl_hash *base,
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

int submit(chain_tx *tx)
{
	int rc = fixture_next_block(&fx, tx, 1);

	chain_tx_free(tx);
	return rc;
}

int submit_many(chain_tx *txs, uint32_t n)
{
	int rc = fixture_next_block(&fx, txs, n);

	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
	return rc;
}

chain_round round_of(uint64_t r)
{
	chain_round out;

	cr_assert_eq(chain_get_round(fx.store, "mnist", r, &out), 0);
	return out;
}

uint32_t coordinator(const chain_round *r, uint32_t j)
{
	int k;

	cr_assert_lt(j, r->n_coordinators);
	k = fixture_key_index(&fx, &r->coordinators[j]);
	cr_assert_geq(k, 0);
	return (uint32_t)k;
}

/* Block 1: M0..M2 join with 1000 + i samples. Block 2: round 1 opens
 * (window 2..4). */
void start_round(void)
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
void commit_updates(const uint64_t *n_samples, uint32_t first, uint32_t last)
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
void run_to_aggregating(const uint64_t *n_samples)
{
	start_round();
	commit_updates(n_samples, 0, 1);
	commit_updates(n_samples, 2, 2);
	cr_assert_eq(fixture_height(&fx), 4);
}
