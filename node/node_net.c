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

void node__net_resend_tx(node *n, const uint8_t *p, size_t len)
{
	p2p_peer *peers[NODE__PEERS_MAX];
	size_t k = p2p_peers(n->p2p, peers, NODE__PEERS_MAX);

	for (size_t i = 0; i < k; i++)
		NODE__IGNORE(p2p_send(peers[i], NODE_MSG_TX, p, len));
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

/* One token of the peer's direct-tx bucket, or 0 when it is empty. */
static int direct_tx_token(node__peer *slot)
{
	uint64_t now = node__now_ms();
	uint64_t add = (now - slot->tx_refill_ms) * NODE__DIRECT_TXS_PER_S / 1000;

	if (slot->tx_refill_ms == 0 || add >= NODE__DIRECT_TXS_PER_S ||
	    slot->tx_tokens + add >= NODE__DIRECT_TXS_PER_S) {
		slot->tx_tokens = NODE__DIRECT_TXS_PER_S;
		slot->tx_refill_ms = now;
	} else if (add > 0) {
		slot->tx_tokens += (uint32_t)add;
		slot->tx_refill_ms += add * 1000 / NODE__DIRECT_TXS_PER_S;
	}
	if (slot->tx_tokens == 0)
		return 0;
	slot->tx_tokens--;
	return 1;
}

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
	case NODE_MSG_TX:
		/* A sender's own tx again (node_owntx.c): one this node refused at
		 * first (its predecessor had not come yet) or never saw. Admitted,
		 * it goes on as gossip, for the peers that missed it too. Direct
		 * messages pass no gossip rate limit, so each peer gets a bucket:
		 * an honest one re-sends at most NODE__OWN_TXS_MAX a second. */
		if ((slot = peer_find(n, p2p_peer_id(peer))) == NULL || !direct_tx_token(slot))
			break;
		if (node_mempool_add_bytes(n->mempool, p, len, NULL, NULL) == 0) {
			node__round_on_tx(n, p, len);
			NODE__IGNORE(p2p_broadcast(n->p2p, NODE_TOPIC_TX, p, len));
		}
		break;
	default:
		break; /* a later version's message: not ours to judge */
	}
}

/* Blob fetches of peers, served from the blob store (once it is open). */
static int blob_size(void *ctx, const fl_hash *hash, uint64_t *size)
{
	node *n = ctx;

	return n->blobs != NULL ? node_blobstore_size(n->blobs, hash, size) : FL_ENOTFOUND;
}

static int blob_read(void *ctx, const fl_hash *hash, uint64_t offset, uint8_t *out, size_t len)
{
	node *n = ctx;

	return n->blobs != NULL ? node_blobstore_read(n->blobs, hash, offset, out, len)
				: FL_ENOTFOUND;
}

