/*
 * node/http_server.c — the server handle (node/http.h): config checks,
 * the listener, and closing every handle before the close callback.
 *
 * s->handles counts what must end before the server may be freed: the
 * listener and the keep-alive timer (both initialised in node_http_init,
 * so a close always waits for a loop turn and never calls back from inside
 * node_http_close) and each connection, released when both its handles
 * have closed and no deferred exchange is left on it.
 */
#include "node/http_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void node_http_config_default(node_http_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8545");
	cfg->max_connections = 64;
	cfg->max_header_bytes = 16 * 1024;
	cfg->max_url_bytes = 4096;
	cfg->max_headers = 64;
	cfg->header_timeout_ms = 10000;
	cfg->request_timeout_ms = 30000;
	cfg->idle_timeout_ms = 5000;
	cfg->write_timeout_ms = 30000;
	cfg->max_requests_per_conn = 1000;
	cfg->sse_max_subscribers = 16;
	cfg->sse_max_backlog = 256 * 1024;
	cfg->sse_keepalive_ms = 15000;
}

static int check_config(const node_http_config *cfg)
{
	if (strnlen(cfg->listen, sizeof(cfg->listen)) == sizeof(cfg->listen))
		return FL_EINVAL;
	if (cfg->max_connections == 0 || cfg->max_headers == 0 || cfg->max_headers > 1024)
		return FL_EINVAL;
	/* A request line and a Host header must fit; offsets are 32-bit. */
	if (cfg->max_header_bytes < 256 || cfg->max_header_bytes > (1u << 24))
		return FL_EINVAL;
	if (cfg->max_url_bytes == 0 || cfg->max_url_bytes > cfg->max_header_bytes)
		return FL_EINVAL;
	if (cfg->header_timeout_ms == 0 || cfg->request_timeout_ms < cfg->header_timeout_ms ||
	    cfg->idle_timeout_ms == 0 || cfg->write_timeout_ms == 0)
		return FL_EINVAL;
	if (cfg->n_cors_origins > NODE_HTTP_CORS_MAX)
		return FL_EINVAL;
	for (uint32_t i = 0; i < cfg->n_cors_origins; i++) {
		size_t n = strnlen(cfg->cors_origins[i], NODE_HTTP_ORIGIN_MAX);
		if (n == 0 || n == NODE_HTTP_ORIGIN_MAX ||
		    strpbrk(cfg->cors_origins[i], "\r\n") != NULL)
			return FL_EINVAL;
	}
	/* A backlog must hold the stream's header and a keep-alive comment. */
	if (cfg->sse_max_subscribers == 0 || cfg->sse_max_backlog < 1024 ||
	    cfg->sse_keepalive_ms == 0)
		return FL_EINVAL;
	return FL_OK;
}

int node_http_init(node_http_server *s, uv_loop_t *loop, const node_http_config *cfg,
		   const node_http_route *routes, size_t n_routes, void *ctx)
{
	int rc;

	assert(s != NULL && loop != NULL && cfg != NULL);
	memset(s, 0, sizeof(*s));
	if ((rc = check_config(cfg)) != FL_OK)
		return rc;
	if ((rc = node__http_routes_check(routes, n_routes)) != FL_OK)
		return rc;
	s->loop = loop;
	s->cfg = *cfg;
	s->routes = routes;
	s->n_routes = n_routes;
	s->ctx = ctx;
	s->rbuf = fl_malloc(NODE__HTTP_READ_BUF);
	s->streams = fl_calloc(NODE_HTTP_STREAMS_MAX, sizeof(*s->streams));
	if (s->rbuf == NULL || s->streams == NULL) {
		fl_free(s->rbuf);
		fl_free(s->streams);
		memset(s, 0, sizeof(*s));
		return FL_ENOMEM;
	}
	/* Last: from here on only a close can take these back. */
	uv_tcp_init(loop, &s->listener);
	uv_timer_init(loop, &s->sse_timer);
	s->listener.data = s;
	s->sse_timer.data = s;
	s->handles = 2;
	return FL_OK;
}

/* "a.b.c.d:port", port 0..65535 in plain decimal. */
static int parse_listen(const char *addr, struct sockaddr_in *out)
{
	char ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(addr, ':');
	uint64_t port;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(ip))
		return FL_EPARSE;
	memcpy(ip, addr, (size_t)(colon - addr));
	ip[colon - addr] = '\0';
	if (fl_parse_u64(colon + 1, &port) != FL_OK || port > 65535)
		return FL_EPARSE;
	if (uv_ip4_addr(ip, (int)port, out) != 0)
		return FL_EPARSE;
	return FL_OK;
}

static void on_connection(uv_stream_t *listener, int status)
{
	node_http_server *s = listener->data;

	if (status < 0 || s->closing)
		return;
	/* A failed accept (out of descriptors, memory) costs this socket only. */
	(void)node__http_conn_accept(s);
}

int node_http_start(node_http_server *s)
{
	struct sockaddr_in sin;
	struct sockaddr_storage got;
	int len = sizeof(got), rc;

	assert(s != NULL && !s->started && !s->closing);
	if ((rc = parse_listen(s->cfg.listen, &sin)) != FL_OK)
		return rc;
	s->started = 1;
	if (uv_tcp_bind(&s->listener, (const struct sockaddr *)&sin, 0) != 0 ||
	    uv_listen((uv_stream_t *)&s->listener, NODE__HTTP_LISTEN_BACKLOG, on_connection) != 0)
		return FL_EIO;
	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len) != 0)
		return FL_EIO;
	s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	s->listening = 1;
	uv_timer_start(&s->sse_timer, node__http_sse_keepalive, s->cfg.sse_keepalive_ms,
		       s->cfg.sse_keepalive_ms);
	return FL_OK;
}

uint16_t node_http_port(const node_http_server *s)
{
	assert(s != NULL);
	return s->port;
}

static void finish(node_http_server *s)
{
	void (*cb)(node_http_server *) = s->close_cb;

	fl_free(s->rbuf);
	fl_free(s->streams);
	s->rbuf = NULL;
	s->streams = NULL;
	if (cb != NULL)
		cb(s);
}

void node__http_server_release(node_http_server *s)
{
	assert(s->handles > 0);
	if (--s->handles == 0 && s->closing)
		finish(s);
}

static void on_handle_closed(uv_handle_t *h)
{
	node__http_server_release(h->data);
}

void node_http_stop(node_http_server *s)
{
	assert(s != NULL);
	if (s->listener_closed)
		return;
	s->listener_closed = 1;
	s->listening = 0;
	uv_close((uv_handle_t *)&s->listener, on_handle_closed);
}

void node_http_close(node_http_server *s, void (*cb)(node_http_server *s))
{
	assert(s != NULL && !s->closing);
	s->closing = 1;
	s->close_cb = cb;
	/* Held to the end: a connection released below must not finish the
	 * server under us. */
	s->handles++;
	if (!s->listener_closed)
		node_http_stop(s);
	for (node_http_conn *c = s->conns; c != NULL; c = c->next)
		node__http_conn_close(c);
	uv_close((uv_handle_t *)&s->sse_timer, on_handle_closed);
	node__http_server_release(s);
}

void node_http_get_stats(const node_http_server *s, node_http_stats *out)
{
	assert(s != NULL && out != NULL);
	*out = s->stats;
}
