/*
 * node/http_sse.c — Server-Sent Events (docs/http.md, "Events"): named
 * streams, each a list of subscribed connections; an event is formatted
 * once into a reference-counted buffer that every subscriber's write
 * shares, so a publish costs one copy whatever the number of readers.
 *
 * A subscriber's memory is bounded by sse_max_backlog: what libuv still
 * holds for it (its write queue) plus the next event may not pass it, or it
 * is dropped. The socket's own buffers come on top, and are the kernel's.
 */
#include "node/http_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEPALIVE ": keep-alive\n\n"

node__http_shared *node__http_shared_new(size_t n)
{
	node__http_shared *b = fl_malloc(sizeof(*b) + n);

	if (b == NULL)
		return NULL;
	b->refs = 1;
	b->n = n;
	return b;
}

void node__http_shared_unref(node__http_shared *b)
{
	assert(b->refs > 0);
	if (--b->refs == 0)
		fl_free(b);
}

/* Stream names: lower case (they come from the node's code, but are
 * checked like input since they end up on the wire). Event names may have
 * capitals. */
static int name_ok(const char *name, int lower_only)
{
	size_t n = 0;

	if (name == NULL)
		return 0;
	for (; name[n] != '\0'; n++) {
		char c = name[n];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
			 c == '-' || (!lower_only && c >= 'A' && c <= 'Z');
		if (!ok || n == NODE_HTTP_STREAM_MAX)
			return 0;
	}
	return n > 0;
}

/* The stream of that name, made if absent and create is set; NULL when
 * absent, or when every slot is taken. */
static node__http_stream *stream_find(node_http_server *s, const char *name, int create)
{
	node__http_stream *free_slot = NULL;

	for (size_t i = 0; i < NODE_HTTP_STREAMS_MAX; i++) {
		node__http_stream *st = &s->streams[i];
		if (st->name[0] == '\0') {
			if (free_slot == NULL)
				free_slot = st;
		} else if (strcmp(st->name, name) == 0) {
			return st;
		}
	}
	if (!create || free_slot == NULL)
		return NULL;
	snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
	free_slot->next_id = 1;
	return free_slot;
}

static void join(node__http_stream *st, node_http_conn *c)
{
	c->stream = st;
	c->sub_prev = NULL;
	c->sub_next = st->subs;
	if (st->subs != NULL)
		st->subs->sub_prev = c;
	st->subs = c;
	st->n_subs++;
	c->server->stats.subscribers++;
}

void node__http_sse_leave(node_http_conn *c)
{
	node__http_stream *st = c->stream;

	assert(st != NULL && st->n_subs > 0);
	if (c->sub_prev != NULL)
		c->sub_prev->sub_next = c->sub_next;
	else
		st->subs = c->sub_next;
	if (c->sub_next != NULL)
		c->sub_next->sub_prev = c->sub_prev;
	c->sub_prev = c->sub_next = NULL;
	c->stream = NULL;
	st->n_subs--;
	c->server->stats.subscribers--;
}

int node_http_sse_start(node_http_exchange *ex, const char *stream)
{
	node_http_conn *c;
	node_http_server *s;
	node__http_stream *st;
	node__http_shared *b;
	uint8_t *head;
	size_t n;
	int rc;

	assert(ex != NULL && ex->open);
	c = ex->conn;
	s = c->server;
	if (!name_ok(stream, 1))
		return FL_EINVAL;
	if (c->state != CONN_HANDLING)
		return FL_EIO;
	if (c->parser.method == NODE_HTTP_HEAD) {
		/* A HEAD learns the type and gets no stream. */
		return node_http_respond(ex, 200, "text/event-stream", NULL, 0);
	}
	if (s->stats.subscribers >= s->cfg.sse_max_subscribers)
		return FL_ETOOBIG;
	if ((st = stream_find(s, stream, 1)) == NULL)
		return FL_ETOOBIG;
	node__http_head h = {
	    .status = 200,
	    .content_type = "text/event-stream",
	    .no_length = 1,
	    .keep_alive = 1, /* no Content-Length: the stream ends with the connection */
	    .origin = c->origin,
	    .extra = "Cache-Control: no-cache\r\n",
	};
	if ((rc = node__http_response_build(&head, &n, &h, NULL, 0)) != FL_OK)
		return rc;
	b = node__http_shared_new(n);
	if (b == NULL) {
		fl_free(head);
		return FL_ENOMEM;
	}
	memcpy(b->data, head, n);
	fl_free(head);
	rc = node__http_conn_write_shared(c, b);
	node__http_shared_unref(b);
	if (rc != FL_OK)
		return rc;
	/* From here the connection is the stream's: no deadline, no parsing. */
	c->state = CONN_SSE;
	uv_timer_stop(&c->timer);
	join(st, c);
	node__http_exchange_end(ex);
	return FL_OK;
}

/* b to every subscriber of st; one past its backlog is dropped. */
static void send_all(node_http_server *s, node__http_stream *st, node__http_shared *b)
{
	node_http_conn *c = st->subs, *next;

	for (; c != NULL; c = next) {
		int rc;

		next = c->sub_next; /* a close takes c off the list */
		rc = node__http_conn_write_shared(c, b);
		if (rc == FL_ETOOBIG)
			s->stats.sse_dropped++;
		if (rc != FL_OK)
			node__http_conn_close(c);
	}
}

int node_http_sse_publish(node_http_server *s, const char *stream, const char *event,
			  const json_t *data)
{
	node__http_stream *st;
	node__http_shared *b;
	char *text;
	uint64_t id;
	size_t n;
	int len;

	assert(s != NULL && data != NULL);
	if (!name_ok(stream, 1) || !name_ok(event, 0))
		return FL_EINVAL;
	if ((st = stream_find(s, stream, 1)) == NULL)
		return FL_ETOOBIG;
	id = st->next_id++;
	if (st->n_subs == 0)
		return FL_OK;
	/* Compact JSON has no raw line break (jansson escapes them in
	 * strings), so the data is one "data:" line. */
	text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL)
		return FL_ENOMEM;
	n = strlen(text) + sizeof("id: \nevent: \ndata: \n\n") + 20 + strlen(event);
	if (n > s->cfg.sse_max_backlog) {
		/* It would drop every subscriber: the event is the problem. */
		free(text);
		return FL_ETOOBIG;
	}
	b = node__http_shared_new(n);
	if (b == NULL) {
		free(text);
		return FL_ENOMEM;
	}
	len = snprintf((char *)b->data, n, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", id, event,
		       text);
	free(text);
	assert(len > 0 && (size_t)len < n);
	b->n = (size_t)len;
	send_all(s, st, b);
	node__http_shared_unref(b);
	return FL_OK;
}

void node__http_sse_keepalive(uv_timer_t *t)
{
	node_http_server *s = t->data;
	node__http_shared *b;

	if (s->stats.subscribers == 0)
		return;
	b = node__http_shared_new(sizeof(KEEPALIVE) - 1);
	if (b == NULL)
		return; /* the next tick tries again */
	memcpy(b->data, KEEPALIVE, sizeof(KEEPALIVE) - 1);
	for (size_t i = 0; i < NODE_HTTP_STREAMS_MAX; i++)
		if (s->streams[i].n_subs > 0)
			send_all(s, &s->streams[i], b);
	node__http_shared_unref(b);
}
