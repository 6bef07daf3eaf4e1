/*
 * tests/p2p/test_peers.c — the peer book on real sockets: reconnect after
 * the remote restarts, bans after misbehaviour, max_inbound, the handshake
 * timeout, pinned keys, and one session kept of two to the same key.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

static int connected_01(ph_net *net, void *arg)
{
	(void)arg;
	return ph_peer_to(net, 0, 1) != NULL && ph_peer_to(net, 1, 0) != NULL;
}

static int host0_down(ph_net *net, void *arg)
{
	return net->hosts[0].peers_down >= *(int *)arg;
}

Test(p2p_peers, reconnects_after_the_remote_restarts, .timeout = 20)
{
	ph_net net;
	char addr1[P2P_ADDR_MAX];
	int downs = 1;

	cr_assert_eq(ph_net_init(&net, 2, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	snprintf(addr1, sizeof(addr1), "%s", net.hosts[1].addr);
	cr_assert_eq(p2p_add_persistent(net.hosts[0].host, addr1, &net.hosts[1].pk), FL_OK);
	cr_assert_eq(p2p_add_persistent(net.hosts[0].host, addr1, NULL), FL_EEXIST);
	cr_assert(ph_run_until(&net, connected_01, NULL, 3000));

	/* Host 1 goes away; host 0 notices and keeps redialling. */
	ph_host_stop(&net, 1);
	cr_assert(ph_run_until(&net, host0_down, &downs, 3000));
	ph_run_for(&net, 300); /* some dials fail against the closed port */
	cr_assert_eq(net.hosts[1].peers_up, 1);

	/* Back on the same port: the persistent entry brings the session back
	 * within the backoff (at most 400 ms here). */
	cr_assert_eq(ph_host_start(&net, 1, addr1), FL_OK);
	cr_assert(ph_run_until(&net, connected_01, NULL, 3000), "no reconnect");
	cr_assert_eq(net.hosts[0].peers_up, 2);
	cr_assert(ph_peer_to(&net, 0, 1) != NULL);
	p2p_peer_info info;
	p2p_peer_get_info(ph_peer_to(&net, 0, 1), &info);
	cr_assert_eq(info.outbound, 1);
	ph_net_free(&net);
}

Test(p2p_peers, a_pinned_key_must_match, .timeout = 20)
{
	ph_net net;

	cr_assert_eq(ph_net_init(&net, 3, NULL, NULL), FL_OK);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(ph_host_start(&net, i, NULL), FL_OK);
	/* Host 1's address, but host 2's key: never a session. */
	cr_assert_eq(p2p_add_persistent(net.hosts[0].host, net.hosts[1].addr, &net.hosts[2].pk),
		     FL_OK);
	ph_run_for(&net, 400);
	cr_assert_eq(net.hosts[0].peers_up, 0);
	cr_assert_eq(net.hosts[1].peers_up, 0);
	cr_assert_eq(p2p_add_persistent(net.hosts[0].host, "127.0.0.1", NULL), FL_EPARSE);
	ph_net_free(&net);
}

/* How a raw member ends its session. */
typedef enum {
	BAD_MAC,     /* a valid frame with a flipped bit in its tag */
	BAD_LENGTH,  /* a length prefix over max_frame */
	BAD_MESSAGE, /* a PING with a body, in a frame that opens */
} ph_fault;

