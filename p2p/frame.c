/*
 * p2p/frame.c — encrypted frames (internal.h, "session crypto"):
 *   u32 LE L = ciphertext length (tag included), then L bytes of
 *   ChaCha20-Poly1305 (IETF) ciphertext; the 4 length bytes are the
 *   associated data. The nonce is a per-direction 96-bit little-endian
 *   counter, so a replayed, dropped or reordered frame fails its MAC.
 *
 * Sealed and opened with OpenSSL's EVP ChaCha20-Poly1305: the same IETF
 * construction as libsodium's crypto_aead_chacha20poly1305_ietf (the wire
 * bytes are identical, tests/p2p/test_frame.c checks it), several times its
 * speed on large frames here (AVX-512 code paths). Each direction keeps one
 * EVP_CIPHER_CTX keyed once when the session's keys are derived; a frame
 * sets only its nonce. Frames of at most FRAME_SMALL bytes go through
 * libsodium instead: OpenSSL runs its ChaCha20 kernel separately for the
 * Poly1305 key, the whole 64-byte blocks and the tail, and its parameter
 * plumbing costs as much again, so a 100-byte frame took ~700 ns against
 * libsodium's ~400 ns (tools' micro-measurements, docs/benchmarks.md).
 * No I/O; the only allocation is the two contexts.
 */
#include "p2p/internal.h"

#include <assert.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

#define NONCE_LEN   12  /* IETF ChaCha20-Poly1305 */
#define FRAME_SMALL 192 /* plaintext bytes: at most this, libsodium is faster */

_Static_assert(NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "IETF nonce");
_Static_assert(P2P_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "16-byte tag");

static void put_le32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)v;
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)(v >> 16);
	out[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t p[4])
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The 64-bit counter in the low 8 bytes, the top 4 bytes zero. */
static void nonce_bytes(uint8_t out[NONCE_LEN], uint64_t counter)
{
	memset(out, 0, NONCE_LEN);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(counter >> (8 * i));
}

static EVP_CIPHER_CTX *cipher_new(const uint8_t key[P2P_KEY_LEN], int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx == NULL)
		return NULL;
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int p2p_frame_keys_init(p2p_session *s)
{
	assert(s != NULL && s->send_ctx == NULL && s->recv_ctx == NULL);
	s->send_ctx = cipher_new(s->send_key, 1);
	s->recv_ctx = cipher_new(s->recv_key, 0);
	if (s->send_ctx == NULL || s->recv_ctx == NULL) {
		p2p_frame_keys_free(s);
		return FL_ENOMEM;
	}
	return FL_OK;
}

void p2p_frame_keys_free(p2p_session *s)
{
	assert(s != NULL);
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(s->send_ctx);
	EVP_CIPHER_CTX_free(s->recv_ctx);
	s->send_ctx = NULL;
	s->recv_ctx = NULL;
}

