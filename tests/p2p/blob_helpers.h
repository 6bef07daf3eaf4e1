/*
 * tests/p2p/blob_helpers.h — what the blob tests share (test_blob.c,
 * test_blob_shared.c): up to MAX_NODES hosts on one loop (one of them
 * optionally on a second loop run only when asked), node 0 the fetcher
 * dialling the others, each a store of blobs it serves. Every wait is
 * bounded by a deadline.
 */
#ifndef FEDLEDGER_TESTS_P2P_BLOB_HELPERS_H
#define FEDLEDGER_TESTS_P2P_BLOB_HELPERS_H

#include "p2p/host_internal.h"
#include "p2p/p2p.h"

#include <stdint.h>

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

/* Deterministic bytes from a seed (xorshift64*); malloc'ed. */
uint8_t *make_bytes(uint64_t n, uint64_t seed);
/* Puts blob p (n bytes) under hash in me's store (8 at most). */
void add_blob(node *me, const uint8_t *p, uint64_t n, const fl_hash *hash);

/* Keys first, so a test can arrange stores by distance before hosts exist. */
void net_keys(net *nt, size_t n);

typedef int (*cond_fn)(net *nt, void *arg);

/* Runs the loop until cond holds or ms have passed; returns cond. */
int run_until(net *nt, cond_fn cond, void *arg, uint64_t ms);

/* Starts every host (node `side` on the second loop, -1 for none) and has
 * node 0, the fetcher, dial all the others. */
void net_start(net *nt, int side);
/* Closes every host and both loops: uv_loop_close fails if any handle
 * (a fetch's timer, the blob pump) was left open. */
void net_stop(net *nt);

/* A p2p_blob_fetch callback; arg is a fetch_result. */
void fetched(void *arg, int status, const fl_hash *hash, const uint8_t *data, size_t n);
/* A cond_fn: the fetch_result arg was called back. */
int fetch_done(net *nt, void *arg);

/* Index (1 or 2) of the server nearer the hash: the one asked first. */
size_t nearer_server(const net *nt, const fl_hash *hash);

#endif
