/*
 * tests/node/test_http_server.c — a real server on 127.0.0.1 and real
 * clients (libcurl, and raw sockets where the bytes matter): routing and
 * params, the JSON errors 404/405/500, HEAD, keep-alive across requests,
 * pipelined requests answered in order, Connection: close, HTTP/1.0,
 * max_requests_per_conn.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/node/http_harness.h"

/* ----------------------------------------------------------- handlers */

static int h_health(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)req;
	return node_http_respond(ex, 200, "application/json", "{\"ok\":true}", 11);
}

static int h_block(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	json_t *j = json_pack("{s:s}", "id", node_http_param(req, "id"));
	int rc;

	(void)ctx;
	if (j == NULL)
		return FL_ENOMEM;
	rc = node_http_respond_json(ex, 200, j);
	json_decref(j);
	return rc == FL_EIO ? FL_OK : rc;
}

static int h_round(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"r\":\"%s\"}",
			 node_http_param(req, "id"), node_http_param(req, "r"));

	(void)ctx;
	return node_http_respond(ex, 200, "application/json", body, (size_t)n);
}

static int h_tx(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	const char *type = node_http_header(req, "Content-Type");
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"len\":%zu,\"type\":\"%s\",\"first\":\"%c\"}",
			 req->body_len, type != NULL ? type : "",
			 req->body_len > 0 ? (char)req->body[0] : '-');

	(void)ctx;
	return node_http_respond(ex, 202, "application/json", body, (size_t)n);
}

static int h_validators(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	char height[16], body[64];
	int rc = node_http_query(req, "height", height, sizeof(height)), n;

	(void)ctx;
	if (rc == FL_ENOTFOUND)
		snprintf(height, sizeof(height), "latest");
	else if (rc != FL_OK)
		return node_http_respond_error(ex, 400, "bad_request", "height: not a number");
	n = snprintf(body, sizeof(body), "{\"height\":\"%s\"}", height);
	return node_http_respond(ex, 200, "application/json", body, (size_t)n);
}

static int h_fail(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)ex;
	(void)req;
	return FL_EDB;
}

static int h_silent(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)ex;
	(void)req;
	return FL_OK;
}

static const node_http_route routes[] = {
    {NODE_HTTP_GET, "/health", h_health, 0},
    {NODE_HTTP_GET, "/v1/blocks/{id}", h_block, 0},
    {NODE_HTTP_GET, "/v1/profiles/{id}/rounds/{r}", h_round, 0},
    {NODE_HTTP_POST, "/v1/txs", h_tx, 1024},
    {NODE_HTTP_GET, "/v1/validators", h_validators, 0},
    {NODE_HTTP_GET, "/fail", h_fail, 0},
    {NODE_HTTP_GET, "/silent", h_silent, 0},
};

/* ------------------------------------------------------------- curl */

typedef struct {
	char data[8192];
	size_t n;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	sink *s = arg;
	size_t n = size * nmemb;

	if (n > sizeof(s->data) - 1 - s->n)
		return 0;
	memcpy(s->data + s->n, p, n);
	s->n += n;
	s->data[s->n] = '\0';
	return n;
}

