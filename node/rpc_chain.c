/*
 * node/rpc_chain.c — GET /status, /v1/blocks/{id} and /v1/txs/{hash}: the
 * chain's tip and its blocks, each answer read from one snapshot.
 */
#include "node/rpc_internal.h"
#include "node/version.h"

#include <string.h>

int node__rpc_status(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	node_rpc *r = ctx;
	chain_snapshot *snap = NULL;
	node_mempool_stats ms;
	node_rpc_live live;
	chain_info info;
	json_t *o, *cons, *mp;
	int rc, ok = 1;

	(void)req;
	if ((rc = chain_snapshot_begin(r->store, &snap)) != FL_OK)
		return node__rpc_fail(ex, rc, NULL);
	rc = chain_snap_info(snap, &info);
	chain_snapshot_end(snap);
	if (rc != FL_OK)
		return node__rpc_fail(ex, rc, "no genesis");
	memset(&live, 0, sizeof(live));
	if (r->live != NULL)
		r->live(r->node, &live);
	node_mempool_get_stats(r->mempool, &ms);

	o = json_object();
	node__rpc_set(o, "node_id", node__rpc_key(&r->node_id), &ok);
	node__rpc_set(o, "moniker", json_string(r->moniker), &ok);
	node__rpc_set(o, "chain_id", json_string(info.chain_id), &ok);
	node__rpc_set(o, "version", json_string(NODE_VERSION), &ok);
	node__rpc_set(o, "height", node__rpc_u64(info.height), &ok);
	node__rpc_set(o, "latest_block_hash", node__rpc_hash(&info.last_block_hash), &ok);
	node__rpc_set(o, "latest_app_hash", node__rpc_hash(&info.app_hash), &ok);
	node__rpc_set(o, "latest_block_time_ms", node__rpc_u64(info.last_time_ms), &ok);
	node__rpc_set(o, "genesis_hash", node__rpc_hash(&info.genesis_hash), &ok);
	node__rpc_set(o, "peers", json_integer(live.peers), &ok);
	node__rpc_set(o, "syncing", json_boolean(live.syncing), &ok);
	node__rpc_set(o, "sync_target_height", node__rpc_u64(live.sync_target_height), &ok);
	cons = json_object();
	node__rpc_set(cons, "height", node__rpc_u64(live.cons_height), &ok);
	node__rpc_set(cons, "round", json_integer(live.cons_round), &ok);
	node__rpc_set(cons, "step", json_string(node__rpc_cons_step_name(live.cons_step)), &ok);
	node__rpc_set(o, "consensus", cons, &ok);
	node__rpc_set(o, "validator", json_boolean(live.validator), &ok);
	mp = json_object();
	node__rpc_set(mp, "txs", node__rpc_u64(ms.count), &ok);
	node__rpc_set(mp, "bytes", node__rpc_u64(ms.bytes), &ok);
	node__rpc_set(o, "mempool", mp, &ok);
	return node__rpc_ok(ex, node__rpc_done(o, ok));
}

/* ---------------------------------------------------------------- blocks */

typedef struct {
	int latest;
	int by_hash;
	uint64_t height;
	fl_hash hash;
} block_id;

/* "latest", a decimal height (fl_parse_u64: no sign, no leading zero) or a
 * 64-hex-digit block hash. A height never has 64 digits, so the length
 * alone says which. */
static int parse_block_id(const char *s, block_id *id, const char **why)
{
	int rc;

	memset(id, 0, sizeof(*id));
	if (strcmp(s, "latest") == 0) {
		id->latest = 1;
		return FL_OK;
	}
	if (strlen(s) == FL_HASH_HEX_LEN) {
		id->by_hash = 1;
		*why = "id: a 64-character id must be a hex block hash";
		return node__rpc_parse_hash(s, &id->hash);
	}
	rc = fl_parse_u64(s, &id->height);
	if (rc == FL_EOVERFLOW)
		*why = "id: height over 2^64-1";
	else if (rc != FL_OK)
		*why = "id: not a height, a 64-hex-digit block hash or \"latest\"";
	return rc;
}

/* The block, its hash and its commit (zero n_sigs and *has_commit 0 when
 * not known) from one snapshot. */
static int read_block(node_rpc *r, const block_id *id, chain_block *b, fl_hash *hash,
		      chain_commit *commit, int *has_commit, const char **what)
{
	chain_snapshot *snap = NULL;
	uint8_t *bytes = NULL;
	uint64_t height = id->height;
	chain_info info;
	size_t n;
	int rc;

	*has_commit = 0;
	if ((rc = chain_snapshot_begin(r->store, &snap)) != FL_OK)
		return rc;
	if (id->latest) {
		if ((rc = chain_snap_info(snap, &info)) != FL_OK)
			goto cleanup;
		height = info.height;
	} else if (id->by_hash) {
		*what = "no block of that hash";
		if ((rc = chain_snap_get_block_height(snap, &id->hash, &height)) != FL_OK)
			goto cleanup;
	}
	*what =
	    height == 0 ? "no block at height 0 (the genesis has none)" : "no block at that height";
	if (height == 0) {
		rc = FL_ENOTFOUND;
		goto cleanup;
	}
	if ((rc = chain_snap_get_block(snap, height, &bytes, &n)) != FL_OK)
		goto cleanup;
	/* Stored canonical by the chain: a failure is damage, not a 400. */
	if (chain_block_decode(b, bytes, n) != FL_OK ||
	    chain_header_hash(hash, &b->header) != FL_OK) {
		rc = FL_ECORRUPT;
		goto cleanup;
	}
	rc = chain_snap_get_commit(snap, height, commit);
	if (rc == FL_OK)
		*has_commit = 1;
	else if (rc == FL_ENOTFOUND)
		rc = FL_OK;

cleanup:
	chain_snapshot_end(snap);
	fl_free(bytes);
	return rc;
}

