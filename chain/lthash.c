/*
 * chain/lthash.c — the lattice hash of a multiset of state elements (Lewi,
 * Kim, Maykov, Weis 2019, "Securing update propagation with homomorphic
 * hashing"; the LtHash16 of Facebook's folly and of Solana): 1024 lanes of
 * u16, an element mapped to such a vector by a hash expanded with a stream
 * cipher, a multiset hashed as the lane-wise sum mod 2^16 of its elements.
 * Adding an element is a vector add and removing it a subtract, so the hash
 * of the whole state is kept by folding in what each block changed, in any
 * order; 1024 x 16 bits gives the ~200-bit security the paper computes for
 * these parameters.
 *
 * Element: seed = SHA-256("fedledger/v1/lthash" 0x00 || u8 db ||
 * u64le klen || key || u64le vlen || value), the lengths making the
 * encoding unambiguous; vector = the first 2048 bytes of the ChaCha20
 * keystream (RFC 8439: key = seed, nonce zero, counter from 0) read as
 * 1024 u16 little-endian. ChaCha20 rather than AES-CTR or a SHA-256 counter
 * mode: all three cost about the same through OpenSSL on this machine
 * (~0.7 us an element with the seed, docs/store.md), and ChaCha20 takes the
 * whole 256-bit seed as its key.
 */
#include "chain/internal.h"

#include <assert.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#define LTHASH_DOMAIN "fedledger/v1/lthash"
#define SMALL_BUF     512
/* Key and value bytes that fit beside the domain and the two lengths. */
#define SMALL_ROOM (SMALL_BUF - sizeof(LTHASH_DOMAIN) - 1 - 16)

struct chain_lthasher {
	EVP_MD_CTX *md;
	EVP_CIPHER_CTX *cipher;
	/* The keystream, read as lanes: bytes in memory order are the lanes
	 * on a little-endian machine, and swapped into them on another. */
	uint16_t stream[CHAIN_LTHASH_LANES];
	uint8_t small[SMALL_BUF]; /* a small element's seed input, in one piece */
};

static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static EVP_MD *alg_sha256;
static EVP_CIPHER *alg_chacha20;

/* Fetched once: OpenSSL 3's implicit lookup per init would cost as much
 * as the hashing itself (core/hash.c does the same for SHA-256). */
static void algs_fetch(void)
{
	alg_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	alg_chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
}

int chain_lthasher_new(chain_lthasher **out)
{
	chain_lthasher *h;

	assert(out != NULL);
	*out = NULL;
	pthread_once(&algs_once, algs_fetch);
	if (alg_sha256 == NULL || alg_chacha20 == NULL)
		return FL_ECRYPTO;
	h = fl_calloc(1, sizeof(*h));
	if (h == NULL)
		return FL_ENOMEM;
	h->md = EVP_MD_CTX_new();
	h->cipher = EVP_CIPHER_CTX_new();
	if (h->md == NULL || h->cipher == NULL) {
		chain_lthasher_free(h);
		return FL_ENOMEM;
	}
	/* The cipher is set once; each element only re-keys it. */
	if (EVP_EncryptInit_ex(h->cipher, alg_chacha20, NULL, NULL, NULL) != 1) {
		chain_lthasher_free(h);
		return FL_ECRYPTO;
	}
	*out = h;
	return FL_OK;
}

void chain_lthasher_free(chain_lthasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	EVP_CIPHER_CTX_free(h->cipher);
	fl_free(h);
}

