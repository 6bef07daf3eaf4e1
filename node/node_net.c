/*
 * node/node_net.c — the node on p2p/: who may connect (members, by the
 * chain's state), what each message does, the status every peer sends,
 * and block sync (committed blocks with their commits, fetched from peers
 * that are ahead, verified with chain_verify_commit, applied in order).
 */
#include "node/node_internal.h"

#include <assert.h>
#include <string.h>

#define LOG        "p2p"
#define SYNC       "sync"
#define SYNC_BATCH 32u /* blocks one request asks for */

static node__peer *peer_find(node *n, const fl_pubkey *id)
{
	for (unsigned i = 0; i < NODE__PEERS_MAX; i++)
		if (n->peers[i].peer != NULL && memcmp(n->peers[i].id.b, id->b, FL_PUBKEY_LEN) == 0)
			return &n->peers[i];
	return NULL;
}

static int is_member(void *ctx, const fl_pubkey *id)
{
	node *n = ctx;
	chain_account a;

	return chain_get_account(n->store, id, &a) == 0 && a.member && !a.jailed;
}

static void on_peer(void *ctx, p2p_peer *peer, int connected)
{
	node *n = ctx;
	node__peer *slot = peer_find(n, p2p_peer_id(peer));

	if (!connected) {
		/* Only this session's slot: when p2p keeps the newer of two
		 * sessions to one peer, the older one's close comes after the
		 * newer one's open and must not forget the peer. */
		if (slot != NULL && slot->peer == peer)
			memset(slot, 0, sizeof(*slot));
		node__sync_retarget(n);
		return;
	}
	if (slot == NULL)
		for (unsigned i = 0; i < NODE__PEERS_MAX && slot == NULL; i++)
			if (n->peers[i].peer == NULL)
				slot = &n->peers[i];
	if (slot == NULL)
		return;
	memset(slot, 0, sizeof(*slot));
	slot->peer = peer;
	slot->id = *p2p_peer_id(peer);
	node__net_send_status(n, peer);
}

/* ---------------------------------------------------------------- sends */

static int encode_proposal(node *n, fl_writer *w, const node_cons_proposal *p)
{
	node__block *b = node__block_find(n, &p->block_hash);
	node_wire_proposal wp;

	if (b == NULL)
		return FL_ENOTFOUND;
	memset(&wp, 0, sizeof(wp));
	wp.proposal = *p;
	wp.block_len = (uint32_t)b->n;
	wp.part = b->bytes;
	wp.part_len = b->n < NODE_WIRE_PART_MAX ? b->n : NODE_WIRE_PART_MAX;
	return node_wire_proposal_encode(w, &wp);
}

/* Gossip for the first send; the same bytes again are the seen-cache's
 * duplicate, so a re-send goes to each peer directly. */
static void send_all(node *n, uint16_t topic, uint16_t direct, const fl_writer *w)
{
	p2p_peer *peers[NODE__PEERS_MAX];
	size_t k;

	if (p2p_broadcast(n->p2p, topic, w->buf, w->len) != FL_EDUP)
		return;
	k = p2p_peers(n->p2p, peers, NODE__PEERS_MAX);
	for (size_t i = 0; i < k; i++)
		NODE__IGNORE(p2p_send(peers[i], direct, w->buf, w->len));
}

void node__net_broadcast_proposal(node *n, const node_cons_proposal *p)
{
	fl_writer w;

	fl_writer_init(&w, P2P_MAX_FRAME - 1024);
	if (encode_proposal(n, &w, p) == 0 && fl_writer_finish(&w) == 0)
		send_all(n, NODE_TOPIC_PROPOSAL, NODE_MSG_PROPOSAL, &w);
	fl_writer_free(&w);
}

void node__net_broadcast_vote(node *n, const chain_vote *v)
{
	fl_writer w;

	fl_writer_init(&w, 512);
	if (node_wire_vote_encode(&w, v) == 0 && fl_writer_finish(&w) == 0)
		send_all(n, NODE_TOPIC_VOTE, NODE_MSG_VOTE, &w);
	fl_writer_free(&w);
	if (n->opts.byzantine == NODE_BYZ_EQUIVOCATE) {
		/* Test mode: a second vote for another value, signed with the
		 * raw key past the signer's guard. */
		chain_vote other = *v;
		if (fl_hash_is_zero(&other.block_hash))
			memset(other.block_hash.b, 0xee, FL_HASH_LEN);
		else
			memset(other.block_hash.b, 0, FL_HASH_LEN);
		if (chain_vote_sign(&other, n->chain_id, &n->home.member_key) != 0)
			return;
		fl_writer_init(&w, 512);
		if (node_wire_vote_encode(&w, &other) == 0 && fl_writer_finish(&w) == 0)
			send_all(n, NODE_TOPIC_VOTE, NODE_MSG_VOTE, &w);
		fl_writer_free(&w);
	}
}

