/*
 * tests/p2p/test_blob.c — blob transfer between real hosts on 127.0.0.1:
 * a 50 MB blob while small messages keep flowing, bytes that miss their
 * hash, nobody has it, an oversized announcement, a silent peer timing a
 * fetch out, many fetches at once, the server's pacing of its grants, and
 * a host closed while a fetch is pending. Fetches spread over several
 * peers, and peers that stall or leave, are in test_blob_shared.c; the
 * helpers both use are in blob_helpers.{c,h}. Every wait is bounded by a
 * deadline; nothing here measures time.
 */
#include "tests/p2p/blob_helpers.h"

#include <criterion/criterion.h>
#include <string.h>

/* -------------------------------------------------------------- tests */

/* Small messages queued by the server while it still had chunks to send
 * must reach the fetcher before the last chunk does: they are high
 * priority and chunks are paced, so they never wait behind the blob. */
static void send_small(node *me, uint64_t off, size_t len)
{
	uint8_t msg[100];

	if (off + len >= me->sizes[0] || me->read_calls % 16 != 0)
		return;
	cr_assert_eq(me->n_peers, 1);
	memset(msg, (int)me->msgs_sent, sizeof(msg));
	cr_assert_eq(p2p_send(me->peers[0], MSG_TYPE, msg, sizeof(msg)), FL_OK);
	me->msgs_sent++;
}

static int msgs_all_in(net *nt, void *arg)
{
	(void)arg;
	return nt->nodes[0].msgs_in == nt->nodes[1].msgs_sent;
}

Test(blob, fifty_mb_while_small_messages_flow, .timeout = 20)
{
	const uint64_t size = 50 * 1000 * 1000;
	uint8_t *data = make_bytes(size, 50);
	fetch_result r = {0};
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, size);
	net_keys(&nt, 2);
	add_blob(&nt.nodes[1], data, size, &hash);
	nt.nodes[1].on_read = send_small;
	net_start(&nt, -1);

	r.expect = data;
	r.expect_n = size;
	r.owner = &nt.nodes[0];
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, 64 * MiB, 15000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 15000), "fetch did not finish");
	cr_assert_eq(r.status, FL_OK, "%s", fl_strerror(r.status));
	cr_assert(r.match);
	/* 763 chunks: a message every 16th read. */
	cr_assert_geq(nt.nodes[1].msgs_sent, 40);
	cr_assert(run_until(&nt, msgs_all_in, NULL, 10000));
	cr_assert_eq(nt.nodes[0].msgs_in_before_done, nt.nodes[1].msgs_sent);
	cr_assert_eq(nt.nodes[1].read_bytes, size, "each byte read once");
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(data);
}

Test(blob, wrong_bytes_are_rejected_and_fetched_elsewhere, .timeout = 20)
{
	const uint64_t size = 1000 * 1000 + 123;
	uint8_t *good = make_bytes(size, 7), *bad = make_bytes(size, 7);
	fetch_result r = {0};
	size_t liar;
	fl_hash hash;
	net nt;

	bad[size / 2] ^= 1;
	fl_sha256(&hash, good, size);
	net_keys(&nt, 3);
	liar = nearer_server(&nt, &hash);
	add_blob(&nt.nodes[liar], bad, size, &hash);
	add_blob(&nt.nodes[3 - liar], good, size, &hash);
	net_start(&nt, -1);

	r.expect = good;
	r.expect_n = size;
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, size, 10000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 10000));
	cr_assert_eq(r.status, FL_OK, "%s", fl_strerror(r.status));
	cr_assert(r.match);
	/* The liar was asked first and sent all of it... */
	cr_assert_eq(nt.nodes[liar].read_bytes, size);
	cr_assert_eq(nt.nodes[3 - liar].read_bytes, size);
	/* ...and it counts against it. */
	cr_assert_gt(p2p_book_score(nt.nodes[0].h, &nt.nodes[liar].pk), 0);
	cr_assert_eq(p2p_book_score(nt.nodes[0].h, &nt.nodes[3 - liar].pk), 0);
	net_stop(&nt);
	free(good);
	free(bad);
}

