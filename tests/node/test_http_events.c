/*
 * tests/node/test_http_events.c — Server-Sent Events on real sockets:
 * subscribers get every event of their stream in order (and none of
 * another's), a subscriber that never reads is dropped at its backlog
 * while the others keep receiving, the subscriber cap, keep-alive
 * comments, a subscriber leaving, and what publish refuses.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/node/http_harness.h"

static int h_events(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)req;
	if (node_http_sse_start(ex, "events") == FL_OK)
		return FL_OK;
	return node_http_respond_error(ex, 503, "unavailable", "too many subscribers");
}

static const node_http_route routes[] = {
    {NODE_HTTP_GET, "/v1/events", h_events, 0},
};

static hh_server srv;

typedef struct {
	hh_server *h;
	const char *stream, *event;
	int first, count; /* data {"height":first…first+count-1} */
	size_t pad;       /* bytes of padding in each event's data */
	int rc;
} publish_call;

static void publish(void *arg)
{
	publish_call *p = arg;
	char *pad = calloc(1, p->pad + 1);

	memset(pad, 'p', p->pad);
	p->rc = FL_OK;
	for (int i = 0; i < p->count && p->rc == FL_OK; i++) {
		json_t *j = json_pack("{s:i,s:s}", "height", p->first + i, "pad", pad);
		p->rc = node_http_sse_publish(&p->h->server, p->stream, p->event, j);
		json_decref(j);
	}
	free(pad);
}

static int publish_n(const char *stream, const char *event, int first, int count, size_t pad)
{
	publish_call p = {&srv, stream, event, first, count, pad, 0};

	hh_call(&srv, publish, &p);
	return p.rc;
}

/* A subscriber: connected, its 200 text/event-stream head read. */
static int subscribe(int rcvbuf)
{
	hh_response r;
	int fd = hh_connect(srv.port, rcvbuf);

	cr_assert_geq(fd, 0);
	cr_assert_eq(hh_send(fd, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.head, "Content-Type: text/event-stream\r\n") != NULL);
	cr_assert(strstr(r.head, "Content-Length") == NULL);
	hh_response_free(&r);
	return fd;
}

/* The next event block (up to a blank line) into out; comments are
 * returned too. 0, or -1 when the connection ends or times out. */
static int next_block(int fd, char *out, size_t cap)
{
	size_t n = 0;

	while (n < cap - 1) {
		if (recv(fd, out + n, 1, 0) != 1)
			return -1;
		n++;
		out[n] = '\0';
		if (n >= 2 && out[n - 1] == '\n' && out[n - 2] == '\n')
			return 0;
	}
	return -1;
}

/* The next real event (comments skipped): its id and height. */
static int next_event(int fd, unsigned long long *id, int *height, char *event, size_t cap)
{
	static char block[8192];

	for (int i = 0; i < 100; i++) {
		if (next_block(fd, block, sizeof(block)) != 0)
			return -1;
		if (block[0] == ':')
			continue;
		if (sscanf(block, "id: %llu\nevent: %63[^\n]\ndata: {\"height\":%d,", id, event,
			   height) != 3)
			return -1;
		(void)cap;
		return 0;
	}
	return -1;
}

static int subscribers_are(hh_server *h, void *arg)
{
	node_http_stats st;

	node_http_get_stats(&h->server, &st);
	return st.subscribers == *(uint32_t *)arg;
}

static void start(void (*tweak)(node_http_config *))
{
	node_http_config cfg;

	hh_config(&cfg);
	if (tweak != NULL)
		tweak(&cfg);
	hh_start(&srv, &cfg, routes, FL_ARRAY_LEN(routes), NULL);
}

Test(http_events, subscribers_receive_events_in_order)
{
	uint32_t two = 2;
	int a, b;
	char event[64];

	start(NULL);
	a = subscribe(0);
	b = subscribe(0);
	cr_assert(hh_wait(&srv, subscribers_are, &two, 3000));
	/* Another stream's events never reach these subscribers. */
	cr_assert_eq(publish_n("rounds", "round", 100, 3, 0), FL_OK);
	cr_assert_eq(publish_n("events", "block", 1, 10, 0), FL_OK);
	cr_assert_eq(publish_n("events", "tx.result", 11, 1, 0), FL_OK);
	for (int s = 0; s < 2; s++) {
		int fd = s == 0 ? a : b;
		for (int i = 1; i <= 11; i++) {
			unsigned long long id;
			int height;
			cr_assert_eq(next_event(fd, &id, &height, event, sizeof(event)), 0);
			cr_assert_eq(id, (unsigned long long)i);
			cr_assert_eq(height, i);
			cr_assert_str_eq(event, i <= 10 ? "block" : "tx.result");
		}
	}
	close(a);
	close(b);
	hh_stop(&srv);
}

static void small_backlog(node_http_config *cfg)
{
	cfg->sse_max_backlog = 16 * 1024;
}

