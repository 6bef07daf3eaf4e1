/*
 * fuzz_http — the HTTP server's request parsing on arbitrary bytes, with
 * no sockets (node/http_internal.h): the bytes as one connection's stream,
 * through node__http_parser_feed and the router (the same head callback
 * the server uses: route match, {param} decoding, the body cap), request
 * after request until an error.
 *
 * Checked for every request: the caps held (head, target, header count,
 * body <= the route's max_body), path and params well formed, every header
 * and query lookup safe; every error a status the server sends. And the
 * stream fed whole and fed in pieces of the input's choosing give the same
 * requests, and both end in an error or neither: what a request is never
 * depends on how the network split its bytes.
 */
#include "node/http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failed check names its line: the crash input alone then says which. */
#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_http.c:%d: %s\n", __LINE__, #cond);                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

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
    {NODE_HTTP_POST, "/v1/txs", nop, 512},
    {NODE_HTTP_GET, "/v1/profiles/{id}/rounds/{r}", nop, 0},
    {NODE_HTTP_PUT, "/v1/blobs/{hash}", nop, 4096},
    {NODE_HTTP_GET, "/", nop, 0},
};

static const node__http_limits limits = {
    .max_header_bytes = 2048, .max_url_bytes = 512, .max_headers = 16};

typedef struct {
	node__http_match match;
} conn;

/* The server's head callback (http_conn.c), on the fixed table. */
static int on_head(void *arg, node__http_parser *p)
{
	conn *c = arg;
	int rc = node__http_route_match(routes, FL_ARRAY_LEN(routes), p->method, p->path,
					p->scratch, &c->match);

	if (rc == FL_ENOTFOUND)
		node__http_parser_reject(p, 404, "not_found", "no route for this path");
	else if (rc != FL_OK)
		node__http_parser_reject(p, 400, "bad_request", "bad %%-escape in the path");
	else if (p->method != NODE_HTTP_OPTIONS && c->match.route == NULL)
		node__http_parser_reject(p, 405, "method_not_allowed", "not here");
	else if (c->match.route != NULL)
		p->max_body = c->match.route->max_body;
	return 0;
}

/* What one run saw, to compare the whole feed with the pieces. */
typedef struct {
	uint64_t digest;
	int requests;
	int error;
} outcome;

static void mix(outcome *o, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		o->digest = (o->digest ^ b[i]) * 1099511628211ull; /* FNV-1a */
}

static void on_request(outcome *o, const node__http_parser *p, const conn *c)
{
	node_http_request req = {.query = p->query, .head = p};
	char out[64];

	check(p->done && p->head_done && p->status == 0);
	check(p->path != NULL && p->path[0] == '/' && strchr(p->path, '?') == NULL);
	check(p->url_len <= limits.max_url_bytes);
	check(p->head_len <= limits.max_header_bytes + p->url_len + 3);
	check(p->n_hdr <= limits.max_headers);
	check(p->body_len == p->content_length && p->body_len <= p->max_body);
	if (p->reject_status == 0 && p->method != NODE_HTTP_OPTIONS) {
		check(c->match.route != NULL && p->max_body == c->match.route->max_body);
		for (size_t i = 0; i < c->match.n_params; i++) {
			check(c->match.params[i].value[0] != '\0');
			check(strlen(c->match.params[i].value) <= p->url_len);
		}
	} else {
		check(p->body_len == 0);
	}
	(void)node__http_parser_header(p, "Content-Type");
	(void)node__http_parser_header(p, "Origin");
	(void)node_http_query(&req, "height", out, sizeof(out));
	(void)node_http_query(&req, "", out, 1);
	mix(o, p->path, strlen(p->path));
	mix(o, p->query, strlen(p->query));
	mix(o, &p->reject_status, sizeof(p->reject_status));
	mix(o, &p->keep_alive, sizeof(p->keep_alive));
	if (p->body_len > 0)
		mix(o, p->body, p->body_len);
	o->requests++;
}

static const int error_statuses[] = {400, 404, 405, 411, 413, 414, 431, 500, 505};

/* Feeds data in pieces of at most step bytes (0 = whole). */
static outcome run(const uint8_t *data, size_t size, size_t step)
{
	node__http_parser p;
	conn c;
	outcome o = {.digest = 14695981039346656037ull};
	size_t off = 0;

	memset(&c, 0, sizeof(c));
	check(node__http_parser_init(&p, &limits, on_head, &c) == FL_OK);
	/* Each round takes at least one byte or ends: bounded by size. */
	while (off < size) {
		size_t n = size - off, used;
		node__http_feed r;

		if (step > 0 && n > step)
			n = step;
		r = node__http_parser_feed(&p, data + off, n, &used);
		check(used <= n);
		off += used;
		if (r == NODE__HTTP_ERROR) {
			int known = 0;
			for (size_t i = 0; i < FL_ARRAY_LEN(error_statuses); i++)
				known |= p.status == error_statuses[i];
			check(known && p.code != NULL && p.message[0] != '\0');
			o.error = p.status;
			break;
		}
		if (r == NODE__HTTP_DONE) {
			on_request(&o, &p, &c);
			node__http_parser_next(&p);
		} else {
			check(used == n);
		}
	}
	node__http_parser_free(&p);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	outcome whole, pieces;
	size_t step;

	if (size == 0)
		return 0;
	/* The first byte picks the piece size; the rest is the stream. */
	step = (size_t)(data[0] % 17) + 1;
	whole = run(data + 1, size - 1, 0);
	pieces = run(data + 1, size - 1, step);
	check(whole.requests == pieces.requests);
	/* Both refuse, though not always with the same status: http-parser
	 * hands a token over at a piece's end, so a head both too large and
	 * malformed may hit our cap (431) before its parser's check (400). */
	check((whole.error != 0) == (pieces.error != 0));
	check(whole.digest == pieces.digest);
	return 0;
}
