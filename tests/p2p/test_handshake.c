/*
 * The session handshake on two in-memory sessions: HELLO parsing (magic,
 * version, network id, exact length), the ephemeral key checks (low order,
 * reflection), key agreement in both directions, and AUTH forgeries.
 */
#include "p2p/internal.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#define NET "fedledger-test"

typedef struct {
	p2p_session s;
	uint8_t hello[P2P_HELLO_MAX];
	size_t hello_n;
	fl_seckey sk;
	fl_pubkey pk;
} side;

static void side_init(side *x, const char *net)
{
	cr_assert_eq(fl_key_generate(&x->sk, &x->pk), FL_OK);
	cr_assert_eq(p2p_hello_make(&x->s, net, x->hello, &x->hello_n), FL_OK);
}

/* Two sides that have exchanged HELLOs. */
static void pair(side *a, side *b)
{
	side_init(a, NET);
	side_init(b, NET);
	cr_assert_eq(p2p_hello_accept(&a->s, NET, b->hello, b->hello_n), FL_OK);
	cr_assert_eq(p2p_hello_accept(&b->s, NET, a->hello, a->hello_n), FL_OK);
}

/* x's AUTH, sealed and opened by y as the host would do it. */
static int send_auth(side *x, side *y)
{
	uint8_t auth[P2P_AUTH_LEN], frame[P2P_LEN_PREFIX + P2P_AUTH_LEN + P2P_TAG_LEN];
	uint8_t plain[P2P_AUTH_LEN];
	size_t ct_len;

	cr_assert_eq(p2p_auth_make(&x->s, NET, &x->sk, auth), FL_OK);
	cr_assert_eq(p2p_frame_seal(&x->s, frame, auth, sizeof(auth)), FL_OK);
	cr_assert_eq(p2p_frame_length(frame, P2P_MAX_FRAME, &ct_len), FL_OK);
	cr_assert_eq(ct_len, P2P_AUTH_LEN + P2P_TAG_LEN);
	cr_assert_eq(p2p_frame_open(&y->s, frame, frame + P2P_LEN_PREFIX, ct_len, plain), FL_OK);
	return p2p_auth_accept(&y->s, NET, plain, sizeof(plain));
}

Test(handshake, hello_layout)
{
	side a;

	side_init(&a, NET);
	cr_assert_eq(a.hello_n, P2P_MAGIC_LEN + 2 + strlen(NET) + 32);
	cr_assert_eq(memcmp(a.hello, "FLP2P", 5), 0);
	cr_assert_eq(a.hello[5], P2P_VERSION);
	cr_assert_eq(a.hello[6], strlen(NET));
	cr_assert_eq(memcmp(a.hello + 7, NET, strlen(NET)), 0);
	cr_assert_eq(memcmp(a.hello + 7 + strlen(NET), a.s.eph_pk, 32), 0);
	cr_assert_eq(a.s.keys_ready, 0);
	cr_assert_eq(a.s.authenticated, 0);
	p2p_session_wipe(&a.s);
}

Test(handshake, full_both_directions)
{
	side a, b;
	uint8_t msg[100], frame[sizeof(msg) + P2P_LEN_PREFIX + P2P_TAG_LEN], out[sizeof(msg)];

	pair(&a, &b);
	cr_assert(a.s.keys_ready && b.s.keys_ready);
	cr_assert_eq(memcmp(a.s.transcript.b, b.s.transcript.b, FL_HASH_LEN), 0);
	cr_assert_eq(memcmp(a.s.send_key, b.s.recv_key, P2P_KEY_LEN), 0);
	cr_assert_eq(memcmp(a.s.recv_key, b.s.send_key, P2P_KEY_LEN), 0);
	cr_assert_neq(memcmp(a.s.send_key, a.s.recv_key, P2P_KEY_LEN), 0);
	cr_assert_eq(memcmp(a.s.remote_eph, b.s.eph_pk, 32), 0);
	/* The ephemeral secret is gone once the keys exist. */
	for (size_t i = 0; i < sizeof(a.s.eph_sk); i++)
		cr_assert_eq(a.s.eph_sk[i] | b.s.eph_sk[i], 0);

	cr_assert_eq(send_auth(&a, &b), FL_OK);
	cr_assert_eq(send_auth(&b, &a), FL_OK);
	cr_assert(a.s.authenticated && b.s.authenticated);
	cr_assert_eq(fl_pubkey_cmp(&a.s.remote_id, &b.pk), 0);
	cr_assert_eq(fl_pubkey_cmp(&b.s.remote_id, &a.pk), 0);

	/* Several frames each way, interleaved. */
	for (int i = 0; i < 5; i++) {
		memset(msg, 'a' + i, sizeof(msg));
		cr_assert_eq(p2p_frame_seal(&a.s, frame, msg, sizeof(msg)), FL_OK);
		cr_assert_eq(p2p_frame_open(&b.s, frame, frame + 4, sizeof(msg) + 16, out), FL_OK);
		cr_assert_eq(memcmp(out, msg, sizeof(msg)), 0);
		memset(msg, 'A' + i, sizeof(msg));
		cr_assert_eq(p2p_frame_seal(&b.s, frame, msg, sizeof(msg)), FL_OK);
		cr_assert_eq(p2p_frame_open(&a.s, frame, frame + 4, sizeof(msg) + 16, out), FL_OK);
		cr_assert_eq(memcmp(out, msg, sizeof(msg)), 0);
	}
	cr_assert_eq(a.s.send_nonce, 6);
	cr_assert_eq(b.s.recv_nonce, 6);

	/* A second AUTH on an authenticated session is a violation. */
	cr_assert_eq(send_auth(&a, &b), FL_EPROTO);
	/* And so is a second HELLO. */
	cr_assert_eq(p2p_hello_accept(&a.s, NET, b.hello, b.hello_n), FL_EPROTO);
	p2p_session_wipe(&a.s);
	p2p_session_wipe(&b.s);
}

