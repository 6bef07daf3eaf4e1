/*
 * chain/tx_bodies.c — the body of each tx kind: its encoding, its decoding
 * and its field ranges (not state: balances, membership, rounds are checked
 * when a block is applied). Evidence bodies are in tx_evidence.c.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* ---------------------------------------------------------------- checks */

static int check_transfer(const chain_tx_transfer *t)
{
	if (t->amount == 0)
		return FL_EINVAL;
	/* Tokens sent to a key nobody can hold would be burnt silently. */
	return fl_pubkey_check(&t->to) != 0 ? FL_EINVAL : FL_OK;
}

static int check_member(const chain_tx_member *m)
{
	if (!chain_text_valid(m->name, 0, CHAIN_NAME_MAX))
		return FL_EINVAL;
	return fl_pubkey_check(&m->member) != 0 ? FL_EINVAL : FL_OK;
}

static int check_profile_vote(const chain_tx_profile_vote *v)
{
	if (!chain_id_valid(v->profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	if (v->choice != CHAIN_VOTE_NO && v->choice != CHAIN_VOTE_YES &&
	    v->choice != CHAIN_VOTE_RETIRE)
		return FL_EINVAL;
	return FL_OK;
}

static int check_round_join(const chain_tx_round_join *j)
{
	uint64_t sum = 0;
	int rc;

	if (!chain_id_valid(j->profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	if ((rc = chain_labels_check(j->labels, j->n_labels)) != 0)
		return rc;
	if ((rc = chain_summary_check(j->summary, j->n_summary)) != 0)
		return rc;
	/* The per-label counts are a breakdown of n_samples, nothing more. */
	for (uint32_t i = 0; i < j->n_labels; i++) {
		if (j->label_counts[i] > UINT64_MAX - sum)
			return FL_EINVAL;
		sum += j->label_counts[i];
	}
	if (j->n_samples == 0 || sum != j->n_samples)
		return FL_EINVAL;
	return FL_OK;
}

static int check_update_commit(const chain_tx_update_commit *u)
{
	if (!chain_id_valid(u->profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	/* round 0 is "no round yet" */
	if (u->round == 0 || u->n_samples == 0)
		return FL_EINVAL;
	if (u->train_accuracy_ppm > CHAIN_PPM)
		return FL_EINVAL;
	return FL_OK;
}

static int check_aggregate_commit(const chain_tx_aggregate_commit *a)
{
	if (!chain_id_valid(a->profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	if (a->round == 0 || a->eval_accuracy_ppm > CHAIN_PPM)
		return FL_EINVAL;
	if (a->n_entries < 1 || a->n_entries > CHAIN_MAX_PARTICIPANTS || a->entries == NULL)
		return FL_EINVAL;
	/* One order, one entry per participant: the rewards are computed from it. */
	for (uint32_t i = 1; i < a->n_entries; i++) {
		int c = fl_pubkey_cmp(&a->entries[i - 1].participant, &a->entries[i].participant);
		if (c == 0)
			return FL_EDUP;
		if (c > 0)
			return FL_ENONCANON;
	}
	return FL_OK;
}

static int check_eval_report(const chain_tx_eval_report *e)
{
	if (!chain_id_valid(e->profile, CHAIN_PROFILE_ID_MAX) || e->n_samples == 0)
		return FL_EINVAL;
	return FL_OK;
}

int chain_valset_update_check(const chain_tx_validator_update *u)
{
	if (fl_pubkey_check(&u->target) != 0 || u->power > CHAIN_MAX_VALIDATOR_POWER)
		return FL_EINVAL;
	switch (u->action) {
	case CHAIN_VALSET_ADD:
	case CHAIN_VALSET_SET_POWER:
		return u->power > 0 ? FL_OK : FL_EINVAL;
	case CHAIN_VALSET_REMOVE:
		/* One encoding per subject: a removal carries no power. */
		return u->power == 0 ? FL_OK : FL_EINVAL;
	case CHAIN_VALSET_UNJAIL:
		return FL_OK;
	default:
		return FL_EINVAL;
	}
}

int chain_tx_body_check(const chain_tx *tx)
{
	const char *field;

	assert(tx != NULL);
	switch (tx->kind) {
	case CHAIN_TX_TRANSFER:
		return check_transfer(&tx->u.transfer);
	case CHAIN_TX_MEMBER_ADD:
	case CHAIN_TX_MEMBER_REMOVE:
		return check_member(&tx->u.member);
	case CHAIN_TX_PROFILE_PROPOSE:
		return chain_profile_check(&tx->u.profile_propose, &field);
	case CHAIN_TX_PROFILE_VOTE:
		return check_profile_vote(&tx->u.profile_vote);
	case CHAIN_TX_ROUND_JOIN:
		return check_round_join(&tx->u.round_join);
	case CHAIN_TX_UPDATE_COMMIT:
		return check_update_commit(&tx->u.update_commit);
	case CHAIN_TX_AGGREGATE_COMMIT:
		return check_aggregate_commit(&tx->u.aggregate_commit);
	case CHAIN_TX_EVAL_REPORT:
		return check_eval_report(&tx->u.eval_report);
	case CHAIN_TX_EVIDENCE:
		return chain_evidence_check(&tx->u.evidence);
	case CHAIN_TX_BOND:
	case CHAIN_TX_UNBOND:
		/* Moving nothing would still cost a nonce and a queue slot. */
		return tx->u.stake.amount == 0 ? FL_EINVAL : FL_OK;
	case CHAIN_TX_VALIDATOR_UPDATE:
		return chain_valset_update_check(&tx->u.validator_update);
	default:
		return FL_EVERSION;
	}
}

/* -------------------------------------------------------------- encoders */

static void write_hash(fl_writer *w, const fl_hash *h)
{
	fl_write_fixed(w, h->b, FL_HASH_LEN);
}

static void write_round_join(fl_writer *w, const chain_tx_round_join *j)
{
	fl_write_str(w, j->profile, CHAIN_PROFILE_ID_MAX);
	fl_write_u64(w, j->n_samples);
	/* label_counts ride with their labels: one count, then pairs */
	fl_write_varint(w, j->n_labels);
	for (uint32_t i = 0; i < j->n_labels; i++) {
		fl_write_u16(w, j->labels[i]);
		fl_write_u64(w, j->label_counts[i]);
	}
	chain_write_summary(w, j->summary, j->n_summary);
}

static void write_aggregate_commit(fl_writer *w, const chain_tx_aggregate_commit *a)
{
	fl_write_str(w, a->profile, CHAIN_PROFILE_ID_MAX);
	fl_write_u64(w, a->round);
	write_hash(w, &a->base_model);
	write_hash(w, &a->new_model);
	fl_write_varint(w, a->n_entries);
	for (uint32_t i = 0; i < a->n_entries; i++) {
		fl_write_fixed(w, a->entries[i].participant.b, FL_PUBKEY_LEN);
		write_hash(w, &a->entries[i].update);
		fl_write_u64(w, a->entries[i].weight);
	}
	fl_write_u32(w, a->eval_accuracy_ppm);
	fl_write_u32(w, a->eval_loss_ppm);
}

int chain_tx_body_encode(fl_writer *w, const chain_tx *tx)
{
	assert(w != NULL && tx != NULL);
	switch (tx->kind) {
	case CHAIN_TX_TRANSFER:
		fl_write_fixed(w, tx->u.transfer.to.b, FL_PUBKEY_LEN);
		fl_write_u64(w, tx->u.transfer.amount);
		break;
	case CHAIN_TX_MEMBER_ADD:
	case CHAIN_TX_MEMBER_REMOVE:
		fl_write_fixed(w, tx->u.member.member.b, FL_PUBKEY_LEN);
		fl_write_str(w, tx->u.member.name, CHAIN_NAME_MAX);
		break;
	case CHAIN_TX_PROFILE_PROPOSE:
		return chain_profile_encode(w, &tx->u.profile_propose);
	case CHAIN_TX_PROFILE_VOTE:
		fl_write_str(w, tx->u.profile_vote.profile, CHAIN_PROFILE_ID_MAX);
		fl_write_u8(w, tx->u.profile_vote.choice);
		break;
	case CHAIN_TX_ROUND_JOIN:
		write_round_join(w, &tx->u.round_join);
		break;
	case CHAIN_TX_UPDATE_COMMIT: {
		const chain_tx_update_commit *u = &tx->u.update_commit;
		fl_write_str(w, u->profile, CHAIN_PROFILE_ID_MAX);
		fl_write_u64(w, u->round);
		write_hash(w, &u->base_model);
		write_hash(w, &u->update);
		fl_write_u64(w, u->n_samples);
		fl_write_u32(w, u->train_loss_ppm);
		fl_write_u32(w, u->train_accuracy_ppm);
		break;
	}
	case CHAIN_TX_AGGREGATE_COMMIT:
		write_aggregate_commit(w, &tx->u.aggregate_commit);
		break;
	case CHAIN_TX_EVAL_REPORT: {
		const chain_tx_eval_report *e = &tx->u.eval_report;
		fl_write_str(w, e->profile, CHAIN_PROFILE_ID_MAX);
		fl_write_u64(w, e->round);
		write_hash(w, &e->model);
		fl_write_u64(w, e->n_samples);
		fl_write_u64(w, e->metric_value);
		break;
	}
	case CHAIN_TX_EVIDENCE:
		return chain_evidence_encode(w, &tx->u.evidence);
	case CHAIN_TX_BOND:
	case CHAIN_TX_UNBOND:
		fl_write_u64(w, tx->u.stake.amount);
		break;
	case CHAIN_TX_VALIDATOR_UPDATE:
		return chain_valset_update_write(w, &tx->u.validator_update);
	default:
		return FL_EVERSION;
	}
	return w->err;
}

/* -------------------------------------------------------------- decoders */

static void read_hash(fl_reader *r, fl_hash *h)
{
	fl_read_fixed(r, h->b, FL_HASH_LEN);
}

static int read_round_join(fl_reader *r, chain_tx_round_join *j)
{
	size_t n = 0;
	int rc;

	fl_read_str(r, j->profile, CHAIN_PROFILE_ID_MAX);
	fl_read_u64(r, &j->n_samples);
	if ((rc = fl_read_count(r, &n, CHAIN_MAX_LABELS)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		fl_read_u16(r, &j->labels[i]);
		fl_read_u64(r, &j->label_counts[i]);
	}
	j->n_labels = (uint32_t)n;
	if ((rc = r->err) != 0)
		return rc;
	return chain_read_summary(r, j->summary, &j->n_summary);
}

static int read_aggregate_commit(fl_reader *r, chain_tx_aggregate_commit *a)
{
	size_t n = 0;
	int rc;

	fl_read_str(r, a->profile, CHAIN_PROFILE_ID_MAX);
	fl_read_u64(r, &a->round);
	read_hash(r, &a->base_model);
	read_hash(r, &a->new_model);
	if ((rc = fl_read_count(r, &n, CHAIN_MAX_PARTICIPANTS)) != 0)
		return rc;
	/* Each entry is 72 bytes: refuse a count the input cannot hold before
	 * allocating for it. */
	if (n > fl_reader_remaining(r) / (FL_PUBKEY_LEN + FL_HASH_LEN + 8))
		return FL_ETRUNC;
	if (n == 0)
		return FL_EINVAL;
	a->entries = fl_calloc(n, sizeof(*a->entries));
	if (a->entries == NULL)
		return FL_ENOMEM;
	a->n_entries = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		fl_read_fixed(r, a->entries[i].participant.b, FL_PUBKEY_LEN);
		read_hash(r, &a->entries[i].update);
		fl_read_u64(r, &a->entries[i].weight);
	}
	fl_read_u32(r, &a->eval_accuracy_ppm);
	return fl_read_u32(r, &a->eval_loss_ppm);
}

static int read_body(fl_reader *r, chain_tx *tx)
{
	switch (tx->kind) {
	case CHAIN_TX_TRANSFER:
		fl_read_fixed(r, tx->u.transfer.to.b, FL_PUBKEY_LEN);
		return fl_read_u64(r, &tx->u.transfer.amount);
	case CHAIN_TX_MEMBER_ADD:
	case CHAIN_TX_MEMBER_REMOVE:
		fl_read_fixed(r, tx->u.member.member.b, FL_PUBKEY_LEN);
		return fl_read_str(r, tx->u.member.name, CHAIN_NAME_MAX);
	case CHAIN_TX_PROFILE_PROPOSE:
		return chain_profile_decode(r, &tx->u.profile_propose);
	case CHAIN_TX_PROFILE_VOTE:
		fl_read_str(r, tx->u.profile_vote.profile, CHAIN_PROFILE_ID_MAX);
		return fl_read_u8(r, &tx->u.profile_vote.choice);
	case CHAIN_TX_ROUND_JOIN:
		return read_round_join(r, &tx->u.round_join);
	case CHAIN_TX_UPDATE_COMMIT: {
		chain_tx_update_commit *u = &tx->u.update_commit;
		fl_read_str(r, u->profile, CHAIN_PROFILE_ID_MAX);
		fl_read_u64(r, &u->round);
		read_hash(r, &u->base_model);
		read_hash(r, &u->update);
		fl_read_u64(r, &u->n_samples);
		fl_read_u32(r, &u->train_loss_ppm);
		return fl_read_u32(r, &u->train_accuracy_ppm);
	}
	case CHAIN_TX_AGGREGATE_COMMIT:
		return read_aggregate_commit(r, &tx->u.aggregate_commit);
	case CHAIN_TX_EVAL_REPORT: {
		chain_tx_eval_report *e = &tx->u.eval_report;
		fl_read_str(r, e->profile, CHAIN_PROFILE_ID_MAX);
		fl_read_u64(r, &e->round);
		read_hash(r, &e->model);
		fl_read_u64(r, &e->n_samples);
		return fl_read_u64(r, &e->metric_value);
	}
	case CHAIN_TX_EVIDENCE:
		return chain_evidence_decode(r, &tx->u.evidence);
	case CHAIN_TX_BOND:
	case CHAIN_TX_UNBOND:
		return fl_read_u64(r, &tx->u.stake.amount);
	case CHAIN_TX_VALIDATOR_UPDATE:
		return chain_valset_update_read(r, &tx->u.validator_update);
	default:
		return FL_EVERSION;
	}
}

int chain_tx_body_decode(fl_reader *r, chain_tx *tx)
{
	int rc;

	assert(r != NULL && tx != NULL);
	if ((rc = read_body(r, tx)) != 0)
		return chain_reader_fail(r, rc);
	return chain_reader_fail(r, chain_tx_body_check(tx));
}
