/*
 * fuzz_host — a real host (libuv loop, listening on 127.0.0.1) driven by a
 * peer written here with the library's own handshake and frame functions,
 * so it follows any change to them. fuzz_frame and fuzz_handshake cover the
 * pure functions; this target covers what sits on top: the read state
 * machine, ADDRS and the book, the seen-cache, request matching, and blob
 * fetch and serve.
 *
 * Input: byte 0 picks the mode.
 *   odd:  the rest is written raw to a fresh socket before any handshake
 *         (the HELLO parser, the pre-AUTH frame bound, timeouts);
 *   even: a valid handshake first, then a sequence of operations, each
 *         u8 op, u16 LE length, that many bytes (fewer at the end):
 *           op 0xEF    the bytes raw on the socket (broken frames, bad MACs)
 *           op 0xEE    a BLOB_CHUNK of the blob the host fetches, built here
 *                      (chunks are too large for an input): byte 0 picks
 *                      the chunk, byte 1 bit 0 flips a byte of it, bit 1
 *                      announces a wrong total
 *           op >= 0xF0 an application message of type P2P_TYPE_APP + (op & 15)
 *           otherwise  a message of type op % 11 (0 is unknown, 10 a
 *                      BATCH of messages the input spells out), sealed
 *                      correctly so that it reaches the message handlers.
 * Once the session is open the host starts a blob fetch (FETCH_HASH, which
 * the peer may answer with chunks) and a request to the peer (id 1, which it
 * may answer), so that chunks and responses have something to match.
 *
 * Each input gets its own loop and host, runs a bounded number of loop
 * iterations, and ends with the host closed and uv_loop_close succeeding:
 * a handle, an fd or an allocation left behind is a failure (LeakSanitizer
 * checks the last). Nothing is kept between inputs.
 */
#include "p2p/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NET          "fuzz-host"
#define MAX_OPS      64
#define SPINS_PER_OP 4
#define SPINS_END    32
#define SPINS_WAIT   2000 /* for the handshake: each spin waits <= 1 ms */
#define SERVED_SIZE  (3 * P2P_BLOB_CHUNK + 100)
#define FETCHED_SIZE (5 * P2P_BLOB_CHUNK + 7)
#define SEND_MAX     (P2P_BLOB_CHUNK + 256) /* a chunk and its header */

static void check(int cond)
{
	if (!cond)
		abort();
}

typedef struct {
	uv_loop_t loop;
	p2p_host *h;
	int closed;
	int fd; /* our end of the TCP connection; -1 once closed */
	p2p_session sess;
	fl_seckey sk;
	fl_pubkey pk, host_pk;
	uint8_t in[4096]; /* the host's HELLO and AUTH frame while handshaking */
	size_t in_n;
	int fetches, fetch_calls; /* started, called back */
	int requests, response_calls;
	fl_hash served_hash, fetched_hash;
	uint8_t served[SERVED_SIZE];
	uint8_t fetched[FETCHED_SIZE];
	fl_writer out; /* a BLOB_CHUNK body */
} fuzz_ctx;

/* ---------------------------------------------------- host callbacks */

static int is_member(void *ctx, const fl_pubkey *id)
{
	(void)ctx;
	(void)id;
	return 1;
}

static void fetched(void *arg, int status, const fl_hash *hash, const uint8_t *data, size_t n)
{
	fuzz_ctx *c = arg;

	c->fetch_calls++;
	check(fl_hash_cmp(hash, &c->fetched_hash) == 0);
	if (status == FL_OK) {
		fl_hash got;

		check(n == FETCHED_SIZE);
		fl_sha256(&got, data, n);
		check(fl_hash_cmp(&got, hash) == 0);
	}
}

static void responded(void *arg, int status, const uint8_t *p, size_t n)
{
	fuzz_ctx *c = arg;

	(void)status;
	check(p != NULL || n == 0);
	c->response_calls++;
}

static void on_peer(void *ctx, p2p_peer *peer, int connected)
{
	fuzz_ctx *c = ctx;

	if (!connected)
		return;
	/* On an error return the callback never runs: only count successes. */
	if (c->fetches == 0 &&
	    p2p_blob_fetch(c->h, &c->fetched_hash, 1 << 20, 1000, fetched, c) == FL_OK)
		c->fetches++;
	if (c->requests == 0 && p2p_request(peer, 7, "q", 1, 1000, responded, c) == FL_OK)
		c->requests++;
}