Test(handshake, wrong_network_id)
{
	side a, b, c;

	side_init(&a, NET);
	side_init(&b, "fedledger-other");
	side_init(&c, "fedledger-tesT"); /* same length, one byte off */
	cr_assert_eq(p2p_hello_accept(&a.s, NET, b.hello, b.hello_n), FL_ECHAIN);
	cr_assert_eq(p2p_hello_accept(&a.s, NET, c.hello, c.hello_n), FL_ECHAIN);
	cr_assert_eq(p2p_hello_accept(&b.s, "fedledger-other", a.hello, a.hello_n), FL_ECHAIN);
	cr_assert_eq(a.s.keys_ready, 0);
	p2p_session_wipe(&a.s);
	p2p_session_wipe(&b.s);
	p2p_session_wipe(&c.s);
}

Test(handshake, invalid_local_network_id)
{
	p2p_session s;
	uint8_t hello[P2P_HELLO_MAX];
	char longid[P2P_NETWORK_ID_MAX + 2];
	size_t n;

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	cr_assert_eq(p2p_hello_make(&s, "", hello, &n), FL_EINVAL);
	cr_assert_eq(p2p_hello_make(&s, longid, hello, &n), FL_EINVAL);
	longid[P2P_NETWORK_ID_MAX] = '\0';
	cr_assert_eq(p2p_hello_make(&s, longid, hello, &n), FL_OK);
	cr_assert_eq(n, P2P_HELLO_MAX);
	p2p_session_wipe(&s);
}

Test(handshake, bad_magic_and_version)
{
	side a, b;
	uint8_t h[P2P_HELLO_MAX];

	side_init(&a, NET);
	side_init(&b, NET);
	for (size_t i = 0; i < P2P_MAGIC_LEN; i++) {
		memcpy(h, b.hello, b.hello_n);
		h[i] ^= 0x20;
		cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n), FL_EPROTO);
	}
	memcpy(h, b.hello, b.hello_n);
	h[P2P_MAGIC_LEN] = 2;
	cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n), FL_EVERSION);
	h[P2P_MAGIC_LEN] = 0;
	cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n), FL_EVERSION);
	cr_assert_eq(a.s.keys_ready, 0);
	/* The good one still works after all the refusals. */
	cr_assert_eq(p2p_hello_accept(&a.s, NET, b.hello, b.hello_n), FL_OK);
	p2p_session_wipe(&a.s);
	p2p_session_wipe(&b.s);
}

Test(handshake, truncated_and_overlong_hello)
{
	side a, b;
	uint8_t h[P2P_HELLO_MAX + 1];

	side_init(&a, NET);
	side_init(&b, NET);
	for (size_t n = 0; n < b.hello_n; n++)
		cr_assert_eq(p2p_hello_accept(&a.s, NET, b.hello, n), FL_EPROTO, "prefix %zu", n);
	memcpy(h, b.hello, b.hello_n);
	h[b.hello_n] = 0;
	cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n + 1), FL_EPROTO);
	/* A network-id length that disagrees with the message size. */
	memcpy(h, b.hello, b.hello_n);
	h[6]++;
	cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n), FL_EPROTO);
	h[6] -= 2;
	cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n), FL_EPROTO);
	/* A length over the maximum, with enough bytes behind it. */
	memset(h, 'n', sizeof(h));
	memcpy(h, "FLP2P\x01", 6);
	h[6] = P2P_NETWORK_ID_MAX + 1;
	cr_assert_eq(p2p_hello_accept(&a.s, NET, h, sizeof(h)), FL_EPROTO);
	cr_assert_eq(a.s.keys_ready, 0);
	p2p_session_wipe(&a.s);
	p2p_session_wipe(&b.s);
}

