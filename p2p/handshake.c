/*
 * p2p/handshake.c — the session handshake (internal.h, "session crypto"):
 * HELLO in clear with an ephemeral X25519 key, directional ChaCha20-Poly1305
 * keys from the shared secret and the transcript, then AUTH in two frames
 * each way: the identity key, then a BIP340 signature over the transcript,
 * the version, the signer's role and both identities.
 *
 * Pure functions over byte buffers: no I/O; the only allocation is the two
 * cipher contexts (frame.c).
 */
#include "p2p/internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#define HELLO_FIXED        (P2P_MAGIC_LEN + 1 + 1) /* magic, version, id length */
#define EPH_LEN            32
#define TRANSCRIPT_TAG     "fedledger/p2p/v1"
#define TRANSCRIPT_TAG_LEN (sizeof(TRANSCRIPT_TAG) - 1)

/* BLAKE2b personalisations: exactly crypto_generichash_blake2b_PERSONALBYTES
 * (16) bytes each, the NUL of the literal not included. "lo" is the key the
 * side with the lower ephemeral key sends with; "hi" the other direction. */
static const char personal_lo[] = "fedledger-p2p-lo";
static const char personal_hi[] = "fedledger-p2p-hi";
_Static_assert(sizeof(personal_lo) == crypto_generichash_blake2b_PERSONALBYTES + 1,
	       "personalisation is 16 bytes");
_Static_assert(sizeof(personal_hi) == crypto_generichash_blake2b_PERSONALBYTES + 1,
	       "personalisation is 16 bytes");

/* The network id as it goes on the wire: 1..P2P_NETWORK_ID_MAX bytes. */
static int network_id_len(const char *network_id, size_t *len)
{
	size_t n;

	assert(network_id != NULL);
	n = strnlen(network_id, P2P_NETWORK_ID_MAX + 1);
	if (n == 0 || n > P2P_NETWORK_ID_MAX)
		return FL_EINVAL;
	*len = n;
	return FL_OK;
}

int p2p_hello_make(p2p_session *s, const char *network_id, p2p_role role, uint8_t *out, size_t *n)
{
	size_t id_len;
	int rc;

	assert(s != NULL && out != NULL && n != NULL);
	assert(role == P2P_ROLE_INITIATOR || role == P2P_ROLE_RESPONDER);
	if ((rc = network_id_len(network_id, &id_len)) != FL_OK)
		return rc;
	/* Idempotent; fails only when the OS has no usable RNG. */
	if (sodium_init() < 0)
		return FL_ECRYPTO;
	sodium_memzero(s, sizeof(*s));
	s->role = role;
	randombytes_buf(s->eph_sk, sizeof(s->eph_sk));
	if (crypto_scalarmult_curve25519_base(s->eph_pk, s->eph_sk) != 0) {
		sodium_memzero(s, sizeof(*s));
		return FL_ECRYPTO;
	}

	memcpy(out, P2P_MAGIC, P2P_MAGIC_LEN);
	out[P2P_MAGIC_LEN] = P2P_VERSION;
	out[P2P_MAGIC_LEN + 1] = (uint8_t)id_len;
	memcpy(out + HELLO_FIXED, network_id, id_len);
	memcpy(out + HELLO_FIXED + id_len, s->eph_pk, EPH_LEN);
	*n = HELLO_FIXED + id_len + EPH_LEN;
	return FL_OK;
}

/* T = SHA256("fedledger/p2p/v1" || network id || 0x00 || lo_eph || hi_eph). */
static void transcript_hash(fl_hash *out, const char *network_id, size_t id_len,
			    const uint8_t lo[EPH_LEN], const uint8_t hi[EPH_LEN])
{
	uint8_t buf[TRANSCRIPT_TAG_LEN + P2P_NETWORK_ID_MAX + 1 + 2 * EPH_LEN];
	size_t k = 0;

	memcpy(buf + k, TRANSCRIPT_TAG, TRANSCRIPT_TAG_LEN);
	k += TRANSCRIPT_TAG_LEN;
	memcpy(buf + k, network_id, id_len);
	k += id_len;
	buf[k++] = 0x00;
	memcpy(buf + k, lo, EPH_LEN);
	k += EPH_LEN;
	memcpy(buf + k, hi, EPH_LEN);
	k += EPH_LEN;
	fl_sha256(out, buf, k);
}

