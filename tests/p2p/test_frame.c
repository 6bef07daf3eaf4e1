/*
 * Encrypted frames: round trips at the size limits, the length prefix, and
 * every way a frame can be altered on the wire (a byte of ciphertext, a
 * length byte, replay, reordering, reflection) failing with FL_ECRYPTO.
 */
#include "p2p/internal.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NET "fedledger-test"

static void keyed_pair(p2p_session *a, p2p_session *b)
{
	uint8_t ha[P2P_HELLO_MAX], hb[P2P_HELLO_MAX];
	size_t na, nb;

	cr_assert_eq(p2p_hello_make(a, NET, P2P_ROLE_INITIATOR, ha, &na), FL_OK);
	cr_assert_eq(p2p_hello_make(b, NET, P2P_ROLE_RESPONDER, hb, &nb), FL_OK);
	cr_assert_eq(p2p_hello_accept(a, NET, hb, nb), FL_OK);
	cr_assert_eq(p2p_hello_accept(b, NET, ha, na), FL_OK);
}

static void le32(uint8_t out[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* A session keyed by hand, both directions with the same key (the wire
 * format does not depend on how the key was derived). */
static void session_with_key(p2p_session *s, const uint8_t key[P2P_KEY_LEN], uint64_t nonce)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->send_key, key, P2P_KEY_LEN);
	memcpy(s->recv_key, key, P2P_KEY_LEN);
	s->keys_ready = 1;
	s->send_nonce = nonce;
	s->recv_nonce = nonce;
	cr_assert_eq(p2p_frame_keys_init(s), FL_OK);
}

/* The frame as libsodium's crypto_aead_chacha20poly1305_ietf sealed it
 * before frames moved to OpenSSL: length, then ciphertext and tag. */
static void sodium_frame(uint8_t *out, const uint8_t key[32], uint64_t counter, const uint8_t *p,
			 size_t n)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
	unsigned long long ct_len;

	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(counter >> (8 * i));
	le32(out, (uint32_t)(n + P2P_TAG_LEN));
	cr_assert_eq(crypto_aead_chacha20poly1305_ietf_encrypt(out + 4, &ct_len, p, n, out, 4, NULL,
							       nonce, key),
		     0);
	cr_assert_eq(ct_len, n + P2P_TAG_LEN);
}

/* The wire format is unchanged by the move to OpenSSL: for fixed keys and
 * nonces (the counter's low and high bytes, and the last usable value) and
 * sizes around the 64-byte ChaCha block, the SIMD strides and frame.c's
 * small-frame cut-over (192), every sealed frame is byte-identical to
 * libsodium's, and libsodium's frames open. */
Test(frame, openssl_frames_match_libsodium)
{
	static const size_t sizes[] = {0,   1,   15,   16,   63,         64,           65,
				       103, 191, 192,  193,  255,        256,          257,
				       511, 512, 1000, 4096, 65536 + 83, P2P_MAX_FRAME};
	static const uint64_t counters[] = {
	    0, 1, 0xff, 0x100000000ull, 0x0102030405060708ull, UINT64_MAX - 1};
	uint8_t *msg = malloc(P2P_MAX_FRAME), *ours = malloc(P2P_MAX_FRAME + 20);
	uint8_t *theirs = malloc(P2P_MAX_FRAME + 20), *out = malloc(P2P_MAX_FRAME);
	uint8_t key[P2P_KEY_LEN];

	cr_assert(msg && ours && theirs && out);
	for (size_t i = 0; i < P2P_MAX_FRAME; i++)
		msg[i] = (uint8_t)(i * 131 + 7);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(k == 0 ? i : 0xff - 3 * i);
		for (size_t c = 0; c < FL_ARRAY_LEN(counters); c++) {
			for (size_t z = 0; z < FL_ARRAY_LEN(sizes); z++) {
				size_t n = sizes[z];
				p2p_session s;

				session_with_key(&s, key, counters[c]);
				cr_assert_eq(p2p_frame_seal(&s, ours, msg, n), FL_OK);
				sodium_frame(theirs, key, counters[c], msg, n);
				cr_assert_eq(memcmp(ours, theirs, n + 20), 0,
					     "key %d counter %zu size %zu", k, c, n);
				cr_assert_eq(p2p_frame_open(&s, theirs, theirs + 4, n + 16, out),
					     FL_OK);
				cr_assert_eq(memcmp(out, msg, n), 0);
				p2p_session_wipe(&s);
			}
		}
	}
	free(msg);
	free(ours);
	free(theirs);
	free(out);
}

