/*
 * tests/p2p/test_flood.c — memory a member can make a host hold: PING
 * floods answered at a bounded rate and scored to a ban that outlasts the
 * session, send queues counted at what they cost, and the host-wide cap on
 * queued bytes (docs/p2p.md, "Sending" and "Scores and bans").
 */
#include <criterion/criterion.h>
#include <string.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

#define APP_TYPE (P2P_TYPE_APP + 7)

static p2p_peer *peer_with_key(ph_net *net, size_t i, const fl_pubkey *pk)
{
	p2p_peer *peers[PH_MAX * 2];
	size_t n = p2p_peers(net->hosts[i].host, peers, FL_ARRAY_LEN(peers));

	for (size_t k = 0; k < n; k++)
		if (fl_pubkey_cmp(p2p_peer_id(peers[k]), pk) == 0)
			return peers[k];
	return NULL;
}

/* ------------------------------------------------------------ PING flood */

/* A member completes a real handshake, then writes PINGs and never reads
 * the PONGs. Before the limit every PING was answered and queued (the host's
 * queue grew by ~48 heap bytes per 23-byte PING) and nothing was scored. */
Test(p2p_flood, ping_flood_is_throttled_scored_and_banned, .timeout = 20)
{
	enum { BATCH = 256, BATCHES = 64 };
	static uint8_t frames[BATCH * (P2P_LEN_PREFIX + P2P_MSG_HEADER + P2P_TAG_LEN)];
	const size_t frame_len = P2P_LEN_PREFIX + P2P_MSG_HEADER + P2P_TAG_LEN;
	ph_net net;
	ph_raw raw, again;
	fl_seckey sk;
	fl_pubkey pk;
	p2p_host_stats st;
	int sent = 0, write_failed = 0;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	ph_run_for(&net, 20);
	cr_assert_not_null(peer_with_key(&net, 0, &pk));

	/* 16,384 PINGs in batches of sealed frames. */
	for (int b = 0; b < BATCHES && !write_failed; b++) {
		for (int k = 0; k < BATCH; k++) {
			uint8_t plain[P2P_MSG_HEADER];
			p2p_msg_header(plain, P2P_TYPE_PING);
			cr_assert_eq(p2p_frame_seal(&raw.sess, frames + (size_t)k * frame_len,
						    plain, sizeof(plain)),
				     FL_OK);
		}
		if (ph_raw_write(&net, &raw, frames, sizeof(frames)) != FL_OK)
			write_failed = 1;
		else
			sent += BATCH;
	}
	cr_assert(ph_raw_wait_closed(&net, &raw, 5000), "the flooder was not disconnected");
	cr_assert(p2p_is_banned(net.hosts[0].host, &pk), "the flooder was not banned");
	p2p_host_get_stats(net.hosts[0].host, &st);
	/* About ban_score / P2P_PENALTY_FLOOD excess PINGs, then the ban. */
	cr_assert_geq(st.floods, (uint64_t)(100 / P2P_PENALTY_FLOOD));
	cr_assert_leq(st.floods, (uint64_t)sent);
	/* Only P2P_PINGS_PER_TICK PONGs per interval were ever queued. */
	cr_assert_lt(st.queued_peak, (size_t)64 * 1024, "peak %zu bytes queued", st.queued_peak);
	cr_assert_eq(net.hosts[0].peers_down, 1);

	/* The score belongs to the key: reconnecting does not clear it. */
	cr_assert_neq(ph_raw_connect(&net, &again, net.hosts[0].port, &sk), FL_OK);
	cr_assert_null(peer_with_key(&net, 0, &pk));
	ph_raw_close(&again);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

/* An honest rate of PINGs (one per interval) is answered and costs nothing. */
Test(p2p_flood, pings_within_the_rate_are_answered, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	p2p_host_stats st;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	for (int k = 0; k < P2P_PINGS_PER_TICK; k++)
		cr_assert_eq(ph_raw_send(&net, &raw, P2P_TYPE_PING, NULL, 0), FL_OK);
	ph_run_for(&net, 100);
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_eq(st.floods, 0);
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), 0);
	cr_assert_not_null(peer_with_key(&net, 0, &pk));
	ph_raw_close(&raw);
	ph_net_free(&net);
}