static void on_request(void *ctx, p2p_peer *peer, uint64_t id, uint16_t kind, const uint8_t *p,
		       size_t n)
{
	int rc = p2p_respond(peer, id, kind & 1 ? FL_OK : FL_ENOTFOUND, p, n);

	(void)ctx;
	(void)rc; /* the peer may be gone already */
}

/* Every verdict, chosen by the payload's first byte, so the fuzzer reaches
 * forwarding, ignoring and the reject score. */
static p2p_gossip_verdict on_gossip(void *ctx, p2p_peer *from, uint16_t topic, const uint8_t *p,
				    size_t n)
{
	static const p2p_gossip_verdict verdicts[3] = {P2P_GOSSIP_ACCEPT, P2P_GOSSIP_IGNORE,
						       P2P_GOSSIP_REJECT};

	(void)ctx;
	(void)from;
	(void)topic;
	check(p != NULL || n == 0);
	return n > 0 ? verdicts[p[0] % 3] : P2P_GOSSIP_ACCEPT;
}

static int blob_size(void *ctx, const fl_hash *hash, uint64_t *size)
{
	fuzz_ctx *c = ctx;

	if (fl_hash_cmp(hash, &c->served_hash) != 0)
		return FL_ENOTFOUND;
	*size = SERVED_SIZE;
	return FL_OK;
}

static int blob_read(void *ctx, const fl_hash *hash, uint64_t off, uint8_t *out, size_t n)
{
	fuzz_ctx *c = ctx;

	check(fl_hash_cmp(hash, &c->served_hash) == 0 && off <= SERVED_SIZE &&
	      n <= SERVED_SIZE - off);
	memcpy(out, c->served + off, n);
	return FL_OK;
}

static void host_closed(void *arg)
{
	((fuzz_ctx *)arg)->closed = 1;
}

/* ------------------------------------------------------- our peer */

static void spin(fuzz_ctx *c, int times)
{
	for (int i = 0; i < times; i++)
		uv_run(&c->loop, UV_RUN_NOWAIT);
}

static void peer_close(fuzz_ctx *c)
{
	if (c->fd >= 0) {
		/* A reset, not FIN: no TIME_WAIT left per input. */
		struct linger lg = {1, 0};

		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
		c->fd = -1;
	}
}

/* Writes all of p, letting the host read meanwhile; 0 once the host has
 * closed the connection (it may drop us for anything we send). */
static int peer_write(fuzz_ctx *c, const uint8_t *p, size_t n)
{
	int spins = 0;

	while (n > 0 && c->fd >= 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && spins++ < SPINS_WAIT) {
			uv_run(&c->loop, UV_RUN_NOWAIT);
			continue;
		}
		peer_close(c);
	}
	return c->fd >= 0;
}

/* Reads what the host sent: into c->in while handshaking (keep = 1),
 * discarded after. 0 once the host has closed the connection. */
