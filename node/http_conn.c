/*
 * node/http_conn.c — one client connection: read, parse, route, hand to
 * the handler, write the answer, then the next request or a close.
 *
 * States (node__http_conn_state) and the one deadline each has, kept by
 * the connection's single timer (arm()):
 *   READING   no byte of a request yet: idle_timeout_ms from the last
 *             answer (or the accept); then header_timeout_ms from the
 *             request's first byte until its head is whole, and
 *             request_timeout_ms for the whole request. Past it: 408.
 *   HANDLING  none: the handler's own work decides (the client may leave;
 *             the exchange then says it is cancelled).
 *   WRITING   write_timeout_ms for the client to take the answer.
 *   LINGER    after a last answer: our side shut down, what the client
 *             still sends (a body we refused) read and dropped for at most
 *             LINGER_MS, so closing does not reset the answer away.
 *   SSE       none; the server's keep-alive tick writes to it.
 * Requests are answered one at a time, in order: bytes that arrive past
 * the request being answered are kept (NODE__HTTP_PIPELINE_MAX, then
 * reading stops) and parsed once the answer is written. Sockets refused at
 * the door are http_refuse.c's.
 */
#include "node/http_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINGER_MS    1000
#define LINGER_BYTES (1024 * 1024) /* dropped unread, at most, before the close */
#define NO_ANSWER    "the handler gave no answer"

static void feed(node_http_conn *c, const uint8_t *data, size_t n);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* -------------------------------------------------------- lifetime */

static void conn_unref(node_http_conn *c)
{
	node_http_server *s = c->server;

	assert(c->refs > 0);
	if (--c->refs > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	node__http_parser_free(&c->parser);
	fl_free(c->pending);
	fl_free(c->wbuf);
	fl_free(c);
	node__http_server_release(s);
}

static void on_closed(uv_handle_t *h)
{
	node_http_conn *c = h->data;

	if (--c->handles == 0)
		conn_unref(c);
}

void node__http_conn_close(node_http_conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	if (c->stream != NULL)
		node__http_sse_leave(c);
	c->state = CONN_CLOSING;
	/* The slot is free at once: the handles' close is only bookkeeping. */
	c->server->stats.connections--;
	/* Writes in flight are called back (cancelled) before on_closed. */
	uv_close((uv_handle_t *)&c->tcp, on_closed);
	uv_close((uv_handle_t *)&c->timer, on_closed);
}

/* ------------------------------------------------------- deadlines */

static void on_timer(uv_timer_t *t);

static void arm(node_http_conn *c)
{
	const node_http_config *cfg = &c->server->cfg;
	uint64_t now = uv_now(c->server->loop), deadline;

	switch (c->state) {
	case CONN_READING:
		if (c->request_at == 0)
			deadline = c->idle_at + cfg->idle_timeout_ms;
		else if (!c->parser.head_done)
			deadline = c->request_at + cfg->header_timeout_ms;
		else
			deadline = c->request_at + cfg->request_timeout_ms;
		break;
	case CONN_WRITING:
		deadline = c->write_at + cfg->write_timeout_ms;
		break;
	case CONN_LINGER:
		deadline = c->write_at + LINGER_MS;
		break;
	default:
		uv_timer_stop(&c->timer);
		return;
	}
	uv_timer_start(&c->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

static void start_reading(node_http_conn *c)
{
	if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->reading = 1;
}

/* ---------------------------------------------------------- answers */

static void on_write(uv_write_t *req, int status);

int node__http_conn_answer(node_http_conn *c, node__http_head *h, const void *body, size_t n)
{
	node_http_server *s = c->server;
	uv_buf_t b;
	size_t len;
	int rc;

	assert(c->wbuf == NULL);
	h->keep_alive = c->keep_alive;
	h->http10 = c->parser.http10;
	h->head_only = c->parser.method == NODE_HTTP_HEAD;
	h->origin = c->origin;
	if ((rc = node__http_response_build(&c->wbuf, &len, h, body, n)) != FL_OK) {
		node__http_conn_close(c);
		return rc;
	}
	if (h->status >= 500)
		s->stats.errors_5xx++;
	else if (h->status >= 400)
		s->stats.errors_4xx++;
	c->state = CONN_WRITING;
	c->write_at = uv_now(s->loop);
	arm(c);
	b = uv_buf_init((char *)c->wbuf, (unsigned)len);
	c->write_req.data = c;
	if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		node__http_conn_close(c);
		return FL_EIO;
	}
	return FL_OK;
}

static int answer(node_http_conn *c, int status, const char *type, const void *body, size_t n,
		  const char *extra)
{
	node__http_head h = {
	    .status = status, .content_type = type, .content_length = n, .extra = extra};

	return node__http_conn_answer(c, &h, body, n);
}

static int answer_error(node_http_conn *c, int status, const char *code, const char *message)
{
	char allow[64], extra[96];
	char *body;
	size_t n;
	int rc;

	if ((rc = node__http_error_body(&body, &n, code, message)) != FL_OK) {
		node__http_conn_close(c);
		return rc;
	}
	extra[0] = '\0';
	if (status == 405) {
		node__http_allow_string(allow, sizeof(allow), c->match.allow);
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	}
	rc = answer(c, status, "application/json", body, n, extra[0] ? extra : NULL);
	fl_free(body);
	return rc;
}

/* The next request on a kept connection: what was read meanwhile first. */
static void next_request(node_http_conn *c)
{
	uint8_t *held = c->pending;
	size_t n = c->pending_len;

	node__http_parser_next(&c->parser);
	c->state = CONN_READING;
	c->request_at = 0;
	c->continue_sent = 0;
	c->idle_at = uv_now(c->server->loop);
	c->origin = NULL;
	memset(&c->match, 0, sizeof(c->match));
	c->pending = NULL;
	c->pending_len = 0;
	if (n > 0)
		feed(c, held, n);
	fl_free(held);
	if (c->state == CONN_READING) {
		start_reading(c);
		arm(c);
	}
}

static void linger(node_http_conn *c)
{
	c->state = CONN_LINGER;
	c->linger_bytes = 0;
	c->write_at = uv_now(c->server->loop);
	fl_free(c->pending);
	c->pending = NULL;
	c->pending_len = 0;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, NULL) != 0) {
		node__http_conn_close(c);
		return;
	}
	start_reading(c);
	arm(c);
}

