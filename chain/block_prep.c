/*
 * chain/block_prep.c — a block's bytes, computed once per apply: each tx is
 * encoded once, and its hash, its sighash, the tx root and the stored block
 * bytes all come from that one encoding (before, apply encoded every tx
 * four times, each time re-running the field checks and their curve-point
 * checks). The per-tx part (encode, tx hash, sighash) runs on the verify
 * threads as the first items of the block's checks (verify_pool.c); the
 * caller then only assembles the block's bytes and the tx root. What does
 * not encode is recorded, not refused, so that the checks of
 * chain_apply_block still fail in their documented order.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

static void prep_votes(chain_block_prep *p, const chain_block *b)
{
	const chain_commit *c = &b->last_commit;

	p->n_sigs = c->n_sigs <= CHAIN_MAX_VALIDATORS ? c->n_sigs : 0;
	if (!chain_id_valid(b->header.chain_id, CHAIN_ID_MAX))
		return;
	for (uint32_t k = 0; k < p->n_sigs; k++) {
		chain_vote v;

		memset(&v, 0, sizeof(v));
		v.type = CHAIN_VOTE_PRECOMMIT;
		v.height = c->height;
		v.round = c->round;
		v.block_hash = c->block_hash;
		v.validator = c->sigs[k].validator;
		p->vote_ok[k] =
		    chain_vote_digest(&p->vote_digest[k], b->header.chain_id, &v) == FL_OK;
	}
}

int chain_block_prepare(chain_block_prep *p, const chain_block *b)
{
	assert(p != NULL && b != NULL && (b->txs != NULL || b->n_txs == 0));
	memset(p, 0, sizeof(*p));
	p->id_ok = chain_id_valid(b->header.chain_id, CHAIN_ID_MAX);
	fl_writer_init(&p->enc, CHAIN_MAX_BLOCK_BYTES);
	p->n_txs = b->n_txs;
	if (b->n_txs > 0) {
		p->tx_hash = fl_calloc(b->n_txs, sizeof(*p->tx_hash));
		p->txs = fl_calloc(b->n_txs, sizeof(*p->txs));
		if (p->tx_hash == NULL || p->txs == NULL)
			return FL_ENOMEM;
	}
	prep_votes(p, b);
	return FL_OK;
}

void chain_block_prep_tx(chain_block_prep *p, const chain_block *b, uint32_t i)
{
	chain_tx_prep *t = &p->txs[i];

	assert(i < p->n_txs);
	fl_writer_init(&t->enc, CHAIN_MAX_TX_BYTES);
	if ((t->enc_rc = chain_tx_encode(&t->enc, &b->txs[i])) != FL_OK) {
		fl_writer_free(&t->enc);
		return;
	}
	fl_sha256(&p->tx_hash[i], t->enc.buf, t->enc.len);
	if (p->id_ok) {
		chain_tx_sighash_of_encoding(&t->sighash, b->header.chain_id, t->enc.buf,
					     t->enc.len);
		t->sighash_ok = 1;
	}
}

int chain_block_prep_assemble(chain_block_prep *p, const chain_block *b)
{
	assert(p != NULL && b != NULL && p->n_txs == b->n_txs);
	if (b->n_txs > CHAIN_MAX_BLOCK_TXS)
		chain_writer_fail(&p->enc, FL_ETOOBIG);
	if (chain_header_encode(&p->enc, &b->header) == FL_OK)
		fl_write_varint(&p->enc, b->n_txs);
	for (uint32_t i = 0; i < b->n_txs; i++) {
		chain_tx_prep *t = &p->txs[i];

		if (t->enc_rc != FL_OK) {
			if (p->root_rc == FL_OK)
				p->root_rc = t->enc_rc;
			chain_writer_fail(&p->enc, t->enc_rc);
			continue;
		}
		/* Past the size cap the block is refused (check 13), but every tx
		 * is still hashed for the checks before that one. */
		if (p->enc.err == 0)
			fl_write_fixed(&p->enc, t->enc.buf, t->enc.len);
		fl_writer_free(&t->enc);
	}
	p->enc_rc = p->enc.err;
	if (p->enc_rc == FL_OK)
		p->enc_rc = chain_commit_encode(&p->enc, &b->last_commit);
	if (p->root_rc == FL_OK)
		p->root_rc = fl_merkle_root(&p->tx_root, p->tx_hash, b->n_txs);
	return p->root_rc == FL_ENOMEM ? FL_ENOMEM : FL_OK;
}

void chain_block_prep_free(chain_block_prep *p)
{
	if (p == NULL)
		return;
	chain_block_prep_checks_end(p, 1);
	fl_writer_free(&p->enc);
	for (uint32_t i = 0; p->txs != NULL && i < p->n_txs; i++)
		fl_writer_free(&p->txs[i].enc);
	fl_free(p->tx_hash);
	fl_free(p->txs);
	memset(p, 0, sizeof(*p));
}
