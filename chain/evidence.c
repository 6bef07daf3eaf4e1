/*
 * chain/evidence.c — punishment of proven misbehaviour:
 *
 *   DOUBLE_SIGN: two valid votes of one validator for the same type,
 *   height and round but different blocks. The proof is complete in
 *   itself, so one tx from anyone suffices. The culprit is jailed, loses its
 *   voting power and params.slash_bps of its bonded plus unbonding stake
 *   (burned, chain_stake_slash). One
 *   equivocation (culprit, height, round) is punished once.
 *
 *   BAD_AGGREGATE: a validator attests that a coordinator's signed
 *   aggregate_commit names a model it could not recompute. Whether the
 *   aggregate is wrong needs the update blobs, which the chain does not
 *   hold, so this is a vote: once attesting validators hold > 2/3 of the
 *   power, the coordinator is jailed and slashed, once per (coordinator,
 *   profile, round).
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

int chain_punish(chain_exec *x, const fl_pubkey *culprit)
{
	chain_account a;
	int rc;

	assert(x != NULL && culprit != NULL);
	if ((rc = chain_state_get_account(x->t, culprit, &a)) != FL_OK)
		return rc;
	a.jailed = 1;
	if ((rc = chain_state_put_account(x->t, culprit, &a)) != FL_OK)
		return rc;
	if (a.power > 0 && (rc = chain_state_set_power(x->t, culprit, 0)) != FL_OK)
		return rc;
	/* The stake, not the liquid balance: a culprit that saw the evidence
	 * coming could empty its balance first, but not its bond, and what it
	 * unbonded stays slashable until it is liquid again. */
	return chain_stake_slash(x->t, culprit, x->params.slash_bps, NULL);
}

static int present(chain_txn *t, const uint8_t *key, size_t klen, int *found)
{
	const uint8_t *v;
	size_t n;
	int rc = chain_txn_get(t, CHAIN_DB_VOTES, key, klen, &v, &n);

	*found = rc == FL_OK;
	return rc == FL_ENOTFOUND ? FL_OK : rc;
}

static int double_sign(chain_exec *x, const chain_tx_evidence *e, const char **reason)
{
	const chain_vote *a = &e->vote_a, *b = &e->vote_b;
	uint8_t key[1 + FL_PUBKEY_LEN + 8 + 4];
	chain_account culprit;
	int found = 0, rc;

	if (a->type != b->type || a->height != b->height || a->round != b->round ||
	    fl_pubkey_cmp(&a->validator, &b->validator) != 0 ||
	    fl_hash_cmp(&a->block_hash, &b->block_hash) == 0) {
		*reason = "tx: votes do not conflict";
		return FL_EINVAL;
	}
	if ((rc = chain_vote_verify(a, x->chain_id)) != FL_OK ||
	    (rc = chain_vote_verify(b, x->chain_id)) != FL_OK) {
		*reason = rc == FL_ESIG ? "tx: vote signature" : "tx: vote";
		return rc;
	}
	rc = chain_state_get_account(x->t, &a->validator, &culprit);
	if (rc != FL_OK) {
		*reason = rc == FL_ENOTFOUND ? "tx: no such validator" : "tx: store";
		return rc;
	}
	/* A validator, or one jailed already (its power is gone, its votes
	 * of the past still bind it). */
	if (culprit.power == 0 && !culprit.jailed) {
		*reason = "tx: not a validator";
		return FL_EPERM;
	}
	key[0] = CHAIN_VOTES_DOUBLE_SIGN;
	memcpy(key + 1, a->validator.b, FL_PUBKEY_LEN);
	chain_put_be64(key + 1 + FL_PUBKEY_LEN, a->height);
	chain_put_be32(key + 1 + FL_PUBKEY_LEN + 8, a->round);
	*reason = "tx: store";
	if ((rc = present(x->t, key, sizeof(key), &found)) != FL_OK)
		return rc;
	if (found) {
		*reason = "tx: evidence already punished";
		return FL_EDUP;
	}
	if ((rc = chain_txn_put(x->t, CHAIN_DB_VOTES, key, sizeof(key), "\x01", 1)) != FL_OK)
		return rc;
	return chain_punish(x, &a->validator);
}

/* culprit || u64be round || id 0x00: the subject of bad-aggregate votes. */
static size_t bad_agg_subject(uint8_t *key, uint8_t kind, const fl_pubkey *culprit, const char *id,
			      uint64_t round)
{
	key[0] = kind;
	memcpy(key + 1, culprit->b, FL_PUBKEY_LEN);
	chain_put_be64(key + 1 + FL_PUBKEY_LEN, round);
	return 1 + FL_PUBKEY_LEN + 8 + chain_key_profile_prefix(key + 1 + FL_PUBKEY_LEN + 8, id);
}

