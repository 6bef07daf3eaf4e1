/*
 * tests/p2p/test_pex.c — peer exchange a member cannot abuse: ADDRS once
 * per session, a claim that never re-ties an entry whose key is known or
 * that is persistent, learned addresses capped per source key, and dials
 * to learned addresses rate-limited host-wide (docs/p2p.md, "ADDRS and the
 * peer book"). Each test reproduces an attack that worked before these rules.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

/* An ADDRS body of n addresses: `first` (if not NULL), then 127.0.1.k:9,
 * where nothing listens (a dial there is refused at once). */
static size_t addrs_body(uint8_t *out, size_t cap, const char *first, uint32_t n)
{
	p2p_addrs_msg *m = calloc(1, sizeof(*m));
	fl_writer w;
	size_t len = 0;

	cr_assert_not_null(m);
	cr_assert_leq(n, P2P_ADDRS_MAX);
	for (uint32_t i = 0; i < n; i++) {
		if (i == 0 && first != NULL)
			snprintf(m->addr[i], P2P_ADDR_MAX, "%s", first);
		else
			snprintf(m->addr[i], P2P_ADDR_MAX, "127.0.1.%u:9", i + 1);
	}
	m->n = n;
	fl_writer_init(&w, cap);
	cr_assert_eq(p2p_addrs_encode(&w, m), FL_OK);
	cr_assert_eq(fl_writer_finish(&w), FL_OK);
	cr_assert_leq(w.len, cap);
	memcpy(out, w.buf, w.len);
	len = w.len;
	fl_writer_free(&w);
	free(m);
	return len;
}

static size_t entries_from(const p2p_host *h, const fl_pubkey *source)
{
	size_t n = 0;

	for (size_t i = 0; i < P2P_BOOK_MAX; i++) {
		const p2p_book_entry *e = &h->book.entries[i];
		n += e->used && e->has_source && fl_pubkey_cmp(&e->source, source) == 0;
	}
	return n;
}

static size_t learned_entries(const p2p_host *h)
{
	size_t n = 0;

	for (size_t i = 0; i < P2P_BOOK_MAX; i++)
		n += h->book.entries[i].used && !h->book.entries[i].persistent;
	return n;
}

/* 64 dead addresses in one ADDRS: before the cap every one became an entry dialled
 * at once and redialled with backoff (4 ADDRS made a host dial 256 chosen
 * addresses 1,843 times in 15 s). Now the source adds at most 16, and the
 * host dials learned entries at most BURST at once, then one a second. */
Test(p2p_pex, addrs_of_dead_addresses_are_capped_and_dialled_slowly, .timeout = 20)
{
	static uint8_t body[P2P_ADDRS_MAX * (P2P_ADDR_MAX + 2) + 16];
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	uint64_t t0, ms, dials;
	size_t n;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	n = addrs_body(body, sizeof(body), NULL, P2P_ADDRS_MAX);
	t0 = uv_hrtime();
	cr_assert_eq(ph_raw_connect_addrs(&net, &raw, net.hosts[0].port, &sk, body, n), FL_OK);
	ph_run_for(&net, 3000);
	ms = (uv_hrtime() - t0) / 1000000u;
	dials = net.hosts[0].host->dials;
	cr_assert_eq(entries_from(net.hosts[0].host, &pk), P2P_LEARNED_PER_SOURCE);
	cr_assert_leq(learned_entries(net.hosts[0].host), (size_t)P2P_LEARNED_PER_SOURCE);
	cr_assert_leq(dials, P2P_LEARNED_DIAL_BURST + ms / P2P_LEARNED_DIAL_MS + 1,
		      "%llu dials in %llu ms", (unsigned long long)dials, (unsigned long long)ms);
	/* The limit slows dials; it does not stop them. */
	cr_assert_geq(dials, (uint64_t)P2P_LEARNED_DIAL_BURST);
	cr_assert_eq(dials, net.hosts[0].host->book.learned_dials);

	/* Reconnecting does not buy the same key a second share. */
	ph_raw_close(&raw);
	ph_run_for(&net, 50);
	n = addrs_body(body, sizeof(body), "127.0.2.1:9", P2P_ADDRS_MAX);
	cr_assert_eq(ph_raw_connect_addrs(&net, &raw, net.hosts[0].port, &sk, body, n), FL_OK);
	ph_run_for(&net, 50);
	cr_assert_leq(entries_from(net.hosts[0].host, &pk), (size_t)P2P_LEARNED_PER_SOURCE);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

/* A second ADDRS in one session is a violation: not read, scored, closed. */
Test(p2p_pex, second_addrs_in_a_session_scores, .timeout = 20)
{
	static uint8_t body[P2P_ADDRS_MAX * (P2P_ADDR_MAX + 2) + 16];
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	size_t n;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	ph_run_for(&net, 20);
	n = addrs_body(body, sizeof(body), NULL, 8);
	cr_assert_eq(ph_raw_send(&net, &raw, P2P_TYPE_ADDRS, body, n), FL_OK);
	cr_assert(ph_raw_wait_closed(&net, &raw, 3000), "a second ADDRS was accepted");
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), P2P_PENALTY_MALFORMED);
	cr_assert_eq(learned_entries(net.hosts[0].host), 0);
	cr_assert_eq(net.hosts[0].host->dials, 0);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