/* One vector pinned in hex (from libsodium): key 00 01 .. 1f, counter
 * 0x0102030405060708, 37 bytes 80 81 .. a4. */
Test(frame, pinned_vector)
{
	static const char hex[] = "35000000a50ebfabb4f2a21a89fd502e863c0f9d441a5913e839f4897a61f8d1"
				  "1302e44a5b3ce26dc66a44b1eec6decfdf5223aeac3036f863";
	uint8_t key[P2P_KEY_LEN], msg[37], frame[37 + 20], want[37 + 20], out[37];
	p2p_session s;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(0x80 + i);
	cr_assert_eq(sodium_hex2bin(want, sizeof(want), hex, sizeof(hex) - 1, NULL, NULL, NULL), 0);
	session_with_key(&s, key, 0x0102030405060708ull);
	cr_assert_eq(p2p_frame_seal(&s, frame, msg, sizeof(msg)), FL_OK);
	cr_assert_eq(memcmp(frame, want, sizeof(want)), 0);
	cr_assert_eq(p2p_frame_open(&s, frame, frame + 4, sizeof(msg) + 16, out), FL_OK);
	cr_assert_eq(memcmp(out, msg, sizeof(msg)), 0);
	p2p_session_wipe(&s);
}

/* Opened in place (out == ct), as the host does for large frames; a
 * refused frame leaves no unverified plaintext behind (both frame.c paths:
 * a small frame and a large one). */
Test(frame, open_in_place_and_refused_output_zeroed)
{
	static const size_t sizes[] = {50, 300};
	p2p_session a, b;
	uint8_t msg[300], frame[300 + 20], copy[300 + 20];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i ^ 0x5c);
	keyed_pair(&a, &b);
	for (size_t k = 0; k < FL_ARRAY_LEN(sizes); k++) {
		size_t n = sizes[k];

		cr_assert_eq(p2p_frame_seal(&a, frame, msg, n), FL_OK);
		memcpy(copy, frame, n + 20);
		copy[n + 19] ^= 1; /* the tag */
		cr_assert_eq(p2p_frame_open(&b, copy, copy + 4, n + 16, copy + 4), FL_ECRYPTO);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(copy[4 + i], 0, "size %zu byte %zu", n, i);
		cr_assert_eq(p2p_frame_open(&b, frame, frame + 4, n + 16, frame + 4), FL_OK);
		cr_assert_eq(memcmp(frame + 4, msg, n), 0);
	}
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}

