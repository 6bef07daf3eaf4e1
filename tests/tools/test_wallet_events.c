/* tests/tools/test_wallet_events.c — the wallet's /v1/events subscriber
 * and HTTP client against a loopback server with canned answers: the tx
 * event that ends a wait (after block events, a comment and an overlong
 * line), a refused subscription, a stream that ends, and the node's error
 * object turned into its words. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/wallet.h"

typedef struct {
	int fd;
	const char *head; /* sent at once */
	const char *body; /* sent 200 ms later; NULL for none */
	int linger_ms;    /* before closing */
} canned;

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t k = write(fd, s, n);
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

static void *serve_once(void *arg)
{
	canned *c = arg;
	int conn = accept(c->fd, NULL, NULL);
	char req[2048];

	if (conn < 0)
		return NULL;
	ssize_t n = read(conn, req, sizeof(req));
	(void)n;
	send_all(conn, c->head);
	if (c->body != NULL) {
		usleep(200 * 1000);
		send_all(conn, c->body);
	}
	usleep((useconds_t)c->linger_ms * 1000);
	close(conn);
	return NULL;
}

static void serve(canned *c, pthread_t *th, wallet *w)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(c->fd, 0);
	cr_assert_eq(bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(c->fd, 4), 0);
	cr_assert_eq(getsockname(c->fd, (struct sockaddr *)&sa, &len), 0);
	wallet_init(w);
	snprintf(w->node, sizeof(w->node), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	cr_assert_eq(pthread_create(th, NULL, serve_once, c), 0);
}

static void done(canned *c, pthread_t th)
{
	pthread_join(th, NULL);
	close(c->fd);
}

static void setup(void)
{
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
}

static void teardown(void)
{
	curl_global_cleanup();
}

TestSuite(wallet_events, .init = setup, .fini = teardown);

#define SSE_HEAD                                                                                   \
	"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"

Test(wallet_events, the_tx_event_ends_the_wait)
{
	static char body[8192];
	char want_hex[FL_HASH_HEX_LEN + 1], other_hex[FL_HASH_HEX_LEN + 1], err[WALLET_ERR_MAX];
	fl_hash want, other;
	char big[5001];

	fl_sha256(&want, "ours", 4);
	fl_sha256(&other, "theirs", 6);
	fl_hash_to_hex(want_hex, &want);
	fl_hash_to_hex(other_hex, &other);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(body, sizeof(body),
		 "id: 1\nevent: block\ndata: {\"height\":6,\"hash\":\"%s\"}\n\n"
		 ": keep-alive\n\n"
		 "id: 2\nevent: tx\ndata: {\"hash\":\"%s\",\"height\":6}\n\n"
		 "id: 3\nevent: tx\ndata: %s\n\n"
		 "id: 4\r\nevent: block\r\ndata: {\"height\":7}\r\n\r\n"
		 "id: 5\nevent: tx\ndata: {\"hash\":\"%s\",\"height\":7,\"result\":\"ok\"}\n\n",
		 other_hex, other_hex, big, want_hex);
	canned c = {.head = SSE_HEAD, .body = body, .linger_ms = 500};
	pthread_t th;
	wallet w;
	serve(&c, &th, &w);

	wallet_events *e = NULL;
	cr_assert_eq(wallet_events_open(&e, &w, err, sizeof(err)), FL_OK, "%s", err);
	wallet_events_want(e, &want);
	uint64_t height = 0, tip = 0;
	int rc = 0;
	for (int i = 0; i < 50 && rc == 0; i++)
		rc = wallet_events_wait(e, 100, &height, &tip);
	cr_assert_eq(rc, 1);
	cr_assert_eq(height, 7);
	cr_assert_eq(tip, 7);
	wallet_events_close(e);
	done(&c, th);
}

Test(wallet_events, refused_or_ended_streams)
{
	char err[WALLET_ERR_MAX];
	wallet_events *e = NULL;
	pthread_t th;
	wallet w;

	canned refused = {.head = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"};
	serve(&refused, &th, &w);
	cr_assert_eq(wallet_events_open(&e, &w, err, sizeof(err)), FL_EIO);
	cr_assert_null(e);
	cr_assert_not_null(strstr(err, "refused the subscription"), "%s", err);
	done(&refused, th);

	/* The stream closes before our tx: the caller is told to poll. */
	canned ended = {.head = SSE_HEAD, .body = "event: block\ndata: {\"height\":3}\n\n"};
	serve(&ended, &th, &w);
	cr_assert_eq(wallet_events_open(&e, &w, err, sizeof(err)), FL_OK, "%s", err);
	fl_hash h;
	fl_sha256(&h, "x", 1);
	wallet_events_want(e, &h);
	uint64_t height = 0, tip = 0;
	int rc = 0;
	for (int i = 0; i < 50 && rc == 0; i++)
		rc = wallet_events_wait(e, 100, &height, &tip);
	cr_assert_eq(rc, FL_EIO);
	cr_assert_eq(tip, 3);
	wallet_events_close(e);
	done(&ended, th);
}

Test(wallet_events, node_errors_in_its_words)
{
	char err[WALLET_ERR_MAX];
	long status = 0;
	pthread_t th;
	wallet w;

	canned c = {.head = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
			    "Content-Length: 58\r\n\r\n"
			    "{\"error\":{\"code\":\"not_found\",\"message\":\"no such account\"}}"};
	serve(&c, &th, &w);
	json_t *o = wallet_get(&w, "/v1/accounts/x", &status, err, sizeof(err));
	cr_assert_null(o);
	cr_assert_eq(status, 404);
	cr_assert_str_eq(err, "node: 404 not_found: no such account");
	done(&c, th);

	canned bad = {.head = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 4\r\n\r\noops"};
	serve(&bad, &th, &w);
	cr_assert_null(wallet_get(&w, "/status", &status, err, sizeof(err)));
	cr_assert_str_eq(err, "node: HTTP 502 with no JSON answer");
	done(&bad, th);
}