/* One request on c (connections reused across calls); the status. */
static long request(CURL *c, uint16_t port, const char *method, const char *path, const char *body,
		    sink *out)
{
	char url[256];
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	memset(out, 0, sizeof(*out));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s", method, path);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static hh_server srv;

static void start(void)
{
	node_http_config cfg;

	hh_config(&cfg);
	hh_start(&srv, &cfg, routes, FL_ARRAY_LEN(routes), NULL);
}

Test(http_server, routes_params_and_json_errors)
{
	CURL *c = curl_easy_init();
	sink out;

	start();
	cr_assert_eq(request(c, srv.port, "GET", "/health", NULL, &out), 200);
	cr_assert_str_eq(out.data, "{\"ok\":true}");
	cr_assert_eq(request(c, srv.port, "GET", "/v1/blocks/00ab%7E", NULL, &out), 200);
	cr_assert_str_eq(out.data, "{\"id\":\"00ab~\"}");
	cr_assert_eq(request(c, srv.port, "GET", "/v1/profiles/mnist/rounds/12", NULL, &out), 200);
	cr_assert_str_eq(out.data, "{\"id\":\"mnist\",\"r\":\"12\"}");
	cr_assert_eq(request(c, srv.port, "GET", "/v1/validators?height=7", NULL, &out), 200);
	cr_assert_str_eq(out.data, "{\"height\":\"7\"}");
	cr_assert_eq(request(c, srv.port, "GET", "/v1/validators", NULL, &out), 200);
	cr_assert_str_eq(out.data, "{\"height\":\"latest\"}");
	cr_assert_eq(request(c, srv.port, "POST", "/v1/txs", "{\"tx\":\"00\"}", &out), 202);
	cr_assert_str_eq(
	    out.data,
	    "{\"len\":11,\"type\":\"application/x-www-form-urlencoded\",\"first\":\"{\"}");

	cr_assert_eq(request(c, srv.port, "GET", "/nope", NULL, &out), 404);
	cr_assert_str_eq(
	    out.data,
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"no route for this path\"}}");
	cr_assert_eq(request(c, srv.port, "GET", "/v1/blocks/1/extra", NULL, &out), 404);
	cr_assert_eq(request(c, srv.port, "GET", "/v1/blocks/%zz", NULL, &out), 400);
	cr_assert_eq(request(c, srv.port, "DELETE", "/v1/txs", NULL, &out), 405);
	cr_assert(strstr(out.data, "\"code\":\"method_not_allowed\"") != NULL);
	cr_assert_eq(request(c, srv.port, "GET", "/fail", NULL, &out), 500);
	{
		char want[256];
		snprintf(want, sizeof(want),
			 "{\"error\":{\"code\":\"internal\",\"message\":\"%s\"}}",
			 fl_strerror(FL_EDB));
		cr_assert_str_eq(out.data, want);
	}
	cr_assert_eq(request(c, srv.port, "GET", "/silent", NULL, &out), 500);
	cr_assert(strstr(out.data, "the handler gave no answer") != NULL);
	/* Still serving after every error above. */
	cr_assert_eq(request(c, srv.port, "GET", "/health", NULL, &out), 200);
	curl_easy_cleanup(c);
	hh_stop(&srv);
}

Test(http_server, keep_alive_serves_many_on_one_connection)
{
	CURL *c = curl_easy_init();
	sink out;
	long connects = -1;

	start();
	for (int i = 0; i < 20; i++) {
		cr_assert_eq(request(c, srv.port, "GET", "/health", NULL, &out), 200);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
		cr_assert_eq(connects, i == 0 ? 1 : 0, "request %d opened a connection", i);
	}
	/* A 404 without a body keeps the connection too. */
	cr_assert_eq(request(c, srv.port, "GET", "/nope", NULL, &out), 404);
	cr_assert_eq(request(c, srv.port, "GET", "/health", NULL, &out), 200);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	cr_assert_eq(connects, 0);
	curl_easy_cleanup(c);
	cr_assert_eq(hh_stats(&srv).accepted, 1);
	cr_assert_eq(hh_stats(&srv).requests, 20 + 1);
	hh_stop(&srv);
}

Test(http_server, pipelined_requests_answered_in_order)
{
	hh_response r;
	int fd;

	start();
	fd = hh_connect(srv.port, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(hh_send(fd, "GET /v1/blocks/1 HTTP/1.1\r\nHost: x\r\n\r\n"
				 "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
				 "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
				 "GET /v1/blocks/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
				 "GET /v1/blocks/3 HTTP/1.1\r\nHost: x\r\n\r\n"),
		     0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"id\":\"1\"}");
	hh_response_free(&r);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 404);
	hh_response_free(&r);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 202);
	cr_assert_str_eq(r.body, "{\"len\":3,\"type\":\"\",\"first\":\"a\"}");
	hh_response_free(&r);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"id\":\"2\"}");
	cr_assert(strstr(r.head, "Connection: close\r\n") != NULL);
	hh_response_free(&r);
	/* Connection: close: the request after it is never answered. */
	cr_assert(hh_closed_within(fd, 3000));
	close(fd);
	hh_stop(&srv);
}