Test(frame, round_trip_sizes)
{
	static const size_t sizes[] = {0, 1, 15, 16, 17, 1000, 65536, P2P_MAX_FRAME};
	p2p_session a, b;
	uint8_t *msg = malloc(P2P_MAX_FRAME), *frame = malloc(P2P_MAX_FRAME + 20);
	uint8_t *out = malloc(P2P_MAX_FRAME);
	size_t ct_len;

	cr_assert(msg && frame && out);
	for (size_t i = 0; i < P2P_MAX_FRAME; i++)
		msg[i] = (uint8_t)(i * 31 + 7);
	keyed_pair(&a, &b);
	for (size_t k = 0; k < FL_ARRAY_LEN(sizes); k++) {
		size_t n = sizes[k];
		cr_assert_eq(p2p_frame_seal(&a, frame, msg, n), FL_OK);
		cr_assert_eq(frame[0] | frame[1] << 8 | frame[2] << 16 | (uint32_t)frame[3] << 24,
			     n + P2P_TAG_LEN);
		cr_assert_eq(p2p_frame_length(frame, P2P_MAX_FRAME, &ct_len), FL_OK);
		cr_assert_eq(ct_len, n + P2P_TAG_LEN);
		/* Not the plaintext in clear. */
		if (n >= 16)
			cr_assert_neq(memcmp(frame + 4, msg, 16), 0);
		cr_assert_eq(p2p_frame_open(&b, frame, frame + 4, ct_len, out), FL_OK);
		cr_assert_eq(memcmp(out, msg, n), 0, "size %zu", n);
	}
	cr_assert_eq(a.send_nonce, FL_ARRAY_LEN(sizes));
	cr_assert_eq(b.recv_nonce, FL_ARRAY_LEN(sizes));
	cr_assert_eq(p2p_frame_seal(&a, frame, msg, (size_t)P2P_MAX_FRAME + 1), FL_ETOOBIG);
	cr_assert_eq(a.send_nonce, FL_ARRAY_LEN(sizes));
	free(msg);
	free(frame);
	free(out);
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}

Test(frame, same_plaintext_differs_per_frame)
{
	p2p_session a, b;
	uint8_t f1[32 + 20], f2[32 + 20], msg[32] = {0};

	keyed_pair(&a, &b);
	cr_assert_eq(p2p_frame_seal(&a, f1, msg, sizeof(msg)), FL_OK);
	cr_assert_eq(p2p_frame_seal(&a, f2, msg, sizeof(msg)), FL_OK);
	cr_assert_neq(memcmp(f1 + 4, f2 + 4, sizeof(msg) + 16), 0);
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}

Test(frame, length_limits)
{
	uint8_t hdr[4];
	size_t ct_len = 12345;

	for (uint32_t l = 0; l < P2P_TAG_LEN; l++) {
		le32(hdr, l);
		cr_assert_eq(p2p_frame_length(hdr, P2P_MAX_FRAME, &ct_len), FL_EPROTO, "L=%u", l);
	}
	cr_assert_eq(ct_len, 12345);
	le32(hdr, P2P_TAG_LEN);
	cr_assert_eq(p2p_frame_length(hdr, P2P_MAX_FRAME, &ct_len), FL_OK);
	cr_assert_eq(ct_len, P2P_TAG_LEN);
	le32(hdr, P2P_MAX_FRAME + P2P_TAG_LEN);
	cr_assert_eq(p2p_frame_length(hdr, P2P_MAX_FRAME, &ct_len), FL_OK);
	cr_assert_eq(ct_len, P2P_MAX_FRAME + P2P_TAG_LEN);
	le32(hdr, P2P_MAX_FRAME + P2P_TAG_LEN + 1);
	cr_assert_eq(p2p_frame_length(hdr, P2P_MAX_FRAME, &ct_len), FL_ETOOBIG);
	le32(hdr, UINT32_MAX);
	cr_assert_eq(p2p_frame_length(hdr, P2P_MAX_FRAME, &ct_len), FL_ETOOBIG);
	/* A host configured below the hard maximum. */
	le32(hdr, 1000 + P2P_TAG_LEN);
	cr_assert_eq(p2p_frame_length(hdr, 1000, &ct_len), FL_OK);
	le32(hdr, 1001 + P2P_TAG_LEN);
	cr_assert_eq(p2p_frame_length(hdr, 1000, &ct_len), FL_ETOOBIG);
	/* A max_frame above the hard maximum does not lift it. */
	le32(hdr, P2P_MAX_FRAME + P2P_TAG_LEN + 1);
	cr_assert_eq(p2p_frame_length(hdr, UINT32_MAX, &ct_len), FL_ETOOBIG);
}