static int peer_read(fuzz_ctx *c, int keep)
{
	static uint8_t scratch[65536]; /* discarded: never read */

	while (c->fd >= 0) {
		uint8_t *dst = keep ? c->in + c->in_n : scratch;
		size_t room = keep ? sizeof(c->in) - c->in_n : sizeof(scratch);
		ssize_t r;

		if (room == 0)
			return 1;
		r = recv(c->fd, dst, room, MSG_DONTWAIT);
		if (r > 0) {
			if (keep)
				c->in_n += (size_t)r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		peer_close(c);
	}
	return 0;
}

/* Spins the host until c->in holds `need` bytes. */
static int peer_wait(fuzz_ctx *c, size_t need)
{
	for (int i = 0; i < SPINS_WAIT && c->in_n < need; i++) {
		uv_run(&c->loop, UV_RUN_NOWAIT);
		if (!peer_read(c, 1))
			return 0;
		if (c->in_n < need)
			usleep(50);
	}
	return c->in_n >= need;
}

static int peer_connect(fuzz_ctx *c)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(p2p_host_listen_port(c->h));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	check(c->fd >= 0);
	/* Loopback: the kernel completes the connect before the host accepts. */
	check(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	spin(c, 2);
	return 1;
}

/* Seals one plaintext message and writes it. */
static int peer_send(fuzz_ctx *c, uint16_t type, const uint8_t *body, size_t n)
{
	/* Scratch, rewritten whole by every call. */
	static uint8_t plain[P2P_MSG_HEADER + SEND_MAX];
	static uint8_t frame[P2P_LEN_PREFIX + P2P_MSG_HEADER + SEND_MAX + P2P_TAG_LEN];

	check(n <= SEND_MAX);
	p2p_msg_header(plain, type);
	if (n > 0)
		memcpy(plain + P2P_MSG_HEADER, body, n);
	check(p2p_frame_seal(&c->sess, frame, plain, P2P_MSG_HEADER + n) == FL_OK);
	return peer_write(c, frame, P2P_LEN_PREFIX + P2P_MSG_HEADER + n + P2P_TAG_LEN);
}

/* The whole handshake with the library's functions; 1 once the session is
 * open on both sides (the host opens it on our first message: a PING). */
static int peer_handshake(fuzz_ctx *c)
{
	uint8_t hello[P2P_HELLO_MAX], id[P2P_AUTH_ID_LEN], sig[P2P_AUTH_SIG_LEN],
	    frame[P2P_LEN_PREFIX + P2P_AUTH_LEN + P2P_TAG_LEN];
	uint8_t plain[P2P_AUTH_LEN];
	size_t n, at, ct_len;

	check(p2p_hello_make(&c->sess, NET, P2P_ROLE_INITIATOR, hello, &n) == FL_OK);
	if (!peer_write(c, hello, n) || !peer_wait(c, P2P_MAGIC_LEN + 2))
		return 0;
	at = P2P_MAGIC_LEN + 2 + c->in[P2P_MAGIC_LEN + 1] + 32;
	if (!peer_wait(c, at))
		return 0;
	check(p2p_hello_accept(&c->sess, NET, c->in, at) == FL_OK);
	/* AUTH: identities both ways, then signatures naming both. */
	p2p_auth_id_make(&c->sess, &c->pk, id);
	check(p2p_frame_seal(&c->sess, frame, id, sizeof(id)) == FL_OK);
	if (!peer_write(c, frame, P2P_LEN_PREFIX + sizeof(id) + P2P_TAG_LEN))
		return 0;
	for (int k = 0; k < 2; k++) {
		if (!peer_wait(c, at + P2P_LEN_PREFIX))
			return 0;
		check(p2p_frame_length(c->in + at, P2P_AUTH_LEN, &ct_len) == FL_OK);
		if (!peer_wait(c, at + P2P_LEN_PREFIX + ct_len))
			return 0;
		check(p2p_frame_open(&c->sess, c->in + at, c->in + at + P2P_LEN_PREFIX, ct_len,
				     plain) == FL_OK);
		at += P2P_LEN_PREFIX + ct_len;
		if (k == 0) {
			check(p2p_auth_id_accept(&c->sess, plain, ct_len - P2P_TAG_LEN) == FL_OK);
			check(p2p_auth_make(&c->sess, NET, &c->sk, sig) == FL_OK);
			check(p2p_frame_seal(&c->sess, frame, sig, sizeof(sig)) == FL_OK);
			if (!peer_write(c, frame, P2P_LEN_PREFIX + sizeof(sig) + P2P_TAG_LEN))
				return 0;
		} else {
			check(p2p_auth_accept(&c->sess, NET, plain, ct_len - P2P_TAG_LEN) == FL_OK);
		}
	}
	check(fl_pubkey_cmp(&c->sess.remote_id, &c->host_pk) == 0);
	if (!peer_send(c, P2P_TYPE_PING, NULL, 0))
		return 0;
	for (int i = 0; i < SPINS_WAIT && p2p_peer_count(c->h) == 0; i++) {
		uv_run(&c->loop, UV_RUN_NOWAIT);
		if (!peer_read(c, 0))
			return 0;
	}
	return p2p_peer_count(c->h) == 1;
}

/* A chunk of the blob the host fetches, right or spoiled as asked. */
static int peer_send_chunk(fuzz_ctx *c, const uint8_t *arg, size_t n)
{
	const size_t chunks = (FETCHED_SIZE + P2P_BLOB_CHUNK - 1) / P2P_BLOB_CHUNK;
	uint8_t pick = n > 0 ? arg[0] : 0, how = n > 1 ? arg[1] : 0;
	uint64_t off = (uint64_t)(pick % chunks) * P2P_BLOB_CHUNK;
	size_t len = FETCHED_SIZE - off < P2P_BLOB_CHUNK ? FETCHED_SIZE - off : P2P_BLOB_CHUNK;
	p2p_blob_chunk_msg m;
	int ok;

	c->fetched[off] ^= how & 1;
	m = (p2p_blob_chunk_msg){c->fetched_hash, FETCHED_SIZE + (how & 2), off, c->fetched + off,
				 len};
	c->out.len = 0;
	c->out.err = 0;
	check(p2p_blob_chunk_encode(&c->out, &m) == FL_OK);
	check(fl_writer_finish(&c->out) == FL_OK);
	c->fetched[off] ^= how & 1;
	ok = peer_send(c, P2P_TYPE_BLOB_CHUNK, c->out.buf, c->out.len);
	return ok;
}

/* Runs the operations in data[0..size) against the open session. */
static void peer_ops(fuzz_ctx *c, const uint8_t *data, size_t size)
{
	for (int ops = 0; ops < MAX_OPS && size >= 3 && c->fd >= 0; ops++) {
		uint8_t op = data[0];
		size_t n = (size_t)data[1] | (size_t)data[2] << 8;

		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		if (op == 0xEF)
			peer_write(c, data, n);
		else if (op == 0xEE)
			peer_send_chunk(c, data, n);
		else if (op >= 0xF0)
			peer_send(c, (uint16_t)(P2P_TYPE_APP + (op & 15)), data, n);
		else
			peer_send(c, (uint16_t)(op % 11), data, n);
		data += n;
		size -= n;
		for (int i = 0; i < SPINS_PER_OP; i++) {
			uv_run(&c->loop, UV_RUN_NOWAIT);
			peer_read(c, 0);
		}
	}
}

/* --------------------------------------------------------- the run */

static void ctx_init(fuzz_ctx *c)
{
	p2p_config cfg;
	fl_seckey host_sk;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	for (size_t i = 0; i < SERVED_SIZE; i++)
		c->served[i] = (uint8_t)(i * 131 + (i >> 8));
	fl_sha256(&c->served_hash, c->served, SERVED_SIZE);
	for (size_t i = 0; i < FETCHED_SIZE; i++)
		c->fetched[i] = (uint8_t)(i * 7 + (i >> 16));
	fl_sha256(&c->fetched_hash, c->fetched, FETCHED_SIZE);
	check(fl_key_generate(&c->sk, &c->pk) == FL_OK);
	check(fl_key_generate(&host_sk, &c->host_pk) == FL_OK);
	check(uv_loop_init(&c->loop) == 0);
	fl_writer_init(&c->out, SEND_MAX);

	p2p_config_default(&cfg);
	cfg.identity = host_sk;
	snprintf(cfg.network_id, sizeof(cfg.network_id), NET);
	snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:0");
	/* Short enough that the fuzzer's own delays can reach them now and then. */
	cfg.handshake_timeout_ms = 200;
	cfg.blob_progress_ms = 50;
	cfg.is_member = is_member;
	cfg.on_peer = on_peer;
	cfg.on_request = on_request;
	cfg.on_gossip = on_gossip;
	cfg.blob_size = blob_size;
	cfg.blob_read = blob_read;
	cfg.ctx = c;
	check(p2p_host_new(&c->h, &c->loop, &cfg) == FL_OK);
	check(p2p_host_start(c->h) == FL_OK);
	fl_wipe(&host_sk, sizeof(host_sk));
}

static void ctx_free(fuzz_ctx *c)
{
	peer_close(c);
	spin(c, 4);
	p2p_host_close(c->h, host_closed, c);
	for (int i = 0; i < SPINS_WAIT && !c->closed; i++)
		uv_run(&c->loop, UV_RUN_ONCE);
	check(c->closed);
	/* The promise of every callback: exactly once, even when the host
	 * closes first. */
	check(c->fetch_calls == c->fetches && c->response_calls == c->requests);
	check(uv_run(&c->loop, UV_RUN_DEFAULT) == 0);
	check(uv_loop_close(&c->loop) == 0);
	fl_writer_free(&c->out);
	p2p_session_wipe(&c->sess);
	fl_wipe(&c->sk, sizeof(c->sk));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The lowest free fd number: it grows if an input leaves one open. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	check(fd >= 0);
	close(fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd_before;
	/* Static only for its size (a blob and buffers): ctx_init clears it,
	 * so nothing carries from one input to the next. */
	static fuzz_ctx ctx;
	fuzz_ctx *c = &ctx;

	if (size < 1)
		return 0;
	fl_log_set_level(FL_LOG_OFF); /* every dropped peer logs a line */
	fd_before = lowest_free_fd();
	ctx_init(c);
	peer_connect(c);
	if (data[0] & 1) {
		peer_write(c, data + 1, size - 1);
		for (int i = 0; i < SPINS_END; i++) {
			uv_run(&c->loop, UV_RUN_NOWAIT);
			peer_read(c, 0);
		}
	} else {
		check(peer_handshake(c));
		peer_ops(c, data + 1, size - 1);
		for (int i = 0; i < SPINS_END; i++) {
			uv_run(&c->loop, UV_RUN_NOWAIT);
			peer_read(c, 0);
		}
	}
	ctx_free(c);
	check(lowest_free_fd() == fd_before);
	return 0;
}
