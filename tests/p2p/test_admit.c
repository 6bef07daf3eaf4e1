/*
 * tests/p2p/test_admit.c — strangers' sockets on real sockets (docs/p2p.md
 * §4, "Before authentication"): a member still connects while thousands of
 * idle sockets from many addresses keep reopening, HELLOs past an
 * address's handshake tokens are refused before any crypto, and the
 * per-address cap, eviction and HELLO deadline each do what they say, and
 * out of descriptors the listener still drains its backlog.
 *
 * Attackers bind to other addresses of 127.0.0.0/8 (the hosts dial from
 * 127.0.0.1), so each source address stands for one machine.
 *
 * No `.timeout` here: every loop below has its own deadline, and Criterion
 * (2.4, under ASan with --jobs 2) leaks one 48-byte watchdog record inside
 * libcriterion when these long tests run beside other timed ones, which
 * tests/run.sh rightly counts as a sanitizer failure.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* 127.a.b.c in network order. */
static uint32_t loopback(unsigned a, unsigned b, unsigned c)
{
	return htonl((127u << 24) | (a << 16) | (b << 8) | c);
}

/* A non-blocking socket from src (network order) connecting to
 * 127.0.0.1:port; -1 on failure. The port is picked at connect, so
 * thousands of sockets from one address do not collide. */
static int stranger(uint32_t src, uint16_t port)
{
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = src};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, fd;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0 ||
	    (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 once the host closed fd (EOF or reset), 0 while it is open; the bytes
 * read meanwhile are added to *got. */
static int closed_by_host(int fd, size_t *got)
{
	uint8_t sink[512];

	for (int k = 0; k < 64; k++) {
		ssize_t n = recv(fd, sink, sizeof(sink), 0);
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 1;
		*got += (size_t)n;
	}
	return 0;
}

/* Raises the soft descriptor limit to at least need; 0 if the hard limit
 * is too low. */
static int raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < need)
		return 0;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ the flood */

#define FLOOD_ONE_ADDR 2000 /* idle sockets from 127.0.0.2 */
#define FLOOD_ADDRS    40   /* and FLOOD_PER_ADDR from each of 127.0.1.1..40 */
#define FLOOD_PER_ADDR 40
#define FLOOD_N        (FLOOD_ONE_ADDR + FLOOD_ADDRS * FLOOD_PER_ADDR)

typedef struct {
	uint16_t port;
	uint32_t src[FLOOD_N];
	struct pollfd pfd[FLOOD_N];
	atomic_int stop;
	atomic_ulong reopened; /* sockets the host closed and we opened again */
	atomic_int open_failed;
	pthread_t thread;
} flood;

/* The attacker: every socket the host closes is opened again at once, for
 * as long as the test runs (and never more than 20 s). It never sends a
 * byte and does no crypto. */
static void *flood_run(void *arg)
{
	flood *f = arg;
	uint64_t deadline = uv_hrtime() + 20ull * 1000000000u;

	while (!atomic_load(&f->stop) && uv_hrtime() < deadline) {
		if (poll(f->pfd, FLOOD_N, 10) <= 0)
			continue;
		for (size_t i = 0; i < FLOOD_N; i++) {
			size_t got = 0;
			if (f->pfd[i].revents == 0 || !closed_by_host(f->pfd[i].fd, &got))
				continue;
			close(f->pfd[i].fd);
			f->pfd[i].fd = stranger(f->src[i], f->port);
			if (f->pfd[i].fd < 0)
				atomic_fetch_add(&f->open_failed, 1);
			atomic_fetch_add(&f->reopened, 1);
		}
	}
	return NULL;
}

static void flood_start(flood *f, uint16_t port)
{
	memset(f, 0, sizeof(*f));
	f->port = port;
	for (size_t i = 0; i < FLOOD_N; i++) {
		size_t k = i - FLOOD_ONE_ADDR;
		f->src[i] = i < FLOOD_ONE_ADDR ? loopback(0, 0, 2)
					       : loopback(0, 1, 1 + (unsigned)(k / FLOOD_PER_ADDR));
		f->pfd[i].fd = stranger(f->src[i], port);
		f->pfd[i].events = POLLIN;
		cr_assert(f->pfd[i].fd >= 0, "socket %zu: %s", i, strerror(errno));
	}
	cr_assert_eq(pthread_create(&f->thread, NULL, flood_run, f), 0);
}

