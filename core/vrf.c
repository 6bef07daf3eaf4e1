/*
 * core/vrf.c — ECVRF (RFC 9381 §5) on secp256k1 with SHA-256 and
 * try-and-increment hash-to-curve (§5.4.1.1), written on libsecp256k1's
 * public API only: no field or scalar arithmetic of our own.
 *
 * With Y = x·G the public key, H = encode_to_curve(Y, alpha):
 *   Gamma = x·H, k = nonce(x, H), c = challenge(Y, H, Gamma, k·G, k·H),
 *   s = k + c·x mod n, proof = Gamma || c || s, output = hash(Gamma).
 * Verify recomputes U = s·G − c·Y and V = s·H − c·Gamma and the challenge.
 * The one sum with G is ec_pubkey_tweak_add, which multiplies G by its
 * precomputed tables.
 *
 * The hash inputs follow RFC 9381 with our suite string in place of its one
 * suite byte: every hash starts with it, then the RFC's domain separator
 * (0x01 encode, 0x02 challenge, 0x03 output), and ends with 0x00. The
 * cofactor of secp256k1 is 1, so Gamma needs no clearing and every valid
 * point is a valid key (RFC 9381 §5.4.5 has nothing to check).
 *
 * The nonce is deterministic in the spirit of §5.4.2.2 (a keyed hash of the
 * secret and H), as HMAC-SHA256(x, suite || 0x04 || H || ctr), so one key
 * and input always give the same proof and never reuse k across inputs.
 *
 * Products with a secret scalar (x·H, k·H) go through secp256k1_ecdh, the
 * one public entry with a constant-time multiply of an arbitrary point;
 * ec_pubkey_tweak_mul is variable-time and only ever sees public scalars
 * (c and s in verify). Scalar sums and products use ec_seckey_tweak_*.
 */
#include "core/internal.h"

#include <assert.h>
#include <secp256k1_ecdh.h>
#include <string.h>

#define SUITE     "fedledger/v1/ecvrf-secp256k1-sha256-tai"
#define SUITE_LEN (sizeof(SUITE) - 1)

#define POINT_LEN 33
#define C_LEN     16
#define S_LEN     32
#define C_OFF     POINT_LEN
#define S_OFF     (POINT_LEN + C_LEN)

_Static_assert(S_OFF + S_LEN == FL_VRF_PROOF_LEN, "proof layout");

enum {
	DS_BACK = 0x00,
	DS_ENCODE = 0x01,
	DS_CHALLENGE = 0x02,
	DS_OUTPUT = 0x03,
	DS_NONCE = 0x04 /* ours: RFC 9381's nonce hash has no separator */
};

static int point_parse(const secp256k1_context *ctx, secp256k1_pubkey *p,
		       const uint8_t s[POINT_LEN])
{
	return secp256k1_ec_pubkey_parse(ctx, p, s, POINT_LEN) ? FL_OK : FL_EINVAL;
}

static void point_serialize(const secp256k1_context *ctx, uint8_t out[POINT_LEN],
			    const secp256k1_pubkey *p)
{
	size_t len = POINT_LEN;

	(void)secp256k1_ec_pubkey_serialize(ctx, out, &len, p, SECP256K1_EC_COMPRESSED);
}

/* RFC 9381 §5.4.1.1: H = the first valid even-y point with x =
 * SHA256(suite || 0x01 || Y || alpha || ctr || 0x00) for ctr = 0, 1, …
 * About half the candidates are points, so 256 failures (FL_ECRYPTO) have
 * probability 2^-256. */
static int encode_to_curve(const secp256k1_context *ctx, secp256k1_pubkey *h,
			   uint8_t h_str[POINT_LEN], const uint8_t y_str[POINT_LEN],
			   const uint8_t *alpha, size_t n)
{
	uint8_t buf[SUITE_LEN + 1 + POINT_LEN + FL_VRF_ALPHA_MAX + 2];
	size_t len = 0;
	fl_hash x;

	assert(n <= FL_VRF_ALPHA_MAX);
	memcpy(buf, SUITE, SUITE_LEN);
	len += SUITE_LEN;
	buf[len++] = DS_ENCODE;
	memcpy(buf + len, y_str, POINT_LEN);
	len += POINT_LEN;
	if (n > 0)
		memcpy(buf + len, alpha, n);
	len += n;
	buf[len + 1] = DS_BACK;
	for (unsigned ctr = 0; ctr < 256; ctr++) {
		buf[len] = (uint8_t)ctr;
		fl_sha256(&x, buf, len + 2);
		h_str[0] = 0x02;
		memcpy(h_str + 1, x.b, FL_HASH_LEN);
		if (point_parse(ctx, h, h_str) == FL_OK)
			return FL_OK;
	}
	return FL_ECRYPTO;
}

