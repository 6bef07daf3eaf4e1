/*
 * tests/node/test_http_parse.c — the request parser and the router with no
 * sockets (node/http_internal.h): a request whole, in pieces, pipelined;
 * every cap refusing with its status before the bytes it guards are
 * stored; framing the server does not accept; {param} matching, 404/405
 * and the Allow set; query decoding.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "node/http_internal.h"

static const node__http_limits limits = {
    .max_header_bytes = 1024, .max_url_bytes = 128, .max_headers = 8};

/* The head callback: every path takes bodies up to its max (arg). */
static int cap_body(void *arg, node__http_parser *p)
{
	p->max_body = *(size_t *)arg;
	return 0;
}

static size_t body_cap = 64;

static void parser_new(node__http_parser *p)
{
	cr_assert_eq(node__http_parser_init(p, &limits, cap_body, &body_cap), FL_OK);
}

static node__http_feed feed_str(node__http_parser *p, const char *s, size_t *used)
{
	return node__http_parser_feed(p, (const uint8_t *)s, strlen(s), used);
}

Test(http_parse, one_request_whole)
{
	static const char req[] = "POST /v1/txs?x=1&y=%41 HTTP/1.1\r\nHost: a\r\n"
				  "Content-Type: application/json\r\nX-Empty:\r\n"
				  "Content-Length: 5\r\n\r\nhello";
	node__http_parser p;
	size_t used;

	parser_new(&p);
	cr_assert_eq(feed_str(&p, req, &used), NODE__HTTP_DONE);
	cr_assert_eq(used, strlen(req));
	cr_assert_eq(p.method, NODE_HTTP_POST);
	cr_assert_str_eq(p.path, "/v1/txs");
	cr_assert_str_eq(p.query, "x=1&y=%41");
	cr_assert_str_eq(node__http_parser_header(&p, "content-type"), "application/json");
	cr_assert_str_eq(node__http_parser_header(&p, "HOST"), "a");
	cr_assert_str_eq(node__http_parser_header(&p, "X-Empty"), "");
	cr_assert_null(node__http_parser_header(&p, "Origin"));
	cr_assert_eq(p.body_len, 5);
	cr_assert_eq(memcmp(p.body, "hello", 5), 0);
	cr_assert(p.keep_alive);
	node__http_parser_free(&p);
}

Test(http_parse, byte_at_a_time_same_request)
{
	static const char req[] = "GET /a/b?q HTTP/1.0\r\nX-One: 1\r\nX-Two: two words\r\n\r\n";
	node__http_parser p;
	node__http_feed r = NODE__HTTP_MORE;
	size_t used, i;

	parser_new(&p);
	for (i = 0; i < strlen(req) && r == NODE__HTTP_MORE; i++) {
		r = node__http_parser_feed(&p, (const uint8_t *)req + i, 1, &used);
		cr_assert_eq(used, 1);
	}
	cr_assert_eq(r, NODE__HTTP_DONE);
	cr_assert_eq(i, strlen(req));
	cr_assert_str_eq(p.path, "/a/b");
	cr_assert_str_eq(p.query, "q");
	cr_assert_str_eq(node__http_parser_header(&p, "x-two"), "two words");
	cr_assert(p.http10);
	cr_assert_not(p.keep_alive); /* HTTP/1.0 without keep-alive */
	node__http_parser_free(&p);
}

Test(http_parse, pipelined_requests_one_at_a_time)
{
	static const char two[] =
	    "GET /one HTTP/1.1\r\n\r\n"
	    "POST /two HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
	    "GET /three";
	node__http_parser p;
	size_t used, off;

	parser_new(&p);
	cr_assert_eq(feed_str(&p, two, &used), NODE__HTTP_DONE);
	cr_assert_str_eq(p.path, "/one");
	cr_assert(p.keep_alive);
	off = used;
	node__http_parser_next(&p);
	cr_assert_eq(feed_str(&p, two + off, &used), NODE__HTTP_DONE);
	cr_assert_str_eq(p.path, "/two");
	cr_assert_eq(p.body_len, 3);
	cr_assert_not(p.keep_alive);
	off += used;
	node__http_parser_next(&p);
	cr_assert_eq(feed_str(&p, two + off, &used), NODE__HTTP_MORE);
	cr_assert_eq(off + used, strlen(two));
	node__http_parser_free(&p);
}