/* Low-order points of Curve25519 (u = 0, 1, p - 1) and a non-canonical
 * encoding of 0 (u = p): each gives an all-zero shared secret. */
Test(handshake, low_order_ephemeral_refused)
{
	static const uint8_t p_minus_1[32] = {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	static const uint8_t p_itself[32] = {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	uint8_t keys[4][32] = {{0}, {1}};
	side a, b;
	uint8_t h[P2P_HELLO_MAX];

	memcpy(keys[2], p_minus_1, 32);
	memcpy(keys[3], p_itself, 32);
	side_init(&a, NET);
	side_init(&b, NET);
	for (size_t k = 0; k < 4; k++) {
		memcpy(h, b.hello, b.hello_n);
		memcpy(h + b.hello_n - 32, keys[k], 32);
		cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n), FL_EPROTO, "key %zu", k);
		cr_assert_eq(a.s.keys_ready, 0);
	}
	p2p_session_wipe(&a.s);
	p2p_session_wipe(&b.s);
}

Test(handshake, reflection_refused)
{
	side a;

	side_init(&a, NET);
	cr_assert_eq(p2p_hello_accept(&a.s, NET, a.hello, a.hello_n), FL_EPROTO);
	cr_assert_eq(a.s.keys_ready, 0);
	p2p_session_wipe(&a.s);
}

/* AUTH checked directly (the frame layer is tested on its own). */
Test(handshake, forged_auth)
{
	side a, b, c, d;
	uint8_t auth[P2P_AUTH_LEN], forged[P2P_AUTH_LEN];

	pair(&a, &b);
	side_init(&c, NET);
	cr_assert_eq(p2p_auth_make(&b.s, NET, &b.sk, auth), FL_OK);

	/* B's public key, signed by C. */
	cr_assert_eq(p2p_auth_make(&b.s, NET, &c.sk, forged), FL_OK);
	memcpy(forged, b.pk.b, FL_PUBKEY_LEN);
	cr_assert_eq(p2p_auth_accept(&a.s, NET, forged, sizeof(forged)), FL_ESIG);

	/* One flipped bit anywhere: key or signature. */
	for (size_t i = 0; i < P2P_AUTH_LEN; i += 7) {
		memcpy(forged, auth, sizeof(auth));
		forged[i] ^= (uint8_t)(1u << (i % 8));
		cr_assert_eq(p2p_auth_accept(&a.s, NET, forged, sizeof(forged)), FL_ESIG, "bit %zu",
			     i);
	}

	/* B's genuine AUTH from another session (C-B), replayed to A. */
	{
		side b2 = b;
		pair(&c, &d);
		b2.s = d.s;
		cr_assert_eq(p2p_auth_make(&b2.s, NET, &b.sk, forged), FL_OK);
		cr_assert_eq(p2p_auth_accept(&c.s, NET, forged, sizeof(forged)), FL_OK);
		cr_assert_eq(p2p_auth_accept(&a.s, NET, forged, sizeof(forged)), FL_ESIG);
	}

	/* Signed for another network id over the same transcript. */
	{
		fl_hash digest;
		fl_sig sig;
		fl_domain_hash(&digest, "p2p-auth", "fedledger-other", b.s.transcript.b,
			       FL_HASH_LEN);
		cr_assert_eq(fl_sign(&sig, &b.sk, &digest), FL_OK);
		memcpy(forged, b.pk.b, FL_PUBKEY_LEN);
		memcpy(forged + FL_PUBKEY_LEN, sig.b, FL_SIG_LEN);
		cr_assert_eq(p2p_auth_accept(&a.s, NET, forged, sizeof(forged)), FL_ESIG);
	}

	/* Wrong sizes. */
	cr_assert_eq(p2p_auth_accept(&a.s, NET, auth, sizeof(auth) - 1), FL_EPROTO);
	cr_assert_eq(p2p_auth_accept(&a.s, NET, auth, 0), FL_EPROTO);
	cr_assert_eq(a.s.authenticated, 0);

	/* The genuine one still passes. */
	cr_assert_eq(p2p_auth_accept(&a.s, NET, auth, sizeof(auth)), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&a.s.remote_id, &b.pk), 0);
	p2p_session_wipe(&a.s);
	p2p_session_wipe(&b.s);
	p2p_session_wipe(&c.s);
	p2p_session_wipe(&d.s);
}

