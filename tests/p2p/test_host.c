/*
 * tests/p2p/test_host.c — sessions between real hosts on 127.0.0.1: connect,
 * messages, requests, refusal of non-members, and the raw-socket attacks a
 * host must survive (tampered ciphertext, oversized frame, a peer that
 * stops reading).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "p2p/host_internal.h"
#include "tests/support/p2p_harness.h"

#define APP_TYPE (P2P_TYPE_APP + 7)

static int both_up(ph_net *net, void *arg)
{
	(void)arg;
	return ph_settled(net, 0, 1) && ph_settled(net, 1, 1);
}

/* Two members, host 1 dialling host 0. */
static void two_hosts(ph_net *net)
{
	cr_assert_eq(ph_net_init(net, 2, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net->hosts[1].host, net->hosts[0].addr), FL_OK);
	cr_assert(ph_run_until(net, both_up, NULL, 3000), "two members did not connect");
}

static int messages_at_least(ph_net *net, void *arg)
{
	return net->hosts[1].messages >= *(int *)arg;
}

Test(p2p_host, two_members_connect_and_exchange_messages, .timeout = 20)
{
	ph_net net;
	p2p_peer_info info0, info1;
	uint8_t payload[3000];
	int want = 20;

	two_hosts(&net);
	cr_assert_eq(net.hosts[0].peers_up, 1);
	cr_assert_eq(net.hosts[1].peers_up, 1);
	p2p_peer *to1 = ph_peer_to(&net, 0, 1);
	p2p_peer *to0 = ph_peer_to(&net, 1, 0);
	cr_assert(to1 != NULL && to0 != NULL);
	cr_assert_eq(fl_pubkey_cmp(p2p_peer_id(to1), &net.hosts[1].pk), 0);
	cr_assert_eq(fl_pubkey_cmp(p2p_peer_id(to0), &net.hosts[0].pk), 0);

	memset(payload, 0xab, sizeof(payload));
	for (int i = 0; i < want; i++)
		cr_assert_eq(p2p_send(to1, APP_TYPE, payload, sizeof(payload)), FL_OK);
	cr_assert(ph_run_until(&net, messages_at_least, &want, 3000));
	cr_assert_eq(net.hosts[1].messages, want);
	cr_assert_eq(net.hosts[1].message_bytes, (uint64_t)want * sizeof(payload));

	p2p_peer_get_info(to1, &info0);
	p2p_peer_get_info(to0, &info1);
	cr_assert_eq(info0.outbound, 0);
	cr_assert_eq(info1.outbound, 1);
	/* Each message costs its plaintext and its 3-byte header, and either
	 * its own frame's 4 length bytes and 16-byte tag or, in a BATCH, its
	 * 2-byte item length (the frame's overhead shared). */
	cr_assert_geq(info0.bytes_out, (uint64_t)want * (sizeof(payload) + 5));
	cr_assert_eq(info0.bytes_out, info1.bytes_in);
	cr_assert_geq(info1.msgs_in, (uint64_t)want);
	cr_assert_eq(info0.send_queue_bytes, 0);
	cr_assert_eq(info0.score, 0);

	/* Over the frame maximum: refused before anything is queued. */
	uint8_t *big = calloc(1, P2P_MAX_FRAME + 1);
	cr_assert_eq(p2p_send(to1, APP_TYPE, big, P2P_MAX_FRAME), FL_ETOOBIG);
	free(big);
	ph_net_free(&net);
}

/* ----------------------------------------------------- request/response */

typedef struct {
	int calls;
	int status;
	uint8_t data[64];
	size_t n;
} reply;

static void on_reply(void *arg, int status, const uint8_t *p, size_t n)
{
	reply *r = arg;

	r->calls++;
	r->status = status;
	r->n = n < sizeof(r->data) ? n : sizeof(r->data);
	if (n > 0)
		memcpy(r->data, p, r->n);
}

static int replied(ph_net *net, void *arg)
{
	(void)net;
	return ((reply *)arg)->calls > 0;
}