Test(http_events, slow_subscriber_dropped_others_keep_receiving)
{
	uint32_t two = 2, one = 1;
	int fast, slow, next = 1;
	char event[64];

	start(small_backlog);
	fast = subscribe(0);
	slow = subscribe(2048); /* and never read again */
	cr_assert(hh_wait(&srv, subscribers_are, &two, 3000));
	/* Batches of 16 events of 1 KiB; the fast one reads each batch whole
	 * before the next, the slow one reads nothing. The kernel's buffers
	 * fill first (a few MiB at most), then the slow one's backlog. */
	for (int batch = 0; batch < 1000 && hh_stats(&srv).sse_dropped == 0; batch++) {
		cr_assert_eq(publish_n("events", "block", next, 16, 1024), FL_OK);
		for (int i = 0; i < 16; i++, next++) {
			unsigned long long id;
			int height;
			cr_assert_eq(next_event(fast, &id, &height, event, sizeof(event)), 0);
			cr_assert_eq(height, next);
			cr_assert_eq(id, (unsigned long long)next);
		}
	}
	cr_assert_eq(hh_stats(&srv).sse_dropped, 1, "the slow subscriber was never dropped");
	cr_assert(hh_wait(&srv, subscribers_are, &one, 3000));
	/* The fast one goes on. */
	cr_assert_eq(publish_n("events", "block", next, 3, 10), FL_OK);
	for (int i = 0; i < 3; i++, next++) {
		unsigned long long id;
		int height;
		cr_assert_eq(next_event(fast, &id, &height, event, sizeof(event)), 0);
		cr_assert_eq(height, next);
	}
	cr_assert(hh_closed_within(slow, 5000));
	close(slow);
	close(fast);
	hh_stop(&srv);
}

static void one_subscriber_fast_keepalive(node_http_config *cfg)
{
	cfg->sse_max_subscribers = 1;
	cfg->sse_keepalive_ms = 50;
}

Test(http_events, subscriber_cap_keepalive_and_leaving)
{
	uint32_t zero = 0, one = 1;
	hh_response r;
	char block[256];
	int a, b;

	start(one_subscriber_fast_keepalive);
	a = subscribe(0);
	cr_assert(hh_wait(&srv, subscribers_are, &one, 3000));
	b = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(b, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(b, &r, 0), 0);
	cr_assert_eq(r.status, 503);
	hh_response_free(&r);
	close(b);
	/* Nothing published: a comment keeps the stream alive. */
	cr_assert_eq(next_block(a, block, sizeof(block)), 0);
	cr_assert_str_eq(block, ": keep-alive\n\n");
	close(a);
	cr_assert(hh_wait(&srv, subscribers_are, &zero, 3000));
	/* The slot is free again. */
	a = subscribe(0);
	close(a);
	hh_stop(&srv);
}

typedef struct {
	hh_server *h;
	int rc[4];
} refuse_call;

static void publish_bad(void *arg)
{
	refuse_call *c = arg;
	json_t *small = json_integer(1), *big;
	char *pad = calloc(1, 300 * 1024);

	memset(pad, 'x', 300 * 1024 - 1);
	big = json_string(pad);
	free(pad);
	c->rc[0] = node_http_sse_publish(&c->h->server, "Events", "block", small);
	c->rc[1] = node_http_sse_publish(&c->h->server, "events", "a\nb", small);
	c->rc[2] = node_http_sse_publish(&c->h->server, "events", "", small);
	/* Larger than any subscriber's backlog: refused, nobody dropped. */
	c->rc[3] = node_http_sse_publish(&c->h->server, "events", "block", big);
	json_decref(small);
	json_decref(big);
}

Test(http_events, publish_refuses_bad_names_and_oversized_events)
{
	uint32_t one = 1;
	refuse_call c = {.h = &srv};
	unsigned long long id;
	int height, a;
	char event[64];

	start(NULL);
	a = subscribe(0);
	cr_assert(hh_wait(&srv, subscribers_are, &one, 3000));
	hh_call(&srv, publish_bad, &c);
	cr_assert_eq(c.rc[0], FL_EINVAL);
	cr_assert_eq(c.rc[1], FL_EINVAL);
	cr_assert_eq(c.rc[2], FL_EINVAL);
	cr_assert_eq(c.rc[3], FL_ETOOBIG);
	cr_assert_eq(hh_stats(&srv).subscribers, 1);
	/* The refused event used id 1: the gap shows a client what it missed. */
	cr_assert_eq(publish_n("events", "block", 5, 1, 0), FL_OK);
	cr_assert_eq(next_event(a, &id, &height, event, sizeof(event)), 0);
	cr_assert_eq(id, 2);
	cr_assert_eq(height, 5);
	close(a);
	hh_stop(&srv);
}

Test(http_events, close_with_subscribers_and_events_in_flight)
{
	uint32_t two = 2;
	int a, b;

	start(small_backlog);
	a = subscribe(0);
	b = subscribe(2048);
	cr_assert(hh_wait(&srv, subscribers_are, &two, 3000));
	/* Neither reads: writes are queued when the server closes. */
	cr_assert_eq(publish_n("events", "block", 1, 8, 1024), FL_OK);
	hh_stop(&srv); /* every connection and queued write freed (ASan) */
	cr_assert(hh_closed_within(a, 3000));
	cr_assert(hh_closed_within(b, 3000));
	close(a);
	close(b);
}
