/*
 * p2p/p2p.h — how members find and talk to each other (design.md §2):
 * authenticated, encrypted sessions on libuv TCP, typed messages, gossip,
 * request/response and blob transfer. p2p/ moves bytes; it never interprets
 * chain data. Permission comes from the caller: a callback says whether a
 * public key is a member right now, so governance changes apply at once.
 *
 * Threading: everything here runs on the caller's uv_loop_t thread; every
 * callback is called on it. No function may be called from another thread.
 *
 * Ownership: the host owns its peers. A p2p_peer pointer handed to a
 * callback is valid until that peer's on_peer(…, connected = 0) callback
 * returns; copy its id if you need it longer. Buffers passed to callbacks are
 * valid only during the callback. Send functions copy what they are given.
 *
 * The callback promise (libuv's), for every function here that takes a
 * callback (p2p_host_close, p2p_request, p2p_blob_fetch): if it returns an
 * error, the callback is never called; otherwise the callback is called
 * exactly once, never before the function has returned, and from a later
 * loop iteration than the one that called it whenever the outcome is known
 * at once (no peer to ask, an empty blob), so a caller that retries from
 * its callback cannot spin the loop.
 *
 * This is the only header another module may include from p2p/.
 */
#ifndef FEDLEDGER_P2P_H
#define FEDLEDGER_P2P_H

#include <uv.h>

#include "core/core.h"

/* ---------------------------------------------------------- limits */

#define P2P_NETWORK_ID_MAX 64            /* binds sessions to one network (the chain id) */
#define P2P_MAX_FRAME      (1024 * 1024) /* hard maximum of one encrypted frame's payload */
#define P2P_ADDR_MAX       64            /* "127.0.0.1:26656" */
#define P2P_BLOB_CHUNK     (64 * 1024)   /* blob chunk payload */

/* Peers one blob fetch draws from at once, at most. */
#define P2P_BLOB_FETCH_PEERS_MAX 4

/* The version each HELLO carries (docs/p2p.md §1): sessions form only
 * between hosts speaking the same one. */
/* 2: AUTH names role, version and both identities; 3: BATCH frames. */
#define P2P_PROTOCOL_VERSION 3

/* "a.b.c.d:port" with a port 1..65535: the only address form p2p/ dials or
 * learns from peers (strict dotted quad, no leading zeros: p2p/addr.c). */
int p2p_addr_parse(const char *addr, struct sockaddr_in *out) FL_MUST_CHECK;
/* The same form with port 0 also allowed ("any"): for a listen address only,
 * never for an address to dial or one learned from a peer. */
int p2p_listen_addr_parse(const char *addr, struct sockaddr_in *out) FL_MUST_CHECK;

/* Message types. Below P2P_TYPE_APP: p2p's own; from it up: the caller's. */
enum {
	P2P_TYPE_PING = 1,
	P2P_TYPE_PONG = 2,
	P2P_TYPE_ADDRS = 3,      /* peer exchange: addresses this peer knows */
	P2P_TYPE_GOSSIP = 4,     /* u16 topic, payload; forwarded once per link */
	P2P_TYPE_REQUEST = 5,    /* u64 id, u16 kind, payload */
	P2P_TYPE_RESPONSE = 6,   /* u64 id, i32 status, payload */
	P2P_TYPE_BLOB_WANT = 7,  /* hash, u64 offset, u32 credit (chunks) */
	P2P_TYPE_BLOB_CHUNK = 8, /* hash, u64 total, u64 offset, bytes */
	P2P_TYPE_BLOB_NONE = 9,  /* hash: not here */
	P2P_TYPE_BATCH = 10,     /* several small messages in one frame (host-internal) */
	P2P_TYPE_APP = 0x100
};

/* --------------------------------------------------------- config */

/* What the application says of a gossip message it sees for the first time:
 * ACCEPT forwards it to every other peer; IGNORE drops it (not valid here
 * and now, e.g. for a height we have not reached, but no proof of malice);
 * REJECT drops it and scores the peer it came from, so return it only for
 * a message that no honest member would relay (bad signature, malformed).
 * Either way the id stays seen, so copies are dropped unchecked. */
typedef enum {
	P2P_GOSSIP_ACCEPT = 0,
	P2P_GOSSIP_IGNORE = 1,
	P2P_GOSSIP_REJECT = 2
} p2p_gossip_verdict;

typedef struct p2p_host p2p_host;
typedef struct p2p_peer p2p_peer;

typedef struct {
	fl_pubkey id;
	char addr[P2P_ADDR_MAX]; /* remote address as seen on the socket */
	int outbound;            /* we dialled it */
	uint64_t bytes_in;       /* ciphertext bytes received/sent on this session */
	uint64_t bytes_out;
	uint64_t msgs_in;
	uint64_t msgs_out;
	size_t send_queue_bytes; /* queued, not yet written */
	uint64_t blob_chunks_in; /* BLOB_CHUNK messages received on this session */
	int32_t score;           /* misbehaviour score; ban at config.ban_score */
} p2p_peer_info;