Test(p2p_host, request_response_timeout_and_peer_gone, .timeout = 20)
{
	ph_net net;
	reply ok = {0}, late = {0}, gone = {0};

	two_hosts(&net);
	p2p_peer *to1 = ph_peer_to(&net, 0, 1);

	cr_assert_eq(p2p_request(to1, 3, "ping?", 5, 2000, on_reply, &ok), FL_OK);
	cr_assert(ph_run_until(&net, replied, &ok, 3000));
	cr_assert_eq(ok.status, FL_OK);
	cr_assert_eq(ok.n, 5);
	cr_assert_eq(memcmp(ok.data, "ping?", 5), 0);
	cr_assert_eq(net.hosts[1].requests, 1);

	/* Host 1 stays silent: the timer answers, once. */
	net.hosts[1].respond = 0;
	cr_assert_eq(p2p_request(to1, 3, "x", 1, 100, on_reply, &late), FL_OK);
	cr_assert(ph_run_until(&net, replied, &late, 3000));
	cr_assert_eq(late.status, FL_ETIMEOUT);

	/* The peer goes away with a request in flight: FL_EIO, once. */
	cr_assert_eq(p2p_request(to1, 3, "y", 1, 10000, on_reply, &gone), FL_OK);
	ph_host_stop(&net, 1);
	cr_assert(ph_run_until(&net, replied, &gone, 3000));
	cr_assert_eq(gone.status, FL_EIO);

	ph_run_for(&net, 50);
	cr_assert_eq(ok.calls, 1);
	cr_assert_eq(late.calls, 1);
	cr_assert_eq(gone.calls, 1);
	ph_net_free(&net);
}

/* ------------------------------------------------------------ refusal */

static void no_member(ph_net *net, void *arg)
{
	(void)net;
	(void)arg;
}

Test(p2p_host, non_member_is_refused_on_both_sides, .timeout = 20)
{
	ph_net net;
	ph_raw raw;

	cr_assert_eq(ph_net_init(&net, 2, NULL, NULL), FL_OK);
	/* Only host 0 is a member: host 1 proves a key nobody admits. */
	net.n_members = 1;
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[1].host, net.hosts[0].addr), FL_OK);
	ph_run_for(&net, 300);
	cr_assert_eq(net.hosts[0].peers_up, 0);
	cr_assert_eq(net.hosts[1].peers_up, 0);
	cr_assert_eq(p2p_peer_count(net.hosts[0].host), 0);
	cr_assert_eq(p2p_peer_count(net.hosts[1].host), 0);
	/* Nothing half-open is left behind. */
	cr_assert_null(net.hosts[0].host->peers);

	/* A raw client with an outsider key gets through the crypto, then the
	 * socket closes instead of the host's first message. */
	cr_assert_neq(ph_raw_connect(&net, &raw, net.hosts[0].port, NULL), FL_OK);
	cr_assert(ph_raw_wait_closed(&net, &raw, 2000));
	ph_raw_close(&raw);
	cr_assert_eq(net.hosts[0].peers_up, 0);
	no_member(&net, NULL);
	ph_net_free(&net);
}

/* -------------------------------------------------------- raw attacks */