static void on_write(uv_write_t *req, int status)
{
	node_http_conn *c = req->data;

	fl_free(c->wbuf);
	c->wbuf = NULL;
	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		node__http_conn_close(c);
		return;
	}
	c->requests++;
	if (c->keep_alive)
		next_request(c);
	else
		linger(c);
}

/* One write of a buffer shared by every subscriber of an event. */
typedef struct {
	uv_write_t req;
	node__http_shared *b;
	node_http_conn *c;
} shared_write;

static void on_shared_write(uv_write_t *req, int status)
{
	shared_write *w = req->data;
	node_http_conn *c = w->c;

	node__http_shared_unref(w->b);
	fl_free(w);
	if (status < 0 && c->state != CONN_CLOSING)
		node__http_conn_close(c);
}

int node__http_conn_write_shared(node_http_conn *c, node__http_shared *b)
{
	shared_write *w;
	uv_buf_t buf;

	if (c->state == CONN_CLOSING)
		return FL_EIO;
	/* write_queue_size: what libuv holds that the socket has not taken. */
	if (c->tcp.write_queue_size + b->n > c->server->cfg.sse_max_backlog)
		return FL_ETOOBIG;
	w = fl_malloc(sizeof(*w));
	if (w == NULL)
		return FL_ENOMEM;
	w->b = b;
	w->c = c;
	w->req.data = w;
	b->refs++;
	buf = uv_buf_init((char *)b->data, (unsigned)b->n);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_shared_write) != 0) {
		node__http_shared_unref(b);
		fl_free(w);
		return FL_EIO;
	}
	return FL_OK;
}

/* ------------------------------------------------------- exchanges */

void node__http_exchange_end(node_http_exchange *ex)
{
	assert(ex->open);
	ex->open = 0;
	ex->deferred = 0;
	conn_unref(ex->conn);
}

int node_http_respond(node_http_exchange *ex, int status, const char *content_type,
		      const void *body, size_t n)
{
	node_http_conn *c;
	int rc;

	assert(ex != NULL && ex->open && status >= 100 && status <= 599);
	assert(n == 0 || body != NULL);
	c = ex->conn;
	if (c->state != CONN_HANDLING) {
		rc = FL_EIO; /* the client went away */
	} else if (n > NODE_HTTP_ANSWER_MAX) {
		c->keep_alive = 0;
		rc = answer_error(c, 500, "internal", "the answer is too large to send");
		rc = rc == FL_OK ? FL_ETOOBIG : rc;
	} else {
		rc = answer(c, status, content_type, body, n, NULL);
	}
	node__http_exchange_end(ex);
	return rc;
}

int node_http_respond_json(node_http_exchange *ex, int status, const json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc;

	assert(body != NULL);
	if (text == NULL) {
		rc =
		    node_http_respond_error(ex, 500, "internal", "the answer could not be encoded");
		return rc == FL_OK ? FL_ENOMEM : rc;
	}
	rc = node_http_respond(ex, status, "application/json", text, strlen(text));
	free(text);
	return rc;
}

