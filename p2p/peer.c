/*
 * p2p/peer.c — one session: a uv_tcp_t, its life and its read state machine
 * (internal.h, "the host").
 *
 * Reading: the clear HELLO (its length is known after 7 bytes and bounded by
 * P2P_HELLO_MAX), then frames. A frame's 4 length bytes are checked before
 * anything is read or allocated for its body, so a peer announcing more than
 * max_frame is dropped having cost us 4 bytes. The first frame is AUTH; then
 * the membership check; then messages.
 *
 * Writing (the send queues, batches, sealing in wire order) is
 * p2p/peer_write.c.
 *
 * A dropped peer is not freed at once: its handles close first, and its
 * on_peer(…, 0), pending-request failures and blob hand-over happen in the
 * last close callback. So a callback may drop any peer (or close the host)
 * without pulling memory from under the code that called it.
 */
#include "p2p/host_internal.h"

#include <assert.h>
#include <string.h>

#define HELLO_FIXED (P2P_MAGIC_LEN + 2)

static int send_hello(p2p_peer *p);
static void frame_body_read(p2p_peer *p);
static void on_plain(p2p_peer *p, const uint8_t *plain, size_t n);

/* ------------------------------------------------------- lifecycle */

static void peer_finalize(p2p_peer *p)
{
	p2p_host *h = p->host;

	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		h->peers = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;

	p2p_book_on_session_end(h, p);
	p2p_request_fail_all(p);
	if (p->announced) {
		if (h->blobs != NULL)
			p2p_blobs_on_peer_gone(h->blobs, p);
		if (h->cfg.on_peer != NULL)
			h->cfg.on_peer(h->cfg.ctx, p, 0);
	}
	for (int q = 0; q < 2; q++) {
		while (p->q_head[q] != NULL) {
			p2p_out *o = p->q_head[q];
			p->q_head[q] = o->next;
			fl_free(o);
		}
	}
	fl_free(p->ct);
	fl_free(p->wbuf);
	fl_free(p->w_out);
	p2p_session_wipe(&p->sess);
	fl_free(p);
}

static void on_handle_closed(uv_handle_t *handle)
{
	p2p_peer *p = handle->data;
	p2p_host *h = p->host;

	if (--p->handles == 0)
		peer_finalize(p);
	p2p_host_handle_closed(h);
}

int p2p_peer_new(p2p_peer **out, p2p_host *h, int outbound)
{
	p2p_peer *p;
	int rc;

	assert(out != NULL && h != NULL);
	p = fl_calloc(1, sizeof(*p));
	if (p == NULL)
		return FL_ENOMEM;
	if (uv_tcp_init(h->loop, &p->tcp) != 0) {
		fl_free(p);
		return FL_EIO;
	}
	/* Cannot fail: libuv documents uv_timer_init as always returning 0. */
	rc = uv_timer_init(h->loop, &p->timer);
	assert(rc == 0);
	(void)rc;
	p->host = h;
	p->outbound = outbound;
	p->tcp.data = p;
	p->timer.data = p;
	p->connect_req.data = p;
	p->write_req.data = p;
	p->handles = 2;
	h->handles += 2;
	p->next = h->peers;
	if (h->peers != NULL)
		h->peers->prev = p;
	h->peers = p;
	/* An inbound socket's slot is admit.c's business: pending first. */
	if (outbound)
		h->n_out++;
	*out = p;
	return FL_OK;
}

void p2p_peer_close(p2p_peer *p)
{
	p2p_host *h;

	assert(p != NULL);
	if (p->state == P2P_PEER_CLOSING)
		return;
	h = p->host;
	if (p->state == P2P_PEER_OPEN)
		h->n_open--;
	if (p->outbound)
		h->n_out--;
	else
		p2p_admit_release(p);
	p->state = P2P_PEER_CLOSING;
	/* Its queue is freed in the last close callback, a loop turn away, and
	 * nothing is queued or written meanwhile: it no longer counts. */
	h->queued -= p->queued;
	uv_close((uv_handle_t *)&p->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&p->timer, on_handle_closed);
}

void p2p_peer_penalize(p2p_peer *p, int32_t points)
{
	/* Before AUTH there is no identity to charge: the socket just closes. */
	if (p->sess.authenticated)
		(void)p2p_book_penalize(p->host, &p->sess.remote_id, points);
}

