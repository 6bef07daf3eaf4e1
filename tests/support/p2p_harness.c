/*
 * tests/support/p2p_harness.c — see p2p_harness.h.
 */
#include "tests/support/p2p_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The host layer's state, for ph_settled (tests only). */
#include "p2p/host_internal.h"

static int is_member(void *ctx, const fl_pubkey *id)
{
	ph_host *t = ctx;

	for (size_t i = 0; i < t->net->n_members; i++)
		if (fl_pubkey_cmp(&t->net->members[i], id) == 0)
			return 1;
	return 0;
}

static void on_peer(void *ctx, p2p_peer *p, int connected)
{
	ph_host *t = ctx;

	if (connected) {
		t->peers_up++;
	} else {
		p2p_peer_info info;
		p2p_peer_get_info(p, &info);
		t->peers_down++;
		t->last_down_score = info.score;
	}
}

static p2p_gossip_verdict on_gossip(void *ctx, p2p_peer *from, uint16_t topic, const uint8_t *p,
				    size_t n)
{
	ph_host *t = ctx;

	(void)from;
	(void)topic;
	t->gossip++;
	if (n == 0)
		return P2P_GOSSIP_ACCEPT;
	t->gossip_by_tag[p[0]]++;
	return t->verdict_by_tag[p[0]];
}

static void on_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n)
{
	ph_host *t = ctx;

	(void)peer;
	(void)type;
	(void)p;
	t->messages++;
	t->message_bytes += n;
}

/* Echoes the payload back, or stays silent (timeout tests). */
static void on_request(void *ctx, p2p_peer *peer, uint64_t id, uint16_t kind, const uint8_t *p,
		       size_t n)
{
	ph_host *t = ctx;

	(void)kind;
	t->requests++;
	if (t->respond && p2p_respond(peer, id, FL_OK, p, n) != FL_OK)
		t->respond = -1;
}

void ph_add_member(ph_net *net, const fl_pubkey *pk)
{
	if (net->n_members < FL_ARRAY_LEN(net->members))
		net->members[net->n_members++] = *pk;
}

int ph_new_member(ph_net *net, fl_seckey *sk, fl_pubkey *pk)
{
	int rc = fl_key_generate(sk, pk);

	if (rc == FL_OK)
		ph_add_member(net, pk);
	return rc;
}

int ph_net_init(ph_net *net, size_t n, void (*tweak)(p2p_config *, size_t, void *), void *arg)
{
	int rc;

	memset(net, 0, sizeof(*net));
	if (n > PH_MAX || uv_loop_init(&net->loop) != 0)
		return FL_EINVAL;
	net->n = n;
	net->tweak = tweak;
	net->tweak_arg = arg;
	for (size_t i = 0; i < n; i++) {
		ph_host *t = &net->hosts[i];
		t->net = net;
		t->index = i;
		t->respond = 1;
		if ((rc = fl_key_generate(&t->sk, &t->pk)) != FL_OK)
			return rc;
		ph_add_member(net, &t->pk);
	}
	return FL_OK;
}

int ph_host_start(ph_net *net, size_t i, const char *listen)
{
	ph_host *t = &net->hosts[i];
	p2p_config *cfg = &t->cfg;
	int rc;

	p2p_config_default(cfg);
	cfg->identity = t->sk;
	snprintf(cfg->network_id, sizeof(cfg->network_id), "%s", PH_NETWORK);
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", listen != NULL ? listen : "127.0.0.1:0");
	cfg->ping_interval_ms = 2000;
	cfg->handshake_timeout_ms = 2000;
	cfg->backoff_min_ms = 50;
	cfg->backoff_max_ms = 400;
	cfg->is_member = is_member;
	cfg->on_peer = on_peer;
	cfg->on_gossip = on_gossip;
	cfg->on_message = on_message;
	cfg->on_request = on_request;
	cfg->ctx = t;
	if (net->tweak != NULL)
		net->tweak(cfg, i, net->tweak_arg);
	if ((rc = p2p_host_new(&t->host, &net->loop, cfg)) != FL_OK)
		return rc;
	if ((rc = p2p_host_start(t->host)) != FL_OK)
		return rc;
	t->port = p2p_host_listen_port(t->host);
	snprintf(t->addr, sizeof(t->addr), "127.0.0.1:%u", (unsigned)t->port);
	return FL_OK;
}

