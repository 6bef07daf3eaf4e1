/*
 * node/rpc_txs.c — POST /v1/txs: the body parser, admission into the
 * mempool with each refusal's status and code, and the queue of POSTs
 * that wait while the mempool is paused for a block (node/rpc.h).
 */
#include "node/rpc_internal.h"

#include <assert.h>
#include <string.h>

/* ------------------------------------------------------------- parsing */

int node_rpc_parse_tx_body(const uint8_t *body, size_t len, uint8_t *out, size_t cap, size_t *n,
			   const char **why)
{
	json_error_t err;
	const char *hex;
	json_t *root, *tx;
	size_t hex_len;
	int rc = FL_EPARSE;

	assert((body != NULL || len == 0) && (out != NULL || cap == 0) && n != NULL && why != NULL);
	*n = 0;
	*why = NULL;
	/* Duplicate keys refused: {"tx":A,"tx":B} must not mean either. EOF
	 * checked (jansson's default): nothing may follow the object. NUL in
	 * a string is refused (JSON_ALLOW_NUL unset). */
	root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*why = "body: not JSON";
		return FL_EPARSE;
	}
	if (!json_is_object(root) || json_object_size(root) != 1 ||
	    (tx = json_object_get(root, "tx")) == NULL) {
		*why = "body: must be {\"tx\":\"HEX\"}, with no other key";
		goto cleanup;
	}
	if (!json_is_string(tx)) {
		*why = "tx: must be a string of hex digits";
		goto cleanup;
	}
	hex = json_string_value(tx);
	hex_len = json_string_length(tx);
	if (hex_len == 0 || hex_len % 2 != 0) {
		*why = "tx: must be an even, non-zero number of hex digits";
		goto cleanup;
	}
	if (hex_len / 2 > cap) {
		*why = "tx: larger than a tx may be";
		rc = FL_ETOOBIG;
		goto cleanup;
	}
	if (fl_hex_decode(out, hex_len / 2, hex) != FL_OK) {
		*why = "tx: not hex";
		goto cleanup;
	}
	*n = hex_len / 2;
	rc = FL_OK;

cleanup:
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------ answering */

/* What each refusal of node_mempool_add_bytes is answered: the first row
 * whose code matches and whose words start with `words` (NULL: any). The
 * message is always the pool's own words, so the reason is named. */
static const struct {
	int rc;
	const char *words;
	int status;
	const char *code;
} refusals[] = {
    /* The pool is out of room: a retry after the next block may pass. */
    {FL_ETOOBIG, "mempool: full", 503, "mempool_full"},
    {FL_ETOOBIG, "mempool: sender has", 503, "mempool_full"},
    /* This tx is too large for the pool or for any block. */
    {FL_ETOOBIG, NULL, 413, "tx_too_large"},
    {FL_EDUP, NULL, 409, "tx_duplicate"},
    {FL_ESIG, NULL, 400, "tx_bad_signature"},
    {FL_ENOMEM, NULL, 503, "unavailable"},
    {FL_EDB, NULL, 503, "unavailable"},
    {FL_EIO, NULL, 503, "unavailable"},
};

/* Answers one admission's outcome; on FL_OK tells the node. */
static int answer_admission(node_rpc *r, node_http_exchange *ex, int rc, const uint8_t *tx,
			    size_t n, const fl_hash *h, const char *why)
{
	if (rc == FL_OK) {
		json_t *o = json_object();
		int ok = 1;

		if (r->tx_admitted != NULL)
			r->tx_admitted(r->node, tx, n, h);
		node__rpc_set(o, "hash", node__rpc_hash(h), &ok);
		o = node__rpc_done(o, ok);
		if (o == NULL)
			return node__rpc_fail(ex, FL_ENOMEM, NULL);
		rc = node_http_respond_json(ex, 202, o);
		json_decref(o);
		return rc;
	}
	if (why == NULL)
		why = fl_strerror(rc);
	for (size_t i = 0; i < FL_ARRAY_LEN(refusals); i++)
		if (refusals[i].rc == rc &&
		    (refusals[i].words == NULL ||
		     strncmp(why, refusals[i].words, strlen(refusals[i].words)) == 0))
			return node_http_respond_error(ex, refusals[i].status, refusals[i].code,
						       why);
	/* Malformed bytes or a wrong chain: the verdict that would score a
	 * gossiping peer (node/mempool.h) is what the client cannot fix by
	 * waiting. */
	if (node_mempool_verdict(rc) == P2P_GOSSIP_REJECT)
		return node_http_respond_error(ex, 400, "tx_malformed", why);
	/* A rule of the state refused it: nonce, balance, sender, round… */
	return node_http_respond_error(ex, 422, "tx_refused", why);
}

