/*
 * chain/valset_update.c — governance of the validator set itself, so that a
 * set that lost more than a third of its power (jailed, gone) can be mended
 * instead of halting for good:
 *
 *   the tx is a validator's YES vote for one subject (target, action,
 *   power). When the voters' current power passes 2/3 of the total, the
 *   update is scheduled in CHAIN_DB_VALSET_PENDING under the height two
 *   after the deciding block (H+2, CometBFT's rule: every node learns the
 *   set of H+2 a whole block ahead, as soon as H commits) and the
 *   subject's votes are deleted;
 *
 *   at the end of block H+1 the updates scheduled for H+2 are applied in
 *   the order they were scheduled, each only if it still applies to the set
 *   as it then is (a removal that would empty the set, an add to a full set,
 *   an unjail of an account no longer jailed lapse), so the state H+1 leaves
 *   is the set that proposes and signs H+2 and the history (valset.c) gets
 *   its entry from H+2;
 *
 *   a voter has at most CHAIN_VALSET_MAX_PENDING open votes: a further vote
 *   replaces its oldest, so a vote nobody joins never blocks its voter and
 *   the votes a validator can leave in the store stay bounded.
 *
 * Powers are at most CHAIN_MAX_VALIDATOR_POWER (genesis too), so no total of
 * CHAIN_MAX_VALIDATORS powers can overflow.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

#define SUBJECT_LEN     (FL_PUBKEY_LEN + 1 + 8)
#define VOTE_KEY_LEN    (1 + SUBJECT_LEN + FL_PUBKEY_LEN)
#define PENDING_KEY_LEN (8 + 4)

static void put_subject(uint8_t out[SUBJECT_LEN], const chain_tx_validator_update *u)
{
	memcpy(out, u->target.b, FL_PUBKEY_LEN);
	out[FL_PUBKEY_LEN] = u->action;
	chain_put_be64(out + FL_PUBKEY_LEN + 1, u->power);
}

/* kind, subject, voter: the tally's key. */
static void subject_key(uint8_t key[VOTE_KEY_LEN], const uint8_t subject[SUBJECT_LEN],
			const fl_pubkey *voter)
{
	key[0] = CHAIN_VOTES_VALSET;
	memcpy(key + 1, subject, SUBJECT_LEN);
	memcpy(key + 1 + SUBJECT_LEN, voter->b, FL_PUBKEY_LEN);
}

/* kind, voter, subject: the voter's own list. */
static void voter_key(uint8_t key[VOTE_KEY_LEN], const fl_pubkey *voter,
		      const uint8_t subject[SUBJECT_LEN])
{
	key[0] = CHAIN_VOTES_VALSET_BY_VOTER;
	memcpy(key + 1, voter->b, FL_PUBKEY_LEN);
	memcpy(key + 1 + FL_PUBKEY_LEN, subject, SUBJECT_LEN);
}

/* ------------------------------------------------------- applicability */

/*
 * Does u change the set as it stands in t? FL_OK, FL_ESTATE or FL_ETOOBIG
 * (the update does not apply: refused as a vote, lapsed when scheduled)
 * with *reason, or a store error.
 */