static void on_closed(void *arg)
{
	*(int *)arg = 1;
}

void ph_host_stop(ph_net *net, size_t i)
{
	ph_host *t = &net->hosts[i];
	int done = 0;

	if (t->host == NULL)
		return;
	p2p_host_close(t->host, on_closed, &done);
	t->host = NULL;
	/* Bounded: a handful of loop turns closes every handle. */
	for (int k = 0; k < 1000 && !done; k++)
		uv_run(&net->loop, UV_RUN_ONCE);
}

void ph_net_free(ph_net *net)
{
	for (size_t i = 0; i < net->n; i++)
		ph_host_stop(net, i);
	for (int k = 0; k < 1000 && uv_run(&net->loop, UV_RUN_NOWAIT) != 0; k++)
		;
	(void)uv_loop_close(&net->loop);
}

static void on_wake(uv_timer_t *t)
{
	(void)t;
}

int ph_run_until(ph_net *net, int (*cond)(ph_net *, void *), void *arg, uint32_t timeout_ms)
{
	uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
	uv_timer_t wake;
	int ok = 0;

	/* A ticking timer makes UV_RUN_ONCE return often enough to test cond. */
	uv_timer_init(&net->loop, &wake);
	uv_timer_start(&wake, on_wake, 5, 5);
	while (!(ok = cond == NULL ? 0 : cond(net, arg)) && uv_hrtime() < deadline)
		uv_run(&net->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&wake, NULL);
	uv_run(&net->loop, UV_RUN_NOWAIT);
	return ok;
}

void ph_run_for(ph_net *net, uint32_t ms)
{
	(void)ph_run_until(net, NULL, NULL, ms);
}

int ph_settled(const ph_net *net, size_t i, size_t k)
{
	const p2p_host *h = net->hosts[i].host;

	if (h == NULL || p2p_peer_count(h) != k)
		return 0;
	for (const p2p_peer *p = h->peers; p != NULL; p = p->next)
		if (p->state != P2P_PEER_OPEN)
			return 0;
	return 1;
}

int ph_full_mesh(ph_net *net, void *arg)
{
	size_t up = 0;

	(void)arg;
	for (size_t i = 0; i < net->n; i++)
		up += net->hosts[i].host != NULL;
	for (size_t i = 0; i < net->n; i++)
		if (net->hosts[i].host != NULL && !ph_settled(net, i, up - 1))
			return 0;
	return 1;
}

p2p_peer *ph_peer_to(ph_net *net, size_t i, size_t j)
{
	p2p_peer *peers[PH_MAX * 2];
	size_t n;

	if (net->hosts[i].host == NULL)
		return NULL;
	n = p2p_peers(net->hosts[i].host, peers, FL_ARRAY_LEN(peers));
	for (size_t k = 0; k < n; k++)
		if (fl_pubkey_cmp(p2p_peer_id(peers[k]), &net->hosts[j].pk) == 0)
			return peers[k];
	return NULL;
}

/* ------------------------------------------------------------ raw client */

static void pump(ph_net *net, int fd, short events)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	uv_run(&net->loop, UV_RUN_NOWAIT);
	(void)poll(&pfd, 1, 1);
}

/* Reads exactly n bytes within 3 s, pumping the loop. */
static int raw_read(ph_net *net, ph_raw *r, uint8_t *out, size_t n)
{
	uint64_t deadline = uv_hrtime() + 3000000000ull;
	size_t have = 0;

	while (have < n) {
		ssize_t k = recv(r->fd, out + have, n - have, 0);
		if (k > 0) {
			have += (size_t)k;
			continue;
		}
		if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return FL_EIO;
		if (uv_hrtime() > deadline)
			return FL_ETIMEOUT;
		pump(net, r->fd, POLLIN);
	}
	return FL_OK;
}

