/*
 * chain/mempool.c — admission that sees the queued txs (chain.h): the tx
 * rules of the next block on an admission txn (a read txn and an overlay,
 * chain/overlay.c). Nothing here is a rule of its own: a tx is admitted
 * exactly when it would apply after the txs admitted before it, so two
 * transfers of one full balance, a nonce gap, a second update for one round
 * or a second vote of one validator are refused here, not in the block.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

struct chain_mempool_check {
	chain_overlay *overlay;
	chain_txn *t;
	chain_exec x;
	size_t n_admitted;
};

void chain_mempool_check_end(chain_mempool_check *ck)
{
	if (ck == NULL)
		return;
	chain_txn_abort(ck->t);
	chain_overlay_free(ck->overlay);
	fl_free(ck);
}

/* Like chain_check_tx: the next block's begin-block step first, with
 * the stored beacon standing in for the unknown next one. */
int chain_mempool_check_begin(chain_store *s, chain_mempool_check **out)
{
	chain_mempool_check *ck;
	chain_info info;
	int rc;

	assert(s != NULL && out != NULL);
	*out = NULL;
	ck = fl_calloc(1, sizeof(*ck));
	if (ck == NULL)
		return FL_ENOMEM;
	if ((rc = chain_overlay_new(&ck->overlay)) != FL_OK ||
	    (rc = chain_txn_begin_overlay(s, ck->overlay, &ck->t)) != FL_OK ||
	    (rc = chain_state_info(ck->t, &info)) != FL_OK)
		goto fail;
	ck->x.t = ck->t;
	memcpy(ck->x.chain_id, info.chain_id, sizeof(ck->x.chain_id));
	ck->x.params = info.params;
	ck->x.height = info.height + 1;
	ck->x.beacon = info.beacon;
	ck->x.sigcache = chain_store_sigcache(s);
	if ((rc = chain_begin_block(&ck->x)) != FL_OK)
		goto fail;
	chain_overlay_keep(ck->overlay);
	*out = ck;
	return FL_OK;
fail:
	chain_mempool_check_end(ck);
	return rc;
}

int chain_mempool_check_tx(chain_mempool_check *ck, const chain_tx *tx, const char **reason)
{
	const char *why = NULL;
	size_t mark;
	int rc;

	assert(ck != NULL && tx != NULL);
	mark = chain_overlay_mark(ck->overlay);
	rc = chain_exec_tx(&ck->x, tx, 0, &why);
	if (rc == FL_OK) {
		chain_overlay_keep(ck->overlay);
		ck->n_admitted++;
	} else {
		/* A refused tx leaves nothing: not even its nonce bump. */
		chain_overlay_rollback(ck->overlay, mark);
	}
	if (reason != NULL)
		*reason = rc == FL_OK ? NULL : why;
	return rc;
}

size_t chain_mempool_check_count(const chain_mempool_check *ck)
{
	assert(ck != NULL);
	return ck->n_admitted;
}

chain_txn *chain_mempool_check_txn(chain_mempool_check *ck)
{
	assert(ck != NULL);
	return ck->t;
}