void p2p_peer_misbehaved(p2p_peer *p, int32_t points, const char *why)
{
	char hex[FL_PUBKEY_HEX_LEN + 1] = "-";

	if (p->state == P2P_PEER_CLOSING)
		return;
	if (p->sess.authenticated)
		fl_pubkey_to_hex(hex, &p->sess.remote_id);
	fl_log(FL_LOG_INFO, "p2p", "peer %s %s: %s, disconnecting", p->addr, hex, why);
	p2p_peer_penalize(p, points);
	p2p_peer_close(p);
}

int p2p_peer_charge(p2p_peer *p, int32_t points, const char *why)
{
	/* Charged even if a callback has closed it meanwhile. */
	if (!p->sess.authenticated || !p2p_book_penalize(p->host, &p->sess.remote_id, points))
		return 0;
	p2p_peer_misbehaved(p, 0, why);
	return 1;
}

/* ---------------------------------------------------------- reading */

/* Our side of the acceptance: the key proved itself; is it welcome? Then
 * our first message (ADDRS) tells the remote that we accepted it. */
static void on_authenticated(p2p_peer *p)
{
	p2p_host *h = p->host;
	const fl_pubkey *id = &p->sess.remote_id;

	if (fl_pubkey_cmp(id, &h->self) == 0) {
		p2p_peer_close(p); /* we dialled ourselves */
		return;
	}
	if (p->has_expect && fl_pubkey_cmp(id, &p->expect) != 0) {
		fl_log(FL_LOG_INFO, "p2p", "peer %s: not the key we expected", p->addr);
		p2p_peer_close(p);
		return;
	}
	if (p2p_is_banned(h, id) || !h->cfg.is_member(h->cfg.ctx, id)) {
		fl_log(FL_LOG_INFO, "p2p", "peer %s: banned or not a member, refused", p->addr);
		p2p_peer_close(p);
		return;
	}
	/* A member slot only now, for a key that proved itself. */
	if (!p->outbound && p2p_admit_member(p) != FL_OK) {
		fl_log(FL_LOG_INFO, "p2p", "peer %s: every inbound member slot taken", p->addr);
		p2p_peer_close(p);
		return;
	}
	p->state = P2P_PEER_READY;
	if (p2p_book_send_addrs(h, p) != FL_OK)
		p2p_peer_close(p);
}

/*
 * The remote's first message: it accepted us too, so the session opens on
 * both sides or on neither (a refused peer never sees on_peer). Two
 * sessions to one key are resolved here, the same way at both ends.
 */
static void on_open(p2p_peer *p)
{
	p2p_host *h = p->host;
	const fl_pubkey *id = &p->sess.remote_id;

	for (p2p_peer *q = h->peers; q != NULL; q = q->next) {
		if (q == p || q->state != P2P_PEER_OPEN ||
		    fl_pubkey_cmp(&q->sess.remote_id, id) != 0)
			continue;
		if (p2p_book_pick_duplicate(h, q, p) == q) {
			p->duplicate = 1;
			p2p_peer_close(p);
			return;
		}
		q->duplicate = 1;
		p2p_peer_close(q);
		break;
	}
	p->state = P2P_PEER_OPEN;
	h->n_open++;
	p->announced = 1;
	p->gossip_base = h->gossip_new;
	uv_timer_start(&p->timer, p2p_peer_on_timer, h->cfg.ping_interval_ms,
		       h->cfg.ping_interval_ms);
	p2p_book_on_session(h, p);
	if (h->cfg.on_peer != NULL)
		h->cfg.on_peer(h->cfg.ctx, p, 1);
}

/*
 * An honest host sends one PING per ping interval and one PONG per PING of
 * ours: P2P_PINGS_PER_TICK per interval leaves room for clock skew. Past
 * it a PING is not answered (a flood of them once made us queue 137 MB of
 * PONGs to a member that did not read) and each one scores.
 */
static int ping_allowed(p2p_peer *p)
{
	p2p_host *h = p->host;
	uint64_t now = uv_now(h->loop);

	if (now - p->ping_tick_at >= h->cfg.ping_interval_ms) {
		p->ping_tick_at = now;
		p->pings = 0;
	}
	if (++p->pings <= P2P_PINGS_PER_TICK)
		return 1;
	h->stats.floods++;
	(void)p2p_peer_charge(p, P2P_PENALTY_FLOOD, "PING/PONG flood, banned");
	return 0;
}

