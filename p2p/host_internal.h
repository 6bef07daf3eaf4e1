/*
 * p2p/host_internal.h — the state shared by the host layer's files (host.c,
 * peer.c, book.c, gossip.c, request.c). blob.c and the session crypto never
 * include it: they see the host only through p2p/internal.h, so the layout
 * below can change without touching them. Tests of the host layer may read
 * it to check counters that the public API does not expose.
 */
#ifndef FEDLEDGER_P2P_HOST_INTERNAL_H
#define FEDLEDGER_P2P_HOST_INTERNAL_H

#include "p2p/internal.h"

/* ------------------------------------------------------------ limits */

#define P2P_BOOK_PERSISTENT_MAX 64  /* p2p_add_persistent entries */
#define P2P_BOOK_LEARNED_MAX    256 /* addresses learned from ADDRS */
#define P2P_BOOK_MAX            (P2P_BOOK_PERSISTENT_MAX + P2P_BOOK_LEARNED_MAX)
#define P2P_LEARNED_PER_SOURCE  16          /* book entries one key's ADDRS may add */
#define P2P_LEARNED_DIAL_BURST  4           /* dials of learned entries at once, host-wide */
#define P2P_LEARNED_DIAL_MS     1000        /* then one per this many ms */
#define P2P_SCORES_MAX          1024        /* ids with a score or a ban */
#define P2P_SILENT_MAX          3           /* ping intervals without a frame before a drop */
#define P2P_READ_BUF            (64 * 1024) /* one read from a socket */
#define P2P_RATES_MAX           1024        /* addresses with a handshake token bucket */
#define P2P_ACCEPT_BATCH        256         /* sockets accepted per loop turn, so other work runs */
/* The kernel drops a SYN while the accept queue is full, and the dialler
 * retries only a second later: a deep queue (capped by net.core.somaxconn,
 * 4096 on current Linux), drained at an accept and a close per stranger,
 * keeps a flood of connects from turning a member away at the door. */
#define P2P_LISTEN_BACKLOG 4096
/* A pending socket idle for less than this is evicted only after older
 * ones: a dialler's HELLO follows its connect's last ACK at once. */
#define P2P_PENDING_GRACE_MS 50
#define P2P_DIRECT_READ      (16 * 1024) /* a frame's rest read into its own buffer */

/* A full BLOB_CHUNK frame: message header, hash, total, offset, the chunk's
 * 3-byte length, the chunk, then the frame's length and tag. */
#define P2P_CHUNK_FRAME (P2P_MSG_HEADER + FL_HASH_LEN + 8 + 8 + 3 + P2P_BLOB_CHUNK + 20)
/* Bytes of frames sealed into one uv_write from the write buffer, at most:
 * the size of one whole chunk frame, so a high message waits behind at most
 * that (a chunk itself, at least P2P_DIRECT_WRITE, is written from its own
 * queue entry, one per write). Four chunk frames (about 256 KiB, the raw
 * loopback bench's write size) measured slower in fedledger-bench p2p
 * (100-byte messages about 0.6x, blob fetch no better): the receiver waits
 * longer for each batch, so the two hosts overlap less. */
#define P2P_WRITE_BATCH P2P_CHUNK_FRAME

/* Misbehaviour points, only ever for what a peer provably said: a message
 * inside a frame that opened under its session key. A bad MAC or a frame
 * length over the maximum may be an on-path attacker's flipped bits, so it
 * closes the session and charges nobody. A malformed or unknown message may
 * be a version mismatch, so four of them make a ban. */
#define P2P_PENALTY_MALFORMED 25
/* A member that makes us hold its bytes: a send queue over its budget or
 * over its share of the host-wide cap (a slow-peer drop), and each message
 * past a rate limit (PING/PONG, gossip, a duplicate flood). The session
 * stays open for floods (the excess is dropped unread); the ban closes it,
 * and the score lives in the book, by key, across reconnects. */
#define P2P_PENALTY_SLOW   20
#define P2P_PENALTY_FLOOD  5
#define P2P_PINGS_PER_TICK 4 /* PING + PONG frames a peer may send per ping interval */
/* A gossip the application rejected (p2p_gossip_verdict): five ban. */
#define P2P_PENALTY_REJECT 20
/* Duplicates a peer may send beyond one per id the host learned while the
 * session was open: ids it had in flight at the open, and ids its
 * seen-cache forgot. */
#define P2P_GOSSIP_DUP_SLACK 256

/* What one queued message costs us: its p2p_out header, the allocator's
 * own header for it (glibc: 16 bytes, rounded to 16), and the plaintext;
 * counted instead of the wire bytes, since a 3-byte PONG holds ~48 bytes
 * of heap. */
