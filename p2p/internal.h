/*
 * p2p/internal.h — cross-file internals of p2p/ (never included from
 * another module). Three layers meet here:
 *
 *   session crypto (handshake.c, frame.c) and message bodies (msg.c): pure
 *   functions over byte buffers, no I/O, so they are unit-tested and fuzzed
 *   without sockets;
 *
 *   the host (host.c, peer.c, book.c, gossip.c, request.c): libuv sockets,
 *   per-peer read/write state, send queues, the peer book, gossip and
 *   request/response;
 *
 *   blobs (blob.c): fetch and serve on top of the host's send primitive.
 */
#ifndef FEDLEDGER_P2P_INTERNAL_H
#define FEDLEDGER_P2P_INTERNAL_H

#include "p2p/p2p.h"

/* ================================================= session crypto */

/*
 * Handshake, in the spirit of CometBFT's SecretConnection (docs/p2p.md §1):
 *   1. each side sends HELLO in clear: magic "FLP2P", u8 version 2,
 *      u8 len + network id, 32-byte ephemeral X25519 public key;
 *   2. both compute the X25519 shared secret (all-zero = low-order point:
 *      refused) and the transcript hash
 *      T = SHA256("fedledger/p2p/v1" || network id || 0x00 || lo_eph || hi_eph)
 *      with the two ephemeral keys in byte order, so both sides agree;
 *   3. two ChaCha20-Poly1305 (IETF) keys are derived from the shared secret
 *      and T (BLAKE2b keyed by the secret, personalised per direction); the
 *      side whose ephemeral key sorts lower sends with the first;
 *   4. AUTH, two frames each way: first the 32-byte secp256k1 x-only
 *      identity; once the peer's has arrived, a BIP340 signature over
 *      fl_domain_hash("p2p-auth", network id,
 *                     T || u8 version || u8 signer's role || signer id || peer id).
 *      The role is the dialler's (initiator, 0) or the listener's
 *      (responder, 1), so a signature is good for one session, one
 *      direction, one pair of keys and one version only.
 * Frame nonces are 96-bit little-endian counters per direction, starting at
 * 0; a replayed, dropped or reordered frame fails its MAC.
 */
#define P2P_MAGIC         "FLP2P"
#define P2P_MAGIC_LEN     5
#define P2P_VERSION       P2P_PROTOCOL_VERSION
#define P2P_HELLO_MAX     (P2P_MAGIC_LEN + 1 + 1 + P2P_NETWORK_ID_MAX + 32)
#define P2P_AUTH_ID_LEN   FL_PUBKEY_LEN
#define P2P_AUTH_SIG_LEN  FL_SIG_LEN
#define P2P_AUTH_LEN      FL_SIG_LEN /* the larger AUTH frame: the cap before AUTH */
#define P2P_AUTH_BODY_LEN (FL_HASH_LEN + 2 + 2 * FL_PUBKEY_LEN)
#define P2P_KEY_LEN       32
#define P2P_TAG_LEN       16
#define P2P_LEN_PREFIX    4

struct evp_cipher_ctx_st; /* OpenSSL's EVP_CIPHER_CTX */

/* Who opened the TCP connection: part of what each side signs. */
typedef enum { P2P_ROLE_INITIATOR = 0, P2P_ROLE_RESPONDER = 1 } p2p_role;

typedef struct {
	uint8_t eph_sk[32];
	uint8_t eph_pk[32];
	uint8_t remote_eph[32];
	fl_hash transcript;
	uint8_t send_key[P2P_KEY_LEN];
	uint8_t recv_key[P2P_KEY_LEN];
	uint64_t send_nonce;
	uint64_t recv_nonce;
	/* One cipher context per direction, keyed once by p2p_hello_accept
	 * (frame.c); owned by the session and freed by p2p_session_wipe. A
	 * copy of a session shares them: wipe only one of the two. */
	struct evp_cipher_ctx_st *send_ctx, *recv_ctx;
	int keys_ready;         /* after p2p_hello_accept */
	int authenticated;      /* after p2p_auth_accept */
	p2p_role role;          /* ours */
	fl_pubkey local_id;     /* set by p2p_auth_id_make */
	int has_remote_claim;   /* after p2p_auth_id_accept */
	fl_pubkey remote_claim; /* the identity the peer announced, not yet proved */
	fl_pubkey remote_id;    /* proved: set by p2p_auth_accept */
} p2p_session;

/* Fresh ephemeral key; writes HELLO (*n bytes, <= P2P_HELLO_MAX). s is
 * uninitialised memory or a wiped session (a keyed one must be wiped first,
 * or its cipher contexts leak); role is ours in this connection. */
