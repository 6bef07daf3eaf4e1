/*
 * tests/node/test_http_limits.c — what a hostile client can do to the
 * server, on real sockets: an oversized body refused 413 before it is
 * sent, malformed bytes answered 400 while the next connection is served,
 * a slowloris client (one byte at a time) and a stalled body cut at their
 * deadlines, an idle connection closed, the connection limit, the head,
 * target and framing caps, and a client that never reads a large answer.
 * Times are short in the config; no assertion is on how long anything took.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/node/http_harness.h"

static int h_ok(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "{\"len\":%zu}", req->body_len);

	(void)ctx;
	return node_http_respond(ex, 200, "application/json", body, (size_t)n);
}

#define BIG_ANSWER (16 * 1024 * 1024)

static int h_big(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	char *body = calloc(1, BIG_ANSWER);
	int rc;

	(void)ctx;
	(void)req;
	if (body == NULL)
		return FL_ENOMEM;
	rc = node_http_respond(ex, 200, "application/octet-stream", body, BIG_ANSWER);
	free(body);
	return rc;
}

static const node_http_route routes[] = {
    {NODE_HTTP_GET, "/health", h_ok, 0},
    {NODE_HTTP_POST, "/v1/txs", h_ok, 1024},
    {NODE_HTTP_GET, "/big", h_big, 0},
};

static hh_server srv;

static void start_with(void (*tweak)(node_http_config *))
{
	node_http_config cfg;

	hh_config(&cfg);
	if (tweak != NULL)
		tweak(&cfg);
	hh_start(&srv, &cfg, routes, FL_ARRAY_LEN(routes), NULL);
}

/* One GET /health on a fresh connection: its status (0 = not served). */
static int health(void)
{
	hh_response r;
	int fd = hh_connect(srv.port, 0), status = 0;

	if (fd < 0)
		return 0;
	if (hh_send(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n") == 0 &&
	    hh_read_response(fd, &r, 0) == 0)
		status = r.status;
	hh_response_free(&r);
	close(fd);
	return status;
}

/* Sends s on a fresh connection and reads the answer: its status, and the
 * error code found in the body into code. */
static int exchange(const char *s, char *code, size_t cap)
{
	hh_response r;
	int fd = hh_connect(srv.port, 0), status = 0;
	const char *c;

	cr_assert_geq(fd, 0);
	code[0] = '\0';
	if (hh_send(fd, s) == 0 && hh_read_response(fd, &r, 0) == 0) {
		status = r.status;
		c = strstr(r.body, "\"code\":\"");
		if (c != NULL)
			snprintf(code, cap, "%.*s", (int)strcspn(c + 8, "\""), c + 8);
		cr_assert(strstr(r.head, "Content-Type: application/json\r\n") != NULL);
	}
	hh_response_free(&r);
	/* Every error answer here ends its connection. */
	cr_assert(hh_closed_within(fd, 3000));
	close(fd);
	return status;
}

Test(http_limits, body_over_cap_refused_before_it_is_sent)
{
	hh_response r;
	int fd;

	start_with(NULL);
	fd = hh_connect(srv.port, 0);
	/* The body never comes: the answer must not wait for it. */
	cr_assert_eq(
	    hh_send(fd, "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 413);
	cr_assert(strstr(r.body, "\"code\":\"payload_too_large\"") != NULL);
	cr_assert(strstr(r.head, "Connection: close\r\n") != NULL);
	hh_response_free(&r);
	close(fd);

	/* A client already sending its body still reads the 413. */
	fd = hh_connect(srv.port, 0);
	{
		char chunk[4096];
		memset(chunk, 'x', sizeof(chunk) - 1);
		chunk[sizeof(chunk) - 1] = '\0';
		cr_assert_eq(hh_send(fd, "POST /v1/txs HTTP/1.1\r\nHost: x\r\n"
					 "Content-Length: 40950\r\n\r\n"),
			     0);
		for (int i = 0; i < 10; i++)
			(void)hh_send(fd, chunk);
	}
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 413);
	hh_response_free(&r);
	close(fd);
	/* A body within the cap is read. */
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(
	    hh_send(fd, "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"len\":4}");
	hh_response_free(&r);
	close(fd);
	/* A body on a route that takes none. */
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n"),
		     0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 413);
	hh_response_free(&r);
	close(fd);
	hh_stop(&srv);
}

Test(http_limits, malformed_requests_400_and_the_server_keeps_serving)
{
	static const char *const bad[] = {
	    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
	    "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
	    "GET /health HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	    "GET\x00/ HTTP/1.1\r\n\r\n",
	    "GET relative HTTP/1.1\r\n\r\n",
	};
	char code[32];

	start_with(NULL);
	for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
		char msg[64];
		size_t n = i == 3 ? 18 : strlen(bad[i]); /* case 3 holds a NUL */
		int fd = hh_connect(srv.port, 0);
		hh_response r;

		memcpy(msg, bad[i], n);
		msg[n] = '\0';
		cr_assert_eq(send(fd, msg, n, 0), (ssize_t)n);
		cr_assert_eq(hh_read_response(fd, &r, 0), 0, "case %zu", i);
		cr_assert_eq(r.status, 400, "case %zu: %d", i, r.status);
		cr_assert(strstr(r.body, "\"code\":\"bad_request\"") != NULL);
		hh_response_free(&r);
		cr_assert(hh_closed_within(fd, 3000));
		close(fd);
		cr_assert_eq(health(), 200, "after case %zu", i);
	}
	cr_assert_eq(exchange("POST /v1/txs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", code,
			      sizeof(code)),
		     411);
	cr_assert_str_eq(code, "length_required");
	cr_assert_eq(exchange("GET /health HTTP/3.0\r\n\r\n", code, sizeof(code)), 505);
	cr_assert_eq(health(), 200);
	hh_stop(&srv);
}

static void small_head(node_http_config *cfg)
{
	cfg->max_header_bytes = 1024;
	cfg->max_url_bytes = 256;
	cfg->max_headers = 8;
}

Test(http_limits, head_target_and_header_count_caps)
{
	char req[4096], code[32];
	size_t n;

	start_with(small_head);
	n = (size_t)snprintf(req, sizeof(req), "GET /");
	memset(req + n, 'a', 300);
	snprintf(req + n + 300, sizeof(req) - n - 300, " HTTP/1.1\r\n\r\n");
	cr_assert_eq(exchange(req, code, sizeof(code)), 414);
	cr_assert_str_eq(code, "uri_too_long");

	n = (size_t)snprintf(req, sizeof(req), "GET /health HTTP/1.1\r\nX-Big: ");
	memset(req + n, 'b', 2000);
	snprintf(req + n + 2000, sizeof(req) - n - 2000, "\r\n\r\n");
	cr_assert_eq(exchange(req, code, sizeof(code)), 431);
	cr_assert_str_eq(code, "headers_too_large");

	n = (size_t)snprintf(req, sizeof(req), "GET /health HTTP/1.1\r\n");
	for (int i = 0; i < 9; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "X-%d: v\r\n", i);
	snprintf(req + n, sizeof(req) - n, "\r\n");
	cr_assert_eq(exchange(req, code, sizeof(code)), 431);
	cr_assert_eq(health(), 200);
	hh_stop(&srv);
}

static void short_times(node_http_config *cfg)
{
	cfg->header_timeout_ms = 300;
	cfg->request_timeout_ms = 600;
	cfg->idle_timeout_ms = 300;
	cfg->write_timeout_ms = 500;
}

Test(http_limits, slowloris_cut_at_the_head_deadline)
{
	const char *slow = "GET /health HTTP/1.1\r\nX-Slow: ";
	int fd, cut = 0;

	start_with(short_times);
	fd = hh_connect(srv.port, 0);
	/* One byte every 20 ms, forever (bounded at 500 bytes, ten seconds):
	 * each byte is progress, and none of it may extend the deadline. */
	for (int i = 0; i < 500 && !cut; i++) {
		char b[2] = {i < (int)strlen(slow) ? slow[i] : 'z', '\0'};
		if (hh_send(fd, b) != 0)
			cut = 1;
		else
			usleep(20 * 1000);
		if (!cut && i % 10 == 9) {
			char sink[512];
			ssize_t got = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (got > 0) {
				sink[got < 511 ? got : 511] = '\0';
				cr_assert(strstr(sink, "408") != NULL, "%s", sink);
				cut = 1;
			} else if (got == 0) {
				cut = 1;
			}
		}
	}
	cr_assert(cut, "a one-byte-at-a-time client was never cut off");
	cr_assert(hh_closed_within(fd, 3000));
	close(fd);
	cr_assert_geq(hh_stats(&srv).timeouts, 1);
	cr_assert_eq(health(), 200);
	hh_stop(&srv);
}

Test(http_limits, stalled_body_and_idle_connection_cut)
{
	hh_response r;
	int fd;

	start_with(short_times);
	/* A whole head, then half a body, then nothing. */
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(
	    hh_send(fd, "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcde"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 408);
	cr_assert(strstr(r.body, "\"code\":\"request_timeout\"") != NULL);
	hh_response_free(&r);
	cr_assert(hh_closed_within(fd, 3000));
	close(fd);
	/* A connection that never says anything is closed without a word. */
	fd = hh_connect(srv.port, 0);
	cr_assert(hh_closed_within(fd, 4000));
	close(fd);
	/* And a kept connection idle after its answer. */
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	hh_response_free(&r);
	cr_assert(hh_closed_within(fd, 4000));
	close(fd);
	hh_stop(&srv);
}

static void two_connections(node_http_config *cfg)
{
	cfg->max_connections = 2;
}

static int connections_at_most(hh_server *h, void *arg)
{
	node_http_stats st;

	node_http_get_stats(&h->server, &st);
	return st.connections <= *(uint32_t *)arg;
}

Test(http_limits, connection_limit)
{
	hh_response r;
	uint32_t one = 1;
	int a, b, c;

	start_with(two_connections);
	a = hh_connect(srv.port, 0);
	b = hh_connect(srv.port, 0);
	cr_assert(a >= 0 && b >= 0);
	/* Both are held before the third comes. */
	cr_assert_eq(hh_send(a, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(a, &r, 0), 0);
	hh_response_free(&r);
	cr_assert_eq(hh_send(b, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(b, &r, 0), 0);
	hh_response_free(&r);
	c = hh_connect(srv.port, 0);
	cr_assert_geq(c, 0);
	/* The third is told 503 and closed, never served (it sends nothing,
	 * so the close cannot reset the answer away). */
	cr_assert_eq(hh_read_response(c, &r, 0), 0);
	cr_assert_eq(r.status, 503);
	cr_assert(strstr(r.body, "\"code\":\"unavailable\"") != NULL);
	hh_response_free(&r);
	cr_assert(hh_closed_within(c, 3000));
	close(c);
	cr_assert_geq(hh_stats(&srv).refused_full, 1);
	cr_assert_eq(hh_stats(&srv).connections, 2);
	/* One leaves: its slot serves a newcomer. */
	close(a);
	cr_assert(hh_wait(&srv, connections_at_most, &one, 3000));
	cr_assert_eq(health(), 200);
	close(b);
	hh_stop(&srv);
}

/* The connection was accepted and is gone. */
static int served_and_gone(hh_server *h, void *arg)
{
	node_http_stats st;

	(void)arg;
	node_http_get_stats(&h->server, &st);
	return st.accepted >= 1 && st.connections == 0;
}

Test(http_limits, client_that_never_reads_is_dropped)
{
	int fd;

	start_with(short_times);
	/* A small receive buffer and no reads: the 16 MiB answer cannot
	 * leave the server's queue, and the write deadline drops the client. */
	fd = hh_connect(srv.port, 4096);
	cr_assert_eq(hh_send(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert(hh_wait(&srv, served_and_gone, NULL, 5000),
		  "the stalled client is still connected");
	cr_assert_geq(hh_stats(&srv).timeouts, 1);
	close(fd);
	cr_assert_eq(health(), 200);
	hh_stop(&srv);
}

static void fail_allocations(void *arg)
{
	(void)fl_alloc_fail_after(*(unsigned long *)arg);
}

Test(http_limits, out_of_memory_at_accept_answers_503_and_listens_on)
{
	unsigned long first = 1, off = 0;
	hh_response r;
	int fd;

	start_with(NULL);
	/* Only the loop thread allocates through fl_malloc here. */
	hh_call(&srv, fail_allocations, &first);
	fd = hh_connect(srv.port, 0);
	cr_assert_geq(fd, 0);
	/* The client sent nothing, so the close cannot reset the answer. */
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 503);
	hh_response_free(&r);
	cr_assert(hh_closed_within(fd, 3000));
	close(fd);
	hh_call(&srv, fail_allocations, &off);
	/* libuv stops listening until a pending socket is accepted: it was. */
	cr_assert_eq(health(), 200);
	hh_stop(&srv);
}