/* ------------------------------------------------------- host-wide cap */

#define HOST_CAP  (16u << 20)
#define PEER_CAP  (12u << 20)
#define MSG_BYTES (64 * 1024)

static void capped(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 0) {
		cfg->max_frame = 128 * 1024;
		cfg->max_send_queue = PEER_CAP;
		cfg->max_queued_total = HOST_CAP;
	}
}

static int all_delivered(ph_net *net, void *arg)
{
	return net->hosts[1].messages == *(int *)arg;
}

/*
 * Two members that never read get the same stream: each stays under its
 * own budget, but together they pass the host's. The one holding the most
 * is dropped as slow (and scored), the host's queued bytes never pass the
 * cap, the other keeps its session, and a member that reads is served
 * throughout. (There was no host-wide cap before.)
 */
Test(p2p_flood, host_wide_cap_drops_the_largest_queue, .timeout = 20)
{
	static uint8_t chunk[MSG_BYTES];
	ph_net net;
	ph_raw raw[2];
	fl_seckey sk[2];
	fl_pubkey pk[2];
	p2p_peer *slow[2], *fast;
	p2p_host_stats st;
	size_t held[2] = {0, 0};
	int dropped = -1, sent_fast = 0;

	cr_assert_eq(ph_net_init(&net, 2, capped, NULL), FL_OK);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(fl_key_generate(&sk[i], &pk[i]), FL_OK);
		ph_add_member(&net, &pk[i]);
	}
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[1].host, net.hosts[0].addr), FL_OK);
	cr_assert(ph_run_until(&net, ph_full_mesh, NULL, 5000));
	for (int i = 0; i < 2; i++)
		cr_assert_eq(ph_raw_connect(&net, &raw[i], net.hosts[0].port, &sk[i]), FL_OK);
	ph_run_for(&net, 20);
	for (int i = 0; i < 2; i++)
		cr_assert_not_null(slow[i] = peer_with_key(&net, 0, &pk[i]));
	fast = ph_peer_to(&net, 0, 1);
	cr_assert_not_null(fast);

	/* Bounded: 2 x 512 x 64 KiB = 64 MiB passes any socket buffer. */
	for (int k = 0; k < 512 && dropped < 0; k++) {
		for (int i = 0; i < 2 && dropped < 0; i++) {
			p2p_peer_info info[2];
			int rc;
			/* The queues grow only here: writes complete in the loop. */
			for (int j = 0; j < 2; j++) {
				p2p_peer_get_info(slow[j], &info[j]);
				held[j] = info[j].send_queue_bytes;
			}
			rc = p2p_send(slow[i], APP_TYPE, chunk, sizeof(chunk));
			cr_assert(rc == FL_OK || rc == FL_EIO);
			p2p_host_get_stats(net.hosts[0].host, &st);
			if (st.slow_drops == 0)
				continue;
			/* The victim may be the other one: its session closed. */
			dropped = peer_with_key(&net, 0, &pk[0]) == NULL ? 0 : 1;
			cr_assert_not_null(peer_with_key(&net, 0, &pk[1 - dropped]));
			cr_assert_eq(rc == FL_EIO, dropped == i);
		}
		p2p_host_get_stats(net.hosts[0].host, &st);
		cr_assert_leq(st.queued_bytes, (size_t)HOST_CAP);
		if (k % 8 == 0) {
			cr_assert_eq(p2p_send(fast, APP_TYPE, "hi", 2), FL_OK);
			sent_fast++;
		}
		if (dropped < 0)
			uv_run(&net.loop, UV_RUN_NOWAIT);
	}
	cr_assert_geq(dropped, 0, "no slow peer was dropped");
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_eq(st.slow_drops, 1);
	cr_assert_leq(st.queued_peak, (size_t)HOST_CAP);
	/* Neither slow peer had reached its own budget: the host-wide cap did it. */
	cr_assert_gt(st.queued_peak, (size_t)PEER_CAP);
	cr_assert_lt(held[0], (size_t)PEER_CAP);
	cr_assert_lt(held[1], (size_t)PEER_CAP);
	/* The victim held the most. */
	cr_assert_geq(held[dropped], held[1 - dropped], "%zu vs %zu", held[dropped],
		      held[1 - dropped]);
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk[dropped]), P2P_PENALTY_SLOW);
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk[1 - dropped]), 0);
	ph_run_for(&net, 20);
	cr_assert_null(peer_with_key(&net, 0, &pk[dropped]));
	cr_assert_not_null(peer_with_key(&net, 0, &pk[1 - dropped]));
	cr_assert(ph_run_until(&net, all_delivered, &sent_fast, 5000));
	for (int i = 0; i < 2; i++)
		ph_raw_close(&raw[i]);
	ph_net_free(&net);
}

