/*
 * node/rpc_events.c — GET /v1/events and what the node publishes on it:
 * one "block" event per committed block and one "tx" event per tx in it
 * (docs/http.md, "The node's API"; the wire format is http_sse.c's).
 */
#include "node/rpc_internal.h"

#include <assert.h>

int node__rpc_events(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	int rc;

	(void)ctx;
	(void)req;
	rc = node_http_sse_start(ex, NODE_RPC_STREAM);
	if (rc == FL_OK)
		return FL_OK;
	if (rc == FL_ETOOBIG)
		return node_http_respond_error(ex, 503, "unavailable",
					       "too many event subscribers");
	return node__rpc_fail(ex, rc, NULL);
}

static json_t *block_event(const chain_block *b, const fl_hash *block_hash,
			   const fl_hash *app_hash_after)
{
	json_t *o = json_object();
	int ok = 1;

	node__rpc_set(o, "height", node__rpc_u64(b->header.height), &ok);
	node__rpc_set(o, "hash", node__rpc_hash(block_hash), &ok);
	node__rpc_set(o, "time_ms", node__rpc_u64(b->header.time_ms), &ok);
	node__rpc_set(o, "n_txs", json_integer(b->n_txs), &ok);
	node__rpc_set(o, "proposer", node__rpc_key(&b->header.proposer), &ok);
	node__rpc_set(o, "app_hash", node__rpc_hash(app_hash_after), &ok);
	return node__rpc_done(o, ok);
}

static json_t *tx_event(const chain_tx *tx, uint64_t height, uint32_t index)
{
	const char *kind = chain_tx_kind_name(tx->kind);
	json_t *o;
	fl_hash h;
	int ok = 1;

	if (chain_tx_hash(&h, tx) != FL_OK)
		return NULL;
	o = json_object();
	node__rpc_set(o, "hash", node__rpc_hash(&h), &ok);
	node__rpc_set(o, "height", node__rpc_u64(height), &ok);
	node__rpc_set(o, "index", json_integer(index), &ok);
	node__rpc_set(o, "kind", json_string(kind != NULL ? kind : "unknown"), &ok);
	/* A committed block holds only txs that applied. */
	node__rpc_set(o, "result", json_string("ok"), &ok);
	return node__rpc_done(o, ok);
}

static int publish(node_rpc *r, const char *event, json_t *data)
{
	int rc;

	if (data == NULL)
		return FL_ENOMEM;
	rc = node_http_sse_publish(r->http, NODE_RPC_STREAM, event, data);
	json_decref(data);
	return rc;
}

int node_rpc_publish_block(node_rpc *r, const chain_block *b, const fl_hash *block_hash,
			   const fl_hash *app_hash_after)
{
	int rc;

	assert(r != NULL && b != NULL && block_hash != NULL && app_hash_after != NULL);
	if ((rc = publish(r, "block", block_event(b, block_hash, app_hash_after))) != FL_OK)
		return rc;
	for (uint32_t i = 0; i < b->n_txs; i++)
		if ((rc = publish(r, "tx", tx_event(&b->txs[i], b->header.height, i))) != FL_OK)
			return rc;
	return FL_OK;
}
