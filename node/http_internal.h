/*
 * node/http_internal.h — what the HTTP server's files share (http_parse.c,
 * http_route.c, http_response.c, http_server.c, http_conn.c, http_sse.c).
 * Other modules see only node/http.h; the fuzz target and the tests of the
 * parser read this header for the parsing layer, which needs no sockets.
 */
#ifndef FEDLEDGER_NODE_HTTP_INTERNAL_H
#define FEDLEDGER_NODE_HTTP_INTERNAL_H

#include <http_parser.h>

#include "node/http.h"

/* Bytes read past a request still being answered, kept for the next one:
 * with pipelining, at most this much waits in our memory (then reading
 * stops and the rest waits in the kernel). */
#define NODE__HTTP_PIPELINE_MAX   (64 * 1024)
#define NODE__HTTP_READ_BUF       (64 * 1024) /* one read from a socket */
#define NODE__HTTP_MESSAGE_MAX    128         /* an error's message */
#define NODE__HTTP_LISTEN_BACKLOG 128

/* ------------------------------------------------------------- parsing */

/*
 * One connection's request parser: bytes in, one request (or one error)
 * out, with every cap applied while the bytes arrive. Pure: no sockets, no
 * clock; the server's deadlines are its own.
 *
 * Memory: the head (request target and headers, NUL-terminated strings)
 * grows to at most max_header_bytes plus room for the decoded params (the
 * target's length again); the body grows as its bytes arrive, to at most
 * the route's max_body, so a Content-Length alone never allocates.
 */
typedef enum {
	NODE__HTTP_MORE = 0,  /* every byte taken, the request not complete */
	NODE__HTTP_DONE = 1,  /* a request is complete; bytes after *used are the next's */
	NODE__HTTP_ERROR = 2, /* status/code/message say why; answer and close */
} node__http_feed;

typedef struct node__http_parser node__http_parser;

/* Called once the head is complete (method, path, query and headers are
 * set): sets p->max_body, or calls node__http_parser_reject. Returns 0. */
typedef int (*node__http_head_cb)(void *arg, node__http_parser *p);

typedef struct {
	uint32_t max_header_bytes, max_url_bytes, max_headers;
} node__http_limits;

struct node__http_parser {
	http_parser hp;
	node__http_limits lim;
	node__http_head_cb on_head;
	void *arg;

	/* The head: target, then name and value of each header. */
	char *head;
	size_t head_len, head_cap;
	size_t url_len;
	uint32_t (*hdr)[2]; /* offsets of name and value; lim.max_headers */
	size_t n_hdr;
	int last;        /* the last data callback: 0 none, 1 url, 2 field, 3 value */
	size_t raw_head; /* raw bytes fed while the head was incomplete */
	int head_done, done;

	/* Set once the head is complete. */
	node_http_method method; /* NODE_HTTP_METHODS if not one we serve */
	int http10;
	const char *path, *query;
	char *scratch; /* url_len + 1 bytes after the head, for decoded params */
	int has_body;
	int expect_continue; /* "Expect: 100-continue" on a body we will read */
	uint64_t content_length;
	size_t max_body;

	uint8_t *body;
	size_t body_len, body_cap;
	int keep_alive; /* after this request, as the client asked */

	/* The outcome when not a request for a handler. reject_* is found at
	 * the head of a request without a body: answered once the message is
	 * over, the connection kept; with a body it becomes the error below. */
	int reject_status;
	const char *reject_code;
	char reject_message[NODE__HTTP_MESSAGE_MAX];
	int status; /* fatal: answer, then close */
	const char *code;
	char message[NODE__HTTP_MESSAGE_MAX];
};

/* FL_OK or FL_ENOMEM (the header table). on_head may be NULL (max_body
 * then stays 0: no body accepted). */
int node__http_parser_init(node__http_parser *p, const node__http_limits *lim,
			   node__http_head_cb on_head, void *arg) FL_MUST_CHECK;
void node__http_parser_free(node__http_parser *p);
/* Feeds data[0..n): *used is how much was taken (all of it on MORE). */
node__http_feed node__http_parser_feed(node__http_parser *p, const uint8_t *data, size_t n,
				       size_t *used);
/* After DONE: forget the request (body freed), ready for the next. */
void node__http_parser_next(node__http_parser *p);
/* From the head callback: answer status {code, message} instead of a
 * handler (the first reject stands). */
void node__http_parser_reject(node__http_parser *p, int status, const char *code, const char *fmt,
			      ...) __attribute__((format(printf, 4, 5)));
/* The first header named name (ASCII case-insensitive), or NULL. */
const char *node__http_parser_header(const node__http_parser *p, const char *name);

/* ------------------------------------------------------------- routing */

typedef struct {
	const node_http_route *route; /* NULL: no route for this method */
	unsigned allow;               /* methods the path has, 1u << node_http_method */
	size_t n_params;
	struct {
		const char *name;
		size_t name_len;
		const char *value;
	} params[NODE_HTTP_PARAMS_MAX];
} node__http_match;

/* FL_EINVAL if a pattern is not well formed (http.h). */
int node__http_routes_check(const node_http_route *routes, size_t n) FL_MUST_CHECK;
/*
 * Matches path against every route. FL_OK: the path has routes (m->allow
 * says for which methods) and m->route is the first for method (HEAD falls
 * back to GET), or NULL; params decoded into scratch (strlen(path) + 1
 * bytes). FL_ENOTFOUND: no pattern matches. FL_EPARSE: a param segment with
 * a bad %-escape or a decoded NUL.
 */
int node__http_route_match(const node_http_route *routes, size_t n, node_http_method method,
			   const char *path, char *scratch, node__http_match *m) FL_MUST_CHECK;
