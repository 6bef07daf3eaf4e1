/*
 * node/http.h — the node's HTTP/1.1 server (docs/http.md): libuv sockets,
 * http-parser for requests, a route table, JSON errors, CORS, Server-Sent
 * Events, and a bound on everything a client can make the node hold.
 *
 * The endpoints themselves (status, blocks, txs…) are handlers in a table
 * the caller gives, like Redis's command table: {method, pattern, handler,
 * max_body}. Each body is capped before it is read.
 *
 * Threading: everything here runs on the loop thread given to
 * node_http_init; no function may be called from another thread (other
 * threads wake the loop with uv_async_send and publish from there).
 *
 * Ownership: the caller owns the node_http_server struct (embed it). Once
 * node_http_init has succeeded, node_http_close must be called, and the
 * struct may be freed only in (or after) its callback. The route table and
 * the config's strings are copied or must outlive the server (routes: the
 * caller's array is referenced, not copied; a static const table is the
 * intended use).
 *
 * The callback promise (libuv's), for node_http_close: the callback is
 * called exactly once, from the loop, never before node_http_close has
 * returned.
 */
#ifndef FEDLEDGER_NODE_HTTP_H
#define FEDLEDGER_NODE_HTTP_H

#include <jansson.h>
#include <uv.h>

#include "core/core.h"

/* ------------------------------------------------------------ limits */

#define NODE_HTTP_ADDR_MAX    64 /* "127.0.0.1:8545" */
#define NODE_HTTP_PARAMS_MAX  4  /* {param} segments in one pattern */
#define NODE_HTTP_CORS_MAX    8  /* allowed origins in the config */
#define NODE_HTTP_ORIGIN_MAX  128
#define NODE_HTTP_STREAMS_MAX 8  /* distinct SSE stream names */
#define NODE_HTTP_STREAM_MAX  31 /* chars in a stream or event name */
/* The largest answer body (one write; a blob is far below it). */
#define NODE_HTTP_ANSWER_MAX (1024u * 1024 * 1024)
/* The interfaces.md default for a request body ("1 MiB by default"). */
#define NODE_HTTP_BODY_DEFAULT (1024 * 1024)

/* ------------------------------------------------------------ config */

/*
 * Every bound a client could push against, with its default. A zero in a
 * field read by node_http_init is refused (FL_EINVAL), except where "0 ="
 * says otherwise; start from node_http_config_default.
 */
typedef struct {
	/* "127.0.0.1:PORT"; port 0 = an ephemeral port (node_http_port). */
	char listen[NODE_HTTP_ADDR_MAX];

	/* Open connections, SSE subscribers included (default 64). Each can
	 * hold a request head and a body: the memory bound is about
	 * max_connections * (max_header_bytes + the largest route max_body).
	 * One over it is accepted, answered 503 and closed at once. */
	uint32_t max_connections;
	/* Request line and headers, raw bytes (default 16 KiB): 431 past it.
	 * 16 KiB is what nginx and Node.js allow; our clients send < 1 KiB. */
	uint32_t max_header_bytes;
	/* The request target (default 4 KiB): 414 past it. Our longest path
	 * is a block hash, 64 hex digits. */
	uint32_t max_url_bytes;
	/* Header lines (default 64): 431 past it. Each is a slot to look up. */
	uint32_t max_headers;

	/* A request's head must arrive within header_timeout_ms of its first
	 * byte (default 10000), and the whole request within request_timeout_ms
	 * (default 30000): a client that sends one byte a second (slowloris) is
	 * answered 408 and closed at the deadline, whatever it sends. */
	uint32_t header_timeout_ms;
	uint32_t request_timeout_ms;
	/* A kept-alive connection with no request started (default 5000). */
	uint32_t idle_timeout_ms;
	/* A response must be taken by the client within this (default 30000),
	 * or the connection is dropped: a client that never reads holds at
	 * most one response (requests are answered one at a time, the next
	 * ones wait unread in the kernel) and only for this long. */
	uint32_t write_timeout_ms;
	/* Requests answered on one connection, then "Connection: close"
	 * (default 1000; 0 = no limit), so no client holds a slot forever. */
	uint32_t max_requests_per_conn;

	/* Allowed origins for CORS: exact "scheme://host[:port]" strings, or
	 * one "*" for any. None = no CORS headers at all (same-origin only). */
	char cors_origins[NODE_HTTP_CORS_MAX][NODE_HTTP_ORIGIN_MAX];
	uint32_t n_cors_origins;

	/* SSE: subscribers at once, all streams (default 16; each also holds a
	 * connection slot); bytes queued to one subscriber not yet taken by
	 * its socket (default 256 KiB): a subscriber past it is dropped, so a
	 * slow reader costs at most this; the comment keep-alive interval
	 * (default 15000), which also finds dead subscribers. */
	uint32_t sse_max_subscribers;
	uint32_t sse_max_backlog;
	uint32_t sse_keepalive_ms;
} node_http_config;