void node__net_send_status(node *n, p2p_peer *only)
{
	node_wire_status st;
	node_cons_status cs;
	p2p_peer *peers[NODE__PEERS_MAX];
	size_t k = 0;
	fl_writer w;

	node_cons_get_status(n->cons, &cs);
	st.height = n->info.height;
	st.cons_height = cs.height;
	st.cons_round = cs.round;
	st.cons_step = cs.step;
	fl_writer_init(&w, 64);
	if (node_wire_status_encode(&w, &st) == 0 && fl_writer_finish(&w) == 0) {
		if (only != NULL) {
			peers[0] = only;
			k = 1;
		} else {
			k = p2p_peers(n->p2p, peers, NODE__PEERS_MAX);
		}
		for (size_t i = 0; i < k; i++)
			NODE__IGNORE(p2p_send(peers[i], NODE_MSG_STATUS, w.buf, w.len));
	}
	fl_writer_free(&w);
}

/* ------------------------------------------------------------- receives */

static void on_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t len)
{
	node *n = ctx;
	node__peer *slot;
	node_wire_status st;

	switch (type) {
	case NODE_MSG_STATUS:
		if (node_wire_status_decode(&st, p, len) != 0) {
			p2p_peer_drop(peer, 0);
			return;
		}
		if ((slot = peer_find(n, p2p_peer_id(peer))) != NULL)
			slot->status = st;
		node__sync_retarget(n);
		node__net_sync(n, 0);
		break;
	case NODE_MSG_PROPOSAL:
		(void)node__cons_on_proposal(n, peer, p, len);
		break;
	case NODE_MSG_VOTE:
		(void)node__cons_on_vote(n, p, len);
		break;
	default:
		break; /* a later version's message: not ours to judge */
	}
}

static p2p_gossip_verdict on_gossip(void *ctx, p2p_peer *from, uint16_t topic, const uint8_t *p,
				    size_t len)
{
	node *n = ctx;

	switch (topic) {
	case NODE_TOPIC_TX:
		return node_mempool_verdict(node_mempool_add_bytes(n->mempool, p, len, NULL, NULL));
	case NODE_TOPIC_PROPOSAL:
		return node__cons_on_proposal(n, from, p, len);
	case NODE_TOPIC_VOTE:
		return node__cons_on_vote(n, p, len);
	default:
		return P2P_GOSSIP_IGNORE;
	}
}

/* Blocks from q.from with their commits, while they fit one frame. */
static void serve_blocks(node *n, p2p_peer *peer, uint64_t id, const node_wire_blocks_req *q)
{
	fl_writer w;
	uint32_t count = 0;
	size_t count_at;
	chain_commit *c = fl_malloc(sizeof(*c));
	int rc = 0;

	fl_writer_init(&w, P2P_MAX_FRAME - 1024);
	fl_write_u32(&w, 0);
	count_at = 0;
	for (uint64_t h = q->from; c != NULL && count < q->max && h <= n->info.height; h++) {
		uint8_t *bytes = NULL;
		size_t len = 0;
		size_t before = w.len;
		if (chain_get_block(n->store, h, &bytes, &len) != 0)
			break;
		if (chain_get_commit(n->store, h, c) != 0 ||
		    (count > 0 && before + len + sizeof(*c) > NODE_WIRE_BLOCKS_BYTES_MAX)) {
			fl_free(bytes);
			break;
		}
		rc = node_wire_blocks_item_encode(&w, bytes, len, c);
		fl_free(bytes);
		if (rc != 0)
			break;
		count++;
	}
	if (rc == 0 && c != NULL && (rc = fl_writer_finish(&w)) == 0) {
		/* The count goes first: patch it in place (little-endian u32). */
		for (int i = 0; i < 4; i++)
			w.buf[count_at + (size_t)i] = (uint8_t)(count >> (8 * i));
		NODE__IGNORE(p2p_respond(peer, id, FL_OK, w.buf, w.len));
	} else {
		NODE__IGNORE(p2p_respond(peer, id, c == NULL ? FL_ENOMEM : rc, NULL, 0));
	}
	fl_writer_free(&w);
	fl_free(c);
}

