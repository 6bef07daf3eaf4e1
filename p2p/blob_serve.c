/*
 * p2p/blob_serve.c — serving blobs from the caller's store
 * (docs/p2p.md, "Blobs"). Per (peer, hash) state holds the next offset and
 * the credit the peer granted. Chunks are read from the store and queued at
 * low priority only while the peer's send queue is under BLOB_SEND_ROOM, so
 * a transfer never fills memory or the queue: the rest is sent from a
 * uv_check handle as the queue drains. Gossip and votes are queued at high
 * priority and overtake chunks already queued.
 *
 * p2p_peer_queue may drop a slow peer, so a serve is never freed while a
 * pump may hold it: dead serves (peer == NULL) are reaped at the top of the
 * next entry.
 */
#include "p2p/blob_internal.h"

#include <assert.h>
#include <string.h>

void p2p_blob_serve_reap(p2p_blobs *b)
{
	blob_serve **pp = &b->serves;

	while (*pp != NULL) {
		blob_serve *s = *pp;

		if (s->peer == NULL) {
			*pp = s->next;
			fl_free(s);
		} else {
			pp = &s->next;
		}
	}
}

static void send_none(p2p_peer *p, const fl_hash *hash)
{
	/* A failure means the peer is being dropped; nothing left to tell it. */
	int rc = p2p_peer_queue(p, P2P_PRIO_HIGH, P2P_TYPE_BLOB_NONE, hash->b, FL_HASH_LEN);

	(void)rc;
}

/* Queues granted chunks while the peer's send queue has room. */
static void serve_pump(p2p_blobs *b, blob_serve *s)
{
	const p2p_config *cfg = p2p_host_config(b->host);

	while (s->peer != NULL && s->credit > 0 && s->next_off < s->total) {
		p2p_peer_info info;
		size_t n = (size_t)(s->total - s->next_off < P2P_BLOB_CHUNK ? s->total - s->next_off
									    : P2P_BLOB_CHUNK);
		int rc;

		p2p_peer_get_info(s->peer, &info);
		if (info.send_queue_bytes >= BLOB_SEND_ROOM)
			return;
		rc = cfg->blob_read(cfg->ctx, &s->hash, s->next_off, b->chunk, n);
		if (rc < 0) {
			/* The store lost it: the fetcher moves on. */
			send_none(s->peer, &s->hash);
			s->peer = NULL;
			return;
		}
		/* The chunk's fields and length prefix only, the bytes themselves
		 * go from b->chunk straight to the queue: the encoding of
		 * p2p_blob_chunk_encode (msg.c), split where the chunk starts. */
		b->out.len = 0;
		b->out.err = 0;
		fl_write_fixed(&b->out, s->hash.b, FL_HASH_LEN);
		fl_write_u64(&b->out, s->total);
		fl_write_u64(&b->out, s->next_off);
		fl_write_varint(&b->out, n);
		rc = fl_writer_finish(&b->out);
		if (rc == FL_OK)
			rc = p2p_peer_queue_head(s->peer, P2P_PRIO_LOW, P2P_TYPE_BLOB_CHUNK,
						 b->out.buf, b->out.len, b->chunk, n);
		if (rc < 0) {
			s->peer = NULL;
			return;
		}
		s->next_off += n;
		s->credit--;
	}
	if (s->next_off >= s->total)
		s->peer = NULL; /* all sent */
}

static void pump_cb(uv_check_t *handle);

static void pump_all(p2p_blobs *b)
{
	int waiting = 0;

	p2p_blob_serve_reap(b);
	for (blob_serve *s = b->serves; s != NULL; s = s->next) {
		if (s->peer != NULL && s->credit > 0)
			serve_pump(b, s);
		if (s->peer != NULL && s->credit > 0)
			waiting = 1;
	}
	if (waiting && !b->pump_on && !b->closing) {
		if (!b->pump_ready) {
			if (uv_check_init(p2p_host_loop(b->host), &b->pump) != 0)
				return;
			b->pump.data = b;
			b->pump_ready = 1;
			b->open_handles++;
		}
		b->pump_on = uv_check_start(&b->pump, pump_cb) == 0;
	} else if (!waiting && b->pump_on) {
		uv_check_stop(&b->pump);
		b->pump_on = 0;
	}
}

