/*
 * tests/p2p/test_onpath.c — an attacker on the path between two members: a
 * TCP proxy in the test that forwards both ways and, when told, flips one
 * bit of a frame in flight. The session must close, the dialler must come
 * back through the proxy, and nobody may be scored or banned for bits that
 * neither member wrote (docs/p2p.md §4, "Scores and bans").
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

#define PROXY_LINKS 16

/* One direction of a proxied connection, with the bytes the far end has
 * not taken yet. */
typedef struct {
	int from, to;
	uint8_t buf[64 * 1024];
	size_t have;
} proxy_dir;

typedef struct {
	int listen_fd;
	uint16_t port;
	uint16_t target;             /* host 0's port */
	proxy_dir up[PROXY_LINKS];   /* dialler -> host 0 */
	proxy_dir down[PROXY_LINKS]; /* host 0 -> dialler */
	size_t n;
	int flip; /* flip a bit in the next chunk going up */
	int flipped;
} proxy;

static void proxy_open(proxy *px, uint16_t target)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	memset(px, 0, sizeof(*px));
	px->target = target;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	px->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert(px->listen_fd >= 0);
	cr_assert_eq(bind(px->listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(px->listen_fd, 8), 0);
	cr_assert_eq(getsockname(px->listen_fd, (struct sockaddr *)&sin, &len), 0);
	px->port = ntohs(sin.sin_port);
}

/* Moves what is there; 0 once either end has closed. */
static int dir_pump(proxy *px, proxy_dir *d, int up)
{
	for (int k = 0; k < 64; k++) {
		ssize_t w;
		if (d->have == 0) {
			ssize_t n = recv(d->from, d->buf, sizeof(d->buf), 0);
			if (n == 0)
				return 0;
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
			d->have = (size_t)n;
			/* The last byte read is in the last frame's tag (or its
			 * body): either way that frame no longer opens. */
			if (up && px->flip) {
				d->buf[d->have - 1] ^= 0x04;
				px->flip = 0;
				px->flipped++;
			}
		}
		w = send(d->to, d->buf, d->have, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		memmove(d->buf, d->buf + w, d->have - (size_t)w);
		d->have -= (size_t)w;
		if (d->have > 0)
			return 1;
	}
	return 1;
}

static void link_close(proxy *px, size_t i)
{
	close(px->up[i].from);
	close(px->up[i].to);
	px->up[i].from = px->down[i].from = -1;
}

/* One turn of the proxy: a new connection, then bytes both ways. It dials
 * host 0 from 127.0.0.9, so its sessions draw on their own address's
 * handshake tokens. */
static void proxy_turn(proxy *px)
{
	int c = accept4(px->listen_fd, NULL, NULL, SOCK_NONBLOCK);

	if (c >= 0) {
		struct sockaddr_in from = {.sin_family = AF_INET};
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(px->target)};
		int s = socket(AF_INET, SOCK_STREAM, 0);

		from.sin_addr.s_addr = htonl(0x7f000009);
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		cr_assert(s >= 0);
		cr_assert_eq(bind(s, (struct sockaddr *)&from, sizeof(from)), 0);
		/* Loopback: the connect completes in host 0's backlog at once. */
		cr_assert_eq(connect(s, (struct sockaddr *)&to, sizeof(to)), 0);
		cr_assert_eq(fcntl(s, F_SETFL, O_NONBLOCK), 0);
		cr_assert_lt(px->n, PROXY_LINKS);
		px->up[px->n] = (proxy_dir){.from = c, .to = s};
		px->down[px->n] = (proxy_dir){.from = s, .to = c};
		px->n++;
	}
	for (size_t i = 0; i < px->n; i++) {
		if (px->up[i].from < 0)
			continue;
		if (!dir_pump(px, &px->up[i], 1) || !dir_pump(px, &px->down[i], 0))
			link_close(px, i);
	}
}

static void proxy_close(proxy *px)
{
	for (size_t i = 0; i < px->n; i++)
		if (px->up[i].from >= 0)
			link_close(px, i);
	close(px->listen_fd);
}

