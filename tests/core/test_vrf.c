/*
 * The ECVRF of core/vrf.c: known answers from an independent pure-Python
 * implementation of the same construction; every value of a proof
 * recomputed here with our own libsecp256k1 calls (H by try-and-increment,
 * Gamma, the nonce by OpenSSL's HMAC, U, V, c, s and the output); tampered,
 * misattributed and non-canonical proofs refused.
 */
#include "core/core.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <secp256k1.h>
#include <stdio.h>
#include <string.h>

#define SUITE     "fedledger/v1/ecvrf-secp256k1-sha256-tai"
#define SUITE_LEN (sizeof(SUITE) - 1)

/* secp256k1's group order n, big-endian. */
static const char ORDER_HEX[] = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

static void hex_to(void *out, size_t n, const char *hex)
{
	cr_assert_eq(fl_hex_decode(out, n, hex), FL_OK, "bad test hex");
}

static void key_of(fl_seckey *sk, fl_pubkey *pk, uint8_t seed)
{
	memset(sk->b, seed, sizeof(sk->b));
	cr_assert_eq(fl_key_public(pk, sk), FL_OK);
}

/* ------------------------------------------------- known answers */

/*
 * From a pure-Python secp256k1 (affine arithmetic on integers, no
 * libsecp256k1) following the construction in core/vrf.c. Vector 1's key
 * has an odd-y point, so its secret is negated before use.
 */
static const struct {
	const char *sk, *pk, *alpha, *proof, *out;
} vectors[] = {
    {"0000000000000000000000000000000000000000000000000000000000000003",
     "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9", "",
     "0376e5a935e1d477b6f2363c134a80a08f6eb4640b7f9eb6d903195857777905b436c557eb61a1128f7cf2"
     "16a198233b8a838bbd1348a3cc1fcb3d22409188cade93e0122ccf42299584c4bcede063a1bf",
     "41c9885f808726f9b9a7f109175e3f3cb2679a399f84ec644e3179befc2d2871"},
    {"0101010101010101010101010101010101010101010101010101010101010101",
     "1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f", "sample",
     "036d2eff249fa58ad625e9bd1d3d7c949a7cbcc1828af2bcb3b071dda3824bc40f93c34a8300c8e36f1066"
     "45c808ad4f0471b1cbd9c137e6fef6c54ab51c2a4b912af724b2955c27075a181d7206d81be8",
     "bf99eeb06a32d8ae2e75d3e3edaf48eafa7926dfdb453ff6ac2a3e458a08d597"},
    {"b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef",
     "dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659", "fedledger beacon",
     "0351696c8d98d10aefcf8bd44e520ce0a4b5ef618f40db42c9c8fc25423b3625668344806ec0c5aa198a4e"
     "418828b243e227ba1c7dc8c6e923d29cf23d8952bca3442d9f5ab82f4583f72a2c3e1e3a0214",
     "e86b4e0623099a0076b28c29d07a9707c521dea97cbd06566e30dd2236409837"},
};

Test(vrf, known_answers_from_an_independent_implementation)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(vectors); i++) {
		fl_seckey sk;
		fl_pubkey pk, want_pk;
		fl_vrf_proof proof, want;
		fl_hash out, want_out;
		size_t n = strlen(vectors[i].alpha);

		hex_to(sk.b, sizeof(sk.b), vectors[i].sk);
		hex_to(want_pk.b, sizeof(want_pk.b), vectors[i].pk);
		hex_to(want.b, sizeof(want.b), vectors[i].proof);
		hex_to(want_out.b, sizeof(want_out.b), vectors[i].out);
		cr_assert_eq(fl_key_public(&pk, &sk), FL_OK);
		cr_assert_arr_eq(pk.b, want_pk.b, FL_PUBKEY_LEN, "vector %zu: pk", i);
		cr_assert_eq(fl_vrf_prove(&proof, &sk, vectors[i].alpha, n), FL_OK);
		cr_assert_arr_eq(proof.b, want.b, FL_VRF_PROOF_LEN, "vector %zu: proof", i);
		cr_assert_eq(fl_vrf_verify(&out, &want, &pk, vectors[i].alpha, n), FL_OK);
		cr_assert_arr_eq(out.b, want_out.b, FL_HASH_LEN, "vector %zu: output", i);
	}
}

