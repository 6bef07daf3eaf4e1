/*
 * chain/stake.c — bonded stake (docs/state-machine.md, "Stake"):
 *
 *   bond:    liquid balance -> bonded
 *   unbond:  bonded -> an unbonding entry released at height + unbonding_blocks
 *   release: at the start of that block, the entry -> liquid balance
 *   slash:   burns from bonded, then from the unbonding entries
 *
 * Where the tokens are, at every height:
 *   supply == sum(balances) + bonded_total + unbonding_total
 * and bonded_total / unbonding_total are the sums over CHAIN_DB_BONDS. Bond,
 * unbond and release move tokens between the three and leave the supply;
 * only a slash burns, and it lowers the supply by exactly what it burned.
 *
 * Stake that is unbonding stays slashable until it is liquid, so a culprit
 * that unbonds or moves its balance ahead of the evidence (in the same
 * block, or any block within unbonding_blocks) loses the same amount.
 *
 * The release queue (CHAIN_DB_UNBONDING) is keyed u64be(release height)
 * || pubkey, so a block reads only the keys due at its height. The bond
 * record itself holds the entries (at most CHAIN_MAX_UNBONDING), so a slash
 * finds them without the queue.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

#define QUEUE_KEY_LEN (8 + FL_PUBKEY_LEN)

static void queue_key(uint8_t out[QUEUE_KEY_LEN], uint64_t release, const fl_pubkey *pk)
{
	chain_put_be64(out, release);
	memcpy(out + 8, pk->b, FL_PUBKEY_LEN);
}

/* ------------------------------------------------------------ records */

int chain_state_get_bond(chain_txn *t, const fl_pubkey *pk, chain_bond *out)
{
	const uint8_t *v;
	size_t n;
	int rc;

	assert(t != NULL && pk != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	rc = chain_txn_get(t, CHAIN_DB_BONDS, pk->b, FL_PUBKEY_LEN, &v, &n);
	if (rc == FL_ENOTFOUND)
		return FL_OK;
	if (rc != FL_OK)
		return rc;
	if (chain_bond_record_decode(v, n, out) != FL_OK) {
		memset(out, 0, sizeof(*out));
		return FL_ECORRUPT;
	}
	return FL_OK;
}

int chain_state_put_bond(chain_txn *t, const fl_pubkey *pk, const chain_bond *b)
{
	fl_writer w;
	int rc;

	assert(t != NULL && pk != NULL && b != NULL);
	if (b->bonded == 0 && b->n_unbonding == 0)
		return chain_txn_del(t, CHAIN_DB_BONDS, pk->b, FL_PUBKEY_LEN);
	fl_writer_init(&w, 0);
	if ((rc = chain_bond_record_encode(&w, b)) == FL_OK)
		rc = chain_state_put_encoded(t, CHAIN_DB_BONDS, pk->b, FL_PUBKEY_LEN, &w);
	fl_writer_free(&w);
	return rc;
}

uint64_t chain_bond_unbonding_sum(const chain_bond *b)
{
	uint64_t sum = 0;

	assert(b != NULL);
	for (uint32_t i = 0; i < b->n_unbonding; i++)
		sum += b->unbonding[i].amount;
	return sum;
}

/* ------------------------------------------------------------- totals */

typedef struct {
	uint64_t supply, bonded, unbonding;
} stake_totals;

static int totals_get(chain_txn *t, stake_totals *s)
{
	int rc;

	if ((rc = chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, &s->supply)) ||
	    (rc = chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_BONDED, &s->bonded)) ||
	    (rc =
		 chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_UNBONDING, &s->unbonding)))
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	return FL_OK;
}

static int totals_put(chain_txn *t, const stake_totals *before, const stake_totals *after)
{
	int rc = FL_OK;

	/* Only what changed: an unchanged scalar is no state write. */
	if (after->supply != before->supply)
		rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, after->supply);
	if (rc == FL_OK && after->bonded != before->bonded)
		rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_BONDED, after->bonded);
	if (rc == FL_OK && after->unbonding != before->unbonding)
		rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_UNBONDING,
					 after->unbonding);
	return rc;
}

/* --------------------------------------------------------------- bond */

