/*
 * p2p/blob_internal.h — what p2p/blob.c (fetching) and p2p/blob_serve.c
 * (serving) share; nothing else includes it. docs/p2p.md, "Blobs".
 */
#ifndef FEDLEDGER_P2P_BLOB_INTERNAL_H
#define FEDLEDGER_P2P_BLOB_INTERNAL_H

#include "p2p/internal.h"

#define BLOB_WINDOW     P2P_BLOB_MAX_CREDIT
#define BLOB_PEER_SLOTS 4          /* concurrent transfers per peer, each way */
#define BLOB_SEND_ROOM  (2u << 20) /* serve only while the peer's queue is below */
/* Score for letting blob_progress_ms pass without a chunk: light, since a
 * loaded honest host can be late, but a peer that keeps stalling fetches
 * reaches the ban score (100 by default) after 20 of them. */
#define BLOB_PENALTY_STALL 5
/* Score for bytes that missed the hash (as a malformed message costs). */
#define BLOB_PENALTY_CORRUPT 25

typedef struct blob_fetch blob_fetch;
typedef struct blob_serve blob_serve;

struct blob_serve {
	blob_serve *next;
	p2p_peer *peer; /* NULL: dead (done, failed or peer gone), reaped later */
	fl_hash hash;
	uint64_t total;
	uint64_t next_off;
	uint32_t credit; /* chunks the peer will still accept */
};

struct p2p_blobs {
	p2p_host *host;
	blob_fetch *fetches;
	blob_serve *serves;
	p2p_peer *leaving; /* the peer being removed: never picked meanwhile */
	uv_check_t pump;   /* sends granted chunks as send queues drain */
	int pump_ready;
	int pump_on;
	unsigned open_handles;
	int closing;
	fl_writer out; /* reused for every chunk so a transfer does not reallocate */
	uint8_t chunk[P2P_BLOB_CHUNK];
};

/* blob.c: frees b once it is closing and its last handle has closed. */
void p2p_blobs_maybe_free(p2p_blobs *b);

/* blob_serve.c */
/* Frees serves marked dead; only where no pump can hold one. */
void p2p_blob_serve_reap(p2p_blobs *b);
/* A BLOB_WANT from p: FL_OK, or a negative code for a violation. */
int p2p_blob_serve_want(p2p_blobs *b, p2p_peer *p, const uint8_t *body, size_t n);
/* Marks p's serves dead (reaped later). */
void p2p_blob_serve_peer_gone(p2p_blobs *b, const p2p_peer *p);
/* Drops every serve and closes the pump handle (counted in open_handles). */
void p2p_blob_serve_close(p2p_blobs *b);

#endif