/* ------------------------------------- an independent recomputation */

static secp256k1_context *test_ctx(void)
{
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);

	cr_assert_not_null(ctx);
	return ctx;
}

static void ser(const secp256k1_context *ctx, uint8_t out[33], const secp256k1_pubkey *p)
{
	size_t len = 33;

	cr_assert(secp256k1_ec_pubkey_serialize(ctx, out, &len, p, SECP256K1_EC_COMPRESSED));
	cr_assert_eq(len, 33);
}

static void hash_parts(uint8_t out[32], const void *const *parts, const size_t *lens, size_t count)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;

	cr_assert_not_null(md);
	cr_assert_eq(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	for (size_t i = 0; i < count; i++)
		cr_assert_eq(EVP_DigestUpdate(md, parts[i], lens[i]), 1);
	cr_assert_eq(EVP_DigestFinal_ex(md, out, &len), 1);
	EVP_MD_CTX_free(md);
}

/* a·P − b·Q */
static void lin(const secp256k1_context *ctx, uint8_t out[33], const secp256k1_pubkey *p,
		const uint8_t a[32], const secp256k1_pubkey *q, const uint8_t b[32])
{
	secp256k1_pubkey ap = *p, bq = *q, sum;
	const secp256k1_pubkey *t[2] = {&ap, &bq};

	cr_assert(secp256k1_ec_pubkey_tweak_mul(ctx, &ap, a));
	cr_assert(secp256k1_ec_pubkey_tweak_mul(ctx, &bq, b));
	cr_assert(secp256k1_ec_pubkey_negate(ctx, &bq));
	cr_assert(secp256k1_ec_pubkey_combine(ctx, &sum, t, 2));
	ser(ctx, out, &sum);
}