static void on_request(void *ctx, p2p_peer *peer, uint64_t id, uint16_t kind, const uint8_t *p,
		       size_t len)
{
	node *n = ctx;
	node_wire_blocks_req q;
	node_wire_part_req pq;

	if (kind == NODE_REQ_BLOCKS && node_wire_blocks_req_decode(&q, p, len) == 0) {
		serve_blocks(n, peer, id, &q);
		return;
	}
	if (kind == NODE_REQ_BLOCK_PART && node_wire_part_req_decode(&pq, p, len) == 0) {
		node__fetch_serve(n, peer, id, &pq);
		return;
	}
	NODE__IGNORE(p2p_respond(peer, id, FL_EINVAL, NULL, 0));
}

void node__net_config(node *n, p2p_config *cfg)
{
	p2p_config_default(cfg);
	cfg->identity = n->home.member_key;
	snprintf(cfg->network_id, sizeof(cfg->network_id), "%s", n->chain_id);
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", n->home.config.p2p.listen);
	if (n->home.config.p2p.max_inbound != 0)
		cfg->max_inbound = n->home.config.p2p.max_inbound;
	if (n->home.config.p2p.max_outbound != 0)
		cfg->max_outbound = n->home.config.p2p.max_outbound;
	/* What an honest peer may relay in a second: every tx the chain can
	 * commit at full blocks (one a block interval, counted as at least
	 * 100 ms) twice over, as a block's worth arrives while the last one
	 * commits, plus the consensus traffic; p2p's defaults as the floor.
	 * Under it, a network posted more transfers than 1,000 a second
	 * banned its own relays (each message over the rate scores). */
	const chain_params *pp = &n->info.params;
	uint64_t ms = pp->block_interval_ms > 100 ? pp->block_interval_ms : 100;
	uint64_t msgs = 2ull * pp->max_block_txs * 1000 / ms + 1000;
	uint64_t bytes = 2ull * pp->max_block_bytes * 1000 / ms;
	if (msgs > cfg->gossip_msgs_per_s)
		cfg->gossip_msgs_per_s = (uint32_t)(msgs < UINT32_MAX ? msgs : UINT32_MAX);
	if (bytes > cfg->gossip_bytes_per_s)
		cfg->gossip_bytes_per_s = (uint32_t)(bytes < UINT32_MAX ? bytes : UINT32_MAX);
	cfg->is_member = is_member;
	cfg->on_peer = on_peer;
	cfg->on_message = on_message;
	cfg->on_gossip = on_gossip;
	cfg->on_request = on_request;
	cfg->ctx = n;
}

/* ----------------------------------------------------------------- sync */

/* Blocks fetched ahead, in height order from info.height + 1. */
typedef struct sync_item {
	uint8_t *bytes;
	size_t n;
	chain_commit commit;
} sync_item;

static struct {
	sync_item items[SYNC_BATCH];
	unsigned n, head;
	int busy;
	unsigned asked; /* index into n->peers of the peer asked */
	uint64_t started_ms, start_height;
} sync_state;

/* The sync target is what connected peers say now: a peer that claimed a
 * height and left (or was found out) no longer holds it up. */
void node__sync_retarget(node *n)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < NODE__PEERS_MAX; i++)
		if (n->peers[i].peer != NULL && n->peers[i].status.height > t)
			t = n->peers[i].status.height;
	n->sync_target = t;
}

void node__sync_free(node *n)
{
	(void)n;
	for (unsigned i = sync_state.head; i < sync_state.n; i++)
		fl_free(sync_state.items[i].bytes);
	sync_state.n = sync_state.head = 0;
}