static int derive_key(uint8_t out[P2P_KEY_LEN], const uint8_t shared[32], const fl_hash *t,
		      const char *personal)
{
	static const uint8_t salt[crypto_generichash_blake2b_SALTBYTES];

	if (crypto_generichash_blake2b_salt_personal(out, P2P_KEY_LEN, t->b, FL_HASH_LEN, shared,
						     32, salt, (const uint8_t *)personal) != 0)
		return FL_ECRYPTO;
	return FL_OK;
}

int p2p_hello_accept(p2p_session *s, const char *network_id, const uint8_t *p, size_t n)
{
	uint8_t shared[32];
	const uint8_t *remote, *lo, *hi;
	size_t id_len, remote_id_len;
	int ours_lower, cmp, rc;

	assert(s != NULL && p != NULL);
	if ((rc = network_id_len(network_id, &id_len)) != FL_OK)
		return rc;
	/* A second HELLO on one session is a protocol violation. */
	if (s->keys_ready)
		return FL_EPROTO;
	if (n < HELLO_FIXED || memcmp(p, P2P_MAGIC, P2P_MAGIC_LEN) != 0)
		return FL_EPROTO;
	if (p[P2P_MAGIC_LEN] != P2P_VERSION)
		return FL_EVERSION;
	remote_id_len = p[P2P_MAGIC_LEN + 1];
	if (remote_id_len > P2P_NETWORK_ID_MAX || n != HELLO_FIXED + remote_id_len + EPH_LEN)
		return FL_EPROTO;
	if (remote_id_len != id_len || memcmp(p + HELLO_FIXED, network_id, id_len) != 0)
		return FL_ECHAIN;
	remote = p + HELLO_FIXED + remote_id_len;

	/* Our own ephemeral key sent back: the "peer" is a mirror. Both sides
	 * would derive the same keys for both directions and sign the same T. */
	cmp = memcmp(s->eph_pk, remote, EPH_LEN);
	if (cmp == 0)
		return FL_EPROTO;
	/* libsodium returns -1 when the result is all zero, i.e. the remote key
	 * is a low-order point and the "secret" would be known to anyone. */
	if (crypto_scalarmult_curve25519(shared, s->eph_sk, remote) != 0) {
		rc = FL_EPROTO;
		goto cleanup;
	}

	ours_lower = cmp < 0;
	lo = ours_lower ? s->eph_pk : remote;
	hi = ours_lower ? remote : s->eph_pk;
	transcript_hash(&s->transcript, network_id, id_len, lo, hi);
	if ((rc = derive_key(ours_lower ? s->send_key : s->recv_key, shared, &s->transcript,
			     personal_lo)) != FL_OK)
		goto cleanup;
	if ((rc = derive_key(ours_lower ? s->recv_key : s->send_key, shared, &s->transcript,
			     personal_hi)) != FL_OK)
		goto cleanup;
	if ((rc = p2p_frame_keys_init(s)) != FL_OK)
		goto cleanup;
	memcpy(s->remote_eph, remote, EPH_LEN);
	s->send_nonce = 0;
	s->recv_nonce = 0;
	s->keys_ready = 1;
	/* The ephemeral secret has done its job; dropping it now is what makes
	 * past sessions safe if this process is later compromised. */
	sodium_memzero(s->eph_sk, sizeof(s->eph_sk));
	rc = FL_OK;
cleanup:
	sodium_memzero(shared, sizeof(shared));
	if (rc != FL_OK) {
		sodium_memzero(s->send_key, sizeof(s->send_key));
		sodium_memzero(s->recv_key, sizeof(s->recv_key));
	}
	return rc;
}

/*
 * What a side signs: fl_domain_hash("p2p-auth", network id, body) with
 *   body = T || u8 version || u8 signer's role || signer's id || peer's id.
 * T binds the session (both ephemeral keys, the network); the role stops a
 * signature from being reflected back in the other direction (both sides
 * share T); the two ids stop it from being presented for, or to, another
 * key; the version stops it from being accepted by a host speaking another.
 */