static void recompute(const fl_seckey *sk, const uint8_t *alpha, size_t n)
{
	static const uint8_t one[32] = {[31] = 1};
	static const uint8_t ds1 = 1, ds2 = 2, ds3 = 3, ds4 = 4, zero = 0;
	secp256k1_context *ctx = test_ctx();
	uint8_t x[32], y_str[33], h_str[33], gamma[33], u[33], v[33], ku[33], kv[33];
	uint8_t k[32], c32[32], s[32], digest[32];
	secp256k1_pubkey y, h, g, gm, kg;
	fl_vrf_proof proof;
	fl_pubkey pk;
	fl_hash out;
	unsigned ctr;

	cr_assert_eq(fl_vrf_prove(&proof, sk, alpha, n), FL_OK);
	cr_assert_eq(fl_key_public(&pk, sk), FL_OK);

	/* the even-y key */
	memcpy(x, sk->b, 32);
	cr_assert(secp256k1_ec_pubkey_create(ctx, &y, x));
	ser(ctx, y_str, &y);
	if (y_str[0] == 0x03) {
		cr_assert(secp256k1_ec_seckey_negate(ctx, x));
		cr_assert(secp256k1_ec_pubkey_negate(ctx, &y));
		ser(ctx, y_str, &y);
	}
	cr_assert_eq(y_str[0], 0x02);
	cr_assert_arr_eq(y_str + 1, pk.b, 32, "the VRF key is the account's x-only key");

	/* H by try-and-increment */
	for (ctr = 0; ctr < 256; ctr++) {
		uint8_t c8 = (uint8_t)ctr;
		const void *parts[] = {SUITE, &ds1, y_str, alpha, &c8, &zero};
		const size_t lens[] = {SUITE_LEN, 1, 33, n, 1, 1};

		hash_parts(digest, parts, lens, 6);
		h_str[0] = 0x02;
		memcpy(h_str + 1, digest, 32);
		if (secp256k1_ec_pubkey_parse(ctx, &h, h_str, 33))
			break;
	}
	cr_assert_lt(ctr, 256);

	/* Gamma = x·H, by the variable-time multiply the library avoids */
	gm = h;
	cr_assert(secp256k1_ec_pubkey_tweak_mul(ctx, &gm, x));
	ser(ctx, gamma, &gm);
	cr_assert_arr_eq(proof.b, gamma, 33, "Gamma");

	/* k = HMAC-SHA256(x, suite || 0x04 || H || ctr), first valid scalar */
	for (ctr = 0; ctr < 256; ctr++) {
		uint8_t msg[SUITE_LEN + 1 + 33 + 1];
		unsigned int klen = 0;

		memcpy(msg, SUITE, SUITE_LEN);
		msg[SUITE_LEN] = ds4;
		memcpy(msg + SUITE_LEN + 1, h_str, 33);
		msg[sizeof(msg) - 1] = (uint8_t)ctr;
		cr_assert_not_null(HMAC(EVP_sha256(), x, 32, msg, sizeof(msg), k, &klen));
		if (secp256k1_ec_seckey_verify(ctx, k))
			break;
	}
	cr_assert_lt(ctr, 256);
	cr_assert(secp256k1_ec_pubkey_create(ctx, &kg, k));
	ser(ctx, ku, &kg);
	kg = h;
	cr_assert(secp256k1_ec_pubkey_tweak_mul(ctx, &kg, k));
	ser(ctx, kv, &kg);

	/* the verifier's U = s·G − c·Y and V = s·H − c·Gamma equal k·G and k·H */
	memset(c32, 0, 16);
	memcpy(c32 + 16, proof.b + 33, 16);
	cr_assert(secp256k1_ec_pubkey_create(ctx, &g, one));
	lin(ctx, u, &g, proof.b + 49, &y, c32);
	lin(ctx, v, &h, proof.b + 49, &gm, c32);
	cr_assert_arr_eq(u, ku, 33, "U");
	cr_assert_arr_eq(v, kv, 33, "V");

	/* c = the first 16 bytes of the challenge hash */
	{
		const void *parts[] = {SUITE, &ds2, y_str, h_str, gamma, u, v, &zero};
		const size_t lens[] = {SUITE_LEN, 1, 33, 33, 33, 33, 33, 1};

		hash_parts(digest, parts, lens, 8);
		cr_assert_arr_eq(proof.b + 33, digest, 16, "c");
	}

	/* s = k + c·x mod n */
	memcpy(s, x, 32);
	cr_assert(secp256k1_ec_seckey_tweak_mul(ctx, s, c32));
	cr_assert(secp256k1_ec_seckey_tweak_add(ctx, s, k));
	cr_assert_arr_eq(proof.b + 49, s, 32, "s");

	/* output = SHA256(suite || 0x03 || Gamma || 0x00) */
	{
		const void *parts[] = {SUITE, &ds3, gamma, &zero};
		const size_t lens[] = {SUITE_LEN, 1, 33, 1};

		hash_parts(digest, parts, lens, 4);
	}
	cr_assert_eq(fl_vrf_verify(&out, &proof, &pk, alpha, n), FL_OK);
	cr_assert_arr_eq(out.b, digest, 32, "verify's output");
	cr_assert_eq(fl_vrf_proof_to_hash(&out, &proof), FL_OK);
	cr_assert_arr_eq(out.b, digest, 32, "proof_to_hash");
	secp256k1_context_destroy(ctx);
}

Test(vrf, every_value_recomputed_independently)
{
	uint8_t alpha[200];

	for (size_t i = 0; i < sizeof(alpha); i++)
		alpha[i] = (uint8_t)(i * 7 + 1);
	/* seeds chosen to cover both parities of the key's point */
	for (uint8_t seed = 1; seed <= 12; seed++) {
		fl_seckey sk;
		fl_pubkey pk;

		key_of(&sk, &pk, seed);
		recompute(&sk, alpha, (size_t)seed * 16);
	}
}