int ph_raw_write(ph_net *net, ph_raw *r, const void *p, size_t n)
{
	uint64_t deadline = uv_hrtime() + 3000000000ull;
	const uint8_t *d = p;

	while (n > 0) {
		ssize_t k = send(r->fd, d, n, MSG_NOSIGNAL);
		if (k > 0) {
			d += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return FL_EIO;
		if (uv_hrtime() > deadline)
			return FL_ETIMEOUT;
		pump(net, r->fd, POLLOUT);
	}
	uv_run(&net->loop, UV_RUN_NOWAIT);
	return FL_OK;
}

static int raw_read_frame(ph_net *net, ph_raw *r, uint8_t *plain, size_t max, size_t *n)
{
	uint8_t hdr[P2P_LEN_PREFIX];
	uint8_t ct[4096 + P2P_TAG_LEN];
	size_t ct_len;
	int rc;

	if ((rc = raw_read(net, r, hdr, sizeof(hdr))) != FL_OK)
		return rc;
	if ((rc = p2p_frame_length(hdr, (uint32_t)max, &ct_len)) != FL_OK)
		return rc;
	if (ct_len > sizeof(ct))
		return FL_ETOOBIG;
	if ((rc = raw_read(net, r, ct, ct_len)) != FL_OK)
		return rc;
	if ((rc = p2p_frame_open(&r->sess, hdr, ct, ct_len, plain)) != FL_OK)
		return rc;
	*n = ct_len - P2P_TAG_LEN;
	return FL_OK;
}

static int raw_connect(ph_net *net, ph_raw *r, uint16_t port, const fl_seckey *sk,
		       ph_auth_signer signer, void *arg, const uint8_t *addrs, size_t addrs_n);

int ph_raw_connect(ph_net *net, ph_raw *r, uint16_t port, const fl_seckey *sk)
{
	static const uint8_t empty_addrs[1] = {0};

	return raw_connect(net, r, port, sk, NULL, NULL, empty_addrs, sizeof(empty_addrs));
}

int ph_raw_connect_addrs(ph_net *net, ph_raw *r, uint16_t port, const fl_seckey *sk,
			 const uint8_t *addrs, size_t addrs_n)
{
	return raw_connect(net, r, port, sk, NULL, NULL, addrs, addrs_n);
}

int ph_raw_connect_signer(ph_net *net, ph_raw *r, uint16_t port, const fl_seckey *sk,
			  ph_auth_signer signer, void *arg)
{
	static const uint8_t empty_addrs[1] = {0};

	return raw_connect(net, r, port, sk, signer, arg, empty_addrs, sizeof(empty_addrs));
}

/* The handshake as a dialler; signer NULL signs honestly; our first message
 * is ADDRS with body addrs. */
static int raw_connect(ph_net *net, ph_raw *r, uint16_t port, const fl_seckey *sk,
		       ph_auth_signer signer, void *arg, const uint8_t *addrs, size_t addrs_n)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	uint8_t hello[P2P_HELLO_MAX], id[P2P_AUTH_ID_LEN], sig[P2P_AUTH_SIG_LEN];
	uint8_t frame[P2P_AUTH_LEN + 64];
	uint8_t plain[4096];
	size_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (sk != NULL) {
		r->sk = *sk;
		if ((rc = fl_key_public(&r->pk, sk)) != FL_OK)
			return rc;
	} else if ((rc = fl_key_generate(&r->sk, &r->pk)) != FL_OK) {
		return rc;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	/* Loopback connect completes in the kernel backlog without the loop. */
	if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    fcntl(r->fd, F_SETFL, O_NONBLOCK) != 0)
		return FL_EIO;
	if ((rc = p2p_hello_make(&r->sess, PH_NETWORK, P2P_ROLE_INITIATOR, hello, &n)) != FL_OK ||
	    (rc = ph_raw_write(net, r, hello, n)) != FL_OK)
		return rc;
	/* The HELLO's length is in its 7th byte. */
	if ((rc = raw_read(net, r, hello, P2P_MAGIC_LEN + 2)) != FL_OK)
		return rc;
	if (hello[P2P_MAGIC_LEN + 1] > P2P_NETWORK_ID_MAX)
		return FL_EPROTO;
	n = P2P_MAGIC_LEN + 2 + hello[P2P_MAGIC_LEN + 1] + 32;
	if ((rc = raw_read(net, r, hello + P2P_MAGIC_LEN + 2, n - P2P_MAGIC_LEN - 2)) != FL_OK ||
	    (rc = p2p_hello_accept(&r->sess, PH_NETWORK, hello, n)) != FL_OK)
		return rc;
	/* AUTH: identities both ways, then signatures naming both. */
	p2p_auth_id_make(&r->sess, &r->pk, id);
	if ((rc = p2p_frame_seal(&r->sess, frame, id, sizeof(id))) != FL_OK ||
	    (rc = ph_raw_write(net, r, frame, sizeof(id) + P2P_LEN_PREFIX + P2P_TAG_LEN)) !=
		FL_OK ||
	    (rc = raw_read_frame(net, r, plain, P2P_AUTH_LEN, &n)) != FL_OK ||
	    (rc = p2p_auth_id_accept(&r->sess, plain, n)) != FL_OK ||
	    (rc = signer != NULL ? signer(&r->sess, &r->sk, sig, arg)
				 : p2p_auth_make(&r->sess, PH_NETWORK, &r->sk, sig)) != FL_OK ||
	    (rc = p2p_frame_seal(&r->sess, frame, sig, sizeof(sig))) != FL_OK ||
	    (rc = ph_raw_write(net, r, frame, sizeof(sig) + P2P_LEN_PREFIX + P2P_TAG_LEN)) != FL_OK)
		return rc;
	if ((rc = raw_read_frame(net, r, plain, P2P_AUTH_LEN, &n)) != FL_OK ||
	    (rc = p2p_auth_accept(&r->sess, PH_NETWORK, plain, n)) != FL_OK)
		return rc;
	/* The host's ADDRS comes only if it accepted our key. */
	if ((rc = raw_read_frame(net, r, plain, sizeof(plain), &n)) != FL_OK)
		return rc;
	/* Ours, so that the host opens the session too. */
	return ph_raw_send(net, r, P2P_TYPE_ADDRS, addrs, addrs_n);
}

