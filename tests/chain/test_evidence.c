/*
 * tests/chain/test_evidence.c — evidence txs: a double sign jails and slashes
 * the stake of its validator at once (the burn shrinks the supply, the validator set and
 * total power shrink), is punished once per height/round, and the next
 * blocks still verify their commits; a bad aggregate is voted on by the
 * validators and jails the coordinator past 2/3 of the power. Jailed
 * accounts cannot propose, vote, join, update or aggregate.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Validators 0..3 (power 10), members 4..7, outsider 8. */
#define M(i)    (4 + (i))
#define OUT     8
#define BALANCE 1000000
#define BONDED  2000000                /* two stake units: every member is electable */
#define SLASH   (BONDED * 500 / 10000) /* default slash_bps = 500 of the stake */

static chain_fixture fx;

static uint64_t evidence_reward = 1000;

static void open_evidence(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = 4;
	o.n_outsiders = 1;
	o.balance = BALANCE;
	o.bonded = BONDED;
	o.tweak = fixture_short_round_profile;
	o.tweak_arg = &evidence_reward;
	cr_assert_eq(fixture_open(&fx, &o), 0);
	/* SLASH above assumes the default. */
	chain_info info;
	cr_assert_eq(chain_store_info(fx.store, &info), FL_OK);
	cr_assert_eq(info.params.slash_bps, 500);
}

static void close_evidence(void)
{
	fixture_close(&fx);
}

TestSuite(evidence, .init = open_evidence, .fini = close_evidence);

static chain_info info_now(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info;
}

static chain_account account(uint32_t who)
{
	chain_account a;

	cr_assert_eq(chain_get_account(fx.store, &fx.pk[who], &a), 0);
	return a;
}

static int submit(chain_tx *tx, uint32_t who)
{
	int rc;

	cr_assert_eq(fixture_sign(&fx, tx, who), 0);
	rc = fixture_next_block(&fx, tx, 1);
	chain_tx_free(tx);
	return rc;
}

/* Two precommits of `culprit` for different blocks at (height, round), in
 * the block-hash order the encoding wants. */
static void double_sign_tx(chain_tx *tx, uint32_t culprit, uint64_t height, uint32_t round,
			   const char *tag)
{
	chain_tx_evidence *e = &tx->u.evidence;
	char s[64];
	fl_hash a, b;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_EVIDENCE;
	e->type = CHAIN_EVIDENCE_DOUBLE_SIGN;
	snprintf(s, sizeof(s), "%s a", tag);
	fl_sha256(&a, s, strlen(s));
	snprintf(s, sizeof(s), "%s b", tag);
	fl_sha256(&b, s, strlen(s));
	if (fl_hash_cmp(&a, &b) > 0) {
		fl_hash t = a;
		a = b;
		b = t;
	}
	cr_assert_eq(
	    fixture_vote(&fx, &e->vote_a, culprit, CHAIN_VOTE_PRECOMMIT, height, round, &a), 0);
	cr_assert_eq(
	    fixture_vote(&fx, &e->vote_b, culprit, CHAIN_VOTE_PRECOMMIT, height, round, &b), 0);
}

/* Adds who's precommit to b's last commit (in validator order) and
 * recomputes the commit hash (the beacon does not depend on it). */
static void with_signature_of(chain_block *b, uint32_t who)
{
	chain_commit *c = &b->last_commit;
	chain_vote v;
	uint32_t at = 0;

	cr_assert_eq(
	    fixture_vote(&fx, &v, who, CHAIN_VOTE_PRECOMMIT, c->height, c->round, &c->block_hash),
	    0);
	while (at < c->n_sigs && fl_pubkey_cmp(&c->sigs[at].validator, &v.validator) < 0)
		at++;
	memmove(&c->sigs[at + 1], &c->sigs[at], (c->n_sigs - at) * sizeof(c->sigs[0]));
	c->sigs[at].validator = v.validator;
	c->sigs[at].sig = v.sig;
	c->n_sigs++;
	cr_assert_eq(chain_commit_hash(&b->header.last_commit_hash, c), 0);
}

static int count_validators(void)
{
	chain_genesis_validator *v = NULL;
	size_t n = 0;

	cr_assert_eq(chain_get_validators(fx.store, &v, &n), 0);
	fl_free(v);
	return (int)n;
}

