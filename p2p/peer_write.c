/*
 * p2p/peer_write.c — a session's sending side (internal.h, "the host";
 * docs/p2p.md, "Sending"): the two send queues, their bounds, and the
 * writes that drain them.
 *
 * Writing: plaintext messages wait in a high and a low queue and are sealed
 * only when they go to the wire, in the order they go, so the counter nonces
 * match what the remote expects although high messages overtake low ones.
 * Queued bytes, counted at their heap cost (P2P_OUT_COST), are bounded by
 * max_send_queue per peer and max_queued_total per host: past either a peer
 * is dropped as slow and scored, instead of being buffered without limit.
 *
 * Each write is one batch of frames in the peer's write buffer (small
 * messages back to back sealed together as one BATCH frame), or one large
 * message written from its own queue entry, sealed in place there or
 * already when it was queued.
 */
#include "p2p/host_internal.h"

#include <assert.h>
#include <string.h>

#define FRAME_OVERHEAD (P2P_LEN_PREFIX + P2P_TAG_LEN)

static void start_write(p2p_peer *p);

static void dropped_as_slow(p2p_peer *p, const char *why)
{
	p->host->stats.slow_drops++;
	p2p_peer_misbehaved(p, P2P_PENALTY_SLOW, why);
}

/* The open peer holding the most queued bytes. */
static p2p_peer *largest_queue(p2p_host *h)
{
	p2p_peer *big = NULL;

	for (p2p_peer *q = h->peers; q != NULL; q = q->next)
		if (q->state != P2P_PEER_CLOSING && (big == NULL || q->queued > big->queued))
			big = q;
	return big;
}

/*
 * Room for cost more bytes in p's queue, or FL_EIO with p dropped. Over the
 * host-wide cap the peer holding the most goes, so one member that stops
 * reading cannot make us drop the others that do: each victim frees at
 * least as much as p holds, and the loop ends once p is the largest.
 */
static int make_room(p2p_peer *p, size_t cost)
{
	const p2p_config *cfg = &p->host->cfg;
	p2p_host *h = p->host;

	if (cost > cfg->max_send_queue || p->queued > cfg->max_send_queue - cost) {
		dropped_as_slow(p, "send queue over max_send_queue, dropped as slow");
		return FL_EIO;
	}
	while (cost > cfg->max_queued_total || h->queued > cfg->max_queued_total - cost) {
		p2p_peer *big = largest_queue(h);
		if (big == NULL || big == p || big->queued <= p->queued) {
			dropped_as_slow(p,
					"host send queues over max_queued_total, dropped as slow");
			return FL_EIO;
		}
		dropped_as_slow(big, "host send queues over max_queued_total, dropped as slow");
	}
	return FL_OK;
}

/* What an entry costs us: its header, the allocator's, and its buffer. */
static size_t out_cost(const p2p_out *o)
{
	return sizeof(*o) + P2P_ALLOC_OVERHEAD + o->cap;
}

/*
 * An entry with cap bytes of buffer. A large one comes from the host's
 * spares when one is at most an eighth larger: 1 MB messages and blob
 * chunks are queued by the hundred, and a fresh 1 MB buffer from the
 * allocator is usually fresh pages from the kernel, each faulted and zeroed
 * before the copy into it (about as long as the copy itself here).
 */
static p2p_out *out_get(p2p_host *h, size_t cap)
{
	p2p_out *o;

	if (cap >= P2P_DIRECT_WRITE) {
		for (size_t i = 0; i < h->n_spare; i++) {
			o = h->spare[i];
			if (o->cap >= cap && o->cap - cap <= cap / 8) {
				h->spare[i] = h->spare[--h->n_spare];
				return o;
			}
		}
	}
	o = fl_malloc(sizeof(*o) + cap);
	if (o != NULL)
		o->cap = cap;
	return o;
}

void p2p_out_release(p2p_host *h, p2p_out *o)
{
	if (o == NULL)
		return;
	if (o->cap >= P2P_DIRECT_WRITE && h->n_spare < P2P_SPARES_MAX && !h->closing) {
		h->spare[h->n_spare++] = o;
		return;
	}
	fl_free(o);
}

