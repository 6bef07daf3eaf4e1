/*
 * p2p/blob.c — blob transfer on top of the host's send queue
 * (docs/p2p.md, "Blobs"): fetching a blob by hash from the peers that have
 * it, and the hooks the host calls.
 *
 * Fetching: peers are asked one at a time, nearest first by XOR distance
 * between their id and the hash (deterministic, and different blobs start
 * at different peers). The first WANT to a peer asks for one chunk, which
 * tells the total; only then, and only if total <= max_size, is the buffer
 * allocated and the window of P2P_BLOB_MAX_CREDIT chunks opened. The credit
 * is topped up once half of it has arrived, so the pipe stays full while
 * at most one window per transfer is in flight. A peer that leaves or says
 * BLOB_NONE mid-transfer is replaced and the transfer resumes at the next
 * offset; a peer that breaks the protocol or whose bytes miss the hash is
 * blamed (negative return: the host scores it) and the transfer restarts
 * from zero at the next peer. A peer that sends no chunk for
 * blob_progress_ms (a member that keeps its link alive but never answers)
 * is left like one that said BLOB_NONE, and scored lightly.
 *
 * Serving is p2p/blob_serve.c.
 *
 * Re-entrancy: p2p_peer_queue may drop a slow peer, and a host may call
 * p2p_blobs_on_peer_gone from inside it. So a fetch is freed only from its
 * timers' close callbacks, and the caller's callback always runs from
 * that timer, never inside p2p_blob_fetch or a host hook.
 */
#include "p2p/blob_internal.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

struct blob_fetch {
	blob_fetch *next;
	p2p_blobs *b;
	uv_timer_t timer;    /* the timeout, then the deferred callback */
	uv_timer_t progress; /* the current peer's deadline for its next chunk */
	int handles;         /* of the two timers, still open */
	fl_hash hash;
	uint64_t max_size;
	p2p_blob_cb cb;
	void *arg;
	p2p_peer *peer;   /* asked now; NULL while waiting for a free slot */
	fl_pubkey *tried; /* never asked again in this fetch */
	size_t n_tried, cap_tried;
	uint8_t *buf; /* total bytes, allocated once total <= max_size is known */
	/* SHA-256 of buf[0..received), fed chunk by chunk: hashing a 64 MB
	 * blob at the end would stall the loop (gossip, votes) for tens of ms. */
	fl_sha256_ctx *sha;
	uint64_t total;
	int have_total;
	uint64_t received;  /* every byte below is in buf; the next chunk's offset */
	uint64_t requested; /* end of the range granted to the current peer */
	int opened;         /* the current peer's first chunk came: window open */
	int mixed;          /* buf holds bytes of more than one peer */
	int too_big;        /* some peer announced more than max_size */
	int stalled;        /* some peer let its progress deadline pass */
	int done;           /* status set, callback pending on the timer */
	int status;
};

/* SHA-256 of the empty string: the one blob that needs no transfer (a
 * chunk carries 1..P2P_BLOB_CHUNK bytes, so it could not be sent). */
static const fl_hash empty_hash = {{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
				    0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
				    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
				    0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}};

static void fetch_schedule(blob_fetch *f);
static void fetch_finish(blob_fetch *f, int status);
static void progress_expired(uv_timer_t *timer);

/* A chunk from the current peer (or a new peer asked): it has
 * blob_progress_ms for the next one, else the fetch moves on. */
static void progress_restart(blob_fetch *f)
{
	uv_timer_start(&f->progress, progress_expired, p2p_host_config(f->b->host)->blob_progress_ms,
		       0);
}

void p2p_blobs_maybe_free(p2p_blobs *b)
{
	if (b->closing && b->open_handles == 0) {
		p2p_host *h = b->host;

		fl_writer_free(&b->out);
		fl_free(b);
		p2p_host_blobs_closed(h);
	}
}

int p2p_blobs_new(p2p_blobs **out, p2p_host *h)
{
	p2p_blobs *b;

	assert(out != NULL && h != NULL);
	b = fl_calloc(1, sizeof(*b));
	if (b == NULL)
		return FL_ENOMEM;
	b->host = h;
	fl_writer_init(&b->out, P2P_MAX_FRAME);
	*out = b;
	return FL_OK;
}