Test(handshake, wipe_clears_everything)
{
	side a, b;
	const uint8_t *raw = (const uint8_t *)&a.s;

	pair(&a, &b);
	cr_assert_eq(send_auth(&b, &a), FL_OK);
	p2p_session_wipe(&a.s);
	for (size_t i = 0; i < sizeof(a.s); i++)
		cr_assert_eq(raw[i], 0, "byte %zu", i);
}

/* The key schedule of docs/p2p.md, recomputed here from its definition
 * with fixed ephemeral secrets, so a change to the wire format shows. */
Test(handshake, key_schedule_matches_spec)
{
	p2p_session a, b;
	uint8_t ha[P2P_HELLO_MAX], hb[P2P_HELLO_MAX], sk_a[32], sk_b[32], shared[32];
	uint8_t buf[16 + sizeof(NET) - 1 + 1 + 64], key_lo[32], key_hi[32];
	uint8_t salt[16] = {0};
	size_t na, nb, k = 0;
	fl_hash t, digest;
	const uint8_t *lo, *hi;
	p2p_session *low;

	memset(sk_a, 0x41, 32);
	memset(sk_b, 0x42, 32);
	cr_assert_eq(p2p_hello_make(&a, NET, ha, &na), FL_OK);
	cr_assert_eq(p2p_hello_make(&b, NET, hb, &nb), FL_OK);
	memcpy(a.eph_sk, sk_a, 32);
	memcpy(b.eph_sk, sk_b, 32);
	cr_assert_eq(crypto_scalarmult_curve25519_base(a.eph_pk, sk_a), 0);
	cr_assert_eq(crypto_scalarmult_curve25519_base(b.eph_pk, sk_b), 0);
	memcpy(ha + na - 32, a.eph_pk, 32);
	memcpy(hb + nb - 32, b.eph_pk, 32);
	cr_assert_eq(p2p_hello_accept(&a, NET, hb, nb), FL_OK);
	cr_assert_eq(p2p_hello_accept(&b, NET, ha, na), FL_OK);

	low = memcmp(a.eph_pk, b.eph_pk, 32) < 0 ? &a : &b;
	lo = low->eph_pk;
	hi = low == &a ? b.eph_pk : a.eph_pk;
	memcpy(buf + k, "fedledger/p2p/v1", 16);
	k += 16;
	memcpy(buf + k, NET, sizeof(NET) - 1);
	k += sizeof(NET) - 1;
	buf[k++] = 0;
	memcpy(buf + k, lo, 32);
	memcpy(buf + k + 32, hi, 32);
	fl_sha256(&t, buf, sizeof(buf));
	cr_assert_eq(memcmp(t.b, a.transcript.b, 32), 0);

	cr_assert_eq(crypto_scalarmult_curve25519(shared, sk_a, b.eph_pk), 0);
	cr_assert_eq(crypto_generichash_blake2b_salt_personal(key_lo, 32, t.b, 32, shared, 32, salt,
							      (const uint8_t *)"fedledger-p2p-lo"),
		     0);
	cr_assert_eq(crypto_generichash_blake2b_salt_personal(key_hi, 32, t.b, 32, shared, 32, salt,
							      (const uint8_t *)"fedledger-p2p-hi"),
		     0);
	cr_assert_eq(memcmp(low->send_key, key_lo, 32), 0);
	cr_assert_eq(memcmp(low->recv_key, key_hi, 32), 0);

	/* AUTH signs the domain hash of T. */
	{
		fl_seckey id;
		fl_pubkey pk;
		fl_sig sig;
		uint8_t auth[P2P_AUTH_LEN];
		cr_assert_eq(fl_key_generate(&id, &pk), FL_OK);
		cr_assert_eq(p2p_auth_make(&a, NET, &id, auth), FL_OK);
		cr_assert_eq(memcmp(auth, pk.b, 32), 0);
		memcpy(sig.b, auth + 32, 64);
		fl_domain_hash(&digest, "p2p-auth", NET, t.b, 32);
		cr_assert_eq(fl_verify(&sig, &pk, &digest), FL_OK);
	}
	p2p_session_wipe(&a);
	p2p_session_wipe(&b);
}
