/*
 * tests/p2p/test_batch.c — BATCH frames (docs/p2p.md §3, "BATCH"): the body
 * codec on good and hostile bodies, a burst of small messages sharing
 * frames between two real hosts (all delivered, in order), and a member
 * whose batch is malformed: closed, scored, and nothing of it delivered.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

#define APP_TYPE (P2P_TYPE_APP + 9)

/* ------------------------------------------------------------ the codec */

/* A body of count items, each a message of APP_TYPE with body_n bytes of
 * fill; returns its length. */
static size_t make_batch(uint8_t *out, uint32_t count, size_t body_n, uint8_t fill)
{
	uint8_t msg[P2P_BATCH_ITEM_MAX];
	size_t pos = P2P_BATCH_HEAD;

	cr_assert(P2P_MSG_HEADER + body_n <= sizeof(msg));
	p2p_msg_header(msg, APP_TYPE);
	memset(msg + P2P_MSG_HEADER, fill, body_n);
	out[0] = (uint8_t)count;
	out[1] = (uint8_t)(count >> 8);
	for (uint32_t i = 0; i < count; i++)
		pos += p2p_batch_put_item(out + pos, msg, P2P_MSG_HEADER + body_n);
	return pos;
}

Test(batch, round_trip)
{
	uint8_t body[3 * (P2P_BATCH_ITEM_HEAD + 10) + P2P_BATCH_HEAD], a[3], b[10], c[7];
	size_t pos = P2P_BATCH_HEAD, n;
	const uint8_t *msg;
	p2p_batch_msg m;

	p2p_msg_header(a, P2P_TYPE_PING);
	p2p_msg_header(b, APP_TYPE);
	memset(b + P2P_MSG_HEADER, 0x5a, sizeof(b) - P2P_MSG_HEADER);
	p2p_msg_header(c, P2P_TYPE_GOSSIP);
	memset(c + P2P_MSG_HEADER, 0xc3, sizeof(c) - P2P_MSG_HEADER);
	p2p_batch_put_count(body, 3);
	pos += p2p_batch_put_item(body + pos, a, sizeof(a));
	pos += p2p_batch_put_item(body + pos, b, sizeof(b));
	pos += p2p_batch_put_item(body + pos, c, sizeof(c));
	cr_assert_eq(pos,
		     P2P_BATCH_HEAD + 3 * P2P_BATCH_ITEM_HEAD + sizeof(a) + sizeof(b) + sizeof(c));
	cr_assert_eq(body[0], 3);
	cr_assert_eq(body[1], 0);
	cr_assert_eq(body[2], sizeof(a));
	cr_assert_eq(body[3], 0);

	cr_assert_eq(p2p_batch_decode(&m, body, pos), FL_OK);
	cr_assert_eq(m.count, 3);
	cr_assert_eq(p2p_batch_next(&m, &msg, &n), 1);
	cr_assert(n == sizeof(a) && memcmp(msg, a, n) == 0);
	cr_assert_eq(p2p_batch_next(&m, &msg, &n), 1);
	cr_assert(n == sizeof(b) && memcmp(msg, b, n) == 0);
	cr_assert_eq(p2p_batch_next(&m, &msg, &n), 1);
	cr_assert(n == sizeof(c) && memcmp(msg, c, n) == 0);
	cr_assert_eq(p2p_batch_next(&m, &msg, &n), 0);
	cr_assert_eq(p2p_batch_next(&m, &msg, &n), 0);
}

Test(batch, limits_are_inclusive)
{
	static uint8_t body[P2P_BATCH_HEAD + P2P_BATCH_MAX * (P2P_BATCH_ITEM_HEAD + 3)];
	static uint8_t big[P2P_BATCH_HEAD + 2 * (P2P_BATCH_ITEM_HEAD + P2P_BATCH_ITEM_MAX)];
	const uint8_t *msg;
	p2p_batch_msg m;
	uint32_t items = 0;
	size_t n;

	/* P2P_BATCH_MAX empty-bodied messages. */
	n = make_batch(body, P2P_BATCH_MAX, 0, 0);
	cr_assert_eq(n, sizeof(body));
	cr_assert_eq(p2p_batch_decode(&m, body, n), FL_OK);
	while (p2p_batch_next(&m, &msg, &n)) {
		cr_assert_eq(n, P2P_MSG_HEADER);
		items++;
	}
	cr_assert_eq(items, P2P_BATCH_MAX);
	/* Two items of P2P_BATCH_ITEM_MAX bytes. */
	n = make_batch(big, 2, P2P_BATCH_ITEM_MAX - P2P_MSG_HEADER, 1);
	cr_assert_eq(n, sizeof(big));
	cr_assert_eq(p2p_batch_decode(&m, big, n), FL_OK);
	cr_assert_eq(m.count, 2);
}