int p2p_hello_make(p2p_session *s, const char *network_id, p2p_role role, uint8_t *out,
		   size_t *n) FL_MUST_CHECK;
/* Parses the remote HELLO (exactly one message of n bytes), checks magic,
 * version and network id (FL_EPROTO / FL_EVERSION / FL_ECHAIN), derives keys
 * (FL_ENOMEM if the cipher contexts cannot be had). */
int p2p_hello_accept(p2p_session *s, const char *network_id, const uint8_t *p,
		     size_t n) FL_MUST_CHECK;
/* The first AUTH frame's plaintext (P2P_AUTH_ID_LEN bytes): our identity,
 * remembered as the key our signature names. */
void p2p_auth_id_make(p2p_session *s, const fl_pubkey *self, uint8_t out[P2P_AUTH_ID_LEN]);
/* The remote's first AUTH frame: the identity it claims (FL_EPROTO for a
 * size other than 32 or a second one). Proved only by p2p_auth_accept. */
int p2p_auth_id_accept(p2p_session *s, const uint8_t *p, size_t n) FL_MUST_CHECK;
/* The second AUTH frame's plaintext (P2P_AUTH_SIG_LEN bytes): our signature
 * naming both identities; FL_ESTATE before the remote's identity arrived.
 * identity is the secret key of the id given to p2p_auth_id_make. */
int p2p_auth_make(const p2p_session *s, const char *network_id, const fl_seckey *identity,
		  uint8_t out[P2P_AUTH_SIG_LEN]) FL_MUST_CHECK;
/* Checks the remote's signature over its claimed identity, its role (the
 * other one), ours and the version: FL_ESIG if it does not verify; FL_EPROTO
 * for a size other than 64, one before the identity, or a second one. Sets
 * remote_id and authenticated. Membership is the host's check. */
int p2p_auth_accept(p2p_session *s, const char *network_id, const uint8_t *p,
		    size_t n) FL_MUST_CHECK;
/* Wipes keys and frees the cipher contexts; the session is all zero after. */
void p2p_session_wipe(p2p_session *s);

/*
 * Encrypted frame on the wire: u32 little-endian L (ciphertext length, tag
 * included), then L bytes; the 4 length bytes are the AEAD's associated
 * data, so a changed length fails the MAC. L - 16 <= max_frame.
 */
/* The two cipher contexts from send_key / recv_key (FL_ENOMEM); called by
 * p2p_hello_accept, freed by p2p_session_wipe. */
int p2p_frame_keys_init(p2p_session *s) FL_MUST_CHECK;
void p2p_frame_keys_free(p2p_session *s);
/* Seals plaintext p[0..n) into out (n + P2P_LEN_PREFIX + P2P_TAG_LEN bytes).
 * p may not overlap out, except p == out + P2P_LEN_PREFIX: sealed in place,
 * as the host does for large frames and batches, which saves a copy. */
int p2p_frame_seal(p2p_session *s, uint8_t *out, const uint8_t *p, size_t n) FL_MUST_CHECK;
/* The same for the plaintext head[0..head_n) then body[0..n), read from the
 * two buffers (neither may overlap out): the same bytes on the wire as
 * p2p_frame_seal of the two concatenated. */
int p2p_frame_seal_parts(p2p_session *s, uint8_t *out, const uint8_t *head, size_t head_n,
			 const uint8_t *body, size_t n) FL_MUST_CHECK;
/* From the 4 length bytes: the ciphertext length to read next, or
 * FL_ETOOBIG (over max_frame: disconnect without reading/allocating) or
 * FL_EPROTO (shorter than a tag). */
int p2p_frame_length(const uint8_t hdr[P2P_LEN_PREFIX], uint32_t max_frame,
		     size_t *ct_len) FL_MUST_CHECK;
/* Opens ciphertext ct[0..ct_len) (hdr = its length bytes) into out
 * (ct_len - P2P_TAG_LEN bytes); out may be ct (opened in place). FL_ECRYPTO
 * on a bad MAC, with out zeroed; the receive nonce advances only on success. */
int p2p_frame_open(p2p_session *s, const uint8_t hdr[P2P_LEN_PREFIX], const uint8_t *ct,
		   size_t ct_len, uint8_t *out) FL_MUST_CHECK;

