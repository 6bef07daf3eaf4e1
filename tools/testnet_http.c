/* tools/testnet_http.c — a small blocking HTTP/1.1 GET client for the nodes of
 * a testnet on 127.0.0.1. The response is read whole (bounded by
 * TESTNET_HTTP_MAX) and parsed by hand: status line, headers, then a body
 * framed by Content-Length, chunked encoding or the end of the connection. */
#include "tools/testnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int http_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int rc;
	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc > 0 ? 0 : -1;
}

static int http_connect(uint16_t port, int timeout_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return fd;
	int soerr = 0;
	socklen_t len = sizeof soerr;
	if (errno != EINPROGRESS || http_wait(fd, POLLOUT, timeout_ms) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Dechunks body in place; -1 when the framing is malformed or incomplete. */
static int http_dechunk(char *body, size_t len, size_t *out_len)
{
	size_t r = 0, w = 0;
	for (;;) {
		char *end;
		if (r >= len)
			return -1;
		errno = 0;
		unsigned long n = strtoul(body + r, &end, 16);
		if (end == body + r || errno != 0 || n > len)
			return -1;
		char *crlf = memmem(end, len - (size_t)(end - body), "\r\n", 2);
		if (!crlf)
			return -1;
		r = (size_t)(crlf - body) + 2;
		if (n == 0)
			break;
		if (n > len - r || len - r - n < 2)
			return -1;
		memmove(body + w, body + r, n);
		w += n;
		r += n + 2;
	}
	*out_len = w;
	return 0;
}

int testnet_http_get(uint16_t port, const char *path, int timeout_ms, int *status, char **body,
		     size_t *body_len, char *why, size_t whylen)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = -1;
	int fd = http_connect(port, timeout_ms);
	if (fd < 0) {
		snprintf(why, whylen, "127.0.0.1:%u: cannot connect", port);
		return -1;
	}
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n", path,
			 port);
	if (n < 0 || (size_t)n >= sizeof req) {
		snprintf(why, whylen, "path too long");
		goto cleanup;
	}
	for (size_t off = 0; off < (size_t)n;) {
		if (http_wait(fd, POLLOUT, timeout_ms) != 0) {
			snprintf(why, whylen, "127.0.0.1:%u: write timeout", port);
			goto cleanup;
		}
		ssize_t k = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, whylen, "127.0.0.1:%u: %s", port, strerror(errno));
			goto cleanup;
		}
		if (k > 0)
			off += (size_t)k;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= TESTNET_HTTP_MAX) {
				snprintf(why, whylen, "response larger than %u bytes",
					 TESTNET_HTTP_MAX);
				goto cleanup;
			}
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				snprintf(why, whylen, "out of memory");
				goto cleanup;
			}
			buf = nb;
			cap = ncap;
		}
		if (http_wait(fd, POLLIN, timeout_ms) != 0) {
			snprintf(why, whylen, "127.0.0.1:%u: read timeout", port);
			goto cleanup;
		}
		ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0) {
			snprintf(why, whylen, "127.0.0.1:%u: %s", port, strerror(errno));
			goto cleanup;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	if (!buf) {
		snprintf(why, whylen, "127.0.0.1:%u: empty response", port);
		goto cleanup;
	}
	buf[len] = '\0';
	char *head_end = memmem(buf, len, "\r\n\r\n", 4);
	int st;
	if (!head_end || sscanf(buf, "HTTP/1.%*1[01] %3d", &st) != 1 || st < 100 || st > 599) {
		snprintf(why, whylen, "127.0.0.1:%u: malformed response", port);
		goto cleanup;
	}
	*head_end = '\0';
	char *b = head_end + 4;
	size_t blen = len - (size_t)(b - buf);
	int chunked = 0;
	long clen = -1;
	for (char *line = strstr(buf, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, "content-length:", 15) == 0)
			clen = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
			 strcasestr(line, "chunked"))
			chunked = 1;
	}
	if (chunked) {
		if (http_dechunk(b, blen, &blen) != 0) {
			snprintf(why, whylen, "127.0.0.1:%u: malformed chunked body", port);
			goto cleanup;
		}
	} else if (clen >= 0) {
		if ((size_t)clen > blen) {
			snprintf(why, whylen, "127.0.0.1:%u: body cut short", port);
			goto cleanup;
		}
		blen = (size_t)clen;
	}
	char *out = malloc(blen + 1);
	if (!out) {
		snprintf(why, whylen, "out of memory");
		goto cleanup;
	}
	memcpy(out, b, blen);
	out[blen] = '\0';
	*status = st;
	*body = out;
	if (body_len)
		*body_len = blen;
	rc = 0;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

json_t *testnet_http_get_json(uint16_t port, const char *path, int timeout_ms)
{
	int status;
	char *body;
	size_t blen;
	char why[128];
	if (testnet_http_get(port, path, timeout_ms, &status, &body, &blen, why, sizeof why) != 0)
		return NULL;
	json_t *j = NULL;
	if (status == 200) {
		j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
		if (j && !json_is_object(j)) {
			json_decref(j);
			j = NULL;
		}
	}
	free(body);
	return j;
}

int64_t testnet_json_int(const json_t *v)
{
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return -1;
}