/*
 * A large high message may be sealed as it is queued, straight from the
 * caller's buffer (one pass instead of a copy and a seal), if no message
 * still to be sealed will go to the wire before it. Only high messages,
 * and only while the high queue holds sealed ones alone: the high queue is
 * then a run of sealed entries followed by unsealed ones, everything in it
 * goes out before the low queue, and so every frame is sealed in wire
 * order, as the counter nonces require.
 */
static int can_seal_now(const p2p_peer *p, p2p_prio prio, p2p_out_kind kind, size_t pn)
{
	const p2p_out *tail = p->q_tail[P2P_PRIO_HIGH];

	return kind == P2P_OUT_MSG && prio == P2P_PRIO_HIGH && pn >= P2P_DIRECT_WRITE &&
	       p->sess.keys_ready && (tail == NULL || tail->sealed);
}

int p2p_peer_queue_raw(p2p_peer *p, p2p_prio prio, const uint8_t *head, size_t head_n,
		       const uint8_t *body, size_t n, p2p_out_kind kind)
{
	const p2p_config *cfg = &p->host->cfg;
	p2p_host *h = p->host;
	size_t pn, cost;
	p2p_out *o;

	assert(prio == P2P_PRIO_HIGH || prio == P2P_PRIO_LOW);
	assert(body != NULL || n == 0);
	if (p->state == P2P_PEER_CLOSING)
		return FL_EIO;
	if (n > cfg->max_frame || head_n > cfg->max_frame - n)
		return FL_ETOOBIG;
	pn = head_n + n;
	o = out_get(h, P2P_LEN_PREFIX + pn + P2P_TAG_LEN);
	if (o == NULL)
		return FL_ENOMEM;
	cost = out_cost(o);
	if (make_room(p, cost) != FL_OK) {
		p2p_out_release(h, o);
		return FL_EIO;
	}
	o->next = NULL;
	o->n = pn;
	o->kind = kind;
	o->sealed = 0;
	if (can_seal_now(p, prio, kind, pn)) {
		if (p2p_frame_seal_parts(&p->sess, o->data, head, head_n, body, n) != FL_OK) {
			p2p_out_release(h, o);
			p2p_peer_close(p);
			return FL_EIO;
		}
		o->sealed = 1;
	} else {
		if (head_n > 0)
			memcpy(P2P_OUT_PLAIN(o), head, head_n);
		if (n > 0)
			memcpy(P2P_OUT_PLAIN(o) + head_n, body, n);
	}
	if (p->q_tail[prio] != NULL)
		p->q_tail[prio]->next = o;
	else
		p->q_head[prio] = o;
	p->q_tail[prio] = o;
	p->queued += cost;
	h->queued += cost;
	if (h->queued > h->stats.queued_peak)
		h->stats.queued_peak = h->queued;
	start_write(p);
	return FL_OK;
}

int p2p_peer_queue(p2p_peer *p, p2p_prio prio, uint16_t type, const void *body, size_t n)
{
	uint8_t head[P2P_MSG_HEADER];

	assert(p != NULL);
	if (p->state == P2P_PEER_CLOSING)
		return FL_EIO;
	/* READY: our ADDRS, the message that tells the remote we accepted it. */
	if (p->state != P2P_PEER_OPEN && p->state != P2P_PEER_READY)
		return FL_ESTATE;
	p2p_msg_header(head, type);
	return p2p_peer_queue_raw(p, prio, head, sizeof(head), body, n, P2P_OUT_MSG);
}

int p2p_peer_queue_head(p2p_peer *p, p2p_prio prio, uint16_t type, const void *head, size_t head_n,
			const void *body, size_t n)
{
	uint8_t buf[P2P_MSG_HEADER + P2P_QUEUE_HEAD_MAX];

	assert(p != NULL && head != NULL && head_n <= P2P_QUEUE_HEAD_MAX);
	if (p->state == P2P_PEER_CLOSING)
		return FL_EIO;
	if (p->state != P2P_PEER_OPEN && p->state != P2P_PEER_READY)
		return FL_ESTATE;
	p2p_msg_header(buf, type);
	memcpy(buf + P2P_MSG_HEADER, head, head_n);
	return p2p_peer_queue_raw(p, prio, buf, P2P_MSG_HEADER + head_n, body, n, P2P_OUT_MSG);
}

