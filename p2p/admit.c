/*
 * p2p/admit.c — what a stranger's socket may hold before it proves a key
 * (docs/p2p.md §4, "Before authentication"): the listener, pending slots
 * apart from member slots, a cap per source address, eviction of the
 * oldest pending socket, and a token bucket of handshakes per address.
 *
 * The listening socket is ours, watched by a uv_poll_t and accepted by
 * hand rather than through uv_listen: libuv hands each connection over only
 * inside a uv_tcp_t we would have to allocate and close asynchronously,
 * while here a refused socket costs one accept4 and one close, with no
 * allocation, no handle and no crypto. Only an admitted socket gets a peer.
 */
#include "p2p/host_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------ pending slots */

static void pend_push(p2p_host *h, p2p_peer *p)
{
	p->pending_slot = 1;
	p->pend_prev = h->pend_tail;
	p->pend_next = NULL;
	if (h->pend_tail != NULL)
		h->pend_tail->pend_next = p;
	else
		h->pend_head = p;
	h->pend_tail = p;
	h->n_pending++;
}

static void pend_remove(p2p_host *h, p2p_peer *p)
{
	assert(p->pending_slot && h->n_pending > 0);
	if (p->pend_prev != NULL)
		p->pend_prev->pend_next = p->pend_next;
	else
		h->pend_head = p->pend_next;
	if (p->pend_next != NULL)
		p->pend_next->pend_prev = p->pend_prev;
	else
		h->pend_tail = p->pend_prev;
	p->pend_prev = p->pend_next = NULL;
	p->pending_slot = 0;
	h->n_pending--;
}

/* At most max_pending_inbound sockets: a scan is cheaper than a table. */
static uint32_t pending_from(const p2p_host *h, uint32_t ip)
{
	uint32_t n = 0;

	for (const p2p_peer *p = h->pend_head; p != NULL; p = p->pend_next)
		n += p->ip == ip;
	return n;
}

/*
 * The quota is full. The list is in order of last progress (an accept, or
 * a whole HELLO: p2p_admit_progress), so its head is the socket that has
 * waited longest for nothing. An idle socket past its grace goes first:
 * idle sockets, however many, cannot push out a member whose HELLO has
 * arrived and whose handshake is a round trip from done, nor one accepted
 * a moment ago whose HELLO is on its way. Else the head goes: sockets that
 * sent a HELLO each took a token, so a flood of them is a slow one.
 */
static void evict_one(p2p_host *h)
{
	uint64_t now = uv_now(h->loop);
	p2p_peer *victim = h->pend_head;

	for (p2p_peer *p = h->pend_head; p != NULL; p = p->pend_next) {
		if (p->state == P2P_PEER_HELLO && now - p->since >= P2P_PENDING_GRACE_MS) {
			victim = p;
			break;
		}
	}
	assert(victim != NULL);
	h->stats.evicted++;
	p2p_peer_close(victim);
}

void p2p_admit_progress(p2p_peer *p)
{
	p2p_host *h = p->host;

	if (!p->pending_slot || h->pend_tail == p)
		return;
	pend_remove(h, p);
	pend_push(h, p);
}

int p2p_admit_member(p2p_peer *p)
{
	p2p_host *h = p->host;

	assert(!p->outbound && p->pending_slot);
	if (h->n_in >= h->cfg.max_inbound)
		return FL_ETOOBIG;
	pend_remove(h, p);
	p->member_slot = 1;
	h->n_in++;
	return FL_OK;
}

void p2p_admit_release(p2p_peer *p)
{
	p2p_host *h = p->host;

	if (p->pending_slot)
		pend_remove(h, p);
	if (p->member_slot) {
		assert(h->n_in > 0);
		p->member_slot = 0;
		h->n_in--;
	}
}

/* ---------------------------------------------------- handshake tokens */

/*
 * Takes one handshake token of ip's bucket (1 if there was one). Tokens
 * are counted in thousandths and refilled lazily from uv_now(), so there
 * is no timer. The table holds P2P_RATES_MAX addresses; a new one replaces
 * the address idle longest, whose bucket had refilled the most, so the
 * replacement only hands a full bucket to an address that had nearly one.
 * A scan of 1024 entries of 16 bytes costs about a microsecond.
 */
static int take_token(p2p_host *h, uint32_t ip)
{
	const uint64_t full = (uint64_t)h->cfg.handshake_burst * 1000;
	uint64_t now = uv_now(h->loop), elapsed, milli;
	p2p_rate *r = NULL, *idle = NULL;

	for (size_t i = 0; i < h->n_rates; i++) {
		if (h->rates[i].ip == ip) {
			r = &h->rates[i];
			break;
		}
		if (idle == NULL || h->rates[i].at < idle->at)
			idle = &h->rates[i];
	}
	if (r == NULL) {
		r = h->n_rates < P2P_RATES_MAX ? &h->rates[h->n_rates++] : idle;
		r->ip = ip;
		r->milli = (uint32_t)full;
		r->at = now;
	}
	/* handshakes_per_s tokens a second are as many thousandths a ms;
	 * check_config bounds both figures, so nothing here overflows. */
	elapsed = now - r->at;
	milli = elapsed >= full ? full : r->milli + elapsed * h->cfg.handshakes_per_s;
	if (milli > full)
		milli = full;
	r->at = now;
	if (milli < 1000) {
		r->milli = (uint32_t)milli;
		return 0;
	}
	r->milli = (uint32_t)(milli - 1000);
	return 1;
}