/* RFC 9381 §5.4.3: the first 16 bytes of
 * SHA256(suite || 0x02 || Y || H || Gamma || U || V || 0x00). */
static void challenge(uint8_t c[C_LEN], const uint8_t *const pts[5])
{
	uint8_t buf[SUITE_LEN + 1 + 5 * POINT_LEN + 1];
	size_t len = 0;
	fl_hash d;

	memcpy(buf, SUITE, SUITE_LEN);
	len += SUITE_LEN;
	buf[len++] = DS_CHALLENGE;
	for (int i = 0; i < 5; i++) {
		memcpy(buf + len, pts[i], POINT_LEN);
		len += POINT_LEN;
	}
	buf[len++] = DS_BACK;
	fl_sha256(&d, buf, len);
	memcpy(c, d.b, C_LEN);
}

/* RFC 9381 §5.2 with cofactor 1: SHA256(suite || 0x03 || Gamma || 0x00). */
static void output_hash(fl_hash *out, const uint8_t gamma[POINT_LEN])
{
	uint8_t buf[SUITE_LEN + 1 + POINT_LEN + 1];

	memcpy(buf, SUITE, SUITE_LEN);
	buf[SUITE_LEN] = DS_OUTPUT;
	memcpy(buf + SUITE_LEN + 1, gamma, POINT_LEN);
	buf[SUITE_LEN + 1 + POINT_LEN] = DS_BACK;
	fl_sha256(out, buf, sizeof(buf));
}

/* HMAC-SHA256 (RFC 2104) with a 32-byte key, on stack buffers only. */
static void hmac_sha256(fl_hash *out, const uint8_t key[32], const uint8_t *msg, size_t n)
{
	uint8_t inner[64 + SUITE_LEN + 1 + POINT_LEN + 1];
	uint8_t outer[64 + FL_HASH_LEN];
	fl_hash ih;

	assert(n <= sizeof(inner) - 64);
	memset(inner, 0x36, 64);
	memset(outer, 0x5c, 64);
	for (int i = 0; i < 32; i++) {
		inner[i] ^= key[i];
		outer[i] ^= key[i];
	}
	memcpy(inner + 64, msg, n);
	fl_sha256(&ih, inner, 64 + n);
	memcpy(outer + 64, ih.b, FL_HASH_LEN);
	fl_sha256(out, outer, sizeof(outer));
	fl_wipe(inner, sizeof(inner));
	fl_wipe(outer, sizeof(outer));
	fl_wipe(&ih, sizeof(ih));
}

/* k = HMAC-SHA256(x, suite || 0x04 || H || ctr), the first with 0 < k < n
 * (a retry has probability about 2^-128). */
static int nonce(const secp256k1_context *ctx, uint8_t k[32], const uint8_t x[32],
		 const uint8_t h_str[POINT_LEN])
{
	uint8_t msg[SUITE_LEN + 1 + POINT_LEN + 1];
	fl_hash d;
	int rc = FL_ECRYPTO;

	memcpy(msg, SUITE, SUITE_LEN);
	msg[SUITE_LEN] = DS_NONCE;
	memcpy(msg + SUITE_LEN + 1, h_str, POINT_LEN);
	for (unsigned ctr = 0; ctr < 256; ctr++) {
		msg[sizeof(msg) - 1] = (uint8_t)ctr;
		hmac_sha256(&d, x, msg, sizeof(msg));
		if (secp256k1_ec_seckey_verify(ctx, d.b)) {
			memcpy(k, d.b, 32);
			rc = FL_OK;
			break;
		}
	}
	fl_wipe(&d, sizeof(d));
	return rc;
}

/* secp256k1_ecdh's hash hook, used to get the product point itself. */
static int ecdh_point(unsigned char *out, const unsigned char *x32, const unsigned char *y32,
		      void *data)
{
	(void)data;
	out[0] = (unsigned char)(0x02 | (y32[31] & 1));
	memcpy(out + 1, x32, 32);
	return 1;
}

/* out = scalar·p, compressed, in constant time (scalar is secret). */
static int mul_secret(const secp256k1_context *ctx, uint8_t out[POINT_LEN],
		      const secp256k1_pubkey *p, const uint8_t scalar[32])
{
	return secp256k1_ecdh(ctx, out, p, scalar, ecdh_point, NULL) ? FL_OK : FL_ECRYPTO;
}