void node_http_config_default(node_http_config *cfg);

/* ----------------------------------------------------------- requests */

typedef enum {
	NODE_HTTP_GET = 0,
	NODE_HTTP_HEAD,
	NODE_HTTP_POST,
	NODE_HTTP_PUT,
	NODE_HTTP_DELETE,
	NODE_HTTP_OPTIONS,
	NODE_HTTP_METHODS
} node_http_method;

/* "GET", "POST"…; NULL for a value out of range. */
const char *node_http_method_name(node_http_method m);

/*
 * One parsed request, as a handler sees it. Every pointer is valid only
 * during the handler call: a handler that answers later copies what it
 * needs. Strings are NUL-terminated; path and query are raw (as sent),
 * params are percent-decoded and never hold a NUL.
 */
typedef struct {
	node_http_method method;
	const char *path;  /* "/v1/blocks/12", without the query */
	const char *query; /* after '?', "" if none */
	const uint8_t *body;
	size_t body_len;
	/* private: read through node_http_param / node_http_header */
	size_t n_params;
	struct {
		const char *name;
		size_t name_len;
		const char *value;
	} params[NODE_HTTP_PARAMS_MAX];
	const void *head; /* the parser that holds the headers */
} node_http_request;

/* The value of pattern segment {name}, or NULL if the route has none. */
const char *node_http_param(const node_http_request *req, const char *name);
/* The first header of that name (case-insensitive), or NULL. */
const char *node_http_header(const node_http_request *req, const char *name);
/*
 * The first query parameter `name` ("a=1&b=2", '+' and %XX decoded) into
 * out (cap bytes, NUL-terminated). FL_ENOTFOUND if absent, FL_ETOOBIG if
 * it does not fit, FL_EPARSE on a bad %-escape or a decoded NUL.
 */
int node_http_query(const node_http_request *req, const char *name, char *out,
		    size_t cap) FL_MUST_CHECK;

/* ---------------------------------------------------------- responses */

/* One request being answered. Valid from the handler call until one of
 * node_http_respond* or node_http_sse_start has succeeded on it. */
typedef struct node_http_exchange node_http_exchange;

/*
 * A handler. Returns FL_OK once it has answered (node_http_respond*,
 * node_http_sse_start) or called node_http_defer to answer later; a
 * negative code without an answer sends 500 {"code":"internal"} naming
 * fl_strerror(code). Returning FL_OK with neither is a handler bug, also
 * answered 500. ctx is the one given to node_http_init.
 */
typedef int (*node_http_handler)(void *ctx, node_http_exchange *ex, const node_http_request *req);

typedef struct {
	node_http_method method;
	/* "/v1/blocks/{id}": '/'-separated segments, each literal or one whole
	 * {name}; matched segment by segment (no empty segments, no trailing
	 * '/'). The first route matching path and method wins; HEAD is served
	 * by a GET route (the body left out). */
	const char *pattern;
	node_http_handler handler;
	/* The body cap: a larger Content-Length is refused 413 before a byte
	 * of the body is read. 0 = no body allowed. */
	size_t max_body;
} node_http_route;

/*
 * The answer: status, Content-Type and body (copied; n may be 0). The
 * server adds Content-Length, Connection and CORS headers. Afterwards ex is
 * no longer valid. FL_OK, or FL_EIO when the client had gone (the answer is
 * dropped: still the end of ex), FL_ETOOBIG (n over NODE_HTTP_ANSWER_MAX:
 * answered 500 instead), FL_ENOMEM (the connection is closed); ex ends in
 * every case. Programmer errors (status not 100..599, a second answer) are
 * asserts.
 */
int node_http_respond(node_http_exchange *ex, int status, const char *content_type,
		      const void *body, size_t n);
/* The same with a JSON body, compact (application/json). */
int node_http_respond_json(node_http_exchange *ex, int status, const json_t *body);
/* {"error":{"code":code,"message":message}}: code a short snake_case word
 * (see docs/http.md), message a sentence for a person. */
int node_http_respond_error(node_http_exchange *ex, int status, const char *code,
			    const char *message);

/*
 * The handler will answer later, from the loop, with node_http_respond*.
 * Until then the request's pointers are gone but ex stays valid, even if
 * the client leaves (node_http_cancelled then says so, and the answer is
 * dropped). node_http_close waits for every deferred exchange to be
 * answered: whoever defers must answer (an error is fine) on shutdown.
 */