/* A frame of more than 192 plaintext bytes opened piece by piece, in place,
 * as it arrives (frame.c says why): begin with its length bytes (FL_EPROTO
 * for a smaller frame or a length that disagrees with hdr), update with
 * each next run of ciphertext bytes before the tag, in order, then end with
 * the whole plaintext and the tag: FL_ECRYPTO on a bad MAC, with plain[0..
 * pt_len) zeroed. Update decrypts ct[0..n) into out[0..n): in place (out ==
 * ct) or from another buffer, so bytes read into a shared buffer are
 * decrypted as they are copied out of it. No byte may be used before end
 * returns FL_OK; the receive
 * nonce advances only then. No other frame may be opened in between. */
int p2p_frame_open_begin(p2p_session *s, const uint8_t hdr[P2P_LEN_PREFIX],
			 size_t ct_len) FL_MUST_CHECK;
int p2p_frame_open_update(p2p_session *s, uint8_t *out, const uint8_t *ct, size_t n) FL_MUST_CHECK;
int p2p_frame_open_end(p2p_session *s, uint8_t *plain, size_t pt_len,
		       const uint8_t tag[P2P_TAG_LEN]) FL_MUST_CHECK;

/* ================================================= message bodies */

/* A frame's plaintext: u8 message version (1), u16 LE type, body.
 * FL_EVERSION for another version, FL_EPROTO when too short. */
#define P2P_MSG_VERSION 1
#define P2P_MSG_HEADER  3
int p2p_msg_parse(const uint8_t *p, size_t n, uint16_t *type, const uint8_t **body,
		  size_t *body_len) FL_MUST_CHECK;
void p2p_msg_header(uint8_t out[P2P_MSG_HEADER], uint16_t type);

typedef struct {
	uint16_t topic;
	const uint8_t *data; /* points into the parsed buffer */
	size_t n;
} p2p_gossip_msg;

typedef struct {
	uint64_t id;
	uint16_t kind;
	const uint8_t *data;
	size_t n;
} p2p_request_msg;

typedef struct {
	uint64_t id;
	int32_t status;
	const uint8_t *data;
	size_t n;
} p2p_response_msg;

typedef struct {
	fl_hash hash;
	uint64_t offset;
	uint32_t credit; /* chunks the requester will accept now; 1..P2P_BLOB_MAX_CREDIT */
} p2p_blob_want_msg;

#define P2P_BLOB_MAX_CREDIT 64

typedef struct {
	fl_hash hash;
	uint64_t total;  /* size of the whole blob */
	uint64_t offset; /* of this chunk */
	const uint8_t *data;
	size_t n; /* 1..P2P_BLOB_CHUNK; offset + n <= total */
} p2p_blob_chunk_msg;

#define P2P_ADDRS_MAX 64
typedef struct {
	uint32_t n;
	char addr[P2P_ADDRS_MAX][P2P_ADDR_MAX];
} p2p_addrs_msg;

/*
 * BATCH: small messages queued together, sealed as one frame, so the AEAD's
 * fixed cost (~0.5 us a seal or an open) is paid once for all of them.
 * Body: u16 LE count (2..P2P_BATCH_MAX), then count items, each a u16 LE
 * length (P2P_MSG_HEADER..P2P_BATCH_ITEM_MAX) and that many bytes: one
 * message (version 1, type, body) that is not itself a BATCH. No trailing
 * bytes. p2p_batch_decode checks the whole body before the host dispatches
 * any item of it, so a bad batch delivers nothing.
 */
#define P2P_BATCH_MAX       1024
#define P2P_BATCH_ITEM_MAX  4096
#define P2P_BATCH_HEAD      2 /* the count */
#define P2P_BATCH_ITEM_HEAD 2 /* each item's length */

typedef struct {
	const uint8_t *p; /* the body, checked by p2p_batch_decode */
	size_t n, pos;
	uint32_t count; /* items */
} p2p_batch_msg;

/* FL_ETRUNC (an item runs past the end), FL_ETRAILING, FL_ETOOBIG (count
 * over P2P_BATCH_MAX or an item over P2P_BATCH_ITEM_MAX), FL_EPROTO (count
 * under 2, an item shorter than a message header or a BATCH inside a
 * BATCH), FL_EVERSION (an item of another message version). */
int p2p_batch_decode(p2p_batch_msg *m, const uint8_t *p, size_t n) FL_MUST_CHECK;
/* The next item of a decoded batch (pointing into its body): 1, or 0 after
 * the last. */
int p2p_batch_next(p2p_batch_msg *m, const uint8_t **msg, size_t *n);
/* Writers for the sender, which builds a batch in place in its write
 * buffer: the count, and one item (P2P_BATCH_ITEM_HEAD + n bytes; msg is
 * one message of P2P_MSG_HEADER..P2P_BATCH_ITEM_MAX bytes). */