typedef struct {
	/* Identity: the member's long-term secp256k1 key (copied, wiped on close). */
	fl_seckey identity;
	/* Sessions only form between hosts with the same network id. */
	char network_id[P2P_NETWORK_ID_MAX + 1];
	/* "127.0.0.1:PORT" to listen on; "" = do not listen. Port 0 = any
	 * (p2p_host_listen_port tells which). */
	char listen[P2P_ADDR_MAX];

	uint32_t max_inbound;  /* member sessions dialled to us; default 40 */
	uint32_t max_outbound; /* default 10 */
	/* Inbound sockets not yet authenticated hold pending slots, never
	 * member slots (docs/p2p.md §4, "Before authentication"). */
	uint32_t max_pending_inbound;  /* default 32; the oldest is evicted for a newer one */
	uint32_t max_pending_per_addr; /* from one IPv4 address; default 4 */
	uint32_t hello_timeout_ms;     /* an inbound socket's whole HELLO; default 2000 */
	uint32_t handshake_burst;      /* inbound handshakes per IPv4 address: a token */
	uint32_t handshakes_per_s;     /* bucket of this size and refill; default 8, 4 */
	/* Bytes a peer's queued messages may hold (header, allocation and
	 * plaintext each) before it is dropped as slow (scored); default 64 MiB. */
	size_t max_send_queue;
	/* All peers' queued bytes together; a send that would pass it drops the
	 * peer holding the most (scored). Default 256 MiB. */
	size_t max_queued_total;
	uint32_t max_frame;            /* <= P2P_MAX_FRAME; default P2P_MAX_FRAME */
	uint32_t handshake_timeout_ms; /* default 5000 */
	uint32_t ping_interval_ms;     /* default 10000; a peer silent 3 intervals is dropped */
	uint32_t backoff_min_ms;       /* reconnect: default 250 */
	uint32_t backoff_max_ms;       /* default 30000; jittered exponential in between */
	int32_t ban_score;             /* default 100 */
	uint32_t ban_ms;               /* default 600000; also the half-life of scores */
	uint32_t seen_cache;           /* gossip ids remembered; default 65536 */
	/* A peer asked for blob chunks that sends none for this long is left
	 * for the next one (and scored lightly); default 2000. */
	uint32_t blob_progress_ms;
	/* Peers one fetch draws from at once, each a range of the blob:
	 * 1..P2P_BLOB_FETCH_PEERS_MAX; default P2P_BLOB_FETCH_PEERS_MAX. */
	uint32_t blob_fetch_peers;
	/* Gossip each peer may send us, per second, in messages and in body
	 * bytes (a token bucket holding one second's worth); past it a message
	 * is dropped unread and scored. Defaults 1000 and 16 MiB. */
	uint32_t gossip_msgs_per_s;
	uint32_t gossip_bytes_per_s;

	/* Is this key a member now? Refused peers are disconnected. Required. */
	int (*is_member)(void *ctx, const fl_pubkey *id);
	/* A session was established (connected = 1) or has ended (0). */
	void (*on_peer)(void *ctx, p2p_peer *peer, int connected);
	/* An application message (type >= P2P_TYPE_APP) from a peer. */
	void (*on_message)(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n);
	/* A gossip message seen for the first time, before it goes any
	 * further: the verdict decides whether it is forwarded (libp2p
	 * gossipsub's validators). NULL = accept everything. */
	p2p_gossip_verdict (*on_gossip)(void *ctx, p2p_peer *from, uint16_t topic, const uint8_t *p,
					size_t n);
	/* A request from a peer: answer with p2p_respond (now or later). */
	void (*on_request)(void *ctx, p2p_peer *peer, uint64_t id, uint16_t kind, const uint8_t *p,
			   size_t n);
	/* The blob store the host serves from: FL_OK with the size, or
	 * FL_ENOTFOUND. Read reads [offset, offset+n) of it. */
	int (*blob_size)(void *ctx, const fl_hash *hash, uint64_t *size);
	int (*blob_read)(void *ctx, const fl_hash *hash, uint64_t offset, uint8_t *out, size_t n);
	void *ctx;
} p2p_config;

/* Defaults for everything but identity, network_id, listen and callbacks. */
void p2p_config_default(p2p_config *cfg);

/* ----------------------------------------------------------- host */

/* Creates a host on `loop` (not yet listening). */
int p2p_host_new(p2p_host **out, uv_loop_t *loop, const p2p_config *cfg) FL_MUST_CHECK;
/* Starts listening (if configured) and dialling persistent peers. */
int p2p_host_start(p2p_host *h) FL_MUST_CHECK;
uint16_t p2p_host_listen_port(const p2p_host *h);

/* What the host has done with inbound sockets and handshakes, since it was
 * created (how much a flood of strangers cost it), and what it holds. */
