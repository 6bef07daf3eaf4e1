/*
 * tests/support/p2p_harness.h — several p2p hosts on one uv loop, for the
 * p2p tests: fresh keys, 127.0.0.1:0 listeners, a member set the test can
 * change, counters of every callback, and a loop runner bounded in time.
 * Also a raw client: a plain non-blocking socket that does the handshake
 * with the session functions of p2p/internal.h and then misbehaves as the
 * test tells it, while the loop is pumped between its steps.
 */
#ifndef FEDLEDGER_TESTS_P2P_HARNESS_H
#define FEDLEDGER_TESTS_P2P_HARNESS_H

#include "p2p/internal.h"

#define PH_MAX     8
#define PH_NETWORK "fedledger-test"

typedef struct ph_net ph_net;

typedef struct {
	ph_net *net;
	size_t index;
	p2p_host *host; /* NULL while stopped */
	fl_seckey sk;
	fl_pubkey pk;
	p2p_config cfg;
	char addr[P2P_ADDR_MAX]; /* "127.0.0.1:port" once started */
	uint16_t port;

	int peers_up, peers_down; /* on_peer calls */
	int32_t last_down_score;  /* the score p2p_peer_get_info gave at on_peer(…, 0) */
	int gossip;               /* on_gossip calls */
	int gossip_by_tag[256];   /* by the payload's first byte */
	/* on_gossip's answer, by the payload's first byte (0 = ACCEPT). */
	p2p_gossip_verdict verdict_by_tag[256];
	int messages; /* on_message calls */
	uint64_t message_bytes;
	int requests; /* on_request calls */
	int respond;  /* answer requests at once (else stay silent) */
} ph_host;

struct ph_net {
	uv_loop_t loop;
	size_t n;
	ph_host hosts[PH_MAX];
	fl_pubkey members[PH_MAX + 4];
	size_t n_members;
	/* Last word on each host's config before p2p_host_new. */
	void (*tweak)(p2p_config *cfg, size_t index, void *arg);
	void *tweak_arg;
};

/* Creates n hosts (not started) with fresh keys, all members; listen on
 * 127.0.0.1:0, short ping and backoff times. */
int ph_net_init(ph_net *net, size_t n, void (*tweak)(p2p_config *, size_t, void *), void *arg);
/* Creates and starts host i (again, after ph_host_stop: same key; `listen`
 * NULL = 127.0.0.1:0, or an address to reuse). */
int ph_host_start(ph_net *net, size_t i, const char *listen);
/* Closes host i and runs the loop until it is freed. */
void ph_host_stop(ph_net *net, size_t i);
/* Closes every host, runs the loop dry and closes it. */
void ph_net_free(ph_net *net);
void ph_add_member(ph_net *net, const fl_pubkey *pk);
/* A fresh key pair, made a member: what most tests' raw peer starts with. */
int ph_new_member(ph_net *net, fl_seckey *sk, fl_pubkey *pk);

/* Runs the loop until cond(net, arg) is true (1) or timeout_ms pass (0). */
int ph_run_until(ph_net *net, int (*cond)(ph_net *, void *), void *arg, uint32_t timeout_ms);
/* Runs the loop for ms milliseconds. */
void ph_run_for(ph_net *net, uint32_t ms);

/* Host i has exactly k open sessions and nothing half-open. */
int ph_settled(const ph_net *net, size_t i, size_t k);
/* Every started host is settled with every other started host. */
int ph_full_mesh(ph_net *net, void *arg);
/* The session on host i to host j's key, or NULL. */
p2p_peer *ph_peer_to(ph_net *net, size_t i, size_t j);

/* ------------------------------------------------------------ raw client */

typedef struct {
	int fd;
	p2p_session sess;
	fl_seckey sk;
	fl_pubkey pk;
} ph_raw;

/* Connects to 127.0.0.1:port and does the whole handshake with key sk
 * (fresh if NULL), pumping the loop meanwhile. Then reads the host's first
 * message (ADDRS) if the host accepted us. FL_OK, or the failing step's code. */
int ph_raw_connect(ph_net *net, ph_raw *r, uint16_t port, const fl_seckey *sk);
/* The same with an ADDRS body of the test's choosing as our first message. */
int ph_raw_connect_addrs(ph_net *net, ph_raw *r, uint16_t port, const fl_seckey *sk,
			 const uint8_t *addrs, size_t addrs_n);
/* The raw client's AUTH signature over its session (p2p_auth_make when the
 * signer is NULL): a test forges one to see the host refuse it. */
typedef int (*ph_auth_signer)(const p2p_session *s, const fl_seckey *sk,
			      uint8_t sig[P2P_AUTH_SIG_LEN], void *arg);
int ph_raw_connect_signer(ph_net *net, ph_raw *r, uint16_t port, const fl_seckey *sk,
			  ph_auth_signer signer, void *arg);
/* Writes bytes as they are, pumping the loop while the socket is full. */
int ph_raw_write(ph_net *net, ph_raw *r, const void *p, size_t n);
/* Seals one message (header + body) and writes it. */
int ph_raw_send(ph_net *net, ph_raw *r, uint16_t type, const void *body, size_t n);
/* Reads and discards what is there; 1 once the host has closed the socket. */
int ph_raw_closed(ph_raw *r);
/* Pumps the loop until the host closes the socket (1) or timeout (0). */
int ph_raw_wait_closed(ph_net *net, ph_raw *r, uint32_t timeout_ms);
void ph_raw_close(ph_raw *r);

#endif
