/*
 * node/http_route.c — the route table (node/http.h): pattern checks at
 * init, matching segment by segment, {param} values percent-decoded, and
 * the request accessors handlers use (params, headers, query).
 *
 * Tables are small (tens of routes), so a scan in table order is both the
 * fastest and the easiest rule to read: the first match wins.
 */
#include "node/http_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const char *const method_names[NODE_HTTP_METHODS] = {
    [NODE_HTTP_GET] = "GET", [NODE_HTTP_HEAD] = "HEAD",     [NODE_HTTP_POST] = "POST",
    [NODE_HTTP_PUT] = "PUT", [NODE_HTTP_DELETE] = "DELETE", [NODE_HTTP_OPTIONS] = "OPTIONS",
};

const char *node_http_method_name(node_http_method m)
{
	if ((unsigned)m >= NODE_HTTP_METHODS)
		return NULL;
	return method_names[m];
}

/* A pattern segment's characters: unreserved ones (RFC 3986), nothing a
 * client would have to escape. */
static int literal_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

static int pattern_check(const char *pat)
{
	size_t params = 0;
	const char *p = pat;

	if (pat == NULL || pat[0] != '/')
		return FL_EINVAL;
	if (pat[1] == '\0')
		return FL_OK; /* "/" */
	while (*p == '/') {
		const char *seg = ++p, *end = seg;

		while (*end != '\0' && *end != '/')
			end++;
		if (end == seg)
			return FL_EINVAL; /* empty segment or trailing '/' */
		if (*seg == '{') {
			if (end - seg < 3 || end[-1] != '}' || ++params > NODE_HTTP_PARAMS_MAX)
				return FL_EINVAL;
			for (const char *c = seg + 1; c < end - 1; c++)
				if (!literal_char(*c))
					return FL_EINVAL;
		} else {
			for (const char *c = seg; c < end; c++)
				if (!literal_char(*c))
					return FL_EINVAL;
		}
		p = end;
	}
	return *p == '\0' ? FL_OK : FL_EINVAL;
}