/* "GET, HEAD, POST" for a mask of methods into out (cap >= 64). */
void node__http_allow_string(char *out, size_t cap, unsigned allow);
/* Percent-decodes src[0..n) into out (cap bytes, NUL-terminated); '+' is a
 * space only when plus_space. FL_EPARSE on a bad escape or a decoded NUL,
 * FL_ETOOBIG if it does not fit. */
int node__http_decode(char *out, size_t cap, const char *src, size_t n,
		      int plus_space) FL_MUST_CHECK;

/* ------------------------------------------------------------ responses */

typedef struct {
	int status;
	const char *content_type; /* NULL: none */
	size_t content_length;
	int no_length;      /* an event stream: no Content-Length, no body here */
	int keep_alive;     /* else "Connection: close" */
	int http10;         /* the request was HTTP/1.0: keep-alive is said */
	int head_only;      /* HEAD: the length of the body, not the body */
	const char *origin; /* Access-Control-Allow-Origin, or NULL */
	const char *extra;  /* whole header lines, each ending in CRLF, or NULL */
} node__http_head;

/* The status line, headers and body in one fresh buffer (fl_free it). */
int node__http_response_build(uint8_t **out, size_t *n, const node__http_head *h, const void *body,
			      size_t body_len) FL_MUST_CHECK;
/* The error body {"error":{"code":…,"message":…}}, fresh (fl_free it). */
int node__http_error_body(char **out, size_t *n, const char *code,
			  const char *message) FL_MUST_CHECK;
/* The reason phrase of a status ("Not Found"); "Unknown" if none. */
const char *node__http_reason(int status);
/* What Access-Control-Allow-Origin says to a request from origin: "*",
 * origin itself, or NULL (no origin, or not allowed). */
const char *node__http_cors_origin(const node_http_config *cfg, const char *origin);

/* ---------------------------------------------------------- connections */

/* An SSE write's bytes, shared by every subscriber's write (http_sse.c). */
typedef struct node__http_shared {
	size_t refs;
	size_t n;
	uint8_t data[];
} node__http_shared;

typedef enum {
	CONN_READING = 0, /* waiting for or parsing a request */
	CONN_HANDLING,    /* dispatched: the handler's answer is awaited */
	CONN_WRITING,     /* a response in flight */
	CONN_LINGER,      /* the last answer written: draining before the close */
	CONN_SSE,         /* an event stream */
	CONN_CLOSING
} node__http_conn_state;

struct node_http_exchange {
	struct node_http_conn *conn;
	int open;     /* dispatched and not yet answered */
	int deferred; /* node_http_defer was called */
};

typedef struct node_http_conn {
	node_http_server *server;
	struct node_http_conn *prev, *next;         /* server->conns */
	struct node_http_conn *sub_prev, *sub_next; /* its stream's subscribers */
	struct node__http_stream *stream;
	node__http_conn_state state;
	uv_tcp_t tcp;
	uv_timer_t timer; /* the one deadline of the state (http_conn.c) */
	int handles;      /* of tcp and timer, open */
	int refs;         /* 1 for the handles, 1 while the exchange is open */
	int reading;

	node__http_parser parser;
	node__http_match match;
	uint8_t *pending; /* read past the request being answered */
	size_t pending_len;
	uint64_t request_at; /* uv_now() of this request's first byte, 0 = none yet */
	uint64_t idle_at;    /* uv_now() the connection last became idle */
	uint64_t write_at;   /* uv_now() the response began */
	uint32_t requests;   /* answered on this connection */
	int keep_alive;      /* after the response in flight */
	const char *origin;  /* Access-Control-Allow-Origin for this request */
	char origin_buf[NODE_HTTP_ORIGIN_MAX];

	node_http_exchange ex;
	uv_write_t write_req;
	uint8_t *wbuf; /* the response in flight */
	uv_shutdown_t shutdown_req;
	uv_write_t continue_req; /* "100 Continue", once per request that asks */
	int continue_sent;
	size_t linger_bytes; /* read and dropped while lingering */
} node_http_conn;

/* http_server.c */
void node__http_server_release(node_http_server *s);
/* http_conn.c */
int node__http_conn_accept(node_http_server *s);
/* http_refuse.c: a pending socket accepted, told 503 and closed. _oom
 * needs no memory (the server's spare handle); both return what the
 * accept should report (FL_OK, FL_ENOMEM). */
int node__http_refuse(node_http_server *s);
int node__http_refuse_oom(node_http_server *s);
void node__http_conn_close(node_http_conn *c);
/* The exchange is answered (or given up): its hold on the connection ends. */
void node__http_exchange_end(node_http_exchange *ex);
/* An answer with these head fields (keep-alive, origin, HEAD from the
 * connection); FL_ENOMEM or FL_EIO close the connection. */
int node__http_conn_answer(node_http_conn *c, node__http_head *h, const void *body, size_t n);
/* Queues raw bytes to c (an SSE stream's): FL_ENOMEM, or FL_ETOOBIG when
 * the backlog would pass sse_max_backlog (the caller drops c). The buffer
 * is shared and reference-counted (http_sse.c). */
int node__http_conn_write_shared(node_http_conn *c, node__http_shared *b) FL_MUST_CHECK;

/* http_sse.c: streams and their shared event buffers. */

typedef struct node__http_stream {
	char name[NODE_HTTP_STREAM_MAX + 1]; /* "" = slot free */
	uint64_t next_id;
	node_http_conn *subs;
	uint32_t n_subs;
} node__http_stream;

node__http_shared *node__http_shared_new(size_t n);
void node__http_shared_unref(node__http_shared *b);
/* c is closing: off its stream's list. */
void node__http_sse_leave(node_http_conn *c);
/* The keep-alive timer's tick: a comment to every subscriber. */
void node__http_sse_keepalive(uv_timer_t *t);

#endif