int p2p_frame_seal(p2p_session *s, uint8_t *out, const uint8_t *p, size_t n)
{
	uint8_t nonce[NONCE_LEN];
	EVP_CIPHER_CTX *ctx;
	int len;

	assert(s != NULL && out != NULL && (p != NULL || n == 0));
	assert(s->keys_ready && s->send_ctx != NULL);
	/* Exactly in place or not overlapping: both ciphers allow the first
	 * (a stream cipher, the tag written after the ciphertext), neither a
	 * partial overlap. */
	assert(p == NULL || p == out + P2P_LEN_PREFIX || p + n <= out ||
	       out + P2P_LEN_PREFIX + n + P2P_TAG_LEN <= p);
	if (n > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	/* Never reuse a nonce: the last counter value is not used, so the
	 * counter cannot wrap to one already sent. */
	if (s->send_nonce == UINT64_MAX)
		return FL_EPROTO;
	ctx = s->send_ctx;
	put_le32(out, (uint32_t)(n + P2P_TAG_LEN));
	nonce_bytes(nonce, s->send_nonce);
	if (n <= FRAME_SMALL) {
		unsigned long long ct_len;

		if (crypto_aead_chacha20poly1305_ietf_encrypt(out + P2P_LEN_PREFIX, &ct_len, p, n,
							      out, P2P_LEN_PREFIX, NULL, nonce,
							      s->send_key) != 0)
			return FL_ECRYPTO;
		s->send_nonce++;
		return FL_OK;
	}
	/* A new nonce resets the cipher and the MAC; the key stays. */
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, out, P2P_LEN_PREFIX) != 1 ||
	    (n > 0 && EVP_EncryptUpdate(ctx, out + P2P_LEN_PREFIX, &len, p, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(ctx, out + P2P_LEN_PREFIX + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, P2P_TAG_LEN,
				out + P2P_LEN_PREFIX + n) != 1)
		return FL_ECRYPTO;
	s->send_nonce++;
	return FL_OK;
}

int p2p_frame_length(const uint8_t hdr[P2P_LEN_PREFIX], uint32_t max_frame, size_t *ct_len)
{
	uint32_t len;

	assert(hdr != NULL && ct_len != NULL);
	len = get_le32(hdr);
	if (len < P2P_TAG_LEN)
		return FL_EPROTO;
	/* Decided from 4 bytes, before the caller reads or allocates the body. */
	if (len - P2P_TAG_LEN > max_frame || len - P2P_TAG_LEN > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	*ct_len = len;
	return FL_OK;
}

int p2p_frame_open(p2p_session *s, const uint8_t hdr[P2P_LEN_PREFIX], const uint8_t *ct,
		   size_t ct_len, uint8_t *out)
{
	uint8_t nonce[NONCE_LEN], tag[P2P_TAG_LEN];
	EVP_CIPHER_CTX *ctx;
	size_t pt_len;
	int len;

	assert(s != NULL && hdr != NULL && ct != NULL && out != NULL);
	assert(s->keys_ready && s->recv_ctx != NULL);
	if (ct_len < P2P_TAG_LEN || ct_len != get_le32(hdr))
		return FL_EPROTO;
	if (ct_len - P2P_TAG_LEN > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	if (s->recv_nonce == UINT64_MAX)
		return FL_EPROTO;
	ctx = s->recv_ctx;
	pt_len = ct_len - P2P_TAG_LEN;
	/* The tag is taken first, so out may be ct (opened in place). */
	nonce_bytes(nonce, s->recv_nonce);
	if (pt_len <= FRAME_SMALL) {
		/* libsodium checks the tag before it writes a byte, and zeroes
		 * out on failure; in place is allowed. */
		if (crypto_aead_chacha20poly1305_ietf_decrypt(
			out, NULL, NULL, ct, ct_len, hdr, P2P_LEN_PREFIX, nonce, s->recv_key) != 0)
			return FL_ECRYPTO;
		s->recv_nonce++;
		return FL_OK;
	}
	memcpy(tag, ct + pt_len, P2P_TAG_LEN);
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, P2P_TAG_LEN, tag) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, hdr, P2P_LEN_PREFIX) != 1 ||
	    (pt_len > 0 && EVP_DecryptUpdate(ctx, out, &len, ct, (int)pt_len) != 1) ||
	    EVP_DecryptFinal_ex(ctx, out + pt_len, &len) != 1) {
		/* OpenSSL decrypts before the tag is checked: no forged byte
		 * may be left for a caller that ignores the error. */
		sodium_memzero(out, pt_len);
		return FL_ECRYPTO;
	}
	s->recv_nonce++;
	return FL_OK;
}

/*
 * A large frame opened as its bytes arrive: each piece is decrypted while
 * the kernel's copy of it is still in cache, instead of one pass over the
 * whole frame (up to 1 MiB, past L2) once its last byte is in. The MAC is
 * checked at the end as in p2p_frame_open, and the plaintext zeroed if it
 * fails; the caller must not use a byte of it before p2p_frame_open_end.
 */
