/*
 * fuzz_frame — the receive path of a session on arbitrary bytes.
 *
 * A fixed pair of sessions (fixed ephemeral secrets, so runs reproduce):
 *   1. the input as a stream of frames into the receiver:
 *      p2p_frame_length, then p2p_frame_open on the bytes it names, then
 *      the message header and body of each frame that opens;
 *   2. the input sealed by the sender and opened by the receiver: it must
 *      come back identical, and one flipped byte must fail the MAC;
 *   3. the input itself as a message (header + body) and as every body.
 * Every body that decodes must re-encode to exactly the bytes it came from;
 * a BATCH that decodes yields exactly its count of items, each inside the
 * body, none a BATCH, each a message that parses (and is fuzzed as one).
 */
#include "p2p/internal.h"

#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NET            "fuzz-net"
#define FUZZ_MAX_FRAME (64 * 1024) /* keeps each run's buffers small */

static void check(int cond)
{
	if (!cond)
		abort();
}

static void fixed_session(p2p_session *s, uint8_t *hello, size_t *n, uint8_t seed)
{
	/* The roles only matter to AUTH, which this target does not reach. */
	check(p2p_hello_make(s, NET, P2P_ROLE_INITIATOR, hello, n) == FL_OK);
	memset(s->eph_sk, seed, sizeof(s->eph_sk));
	check(crypto_scalarmult_curve25519_base(s->eph_pk, s->eph_sk) == 0);
	memcpy(hello + *n - 32, s->eph_pk, 32);
}

static void same_bytes(fl_writer *w, const uint8_t *p, size_t n)
{
	check(fl_writer_finish(w) == FL_OK);
	check(w->len == n && (n == 0 || memcmp(w->buf, p, n) == 0));
	fl_writer_free(w);
}

/* Every body decoder on p[0..n); decoded values re-encode identically. */
static void bodies(const uint8_t *p, size_t n)
{
	static p2p_addrs_msg addrs;
	p2p_gossip_msg g;
	p2p_request_msg rq;
	p2p_response_msg rs;
	p2p_blob_want_msg bw;
	p2p_blob_chunk_msg bc;
	fl_writer w;

	if (p2p_gossip_decode(&g, p, n) == FL_OK) {
		fl_writer_init(&w, 0);
		check(p2p_gossip_encode(&w, &g) == FL_OK);
		same_bytes(&w, p, n);
	}
	if (p2p_request_decode(&rq, p, n) == FL_OK) {
		fl_writer_init(&w, 0);
		check(p2p_request_encode(&w, &rq) == FL_OK);
		same_bytes(&w, p, n);
	}
	if (p2p_response_decode(&rs, p, n) == FL_OK) {
		check(rs.status <= 0);
		fl_writer_init(&w, 0);
		check(p2p_response_encode(&w, &rs) == FL_OK);
		same_bytes(&w, p, n);
	}
	if (p2p_blob_want_decode(&bw, p, n) == FL_OK) {
		check(bw.credit >= 1 && bw.credit <= P2P_BLOB_MAX_CREDIT);
		fl_writer_init(&w, 0);
		check(p2p_blob_want_encode(&w, &bw) == FL_OK);
		same_bytes(&w, p, n);
	}
	if (p2p_blob_chunk_decode(&bc, p, n) == FL_OK) {
		check(bc.n >= 1 && bc.n <= P2P_BLOB_CHUNK && bc.offset + bc.n <= bc.total);
		fl_writer_init(&w, 0);
		check(p2p_blob_chunk_encode(&w, &bc) == FL_OK);
		same_bytes(&w, p, n);
	}
	if (p2p_addrs_decode(&addrs, p, n) == FL_OK) {
		struct sockaddr_in sa;
		check(addrs.n <= P2P_ADDRS_MAX);
		for (uint32_t i = 0; i < addrs.n; i++)
			check(p2p_addr_parse(addrs.addr[i], &sa) == FL_OK);
		fl_writer_init(&w, 0);
		check(p2p_addrs_encode(&w, &addrs) == FL_OK);
		same_bytes(&w, p, n);
	}
}

static void message(const uint8_t *p, size_t n);

/* The BATCH decoder: all or nothing, items inside the body, re-encoded
 * to the same bytes by the sender's writers. */
