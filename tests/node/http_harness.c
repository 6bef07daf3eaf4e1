/*
 * tests/node/http_harness.c — see http_harness.h.
 */
#include "tests/node/http_harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void hh_config(node_http_config *cfg)
{
	node_http_config_default(cfg);
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:0");
	cfg->header_timeout_ms = 2000;
	cfg->request_timeout_ms = 4000;
	cfg->idle_timeout_ms = 4000;
	cfg->write_timeout_ms = 4000;
}

static void on_wake(uv_async_t *a)
{
	hh_server *h = a->data;

	pthread_mutex_lock(&h->mu);
	if (h->fn != NULL && !h->done) {
		h->fn(h->arg);
		h->done = 1;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
}

static void *loop_main(void *arg)
{
	hh_server *h = arg;

	uv_run(&h->loop, UV_RUN_DEFAULT);
	return NULL;
}

void hh_start(hh_server *h, const node_http_config *cfg, const node_http_route *routes, size_t n,
	      void *ctx)
{
	memset(h, 0, sizeof(*h));
	cr_assert_eq(uv_loop_init(&h->loop), 0);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	cr_assert_eq(uv_async_init(&h->loop, &h->wake, on_wake), 0);
	h->wake.data = h;
	cr_assert_eq(node_http_init(&h->server, &h->loop, cfg, routes, n, ctx), FL_OK);
	cr_assert_eq(node_http_start(&h->server), FL_OK);
	h->port = node_http_port(&h->server);
	cr_assert_neq(h->port, 0);
	cr_assert_eq(pthread_create(&h->thread, NULL, loop_main, h), 0);
}

void hh_call(hh_server *h, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&h->mu);
	h->fn = fn;
	h->arg = arg;
	h->done = 0;
	uv_async_send(&h->wake);
	while (!h->done)
		pthread_cond_wait(&h->cv, &h->mu);
	h->fn = NULL;
	pthread_mutex_unlock(&h->mu);
}

typedef struct {
	hh_server *h;
	node_http_stats st;
} stats_call;

static void get_stats(void *arg)
{
	stats_call *c = arg;
	node_http_get_stats(&c->h->server, &c->st);
}

node_http_stats hh_stats(hh_server *h)
{
	stats_call c = {.h = h};

	hh_call(h, get_stats, &c);
	return c.st;
}

typedef struct {
	hh_server *h;
	int (*cond)(hh_server *h, void *arg);
	void *arg;
	int result;
} cond_call;

static void eval_cond(void *arg)
{
	cond_call *c = arg;
	c->result = c->cond(c->h, c->arg);
}

int hh_wait(hh_server *h, int (*cond)(hh_server *h, void *arg), void *arg, unsigned ms)
{
	cond_call c = {.h = h, .cond = cond, .arg = arg};

	for (unsigned waited = 0;; waited += 10) {
		hh_call(h, eval_cond, &c);
		if (c.result)
			return 1;
		if (waited >= ms)
			return 0;
		usleep(10 * 1000);
	}
}

static void on_server_closed(node_http_server *s)
{
	hh_server *h = (hh_server *)((char *)s - offsetof(hh_server, server));

	h->closed = 1;
	uv_close((uv_handle_t *)&h->wake, NULL);
}

static void close_server(void *arg)
{
	hh_server *h = arg;
	node_http_close(&h->server, on_server_closed);
}

void hh_stop(hh_server *h)
{
	hh_call(h, close_server, h);
	pthread_join(h->thread, NULL);
	cr_assert(h->closed);
	cr_assert_eq(uv_loop_close(&h->loop), 0, "a handle is still open");
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
}

/* ------------------------------------------------------------ clients */

int hh_connect(uint16_t port, int rcvbuf)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = HH_RECV_MS / 1000, .tv_usec = (HH_RECV_MS % 1000) * 1000};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int hh_send(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int hh_header(const hh_response *r, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	const char *line = strstr(r->head, "\r\n");

	while (line != NULL && line[2] != '\0') {
		const char *next;
		line += 2;
		next = strstr(line, "\r\n");
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			size_t len;
			while (*v == ' ')
				v++;
			len = (size_t)((next != NULL ? next : v + strlen(v)) - v);
			if (len >= cap)
				return -1;
			memcpy(out, v, len);
			out[len] = '\0';
			return 0;
		}
		line = next;
	}
	return -1;
}

int hh_read_response(int fd, hh_response *r, int head_request)
{
	size_t have = 0, need;
	char len[32], *end;

	memset(r, 0, sizeof(*r));
	/* The head a byte at a time, so nothing past it is taken. */
	while (have < sizeof(r->head) - 1) {
		ssize_t got = recv(fd, r->head + have, 1, 0);
		if (got <= 0)
			return -1;
		have++;
		r->head[have] = '\0';
		if (have >= 4 && memcmp(r->head + have - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	need = 0;
	if (!head_request && r->status != 204 &&
	    hh_header(r, "Content-Length", len, sizeof(len)) == 0)
		need = strtoul(len, &end, 10);
	r->body = malloc(need + 1);
	if (r->body == NULL)
		return -1;
	while (r->body_len < need) {
		ssize_t got = recv(fd, r->body + r->body_len, need - r->body_len, 0);
		if (got <= 0) {
			r->status = 0;
			return -1;
		}
		r->body_len += (size_t)got;
	}
	r->body[need] = '\0';
	return 0;
}

void hh_response_free(hh_response *r)
{
	free(r->body);
	r->body = NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int hh_closed_within(int fd, unsigned ms)
{
	static char sink[64 * 1024];
	uint64_t end = now_ms() + ms;

	while (now_ms() <= end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10) > 0) {
			ssize_t got = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (got == 0)
				return 1;
			if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return 1;
		}
	}
	return 0;
}
