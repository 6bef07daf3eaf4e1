/*
 * tests/p2p/test_large_frames.c — frames of 16 KiB and more, which a host
 * opens piece by piece as they arrive (docs/p2p.md, "Sending", the
 * receiving side): a good one is delivered byte for byte; one with a bit
 * flipped in the part read through the shared buffer, in the part read
 * straight into the frame buffer, or in the tag closes the session with
 * nothing delivered and nobody scored (a bad MAC proves nothing about the
 * peer, §4 "Scores and bans").
 */
#include <criterion/criterion.h>
#include <string.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

#define APP_TYPE  (P2P_TYPE_APP + 11)
#define BODY_LEN  (300 * 1024)
#define FRAME_LEN (P2P_LEN_PREFIX + P2P_MSG_HEADER + BODY_LEN + P2P_TAG_LEN)

static uint8_t frame[FRAME_LEN], plain[P2P_MSG_HEADER + BODY_LEN];
static uint64_t body_sum;

static uint64_t sum(const uint8_t *p, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

/* The harness's counting, and a checksum of what was delivered. */
static void summing_on_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n)
{
	ph_host *t = ctx;

	(void)peer;
	t->messages++;
	t->message_bytes += n;
	if (type == APP_TYPE)
		body_sum = sum(p, n);
}

static void summing(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	(void)i;
	cfg->on_message = summing_on_message;
}

static int delivered(ph_net *net, void *arg)
{
	(void)arg;
	return net->hosts[0].messages > 0;
}

/* A raw member writes one sealed APP_TYPE frame of BODY_LEN bytes, with
 * the byte at flip_at (an offset into the frame, or 0 for none) flipped. */
static void send_large(size_t flip_at, int want_delivered)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;

	cr_assert_eq(ph_net_init(&net, 1, summing, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	p2p_msg_header(plain, APP_TYPE);
	for (size_t i = 0; i < BODY_LEN; i++)
		plain[P2P_MSG_HEADER + i] = (uint8_t)(i * 131 + (i >> 9));
	cr_assert_eq(p2p_frame_seal(&raw.sess, frame, plain, sizeof(plain)), FL_OK);
	if (flip_at != 0)
		frame[flip_at] ^= 0x10;
	body_sum = 0;
	cr_assert_eq(ph_raw_write(&net, &raw, frame, sizeof(frame)), FL_OK);
	if (want_delivered) {
		cr_assert(ph_run_until(&net, delivered, NULL, 5000));
		cr_assert_eq(net.hosts[0].messages, 1);
		cr_assert_eq(net.hosts[0].message_bytes, BODY_LEN);
		cr_assert_eq(body_sum, sum(plain + P2P_MSG_HEADER, BODY_LEN));
		cr_assert_not(ph_raw_closed(&raw));
	} else {
		cr_assert(ph_raw_wait_closed(&net, &raw, 5000), "a forged frame kept the session");
		cr_assert_eq(net.hosts[0].messages, 0, "a frame that failed its MAC was delivered");
	}
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), 0);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

Test(large_frames, delivered_whole, .timeout = 20)
{
	send_large(0, 1);
}

Test(large_frames, flip_near_the_start_refused, .timeout = 20)
{
	/* Within the first read, which goes through the shared buffer. */
	send_large(P2P_LEN_PREFIX + 100, 0);
}

Test(large_frames, flip_far_in_refused, .timeout = 20)
{
	/* Past the first 64 KiB: read straight into the frame buffer. */
	send_large(P2P_LEN_PREFIX + 250 * 1024, 0);
}

Test(large_frames, flip_in_the_tag_refused, .timeout = 20)
{
	send_large(FRAME_LEN - 3, 0);
}