/* A decoded batch that failed yields no item. */
static void refused(const uint8_t *p, size_t n, int want, const char *what)
{
	const uint8_t *msg;
	p2p_batch_msg m;
	size_t k;

	cr_assert_eq(p2p_batch_decode(&m, p, n), want, "%s", what);
	cr_assert_eq(p2p_batch_next(&m, &msg, &k), 0, "%s", what);
}

Test(batch, hostile_bodies_refused)
{
	static uint8_t body[P2P_BATCH_HEAD + (P2P_BATCH_MAX + 1) * (P2P_BATCH_ITEM_HEAD + 3)];
	size_t n;

	refused(body, 0, FL_ETRUNC, "empty");
	refused((const uint8_t *)"\x02", 1, FL_ETRUNC, "half a count");

	n = make_batch(body, 0, 0, 0);
	refused(body, n, FL_EPROTO, "count 0");
	n = make_batch(body, 1, 4, 0);
	refused(body, n, FL_EPROTO, "count 1: no batch needed");
	n = make_batch(body, P2P_BATCH_MAX + 1, 0, 0);
	refused(body, n, FL_ETOOBIG, "too many messages");
	n = make_batch(body, 12, 0, 0);
	body[0] = 0xff;
	body[1] = 0xff;
	refused(body, n, FL_ETOOBIG, "count 65535");

	/* The count promises more items than there are. */
	n = make_batch(body, 3, 4, 0);
	body[0] = 4;
	refused(body, n, FL_ETRUNC, "count past the items");
	/* Trailing bytes after the last item. */
	n = make_batch(body, 3, 4, 0);
	body[n] = 0;
	refused(body, n + 1, FL_ETRAILING, "a trailing byte");
	/* The last item's length runs past the body. */
	n = make_batch(body, 3, 4, 0);
	body[P2P_BATCH_HEAD + 2 * (P2P_BATCH_ITEM_HEAD + 7)] = 8;
	refused(body, n, FL_ETRUNC, "an inner length past the end");
	/* An inner length that splits the next item's length bytes. */
	n = make_batch(body, 3, 4, 0);
	body[P2P_BATCH_HEAD] = 8;
	refused(body, n, FL_ETRUNC, "an inner length misaligning the rest");
	/* Half an item header at the end. */
	n = make_batch(body, 2, 4, 0);
	body[0] = 3;
	body[n] = 5;
	refused(body, n + 1, FL_ETRUNC, "half an item length");
	/* Items too short for a message header, or over the maximum. */
	n = make_batch(body, 2, 4, 0);
	body[P2P_BATCH_HEAD] = 2;
	refused(body, n, FL_EPROTO, "an item of 2 bytes");
	n = make_batch(body, 2, 0, 0);
	body[P2P_BATCH_HEAD] = (uint8_t)(P2P_BATCH_ITEM_MAX + 1);
	body[P2P_BATCH_HEAD + 1] = (uint8_t)((P2P_BATCH_ITEM_MAX + 1) >> 8);
	refused(body, n, FL_ETOOBIG, "an item over P2P_BATCH_ITEM_MAX");
	/* An item of another message version; a BATCH inside a BATCH. */
	n = make_batch(body, 2, 4, 0);
	body[P2P_BATCH_HEAD + P2P_BATCH_ITEM_HEAD + P2P_BATCH_ITEM_HEAD + 7] = 2;
	refused(body, n, FL_EVERSION, "an item of message version 2");
	n = make_batch(body, 2, 4, 0);
	body[P2P_BATCH_HEAD + P2P_BATCH_ITEM_HEAD + 1] = P2P_TYPE_BATCH;
	body[P2P_BATCH_HEAD + P2P_BATCH_ITEM_HEAD + 2] = 0;
	refused(body, n, FL_EPROTO, "a nested BATCH");
}

/* ---------------------------------------------------- between two hosts */

#define BURST     2000
#define BURST_LEN 100

static uint32_t order_seen[BURST];
static int order_n, order_ok = 1;

/* The harness's counting, and the order of the burst's sequence numbers. */
static void ordered_on_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n)
{
	ph_host *t = ctx;
	uint32_t seq;

	(void)peer;
	t->messages++;
	t->message_bytes += n;
	if (type != APP_TYPE || n != BURST_LEN || order_n >= BURST) {
		order_ok = 0;
		return;
	}
	memcpy(&seq, p, sizeof(seq));
	order_seen[order_n++] = seq;
}

static void record_order(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 1)
		cfg->on_message = ordered_on_message;
}

