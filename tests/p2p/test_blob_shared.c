/*
 * tests/p2p/test_blob_shared.c — blob fetches over several peers, between
 * real hosts on 127.0.0.1: a silent member cannot stall a fetch and the
 * only peer stalling ends it early, a peer leaving mid-transfer is
 * replaced, three peers share a large blob, a liar in a shared fetch is
 * found, and a stalled or departed peer's range goes to the others. The
 * helpers are in blob_helpers.{c,h}. Every wait is bounded by a deadline;
 * nothing here measures time.
 */
#include "tests/p2p/blob_helpers.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

/* A member that keeps its session but never answers a WANT (its host runs
 * on a loop nobody runs, so its socket stays open and it never reads) is
 * asked first. Without a progress deadline the fetch waited its whole
 * 15 s timeout; now the honest peer serves it within a few deadlines
 * (2 s by default), and the silent one is scored. */
Test(blob, silent_member_cannot_stall_a_fetch, .timeout = 20)
{
	const uint64_t size = 300000;
	uint8_t *data = make_bytes(size, 31);
	fetch_result r = {0};
	size_t silent;
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, size);
	net_keys(&nt, 3);
	silent = nearer_server(&nt, &hash);
	add_blob(&nt.nodes[1], data, size, &hash);
	add_blob(&nt.nodes[2], data, size, &hash);
	net_start(&nt, (int)silent);
	nt.pump_side = 0;

	r.expect = data;
	r.expect_n = size;
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, MiB, 15000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 3 * 2000), "the silent peer held the fetch");
	cr_assert_eq(r.status, FL_OK, "%s", fl_strerror(r.status));
	cr_assert(r.match);
	cr_assert_eq(nt.nodes[silent].read_calls, 0, "the silent peer was asked and never ran");
	cr_assert_eq(nt.nodes[3 - silent].read_bytes, size);
	cr_assert_eq(p2p_book_score(nt.nodes[0].h, &nt.nodes[silent].pk),
		     5 /* BLOB_PENALTY_STALL */);
	cr_assert_eq(p2p_book_score(nt.nodes[0].h, &nt.nodes[3 - silent].pk), 0);
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(data);
}

/* The only peer stalls: the fetch ends with FL_ETIMEOUT after the progress
 * deadline, long before its own timeout. */
Test(blob, only_peer_stalls_ends_in_timeout, .timeout = 20)
{
	uint8_t *data = make_bytes(100000, 32);
	fetch_result r = {0};
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, 100000);
	net_keys(&nt, 2);
	add_blob(&nt.nodes[1], data, 100000, &hash);
	net_start(&nt, 1);
	nt.pump_side = 0;
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, MiB, 15000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 3 * 2000), "the silent peer held the fetch");
	cr_assert_eq(r.status, FL_ETIMEOUT, "%s", fl_strerror(r.status));
	cr_assert_gt(p2p_book_score(nt.nodes[0].h, &nt.nodes[1].pk), 0);
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(data);
}

/* The first server leaves once it has read past 8 MiB; by then the fetcher
 * holds at least 4 MiB (it grants at most one 4 MiB window beyond what it
 * has), and the second server resumes there instead of starting over.
 * (With one peer per fetch; shared fetches are tested below.) */
static void leave_at_8mib(node *me, uint64_t off, size_t len)
{
	(void)len;
	if (off >= 8 * MiB && !me->closed && me->net->close_soon == NULL)
		me->net->close_soon = me;
}

Test(blob, peer_leaving_mid_transfer_is_replaced, .timeout = 20)
{
	const uint64_t size = 16 * MiB + 5;
	uint8_t *data = make_bytes(size, 16);
	fetch_result r = {0};
	size_t first;
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, size);
	net_keys(&nt, 3);
	first = nearer_server(&nt, &hash);
	add_blob(&nt.nodes[1], data, size, &hash);
	add_blob(&nt.nodes[2], data, size, &hash);
	nt.nodes[first].on_read = leave_at_8mib;
	nt.fetch_peers = 1; /* one peer at a time: the second resumes the first */
	net_start(&nt, -1);

	r.expect = data;
	r.expect_n = size;
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, size, 15000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 15000));
	cr_assert_eq(r.status, FL_OK, "%s", fl_strerror(r.status));
	cr_assert(r.match);
	cr_assert(nt.nodes[first].closed);
	cr_assert_geq(nt.nodes[first].read_bytes, 8 * MiB);
	cr_assert(nt.nodes[3 - first].read_any);
	cr_assert_geq(nt.nodes[3 - first].first_read_off, 4 * MiB);
	cr_assert_lt(nt.nodes[3 - first].read_bytes, size);
	net_stop(&nt);
	free(data);
}

