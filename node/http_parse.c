/*
 * node/http_parse.c — a request's bytes into one request or one error
 * (node/http_internal.h), on http-parser with our caps on top: the head's
 * raw bytes, the target, the header count, and the body, capped by the
 * route before a byte of it is read and stored only as it arrives.
 *
 * http-parser's own limit (80 KiB of head, a process-wide setting) stays
 * as a second wall; ours is per server and counts raw bytes, whitespace and
 * line ends included, because that is what a client makes us read.
 *
 * Transfer-Encoding in a request is refused (411): every client we serve
 * knows its body's length, and accepting one framing only leaves no room
 * for a request read one way here and another way by a proxy in front.
 */
#include "node/http_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEAD_MIN   512
#define BODY_MIN   (16 * 1024)
#define LAST_URL   1
#define LAST_FIELD 2
#define LAST_VALUE 3

static const struct {
	enum http_method from;
	node_http_method to;
} methods[] = {
    {HTTP_GET, NODE_HTTP_GET}, {HTTP_HEAD, NODE_HTTP_HEAD},     {HTTP_POST, NODE_HTTP_POST},
    {HTTP_PUT, NODE_HTTP_PUT}, {HTTP_DELETE, NODE_HTTP_DELETE}, {HTTP_OPTIONS, NODE_HTTP_OPTIONS},
};

static node__http_parser *of(http_parser *hp)
{
	return hp->data;
}

static void fail(node__http_parser *p, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(node__http_parser *p, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (p->status != 0)
		return;
	p->status = status;
	p->code = code;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
}

void node__http_parser_reject(node__http_parser *p, int status, const char *code, const char *fmt,
			      ...)
{
	va_list ap;

	if (p->reject_status != 0)
		return;
	p->reject_status = status;
	p->reject_code = code;
	va_start(ap, fmt);
	vsnprintf(p->reject_message, sizeof(p->reject_message), fmt, ap);
	va_end(ap);
}

/* Room for `more` bytes in the head, never past cap. */
static int head_reserve(node__http_parser *p, size_t more, size_t cap)
{
	size_t need = p->head_len + more, ncap;
	char *nh;

	if (need > cap)
		return FL_ETOOBIG;
	if (need <= p->head_cap)
		return FL_OK;
	ncap = p->head_cap < HEAD_MIN ? HEAD_MIN : p->head_cap;
	while (ncap < need)
		ncap *= 2;
	if (ncap > cap)
		ncap = cap;
	nh = fl_realloc(p->head, ncap);
	if (nh == NULL)
		return FL_ENOMEM;
	p->head = nh;
	p->head_cap = ncap;
	return FL_OK;
}

/* Appends a piece of the current string; a new string starts after a NUL
 * when the callback kind changes. */
static int head_append(node__http_parser *p, int kind, const char *at, size_t n)
{
	/* +2: this string's NUL, and the previous one's when it starts here. */
	int rc = head_reserve(p, n + 2, p->lim.max_header_bytes);

	if (rc == FL_ENOMEM) {
		fail(p, 500, "internal", "out of memory reading the request");
		return -1;
	}
	if (rc != FL_OK) {
		fail(p, 431, "headers_too_large", "request head over %u bytes",
		     (unsigned)p->lim.max_header_bytes);
		return -1;
	}
	if (p->last != kind) {
		if (p->last != 0)
			p->head[p->head_len++] = '\0';
		if (kind == LAST_FIELD) {
			if (p->n_hdr == p->lim.max_headers) {
				fail(p, 431, "headers_too_large", "more than %u header lines",
				     (unsigned)p->lim.max_headers);
				return -1;
			}
			p->hdr[p->n_hdr][0] = (uint32_t)p->head_len;
			p->hdr[p->n_hdr][1] = (uint32_t)p->head_len; /* until its value */
			p->n_hdr++;
		} else if (kind == LAST_VALUE) {
			p->hdr[p->n_hdr - 1][1] = (uint32_t)p->head_len;
		}
		p->last = kind;
	}
	memcpy(p->head + p->head_len, at, n);
	p->head_len += n;
	return 0;
}

static int on_url(http_parser *hp, const char *at, size_t n)
{
	node__http_parser *p = of(hp);

	if (p->url_len + n > p->lim.max_url_bytes) {
		fail(p, 414, "uri_too_long", "request target over %u bytes",
		     (unsigned)p->lim.max_url_bytes);
		return -1;
	}
	p->url_len += n;
	return head_append(p, LAST_URL, at, n);
}

static int on_field(http_parser *hp, const char *at, size_t n)
{
	return head_append(of(hp), LAST_FIELD, at, n);
}

static int on_value(http_parser *hp, const char *at, size_t n)
{
	return head_append(of(hp), LAST_VALUE, at, n);
}

static node_http_method method_of(unsigned m)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(methods); i++)
		if ((unsigned)methods[i].from == m)
			return methods[i].to;
	return NODE_HTTP_METHODS;
}

