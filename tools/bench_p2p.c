/*
 * tools/bench_p2p.c — the `p2p` suite: two members on 127.0.0.1, each host
 * on its own thread and uv loop (as two processes would be), next to raw
 * loopback TCP measured in the same run.
 *
 *   raw_tcp_mbps       blocking sockets in two threads, 256 KiB writes
 *   send_1MB_mbps      p2p_send of 1,000,000-byte messages, payload MB/s
 *   blob_fetch_mbps    p2p_blob_fetch of a 64 MiB blob, from the call to
 *                      the callback (SHA-256 check included)
 *   small_100B_msgs    p2p_send of 100-byte messages, messages/s
 *
 * Every ratio is against raw_tcp_mbps; for small messages it is the payload
 * rate (messages/s x 100 bytes) over the raw rate. MB = 10^6 bytes. Each
 * figure is the best of `reps` runs; every run is bounded in bytes and by a
 * deadline.
 */
#include "p2p/p2p.h"
#include "tools/bench.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SUITE       "p2p"
#define RAW_NAME    "raw_tcp_mbps"
#define NETWORK     "fedledger-bench"
#define T_START     (P2P_TYPE_APP + 1) /* u64 count of DATA messages that follow */
#define T_DATA      (P2P_TYPE_APP + 2)
#define T_DONE      (P2P_TYPE_APP + 3) /* receiver -> sender: all arrived */
#define DEADLINE_MS 120000
#define BIG_MSG     1000000
#define SMALL_MSG   100

/* ------------------------------------------------------ raw loopback */

typedef struct {
	int fd;
	uint64_t bytes;
	int rc;
} raw_writer;

static void *raw_write_thread(void *arg)
{
	static uint8_t buf[256 * 1024];
	raw_writer *w = arg;
	uint64_t left = w->bytes;

	memset(buf, 0x5a, sizeof(buf));
	while (left > 0) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t k = write(w->fd, buf, n);

		if (k <= 0) {
			w->rc = FL_EIO;
			break;
		}
		left -= (uint64_t)k;
	}
	close(w->fd);
	return NULL;
}

/* One run: connect, then time from the first byte written to the last read. */
static int raw_once(uint64_t bytes, double *seconds)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(sin);
	raw_writer w = {-1, bytes, FL_OK};
	int lfd, cfd = -1, wfd = -1, rc = FL_EIO;
	uint64_t got = 0;
	pthread_t t;
	double start;
	static uint8_t buf[256 * 1024];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return FL_EIO;
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lfd, 1) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) != 0)
		goto cleanup;
	wfd = socket(AF_INET, SOCK_STREAM, 0);
	if (wfd < 0 || connect(wfd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		goto cleanup;
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		goto cleanup;
	start = fl_now();
	w.fd = wfd;
	if (pthread_create(&t, NULL, raw_write_thread, &w) != 0)
		goto cleanup;
	wfd = -1; /* the thread closes it */
	while (got < bytes) {
		ssize_t k = read(cfd, buf, sizeof(buf));

		if (k <= 0)
			break;
		got += (uint64_t)k;
	}
	*seconds = fl_now() - start;
	pthread_join(t, NULL);
	rc = got == bytes ? w.rc : FL_EIO;
cleanup:
	if (wfd >= 0)
		close(wfd);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return rc;
}

/* ---------------------------------------------------- the two members */

/* The receiving member: its own loop on its own thread. Everything but
 * `port`, `ready` and `failed` is touched only by that thread. */
typedef struct {
	uv_loop_t loop;
	uv_async_t stop;
	p2p_host *host;
	fl_seckey sk;
	fl_pubkey pk, other;
	const uint8_t *blob;
	uint64_t blob_n;
	fl_hash blob_hash;
	uint64_t expect, got;
	pthread_t thread;
	atomic_int ready; /* 1 listening, -1 failed */
	atomic_uint port;
} receiver;

/* The sending member, on the calling thread. */
typedef struct {
	uv_loop_t loop;
	uv_check_t pump; /* refills the send queue after each loop's I/O */
	p2p_host *host;
	p2p_peer *peer;
	fl_seckey sk;
	fl_pubkey pk, other;
	const uint8_t *msg;
	size_t msg_n;
	uint64_t count, sent;
	size_t window; /* bytes queued at most: the sender's back-pressure */
	int done, rc;
	int blob_status;
} sender;

static int member_of(const fl_pubkey *a, const fl_pubkey *b, const fl_pubkey *id)
{
	return fl_pubkey_cmp(a, id) == 0 || fl_pubkey_cmp(b, id) == 0;
}

static int recv_is_member(void *ctx, const fl_pubkey *id)
{
	receiver *r = ctx;

	return member_of(&r->pk, &r->other, id);
}

static void recv_on_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n)
{
	receiver *r = ctx;

	if (type == T_START && n == 8) {
		memcpy(&r->expect, p, 8);
		r->got = 0;
	} else if (type == T_DATA && ++r->got == r->expect) {
		if (p2p_send(peer, T_DONE, NULL, 0) != FL_OK)
			fprintf(stderr, BENCH_PROG ": p2p: cannot answer\n");
	}
}