int node_http_respond_error(node_http_exchange *ex, int status, const char *code,
			    const char *message)
{
	node_http_conn *c;
	int rc;

	assert(ex != NULL && ex->open && code != NULL && message != NULL);
	c = ex->conn;
	if (c->state != CONN_HANDLING)
		rc = FL_EIO;
	else
		rc = answer_error(c, status, code, message);
	node__http_exchange_end(ex);
	return rc;
}

void node_http_defer(node_http_exchange *ex)
{
	assert(ex != NULL && ex->open);
	ex->deferred = 1;
}

int node_http_cancelled(const node_http_exchange *ex)
{
	assert(ex != NULL);
	return ex->conn->state != CONN_HANDLING || ex->conn->server->closing;
}

/* --------------------------------------------------------- dispatch */

/* OPTIONS: what the path allows, and the CORS preflight's answer. */
static void preflight(node_http_conn *c)
{
	char allow[64], extra[384];
	int n;

	node__http_allow_string(allow, sizeof(allow), c->match.allow | (1u << NODE_HTTP_OPTIONS));
	n = snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	if (c->origin != NULL &&
	    node__http_parser_header(&c->parser, "Access-Control-Request-Method") != NULL)
		snprintf(extra + n, sizeof(extra) - (size_t)n,
			 "Access-Control-Allow-Methods: %s\r\n"
			 "Access-Control-Allow-Headers: Content-Type, Last-Event-ID\r\n"
			 "Access-Control-Max-Age: 600\r\n",
			 allow);
	node__http_head h = {.status = 204, .no_length = 1, .extra = extra};
	(void)node__http_conn_answer(c, &h, NULL, 0);
}

static void call_handler(node_http_conn *c)
{
	node_http_server *s = c->server;
	node__http_parser *p = &c->parser;
	node_http_request req = {
	    .method = c->match.route->method, /* HEAD served by GET reads as GET */
	    .path = p->path,
	    .query = p->query,
	    .body = p->body,
	    .body_len = p->body_len,
	    .n_params = c->match.n_params,
	    .head = p,
	};
	int rc;

	memcpy(req.params, c->match.params, sizeof(req.params));
	c->ex = (node_http_exchange){.conn = c, .open = 1};
	c->refs++; /* the exchange's, until it is answered */
	s->stats.requests++;
	rc = c->match.route->handler(s->ctx, &c->ex, &req);
	if (!c->ex.open || c->ex.deferred)
		return;
	(void)node_http_respond_error(&c->ex, 500, "internal",
				      rc < 0 ? fl_strerror(rc) : NO_ANSWER);
}

static void dispatch(node_http_conn *c)
{
	node_http_server *s = c->server;
	node__http_parser *p = &c->parser;
	const node_http_config *cfg = &s->cfg;

	c->state = CONN_HANDLING;
	uv_timer_stop(&c->timer);
	c->origin = node__http_cors_origin(cfg, node__http_parser_header(p, "Origin"));
	c->keep_alive =
	    p->keep_alive && !s->closing &&
	    (cfg->max_requests_per_conn == 0 || c->requests + 1 < cfg->max_requests_per_conn);
	if (p->reject_status != 0)
		(void)answer_error(c, p->reject_status, p->reject_code, p->reject_message);
	else if (p->method == NODE_HTTP_OPTIONS)
		preflight(c);
	else
		call_handler(c);
}

/* The route decides the body cap before a byte of the body is read. */
static int on_head(void *arg, node__http_parser *p)
{
	node_http_conn *c = arg;
	node_http_server *s = c->server;
	int rc = node__http_route_match(s->routes, s->n_routes, p->method, p->path, p->scratch,
					&c->match);

	if (rc == FL_ENOTFOUND)
		node__http_parser_reject(p, 404, "not_found", "no route for this path");
	else if (rc != FL_OK)
		node__http_parser_reject(p, 400, "bad_request", "bad %%-escape in the path");
	else if (p->method != NODE_HTTP_OPTIONS && c->match.route == NULL)
		node__http_parser_reject(p, 405, "method_not_allowed",
					 "this path does not take that method");
	else if (c->match.route != NULL)
		p->max_body = c->match.route->max_body;
	return 0;
}

/* ----------------------------------------------------------- reading */

