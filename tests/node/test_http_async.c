/*
 * tests/node/test_http_async.c — handlers that answer later: the answer
 * reaches a client that waited, a client gone meanwhile makes the exchange
 * cancelled and its late answer a harmless FL_EIO, and the server's close
 * waits for every deferred exchange (ASan checks nothing leaks).
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "tests/node/http_harness.h"

/* Loop-thread state: the exchange the handler kept. */
static node_http_exchange *held;
static int late_rc;

static int h_defer(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)req;
	node_http_defer(ex);
	held = ex;
	return FL_OK;
}

static int h_health(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)req;
	return node_http_respond(ex, 200, "application/json", "{}", 2);
}

static const node_http_route routes[] = {
    {NODE_HTTP_GET, "/slow", h_defer, 0},
    {NODE_HTTP_GET, "/health", h_health, 0},
};

static hh_server srv;

static int is_held(hh_server *h, void *arg)
{
	(void)h;
	(void)arg;
	return held != NULL;
}

static int held_cancelled(hh_server *h, void *arg)
{
	(void)h;
	(void)arg;
	return held != NULL && node_http_cancelled(held);
}

static void answer_held(void *arg)
{
	(void)arg;
	late_rc = node_http_respond(held, 200, "application/json", "{\"late\":true}", 13);
	held = NULL;
}

static void start(void)
{
	node_http_config cfg;

	held = NULL;
	late_rc = 1;
	hh_config(&cfg);
	hh_start(&srv, &cfg, routes, FL_ARRAY_LEN(routes), NULL);
}

Test(http_async, answer_after_the_handler_returned)
{
	hh_response r;
	int fd;

	start();
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
				 "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
		     0);
	cr_assert(hh_wait(&srv, is_held, NULL, 3000));
	cr_assert_not(hh_wait(&srv, held_cancelled, NULL, 0)); /* evaluated once, on the loop */
	hh_call(&srv, answer_held, NULL);
	cr_assert_eq(late_rc, FL_OK);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"late\":true}");
	hh_response_free(&r);
	/* The request pipelined behind it waited its turn. */
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_str_eq(r.body, "{}");
	hh_response_free(&r);
	close(fd);
	hh_stop(&srv);
}

static int no_connections(hh_server *h, void *arg)
{
	node_http_stats st;

	(void)arg;
	node_http_get_stats(&h->server, &st);
	return st.connections == 0;
}

Test(http_async, client_gone_before_the_answer)
{
	hh_response r;
	int fd;

	start();
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert(hh_wait(&srv, is_held, NULL, 3000));
	close(fd);
	cr_assert(hh_wait(&srv, held_cancelled, NULL, 3000));
	cr_assert(hh_wait(&srv, no_connections, NULL, 3000));
	hh_call(&srv, answer_held, NULL);
	cr_assert_eq(late_rc, FL_EIO);
	/* Serving as before. */
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	hh_response_free(&r);
	close(fd);
	hh_stop(&srv);
}

static int closed_flag;

static void on_closed(node_http_server *s)
{
	(void)s;
	closed_flag = 1;
	uv_close((uv_handle_t *)&srv.wake, NULL);
}

static void begin_close(void *arg)
{
	(void)arg;
	node_http_close(&srv.server, on_closed);
}

static int closed_is(hh_server *h, void *arg)
{
	(void)h;
	return closed_flag == *(int *)arg;
}

Test(http_async, close_waits_for_deferred_exchanges)
{
	int fd, zero = 0;

	start();
	closed_flag = 0;
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert(hh_wait(&srv, is_held, NULL, 3000));
	hh_call(&srv, begin_close, NULL);
	/* Sockets closed, the exchange cancelled, the server not yet freed. */
	cr_assert(hh_closed_within(fd, 3000));
	cr_assert(hh_wait(&srv, held_cancelled, NULL, 3000));
	cr_assert(hh_wait(&srv, closed_is, &zero, 100));
	hh_call(&srv, answer_held, NULL);
	cr_assert_eq(late_rc, FL_EIO);
	/* The last answer let the close finish: the loop ends by itself. */
	pthread_join(srv.thread, NULL);
	cr_assert_eq(closed_flag, 1);
	cr_assert_eq(uv_loop_close(&srv.loop), 0);
	close(fd);
}