static int recv_blob_size(void *ctx, const fl_hash *hash, uint64_t *size)
{
	receiver *r = ctx;

	if (r->blob == NULL || fl_hash_cmp(hash, &r->blob_hash) != 0)
		return FL_ENOTFOUND;
	*size = r->blob_n;
	return FL_OK;
}

static int recv_blob_read(void *ctx, const fl_hash *hash, uint64_t off, uint8_t *out, size_t n)
{
	receiver *r = ctx;

	if (r->blob == NULL || fl_hash_cmp(hash, &r->blob_hash) != 0 || off > r->blob_n ||
	    n > r->blob_n - off)
		return FL_ENOTFOUND;
	memcpy(out, r->blob + off, n);
	return FL_OK;
}

static void recv_stop(uv_async_t *a)
{
	receiver *r = a->data;

	p2p_host_close(r->host, NULL, NULL);
	uv_close((uv_handle_t *)&r->stop, NULL);
}

static void *recv_thread(void *arg)
{
	receiver *r = arg;
	p2p_config cfg;

	p2p_config_default(&cfg);
	cfg.identity = r->sk;
	snprintf(cfg.network_id, sizeof(cfg.network_id), NETWORK);
	snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:0");
	cfg.is_member = recv_is_member;
	cfg.on_message = recv_on_message;
	cfg.blob_size = recv_blob_size;
	cfg.blob_read = recv_blob_read;
	cfg.ctx = r;
	if (uv_async_init(&r->loop, &r->stop, recv_stop) != 0) {
		atomic_store(&r->ready, -1);
		return NULL;
	}
	r->stop.data = r;
	if (p2p_host_new(&r->host, &r->loop, &cfg) != FL_OK || p2p_host_start(r->host) != FL_OK) {
		if (r->host != NULL)
			p2p_host_close(r->host, NULL, NULL);
		uv_close((uv_handle_t *)&r->stop, NULL);
		uv_run(&r->loop, UV_RUN_DEFAULT);
		atomic_store(&r->ready, -1);
		return NULL;
	}
	atomic_store(&r->port, p2p_host_listen_port(r->host));
	atomic_store(&r->ready, 1);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int send_is_member(void *ctx, const fl_pubkey *id)
{
	sender *s = ctx;

	return member_of(&s->pk, &s->other, id);
}

static void send_on_peer(void *ctx, p2p_peer *peer, int connected)
{
	sender *s = ctx;

	if (connected)
		s->peer = peer;
	else if (s->peer == peer)
		s->peer = NULL;
}

static void send_on_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n)
{
	sender *s = ctx;

	(void)peer;
	(void)p;
	(void)n;
	if (type == T_DONE)
		s->done = 1;
}

/* Keeps the send queue near `window` bytes: full enough that the socket
 * never waits for us, bounded so the host never drops the peer as slow.
 * A check handle, not an idle one: with the queue full the loop sleeps in
 * its poll until a write completes, as an application's would, instead of
 * spinning on p2p_peer_get_info and taking CPU from the other member on a
 * shared machine. */
static void send_pump(uv_check_t *check)
{
	sender *s = check->data;

	while (s->sent < s->count && s->peer != NULL) {
		p2p_peer_info info;
		int rc;

		p2p_peer_get_info(s->peer, &info);
		if (info.send_queue_bytes >= s->window)
			return;
		rc = p2p_send(s->peer, T_DATA, s->msg, s->msg_n);
		if (rc < 0) {
			s->rc = rc;
			s->done = 1;
			break;
		}
		s->sent++;
	}
	uv_check_stop(check);
}