typedef struct {
	uint64_t accepted;       /* inbound sockets given a pending slot */
	uint64_t refused_full;   /* closed at accept: every member slot taken */
	uint64_t refused_addr;   /* closed at accept: max_pending_per_addr from that address */
	uint64_t refused_rate;   /* closed at accept: that address is out of handshake tokens */
	uint64_t evicted;        /* pending sockets closed to make room for a newer one */
	uint64_t hello_timeouts; /* pending sockets closed without a whole HELLO in time */
	uint64_t ephemeral_keys; /* X25519 key pairs made (one per handshake we answer) */
	uint64_t key_exchanges;  /* X25519 exchanges done on a peer's HELLO */
	/* What members make it hold (docs/p2p.md §4, "Sending"). */
	size_t queued_bytes; /* every peer's send queue now, as max_queued_total counts it */
	size_t queued_peak;  /* the most queued_bytes has been */
	uint64_t slow_drops; /* peers dropped for their send queue */
	uint64_t floods;     /* messages dropped past a rate limit */
} p2p_host_stats;
void p2p_host_get_stats(const p2p_host *h, p2p_host_stats *out);
/* Closes every session and handle; `cb` (may be NULL) runs from the loop
 * when all are closed, after which the host is freed. */
void p2p_host_close(p2p_host *h, void (*cb)(void *arg), void *arg);

/* A peer to keep connected: redialled with backoff whenever the session
 * ends. `expect` (may be NULL) pins the key it must prove. */
int p2p_add_persistent(p2p_host *h, const char *addr, const fl_pubkey *expect) FL_MUST_CHECK;
/* One dial attempt. */
int p2p_dial(p2p_host *h, const char *addr) FL_MUST_CHECK;

size_t p2p_peer_count(const p2p_host *h);
/* Up to n connected peers into out; returns how many. */
size_t p2p_peers(p2p_host *h, p2p_peer **out, size_t n);
void p2p_peer_get_info(const p2p_peer *p, p2p_peer_info *out);
const fl_pubkey *p2p_peer_id(const p2p_peer *p);
/* Disconnect (and optionally ban for cfg.ban_ms). */
void p2p_peer_drop(p2p_peer *p, int ban);
int p2p_is_banned(const p2p_host *h, const fl_pubkey *id);

/* ------------------------------------------------------- messages */

/* Queue an application message (type >= P2P_TYPE_APP). FL_ETOOBIG over the
 * frame maximum. If the peer's queue is over max_send_queue, the peer is
 * dropped as slow and FL_EIO is returned. */
int p2p_send(p2p_peer *p, uint16_t type, const void *data, size_t n) FL_MUST_CHECK;

/* Gossip to every peer; each host forwards a message it sees for the first
 * time, once its on_gossip accepts it, to all its peers but the sender, so
 * each message crosses each link at most once per direction. The id is the
 * SHA-256 of the GOSSIP body (u16 topic, length, payload; one encoding per
 * message). Our own message is not passed to our on_gossip.
 * FL_EDUP (nothing sent) if this host has seen that id already;
 * FL_ETOOBIG over the frame maximum. */
int p2p_broadcast(p2p_host *h, uint16_t topic, const void *data, size_t n) FL_MUST_CHECK;

/* Request/response. cb gets status FL_OK and the payload, the responder's
 * negative status, FL_ETIMEOUT, or FL_EIO if the peer went away; it is
 * called exactly once, unless p2p_request returns an error. */
typedef void (*p2p_response_cb)(void *arg, int status, const uint8_t *p, size_t n);
int p2p_request(p2p_peer *p, uint16_t kind, const void *data, size_t n, uint32_t timeout_ms,
		p2p_response_cb cb, void *arg) FL_MUST_CHECK;
int p2p_respond(p2p_peer *p, uint64_t id, int status, const void *data, size_t n) FL_MUST_CHECK;

/* --------------------------------------------------------- blobs */

/*
 * Fetch a blob by hash from the connected peers that have it: chunks of
 * P2P_BLOB_CHUNK with credit-based flow control, sent at low priority so
 * gossip, votes and requests overtake them; a large blob is split into
 * ranges fetched from up to blob_fetch_peers peers at once, and a peer
 * silent for blob_progress_ms gives its range to another. The SHA-256 of
 * the whole blob is checked before cb sees it; on a mismatch (or a peer
 * without it) the fetch moves to other peers, and the peer whose bytes
 * were wrong is scored. cb gets FL_OK and the bytes (valid during the
 * callback), FL_ENOTFOUND when no peer had a matching blob, FL_ETOOBIG when
 * a peer announced more than max_size, FL_ETIMEOUT after timeout_ms or when
 * the last peer stalled. Memory: the blob (up to max_size), twice that
 * while a pieced-together copy that missed the hash is kept to find the
 * peer that lied.
 */
typedef void (*p2p_blob_cb)(void *arg, int status, const fl_hash *hash, const uint8_t *data,
			    size_t n);
int p2p_blob_fetch(p2p_host *h, const fl_hash *hash, uint64_t max_size, uint32_t timeout_ms,
		   p2p_blob_cb cb, void *arg) FL_MUST_CHECK;

#endif
