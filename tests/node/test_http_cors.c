/*
 * tests/node/test_http_cors.c — CORS as configured: the allowed origin is
 * echoed on answers (errors and event streams included) and nothing is
 * said to any other origin; OPTIONS preflights answered with the path's
 * methods; "*" allows any origin.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/node/http_harness.h"

#define EXPLORER "http://127.0.0.1:8080"

static int h_ok(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)req;
	return node_http_respond(ex, 200, "application/json", "{}", 2);
}

static int h_events(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)req;
	if (node_http_sse_start(ex, "events") == FL_OK)
		return FL_OK;
	return node_http_respond_error(ex, 503, "unavailable", "too many subscribers");
}

static const node_http_route routes[] = {
    {NODE_HTTP_GET, "/status", h_ok, 0},
    {NODE_HTTP_POST, "/v1/txs", h_ok, 1024},
    {NODE_HTTP_GET, "/v1/txs", h_ok, 0},
    {NODE_HTTP_GET, "/v1/events", h_events, 0},
};

static hh_server srv;

static void start(const char *origin)
{
	node_http_config cfg;

	hh_config(&cfg);
	snprintf(cfg.cors_origins[0], sizeof(cfg.cors_origins[0]), "%s", origin);
	snprintf(cfg.cors_origins[1], sizeof(cfg.cors_origins[1]), "https://other.example");
	cfg.n_cors_origins = 2;
	hh_start(&srv, &cfg, routes, FL_ARRAY_LEN(routes), NULL);
}

/* One request on a fresh connection; the response (free it). */
static void ask(const char *req, hh_response *r)
{
	int fd = hh_connect(srv.port, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(hh_send(fd, req), 0);
	cr_assert_eq(hh_read_response(fd, r, 0), 0);
	close(fd);
}

static int has(const hh_response *r, const char *name, const char *want)
{
	char v[256];

	if (hh_header(r, name, v, sizeof(v)) != 0)
		return want == NULL;
	return want != NULL && strcmp(v, want) == 0;
}

Test(http_cors, allowed_origin_only)
{
	hh_response r;

	start(EXPLORER);
	ask("GET /status HTTP/1.1\r\nHost: x\r\nOrigin: " EXPLORER "\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(has(&r, "Access-Control-Allow-Origin", EXPLORER));
	cr_assert(has(&r, "Vary", "Origin"));
	hh_response_free(&r);
	/* An error's JSON is readable by the explorer too. */
	ask("GET /nope HTTP/1.1\r\nHost: x\r\nOrigin: " EXPLORER "\r\n\r\n", &r);
	cr_assert_eq(r.status, 404);
	cr_assert(has(&r, "Access-Control-Allow-Origin", EXPLORER));
	hh_response_free(&r);
	ask("GET /status HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(has(&r, "Access-Control-Allow-Origin", NULL));
	hh_response_free(&r);
	/* A prefix of an allowed origin is another origin. */
	ask("GET /status HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1:808\r\n\r\n", &r);
	cr_assert(has(&r, "Access-Control-Allow-Origin", NULL));
	hh_response_free(&r);
	ask("GET /status HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	cr_assert(has(&r, "Access-Control-Allow-Origin", NULL));
	hh_response_free(&r);
	hh_stop(&srv);
}

Test(http_cors, preflight)
{
	hh_response r;

	start(EXPLORER);
	ask("OPTIONS /v1/txs HTTP/1.1\r\nHost: x\r\nOrigin: " EXPLORER
	    "\r\nAccess-Control-Request-Method: POST\r\n"
	    "Access-Control-Request-Headers: content-type\r\n\r\n",
	    &r);
	cr_assert_eq(r.status, 204);
	cr_assert(has(&r, "Access-Control-Allow-Origin", EXPLORER));
	cr_assert(has(&r, "Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"));
	cr_assert(has(&r, "Access-Control-Allow-Headers", "Content-Type, Last-Event-ID"));
	cr_assert(has(&r, "Access-Control-Max-Age", "600"));
	cr_assert(has(&r, "Allow", "GET, HEAD, POST, OPTIONS"));
	cr_assert(has(&r, "Content-Length", NULL));
	hh_response_free(&r);
	/* Another origin learns the methods (Allow) and no permission. */
	ask("OPTIONS /v1/txs HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n"
	    "Access-Control-Request-Method: POST\r\n\r\n",
	    &r);
	cr_assert_eq(r.status, 204);
	cr_assert(has(&r, "Access-Control-Allow-Origin", NULL));
	cr_assert(has(&r, "Access-Control-Allow-Methods", NULL));
	hh_response_free(&r);
	ask("OPTIONS /nope HTTP/1.1\r\nHost: x\r\nOrigin: " EXPLORER "\r\n\r\n", &r);
	cr_assert_eq(r.status, 404);
	hh_response_free(&r);
	hh_stop(&srv);
}

Test(http_cors, any_origin_and_event_streams)
{
	hh_response r;
	int fd;

	start("*");
	ask("GET /status HTTP/1.1\r\nHost: x\r\nOrigin: http://anything.example\r\n\r\n", &r);
	cr_assert(has(&r, "Access-Control-Allow-Origin", "*"));
	hh_response_free(&r);
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(
	    hh_send(fd, "GET /v1/events HTTP/1.1\r\nHost: x\r\nOrigin: http://a.example\r\n\r\n"),
	    0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(has(&r, "Access-Control-Allow-Origin", "*"));
	cr_assert(has(&r, "Cache-Control", "no-cache"));
	hh_response_free(&r);
	close(fd);
	hh_stop(&srv);
}
