/*
 * tools/bench_node_load.c — the node suite's load: signed transfers posted
 * to the nodes' HTTP API (POST /v1/txs, keep-alive connections driven by one
 * poll loop) and timed to their commit, seen as `tx` events on node 0's
 * `GET /v1/events` stream (read by a thread of its own).
 *
 * Every transfer is signed before the clock starts, so the generator costs
 * the nodes only its HTTP. Transfer i is account i % A's nonce i / A + 1;
 * account a always goes over connection a % C, so each account's nonces
 * reach its node in order (the mempool takes no gaps). Bounded: the posting
 * stops at cfg->seconds or when every signed transfer is posted, and the
 * drain after it at DRAIN_S.
 */
#include "tools/bench_node.h"

#include "chain/chain.h"
#include "core/core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define DRAIN_S      30.0
#define RETRY_S      0.02 /* a connection answered 503 waits this long */
#define RESP_MAX     4096 /* an answer to POST /v1/txs is ~100 bytes */
#define CONNS_MAX    64
#define SIGN_THREADS 2
#define SSE_BUF      (256 * 1024)

typedef struct {
	uint64_t n;     /* transfers signed */
	size_t req_len; /* every request has this length (transfers encode alike) */
	char *req;      /* n requests, req_len bytes each */
	fl_hash *hash;  /* transfer i's hash */
	double *sent;   /* when its request was first written (0: never) */
	double *seen;   /* when its tx event arrived (0: never); the events thread's */
	uint32_t *slot; /* open addressing: hash -> i + 1 */
	uint64_t mask;
} load_set;

/* ------------------------------------------------------------ signing */

typedef struct {
	load_set *s;
	const testnet_account *acc;
	uint32_t n_acc;
	const char *chain_id;
	uint64_t from, to;
	int rc;
} sign_job;

static int request_for(char *out, size_t cap, size_t *len, const chain_tx *tx)
{
	fl_writer w;
	char hex[2 * CHAIN_MAX_TX_BYTES + 1];
	int rc;

	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if ((rc = chain_tx_encode(&w, tx)) != FL_OK || (rc = fl_writer_finish(&w)) != FL_OK)
		goto cleanup;
	if (2 * w.len + 1 > sizeof hex) {
		rc = FL_ETOOBIG;
		goto cleanup;
	}
	fl_hex_encode(hex, w.buf, w.len);
	int n = snprintf(out, cap,
			 "POST /v1/txs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
			 "application/json\r\nContent-Length: %zu\r\n\r\n{\"tx\":\"%s\"}",
			 2 * w.len + 9, hex);
	rc = (n < 0 || (size_t)n >= cap) ? FL_ETOOBIG : FL_OK;
	*len = n < 0 ? 0 : (size_t)n;
cleanup:
	fl_writer_free(&w);
	return rc;
}

static void make_tx(chain_tx *tx, const testnet_account *acc, uint32_t n_acc, uint64_t i)
{
	uint32_t a = (uint32_t)(i % n_acc);
	memset(tx, 0, sizeof *tx);
	tx->kind = CHAIN_TX_TRANSFER;
	tx->sender = acc[a].pk;
	tx->nonce = i / n_acc + 1;
	tx->u.transfer.to = acc[(a + 1) % n_acc].pk;
	tx->u.transfer.amount = 1;
}

static void *sign_thread(void *arg)
{
	sign_job *j = arg;
	load_set *s = j->s;
	char *buf = malloc(s->req_len + 1);
	chain_tx tx;
	size_t len;

	j->rc = buf ? FL_OK : FL_ENOMEM;
	for (uint64_t i = j->from; i < j->to && j->rc == FL_OK; i++) {
		make_tx(&tx, j->acc, j->n_acc, i);
		if ((j->rc = chain_tx_sign(&tx, j->chain_id, &j->acc[i % j->n_acc].sk)) != FL_OK ||
		    (j->rc = chain_tx_hash(&s->hash[i], &tx)) != FL_OK ||
		    (j->rc = request_for(buf, s->req_len + 1, &len, &tx)) != FL_OK)
			break;
		if (len != s->req_len) {
			j->rc = FL_EINVAL;
			break;
		}
		memcpy(s->req + i * s->req_len, buf, len);
	}
	free(buf);
	return NULL;
}

