/*
 * The session handshake on two in-memory sessions: HELLO parsing (magic,
 * version, network id, exact length), the ephemeral key checks (low order,
 * reflection), key agreement in both directions, AUTH forgeries and what the
 * AUTH signature binds (role, both identities, version), and the vectors of
 * docs/p2p.md recomputed from their definition.
 */
#include "p2p/internal.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#define NET "fedledger-test"

/* docs/p2p.md §1, "Test vectors" (hex). */
#define VEC_EPH_A    "7a1a4e709bf085ac494aba0469b9b1eda0ab1f78b16aabb79ffeda90623e8522"
#define VEC_EPH_B    "132c442be010fbd57e72603328aa76e71fccc1503aae219327d14d9c9993f472"
#define VEC_ID_A     "1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f"
#define VEC_ID_B     "4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766"
#define VEC_T        "e831c3cf031218db78648a3330efe77739c231856fb2ace225293a4a4e71612e"
#define VEC_KEY_LO   "38630dcabe3d2e0f35d70a21b9b8dcfdd43ac6dd94839e53419897e453889f70"
#define VEC_KEY_HI   "7241d122d274122e5c288e097d3e7fc019461145e86f3260ec816deabe82526b"
#define VEC_DIGEST_A "7d27323c8d6a20cf5695bf18be655fb40b4baf82f56d629a0f77505e1c819434"
#define VEC_DIGEST_B "0cd07ca89b76cb8d2f977986d9686b3611f3cb5a0b192ec48b4e7cc7ae342e05"

typedef struct {
	p2p_session s;
	uint8_t hello[P2P_HELLO_MAX];
	size_t hello_n;
	fl_seckey sk;
	fl_pubkey pk;
} side;

static void side_init_role(side *x, const char *net, p2p_role role)
{
	cr_assert_eq(fl_key_generate(&x->sk, &x->pk), FL_OK);
	cr_assert_eq(p2p_hello_make(&x->s, net, role, x->hello, &x->hello_n), FL_OK);
}

static void side_init(side *x, const char *net)
{
	side_init_role(x, net, P2P_ROLE_INITIATOR);
}

/* Two sides that have exchanged HELLOs: a dialled b. */
static void pair(side *a, side *b)
{
	side_init_role(a, NET, P2P_ROLE_INITIATOR);
	side_init_role(b, NET, P2P_ROLE_RESPONDER);
	cr_assert_eq(p2p_hello_accept(&a->s, NET, b->hello, b->hello_n), FL_OK);
	cr_assert_eq(p2p_hello_accept(&b->s, NET, a->hello, a->hello_n), FL_OK);
}

/* The identities exchanged both ways (AUTH's first frames). */
static void swap_ids(side *a, side *b)
{
	uint8_t ida[P2P_AUTH_ID_LEN], idb[P2P_AUTH_ID_LEN];

	p2p_auth_id_make(&a->s, &a->pk, ida);
	p2p_auth_id_make(&b->s, &b->pk, idb);
	cr_assert_eq(memcmp(ida, a->pk.b, 32), 0);
	cr_assert_eq(p2p_auth_id_accept(&a->s, idb, sizeof(idb)), FL_OK);
	cr_assert_eq(p2p_auth_id_accept(&b->s, ida, sizeof(ida)), FL_OK);
}

/* x's signature frame, sealed and opened by y as the host would do it. */
static int send_auth(side *x, side *y)
{
	uint8_t sig[P2P_AUTH_SIG_LEN], frame[P2P_LEN_PREFIX + P2P_AUTH_SIG_LEN + P2P_TAG_LEN];
	uint8_t plain[P2P_AUTH_SIG_LEN];
	size_t ct_len;

	cr_assert_eq(p2p_auth_make(&x->s, NET, &x->sk, sig), FL_OK);
	cr_assert_eq(p2p_frame_seal(&x->s, frame, sig, sizeof(sig)), FL_OK);
	cr_assert_eq(p2p_frame_length(frame, P2P_MAX_FRAME, &ct_len), FL_OK);
	cr_assert_eq(ct_len, P2P_AUTH_SIG_LEN + P2P_TAG_LEN);
	cr_assert_eq(p2p_frame_open(&y->s, frame, frame + P2P_LEN_PREFIX, ct_len, plain), FL_OK);
	return p2p_auth_accept(&y->s, NET, plain, sizeof(plain));
}