void p2p_batch_put_count(uint8_t out[P2P_BATCH_HEAD], uint32_t count);
size_t p2p_batch_put_item(uint8_t *out, const uint8_t *msg, size_t n);

/* Body codecs (the header is separate). Encoders append to a writer;
 * decoders reject trailing bytes and out-of-range fields. */
int p2p_gossip_encode(fl_writer *w, const p2p_gossip_msg *m) FL_MUST_CHECK;
int p2p_gossip_decode(p2p_gossip_msg *m, const uint8_t *p, size_t n) FL_MUST_CHECK;
int p2p_request_encode(fl_writer *w, const p2p_request_msg *m) FL_MUST_CHECK;
int p2p_request_decode(p2p_request_msg *m, const uint8_t *p, size_t n) FL_MUST_CHECK;
int p2p_response_encode(fl_writer *w, const p2p_response_msg *m) FL_MUST_CHECK;
int p2p_response_decode(p2p_response_msg *m, const uint8_t *p, size_t n) FL_MUST_CHECK;
int p2p_blob_want_encode(fl_writer *w, const p2p_blob_want_msg *m) FL_MUST_CHECK;
int p2p_blob_want_decode(p2p_blob_want_msg *m, const uint8_t *p, size_t n) FL_MUST_CHECK;
int p2p_blob_chunk_encode(fl_writer *w, const p2p_blob_chunk_msg *m) FL_MUST_CHECK;
int p2p_blob_chunk_decode(p2p_blob_chunk_msg *m, const uint8_t *p, size_t n) FL_MUST_CHECK;
int p2p_addrs_encode(fl_writer *w, const p2p_addrs_msg *m) FL_MUST_CHECK;
int p2p_addrs_decode(p2p_addrs_msg *m, const uint8_t *p, size_t n) FL_MUST_CHECK;
/* p2p_addr_parse and p2p_listen_addr_parse: in p2p.h (the node's config
 * takes the same addresses). */

/* ================================================= host <-> blobs */

typedef enum { P2P_PRIO_HIGH = 0, P2P_PRIO_LOW = 1 } p2p_prio;

/* Queue one message (header + body) to a peer at a priority: high frames
 * are always written before low ones (blob chunks are low), so a large
 * transfer never delays votes or gossip by more than one frame. Same
 * slow-peer rule as p2p_send. Used by gossip, requests and blobs. */
int p2p_peer_queue(p2p_peer *p, p2p_prio prio, uint16_t type, const void *body,
		   size_t n) FL_MUST_CHECK;
/* The same with the body in two parts, head (at most P2P_QUEUE_HEAD_MAX
 * bytes) then body, copied once into the queue: a blob chunk goes from the
 * store's buffer to the queue without being encoded into a third one. */
#define P2P_QUEUE_HEAD_MAX 64
int p2p_peer_queue_head(p2p_peer *p, p2p_prio prio, uint16_t type, const void *head, size_t head_n,
			const void *body, size_t n) FL_MUST_CHECK;

/* Hooks the host calls into blob.c. */
typedef struct p2p_blobs p2p_blobs;
int p2p_blobs_new(p2p_blobs **out, p2p_host *h) FL_MUST_CHECK;
void p2p_blobs_free(p2p_blobs *b);
/* BLOB_WANT / BLOB_CHUNK / BLOB_NONE from a peer; a negative return makes
 * the host count it against the peer's score (protocol violation). */
int p2p_blobs_on_message(p2p_blobs *b, p2p_peer *p, uint16_t type, const uint8_t *body, size_t n);
/* A peer's session ended: move its fetches to other peers. */
void p2p_blobs_on_peer_gone(p2p_blobs *b, p2p_peer *p);
/* blob.c tells the host that p2p_blobs_free has finished: every fetch has
 * been called back and its last handle is closed. The host counts its
 * blobs as one open handle until then, so p2p_host_close's callback comes
 * after every fetch's FL_EIO. */
void p2p_host_blobs_closed(p2p_host *h);
/* Adds points to id's score, banning it at ban_score (book.c); blob.c
 * scores peers that stall a fetch or whose bytes proved wrong after the
 * chunk that carried them. Returns 1 if the id is now banned. */
int p2p_book_penalize(p2p_host *h, const fl_pubkey *id, int32_t points);
/* The host's config and loop, for blob.c. */
const p2p_config *p2p_host_config(const p2p_host *h);
uv_loop_t *p2p_host_loop(const p2p_host *h);
p2p_blobs *p2p_host_blobs(const p2p_host *h);

#endif