/* mempool.h's words for a pool between release and update: the one
 * FL_ESTATE that is not a refusal of the tx. */
static int is_paused(int rc, const char *why)
{
	return rc == FL_ESTATE && why != NULL && strcmp(why, "mempool: paused for a block") == 0;
}

/* ---------------------------------------------------------------- queue */

struct node__rpc_pending {
	struct node__rpc_pending *next;
	node_http_exchange *ex;
	size_t n;
	uint8_t tx[];
};

static int enqueue(node_rpc *r, node_http_exchange *ex, const uint8_t *tx, size_t n)
{
	struct node__rpc_pending *p;

	if (r->queue_len >= NODE_RPC_QUEUE_MAX || n > NODE_RPC_QUEUE_BYTES_MAX - r->queue_bytes)
		return node_http_respond_error(ex, 503, "busy",
					       "too many txs waiting for the mempool; retry");
	if ((p = fl_malloc(sizeof(*p) + n)) == NULL)
		return node__rpc_fail(ex, FL_ENOMEM, NULL);
	p->next = NULL;
	p->ex = ex;
	p->n = n;
	memcpy(p->tx, tx, n);
	if (r->queue_tail != NULL)
		r->queue_tail->next = p;
	else
		r->queue_head = p;
	r->queue_tail = p;
	r->queue_len++;
	r->queue_bytes += n;
	node_http_defer(ex);
	return FL_OK;
}

static struct node__rpc_pending *dequeue(node_rpc *r)
{
	struct node__rpc_pending *p = r->queue_head;

	if (p == NULL)
		return NULL;
	r->queue_head = p->next;
	if (r->queue_head == NULL)
		r->queue_tail = NULL;
	r->queue_len--;
	r->queue_bytes -= p->n;
	return p;
}

void node_rpc_mempool_resumed(node_rpc *r)
{
	struct node__rpc_pending *p;

	assert(r != NULL);
	while ((p = r->queue_head) != NULL) {
		const char *why = NULL;
		fl_hash h;
		int rc = node_mempool_add_bytes(r->mempool, p->tx, p->n, &h, &why);

		if (is_paused(rc, why))
			return; /* still paused: the next resume goes on */
		(void)dequeue(r);
		/* A client that left still had its tx admitted; the answer is
		 * dropped (node_http_respond: FL_EIO). */
		(void)answer_admission(r, p->ex, rc, p->tx, p->n, &h, why);
		fl_free(p);
	}
}

void node_rpc_shutdown(node_rpc *r)
{
	struct node__rpc_pending *p;

	assert(r != NULL);
	r->shut = 1;
	while ((p = dequeue(r)) != NULL) {
		(void)node_http_respond_error(p->ex, 503, "unavailable",
					      "the node is shutting down");
		fl_free(p);
	}
}

/* ----------------------------------------------------------------- POST */

int node__rpc_tx_post(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	node_rpc *r = ctx;
	const char *why = NULL;
	uint8_t *tx;
	size_t n, cap;
	fl_hash h;
	int rc;

	if (r->shut)
		return node_http_respond_error(ex, 503, "unavailable", "the node is shutting down");
	/* Hex is two digits a byte: no tx is longer than half the body. */
	cap = req->body_len / 2 < CHAIN_MAX_TX_BYTES ? req->body_len / 2 : CHAIN_MAX_TX_BYTES;
	if ((tx = fl_malloc(cap != 0 ? cap : 1)) == NULL)
		return node__rpc_fail(ex, FL_ENOMEM, NULL);
	rc = node_rpc_parse_tx_body(req->body, req->body_len, tx, cap, &n, &why);
	if (rc == FL_ETOOBIG)
		rc = node_http_respond_error(ex, 413, "tx_too_large", why);
	else if (rc != FL_OK)
		rc = node__rpc_bad(ex, why);
	else if (r->queue_head != NULL)
		/* Behind the txs already waiting: admission in arrival order. */
		rc = enqueue(r, ex, tx, n);
	else {
		rc = node_mempool_add_bytes(r->mempool, tx, n, &h, &why);
		if (is_paused(rc, why))
			rc = enqueue(r, ex, tx, n);
		else
			rc = answer_admission(r, ex, rc, tx, n, &h, why);
	}
	fl_free(tx);
	return rc;
}
