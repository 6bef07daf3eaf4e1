/*
 * node/rpc.h — the node's HTTP API (interfaces.md "Node HTTP API",
 * docs/http.md "The node's API"): the handlers of GET /status, blocks,
 * txs, accounts, profiles, rounds, blobs, validators, events and POST
 * /v1/txs, as a route table for node_http_init, and the publishing of
 * block and tx events.
 *
 * Every GET answer is built from one chain snapshot (chain_snapshot_begin):
 * it describes one height even while blocks commit. Hashes and keys are
 * lowercase hex; u64 values are JSON integers up to 2^53 and decimal
 * strings above (the genesis file's rule); enums are their names.
 *
 * Threading: everything here runs on the node's loop thread, the thread of
 * the HTTP server (node_http_init's loop), which also owns the mempool.
 *
 * Ownership: the node embeds the node_rpc struct and owns every handle it
 * points to; they must outlive the HTTP server. After node_rpc_init,
 * node_rpc_shutdown must run before node_http_close can finish (it answers
 * the POSTs waiting in the queue, which the server waits for).
 */
#ifndef FEDLEDGER_NODE_RPC_H
#define FEDLEDGER_NODE_RPC_H

#include "chain/chain.h"
#include "node/blobstore.h"
#include "node/http.h"
#include "node/mempool.h"
#include "node/metrics.h"

/* POSTs waiting for a paused mempool, by count and by tx bytes: one past
 * either is answered 503 {"code":"busy"}. The HTTP server's connection
 * limit bounds them too (a connection has one request at a time). */
#define NODE_RPC_QUEUE_MAX       4096u
#define NODE_RPC_QUEUE_BYTES_MAX (32u * 1024 * 1024)
/* POST /v1/txs body cap (interfaces.md: 1 MiB by default). */
#define NODE_RPC_TX_BODY_MAX NODE_HTTP_BODY_DEFAULT
/* The SSE stream of GET /v1/events. */
#define NODE_RPC_STREAM "events"

/* What only the running node knows, asked at each GET /status. */
typedef struct {
	uint32_t peers;
	int syncing; /* 1 while block sync runs */
	uint64_t sync_target_height;
	uint64_t cons_height;
	uint32_t cons_round;
	uint8_t cons_step; /* node_cons_step (node/consensus.h) */
	int validator;     /* this node is in the current validator set */
} node_rpc_live;

struct node__rpc_pending;

typedef struct {
	chain_store *store;
	node_mempool *mempool;
	node_blobstore *blobs;
	node_metrics *metrics;
	node_http_server *http; /* where events are published */
	fl_pubkey node_id;
	char moniker[CHAIN_NAME_MAX + 1];
	/* Fills *out (zeroed before the call); NULL = all zero. */
	void (*live)(void *node, node_rpc_live *out);
	/* A tx admitted through POST /v1/txs (its canonical encoding, valid
	 * during the call): the node gossips it. May be NULL. */
	void (*tx_admitted)(void *node, const uint8_t *tx, size_t n, const fl_hash *hash);
	void *node;

	/* private: POSTs waiting for the mempool, in arrival order */
	struct node__rpc_pending *queue_head, *queue_tail;
	size_t queue_len, queue_bytes;
	int shut; /* node_rpc_shutdown ran: POSTs are answered 503 */
} node_rpc;

/* Checks the public fields (store, mempool, blobs, metrics, http set: an
 * assert) and empties the private ones. FL_OK. */
int node_rpc_init(node_rpc *r) FL_MUST_CHECK;

/* The route table (static): node_http_init(…, routes, n, r) with the
 * node_rpc as its ctx. */
void node_rpc_routes(const node_http_route **routes, size_t *n);

/*
 * The mempool refuses admission with FL_ESTATE "mempool: paused for a
 * block" while the node applies a block. POST /v1/txs then defers its
 * exchange into the queue (and every later POST joins the queue behind it,
 * so txs are admitted in arrival order). The node calls this right after
 * node_mempool_update: it admits the queued txs in order and answers each
 * as POST would have. If the mempool is still (or again) paused it stops,
 * keeping the rest queued.
 */
void node_rpc_mempool_resumed(node_rpc *r);

/* Answers every queued POST 503 {"code":"unavailable"} and frees the queue;
 * later POSTs are answered 503 at once. Idempotent. */
void node_rpc_shutdown(node_rpc *r);

/*
 * Publishes on stream "events" one event "block" {height, hash, time_ms,
 * n_txs, proposer, app_hash} (app_hash_after: the state after b, which
 * b's header does not carry) and one event "tx" {hash, height, index,
 * kind, result:"ok"} per tx of b, in block order. FL_OK, FL_ENOMEM, or
 * node_http_sse_publish's code (the events after a failed one are not
 * sent).
 */
int node_rpc_publish_block(node_rpc *r, const chain_block *b, const fl_hash *block_hash,
			   const fl_hash *app_hash_after) FL_MUST_CHECK;

/*
 * The POST /v1/txs body parser, a pure function (fuzz_rpc_tx_body): body
 * must be exactly {"tx":"HEX"} (one key, no duplicate, nothing after the
 * object, HEX an even number of hex digits of either case, not empty).
 * The decoded bytes go to out (cap bytes); *n gets their count. FL_OK;
 * FL_EPARSE (not JSON, not that shape, bad hex) or FL_ETOOBIG (more than
 * cap bytes), with *why static words for the answer's message.
 */
int node_rpc_parse_tx_body(const uint8_t *body, size_t len, uint8_t *out, size_t cap, size_t *n,
			   const char **why) FL_MUST_CHECK;

#endif
