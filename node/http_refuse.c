/*
 * node/http_refuse.c — sockets the server will not serve: over
 * max_connections, or arriving when there is no memory for a connection.
 * Each is accepted (libuv stops listening while one is left pending),
 * told 503 in one write the socket buffer takes at once, and closed: no
 * connection state, no timer, no parser.
 */
#include "node/http_internal.h"

#include <stdio.h>

/* The answer to a refused socket, written as is. */
#define FULL_BODY "{\"error\":{\"code\":\"unavailable\",\"message\":\"no room for another connection\"}}"
static const char full_response[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    "Content-Length: %zu\r\nConnection: close\r\n\r\n" FULL_BODY;

typedef struct {
	uv_tcp_t tcp;
	node_http_server *server;
} refused;

static void on_refused_closed(uv_handle_t *h)
{
	refused *r = h->data;
	node_http_server *s = r->server;

	fl_free(r);
	node__http_server_release(s);
}

static void write_full(uv_tcp_t *tcp)
{
	char text[sizeof(full_response) + 16];
	int n = snprintf(text, sizeof(text), full_response, sizeof(FULL_BODY) - 1);
	uv_buf_t b = uv_buf_init(text, (unsigned)n);

	/* What the socket buffer takes at once; the rest is not worth a
	 * handle kept open. */
	(void)uv_try_write((uv_stream_t *)tcp, &b, 1);
}

static void on_oom_closed(uv_handle_t *h)
{
	node_http_server *s = h->data;

	s->oom_busy = 0;
	if (s->oom_stalled && !s->closing) {
		s->oom_stalled = 0;
		(void)node__http_conn_accept(s);
	}
	node__http_server_release(s);
}

/* No memory for a connection: the socket goes through the server's one
 * spare handle, which needs none. */
int node__http_refuse_oom(node_http_server *s)
{
	if (s->oom_busy) {
		s->oom_stalled = 1; /* accepted from on_oom_closed */
		return FL_ENOMEM;
	}
	s->oom_busy = 1;
	uv_tcp_init(s->loop, &s->oom_tcp);
	s->oom_tcp.data = s;
	s->handles++;
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&s->oom_tcp) == 0)
		write_full(&s->oom_tcp);
	uv_close((uv_handle_t *)&s->oom_tcp, on_oom_closed);
	return FL_ENOMEM;
}

/* Over max_connections: told so in one write the socket buffer takes at
 * once, then closed; no connection state, no timer. */
int node__http_refuse(node_http_server *s)
{
	refused *r = fl_malloc(sizeof(*r));

	if (r == NULL)
		return node__http_refuse_oom(s);
	r->server = s;
	uv_tcp_init(s->loop, &r->tcp);
	r->tcp.data = r;
	s->handles++;
	s->stats.refused_full++;
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&r->tcp) == 0)
		write_full(&r->tcp);
	uv_close((uv_handle_t *)&r->tcp, on_refused_closed);
	return FL_OK;
}