/* ---------------------------------------------------------- accepting */

/* Decides on one accepted socket; fd is closed unless a peer took it. */
static void admit(p2p_host *h, int fd, const struct sockaddr_in *sin)
{
	uint32_t ip = sin->sin_addr.s_addr;
	p2p_peer *p;

	if (h->n_in >= h->cfg.max_inbound) {
		h->stats.refused_full++;
		goto refuse;
	}
	if (pending_from(h, ip) >= h->cfg.max_pending_per_addr) {
		h->stats.refused_addr++;
		goto refuse;
	}
	if (!take_token(h, ip)) {
		h->stats.refused_rate++;
		goto refuse;
	}
	if (h->n_pending >= h->cfg.max_pending_inbound)
		evict_one(h);
	if (p2p_peer_new(&p, h, 0) != FL_OK)
		goto refuse;
	pend_push(h, p);
	p->ip = ip;
	if (uv_tcp_open(&p->tcp, fd) != 0) {
		p2p_peer_close(p); /* the handle never owned fd */
		goto refuse;
	}
	h->stats.accepted++;
	p2p_peer_begin(p);
	return;

refuse:
	/* Closed at once: the remote learns that we are full, and a socket
	 * left in the backlog would hold a place a member needs. */
	close(fd);
}

/* Out of descriptors: the spare one makes room to accept and close one
 * socket, so the backlog drains instead of the listener spinning. */
static int shed_one(p2p_host *h)
{
	int fd;

	if (h->spare_fd < 0)
		return 0;
	close(h->spare_fd);
	fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		h->stats.refused_full++;
	}
	h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0;
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	p2p_host *h = handle->data;

	(void)events;
	if (status < 0 || h->closing)
		return;
	/* Bounded per loop turn: a flood of connects must not starve the
	 * sessions' reads; the poll fires again while the backlog is not empty. */
	for (int k = 0; k < P2P_ACCEPT_BATCH && !h->closing; k++) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);
		int fd = accept4(h->listen_fd, (struct sockaddr *)&sin, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && shed_one(h))
				continue;
			return; /* EAGAIN: the backlog is empty */
		}
		if (len != sizeof(sin) || sin.sin_family != AF_INET) {
			close(fd);
			continue;
		}
		admit(h, fd, &sin);
	}
}

/* ---------------------------------------------------------- listening */

static void on_listener_closed(uv_handle_t *handle)
{
	p2p_host *h = handle->data;

	/* libuv's rule for uv_poll_t: the descriptor is ours to close, after
	 * the handle. */
	close(h->listen_fd);
	h->listen_fd = -1;
	if (h->spare_fd >= 0)
		close(h->spare_fd);
	h->spare_fd = -1;
	p2p_host_handle_closed(h);
}

int p2p_admit_listen(p2p_host *h)
{
	struct sockaddr_in sin, bound;
	socklen_t len = sizeof(bound);
	char ip[32];
	int one = 1, fd, rc;

	if ((rc = p2p_listen_addr_parse(h->cfg.listen, &sin)) != FL_OK)
		return rc;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* As uv_tcp_bind does: a restarted host rebinds its port at once. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, P2P_LISTEN_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &len) != 0 ||
	    uv_ip4_name(&bound, ip, sizeof(ip)) != 0 ||
	    uv_poll_init_socket(h->loop, &h->listener, fd) != 0) {
		close(fd);
		goto fail;
	}
	/* From here the handle is open and p2p_admit_close closes it and fd. */
	h->listen_fd = fd;
	h->listener.data = h;
	h->listening = 1;
	h->handles++;
	h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (uv_poll_start(&h->listener, UV_READABLE, on_readable) != 0)
		goto fail;
	h->port = ntohs(bound.sin_port);
	snprintf(h->listen_addr, sizeof(h->listen_addr), "%s:%u", ip, (unsigned)h->port);
	return FL_OK;

fail:
	fl_log(FL_LOG_ERROR, "p2p", "cannot listen on %s", h->cfg.listen);
	return FL_EIO;
}

void p2p_admit_close(p2p_host *h)
{
	if (!h->listening)
		return;
	h->listening = 0;
	uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}

void p2p_host_get_stats(const p2p_host *h, p2p_host_stats *out)
{
	assert(h != NULL && out != NULL);
	*out = h->stats;
	out->queued_bytes = h->queued; /* kept by peer.c's send queues */
}
