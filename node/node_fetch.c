/*
 * node/node_fetch.c — blocks larger than one frame: a proposal carries the
 * block's first NODE_WIRE_PART_MAX bytes, and the rest is fetched part by
 * part (NODE_REQ_BLOCK_PART) from the peer that sent it; the node serves
 * parts of the blocks it holds, by hash or height. Bounded: NODE__FETCH_MAX
 * blocks at once, each at most CHAIN_MAX_BLOCK_BYTES, one request each in
 * flight; the whole block is checked against the proposal's hash.
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
	if (n->stopping || status != FL_OK || len == 0 || len > f->len - f->have ||
	    (len < NODE_WIRE_PART_MAX && f->have + len != f->len)) {
		fetch_free(f);
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
	if ((b = node__block_put(n, done.buf, done.len, &rc)) != NULL &&
	    fl_hash_cmp(&b->hash, &done.proposal.block_hash) == 0)
		(void)node__cons_feed_proposal(n, &done.proposal, b);
	fl_free(done.buf);
}

static void fetch_request(node *n, node__fetch *f)
{
	node_wire_part_req q;
	p2p_peer *peers[NODE__PEERS_MAX];
	p2p_peer *from = NULL;
	fl_writer w;
	size_t k;

	/* The peer that sent the proposal, if it is still there. */
	k = p2p_peers(n->p2p, peers, NODE__PEERS_MAX);
	for (size_t i = 0; i < k; i++)
		if (memcmp(p2p_peer_id(peers[i])->b, f->from.b, FL_PUBKEY_LEN) == 0)
			from = peers[i];
	if (from == NULL) {
		fetch_free(f);
		return;
	}
	memset(&q, 0, sizeof(q));
	q.by_hash = 1;
	q.hash = f->proposal.block_hash;
	q.offset = (uint32_t)f->have;
	fl_writer_init(&w, 64);
	if (node_wire_part_req_encode(&w, &q) == 0 && fl_writer_finish(&w) == 0 &&
	    p2p_request(from, NODE_REQ_BLOCK_PART, w.buf, w.len,
			n->home.config.timeouts.block_validation_ms, on_part, f) == 0)
		f->busy = 1;
	else
		fetch_free(f);
	fl_writer_free(&w);
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
