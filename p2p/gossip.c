/*
 * p2p/gossip.c — broadcast with a seen-cache (p2p/p2p.h).
 *
 * A message's id is the SHA-256 of its GOSSIP body. A host remembers the
 * id of a message it has not seen, asks the application (on_gossip's
 * verdict) and forwards an accepted one to every peer but the one it came
 * from, so each message crosses each link at most once per
 * direction. The cache remembers the last cfg.seen_cache ids: a ring in
 * arrival order (FIFO eviction) indexed by an open-addressing hash set.
 * The set is keyed with SipHash under a per-host random key, so a peer
 * cannot grind payloads into one probe chain.
 */
#include "p2p/host_internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#define EMPTY UINT32_MAX

static uint32_t home(const p2p_seen *s, const fl_hash *id)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint32_t v;

	crypto_shorthash(out, id->b, FL_HASH_LEN, s->key);
	memcpy(&v, out, sizeof(v));
	return v & s->mask;
}

int p2p_seen_init(p2p_seen *s, uint32_t cap)
{
	uint32_t size = 2;

	assert(cap > 0 && cap <= (1u << 24));
	memset(s, 0, sizeof(*s));
	randombytes_buf(s->key, sizeof(s->key));
	/* At most half full: short probe chains. */
	while (size < 2 * cap)
		size *= 2;
	s->ring = fl_calloc(cap, sizeof(*s->ring));
	s->slots = fl_malloc((size_t)size * sizeof(*s->slots));
	if (s->ring == NULL || s->slots == NULL) {
		p2p_seen_free(s);
		return FL_ENOMEM;
	}
	memset(s->slots, 0xff, (size_t)size * sizeof(*s->slots));
	s->cap = cap;
	s->mask = size - 1;
	return FL_OK;
}

void p2p_seen_free(p2p_seen *s)
{
	fl_free(s->ring);
	fl_free(s->slots);
	s->ring = NULL;
	s->slots = NULL;
}

/* Backward-shift deletion (linear probing without tombstones): entries
 * after the hole move back when the hole lies on their probe path. */
static void slot_delete(p2p_seen *s, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t k;
		j = (j + 1) & s->mask;
		if (s->slots[j] == EMPTY)
			break;
		k = home(s, &s->ring[s->slots[j]]);
		/* Stays if its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		s->slots[i] = s->slots[j];
		i = j;
	}
	s->slots[i] = EMPTY;
}

static void evict_oldest(p2p_seen *s)
{
	uint32_t i = home(s, &s->ring[s->head]);

	while (s->slots[i] != s->head)
		i = (i + 1) & s->mask;
	slot_delete(s, i);
	s->head = (s->head + 1) % s->cap;
	s->n--;
}

int p2p_seen_add(p2p_seen *s, const fl_hash *id)
{
	uint32_t i = home(s, id), idx;

	for (; s->slots[i] != EMPTY; i = (i + 1) & s->mask)
		if (memcmp(s->ring[s->slots[i]].b, id->b, FL_HASH_LEN) == 0)
			return 0;
	if (s->n == s->cap) {
		evict_oldest(s);
		/* The deletion may have moved the free slot we found. */
		for (i = home(s, id); s->slots[i] != EMPTY; i = (i + 1) & s->mask)
			;
	}
	idx = (s->head + s->n) % s->cap;
	s->ring[idx] = *id;
	s->slots[i] = idx;
	s->n++;
	return 1;
}

/* The id of a GOSSIP body: core's OpenSSL SHA-256 (several times
 * libsodium's here; every copy of every message from every peer is hashed
 * before it can be dropped as a duplicate). The decoder accepts only the
 * canonical encoding, so the body names the message. */
static void gossip_id(fl_hash *out, const uint8_t *body, size_t n)
{
	fl_sha256(out, body, n);
}