/* A raw member connects with key sk, commits the fault, and is closed. */
static void commit_fault(ph_net *net, const fl_seckey *sk, ph_fault fault)
{
	ph_raw raw;
	uint8_t plain[P2P_MSG_HEADER + 4], frame[P2P_LEN_PREFIX + sizeof(plain) + P2P_TAG_LEN];
	uint8_t huge[P2P_LEN_PREFIX] = {0x00, 0x00, 0x00, 0x10};

	cr_assert_eq(ph_raw_connect(net, &raw, net->hosts[0].port, sk), FL_OK);
	switch (fault) {
	case BAD_MAC:
		p2p_msg_header(plain, P2P_TYPE_APP);
		memset(plain + P2P_MSG_HEADER, 1, 4);
		cr_assert_eq(p2p_frame_seal(&raw.sess, frame, plain, sizeof(plain)), FL_OK);
		frame[sizeof(frame) - 1] ^= 0x80; /* in the tag */
		cr_assert_eq(ph_raw_write(net, &raw, frame, sizeof(frame)), FL_OK);
		break;
	case BAD_LENGTH:
		cr_assert_eq(ph_raw_write(net, &raw, huge, sizeof(huge)), FL_OK);
		break;
	case BAD_MESSAGE:
		cr_assert_eq(ph_raw_send(net, &raw, P2P_TYPE_PING, "x", 1), FL_OK);
		break;
	}
	cr_assert(ph_raw_wait_closed(net, &raw, 2000));
	ph_raw_close(&raw);
}

Test(p2p_peers, banned_after_repeated_misbehaviour, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	int downs = 1;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);

	commit_fault(&net, &sk, BAD_MESSAGE);
	cr_assert(ph_run_until(&net, host0_down, &downs, 2000));
	cr_assert_eq(net.hosts[0].last_down_score, P2P_PENALTY_MALFORMED);
	cr_assert_not(p2p_is_banned(net.hosts[0].host, &pk));

	/* The score follows the key across sessions: 4 x 25 reaches 100. */
	for (downs = 2; downs <= 4; downs++) {
		commit_fault(&net, &sk, BAD_MESSAGE);
		cr_assert(ph_run_until(&net, host0_down, &downs, 2000));
	}
	cr_assert(p2p_is_banned(net.hosts[0].host, &pk));

	/* A banned member is refused like an outsider. */
	cr_assert_neq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	cr_assert(ph_raw_wait_closed(&net, &raw, 2000));
	ph_raw_close(&raw);
	cr_assert_eq(net.hosts[0].peers_up, 4);
	ph_net_free(&net);
}

/*
 * An on-path attacker can flip bits in a member's frames; a frame that
 * does not open, or a length no honest sender writes, proves nothing about
 * the member. Four such sessions once scored 200 and banned it for ten
 * minutes; each must only close, and the member comes straight back.
 */
Test(p2p_peers, frames_that_fail_authentication_close_but_never_ban, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	int downs;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);

	for (downs = 1; downs <= 4; downs++) {
		commit_fault(&net, &sk, downs % 2 ? BAD_MAC : BAD_LENGTH);
		cr_assert(ph_run_until(&net, host0_down, &downs, 2000));
		cr_assert_eq(net.hosts[0].last_down_score, 0, "session %d scored %d", downs,
			     net.hosts[0].last_down_score);
		cr_assert_not(p2p_is_banned(net.hosts[0].host, &pk));
	}
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), 0);

	/* The member reconnects at once and its session works. */
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	cr_assert_eq(ph_raw_send(&net, &raw, P2P_TYPE_APP, "ok", 2), FL_OK);
	ph_run_for(&net, 50);
	cr_assert_eq(net.hosts[0].peers_up, 5);
	cr_assert_eq(net.hosts[0].messages, 1);
	ph_raw_close(&raw);
	downs = 5;
	cr_assert(ph_run_until(&net, host0_down, &downs, 2000));

	/* What a member says inside a frame that opened is its own: scored. */
	commit_fault(&net, &sk, BAD_MESSAGE);
	downs = 6;
	cr_assert(ph_run_until(&net, host0_down, &downs, 2000));
	cr_assert_eq(net.hosts[0].last_down_score, P2P_PENALTY_MALFORMED);
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), P2P_PENALTY_MALFORMED);
	ph_net_free(&net);
}

static void short_ban(p2p_config *cfg, size_t i, void *arg)
{
	(void)i;
	(void)arg;
	cfg->ban_ms = 200;
}