/* ----------------------------------------------------------- fetching */

static int fetch_tried(const blob_fetch *f, const fl_pubkey *id)
{
	for (size_t i = 0; i < f->n_tried; i++)
		if (fl_pubkey_cmp(&f->tried[i], id) == 0)
			return 1;
	return 0;
}

/* Whether a is nearer the hash than c (XOR distance, bytes big-end first). */
static int nearer(const fl_hash *hash, const fl_pubkey *a, const fl_pubkey *c)
{
	for (size_t i = 0; i < FL_HASH_LEN; i++) {
		uint8_t da = a->b[i] ^ hash->b[i], dc = c->b[i] ^ hash->b[i];

		if (da != dc)
			return da < dc;
	}
	return 0;
}

/* Our side of the per-peer bound, so that a peer never has to refuse us,
 * and one transfer per (peer, hash) so chunks route to exactly one fetch. */
static int peer_has_slot(const p2p_blobs *b, const p2p_peer *p, const fl_hash *hash)
{
	unsigned used = 0;

	for (const blob_fetch *f = b->fetches; f != NULL; f = f->next) {
		if (f->done || f->peer != p)
			continue;
		if (fl_hash_cmp(&f->hash, hash) == 0)
			return 0;
		used++;
	}
	return used < BLOB_PEER_SLOTS;
}

static void fetch_reset(blob_fetch *f)
{
	fl_free(f->buf);
	f->buf = NULL;
	fl_sha256_ctx_abort(f->sha);
	f->sha = NULL;
	f->have_total = 0;
	f->total = 0;
	f->received = 0;
	f->requested = 0;
	f->mixed = 0;
}