typedef struct {
	proxy *px;
	int want; /* host 0's on_peer count to wait for */
} wait_arg;

/* The proxy runs inside the waits, once per loop turn. */
static int session_open(ph_net *net, void *arg)
{
	wait_arg *w = arg;

	proxy_turn(w->px);
	return net->hosts[0].peers_up >= w->want && ph_peer_to(net, 0, 1) != NULL &&
	       ph_peer_to(net, 1, 0) != NULL;
}

static int session_down(ph_net *net, void *arg)
{
	wait_arg *w = arg;

	proxy_turn(w->px);
	return net->hosts[0].peers_down >= w->want && net->hosts[1].peers_down >= w->want;
}

Test(p2p_onpath, flipped_bits_close_the_session_and_the_member_comes_back, .timeout = 30)
{
	static proxy px;
	ph_net net;
	char via[P2P_ADDR_MAX];
	wait_arg w = {.px = &px};
	fl_seckey other_sk;
	fl_pubkey other;

	cr_assert_eq(ph_net_init(&net, 2, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	/* Host 1 does not listen, so host 0 never learns a way around the
	 * proxy; host 1 dials host 0 only through it. */
	cr_assert_eq(ph_host_start(&net, 1, ""), FL_OK);
	proxy_open(&px, net.hosts[0].port);
	snprintf(via, sizeof(via), "127.0.0.1:%u", (unsigned)px.port);
	cr_assert_eq(p2p_add_persistent(net.hosts[1].host, via, &net.hosts[0].pk), FL_OK);
	/* Host 0 names its real address in its ADDRS; a persistent entry
	 * there pinned to another key keeps host 1 from tying it to host 0
	 * and dialling around the proxy (its dials there are refused). */
	cr_assert_eq(fl_key_generate(&other_sk, &other), FL_OK);
	cr_assert_eq(p2p_add_persistent(net.hosts[1].host, net.hosts[0].addr, &other), FL_OK);
	w.want = 1;
	cr_assert(ph_run_until(&net, session_open, &w, 3000), "no session through the proxy");

	/* Four flips: 200 points once, a ban at the second. Each time one
	 * message from host 1 has a bit flipped, host 0 closes, host 1 is back
	 * through the proxy within its backoff, and nobody is charged. */
	for (int round = 1; round <= 4; round++) {
		size_t links = px.n;

		px.flip = 1;
		cr_assert_eq(p2p_send(ph_peer_to(&net, 1, 0), P2P_TYPE_APP, "vote", 4), FL_OK);
		w.want = round;
		cr_assert(ph_run_until(&net, session_down, &w, 3000), "round %d: not closed",
			  round);
		cr_assert_eq(px.flipped, round);
		cr_assert_eq(net.hosts[0].messages, 0, "a tampered message was delivered");
		cr_assert_eq(net.hosts[0].last_down_score, 0, "round %d: scored %d", round,
			     net.hosts[0].last_down_score);
		cr_assert_not(p2p_is_banned(net.hosts[0].host, &net.hosts[1].pk));
		w.want = round + 1;
		cr_assert(ph_run_until(&net, session_open, &w, 3000),
			  "round %d: the member did not come back", round);
		cr_assert_gt(px.n, links, "round %d: the session went around the proxy", round);
	}
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &net.hosts[1].pk), 0);
	cr_assert_eq(p2p_book_score(net.hosts[1].host, &net.hosts[0].pk), 0);

	/* The fifth session carries messages untouched. */
	cr_assert_eq(p2p_send(ph_peer_to(&net, 1, 0), P2P_TYPE_APP, "vote", 4), FL_OK);
	for (int k = 0; k < 200 && net.hosts[0].messages == 0; k++) {
		proxy_turn(&px);
		ph_run_for(&net, 10);
	}
	cr_assert_eq(net.hosts[0].messages, 1);
	ph_net_free(&net);
	proxy_close(&px);
}