Test(frame, tampered_ciphertext)
{
	p2p_session a, b;
	uint8_t msg[40], frame[40 + 20], bad[40 + 20], out[40];

	memset(msg, 0x42, sizeof(msg));
	keyed_pair(&a, &b);
	cr_assert_eq(p2p_frame_seal(&a, frame, msg, sizeof(msg)), FL_OK);
	/* Every byte of ciphertext and tag, one at a time. */
	for (size_t i = 4; i < sizeof(frame); i++) {
		memcpy(bad, frame, sizeof(frame));
		bad[i] ^= 0x01;
		cr_assert_eq(p2p_frame_open(&b, bad, bad + 4, sizeof(frame) - 4, out), FL_ECRYPTO,
			     "byte %zu", i);
		cr_assert_eq(b.recv_nonce, 0);
	}
	/* The receive nonce did not move: the genuine frame still opens. */
	cr_assert_eq(p2p_frame_open(&b, frame, frame + 4, sizeof(frame) - 4, out), FL_OK);
	cr_assert_eq(memcmp(out, msg, sizeof(msg)), 0);
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}

/* The receiver reads the length it is told, then that many bytes: a changed
 * length shifts the frame boundary and the MAC fails either way. */
Test(frame, tampered_length)
{
	p2p_session a, b;
	uint8_t msg[40], stream[40 + 20 + 8], hdr[4], out[64];
	size_t ct_len;

	memset(msg, 0x17, sizeof(msg));
	memset(stream, 0xaa, sizeof(stream));
	keyed_pair(&a, &b);
	cr_assert_eq(p2p_frame_seal(&a, stream, msg, sizeof(msg)), FL_OK);
	for (int delta = -1; delta <= 1; delta += 2) {
		memcpy(hdr, stream, 4);
		hdr[0] = (uint8_t)(hdr[0] + delta);
		cr_assert_eq(p2p_frame_length(hdr, P2P_MAX_FRAME, &ct_len), FL_OK);
		cr_assert_eq(ct_len, sizeof(msg) + 16 + delta);
		cr_assert_eq(p2p_frame_open(&b, hdr, stream + 4, ct_len, out), FL_ECRYPTO);
	}
	/* A changed high byte with the body length unchanged is caught as
	 * inconsistent before any decryption. */
	memcpy(hdr, stream, 4);
	hdr[1] ^= 1;
	cr_assert_eq(p2p_frame_open(&b, hdr, stream + 4, sizeof(msg) + 16, out), FL_EPROTO);
	cr_assert_eq(b.recv_nonce, 0);
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}

Test(frame, replay_reorder_reflect)
{
	p2p_session a, b;
	uint8_t f1[8 + 20], f2[8 + 20], out[8];
	const uint8_t m1[8] = "first..", m2[8] = "second.";

	keyed_pair(&a, &b);
	cr_assert_eq(p2p_frame_seal(&a, f1, m1, 8), FL_OK);
	cr_assert_eq(p2p_frame_seal(&a, f2, m2, 8), FL_OK);
	/* Reordered: the second frame first. */
	cr_assert_eq(p2p_frame_open(&b, f2, f2 + 4, 24, out), FL_ECRYPTO);
	/* Reflected: A's own frame back to A. */
	cr_assert_eq(p2p_frame_open(&a, f1, f1 + 4, 24, out), FL_ECRYPTO);
	cr_assert_eq(p2p_frame_open(&b, f1, f1 + 4, 24, out), FL_OK);
	cr_assert_eq(memcmp(out, m1, 8), 0);
	/* Replayed. */
	cr_assert_eq(p2p_frame_open(&b, f1, f1 + 4, 24, out), FL_ECRYPTO);
	cr_assert_eq(p2p_frame_open(&b, f2, f2 + 4, 24, out), FL_OK);
	cr_assert_eq(memcmp(out, m2, 8), 0);
	/* Dropped: the frame after a lost one fails too. */
	cr_assert_eq(p2p_frame_seal(&a, f1, m1, 8), FL_OK);
	cr_assert_eq(p2p_frame_seal(&a, f2, m2, 8), FL_OK);
	cr_assert_eq(p2p_frame_open(&b, f2, f2 + 4, 24, out), FL_ECRYPTO);
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}