int ph_raw_send(ph_net *net, ph_raw *r, uint16_t type, const void *body, size_t n)
{
	uint8_t *plain = fl_malloc(P2P_MSG_HEADER + n);
	uint8_t *frame = fl_malloc(P2P_LEN_PREFIX + P2P_MSG_HEADER + n + P2P_TAG_LEN);
	int rc = FL_ENOMEM;

	if (plain == NULL || frame == NULL)
		goto cleanup;
	p2p_msg_header(plain, type);
	if (n > 0)
		memcpy(plain + P2P_MSG_HEADER, body, n);
	if ((rc = p2p_frame_seal(&r->sess, frame, plain, P2P_MSG_HEADER + n)) != FL_OK)
		goto cleanup;
	rc = ph_raw_write(net, r, frame, P2P_LEN_PREFIX + P2P_MSG_HEADER + n + P2P_TAG_LEN);
cleanup:
	fl_free(plain);
	fl_free(frame);
	return rc;
}

int ph_raw_closed(ph_raw *r)
{
	uint8_t sink[4096];

	for (int k = 0; k < 1024; k++) {
		ssize_t n = recv(r->fd, sink, sizeof(sink), 0);
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 1;
	}
	return 0;
}

int ph_raw_wait_closed(ph_net *net, ph_raw *r, uint32_t timeout_ms)
{
	uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;

	while (uv_hrtime() < deadline) {
		if (ph_raw_closed(r))
			return 1;
		pump(net, r->fd, POLLIN);
	}
	return ph_raw_closed(r);
}

void ph_raw_close(ph_raw *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	fl_wipe(&r->sk, sizeof(r->sk));
	p2p_session_wipe(&r->sess);
}