/* ----------------------------------------------------- behaviour */

Test(vrf, round_trip_and_determinism)
{
	fl_seckey sk;
	fl_pubkey pk;
	fl_vrf_proof p1, p2, p3;
	fl_hash o1, o2, o3, h;

	key_of(&sk, &pk, 7);
	cr_assert_eq(fl_vrf_prove(&p1, &sk, "alpha", 5), FL_OK);
	cr_assert_eq(fl_vrf_proof_check(&p1), FL_OK);
	cr_assert_eq(fl_vrf_verify(&o1, &p1, &pk, "alpha", 5), FL_OK);
	cr_assert_eq(fl_vrf_proof_to_hash(&h, &p1), FL_OK);
	cr_assert_arr_eq(h.b, o1.b, FL_HASH_LEN);
	cr_assert_eq(fl_vrf_verify(NULL, &p1, &pk, "alpha", 5), FL_OK);

	/* same key and input: the same proof, byte for byte */
	cr_assert_eq(fl_vrf_prove(&p2, &sk, "alpha", 5), FL_OK);
	cr_assert_arr_eq(p1.b, p2.b, FL_VRF_PROOF_LEN);
	cr_assert_eq(fl_vrf_verify(&o2, &p2, &pk, "alpha", 5), FL_OK);
	cr_assert_arr_eq(o1.b, o2.b, FL_HASH_LEN);

	/* another input: another output */
	cr_assert_eq(fl_vrf_prove(&p3, &sk, "alphb", 5), FL_OK);
	cr_assert_eq(fl_vrf_verify(&o3, &p3, &pk, "alphb", 5), FL_OK);
	cr_assert(memcmp(o1.b, o3.b, FL_HASH_LEN) != 0);

	/* an empty input is an input */
	cr_assert_eq(fl_vrf_prove(&p3, &sk, NULL, 0), FL_OK);
	cr_assert_eq(fl_vrf_verify(&o3, &p3, &pk, NULL, 0), FL_OK);
}

/* sk and n − sk have the same x-only key, so they are one VRF key. */
Test(vrf, both_secrets_of_an_x_only_key_give_one_proof)
{
	secp256k1_context *ctx = test_ctx();
	fl_seckey sk, neg;
	fl_pubkey pk, pk2;
	fl_vrf_proof a, b;

	key_of(&sk, &pk, 9);
	neg = sk;
	cr_assert(secp256k1_ec_seckey_negate(ctx, neg.b));
	cr_assert_eq(fl_key_public(&pk2, &neg), FL_OK);
	cr_assert_arr_eq(pk.b, pk2.b, FL_PUBKEY_LEN);
	cr_assert_eq(fl_vrf_prove(&a, &sk, "x", 1), FL_OK);
	cr_assert_eq(fl_vrf_prove(&b, &neg, "x", 1), FL_OK);
	cr_assert_arr_eq(a.b, b.b, FL_VRF_PROOF_LEN);
	secp256k1_context_destroy(ctx);
}