void node_http_defer(node_http_exchange *ex);
/* 1 once the client has gone or the server is closing: the work may stop. */
int node_http_cancelled(const node_http_exchange *ex);

/* ---------------------------------------------------- Server-Sent Events */

/*
 * Turns ex into an event stream of `stream` (1..NODE_HTTP_STREAM_MAX
 * chars of [a-z0-9_.-]): answers 200 text/event-stream (no Content-Length:
 * the stream ends with the connection) and from then on the connection
 * gets every event published to that stream, and a comment every
 * sse_keepalive_ms. No replay: a client that reconnects (Last-Event-ID)
 * reads the state it missed from the other endpoints. A HEAD request is
 * answered 200 with no stream. FL_OK ends ex. Errors, after which nothing
 * was sent and ex still waits for an answer (typically 503): FL_ETOOBIG
 * when sse_max_subscribers are connected or NODE_HTTP_STREAMS_MAX names
 * are in use, FL_EINVAL for a bad name, FL_EIO when the client has gone,
 * FL_ENOMEM.
 */
int node_http_sse_start(node_http_exchange *ex, const char *stream);

typedef struct node_http_server node_http_server;

/*
 * Sends one event to every subscriber of stream: "id: N\nevent: E\ndata:
 * JSON\n\n", N counting from 1 per stream, data compact JSON on one line.
 * event is 1..NODE_HTTP_STREAM_MAX chars of [A-Za-z0-9_.-]. A subscriber
 * whose backlog would pass sse_max_backlog is dropped. FL_OK (also with no
 * subscribers: the id is used anyway, so gaps show missed events),
 * FL_EINVAL for bad names, FL_ENOMEM.
 */
int node_http_sse_publish(node_http_server *s, const char *stream, const char *event,
			  const json_t *data) FL_MUST_CHECK;

/* -------------------------------------------------------------- server */

typedef struct {
	uint64_t accepted;     /* connections served */
	uint64_t refused_full; /* answered 503 and closed: max_connections */
	uint64_t requests;     /* requests dispatched to a handler */
	uint64_t errors_4xx;   /* answers by class, the server's own included */
	uint64_t errors_5xx;
	uint64_t timeouts;    /* connections cut by a deadline */
	uint64_t sse_dropped; /* subscribers dropped for their backlog */
	uint32_t connections; /* open now */
	uint32_t subscribers; /* SSE subscribers now */
} node_http_stats;

struct node_http_conn;
struct node__http_stream;

/* The server handle. Fields are private: use the functions. */
struct node_http_server {
	uv_loop_t *loop;
	node_http_config cfg;
	const node_http_route *routes;
	size_t n_routes;
	void *ctx;
	uv_tcp_t listener;
	uv_timer_t sse_timer; /* keep-alive comments to every subscriber */
	/* Out of memory at an accept: the socket is taken into this one
	 * handle, told 503 and closed, because libuv stops listening until a
	 * pending connection is accepted; if it is busy, the accept waits for
	 * its close (oom_stalled). */
	uv_tcp_t oom_tcp;
	int oom_busy, oom_stalled;
	uint16_t port;
	int listening, started, closing, listener_closed;
	size_t handles; /* open uv handles and live connections; freed at 0 */
	struct node_http_conn *conns;
	uint8_t *rbuf; /* one read's buffer, shared: the loop is single-threaded */
	struct node__http_stream *streams; /* NODE_HTTP_STREAMS_MAX */
	node_http_stats stats;
	void (*close_cb)(node_http_server *s);
};

/*
 * Checks cfg (FL_EINVAL naming nothing: see the field rules above) and the
 * routes (each pattern well formed, FL_EINVAL otherwise), then sets s up
 * on loop without listening. Fails with nothing to close.
 */
int node_http_init(node_http_server *s, uv_loop_t *loop, const node_http_config *cfg,
		   const node_http_route *routes, size_t n_routes, void *ctx) FL_MUST_CHECK;
/* Binds and listens on cfg.listen: FL_EPARSE for a bad address, FL_EIO
 * when the bind or listen fails. */
int node_http_start(node_http_server *s) FL_MUST_CHECK;
/* The port listened on (after node_http_start), 0 before. */
uint16_t node_http_port(const node_http_server *s);
/* Stops accepting connections; those open are served to their end. */
void node_http_stop(node_http_server *s);
/* Closes the listener and every connection (deferred exchanges become
 * cancelled); cb (may be NULL) runs once every handle is closed and every
 * deferred exchange answered. */
void node_http_close(node_http_server *s, void (*cb)(node_http_server *s));
void node_http_get_stats(const node_http_server *s, node_http_stats *out);

#endif
