/*
 * chain/proposal.c — what an undecided profile proposal costs, so that
 * proposing is never free spam (docs/state-machine.md):
 *
 *   - a proposer has at most params.max_open_proposals undecided proposals;
 *   - each locks params.proposal_deposit of its proposer's balance, held in
 *     the state scalar CHAIN_STATE_DEPOSITS (supply = balances + deposits);
 *   - the deposit is returned when the profile activates and burned when it
 *     is rejected;
 *   - a proposal still undecided params.proposal_ttl_blocks after it was
 *     made expires at the start of that block, and its deposit is burned.
 *
 * CHAIN_DB_PROPOSALS holds one record per undecided proposal under
 * proposer || id: counting a proposer's open proposals reads at most the
 * cap, whatever else was ever proposed. CHAIN_DB_PROPOSAL_EXPIRY holds
 * u64be(expiry height) || id for the same proposals, so the start of a block
 * visits only those that expire at its height.
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

/* u64be(expires) || id: in height order, one height's keys adjacent. */
static size_t expiry_key(uint8_t *key, uint64_t expires, const char *id)
{
	size_t n = strlen(id);

	assert(n >= 1 && n <= CHAIN_PROFILE_ID_MAX);
	chain_put_be64(key, expires);
	memcpy(key + 8, id, n);
	return 8 + n;
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
	count_ctx c = {0, 0};
	chain_proposal_record rec;
	fl_writer w;
	int rc;

	assert(x != NULL && proposer != NULL && id != NULL && reason != NULL);
	c.cap = x->params.max_open_proposals;
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
	/* A chain this tall is not one anybody runs; saturate rather than wrap
	 * (the proposal then never expires). */
	rec.expires = x->height > UINT64_MAX - x->params.proposal_ttl_blocks
			  ? UINT64_MAX
			  : x->height + x->params.proposal_ttl_blocks;
	fl_writer_init(&w, 64);
	if ((rc = chain_proposal_record_encode(&w, &rec)) == FL_OK)
		rc = chain_state_put_encoded(x->t, CHAIN_DB_PROPOSALS, key,
					     proposal_key(key, proposer, id), &w);
	fl_writer_free(&w);
	if (rc != FL_OK)
		return rc;
	return chain_txn_put(x->t, CHAIN_DB_PROPOSAL_EXPIRY, key, expiry_key(key, rec.expires, id),
			     "\x01", 1);
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
	if ((rc = chain_txn_del(x->t, CHAIN_DB_PROPOSAL_EXPIRY, key,
				expiry_key(key, rec.expires, id))) != FL_OK)
		return rc;
	if (outcome == CHAIN_DEPOSIT_RETURN)
		return chain_ledger_unlock(x->t, proposer, rec.deposit);
	return chain_ledger_burn_deposit(x->t, rec.deposit);
}

/* ------------------------------------------------------------ expiry */

typedef struct {
	size_t n, cap;
	char (*ids)[CHAIN_PROFILE_ID_MAX + 1];
} expiring_list;

static int collect_expiring(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
			    size_t vlen)
{
	expiring_list *l = ctx;

	(void)val;
	(void)vlen;
	if (klen <= 8 || klen > 8 + CHAIN_PROFILE_ID_MAX)
		return FL_ECORRUPT;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = fl_realloc(l->ids, cap * sizeof(*l->ids));

		if (p == NULL)
			return FL_ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	memcpy(l->ids[l->n], key + 8, klen - 8);
	l->ids[l->n][klen - 8] = '\0';
	l->n++;
	return 0;
}

int chain_proposals_begin_block(chain_exec *x)
{
	uint8_t prefix[8];
	expiring_list l;
	int rc;

	assert(x != NULL);
	memset(&l, 0, sizeof(l));
	chain_put_be64(prefix, x->height);
	/* Collect first: expiring deletes the keys being walked. */
	rc = chain_txn_scan(x->t, CHAIN_DB_PROPOSAL_EXPIRY, prefix, sizeof(prefix),
			    collect_expiring, &l);
	for (size_t i = 0; rc == FL_OK && i < l.n; i++)
		rc = chain_profile_expire(x, l.ids[i]);
	fl_free(l.ids);
	return rc;
}
