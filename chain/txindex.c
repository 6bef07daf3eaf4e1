/*
 * chain/txindex.c — the tx index (tx hash -> height, index in the block),
 * written after a block commits rather than in the block's own
 * transaction. It is no part of the state (no rule reads it, the app hash
 * does not cover it), only of what the API answers, and it is the costliest
 * write of a block: its keys are hashes, so a block's txs land on as many
 * B-tree pages as the index has, all rewritten by the commit. Off the
 * block's path (CometBFT's indexer and Bitcoin Core's txindex are too) the
 * block commits without it, and chain_index_txs writes the index of several
 * blocks in one ordered pass when the node has time, from the blocks
 * themselves: META "txs_indexed" says how far it got, so a crash between
 * the two loses nothing and the next call carries on from there.
 */
#include "chain/internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define META_TXS_INDEXED "txs_indexed" /* u64: blocks 1..it are indexed */

typedef struct {
	fl_hash hash;
	uint8_t loc[12]; /* u64be(height) u32be(index) */
} index_entry;

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(a, b, FL_HASH_LEN);
}

/* Appends the entries of block `height` (read back from the store). */
static int collect_block(chain_txn *t, uint64_t height, index_entry **entries, size_t *n,
			 size_t *cap)
{
	uint8_t key[8];
	const uint8_t *v;
	size_t vlen;
	chain_block b;
	int rc;

	memset(&b, 0, sizeof(b));
	chain_put_be64(key, height);
	if ((rc = chain_txn_get(t, CHAIN_DB_BLOCKS, key, sizeof(key), &v, &vlen)) != FL_OK)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	if ((rc = chain_block_decode(&b, v, vlen)) != FL_OK) {
		rc = FL_ECORRUPT;
		goto cleanup;
	}
	if (*n + b.n_txs > *cap) {
		size_t c = *cap ? *cap : 1024;
		index_entry *e;

		while (c < *n + b.n_txs)
			c *= 2;
		if ((e = fl_realloc(*entries, c * sizeof(*e))) == NULL) {
			rc = FL_ENOMEM;
			goto cleanup;
		}
		*entries = e;
		*cap = c;
	}
	for (uint32_t i = 0; i < b.n_txs; i++) {
		index_entry *e = &(*entries)[*n + i];

		if ((rc = chain_tx_hash(&e->hash, &b.txs[i])) != FL_OK)
			goto cleanup;
		chain_put_be64(e->loc, height);
		chain_put_be32(e->loc + 8, i);
	}
	*n += b.n_txs;

cleanup:
	chain_block_free(&b);
	return rc;
}

static int index_once(chain_store *s, uint64_t max_blocks, uint64_t *indexed)
{
	index_entry *entries = NULL;
	size_t n = 0, cap = 0;
	uint64_t done = 0, tip = 0, upto;
	chain_txn *t = NULL;
	int rc;

	if ((rc = chain_txn_begin(s, 1, &t)) != FL_OK)
		goto cleanup;
	if ((rc = chain_state_get_u64(t, CHAIN_DB_META, META_TXS_INDEXED, &done)) == FL_ENOTFOUND)
		done = 0;
	else if (rc != FL_OK)
		goto cleanup;
	if ((rc = chain_state_get_u64(t, CHAIN_DB_META, CHAIN_META_HEIGHT, &tip)) == FL_ENOTFOUND)
		tip = 0;
	else if (rc != FL_OK)
		goto cleanup;
	if (done > tip) {
		rc = FL_ECORRUPT;
		goto cleanup;
	}
	upto = tip - done > max_blocks ? done + max_blocks : tip;
	if (upto == done) {
		rc = FL_OK;
		goto cleanup;
	}
	for (uint64_t h = done + 1; h <= upto && rc == FL_OK; h++)
		rc = collect_block(t, h, &entries, &n, &cap);
	if (rc != FL_OK)
		goto cleanup;
	/* In key order: each B-tree page is visited once, in sequence. */
	if (n > 1)
		qsort(entries, n, sizeof(*entries), entry_cmp);
	for (size_t i = 0; i < n && rc == FL_OK; i++)
		rc = chain_txn_put(t, CHAIN_DB_TXS, entries[i].hash.b, FL_HASH_LEN, entries[i].loc,
				   sizeof(entries[i].loc));
	if (rc == FL_OK)
		rc = chain_state_put_u64(t, CHAIN_DB_META, META_TXS_INDEXED, upto);
	if (rc == FL_OK) {
		rc = chain_txn_commit(t);
		t = NULL;
	}
	if (rc == FL_OK)
		done = upto;

cleanup:
	chain_txn_abort(t);
	fl_free(entries);
	if (indexed != NULL)
		*indexed = done;
	return rc;
}

int chain_index_txs(chain_store *s, uint64_t max_blocks, uint64_t *indexed)
{
	int rc;

	assert(s != NULL && max_blocks > 0);
	rc = index_once(s, max_blocks, indexed);
	if (rc == FL_EDB && chain_store_grow_if_full(s))
		rc = index_once(s, max_blocks, indexed);
	return rc;
}