/* A 24 MiB blob that three servers have: the fetcher splits it into
 * ranges, one per server, each with its own window; every chunk is read
 * from exactly one server and the bytes are right. */
Test(blob, three_peers_share_a_large_blob, .timeout = 20)
{
	const uint64_t size = 24 * MiB + 77;
	uint8_t *data = make_bytes(size, 24);
	fetch_result r = {0};
	uint64_t sum = 0, chunks = 0;
	unsigned serving = 0;
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, size);
	net_keys(&nt, 4);
	for (size_t i = 1; i < 4; i++)
		add_blob(&nt.nodes[i], data, size, &hash);
	net_start(&nt, -1);

	r.expect = data;
	r.expect_n = size;
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, size, 15000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 15000), "fetch did not finish");
	cr_assert_eq(r.status, FL_OK, "%s", fl_strerror(r.status));
	cr_assert(r.match);
	/* The fetcher's own count, per session: chunks from every server. */
	cr_assert_eq(nt.nodes[0].n_peers, 3);
	for (size_t i = 0; i < 3; i++) {
		p2p_peer_info info;

		p2p_peer_get_info(nt.nodes[0].peers[i], &info);
		cr_log_info("chunks from peer %zu: %" PRIu64, i, info.blob_chunks_in);
		cr_assert_gt(info.blob_chunks_in, 0);
		chunks += info.blob_chunks_in;
	}
	cr_assert_eq(chunks, (size + P2P_BLOB_CHUNK - 1) / P2P_BLOB_CHUNK, "each chunk once");
	for (size_t i = 1; i < 4; i++) {
		cr_log_info("server %zu: %u chunks", i, nt.nodes[i].read_calls);
		serving += nt.nodes[i].read_calls > 0;
		sum += nt.nodes[i].read_bytes;
		/* Each server read one range, in order (a second range, taken
		 * over from another, is one more gap at most). */
		cr_assert_leq(nt.nodes[i].read_gaps, 2);
	}
	cr_assert_eq(serving, 3, "every server served a range");
	cr_assert_eq(sum, size, "each chunk read once");
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(data);
}

/* One of three servers flips a bit in every chunk it serves. Its range
 * makes the pieced-together blob miss the hash, without telling whose
 * bytes were wrong; the fetcher keeps them aside, fetches from one peer at
 * a time, and once a copy verifies, blames the peer whose kept chunks
 * differ from it: the liar, and only the liar. */
Test(blob, liar_in_a_shared_fetch_is_found, .timeout = 20)
{
	const uint64_t size = 6 * MiB + 3;
	uint8_t *good = make_bytes(size, 6), *bad = make_bytes(size, 6);
	fetch_result r = {0};
	fl_hash hash;
	net nt;

	for (uint64_t off = 100; off < size; off += P2P_BLOB_CHUNK)
		bad[off] ^= 0x40;
	fl_sha256(&hash, good, size);
	net_keys(&nt, 4);
	/* The liar is the one nearest the hash: it is asked first, and again
	 * first in the one-at-a-time retry. */
	{
		size_t liar = 1;

		for (size_t i = 2; i < 4; i++)
			for (size_t k = 0; k < FL_HASH_LEN; k++) {
				uint8_t di = nt.nodes[i].pk.b[k] ^ hash.b[k];
				uint8_t dl = nt.nodes[liar].pk.b[k] ^ hash.b[k];

				if (di != dl) {
					if (di < dl)
						liar = i;
					break;
				}
			}
		for (size_t i = 1; i < 4; i++)
			add_blob(&nt.nodes[i], i == liar ? bad : good, size, &hash);
		net_start(&nt, -1);

		r.expect = good;
		r.expect_n = size;
		cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, size, 15000, fetched, &r), FL_OK);
		cr_assert(run_until(&nt, fetch_done, &r, 15000), "fetch did not finish");
		cr_assert_eq(r.status, FL_OK, "%s", fl_strerror(r.status));
		cr_assert(r.match);
		for (size_t i = 1; i < 4; i++) {
			int32_t score = p2p_book_score(nt.nodes[0].h, &nt.nodes[i].pk);

			cr_log_info("server %zu%s: %u chunks, score %d", i,
				    i == liar ? " (liar)" : "", nt.nodes[i].read_calls, score);
			cr_assert(nt.nodes[i].read_calls > 0);
			if (i == liar)
				cr_assert_gt(score, 0, "the liar was not scored");
			else
				cr_assert_eq(score, 0, "an honest server was scored");
		}
	}
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(good);
	free(bad);
}

