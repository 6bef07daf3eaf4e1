/*
 * chain/ledger.c — the token ledger of liquid balances. A transfer moves
 * tokens (the supply stays), a round's reward mints them (the supply grows
 * by exactly that much), a burn destroys them (the supply shrinks by
 * exactly that much), and a profile proposal's deposit is locked out of
 * its proposer's balance into CHAIN_STATE_DEPOSITS, then unlocked back to
 * it or burned from there; stake.c moves tokens into and out of bonds. So
 * CHAIN_STATE_SUPPLY is at every height the sum of all balances plus the
 * deposits plus the bonded and unbonding totals, which the tests check
 * after random traffic.
 */
#include "chain/internal.h"

#include <assert.h>

/* An account the ledger credits may not exist yet: it starts empty. */
static int load_or_new(chain_txn *t, const fl_pubkey *pk, chain_account *a)
{
	int rc = chain_state_get_account(t, pk, a);

	if (rc == FL_ENOTFOUND) {
		chain_account_init(a, NULL);
		return FL_OK;
	}
	return rc;
}

int chain_ledger_transfer(chain_txn *t, const fl_pubkey *from, const fl_pubkey *to, uint64_t amount)
{
	chain_account src, dst;
	int rc;

	assert(t != NULL && from != NULL && to != NULL);
	if (amount == 0)
		return FL_EINVAL;
	if ((rc = chain_state_get_account(t, from, &src)) != FL_OK)
		return rc;
	if (src.balance < amount)
		return FL_EFUNDS;
	/* To oneself: the same checks, and nothing moves. */
	if (fl_pubkey_cmp(from, to) == 0)
		return FL_OK;
	if ((rc = load_or_new(t, to, &dst)) != FL_OK)
		return rc;
	/* Cannot happen while supply is the sum of balances and fits 64 bits,
	 * but a ledger that trusts that would hide the day it breaks. */
	if (dst.balance > UINT64_MAX - amount)
		return FL_EOVERFLOW;
	src.balance -= amount;
	dst.balance += amount;
	if ((rc = chain_state_put_account(t, from, &src)) != FL_OK)
		return rc;
	return chain_state_put_account(t, to, &dst);
}

int chain_ledger_mint(chain_txn *t, const fl_pubkey *to, uint64_t amount)
{
	chain_account dst;
	uint64_t supply;
	int rc;

	assert(t != NULL && to != NULL);
	if ((rc = chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, &supply)) != 0)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	if (supply > UINT64_MAX - amount)
		return FL_EOVERFLOW;
	if ((rc = load_or_new(t, to, &dst)) != FL_OK)
		return rc;
	if (dst.balance > UINT64_MAX - amount)
		return FL_EOVERFLOW;
	dst.balance += amount;
	if ((rc = chain_state_put_account(t, to, &dst)) != FL_OK)
		return rc;
	return chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, supply + amount);
}

int chain_ledger_burn(chain_txn *t, const fl_pubkey *from, uint64_t amount, uint64_t *burned)
{
	chain_account src;
	uint64_t supply;
	int rc;

	assert(t != NULL && from != NULL);
	if (burned != NULL)
		*burned = 0;
	if ((rc = chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, &supply)) != 0)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	if ((rc = chain_state_get_account(t, from, &src)) != FL_OK)
		return rc;
	if (amount > src.balance)
		amount = src.balance;
	if (amount > supply)
		return FL_ECORRUPT;
	src.balance -= amount;
	if ((rc = chain_state_put_account(t, from, &src)) != FL_OK)
		return rc;
	if ((rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY,
				      supply - amount)) != FL_OK)
		return rc;
	if (burned != NULL)
		*burned = amount;
	return FL_OK;
}

/* Deposits and supply are read together: a store where they disagree
 * (deposits above supply) is corrupt. */
static int get_deposits(chain_txn *t, uint64_t *deposits, uint64_t *supply)
{
	int rc;

	if ((rc = chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS, deposits)) ||
	    (rc = chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, supply)))
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	return *deposits > *supply ? FL_ECORRUPT : FL_OK;
}

int chain_ledger_lock(chain_txn *t, const fl_pubkey *from, uint64_t amount)
{
	chain_account src;
	uint64_t deposits, supply;
	int rc;

	assert(t != NULL && from != NULL);
	if ((rc = get_deposits(t, &deposits, &supply)) != FL_OK)
		return rc;
	if ((rc = chain_state_get_account(t, from, &src)) != FL_OK)
		return rc;
	if (src.balance < amount)
		return FL_EFUNDS;
	/* The balance is part of the supply: deposits + balance <= supply. */
	if (amount > supply - deposits)
		return FL_ECORRUPT;
	src.balance -= amount;
	if ((rc = chain_state_put_account(t, from, &src)) != FL_OK)
		return rc;
	return chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS, deposits + amount);
}

int chain_ledger_unlock(chain_txn *t, const fl_pubkey *to, uint64_t amount)
{
	chain_account dst;
	uint64_t deposits, supply;
	int rc;

	assert(t != NULL && to != NULL);
	if ((rc = get_deposits(t, &deposits, &supply)) != FL_OK)
		return rc;
	if (amount > deposits)
		return FL_ECORRUPT;
	if ((rc = load_or_new(t, to, &dst)) != FL_OK)
		return rc;
	if (dst.balance > UINT64_MAX - amount)
		return FL_EOVERFLOW;
	dst.balance += amount;
	if ((rc = chain_state_put_account(t, to, &dst)) != FL_OK)
		return rc;
	return chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS, deposits - amount);
}

int chain_ledger_burn_deposit(chain_txn *t, uint64_t amount)
{
	uint64_t deposits, supply;
	int rc;

	assert(t != NULL);
	if ((rc = get_deposits(t, &deposits, &supply)) != FL_OK)
		return rc;
	if (amount > deposits)
		return FL_ECORRUPT;
	if ((rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS,
				      deposits - amount)) != FL_OK)
		return rc;
	return chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, supply - amount);
}

int chain_rule_transfer(chain_exec *x, const chain_tx *tx, const char **reason)
{
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	rc = chain_ledger_transfer(x->t, &tx->sender, &tx->u.transfer.to, tx->u.transfer.amount);
	switch (rc) {
	case FL_OK:
		break;
	case FL_EFUNDS:
		*reason = "tx: balance too low";
		break;
	case FL_EOVERFLOW:
		*reason = "tx: balance overflow";
		break;
	case FL_EINVAL:
		*reason = "tx: amount";
		break;
	default:
		*reason = "tx: transfer";
		break;
	}
	return rc;
}