Test(blob, nobody_has_it, .timeout = 20)
{
	fetch_result r = {0};
	fl_hash hash;
	net nt;

	fl_sha256(&hash, "nobody", 6);
	net_keys(&nt, 3);
	net_start(&nt, -1);
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, MiB, 10000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 10000));
	cr_assert_eq(r.status, FL_ENOTFOUND, "%s", fl_strerror(r.status));
	cr_assert_eq(nt.nodes[1].size_calls, 1);
	cr_assert_eq(nt.nodes[2].size_calls, 1);
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
}

/* A peer announcing 1 PiB for a 1 MiB limit: a fetcher that allocated what
 * it was told before checking would end in FL_ENOMEM, not FL_ETOOBIG; and
 * the window never opened: one chunk is all the server read. */
Test(blob, announced_total_over_max_size, .timeout = 20)
{
	uint8_t *data = make_bytes(1000, 1);
	fetch_result r = {0};
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, 1000);
	net_keys(&nt, 2);
	add_blob(&nt.nodes[1], data, 1000, &hash);
	nt.nodes[1].announce = (uint64_t)1 << 50;
	net_start(&nt, -1);
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, MiB, 10000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 10000));
	cr_assert_eq(r.status, FL_ETOOBIG, "%s", fl_strerror(r.status));
	cr_assert_eq(nt.nodes[1].read_calls, 1);
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(data);
}

/* The server runs on a loop nobody runs once connected: it never answers. */
Test(blob, silent_peer_times_out, .timeout = 20)
{
	uint8_t *data = make_bytes(100000, 3);
	fetch_result r = {0};
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, 100000);
	net_keys(&nt, 2);
	add_blob(&nt.nodes[1], data, 100000, &hash);
	net_start(&nt, 1);
	nt.pump_side = 0;
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, MiB, 200, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 10000));
	cr_assert_eq(r.status, FL_ETIMEOUT, "%s", fl_strerror(r.status));
	cr_assert_eq(nt.nodes[1].read_calls, 0);
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(data);
}

/* More fetches than the per-peer transfer slots, one of them twice, and
 * the empty blob: every callback once, every blob whole. */
static int all_done(net *nt, void *arg)
{
	fetch_result *r = arg;

	(void)nt;
	for (size_t i = 0; i < 8; i++)
		if (!r[i].done)
			return 0;
	return 1;
}

Test(blob, many_fetches_at_once, .timeout = 20)
{
	fetch_result r[8];
	uint8_t *data[6];
	fl_hash hashes[6], empty;
	net nt;

	memset(r, 0, sizeof(r));
	net_keys(&nt, 2);
	for (size_t i = 0; i < 6; i++) {
		uint64_t n = 300000 + 1000 * i;

		data[i] = make_bytes(n, 100 + i);
		fl_sha256(&hashes[i], data[i], n);
		add_blob(&nt.nodes[1], data[i], n, &hashes[i]);
		r[i].expect = data[i];
		r[i].expect_n = n;
	}
	r[6] = r[2];
	fl_sha256(&empty, "", 0);
	net_start(&nt, -1);
	for (size_t i = 0; i < 7; i++)
		cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hashes[i == 6 ? 2 : i], MiB, 10000,
					    fetched, &r[i]),
			     FL_OK);
	/* Needs no peer; still called back later, never from inside the call. */
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &empty, 0, 10000, fetched, &r[7]), FL_OK);
	cr_assert_eq(r[7].calls, 0);
	cr_assert(run_until(&nt, all_done, r, 10000));
	for (size_t i = 0; i < 8; i++) {
		cr_assert_eq(r[i].status, FL_OK, "fetch %zu: %s", i, fl_strerror(r[i].status));
		cr_assert(r[i].match, "fetch %zu", i);
		cr_assert_eq(r[i].calls, 1);
	}
	net_stop(&nt);
	for (size_t i = 0; i < 6; i++)
		free(data[i]);
}

/* The server's side alone: WANTs fed straight to its blob hook. The first
 * grant (64 chunks) is more than the 2 MiB of queue room, so part of it
 * waits; a top-up at the end of that grant must extend it, never restart
 * the serve there and skip the chunks still waiting. */
static int read_96_chunks(net *nt, void *arg)
{
	(void)arg;
	return nt->nodes[1].read_bytes >= 96 * (uint64_t)P2P_BLOB_CHUNK;
}