/* The head is whole: split the target, check framing, ask the route. */
static int on_headers_complete(http_parser *hp)
{
	node__http_parser *p = of(hp);
	char *q;

	/* The last string's NUL (and an empty value's, for a header whose value
	 * never came), then the params' scratch: over the head's cap by at most
	 * the target's length. */
	if (head_reserve(p, 2 + p->url_len + 1, p->lim.max_header_bytes + p->url_len + 3) !=
	    FL_OK) {
		fail(p, 500, "internal", "out of memory reading the request");
		return -1;
	}
	p->head[p->head_len++] = '\0';
	if (p->last == LAST_FIELD) {
		p->hdr[p->n_hdr - 1][1] = (uint32_t)p->head_len;
		p->head[p->head_len++] = '\0';
	}
	p->head_done = 1;
	p->method = method_of(hp->method);
	p->http10 = hp->http_major == 1 && hp->http_minor == 0;
	p->keep_alive = http_should_keep_alive(hp);
	if (hp->http_major != 1) {
		fail(p, 505, "version_not_supported", "HTTP/%u.%u: only HTTP/1.x is served",
		     hp->http_major, hp->http_minor);
		return -1;
	}
	if (p->url_len == 0 || p->head[0] != '/') {
		fail(p, 400, "bad_request", "the request target must be a path starting with '/'");
		return -1;
	}
	q = strchr(p->head, '?');
	if (q != NULL)
		*q++ = '\0';
	p->path = p->head;
	p->query = q != NULL ? q : p->head + p->url_len; /* the NUL after the target */
	p->scratch = p->head + p->head_len;
	if (hp->uses_transfer_encoding || (hp->flags & F_CHUNKED)) {
		fail(p, 411, "length_required",
		     "Transfer-Encoding is not accepted: send a Content-Length");
		return -1;
	}
	/* http-parser leaves content_length at its "none" value (all ones)
	 * when the header is absent: a request without it has no body. */
	p->content_length = (hp->flags & F_CONTENTLENGTH) ? hp->content_length : 0;
	p->has_body = p->content_length > 0;
	p->max_body = 0;
	if (p->on_head != NULL)
		(void)p->on_head(p->arg, p);
	if (p->status != 0)
		return -1;
	if (p->reject_status != 0 && p->has_body) {
		/* The body would have to be read to stay in step: not worth it. */
		fail(p, p->reject_status, p->reject_code, "%s", p->reject_message);
		return -1;
	}
	if (p->content_length > p->max_body) {
		if (p->max_body == 0)
			fail(p, 413, "payload_too_large", "this route takes no request body");
		else
			fail(p, 413, "payload_too_large",
			     "Content-Length %llu over this route's cap of %zu bytes",
			     (unsigned long long)p->content_length, p->max_body);
		return -1;
	}
	/* A client that asks waits for a go before it sends the body (curl
	 * does above 1 KiB); only a body we will read gets it. */
	{
		const char *e = node__http_parser_header(p, "Expect");
		p->expect_continue = p->has_body && p->reject_status == 0 && e != NULL &&
				     strcasecmp(e, "100-continue") == 0;
	}
	return 0;
}

static int on_body(http_parser *hp, const char *at, size_t n)
{
	node__http_parser *p = of(hp);

	/* Content-Length <= max_body was checked, and http-parser never gives
	 * more than Content-Length; checked again since it costs nothing. */
	if (n > p->content_length - p->body_len) {
		fail(p, 400, "bad_request", "body longer than its Content-Length");
		return -1;
	}
	if (p->body_len + n > p->body_cap) {
		/* Grow with what arrives, never to the announced length at once:
		 * a client must send X bytes to make us hold X. */
		size_t ncap = p->body_cap < BODY_MIN ? BODY_MIN : p->body_cap;
		uint8_t *nb;

		while (ncap < p->body_len + n)
			ncap *= 2;
		if (ncap > p->content_length)
			ncap = (size_t)p->content_length;
		nb = fl_realloc(p->body, ncap);
		if (nb == NULL) {
			fail(p, 500, "internal", "out of memory reading the body");
			return -1;
		}
		p->body = nb;
		p->body_cap = ncap;
	}
	memcpy(p->body + p->body_len, at, n);
	p->body_len += n;
	return 0;
}