static uint64_t hash_key(const fl_hash *h)
{
	uint64_t k;
	memcpy(&k, h->b, sizeof k);
	return k;
}

static int set_build(load_set *s, const testnet_account *acc, uint32_t n_acc,
		     const bench_load_cfg *cfg)
{
	char probe[2 * CHAIN_MAX_TX_BYTES + 256];
	chain_tx tx;
	int rc;

	memset(s, 0, sizeof *s);
	s->n = (uint64_t)n_acc * cfg->per_account;
	make_tx(&tx, acc, n_acc, 0);
	if ((rc = chain_tx_sign(&tx, cfg->chain_id, &acc[0].sk)) != FL_OK ||
	    (rc = request_for(probe, sizeof probe, &s->req_len, &tx)) != FL_OK)
		return rc;
	uint64_t slots = 1;
	while (slots < 2 * s->n)
		slots <<= 1;
	s->mask = slots - 1;
	s->req = malloc(s->n * s->req_len);
	s->hash = calloc(s->n, sizeof *s->hash);
	s->sent = calloc(s->n, sizeof *s->sent);
	s->seen = calloc(s->n, sizeof *s->seen);
	s->slot = calloc(slots, sizeof *s->slot);
	if (!s->req || !s->hash || !s->sent || !s->seen || !s->slot || s->n >= UINT32_MAX)
		return FL_ENOMEM;

	fprintf(stderr, "  signing %llu transfers of %u accounts...\n", (unsigned long long)s->n,
		n_acc);
	pthread_t th[SIGN_THREADS];
	sign_job jobs[SIGN_THREADS];
	int started = 0;
	rc = FL_OK;
	for (int t = 0; t < SIGN_THREADS; t++) {
		jobs[t] = (sign_job){s,
				     acc,
				     n_acc,
				     cfg->chain_id,
				     s->n * (uint64_t)t / SIGN_THREADS,
				     s->n * (uint64_t)(t + 1) / SIGN_THREADS,
				     FL_OK};
		if (pthread_create(&th[t], NULL, sign_thread, &jobs[t]) != 0) {
			rc = FL_ENOMEM;
			break;
		}
		started++;
	}
	for (int t = 0; t < started; t++) {
		pthread_join(th[t], NULL);
		if (rc == FL_OK)
			rc = jobs[t].rc;
	}
	for (uint64_t i = 0; i < s->n && rc == FL_OK; i++) {
		uint64_t k = hash_key(&s->hash[i]) & s->mask;
		while (s->slot[k])
			k = (k + 1) & s->mask;
		s->slot[k] = (uint32_t)(i + 1);
	}
	return rc;
}

static void set_free(load_set *s)
{
	free(s->req);
	free(s->hash);
	free(s->sent);
	free(s->seen);
	free(s->slot);
	memset(s, 0, sizeof *s);
}

static int64_t set_find(const load_set *s, const fl_hash *h)
{
	uint64_t k = hash_key(h) & s->mask;
	while (s->slot[k]) {
		uint32_t i = s->slot[k] - 1;
		if (memcmp(s->hash[i].b, h->b, FL_HASH_LEN) == 0)
			return i;
		k = (k + 1) & s->mask;
	}
	return -1;
}

/* -------------------------------------------------------------- sockets */

static int connect_loopback(uint16_t port, int nonblock)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------- the events stream */

typedef struct {
	const load_set *set;
	double *seen;
	uint16_t port;
	atomic_int ready; /* 1 subscribed, -1 failed */
	atomic_int stop;
	atomic_int failed; /* the stream ended while we still read it */
	atomic_uint_fast64_t committed;
} events_reader;