static int want_send(blob_fetch *f, uint64_t offset, uint32_t credit)
{
	p2p_blob_want_msg m = {f->hash, offset, credit};
	fl_writer w;
	int rc;

	fl_writer_init(&w, 256);
	rc = p2p_blob_want_encode(&w, &m);
	if (rc == FL_OK)
		rc = fl_writer_finish(&w);
	if (rc == FL_OK)
		rc = p2p_peer_queue(f->peer, P2P_PRIO_HIGH, P2P_TYPE_BLOB_WANT, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

/* Asks the current peer for one chunk at f->received: its answer tells the
 * total before we commit memory or a window to it. */
static int fetch_ask(blob_fetch *f)
{
	progress_restart(f);
	f->opened = 0;
	f->requested = f->received + P2P_BLOB_CHUNK;
	if (f->have_total && f->requested > f->total)
		f->requested = f->total;
	return want_send(f, f->received, 1);
}

/* Stops asking the current peer; the bytes so far stay for the next one.
 * A peer that refused or misbehaved is not asked again in this fetch; one
 * whose session merely ended may be, once it is back. */
static void fetch_leave(blob_fetch *f, int exclude)
{
	fl_pubkey *grown;

	if (f->peer == NULL)
		return;
	if (exclude && f->n_tried == f->cap_tried) {
		size_t cap = f->cap_tried ? 2 * f->cap_tried : 8;

		grown = fl_realloc(f->tried, cap * sizeof(*grown));
		if (grown == NULL) {
			fetch_finish(f, FL_ENOMEM);
			return;
		}
		f->tried = grown;
		f->cap_tried = cap;
	}
	if (exclude)
		f->tried[f->n_tried++] = *p2p_peer_id(f->peer);
	f->peer = NULL;
	uv_timer_stop(&f->progress);
	if (f->received > 0)
		f->mixed = 1;
}

static void fetch_schedule(blob_fetch *f)
{
	p2p_blobs *b = f->b;

	while (!f->done && f->peer == NULL && !b->closing) {
		size_t n = p2p_peer_count(b->host);
		p2p_peer **peers = NULL, *best = NULL;
		int untried = 0;

		if (n > 0) {
			peers = fl_malloc(n * sizeof(*peers));
			if (peers == NULL) {
				fetch_finish(f, FL_ENOMEM);
				return;
			}
			n = p2p_peers(b->host, peers, n);
		}
		for (size_t i = 0; i < n; i++) {
			const fl_pubkey *id = p2p_peer_id(peers[i]);

			if (peers[i] == b->leaving || fetch_tried(f, id))
				continue;
			untried = 1;
			if (!peer_has_slot(b, peers[i], &f->hash))
				continue;
			if (best == NULL || nearer(&f->hash, id, p2p_peer_id(best)))
				best = peers[i];
		}
		fl_free(peers);
		if (best == NULL) {
			/* All busy: a slot freeing up wakes us (blobs_wake). */
			if (!untried)
				fetch_finish(f, f->too_big   ? FL_ETOOBIG
						: f->stalled ? FL_ETIMEOUT
							     : FL_ENOTFOUND);
			return;
		}
		f->peer = best;
		if (fetch_ask(f) < 0 && f->peer == best)
			fetch_leave(f, 1);
	}
}

/* Fetches waiting for a slot get a chance whenever one may have freed. */
static void blobs_wake(p2p_blobs *b)
{
	for (blob_fetch *f = b->fetches; f != NULL && !b->closing; f = f->next)
		if (!f->done && f->peer == NULL)
			fetch_schedule(f);
}

static void fetch_closed(uv_handle_t *handle)
{
	blob_fetch *f = handle->data;
	p2p_blobs *b = f->b;

	if (--f->handles > 0)
		return;
	fl_free(f->tried);
	fl_free(f);
	b->open_handles--;
	p2p_blobs_maybe_free(b);
}

static void fetch_deliver(uv_timer_t *timer)
{
	static const uint8_t nothing[1];
	blob_fetch *f = timer->data, **pp;
	p2p_blobs *b = f->b;

	for (pp = &b->fetches; *pp != f; pp = &(*pp)->next)
		assert(*pp != NULL);
	*pp = f->next;
	/* Counted open until the close below: b outlives this callback even
	 * if the caller closes the host from it. */
	f->cb(f->arg, f->status, &f->hash, f->buf != NULL ? f->buf : nothing,
	      f->status == FL_OK ? (size_t)f->total : 0);
	fl_free(f->buf);
	f->buf = NULL;
	fl_sha256_ctx_abort(f->sha);
	f->sha = NULL;
	uv_close((uv_handle_t *)&f->timer, fetch_closed);
	uv_close((uv_handle_t *)&f->progress, fetch_closed);
	if (!b->closing)
		blobs_wake(b);
}

static void fetch_finish(blob_fetch *f, int status)
{
	if (f->done)
		return;
	f->done = 1;
	f->status = status;
	f->peer = NULL;
	if (status != FL_OK)
		fetch_reset(f);
	uv_timer_stop(&f->progress);
	uv_timer_stop(&f->timer);
	uv_timer_start(&f->timer, fetch_deliver, 0, 0);
}

static void fetch_timeout(uv_timer_t *timer)
{
	blob_fetch *f = timer->data;
	p2p_blobs *b = f->b;

	fetch_finish(f, FL_ETIMEOUT);
	blobs_wake(b);
}

/* The current peer keeps its session but sent no chunk in time (it may
 * never answer WANTs at all): the fetch moves to the next peer, keeping
 * the bytes so far, and the silence costs the peer a little score. Only a
 * little: a loaded but honest host can be late too. */
static void progress_expired(uv_timer_t *timer)
{
	blob_fetch *f = timer->data;
	p2p_peer *p = f->peer;

	if (f->done || p == NULL)
		return;
	f->stalled = 1;
	fetch_leave(f, 1);
	p2p_peer_penalize(p, BLOB_PENALTY_STALL);
	fetch_schedule(f);
	blobs_wake(f->b);
}

static blob_fetch *fetch_find(p2p_blobs *b, const p2p_peer *p, const fl_hash *hash)
{
	for (blob_fetch *f = b->fetches; f != NULL; f = f->next)
		if (!f->done && f->peer == p && fl_hash_cmp(&f->hash, hash) == 0)
			return f;
	return NULL;
}

/* The current peer broke the protocol: its bytes are not trusted either. */
static int fetch_blame(blob_fetch *f, int code)
{
	fetch_leave(f, 1);
	fetch_reset(f);
	fetch_schedule(f);
	return code;
}

static int fetch_complete(blob_fetch *f)
{
	fl_hash got;

	fl_sha256_final(f->sha, &got);
	f->sha = NULL;
	if (fl_hash_cmp(&got, &f->hash) == 0) {
		fetch_finish(f, FL_OK);
		return FL_OK;
	}
	if (f->mixed) {
		/* Pieced together after a peer left: we cannot tell whose bytes
		 * were wrong, so start over with this peer alone. */
		fetch_reset(f);
		if (fetch_ask(f) < 0)
			fetch_leave(f, 1);
		fetch_schedule(f);
		return FL_OK;
	}
	return fetch_blame(f, FL_ECORRUPT);
}

static int on_chunk(p2p_blobs *b, p2p_peer *p, const uint8_t *body, size_t n)
{
	p2p_blob_chunk_msg m;
	blob_fetch *f;
	uint64_t expect, outstanding;
	int rc;

	rc = p2p_blob_chunk_decode(&m, body, n);
	if (rc < 0)
		return rc;
	/* Late chunks of a fetch that ended or moved on were asked for once. */
	f = fetch_find(b, p, &m.hash);
	if (f == NULL)
		return FL_OK;
	if (m.n == 0 || m.offset > m.total || m.n > m.total - m.offset)
		return fetch_blame(f, FL_EPROTO);
	if (!f->have_total) {
		if (m.offset != 0)
			return fetch_blame(f, FL_EPROTO);
		if (m.total > f->max_size) {
			/* Maybe true: not the peer's fault, but never allocated. */
			f->too_big = 1;
			fetch_leave(f, 1);
			fetch_schedule(f);
			return FL_OK;
		}
		f->buf = fl_malloc((size_t)m.total);
		if (f->buf == NULL || fl_sha256_init(&f->sha) != FL_OK) {
			fetch_finish(f, FL_ENOMEM);
			return FL_OK;
		}
		f->total = m.total;
		f->have_total = 1;
		if (f->requested > f->total)
			f->requested = f->total;
	} else if (m.total != f->total) {
		if (f->opened)
			return fetch_blame(f, FL_EPROTO);
		/* A peer we resumed with sizes the blob differently: one of the
		 * two lied, so start over with this one alone. */
		fetch_reset(f);
		if (fetch_ask(f) < 0)
			fetch_leave(f, 1);
		fetch_schedule(f);
		return FL_OK;
	}
	expect = f->total - f->received < P2P_BLOB_CHUNK ? f->total - f->received : P2P_BLOB_CHUNK;
	if (m.offset != f->received || m.offset >= f->requested || m.n != expect)
		return fetch_blame(f, FL_EPROTO);
	memcpy(f->buf + m.offset, m.data, m.n);
	fl_sha256_update(f->sha, m.data, m.n);
	f->received += m.n;
	f->opened = 1;
	progress_restart(f);
	if (f->received == f->total)
		return fetch_complete(f);
	/* Top up once half the window has arrived: the sender never stalls,
	 * and no more than one window is ever in flight. */
	outstanding = (f->requested - f->received + P2P_BLOB_CHUNK - 1) / P2P_BLOB_CHUNK;
	if (f->requested < f->total && outstanding <= BLOB_WINDOW / 2) {
		uint64_t offset = f->requested;
		uint32_t credit = (uint32_t)(BLOB_WINDOW - outstanding);

		f->requested = f->total - offset < (uint64_t)credit * P2P_BLOB_CHUNK
				   ? f->total
				   : offset + (uint64_t)credit * P2P_BLOB_CHUNK;
		if (want_send(f, offset, credit) < 0 && f->peer == p) {
			fetch_leave(f, 1);
			fetch_schedule(f);
		}
	}
	return FL_OK;
}

static int on_none(p2p_blobs *b, p2p_peer *p, const uint8_t *body, size_t n)
{
	fl_hash hash;
	blob_fetch *f;

	if (n != FL_HASH_LEN)
		return FL_EPROTO;
	memcpy(hash.b, body, FL_HASH_LEN);
	f = fetch_find(b, p, &hash);
	if (f != NULL) {
		fetch_leave(f, 1);
		fetch_schedule(f);
	}
	return FL_OK;
}

int p2p_blobs_on_message(p2p_blobs *b, p2p_peer *p, uint16_t type, const uint8_t *body, size_t n)
{
	int rc;

	assert(b != NULL && p != NULL && (body != NULL || n == 0));
	if (b->closing)
		return FL_OK;
	p2p_blob_serve_reap(b);
	switch (type) {
	case P2P_TYPE_BLOB_WANT:
		rc = p2p_blob_serve_want(b, p, body, n);
		break;
	case P2P_TYPE_BLOB_CHUNK:
		rc = on_chunk(b, p, body, n);
		break;
	case P2P_TYPE_BLOB_NONE:
		rc = on_none(b, p, body, n);
		break;
	default:
		rc = FL_EPROTO;
		break;
	}
	blobs_wake(b);
	return rc;
}

void p2p_blobs_on_peer_gone(p2p_blobs *b, p2p_peer *p)
{
	p2p_peer *outer;

	assert(b != NULL && p != NULL);
	outer = b->leaving;
	if (b->closing)
		return;
	b->leaving = p;
	p2p_blob_serve_peer_gone(b, p);
	for (blob_fetch *f = b->fetches; f != NULL; f = f->next) {
		if (!f->done && f->peer == p) {
			fetch_leave(f, 0);
			fetch_schedule(f);
		}
	}
	blobs_wake(b);
	b->leaving = outer;
}

/* Pending fetches end with FL_EIO; the memory goes once the loop has run
 * the close callbacks of every handle taken here. */
void p2p_blobs_free(p2p_blobs *b)
{
	if (b == NULL)
		return;
	b->closing = 1;
	p2p_blob_serve_close(b);
	for (blob_fetch *f = b->fetches; f != NULL; f = f->next)
		fetch_finish(f, FL_EIO);
	p2p_blobs_maybe_free(b);
}

/* ---------------------------------------------------------------- API */

int p2p_blob_fetch(p2p_host *h, const fl_hash *hash, uint64_t max_size, uint32_t timeout_ms,
		   p2p_blob_cb cb, void *arg)
{
	p2p_blobs *b;
	blob_fetch *f, **pp;

	assert(h != NULL && hash != NULL && cb != NULL && timeout_ms > 0);
	b = p2p_host_blobs(h);
	assert(b != NULL);
	if (b->closing)
		return FL_ESTATE;
	f = fl_calloc(1, sizeof(*f));
	if (f == NULL)
		return FL_ENOMEM;
	if (uv_timer_init(p2p_host_loop(h), &f->timer) != 0) {
		fl_free(f);
		return FL_EIO;
	}
	/* Both timers count as one open handle of b; f goes when both closed. */
	b->open_handles++;
	f->b = b;
	f->timer.data = f;
	f->handles = 1;
	if (uv_timer_init(p2p_host_loop(h), &f->progress) != 0) {
		uv_close((uv_handle_t *)&f->timer, fetch_closed);
		return FL_EIO;
	}
	f->handles = 2;
	f->progress.data = f;
	f->hash = *hash;
	f->max_size = max_size < SIZE_MAX ? max_size : SIZE_MAX;
	f->cb = cb;
	f->arg = arg;
	/* Appended: waiting fetches get free slots in the order they came. */
	for (pp = &b->fetches; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = f;
	uv_timer_start(&f->timer, fetch_timeout, timeout_ms, 0);
	if (fl_hash_cmp(hash, &empty_hash) == 0)
		fetch_finish(f, FL_OK);
	else
		fetch_schedule(f);
	return FL_OK;
}