static int dispatch(p2p_peer *p, uint16_t type, const uint8_t *body, size_t n)
{
	p2p_host *h = p->host;

	if (type >= P2P_TYPE_APP) {
		if (h->cfg.on_message != NULL)
			h->cfg.on_message(h->cfg.ctx, p, type, body, n);
		return FL_OK;
	}
	switch (type) {
	case P2P_TYPE_PING:
		if (n != 0)
			return FL_EPROTO;
		if (!ping_allowed(p))
			return FL_OK;
		return p2p_peer_queue(p, P2P_PRIO_HIGH, P2P_TYPE_PONG, NULL, 0);
	case P2P_TYPE_PONG:
		if (n != 0)
			return FL_EPROTO;
		(void)ping_allowed(p);
		return FL_OK;
	case P2P_TYPE_ADDRS:
		return p2p_book_on_addrs(h, p, body, n);
	case P2P_TYPE_GOSSIP:
		p->gossip_in++;
		return p2p_gossip_on_message(h, p, body, n);
	case P2P_TYPE_REQUEST:
		return p2p_request_on_request(p, body, n);
	case P2P_TYPE_RESPONSE:
		return p2p_request_on_response(p, body, n);
	case P2P_TYPE_BLOB_CHUNK:
		p->blob_chunks_in++;
		/* fall through */
	case P2P_TYPE_BLOB_WANT:
	case P2P_TYPE_BLOB_NONE:
		return h->blobs != NULL ? p2p_blobs_on_message(h->blobs, p, type, body, n) : FL_OK;
	default:
		return FL_EVERSION;
	}
}

/* AUTH, two frames: the remote's identity (answered with our signature,
 * which names it), then its signature (which names us). */
static void on_auth_frame(p2p_peer *p, const uint8_t *plain, size_t n)
{
	p2p_host *h = p->host;
	uint8_t sig[P2P_AUTH_SIG_LEN];

	if (!p->sess.has_remote_claim) {
		if (p2p_auth_id_accept(&p->sess, plain, n) != FL_OK ||
		    p2p_auth_make(&p->sess, h->cfg.network_id, &h->cfg.identity, sig) != FL_OK) {
			p2p_peer_misbehaved(p, 0, "bad AUTH identity");
			return;
		}
		if (p2p_peer_queue_raw(p, P2P_PRIO_HIGH, NULL, 0, sig, sizeof(sig), P2P_OUT_AUTH) !=
		    FL_OK)
			p2p_peer_close(p);
		return;
	}
	if (p2p_auth_accept(&p->sess, h->cfg.network_id, plain, n) != FL_OK) {
		p2p_peer_misbehaved(p, 0, "bad AUTH");
		return;
	}
	on_authenticated(p);
}

/* A BATCH frame: checked whole first (nothing of a bad one is delivered),
 * then each message in order, as if each had come in its own frame. A
 * callback may close the peer meanwhile: the rest is then dropped. */
static void on_batch(p2p_peer *p, const uint8_t *body, size_t n)
{
	p2p_batch_msg b;
	const uint8_t *msg, *mbody;
	size_t msg_n, mbody_n;
	uint16_t type;
	int rc = p2p_batch_decode(&b, body, n);

	while (rc == FL_OK && p->state == P2P_PEER_OPEN && p2p_batch_next(&b, &msg, &msg_n)) {
		p->msgs_in++;
		rc = p2p_msg_parse(msg, msg_n, &type, &mbody, &mbody_n);
		if (rc == FL_OK)
			rc = dispatch(p, type, mbody, mbody_n);
	}
	if (rc < 0 && rc != FL_ENOMEM && rc != FL_EIO)
		p2p_peer_misbehaved(p, P2P_PENALTY_MALFORMED, fl_strerror(rc));
}

/* One whole frame: hdr its 4 length bytes, ct its ct_len bytes, opened into
 * plain (which may be ct: the frame is opened in place). */
static void on_frame(p2p_peer *p, const uint8_t *hdr, const uint8_t *ct, size_t ct_len,
		     uint8_t *plain)
{
	size_t n = ct_len - P2P_TAG_LEN;

	/* Anyone on the path can flip a bit: a frame that does not open
	 * proves nothing about the peer, so it closes the session unscored. */
	if (p2p_frame_open(&p->sess, hdr, ct, ct_len, plain) != FL_OK) {
		p2p_peer_misbehaved(p, 0, "bad frame MAC");
		return;
	}
	on_plain(p, plain, n);
}

