/* tests/tools/test_testnet_http.c — fedledger-testnet's HTTP GET client
 * against a loopback server that answers one canned response per connection:
 * Content-Length and chunked bodies, a malformed status line, a body cut
 * short, nothing listening, and a server that never answers (the timeout). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/testnet.h"

typedef struct {
	int fd;
	const char *answer; /* NULL: accept, read, never answer */
} canned;

static void *serve_once(void *arg)
{
	canned *c = arg;
	int conn = accept(c->fd, NULL, NULL);
	char req[1024];
	if (conn < 0)
		return NULL;
	ssize_t n = read(conn, req, sizeof req);
	(void)n;
	if (c->answer)
		cr_assert_eq(write(conn, c->answer, strlen(c->answer)), (ssize_t)strlen(c->answer));
	else
		usleep(700000);
	close(conn);
	return NULL;
}

static uint16_t listen_any(int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(*fd, 0);
	cr_assert_eq(bind(*fd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(listen(*fd, 4), 0);
	cr_assert_eq(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

/* GET / against one canned answer; returns the client's rc. */
static int get(const char *answer, int timeout_ms, int *status, char **body, char *why)
{
	canned c = {.answer = answer};
	pthread_t th;
	uint16_t port = listen_any(&c.fd);
	cr_assert_eq(pthread_create(&th, NULL, serve_once, &c), 0);
	size_t blen;
	int rc = testnet_http_get(port, "/status", timeout_ms, status, body, &blen, why, 128);
	pthread_join(th, NULL);
	close(c.fd);
	return rc;
}

Test(testnet_http, content_length_and_chunked)
{
	int status;
	char *body, why[128];
	cr_assert_eq(
	    get("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloXX", 2000, &status, &body, why),
	    0, "%s", why);
	cr_assert_eq(status, 200);
	cr_assert_str_eq(body, "hello");
	free(body);
	cr_assert_eq(get("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
			 2000, &status, &body, why),
		     0, "%s", why);
	cr_assert_eq(status, 404);
	cr_assert_str_eq(body, "{\"a\":1}");
	free(body);
}

Test(testnet_http, malformed_answers_refused)
{
	int status;
	char *body = NULL, why[128];
	cr_assert_eq(get("SMTP ready\r\n\r\n", 2000, &status, &body, why), -1);
	cr_assert_not_null(strstr(why, "malformed"), "%s", why);
	cr_assert_eq(
	    get("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", 2000, &status, &body, why),
	    -1);
	cr_assert_not_null(strstr(why, "cut short"), "%s", why);
	cr_assert_eq(get("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 2000,
			 &status, &body, why),
		     -1);
	cr_assert_not_null(strstr(why, "chunked"), "%s", why);
	cr_assert_null(body);
}

Test(testnet_http, timeout_and_refused)
{
	int status;
	char *body = NULL, why[128];
	cr_assert_eq(get(NULL, 200, &status, &body, why), -1);
	cr_assert_not_null(strstr(why, "timeout"), "%s", why);
	int fd;
	uint16_t port = listen_any(&fd);
	close(fd);
	cr_assert_eq(testnet_http_get(port, "/", 200, &status, &body, NULL, why, sizeof why), -1);
	cr_assert_not_null(strstr(why, "cannot connect"), "%s", why);
}
