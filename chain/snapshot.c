/*
 * chain/snapshot.c — read snapshots (chain.h): one LMDB read transaction
 * handed to the caller, on which every chain_snap_* lookup reads the same
 * committed height; here the snapshot itself, chain_info and the block and
 * tx indexes (the state lookups are in state_get.c).
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

int chain_snapshot_begin(chain_store *s, chain_snapshot **out)
{
	chain_snapshot *snap;
	int rc;

	assert(s != NULL && out != NULL);
	*out = NULL;
	snap = fl_calloc(1, sizeof(*snap));
	if (snap == NULL)
		return FL_ENOMEM;
	if ((rc = chain_txn_begin(s, 0, &snap->t)) != FL_OK) {
		fl_free(snap);
		return rc;
	}
	*out = snap;
	return FL_OK;
}

void chain_snapshot_end(chain_snapshot *snap)
{
	if (snap == NULL)
		return;
	chain_txn_abort(snap->t);
	fl_free(snap);
}

/* The meta values are decoded by chain_state_info, next to their writers. */
int chain_snap_info(chain_snapshot *snap, chain_info *out)
{
	assert(snap != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	return chain_state_info(snap->t, out);
}

int chain_snap_get_block(chain_snapshot *snap, uint64_t height, uint8_t **bytes, size_t *n)
{
	uint8_t key[8];
	const uint8_t *v;
	size_t vlen;
	int rc;

	assert(snap != NULL && bytes != NULL && n != NULL);
	*bytes = NULL;
	*n = 0;
	chain_put_be64(key, height);
	if ((rc = chain_txn_get(snap->t, CHAIN_DB_BLOCKS, key, sizeof(key), &v, &vlen)) != FL_OK)
		return rc;
	/* The value lives in the map only as long as the txn: copy it out. */
	if ((*bytes = fl_malloc(vlen ? vlen : 1)) == NULL)
		return FL_ENOMEM;
	memcpy(*bytes, v, vlen);
	*n = vlen;
	return FL_OK;
}

int chain_snap_get_block_height(chain_snapshot *snap, const fl_hash *hash, uint64_t *height)
{
	const uint8_t *v;
	size_t vlen;
	int rc;

	assert(snap != NULL && hash != NULL && height != NULL);
	rc = chain_txn_get(snap->t, CHAIN_DB_BLOCK_HASHES, hash->b, FL_HASH_LEN, &v, &vlen);
	if (rc != FL_OK)
		return rc;
	if (vlen != 8)
		return FL_ECORRUPT;
	*height = chain_get_be64(v);
	return FL_OK;
}

int chain_snap_get_tx_location(chain_snapshot *snap, const fl_hash *tx_hash, uint64_t *height,
			       uint32_t *index)
{
	const uint8_t *v;
	size_t vlen;
	int rc;

	assert(snap != NULL && tx_hash != NULL && height != NULL && index != NULL);
	rc = chain_txn_get(snap->t, CHAIN_DB_TXS, tx_hash->b, FL_HASH_LEN, &v, &vlen);
	if (rc != FL_OK)
		return rc;
	/* u64be(height) u32be(index) */
	if (vlen != 12)
		return FL_ECORRUPT;
	*height = chain_get_be64(v);
	*index = chain_get_be32(v + 8);
	return FL_OK;
}