static int update_applies(chain_txn *t, const chain_tx_validator_update *u, const char **reason)
{
	chain_validator_set set;
	chain_account a;
	int known, rc;

	*reason = "tx: store";
	if ((rc = chain_state_get_validators(t, &set)) != FL_OK)
		return rc;
	rc = chain_state_get_account(t, &u->target, &a);
	if (rc != FL_OK && rc != FL_ENOTFOUND)
		return rc;
	known = rc == FL_OK;
	if (!known)
		memset(&a, 0, sizeof(a));
	switch (u->action) {
	case CHAIN_VALSET_ADD:
		*reason = a.power > 0 ? "tx: already a validator"
			  : a.jailed  ? "tx: target is jailed (unjail it)"
				      : NULL;
		if (*reason != NULL)
			return FL_ESTATE;
		break;
	case CHAIN_VALSET_REMOVE:
	case CHAIN_VALSET_SET_POWER:
		if (a.power == 0) {
			*reason = "tx: not a validator";
			return FL_ESTATE;
		}
		/* Every power is > 0: a set whose total is this one power is
		 * this validator alone. */
		if (u->action == CHAIN_VALSET_REMOVE && a.power == set.total) {
			*reason = "tx: would empty the validator set";
			return FL_ESTATE;
		}
		if (u->action == CHAIN_VALSET_SET_POWER && a.power == u->power) {
			*reason = "tx: power unchanged";
			return FL_ESTATE;
		}
		break;
	case CHAIN_VALSET_UNJAIL:
		if (!known || !a.jailed) {
			*reason = "tx: not jailed";
			return FL_ESTATE;
		}
		break;
	default:
		*reason = "tx: action";
		return FL_EINVAL;
	}
	if (a.power == 0 && u->power > 0 && set.n == CHAIN_MAX_VALIDATORS) {
		*reason = "tx: validator set full";
		return FL_ETOOBIG;
	}
	*reason = NULL;
	return FL_OK;
}

/* The account (created if absent), its jail, its membership (a validator
 * is a member too) and its power. */
static int update_apply(chain_exec *x, const chain_tx_validator_update *u)
{
	uint64_t power = u->action == CHAIN_VALSET_REMOVE ? 0 : u->power;
	chain_member_record m;
	chain_account a;
	int rc = chain_state_get_account(x->t, &u->target, &a);

	if (rc == FL_ENOTFOUND)
		chain_account_init(&a, NULL);
	else if (rc != FL_OK)
		return rc;
	if (u->action == CHAIN_VALSET_UNJAIL)
		a.jailed = 0;
	if ((rc = chain_state_put_account(x->t, &u->target, &a)) != FL_OK)
		return rc;
	if (power > 0) {
		rc = chain_state_get_member(x->t, &u->target, &m);
		if (rc == FL_ENOTFOUND) {
			memset(&m, 0, sizeof(m));
			m.height = x->height;
			memcpy(m.name, a.name, sizeof(m.name));
			rc = chain_state_put_member(x->t, &u->target, &m);
		}
		if (rc != FL_OK)
			return rc;
	}
	return chain_state_set_power(x->t, &u->target, power);
}

/* ---------------------------------------------------------------- votes */

/* The voter's open votes: whether `subject` is among them, how many, and
 * the oldest (lowest height, then lowest subject: key order). */
typedef struct {
	const uint8_t *subject;
	uint32_t n;
	int dup;
	uint64_t oldest_height;
	uint8_t oldest[SUBJECT_LEN];
} own_votes;

static int scan_own(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	own_votes *o = ctx;
	const uint8_t *subject = key + 1 + FL_PUBKEY_LEN;
	uint64_t height;
	fl_reader r;

	if (klen != VOTE_KEY_LEN)
		return FL_ECORRUPT;
	fl_reader_init(&r, val, vlen);
	fl_read_u64(&r, &height);
	if (fl_reader_finish(&r) != FL_OK)
		return FL_ECORRUPT;
	if (memcmp(subject, o->subject, SUBJECT_LEN) == 0)
		o->dup = 1;
	if (o->n == 0 || height < o->oldest_height) {
		o->oldest_height = height;
		memcpy(o->oldest, subject, SUBJECT_LEN);
	}
	o->n++;
	return 0;
}

static int vote_del(chain_txn *t, const fl_pubkey *voter, const uint8_t subject[SUBJECT_LEN])
{
	uint8_t key[VOTE_KEY_LEN];
	int rc;

	subject_key(key, subject, voter);
	if ((rc = chain_txn_del(t, CHAIN_DB_VOTES, key, sizeof(key))) != FL_OK)
		return rc;
	voter_key(key, voter, subject);
	return chain_txn_del(t, CHAIN_DB_VOTES, key, sizeof(key));
}

