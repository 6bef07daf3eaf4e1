/*
 * chain/governance.c — votes of the validators: the pending-vote records in
 * CHAIN_DB_VOTES, their tally by current voting power, and the member_add /
 * member_remove rule. A subject passes when its voters hold more than 2/3
 * of the total power (exactly 2/3 does not pass); its pending votes are
 * then deleted so that a later vote on the same subject starts afresh.
 * Tallies use each voter's power at the time of the tally: a validator
 * jailed since it voted no longer counts.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

typedef struct {
	chain_txn *t;
	size_t plen;
	int choice;
	uint64_t power;
} tally_ctx;

static int tally_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	tally_ctx *c = ctx;
	fl_pubkey voter;
	uint64_t power = 0;
	int rc;

	/* A subject's keys are prefix || voter: anything else under the prefix
	 * belongs to a longer subject and is not this tally's. */
	if (klen != c->plen + FL_PUBKEY_LEN)
		return 0;
	if (vlen != 1)
		return FL_ECORRUPT;
	if (c->choice >= 0 && val[0] != (uint8_t)c->choice)
		return 0;
	memcpy(voter.b, key + c->plen, FL_PUBKEY_LEN);
	if ((rc = chain_state_get_power(c->t, &voter, &power)) != FL_OK)
		return rc;
	if (power > UINT64_MAX - c->power)
		return FL_ECORRUPT;
	c->power += power;
	return 0;
}

int chain_votes_tally(chain_txn *t, const uint8_t *prefix, size_t plen, int choice, uint64_t *power)
{
	tally_ctx c = {t, plen, choice, 0};
	int rc;

	assert(t != NULL && prefix != NULL && power != NULL);
	*power = 0;
	rc = chain_txn_scan(t, CHAIN_DB_VOTES, prefix, plen, tally_one, &c);
	if (rc == FL_OK)
		*power = c.power;
	return rc;
}

typedef struct {
	size_t plen;
	size_t n, cap;
	uint8_t (*keys)[CHAIN_KEY_MAX];
	size_t *lens;
} clear_ctx;

static int collect_key(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	clear_ctx *c = ctx;

	(void)val;
	(void)vlen;
	if (klen != c->plen + FL_PUBKEY_LEN)
		return 0;
	if (klen > CHAIN_KEY_MAX)
		return FL_ECORRUPT;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		void *k = fl_realloc(c->keys, cap * sizeof(*c->keys));
		if (k == NULL)
			return FL_ENOMEM;
		c->keys = k;
		k = fl_realloc(c->lens, cap * sizeof(*c->lens));
		if (k == NULL)
			return FL_ENOMEM;
		c->lens = k;
		c->cap = cap;
	}
	memcpy(c->keys[c->n], key, klen);
	c->lens[c->n++] = klen;
	return 0;
}

/* The scan may not write to the database it walks: collect, then delete. */
int chain_votes_clear(chain_txn *t, const uint8_t *prefix, size_t plen)
{
	clear_ctx c;
	int rc;

	assert(t != NULL && prefix != NULL);
	memset(&c, 0, sizeof(c));
	c.plen = plen;
	rc = chain_txn_scan(t, CHAIN_DB_VOTES, prefix, plen, collect_key, &c);
	for (size_t i = 0; rc == FL_OK && i < c.n; i++)
		rc = chain_txn_del(t, CHAIN_DB_VOTES, c.keys[i], c.lens[i]);
	fl_free(c.keys);
	fl_free(c.lens);
	return rc;
}

/* ------------------------------------------------------------- members */

static int admit(chain_exec *x, const chain_tx_member *m)
{
	chain_member_record rec;
	chain_account a;
	int rc = chain_state_get_account(x->t, &m->member, &a);

	if (rc == FL_ENOTFOUND) {
		chain_account_init(&a, NULL);
		rc = FL_OK;
	}
	if (rc != FL_OK)
		return rc;
	memcpy(a.name, m->name, sizeof(a.name));
	if ((rc = chain_state_put_account(x->t, &m->member, &a)) != FL_OK)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.height = x->height;
	memcpy(rec.name, m->name, sizeof(rec.name));
	return chain_state_put_member(x->t, &m->member, &rec);
}

int chain_rule_member(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_tx_member *m = &tx->u.member;
	int add;
	uint8_t key[1 + 2 * FL_PUBKEY_LEN];
	const size_t plen = 1 + FL_PUBKEY_LEN;
	chain_member_record rec;
	uint64_t power = 0, yes = 0, total = 0;
	const uint8_t *v;
	size_t vlen;
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	assert(tx->kind == CHAIN_TX_MEMBER_ADD || tx->kind == CHAIN_TX_MEMBER_REMOVE);
	add = tx->kind == CHAIN_TX_MEMBER_ADD;
	*reason = "tx: store";
	if ((rc = chain_state_get_power(x->t, &tx->sender, &power)) != FL_OK)
		return rc;
	if (power == 0) {
		*reason = "tx: not a validator";
		return FL_EPERM;
	}
	rc = chain_state_get_member(x->t, &m->member, &rec);
	if (rc != FL_OK && rc != FL_ENOTFOUND)
		return rc;
	if (add && rc == FL_OK) {
		*reason = "tx: already a member";
		return FL_ESTATE;
	}
	if (!add && rc == FL_ENOTFOUND) {
		*reason = "tx: not a member";
		return FL_ESTATE;
	}
	if (!add) {
		if ((rc = chain_state_get_power(x->t, &m->member, &power)) != FL_OK)
			return rc;
		if (power > 0) {
			*reason = "tx: a validator stays a member";
			return FL_ESTATE;
		}
	}
	key[0] = add ? CHAIN_VOTES_MEMBER_ADD : CHAIN_VOTES_MEMBER_REMOVE;
	memcpy(key + 1, m->member.b, FL_PUBKEY_LEN);
	memcpy(key + plen, tx->sender.b, FL_PUBKEY_LEN);
	rc = chain_txn_get(x->t, CHAIN_DB_VOTES, key, sizeof(key), &v, &vlen);
	if (rc == FL_OK) {
		*reason = "tx: duplicate vote";
		return FL_EDUP;
	}
	if (rc != FL_ENOTFOUND)
		return rc;
	if ((rc = chain_txn_put(x->t, CHAIN_DB_VOTES, key, sizeof(key), "\x01", 1)) != FL_OK ||
	    (rc = chain_votes_tally(x->t, key, plen, -1, &yes)) != FL_OK ||
	    (rc = chain_state_get_u64(x->t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER,
				      &total)) != FL_OK)
		return rc;
	if (!chain_over_two_thirds(yes, total))
		return FL_OK;
	rc = add ? admit(x, m) : chain_state_del_member(x->t, &m->member);
	if (rc != FL_OK)
		return rc;
	return chain_votes_clear(x->t, key, plen);
}
