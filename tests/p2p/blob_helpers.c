/*
 * tests/p2p/blob_helpers.c — what the blob tests share (test_blob.c,
 * test_blob_shared.c): a small net of real hosts on 127.0.0.1, each with a
 * table of blobs it serves and counters of what it read and received; a
 * loop run bounded by a deadline; the fetch callback. No tests here.
 */
#include "tests/p2p/blob_helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

/* Deterministic bytes from a seed (xorshift64*). */
uint8_t *make_bytes(uint64_t n, uint64_t seed)
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

void add_blob(node *me, const uint8_t *p, uint64_t n, const fl_hash *hash)
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
void net_keys(net *nt, size_t n)
{
	memset(nt, 0, sizeof(*nt));
	cr_assert_leq(n, MAX_NODES);
	nt->n = n;
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(fl_key_generate(&nt->nodes[i].sk, &nt->nodes[i].pk), FL_OK);
		nt->nodes[i].net = nt;
	}
}

/* Runs the loop until cond holds or ms have passed; returns cond. */
int run_until(net *nt, cond_fn cond, void *arg, uint64_t ms)
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
void net_start(net *nt, int side)
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
void net_stop(net *nt)
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

void fetched(void *arg, int status, const fl_hash *hash, const uint8_t *data, size_t n)
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

int fetch_done(net *nt, void *arg)
{
	(void)nt;
	return ((fetch_result *)arg)->done;
}

/* Index (1 or 2) of the server nearer the hash: the one asked first. */
size_t nearer_server(const net *nt, const fl_hash *hash)
{
	for (size_t i = 0; i < FL_HASH_LEN; i++) {
		uint8_t d1 = nt->nodes[1].pk.b[i] ^ hash->b[i];
		uint8_t d2 = nt->nodes[2].pk.b[i] ^ hash->b[i];

		if (d1 != d2)
			return d1 < d2 ? 1 : 2;
	}
	return 1;
}