/* In a shared fetch, one server goes silent after 8 chunks (its loop stops
 * running: the session stays, nothing more is sent). The rest of its range
 * goes to the other two after the progress deadline, the blob arrives
 * whole, and only the silent one is scored. */
static void stall_after_8(node *me, uint64_t off, size_t len)
{
	(void)off;
	(void)len;
	if (me->read_calls == 8)
		me->net->pump_side = 0;
}

Test(blob, stalled_range_goes_to_the_others, .timeout = 20)
{
	const uint64_t size = 12 * MiB + 9;
	uint8_t *data = make_bytes(size, 12);
	fetch_result r = {0};
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, size);
	net_keys(&nt, 4);
	for (size_t i = 1; i < 4; i++)
		add_blob(&nt.nodes[i], data, size, &hash);
	nt.nodes[3].on_read = stall_after_8;
	net_start(&nt, 3);

	r.expect = data;
	r.expect_n = size;
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, size, 15000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 15000), "fetch did not finish");
	cr_assert_eq(r.status, FL_OK, "%s", fl_strerror(r.status));
	cr_assert(r.match);
	/* It stops at the end of that loop pass, having filled its send
	 * queue's room (2 MiB, 32 chunks) at most: far from all it was asked. */
	cr_log_info("silent server read %u chunks", nt.nodes[3].read_calls);
	cr_assert_geq(nt.nodes[3].read_calls, 8);
	cr_assert_lt(nt.nodes[3].read_bytes, size / 2);
	cr_assert(nt.nodes[1].read_calls > 0 && nt.nodes[2].read_calls > 0);
	cr_assert_eq(p2p_book_score(nt.nodes[0].h, &nt.nodes[3].pk), 5 /* BLOB_PENALTY_STALL */);
	cr_assert_eq(p2p_book_score(nt.nodes[0].h, &nt.nodes[1].pk), 0);
	cr_assert_eq(p2p_book_score(nt.nodes[0].h, &nt.nodes[2].pk), 0);
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(data);
}

/* In a shared fetch, one server's host closes after it has read 8 chunks:
 * the rest of its range goes to the other two and nobody is scored. */
static void leave_after_8(node *me, uint64_t off, size_t len)
{
	(void)off;
	(void)len;
	if (me->read_calls == 8 && !me->closed && me->net->close_soon == NULL)
		me->net->close_soon = me;
}

Test(blob, departed_peers_range_goes_to_the_others, .timeout = 20)
{
	const uint64_t size = 12 * MiB + 9;
	uint8_t *data = make_bytes(size, 13);
	fetch_result r = {0};
	fl_hash hash;
	net nt;

	fl_sha256(&hash, data, size);
	net_keys(&nt, 4);
	for (size_t i = 1; i < 4; i++)
		add_blob(&nt.nodes[i], data, size, &hash);
	nt.nodes[2].on_read = leave_after_8;
	net_start(&nt, -1);

	r.expect = data;
	r.expect_n = size;
	cr_assert_eq(p2p_blob_fetch(nt.nodes[0].h, &hash, size, 15000, fetched, &r), FL_OK);
	cr_assert(run_until(&nt, fetch_done, &r, 15000), "fetch did not finish");
	cr_assert_eq(r.status, FL_OK, "%s", fl_strerror(r.status));
	cr_assert(r.match);
	cr_assert(nt.nodes[2].closed);
	cr_assert_lt(nt.nodes[2].read_bytes, size / 2);
	cr_assert(nt.nodes[1].read_calls > 0 && nt.nodes[3].read_calls > 0);
	for (size_t i = 1; i < 4; i++)
		cr_assert_eq(p2p_book_score(nt.nodes[0].h, &nt.nodes[i].pk), 0);
	cr_assert_eq(r.calls, 1);
	net_stop(&nt);
	free(data);
}
