/*
 * chain/records.c — the records the state machine keeps in the store, their
 * one canonical encoding each, and the keys they live under. Everything is
 * in core's codec (little-endian integers, shortest varint counts with a
 * maximum, fl_write_str text), and every decoder rejects trailing bytes: a
 * stored record that does not decode is corruption, never a default.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

static void write_hash(fl_writer *w, const fl_hash *h)
{
	fl_write_fixed(w, h->b, FL_HASH_LEN);
}

static void read_hash(fl_reader *r, fl_hash *h)
{
	fl_read_fixed(r, h->b, FL_HASH_LEN);
}

static void write_key(fl_writer *w, const fl_pubkey *pk)
{
	fl_write_fixed(w, pk->b, FL_PUBKEY_LEN);
}

static void read_key(fl_reader *r, fl_pubkey *pk)
{
	fl_read_fixed(r, pk->b, FL_PUBKEY_LEN);
}

/* ------------------------------------------------------------- accounts */

int chain_account_record_encode(fl_writer *w, const chain_account *a)
{
	assert(w != NULL && a != NULL);
	if (a->reputation < 1 || a->reputation > CHAIN_REPUTATION_MAX || a->jailed > 1)
		return FL_EINVAL;
	fl_write_u64(w, a->balance);
	fl_write_u64(w, a->nonce);
	fl_write_bool(w, a->jailed);
	fl_write_u32(w, a->reputation);
	return fl_write_str(w, a->name, CHAIN_NAME_MAX);
}

int chain_account_record_decode(const uint8_t *p, size_t n, chain_account *a)
{
	fl_reader r;
	int jailed = 0;

	assert(a != NULL && (p != NULL || n == 0));
	memset(a, 0, sizeof(*a));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &a->balance);
	fl_read_u64(&r, &a->nonce);
	fl_read_bool(&r, &jailed);
	fl_read_u32(&r, &a->reputation);
	fl_read_str(&r, a->name, CHAIN_NAME_MAX);
	a->jailed = (uint8_t)jailed;
	if (r.err == 0 && (a->reputation < 1 || a->reputation > CHAIN_REPUTATION_MAX))
		chain_reader_fail(&r, FL_EINVAL);
	return fl_reader_finish(&r);
}

void chain_account_init(chain_account *a, const char *name)
{
	assert(a != NULL);
	memset(a, 0, sizeof(*a));
	a->reputation = CHAIN_REPUTATION_START;
	if (name != NULL) {
		strncpy(a->name, name, CHAIN_NAME_MAX);
		a->name[CHAIN_NAME_MAX] = '\0';
	}
}

/* -------------------------------------------------------------- members */

int chain_member_record_encode(fl_writer *w, const chain_member_record *m)
{
	assert(w != NULL && m != NULL);
	fl_write_u64(w, m->height);
	return fl_write_str(w, m->name, CHAIN_NAME_MAX);
}

int chain_member_record_decode(const uint8_t *p, size_t n, chain_member_record *m)
{
	fl_reader r;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &m->height);
	fl_read_str(&r, m->name, CHAIN_NAME_MAX);
	return fl_reader_finish(&r);
}

/* ------------------------------------------------------------- profiles */

static int profile_status_valid(uint8_t s)
{
	return s >= CHAIN_PROFILE_PROPOSED && s <= CHAIN_PROFILE_EXPIRED;
}

int chain_profile_record_encode(fl_writer *w, const chain_profile *def,
				const chain_profile_state *st)
{
	int rc;

	assert(w != NULL && def != NULL && st != NULL);
	if (!profile_status_valid(st->status))
		return FL_EINVAL;
	if ((rc = chain_profile_encode(w, def)) != 0)
		return rc;
	fl_write_u8(w, st->status);
	fl_write_u64(w, st->proposed_height);
	write_key(w, &st->proposer);
	fl_write_u64(w, st->activated_height);
	write_hash(w, &st->model_hash);
	fl_write_u64(w, st->round);
	return fl_write_u64(w, st->rounds_committed);
}

int chain_profile_record_decode(const uint8_t *p, size_t n, chain_profile *def,
				chain_profile_state *st)
{
	fl_reader r;

	assert(def != NULL && st != NULL && (p != NULL || n == 0));
	memset(st, 0, sizeof(*st));
	fl_reader_init(&r, p, n);
	if (chain_profile_decode(&r, def) != 0)
		return r.err != 0 ? r.err : FL_EINVAL;
	fl_read_u8(&r, &st->status);
	fl_read_u64(&r, &st->proposed_height);
	read_key(&r, &st->proposer);
	fl_read_u64(&r, &st->activated_height);
	read_hash(&r, &st->model_hash);
	fl_read_u64(&r, &st->round);
	fl_read_u64(&r, &st->rounds_committed);
	if (r.err == 0 && !profile_status_valid(st->status))
		chain_reader_fail(&r, FL_EINVAL);
	return fl_reader_finish(&r);
}