Test(frame, session_from_another_handshake)
{
	p2p_session a, b, c, d;
	uint8_t f[8 + 20], out[8];

	keyed_pair(&a, &b);
	keyed_pair(&c, &d);
	cr_assert_eq(p2p_frame_seal(&a, f, (const uint8_t *)"payload", 8), FL_OK);
	cr_assert_eq(p2p_frame_open(&d, f, f + 4, 24, out), FL_ECRYPTO);
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
	p2p_session_wipe(&c);
	p2p_session_wipe(&d);
}

Test(frame, nonce_exhaustion)
{
	p2p_session a, b;
	uint8_t f[1 + 20], out[1];

	keyed_pair(&a, &b);
	a.send_nonce = UINT64_MAX - 1;
	b.recv_nonce = UINT64_MAX - 1;
	cr_assert_eq(p2p_frame_seal(&a, f, (const uint8_t *)"x", 1), FL_OK);
	cr_assert_eq(p2p_frame_open(&b, f, f + 4, 17, out), FL_OK);
	cr_assert_eq(out[0], 'x');
	cr_assert_eq(p2p_frame_seal(&a, f, (const uint8_t *)"y", 1), FL_EPROTO);
	cr_assert_eq(p2p_frame_open(&b, f, f + 4, 17, out), FL_EPROTO);
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}

Test(frame, open_rejects_inconsistent_lengths)
{
	p2p_session a, b;
	uint8_t f[4 + 16], out[1];

	keyed_pair(&a, &b);
	le32(f, 15);
	cr_assert_eq(p2p_frame_open(&b, f, f + 4, 15, out), FL_EPROTO);
	le32(f, 16);
	cr_assert_eq(p2p_frame_open(&b, f, f + 4, 17, out), FL_EPROTO);
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}

/* Sealed in place (plaintext at out + 4) gives the same bytes as sealed
 * from another buffer, for both ciphers' sizes. */
Test(frame, seal_in_place_matches)
{
	static const size_t sizes[] = {0, 1, 100, 192, 193, 4096, 65536 + 7};
	static uint8_t a[P2P_LEN_PREFIX + 65543 + P2P_TAG_LEN], b[sizeof(a)], p[65543];
	uint8_t key[P2P_KEY_LEN];
	p2p_session s1, s2;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x40 + i);
	for (size_t i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)(i * 7);
	session_with_key(&s1, key, 5);
	session_with_key(&s2, key, 5);
	for (size_t k = 0; k < FL_ARRAY_LEN(sizes); k++) {
		size_t n = sizes[k];

		cr_assert_eq(p2p_frame_seal(&s1, a, p, n), FL_OK);
		memcpy(b + P2P_LEN_PREFIX, p, n);
		cr_assert_eq(p2p_frame_seal(&s2, b, b + P2P_LEN_PREFIX, n), FL_OK);
		cr_assert_eq(memcmp(a, b, P2P_LEN_PREFIX + n + P2P_TAG_LEN), 0, "size %zu", n);
	}
	p2p_session_wipe(&s1);
	p2p_session_wipe(&s2);
}

/* Opened piece by piece as it arrives (any split), a large frame gives the
 * plaintext p2p_frame_open gives; a flipped byte anywhere, the tag
 * included, fails at the end with the plaintext zeroed and the nonce
 * unmoved; a small frame is refused the streamed path. */