static int burst_in(ph_net *net, void *arg)
{
	(void)arg;
	return net->hosts[1].messages >= BURST;
}

static int meshed(ph_net *net, void *arg)
{
	(void)arg;
	return net->hosts[0].peers_up == 1 && net->hosts[1].peers_up == 1;
}

/* Queued in one go, the burst leaves in a few batches (its wire bytes are
 * well under one frame per message), and arrives whole and in order. */
Test(batch, burst_of_small_messages_shares_frames, .timeout = 20)
{
	ph_net net;
	uint8_t msg[BURST_LEN];
	p2p_peer_info out, in;
	p2p_peer *to1;

	cr_assert_eq(ph_net_init(&net, 2, record_order, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[0].host, net.hosts[1].addr), FL_OK);
	cr_assert(ph_run_until(&net, meshed, NULL, 5000));
	to1 = ph_peer_to(&net, 0, 1);
	cr_assert_not_null(to1);
	p2p_peer_get_info(to1, &out);
	memset(msg, 0x33, sizeof(msg));
	for (uint32_t i = 0; i < BURST; i++) {
		memcpy(msg, &i, sizeof(i));
		cr_assert_eq(p2p_send(to1, APP_TYPE, msg, sizeof(msg)), FL_OK);
	}
	cr_assert(ph_run_until(&net, burst_in, NULL, 10000));
	ph_run_for(&net, 50);
	cr_assert_eq(net.hosts[1].messages, BURST);
	cr_assert(order_ok);
	for (uint32_t i = 0; i < BURST; i++)
		cr_assert_eq(order_seen[i], i, "message %u arrived as %u", i, order_seen[i]);
	p2p_peer_get_info(ph_peer_to(&net, 1, 0), &in);
	{
		p2p_peer_info after;
		uint64_t wire;

		p2p_peer_get_info(to1, &after);
		wire = after.bytes_out - out.bytes_out;
		cr_assert_geq(after.msgs_out - out.msgs_out, BURST);
		/* One frame each would be BURST x (100 + 3 + 20) bytes; in
		 * batches each costs its 2-byte item length instead of the 20. */
		cr_assert_lt(wire, (uint64_t)BURST * (BURST_LEN + 3 + 10), "wire bytes %llu",
			     (unsigned long long)wire);
		cr_assert_geq(wire, (uint64_t)BURST * (BURST_LEN + 3 + 2));
	}
	cr_assert_geq(in.msgs_in, BURST);
	cr_assert_eq(in.score, 0);
	ph_net_free(&net);
}

/* Sizes mixed in one burst: batched small ones, single mid-sized ones,
 * large ones sealed at queue time and written from their entry, and blob
 * chunks on the low queue meanwhile. Every message arrives, whole and in
 * order, so the frames were sealed in the order they reached the wire. */
#define MIXED 400

static const size_t mixed_sizes[] = {100, 100, 20000, 100, 4096, 4097, 70000, 100, 100, 16384, 5};
static uint32_t mixed_seen;
static int mixed_bad;

static void mixed_on_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n)
{
	ph_host *t = ctx;
	uint32_t seq;
	size_t want;

	(void)peer;
	t->messages++;
	if (type != APP_TYPE || n < sizeof(seq)) {
		mixed_bad = 1;
		return;
	}
	memcpy(&seq, p, sizeof(seq));
	want = mixed_sizes[seq % FL_ARRAY_LEN(mixed_sizes)];
	if (seq != mixed_seen || n != want || (n > 4 && p[n - 1] != (uint8_t)(seq * 7)))
		mixed_bad = 1;
	mixed_seen++;
}

static void record_mixed(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 1)
		cfg->on_message = mixed_on_message;
}

static int mixed_in(ph_net *net, void *arg)
{
	(void)arg;
	return net->hosts[1].messages >= MIXED;
}