/* A frame's plaintext, authenticated: AUTH, or a message. */
static void on_plain(p2p_peer *p, const uint8_t *plain, size_t n)
{
	const uint8_t *body;
	size_t body_len;
	uint16_t type;
	int rc;

	if (p->state == P2P_PEER_AUTH) {
		on_auth_frame(p, plain, n);
		return;
	}
	rc = p2p_msg_parse(plain, n, &type, &body, &body_len);
	if (rc == FL_OK && p->state == P2P_PEER_READY) {
		on_open(p);
		if (p->state != P2P_PEER_OPEN)
			return;
	}
	if (rc == FL_OK && type == P2P_TYPE_BATCH) {
		on_batch(p, body, body_len);
		return;
	}
	p->msgs_in++;
	if (rc == FL_OK)
		rc = dispatch(p, type, body, body_len);
	/* Our own shortage of memory is not the peer's fault. */
	if (rc < 0 && rc != FL_ENOMEM && rc != FL_EIO)
		p2p_peer_misbehaved(p, P2P_PENALTY_MALFORMED, fl_strerror(rc));
}

/* Bytes of the HELLO; returns how many of d it used. */
static size_t feed_hello(p2p_peer *p, const uint8_t *d, size_t n)
{
	p2p_host *h = p->host;
	uint8_t id[P2P_AUTH_ID_LEN];
	size_t need, take;

	need = HELLO_FIXED;
	if (p->hello_have >= HELLO_FIXED) {
		if (p->hello[HELLO_FIXED - 1] > P2P_NETWORK_ID_MAX) {
			p2p_peer_misbehaved(p, 0, "HELLO network id too long");
			return n;
		}
		need = HELLO_FIXED + p->hello[HELLO_FIXED - 1] + 32;
	}
	take = need - p->hello_have < n ? need - p->hello_have : n;
	memcpy(p->hello + p->hello_have, d, take);
	p->hello_have += take;
	if (p->hello_have < need || need == HELLO_FIXED)
		return take;
	/* An inbound socket gets our key and HELLO only now: one that never
	 * sends its own has cost us no crypto at all. */
	if (!p->outbound && send_hello(p) != FL_OK) {
		p2p_peer_close(p);
		return take;
	}
	h->stats.key_exchanges++;
	if (p2p_hello_accept(&p->sess, h->cfg.network_id, p->hello, p->hello_have) != FL_OK) {
		p2p_peer_misbehaved(p, 0, "bad HELLO");
		return take;
	}
	p->state = P2P_PEER_AUTH;
	/* The HELLO deadline is met; the rest of the handshake has what is
	 * left of handshake_timeout_ms, counted from the accept. */
	if (!p->outbound) {
		uint64_t spent = uv_now(h->loop) - p->since;
		uint64_t left =
		    spent < h->cfg.handshake_timeout_ms ? h->cfg.handshake_timeout_ms - spent : 1;

		uv_timer_start(&p->timer, p2p_peer_on_timer, left, 0);
		p2p_admit_progress(p);
	}
	/* Our identity is our first sealed frame, our signature the second:
	 * nothing else can be queued before the session is open. */
	p2p_auth_id_make(&p->sess, &h->self, id);
	if (p2p_peer_queue_raw(p, P2P_PRIO_HIGH, NULL, 0, id, sizeof(id), P2P_OUT_AUTH) != FL_OK)
		p2p_peer_close(p);
	return take;
}