/* Runs the sender's loop until *flag or the deadline. */
static int run_until(sender *s, const int *flag)
{
	uint64_t deadline;

	uv_update_time(&s->loop);
	deadline = uv_now(&s->loop) + DEADLINE_MS;
	while (!*flag && uv_now(&s->loop) < deadline)
		uv_run(&s->loop, UV_RUN_ONCE);
	return *flag ? FL_OK : FL_ETIMEOUT;
}

/* `count` messages of msg_n bytes; seconds from the first send until the
 * receiver's answer that the last one arrived. */
static int stream_once(sender *s, uint64_t count, size_t msg_n, size_t window, double *seconds)
{
	uint8_t start[8];
	double t0;
	int rc;

	if (s->peer == NULL)
		return FL_EIO;
	memcpy(start, &count, 8);
	rc = p2p_send(s->peer, T_START, start, sizeof(start));
	if (rc < 0)
		return rc;
	s->msg_n = msg_n;
	s->count = count;
	s->sent = 0;
	s->window = window;
	s->done = 0;
	s->rc = FL_OK;
	t0 = fl_now();
	if (uv_check_start(&s->pump, send_pump) != 0)
		return FL_EIO;
	rc = run_until(s, &s->done);
	uv_check_stop(&s->pump);
	*seconds = fl_now() - t0;
	return rc < 0 ? rc : s->rc;
}

static void blob_done(void *arg, int status, const fl_hash *hash, const uint8_t *data, size_t n)
{
	sender *s = arg;

	(void)hash;
	(void)data;
	(void)n;
	s->blob_status = status;
	s->done = 1;
}

static int blob_once(sender *s, const fl_hash *hash, uint64_t n, double *seconds)
{
	double t0 = fl_now();
	int rc;

	s->done = 0;
	rc = p2p_blob_fetch(s->host, hash, n, DEADLINE_MS, blob_done, s);
	if (rc < 0)
		return rc;
	rc = run_until(s, &s->done);
	*seconds = fl_now() - t0;
	return rc < 0 ? rc : s->blob_status;
}

static int sender_start(sender *s, const receiver *r)
{
	p2p_config cfg;
	char addr[P2P_ADDR_MAX];
	int connected = 0, rc;

	p2p_config_default(&cfg);
	cfg.identity = s->sk;
	snprintf(cfg.network_id, sizeof(cfg.network_id), NETWORK);
	cfg.is_member = send_is_member;
	cfg.on_peer = send_on_peer;
	cfg.on_message = send_on_message;
	cfg.ctx = s;
	rc = p2p_host_new(&s->host, &s->loop, &cfg);
	if (rc == FL_OK)
		rc = p2p_host_start(s->host);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", atomic_load(&r->port));
	if (rc == FL_OK)
		rc = p2p_add_persistent(s->host, addr, &r->pk);
	if (rc < 0)
		return rc;
	for (int i = 0; i < 5000 && !connected; i++) {
		uv_run(&s->loop, UV_RUN_NOWAIT);
		connected = s->peer != NULL;
		if (!connected)
			usleep(1000);
	}
	return connected ? FL_OK : FL_ETIMEOUT;
}