static int want(p2p_blobs *b, p2p_peer *p, const fl_hash *hash, uint64_t off, uint32_t credit)
{
	p2p_blob_want_msg m = {*hash, off, credit};
	fl_writer w;
	int rc;

	fl_writer_init(&w, 256);
	cr_assert_eq(p2p_blob_want_encode(&w, &m), FL_OK);
	rc = p2p_blobs_on_message(b, p, P2P_TYPE_BLOB_WANT, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

Test(blob, top_up_while_chunks_wait_for_room, .timeout = 20)
{
	const uint64_t size = 8 * MiB;
	uint8_t *data = make_bytes(size, 9);
	p2p_blobs *b;
	p2p_peer *p;
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, size);
	net_keys(&nt, 2);
	add_blob(&nt.nodes[1], data, size, &hash);
	net_start(&nt, -1);
	b = p2p_host_blobs(nt.nodes[1].h);
	cr_assert_eq(nt.nodes[1].n_peers, 1);
	p = nt.nodes[1].peers[0];

	cr_assert_eq(want(b, p, &hash, 0, 64), FL_OK);
	cr_assert_gt(nt.nodes[1].read_bytes, 0);
	cr_assert_lt(nt.nodes[1].read_bytes, 64 * (uint64_t)P2P_BLOB_CHUNK, "paced by queue room");
	cr_assert_eq(want(b, p, &hash, 64 * (uint64_t)P2P_BLOB_CHUNK, 32), FL_OK);
	/* A grant past one window in flight is a violation. */
	cr_assert_eq(want(b, p, &hash, 96 * (uint64_t)P2P_BLOB_CHUNK, 64), FL_EPROTO);
	cr_assert(run_until(&nt, read_96_chunks, NULL, 10000));
	cr_assert_eq(nt.nodes[1].read_bytes, 96 * (uint64_t)P2P_BLOB_CHUNK);
	cr_assert_eq(nt.nodes[1].read_gaps, 0);
	net_stop(&nt);
	free(data);
}

/* p2p_host_close promises that its callback runs once every handle is
 * closed, after which the host is gone: a fetch still pending must have
 * had its FL_EIO callback by then (a caller frees the fetch's context in
 * the close callback), and no handle of the host may be left on the loop. */
typedef struct {
	fetch_result *r;
	int fetch_done_at_close;
	int closed;
} close_order;

static void close_order_cb(void *arg)
{
	close_order *c = arg;

	c->fetch_done_at_close = c->r->done;
	c->closed = 1;
}

static int close_order_done(net *nt, void *arg)
{
	(void)nt;
	return ((close_order *)arg)->closed;
}

/* Closed from inside a host callback (the poll phase): the peers' close
 * callbacks then run in this same loop iteration. */
static void close_from_message(node *me)
{
	p2p_host_close(me->h, close_order_cb, me->msg_arg);
	me->h = NULL;
	me->closed = 1;
}

Test(blob, host_close_calls_pending_fetches_back_first, .timeout = 20)
{
	const uint64_t size = 4 * MiB;
	uint8_t *data = make_bytes(size, 11);
	uint8_t msg[100] = {0};
	fetch_result r = {0};
	close_order c = {.r = &r};
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, size);
	net_keys(&nt, 2);
	add_blob(&nt.nodes[1], data, size, &hash);
	net_start(&nt, -1);
	nt.nodes[0].on_msg = close_from_message;
	nt.nodes[0].msg_arg = &c;
	cr_assert_eq(nt.nodes[1].n_peers, 1);
	/* The message goes out with the first chunk: it arrives while the
	 * fetch is still pending. */
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, 64 * MiB, 10000, fetched, &r), FL_OK);
	cr_assert_eq(p2p_send(nt.nodes[1].peers[0], MSG_TYPE, msg, sizeof(msg)), FL_OK);
	cr_assert(run_until(&nt, close_order_done, &c, 10000), "host did not close");
	cr_assert(c.fetch_done_at_close, "fetch called back after the host's close callback");
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.status, FL_EIO, "%s", fl_strerror(r.status));
	net_stop(&nt);
	free(data);
}