Test(vrf, tampered_or_misattributed_proofs_refused)
{
	fl_seckey sk, other_sk;
	fl_pubkey pk, other;
	fl_vrf_proof p, t, op;
	fl_hash out;

	key_of(&sk, &pk, 3);
	key_of(&other_sk, &other, 4);
	cr_assert_eq(fl_vrf_prove(&p, &sk, "height 5", 8), FL_OK);

	/* every byte of the proof matters (Gamma's x, c, s) */
	for (size_t i = 1; i < FL_VRF_PROOF_LEN; i++) {
		t = p;
		t.b[i] ^= 0x01;
		cr_assert_eq(fl_vrf_verify(&out, &t, &pk, "height 5", 8), FL_ESIG, "byte %zu", i);
		cr_assert(fl_hash_is_zero(&out));
	}
	/* Gamma negated: a valid point, not x·H */
	t = p;
	t.b[0] ^= 0x01;
	cr_assert_eq(fl_vrf_proof_check(&t), FL_OK);
	cr_assert_eq(fl_vrf_verify(&out, &t, &pk, "height 5", 8), FL_ESIG);

	/* another key, another input */
	cr_assert_eq(fl_vrf_verify(&out, &p, &other, "height 5", 8), FL_ESIG);
	cr_assert_eq(fl_vrf_verify(&out, &p, &pk, "height 6", 8), FL_ESIG);
	cr_assert_eq(fl_vrf_verify(&out, &p, &pk, "height 5", 7), FL_ESIG);
	/* the other key's own proof for the input is not ours */
	cr_assert_eq(fl_vrf_prove(&op, &other_sk, "height 5", 8), FL_OK);
	cr_assert_eq(fl_vrf_verify(&out, &op, &pk, "height 5", 8), FL_ESIG);
	cr_assert_eq(fl_vrf_verify(&out, &op, &other, "height 5", 8), FL_OK);

	/* a public key that is not a point: x = 5 has no y on the curve */
	memset(&other, 0, sizeof(other));
	other.b[31] = 5;
	cr_assert_eq(fl_pubkey_check(&other), FL_EINVAL);
	cr_assert_eq(fl_vrf_verify(&out, &p, &other, "height 5", 8), FL_ESIG);
}

/* Each proof here fails the canonical check, is refused by verify, by the
 * reader and by the writer. */
static void expect_noncanonical(const fl_vrf_proof *t, const fl_pubkey *pk, const char *what)
{
	fl_vrf_proof back;
	fl_writer w;
	fl_reader r;
	fl_hash out;

	cr_assert_eq(fl_vrf_proof_check(t), FL_EINVAL, "%s", what);
	cr_assert_eq(fl_vrf_verify(&out, t, pk, "a", 1), FL_ESIG, "%s", what);
	cr_assert_eq(fl_vrf_proof_to_hash(&out, t), FL_EINVAL, "%s", what);
	fl_reader_init(&r, t->b, FL_VRF_PROOF_LEN);
	cr_assert_eq(fl_read_vrf_proof(&r, &back), FL_EINVAL, "%s", what);
	cr_assert_eq(r.err, FL_EINVAL);
	fl_writer_init(&w, 0);
	cr_assert_eq(fl_write_vrf_proof(&w, t), FL_EINVAL, "%s", what);
	cr_assert_eq(fl_writer_finish(&w), FL_EINVAL);
	cr_assert_eq(w.len, 0);
	fl_writer_free(&w);
}