int p2p_send(p2p_peer *p, uint16_t type, const void *data, size_t n)
{
	assert(p != NULL && type >= P2P_TYPE_APP);
	assert(data != NULL || n == 0);
	return p2p_peer_queue(p, P2P_PRIO_HIGH, type, data, n);
}

static void on_write(uv_write_t *req, int status)
{
	p2p_peer *p = req->data;

	p->writing = 0;
	if (p->state == P2P_PEER_CLOSING)
		return;
	if (status < 0) {
		p2p_peer_close(p);
		return;
	}
	p->bytes_out += p->wbuf_len;
	p->msgs_out += p->write_msgs;
	p->queued -= p->wbuf_len;
	p->host->queued -= p->wbuf_len;
	p->wbuf_len = 0;
	p2p_out_release(p->host, p->w_out);
	p->w_out = NULL;
	start_write(p);
}

/* Takes the next message, high before low. */
static p2p_out *dequeue(p2p_peer *p)
{
	for (int q = P2P_PRIO_HIGH; q <= P2P_PRIO_LOW; q++) {
		p2p_out *o = p->q_head[q];
		if (o != NULL) {
			p->q_head[q] = o->next;
			if (p->q_head[q] == NULL)
				p->q_tail[q] = NULL;
			return o;
		}
	}
	return NULL;
}

static const p2p_out *peek(const p2p_peer *p)
{
	return p->q_head[P2P_PRIO_HIGH] != NULL ? p->q_head[P2P_PRIO_HIGH]
						: p->q_head[P2P_PRIO_LOW];
}

/* A message that may share a BATCH frame with its neighbours. */
static int batchable(const p2p_out *o)
{
	return o != NULL && o->kind == P2P_OUT_MSG && o->n <= P2P_BATCH_ITEM_MAX;
}

/* The message written after the next one (peek's successor), or NULL. */
static const p2p_out *peek_second(const p2p_peer *p)
{
	const p2p_out *o = p->q_head[P2P_PRIO_HIGH];

	if (o == NULL)
		return p->q_head[P2P_PRIO_LOW] != NULL ? p->q_head[P2P_PRIO_LOW]->next : NULL;
	return o->next != NULL ? o->next : p->q_head[P2P_PRIO_LOW];
}

/* From here the message's bytes are held as its frame's share of the batch
 * in flight (or as its own frame), not as a queue entry. */
static void out_taken(p2p_peer *p, const p2p_out *o, size_t wire)
{
	p->queued = p->queued - out_cost(o) + wire;
	p->host->queued = p->host->queued - out_cost(o) + wire;
}

/*
 * Small messages queued back to back go out as one BATCH frame, built in
 * place at out (at most room bytes, frame length and tag included): the
 * seal's fixed cost is paid once for all of them instead of once each.
 * Returns the frame's bytes (0 if not even the first fits), the messages
 * in *msgs; a failed seal closes the peer and returns 0.
 */
static size_t seal_batch(p2p_peer *p, uint8_t *out, size_t room, size_t *msgs)
{
	const size_t head = P2P_LEN_PREFIX + P2P_MSG_HEADER + P2P_BATCH_HEAD;
	size_t pos = head, pn;
	uint32_t count = 0;

	*msgs = 0;
	while (batchable(peek(p)) && count < P2P_BATCH_MAX &&
	       pos + P2P_BATCH_ITEM_HEAD + peek(p)->n + P2P_TAG_LEN <= room) {
		p2p_out *o = dequeue(p);
		size_t item = p2p_batch_put_item(out + pos, P2P_OUT_PLAIN(o), o->n);

		out_taken(p, o, 0);
		fl_free(o);
		pos += item;
		count++;
	}
	if (count == 0)
		return 0;
	if (count == 1) {
		/* The second message did not fit: the first goes alone, as the
		 * frame it would have been without batches. */
		size_t n = pos - head - P2P_BATCH_ITEM_HEAD;

		memmove(out + P2P_LEN_PREFIX, out + head + P2P_BATCH_ITEM_HEAD, n);
		pn = n;
	} else {
		p2p_msg_header(out + P2P_LEN_PREFIX, P2P_TYPE_BATCH);
		p2p_batch_put_count(out + P2P_LEN_PREFIX + P2P_MSG_HEADER, count);
		pn = pos - P2P_LEN_PREFIX;
	}
	/* The batch in flight holds its frame's bytes (on_write gives them
	 * back). */
	p->queued += P2P_LEN_PREFIX + pn + P2P_TAG_LEN;
	p->host->queued += P2P_LEN_PREFIX + pn + P2P_TAG_LEN;
	if (p2p_frame_seal(&p->sess, out, out + P2P_LEN_PREFIX, pn) != FL_OK) {
		p2p_peer_close(p);
		return 0;
	}
	*msgs = count;
	return P2P_LEN_PREFIX + pn + P2P_TAG_LEN;
}

