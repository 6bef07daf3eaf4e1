/*
 * node/rpc.c — the API's route table (docs/http.md, "The node's API"),
 * node_rpc_init, and the answers every handler shares: health, metrics,
 * errors for failed lookups, path parameters.
 */
#include "node/rpc_internal.h"

#include <assert.h>
#include <string.h>

static int rpc_health(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)req;
	return node__rpc_ok(ex, json_pack("{s:b}", "ok", 1));
}

static int rpc_metrics(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	const node_rpc *r = ctx;

	(void)req;
	return node_metrics_respond(r->metrics, ex);
}

/* The first match wins (node/http.h): no two patterns here overlap. Only
 * POST /v1/txs takes a body. */
static const node_http_route routes[] = {
    {NODE_HTTP_GET, "/health", rpc_health, 0},
    {NODE_HTTP_GET, "/status", node__rpc_status, 0},
    {NODE_HTTP_GET, "/metrics", rpc_metrics, 0},
    {NODE_HTTP_GET, "/v1/blocks/{id}", node__rpc_block, 0},
    {NODE_HTTP_GET, "/v1/txs/{hash}", node__rpc_tx_get, 0},
    {NODE_HTTP_POST, "/v1/txs", node__rpc_tx_post, NODE_RPC_TX_BODY_MAX},
    {NODE_HTTP_GET, "/v1/accounts/{id}", node__rpc_account, 0},
    {NODE_HTTP_GET, "/v1/profiles", node__rpc_profiles, 0},
    {NODE_HTTP_GET, "/v1/profiles/{id}", node__rpc_profile, 0},
    {NODE_HTTP_GET, "/v1/profiles/{id}/rounds/{r}", node__rpc_round, 0},
    {NODE_HTTP_GET, "/v1/blobs/{hash}", node__rpc_blob, 0},
    {NODE_HTTP_GET, "/v1/validators", node__rpc_validators, 0},
    {NODE_HTTP_GET, "/v1/events", node__rpc_events, 0},
};

void node_rpc_routes(const node_http_route **out, size_t *n)
{
	assert(out != NULL && n != NULL);
	*out = routes;
	*n = FL_ARRAY_LEN(routes);
}

int node_rpc_init(node_rpc *r)
{
	assert(r != NULL && r->store != NULL && r->mempool != NULL && r->blobs != NULL &&
	       r->metrics != NULL && r->http != NULL);
	r->queue_head = r->queue_tail = NULL;
	r->queue_len = r->queue_bytes = 0;
	r->shut = 0;
	return FL_OK;
}

/* ------------------------------------------------------------- answers */

int node__rpc_fail(node_http_exchange *ex, int rc, const char *what)
{
	switch (rc) {
	case FL_ENOTFOUND:
		return node_http_respond_error(ex, 404, "not_found", what);
	case FL_ENOMEM:
		return node_http_respond_error(ex, 503, "unavailable", "out of memory");
	case FL_ETOOBIG:
		/* The store's reader slots (chain.h): a retry soon succeeds. */
		return node_http_respond_error(ex, 503, "unavailable", "store busy");
	default:
		return node_http_respond_error(ex, 500, "internal", fl_strerror(rc));
	}
}

int node__rpc_bad(node_http_exchange *ex, const char *message)
{
	return node_http_respond_error(ex, 400, "bad_request", message);
}

int node__rpc_ok(node_http_exchange *ex, json_t *body)
{
	int rc;

	if (body == NULL)
		return node__rpc_fail(ex, FL_ENOMEM, NULL);
	rc = node_http_respond_json(ex, 200, body);
	json_decref(body);
	return rc;
}

int node__rpc_parse_hash(const char *s, fl_hash *out)
{
	/* fl_hash_from_hex checks the length and every digit: the string
	 * goes nowhere else. */
	if (s == NULL || strlen(s) != FL_HASH_HEX_LEN)
		return FL_EPARSE;
	return fl_hash_from_hex(out, s);
}
