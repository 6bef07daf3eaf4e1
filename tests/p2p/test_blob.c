/*
 * tests/p2p/test_blob.c — blob transfer between real hosts on 127.0.0.1:
 * a 50 MB blob while small messages keep flowing, bytes that miss their
 * hash, nobody has it, an oversized announcement, a silent peer, a peer
 * leaving mid-transfer, many fetches at once. Every wait is bounded by a
 * deadline; nothing here measures time.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "p2p/host_internal.h"
#include "p2p/p2p.h"

#define MAX_NODES 4
#define MSG_TYPE  (P2P_TYPE_APP + 7)
#define MiB       ((uint64_t)1 << 20)

typedef struct net net;
typedef struct node node;

/* One host with a one-blob store (or a small table of blobs). */
struct node {
	net *net;
	uv_loop_t *loop;
	p2p_host *h;
	fl_seckey sk;
	fl_pubkey pk;
	int closed;

	/* The store: blobs[i] under hashes[i]; announce overrides the size. */
	size_t n_blobs;
	fl_hash hashes[8];
	const uint8_t *blobs[8];
	uint64_t sizes[8];
	uint64_t announce; /* nonzero: blob_size says this, reads give zeros */

	unsigned size_calls, read_calls;
	uint64_t first_read_off, read_bytes, read_end;
	int read_any;
	unsigned read_gaps; /* reads that did not start where the last one ended */
	void (*on_read)(node *n, uint64_t off, size_t len);

	p2p_peer *peers[8]; /* servers also meet each other through ADDRS */
	size_t n_peers;

	/* Application messages: how many arrived, and how many of those came
	 * while this node's fetch had not yet finished. */
	unsigned msgs_sent, msgs_in, msgs_in_before_done;
	int fetch_done;
	void (*on_msg)(node *n); /* called after counting an application message */
	void *msg_arg;
};

struct net {
	uv_loop_t loop;
	uv_loop_t side; /* a second loop, run only when asked (the silent peer) */
	int side_used, pump_side;
	uv_timer_t tick;
	node nodes[MAX_NODES];
	size_t n;
	node *close_soon;     /* closed from the tick, outside host callbacks */
	uint32_t fetch_peers; /* config.blob_fetch_peers; 0 = the default */
};

typedef struct {
	int done, calls, status;
	size_t n;
	int match;
	const uint8_t *expect;
	uint64_t expect_n;
	node *owner;
} fetch_result;

/* ------------------------------------------------------------ helpers */

/* Deterministic bytes from a seed (xorshift64*). */
static uint8_t *make_bytes(uint64_t n, uint64_t seed)
{
	uint8_t *p = malloc(n);
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	cr_assert_not_null(p);
	for (uint64_t i = 0; i < n; i += 8) {
		uint64_t v;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		v = x * 0x2545f4914f6cdd1dull;
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
	return p;
}

static int is_member(void *ctx, const fl_pubkey *id)
{
	node *me = ctx;

	for (size_t i = 0; i < me->net->n; i++)
		if (fl_pubkey_cmp(&me->net->nodes[i].pk, id) == 0)
			return 1;
	return 0;
}

static void on_peer(void *ctx, p2p_peer *peer, int connected)
{
	node *me = ctx;

	if (connected) {
		cr_assert_lt(me->n_peers, FL_ARRAY_LEN(me->peers));
		me->peers[me->n_peers++] = peer;
		return;
	}
	for (size_t i = 0; i < me->n_peers; i++) {
		if (me->peers[i] == peer) {
			me->peers[i] = me->peers[--me->n_peers];
			return;
		}
	}
}

static void on_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n)
{
	node *me = ctx;

	(void)peer;
	(void)p;
	cr_assert_eq(type, MSG_TYPE);
	cr_assert_eq(n, 100);
	me->msgs_in++;
	if (!me->fetch_done)
		me->msgs_in_before_done++;
	if (me->on_msg != NULL)
		me->on_msg(me);
}

static int find_blob(const node *me, const fl_hash *hash)
{
	for (size_t i = 0; i < me->n_blobs; i++)
		if (fl_hash_cmp(&me->hashes[i], hash) == 0)
			return (int)i;
	return -1;
}

static int blob_size(void *ctx, const fl_hash *hash, uint64_t *size)
{
	node *me = ctx;
	int i = find_blob(me, hash);

	me->size_calls++;
	if (i < 0)
		return FL_ENOTFOUND;
	*size = me->announce ? me->announce : me->sizes[i];
	return FL_OK;
}

static int blob_read(void *ctx, const fl_hash *hash, uint64_t off, uint8_t *out, size_t n)
{
	node *me = ctx;
	int i = find_blob(me, hash);

	cr_assert_geq(i, 0, "read of a blob the store does not have");
	if (!me->read_any)
		me->first_read_off = off;
	else if (off != me->read_end)
		me->read_gaps++;
	me->read_end = off + n;
	me->read_any = 1;
	me->read_calls++;
	me->read_bytes += n;
	if (me->announce)
		memset(out, 0, n);
	else
		memcpy(out, me->blobs[i] + off, n);
	if (me->on_read != NULL)
		me->on_read(me, off, n);
	return FL_OK;
}

static void add_blob(node *me, const uint8_t *p, uint64_t n, const fl_hash *hash)
{
	cr_assert_lt(me->n_blobs, 8);
	me->blobs[me->n_blobs] = p;
	me->sizes[me->n_blobs] = n;
	me->hashes[me->n_blobs] = *hash;
	me->n_blobs++;
}

static void tick_cb(uv_timer_t *t)
{
	net *nt = t->data;

	if (nt->side_used && nt->pump_side)
		uv_run(&nt->side, UV_RUN_NOWAIT);
	if (nt->close_soon != NULL) {
		node *me = nt->close_soon;

		nt->close_soon = NULL;
		p2p_host_close(me->h, NULL, NULL);
		me->h = NULL;
		me->closed = 1;
	}
}