/* Feeds s and expects an error with this status. */
static void refused(const char *s, int status, const char *code)
{
	node__http_parser p;
	size_t used;

	parser_new(&p);
	cr_assert_eq(feed_str(&p, s, &used), NODE__HTTP_ERROR, "%s", s);
	cr_assert_eq(p.status, status, "%s: %d", s, p.status);
	cr_assert_str_eq(p.code, code);
	cr_assert(strlen(p.message) > 0);
	/* An error is final: more bytes change nothing. */
	cr_assert_eq(feed_str(&p, "GET / HTTP/1.1\r\n\r\n", &used), NODE__HTTP_ERROR);
	cr_assert_eq(used, 0);
	node__http_parser_free(&p);
}

Test(http_parse, malformed_requests_are_400)
{
	refused("\x01\x02garbage\r\n\r\n", 400, "bad_request");
	refused("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400, "bad_request");
	refused("GET http://example.com/ HTTP/1.1\r\n\r\n", 400, "bad_request");
	refused("OPTIONS * HTTP/1.1\r\n\r\n", 400, "bad_request");
	refused("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
		"bad_request");
	refused("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad_request");
}

Test(http_parse, caps_and_framing)
{
	char big[2048];

	/* Target over max_url_bytes. */
	memset(big, 0, sizeof(big));
	strcpy(big, "GET /");
	memset(big + 5, 'a', 200);
	strcat(big, " HTTP/1.1\r\n\r\n");
	refused(big, 414, "uri_too_long");
	/* Head over max_header_bytes, in one header. */
	memset(big, 0, sizeof(big));
	strcpy(big, "GET / HTTP/1.1\r\nX-Big: ");
	memset(big + strlen(big), 'b', 1100);
	refused(big, 431, "headers_too_large");
	/* Whitespace counts too: raw bytes are what a client makes us read. */
	memset(big, 0, sizeof(big));
	strcpy(big, "GET / HTTP/1.1\r\nX-Pad:");
	memset(big + strlen(big), ' ', 1100);
	refused(big, 431, "headers_too_large");
	/* Too many header lines. */
	refused("GET / HTTP/1.1\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\nf: 1\r\ng: 1\r\n"
		"h: 1\r\ni: 1\r\n\r\n",
		431, "headers_too_large");
	/* A body over the route's cap is refused at the head. */
	refused("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413, "payload_too_large");
	refused("POST / HTTP/1.1\r\nContent-Length: 99999999999999999\r\n\r\n", 413,
		"payload_too_large");
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411,
		"length_required");
	refused("GET / HTTP/2.0\r\n\r\n", 505, "version_not_supported");
}

Test(http_parse, body_refused_before_it_is_stored)
{
	static const char head[] = "POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n";
	node__http_parser p;
	size_t used;

	parser_new(&p);
	cr_assert_eq(feed_str(&p, head, &used), NODE__HTTP_ERROR);
	cr_assert_eq(p.status, 413);
	cr_assert_null(p.body);
	node__http_parser_free(&p);
}

Test(http_parse, body_exactly_at_cap)
{
	char req[256];
	node__http_parser p;
	size_t used;
	int n = snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nContent-Length: 64\r\n\r\n");

	memset(req + n, 'z', 64);
	req[n + 64] = '\0';
	parser_new(&p);
	cr_assert_eq(feed_str(&p, req, &used), NODE__HTTP_DONE);
	cr_assert_eq(p.body_len, 64);
	cr_assert_leq(p.body_cap, 64);
	node__http_parser_free(&p);
}

/* A head callback that refuses like the router does. */
static int reject_all(void *arg, node__http_parser *p)
{
	(void)arg;
	node__http_parser_reject(p, 404, "not_found", "no route for this path");
	return 0;
}

Test(http_parse, reject_without_body_keeps_the_connection)
{
	node__http_parser p;
	size_t used;

	cr_assert_eq(node__http_parser_init(&p, &limits, reject_all, NULL), FL_OK);
	cr_assert_eq(feed_str(&p, "GET /nope HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n", &used),
		     NODE__HTTP_DONE);
	cr_assert_eq(p.reject_status, 404);
	cr_assert_eq(p.status, 0);
	node__http_parser_next(&p);
	cr_assert_eq(p.reject_status, 0);
	node__http_parser_free(&p);

	/* With a body the reject is final. */
	cr_assert_eq(node__http_parser_init(&p, &limits, reject_all, NULL), FL_OK);
	cr_assert_eq(feed_str(&p, "POST /nope HTTP/1.1\r\nContent-Length: 2\r\n\r\nab", &used),
		     NODE__HTTP_ERROR);
	cr_assert_eq(p.status, 404);
	node__http_parser_free(&p);
}

/* ------------------------------------------------------------ routing */

static int nop(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	(void)ctx;
	(void)ex;
	(void)req;
	return FL_OK;
}

static const node_http_route routes[] = {
    {NODE_HTTP_GET, "/health", nop, 0},
    {NODE_HTTP_GET, "/v1/blocks/{id}", nop, 0},
    {NODE_HTTP_POST, "/v1/txs", nop, 1024},
    {NODE_HTTP_GET, "/v1/profiles/{id}/rounds/{r}", nop, 0},
    {NODE_HTTP_DELETE, "/v1/blocks/{id}", nop, 0},
    {NODE_HTTP_GET, "/", nop, 0},
};

Test(http_route, patterns_checked)
{
	static const char *const bad[] = {"",
					  "x",
					  "//",
					  "/a/",
					  "/a//b",
					  "/{}",
					  "/{a",
					  "/a}",
					  "/{a}{b}",
					  "/a b",
					  "/{a}/{b}/{c}/{d}/{e}",
					  "/a?b"};
	cr_assert_eq(node__http_routes_check(routes, FL_ARRAY_LEN(routes)), FL_OK);
	for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
		node_http_route r = {NODE_HTTP_GET, bad[i], nop, 0};
		cr_assert_eq(node__http_routes_check(&r, 1), FL_EINVAL, "%s", bad[i]);
	}
	node_http_route opt = {NODE_HTTP_OPTIONS, "/a", nop, 0};
	cr_assert_eq(node__http_routes_check(&opt, 1), FL_EINVAL);
	node_http_route nohandler = {NODE_HTTP_GET, "/a", NULL, 0};
	cr_assert_eq(node__http_routes_check(&nohandler, 1), FL_EINVAL);
}