#define P2P_ALLOC_OVERHEAD 16
#define P2P_OUT_COST(pn)                                                                           \
	(sizeof(p2p_out) + P2P_ALLOC_OVERHEAD + P2P_LEN_PREFIX + (pn) + P2P_TAG_LEN)
/* A message of at least this many plaintext bytes is sealed in place in its
 * queue entry and written from there (its own uv_write): no copy into the
 * write buffer. Below it, copying into the batch is cheaper than a write. */
#define P2P_DIRECT_WRITE (16 * 1024)
/* Large entries written out and kept for reuse by the host (peer.c,
 * out_get): at most this many, so at most this many max_frame buffers. */
#define P2P_SPARES_MAX 4

/* ------------------------------------------------------------- peers */

typedef enum {
	P2P_PEER_CONNECTING = 0, /* outbound TCP connect in flight */
	P2P_PEER_HELLO,          /* reading the clear HELLO */
	P2P_PEER_AUTH,           /* keys ready, waiting for the AUTH frame */
	P2P_PEER_READY,          /* we accepted its AUTH; waiting for its first
				  * message, which says it accepted ours */
	P2P_PEER_OPEN,           /* both accepted: announced, messages flow */
	P2P_PEER_CLOSING         /* handles closing; freed in their close callbacks */
} p2p_peer_state;

/* What a queued entry is: the clear HELLO (written as is), an AUTH frame
 * (sealed alone: it has no message header), or a message, which small
 * neighbours may share a BATCH frame with. */
typedef enum { P2P_OUT_CLEAR = 0, P2P_OUT_AUTH, P2P_OUT_MSG } p2p_out_kind;

/* One queued message: plaintext, sealed only when written, because frame
 * nonces must follow the order frames reach the wire, and high-priority
 * messages overtake low ones in the queue. The plaintext sits at
 * P2P_OUT_PLAIN, with room for the frame's length before it and its tag
 * after, so a large message is sealed in place and written from here. */
typedef struct p2p_out {
	struct p2p_out *next;
	size_t n;   /* plaintext bytes */
	size_t cap; /* bytes of data[]: at least P2P_LEN_PREFIX + n + P2P_TAG_LEN */
	p2p_out_kind kind;
	int sealed;     /* data[] holds the sealed frame already (peer.c, can_seal_now) */
	uint8_t data[]; /* cap bytes */
} p2p_out;
#define P2P_OUT_PLAIN(o) ((o)->data + P2P_LEN_PREFIX)

typedef struct p2p_pending p2p_pending;
typedef struct p2p_book_entry p2p_book_entry;

struct p2p_peer {
	p2p_host *host;
	p2p_peer *prev, *next; /* host->peers */
	p2p_peer_state state;
	int outbound;
	int announced;         /* on_peer(…, 1) was called */
	int handles;           /* of tcp and timer, still open */
	int duplicate;         /* closed in favour of another session to the same id */
	int addrs_in;          /* its ADDRS came: a second one is a violation */
	p2p_book_entry *entry; /* the book entry of this outbound session, or NULL */
	int has_expect;
	fl_pubkey expect;
	char addr[P2P_ADDR_MAX];
	char dialled[P2P_ADDR_MAX]; /* the address we dialled; "" if inbound */
	/* Inbound: the IPv4 address (network order), and which slot the socket
	 * holds: pending until its AUTH is accepted, then a member slot. */
	uint32_t ip;
	int pending_slot, member_slot;
	uint64_t since;                  /* uv_now() when the handshake began */
	p2p_peer *pend_prev, *pend_next; /* host->pend_head: oldest first */

	uv_tcp_t tcp;
	uv_timer_t timer; /* handshake timeout, then the ping interval */
	uv_connect_t connect_req;
	p2p_session sess;

	/* Reading: the HELLO, then frames (4 length bytes, then ct_need bytes). */
	uint8_t hello[P2P_HELLO_MAX];
	size_t hello_have;
	uint8_t len_hdr[P2P_LEN_PREFIX];
	size_t len_have;
	int in_body;
	uint8_t *ct; /* grows to the largest frame seen, never past max_frame */
	size_t ct_cap, ct_need, ct_have;
	/* A large frame is opened as it arrives (p2p_frame_open_begin):
	 * ct[0..ct_open) is decrypted, not yet authenticated. */
	int ct_stream;
	size_t ct_open;

	/* Writing: queues by priority, and the batch being written. */
	p2p_out *q_head[2], *q_tail[2];
	size_t queued; /* bytes held: queued messages (p2p_out_cost) and the batch in flight */
	uint8_t *wbuf; /* P2P_WRITE_BATCH bytes once the first write needs it */
	size_t wbuf_len;
	p2p_out *w_out; /* a large message being written from its own entry */
	int writing;
	uv_write_t write_req;
	size_t write_msgs; /* messages in the batch in flight */

	uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
	uint64_t gossip_in; /* GOSSIP frames received on this link (tests count them) */
	uint32_t silent;    /* ping intervals with nothing received */
	int rx_since_tick;
	/* BLOB_CHUNK frames received on this link (p2p_peer_info). */
	uint64_t blob_chunks_in;
	uint64_t ping_tick_at; /* uv_now() the current PING/PONG window began */
	uint32_t pings;        /* PING and PONG frames received in it */
	/* Gossip from this peer: a token bucket in messages and bytes (in
	 * thousandths, refilled by the ms), and duplicates against the ids the
	 * host learned since the session opened (h->gossip_new - gossip_base). */
	int gossip_bucket_set;
	uint64_t gossip_at, gossip_msg_tokens, gossip_byte_tokens;
	uint64_t gossip_base, gossip_dups;

	p2p_pending *pending; /* requests waiting for this peer's response */
};

/* ------------------------------------------------------------- book */

struct p2p_book_entry {
	int used;
	int persistent;
	char addr[P2P_ADDR_MAX];
	int has_expect;
	fl_pubkey expect;
	int id_known; /* the key last proved at this address */
	fl_pubkey id;
	uint32_t attempt; /* failed dials since the last session */
	uint64_t due;     /* uv_now() of the next dial */
	uint64_t learned_seq;
	int has_source; /* learned from this key's ADDRS (P2P_LEARNED_PER_SOURCE) */
	fl_pubkey source;
	p2p_peer *peer; /* the session dialled for this entry, or NULL */
};

typedef struct {
	fl_pubkey id;
	int32_t score;
	uint64_t decayed_at;   /* uv_now() the score's last halving counts from */
	uint64_t banned_until; /* uv_now(); 0 = not banned */
	uint64_t touched;      /* for eviction when the table is full */
} p2p_score;

typedef struct {
	p2p_book_entry *entries; /* P2P_BOOK_MAX */
	p2p_score *scores;       /* P2P_SCORES_MAX */
	size_t n_scores;
	uint64_t learned_seq;
	/* Dials of learned entries, a GCRA bucket: the next is allowed from
	 * learned_tat - (BURST - 1) * DIAL_MS on. */
	uint64_t learned_tat;
	uint64_t learned_dials; /* made (tests count them) */
	uv_timer_t timer;
	int timer_open;
} p2p_book;

/* -------------------------------------------------------- seen-cache */

/* One address's handshake tokens (admit.c), in thousandths of a token. */
typedef struct {
	uint32_t ip;
	uint32_t milli;
	uint64_t at; /* uv_now() of the last refill */
} p2p_rate;

typedef struct {
	fl_hash *ring;   /* FIFO of ids, cap entries */
	uint32_t *slots; /* open addressing over ring indexes; UINT32_MAX = empty */
	uint32_t cap, n, head, mask;
	uint8_t key[16]; /* SipHash key (crypto_shorthash_KEYBYTES), random per host */
} p2p_seen;

/* ------------------------------------------------------------- host */

struct p2p_host {
	uv_loop_t *loop;
	p2p_config cfg;
	fl_pubkey self;
	uv_poll_t listener; /* a plain listening socket, accepted by hand (admit.c) */
	int listen_fd;
	int spare_fd; /* held open so that accept can refuse a socket at EMFILE */
	int listening;
	uint16_t port;
	char listen_addr[P2P_ADDR_MAX]; /* "127.0.0.1:port" once listening */

	p2p_peer *peers;
	uint32_t n_in, n_out; /* member slots held (inbound authenticated), dials not closing */
	uint32_t n_pending;   /* inbound sockets not yet authenticated */
	p2p_peer *pend_head, *pend_tail;
	p2p_rate *rates; /* P2P_RATES_MAX */
	size_t n_rates;
	p2p_host_stats stats;
	size_t n_open;

	p2p_book book;
	p2p_seen seen;
	p2p_blobs *blobs;
	uint8_t *plain;                 /* one frame's plaintext; the loop is single-threaded */
	p2p_out *spare[P2P_SPARES_MAX]; /* written large entries, for reuse */
	size_t n_spare;
	uint8_t *rbuf; /* P2P_READ_BUF: every socket reads into it in turn */
	uint64_t next_request_id;
	uint64_t dials;      /* TCP connects started (tests count them) */
	size_t queued;       /* every peer's queued bytes (cfg.max_queued_total) */
	uint64_t gossip_new; /* gossip ids added to the seen-cache, ever */