/* --------------------------------------------------------------- rounds */

int chain_round_record_encode(fl_writer *w, const chain_round *rd)
{
	assert(w != NULL && rd != NULL);
	if (rd->status < CHAIN_ROUND_OPEN || rd->status > CHAIN_ROUND_FAILED ||
	    rd->n_coordinators > CHAIN_MAX_COORDINATORS ||
	    !chain_id_valid(rd->profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	fl_write_str(w, rd->profile, CHAIN_PROFILE_ID_MAX);
	fl_write_u64(w, rd->round);
	fl_write_u8(w, rd->status);
	fl_write_u64(w, rd->open_height);
	fl_write_u64(w, rd->window_end);
	write_hash(w, &rd->beacon);
	write_hash(w, &rd->base_model);
	fl_write_varint(w, rd->n_coordinators);
	for (uint32_t i = 0; i < rd->n_coordinators; i++)
		write_key(w, &rd->coordinators[i]);
	fl_write_u32(w, rd->n_updates);
	fl_write_u64(w, rd->commit_height);
	write_key(w, &rd->committed_by);
	write_hash(w, &rd->new_model);
	fl_write_u32(w, rd->eval_accuracy_ppm);
	fl_write_u32(w, rd->eval_loss_ppm);
	return fl_write_u64(w, rd->reward_total);
}

int chain_round_record_decode(const uint8_t *p, size_t n, chain_round *rd)
{
	fl_reader r;
	size_t n_coord = 0;

	assert(rd != NULL && (p != NULL || n == 0));
	memset(rd, 0, sizeof(*rd));
	fl_reader_init(&r, p, n);
	fl_read_str(&r, rd->profile, CHAIN_PROFILE_ID_MAX);
	fl_read_u64(&r, &rd->round);
	fl_read_u8(&r, &rd->status);
	fl_read_u64(&r, &rd->open_height);
	fl_read_u64(&r, &rd->window_end);
	read_hash(&r, &rd->beacon);
	read_hash(&r, &rd->base_model);
	if (fl_read_count(&r, &n_coord, CHAIN_MAX_COORDINATORS) == 0) {
		rd->n_coordinators = (uint32_t)n_coord;
		for (size_t i = 0; i < n_coord; i++)
			read_key(&r, &rd->coordinators[i]);
	}
	fl_read_u32(&r, &rd->n_updates);
	fl_read_u64(&r, &rd->commit_height);
	read_key(&r, &rd->committed_by);
	read_hash(&r, &rd->new_model);
	fl_read_u32(&r, &rd->eval_accuracy_ppm);
	fl_read_u32(&r, &rd->eval_loss_ppm);
	fl_read_u64(&r, &rd->reward_total);
	if (r.err == 0 && (rd->status < CHAIN_ROUND_OPEN || rd->status > CHAIN_ROUND_FAILED ||
			   !chain_id_valid(rd->profile, CHAIN_PROFILE_ID_MAX)))
		chain_reader_fail(&r, FL_EINVAL);
	return fl_reader_finish(&r);
}

/* -------------------------------------------------------------- updates */

int chain_update_record_encode(fl_writer *w, const chain_update_record *u)
{
	assert(w != NULL && u != NULL);
	write_key(w, &u->participant);
	write_hash(w, &u->update);
	write_hash(w, &u->base_model);
	fl_write_u64(w, u->n_samples);
	fl_write_u64(w, u->height);
	fl_write_u32(w, u->train_loss_ppm);
	return fl_write_u32(w, u->train_accuracy_ppm);
}

int chain_update_record_decode(const uint8_t *p, size_t n, chain_update_record *u)
{
	fl_reader r;

	assert(u != NULL && (p != NULL || n == 0));
	memset(u, 0, sizeof(*u));
	fl_reader_init(&r, p, n);
	read_key(&r, &u->participant);
	read_hash(&r, &u->update);
	read_hash(&r, &u->base_model);
	fl_read_u64(&r, &u->n_samples);
	fl_read_u64(&r, &u->height);
	fl_read_u32(&r, &u->train_loss_ppm);
	fl_read_u32(&r, &u->train_accuracy_ppm);
	return fl_reader_finish(&r);
}

/* ---------------------------------------------------------------- joins */

int chain_join_record_encode(fl_writer *w, const chain_join_record *j)
{
	int rc;

	assert(w != NULL && j != NULL);
	if ((rc = chain_labels_check(j->labels, j->n_labels)) != 0 ||
	    (rc = chain_summary_check(j->summary, j->n_summary)) != 0)
		return rc;
	fl_write_u64(w, j->height);
	fl_write_u64(w, j->n_samples);
	chain_write_labels(w, j->labels, j->n_labels);
	for (uint32_t i = 0; i < j->n_labels; i++)
		fl_write_u64(w, j->label_counts[i]);
	chain_write_summary(w, j->summary, j->n_summary);
	return w->err;
}

int chain_join_record_decode(const uint8_t *p, size_t n, chain_join_record *j)
{
	fl_reader r;

	assert(j != NULL && (p != NULL || n == 0));
	memset(j, 0, sizeof(*j));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &j->height);
	fl_read_u64(&r, &j->n_samples);
	if (chain_read_labels(&r, j->labels, &j->n_labels) == 0) {
		for (uint32_t i = 0; i < j->n_labels; i++)
			fl_read_u64(&r, &j->label_counts[i]);
		if (r.err == 0 && chain_read_summary(&r, j->summary, &j->n_summary) != 0)
			return r.err;
	}
	return fl_reader_finish(&r);
}

/* ---------------------------------------------------------------- evals */

int chain_eval_record_encode(fl_writer *w, const chain_eval_record *e)
{
	assert(w != NULL && e != NULL);
	write_hash(w, &e->model);
	fl_write_u64(w, e->n_samples);
	fl_write_u64(w, e->metric_value);
	return fl_write_u64(w, e->height);
}

int chain_eval_record_decode(const uint8_t *p, size_t n, chain_eval_record *e)
{
	fl_reader r;

	assert(e != NULL && (p != NULL || n == 0));
	memset(e, 0, sizeof(*e));
	fl_reader_init(&r, p, n);
	read_hash(&r, &e->model);
	fl_read_u64(&r, &e->n_samples);
	fl_read_u64(&r, &e->metric_value);
	fl_read_u64(&r, &e->height);
	return fl_reader_finish(&r);
}

/* -------------------------------------------------------------- rewards */

int chain_reward_record_encode(fl_writer *w, const chain_reward *rw)
{
	assert(w != NULL && rw != NULL);
	write_key(w, &rw->account);
	fl_write_u64(w, rw->amount);
	return fl_write_u64(w, rw->weight);
}

int chain_reward_record_decode(const uint8_t *p, size_t n, chain_reward *rw)
{
	fl_reader r;

	assert(rw != NULL && (p != NULL || n == 0));
	memset(rw, 0, sizeof(*rw));
	fl_reader_init(&r, p, n);
	read_key(&r, &rw->account);
	fl_read_u64(&r, &rw->amount);
	fl_read_u64(&r, &rw->weight);
	return fl_reader_finish(&r);
}

/* ------------------------------------------------------------ proposals */

int chain_proposal_record_encode(fl_writer *w, const chain_proposal_record *pr)
{
	assert(w != NULL && pr != NULL);
	fl_write_u64(w, pr->deposit);
	return fl_write_u64(w, pr->expires);
}

int chain_proposal_record_decode(const uint8_t *p, size_t n, chain_proposal_record *pr)
{
	fl_reader r;

	assert(pr != NULL && (p != NULL || n == 0));
	memset(pr, 0, sizeof(*pr));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &pr->deposit);
	fl_read_u64(&r, &pr->expires);
	return fl_reader_finish(&r);
}