/* Keys first, so a test can arrange stores by distance before hosts exist. */
static void net_keys(net *nt, size_t n)
{
	memset(nt, 0, sizeof(*nt));
	cr_assert_leq(n, MAX_NODES);
	nt->n = n;
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(fl_key_generate(&nt->nodes[i].sk, &nt->nodes[i].pk), FL_OK);
		nt->nodes[i].net = nt;
	}
}

typedef int (*cond_fn)(net *nt, void *arg);

/* Runs the loop until cond holds or ms have passed; returns cond. */
static int run_until(net *nt, cond_fn cond, void *arg, uint64_t ms)
{
	uint64_t deadline;

	uv_update_time(&nt->loop);
	deadline = uv_now(&nt->loop) + ms;
	while (!cond(nt, arg) && uv_now(&nt->loop) < deadline)
		uv_run(&nt->loop, UV_RUN_ONCE);
	return cond(nt, arg);
}

static int all_connected(net *nt, void *arg)
{
	(void)arg;
	if (nt->nodes[0].n_peers != nt->n - 1)
		return 0;
	for (size_t i = 1; i < nt->n; i++)
		if (nt->nodes[i].n_peers < 1)
			return 0;
	return 1;
}

/* Starts every host (node `side` on the second loop, -1 for none) and has
 * node 0, the fetcher, dial all the others. */
static void net_start(net *nt, int side)
{
	cr_assert_eq(uv_loop_init(&nt->loop), 0);
	cr_assert_eq(uv_timer_init(&nt->loop, &nt->tick), 0);
	nt->tick.data = nt;
	cr_assert_eq(uv_timer_start(&nt->tick, tick_cb, 1, 1), 0);
	if (side >= 0) {
		cr_assert_eq(uv_loop_init(&nt->side), 0);
		nt->side_used = 1;
		nt->pump_side = 1;
	}
	for (size_t i = 0; i < nt->n; i++) {
		node *me = &nt->nodes[i];
		p2p_config cfg;

		me->loop = (int)i == side ? &nt->side : &nt->loop;
		p2p_config_default(&cfg);
		cfg.identity = me->sk;
		snprintf(cfg.network_id, sizeof(cfg.network_id), "test-blob");
		/* The fetcher does not listen: it advertises no address, so no
		 * server dials it back and its sessions stay the ones it dialled. */
		if (i > 0)
			snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:0");
		cfg.is_member = is_member;
		cfg.on_peer = on_peer;
		cfg.on_message = on_message;
		cfg.blob_size = blob_size;
		cfg.blob_read = blob_read;
		cfg.ctx = me;
		if (nt->fetch_peers != 0)
			cfg.blob_fetch_peers = nt->fetch_peers;
		cr_assert_eq(p2p_host_new(&me->h, me->loop, &cfg), FL_OK);
		cr_assert_eq(p2p_host_start(me->h), FL_OK);
	}
	for (size_t i = 1; i < nt->n; i++) {
		char addr[P2P_ADDR_MAX];

		snprintf(addr, sizeof(addr), "127.0.0.1:%u", p2p_host_listen_port(nt->nodes[i].h));
		/* Persistent: the address is then in the fetcher's book, so the
		 * server's ADDRS does not make it dial a second session. */
		cr_assert_eq(p2p_add_persistent(nt->nodes[0].h, addr, &nt->nodes[i].pk), FL_OK);
	}
	cr_assert(run_until(nt, all_connected, NULL, 10000), "hosts did not connect");
}

static void host_closed(void *arg)
{
	((node *)arg)->closed = 1;
}

static int all_closed(net *nt, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < nt->n; i++)
		if (!nt->nodes[i].closed)
			return 0;
	return 1;
}

/* Closes every host and both loops: uv_loop_close fails if any handle
 * (a fetch's timer, the blob pump) was left open. */
static void net_stop(net *nt)
{
	nt->pump_side = 1;
	for (size_t i = 0; i < nt->n; i++)
		if (nt->nodes[i].h != NULL)
			p2p_host_close(nt->nodes[i].h, host_closed, &nt->nodes[i]);
	cr_assert(run_until(nt, all_closed, NULL, 10000), "hosts did not close");
	uv_close((uv_handle_t *)&nt->tick, NULL);
	cr_assert_eq(uv_run(&nt->loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&nt->loop), 0);
	if (nt->side_used) {
		cr_assert_eq(uv_run(&nt->side, UV_RUN_DEFAULT), 0);
		cr_assert_eq(uv_loop_close(&nt->side), 0);
	}
}

static void fetched(void *arg, int status, const fl_hash *hash, const uint8_t *data, size_t n)
{
	fetch_result *r = arg;

	(void)hash;
	r->calls++;
	r->done = 1;
	r->status = status;
	r->n = n;
	r->match =
	    status == FL_OK && n == r->expect_n && (n == 0 || memcmp(data, r->expect, n) == 0);
	if (r->owner != NULL)
		r->owner->fetch_done = 1;
}

static int fetch_done(net *nt, void *arg)
{
	(void)nt;
	return ((fetch_result *)arg)->done;
}

/* Index (1 or 2) of the server nearer the hash: the one asked first. */
static size_t nearer_server(const net *nt, const fl_hash *hash)
{
	for (size_t i = 0; i < FL_HASH_LEN; i++) {
		uint8_t d1 = nt->nodes[1].pk.b[i] ^ hash->b[i];
		uint8_t d2 = nt->nodes[2].pk.b[i] ^ hash->b[i];

		if (d1 != d2)
			return d1 < d2 ? 1 : 2;
	}
	return 1;
}

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