	size_t handles; /* uv handles open; the host is freed at 0 once closing */
	int started;
	int closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

/* host.c */
void p2p_host_handle_closed(p2p_host *h);
int p2p_host_dial_entry(p2p_host *h, p2p_book_entry *e) FL_MUST_CHECK;

/* admit.c: the listener and the rules for strangers' sockets. */
int p2p_admit_listen(p2p_host *h) FL_MUST_CHECK;
void p2p_admit_close(p2p_host *h);
/* An inbound peer's AUTH was accepted: FL_OK with a member slot taken
 * (and its pending slot given back), or FL_ETOOBIG when all are taken. */
int p2p_admit_member(p2p_peer *p) FL_MUST_CHECK;
/* An inbound peer's whole HELLO arrived: it moves to the young end of the
 * pending list, where eviction comes last. */
void p2p_admit_progress(p2p_peer *p);
/* The peer is closing: gives back whichever slot it holds. */
void p2p_admit_release(p2p_peer *p);

/* peer.c (and peer_write.c: the queue functions) */
int p2p_peer_new(p2p_peer **out, p2p_host *h, int outbound);
void p2p_peer_begin(p2p_peer *p);
/* The peer's one timer: the connect and handshake deadlines until the
 * session opens, then the ping interval. */
void p2p_peer_on_timer(uv_timer_t *t);
void p2p_peer_close(p2p_peer *p);
void p2p_peer_penalize(p2p_peer *p, int32_t points);
/* Penalizes (when authenticated) and disconnects. */
void p2p_peer_misbehaved(p2p_peer *p, int32_t points, const char *why);
/* A flood, a rate-limit excess or a rejected gossip: scores the key and
 * closes the session only once the score has banned it. Returns 1 if it did. */
int p2p_peer_charge(p2p_peer *p, int32_t points, const char *why);
/* Gives a written entry back: kept as a spare if large and there is room,
 * else freed. */
void p2p_out_release(p2p_host *h, p2p_out *o);
int p2p_peer_queue_raw(p2p_peer *p, p2p_prio prio, const uint8_t *head, size_t head_n,
		       const uint8_t *body, size_t n, p2p_out_kind kind) FL_MUST_CHECK;

/* book.c */
int p2p_book_init(p2p_book *b, p2p_host *h) FL_MUST_CHECK;
void p2p_book_close(p2p_book *b);
void p2p_book_free(p2p_book *b);
/* The book's timer, opened last in p2p_host_new: with it open, closing
 * even a host never started calls back from the loop, never from inside
 * p2p_host_close. */
void p2p_book_open(p2p_host *h);
void p2p_book_start(p2p_host *h);
void p2p_book_on_dial_failed(p2p_host *h, p2p_book_entry *e);
/* A dial not made by the book (p2p_dial): ties it to the idle entry for its
 * address, if there is one, so that entry waits for its outcome. */
void p2p_book_on_dial(p2p_host *h, p2p_peer *p);
void p2p_book_on_session(p2p_host *h, p2p_peer *p);
void p2p_book_on_session_end(p2p_host *h, p2p_peer *p);
int p2p_book_on_addrs(p2p_host *h, p2p_peer *p, const uint8_t *body, size_t n);
int p2p_book_send_addrs(p2p_host *h, p2p_peer *p) FL_MUST_CHECK;
/* Adds points to id's score; bans it when the score reaches ban_score.
 * Returns 1 if the id is now banned. Scores halve every ban_ms (book.c). */
int p2p_book_penalize(p2p_host *h, const fl_pubkey *id, int32_t points);
void p2p_book_ban(p2p_host *h, const fl_pubkey *id);
int32_t p2p_book_score(const p2p_host *h, const fl_pubkey *id);
/* Resolves two sessions to one id; returns the one to keep. */
p2p_peer *p2p_book_pick_duplicate(const p2p_host *h, p2p_peer *a, p2p_peer *b);

/* gossip.c */
int p2p_seen_init(p2p_seen *s, uint32_t cap) FL_MUST_CHECK;
void p2p_seen_free(p2p_seen *s);
/* 1 if id was new (and is now remembered), 0 if seen already. */
int p2p_seen_add(p2p_seen *s, const fl_hash *id);
int p2p_gossip_on_message(p2p_host *h, p2p_peer *from, const uint8_t *body, size_t n);

/* request.c */
int p2p_request_on_request(p2p_peer *p, const uint8_t *body, size_t n);
int p2p_request_on_response(p2p_peer *p, const uint8_t *body, size_t n);
/* The peer's session ended: every pending request gets FL_EIO. */
void p2p_request_fail_all(p2p_peer *p);

#endif