/* -------------------------------------------------------- validator sets */

/* ---------------------------------------------------------------- bonds */

/* What every stored bond satisfies (chain.h, chain_bond): the decoder runs
 * it after reading, the encoder before writing. */
static int bond_check(const chain_bond *b)
{
	uint64_t sum = b->bonded;

	if (b->n_unbonding > CHAIN_MAX_UNBONDING)
		return FL_EINVAL;
	for (uint32_t i = 0; i < b->n_unbonding; i++) {
		const chain_unbonding *u = &b->unbonding[i];
		if (u->amount == 0 || u->amount > UINT64_MAX - sum)
			return FL_EINVAL;
		sum += u->amount;
		if (i > 0 && u->release_height <= b->unbonding[i - 1].release_height)
			return FL_ENONCANON;
	}
	/* Nothing at stake is no record at all: one encoding of "none". */
	return sum == 0 ? FL_EINVAL : FL_OK;
}

int chain_bond_record_encode(fl_writer *w, const chain_bond *b)
{
	int rc;

	assert(w != NULL && b != NULL);
	if ((rc = bond_check(b)) != FL_OK)
		return rc;
	fl_write_u64(w, b->bonded);
	fl_write_varint(w, b->n_unbonding);
	for (uint32_t i = 0; i < b->n_unbonding; i++) {
		fl_write_u64(w, b->unbonding[i].release_height);
		fl_write_u64(w, b->unbonding[i].amount);
	}
	return w->err;
}

