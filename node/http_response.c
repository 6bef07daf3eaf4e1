/*
 * node/http_response.c — the bytes of an answer: status line, the headers
 * the server always sets, the JSON error body, and the CORS decision.
 */
#include "node/http_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int status;
	const char *reason;
} reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {400, "Bad Request"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *node__http_reason(int status)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(reasons); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

/* Status line and headers; the longest is bounded by what goes in, all of
 * it ours or checked (content type and extra from the handler's code, the
 * origin from the config). */
#define HEAD_FIXED 512

int node__http_response_build(uint8_t **out, size_t *n, const node__http_head *h, const void *body,
			      size_t body_len)
{
	size_t ct = h->content_type != NULL ? strlen(h->content_type) : 0;
	size_t origin = h->origin != NULL ? strlen(h->origin) : 0;
	size_t extra = h->extra != NULL ? strlen(h->extra) : 0;
	size_t cap = HEAD_FIXED + ct + origin + extra, len;
	int w;
	char *p;

	assert(h->status >= 100 && h->status <= 599);
	*out = NULL;
	*n = 0;
	/* One uv_buf holds the answer: its length is 32-bit. */
	if (body_len > NODE_HTTP_ANSWER_MAX)
		return FL_ETOOBIG;
	if (!h->head_only && !h->no_length)
		cap += body_len;
	p = fl_malloc(cap);
	if (p == NULL)
		return FL_ENOMEM;
	w = snprintf(p, cap, "HTTP/1.1 %d %s\r\n", h->status, node__http_reason(h->status));
	len = (size_t)w;
	if (h->content_type != NULL)
		len +=
		    (size_t)snprintf(p + len, cap - len, "Content-Type: %s\r\n", h->content_type);
	if (!h->no_length)
		len += (size_t)snprintf(p + len, cap - len, "Content-Length: %zu\r\n",
					h->content_length);
	if (!h->keep_alive)
		len += (size_t)snprintf(p + len, cap - len, "Connection: close\r\n");
	else if (h->http10)
		len += (size_t)snprintf(p + len, cap - len, "Connection: keep-alive\r\n");
	if (h->origin != NULL)
		len += (size_t)snprintf(p + len, cap - len,
					"Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n",
					h->origin);
	/* A JSON error must never be sniffed into something a browser runs. */
	len += (size_t)snprintf(p + len, cap - len, "X-Content-Type-Options: nosniff\r\n");
	if (h->extra != NULL)
		len += (size_t)snprintf(p + len, cap - len, "%s", h->extra);
	len += (size_t)snprintf(p + len, cap - len, "\r\n");
	assert(len < cap);
	if (!h->head_only && !h->no_length && body_len > 0) {
		memcpy(p + len, body, body_len);
		len += body_len;
	}
	*out = (uint8_t *)p;
	*n = len;
	return FL_OK;
}

/* An error's words as printable ASCII, at most ERROR_TEXT_MAX bytes: a
 * handler's message may quote what a client sent, which need not be UTF-8
 * (jansson refuses that) or short. */
#define ERROR_TEXT_MAX 256

static void printable(char *out, const char *in)
{
	size_t i = 0;

	for (; i < ERROR_TEXT_MAX - 1 && in[i] != '\0'; i++) {
		unsigned char c = (unsigned char)in[i];
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
}

int node__http_error_body(char **out, size_t *n, const char *code, const char *message)
{
	char code_text[ERROR_TEXT_MAX], message_text[ERROR_TEXT_MAX];
	json_t *j;
	char *s;

	printable(code_text, code);
	printable(message_text, message);
	j = json_pack("{s:{s:s,s:s}}", "error", "code", code_text, "message", message_text);

	*out = NULL;
	*n = 0;
	if (j == NULL)
		return FL_ENOMEM;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return FL_ENOMEM;
	/* jansson allocates with malloc: hand back our allocator's copy. */
	*n = strlen(s);
	*out = fl_malloc(*n + 1);
	if (*out == NULL) {
		free(s);
		return FL_ENOMEM;
	}
	memcpy(*out, s, *n + 1);
	free(s);
	return FL_OK;
}

const char *node__http_cors_origin(const node_http_config *cfg, const char *origin)
{
	if (origin == NULL || origin[0] == '\0')
		return NULL;
	for (uint32_t i = 0; i < cfg->n_cors_origins; i++) {
		if (strcmp(cfg->cors_origins[i], "*") == 0)
			return "*";
		if (strcmp(cfg->cors_origins[i], origin) == 0)
			return cfg->cors_origins[i];
	}
	return NULL;
}