static int on_message_complete(http_parser *hp)
{
	node__http_parser *p = of(hp);

	p->done = 1;
	p->keep_alive = http_should_keep_alive(hp);
	/* One request at a time: the bytes after it wait for its answer. */
	http_parser_pause(hp, 1);
	return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

int node__http_parser_init(node__http_parser *p, const node__http_limits *lim,
			   node__http_head_cb on_head, void *arg)
{
	assert(p != NULL && lim != NULL && lim->max_headers > 0);
	memset(p, 0, sizeof(*p));
	p->lim = *lim;
	p->method = NODE_HTTP_METHODS;
	p->on_head = on_head;
	p->arg = arg;
	p->hdr = fl_calloc(lim->max_headers, sizeof(*p->hdr));
	if (p->hdr == NULL)
		return FL_ENOMEM;
	http_parser_init(&p->hp, HTTP_REQUEST);
	p->hp.data = p;
	return FL_OK;
}

void node__http_parser_free(node__http_parser *p)
{
	fl_free(p->head);
	fl_free(p->body);
	fl_free(p->hdr);
	p->head = NULL;
	p->body = NULL;
	p->hdr = NULL;
}

void node__http_parser_next(node__http_parser *p)
{
	assert(p->done && p->status == 0);
	fl_free(p->body);
	p->body = NULL;
	p->body_len = p->body_cap = 0;
	p->head_len = p->url_len = p->n_hdr = p->raw_head = 0;
	p->last = p->head_done = p->done = p->expect_continue = 0;
	p->path = p->query = p->scratch = NULL;
	/* Not known until the next head: an error before it is no HEAD's. */
	p->method = NODE_HTTP_METHODS;
	p->http10 = p->has_body = 0;
	p->content_length = 0;
	p->max_body = 0;
	p->reject_status = 0;
	p->reject_code = NULL;
	p->reject_message[0] = '\0';
	http_parser_pause(&p->hp, 0);
}

/* http-parser's verdicts: a few have their own status, the rest are 400
 * with its words for what was wrong. */
static void parse_error(node__http_parser *p, enum http_errno e)
{
	if (e == HPE_HEADER_OVERFLOW)
		fail(p, 431, "headers_too_large", "request head too large");
	else if (e == HPE_INVALID_METHOD)
		fail(p, 400, "bad_request", "malformed request: unknown method");
	else
		fail(p, 400, "bad_request", "malformed request: %s", http_errno_description(e));
}

node__http_feed node__http_parser_feed(node__http_parser *p, const uint8_t *data, size_t n,
				       size_t *used)
{
	size_t off = 0;

	assert(!p->done);
	*used = 0;
	if (p->status != 0)
		return NODE__HTTP_ERROR;
	while (off < n) {
		size_t chunk = n - off, got;
		enum http_errno e;

		if (!p->head_done) {
			/* Feed no more than the head may still hold, so the cap
			 * counts raw bytes and stops the parser at it. */
			size_t room = p->lim.max_header_bytes - p->raw_head;
			if (room == 0) {
				fail(p, 431, "headers_too_large", "request head over %u bytes",
				     (unsigned)p->lim.max_header_bytes);
				break;
			}
			if (chunk > room)
				chunk = room;
		}
		got = http_parser_execute(&p->hp, &settings, (const char *)data + off, chunk);
		if (!p->head_done)
			p->raw_head += got;
		off += got;
		if (p->status != 0)
			break;
		e = HTTP_PARSER_ERRNO(&p->hp);
		if (e == HPE_PAUSED && p->done) {
			*used = off;
			return NODE__HTTP_DONE;
		}
		if (e != HPE_OK) {
			parse_error(p, e);
			break;
		}
		if (got != chunk) {
			fail(p, 400, "bad_request", "malformed request");
			break;
		}
	}
	*used = off;
	if (p->status != 0)
		return NODE__HTTP_ERROR;
	return NODE__HTTP_MORE;
}

const char *node__http_parser_header(const node__http_parser *p, const char *name)
{
	if (!p->head_done)
		return NULL;
	for (size_t i = 0; i < p->n_hdr; i++)
		if (strcasecmp(p->head + p->hdr[i][0], name) == 0)
			return p->head + p->hdr[i][1];
	return NULL;
}