static void flood_stop(flood *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	for (size_t i = 0; i < FLOOD_N; i++)
		if (f->pfd[i].fd >= 0)
			close(f->pfd[i].fd);
}

static int connected_01(ph_net *net, void *arg)
{
	(void)arg;
	return ph_peer_to(net, 0, 1) != NULL && ph_peer_to(net, 1, 0) != NULL;
}

/* Runs the loop for ms, checking that no pending socket ever holds more
 * than its own quota. */
static void run_watching_quota(ph_net *net, uint32_t ms)
{
	uint64_t deadline = uv_hrtime() + (uint64_t)ms * 1000000u;
	const p2p_host *h = net->hosts[0].host;

	while (uv_hrtime() < deadline) {
		ph_run_for(net, 20);
		cr_assert_leq(h->n_pending, h->cfg.max_pending_inbound);
		cr_assert_leq(h->n_in, h->cfg.max_inbound);
	}
}

Test(p2p_admit, a_member_connects_through_a_flood_of_idle_sockets)
{
	static flood f;
	ph_net net;
	p2p_host_stats st;
	uint64_t t0, took_ms;

	if (!raise_nofile(FLOOD_N + 512))
		cr_skip_test("needs %d descriptors; the hard limit is lower", FLOOD_N + 512);
	cr_assert_eq(ph_net_init(&net, 2, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(net.hosts[0].cfg.max_inbound, 40);

	/* The flood reaches its steady state: pending slots full, every
	 * attacking address out of tokens, sockets reopened as fast as they
	 * are closed. */
	flood_start(&f, net.hosts[0].port);
	run_watching_quota(&net, 1500);
	cr_assert_gt(atomic_load(&f.reopened), 1000, "the flood is not reopening: %lu",
		     (unsigned long)atomic_load(&f.reopened));

	/* The member dials once, mid-flood, and is through within 1 s. */
	t0 = uv_hrtime();
	cr_assert_eq(p2p_dial(net.hosts[1].host, net.hosts[0].addr), FL_OK);
	cr_assert(ph_run_until(&net, connected_01, NULL, 1000),
		  "no session within 1 s of the dial (%lu sockets reopened)",
		  (unsigned long)atomic_load(&f.reopened));
	took_ms = (uv_hrtime() - t0) / 1000000u;
	cr_log_info("member session %llu ms after the dial", (unsigned long long)took_ms);

	/* It keeps its member slot while the flood goes on. */
	run_watching_quota(&net, 500);
	cr_assert(connected_01(&net, NULL));
	cr_assert_eq(net.hosts[0].host->n_in, 1);
	flood_stop(&f);
	cr_assert_eq(atomic_load(&f.open_failed), 0);

	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_log_info("accepted %llu, refused addr %llu rate %llu full %llu, evicted %llu, hello "
		    "timeouts %llu, reopened %lu",
		    (unsigned long long)st.accepted, (unsigned long long)st.refused_addr,
		    (unsigned long long)st.refused_rate, (unsigned long long)st.refused_full,
		    (unsigned long long)st.evicted, (unsigned long long)st.hello_timeouts,
		    (unsigned long)atomic_load(&f.reopened));
	cr_assert_gt(st.refused_addr + st.refused_rate, 1000);
	cr_assert_gt(st.evicted + st.hello_timeouts, 0);
	/* Thousands of idle strangers cost the host no crypto at all: its one
	 * key and one exchange were the member's handshake. */
	cr_assert_eq(st.ephemeral_keys, 1, "keys made: %llu",
		     (unsigned long long)st.ephemeral_keys);
	cr_assert_eq(st.key_exchanges, 1);
	ph_net_free(&net);
}

/* -------------------------------------------------- handshake tokens */

static void roomy_pending(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 0) {
		/* Only the token bucket stands in the way here. */
		cfg->max_pending_inbound = 64;
		cfg->max_pending_per_addr = 64;
	}
}

#define HELLOS 24

Test(p2p_admit, hellos_past_the_token_bucket_are_refused_before_any_crypto)
{
	ph_net net;
	p2p_session s;
	uint8_t hello[P2P_HELLO_MAX];
	size_t n, got[HELLOS] = {0};
	int fd[HELLOS], answered = 0, closed_mute = 0;
	uint64_t t0, elapsed, allowed;
	p2p_host_stats st;
	ph_raw member;

	cr_assert_eq(ph_net_init(&net, 1, roomy_pending, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(net.hosts[0].cfg.handshake_burst, 8);
	cr_assert_eq(net.hosts[0].cfg.handshakes_per_s, 4);

	/* One well-formed HELLO, made once and replayed on every socket: the
	 * attacker's cost per socket is a connect and a write. */
	cr_assert_eq(p2p_hello_make(&s, PH_NETWORK, P2P_ROLE_INITIATOR, hello, &n), FL_OK);
	t0 = uv_now(&net.loop);
	for (int i = 0; i < HELLOS; i++) {
		fd[i] = stranger(loopback(0, 0, 5), net.hosts[0].port);
		cr_assert(fd[i] >= 0);
	}
	ph_run_for(&net, 50); /* the connects complete and are accepted */
	for (int i = 0; i < HELLOS; i++)
		(void)send(fd[i], hello, n, MSG_NOSIGNAL);
	ph_run_for(&net, 300);
	elapsed = uv_now(&net.loop) - t0;

	for (int i = 0; i < HELLOS; i++) {
		int closed = closed_by_host(fd[i], &got[i]);
		if (got[i] > 0)
			answered++;
		else if (closed)
			closed_mute++;
	}
	p2p_host_get_stats(net.hosts[0].host, &st);
	/* The burst, and what refilled meanwhile (4 a second), rounded up. */
	allowed = 8 + (elapsed * 4 + 999) / 1000;
	cr_assert_geq(st.key_exchanges, 8, "the burst was not honoured");
	cr_assert_leq(st.key_exchanges, allowed, "%llu exchanges in %llu ms",
		      (unsigned long long)st.key_exchanges, (unsigned long long)elapsed);
	cr_assert_eq(st.ephemeral_keys, st.key_exchanges);
	/* Every socket beyond them was closed at accept, unanswered. */
	cr_assert_eq((uint64_t)answered, st.key_exchanges);
	cr_assert_eq(answered + closed_mute, HELLOS, "%d answered, %d closed", answered,
		     closed_mute);
	cr_assert_eq(st.refused_rate, (uint64_t)closed_mute);

	/* Another address has its own bucket: a member from 127.0.0.1 gets in. */
	ph_net_free(&net);
	cr_assert_eq(ph_net_init(&net, 1, roomy_pending, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	for (int i = 0; i < HELLOS; i++) {
		close(fd[i]);
		fd[i] = stranger(loopback(0, 0, 5), net.hosts[0].port);
		cr_assert(fd[i] >= 0);
	}
	ph_run_for(&net, 50);
	for (int i = 0; i < HELLOS; i++)
		(void)send(fd[i], hello, n, MSG_NOSIGNAL);
	ph_run_for(&net, 50);
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_gt(st.refused_rate, 0);
	fl_seckey sk;
	fl_pubkey pk;
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &member, net.hosts[0].port, &sk), FL_OK);
	ph_run_for(&net, 20);
	cr_assert_eq(net.hosts[0].peers_up, 1);
	ph_raw_close(&member);
	for (int i = 0; i < HELLOS; i++)
		close(fd[i]);
	p2p_session_wipe(&s);
	ph_net_free(&net);
}

/* ------------------------------------------- cap, eviction, deadline */

static void small_pending(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 0) {
		cfg->max_pending_inbound = 4;
		cfg->max_pending_per_addr = 2;
		cfg->hello_timeout_ms = 1000;
		cfg->handshake_timeout_ms = 5000;
	}
}

static int open_socket(int fd)
{
	size_t got = 0;
	return !closed_by_host(fd, &got);
}

Test(p2p_admit, per_address_cap_eviction_and_hello_deadline)
{
	ph_net net;
	p2p_session s;
	uint8_t hello[P2P_HELLO_MAX];
	size_t n;
	int a[3], b[4], c[4];
	p2p_host_stats st;

	cr_assert_eq(ph_net_init(&net, 1, small_pending, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(p2p_hello_make(&s, PH_NETWORK, P2P_ROLE_INITIATOR, hello, &n), FL_OK);

	/* Three from one address: the third is closed at once. */
	for (int i = 0; i < 3; i++) {
		a[i] = stranger(loopback(0, 0, 7), net.hosts[0].port);
		cr_assert(a[i] >= 0);
		ph_run_for(&net, 30);
	}
	cr_assert(open_socket(a[0]) && open_socket(a[1]));
	cr_assert_not(open_socket(a[2]), "a third socket from one address was kept");
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_eq(st.refused_addr, 1);
	cr_assert_eq(net.hosts[0].host->n_pending, 2);
	cr_assert_eq(net.hosts[0].host->n_in, 0);

	/* a[0] sends its HELLO; the quota (4) fills from other addresses, and
	 * each newer socket evicts the oldest idle one (all of them idle past
	 * P2P_PENDING_GRACE_MS), never a[0]. */
	cr_assert_eq(send(a[0], hello, n, MSG_NOSIGNAL), (ssize_t)n);
	for (int i = 0; i < 4; i++) {
		ph_run_for(&net, 2 * P2P_PENDING_GRACE_MS);
		b[i] = stranger(loopback(0, 0, 10 + (unsigned)i), net.hosts[0].port);
		cr_assert(b[i] >= 0);
	}
	ph_run_for(&net, 30);
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_eq(net.hosts[0].host->n_pending, 4);
	/* Six for four slots: the two oldest idle ones, a[1] and b[0], went. */
	cr_assert_eq(st.evicted, 2, "evicted %llu", (unsigned long long)st.evicted);
	cr_assert(open_socket(a[0]), "the socket that sent its HELLO was evicted");
	cr_assert_not(open_socket(a[1]), "the oldest idle socket was kept");
	cr_assert_not(open_socket(b[0]));
	cr_assert(open_socket(b[1]) && open_socket(b[2]) && open_socket(b[3]));

	/* The idle ones miss the HELLO deadline (1 s) long before the
	 * handshake timeout (5 s); a[0], its HELLO in, waits on. */
	ph_run_for(&net, 1500);
	cr_assert_not(open_socket(b[1]));
	cr_assert_not(open_socket(b[2]));
	cr_assert_not(open_socket(b[3]));
	cr_assert(open_socket(a[0]));
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_eq(st.hello_timeouts, 3);
	cr_assert_eq(net.hosts[0].host->n_pending, 1);

	/* Sockets that all sent a HELLO (a token each): the one whose last
	 * progress is oldest goes, here a[0]. */
	for (int i = 0; i < 4; i++) {
		c[i] = stranger(loopback(0, 0, 20 + (unsigned)i), net.hosts[0].port);
		cr_assert(c[i] >= 0);
		ph_run_for(&net, 30);
		cr_assert_eq(send(c[i], hello, n, MSG_NOSIGNAL), (ssize_t)n);
		ph_run_for(&net, 30);
	}
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_eq(st.evicted, 3);
	cr_assert_not(open_socket(a[0]), "the stalest handshake was kept");
	for (int i = 0; i < 4; i++)
		cr_assert(open_socket(c[i]), "c[%d] was evicted", i);

	for (int i = 0; i < 3; i++)
		close(a[i]);
	for (int i = 0; i < 4; i++) {
		close(b[i]);
		close(c[i]);
	}
	p2p_session_wipe(&s);
	ph_net_free(&net);
}

/* ------------------------------------------------ out of descriptors */

Test(p2p_admit, out_of_descriptors_the_backlog_drains_without_spinning)
{
	ph_net net;
	struct rlimit rl, saved;
	int fd[16], dup_fd, closed = 0;
	p2p_host_stats st;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	for (int i = 0; i < 16; i++) {
		fd[i] = stranger(loopback(0, 0, 30 + (unsigned)i), net.hosts[0].port);
		cr_assert(fd[i] >= 0);
	}
	/* The next descriptor number is the count in use (none closed yet):
	 * allow exactly one more, so the host's second accept hits EMFILE. */
	dup_fd = dup(0);
	cr_assert(dup_fd >= 0);
	close(dup_fd);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	rl = saved;
	rl.rlim_cur = (rlim_t)dup_fd + 1;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);

	/* 20 loop turns: the listener must not spin on EMFILE, and every
	 * socket but the one admitted is accepted and closed. */
	for (int k = 0; k < 20; k++)
		uv_run(&net.loop, UV_RUN_NOWAIT);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_eq(st.accepted, 1, "accepted %llu", (unsigned long long)st.accepted);
	cr_assert_eq(st.refused_full, 15, "shed %llu", (unsigned long long)st.refused_full);
	ph_run_for(&net, 50);
	for (int i = 0; i < 16; i++)
		closed += !open_socket(fd[i]);
	cr_assert_eq(closed, 15);

	/* With descriptors back, the host admits again. */
	ph_raw member;
	fl_seckey sk;
	fl_pubkey pk;
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &member, net.hosts[0].port, &sk), FL_OK);
	ph_raw_close(&member);
	for (int i = 0; i < 16; i++)
		close(fd[i]);
	ph_net_free(&net);
}
