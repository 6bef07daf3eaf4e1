/*
 * node/node_rpc.c — the node's HTTP API (node/rpc.h) wired in: the blob
 * store, the server on config rpc.listen with its bounds and CORS, what
 * only the running node knows for /status, gossip of txs posted to it,
 * and the SSE events and queued POSTs after each commit.
 */
#include "node/node_internal.h"

#include <stdio.h>
#include <string.h>

#define LOG "rpc"

static void live(void *ctx, node_rpc_live *out)
{
	node *n = ctx;
	node_cons_status st;
	chain_validator_set set;

	out->peers = (uint32_t)p2p_peer_count(n->p2p);
	out->sync_target_height = n->sync_target > n->info.height ? n->sync_target : n->info.height;
	out->syncing = n->sync_target > n->info.height + 1;
	node_cons_get_status(n->cons, &st);
	out->cons_height = st.height;
	out->cons_round = st.round;
	out->cons_step = st.step;
	out->validator = 0;
	if (chain_get_validator_set(n->store, n->info.height + 1, &set) == 0)
		for (uint32_t i = 0; i < set.n; i++)
			if (memcmp(set.pubkey[i].b, n->home.member_id.b, FL_PUBKEY_LEN) == 0)
				out->validator = 1;
}

static void tx_admitted(void *ctx, const uint8_t *tx, size_t len, const fl_hash *hash)
{
	node *n = ctx;

	(void)hash;
	NODE__IGNORE(p2p_broadcast(n->p2p, NODE_TOPIC_TX, tx, len));
}

int node__rpc_open(node *n, char *err, size_t errlen)
{
	const node_config *c = &n->home.config;
	const node_http_route *routes;
	node_http_config hc;
	size_t n_routes;
	int rc;

	if ((rc = node_blobstore_open(&n->blobs, n->home.blob_dir, 0)) != 0) {
		snprintf(err, errlen, "%s: cannot open the blob store: %s", n->home.blob_dir,
			 fl_strerror(rc));
		return rc;
	}
	node_http_config_default(&hc);
	snprintf(hc.listen, sizeof(hc.listen), "%s", c->rpc.listen);
	hc.max_connections = c->rpc.max_connections;
	hc.request_timeout_ms = c->rpc.request_timeout_ms;
	if (hc.header_timeout_ms > hc.request_timeout_ms)
		hc.header_timeout_ms = hc.request_timeout_ms;
	for (uint32_t i = 0; i < c->rpc.n_cors_allowed_origins && i < NODE_HTTP_CORS_MAX; i++) {
		if (strlen(c->rpc.cors_allowed_origins[i]) >= NODE_HTTP_ORIGIN_MAX)
			continue;
		snprintf(hc.cors_origins[hc.n_cors_origins++], NODE_HTTP_ORIGIN_MAX, "%s",
			 c->rpc.cors_allowed_origins[i]);
	}
	memset(&n->rpc, 0, sizeof(n->rpc));
	n->rpc.store = n->store;
	n->rpc.mempool = n->mempool;
	n->rpc.blobs = n->blobs;
	n->rpc.metrics = &n->metrics;
	n->rpc.http = &n->http;
	n->rpc.node_id = n->home.member_id;
	snprintf(n->rpc.moniker, sizeof(n->rpc.moniker), "%s", c->moniker);
	n->rpc.live = live;
	n->rpc.tx_admitted = tx_admitted;
	n->rpc.node = n;
	if ((rc = node_rpc_init(&n->rpc)) != 0)
		return rc;
	node_rpc_routes(&routes, &n_routes);
	if ((rc = node_http_init(&n->http, n->loop, &hc, routes, n_routes, &n->rpc)) != 0) {
		snprintf(err, errlen, "%s: rpc: %s", n->home.config_path, fl_strerror(rc));
		return rc;
	}
	n->http_open = 1;
	if ((rc = node_http_start(&n->http)) != 0) {
		snprintf(err, errlen, "%s: rpc.listen \"%s\": cannot listen: %s",
			 n->home.config_path, c->rpc.listen, fl_strerror(rc));
		return rc;
	}
	return FL_OK;
}

static void http_closed(node_http_server *s)
{
	node *n = (node *)((char *)s - offsetof(node, http));

	n->handles--;
}

void node__rpc_close(node *n)
{
	if (!n->http_open)
		return;
	n->http_open = 0;
	node_rpc_shutdown(&n->rpc);
	n->handles++;
	node_http_close(&n->http, http_closed);
}

void node__rpc_committed(node *n, const chain_block *b, const fl_hash *hash)
{
	if (!n->http_open)
		return;
	if (node_rpc_publish_block(&n->rpc, b, hash, &n->info.app_hash) != 0)
		fl_log(FL_LOG_DEBUG, LOG, "events of height %llu not published",
		       (unsigned long long)b->header.height);
	node_rpc_mempool_resumed(&n->rpc);
}

uint16_t node__rpc_port(const node *n)
{
	return n->http_open ? node_http_port(&n->http) : 0;
}