Test(frame, streamed_open)
{
	static uint8_t frame[P2P_LEN_PREFIX + 200000 + P2P_TAG_LEN], work[sizeof(frame)], p[200000];
	static const size_t pieces[] = {1, 13, 4096, 65536, 200000};
	p2p_session tx, rx;
	const size_t n = sizeof(p), ct_len = n + P2P_TAG_LEN;

	keyed_pair(&tx, &rx);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i ^ (i >> 8));
	for (size_t k = 0; k < FL_ARRAY_LEN(pieces); k++) {
		for (int flip = 0; flip < 3; flip++) {
			uint64_t before = rx.recv_nonce;
			size_t at = flip == 1 ? P2P_LEN_PREFIX + 12345 : P2P_LEN_PREFIX + n + 3;
			int rc;

			tx.send_nonce = before;
			cr_assert_eq(p2p_frame_seal(&tx, frame, p, n), FL_OK);
			if (flip > 0)
				frame[at] ^= 0x01;
			memcpy(work, frame, sizeof(frame));
			cr_assert_eq(p2p_frame_open_begin(&rx, work, ct_len), FL_OK);
			for (size_t done = 0; done < n;) {
				size_t m = pieces[k] < n - done ? pieces[k] : n - done;

				cr_assert_eq(p2p_frame_open_update(
						 &rx, work + P2P_LEN_PREFIX + done,
						 (done / m) % 2 ? frame + P2P_LEN_PREFIX + done
								: work + P2P_LEN_PREFIX + done,
						 m),
					     FL_OK);
				done += m;
			}
			rc = p2p_frame_open_end(&rx, work + P2P_LEN_PREFIX, n,
						work + P2P_LEN_PREFIX + n);
			if (flip == 0) {
				cr_assert_eq(rc, FL_OK);
				cr_assert_eq(memcmp(work + P2P_LEN_PREFIX, p, n), 0);
				cr_assert_eq(rx.recv_nonce, before + 1);
				rx.recv_nonce = before;
			} else {
				cr_assert_eq(rc, FL_ECRYPTO, "piece %zu flip %d", pieces[k], flip);
				for (size_t i = 0; i < n; i++)
					cr_assert_eq(work[P2P_LEN_PREFIX + i], 0);
				cr_assert_eq(rx.recv_nonce, before);
			}
		}
	}
	/* A length that disagrees with the header, or a small frame. */
	cr_assert_eq(p2p_frame_open_begin(&rx, frame, ct_len + 1), FL_EPROTO);
	le32(work, 100 + P2P_TAG_LEN);
	cr_assert_eq(p2p_frame_open_begin(&rx, work, 100 + P2P_TAG_LEN), FL_EPROTO);
	p2p_session_wipe(&tx);
	p2p_session_wipe(&rx);
}

/* Sealed from two parts, the frame is the one sealed from their
 * concatenation, around the libsodium / OpenSSL boundary and far past it. */
Test(frame, seal_parts_matches)
{
	static const size_t sizes[] = {3, 100, 192, 193, 300, 20000, 1000000};
	static const size_t heads[] = {0, 1, 3, 67};
	static uint8_t a[P2P_LEN_PREFIX + 1000067 + P2P_TAG_LEN], b[sizeof(a)], p[1000067];
	uint8_t key[P2P_KEY_LEN];
	p2p_session s1, s2;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x90 ^ i);
	for (size_t i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)(i * 13 + 1);
	session_with_key(&s1, key, 77);
	session_with_key(&s2, key, 77);
	for (size_t k = 0; k < FL_ARRAY_LEN(sizes); k++) {
		for (size_t j = 0; j < FL_ARRAY_LEN(heads); j++) {
			size_t h = heads[j] < sizes[k] ? heads[j] : sizes[k], n = sizes[k] - h;

			cr_assert_eq(p2p_frame_seal(&s1, a, p, h + n), FL_OK);
			cr_assert_eq(p2p_frame_seal_parts(&s2, b, p, h, p + h, n), FL_OK);
			cr_assert_eq(memcmp(a, b, P2P_LEN_PREFIX + h + n + P2P_TAG_LEN), 0,
				     "size %zu head %zu", h + n, h);
		}
	}
	cr_assert_eq(s1.send_nonce, s2.send_nonce);
	p2p_session_wipe(&s1);
	p2p_session_wipe(&s2);
}