/* The digest of docs/p2p.md §1, built here from its definition. */
static void spec_digest(fl_hash *out, const char *net, const fl_hash *t, uint8_t version,
			uint8_t role, const fl_pubkey *signer, const fl_pubkey *peer)
{
	uint8_t body[32 + 2 + 64];

	memcpy(body, t->b, 32);
	body[32] = version;
	body[33] = role;
	memcpy(body + 34, signer->b, 32);
	memcpy(body + 66, peer->b, 32);
	fl_domain_hash(out, "p2p-auth", net, body, sizeof(body));
}

static int sign_accept(side *to, const fl_seckey *sk, const fl_hash *digest)
{
	fl_sig sig;

	cr_assert_eq(fl_sign(&sig, sk, digest), FL_OK);
	return p2p_auth_accept(&to->s, NET, sig.b, sizeof(sig.b));
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

	/* No signature before the peer's identity is known. */
	{
		uint8_t sig[P2P_AUTH_SIG_LEN];
		uint8_t longer[P2P_AUTH_ID_LEN + 1] = {0};
		cr_assert_eq(p2p_auth_make(&a.s, NET, &a.sk, sig), FL_ESTATE);
		/* An identity frame of another size. */
		cr_assert_eq(p2p_auth_id_accept(&a.s, longer, 31), FL_EPROTO);
		cr_assert_eq(p2p_auth_id_accept(&a.s, longer, 33), FL_EPROTO);
		cr_assert_eq(a.s.has_remote_claim, 0);
	}
	swap_ids(&a, &b);
	cr_assert_eq(a.s.authenticated | b.s.authenticated, 0);
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

	/* A second identity or a second signature is a violation. */
	cr_assert_eq(p2p_auth_id_accept(&b.s, a.pk.b, 32), FL_EPROTO);

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
	cr_assert_eq(p2p_hello_make(&s, "", P2P_ROLE_INITIATOR, hello, &n), FL_EINVAL);
	cr_assert_eq(p2p_hello_make(&s, longid, P2P_ROLE_INITIATOR, hello, &n), FL_EINVAL);
	longid[P2P_NETWORK_ID_MAX] = '\0';
	cr_assert_eq(p2p_hello_make(&s, longid, P2P_ROLE_INITIATOR, hello, &n), FL_OK);
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
	h[P2P_MAGIC_LEN] = 4;
	cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n), FL_EVERSION);
	h[P2P_MAGIC_LEN] = 2; /* before BATCH frames */
	cr_assert_eq(p2p_hello_accept(&a.s, NET, h, b.hello_n), FL_EVERSION);
	h[P2P_MAGIC_LEN] = 1; /* before AUTH named roles and identities */
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
	memcpy(h, "FLP2P\x03", 6);
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
	uint8_t auth[P2P_AUTH_SIG_LEN], forged[P2P_AUTH_SIG_LEN];

	pair(&a, &b);
	side_init(&c, NET);
	/* A signature before any identity arrived is a violation. */
	memset(forged, 0, sizeof(forged));
	cr_assert_eq(p2p_auth_accept(&a.s, NET, forged, sizeof(forged)), FL_EPROTO);
	swap_ids(&a, &b);
	cr_assert_eq(p2p_auth_make(&b.s, NET, &b.sk, auth), FL_OK);

	/* B's identity claimed, signed by C. */
	cr_assert_eq(p2p_auth_make(&b.s, NET, &c.sk, forged), FL_OK);
	cr_assert_eq(p2p_auth_accept(&a.s, NET, forged, sizeof(forged)), FL_ESIG);

	/* One flipped bit anywhere in the signature. */
	for (size_t i = 0; i < P2P_AUTH_SIG_LEN; i += 5) {
		memcpy(forged, auth, sizeof(auth));
		forged[i] ^= (uint8_t)(1u << (i % 8));
		cr_assert_eq(p2p_auth_accept(&a.s, NET, forged, sizeof(forged)), FL_ESIG, "bit %zu",
			     i);
	}

	/* B's genuine signature from another session (D-B), replayed to A. */
	{
		side b2;
		pair(&d, &b2);
		b2.sk = b.sk; /* B itself, on another session */
		b2.pk = b.pk;
		swap_ids(&d, &b2);
		cr_assert_eq(p2p_auth_make(&b2.s, NET, &b.sk, forged), FL_OK);
		cr_assert_eq(p2p_auth_accept(&d.s, NET, forged, sizeof(forged)), FL_OK);
		cr_assert_eq(p2p_auth_accept(&a.s, NET, forged, sizeof(forged)), FL_ESIG);
		p2p_session_wipe(&b2.s);
	}

	/* Signed for another network id over the same transcript. */
	{
		fl_hash digest;
		spec_digest(&digest, "fedledger-other", &b.s.transcript, P2P_VERSION,
			    P2P_ROLE_RESPONDER, &b.pk, &a.pk);
		cr_assert_eq(sign_accept(&a, &b.sk, &digest), FL_ESIG);
	}

	/* Wrong sizes: the old one-frame AUTH (key and signature), short ones. */
	{
		uint8_t old[FL_PUBKEY_LEN + FL_SIG_LEN];
		memcpy(old, b.pk.b, 32);
		memcpy(old + 32, auth, 64);
		cr_assert_eq(p2p_auth_accept(&a.s, NET, old, sizeof(old)), FL_EPROTO);
	}
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

