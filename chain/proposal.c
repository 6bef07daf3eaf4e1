/*
 * chain/proposal.c — what an undecided profile proposal costs, so that
 * proposing is never free spam (docs/state-machine.md):
 *
 *   - a proposer has at most params.max_open_proposals undecided proposals;
 *   - each locks params.proposal_deposit of its proposer's balance, held in
 *     the state scalar CHAIN_STATE_DEPOSITS (supply = balances + deposits);
 *   - the deposit is returned when the profile activates and burned when it
 *     is rejected.
 *
 * CHAIN_DB_PROPOSALS holds one record per undecided proposal under
 * proposer || id: counting a proposer's open proposals reads at most the
 * cap, whatever else was ever proposed.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* proposer || id (ids are 1..CHAIN_PROFILE_ID_MAX bytes, the proposer 32:
 * a proposer's keys share the fixed-length prefix). */
static size_t proposal_key(uint8_t *key, const fl_pubkey *proposer, const char *id)
{
	size_t n = strlen(id);

	assert(n >= 1 && n <= CHAIN_PROFILE_ID_MAX);
	memcpy(key, proposer->b, FL_PUBKEY_LEN);
	memcpy(key + FL_PUBKEY_LEN, id, n);
	return FL_PUBKEY_LEN + n;
}

typedef struct {
	uint32_t n, cap;
} count_ctx;

static int count_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	count_ctx *c = ctx;

	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	/* Stop at the cap: the answer is known, and the scan stays bounded. */
	return ++c->n >= c->cap ? 1 : 0;
}

int chain_proposal_open(chain_exec *x, const fl_pubkey *proposer, const char *id,
			const char **reason)
{
	uint8_t key[CHAIN_KEY_MAX];
	count_ctx c = {0, x->params.max_open_proposals};
	chain_proposal_record rec;
	fl_writer w;
	int rc;

	assert(x != NULL && proposer != NULL && id != NULL && reason != NULL);
	*reason = "tx: store";
	if (c.cap == 0)
		return FL_ECORRUPT; /* chain_params_check keeps it >= 1 */
	rc = chain_txn_scan(x->t, CHAIN_DB_PROPOSALS, proposer->b, FL_PUBKEY_LEN, count_one, &c);
	if (rc != FL_OK)
		return rc;
	if (c.n >= c.cap) {
		*reason = "tx: too many open proposals";
		return FL_ETOOBIG;
	}
	rc = chain_ledger_lock(x->t, proposer, x->params.proposal_deposit);
	if (rc == FL_EFUNDS)
		*reason = "tx: balance below proposal_deposit";
	if (rc != FL_OK)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.deposit = x->params.proposal_deposit;
	fl_writer_init(&w, 64);
	if ((rc = chain_proposal_record_encode(&w, &rec)) == FL_OK)
		rc = chain_state_put_encoded(x->t, CHAIN_DB_PROPOSALS, key,
					     proposal_key(key, proposer, id), &w);
	fl_writer_free(&w);
	return rc;
}

int chain_proposal_close(chain_exec *x, const fl_pubkey *proposer, const char *id, int outcome)
{
	uint8_t key[CHAIN_KEY_MAX];
	chain_proposal_record rec;
	const uint8_t *v;
	size_t klen, vlen;
	int rc;

	assert(x != NULL && proposer != NULL && id != NULL);
	assert(outcome == CHAIN_DEPOSIT_RETURN || outcome == CHAIN_DEPOSIT_BURN);
	klen = proposal_key(key, proposer, id);
	/* Every undecided proposal has its record: a missing one is corruption. */
	rc = chain_txn_get(x->t, CHAIN_DB_PROPOSALS, key, klen, &v, &vlen);
	if (rc != FL_OK)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	if (chain_proposal_record_decode(v, vlen, &rec) != FL_OK)
		return FL_ECORRUPT;
	if ((rc = chain_txn_del(x->t, CHAIN_DB_PROPOSALS, key, klen)) != FL_OK)
		return rc;
	if (outcome == CHAIN_DEPOSIT_RETURN)
		return chain_ledger_unlock(x->t, proposer, rec.deposit);
	return chain_ledger_burn_deposit(x->t, rec.deposit);
}