/* The next message alone, sealed in place in its entry and written from
 * there: a 1 MB message or a blob chunk is not copied again. */
static void write_direct(p2p_peer *p)
{
	p2p_out *o = dequeue(p);
	size_t frame = P2P_LEN_PREFIX + o->n + P2P_TAG_LEN;
	uv_buf_t buf;

	out_taken(p, o, frame);
	p->w_out = o;
	if (!o->sealed && p2p_frame_seal(&p->sess, o->data, P2P_OUT_PLAIN(o), o->n) != FL_OK) {
		p2p_peer_close(p);
		return;
	}
	buf = uv_buf_init((char *)o->data, (unsigned)frame);
	if (uv_write(&p->write_req, (uv_stream_t *)&p->tcp, &buf, 1, on_write) != 0) {
		p2p_peer_close(p);
		return;
	}
	p->writing = 1;
	p->wbuf_len = frame;
	p->write_msgs = 1;
}

/* Seals queued messages into one write of at most P2P_WRITE_BATCH bytes (or
 * one large frame from its own entry): few syscalls and few seals for
 * small messages, and a high message never waits behind more than one
 * batch of low ones. */
static void start_write(p2p_peer *p)
{
	size_t len = 0, msgs = 0;
	const p2p_out *next;
	uv_buf_t buf;

	if (p->writing || p->state == P2P_PEER_CLOSING || p->state == P2P_PEER_CONNECTING)
		return;
	if (peek(p) == NULL)
		return;
	if (peek(p)->kind != P2P_OUT_CLEAR && peek(p)->n >= P2P_DIRECT_WRITE) {
		write_direct(p);
		return;
	}
	if (p->wbuf == NULL && (p->wbuf = fl_malloc(P2P_WRITE_BATCH)) == NULL) {
		/* Out of memory for even one frame: the queue would never drain. */
		p2p_peer_close(p);
		return;
	}
	while ((next = peek(p)) != NULL) {
		size_t frame = next->kind == P2P_OUT_CLEAR ? next->n : next->n + FRAME_OVERHEAD;
		p2p_out *o;

		/* A large one is written from its own entry, next time. */
		if (next->kind != P2P_OUT_CLEAR && next->n >= P2P_DIRECT_WRITE)
			break;
		if (batchable(next) && batchable(peek_second(p))) {
			size_t k, got = seal_batch(p, p->wbuf + len, P2P_WRITE_BATCH - len, &k);

			if (p->state == P2P_PEER_CLOSING)
				return;
			if (got == 0)
				break;
			len += got;
			msgs += k;
			continue;
		}
		if (len + frame > P2P_WRITE_BATCH)
			break;
		o = dequeue(p);
		out_taken(p, o, frame);
		if (o->kind == P2P_OUT_CLEAR) {
			memcpy(p->wbuf + len, P2P_OUT_PLAIN(o), o->n);
		} else if (p2p_frame_seal(&p->sess, p->wbuf + len, P2P_OUT_PLAIN(o), o->n) !=
			   FL_OK) {
			fl_free(o);
			p2p_peer_close(p);
			return;
		} else {
			msgs++;
		}
		fl_free(o);
		len += frame;
	}
	if (len == 0)
		return;
	buf = uv_buf_init((char *)p->wbuf, (unsigned)len);
	if (uv_write(&p->write_req, (uv_stream_t *)&p->tcp, &buf, 1, on_write) != 0) {
		p2p_peer_close(p);
		return;
	}
	p->writing = 1;
	p->wbuf_len = len;
	p->write_msgs = msgs;
}
