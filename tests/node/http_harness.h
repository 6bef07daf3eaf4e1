/*
 * tests/node/http_harness.h — a node_http_server on its own loop thread
 * for the HTTP tests, and blocking clients on raw sockets, so a test reads
 * as a client would while the server runs.
 *
 * Only the loop thread may touch the server: hh_call runs a function
 * there (woken by uv_async_send) and waits for it. Every client socket has
 * a receive timeout (HH_RECV_MS), so no read blocks a test for long.
 */
#ifndef FEDLEDGER_TESTS_NODE_HTTP_HARNESS_H
#define FEDLEDGER_TESTS_NODE_HTTP_HARNESS_H

#include <pthread.h>

#include "node/http.h"

#define HH_RECV_MS 5000

typedef struct {
	uv_loop_t loop;
	uv_async_t wake;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*fn)(void *arg);
	void *arg;
	int done;
	int closed; /* the server's close callback ran */
	node_http_server server;
	uint16_t port;
} hh_server;

/* Test defaults: the config default with 127.0.0.1:0 and short times. */
void hh_config(node_http_config *cfg);
/* Starts the server on its thread; aborts the test on failure. */
void hh_start(hh_server *h, const node_http_config *cfg, const node_http_route *routes, size_t n,
	      void *ctx);
/* Runs fn(arg) on the loop thread and returns once it has. */
void hh_call(hh_server *h, void (*fn)(void *arg), void *arg);
node_http_stats hh_stats(hh_server *h);
/* Polls cond on the loop thread every 10 ms until true (1) or ms pass (0). */
int hh_wait(hh_server *h, int (*cond)(hh_server *h, void *arg), void *arg, unsigned ms);
/* Closes the server, waits for its close callback, joins the thread and
 * closes the loop (which must have no handle left). */
void hh_stop(hh_server *h);

/* A blocking socket connected to 127.0.0.1:port; rcvbuf > 0 sets
 * SO_RCVBUF first (a client that reads slowly). -1 on failure. */
int hh_connect(uint16_t port, int rcvbuf);
int hh_send(int fd, const char *s);

typedef struct {
	int status;      /* 0 if no whole response came */
	char head[4096]; /* status line and headers, NUL-terminated */
	char *body;      /* Content-Length bytes, NUL-terminated; free() it */
	size_t body_len;
} hh_response;

/* Reads one response (head, then Content-Length bytes of body; 204 and
 * HEAD answers have none). Bytes past it stay in the socket. */
int hh_read_response(int fd, hh_response *r, int head_request);
void hh_response_free(hh_response *r);
/* The value of header name in r->head (case-insensitive) into out. */
int hh_header(const hh_response *r, const char *name, char *out, size_t cap);
/* 1 if the server closes fd (EOF or reset) within ms, reading and
 * dropping whatever comes first. */
int hh_closed_within(int fd, unsigned ms);

#endif