/* Takes one message of n body bytes from p's bucket: 1 if it fits. */
static int gossip_bucket_take(p2p_peer *p, size_t n)
{
	const p2p_config *cfg = &p->host->cfg;
	uint64_t now = uv_now(p->host->loop), elapsed;
	uint64_t msg_cap = (uint64_t)cfg->gossip_msgs_per_s * 1000;
	uint64_t byte_cap = (uint64_t)cfg->gossip_bytes_per_s * 1000;

	if (!p->gossip_bucket_set) {
		p->gossip_bucket_set = 1;
		p->gossip_at = now;
		p->gossip_msg_tokens = msg_cap;
		p->gossip_byte_tokens = byte_cap;
	}
	/* A second refills the bucket: more need not be multiplied out. */
	elapsed = now - p->gossip_at < 1000 ? now - p->gossip_at : 1000;
	p->gossip_at = now;
	p->gossip_msg_tokens += elapsed * cfg->gossip_msgs_per_s;
	p->gossip_byte_tokens += elapsed * cfg->gossip_bytes_per_s;
	if (p->gossip_msg_tokens > msg_cap)
		p->gossip_msg_tokens = msg_cap;
	if (p->gossip_byte_tokens > byte_cap)
		p->gossip_byte_tokens = byte_cap;
	if (p->gossip_msg_tokens < 1000 || p->gossip_byte_tokens < (uint64_t)n * 1000)
		return 0;
	p->gossip_msg_tokens -= 1000;
	p->gossip_byte_tokens -= (uint64_t)n * 1000;
	return 1;
}

/* Queues an encoded GOSSIP body to every open peer but `except`. A peer
 * dropped as slow does not stop the others. */
static void forward(p2p_host *h, const p2p_peer *except, const uint8_t *body, size_t n)
{
	for (p2p_peer *q = h->peers; q != NULL; q = q->next) {
		if (q == except || q->state != P2P_PEER_OPEN)
			continue;
		if (p2p_peer_queue(q, P2P_PRIO_HIGH, P2P_TYPE_GOSSIP, body, n) != FL_OK)
			continue;
	}
}

int p2p_broadcast(p2p_host *h, uint16_t topic, const void *data, size_t n)
{
	p2p_gossip_msg m = {.topic = topic, .data = data, .n = n};
	fl_hash id;
	fl_writer w;
	int rc;

	assert(h != NULL && (data != NULL || n == 0));
	fl_writer_init(&w, h->cfg.max_frame - P2P_MSG_HEADER);
	rc = p2p_gossip_encode(&w, &m);
	if (rc == FL_OK)
		rc = fl_writer_finish(&w);
	if (rc != FL_OK)
		goto cleanup;
	gossip_id(&id, w.buf, w.len);
	if (!p2p_seen_add(&h->seen, &id)) {
		rc = FL_EDUP;
		goto cleanup;
	}
	h->gossip_new++;
	forward(h, NULL, w.buf, w.len);
cleanup:
	fl_writer_free(&w);
	return rc;
}

/*
 * A GOSSIP from a peer. In order, each step cheaper than the next: the
 * peer's rate (nothing decoded or hashed past it), the encoding, the
 * seen-cache (a duplicate beyond the peer's allowance scores), then the
 * application's verdict, and only an accepted message is forwarded.
 */
int p2p_gossip_on_message(p2p_host *h, p2p_peer *from, const uint8_t *body, size_t n)
{
	p2p_gossip_verdict v = P2P_GOSSIP_ACCEPT;
	p2p_gossip_msg m;
	fl_hash id;
	int rc;

	if (!gossip_bucket_take(from, n)) {
		h->stats.floods++;
		(void)p2p_peer_charge(from, P2P_PENALTY_FLOOD, "gossip over its rate, banned");
		return FL_OK;
	}
	if ((rc = p2p_gossip_decode(&m, body, n)) != FL_OK)
		return rc;
	gossip_id(&id, body, n);
	/* Seen already: normal on a mesh (the other copy won the race), at
	 * most once per id the host learned while this session was open. */
	if (!p2p_seen_add(&h->seen, &id)) {
		if (++from->gossip_dups >
		    h->gossip_new - from->gossip_base + P2P_GOSSIP_DUP_SLACK) {
			h->stats.floods++;
			(void)p2p_peer_charge(from, P2P_PENALTY_FLOOD,
					      "duplicate gossip flood, banned");
		}
		return FL_OK;
	}
	h->gossip_new++;
	if (h->cfg.on_gossip != NULL)
		v = h->cfg.on_gossip(h->cfg.ctx, from, m.topic, m.data, m.n);
	assert(v == P2P_GOSSIP_ACCEPT || v == P2P_GOSSIP_IGNORE || v == P2P_GOSSIP_REJECT);
	if (v == P2P_GOSSIP_ACCEPT) {
		/* The body is forwarded as it came (canonical encoding). The
		 * callback may have closed peers or the host: forward skips
		 * every peer that is not OPEN. */
		forward(h, from, body, n);
	} else if (v == P2P_GOSSIP_REJECT) {
		(void)p2p_peer_charge(from, P2P_PENALTY_REJECT, "rejected gossip, banned");
	}
	return FL_OK;
}