/* Runs once per loop iteration while a serve waits for queue room: writes
 * completing is what drains the queue, and it also wakes the loop. */
static void pump_cb(uv_check_t *handle)
{
	pump_all(handle->data);
}

/* Where the chunks granted so far end. */
static uint64_t serve_grant_end(const blob_serve *s)
{
	uint64_t left = s->total - s->next_off;

	return (uint64_t)s->credit * P2P_BLOB_CHUNK < left
		   ? s->next_off + (uint64_t)s->credit * P2P_BLOB_CHUNK
		   : s->total;
}

static blob_serve *serve_find(p2p_blobs *b, const p2p_peer *p, const fl_hash *hash)
{
	for (blob_serve *s = b->serves; s != NULL; s = s->next)
		if (s->peer == p && fl_hash_cmp(&s->hash, hash) == 0)
			return s;
	return NULL;
}

/* A slot for a new serve to p: a free one, or one whose credit is used up
 * (its fetcher went quiet), or NULL when p already has its limit busy. */
static blob_serve *serve_slot(p2p_blobs *b, p2p_peer *p)
{
	blob_serve *idle = NULL, *s;
	unsigned used = 0;

	for (s = b->serves; s != NULL; s = s->next) {
		if (s->peer != p)
			continue;
		used++;
		if (s->credit == 0)
			idle = s;
	}
	if (used < BLOB_PEER_SLOTS) {
		s = fl_calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
		s->next = b->serves;
		b->serves = s;
		return s;
	}
	return idle;
}

int p2p_blob_serve_want(p2p_blobs *b, p2p_peer *p, const uint8_t *body, size_t n)
{
	const p2p_config *cfg = p2p_host_config(b->host);
	p2p_blob_want_msg m;
	blob_serve *s;
	uint64_t size = 0;
	int rc;

	rc = p2p_blob_want_decode(&m, body, n);
	if (rc < 0)
		return rc;
	if (m.credit == 0 || m.credit > P2P_BLOB_MAX_CREDIT)
		return FL_EPROTO;
	s = serve_find(b, p, &m.hash);
	if (s != NULL && m.offset == serve_grant_end(s)) {
		/* A top-up, asking on from where the last grant ends (chunks of
		 * that grant may still wait for queue room): the fetcher never
		 * grants more than one window. */
		if (s->credit + m.credit > P2P_BLOB_MAX_CREDIT)
			return FL_EPROTO;
		s->credit += m.credit;
	} else {
		rc = cfg->blob_size != NULL ? cfg->blob_size(cfg->ctx, &m.hash, &size)
					    : FL_ENOTFOUND;
		/* An offset past our size: the fetcher resumes a transfer
		 * another peer sized differently; from here it is "not here". */
		if (rc < 0 || size == 0 || m.offset >= size) {
			if (s != NULL)
				s->peer = NULL;
			send_none(p, &m.hash);
			return FL_OK;
		}
		if (s == NULL)
			s = serve_slot(b, p);
		if (s == NULL) {
			/* Busy (or out of memory): refusing is the bound. */
			send_none(p, &m.hash);
			return FL_OK;
		}
		*s = (blob_serve){s->next, p, m.hash, size, m.offset, m.credit};
	}
	pump_all(b);
	return FL_OK;
}

void p2p_blob_serve_peer_gone(p2p_blobs *b, const p2p_peer *p)
{
	for (blob_serve *s = b->serves; s != NULL; s = s->next)
		if (s->peer == p)
			s->peer = NULL;
}

static void pump_closed(uv_handle_t *handle)
{
	p2p_blobs *b = handle->data;

	b->open_handles--;
	p2p_blobs_maybe_free(b);
}

void p2p_blob_serve_close(p2p_blobs *b)
{
	for (blob_serve *s = b->serves; s != NULL; s = s->next)
		s->peer = NULL;
	p2p_blob_serve_reap(b);
	if (b->pump_ready) {
		b->pump_on = 0;
		b->pump_ready = 0;
		uv_close((uv_handle_t *)&b->pump, pump_closed);
	}
}