static void put_le64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* The element's 2048 bytes into h->stream. */
static int element_stream(chain_lthasher *h, uint8_t db, const void *key, size_t klen,
			  const void *val, size_t vlen)
{
	static const uint8_t zero[CHAIN_LTHASH_BYTES];
	/* RFC 8439's 16-byte IV as OpenSSL takes it: u32le counter || nonce. */
	static const uint8_t iv[16];
	uint8_t klen_le[8], vlen_le[8], seed[32];
	unsigned int seed_len = 0;
	int n = 0;

	put_le64(klen_le, klen);
	put_le64(vlen_le, vlen);
	/* A small element (an account, a bond) in one buffer: one update
	 * instead of six, whose call overhead costs as much as the hashing. */
	if (klen <= SMALL_ROOM && vlen <= SMALL_ROOM - klen) {
		uint8_t *p = h->small;

		memcpy(p, LTHASH_DOMAIN, sizeof(LTHASH_DOMAIN));
		p += sizeof(LTHASH_DOMAIN);
		*p++ = db;
		memcpy(p, klen_le, 8);
		p += 8;
		if (klen > 0)
			memcpy(p, key, klen);
		p += klen;
		memcpy(p, vlen_le, 8);
		p += 8;
		if (vlen > 0)
			memcpy(p, val, vlen);
		p += vlen;
		if (EVP_DigestInit_ex(h->md, alg_sha256, NULL) != 1 ||
		    EVP_DigestUpdate(h->md, h->small, (size_t)(p - h->small)) != 1 ||
		    EVP_DigestFinal_ex(h->md, seed, &seed_len) != 1 || seed_len != sizeof(seed))
			return FL_ECRYPTO;
	} else if (EVP_DigestInit_ex(h->md, alg_sha256, NULL) != 1 ||
	    EVP_DigestUpdate(h->md, LTHASH_DOMAIN, sizeof(LTHASH_DOMAIN)) != 1 ||
	    EVP_DigestUpdate(h->md, &db, 1) != 1 || EVP_DigestUpdate(h->md, klen_le, 8) != 1 ||
	    (klen > 0 && EVP_DigestUpdate(h->md, key, klen) != 1) ||
	    EVP_DigestUpdate(h->md, vlen_le, 8) != 1 ||
	    (vlen > 0 && EVP_DigestUpdate(h->md, val, vlen) != 1) ||
	    EVP_DigestFinal_ex(h->md, seed, &seed_len) != 1 || seed_len != sizeof(seed))
		return FL_ECRYPTO;
	/* The keystream is the encryption of zeros. */
	if (EVP_EncryptInit_ex(h->cipher, NULL, NULL, seed, iv) != 1 ||
	    EVP_EncryptUpdate(h->cipher, (uint8_t *)h->stream, &n, zero, sizeof(zero)) != 1 ||
	    n != (int)sizeof(zero))
		return FL_ECRYPTO;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
		h->stream[i] = __builtin_bswap16(h->stream[i]);
#endif
	return FL_OK;
}

/* Plain loops over u16 lanes that gcc -O2 turns into vector adds (restrict:
 * without it the two arrays might overlap and it would not). */
static void lanes_add(uint16_t *restrict acc, const uint16_t *restrict v)
{
	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
		acc[i] = (uint16_t)(acc[i] + v[i]);
}

static void lanes_sub(uint16_t *restrict acc, const uint16_t *restrict v)
{
	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
		acc[i] = (uint16_t)(acc[i] - v[i]);
}

int chain_lthash_fold(chain_lthasher *h, chain_lthash *acc, int add, uint8_t db, const void *key,
		      size_t klen, const void *val, size_t vlen)
{
	int rc;

	assert(h != NULL && acc != NULL && (key != NULL || klen == 0) &&
	       (val != NULL || vlen == 0));
	if ((rc = element_stream(h, db, key, klen, val, vlen)) != FL_OK)
		return rc;
	if (add)
		lanes_add(acc->lane, h->stream);
	else
		lanes_sub(acc->lane, h->stream);
	return FL_OK;
}

void chain_lthash_to_bytes(uint8_t out[CHAIN_LTHASH_BYTES], const chain_lthash *h)
{
	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++) {
		out[2 * i] = (uint8_t)h->lane[i];
		out[2 * i + 1] = (uint8_t)(h->lane[i] >> 8);
	}
}

void chain_lthash_from_bytes(chain_lthash *h, const uint8_t in[CHAIN_LTHASH_BYTES])
{
	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
		h->lane[i] = (uint16_t)(in[2 * i] | (in[2 * i + 1] << 8));
}

void chain_app_hash(fl_hash *out, const char *chain_id, uint64_t height, const chain_lthash *state)
{
	uint8_t body[8 + CHAIN_LTHASH_BYTES];

	assert(out != NULL && chain_id != NULL && state != NULL);
	put_le64(body, height);
	chain_lthash_to_bytes(body + 8, state);
	fl_domain_hash(out, "app", chain_id, body, sizeof(body));
}
