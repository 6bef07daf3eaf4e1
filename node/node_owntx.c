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
 *
 * The own mempool refuses every tx while a block is being applied
 * ("mempool: paused for a block"); an own tx signed then waits in `pending`
 * (signed, in nonce order, at most NODE__OWN_PENDING_MAX) and is admitted
 * as soon as the block is in (node__own_txs_flush, after each apply and
 * each tick): a member's update signed in that moment must not be lost.
 * Later own txs queue behind it, so nonces stay in order.
 */
#include "node/node_internal.h"

#include <string.h>

#define LOG "node"

static int is_paused(int rc, const char *reason)
{
	return rc == FL_ESTATE && reason != NULL && strcmp(reason, "mempool: paused for a block") == 0;
}

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
	return next + queued + n->n_own_pending;
}

/* Admitted: remembered for the nonce and the re-sends, and gossiped. */
static void admitted(node *n, const chain_tx *tx, const fl_hash *h, const char *what)
{
	fl_writer w;

	n->own_txs[n->n_own_txs].hash = *h;
	n->own_txs[n->n_own_txs].sent_ms = node__now_ms();
	n->own_txs[n->n_own_txs].resends = 0;
	n->n_own_txs++;
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if (chain_tx_encode(&w, tx) == 0 && fl_writer_finish(&w) == 0)
		if (p2p_broadcast(n->p2p, NODE_TOPIC_TX, w.buf, w.len) != 0)
			fl_log(FL_LOG_DEBUG, LOG, "%s tx not gossiped", what);
	fl_writer_free(&w);
}

void node__own_txs_flush(node *n)
{
	while (n->n_own_pending > 0 && n->n_own_txs < NODE__OWN_TXS_MAX) {
		node__own_pending *q = &n->own_pending[0];
		const char *reason = NULL;
		fl_hash h;
		int rc = node_mempool_add(n->mempool, &q->tx, &h, &reason);

		if (is_paused(rc, reason))
			return; /* the next apply's end comes back */
		if (rc == 0) {
			admitted(n, &q->tx, &h, q->what);
		} else {
			fl_log(FL_LOG_INFO, LOG, "%s tx not admitted: %s", q->what,
			       reason != NULL ? reason : fl_strerror(rc));
			/* Those after it were signed with the nonces that follow. */
			for (unsigned i = 0; i < n->n_own_pending; i++)
				chain_tx_free(&n->own_pending[i].tx);
			n->n_own_pending = 0;
			return;
		}
		chain_tx_free(&q->tx);
		memmove(n->own_pending, n->own_pending + 1,
			(n->n_own_pending - 1) * sizeof(n->own_pending[0]));
		n->n_own_pending--;
	}
}

void node__own_txs_free(node *n)
{
	for (unsigned i = 0; i < n->n_own_pending; i++)
		chain_tx_free(&n->own_pending[i].tx);
	n->n_own_pending = 0;
}

int node__submit_own_tx(node *n, chain_tx *tx, fl_hash *hash, const char *what)
{
	const char *reason = NULL;
	fl_hash h;
	int rc;

	tx->sender = n->home.member_id;
	tx->nonce = next_nonce(n);
	if (n->n_own_txs + n->n_own_pending >= NODE__OWN_TXS_MAX) {
		fl_log(FL_LOG_WARN, LOG, "%s tx not sent: %u own txs already queued", what,
		       n->n_own_txs + n->n_own_pending);
		return FL_ETOOBIG;
	}
	if ((rc = chain_tx_sign(tx, n->chain_id, &n->home.member_key)) != 0) {
		fl_log(FL_LOG_WARN, LOG, "%s tx not signed: %s", what, fl_strerror(rc));
		return rc;
	}
	if ((rc = chain_tx_hash(&h, tx)) != 0)
		return rc;
	if (hash != NULL)
		*hash = h;
	if (n->n_own_pending == 0) {
		rc = node_mempool_add(n->mempool, tx, &h, &reason);
		if (rc == 0) {
			admitted(n, tx, &h, what);
			return FL_OK;
		}
		if (!is_paused(rc, reason)) {
			fl_log(FL_LOG_INFO, LOG, "%s tx not admitted: %s", what,
			       reason != NULL ? reason : fl_strerror(rc));
			return rc;
		}
	}
	/* Paused for a block (or behind one that was): it goes in after it. */
	if (n->n_own_pending == NODE__OWN_PENDING_MAX ||
	    chain_tx_copy(&n->own_pending[n->n_own_pending].tx, tx) != FL_OK) {
		fl_log(FL_LOG_WARN, LOG, "%s tx not sent: no room to wait for the block", what);
		return FL_ETOOBIG;
	}
	n->own_pending[n->n_own_pending].what = what;
	n->n_own_pending++;
	return FL_OK;
}

void node__own_txs_tick(node *n)
{
	uint64_t now = node__now_ms();

	node__own_txs_flush(n);
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