int p2p_frame_open_begin(p2p_session *s, const uint8_t hdr[P2P_LEN_PREFIX], size_t ct_len)
{
	uint8_t nonce[NONCE_LEN];
	int len;

	assert(s != NULL && hdr != NULL);
	assert(s->keys_ready && s->recv_ctx != NULL);
	if (ct_len != get_le32(hdr) || ct_len - P2P_TAG_LEN <= FRAME_SMALL)
		return FL_EPROTO;
	if (ct_len - P2P_TAG_LEN > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	if (s->recv_nonce == UINT64_MAX)
		return FL_EPROTO;
	nonce_bytes(nonce, s->recv_nonce);
	if (EVP_DecryptInit_ex(s->recv_ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(s->recv_ctx, NULL, &len, hdr, P2P_LEN_PREFIX) != 1)
		return FL_ECRYPTO;
	return FL_OK;
}

int p2p_frame_open_update(p2p_session *s, uint8_t *out, const uint8_t *ct, size_t n)
{
	int len;

	assert(s != NULL && ((out != NULL && ct != NULL) || n == 0) && n <= P2P_MAX_FRAME);
	assert(out == ct || out + n <= ct || ct + n <= out);
	if (n > 0 && EVP_DecryptUpdate(s->recv_ctx, out, &len, ct, (int)n) != 1)
		return FL_ECRYPTO;
	return FL_OK;
}

int p2p_frame_open_end(p2p_session *s, uint8_t *plain, size_t pt_len,
		       const uint8_t tag[P2P_TAG_LEN])
{
	uint8_t t[P2P_TAG_LEN];
	int len;

	assert(s != NULL && plain != NULL && tag != NULL);
	memcpy(t, tag, sizeof(t));
	if (EVP_CIPHER_CTX_ctrl(s->recv_ctx, EVP_CTRL_AEAD_SET_TAG, P2P_TAG_LEN, t) != 1 ||
	    EVP_DecryptFinal_ex(s->recv_ctx, plain + pt_len, &len) != 1) {
		sodium_memzero(plain, pt_len);
		return FL_ECRYPTO;
	}
	s->recv_nonce++;
	return FL_OK;
}

/*
 * The frame of head[0..head_n) then body[0..n), sealed straight from the two
 * (neither may overlap out): a large message goes from the caller's buffer
 * to its sealed frame in one pass, without a copy into the queue first.
 */
int p2p_frame_seal_parts(p2p_session *s, uint8_t *out, const uint8_t *head, size_t head_n,
			 const uint8_t *body, size_t n)
{
	uint8_t nonce[NONCE_LEN], small[FRAME_SMALL];
	EVP_CIPHER_CTX *ctx;
	int len;

	assert(s != NULL && out != NULL && (head != NULL || head_n == 0) &&
	       (body != NULL || n == 0));
	assert(s->keys_ready && s->send_ctx != NULL);
	if (head_n > P2P_MAX_FRAME || n > P2P_MAX_FRAME - head_n)
		return FL_ETOOBIG;
	if (head_n + n <= FRAME_SMALL) {
		/* libsodium wants one buffer; at most 192 bytes to copy. */
		if (head_n > 0)
			memcpy(small, head, head_n);
		if (n > 0)
			memcpy(small + head_n, body, n);
		return p2p_frame_seal(s, out, small, head_n + n);
	}
	if (s->send_nonce == UINT64_MAX)
		return FL_EPROTO;
	ctx = s->send_ctx;
	put_le32(out, (uint32_t)(head_n + n + P2P_TAG_LEN));
	nonce_bytes(nonce, s->send_nonce);
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, out, P2P_LEN_PREFIX) != 1 ||
	    (head_n > 0 &&
	     EVP_EncryptUpdate(ctx, out + P2P_LEN_PREFIX, &len, head, (int)head_n) != 1) ||
	    (n > 0 &&
	     EVP_EncryptUpdate(ctx, out + P2P_LEN_PREFIX + head_n, &len, body, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(ctx, out + P2P_LEN_PREFIX + head_n + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, P2P_TAG_LEN,
				out + P2P_LEN_PREFIX + head_n + n) != 1)
		return FL_ECRYPTO;
	s->send_nonce++;
	return FL_OK;
}