int chain_stake_bond(chain_txn *t, const fl_pubkey *pk, uint64_t amount)
{
	stake_totals before, after;
	chain_account a;
	chain_bond b;
	int rc;

	assert(t != NULL && pk != NULL);
	if (amount == 0)
		return FL_EINVAL;
	if ((rc = chain_state_get_account(t, pk, &a)) != FL_OK ||
	    (rc = chain_state_get_bond(t, pk, &b)) != FL_OK ||
	    (rc = totals_get(t, &before)) != FL_OK)
		return rc;
	if (a.balance < amount)
		return FL_EFUNDS;
	/* Cannot happen while the supply fits 64 bits and covers both; a
	 * stake module that trusts that would hide the day it breaks.
	 * (bonded + unbonding fits: the record codec checks it.) */
	if (amount > UINT64_MAX - b.bonded - chain_bond_unbonding_sum(&b) ||
	    before.bonded > UINT64_MAX - amount)
		return FL_EOVERFLOW;
	a.balance -= amount;
	b.bonded += amount;
	after = before;
	after.bonded += amount;
	if ((rc = chain_state_put_account(t, pk, &a)) != FL_OK ||
	    (rc = chain_state_put_bond(t, pk, &b)) != FL_OK)
		return rc;
	return totals_put(t, &before, &after);
}

int chain_rule_bond(chain_exec *x, const chain_tx *tx, const char **reason)
{
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	rc = chain_stake_bond(x->t, &tx->sender, tx->u.stake.amount);
	switch (rc) {
	case FL_OK:
		break;
	case FL_EFUNDS:
		*reason = "tx: balance too low";
		break;
	case FL_EOVERFLOW:
		*reason = "tx: bond overflow";
		break;
	case FL_EINVAL:
		*reason = "tx: amount";
		break;
	default:
		*reason = "tx: bond";
		break;
	}
	return rc;
}

/* ------------------------------------------------------------- unbond */

static int unbond(chain_exec *x, const fl_pubkey *pk, uint64_t amount, const char **reason)
{
	stake_totals before, after;
	uint8_t key[QUEUE_KEY_LEN];
	uint64_t release;
	chain_bond b;
	uint32_t i;
	int rc;

	*reason = "tx: store";
	if ((rc = chain_state_get_bond(x->t, pk, &b)) != FL_OK || (rc = totals_get(x->t, &before)))
		return rc;
	*reason = "tx: amount";
	if (amount == 0)
		return FL_EINVAL;
	*reason = "tx: bonded stake too low";
	if (b.bonded < amount)
		return FL_EFUNDS;
	*reason = "tx: store";
	if (before.bonded < amount || before.unbonding > UINT64_MAX - amount)
		return FL_ECORRUPT;
	*reason = "tx: release height";
	if (x->height > UINT64_MAX - x->params.unbonding_blocks)
		return FL_EOVERFLOW;
	release = x->height + x->params.unbonding_blocks;
	/* unbonding_blocks is fixed at genesis, so a new entry's release is
	 * the latest: it is the last entry, or joins the one of this block. */
	i = b.n_unbonding;
	if (i > 0 && b.unbonding[i - 1].release_height > release)
		return FL_ECORRUPT;
	if (i > 0 && b.unbonding[i - 1].release_height == release) {
		b.unbonding[i - 1].amount += amount;
	} else {
		*reason = "tx: too many unbonding entries";
		if (i == CHAIN_MAX_UNBONDING)
			return FL_ETOOBIG;
		b.unbonding[i].release_height = release;
		b.unbonding[i].amount = amount;
		b.n_unbonding++;
		queue_key(key, release, pk);
		*reason = "tx: store";
		if ((rc = chain_txn_put(x->t, CHAIN_DB_UNBONDING, key, sizeof(key), "\x01", 1)))
			return rc;
	}
	b.bonded -= amount;
	after = before;
	after.bonded -= amount;
	after.unbonding += amount;
	if ((rc = chain_state_put_bond(x->t, pk, &b)) != FL_OK)
		return rc;
	if ((rc = totals_put(x->t, &before, &after)) != FL_OK)
		return rc;
	*reason = NULL;
	return FL_OK;
}

int chain_rule_unbond(chain_exec *x, const chain_tx *tx, const char **reason)
{
	assert(x != NULL && tx != NULL && reason != NULL);
	return unbond(x, &tx->sender, tx->u.stake.amount, reason);
}

/* ------------------------------------------------------------ release */

typedef struct {
	size_t n, cap;
	fl_pubkey *pk;
} due_list;

static int collect_due(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	due_list *l = ctx;

	(void)val;
	(void)vlen;
	if (klen != QUEUE_KEY_LEN)
		return FL_ECORRUPT;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = fl_realloc(l->pk, cap * sizeof(*l->pk));
		if (p == NULL)
			return FL_ENOMEM;
		l->pk = p;
		l->cap = cap;
	}
	memcpy(l->pk[l->n].b, key + 8, FL_PUBKEY_LEN);
	l->n++;
	return 0;
}

/* pk's entry for `height` turns liquid. A queue key without its entry is
 * corruption: the two are written together. */