static int vote_put(chain_exec *x, const fl_pubkey *voter, const uint8_t subject[SUBJECT_LEN])
{
	uint8_t key[VOTE_KEY_LEN], height[8];
	int rc;

	subject_key(key, subject, voter);
	if ((rc = chain_txn_put(x->t, CHAIN_DB_VOTES, key, sizeof(key), "\x01", 1)) != FL_OK)
		return rc;
	voter_key(key, voter, subject);
	/* the canonical codec's u64: little-endian */
	for (int i = 0; i < 8; i++)
		height[i] = (uint8_t)(x->height >> (8 * i));
	return chain_txn_put(x->t, CHAIN_DB_VOTES, key, sizeof(key), height, sizeof(height));
}

typedef struct {
	uint32_t n;
	fl_pubkey voters[CHAIN_MAX_VALIDATORS];
} voter_list;

static int collect_voter(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
			 size_t vlen)
{
	voter_list *l = ctx;

	(void)val;
	(void)vlen;
	if (klen != VOTE_KEY_LEN)
		return FL_ECORRUPT;
	/* A subject has at most one vote per account that was a validator
	 * when it voted; more than the set can hold is not what we wrote. */
	if (l->n == CHAIN_MAX_VALIDATORS)
		return 1;
	memcpy(l->voters[l->n++].b, key + 1 + SUBJECT_LEN, FL_PUBKEY_LEN);
	return 0;
}

/* A decided subject's votes go, both keys of each. Voters that are no
 * longer validators may hold votes too; whoever is listed is cleared, and
 * a list cut at CHAIN_MAX_VALIDATORS is scanned again. */
static int clear_subject(chain_txn *t, const uint8_t subject[SUBJECT_LEN])
{
	uint8_t prefix[1 + SUBJECT_LEN];
	voter_list l;
	int rc;

	prefix[0] = CHAIN_VOTES_VALSET;
	memcpy(prefix + 1, subject, SUBJECT_LEN);
	do {
		l.n = 0;
		rc = chain_txn_scan(t, CHAIN_DB_VOTES, prefix, sizeof(prefix), collect_voter, &l);
		for (uint32_t i = 0; rc == FL_OK && i < l.n; i++)
			rc = vote_del(t, &l.voters[i], subject);
	} while (rc == FL_OK && l.n == CHAIN_MAX_VALIDATORS);
	return rc;
}

/* Under u64be(in force at) the next u32be sequence number. */
static int schedule(chain_exec *x, const chain_tx_validator_update *u)
{
	uint8_t key[PENDING_KEY_LEN];
	const uint8_t *k, *v;
	size_t klen, vlen;
	uint32_t seq = 0;
	fl_writer w;
	int rc;

	if (x->height > UINT64_MAX - 2)
		return FL_EOVERFLOW;
	/* The last key at that height is the greatest key <= (height, max). */
	chain_put_be64(key, x->height + 2);
	chain_put_be32(key + 8, UINT32_MAX);
	rc =
	    chain_txn_get_le(x->t, CHAIN_DB_VALSET_PENDING, key, sizeof(key), &k, &klen, &v, &vlen);
	if (rc == FL_OK && klen == sizeof(key) && memcmp(k, key, 8) == 0) {
		seq = chain_get_be32(k + 8);
		if (seq == UINT32_MAX)
			return FL_ECORRUPT;
		seq++;
	} else if (rc != FL_OK && rc != FL_ENOTFOUND) {
		return rc;
	}
	chain_put_be32(key + 8, seq);
	fl_writer_init(&w, 64);
	if ((rc = chain_valset_update_write(&w, u)) == FL_OK)
		rc = chain_state_put_encoded(x->t, CHAIN_DB_VALSET_PENDING, key, sizeof(key), &w);
	fl_writer_free(&w);
	return rc;
}