static void auth_digest(fl_hash *out, const p2p_session *s, const char *network_id,
			p2p_role signer_role, const fl_pubkey *signer, const fl_pubkey *peer)
{
	uint8_t body[P2P_AUTH_BODY_LEN];
	size_t k = 0;

	memcpy(body + k, s->transcript.b, FL_HASH_LEN);
	k += FL_HASH_LEN;
	body[k++] = P2P_VERSION;
	body[k++] = (uint8_t)signer_role;
	memcpy(body + k, signer->b, FL_PUBKEY_LEN);
	k += FL_PUBKEY_LEN;
	memcpy(body + k, peer->b, FL_PUBKEY_LEN);
	k += FL_PUBKEY_LEN;
	assert(k == sizeof(body));
	fl_domain_hash(out, "p2p-auth", network_id, body, k);
}

static p2p_role other_role(p2p_role r)
{
	return r == P2P_ROLE_INITIATOR ? P2P_ROLE_RESPONDER : P2P_ROLE_INITIATOR;
}

void p2p_auth_id_make(p2p_session *s, const fl_pubkey *self, uint8_t out[P2P_AUTH_ID_LEN])
{
	assert(s != NULL && self != NULL && out != NULL);
	assert(s->keys_ready);
	s->local_id = *self;
	memcpy(out, self->b, FL_PUBKEY_LEN);
}

int p2p_auth_id_accept(p2p_session *s, const uint8_t *p, size_t n)
{
	assert(s != NULL && p != NULL);
	assert(s->keys_ready);
	if (s->has_remote_claim || n != P2P_AUTH_ID_LEN)
		return FL_EPROTO;
	/* Only a claim: it becomes remote_id when its signature verifies. */
	memcpy(s->remote_claim.b, p, FL_PUBKEY_LEN);
	s->has_remote_claim = 1;
	return FL_OK;
}

int p2p_auth_make(const p2p_session *s, const char *network_id, const fl_seckey *identity,
		  uint8_t out[P2P_AUTH_SIG_LEN])
{
	fl_sig sig;
	fl_hash digest;
	size_t id_len;
	int rc;

	assert(s != NULL && identity != NULL && out != NULL);
	assert(s->keys_ready);
	if ((rc = network_id_len(network_id, &id_len)) != FL_OK)
		return rc;
	/* Both identities are named: ours sent, theirs received. */
	if (!s->has_remote_claim)
		return FL_ESTATE;
	auth_digest(&digest, s, network_id, s->role, &s->local_id, &s->remote_claim);
	if ((rc = fl_sign(&sig, identity, &digest)) != FL_OK)
		return rc;
	memcpy(out, sig.b, FL_SIG_LEN);
	return FL_OK;
}

int p2p_auth_accept(p2p_session *s, const char *network_id, const uint8_t *p, size_t n)
{
	fl_sig sig;
	fl_hash digest;
	size_t id_len;
	int rc;

	assert(s != NULL && p != NULL);
	assert(s->keys_ready);
	if ((rc = network_id_len(network_id, &id_len)) != FL_OK)
		return rc;
	if (s->authenticated || !s->has_remote_claim || n != P2P_AUTH_SIG_LEN)
		return FL_EPROTO;
	memcpy(sig.b, p, FL_SIG_LEN);
	/* Signed by the other role, naming the claimed key as signer and ours
	 * as its peer. */
	auth_digest(&digest, s, network_id, other_role(s->role), &s->remote_claim, &s->local_id);
	/* fl_verify also refuses a key that is not a curve point (FL_ESIG). */
	if ((rc = fl_verify(&sig, &s->remote_claim, &digest)) != FL_OK)
		return rc;
	s->remote_id = s->remote_claim;
	s->authenticated = 1;
	return FL_OK;
}

void p2p_session_wipe(p2p_session *s)
{
	assert(s != NULL);
	p2p_frame_keys_free(s);
	sodium_memzero(s, sizeof(*s));
}
