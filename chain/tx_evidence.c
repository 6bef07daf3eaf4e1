/*
 * chain/tx_evidence.c — the evidence tx body: proof that a validator signed
 * two conflicting votes, or attested an aggregate that does not recompute.
 * Only the fields of the evidence type in use are encoded.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

static int check_double_sign(const chain_vote *a, const chain_vote *b)
{
	int c;

	if (a->type != CHAIN_VOTE_PREVOTE && a->type != CHAIN_VOTE_PRECOMMIT)
		return FL_EINVAL;
	if (a->type != b->type || a->height != b->height || a->round != b->round ||
	    fl_pubkey_cmp(&a->validator, &b->validator) != 0)
		return FL_EINVAL;
	/* The pair in block-hash order, so one equivocation has one encoding
	 * (and one tx hash) whichever vote was seen first. */
	c = fl_hash_cmp(&a->block_hash, &b->block_hash);
	if (c == 0)
		return FL_EINVAL;
	return c > 0 ? FL_ENONCANON : FL_OK;
}

/* The embedded bytes must be a canonical aggregate_commit tx whose model
 * differs from the one the validator recomputed. */
static int check_bad_aggregate(const chain_tx_evidence *e)
{
	chain_tx inner;
	int rc;

	if (e->aggregate_tx == NULL || e->aggregate_tx_len == 0 ||
	    e->aggregate_tx_len > CHAIN_MAX_EVIDENCE_TX)
		return FL_EINVAL;
	/* Look at the kind byte first: evidence nested in evidence would
	 * otherwise cost a decode (and a copy) per level. */
	if (e->aggregate_tx_len < 2 || e->aggregate_tx[1] != CHAIN_TX_AGGREGATE_COMMIT)
		return FL_EINVAL;
	rc = chain_tx_decode(&inner, e->aggregate_tx, e->aggregate_tx_len);
	if (rc == FL_ENOMEM)
		goto cleanup;
	if (rc != 0 || inner.kind != CHAIN_TX_AGGREGATE_COMMIT ||
	    fl_hash_cmp(&inner.u.aggregate_commit.new_model, &e->recomputed_model) == 0)
		rc = FL_EINVAL;
cleanup:
	chain_tx_free(&inner);
	return rc;
}

int chain_evidence_check(const chain_tx_evidence *e)
{
	assert(e != NULL);
	switch (e->type) {
	case CHAIN_EVIDENCE_DOUBLE_SIGN:
		return check_double_sign(&e->vote_a, &e->vote_b);
	case CHAIN_EVIDENCE_BAD_AGGREGATE:
		return check_bad_aggregate(e);
	default:
		return FL_EINVAL;
	}
}

int chain_evidence_encode(fl_writer *w, const chain_tx_evidence *e)
{
	int rc;

	assert(w != NULL && e != NULL);
	fl_write_u8(w, e->type);
	if (e->type == CHAIN_EVIDENCE_DOUBLE_SIGN) {
		if ((rc = chain_vote_encode(w, &e->vote_a)) != 0)
			return rc;
		return chain_vote_encode(w, &e->vote_b);
	}
	fl_write_bytes(w, e->aggregate_tx, e->aggregate_tx_len, CHAIN_MAX_EVIDENCE_TX);
	return fl_write_fixed(w, e->recomputed_model.b, FL_HASH_LEN);
}

int chain_evidence_decode(fl_reader *r, chain_tx_evidence *e)
{
	const uint8_t *bytes = NULL;
	size_t n = 0;
	int rc;

	assert(r != NULL && e != NULL);
	memset(e, 0, sizeof(*e));
	if ((rc = fl_read_u8(r, &e->type)) != 0)
		return rc;
	switch (e->type) {
	case CHAIN_EVIDENCE_DOUBLE_SIGN:
		if ((rc = chain_vote_decode(r, &e->vote_a)) != 0)
			return rc;
		if ((rc = chain_vote_decode(r, &e->vote_b)) != 0)
			return rc;
		break;
	case CHAIN_EVIDENCE_BAD_AGGREGATE:
		if ((rc = fl_read_bytes(r, &bytes, &n, CHAIN_MAX_EVIDENCE_TX)) != 0)
			return rc;
		if ((rc = fl_read_fixed(r, e->recomputed_model.b, FL_HASH_LEN)) != 0)
			return rc;
		if (n == 0)
			return chain_reader_fail(r, FL_EINVAL);
		e->aggregate_tx = fl_malloc(n);
		if (e->aggregate_tx == NULL)
			return FL_ENOMEM;
		memcpy(e->aggregate_tx, bytes, n);
		e->aggregate_tx_len = (uint32_t)n;
		break;
	default:
		return chain_reader_fail(r, FL_EINVAL);
	}
	return chain_reader_fail(r, chain_evidence_check(e));
}