int chain_rule_validator_update(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_tx_validator_update *u = &tx->u.validator_update;
	uint8_t subject[SUBJECT_LEN], prefix[1 + FL_PUBKEY_LEN], key[VOTE_KEY_LEN];
	uint64_t power = 0, yes = 0, total = 0;
	own_votes own;
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	*reason = "tx: store";
	if ((rc = chain_state_get_power(x->t, &tx->sender, &power)) != FL_OK)
		return rc;
	if (power == 0) {
		*reason = "tx: not a validator";
		return FL_EPERM;
	}
	if ((rc = update_applies(x->t, u, reason)) != FL_OK)
		return rc;
	put_subject(subject, u);
	memset(&own, 0, sizeof(own));
	own.subject = subject;
	prefix[0] = CHAIN_VOTES_VALSET_BY_VOTER;
	memcpy(prefix + 1, tx->sender.b, FL_PUBKEY_LEN);
	*reason = "tx: store";
	if ((rc = chain_txn_scan(x->t, CHAIN_DB_VOTES, prefix, sizeof(prefix), scan_own, &own)))
		return rc;
	if (own.dup) {
		*reason = "tx: duplicate vote";
		return FL_EDUP;
	}
	if (own.n >= CHAIN_VALSET_MAX_PENDING &&
	    (rc = vote_del(x->t, &tx->sender, own.oldest)) != FL_OK)
		return rc;
	subject_key(key, subject, &tx->sender);
	if ((rc = vote_put(x, &tx->sender, subject)) != FL_OK ||
	    (rc = chain_votes_tally(x->t, key, 1 + SUBJECT_LEN, -1, &yes)) != FL_OK ||
	    (rc = chain_state_get_u64(x->t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER,
				      &total)) != FL_OK)
		return rc;
	if (!chain_over_two_thirds(yes, total))
		return FL_OK;
	if ((rc = schedule(x, u)) != FL_OK)
		return rc;
	return clear_subject(x->t, subject);
}

/* ------------------------------------------------------------ end block */

typedef struct {
	uint32_t n, cap;
	struct scheduled {
		uint8_t key[PENDING_KEY_LEN];
		chain_tx_validator_update u;
	} * items;
} update_list;

static int collect_update(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
			  size_t vlen)
{
	update_list *l = ctx;

	if (klen != PENDING_KEY_LEN)
		return FL_ECORRUPT;
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 8;
		void *p = fl_realloc(l->items, (size_t)cap * sizeof(*l->items));

		if (p == NULL)
			return FL_ENOMEM;
		l->items = p;
		l->cap = cap;
	}
	memcpy(l->items[l->n].key, key, PENDING_KEY_LEN);
	if (chain_valset_update_record_decode(val, vlen, &l->items[l->n].u) != FL_OK)
		return FL_ECORRUPT;
	l->n++;
	return 0;
}

int chain_valset_end_block(chain_exec *x)
{
	uint8_t prefix[8];
	update_list l;
	const char *why;
	int rc;

	assert(x != NULL);
	if (x->height == UINT64_MAX)
		return FL_OK;
	memset(&l, 0, sizeof(l));
	chain_put_be64(prefix, x->height + 1);
	/* The scan may not write to the database it walks: collect, then act. */
	rc = chain_txn_scan(x->t, CHAIN_DB_VALSET_PENDING, prefix, sizeof(prefix), collect_update,
			    &l);
	/* In key order: the order the updates were scheduled. */
	for (uint32_t i = 0; rc == FL_OK && i < l.n; i++) {
		rc = update_applies(x->t, &l.items[i].u, &why);
		if (rc == FL_OK)
			rc = update_apply(x, &l.items[i].u);
		else if (rc == FL_ESTATE || rc == FL_ETOOBIG)
			rc = FL_OK; /* lapsed: the set moved on since the vote */
		if (rc == FL_OK)
			rc = chain_txn_del(x->t, CHAIN_DB_VALSET_PENDING, l.items[i].key,
					   PENDING_KEY_LEN);
	}
	fl_free(l.items);
	return rc;
}