Test(batch, mixed_sizes_arrive_in_order, .timeout = 30)
{
	static uint8_t msg[70000];
	ph_net net;
	p2p_peer *to1;

	cr_assert_eq(ph_net_init(&net, 2, record_mixed, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[0].host, net.hosts[1].addr), FL_OK);
	cr_assert(ph_run_until(&net, meshed, NULL, 5000));
	to1 = ph_peer_to(&net, 0, 1);
	cr_assert_not_null(to1);
	for (uint32_t i = 0; i < MIXED; i++) {
		size_t n = mixed_sizes[i % FL_ARRAY_LEN(mixed_sizes)];
		uint8_t chunk[P2P_QUEUE_HEAD_MAX] = {0};

		memset(msg, 0x21, n);
		if (n > 4)
			msg[n - 1] = (uint8_t)(i * 7);
		memcpy(msg, &i, sizeof(i) < n ? sizeof(i) : n);
		cr_assert_eq(p2p_send(to1, APP_TYPE, msg, n), FL_OK);
		/* Low-priority traffic between them: an unknown app type on the
		 * low queue would be delivered too, so use a p2p PING's slot
		 * instead: every 50th message a large low message the receiver
		 * ignores (a BLOB_NONE for a hash it never asked for). */
		if (i % 50 == 0)
			cr_assert_eq(p2p_peer_queue_head(to1, P2P_PRIO_LOW, P2P_TYPE_BLOB_NONE,
							 chunk, FL_HASH_LEN, NULL, 0),
				     FL_OK);
	}
	cr_assert(ph_run_until(&net, mixed_in, NULL, 20000));
	ph_run_for(&net, 50);
	cr_assert_eq(net.hosts[1].messages, MIXED);
	cr_assert_eq(mixed_seen, MIXED);
	cr_assert_not(mixed_bad, "a message arrived out of order or changed");
	cr_assert_eq(p2p_book_score(net.hosts[1].host, &net.hosts[0].pk), 0);
	ph_net_free(&net);
}

/* ------------------------------------------------- a hostile member's batch */

/* A raw member sends body as a BATCH: the host must close the session,
 * score it as malformed, and deliver none of the batch's messages. */
static void hostile_batch(const uint8_t *body, size_t n)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	cr_assert_eq(ph_raw_send(&net, &raw, P2P_TYPE_BATCH, body, n), FL_OK);
	cr_assert(ph_raw_wait_closed(&net, &raw, 3000), "the host kept the session");
	cr_assert_eq(net.hosts[0].messages, 0, "part of a bad batch was delivered");
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), P2P_PENALTY_MALFORMED);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

Test(batch, member_bad_inner_length_closed_scored_nothing_delivered, .timeout = 20)
{
	uint8_t body[256];
	size_t n = make_batch(body, 3, 8, 0x11);

	/* Two good messages, then one whose length runs past the frame. */
	body[P2P_BATCH_HEAD + 2 * (P2P_BATCH_ITEM_HEAD + 11)] = 12;
	hostile_batch(body, n);
}

Test(batch, member_too_many_messages_closed_scored, .timeout = 20)
{
	static uint8_t body[P2P_BATCH_HEAD + (P2P_BATCH_MAX + 1) * (P2P_BATCH_ITEM_HEAD + 3)];
	size_t n = make_batch(body, P2P_BATCH_MAX + 1, 0, 0);

	hostile_batch(body, n);
}

Test(batch, member_nested_batch_closed_scored, .timeout = 20)
{
	uint8_t body[256];
	size_t n = make_batch(body, 2, 8, 0x22);

	body[P2P_BATCH_HEAD + P2P_BATCH_ITEM_HEAD + 1] = P2P_TYPE_BATCH;
	body[P2P_BATCH_HEAD + P2P_BATCH_ITEM_HEAD + 2] = 0;
	hostile_batch(body, n);
}

Test(batch, member_unknown_inner_type_stops_the_rest, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	uint8_t body[256];
	size_t n = make_batch(body, 3, 8, 0x44);

	/* The second item is a p2p type nobody knows: scored as a malformed
	 * message, as a frame of its own would be; the third never runs. */
	body[P2P_BATCH_HEAD + P2P_BATCH_ITEM_HEAD + 11 + P2P_BATCH_ITEM_HEAD + 1] = 0x7f;
	body[P2P_BATCH_HEAD + P2P_BATCH_ITEM_HEAD + 11 + P2P_BATCH_ITEM_HEAD + 2] = 0;
	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	cr_assert_eq(ph_raw_send(&net, &raw, P2P_TYPE_BATCH, body, n), FL_OK);
	cr_assert(ph_raw_wait_closed(&net, &raw, 3000));
	cr_assert_eq(net.hosts[0].messages, 1);
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), P2P_PENALTY_MALFORMED);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

Test(batch, member_good_batch_delivered, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	uint8_t body[256];
	size_t n = make_batch(body, 3, 8, 0x55);

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	cr_assert_eq(ph_raw_send(&net, &raw, P2P_TYPE_BATCH, body, n), FL_OK);
	ph_run_for(&net, 200);
	cr_assert_eq(net.hosts[0].messages, 3);
	cr_assert_eq(net.hosts[0].message_bytes, 3 * 8);
	cr_assert_eq(p2p_book_score(net.hosts[0].host, &pk), 0);
	cr_assert_not(ph_raw_closed(&raw));
	ph_raw_close(&raw);
	ph_net_free(&net);
}