static int match(node_http_method m, const char *path, node__http_match *out)
{
	static char scratch[256];
	return node__http_route_match(routes, FL_ARRAY_LEN(routes), m, path, scratch, out);
}

Test(http_route, params_and_methods)
{
	node__http_match m;
	char allow[64];

	cr_assert_eq(match(NODE_HTTP_GET, "/v1/profiles/mnist%2Dx/rounds/7", &m), FL_OK);
	cr_assert_eq(m.route, &routes[3]);
	cr_assert_eq(m.n_params, 2);
	cr_assert_eq(m.params[0].name_len, 2);
	cr_assert_eq(strncmp(m.params[0].name, "id", 2), 0);
	cr_assert_str_eq(m.params[0].value, "mnist-x");
	cr_assert_str_eq(m.params[1].value, "7");

	cr_assert_eq(match(NODE_HTTP_DELETE, "/v1/blocks/9", &m), FL_OK);
	cr_assert_eq(m.route, &routes[4]);
	cr_assert_eq(match(NODE_HTTP_HEAD, "/v1/blocks/9", &m), FL_OK);
	cr_assert_eq(m.route, &routes[1]); /* HEAD served by GET */
	cr_assert_eq(match(NODE_HTTP_POST, "/v1/blocks/9", &m), FL_OK);
	cr_assert_null(m.route);
	node__http_allow_string(allow, sizeof(allow), m.allow);
	cr_assert_str_eq(allow, "GET, HEAD, DELETE");
	cr_assert_eq(match(NODE_HTTP_METHODS, "/health", &m), FL_OK);
	cr_assert_null(m.route);

	cr_assert_eq(match(NODE_HTTP_GET, "/", &m), FL_OK);
	cr_assert_eq(m.route, &routes[5]);
	cr_assert_eq(match(NODE_HTTP_GET, "/health/", &m), FL_ENOTFOUND);
	cr_assert_eq(match(NODE_HTTP_GET, "/v1/blocks/", &m), FL_ENOTFOUND);
	cr_assert_eq(match(NODE_HTTP_GET, "/v1/blocks//", &m), FL_ENOTFOUND);
	cr_assert_eq(match(NODE_HTTP_GET, "/v1/blocks/1/2", &m), FL_ENOTFOUND);
	cr_assert_eq(match(NODE_HTTP_GET, "//health", &m), FL_ENOTFOUND);
	cr_assert_eq(match(NODE_HTTP_GET, "/v1/blocks/%zz", &m), FL_EPARSE);
	cr_assert_eq(match(NODE_HTTP_GET, "/v1/blocks/a%00", &m), FL_EPARSE);
}

