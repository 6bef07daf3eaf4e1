/*
 * p2p/host.c — the host: configuration check, starting (the listener and
 * who may connect are admit.c's), dialling with max_outbound, the peer list,
 * and closing every handle before the host is freed (p2p/p2p.h).
 *
 * Every uv handle the host owns (listener, book timer, each peer's socket
 * and timer, each request's timer) is counted in h->handles, and so are its
 * blobs, as one, until blob.c has called back every fetch and closed its
 * own handles; a close callback lowers the count, and the host is freed
 * when it reaches zero after p2p_host_close, so no callback ever sees
 * freed memory and the caller's close callback comes last.
 */
#include "p2p/host_internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

static int check_config(const p2p_config *cfg)
{
	size_t id_len = strnlen(cfg->network_id, sizeof(cfg->network_id));

	if (id_len == 0 || id_len > P2P_NETWORK_ID_MAX)
		return FL_EINVAL;
	if (strnlen(cfg->listen, sizeof(cfg->listen)) >= sizeof(cfg->listen))
		return FL_EINVAL;
	if (cfg->max_frame < P2P_AUTH_LEN || cfg->max_frame > P2P_MAX_FRAME)
		return FL_EINVAL;
	/* A queue, and the host's, must hold at least one full frame. */
	if (cfg->max_send_queue < P2P_OUT_COST((size_t)cfg->max_frame) ||
	    cfg->max_queued_total < cfg->max_send_queue)
		return FL_EINVAL;
	if (cfg->handshake_timeout_ms == 0 || cfg->ping_interval_ms == 0)
		return FL_EINVAL;
	if (cfg->max_pending_inbound == 0 || cfg->max_pending_per_addr == 0 ||
	    cfg->hello_timeout_ms == 0)
		return FL_EINVAL;
	/* Bounded so that admit.c's token arithmetic cannot overflow. */
	if (cfg->handshake_burst == 0 || cfg->handshake_burst > 1000000 ||
	    cfg->handshakes_per_s == 0 || cfg->handshakes_per_s > 1000000)
		return FL_EINVAL;
	if (cfg->blob_progress_ms == 0 || cfg->blob_fetch_peers == 0 ||
	    cfg->blob_fetch_peers > P2P_BLOB_FETCH_PEERS_MAX)
		return FL_EINVAL;
	if (cfg->backoff_min_ms == 0 || cfg->backoff_min_ms > cfg->backoff_max_ms)
		return FL_EINVAL;
	if (cfg->ban_score <= 0 || cfg->seen_cache == 0 || cfg->seen_cache > (1u << 24))
		return FL_EINVAL;
	/* The byte bucket must hold one whole frame, or big gossip never passes. */
	if (cfg->gossip_msgs_per_s == 0 || cfg->gossip_bytes_per_s < cfg->max_frame)
		return FL_EINVAL;
	return FL_OK;
}

int p2p_host_new(p2p_host **out, uv_loop_t *loop, const p2p_config *cfg)
{
	p2p_host *h = NULL;
	int rc;

	assert(out != NULL && loop != NULL && cfg != NULL);
	assert(cfg->is_member != NULL);
	*out = NULL;
	if ((rc = check_config(cfg)) != FL_OK)
		return rc;
	if (sodium_init() < 0)
		return FL_ECRYPTO;
	h = fl_calloc(1, sizeof(*h));
	if (h == NULL)
		return FL_ENOMEM;
	h->loop = loop;
	h->cfg = *cfg;
	h->listen_fd = -1;
	h->spare_fd = -1;
	if ((rc = fl_key_public(&h->self, &cfg->identity)) != FL_OK)
		goto cleanup;
	rc = FL_ENOMEM;
	h->plain = fl_malloc(cfg->max_frame);
	h->rbuf = fl_malloc(P2P_READ_BUF);
	h->rates = fl_calloc(P2P_RATES_MAX, sizeof(*h->rates));
	if (h->plain == NULL || h->rbuf == NULL || h->rates == NULL)
		goto cleanup;
	if ((rc = p2p_book_init(&h->book, h)) != FL_OK)
		goto cleanup;
	if ((rc = p2p_seen_init(&h->seen, cfg->seen_cache)) != FL_OK)
		goto cleanup;
	if ((rc = p2p_blobs_new(&h->blobs, h)) != FL_OK)
		goto cleanup;
	h->handles++; /* the blobs, until p2p_host_blobs_closed */
	/* Last: a uv handle cannot be taken back without a loop turn. */
	p2p_book_open(h);
	*out = h;
	return FL_OK;

cleanup:
	p2p_seen_free(&h->seen);
	p2p_book_free(&h->book);
	fl_free(h->plain);
	fl_free(h->rbuf);
	fl_free(h->rates);
	fl_wipe(&h->cfg.identity, sizeof(h->cfg.identity));
	fl_free(h);
	return rc;
}