Test(evidence, double_sign_jails_and_slashes)
{
	chain_info before = info_now(), after;
	chain_account a;
	chain_tx tx;
	chain_block b;

	double_sign_tx(&tx, 3, 7, 1, "one");
	cr_assert_eq(submit(&tx, M(0)), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	a = account(3);
	cr_assert_eq(a.jailed, 1);
	cr_assert_eq(a.power, 0);
	cr_assert_eq(a.balance, BALANCE, "the liquid balance is not what is at stake");
	cr_assert_eq(fixture_bond(&fx, 3).bonded, BONDED - SLASH);
	after = info_now();
	cr_assert_eq(after.total_power, 30);
	cr_assert_eq(after.supply, before.supply - SLASH);
	cr_assert_eq(after.bonded_total, before.bonded_total - SLASH);
	cr_assert_eq(fixture_sum_held(&fx), after.supply);
	cr_assert_eq(count_validators(), 3);
	/* The next block's commit is for the jailing block, signed by the set
	 * that was in force then: the jailed validator's signature counts. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	cr_assert_eq(b.last_commit.n_sigs, 4);
	cr_assert_eq(fixture_apply(&fx, &b), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	chain_block_free(&b);
	/* From then on it is out of the set: a commit carrying its signature
	 * is refused. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	cr_assert_eq(b.last_commit.n_sigs, 3);
	with_signature_of(&b, 3);
	cr_assert_eq(b.last_commit.n_sigs, 4);
	cr_assert_eq(fixture_apply(&fx, &b), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "last_commit");
	chain_block_free(&b);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	/* The same equivocation again (other blocks, same height/round). */
	double_sign_tx(&tx, 3, 7, 1, "two");
	cr_assert_eq(submit(&tx, M(1)), FL_EDUP);
	cr_assert_str_eq(fx.res.reason, "tx: evidence already punished");
	/* Another height: slashed again, jailed already. */
	double_sign_tx(&tx, 3, 8, 0, "three");
	cr_assert_eq(submit(&tx, M(1)), 0);
	cr_assert_eq(fixture_bond(&fx, 3).bonded, BONDED - SLASH - (BONDED - SLASH) * 500 / 10000);
	cr_assert_eq(info_now().total_power, 30);
	cr_assert_eq(fixture_sum_held(&fx), info_now().supply);
}

Test(evidence, double_sign_rules)
{
	chain_tx tx;

	/* A member that is not a validator has no votes to equivocate. */
	double_sign_tx(&tx, M(2), 7, 1, "m");
	cr_assert_eq(submit(&tx, M(0)), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: not a validator");
	/* A vote that does not verify. */
	double_sign_tx(&tx, 2, 7, 1, "s");
	tx.u.evidence.vote_b.sig.b[0] ^= 1;
	cr_assert_eq(submit(&tx, M(0)), FL_ESIG);
	cr_assert_str_eq(fx.res.reason, "tx: vote signature");
	cr_assert_eq(account(2).jailed, 0);
	cr_assert_eq(info_now().total_power, 40);
}

Test(evidence, jailed_validator_loses_its_powers)
{
	chain_tx tx;
	chain_block b;

	double_sign_tx(&tx, 3, 7, 1, "x");
	cr_assert_eq(submit(&tx, M(0)), 0);
	/* It may not propose. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.proposer = fx.pk[3];
	cr_assert_eq(fixture_apply(&fx, &b), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "proposer");
	chain_block_free(&b);
	/* Nor vote on members. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_MEMBER_ADD;
	tx.u.member.member = fx.pk[OUT];
	cr_assert_eq(submit(&tx, 3), FL_EPERM);
	/* With total power 30, 20 is exactly 2/3: V0 and V1 do not carry it. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_MEMBER_ADD;
	tx.u.member.member = fx.pk[OUT];
	cr_assert_eq(submit(&tx, 0), 0);
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_MEMBER_ADD;
	tx.u.member.member = fx.pk[OUT];
	cr_assert_eq(submit(&tx, 1), 0);
	cr_assert_eq(account(OUT).member, 0);
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_MEMBER_ADD;
	tx.u.member.member = fx.pk[OUT];
	cr_assert_eq(submit(&tx, 2), 0);
	cr_assert_eq(account(OUT).member, 1);
}

/* Jail keeps a validator's membership but not the right to propose
 * profiles or file eval reports. */
Test(evidence, jailed_account_cannot_propose_or_report)
{
	chain_tx tx;

	double_sign_tx(&tx, 3, 7, 1, "p");
	cr_assert_eq(submit(&tx, M(0)), 0);
	cr_assert_eq(account(3).jailed, 1);
	cr_assert_eq(account(3).member, 1);
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_PROPOSE;
	chain_sample_profile(&tx.u.profile_propose, "by.jailed");
	cr_assert_eq(submit(&tx, 3), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: jailed");
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_EVAL_REPORT;
	strcpy(tx.u.eval_report.profile, "mnist");
	fl_sha256(&tx.u.eval_report.model, "m", 1);
	tx.u.eval_report.n_samples = 10;
	cr_assert_eq(submit(&tx, 3), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: jailed");
	/* The same txs from a member in good standing pass. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_EVAL_REPORT;
	strcpy(tx.u.eval_report.profile, "mnist");
	fl_sha256(&tx.u.eval_report.model, "m", 1);
	tx.u.eval_report.n_samples = 10;
	cr_assert_eq(submit(&tx, 2), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_PROPOSE;
	chain_sample_profile(&tx.u.profile_propose, "by.member");
	cr_assert_eq(submit(&tx, M(1)), 0, "%s", fx.res.reason ? fx.res.reason : "-");
}

Test(evidence, votes_of_a_validator_jailed_later_stop_counting)
{
	chain_tx tx;

	/* V3 votes first, then is jailed; V0 + V1 = 20 of 30 is not enough. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_MEMBER_ADD;
	tx.u.member.member = fx.pk[OUT];
	cr_assert_eq(submit(&tx, 3), 0);
	double_sign_tx(&tx, 3, 2, 0, "later");
	cr_assert_eq(submit(&tx, M(0)), 0);
	for (uint32_t v = 0; v < 2; v++) {
		memset(&tx, 0, sizeof(tx));
		tx.kind = CHAIN_TX_MEMBER_ADD;
		tx.u.member.member = fx.pk[OUT];
		cr_assert_eq(submit(&tx, v), 0);
	}
	cr_assert_eq(account(OUT).member, 0);
}

/* ----------------------------------------------------------- bad aggregate */

static void join_tx(chain_tx *tx)
{
	chain_tx_round_join *j = &tx->u.round_join;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_ROUND_JOIN;
	strcpy(j->profile, "mnist");
	j->n_labels = 1;
	j->labels[0] = 3;
	j->label_counts[0] = 100;
	j->n_samples = 100;
}

static void update_hash(fl_hash *h, uint32_t who)
{
	char s[32];
	int n = snprintf(s, sizeof(s), "update %u", who);

	fl_sha256(h, s, (size_t)n);
}

static int entry_cmp(const void *a, const void *b)
{
	return fl_pubkey_cmp(&((const chain_aggregate_entry *)a)->participant,
			     &((const chain_aggregate_entry *)b)->participant);
}

/* The aggregate of round 1 over M0..M2 (weight 100 each), signed by `who`
 * with an explicit nonce (it may never be submitted). */
static void aggregate_tx(chain_tx *tx, uint32_t who, uint64_t nonce)
{
	chain_tx_aggregate_commit *a = &tx->u.aggregate_commit;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_AGGREGATE_COMMIT;
	strcpy(a->profile, "mnist");
	a->round = 1;
	fl_sha256(&a->new_model, "claimed", 7);
	a->entries = fl_calloc(3, sizeof(*a->entries));
	cr_assert_not_null(a->entries);
	a->n_entries = 3;
	for (uint32_t i = 0; i < 3; i++) {
		a->entries[i].participant = fx.pk[M(i)];
		update_hash(&a->entries[i].update, M(i));
		a->entries[i].weight = 100;
	}
	qsort(a->entries, 3, sizeof(*a->entries), entry_cmp);
	cr_assert_eq(fixture_sign_nonce(&fx, tx, who, nonce), 0);
}

/* Round 1 of "mnist" with updates from M0..M2, aggregating at h = 5. */
static chain_round aggregating_round(void)
{
	chain_tx txs[3];
	chain_round r;

	for (uint32_t i = 0; i < 3; i++) {
		join_tx(&txs[i]);
		cr_assert_eq(fixture_sign(&fx, &txs[i], M(i)), 0);
	}
	cr_assert_eq(fixture_next_block(&fx, txs, 3), 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0); /* opens at 2 */
	for (uint32_t i = 0; i < 3; i++) {
		memset(&txs[i], 0, sizeof(txs[i]));
		txs[i].kind = CHAIN_TX_UPDATE_COMMIT;
		strcpy(txs[i].u.update_commit.profile, "mnist");
		txs[i].u.update_commit.round = 1;
		update_hash(&txs[i].u.update_commit.update, M(i));
		txs[i].u.update_commit.n_samples = 100;
		cr_assert_eq(fixture_sign(&fx, &txs[i], M(i)), 0);
	}
	cr_assert_eq(fixture_next_block(&fx, txs, 3), 0);
	cr_assert_eq(fixture_advance_to(&fx, 5), 0);
	cr_assert_eq(chain_get_round(fx.store, "mnist", 1, &r), 0);
	cr_assert_eq(r.status, CHAIN_ROUND_AGGREGATING);
	return r;
}

/* Evidence that `inner` does not recompute, from validator `who`. */
static int attest(const chain_tx *inner, uint32_t who)
{
	chain_tx tx;
	fl_writer w;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_EVIDENCE;
	tx.u.evidence.type = CHAIN_EVIDENCE_BAD_AGGREGATE;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_tx_encode(&w, inner), 0);
	tx.u.evidence.aggregate_tx = w.buf;
	tx.u.evidence.aggregate_tx_len = (uint32_t)w.len;
	w.buf = NULL;
	fl_writer_free(&w);
	fl_sha256(&tx.u.evidence.recomputed_model, "honest", 6);
	return submit(&tx, who);
}

Test(evidence, bad_aggregate_is_a_vote_of_the_validators)
{
	chain_round r = aggregating_round();
	uint32_t c0 = (uint32_t)fixture_key_index(&fx, &r.coordinators[0]);
	uint32_t c1 = (uint32_t)fixture_key_index(&fx, &r.coordinators[1]);
	uint64_t supply = info_now().supply;
	chain_tx inner, forged, tx;

	aggregate_tx(&inner, c0, account(c0).nonce + 1);
	/* Only validators attest. */
	cr_assert_eq(attest(&inner, M(3)), FL_EPERM);
	cr_assert_eq(attest(&inner, 0), 0);
	cr_assert_eq(attest(&inner, 0), FL_EDUP);
	cr_assert_str_eq(fx.res.reason, "tx: duplicate attestation");
	cr_assert_eq(attest(&inner, 1), 0);
	cr_assert_eq(account(c0).jailed, 0); /* 20 of 40 */
	/* An aggregate by someone outside the round's coordinators, or whose
	 * signature does not verify, proves nothing. */
	aggregate_tx(&forged, M(3), 1);
	cr_assert_eq(attest(&forged, 2), FL_EINVAL);
	cr_assert_str_eq(fx.res.reason, "tx: not a coordinator of the round");
	chain_tx_free(&forged);
	aggregate_tx(&forged, c0, 1);
	forged.sig.b[7] ^= 1;
	cr_assert_eq(attest(&forged, 2), FL_ESIG);
	chain_tx_free(&forged);
	/* The third validator: 30 of 40 > 2/3. */
	cr_assert_eq(attest(&inner, 2), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	cr_assert_eq(account(c0).jailed, 1);
	cr_assert_eq(fixture_bond(&fx, c0).bonded, BONDED - SLASH);
	cr_assert_eq(info_now().supply, supply - SLASH);
	cr_assert_eq(info_now().total_power, 40); /* a member, not a validator */
	/* Decided once: later attestations are duplicates. */
	cr_assert_eq(attest(&inner, 3), FL_EDUP);
	/* The jailed coordinator cannot commit; the fallback can, in its turn. */
	aggregate_tx(&tx, c0, account(c0).nonce + 1);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: jailed");
	chain_tx_free(&tx);
	cr_assert_eq(fixture_advance_to(&fx, 6), 0);
	aggregate_tx(&tx, c1, account(c1).nonce + 1);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	chain_tx_free(&tx);
	cr_assert_eq(chain_get_round(fx.store, "mnist", 1, &r), 0);
	cr_assert_eq(r.status, CHAIN_ROUND_COMMITTED);
	/* Round 2 draws from the members that are not jailed. */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(chain_get_round(fx.store, "mnist", 2, &r), 0);
	cr_assert_eq(r.n_coordinators, 2);
	for (uint32_t j = 0; j < r.n_coordinators; j++)
		cr_assert_neq(fl_pubkey_cmp(&r.coordinators[j], &fx.pk[c0]), 0);
	/* Nor may it join again. */
	join_tx(&tx);
	cr_assert_eq(submit(&tx, c0), FL_EPERM);
	cr_assert_str_eq(fx.res.reason, "tx: jailed");
	chain_tx_free(&inner);
}
