/*
 * node/node_owntx.c — the txs this node signs itself (evidence, round
 * joins, update and aggregate commits, eval reports): each takes the next
 * nonce of the member key, is admitted to the own mempool and gossiped.
 *
 * The next nonce is the committed one + 1 past every own tx still queued:
 * the node may sign several txs before a block carries the first (a join
 * and an update in one window, evidence meanwhile), and the mempool admits
 * a sender's nonce n + 1 only after n. Remembering the hashes of what it
 * signed (own_txs) and asking the mempool which are still there keeps this
 * right when a tx lands, is evicted or goes stale, without a counter that
 * drifts from the chain.
 *
 * Gossip alone can lose a sender's run of txs: a peer that gets nonce n + 1
 * before n (another path, or n refused because that peer had not applied
 * the block that made n valid yet) refuses it, and its seen-cache then
 * drops every copy that follows. So once the oldest own tx still queued
 * was sent RESEND_MS ago, every queued own tx is sent again, in nonce
 * order, straight to every peer (each at most RESENDS_MAX times): a peer
 * that refused the first of a run gets the whole run in order, while a
 * round's window (a few blocks) is still open.
 */
#include "node/node_internal.h"

#include <string.h>

#define LOG "node"

#define RESEND_MS   1000u
#define RESENDS_MAX 30u

static uint64_t next_nonce(node *n)
{
	chain_account acct;
	uint64_t next = 1;
	unsigned queued = 0;

	if (chain_get_account(n->store, &n->home.member_id, &acct) == 0)
		next = acct.nonce + 1;
	for (unsigned i = 0; i < n->n_own_txs; i++)
		if (node_mempool_contains(n->mempool, &n->own_txs[i].hash))
			n->own_txs[queued++] = n->own_txs[i];
	n->n_own_txs = queued;
	return next + queued;
}

int node__submit_own_tx(node *n, chain_tx *tx, fl_hash *hash, const char *what)
{
	const char *reason = NULL;
	fl_hash h;
	fl_writer w;
	int rc;

	tx->sender = n->home.member_id;
	tx->nonce = next_nonce(n);
	if (n->n_own_txs == NODE__OWN_TXS_MAX) {
		fl_log(FL_LOG_WARN, LOG, "%s tx not sent: %u own txs already queued", what,
		       n->n_own_txs);
		return FL_ETOOBIG;
	}
	if ((rc = chain_tx_sign(tx, n->chain_id, &n->home.member_key)) != 0) {
		fl_log(FL_LOG_WARN, LOG, "%s tx not signed: %s", what, fl_strerror(rc));
		return rc;
	}
	if ((rc = node_mempool_add(n->mempool, tx, &h, &reason)) != 0) {
		fl_log(FL_LOG_INFO, LOG, "%s tx not admitted: %s", what,
		       reason != NULL ? reason : fl_strerror(rc));
		return rc;
	}
	n->own_txs[n->n_own_txs].hash = h;
	n->own_txs[n->n_own_txs].sent_ms = node__now_ms();
	n->own_txs[n->n_own_txs].resends = 0;
	n->n_own_txs++;
	if (hash != NULL)
		*hash = h;
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if (chain_tx_encode(&w, tx) == 0 && fl_writer_finish(&w) == 0)
		if (p2p_broadcast(n->p2p, NODE_TOPIC_TX, w.buf, w.len) != 0)
			fl_log(FL_LOG_DEBUG, LOG, "%s tx not gossiped", what);
	fl_writer_free(&w);
	return FL_OK;
}

void node__own_txs_tick(node *n)
{
	uint64_t now = node__now_ms();

	(void)next_nonce(n); /* drops what is no longer queued; signing order = nonce order */
	if (n->n_own_txs == 0 || now - n->own_txs[0].sent_ms < RESEND_MS)
		return;
	for (unsigned i = 0; i < n->n_own_txs; i++) {
		const uint8_t *p;
		size_t len;

		if (n->own_txs[i].resends >= RESENDS_MAX ||
		    node_mempool_get_bytes(n->mempool, &n->own_txs[i].hash, &p, &len) != 0)
			continue;
		node__net_resend_tx(n, p, len);
		n->own_txs[i].sent_ms = now;
		n->own_txs[i].resends++;
	}
}