/* The secret of the even-y point with sk's x: BIP340 keys are x-only, so
 * the VRF key of an account is that point whatever sk's parity. */
static int even_secret(const secp256k1_context *ctx, uint8_t x[32], uint8_t y_str[POINT_LEN],
		       const fl_seckey *sk)
{
	secp256k1_pubkey y;

	memcpy(x, sk->b, 32);
	if (!secp256k1_ec_pubkey_create(ctx, &y, x))
		return FL_EINVAL;
	point_serialize(ctx, y_str, &y);
	if (y_str[0] == 0x03) {
		if (!secp256k1_ec_seckey_negate(ctx, x))
			return FL_ECRYPTO;
		y_str[0] = 0x02;
	}
	return FL_OK;
}

static int is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int fl_vrf_prove(fl_vrf_proof *proof, const fl_seckey *sk, const void *alpha, size_t n)
{
	const secp256k1_context *ctx = fl_secp256k1_context();
	uint8_t x[32], k[32], s[32], c32[32];
	uint8_t y_str[POINT_LEN], h_str[POINT_LEN], gamma[POINT_LEN], u[POINT_LEN], v[POINT_LEN];
	secp256k1_pubkey h, kg;
	int rc;

	assert(proof != NULL && sk != NULL && (alpha != NULL || n == 0));
	memset(proof, 0, sizeof(*proof));
	memset(x, 0, sizeof(x));
	memset(k, 0, sizeof(k));
	memset(s, 0, sizeof(s));
	if (ctx == NULL)
		return FL_ECRYPTO;
	if (n > FL_VRF_ALPHA_MAX)
		return FL_ETOOBIG;
	if ((rc = even_secret(ctx, x, y_str, sk)) != FL_OK)
		goto cleanup;
	if ((rc = encode_to_curve(ctx, &h, h_str, y_str, alpha, n)) != FL_OK)
		goto cleanup;
	if ((rc = mul_secret(ctx, gamma, &h, x)) != FL_OK)
		goto cleanup;
	if ((rc = nonce(ctx, k, x, h_str)) != FL_OK)
		goto cleanup;
	rc = FL_ECRYPTO;
	if (!secp256k1_ec_pubkey_create(ctx, &kg, k))
		goto cleanup;
	point_serialize(ctx, u, &kg);
	if (mul_secret(ctx, v, &h, k) != FL_OK)
		goto cleanup;
	memset(c32, 0, sizeof(c32));
	challenge(c32 + C_LEN, (const uint8_t *const[5]){y_str, h_str, gamma, u, v});
	/* c = 0 (probability 2^-128) would give a proof the verifier refuses
	 * as non-canonical, and so would s = 0 below. */
	if (is_zero(c32, sizeof(c32)))
		goto cleanup;
	memcpy(s, x, 32);
	if (!secp256k1_ec_seckey_tweak_mul(ctx, s, c32) ||
	    !secp256k1_ec_seckey_tweak_add(ctx, s, k))
		goto cleanup;
	memcpy(proof->b, gamma, POINT_LEN);
	memcpy(proof->b + C_OFF, c32 + C_LEN, C_LEN);
	memcpy(proof->b + S_OFF, s, S_LEN);
	rc = FL_OK;

cleanup:
	if (rc != FL_OK)
		memset(proof, 0, sizeof(*proof));
	fl_wipe(x, sizeof(x));
	fl_wipe(k, sizeof(k));
	fl_wipe(s, sizeof(s));
	fl_wipe(v, sizeof(v));
	return rc;
}

/* a·p − b·q for public scalars a and b. */
static int mul_sub(const secp256k1_context *ctx, uint8_t out[POINT_LEN], const secp256k1_pubkey *p,
		   const uint8_t a[32], const secp256k1_pubkey *q, const uint8_t b[32])
{
	secp256k1_pubkey ap = *p, bq = *q, sum;
	const secp256k1_pubkey *terms[2] = {&ap, &bq};

	if (!secp256k1_ec_pubkey_tweak_mul(ctx, &ap, a) ||
	    !secp256k1_ec_pubkey_tweak_mul(ctx, &bq, b) || !secp256k1_ec_pubkey_negate(ctx, &bq))
		return FL_ESIG;
	/* The sum is the point at infinity only for a forged proof. */
	if (!secp256k1_ec_pubkey_combine(ctx, &sum, terms, 2))
		return FL_ESIG;
	point_serialize(ctx, out, &sum);
	return FL_OK;
}