/* What a message costs counts its header and allocation, not its wire
 * bytes: 1,000 PONG-sized messages hold well over 1,000 x 23 bytes. */
Test(p2p_flood, queue_counts_header_and_allocation, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	p2p_peer *p;
	p2p_peer_info info;
	size_t before;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	ph_run_for(&net, 20);
	cr_assert_not_null(p = peer_with_key(&net, 0, &pk));
	p2p_peer_get_info(p, &info);
	before = info.send_queue_bytes;
	/* Queued without the loop running: none of it is written yet but the
	 * batch already in flight (if any). */
	for (int k = 0; k < 1000; k++)
		cr_assert_eq(p2p_send(p, APP_TYPE, NULL, 0), FL_OK);
	p2p_peer_get_info(p, &info);
	cr_assert_geq(info.send_queue_bytes - before,
		      (size_t)999 * (P2P_MSG_HEADER + sizeof(p2p_out) + P2P_ALLOC_OVERHEAD));
	ph_raw_close(&raw);
	ph_net_free(&net);
}

/* ------------------------------------------------- repeated slow drops */

static void small_queue(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 0) {
		cfg->max_frame = 64 * 1024;
		cfg->max_send_queue = 256 * 1024;
	}
}

/* A member that reconnects and stops reading, again and again: each drop
 * scores P2P_PENALTY_SLOW against its key, which outlives the sessions,
 * until the key is banned and refused at its next handshake. */
Test(p2p_flood, repeated_slow_drops_ban_the_key, .timeout = 20)
{
	static uint8_t chunk[32 * 1024];
	const int rounds = (100 + P2P_PENALTY_SLOW - 1) / P2P_PENALTY_SLOW;
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	p2p_host_stats st;

	cr_assert_eq(ph_net_init(&net, 1, small_queue, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	for (int r = 1; r <= rounds; r++) {
		p2p_peer *p;
		int dropped = 0;

		cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK, "round %d",
			     r);
		ph_run_for(&net, 20);
		cr_assert_not_null(p = peer_with_key(&net, 0, &pk));
		/* Bounded: 4096 x 32 KiB = 128 MiB passes any socket buffer. */
		for (int k = 0; k < 4096 && !dropped; k++) {
			int rc = p2p_send(p, APP_TYPE, chunk, sizeof(chunk));
			cr_assert(rc == FL_OK || rc == FL_EIO);
			dropped = rc == FL_EIO;
			uv_run(&net.loop, UV_RUN_NOWAIT);
		}
		cr_assert(dropped, "round %d: never dropped", r);
		cr_assert(ph_raw_wait_closed(&net, &raw, 3000));
		ph_raw_close(&raw);
		ph_run_for(&net, 20);
		cr_assert_eq(net.hosts[0].last_down_score, r * P2P_PENALTY_SLOW);
	}
	p2p_host_get_stats(net.hosts[0].host, &st);
	cr_assert_eq(st.slow_drops, (uint64_t)rounds);
	cr_assert(p2p_is_banned(net.hosts[0].host, &pk));
	cr_assert_neq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	ph_raw_close(&raw);
	ph_net_free(&net);
}