/*
 * What the signature binds. B (responder) signs for A (initiator); A
 * refuses every signature that differs from the genuine one in one field:
 * the role (a signature for the initiator's side, as A's own reflected back
 * would be), the identity it names as B's peer, the signer named, the
 * version, the transcript. The genuine digest, built from the spec, passes.
 */
Test(handshake, auth_binds_role_identities_version)
{
	side a, b, c;
	fl_hash dg;

	pair(&a, &b);
	side_init(&c, NET);
	swap_ids(&a, &b);

	/* B's signature made for the initiator's role. */
	spec_digest(&dg, NET, &b.s.transcript, P2P_VERSION, P2P_ROLE_INITIATOR, &b.pk, &a.pk);
	cr_assert_eq(sign_accept(&a, &b.sk, &dg), FL_ESIG);
	/* Naming another peer (C) instead of A. */
	spec_digest(&dg, NET, &b.s.transcript, P2P_VERSION, P2P_ROLE_RESPONDER, &b.pk, &c.pk);
	cr_assert_eq(sign_accept(&a, &b.sk, &dg), FL_ESIG);
	/* Naming another signer, signed by B. */
	spec_digest(&dg, NET, &b.s.transcript, P2P_VERSION, P2P_ROLE_RESPONDER, &c.pk, &a.pk);
	cr_assert_eq(sign_accept(&a, &b.sk, &dg), FL_ESIG);
	/* The same fields as the genuine one, for version 2 or 4. */
	spec_digest(&dg, NET, &b.s.transcript, 2, P2P_ROLE_RESPONDER, &b.pk, &a.pk);
	cr_assert_eq(sign_accept(&a, &b.sk, &dg), FL_ESIG);
	spec_digest(&dg, NET, &b.s.transcript, 4, P2P_ROLE_RESPONDER, &b.pk, &a.pk);
	cr_assert_eq(sign_accept(&a, &b.sk, &dg), FL_ESIG);
	/* Version 1's digest: the transcript alone. */
	fl_domain_hash(&dg, "p2p-auth", NET, b.s.transcript.b, FL_HASH_LEN);
	cr_assert_eq(sign_accept(&a, &b.sk, &dg), FL_ESIG);
	/* A's own signature reflected back: wrong role, and names A as signer. */
	{
		uint8_t own[P2P_AUTH_SIG_LEN];
		cr_assert_eq(p2p_auth_make(&a.s, NET, &a.sk, own), FL_OK);
		cr_assert_eq(p2p_auth_accept(&a.s, NET, own, sizeof(own)), FL_ESIG);
	}
	cr_assert_eq(a.s.authenticated, 0);

	/* The genuine digest, built from the spec, passes; and it is what
	 * p2p_auth_make signs (it verifies under B's key over it). */
	spec_digest(&dg, NET, &b.s.transcript, P2P_VERSION, P2P_ROLE_RESPONDER, &b.pk, &a.pk);
	{
		uint8_t made[P2P_AUTH_SIG_LEN];
		fl_sig sig;
		cr_assert_eq(p2p_auth_make(&b.s, NET, &b.sk, made), FL_OK);
		memcpy(sig.b, made, 64);
		cr_assert_eq(fl_verify(&sig, &b.pk, &dg), FL_OK);
	}
	cr_assert_eq(sign_accept(&a, &b.sk, &dg), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&a.s.remote_id, &b.pk), 0);
	cr_assert_eq(send_auth(&a, &b), FL_OK);
	p2p_session_wipe(&a.s);
	p2p_session_wipe(&b.s);
	p2p_session_wipe(&c.s);
}