int fl_vrf_verify(fl_hash *out, const fl_vrf_proof *proof, const fl_pubkey *pk, const void *alpha,
		  size_t n)
{
	const secp256k1_context *ctx = fl_secp256k1_context();
	uint8_t y_str[POINT_LEN], h_str[POINT_LEN], u[POINT_LEN], v[POINT_LEN];
	uint8_t c32[32], c_again[C_LEN];
	secp256k1_pubkey y, h, gamma, upt;
	const uint8_t *s;
	int rc;

	assert(proof != NULL && pk != NULL && (alpha != NULL || n == 0));
	s = proof->b + S_OFF;
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ctx == NULL)
		return FL_ECRYPTO;
	if (n > FL_VRF_ALPHA_MAX)
		return FL_ETOOBIG;
	if ((rc = fl_vrf_proof_check(proof)) != FL_OK)
		return rc == FL_EINVAL ? FL_ESIG : rc;
	y_str[0] = 0x02;
	memcpy(y_str + 1, pk->b, FL_PUBKEY_LEN);
	/* A key that is not a point cannot have made a proof. */
	if (point_parse(ctx, &y, y_str) != FL_OK)
		return FL_ESIG;
	if ((rc = encode_to_curve(ctx, &h, h_str, y_str, alpha, n)) != FL_OK)
		return rc;
	if (point_parse(ctx, &gamma, proof->b) != FL_OK)
		return FL_ESIG;
	memset(c32, 0, sizeof(c32));
	memcpy(c32 + C_LEN, proof->b + C_OFF, C_LEN);
	/* U = s·G − c·Y as (−c·Y) + s·G: tweak_add multiplies by G with the
	 * generator's precomputed tables. Infinity only for a forged proof. */
	upt = y;
	if (!secp256k1_ec_pubkey_tweak_mul(ctx, &upt, c32) ||
	    !secp256k1_ec_pubkey_negate(ctx, &upt) || !secp256k1_ec_pubkey_tweak_add(ctx, &upt, s))
		return FL_ESIG;
	point_serialize(ctx, u, &upt);
	/* V = s·H − c·Gamma */
	if ((rc = mul_sub(ctx, v, &h, s, &gamma, c32)) != FL_OK)
		return rc;
	challenge(c_again, (const uint8_t *const[5]){y_str, h_str, proof->b, u, v});
	if (memcmp(c_again, proof->b + C_OFF, C_LEN) != 0)
		return FL_ESIG;
	if (out != NULL)
		output_hash(out, proof->b);
	return FL_OK;
}

int fl_vrf_proof_check(const fl_vrf_proof *proof)
{
	const secp256k1_context *ctx = fl_secp256k1_context();
	secp256k1_pubkey gamma;

	assert(proof != NULL);
	if (ctx == NULL)
		return FL_ECRYPTO;
	/* A 33-byte parse accepts only 0x02/0x03 with x < p on the curve: one
	 * encoding per point. seckey_verify is exactly 0 < s < n. */
	if (point_parse(ctx, &gamma, proof->b) != FL_OK ||
	    !secp256k1_ec_seckey_verify(ctx, proof->b + S_OFF) || is_zero(proof->b + C_OFF, C_LEN))
		return FL_EINVAL;
	return FL_OK;
}

int fl_vrf_proof_to_hash(fl_hash *out, const fl_vrf_proof *proof)
{
	int rc;

	assert(out != NULL && proof != NULL);
	memset(out, 0, sizeof(*out));
	if ((rc = fl_vrf_proof_check(proof)) != FL_OK)
		return rc;
	output_hash(out, proof->b);
	return FL_OK;
}

int fl_write_vrf_proof(fl_writer *w, const fl_vrf_proof *proof)
{
	int rc;

	assert(w != NULL && proof != NULL);
	if (w->err != FL_OK)
		return w->err;
	if ((rc = fl_vrf_proof_check(proof)) != FL_OK) {
		w->err = rc;
		return rc;
	}
	return fl_write_fixed(w, proof->b, FL_VRF_PROOF_LEN);
}

int fl_read_vrf_proof(fl_reader *r, fl_vrf_proof *proof)
{
	int rc;

	assert(r != NULL && proof != NULL);
	memset(proof, 0, sizeof(*proof));
	if ((rc = fl_read_fixed(r, proof->b, FL_VRF_PROOF_LEN)) != FL_OK)
		return rc;
	if ((rc = fl_vrf_proof_check(proof)) != FL_OK) {
		memset(proof, 0, sizeof(*proof));
		r->err = rc;
	}
	return rc;
}