static void fill(uint8_t *p, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

typedef struct {
	double raw, send, blob, small; /* best seconds */
	uint64_t raw_bytes, send_count, blob_bytes, small_count;
} p2p_figures;

static int measure_sessions(const bench_ctx *b, p2p_figures *fig, unsigned reps)
{
	receiver *r = fl_calloc(1, sizeof(*r));
	sender *s = fl_calloc(1, sizeof(*s));
	uint8_t *big = NULL, *blob = NULL, small[SMALL_MSG];
	int thread = 0, sloop = 0, pump = 0, rc = FL_ENOMEM;
	fl_hash hash;

	(void)b;
	big = fl_malloc(BIG_MSG);
	blob = fl_malloc(fig->blob_bytes);
	if (r == NULL || s == NULL || big == NULL || blob == NULL)
		goto cleanup;
	fill(big, BIG_MSG);
	fill(blob, fig->blob_bytes);
	memset(small, 7, sizeof(small));
	fl_sha256(&hash, blob, fig->blob_bytes);
	rc = fl_key_generate(&r->sk, &r->pk);
	if (rc == FL_OK)
		rc = fl_key_generate(&s->sk, &s->pk);
	if (rc < 0)
		goto cleanup;
	r->other = s->pk;
	s->other = r->pk;
	r->blob = blob;
	r->blob_n = fig->blob_bytes;
	r->blob_hash = hash;

	rc = FL_EIO;
	if (uv_loop_init(&r->loop) != 0)
		goto cleanup;
	if (pthread_create(&r->thread, NULL, recv_thread, r) != 0) {
		uv_loop_close(&r->loop);
		goto cleanup;
	}
	thread = 1;
	for (int i = 0; i < 5000 && atomic_load(&r->ready) == 0; i++)
		usleep(1000);
	if (atomic_load(&r->ready) != 1 || uv_loop_init(&s->loop) != 0)
		goto cleanup;
	sloop = 1;
	if (uv_check_init(&s->loop, &s->pump) != 0)
		goto cleanup;
	pump = 1;
	s->pump.data = s;
	rc = sender_start(s, r);
	for (unsigned i = 0; i < reps && rc == FL_OK; i++) {
		double t;

		s->msg = big;
		rc = stream_once(s, fig->send_count, BIG_MSG, (size_t)16 << 20, &t);
		if (rc == FL_OK && t < fig->send)
			fig->send = t;
		if (rc == FL_OK)
			rc = blob_once(s, &hash, fig->blob_bytes, &t);
		if (rc == FL_OK && t < fig->blob)
			fig->blob = t;
		s->msg = small;
		if (rc == FL_OK)
			rc = stream_once(s, fig->small_count, SMALL_MSG, (size_t)1 << 20, &t);
		if (rc == FL_OK && t < fig->small)
			fig->small = t;
	}
cleanup:
	if (sloop) {
		if (s->host != NULL)
			p2p_host_close(s->host, NULL, NULL);
		if (pump)
			uv_close((uv_handle_t *)&s->pump, NULL);
		uv_run(&s->loop, UV_RUN_DEFAULT);
		uv_loop_close(&s->loop);
	}
	if (thread) {
		if (atomic_load(&r->ready) == 1)
			uv_async_send(&r->stop);
		pthread_join(r->thread, NULL);
		uv_loop_close(&r->loop);
	}
	fl_free(big);
	fl_free(blob);
	fl_free(r);
	fl_free(s);
	return rc;
}

int bench_suite_p2p(bench_ctx *b)
{
	unsigned reps = b->quick ? 1 : 3;
	p2p_figures fig = {HUGE_VAL, HUGE_VAL, HUGE_VAL, HUGE_VAL, 0, 0, 0, 0};
	double raw_mbps, v;
	int rc;

	fig.raw_bytes = b->quick ? (uint64_t)16 << 20 : (uint64_t)256 << 20;
	fig.send_count = b->quick ? 16 : 256;
	fig.blob_bytes = b->quick ? (uint64_t)4 << 20 : (uint64_t)64 << 20;
	fig.small_count = b->quick ? 20000 : 1000000;

	for (unsigned i = 0; i < reps; i++) {
		double t = 0;

		rc = raw_once(fig.raw_bytes, &t);
		if (rc < 0)
			return rc;
		if (t < fig.raw)
			fig.raw = t;
	}
	raw_mbps = (double)fig.raw_bytes / fig.raw / 1e6;
	bench_emit(b, &(bench_figure){SUITE, RAW_NAME, raw_mbps, "MB/s", RAW_NAME, raw_mbps, 1.0});

	rc = measure_sessions(b, &fig, reps);
	if (rc < 0)
		return rc;
	v = (double)fig.send_count * BIG_MSG / fig.send / 1e6;
	bench_emit(b, &(bench_figure){SUITE, "send_1MB_mbps", v, "MB/s", RAW_NAME, raw_mbps,
				      v / raw_mbps});
	v = (double)fig.blob_bytes / fig.blob / 1e6;
	bench_emit(b, &(bench_figure){SUITE, "blob_fetch_mbps", v, "MB/s", RAW_NAME, raw_mbps,
				      v / raw_mbps});
	v = (double)fig.small_count / fig.small;
	bench_emit(b, &(bench_figure){SUITE, "small_100B_msgs", v, "msgs/s", RAW_NAME, raw_mbps,
				      v * SMALL_MSG / 1e6 / raw_mbps});
	return FL_OK;
}