static int release_one(chain_txn *t, const fl_pubkey *pk, uint64_t height, stake_totals *tot)
{
	uint8_t key[QUEUE_KEY_LEN];
	chain_account a;
	chain_bond b;
	uint64_t amount;
	int rc;

	if ((rc = chain_state_get_bond(t, pk, &b)) != FL_OK)
		return rc;
	/* Entries release in height order and every height is visited, so
	 * the due one is the first. */
	if (b.n_unbonding == 0 || b.unbonding[0].release_height != height)
		return FL_ECORRUPT;
	amount = b.unbonding[0].amount;
	memmove(&b.unbonding[0], &b.unbonding[1], (b.n_unbonding - 1) * sizeof(b.unbonding[0]));
	b.n_unbonding--;
	memset(&b.unbonding[b.n_unbonding], 0, sizeof(b.unbonding[0]));
	if ((rc = chain_state_get_account(t, pk, &a)) != FL_OK)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	if (a.balance > UINT64_MAX - amount || tot->unbonding < amount)
		return FL_ECORRUPT;
	a.balance += amount;
	tot->unbonding -= amount;
	queue_key(key, height, pk);
	if ((rc = chain_state_put_account(t, pk, &a)) != FL_OK ||
	    (rc = chain_state_put_bond(t, pk, &b)) != FL_OK)
		return rc;
	return chain_txn_del(t, CHAIN_DB_UNBONDING, key, sizeof(key));
}

int chain_stake_begin_block(chain_exec *x)
{
	stake_totals before, after;
	uint8_t prefix[8];
	due_list l;
	int rc;

	assert(x != NULL);
	memset(&l, 0, sizeof(l));
	chain_put_be64(prefix, x->height);
	/* Collect first: releasing deletes the keys being walked. */
	rc = chain_txn_scan(x->t, CHAIN_DB_UNBONDING, prefix, sizeof(prefix), collect_due, &l);
	if (rc != FL_OK || l.n == 0)
		goto cleanup;
	if ((rc = totals_get(x->t, &before)) != FL_OK)
		goto cleanup;
	after = before;
	for (size_t i = 0; rc == FL_OK && i < l.n; i++)
		rc = release_one(x->t, &l.pk[i], x->height, &after);
	if (rc == FL_OK)
		rc = totals_put(x->t, &before, &after);

cleanup:
	fl_free(l.pk);
	return rc;
}

/* -------------------------------------------------------------- slash */

int chain_stake_slash(chain_txn *t, const fl_pubkey *pk, uint32_t bps, uint64_t *burned)
{
	stake_totals before, after;
	uint8_t key[QUEUE_KEY_LEN];
	uint64_t unbonding, burn, take;
	chain_bond b;
	uint32_t kept = 0;
	int rc;

	assert(t != NULL && pk != NULL && bps <= CHAIN_BPS);
	if (burned != NULL)
		*burned = 0;
	if ((rc = chain_state_get_bond(t, pk, &b)) != FL_OK || (rc = totals_get(t, &before)))
		return rc;
	unbonding = chain_bond_unbonding_sum(&b);
	/* bonded + unbonding fits: the record codec checks it. */
	burn = chain_mul_div(b.bonded + unbonding, bps, CHAIN_BPS);
	if (burn == 0)
		return FL_OK;
	if (burn > before.supply || b.bonded > before.bonded || unbonding > before.unbonding)
		return FL_ECORRUPT;
	after = before;
	after.supply -= burn;
	take = burn < b.bonded ? burn : b.bonded;
	b.bonded -= take;
	after.bonded -= take;
	burn -= take;
	for (uint32_t i = 0; i < b.n_unbonding; i++) {
		chain_unbonding *u = &b.unbonding[i];

		take = burn < u->amount ? burn : u->amount;
		u->amount -= take;
		after.unbonding -= take;
		burn -= take;
		if (u->amount > 0) {
			b.unbonding[kept++] = *u;
			continue;
		}
		/* Emptied: nothing left to release at that height. */
		queue_key(key, u->release_height, pk);
		if ((rc = chain_txn_del(t, CHAIN_DB_UNBONDING, key, sizeof(key))) != FL_OK)
			return rc;
	}
	assert(burn == 0);
	for (uint32_t i = kept; i < b.n_unbonding; i++)
		memset(&b.unbonding[i], 0, sizeof(b.unbonding[i]));
	b.n_unbonding = kept;
	if ((rc = chain_state_put_bond(t, pk, &b)) != FL_OK ||
	    (rc = totals_put(t, &before, &after)) != FL_OK)
		return rc;
	if (burned != NULL)
		*burned = before.supply - after.supply;
	return FL_OK;
}