static void batch(const uint8_t *p, size_t n)
{
	static uint8_t again[P2P_BATCH_HEAD + FUZZ_MAX_FRAME];
	const uint8_t *msg, *body;
	size_t msg_n, body_n, pos = P2P_BATCH_HEAD;
	uint32_t items = 0;
	uint16_t type;
	p2p_batch_msg m;
	int rc = p2p_batch_decode(&m, p, n);

	check(rc == FL_OK || rc == FL_ETRUNC || rc == FL_ETRAILING || rc == FL_ETOOBIG ||
	      rc == FL_EPROTO || rc == FL_EVERSION);
	if (rc != FL_OK) {
		check(p2p_batch_next(&m, &msg, &msg_n) == 0);
		return;
	}
	check(m.count >= 2 && m.count <= P2P_BATCH_MAX && n <= sizeof(again));
	p2p_batch_put_count(again, m.count);
	while (p2p_batch_next(&m, &msg, &msg_n)) {
		check(msg >= p && msg_n <= n && msg - p <= (ptrdiff_t)(n - msg_n));
		check(msg_n >= P2P_MSG_HEADER && msg_n <= P2P_BATCH_ITEM_MAX);
		check(p2p_msg_parse(msg, msg_n, &type, &body, &body_n) == FL_OK);
		check(type != P2P_TYPE_BATCH);
		pos += p2p_batch_put_item(again + pos, msg, msg_n);
		message(msg, msg_n);
		items++;
	}
	check(items == m.count && pos == n && memcmp(again, p, n) == 0);
}

/* A plaintext as the host sees it: header, then the body for its type. */
static void message(const uint8_t *p, size_t n)
{
	const uint8_t *body;
	size_t body_len;
	uint16_t type;
	int rc;

	rc = p2p_msg_parse(p, n, &type, &body, &body_len);
	check(rc == FL_OK || rc == FL_EPROTO || rc == FL_EVERSION);
	if (rc != FL_OK)
		return;
	check(n >= P2P_MSG_HEADER && body == p + P2P_MSG_HEADER && body_len == n - P2P_MSG_HEADER);
	{
		uint8_t hdr[P2P_MSG_HEADER];
		p2p_msg_header(hdr, type);
		check(memcmp(hdr, p, P2P_MSG_HEADER) == 0);
	}
	bodies(body, body_len);
	if (type == P2P_TYPE_BATCH)
		batch(body, body_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sealed[P2P_LEN_PREFIX + FUZZ_MAX_FRAME + P2P_TAG_LEN];
	static uint8_t plain[FUZZ_MAX_FRAME];
	p2p_session tx, rx;
	uint8_t htx[P2P_HELLO_MAX], hrx[P2P_HELLO_MAX];
	size_t ntx, nrx, pos = 0;

	fixed_session(&tx, htx, &ntx, 0x11);
	fixed_session(&rx, hrx, &nrx, 0x22);
	check(p2p_hello_accept(&tx, NET, hrx, nrx) == FL_OK);
	check(p2p_hello_accept(&rx, NET, htx, ntx) == FL_OK);

	/* 1. A stream of frames. */
	while (size - pos >= P2P_LEN_PREFIX) {
		const uint8_t *hdr = data + pos;
		uint64_t before = rx.recv_nonce;
		size_t ct_len;
		int rc = p2p_frame_length(hdr, FUZZ_MAX_FRAME, &ct_len);

		check(rc == FL_OK || rc == FL_EPROTO || rc == FL_ETOOBIG);
		if (rc != FL_OK)
			break;
		check(ct_len >= P2P_TAG_LEN && ct_len - P2P_TAG_LEN <= FUZZ_MAX_FRAME);
		pos += P2P_LEN_PREFIX;
		if (size - pos < ct_len)
			break;
		rc = p2p_frame_open(&rx, hdr, data + pos, ct_len, plain);
		check(rc == FL_OK || rc == FL_ECRYPTO);
		check(rx.recv_nonce == before + (rc == FL_OK));
		if (rc != FL_OK)
			break;
		message(plain, ct_len - P2P_TAG_LEN);
		pos += ct_len;
	}

	/* 2. Seal and open: identity, and a flipped byte is caught. */
	if (size <= FUZZ_MAX_FRAME) {
		size_t ct_len;
		uint64_t rx_nonce = rx.recv_nonce;

		check(p2p_frame_seal(&tx, sealed, data, size) == FL_OK);
		check(p2p_frame_length(sealed, FUZZ_MAX_FRAME, &ct_len) == FL_OK);
		check(ct_len == size + P2P_TAG_LEN);
		if (size > 0) {
			size_t at = P2P_LEN_PREFIX + data[0] % ct_len;
			sealed[at] ^= 0x80;
			check(p2p_frame_open(&rx, sealed, sealed + P2P_LEN_PREFIX, ct_len, plain) ==
			      FL_ECRYPTO);
			sealed[at] ^= 0x80;
		}
		rx.recv_nonce = tx.send_nonce - 1;
		check(p2p_frame_open(&rx, sealed, sealed + P2P_LEN_PREFIX, ct_len, plain) == FL_OK);
		check(size == 0 || memcmp(plain, data, size) == 0);
		rx.recv_nonce = rx_nonce;
	}

	/* 3. The raw input as a message and as every body. */
	message(data, size);
	bodies(data, size);
	batch(data, size);

	p2p_session_wipe(&tx);
	p2p_session_wipe(&rx);
	return 0;
}