Test(p2p_peers, drop_with_ban_expires, .timeout = 20)
{
	ph_net net;
	int downs = 1;

	cr_assert_eq(ph_net_init(&net, 2, short_ban, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_add_persistent(net.hosts[1].host, net.hosts[0].addr, NULL), FL_OK);
	cr_assert(ph_run_until(&net, connected_01, NULL, 3000));
	p2p_peer_drop(ph_peer_to(&net, 0, 1), 1);
	cr_assert(p2p_is_banned(net.hosts[0].host, &net.hosts[1].pk));
	cr_assert(ph_run_until(&net, host0_down, &downs, 2000));
	/* Host 1 redials; refused while banned, welcome after. */
	cr_assert(ph_run_until(&net, connected_01, NULL, 5000), "no session after the ban");
	cr_assert_not(p2p_is_banned(net.hosts[0].host, &net.hosts[1].pk));
	cr_assert_eq(net.hosts[0].peers_up, 2);
	ph_net_free(&net);
}

static void one_inbound(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 0) {
		cfg->max_inbound = 1;
		cfg->handshake_timeout_ms = 200;
	}
}

Test(p2p_peers, max_inbound_and_handshake_timeout, .timeout = 20)
{
	ph_net net;
	ph_raw a, b;
	int downs = 0;

	cr_assert_eq(ph_net_init(&net, 1, one_inbound, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_neq(ph_raw_connect(&net, &a, net.hosts[0].port, NULL), FL_OK);
	/* An outsider key was refused: the slot is free again. */
	ph_raw_close(&a);

	fl_seckey sk;
	fl_pubkey pk;
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &a, net.hosts[0].port, &sk), FL_OK);
	/* The one inbound slot is taken: the next socket closes unanswered. */
	cr_assert_neq(ph_raw_connect(&net, &b, net.hosts[0].port, &sk), FL_OK);
	ph_raw_close(&b);
	cr_assert_eq(p2p_peer_count(net.hosts[0].host), 1);
	ph_raw_close(&a);
	downs = 1;
	cr_assert(ph_run_until(&net, host0_down, &downs, 2000));

	/* A socket that never says HELLO is closed after the timeout. */
	{
		int fd;
		ph_raw c;
		memset(&c, 0, sizeof(c));
		/* Connect only: ph_raw_connect would send HELLO. */
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons(net.hosts[0].port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		fd = socket(AF_INET, SOCK_STREAM, 0);
		cr_assert(fd >= 0);
		cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
		c.fd = fd;
		/* Nothing arrives (the host speaks only after our HELLO), then
		 * the close (200 ms timeout). */
		cr_assert(ph_raw_wait_closed(&net, &c, 3000));
		ph_raw_close(&c);
	}
	ph_net_free(&net);
}

static int one_each(ph_net *net, void *arg)
{
	(void)arg;
	return ph_settled(net, 0, 1) && ph_settled(net, 1, 1);
}

Test(p2p_peers, two_dials_between_two_hosts_leave_one_session, .timeout = 20)
{
	ph_net net;

	cr_assert_eq(ph_net_init(&net, 2, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	/* Both dial at once, and host 0 twice. */
	cr_assert_eq(p2p_dial(net.hosts[0].host, net.hosts[1].addr), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[0].host, net.hosts[1].addr), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[1].host, net.hosts[0].addr), FL_OK);
	cr_assert(ph_run_until(&net, one_each, NULL, 3000));
	ph_run_for(&net, 200);
	cr_assert(one_each(&net, NULL));
	/* Both ends kept the same session: one side's outbound is the other's
	 * inbound. */
	p2p_peer_info a, b;
	p2p_peer_get_info(ph_peer_to(&net, 0, 1), &a);
	p2p_peer_get_info(ph_peer_to(&net, 1, 0), &b);
	cr_assert_neq(a.outbound, b.outbound);
	/* ... dialled by the lower key. */
	int lower0 = fl_pubkey_cmp(&net.hosts[0].pk, &net.hosts[1].pk) < 0;
	cr_assert_eq(a.outbound, lower0);
	cr_assert_eq(net.hosts[0].peers_up - net.hosts[0].peers_down, 1);
	cr_assert_eq(net.hosts[1].peers_up - net.hosts[1].peers_down, 1);
	ph_net_free(&net);
}

static void fast_ping(p2p_config *cfg, size_t i, void *arg)
{
	(void)i;
	(void)arg;
	cfg->ping_interval_ms = 100;
}

Test(p2p_peers, silent_peer_dropped_after_three_ping_intervals, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	int downs = 1;

	cr_assert_eq(ph_net_init(&net, 2, fast_ping, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[1].host, net.hosts[0].addr), FL_OK);
	cr_assert(ph_run_until(&net, connected_01, NULL, 3000));
	/* The raw client never answers a PING. */
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	cr_assert(ph_raw_wait_closed(&net, &raw, 3000), "the silent peer was kept");
	cr_assert(ph_run_until(&net, host0_down, &downs, 2000));
	/* Hosts that answer pings stay: 10 intervals later, still one session. */
	ph_run_for(&net, 1000);
	cr_assert_eq(net.hosts[0].peers_down, 1);
	cr_assert(ph_peer_to(&net, 0, 1) != NULL);
	p2p_peer_info info;
	p2p_peer_get_info(ph_peer_to(&net, 0, 1), &info);
	cr_assert_geq(info.msgs_in, 5, "pongs and pings counted: %llu",
		      (unsigned long long)info.msgs_in);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

/* Host i's book entry for addr, or NULL. */
static const p2p_book_entry *book_entry(ph_net *net, size_t i, const char *addr)
{
	const p2p_book *b = &net->hosts[i].host->book;

	for (size_t k = 0; k < P2P_BOOK_MAX; k++)
		if (b->entries[k].used && strcmp(b->entries[k].addr, addr) == 0)
			return &b->entries[k];
	return NULL;
}

static size_t book_size(ph_net *net, size_t i)
{
	size_t n = 0;

	for (size_t k = 0; k < P2P_BOOK_MAX; k++)
		n += net->hosts[i].host->book.entries[k].used;
	return n;
}

Test(p2p_peers, a_dialled_address_is_booked_with_the_key_it_reached, .timeout = 20)
{
	ph_net net;

	cr_assert_eq(ph_net_init(&net, 2, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[0].host, net.hosts[1].addr), FL_OK);
	cr_assert(ph_run_until(&net, one_each, NULL, 3000));
	/* Both ADDRS have arrived (they open the session); give the book time
	 * to act on them. */
	ph_run_for(&net, 300);
	cr_assert(one_each(&net, NULL));
	cr_assert_eq(net.hosts[0].host->dials, 1, "dials: %llu",
		     (unsigned long long)net.hosts[0].host->dials);
	cr_assert_eq(net.hosts[1].host->dials, 0);
	cr_assert_eq(net.hosts[0].peers_up, 1);
	cr_assert_eq(net.hosts[0].peers_down, 0);
	cr_assert_eq(net.hosts[1].peers_up, 1);
	cr_assert_eq(net.hosts[1].peers_down, 0);

	/* The dialler's book: host 1's address, the key proved there, and the
	 * session dialled to it, in one entry. */
	cr_assert_eq(book_size(&net, 0), 1);
	const p2p_book_entry *e = book_entry(&net, 0, net.hosts[1].addr);
	cr_assert(e != NULL);
	cr_assert(e->id_known);
	cr_assert_eq(fl_pubkey_cmp(&e->id, &net.hosts[1].pk), 0);
	cr_assert(e->peer == ph_peer_to(&net, 0, 1));
	/* The dialled side learned the dialler's listen address from its
	 * ADDRS, tied to its key; the session there is inbound. */
	cr_assert_eq(book_size(&net, 1), 1);
	e = book_entry(&net, 1, net.hosts[0].addr);
	cr_assert(e != NULL && e->id_known && e->peer == NULL);
	cr_assert_eq(fl_pubkey_cmp(&e->id, &net.hosts[0].pk), 0);
	ph_net_free(&net);
}

static int open_02(ph_net *net, void *arg)
{
	(void)arg;
	return ph_peer_to(net, 0, 2) != NULL && ph_peer_to(net, 2, 0) != NULL;
}

Test(p2p_peers, no_second_dial_to_an_address_with_a_pending_session, .timeout = 20)
{
	ph_net net;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char mute[P2P_ADDR_MAX];
	int fd;

	/* A listener that never answers: connects complete in its backlog, and
	 * a session dialled there waits for a HELLO until the 2 s timeout. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(mute, sizeof(mute), "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));

	cr_assert_eq(ph_net_init(&net, 3, NULL, NULL), FL_OK);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(ph_host_start(&net, i, NULL), FL_OK);
	/* Host 2 knows the address, and tells host 0 in its ADDRS ... */
	cr_assert_eq(p2p_add_persistent(net.hosts[2].host, mute, NULL), FL_OK);
	/* ... while host 0's own dial there is still in its handshake. */
	cr_assert_eq(p2p_dial(net.hosts[0].host, mute), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[0].host, net.hosts[2].addr), FL_OK);
	cr_assert(ph_run_until(&net, open_02, NULL, 1000));
	ph_run_for(&net, 300);
	cr_assert(book_entry(&net, 0, mute) != NULL, "host 2's ADDRS did not name it");
	cr_assert_eq(net.hosts[0].host->dials, 2, "dials: %llu",
		     (unsigned long long)net.hosts[0].host->dials);
	ph_net_free(&net);
	close(fd);
}

/* The score expected ms after the halving grid began. */
static int32_t halved(int32_t score, uint64_t ms, uint32_t half)
{
	return ms / half >= 31 ? 0 : score >> (ms / half);
}

Test(p2p_peers, scores_halve_every_ban_ms, .timeout = 20)
{
	ph_net net;
	p2p_host *h;
	fl_seckey sk;
	fl_pubkey pk;
	uint64_t t0, t;
	int32_t first;
	uint32_t half = 200; /* short_ban */

	cr_assert_eq(ph_net_init(&net, 1, short_ban, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	h = net.hosts[0].host;
	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);

	/* uv_now is the loop's cached time: t0 is the penalty's instant. */
	cr_assert_eq(p2p_book_penalize(h, &pk, 60), 0);
	t0 = uv_now(&net.loop);
	cr_assert_eq(p2p_book_score(h, &pk), 60);

	/* Read at loop turns over 2.5 half-lives: 60, 30, 15, lazily. */
	for (int k = 0; k < 100 && (t = uv_now(&net.loop)) - t0 < half * 5 / 2; k++) {
		cr_assert_eq(p2p_book_score(h, &pk), halved(60, t - t0, half), "at %llu ms",
			     (unsigned long long)(t - t0));
		ph_run_for(&net, 20);
	}
	cr_assert_geq(uv_now(&net.loop) - t0, half * 5 / 2);

	/* Without decay 60 + 60 would reach ban_score (100); now the first
	 * 60 is worth 15 or less. */
	t = uv_now(&net.loop);
	first = halved(60, t - t0, half);
	cr_assert_leq(first, 15);
	cr_assert_eq(p2p_book_penalize(h, &pk, 60), 0);
	cr_assert_not(p2p_is_banned(h, &pk));
	cr_assert_eq(p2p_book_score(h, &pk), first + 60);
	/* The sum halves on the same grid (t0 + k * ban_ms), not from the
	 * second penalty. */
	uint64_t k2 = (t - t0) / half;
	ph_run_for(&net, half);
	t = uv_now(&net.loop);
	cr_assert_eq(p2p_book_score(h, &pk), halved(first + 60, t - t0 - k2 * half, half));
	cr_assert_lt(p2p_book_score(h, &pk), first + 60);
	ph_net_free(&net);
}

static void short_handshake(p2p_config *cfg, size_t i, void *arg)
{
	(void)i;
	(void)arg;
	cfg->handshake_timeout_ms = 200;
}

static int no_outbound(ph_net *net, void *arg)
{
	(void)arg;
	return net->hosts[0].host->n_out == 0;
}

Test(p2p_peers, a_dial_that_never_connects_frees_its_slot, .timeout = 20)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char silent[P2P_ADDR_MAX];
	int lfd, fill[4];

	/* A listener whose accept queue is full drops further SYNs, so a
	 * connect there hangs in the kernel's SYN retries (minutes) unless the
	 * host gives up on its own. Backlog 0 queues one connection; the
	 * extra sockets make sure the queue is full. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(lfd >= 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(lfd, 0), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(silent, sizeof(silent), "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
	for (size_t i = 0; i < FL_ARRAY_LEN(fill); i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		cr_assert(fill[i] >= 0);
		(void)connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100 * 1000);

	ph_net net;
	cr_assert_eq(ph_net_init(&net, 1, short_handshake, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[0].host, silent), FL_OK);
	cr_assert_eq(net.hosts[0].host->n_out, 1);
	/* 200 ms connect deadline; 3 s is far below the kernel's retries. */
	cr_assert(ph_run_until(&net, no_outbound, NULL, 3000), "the dial still holds its slot");
	cr_assert_eq(p2p_peer_count(net.hosts[0].host), 0);
	ph_net_free(&net);
	for (size_t i = 0; i < FL_ARRAY_LEN(fill); i++)
		close(fill[i]);
	close(lfd);
}

Test(p2p_peers, an_addrs_claim_does_not_hide_a_pinned_peer, .timeout = 20)
{
	ph_net net;
	ph_raw r;
	char addr1[P2P_ADDR_MAX];
	uint8_t body[256];
	p2p_addrs_msg m;
	fl_writer w;
	int downs = 1;

	cr_assert_eq(ph_net_init(&net, 2, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	snprintf(addr1, sizeof(addr1), "%s", net.hosts[1].addr);
	cr_assert_eq(p2p_add_persistent(net.hosts[0].host, addr1, &net.hosts[1].pk), FL_OK);
	cr_assert(ph_run_until(&net, connected_01, NULL, 3000));
	ph_host_stop(&net, 1);
	cr_assert(ph_run_until(&net, host0_down, &downs, 3000));

	/* A member claims host 1's address as its own in its ADDRS and stays
	 * connected: host 0 must still dial the pinned key there. */
	fl_seckey sk;
	fl_pubkey pk;
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &r, net.hosts[0].port, &sk), FL_OK);
	memset(&m, 0, sizeof(m));
	m.n = 1;
	snprintf(m.addr[0], sizeof(m.addr[0]), "%s", addr1);
	fl_writer_init(&w, sizeof(body));
	cr_assert_eq(p2p_addrs_encode(&w, &m), FL_OK);
	cr_assert_eq(fl_writer_finish(&w), FL_OK);
	cr_assert_eq(ph_raw_send(&net, &r, P2P_TYPE_ADDRS, w.buf, w.len), FL_OK);
	fl_writer_free(&w);
	ph_run_for(&net, 200);

	cr_assert_eq(ph_host_start(&net, 1, addr1), FL_OK);
	cr_assert(ph_run_until(&net, connected_01, NULL, 3000),
		  "the claim kept host 0 from dialling its pinned peer");
	ph_raw_close(&r);
	ph_net_free(&net);
}
