/*
 * fuzz_handshake — the remote HELLO and the remote AUTH frames as arbitrary
 * bytes.
 *
 * The local side is fixed (ephemeral secret, identity, role), so every run
 * is reproducible. The input is offered as a HELLO to a fresh local
 * session, as the remote's identity frame, and as the remote's signature
 * frame after a fixed, valid identity. Beyond "never crash": an accepted
 * HELLO has exactly the layout of one and derives the same keys on both
 * sides; an accepted signature verifies over the digest docs/p2p.md
 * defines (version, the remote's role, both identities).
 */
#include "p2p/internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NET "fuzz-net"

static void check(int cond)
{
	if (!cond)
		abort();
}

/* A session as p2p_hello_make leaves it, with a fixed ephemeral secret. */
static void fixed_session(p2p_session *s, uint8_t *hello, size_t *n, uint8_t seed, p2p_role role)
{
	check(p2p_hello_make(s, NET, role, hello, n) == FL_OK);
	memset(s->eph_sk, seed, sizeof(s->eph_sk));
	check(crypto_scalarmult_curve25519_base(s->eph_pk, s->eph_sk) == 0);
	memcpy(hello + *n - 32, s->eph_pk, 32);
}

static void fixed_key(fl_seckey *sk, fl_pubkey *pk, uint8_t seed)
{
	memset(sk->b, seed, sizeof(sk->b));
	check(fl_key_public(pk, sk) == FL_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p2p_session local, remote, keyed;
	uint8_t local_hello[P2P_HELLO_MAX], remote_hello[P2P_HELLO_MAX], id[P2P_AUTH_ID_LEN];
	size_t local_n, remote_n;
	fl_seckey local_sk, remote_sk;
	fl_pubkey local_pk, remote_pk;
	int rc;

	fixed_session(&local, local_hello, &local_n, 0x11, P2P_ROLE_RESPONDER);
	rc = p2p_hello_accept(&local, NET, data, size);
	check(rc == FL_OK || rc == FL_EPROTO || rc == FL_EVERSION || rc == FL_ECHAIN);
	check(local.keys_ready == (rc == FL_OK));
	if (rc == FL_OK) {
		check(size == local_n && memcmp(data, local_hello, local_n - 32) == 0);
		check(memcmp(local.remote_eph, data + size - 32, 32) == 0);
	}

	/* AUTH on a session keyed by a fixed, valid exchange: we listened,
	 * the remote dialled. */
	fixed_key(&local_sk, &local_pk, 0x01);
	fixed_key(&remote_sk, &remote_pk, 0x02);
	fixed_session(&keyed, local_hello, &local_n, 0x11, P2P_ROLE_RESPONDER);
	fixed_session(&remote, remote_hello, &remote_n, 0x22, P2P_ROLE_INITIATOR);
	check(p2p_hello_accept(&keyed, NET, remote_hello, remote_n) == FL_OK);
	check(p2p_hello_accept(&remote, NET, local_hello, local_n) == FL_OK);
	check(memcmp(keyed.send_key, remote.recv_key, P2P_KEY_LEN) == 0);
	check(memcmp(keyed.recv_key, remote.send_key, P2P_KEY_LEN) == 0);
	p2p_auth_id_make(&keyed, &local_pk, id);

	/* The input as the remote's signature before its identity: refused. */
	check(p2p_auth_accept(&keyed, NET, data, size) == FL_EPROTO);
	/* The input as the remote's identity frame. */
	{
		p2p_session claim = keyed;

		rc = p2p_auth_id_accept(&claim, data, size);
		check(rc == FL_OK || rc == FL_EPROTO);
		check(claim.has_remote_claim == (rc == FL_OK));
		check(rc != FL_OK ||
		      (size == P2P_AUTH_ID_LEN && memcmp(claim.remote_claim.b, data, 32) == 0));
		check(claim.authenticated == 0);
	}
	/* The input as the signature after the remote's fixed identity. */
	check(p2p_auth_id_accept(&keyed, remote_pk.b, sizeof(remote_pk.b)) == FL_OK);
	rc = p2p_auth_accept(&keyed, NET, data, size);
	check(rc == FL_OK || rc == FL_EPROTO || rc == FL_ESIG);
	check(keyed.authenticated == (rc == FL_OK));
	if (rc == FL_OK) {
		uint8_t body[P2P_AUTH_BODY_LEN];
		fl_hash digest;
		fl_sig sig;

		check(size == P2P_AUTH_SIG_LEN && fl_pubkey_cmp(&keyed.remote_id, &remote_pk) == 0);
		memcpy(body, keyed.transcript.b, 32);
		body[32] = P2P_VERSION;
		body[33] = P2P_ROLE_INITIATOR;
		memcpy(body + 34, remote_pk.b, 32);
		memcpy(body + 66, local_pk.b, 32);
		fl_domain_hash(&digest, "p2p-auth", NET, body, sizeof(body));
		memcpy(sig.b, data, FL_SIG_LEN);
		check(fl_verify(&sig, &remote_pk, &digest) == FL_OK);
		check(p2p_auth_accept(&keyed, NET, data, size) == FL_EPROTO);
	}
	p2p_session_wipe(&local);
	p2p_session_wipe(&remote);
	p2p_session_wipe(&keyed);
	return 0;
}