static json_t *block_json(const chain_block *b, const fl_hash *hash, const chain_commit *commit,
			  int has_commit)
{
	json_t *o = json_object(), *txs = json_array();
	int ok = 1;

	for (uint32_t i = 0; txs != NULL && i < b->n_txs; i++)
		node__rpc_append(txs, node__rpc_tx_json(&b->txs[i]), &ok);
	node__rpc_set(o, "height", node__rpc_u64(b->header.height), &ok);
	node__rpc_set(o, "hash", node__rpc_hash(hash), &ok);
	node__rpc_set(o, "header", node__rpc_header_json(&b->header), &ok);
	node__rpc_set(o, "txs", txs, &ok);
	/* Block 1 follows the genesis, which nobody signs. */
	node__rpc_set(o, "last_commit",
		      b->header.height > 1 ? node__rpc_commit_json(&b->last_commit) : json_null(),
		      &ok);
	node__rpc_set(o, "commit", has_commit ? node__rpc_commit_json(commit) : json_null(), &ok);
	return node__rpc_done(o, ok);
}

int node__rpc_block(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	node_rpc *r = ctx;
	const char *why = NULL, *what = NULL;
	chain_commit commit;
	chain_block b;
	block_id id;
	fl_hash hash;
	int rc, has_commit;

	if (parse_block_id(node_http_param(req, "id"), &id, &why) != FL_OK)
		return node__rpc_bad(ex, why);
	memset(&b, 0, sizeof(b));
	rc = read_block(r, &id, &b, &hash, &commit, &has_commit, &what);
	if (rc == FL_OK)
		rc = node__rpc_ok(ex, block_json(&b, &hash, &commit, has_commit));
	else
		rc = node__rpc_fail(ex, rc, what);
	chain_block_free(&b);
	return rc;
}

/* ------------------------------------------------------------------- txs */

/* A committed tx: its block, from the tx index, in one snapshot. FL_OK
 * with *b decoded and *height, *index set. */
static int read_committed_tx(node_rpc *r, const fl_hash *h, chain_block *b, uint64_t *height,
			     uint32_t *index)
{
	chain_snapshot *snap = NULL;
	uint8_t *bytes = NULL;
	size_t n;
	int rc;

	if ((rc = chain_snapshot_begin(r->store, &snap)) != FL_OK)
		return rc;
	if ((rc = chain_snap_get_tx_location(snap, h, height, index)) != FL_OK)
		goto cleanup;
	if ((rc = chain_snap_get_block(snap, *height, &bytes, &n)) != FL_OK) {
		/* The index names a block the store must hold. */
		rc = rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
		goto cleanup;
	}
	if (chain_block_decode(b, bytes, n) != FL_OK || *index >= b->n_txs)
		rc = FL_ECORRUPT;

cleanup:
	chain_snapshot_end(snap);
	fl_free(bytes);
	return rc;
}

static int answer_pending(node_rpc *r, node_http_exchange *ex, const fl_hash *h)
{
	const uint8_t *p;
	chain_tx tx;
	size_t n;
	json_t *o;
	int rc, ok = 1;

	if (node_mempool_get_bytes(r->mempool, h, &p, &n) != FL_OK)
		return node__rpc_fail(ex, FL_ENOTFOUND, "no tx of that hash");
	memset(&tx, 0, sizeof(tx));
	/* The pool holds only canonical encodings it decoded itself. */
	if ((rc = chain_tx_decode(&tx, p, n)) != FL_OK) {
		chain_tx_free(&tx);
		return node__rpc_fail(ex, FL_ECORRUPT, NULL);
	}
	o = json_object();
	node__rpc_set(o, "pending", json_true(), &ok);
	node__rpc_set(o, "tx", node__rpc_tx_json(&tx), &ok);
	chain_tx_free(&tx);
	return node__rpc_ok(ex, node__rpc_done(o, ok));
}

int node__rpc_tx_get(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	node_rpc *r = ctx;
	uint64_t height = 0;
	uint32_t index = 0;
	chain_block b;
	fl_hash h;
	json_t *o;
	int rc, ok = 1;

	if (node__rpc_parse_hash(node_http_param(req, "hash"), &h) != FL_OK)
		return node__rpc_bad(ex, "hash: must be 64 hex digits");
	memset(&b, 0, sizeof(b));
	rc = read_committed_tx(r, &h, &b, &height, &index);
	if (rc == FL_ENOTFOUND) {
		chain_block_free(&b);
		return answer_pending(r, ex, &h);
	}
	if (rc != FL_OK) {
		chain_block_free(&b);
		return node__rpc_fail(ex, rc, NULL);
	}
	o = json_object();
	node__rpc_set(o, "tx", node__rpc_tx_json(&b.txs[index]), &ok);
	node__rpc_set(o, "height", node__rpc_u64(height), &ok);
	node__rpc_set(o, "index", json_integer(index), &ok);
	/* A block holds only txs that applied (chain_apply_block). */
	node__rpc_set(o, "result", json_string("ok"), &ok);
	chain_block_free(&b);
	return node__rpc_ok(ex, node__rpc_done(o, ok));
}