/* Host 0 alone and a raw client whose key is a member. */
static void host_and_raw(ph_net *net, ph_raw *raw)
{
	fl_seckey sk;
	fl_pubkey pk;

	cr_assert_eq(ph_net_init(net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
	ph_add_member(net, &pk);
	cr_assert_eq(ph_host_start(net, 0, NULL), FL_OK);
	cr_assert_eq(ph_raw_connect(net, raw, net->hosts[0].port, &sk), FL_OK);
	ph_run_for(net, 20);
	cr_assert_eq(net->hosts[0].peers_up, 1);
}

/* A raw client's AUTH signature with one field of its digest changed. */
typedef enum { FORGE_ROLE, FORGE_PEER, FORGE_SIGNER, FORGE_VERSION, FORGE_V1 } forgery;

static int forged_signer(const p2p_session *s, const fl_seckey *sk, uint8_t sig[P2P_AUTH_SIG_LEN],
			 void *arg)
{
	forgery f = *(const forgery *)arg;
	uint8_t body[P2P_AUTH_BODY_LEN];
	fl_seckey other_sk;
	fl_pubkey other;
	fl_hash digest;
	fl_sig out;
	int rc;

	if ((rc = fl_key_generate(&other_sk, &other)) != FL_OK)
		return rc;
	memcpy(body, s->transcript.b, 32);
	body[32] = f == FORGE_VERSION ? P2P_VERSION + 1 : P2P_VERSION;
	body[33] = f == FORGE_ROLE ? P2P_ROLE_RESPONDER : s->role;
	memcpy(body + 34, f == FORGE_SIGNER ? other.b : s->local_id.b, 32);
	memcpy(body + 66, f == FORGE_PEER ? other.b : s->remote_claim.b, 32);
	if (f == FORGE_V1)
		fl_domain_hash(&digest, "p2p-auth", PH_NETWORK, s->transcript.b, FL_HASH_LEN);
	else
		fl_domain_hash(&digest, "p2p-auth", PH_NETWORK, body, sizeof(body));
	if ((rc = fl_sign(&out, sk, &digest)) != FL_OK)
		return rc;
	memcpy(sig, out.b, FL_SIG_LEN);
	return FL_OK;
}

/* On real sockets: a member whose AUTH signature was made for the other
 * role (as a reflected one would be), names another key as its peer or as
 * its signer, or was made for another version (2's fields with version 3,
 * or version 1's digest over T alone) is refused before any message: no
 * ADDRS comes back and no session opens. The genuine signature, same key,
 * opens one. */
Test(p2p_host, auth_bound_to_role_identities_and_version, .timeout = 30)
{
	static const forgery forged[] = {FORGE_ROLE, FORGE_PEER, FORGE_SIGNER, FORGE_VERSION,
					 FORGE_V1};
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;

	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	for (size_t i = 0; i < FL_ARRAY_LEN(forged); i++) {
		forgery f = forged[i];

		cr_assert_neq(
		    ph_raw_connect_signer(&net, &raw, net.hosts[0].port, &sk, forged_signer, &f),
		    FL_OK, "forgery %zu", i);
		cr_assert(ph_raw_wait_closed(&net, &raw, 2000), "forgery %zu", i);
		ph_raw_close(&raw);
		ph_run_for(&net, 20);
		cr_assert_eq(net.hosts[0].peers_up, 0, "forgery %zu", i);
	}
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	ph_run_for(&net, 20);
	cr_assert_eq(net.hosts[0].peers_up, 1);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

static int host0_down(ph_net *net, void *arg)
{
	(void)arg;
	return net->hosts[0].peers_down > 0;
}

Test(p2p_host, tampered_ciphertext_disconnects, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	uint8_t plain[P2P_MSG_HEADER + 8], frame[P2P_LEN_PREFIX + sizeof(plain) + P2P_TAG_LEN];

	host_and_raw(&net, &raw);
	p2p_msg_header(plain, APP_TYPE);
	memset(plain + P2P_MSG_HEADER, 7, 8);
	cr_assert_eq(p2p_frame_seal(&raw.sess, frame, plain, sizeof(plain)), FL_OK);
	frame[P2P_LEN_PREFIX + 5] ^= 0x01;
	cr_assert_eq(ph_raw_write(&net, &raw, frame, sizeof(frame)), FL_OK);
	cr_assert(ph_raw_wait_closed(&net, &raw, 2000));
	cr_assert(ph_run_until(&net, host0_down, NULL, 2000));
	cr_assert_eq(net.hosts[0].messages, 0);
	/* Closed, not charged: the flipped bit may be anyone's (docs/p2p.md). */
	cr_assert_eq(net.hosts[0].last_down_score, 0);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

Test(p2p_host, frame_over_maximum_disconnects_without_allocating, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	/* 256 MiB announced: far over max_frame. */
	uint8_t hdr[P2P_LEN_PREFIX] = {0x00, 0x00, 0x00, 0x10};
	unsigned long allocs;

	host_and_raw(&net, &raw);
	/* Every allocation from here fails, and none may be asked for: the
	 * length check closes the socket before any buffer is sized by it. */
	(void)fl_alloc_fail_after(1);
	cr_assert_eq(ph_raw_write(&net, &raw, hdr, sizeof(hdr)), FL_OK);
	cr_assert(ph_raw_wait_closed(&net, &raw, 2000));
	cr_assert(ph_run_until(&net, host0_down, NULL, 2000));
	allocs = fl_alloc_fail_after(0);
	cr_assert_eq(allocs, 0, "the host asked for %lu allocations", allocs);
	/* The length is unauthenticated: closed, not charged. */
	cr_assert_eq(net.hosts[0].last_down_score, 0);
	ph_raw_close(&raw);
	ph_net_free(&net);
}

/* -------------------------------------------------------- slow reader */

static void small_queue(p2p_config *cfg, size_t i, void *arg)
{
	(void)arg;
	if (i == 0) {
		cfg->max_frame = 64 * 1024;
		cfg->max_send_queue = 256 * 1024;
	}
}

static int all_delivered(ph_net *net, void *arg)
{
	return net->hosts[1].messages == *(int *)arg;
}

Test(p2p_host, peer_that_stops_reading_is_dropped_others_served, .timeout = 20)
{
	ph_net net;
	ph_raw raw;
	fl_seckey sk;
	fl_pubkey pk;
	static uint8_t chunk[32 * 1024];
	p2p_peer *slow = NULL, *peers[4];
	int sent_fast = 0, dropped = 0;

	cr_assert_eq(ph_net_init(&net, 2, small_queue, NULL), FL_OK);
	cr_assert_eq(ph_new_member(&net, &sk, &pk), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 1, NULL), FL_OK);
	cr_assert_eq(p2p_dial(net.hosts[1].host, net.hosts[0].addr), FL_OK);
	cr_assert(ph_run_until(&net, both_up, NULL, 3000));
	/* The raw client completes the handshake, then never reads again. */
	cr_assert_eq(ph_raw_connect(&net, &raw, net.hosts[0].port, &sk), FL_OK);
	ph_run_for(&net, 20);
	size_t n = p2p_peers(net.hosts[0].host, peers, 4);
	for (size_t i = 0; i < n; i++)
		if (fl_pubkey_cmp(p2p_peer_id(peers[i]), &pk) == 0)
			slow = peers[i];
	cr_assert_not_null(slow);
	p2p_peer *fast = ph_peer_to(&net, 0, 1);

	/* Bounded: 4096 x 32 KiB = 128 MiB would fill any socket buffer. */
	for (int i = 0; i < 4096 && !dropped; i++) {
		int rc = p2p_send(slow, APP_TYPE, chunk, sizeof(chunk));
		if (rc == FL_EIO)
			dropped = 1;
		else
			cr_assert_eq(rc, FL_OK);
		if (i % 4 == 0) {
			cr_assert_eq(p2p_send(fast, APP_TYPE, "hi", 2), FL_OK);
			sent_fast++;
		}
		uv_run(&net.loop, UV_RUN_NOWAIT);
	}
	cr_assert(dropped, "the slow peer was never dropped");
	/* The other member is still served. */
	for (int i = 0; i < 10; i++, sent_fast++)
		cr_assert_eq(p2p_send(fast, APP_TYPE, "hi", 2), FL_OK);
	cr_assert(ph_run_until(&net, all_delivered, &sent_fast, 5000));
	cr_assert(ph_settled(&net, 1, 1));
	cr_assert_eq(p2p_peer_count(net.hosts[0].host), 1);
	cr_assert_eq(net.hosts[0].peers_down, 1);
	ph_raw_close(&raw);
	ph_net_free(&net);
}
