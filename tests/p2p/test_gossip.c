/*
 * tests/p2p/test_gossip.c — broadcast between real hosts (each host sees
 * each message once, each link carries it at most once per direction) and
 * the seen-cache against a reference model.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

#define TOPIC    42
#define PER_HOST 4

typedef struct {
	int want;
} gossip_goal;

static int all_got(ph_net *net, void *arg)
{
	const gossip_goal *g = arg;

	for (size_t i = 0; i < net->n; i++)
		if (net->hosts[i].gossip < g->want)
			return 0;
	return 1;
}

/* Every link of the chain is open and no session is half-open (the book
 * may have added links from learned addresses: any topology will do). */
static int chain_up(ph_net *net, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < net->n; i++) {
		if (i > 0 && ph_peer_to(net, i, i - 1) == NULL)
			return 0;
		if (!ph_settled(net, i, p2p_peer_count(net->hosts[i].host)))
			return 0;
	}
	return 1;
}

/* Hosts 1..n-1 dial the one before: a chain, which the peer book may grow
 * with addresses learned from ADDRS. */
static void start_chain(ph_net *net, size_t n)
{
	cr_assert_eq(ph_net_init(net, n, NULL, NULL), FL_OK);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ph_host_start(net, i, NULL), FL_OK);
	for (size_t i = 1; i < n; i++)
		cr_assert_eq(p2p_dial(net->hosts[i].host, net->hosts[i - 1].addr), FL_OK);
	cr_assert(ph_run_until(net, chain_up, NULL, 8000), "the chain did not connect");
	/* Let dials of learned addresses finish before anything is sent. */
	ph_run_for(net, 300);
	cr_assert(ph_run_until(net, chain_up, NULL, 8000));
}

static void broadcast_all(ph_net *net)
{
	for (size_t i = 0; i < net->n; i++) {
		for (int k = 0; k < PER_HOST; k++) {
			uint8_t payload[100];
			memset(payload, (int)i, sizeof(payload));
			payload[0] = (uint8_t)(i * PER_HOST + k); /* the tag */
			cr_assert_eq(
			    p2p_broadcast(net->hosts[i].host, TOPIC, payload, sizeof(payload)),
			    FL_OK);
		}
	}
}

/* Each host got every other host's messages exactly once and never its own;
 * each link carried each message at most once per direction. */
static void check_once(ph_net *net)
{
	size_t total = net->n * PER_HOST;

	for (size_t i = 0; i < net->n; i++) {
		const ph_host *t = &net->hosts[i];
		cr_assert_eq(t->gossip, (int)(total - PER_HOST), "host %zu: %d", i, t->gossip);
		for (size_t tag = 0; tag < total; tag++)
			cr_assert_eq(t->gossip_by_tag[tag], tag / PER_HOST == i ? 0 : 1,
				     "host %zu tag %zu: %d", i, tag, t->gossip_by_tag[tag]);
		for (const p2p_peer *p = t->host->peers; p != NULL; p = p->next)
			cr_assert_leq(p->gossip_in, (uint64_t)total, "host %zu: link carried %llu",
				      i, (unsigned long long)p->gossip_in);
	}
}

Test(p2p_gossip, two_members_gossip_once, .timeout = 20)
{
	ph_net net;
	gossip_goal g = {PER_HOST};

	start_chain(&net, 2);
	broadcast_all(&net);
	g.want = PER_HOST;
	cr_assert(ph_run_until(&net, all_got, &g, 5000));
	ph_run_for(&net, 50);
	check_once(&net);
	/* Broadcasting a message already seen is refused, and sends nothing. */
	uint8_t again[100];
	memset(again, 0, sizeof(again));
	again[0] = 0;
	cr_assert_eq(p2p_broadcast(net.hosts[0].host, TOPIC, again, sizeof(again)), FL_EDUP);
	/* The same bytes under another topic are another message. */
	cr_assert_eq(p2p_broadcast(net.hosts[0].host, TOPIC + 1, again, sizeof(again)), FL_OK);
	g.want = PER_HOST + 1;
	cr_assert(ph_run_until(&net, all_got, &g, 5000) == 0 || net.hosts[1].gossip == 5);
	cr_assert_eq(net.hosts[1].gossip, PER_HOST + 1);
	ph_net_free(&net);
}