Test(http_route, query_values)
{
	node__http_parser p;
	node_http_request req = {.head = &p};
	char out[8];

	memset(&p, 0, sizeof(p));
	req.query = "height=12&name=a+b%21&flag&empty=&long=123456789&bad=%4";
	cr_assert_eq(node_http_query(&req, "height", out, sizeof(out)), FL_OK);
	cr_assert_str_eq(out, "12");
	cr_assert_eq(node_http_query(&req, "name", out, sizeof(out)), FL_OK);
	cr_assert_str_eq(out, "a b!");
	cr_assert_eq(node_http_query(&req, "flag", out, sizeof(out)), FL_OK);
	cr_assert_str_eq(out, "");
	cr_assert_eq(node_http_query(&req, "empty", out, sizeof(out)), FL_OK);
	cr_assert_str_eq(out, "");
	cr_assert_eq(node_http_query(&req, "long", out, sizeof(out)), FL_ETOOBIG);
	cr_assert_eq(node_http_query(&req, "bad", out, sizeof(out)), FL_EPARSE);
	cr_assert_eq(node_http_query(&req, "heigh", out, sizeof(out)), FL_ENOTFOUND);
	cr_assert_eq(node_http_query(&req, "missing", out, sizeof(out)), FL_ENOTFOUND);
}

Test(http_parse, every_allocation_failure_is_a_clean_500)
{
	static const char req[] = "POST /v1/txs?a=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\n\r\n"
				  "0123456789012345678901234567890123456789";

	for (unsigned long n = 1; n < 12; n++) {
		node__http_parser p;
		node__http_feed r;
		size_t used;
		int rc;

		(void)fl_alloc_fail_after(n);
		rc = node__http_parser_init(&p, &limits, cap_body, &body_cap);
		if (rc != FL_OK) {
			(void)fl_alloc_fail_after(0);
			cr_assert_eq(rc, FL_ENOMEM);
			continue;
		}
		r = feed_str(&p, req, &used);
		(void)fl_alloc_fail_after(0);
		cr_assert(r == NODE__HTTP_DONE || (r == NODE__HTTP_ERROR && p.status == 500));
		if (r == NODE__HTTP_DONE)
			cr_assert_eq(p.body_len, 40);
		node__http_parser_free(&p);
	}
}
