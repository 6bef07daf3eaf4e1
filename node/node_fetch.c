/*
 * node/node_fetch.c — blocks larger than one frame: a proposal carries the
 * block's first NODE_WIRE_PART_MAX bytes, and the rest is fetched part by
 * part (NODE_REQ_BLOCK_PART): from the round's proposer first (it surely
 * holds it), then the peer that sent the proposal (a relay that may not
 * hold it yet: gossip forwards a proposal as soon as its signature checks),
 * then every other peer, each asked once for the rest of the block before
 * the fetch is given up. The node serves parts of the blocks it holds, by
 * hash or height. Bounded: NODE__FETCH_MAX blocks at once, each at most
 * CHAIN_MAX_BLOCK_BYTES, one request each in flight, at most
 * 2 + NODE__PEERS_MAX sources; the whole block is checked against the
 * proposal's hash before it is held. Block
 * sync (node_net.c) fetches a committed block's parts through the same
 * request and part check.
 */
#include "node/node_internal.h"

#include <string.h>

#define LOG "p2p"

static void fetch_free(node__fetch *f)
{
	fl_free(f->buf);
	memset(f, 0, sizeof(*f));
}

static void fetch_request(node *n, node__fetch *f);

static void on_part(void *arg, int status, const uint8_t *p, size_t len)
{
	node__fetch *f = arg;
	node *n = f->node;
	node__block *b;
	int rc;

	f->busy = 0;
	if (n->stopping) {
		fetch_free(f);
		return;
	}
	if (status != FL_OK || !node__part_fits(f->len, f->have, len)) {
		/* This source lacks it or answered junk: the next one, from
		 * the same offset (the whole block is checked at the end). */
		f->attempt++;
		fetch_request(n, f);
		return;
	}
	memcpy(f->buf + f->have, p, len);
	f->have += len;
	if (f->have < f->len) {
		fetch_request(n, f);
		return;
	}
	/* Whole: the proposal's block, or nothing. */
	node__fetch done = *f;
	memset(f, 0, sizeof(*f));
	if ((b = node__block_put(n, done.buf, done.len, &done.proposal.block_hash, &rc)) != NULL)
		(void)node__cons_feed_proposal(n, &done.proposal, b);
	else if (rc == FL_EINVAL)
		fl_log(FL_LOG_INFO, LOG, "height %llu: fetched parts are not the proposal's block",
		       (unsigned long long)done.proposal.height);
	fl_free(done.buf);
}

int node__part_fits(size_t total, size_t have, size_t len)
{
	return len > 0 && len <= NODE_WIRE_PART_MAX && len <= total - have &&
	       (len == NODE_WIRE_PART_MAX || have + len == total);
}

int node__part_request(node *n, const fl_pubkey *from, const fl_hash *hash, size_t offset,
		       uint32_t timeout_ms, p2p_response_cb cb, void *arg)
{
	p2p_peer *peer = node__net_peer(n, from);
	node_wire_part_req q;
	fl_writer w;
	int rc;

	if (peer == NULL)
		return FL_ENOTFOUND;
	memset(&q, 0, sizeof(q));
	q.by_hash = 1;
	q.hash = *hash;
	q.offset = (uint32_t)offset;
	fl_writer_init(&w, 64);
	if ((rc = node_wire_part_req_encode(&w, &q)) == 0 && (rc = fl_writer_finish(&w)) == 0)
		rc = p2p_request(peer, NODE_REQ_BLOCK_PART, w.buf, w.len, timeout_ms, cb, arg);
	fl_writer_free(&w);
	return rc;
}

/* Source k of a fetch: 0 the proposer, 1 the sender, 2.. the peer slots;
 * NULL when that one is not connected or already counted. */