static p2p_gossip_verdict on_gossip(void *ctx, p2p_peer *from, uint16_t topic, const uint8_t *p,
				    size_t len)
{
	node *n = ctx;

	switch (topic) {
	case NODE_TOPIC_TX: {
		int rc = node_mempool_add_bytes(n->mempool, p, len, NULL, NULL);
		/* Admitted: well-formed and signed, so an aggregate is worth its
		 * check now, before a proposal carries it. */
		if (rc == 0)
			node__round_on_tx(n, p, len);
		return node_mempool_verdict(rc);
	}
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
	cfg->blob_size = blob_size;
	cfg->blob_read = blob_read;
	cfg->ctx = n;
}

/* ----------------------------------------------------------------- sync */

/* The connected peer of that id, or NULL. */
p2p_peer *node__net_peer(node *n, const fl_pubkey *id)
{
	p2p_peer *peers[NODE__PEERS_MAX];
	size_t k = p2p_peers(n->p2p, peers, NODE__PEERS_MAX);

	for (size_t i = 0; i < k; i++)
		if (memcmp(p2p_peer_id(peers[i])->b, id->b, FL_PUBKEY_LEN) == 0)
			return peers[i];
	return NULL;
}

/* A committed block fetched ahead. A block larger than one part came as
 * its first part: the rest is fetched from the same peer once its commit
 * verified, so a peer can make the node hold at most one block's bytes
 * (at most CHAIN_MAX_BLOCK_BYTES) that no validator signed. */
typedef struct sync_item {
	uint8_t *bytes; /* n bytes, the first `have` of them held */
	size_t n, have;
	chain_commit commit; /* its height is the item's, checked against the header */
	fl_pubkey from;      /* the peer that sent it */
	int checked;         /* the commit verified for the block's header */
} sync_item;

/* Held: the blocks being applied and, fetched meanwhile, the next batch. */
#define SYNC_HOLD (2 * SYNC_BATCH)

static struct {
	sync_item items[SYNC_HOLD]; /* consecutive heights from items[head] */
	unsigned n, head;
	int busy;      /* a blocks request is out */
	int part_busy; /* a part request for items[head] is out */
	unsigned gen;  /* bumped when the held blocks are dropped */
	unsigned part_gen;
	fl_pubkey asked; /* the peer the blocks request went to */
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
	sync_state.gen++; /* a part response still due finds its block gone */
}

/* The first height sync does not hold yet. */
static uint64_t sync_from(const node *n)
{
	if (sync_state.n > sync_state.head)
		return sync_state.items[sync_state.n - 1].commit.height + 1;
	return n->info.height + 1;
}

/* It has not what it claimed: not asked again until its next status says
 * more. */
static void sync_forget(node *n, const fl_pubkey *id)
{
	node__peer *pe = peer_find(n, id);

	if (pe != NULL)
		pe->status.height = n->info.height;
	node__sync_retarget(n);
}

/* The peer sent bytes that are not the block its (verified) commit names:
 * nothing it holds is used, and it is dropped and banned. */
static void sync_junk(node *n, const fl_pubkey *from, uint64_t height, const char *what)
{
	char hex[17];
	p2p_peer *p = node__net_peer(n, from);

	fl_hex_encode(hex, from->b, 8);
	fl_log(FL_LOG_WARN, SYNC, "height %llu: peer %s… sent %s; dropped",
	       (unsigned long long)height, hex, what);
	node__sync_free(n);
	if (p != NULL)
		p2p_peer_drop(p, 1);
	node__sync_retarget(n);
}

/* The commit finalises the block whose header starts the bytes held. */
static int sync_check_commit(node *n, const sync_item *it)
{
	chain_block_header hdr;
	fl_reader r;
	fl_hash hash;
	int rc;

	fl_reader_init(&r, it->bytes, it->have);
	if ((rc = chain_header_decode(&r, &hdr)) != 0 || (rc = chain_header_hash(&hash, &hdr)) != 0)
		return rc;
	if (hdr.height != it->commit.height)
		return FL_EINVAL;
	return chain_verify_commit(n->store, n->chain_id, hdr.height, &hash, &it->commit);
}

/*
 * The whole block is the one its verified header names. The header hash
 * covers only the header, and there is no hash per part: the header's
 * tx_root and last_commit_hash cover the rest, so they are checked here,
 * before the block is applied (a block that does not apply would leave
 * the node at that height).
 */
static int sync_check_body(const sync_item *it)
{
	chain_block b;
	fl_hash h, zero;
	int rc;

	memset(&zero, 0, sizeof(zero));
	if ((rc = chain_block_decode(&b, it->bytes, it->n)) != 0)
		goto cleanup;
	if ((rc = chain_header_hash(&h, &b.header)) != 0)
		goto cleanup;
	if (fl_hash_cmp(&h, &it->commit.block_hash) != 0) {
		rc = FL_EINVAL;
		goto cleanup;
	}
	if ((rc = chain_block_tx_root(&h, &b)) != 0)
		goto cleanup;
	if (fl_hash_cmp(&h, &b.header.tx_root) != 0) {
		rc = FL_EINVAL;
		goto cleanup;
	}
	if (b.header.height == 1) {
		/* Block 1 follows the genesis: an all-zero last commit and a
		 * zero hash for it, as chain_apply_block wants. */
		if (b.last_commit.height != 0 || b.last_commit.round != 0 ||
		    b.last_commit.n_sigs != 0 ||
		    fl_hash_cmp(&b.last_commit.block_hash, &zero) != 0) {
			rc = FL_EINVAL;
			goto cleanup;
		}
		h = zero;
	} else if ((rc = chain_commit_hash(&h, &b.last_commit)) != 0) {
		goto cleanup;
	}
	if (fl_hash_cmp(&h, &b.header.last_commit_hash) != 0)
		rc = FL_EINVAL;
cleanup:
	chain_block_free(&b);
	return rc;
}

static void sync_fetch_part(node *n, sync_item *it);

static void on_sync_part(void *arg, int status, const uint8_t *p, size_t len)
{
	node *n = arg;
	sync_item *it;

	sync_state.part_busy = 0;
	if (n->stopping || sync_state.part_gen != sync_state.gen || sync_state.head >= sync_state.n)
		return; /* the held blocks were dropped meanwhile */
	it = &sync_state.items[sync_state.head];
	if (status != FL_OK) {
		fl_pubkey from = it->from;
		fl_log(FL_LOG_WARN, SYNC, "height %llu: a part request failed: %s",
		       (unsigned long long)it->commit.height, fl_strerror(status));
		node__sync_free(n);
		sync_forget(n, &from);
		return;
	}
	if (!node__part_fits(it->n, it->have, len)) {
		sync_junk(n, &it->from, it->commit.height, "a part of the wrong length");
		return;
	}
	memcpy(it->bytes + it->have, p, len);
	it->have += len;
	node__sync_next(n); /* the next part, or the block's checks and apply */
}

/* The rest of items[head] from the peer that sent its first part: the
 * commit already verified, so these are the bytes of a block > 2/3 of the
 * validators signed, and whatever else comes is found out and dropped. */
static void sync_fetch_part(node *n, sync_item *it)
{
	int rc;

	if (sync_state.part_busy)
		return;
	rc = node__part_request(n, &it->from, &it->commit.block_hash, it->have,
				n->home.config.timeouts.sync_request_ms, on_sync_part, n);
	if (rc != 0) {
		fl_pubkey from = it->from;
		node__sync_free(n);
		sync_forget(n, &from);
		return;
	}
	sync_state.part_busy = 1;
	sync_state.part_gen = sync_state.gen;
}

/*
 * The commit of the next held block, verified on the thread pool while the
 * loop finishes the block before it (WAL marker, next height, mempool):
 * the validator set of height h + 1 is known once block h is in the
 * store, which is when node__sync_applied runs. The apply itself checks
 * the commit again (chain_apply_block_commit); this check comes first so
 * that a peer's bad commit drops its blocks instead of a failed apply.
 */
static struct {
	uv_work_t work;
	node *node;
	int busy;
	unsigned gen; /* sync_state.gen when queued */
	uint64_t height;
	fl_hash hash;
	chain_commit commit;
	int rc;
} sync_verify;

static void verify_work(uv_work_t *w)
{
	node *n = sync_verify.node;

	(void)w;
	sync_verify.rc = chain_verify_commit(n->store, n->chain_id, sync_verify.height,
					     &sync_verify.hash, &sync_verify.commit);
}

static void verify_done(uv_work_t *w, int status)
{
	node *n = sync_verify.node;
	sync_item *it = sync_state.head < sync_state.n ? &sync_state.items[sync_state.head] : NULL;

	(void)w;
	sync_verify.busy = 0;
	n->handles--;
	if (n->stopping)
		return;
	/* A failure leaves the block unchecked: node__sync_next verifies it
	 * again and says why. */
	if (status == 0 && sync_verify.rc == 0 && sync_verify.gen == sync_state.gen && it != NULL &&
	    it->commit.height == sync_verify.height)
		it->checked = 1;
	node__sync_next(n);
}

void node__sync_applied(node *n, uint64_t height)
{
	sync_item *it;
	chain_block_header hdr;
	fl_reader r;

	if (sync_verify.busy || n->stopping || sync_state.head >= sync_state.n)
		return;
	it = &sync_state.items[sync_state.head];
	if (it->checked || it->commit.height != height + 1)
		return;
	fl_reader_init(&r, it->bytes, it->have);
	if (chain_header_decode(&r, &hdr) != 0 || hdr.height != it->commit.height ||
	    chain_header_hash(&sync_verify.hash, &hdr) != 0)
		return; /* node__sync_next finds it out */
	sync_verify.node = n;
	sync_verify.gen = sync_state.gen;
	sync_verify.height = it->commit.height;
	sync_verify.commit = it->commit;
	/* n->handles: what the shutdown waits for before the store closes. */
	if (uv_queue_work(n->loop, &sync_verify.work, verify_work, verify_done) == 0) {
		sync_verify.busy = 1;
		n->handles++;
	}
}

static void sync_progress(node *n, uint64_t height)
{
	if (height == n->sync_target || height % 100 == 0) {
		uint64_t ms = node__now_ms() - sync_state.started_ms;
		fl_log(FL_LOG_INFO, SYNC, "synced to height %llu of %llu (%.0f blocks/s)",
		       (unsigned long long)height, (unsigned long long)n->sync_target,
		       ms > 0 ? (double)(height - sync_state.start_height) * 1000.0 / (double)ms
			      : 0.0);
	}
}

/* The next held block, if it is the next height, its commit holds and it
 * is whole (else its next part is asked for). */
void node__sync_next(node *n)
{
	if (sync_verify.busy)
		return; /* verify_done comes back here */
	while (sync_state.head < sync_state.n && n->applying == 0) {
		sync_item *it = &sync_state.items[sync_state.head];
		int rc, flags = NODE__APPLY_SYNC;

		if (it->commit.height <= n->info.height) {
			fl_free(it->bytes);
			sync_state.head++;
			continue;
		}
		if (it->commit.height != n->info.height + 1) {
			/* Held blocks follow on from tip + 1, so only a block
			 * that failed to apply leaves a gap: start again from
			 * the tip on the next tick. */
			node__sync_free(n);
			return;
		}
		if (!it->checked) {
			if ((rc = sync_check_commit(n, it)) != 0) {
				fl_log(FL_LOG_WARN, SYNC,
				       "height %llu: a peer's commit does not verify: %s",
				       (unsigned long long)it->commit.height, fl_strerror(rc));
				node__sync_free(n);
				return;
			}
			it->checked = 1;
		}
		if (it->have < it->n) {
			sync_fetch_part(n, it);
			return; /* on_sync_part comes back here */
		}
		if ((rc = sync_check_body(it)) == FL_ENOMEM) {
			node__sync_free(n);
			return;
		}
		if (rc != 0) {
			sync_junk(n, &it->from, it->commit.height,
				  "a block that is not the one its commit names");
			return;
		}
		if (sync_state.head + 1 < sync_state.n)
			flags |= NODE__APPLY_MORE;
		node__job_apply(n, it->bytes, it->n, &it->commit, flags);
		fl_free(it->bytes);
		sync_state.head++;
		if (n->applying == 0) {
			/* Not queued (out of memory): from the tip again on
			 * the next tick. */
			node__sync_free(n);
			return;
		}
		sync_progress(n, n->info.height + 1);
		/* The next batch is asked for while this one applies. */
		node__net_sync(n, 0);
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
	uint64_t want;
	unsigned before;

	sync_state.busy = 0;
	if (n->stopping)
		return;
	if (status != FL_OK || node_wire_blocks_iter_begin(&it, p, len, &count) != 0 ||
	    count == 0) {
		sync_forget(n, &sync_state.asked);
		return;
	}
	/* Room at the end: what was applied leaves the front. */
	if (sync_state.head > 0) {
		memmove(sync_state.items, sync_state.items + sync_state.head,
			(sync_state.n - sync_state.head) * sizeof(sync_state.items[0]));
		sync_state.n -= sync_state.head;
		sync_state.head = 0;
	}
	before = sync_state.n;
	want = sync_from(n);
	/* Items in order while they decode and follow on; a large block's
	 * first part ends the batch, its parts come next. */
	while (sync_state.n < SYNC_HOLD && node_wire_blocks_iter_next(&it, &item) == 0) {
		sync_item *s = &sync_state.items[sync_state.n];
		if (item.commit.height < want)
			continue; /* held or applied since the request */
		if (item.commit.height != want || (s->bytes = fl_malloc(item.block_len)) == NULL)
			break;
		memcpy(s->bytes, item.part, item.part_len);
		s->n = item.block_len;
		s->have = item.part_len;
		s->commit = item.commit;
		s->from = sync_state.asked;
		s->checked = 0;
		sync_state.n++;
		want++;
		if (s->have < s->n)
			break;
	}
	if (sync_state.n == before) {
		sync_forget(n, &sync_state.asked);
		return;
	}
	node__sync_next(n);
}

/*
 * Asks one peer that is ahead for the blocks after those held, also while
 * one applies, so the next batch is there when the last one is used.
 * allow_one: also when it is only one block ahead (the periodic tick),
 * which consensus usually closes by itself within the round.
 */
void node__net_sync(node *n, int allow_one)
{
	node__peer *best = NULL;
	unsigned held = sync_state.n - sync_state.head;
	uint64_t from = sync_from(n);
	fl_writer w;
	node_wire_blocks_req q;

	if (n->stopping || sync_state.busy || held > SYNC_HOLD - SYNC_BATCH)
		return;
	if (held > 0 &&
	    sync_state.items[sync_state.n - 1].have < sync_state.items[sync_state.n - 1].n)
		return; /* a large block's parts first */
	if (n->sync_target < from || (!allow_one && held == 0 && n->sync_target == from))
		return;
	for (unsigned i = 0; i < NODE__PEERS_MAX; i++) {
		node__peer *pe = &n->peers[i];
		if (pe->peer != NULL && pe->status.height >= from &&
		    (best == NULL || pe->status.height > best->status.height))
			best = pe;
	}
	if (best == NULL)
		return;
	if (sync_state.started_ms == 0 || sync_state.start_height == 0) {
		sync_state.started_ms = node__now_ms();
		sync_state.start_height = n->info.height;
	}
	q.from = from;
	q.max = SYNC_BATCH;
	fl_writer_init(&w, 64);
	if (node_wire_blocks_req_encode(&w, &q) == 0 && fl_writer_finish(&w) == 0 &&
	    p2p_request(best->peer, NODE_REQ_BLOCKS, w.buf, w.len,
			n->home.config.timeouts.sync_request_ms, on_blocks, n) == 0) {
		sync_state.busy = 1;
		sync_state.asked = best->id;
	}
	fl_writer_free(&w);
}