static void finish(p2p_host *h)
{
	void (*cb)(void *) = h->close_cb;
	void *arg = h->close_arg;

	p2p_seen_free(&h->seen);
	p2p_book_free(&h->book);
	for (size_t i = 0; i < h->n_spare; i++)
		fl_free(h->spare[i]);
	fl_free(h->plain);
	fl_free(h->rbuf);
	fl_free(h->rates);
	fl_wipe(&h->cfg.identity, sizeof(h->cfg.identity));
	fl_free(h);
	if (cb != NULL)
		cb(arg);
}

void p2p_host_handle_closed(p2p_host *h)
{
	assert(h->handles > 0);
	if (--h->handles == 0 && h->closing)
		finish(h);
}

void p2p_host_blobs_closed(p2p_host *h)
{
	p2p_host_handle_closed(h);
}

void p2p_host_close(p2p_host *h, void (*cb)(void *arg), void *arg)
{
	assert(h != NULL && !h->closing);
	h->closing = 1;
	h->close_cb = cb;
	h->close_arg = arg;
	/* Held until the end of this function: a handle (or the blobs)
	 * closing synchronously below must not free the host under us. */
	h->handles++;
	/* Blobs go first: a fetch must not move to a peer that is closing. */
	if (h->blobs != NULL) {
		p2p_blobs_free(h->blobs);
		h->blobs = NULL;
	}
	p2p_admit_close(h);
	for (p2p_peer *p = h->peers; p != NULL; p = p->next)
		p2p_peer_close(p);
	p2p_book_close(&h->book);
	p2p_host_handle_closed(h);
}

int p2p_host_start(p2p_host *h)
{
	int rc;

	assert(h != NULL && !h->started && !h->closing);
	h->started = 1;
	p2p_book_start(h);
	if (h->cfg.listen[0] != '\0' && (rc = p2p_admit_listen(h)) != FL_OK)
		return rc;
	return FL_OK;
}

uint16_t p2p_host_listen_port(const p2p_host *h)
{
	assert(h != NULL);
	return h->port;
}

/* ----------------------------------------------------------- dialling */

static void on_connect(uv_connect_t *req, int status)
{
	p2p_peer *p = req->data;

	if (p->state == P2P_PEER_CLOSING)
		return;
	if (status < 0) {
		p2p_peer_close(p);
		return;
	}
	p2p_peer_begin(p);
}

static int dial(p2p_host *h, const char *addr, p2p_book_entry *e)
{
	struct sockaddr_in sin;
	p2p_peer *p;
	int rc;

	assert(h->started);
	if (h->closing)
		return FL_ESTATE;
	if ((rc = p2p_addr_parse(addr, &sin)) != FL_OK)
		return rc;
	if (h->n_out >= h->cfg.max_outbound)
		return FL_ETOOBIG;
	if ((rc = p2p_peer_new(&p, h, 1)) != FL_OK)
		return rc;
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	snprintf(p->dialled, sizeof(p->dialled), "%s", addr);
	p->state = P2P_PEER_CONNECTING;
	h->dials++;
	if (e != NULL) {
		p->entry = e;
		e->peer = p;
		p->has_expect = e->has_expect;
		p->expect = e->expect;
	} else {
		p2p_book_on_dial(h, p);
	}
	/* The handshake timer covers the TCP connect too (p2p_peer_begin
	 * restarts it for the handshake): an address that never answers must
	 * not hold an outbound slot for the kernel's two-minute SYN retries. */
	uv_timer_start(&p->timer, p2p_peer_on_timer, h->cfg.handshake_timeout_ms, 0);
	/* From here the peer's close path reports the outcome to the book. */
	if (uv_tcp_connect(&p->connect_req, &p->tcp, (const struct sockaddr *)&sin, on_connect) !=
	    0) {
		p2p_peer_close(p);
		return FL_EIO;
	}
	return FL_OK;
}

int p2p_dial(p2p_host *h, const char *addr)
{
	assert(h != NULL && addr != NULL);
	return dial(h, addr, NULL);
}

int p2p_host_dial_entry(p2p_host *h, p2p_book_entry *e)
{
	return dial(h, e->addr, e);
}

/* -------------------------------------------------------------- peers */

size_t p2p_peer_count(const p2p_host *h)
{
	assert(h != NULL);
	return h->n_open;
}

size_t p2p_peers(p2p_host *h, p2p_peer **out, size_t n)
{
	size_t k = 0;

	assert(h != NULL && (out != NULL || n == 0));
	for (p2p_peer *p = h->peers; p != NULL && k < n; p = p->next)
		if (p->state == P2P_PEER_OPEN)
			out[k++] = p;
	return k;
}

const p2p_config *p2p_host_config(const p2p_host *h)
{
	assert(h != NULL);
	return &h->cfg;
}

uv_loop_t *p2p_host_loop(const p2p_host *h)
{
	assert(h != NULL);
	return h->loop;
}

p2p_blobs *p2p_host_blobs(const p2p_host *h)
{
	assert(h != NULL);
	return h->blobs;
}