Test(p2p_gossip, five_members_each_message_once, .timeout = 20)
{
	ph_net net;
	gossip_goal g = {4 * PER_HOST};
	uint64_t links = 0;

	start_chain(&net, 5);
	broadcast_all(&net);
	cr_assert(ph_run_until(&net, all_got, &g, 8000));
	ph_run_for(&net, 100);
	check_once(&net);
	/* Whatever the topology, a message crosses each of the at most 10
	 * links at most once per direction, and at least the 4 links that
	 * reach the other hosts. */
	for (size_t i = 0; i < net.n; i++)
		for (const p2p_peer *p = net.hosts[i].host->peers; p != NULL; p = p->next)
			links += p->gossip_in;
	cr_assert_leq(links, (uint64_t)(5 * PER_HOST) * 20);
	cr_assert_geq(links, (uint64_t)(5 * PER_HOST) * 4);
	ph_net_free(&net);
}

Test(p2p_gossip, over_the_frame_maximum_is_refused, .timeout = 20)
{
	ph_net net;
	uint8_t *big = calloc(1, P2P_MAX_FRAME);

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(p2p_broadcast(net.hosts[0].host, TOPIC, big, P2P_MAX_FRAME), FL_ETOOBIG);
	/* Not remembered: a smaller message is still new. */
	cr_assert_eq(p2p_broadcast(net.hosts[0].host, TOPIC, big, 1000), FL_OK);
	free(big);
	ph_net_free(&net);
}

/* ------------------------------------------------------------ seen-cache */

static fl_hash id_of(uint32_t v)
{
	fl_hash h;

	fl_sha256(&h, &v, sizeof(v));
	return h;
}

Test(p2p_gossip, seen_cache_forgets_oldest_first, .timeout = 20)
{
	p2p_seen s;

	cr_assert_eq(p2p_seen_init(&s, 4), FL_OK);
	for (uint32_t v = 0; v < 4; v++) {
		fl_hash h = id_of(v);
		cr_assert_eq(p2p_seen_add(&s, &h), 1);
		cr_assert_eq(p2p_seen_add(&s, &h), 0);
	}
	fl_hash h4 = id_of(4), h0 = id_of(0), h2 = id_of(2);
	cr_assert_eq(p2p_seen_add(&s, &h4), 1); /* evicts 0 */
	cr_assert_eq(p2p_seen_add(&s, &h2), 0);
	cr_assert_eq(p2p_seen_add(&s, &h0), 1); /* forgotten, so new; evicts 1 */
	cr_assert_eq(s.n, 4);
	p2p_seen_free(&s);
}

/* Many adds over a small cache, against a plain FIFO: the hash set's
 * deletions must never lose or keep an id wrongly. */
Test(p2p_gossip, seen_cache_matches_a_fifo_model, .timeout = 20)
{
	enum { CAP = 97, UNIVERSE = 300, ROUNDS = 20000 };
	static uint32_t fifo[CAP];
	size_t head = 0, n = 0;
	uint32_t x = 12345;
	p2p_seen s;

	cr_assert_eq(p2p_seen_init(&s, CAP), FL_OK);
	for (int r = 0; r < ROUNDS; r++) {
		int in_model = 0;
		x = x * 1103515245u + 12345u;
		uint32_t v = (x >> 8) % UNIVERSE;
		for (size_t k = 0; k < n; k++)
			if (fifo[(head + k) % CAP] == v)
				in_model = 1;
		fl_hash h = id_of(v);
		cr_assert_eq(p2p_seen_add(&s, &h), !in_model, "round %d value %u", r, v);
		if (!in_model) {
			if (n == CAP) {
				head = (head + 1) % CAP;
				n--;
			}
			fifo[(head + n) % CAP] = v;
			n++;
		}
	}
	cr_assert_eq(s.n, n);
	p2p_seen_free(&s);
}