/* Bytes of frames; returns how many of d it used. */
static size_t feed_frame(p2p_peer *p, const uint8_t *d, size_t n)
{
	const p2p_config *cfg = &p->host->cfg;
	size_t take, ct_len;
	int rc;

	if (!p->in_body) {
		take = P2P_LEN_PREFIX - p->len_have < n ? P2P_LEN_PREFIX - p->len_have : n;
		memcpy(p->len_hdr + p->len_have, d, take);
		p->len_have += take;
		if (p->len_have < P2P_LEN_PREFIX)
			return take;
		p->len_have = 0;
		/* Before AUTH a frame can only be AUTH: an unauthenticated socket
		 * never makes us allocate more than that. */
		rc = p2p_frame_length(
		    p->len_hdr, p->state == P2P_PEER_AUTH ? P2P_AUTH_LEN : cfg->max_frame, &ct_len);
		/* The length is checked before its MAC can be: unscored, as a
		 * bad MAC is. */
		if (rc != FL_OK) {
			p2p_peer_misbehaved(p, 0, "frame length over the maximum");
			return take;
		}
		/* The whole frame is in the read buffer (small messages): open it
		 * from there, without copying it into the frame buffer first. */
		if (take == P2P_LEN_PREFIX && n - take >= ct_len) {
			on_frame(p, d, d + P2P_LEN_PREFIX, ct_len, p->host->plain);
			return take + ct_len;
		}
		if (ct_len > p->ct_cap) {
			uint8_t *nb = fl_realloc(p->ct, ct_len);
			if (nb == NULL) {
				p2p_peer_close(p);
				return take;
			}
			p->ct = nb;
			p->ct_cap = ct_len;
		}
		p->ct_need = ct_len;
		p->ct_have = 0;
		p->in_body = 1;
		/* Large: opened as it arrives. AUTH frames are small. */
		p->ct_stream = 0;
		if (ct_len >= P2P_DIRECT_READ) {
			if (p2p_frame_open_begin(&p->sess, p->len_hdr, ct_len) != FL_OK) {
				p2p_peer_close(p);
				return take;
			}
			p->ct_stream = 1;
			p->ct_open = 0;
		}
		return take;
	}
	take = p->ct_need - p->ct_have < n ? p->ct_need - p->ct_have : n;
	if (p->ct_stream) {
		/* Decrypted as it leaves the shared buffer: one pass, not a
		 * copy and then a decrypt. The tag is copied as it is. */
		size_t pt = p->ct_need - P2P_TAG_LEN;
		size_t dec =
		    p->ct_have < pt ? (take < pt - p->ct_have ? take : pt - p->ct_have) : 0;

		if (p2p_frame_open_update(&p->sess, p->ct + p->ct_have, d, dec) != FL_OK) {
			p2p_peer_close(p);
			return take;
		}
		memcpy(p->ct + p->ct_have + dec, d + dec, take - dec);
		p->ct_open = p->ct_have + dec;
	} else {
		memcpy(p->ct + p->ct_have, d, take);
	}
	p->ct_have += take;
	frame_body_read(p);
	return take;
}

/* ct_have grew; a complete frame is opened in place in p->ct (a large one
 * piece by piece as it arrives, its MAC checked at the end). */
static void frame_body_read(p2p_peer *p)
{
	size_t pt = p->ct_need - P2P_TAG_LEN;

	if (p->ct_stream) {
		size_t upto = p->ct_have < pt ? p->ct_have : pt;

		if (upto > p->ct_open &&
		    p2p_frame_open_update(&p->sess, p->ct + p->ct_open, p->ct + p->ct_open,
					  upto - p->ct_open) != FL_OK) {
			p2p_peer_close(p);
			return;
		}
		p->ct_open = upto;
	}
	if (p->ct_have < p->ct_need)
		return;
	p->in_body = 0;
	if (!p->ct_stream) {
		on_frame(p, p->len_hdr, p->ct, p->ct_need, p->ct);
		return;
	}
	p->ct_stream = 0;
	if (p2p_frame_open_end(&p->sess, p->ct, pt, p->ct + pt) != FL_OK) {
		p2p_peer_misbehaved(p, 0, "bad frame MAC");
		return;
	}
	on_plain(p, p->ct, pt);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	p2p_peer *p = handle->data;
	size_t left = p->ct_need - p->ct_have;

	(void)suggested;
	/* The rest of a large frame goes straight into its frame buffer: no
	 * copy on the read path. Below P2P_DIRECT_READ a copy from the shared
	 * buffer is cheaper than the extra read for the next frame's header. */
	if (p->in_body && p->state != P2P_PEER_CLOSING && left >= P2P_DIRECT_READ) {
		*buf = uv_buf_init((char *)p->ct + p->ct_have, (unsigned)left);
		return;
	}
	/* One buffer per host: read callbacks consume it before returning. */
	*buf = uv_buf_init((char *)p->host->rbuf, P2P_READ_BUF);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	p2p_peer *p = stream->data;
	const uint8_t *d = (const uint8_t *)buf->base;
	size_t n;

	if (p->state == P2P_PEER_CLOSING || nread == 0)
		return;
	if (nread < 0) {
		p2p_peer_close(p);
		return;
	}
	n = (size_t)nread;
	p->bytes_in += n;
	p->rx_since_tick = 1;
	if (d != p->host->rbuf) {
		/* Read into p->ct by on_alloc, at most the frame's remaining bytes. */
		assert(p->in_body && n <= p->ct_need - p->ct_have);
		p->ct_have += n;
		frame_body_read(p);
		return;
	}
	while (n > 0 && p->state != P2P_PEER_CLOSING) {
		size_t used =
		    p->state == P2P_PEER_HELLO ? feed_hello(p, d, n) : feed_frame(p, d, n);
		d += used;
		n -= used;
	}
}

