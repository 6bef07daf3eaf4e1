/*
 * node/mempool_update.c — what the pool hands out and how it follows the
 * chain: the reap for a proposer, and the recheck after each block
 * (node/mempool.h). CometBFT's clist mempool does the same two things
 * (ReapMaxBytesMaxGas walks the list in order; Update removes the block's
 * txs and rechecks the rest); here the recheck is the chain's overlay
 * checker begun on the new state, so a queued tx is judged with the ones
 * queued before it, as the next block will judge it.
 */
#include "node/mempool_internal.h"

#include <assert.h>
#include <string.h>

int node_mempool_reap(node_mempool *mp, uint32_t max_txs, size_t max_bytes, chain_tx **txs,
		      uint32_t *n)
{
	const node__mp_entry *e;
	chain_tx *out = NULL;
	uint32_t k = 0, count = 0;
	size_t used = 0;
	int rc = FL_OK;

	assert(mp != NULL && txs != NULL && n != NULL);
	*txs = NULL;
	*n = 0;
	/* A prefix of admission order: each tx was checked after all before
	 * it, so a prefix applies and a tx skipped for its size could be the
	 * one the next needs. */
	for (e = mp->head; e != NULL && count < max_txs; e = e->next) {
		if (e->len > max_bytes - used)
			break;
		used += e->len;
		count++;
	}
	if (count == 0)
		return FL_OK;
	out = fl_calloc(count, sizeof(*out));
	if (out == NULL)
		return FL_ENOMEM;
	for (e = mp->head; k < count; e = e->next, k++) {
		/* These bytes decoded when they were admitted; only memory can
		 * fail now. */
		if ((rc = chain_tx_decode(&out[k], e->bytes, e->len)) != FL_OK)
			goto cleanup;
	}
	*txs = out;
	*n = count;
	out = NULL;
cleanup:
	if (out != NULL) {
		for (uint32_t i = 0; i <= k && i < count; i++)
			chain_tx_free(&out[i]);
		fl_free(out);
	}
	return rc;
}

/* The block's txs, by hash. A tx of the block that does not encode cannot
 * be queued here either: it is skipped. */
static void remove_included(node_mempool *mp, const chain_block *b, node_mempool_update_result *r)
{
	node__mp_entry *e;
	fl_hash h;

	for (uint32_t i = 0; i < b->n_txs && b->txs != NULL; i++) {
		if (chain_tx_hash(&h, &b->txs[i]) != FL_OK)
			continue;
		if ((e = node__mp_find(mp, &h)) != NULL) {
			node__mp_entry_drop(mp, e);
			r->included++;
		}
	}
}

/* Admits e again into the new checker: 1 kept, 0 removed (counted). */
static int recheck_one(node_mempool *mp, node__mp_entry *e, node_mempool_update_result *r)
{
	node__mp_sender *s = node__mp_sender_find(mp, &e->sender);
	const char *why = NULL;
	chain_tx tx;
	int rc;

	if (s != NULL && s->broken) {
		r->gapped++;
		node__mp_entry_drop(mp, e);
		return 0;
	}
	rc = chain_tx_decode(&tx, e->bytes, e->len);
	if (rc == FL_OK)
		rc = chain_mempool_check_tx(mp->ck, &tx, &why);
	chain_tx_free(&tx);
	if (rc == FL_OK) {
		if (s == NULL)
			s = node__mp_sender_add(mp, &e->sender, e->nonce);
		s->n++;
		r->kept++;
		return 1;
	}
	/* A sender's queued nonces are consecutive from its account nonce + 1
	 * (the checker made them so), and its account nonce only grows. So
	 * while none of its txs has been admitted again, a nonce refusal means
	 * this nonce is used (a tx of it is in a block): stale, and the next
	 * one may well be the account's next nonce. After that, or for any
	 * other refusal, its later txs can no longer apply. */
	if (rc == FL_ENONCE && (s == NULL || s->n == 0)) {
		r->stale++;
	} else {
		if (s == NULL)
			s = node__mp_sender_add(mp, &e->sender, e->nonce);
		s->broken = 1;
		r->failed++;
	}
	node__mp_entry_drop(mp, e);
	return 0;
}

/* The sender table from the queued txs alone (drops the broken marks). */
static void rebuild_senders(node_mempool *mp)
{
	node__mp_sender *s;

	node__mp_senders_clear(mp);
	for (node__mp_entry *e = mp->head; e != NULL; e = e->next) {
		if ((s = node__mp_sender_find(mp, &e->sender)) == NULL)
			s = node__mp_sender_add(mp, &e->sender, e->nonce);
		s->n++;
	}
}

int node_mempool_update(node_mempool *mp, const chain_block *b, node_mempool_update_result *res)
{
	node_mempool_update_result r;
	node__mp_entry *e, *next;
	size_t before;
	int rc;

	assert(mp != NULL);
	memset(&r, 0, sizeof(r));
	before = mp->count;
	chain_mempool_check_end(mp->ck);
	mp->ck = NULL;
	mp->released = 0;
	if (b != NULL)
		remove_included(mp, b, &r);
	node__mp_senders_clear(mp);
	rc = chain_mempool_check_begin(mp->store, &mp->ck);
	if (rc != FL_OK) {
		/* Nothing can be checked on the new state: keep nothing rather
		 * than hand out txs that may no longer apply. */
		mp->ck = NULL;
		for (e = mp->head; e != NULL; e = next) {
			next = e->next;
			node__mp_entry_drop(mp, e);
			r.failed++;
		}
	} else {
		for (e = mp->head; e != NULL; e = next) {
			next = e->next;
			(void)recheck_one(mp, e, &r);
		}
	}
	rebuild_senders(mp);
	mp->removed += before - mp->count;
	if (res != NULL)
		*res = r;
	return rc;
}