/* Two sides that both believe they dialled (or both that they listened)
 * never authenticate each other: each expects the other role. */
Test(handshake, same_role_both_sides_refused)
{
	for (int r = 0; r < 2; r++) {
		p2p_role role = r == 0 ? P2P_ROLE_INITIATOR : P2P_ROLE_RESPONDER;
		side a, b;

		side_init_role(&a, NET, role);
		side_init_role(&b, NET, role);
		cr_assert_eq(p2p_hello_accept(&a.s, NET, b.hello, b.hello_n), FL_OK);
		cr_assert_eq(p2p_hello_accept(&b.s, NET, a.hello, a.hello_n), FL_OK);
		swap_ids(&a, &b);
		cr_assert_eq(send_auth(&a, &b), FL_ESIG);
		cr_assert_eq(send_auth(&b, &a), FL_ESIG);
		p2p_session_wipe(&a.s);
		p2p_session_wipe(&b.s);
	}
}

Test(handshake, wipe_clears_everything)
{
	side a, b;
	const uint8_t *raw = (const uint8_t *)&a.s;

	pair(&a, &b);
	swap_ids(&a, &b);
	cr_assert_eq(send_auth(&b, &a), FL_OK);
	p2p_session_wipe(&a.s);
	for (size_t i = 0; i < sizeof(a.s); i++)
		cr_assert_eq(raw[i], 0, "byte %zu", i);
	p2p_session_wipe(&b.s);
}

static void hex_is(const uint8_t *b, size_t n, const char *want, const char *what)
{
	char got[2 * 64 + 1];

	cr_assert(n <= 64);
	sodium_bin2hex(got, sizeof(got), b, n);
	cr_assert_str_eq(got, want, "%s: %s", what, got);
}

/*
 * The vectors of docs/p2p.md §1, recomputed here from the definitions with
 * fixed ephemeral secrets (A: 32 x 0x41, the initiator; B: 32 x 0x42) and
 * fixed identities (A: 32 x 0x01, B: 32 x 0x02), network "fedledger-test";
 * then checked against what handshake.c derives and signs, so a change to
 * the wire format or to the docs shows.
 */
