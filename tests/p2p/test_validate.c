/*
 * tests/p2p/test_validate.c — gossip checked before it is relayed: the
 * application's verdict comes first and only accepted messages go on, a
 * reject and a duplicate flood score the sender, and each peer's gossip is
 * rate-limited in messages and bytes (docs/p2p.md, "Gossip").
 *
 * Host 1 dials host 0; a raw member (a real handshake, then frames the
 * test writes) sends gossip to host 0, which would relay it to host 1.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

#define TOPIC      9
#define TAG_GOOD   1
#define TAG_JUNK   2
#define TAG_IGNORE 3

typedef struct {
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
} rig;

static int both_up(ph_net *net, void *arg)
{
	(void)arg;
	return ph_peer_to(net, 0, 1) != NULL && ph_peer_to(net, 1, 0) != NULL;
}

static void rig_start(rig *r, void (*tweak)(p2p_config *, size_t, void *))
{
	cr_assert_eq(ph_net_init(&r->net, 2, tweak, NULL), FL_OK);
	cr_assert_eq(fl_key_generate(&r->sk, &r->pk), FL_OK);
	ph_add_member(&r->net, &r->pk);
	cr_assert_eq(ph_host_start(&r->net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&r->net, 1, NULL), FL_OK);
	r->net.hosts[0].verdict_by_tag[TAG_JUNK] = P2P_GOSSIP_REJECT;
	r->net.hosts[0].verdict_by_tag[TAG_IGNORE] = P2P_GOSSIP_IGNORE;
	cr_assert_eq(p2p_dial(r->net.hosts[1].host, r->net.hosts[0].addr), FL_OK);
	cr_assert(ph_run_until(&r->net, both_up, NULL, 5000));
	cr_assert_eq(ph_raw_connect(&r->net, &r->raw, r->net.hosts[0].port, &r->sk), FL_OK);
	ph_run_for(&r->net, 20);
}

static void rig_free(rig *r)
{
	ph_raw_close(&r->raw);
	ph_net_free(&r->net);
}

/* One GOSSIP frame: payload[0] = tag, then `seq` so ids differ. */
static int raw_gossip(rig *r, uint8_t tag, uint32_t seq, size_t size)
{
	static uint8_t payload[P2P_MAX_FRAME];
	p2p_gossip_msg m = {.topic = TOPIC, .data = payload, .n = size};
	fl_writer w;
	int rc;

	cr_assert(size >= 5 && size <= sizeof(payload) - 64);
	memset(payload, 0, size);
	payload[0] = tag;
	memcpy(payload + 1, &seq, sizeof(seq));
	fl_writer_init(&w, size + 64);
	rc = p2p_gossip_encode(&w, &m);
	if (rc == FL_OK)
		rc = fl_writer_finish(&w);
	if (rc == FL_OK)
		rc = ph_raw_send(&r->net, &r->raw, P2P_TYPE_GOSSIP, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

static uint64_t gossip_on_link(rig *r)
{
	p2p_peer *p = ph_peer_to(&r->net, 1, 0);
	return p != NULL ? p->gossip_in : 0;
}

static int host1_got(ph_net *net, void *arg)
{
	return net->hosts[1].gossip >= *(int *)arg;
}

Test(p2p_validate, rejected_gossip_is_not_forwarded_and_scores, .timeout = 20)
{
	rig r;
	int one = 1;

	rig_start(&r, NULL);
	cr_assert_eq(raw_gossip(&r, TAG_JUNK, 1, 100), FL_OK);
	cr_assert_eq(raw_gossip(&r, TAG_IGNORE, 2, 100), FL_OK);
	/* A good one after them: once host 1 has it, the others would have
	 * arrived before it (one link, in order). */
	cr_assert_eq(raw_gossip(&r, TAG_GOOD, 3, 100), FL_OK);
	cr_assert(ph_run_until(&r.net, host1_got, &one, 5000));
	ph_run_for(&r.net, 50);
	cr_assert_eq(r.net.hosts[0].gossip_by_tag[TAG_JUNK], 1);
	cr_assert_eq(r.net.hosts[0].gossip_by_tag[TAG_IGNORE], 1);
	cr_assert_eq(r.net.hosts[1].gossip_by_tag[TAG_JUNK], 0, "the rejected one was relayed");
	cr_assert_eq(r.net.hosts[1].gossip_by_tag[TAG_IGNORE], 0, "the ignored one was relayed");
	cr_assert_eq(r.net.hosts[1].gossip_by_tag[TAG_GOOD], 1);
	cr_assert_eq(gossip_on_link(&r), 1);
	/* The reject scored the sender, the ignore did not; the session stays. */
	cr_assert_eq(p2p_book_score(r.net.hosts[0].host, &r.pk), P2P_PENALTY_REJECT);
	cr_assert_not(ph_raw_closed(&r.raw));
	rig_free(&r);
}

Test(p2p_validate, accepted_gossip_is_forwarded_once, .timeout = 20)
{
	rig r;
	int one = 1;

	rig_start(&r, NULL);
	cr_assert_eq(raw_gossip(&r, TAG_GOOD, 7, 100), FL_OK);
	cr_assert(ph_run_until(&r.net, host1_got, &one, 5000));
	/* The same message again, from the same peer: dropped as seen. */
	for (int k = 0; k < 3; k++)
		cr_assert_eq(raw_gossip(&r, TAG_GOOD, 7, 100), FL_OK);
	cr_assert_eq(raw_gossip(&r, TAG_GOOD, 8, 100), FL_OK);
	one = 2;
	cr_assert(ph_run_until(&r.net, host1_got, &one, 5000));
	ph_run_for(&r.net, 50);
	cr_assert_eq(r.net.hosts[0].gossip, 2);
	cr_assert_eq(r.net.hosts[1].gossip, 2);
	cr_assert_eq(gossip_on_link(&r), 2);
	/* A few duplicates are within the allowance. */
	cr_assert_eq(p2p_book_score(r.net.hosts[0].host, &r.pk), 0);
	rig_free(&r);
}

/* The same message over and over: past the allowance (one duplicate per id
 * learned, plus P2P_GOSSIP_DUP_SLACK) each copy scores, to a ban. Before,
 * duplicates were free however many came. */
Test(p2p_validate, duplicate_flood_scores_to_a_ban, .timeout = 20)
{
	rig r;
	int sent = 0;

	rig_start(&r, NULL);
	for (int k = 0; k < P2P_GOSSIP_DUP_SLACK + 200; k++, sent++)
		if (raw_gossip(&r, TAG_GOOD, 11, 64) != FL_OK)
			break;
	cr_assert(ph_raw_wait_closed(&r.net, &r.raw, 5000), "the flooder kept its session");
	cr_assert(p2p_is_banned(r.net.hosts[0].host, &r.pk));
	cr_assert_eq(r.net.hosts[0].gossip, 1);
	cr_assert_geq(sent, P2P_GOSSIP_DUP_SLACK + 100 / P2P_PENALTY_FLOOD);
	rig_free(&r);
}

/* --------------------------------------------------------- rate limits */

#define RATE_MSGS  20
#define RATE_BYTES (256 * 1024)

static void slow_gossip(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 0) {
		cfg->max_frame = 128 * 1024;
		cfg->gossip_msgs_per_s = RATE_MSGS;
		cfg->gossip_bytes_per_s = RATE_BYTES;
		cfg->ban_score = 1000000; /* count the excess without a ban */
	}
}

/* What passed host 0's bucket in `ms`: at most one second's worth (the
 * burst) plus the refill. */
static uint64_t allowance(uint64_t per_s, uint64_t ms)
{
	return per_s + per_s * ms / 1000 + 1;
}

Test(p2p_validate, gossip_rate_limit_in_messages_holds, .timeout = 20)
{
	rig r;
	p2p_host_stats st;
	uint64_t t0, ms;
	int sent = 0;

	rig_start(&r, slow_gossip);
	t0 = uv_hrtime();
	for (uint32_t k = 0; k < 10 * RATE_MSGS; k++, sent++)
		cr_assert_eq(raw_gossip(&r, TAG_GOOD, 100 + k, 16), FL_OK);
	ph_run_for(&r.net, 200);
	ms = (uv_hrtime() - t0) / 1000000u;
	p2p_host_get_stats(r.net.hosts[0].host, &st);
	cr_assert_leq((uint64_t)r.net.hosts[0].gossip, allowance(RATE_MSGS, ms),
		      "%d passed in %llu ms", r.net.hosts[0].gossip, (unsigned long long)ms);
	cr_assert_geq(r.net.hosts[0].gossip, RATE_MSGS);
	cr_assert_eq(st.floods, (uint64_t)(sent - r.net.hosts[0].gossip));
	cr_assert_eq(p2p_book_score(r.net.hosts[0].host, &r.pk),
		     (int32_t)st.floods * P2P_PENALTY_FLOOD);
	/* Nothing over the rate was relayed either. */
	cr_assert_leq((uint64_t)r.net.hosts[1].gossip, (uint64_t)r.net.hosts[0].gossip);
	rig_free(&r);
}

Test(p2p_validate, gossip_rate_limit_in_bytes_holds, .timeout = 20)
{
	enum { SIZE = 64 * 1024 };
	rig r;
	uint64_t t0, ms;

	rig_start(&r, slow_gossip);
	t0 = uv_hrtime();
	/* 4 x RATE_BYTES in 16 messages, under the message rate. */
	for (uint32_t k = 0; k < 16; k++)
		cr_assert_eq(raw_gossip(&r, TAG_GOOD, 500 + k, SIZE), FL_OK);
	ph_run_for(&r.net, 200);
	ms = (uv_hrtime() - t0) / 1000000u;
	cr_assert_leq((uint64_t)r.net.hosts[0].gossip * SIZE, allowance(RATE_BYTES, ms),
		      "%d x 64 KiB passed in %llu ms", r.net.hosts[0].gossip,
		      (unsigned long long)ms);
	cr_assert_geq(r.net.hosts[0].gossip, RATE_BYTES / (SIZE + 16) - 1);
	cr_assert_lt(r.net.hosts[0].gossip, 16);
	rig_free(&r);
}