/* One `data:` line of a `tx` event: {"hash":"<64 hex>",...}. */
static void on_tx_event(events_reader *e, const char *line)
{
	const char *p = strstr(line, "\"hash\":\"");
	char hex[FL_HASH_HEX_LEN + 1];
	fl_hash h;

	if (!p || strlen(p + 8) < FL_HASH_HEX_LEN)
		return;
	memcpy(hex, p + 8, FL_HASH_HEX_LEN);
	hex[FL_HASH_HEX_LEN] = '\0';
	if (fl_hash_from_hex(&h, hex) != FL_OK)
		return;
	int64_t i = set_find(e->set, &h);
	if (i >= 0 && e->seen[i] == 0) {
		e->seen[i] = bench_now();
		atomic_fetch_add(&e->committed, 1);
	}
}

static void *events_thread(void *arg)
{
	events_reader *e = arg;
	static const char req[] = "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				  "Accept: text/event-stream\r\n\r\n";
	char *buf = malloc(SSE_BUF + 1);
	size_t len = 0;
	int fd = connect_loopback(e->port, 0), in_header = 1, tx_event = 0;
	struct timeval tv = {0, 200 * 1000};

	if (!buf || fd < 0 || write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
		atomic_store(&e->ready, -1);
		goto cleanup;
	}
	while (!atomic_load(&e->stop)) {
		ssize_t k = read(fd, buf + len, SSE_BUF - len);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue;
		if (k <= 0) {
			atomic_store(&e->failed, 1);
			if (in_header)
				atomic_store(&e->ready, -1);
			break;
		}
		len += (size_t)k;
		buf[len] = '\0';
		char *line = buf, *nl;
		while ((nl = memchr(line, '\n', len - (size_t)(line - buf))) != NULL) {
			*nl = '\0';
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			if (in_header) {
				if (line == nl || line[0] == '\0') {
					in_header = 0;
					atomic_store(&e->ready, 1);
				} else if (strncmp(line, "HTTP/1.1 ", 9) == 0 &&
					   strncmp(line + 9, "200", 3) != 0) {
					atomic_store(&e->ready, -1);
					goto cleanup;
				}
			} else if (strncmp(line, "event: ", 7) == 0) {
				tx_event = strcmp(line + 7, "tx") == 0;
			} else if (tx_event && strncmp(line, "data: ", 6) == 0) {
				on_tx_event(e, line + 6);
			}
			line = nl + 1;
		}
		len -= (size_t)(line - buf);
		memmove(buf, line, len);
		if (len == SSE_BUF) { /* one line longer than the buffer: not ours */
			atomic_store(&e->failed, 1);
			break;
		}
	}
cleanup:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* ---------------------------------------------------------- the posting */

typedef enum { C_IDLE, C_SEND, C_RECV, C_WAIT } conn_state;

typedef struct {
	int fd;
	uint16_t port;
	conn_state state;
	uint32_t first, n_acc; /* its accounts: first, first + C, ... (n_acc of them) */
	uint32_t j, k;         /* next: its j-th account's nonce k + 1 */
	uint64_t tx;           /* the transfer in flight */
	size_t off;            /* bytes of the request written */
	char resp[RESP_MAX + 1];
	size_t resp_len;
	double wait_until;
	int reconnect; /* the last answer said Connection: close */
} conn;

typedef struct {
	load_set *set;
	uint32_t n_acc, per_account, C;
	conn c[CONNS_MAX];
	uint64_t begun, posted, retried;
	char why[512];
} poster;

static int conn_next(poster *p, conn *c)
{
	if (c->k >= p->per_account)
		return 0;
	c->tx = (uint64_t)c->k * p->n_acc + c->first + (uint64_t)c->j * p->C;
	if (++c->j == c->n_acc) {
		c->j = 0;
		c->k++;
	}
	c->off = 0;
	c->state = C_SEND;
	p->begun++;
	return 1;
}

/* A whole answer in c->resp: 1 (handled), 0 (incomplete), -1 (refused). */
static int conn_answer(poster *p, conn *c)
{
	char *end = strstr(c->resp, "\r\n\r\n");
	if (!end)
		return c->resp_len >= RESP_MAX ? -1 : 0;
	size_t body = 0;
	const char *cl = strcasestr(c->resp, "\r\ncontent-length:");
	if (cl && cl < end)
		body = strtoul(cl + 17, NULL, 10);
	if ((size_t)(end + 4 - c->resp) + body > c->resp_len)
		return c->resp_len >= RESP_MAX ? -1 : 0;
	int status = (int)strtol(c->resp + 9, NULL, 10);
	if (strncmp(c->resp, "HTTP/1.1 ", 9) != 0)
		status = 0;
	if (status == 202) {
		p->posted++;
		c->state = C_IDLE;
	} else if (status == 503) {
		/* Mempool full or the node busy: the same transfer again soon. */
		p->retried++;
		c->state = C_WAIT;
		c->wait_until = bench_now() + RETRY_S;
	} else {
		snprintf(p->why, sizeof p->why, "port %u refused transfer %llu: %.*s", c->port,
			 (unsigned long long)c->tx, (int)body, end + 4);
		return -1;
	}
	/* A server closing after its requests-per-connection cap says so. */
	const char *close_hdr = strcasestr(c->resp, "\r\nconnection: close");
	if (close_hdr && close_hdr < end)
		c->reconnect = 1;
	size_t used = (size_t)(end + 4 - c->resp) + body;
	memmove(c->resp, c->resp + used, c->resp_len - used);
	c->resp_len -= used;
	c->resp[c->resp_len] = '\0';
	return 1;
}

static int conn_io(poster *p, conn *c, short revents)
{
	if (c->state == C_SEND && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		const char *r = p->set->req + c->tx * p->set->req_len;
		if (c->off == 0 && p->set->sent[c->tx] == 0)
			p->set->sent[c->tx] = bench_now();
		ssize_t k = write(c->fd, r + c->off, p->set->req_len - c->off);
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(p->why, sizeof p->why, "port %u: write: %s", c->port,
				 strerror(errno));
			return -1;
		}
		if (k > 0 && (c->off += (size_t)k) == p->set->req_len)
			c->state = C_RECV;
		return 0;
	}
	if (c->state != C_RECV || !(revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	ssize_t k = read(c->fd, c->resp + c->resp_len, RESP_MAX - c->resp_len);
	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
		snprintf(p->why, sizeof p->why, "port %u closed the connection", c->port);
		return -1;
	}
	if (k < 0)
		return 0;
	c->resp_len += (size_t)k;
	c->resp[c->resp_len] = '\0';
	int r = conn_answer(p, c);
	if (r < 0) {
		if (!p->why[0])
			snprintf(p->why, sizeof p->why, "port %u: a malformed answer", c->port);
		return -1;
	}
	if (r > 0 && c->reconnect) {
		/* Answered, then closed (the server's requests-per-connection cap). */
		close(c->fd);
		c->resp_len = 0;
		c->reconnect = 0;
		if ((c->fd = connect_loopback(c->port, 1)) < 0) {
			snprintf(p->why, sizeof p->why, "port %u: reconnect: %s", c->port,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void percentiles(const load_set *s, bench_load_result *out)
{
	double *lat = malloc((out->committed ? out->committed : 1) * sizeof *lat);
	uint64_t n = 0;
	if (!lat)
		return;
	for (uint64_t i = 0; i < s->n && n < out->committed; i++)
		if (s->seen[i] > 0 && s->sent[i] > 0)
			lat[n++] = s->seen[i] - s->sent[i];
	qsort(lat, n, sizeof *lat, cmp_double);
	if (n) {
		out->p50_s = lat[n / 2];
		out->p99_s = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	}
	free(lat);
}

/* What an operator needs to tell a lost transfer from a slow one: the
 * first few posted and never seen, with the account's nonce on chain, and
 * every node's mempool. */
static void report_missing(const bench_net *net, const load_set *s, const testnet_account *acc,
			   uint32_t n_acc, uint32_t C)
{
	char hex[FL_PUBKEY_HEX_LEN + 1], path[128];
	unsigned shown = 0;

	for (uint64_t i = 0; i < s->n && shown < 5; i++) {
		if (s->sent[i] == 0 || s->seen[i] > 0)
			continue;
		uint32_t a = (uint32_t)(i % n_acc);
		fl_pubkey_to_hex(hex, &acc[a].pk);
		snprintf(path, sizeof path, "/v1/accounts/%s", hex);
		uint32_t node = (a % C) % net->t.n;
		json_t *ac = testnet_http_get_json(net->t.node[node].rpc_port, path, 5000);
		fprintf(
		    stderr,
		    "  not seen: account %u nonce %llu, posted to %s; on chain its nonce is %lld\n",
		    a, (unsigned long long)(i / n_acc + 1), net->t.node[node].name,
		    (long long)json_integer_value(json_object_get(ac, "nonce")));
		json_decref(ac);
		shown++;
	}
	for (uint32_t k = 0; k < net->t.n; k++) {
		json_t *st = testnet_http_get_json(net->t.node[k].rpc_port, "/status", 5000);
		json_t *mp = json_object_get(st, "mempool");
		fprintf(stderr, "  %s: height %lld, mempool %lld txs\n", net->t.node[k].name,
			(long long)json_integer_value(json_object_get(st, "height")),
			(long long)json_integer_value(json_object_get(mp, "txs")));
		json_decref(st);
	}
}

int bench_node_load(const bench_net *net, const testnet_account *acc, uint32_t n_acc,
		    const bench_load_cfg *cfg, bench_load_result *out)
{
	static load_set set;
	static poster p;
	static events_reader ev;
	struct pollfd pfd[CONNS_MAX];
	pthread_t evt;
	int ev_started = 0, rc;
	uint32_t C = cfg->conns;

	memset(out, 0, sizeof *out);
	memset(&p, 0, sizeof p);
	if (C == 0 || C > CONNS_MAX || C > n_acc || n_acc == 0 || cfg->per_account == 0)
		return FL_EINVAL;
	for (uint32_t c = 0; c < C; c++)
		p.c[c].fd = -1;
	if ((rc = set_build(&set, acc, n_acc, cfg)) != FL_OK) {
		fprintf(stderr, "%s: node: signing the transfers: %s\n", BENCH_PROG,
			fl_strerror(rc));
		goto cleanup;
	}
	ev = (events_reader){.set = &set, .seen = set.seen, .port = net->t.node[0].rpc_port};
	if (pthread_create(&evt, NULL, events_thread, &ev) != 0) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	ev_started = 1;
	for (double until = bench_now() + 10; atomic_load(&ev.ready) == 0 && bench_now() < until;)
		usleep(1000);
	if (atomic_load(&ev.ready) != 1) {
		fprintf(stderr, "%s: node: GET /v1/events on %s failed\n", BENCH_PROG,
			net->t.node[0].name);
		rc = FL_EIO;
		goto cleanup;
	}

	p.set = &set;
	p.n_acc = n_acc;
	p.per_account = cfg->per_account;
	p.C = C;
	for (uint32_t c = 0; c < C; c++) {
		conn *k = &p.c[c];
		k->port = net->t.node[c % net->t.n].rpc_port;
		k->first = c;
		k->n_acc = (n_acc - c + C - 1) / C;
		k->fd = connect_loopback(k->port, 1);
		if (k->fd < 0) {
			fprintf(stderr, "%s: node: connect to port %u: %s\n", BENCH_PROG, k->port,
				strerror(errno));
			rc = FL_EIO;
			goto cleanup;
		}
	}

	double start = bench_now(), stop = start + cfg->seconds, last_post = start;
	double next_note = start + 10;
	rc = FL_OK;
	for (;;) {
		double now = bench_now();
		uint64_t committed = atomic_load(&ev.committed);
		int active = 0;
		nfds_t n = 0;
		for (uint32_t c = 0; c < C; c++) {
			conn *k = &p.c[c];
			if (k->state == C_WAIT && now >= stop)
				k->state = C_IDLE; /* refused for room, and the posting is over */
			if (k->state == C_WAIT && now >= k->wait_until) {
				k->state = C_SEND;
				k->off = 0;
			}
			/* Paced: at most rate x elapsed begun, so the latency
			 * is that of the offered rate, not of a queue this
			 * generator keeps full (Little's law). */
			int paced = cfg->rate > 0 && (double)p.begun >= (now - start) * cfg->rate;
			if (k->state == C_IDLE && now < stop && !paced &&
			    p.posted - committed < cfg->window && !conn_next(&p, k))
				continue;
			if (k->state == C_IDLE)
				continue;
			active = 1;
			if (k->state == C_WAIT)
				continue;
			pfd[n++] = (struct pollfd){k->fd, k->state == C_SEND ? POLLOUT : POLLIN, 0};
		}
		if (!active && (now >= stop || p.posted == set.n))
			break;
		if (atomic_load(&ev.failed)) {
			fprintf(stderr, "%s: node: the events stream of %s ended\n", BENCH_PROG,
				net->t.node[0].name);
			rc = FL_EIO;
			goto cleanup;
		}
		if (poll(pfd, n, 5) < 0 && errno != EINTR) {
			rc = FL_EIO;
			goto cleanup;
		}
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			for (uint32_t c = 0; c < C; c++)
				if (p.c[c].fd == pfd[i].fd) {
					if (conn_io(&p, &p.c[c], pfd[i].revents) != 0) {
						fprintf(stderr, "%s: node: %s\n", BENCH_PROG,
							p.why);
						rc = FL_EIO;
						goto cleanup;
					}
					break;
				}
		}
		last_post = bench_now();
		if (last_post >= next_note) {
			fprintf(stderr, "  %.0f s: %llu posted, %llu committed\n",
				last_post - start, (unsigned long long)p.posted,
				(unsigned long long)atomic_load(&ev.committed));
			next_note = last_post + 10;
		}
	}
	/* What was posted and not yet seen committed: bounded wait. */
	for (double until = bench_now() + DRAIN_S;
	     atomic_load(&ev.committed) < p.posted && bench_now() < until;)
		usleep(10000);

	atomic_store(&ev.stop, 1);
	pthread_join(evt, NULL);
	ev_started = 0;
	out->posted = p.posted;
	out->retried = p.retried;
	out->committed = atomic_load(&ev.committed);
	/* Posting for the whole time: what committed meanwhile. Every transfer
	 * posted before the time was up (a short run): until the last commit. */
	double end = last_post;
	if (last_post < stop)
		for (uint64_t i = 0; i < set.n; i++)
			end = set.seen[i] > end ? set.seen[i] : end;
	out->window_s = end - start;
	for (uint64_t i = 0; i < set.n; i++)
		if (set.seen[i] > 0 && set.seen[i] <= end)
			out->in_window++;
	out->tx_per_s = out->window_s > 0 ? (double)out->in_window / out->window_s : 0;
	percentiles(&set, out);
	if (out->committed < out->posted) {
		fprintf(stderr, "%s: node: %llu of %llu posted transfers not seen committed\n",
			BENCH_PROG, (unsigned long long)(out->posted - out->committed),
			(unsigned long long)out->posted);
		report_missing(net, &set, acc, n_acc, C);
		rc = FL_ETIMEOUT;
	}
cleanup:
	if (ev_started) {
		atomic_store(&ev.stop, 1);
		pthread_join(evt, NULL);
	}
	for (uint32_t c = 0; c < C && c < CONNS_MAX; c++)
		if (p.c[c].fd >= 0)
			close(p.c[c].fd);
	set_free(&set);
	return rc;
}