Test(http_server, head_405_allow_and_http10)
{
	hh_response r;
	char allow[64], len[16];
	int fd;

	start();
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "HEAD /v1/blocks/5 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 1), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(hh_header(&r, "Content-Length", len, sizeof(len)), 0);
	cr_assert_str_eq(len, "10"); /* the GET's length, without the body */
	hh_response_free(&r);
	cr_assert_eq(hh_send(fd, "PUT /v1/blocks/5 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 405);
	cr_assert_eq(hh_header(&r, "Allow", allow, sizeof(allow)), 0);
	cr_assert_str_eq(allow, "GET, HEAD");
	hh_response_free(&r);
	cr_assert_eq(hh_send(fd, "PATCH /v1/txs HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 405);
	cr_assert_eq(hh_header(&r, "Allow", allow, sizeof(allow)), 0);
	cr_assert_str_eq(allow, "POST");
	hh_response_free(&r);
	close(fd);

	/* HTTP/1.0 without keep-alive: answered, then closed. */
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "GET /health HTTP/1.0\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	hh_response_free(&r);
	cr_assert(hh_closed_within(fd, 3000));
	close(fd);
	/* HTTP/1.0 asking for keep-alive gets it, and is told so. */
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert(strstr(r.head, "Connection: keep-alive\r\n") != NULL);
	hh_response_free(&r);
	cr_assert_eq(hh_send(fd, "GET /health HTTP/1.0\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	hh_response_free(&r);
	close(fd);
	hh_stop(&srv);
}

Test(http_server, max_requests_per_connection)
{
	node_http_config cfg;
	hh_response r;
	int fd;

	hh_config(&cfg);
	cfg.max_requests_per_conn = 3;
	hh_start(&srv, &cfg, routes, FL_ARRAY_LEN(routes), NULL);
	fd = hh_connect(srv.port, 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(hh_send(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
		cr_assert_eq(hh_read_response(fd, &r, 0), 0);
		cr_assert_eq(r.status, 200);
		cr_assert_eq(strstr(r.head, "Connection: close") != NULL, i == 2);
		hh_response_free(&r);
	}
	cr_assert(hh_closed_within(fd, 3000));
	close(fd);
	hh_stop(&srv);
}

Test(http_server, init_refuses_bad_config_and_routes)
{
	node_http_server s;
	node_http_config cfg;
	uv_loop_t loop;
	node_http_route bad = {NODE_HTTP_GET, "/a/", h_health, 0};

	cr_assert_eq(uv_loop_init(&loop), 0);
	hh_config(&cfg);
	cr_assert_eq(node_http_init(&s, &loop, &cfg, &bad, 1, NULL), FL_EINVAL);
	cfg.max_connections = 0;
	cr_assert_eq(node_http_init(&s, &loop, &cfg, routes, 1, NULL), FL_EINVAL);
	hh_config(&cfg);
	cfg.request_timeout_ms = cfg.header_timeout_ms - 1;
	cr_assert_eq(node_http_init(&s, &loop, &cfg, routes, 1, NULL), FL_EINVAL);
	hh_config(&cfg);
	cfg.n_cors_origins = 1; /* an empty origin */
	cr_assert_eq(node_http_init(&s, &loop, &cfg, routes, 1, NULL), FL_EINVAL);
	/* A bad address is the start's error; the handle still closes. */
	hh_config(&cfg);
	snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:99999");
	cr_assert_eq(node_http_init(&s, &loop, &cfg, routes, 1, NULL), FL_OK);
	cr_assert_eq(node_http_start(&s), FL_EPARSE);
	node_http_close(&s, NULL);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(http_server, expect_100_continue)
{
	hh_response r;
	int fd;

	start();
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
				 "Expect: 100-continue\r\n\r\n"),
		     0);
	/* The go comes before any of the body is sent. */
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 100);
	hh_response_free(&r);
	cr_assert_eq(hh_send(fd, "abcd"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 202);
	cr_assert_str_eq(r.body, "{\"len\":4,\"type\":\"\",\"first\":\"a\"}");
	hh_response_free(&r);
	/* Over the cap: the refusal instead of the go. */
	cr_assert_eq(hh_send(fd, "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n"
				 "Expect: 100-continue\r\n\r\n"),
		     0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 413);
	hh_response_free(&r);
	close(fd);
	hh_stop(&srv);
}

Test(http_server, error_after_a_head_request_has_its_body)
{
	hh_response r;
	int fd;

	start();
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nBAD LINE\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 1), 0);
	cr_assert_eq(r.status, 200);
	hh_response_free(&r);
	/* The malformed request after it is not a HEAD: its error has a body. */
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "\"code\":\"bad_request\"") != NULL);
	hh_response_free(&r);
	close(fd);
	hh_stop(&srv);
}
