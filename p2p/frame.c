/*
 * p2p/frame.c — encrypted frames (internal.h, "session crypto"):
 *   u32 LE L = ciphertext length (tag included), then L bytes of
 *   ChaCha20-Poly1305 (IETF) ciphertext; the 4 length bytes are the
 *   associated data. The nonce is a per-direction 96-bit little-endian
 *   counter, so a replayed, dropped or reordered frame fails its MAC.
 *
 * Pure functions over byte buffers: no I/O, no allocation.
 */
#include "p2p/internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

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
static void nonce_bytes(uint8_t out[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t counter)
{
	memset(out, 0, crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(counter >> (8 * i));
}

int p2p_frame_seal(p2p_session *s, uint8_t *out, const uint8_t *p, size_t n)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long ct_len;

	assert(s != NULL && out != NULL && (p != NULL || n == 0));
	assert(s->keys_ready);
	if (n > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	/* Never reuse a nonce: the last counter value is not used, so the
	 * counter cannot wrap to one already sent. */
	if (s->send_nonce == UINT64_MAX)
		return FL_EPROTO;
	put_le32(out, (uint32_t)(n + P2P_TAG_LEN));
	nonce_bytes(nonce, s->send_nonce);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out + P2P_LEN_PREFIX, &ct_len, p, n, out,
						      P2P_LEN_PREFIX, NULL, nonce,
						      s->send_key) != 0)
		return FL_ECRYPTO;
	assert(ct_len == n + P2P_TAG_LEN);
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
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long pt_len;

	assert(s != NULL && hdr != NULL && ct != NULL && out != NULL);
	assert(s->keys_ready);
	if (ct_len < P2P_TAG_LEN || ct_len != get_le32(hdr))
		return FL_EPROTO;
	if (ct_len - P2P_TAG_LEN > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	if (s->recv_nonce == UINT64_MAX)
		return FL_EPROTO;
	nonce_bytes(nonce, s->recv_nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &pt_len, NULL, ct, ct_len, hdr,
						      P2P_LEN_PREFIX, nonce, s->recv_key) != 0)
		return FL_ECRYPTO;
	assert(pt_len == ct_len - P2P_TAG_LEN);
	s->recv_nonce++;
	return FL_OK;
}