/* The next held block, if it is the next height and its commit holds. */
void node__sync_next(node *n)
{
	while (sync_state.head < sync_state.n && n->applying == 0) {
		sync_item *it = &sync_state.items[sync_state.head];
		chain_block_header hdr;
		fl_reader r;
		fl_hash hash;
		int rc;

		fl_reader_init(&r, it->bytes, it->n);
		if (chain_header_decode(&r, &hdr) != 0 || chain_header_hash(&hash, &hdr) != 0 ||
		    hdr.height <= n->info.height) {
			fl_free(it->bytes);
			sync_state.head++;
			continue;
		}
		if (hdr.height != n->info.height + 1)
			break;
		rc = chain_verify_commit(n->store, n->chain_id, hdr.height, &hash, &it->commit);
		if (rc != 0) {
			fl_log(FL_LOG_WARN, SYNC,
			       "height %llu: a peer's commit does not verify: %s",
			       (unsigned long long)hdr.height, fl_strerror(rc));
			node__sync_free(n);
			return;
		}
		node__job_apply(n, it->bytes, it->n, &it->commit, 1);
		fl_free(it->bytes);
		sync_state.head++;
		if (n->info.height + 1 == n->sync_target || hdr.height % 100 == 0) {
			uint64_t ms = node__now_ms() - sync_state.started_ms;
			fl_log(FL_LOG_INFO, SYNC, "synced to height %llu of %llu (%.0f blocks/s)",
			       (unsigned long long)hdr.height, (unsigned long long)n->sync_target,
			       ms > 0 ? (double)(hdr.height - sync_state.start_height) * 1000.0 /
					    (double)ms
				      : 0.0);
		}
		return; /* the apply's after_work comes back here */
	}
	if (sync_state.head == sync_state.n)
		sync_state.n = sync_state.head = 0;
	node__net_sync(n, 0);
}

static void on_blocks(void *arg, int status, const uint8_t *p, size_t len)
{
	node *n = arg;
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count;

	sync_state.busy = 0;
	if (n->stopping)
		return;
	if (status != FL_OK || node_wire_blocks_iter_begin(&it, p, len, &count) != 0 ||
	    count == 0) {
		/* It has not what it claimed: not asked again until its next
		 * status says more. */
		node__peer *pe =
		    sync_state.asked < NODE__PEERS_MAX ? &n->peers[sync_state.asked] : NULL;
		if (pe != NULL && pe->peer != NULL)
			pe->status.height = n->info.height;
		node__sync_retarget(n);
		return;
	}
	node__sync_free(n);
	while (sync_state.n < SYNC_BATCH && node_wire_blocks_iter_next(&it, &item) == 0) {
		sync_item *s = &sync_state.items[sync_state.n];
		if (item.part_len != item.block_len ||
		    (s->bytes = fl_malloc(item.part_len)) == NULL)
			break;
		memcpy(s->bytes, item.part, item.part_len);
		s->n = item.part_len;
		s->commit = item.commit;
		sync_state.n++;
	}
	node__sync_next(n);
}

/*
 * Asks one peer that is ahead for the next blocks. allow_one: also when it
 * is only one block ahead (the periodic tick), which consensus usually
 * closes by itself within the round.
 */
void node__net_sync(node *n, int allow_one)
{
	node__peer *best = NULL;
	fl_writer w;
	node_wire_blocks_req q;

	if (n->stopping || sync_state.busy || sync_state.n > sync_state.head || n->applying)
		return;
	if (n->sync_target <= n->info.height ||
	    (!allow_one && n->sync_target == n->info.height + 1))
		return;
	for (unsigned i = 0; i < NODE__PEERS_MAX; i++) {
		node__peer *pe = &n->peers[i];
		if (pe->peer != NULL && pe->status.height > n->info.height &&
		    (best == NULL || pe->status.height > best->status.height))
			best = pe;
	}
	if (best == NULL)
		return;
	sync_state.asked = (unsigned)(best - n->peers);
	if (sync_state.started_ms == 0 || n->sync_target > n->info.height + 1) {
		if (sync_state.start_height == 0 || sync_state.started_ms == 0) {
			sync_state.started_ms = node__now_ms();
			sync_state.start_height = n->info.height;
		}
	}
	q.from = n->info.height + 1;
	q.max = SYNC_BATCH;
	fl_writer_init(&w, 64);
	if (node_wire_blocks_req_encode(&w, &q) == 0 && fl_writer_finish(&w) == 0 &&
	    p2p_request(best->peer, NODE_REQ_BLOCKS, w.buf, w.len,
			n->home.config.timeouts.sync_request_ms, on_blocks, n) == 0)
		sync_state.busy = 1;
	fl_writer_free(&w);
}