int chain_bond_record_decode(const uint8_t *p, size_t n, chain_bond *b)
{
	fl_reader r;
	size_t count = 0;

	assert(b != NULL && (p != NULL || n == 0));
	memset(b, 0, sizeof(*b));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &b->bonded);
	if (fl_read_count(&r, &count, CHAIN_MAX_UNBONDING) != 0)
		return r.err;
	for (size_t i = 0; i < count; i++) {
		fl_read_u64(&r, &b->unbonding[i].release_height);
		fl_read_u64(&r, &b->unbonding[i].amount);
	}
	b->n_unbonding = (uint32_t)count;
	if (r.err == 0)
		chain_reader_fail(&r, bond_check(b));
	return fl_reader_finish(&r);
}

int chain_validator_set_encode(fl_writer *w, const chain_validator_set *v)
{
	assert(w != NULL && v != NULL);
	if (v->n > CHAIN_MAX_VALIDATORS)
		return FL_EINVAL;
	fl_write_varint(w, v->n);
	for (uint32_t i = 0; i < v->n; i++) {
		write_key(w, &v->pubkey[i]);
		fl_write_u64(w, v->power[i]);
	}
	return w->err;
}

/* The set must be what chain_state_get_validators builds: sorted, no
 * duplicate, every power > 0, a total that fits. */
int chain_validator_set_decode(const uint8_t *p, size_t n, chain_validator_set *v)
{
	fl_reader r;
	size_t count = 0;

	assert(v != NULL && (p != NULL || n == 0));
	memset(v, 0, sizeof(*v));
	fl_reader_init(&r, p, n);
	if (fl_read_count(&r, &count, CHAIN_MAX_VALIDATORS) != 0)
		return r.err;
	for (size_t i = 0; i < count && r.err == 0; i++) {
		read_key(&r, &v->pubkey[i]);
		fl_read_u64(&r, &v->power[i]);
		if (r.err != 0)
			break;
		if (v->power[i] == 0 || v->power[i] > UINT64_MAX - v->total ||
		    (i > 0 && fl_pubkey_cmp(&v->pubkey[i - 1], &v->pubkey[i]) >= 0))
			chain_reader_fail(&r, FL_EINVAL);
		v->total += v->power[i];
	}
	v->n = (uint32_t)count;
	return fl_reader_finish(&r);
}

/* ----------------------------------------------------- validator updates */

int chain_valset_update_write(fl_writer *w, const chain_tx_validator_update *u)
{
	assert(w != NULL && u != NULL);
	write_key(w, &u->target);
	fl_write_u8(w, u->action);
	return fl_write_u64(w, u->power);
}

int chain_valset_update_read(fl_reader *r, chain_tx_validator_update *u)
{
	assert(r != NULL && u != NULL);
	read_key(r, &u->target);
	fl_read_u8(r, &u->action);
	return fl_read_u64(r, &u->power);
}

int chain_valset_update_record_decode(const uint8_t *p, size_t n, chain_tx_validator_update *u)
{
	fl_reader r;

	assert(u != NULL && (p != NULL || n == 0));
	memset(u, 0, sizeof(*u));
	fl_reader_init(&r, p, n);
	if (chain_valset_update_read(&r, u) == FL_OK)
		chain_reader_fail(&r, chain_valset_update_check(u));
	return fl_reader_finish(&r);
}

/* ----------------------------------------------------------------- keys */

void chain_put_be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

uint32_t chain_get_be32(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 |
	       (uint32_t)in[3];
}

/* The NUL after the id ends it, so no id's keys are a prefix of another
 * id's ("a" 0x00 … never starts "ab" 0x00 …). */
size_t chain_key_profile_prefix(uint8_t *out, const char *id)
{
	size_t n;

	assert(out != NULL && id != NULL);
	n = strnlen(id, CHAIN_PROFILE_ID_MAX + 1);
	assert(n >= 1 && n <= CHAIN_PROFILE_ID_MAX);
	memcpy(out, id, n);
	out[n] = 0;
	return n + 1;
}

size_t chain_key_round(uint8_t *out, const char *id, uint64_t round)
{
	size_t n = chain_key_profile_prefix(out, id);

	chain_put_be64(out + n, round);
	return n + 8;
}

size_t chain_key_round_member(uint8_t *out, const char *id, uint64_t round, const fl_pubkey *pk)
{
	size_t n = chain_key_round(out, id, round);

	memcpy(out + n, pk->b, FL_PUBKEY_LEN);
	return n + FL_PUBKEY_LEN;
}
