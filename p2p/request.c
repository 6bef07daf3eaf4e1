/*
 * p2p/request.c — request/response over a session (p2p/p2p.h).
 *
 * Each request has a host-wide u64 id, a timer and a place in its peer's
 * pending list. Whatever comes first — the response, the timer, or the
 * end of the session — unlinks it and calls the callback, so the callback
 * runs exactly once; a response arriving after that finds no id and is
 * ignored (a timeout racing a late answer is not misbehaviour).
 */
#include "p2p/host_internal.h"

#include <assert.h>
#include <string.h>

struct p2p_pending {
	p2p_pending *prev, *next;
	p2p_host *host;
	p2p_peer *peer; /* NULL once resolved */
	uint64_t id;
	p2p_response_cb cb;
	void *arg;
	uv_timer_t timer;
};

static void on_timer_closed(uv_handle_t *handle)
{
	p2p_pending *r = handle->data;
	p2p_host *h = r->host;

	fl_free(r);
	p2p_host_handle_closed(h);
}

static void unlink_pending(p2p_pending *r)
{
	p2p_peer *p = r->peer;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		p->pending = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->peer = NULL;
	r->prev = r->next = NULL;
}

/* Unlinks, calls back once, and releases the timer. */
static void resolve(p2p_pending *r, int status, const uint8_t *p, size_t n)
{
	unlink_pending(r);
	uv_timer_stop(&r->timer);
	r->cb(r->arg, status, p, n);
	uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

static void on_timeout(uv_timer_t *t)
{
	resolve(t->data, FL_ETIMEOUT, NULL, 0);
}

static int encode_and_queue(p2p_peer *p, uint16_t type, fl_writer *w)
{
	int rc = fl_writer_finish(w);

	if (rc == FL_OK)
		rc = p2p_peer_queue(p, P2P_PRIO_HIGH, type, w->buf, w->len);
	return rc;
}

int p2p_request(p2p_peer *p, uint16_t kind, const void *data, size_t n, uint32_t timeout_ms,
		p2p_response_cb cb, void *arg)
{
	p2p_host *h;
	p2p_request_msg m;
	p2p_pending *r = NULL;
	fl_writer w;
	int rc;

	assert(p != NULL && cb != NULL && timeout_ms > 0);
	assert(data != NULL || n == 0);
	h = p->host;
	if (p->state != P2P_PEER_OPEN)
		return p->state == P2P_PEER_CLOSING ? FL_EIO : FL_ESTATE;
	m.id = ++h->next_request_id;
	m.kind = kind;
	m.data = data;
	m.n = n;
	fl_writer_init(&w, h->cfg.max_frame - P2P_MSG_HEADER);
	if ((rc = p2p_request_encode(&w, &m)) != FL_OK)
		goto cleanup;
	r = fl_calloc(1, sizeof(*r));
	if (r == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	if ((rc = encode_and_queue(p, P2P_TYPE_REQUEST, &w)) != FL_OK) {
		fl_free(r);
		goto cleanup;
	}
	rc = uv_timer_init(h->loop, &r->timer);
	assert(rc == 0); /* documented to always succeed */
	h->handles++;
	r->timer.data = r;
	r->host = h;
	r->peer = p;
	r->id = m.id;
	r->cb = cb;
	r->arg = arg;
	r->next = p->pending;
	if (p->pending != NULL)
		p->pending->prev = r;
	p->pending = r;
	uv_timer_start(&r->timer, on_timeout, timeout_ms, 0);
	rc = FL_OK;
cleanup:
	fl_writer_free(&w);
	return rc;
}

int p2p_respond(p2p_peer *p, uint64_t id, int status, const void *data, size_t n)
{
	p2p_response_msg m = {.id = id, .status = status, .data = data, .n = n};
	fl_writer w;
	int rc;

	assert(p != NULL && status <= 0 && status >= INT32_MIN);
	assert(data != NULL || n == 0);
	fl_writer_init(&w, p->host->cfg.max_frame - P2P_MSG_HEADER);
	rc = p2p_response_encode(&w, &m);
	if (rc == FL_OK)
		rc = encode_and_queue(p, P2P_TYPE_RESPONSE, &w);
	fl_writer_free(&w);
	return rc;
}

int p2p_request_on_request(p2p_peer *p, const uint8_t *body, size_t n)
{
	const p2p_config *cfg = &p->host->cfg;
	p2p_request_msg m;
	int rc;

	if ((rc = p2p_request_decode(&m, body, n)) != FL_OK)
		return rc;
	if (cfg->on_request == NULL) {
		/* Nobody serves requests here: say so rather than let it time out. */
		rc = p2p_respond(p, m.id, FL_EVERSION, NULL, 0);
		return rc == FL_EIO ? FL_OK : rc;
	}
	cfg->on_request(cfg->ctx, p, m.id, m.kind, m.data, m.n);
	return FL_OK;
}

int p2p_request_on_response(p2p_peer *p, const uint8_t *body, size_t n)
{
	p2p_response_msg m;
	int rc;

	if ((rc = p2p_response_decode(&m, body, n)) != FL_OK)
		return rc;
	/* Statuses are FL_OK or a negative code: anything else is invented. */
	if (m.status > 0)
		return FL_EPROTO;
	for (p2p_pending *r = p->pending; r != NULL; r = r->next) {
		if (r->id == m.id) {
			resolve(r, m.status, m.data, m.n);
			break;
		}
	}
	return FL_OK;
}

void p2p_request_fail_all(p2p_peer *p)
{
	while (p->pending != NULL)
		resolve(p->pending, FL_EIO, NULL, 0);
}