/* ------------------------------------------------ claims on our entries */

static int host0_has_host1(ph_net *net, void *arg)
{
	(void)arg;
	return ph_peer_to(net, 0, 1) != NULL;
}

static int host0_alone(ph_net *net, void *arg)
{
	(void)arg;
	return ph_settled(net, 0, 0);
}

/*
 * Host 0 reaches host 1 through an entry that is persistent (unpinned) or
 * learned by a dial of ours (its key proved). While host 1 is down a member
 * claims host 1's address as its own in its ADDRS. Before the rule the claim
 * re-tied the entry to the claimer's key, and host 0 never dialled host 1
 * again while the claimer stayed connected.
 */
static void claim_while_down(int persistent)
{
	static uint8_t body[P2P_ADDRS_MAX * (P2P_ADDR_MAX + 2) + 16];
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	char addr1[P2P_ADDR_MAX];
	size_t n;

	cr_assert_eq(ph_net_init(&net, 2, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	snprintf(addr1, sizeof(addr1), "%s", net.hosts[1].addr);
	if (persistent)
		cr_assert_eq(p2p_add_persistent(net.hosts[0].host, addr1, NULL), FL_OK);
	else
		cr_assert_eq(p2p_dial(net.hosts[0].host, addr1), FL_OK);
	cr_assert(ph_run_until(&net, host0_has_host1, NULL, 5000));

	ph_host_stop(&net, 1);
	cr_assert(ph_run_until(&net, host0_alone, NULL, 5000));
	n = addrs_body(body, sizeof(body), addr1, 1);
	cr_assert_eq(ph_raw_connect_addrs(&net, &raw, net.hosts[0].port, &sk, body, n), FL_OK);
	ph_run_for(&net, 20);
	cr_assert_eq(ph_host_start(&net, 1, addr1), FL_OK);
	/* Within the raw client's life: silent, it is dropped after 3 ping
	 * intervals (6 s), which would release a claim without the rule too. Redials
	 * back off to at most 400 ms here. */
	cr_assert(ph_run_until(&net, host0_has_host1, NULL, 4000),
		  "a claim stopped our dials to a member");
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), 0);
	cr_assert_not(ph_raw_closed(&raw));
	ph_raw_close(&raw);
	ph_net_free(&net);
}

Test(p2p_pex, claim_does_not_retie_a_persistent_entry, .timeout = 20)
{
	claim_while_down(1);
}

Test(p2p_pex, claim_does_not_retie_an_entry_whose_key_is_known, .timeout = 20)
{
	claim_while_down(0);
}