static const fl_pubkey *fetch_source(const node *n, const node__fetch *f, unsigned k)
{
	const fl_pubkey *proposer = &f->proposal.proposer;
	const fl_pubkey *id;

	if (k == 0)
		return proposer;
	if (k == 1)
		return memcmp(f->from.b, proposer->b, FL_PUBKEY_LEN) ? &f->from : NULL;
	if (k - 2 >= NODE__PEERS_MAX || n->peers[k - 2].peer == NULL)
		return NULL;
	id = &n->peers[k - 2].id;
	if (!memcmp(id->b, proposer->b, FL_PUBKEY_LEN) || !memcmp(id->b, f->from.b, FL_PUBKEY_LEN))
		return NULL;
	return id;
}

/* The next part from the current source, or the next source that is
 * connected; the fetch ends when none is left. */
static void fetch_request(node *n, node__fetch *f)
{
	for (; f->attempt < 2 + NODE__PEERS_MAX; f->attempt++) {
		const fl_pubkey *src = fetch_source(n, f, f->attempt);
		if (src != NULL && node__part_request(n, src, &f->proposal.block_hash, f->have,
						      n->home.config.timeouts.block_validation_ms,
						      on_part, f) == 0) {
			f->busy = 1;
			return;
		}
	}
	fl_log(FL_LOG_DEBUG, LOG, "height %llu: no peer gave the proposal's block",
	       (unsigned long long)f->proposal.height);
	fetch_free(f);
}

void node__fetch_start(node *n, p2p_peer *from, const node_wire_proposal *wp)
{
	node__fetch *slot = NULL;

	if (from == NULL || wp->block_len > n->info.params.max_block_bytes)
		return;
	for (unsigned i = 0; i < NODE__FETCH_MAX; i++) {
		node__fetch *f = &n->fetches[i];
		if (f->buf != NULL &&
		    fl_hash_cmp(&f->proposal.block_hash, &wp->proposal.block_hash) == 0)
			return; /* already coming */
		if (f->buf == NULL && slot == NULL)
			slot = f;
	}
	if (slot == NULL || (slot->buf = fl_malloc(wp->block_len)) == NULL)
		return;
	slot->node = n;
	slot->proposal = wp->proposal;
	slot->from = *p2p_peer_id(from);
	slot->len = wp->block_len;
	memcpy(slot->buf, wp->part, wp->part_len);
	slot->have = wp->part_len;
	fetch_request(n, slot);
}

/* Fetches whose callback is still due keep their slot until it runs. */
void node__fetch_free_all(node *n)
{
	for (unsigned i = 0; i < NODE__FETCH_MAX; i++)
		if (!n->fetches[i].busy)
			fetch_free(&n->fetches[i]);
}

void node__fetch_serve(node *n, p2p_peer *peer, uint64_t id, const node_wire_part_req *q)
{
	const node__block *b = q->by_hash ? node__block_find(n, &q->hash) : NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	uint64_t h = q->height;

	if (b != NULL) {
		if (q->offset >= b->n) {
			NODE__IGNORE(p2p_respond(peer, id, FL_EINVAL, NULL, 0));
			return;
		}
		len = b->n - q->offset < NODE_WIRE_PART_MAX ? b->n - q->offset : NODE_WIRE_PART_MAX;
		NODE__IGNORE(p2p_respond(peer, id, FL_OK, b->bytes + q->offset, len));
		return;
	}
	if ((q->by_hash && chain_get_block_height(n->store, &q->hash, &h) != 0) ||
	    chain_get_block(n->store, h, &bytes, &len) != 0) {
		NODE__IGNORE(p2p_respond(peer, id, FL_ENOTFOUND, NULL, 0));
		return;
	}
	if (q->offset >= len)
		NODE__IGNORE(p2p_respond(peer, id, FL_EINVAL, NULL, 0));
	else
		NODE__IGNORE(p2p_respond(
		    peer, id, FL_OK, bytes + q->offset,
		    len - q->offset < NODE_WIRE_PART_MAX ? len - q->offset : NODE_WIRE_PART_MAX));
	fl_free(bytes);
}