int node__http_routes_check(const node_http_route *routes, size_t n)
{
	if (n > 0 && routes == NULL)
		return FL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)routes[i].method >= NODE_HTTP_METHODS || routes[i].handler == NULL)
			return FL_EINVAL;
		/* OPTIONS is the server's own (CORS preflight). */
		if (routes[i].method == NODE_HTTP_OPTIONS)
			return FL_EINVAL;
		if (pattern_check(routes[i].pattern) != FL_OK)
			return FL_EINVAL;
	}
	return FL_OK;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int node__http_decode(char *out, size_t cap, const char *src, size_t n, int plus_space)
{
	size_t o = 0;

	assert(cap > 0);
	for (size_t i = 0; i < n; i++) {
		char c = src[i];

		if (c == '%') {
			int hi, lo;
			if (n - i < 3 || (hi = hex_val(src[i + 1])) < 0 ||
			    (lo = hex_val(src[i + 2])) < 0)
				return FL_EPARSE;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0')
			return FL_EPARSE;
		if (o + 1 >= cap)
			return FL_ETOOBIG;
		out[o++] = c;
	}
	out[o] = '\0';
	return FL_OK;
}

/* Matches path against one pattern; params point into path (lengths in
 * *lens) until decoded. */
static int pattern_match(const char *pat, const char *path, node__http_match *m,
			 size_t lens[NODE_HTTP_PARAMS_MAX])
{
	const char *p = pat, *q = path;

	m->n_params = 0;
	if (strcmp(pat, "/") == 0)
		return strcmp(path, "/") == 0;
	while (*p == '/') {
		const char *pseg = ++p, *pend = pseg, *qseg, *qend;

		if (*q != '/')
			return 0;
		qseg = ++q;
		while (*pend != '\0' && *pend != '/')
			pend++;
		qend = qseg;
		while (*qend != '\0' && *qend != '/')
			qend++;
		if (qend == qseg)
			return 0;
		if (*pseg == '{') {
			size_t k = m->n_params++;
			m->params[k].name = pseg + 1;
			m->params[k].name_len = (size_t)(pend - pseg - 2);
			m->params[k].value = qseg;
			lens[k] = (size_t)(qend - qseg);
		} else if ((size_t)(pend - pseg) != (size_t)(qend - qseg) ||
			   memcmp(pseg, qseg, (size_t)(pend - pseg)) != 0) {
			return 0;
		}
		p = pend;
		q = qend;
	}
	return *q == '\0';
}

/* A matched route and where its params are in the path. */
typedef struct {
	size_t route; /* SIZE_MAX = none */
	node__http_match m;
	size_t lens[NODE_HTTP_PARAMS_MAX];
} candidate;

int node__http_route_match(const node_http_route *routes, size_t n, node_http_method method,
			   const char *path, char *scratch, node__http_match *m)
{
	candidate exact = {.route = SIZE_MAX}, get = {.route = SIZE_MAX}, *pick;
	node__http_match cand;
	size_t lens[NODE_HTTP_PARAMS_MAX];
	unsigned allow = 0;
	char *out = scratch;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		candidate *slot = NULL;

		if (!pattern_match(routes[i].pattern, path, &cand, lens))
			continue;
		allow |= 1u << routes[i].method;
		if (routes[i].method == NODE_HTTP_GET)
			allow |= 1u << NODE_HTTP_HEAD;
		if (exact.route == SIZE_MAX && routes[i].method == method)
			slot = &exact;
		else if (get.route == SIZE_MAX && method == NODE_HTTP_HEAD &&
			 routes[i].method == NODE_HTTP_GET)
			slot = &get; /* HEAD is served by GET unless a HEAD route comes */
		if (slot != NULL) {
			slot->route = i;
			slot->m = cand;
			memcpy(slot->lens, lens, sizeof(lens));
		}
	}
	if (allow == 0)
		return FL_ENOTFOUND;
	pick = exact.route != SIZE_MAX ? &exact : get.route != SIZE_MAX ? &get : NULL;
	m->allow = allow;
	if (pick == NULL)
		return FL_OK;
	m->route = &routes[pick->route];
	m->n_params = pick->m.n_params;
	for (size_t k = 0; k < m->n_params; k++) {
		size_t len = pick->lens[k];

		m->params[k].name = pick->m.params[k].name;
		m->params[k].name_len = pick->m.params[k].name_len;
		/* Decoding never lengthens: the path's length is room enough. */
		if (node__http_decode(out, len + 1, pick->m.params[k].value, len, 0) != FL_OK) {
			memset(m, 0, sizeof(*m));
			m->allow = allow;
			return FL_EPARSE;
		}
		m->params[k].value = out;
		out += strlen(out) + 1;
	}
	return FL_OK;
}

void node__http_allow_string(char *out, size_t cap, unsigned allow)
{
	size_t len = 0;

	assert(cap >= 64);
	out[0] = '\0';
	for (unsigned m = 0; m < NODE_HTTP_METHODS; m++) {
		if (!(allow & (1u << m)))
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "",
					method_names[m]);
	}
}

/* ------------------------------------------------------------ accessors */

const char *node_http_param(const node_http_request *req, const char *name)
{
	size_t n;

	assert(req != NULL && name != NULL);
	n = strlen(name);
	for (size_t i = 0; i < req->n_params; i++)
		if (req->params[i].name_len == n && memcmp(req->params[i].name, name, n) == 0)
			return req->params[i].value;
	return NULL;
}

const char *node_http_header(const node_http_request *req, const char *name)
{
	assert(req != NULL && name != NULL);
	return node__http_parser_header(req->head, name);
}

int node_http_query(const node_http_request *req, const char *name, char *out, size_t cap)
{
	const char *q;
	size_t name_len;

	assert(req != NULL && name != NULL && out != NULL && cap > 0);
	q = req->query;
	name_len = strlen(name);
	while (*q != '\0') {
		const char *end = strchr(q, '&'), *eq;
		size_t len;

		if (end == NULL)
			end = q + strlen(q);
		eq = memchr(q, '=', (size_t)(end - q));
		len = (size_t)((eq != NULL ? eq : end) - q);
		/* Names are compared raw: ours never need escaping. */
		if (len == name_len && memcmp(q, name, len) == 0) {
			const char *v = eq != NULL ? eq + 1 : end;
			return node__http_decode(out, cap, v, (size_t)(end - v), 1);
		}
		q = *end == '&' ? end + 1 : end;
	}
	return FL_ENOTFOUND;
}