static int bad_aggregate(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_tx_evidence *e = &tx->u.evidence;
	const chain_tx_aggregate_commit *a;
	uint8_t key[CHAIN_KEY_MAX], done[CHAIN_KEY_MAX];
	uint64_t power = 0, attest = 0, total = 0;
	chain_tx inner;
	chain_round r;
	size_t plen, dlen;
	uint32_t j;
	int found = 0, rc;

	memset(&inner, 0, sizeof(inner));
	*reason = "tx: store";
	if ((rc = chain_state_get_power(x->t, &tx->sender, &power)) != FL_OK)
		goto cleanup;
	if (power == 0) {
		*reason = "tx: not a validator";
		rc = FL_EPERM;
		goto cleanup;
	}
	rc = chain_tx_decode(&inner, e->aggregate_tx, e->aggregate_tx_len);
	if (rc != FL_OK || inner.kind != CHAIN_TX_AGGREGATE_COMMIT) {
		*reason = "tx: aggregate tx";
		rc = rc != FL_OK ? rc : FL_EINVAL;
		goto cleanup;
	}
	if ((rc = chain_tx_verify(&inner, x->chain_id)) != FL_OK) {
		*reason = "tx: aggregate signature";
		goto cleanup;
	}
	a = &inner.u.aggregate_commit;
	if (fl_hash_cmp(&a->new_model, &e->recomputed_model) == 0) {
		*reason = "tx: aggregate recomputes";
		rc = FL_EINVAL;
		goto cleanup;
	}
	rc = chain_state_get_round(x->t, a->profile, a->round, &r);
	if (rc != FL_OK) {
		*reason = rc == FL_ENOTFOUND ? "tx: no such round" : "tx: store";
		goto cleanup;
	}
	for (j = 0; j < r.n_coordinators; j++)
		if (fl_pubkey_cmp(&r.coordinators[j], &inner.sender) == 0)
			break;
	if (j == r.n_coordinators) {
		*reason = "tx: not a coordinator of the round";
		rc = FL_EINVAL;
		goto cleanup;
	}
	dlen = bad_agg_subject(done, CHAIN_VOTES_BAD_AGG_DONE, &inner.sender, a->profile, a->round);
	plen = bad_agg_subject(key, CHAIN_VOTES_BAD_AGGREGATE, &inner.sender, a->profile, a->round);
	memcpy(key + plen, tx->sender.b, FL_PUBKEY_LEN);
	*reason = "tx: store";
	if ((rc = present(x->t, done, dlen, &found)) != FL_OK)
		goto cleanup;
	if (!found && (rc = present(x->t, key, plen + FL_PUBKEY_LEN, &found)) != FL_OK)
		goto cleanup;
	if (found) {
		*reason = "tx: duplicate attestation";
		rc = FL_EDUP;
		goto cleanup;
	}
	if ((rc = chain_txn_put(x->t, CHAIN_DB_VOTES, key, plen + FL_PUBKEY_LEN, "\x01", 1)) ||
	    (rc = chain_votes_tally(x->t, key, plen, -1, &attest)) ||
	    (rc = chain_state_get_u64(x->t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER, &total)))
		goto cleanup;
	if (!chain_over_two_thirds(attest, total))
		goto cleanup;
	/* Decided: the attestations give way to one lasting mark. */
	if ((rc = chain_punish(x, &inner.sender)) != FL_OK ||
	    (rc = chain_votes_clear(x->t, key, plen)) != FL_OK)
		goto cleanup;
	rc = chain_txn_put(x->t, CHAIN_DB_VOTES, done, dlen, "\x01", 1);

cleanup:
	chain_tx_free(&inner);
	return rc;
}

int chain_rule_evidence(chain_exec *x, const chain_tx *tx, const char **reason)
{
	assert(x != NULL && tx != NULL && reason != NULL);
	switch (tx->u.evidence.type) {
	case CHAIN_EVIDENCE_DOUBLE_SIGN:
		return double_sign(x, &tx->u.evidence, reason);
	case CHAIN_EVIDENCE_BAD_AGGREGATE:
		return bad_aggregate(x, tx, reason);
	default:
		*reason = "tx: evidence type";
		return FL_EINVAL;
	}
}