Test(vrf, noncanonical_proofs_refused)
{
	fl_seckey sk;
	fl_pubkey pk;
	fl_vrf_proof p, t;
	uint8_t order[32];

	hex_to(order, sizeof(order), ORDER_HEX);
	key_of(&sk, &pk, 5);
	cr_assert_eq(fl_vrf_prove(&p, &sk, "a", 1), FL_OK);

	static const uint8_t prefixes[] = {0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff};
	for (size_t i = 0; i < sizeof(prefixes); i++) {
		t = p;
		t.b[0] = prefixes[i];
		expect_noncanonical(&t, &pk, "Gamma prefix");
	}
	t = p; /* x = p (and above) is not a field element */
	hex_to(t.b + 1, 32, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
	expect_noncanonical(&t, &pk, "Gamma x = p");
	memset(t.b + 1, 0xff, 32);
	expect_noncanonical(&t, &pk, "Gamma x = 2^256-1");
	memset(t.b + 1, 0, 32);
	t.b[32] = 5; /* x = 5: not on the curve */
	expect_noncanonical(&t, &pk, "Gamma off the curve");
	t = p;
	memset(t.b + 33, 0, 16);
	expect_noncanonical(&t, &pk, "c = 0");
	t = p;
	memset(t.b + 49, 0, 32);
	expect_noncanonical(&t, &pk, "s = 0");
	t = p;
	memcpy(t.b + 49, order, 32);
	expect_noncanonical(&t, &pk, "s = n");
	memset(t.b + 49, 0xff, 32);
	expect_noncanonical(&t, &pk, "s = 2^256-1");
	memcpy(t.b + 49, order, 32);
	t.b[80] += 1;
	expect_noncanonical(&t, &pk, "s = n + 1");
}

Test(vrf, codec_round_trip_and_limits)
{
	fl_seckey sk;
	fl_pubkey pk;
	fl_vrf_proof p, back;
	fl_writer w;
	fl_reader r;

	key_of(&sk, &pk, 6);
	cr_assert_eq(fl_vrf_prove(&p, &sk, "a", 1), FL_OK);
	fl_writer_init(&w, 0);
	cr_assert_eq(fl_write_vrf_proof(&w, &p), FL_OK);
	cr_assert_eq(fl_writer_finish(&w), FL_OK);
	cr_assert_eq(w.len, FL_VRF_PROOF_LEN);
	cr_assert_arr_eq(w.buf, p.b, FL_VRF_PROOF_LEN, "a fixed field, no length prefix");
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(fl_read_vrf_proof(&r, &back), FL_OK);
	cr_assert_eq(fl_reader_finish(&r), FL_OK);
	cr_assert_arr_eq(back.b, p.b, FL_VRF_PROOF_LEN);
	fl_reader_init(&r, w.buf, w.len - 1);
	cr_assert_eq(fl_read_vrf_proof(&r, &back), FL_ETRUNC);
	fl_writer_free(&w);
}

Test(vrf, bad_secret_and_long_input_refused)
{
	static uint8_t big[FL_VRF_ALPHA_MAX + 1];
	fl_seckey sk;
	fl_pubkey pk;
	fl_vrf_proof p;

	memset(&sk, 0, sizeof(sk));
	cr_assert_eq(fl_vrf_prove(&p, &sk, "a", 1), FL_EINVAL);
	hex_to(sk.b, sizeof(sk.b), ORDER_HEX);
	cr_assert_eq(fl_vrf_prove(&p, &sk, "a", 1), FL_EINVAL);

	key_of(&sk, &pk, 8);
	cr_assert_eq(fl_vrf_prove(&p, &sk, big, sizeof(big)), FL_ETOOBIG);
	cr_assert_eq(fl_vrf_prove(&p, &sk, big, FL_VRF_ALPHA_MAX), FL_OK);
	cr_assert_eq(fl_vrf_verify(NULL, &p, &pk, big, FL_VRF_ALPHA_MAX), FL_OK);
	cr_assert_eq(fl_vrf_verify(NULL, &p, &pk, big, sizeof(big)), FL_ETOOBIG);
}

/* The fuzz_vrf seeds named valid_* (proof || key || alpha) verify, so the
 * fuzzer starts from inputs that reach the end of fl_vrf_verify. Run from
 * the repository root, as tests/run.sh does. */
Test(vrf, fuzz_seeds_reach_a_verified_proof)
{
	static const char *const names[] = {"valid_key3_empty", "valid_oddkey_sample",
					    "valid_beacon"};

	for (size_t i = 0; i < FL_ARRAY_LEN(names); i++) {
		char path[128];
		uint8_t *buf = NULL;
		size_t n = 0;
		fl_vrf_proof p;
		fl_pubkey pk;

		snprintf(path, sizeof(path), "tests/fuzz/corpus/fuzz_vrf/%s", names[i]);
		cr_assert_eq(fl_file_read(path, &buf, &n, 4096), FL_OK, "%s", path);
		cr_assert_geq(n, FL_VRF_PROOF_LEN + FL_PUBKEY_LEN);
		memcpy(p.b, buf, FL_VRF_PROOF_LEN);
		memcpy(pk.b, buf + FL_VRF_PROOF_LEN, FL_PUBKEY_LEN);
		cr_assert_eq(fl_vrf_verify(NULL, &p, &pk, buf + FL_VRF_PROOF_LEN + FL_PUBKEY_LEN,
					   n - FL_VRF_PROOF_LEN - FL_PUBKEY_LEN),
			     FL_OK, "%s", path);
		fl_free(buf);
	}
}
