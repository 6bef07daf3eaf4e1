/*
 * fuzz_handshake — the remote HELLO and the remote AUTH as arbitrary bytes.
 *
 * The local side is fixed (ephemeral secret, identity), so every run is
 * reproducible. The input is offered both as a HELLO to a fresh local
 * session and as an AUTH to a session whose keys came from a fixed, valid
 * remote HELLO. Beyond "never crash": an accepted HELLO has exactly the
 * layout of one, and derives the same keys on both sides; an accepted AUTH
 * carries a signature that verifies over this session's transcript.
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
static void fixed_session(p2p_session *s, uint8_t *hello, size_t *n, uint8_t seed)
{
	check(p2p_hello_make(s, NET, hello, n) == FL_OK);
	memset(s->eph_sk, seed, sizeof(s->eph_sk));
	check(crypto_scalarmult_curve25519_base(s->eph_pk, s->eph_sk) == 0);
	memcpy(hello + *n - 32, s->eph_pk, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p2p_session local, remote, keyed;
	uint8_t local_hello[P2P_HELLO_MAX], remote_hello[P2P_HELLO_MAX];
	size_t local_n, remote_n;
	int rc;

	fixed_session(&local, local_hello, &local_n, 0x11);
	rc = p2p_hello_accept(&local, NET, data, size);
	check(rc == FL_OK || rc == FL_EPROTO || rc == FL_EVERSION || rc == FL_ECHAIN);
	check(local.keys_ready == (rc == FL_OK));
	if (rc == FL_OK) {
		check(size == local_n && memcmp(data, local_hello, local_n - 32) == 0);
		check(memcmp(local.remote_eph, data + size - 32, 32) == 0);
	}

	/* AUTH on a session keyed by a fixed, valid exchange. */
	fixed_session(&keyed, local_hello, &local_n, 0x11);
	fixed_session(&remote, remote_hello, &remote_n, 0x22);
	check(p2p_hello_accept(&keyed, NET, remote_hello, remote_n) == FL_OK);
	check(p2p_hello_accept(&remote, NET, local_hello, local_n) == FL_OK);
	check(memcmp(keyed.send_key, remote.recv_key, P2P_KEY_LEN) == 0);
	check(memcmp(keyed.recv_key, remote.send_key, P2P_KEY_LEN) == 0);
	rc = p2p_auth_accept(&keyed, NET, data, size);
	check(rc == FL_OK || rc == FL_EPROTO || rc == FL_ESIG);
	check(keyed.authenticated == (rc == FL_OK));
	if (rc == FL_OK) {
		fl_hash digest;
		fl_sig sig;
		check(size == P2P_AUTH_LEN && memcmp(keyed.remote_id.b, data, FL_PUBKEY_LEN) == 0);
		memcpy(sig.b, data + FL_PUBKEY_LEN, FL_SIG_LEN);
		fl_domain_hash(&digest, "p2p-auth", NET, keyed.transcript.b, FL_HASH_LEN);
		check(fl_verify(&sig, &keyed.remote_id, &digest) == FL_OK);
		check(p2p_auth_accept(&keyed, NET, data, size) == FL_EPROTO);
	}
	p2p_session_wipe(&local);
	p2p_session_wipe(&remote);
	p2p_session_wipe(&keyed);
	return 0;
}