static void keep_pending(node_http_conn *c, const uint8_t *data, size_t n)
{
	uint8_t *np = fl_realloc(c->pending, c->pending_len + n);

	if (np == NULL) {
		node__http_conn_close(c);
		return;
	}
	memcpy(np + c->pending_len, data, n);
	c->pending = np;
	c->pending_len += n;
	if (c->pending_len >= NODE__HTTP_PIPELINE_MAX && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
}

static void on_continue_written(uv_write_t *req, int status)
{
	(void)req;
	(void)status; /* a failed write shows as a read error or the deadline */
}

/* The go for a body: a static buffer, so nothing to free; written before
 * any answer, which only comes once the body is read. */
static void send_continue(node_http_conn *c)
{
	static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";
	uv_buf_t b = uv_buf_init((char *)go, sizeof(go) - 1);

	c->continue_sent = 1;
	if (uv_write(&c->continue_req, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written) != 0)
		node__http_conn_close(c);
}

static void feed(node_http_conn *c, const uint8_t *data, size_t n)
{
	node__http_parser *p = &c->parser;
	size_t used;
	node__http_feed r;

	if (c->request_at == 0)
		c->request_at = uv_now(c->server->loop);
	r = node__http_parser_feed(p, data, n, &used);
	if (r == NODE__HTTP_MORE) {
		if (p->expect_continue && !c->continue_sent)
			send_continue(c);
		arm(c);
		return;
	}
	if (r == NODE__HTTP_ERROR) {
		c->state = CONN_HANDLING;
		c->keep_alive = 0;
		c->origin =
		    node__http_cors_origin(&c->server->cfg, node__http_parser_header(p, "Origin"));
		(void)answer_error(c, p->status, p->code, p->message);
		return;
	}
	if (used < n)
		keep_pending(c, data + used, n - used);
	if (c->state != CONN_CLOSING)
		dispatch(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	node_http_conn *c = h->data;

	(void)hint;
	/* One buffer for every socket: each read is used up (or copied)
	 * before the loop reads another. */
	*buf = uv_buf_init((char *)c->server->rbuf, NODE__HTTP_READ_BUF);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	node_http_conn *c = st->data;
	const uint8_t *data = (const uint8_t *)buf->base;

	if (c->state == CONN_CLOSING || nread == 0)
		return;
	if (nread < 0) {
		/* The client left (EOF or error): an open exchange is cancelled. */
		node__http_conn_close(c);
		return;
	}
	switch (c->state) {
	case CONN_READING:
		feed(c, data, (size_t)nread);
		break;
	case CONN_HANDLING:
	case CONN_WRITING:
		keep_pending(c, data, (size_t)nread);
		break;
	case CONN_LINGER:
		c->linger_bytes += (size_t)nread;
		if (c->linger_bytes > LINGER_BYTES)
			node__http_conn_close(c);
		break;
	default:
		break; /* an SSE subscriber has nothing to say */
	}
}

static void on_timer(uv_timer_t *t)
{
	node_http_conn *c = t->data;
	node_http_server *s = c->server;

	if (c->state == CONN_READING && c->request_at != 0) {
		/* Slow or stalled: told why, then closed. */
		s->stats.timeouts++;
		c->state = CONN_HANDLING;
		c->keep_alive = 0;
		(void)answer_error(c, 408, "request_timeout",
				   c->parser.head_done ? "the request body took too long"
						       : "the request head took too long");
		return;
	}
	if (c->state == CONN_WRITING)
		s->stats.timeouts++;
	node__http_conn_close(c);
}

/* ------------------------------------------------------------ accept */

int node__http_conn_accept(node_http_server *s)
{
	const node_http_config *cfg = &s->cfg;
	node__http_limits lim = {
	    .max_header_bytes = cfg->max_header_bytes,
	    .max_url_bytes = cfg->max_url_bytes,
	    .max_headers = cfg->max_headers,
	};
	node_http_conn *c;

	if (s->stats.connections >= cfg->max_connections)
		return node__http_refuse(s);
	c = fl_calloc(1, sizeof(*c));
	if (c == NULL)
		return node__http_refuse_oom(s);
	if (node__http_parser_init(&c->parser, &lim, on_head, c) != FL_OK) {
		fl_free(c);
		return node__http_refuse_oom(s);
	}
	c->server = s;
	c->state = CONN_READING;
	c->refs = 1;
	c->handles = 2;
	c->idle_at = uv_now(s->loop);
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->handles++;
	s->stats.connections++;
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) != 0) {
		node__http_conn_close(c);
		return FL_EIO;
	}
	s->stats.accepted++;
	(void)uv_tcp_nodelay(&c->tcp, 1);
	start_reading(c);
	if (!c->reading) {
		node__http_conn_close(c);
		return FL_EIO;
	}
	arm(c);
	return FL_OK;
}