Test(handshake, vectors_match_spec)
{
	side a, b;
	uint8_t shared[32], buf[16 + sizeof(NET) - 1 + 1 + 64], key_lo[32], key_hi[32];
	uint8_t salt[16] = {0}, ida[32], idb[32], siga[64], sigb[64];
	size_t k = 0;
	fl_hash t, dga, dgb;
	const uint8_t *lo, *hi;
	p2p_session *low;
	fl_sig sig;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(p2p_hello_make(&a.s, NET, P2P_ROLE_INITIATOR, a.hello, &a.hello_n), FL_OK);
	cr_assert_eq(p2p_hello_make(&b.s, NET, P2P_ROLE_RESPONDER, b.hello, &b.hello_n), FL_OK);
	memset(a.s.eph_sk, 0x41, 32);
	memset(b.s.eph_sk, 0x42, 32);
	cr_assert_eq(crypto_scalarmult_curve25519_base(a.s.eph_pk, a.s.eph_sk), 0);
	cr_assert_eq(crypto_scalarmult_curve25519_base(b.s.eph_pk, b.s.eph_sk), 0);
	memcpy(a.hello + a.hello_n - 32, a.s.eph_pk, 32);
	memcpy(b.hello + b.hello_n - 32, b.s.eph_pk, 32);
	memset(a.sk.b, 0x01, 32);
	memset(b.sk.b, 0x02, 32);
	cr_assert_eq(fl_key_public(&a.pk, &a.sk), FL_OK);
	cr_assert_eq(fl_key_public(&b.pk, &b.sk), FL_OK);
	hex_is(a.s.eph_pk, 32, VEC_EPH_A, "A's ephemeral key");
	hex_is(b.s.eph_pk, 32, VEC_EPH_B, "B's ephemeral key");
	hex_is(a.pk.b, 32, VEC_ID_A, "A's identity");
	hex_is(b.pk.b, 32, VEC_ID_B, "B's identity");
	cr_assert_eq(a.hello_n, 7 + sizeof(NET) - 1 + 32);
	cr_assert_eq(memcmp(a.hello, "FLP2P\x03\x0e" NET, 7 + sizeof(NET) - 1), 0);

	/* T and the two keys, from the definitions. */
	low = memcmp(a.s.eph_pk, b.s.eph_pk, 32) < 0 ? &a.s : &b.s;
	lo = low->eph_pk;
	hi = low == &a.s ? b.s.eph_pk : a.s.eph_pk;
	memcpy(buf + k, "fedledger/p2p/v1", 16);
	k += 16;
	memcpy(buf + k, NET, sizeof(NET) - 1);
	k += sizeof(NET) - 1;
	buf[k++] = 0;
	memcpy(buf + k, lo, 32);
	memcpy(buf + k + 32, hi, 32);
	fl_sha256(&t, buf, sizeof(buf));
	cr_assert_eq(crypto_scalarmult_curve25519(shared, a.s.eph_sk, b.s.eph_pk), 0);
	cr_assert_eq(crypto_generichash_blake2b_salt_personal(key_lo, 32, t.b, 32, shared, 32, salt,
							      (const uint8_t *)"fedledger-p2p-lo"),
		     0);
	cr_assert_eq(crypto_generichash_blake2b_salt_personal(key_hi, 32, t.b, 32, shared, 32, salt,
							      (const uint8_t *)"fedledger-p2p-hi"),
		     0);
	hex_is(t.b, 32, VEC_T, "T");
	hex_is(key_lo, 32, VEC_KEY_LO, "key_lo");
	hex_is(key_hi, 32, VEC_KEY_HI, "key_hi");

	/* What each side signs. */
	spec_digest(&dga, NET, &t, 3, 0, &a.pk, &b.pk);
	spec_digest(&dgb, NET, &t, 3, 1, &b.pk, &a.pk);
	hex_is(dga.b, 32, VEC_DIGEST_A, "A's AUTH digest");
	hex_is(dgb.b, 32, VEC_DIGEST_B, "B's AUTH digest");

	/* handshake.c agrees. */
	cr_assert_eq(p2p_hello_accept(&a.s, NET, b.hello, b.hello_n), FL_OK);
	cr_assert_eq(p2p_hello_accept(&b.s, NET, a.hello, a.hello_n), FL_OK);
	cr_assert_eq(memcmp(t.b, a.s.transcript.b, 32), 0);
	cr_assert_eq(memcmp(low->send_key, key_lo, 32), 0);
	cr_assert_eq(memcmp(low->recv_key, key_hi, 32), 0);
	p2p_auth_id_make(&a.s, &a.pk, ida);
	p2p_auth_id_make(&b.s, &b.pk, idb);
	cr_assert_eq(p2p_auth_id_accept(&a.s, idb, 32), FL_OK);
	cr_assert_eq(p2p_auth_id_accept(&b.s, ida, 32), FL_OK);
	cr_assert_eq(p2p_auth_make(&a.s, NET, &a.sk, siga), FL_OK);
	cr_assert_eq(p2p_auth_make(&b.s, NET, &b.sk, sigb), FL_OK);
	memcpy(sig.b, siga, 64);
	cr_assert_eq(fl_verify(&sig, &a.pk, &dga), FL_OK);
	memcpy(sig.b, sigb, 64);
	cr_assert_eq(fl_verify(&sig, &b.pk, &dgb), FL_OK);
	cr_assert_eq(p2p_auth_accept(&a.s, NET, sigb, 64), FL_OK);
	cr_assert_eq(p2p_auth_accept(&b.s, NET, siga, 64), FL_OK);
	p2p_session_wipe(&a.s);
	p2p_session_wipe(&b.s);
}