/* Handshake timeout before the session opens; the ping interval after. */
void p2p_peer_on_timer(uv_timer_t *t)
{
	p2p_peer *p = t->data;
	p2p_host *h = p->host;

	if (p->state == P2P_PEER_CLOSING)
		return;
	if (p->state == P2P_PEER_HELLO && !p->outbound) {
		/* Idle strangers come by the thousand: counted, not logged. */
		h->stats.hello_timeouts++;
		p2p_peer_close(p);
		return;
	}
	if (p->state != P2P_PEER_OPEN) {
		p2p_peer_misbehaved(p, 0,
				    p->state == P2P_PEER_CONNECTING ? "connect timeout"
								    : "handshake timeout");
		return;
	}
	p->silent = p->rx_since_tick ? 0 : p->silent + 1;
	p->rx_since_tick = 0;
	if (p->silent >= P2P_SILENT_MAX) {
		p2p_peer_misbehaved(p, 0, "silent for 3 ping intervals");
		return;
	}
	/* Governance may have removed it since the handshake. */
	if (!h->cfg.is_member(h->cfg.ctx, &p->sess.remote_id)) {
		p2p_peer_misbehaved(p, 0, "no longer a member");
		return;
	}
	/* A full queue has dropped the peer already; nothing else to do. */
	if (p2p_peer_queue(p, P2P_PRIO_HIGH, P2P_TYPE_PING, NULL, 0) != FL_OK)
		return;
}

/* A fresh ephemeral key, and our HELLO queued in clear. */
static int send_hello(p2p_peer *p)
{
	p2p_host *h = p->host;
	uint8_t hello[P2P_HELLO_MAX];
	size_t n;
	int rc;

	if ((rc = p2p_hello_make(&p->sess, h->cfg.network_id,
				 p->outbound ? P2P_ROLE_INITIATOR : P2P_ROLE_RESPONDER, hello,
				 &n)) != FL_OK)
		return rc;
	h->stats.ephemeral_keys++;
	return p2p_peer_queue_raw(p, P2P_PRIO_HIGH, NULL, 0, hello, n, P2P_OUT_CLEAR);
}

void p2p_peer_begin(p2p_peer *p)
{
	p2p_host *h = p->host;
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);
	uint32_t first;

	p->state = P2P_PEER_HELLO;
	p->since = uv_now(h->loop);
	if (uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		char ip[32];
		if (uv_ip4_name(sin, ip, sizeof(ip)) == 0)
			snprintf(p->addr, sizeof(p->addr), "%s:%u", ip,
				 (unsigned)ntohs(sin->sin_port));
	}
	(void)uv_tcp_nodelay(&p->tcp, 1);
	/* A dialled peer answers our HELLO; an inbound socket must send its
	 * whole HELLO first, within hello_timeout_ms. */
	first = h->cfg.handshake_timeout_ms;
	if (!p->outbound && h->cfg.hello_timeout_ms < first)
		first = h->cfg.hello_timeout_ms;
	uv_timer_start(&p->timer, p2p_peer_on_timer, first, 0);
	if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) != 0 ||
	    (p->outbound && send_hello(p) != FL_OK))
		p2p_peer_close(p);
}

/* --------------------------------------------------------- accessors */

void p2p_peer_get_info(const p2p_peer *p, p2p_peer_info *out)
{
	assert(p != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	out->id = p->sess.remote_id;
	memcpy(out->addr, p->addr, sizeof(out->addr));
	out->outbound = p->outbound;
	out->bytes_in = p->bytes_in;
	out->bytes_out = p->bytes_out;
	out->msgs_in = p->msgs_in;
	out->msgs_out = p->msgs_out;
	out->send_queue_bytes = p->queued;
	out->blob_chunks_in = p->blob_chunks_in;
	out->score = p->sess.authenticated ? p2p_book_score(p->host, &p->sess.remote_id) : 0;
}

const fl_pubkey *p2p_peer_id(const p2p_peer *p)
{
	assert(p != NULL && p->sess.authenticated);
	return &p->sess.remote_id;
}

void p2p_peer_drop(p2p_peer *p, int ban)
{
	assert(p != NULL);
	if (ban && p->sess.authenticated)
		p2p_book_ban(p->host, &p->sess.remote_id);
	p2p_peer_close(p);
}
