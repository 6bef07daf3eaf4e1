/*
 * tests/node/test_rpc_api.c — the node's HTTP API (node/rpc.h) on a real
 * server: a store with a genesis and blocks holding transfers, each
 * endpoint's answer read as JSON, malformed ids, POST /v1/txs accepted and
 * refused naming its reason, deferral while the mempool is paused, SSE
 * block and tx events.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/rpc.h"
#include "tests/node/http_harness.h"
#include "tests/node/mempool_helpers.h"

static hh_server srv;
static node_rpc rpc;
static node_mempool *pool;
static node_blobstore *blobs;
static node_metrics metrics;
static char blob_dir[128];
static fl_hash tx_hash[2]; /* the transfers in block 1 */
static int admitted;

static void live(void *node, node_rpc_live *out)
{
	(void)node;
	out->peers = 3;
	out->cons_height = 4;
	out->cons_round = 1;
	out->cons_step = 2;
	out->validator = 1;
}

static void on_admitted(void *node, const uint8_t *tx, size_t n, const fl_hash *hash)
{
	fl_hash h;

	(void)node;
	fl_sha256(&h, tx, n);
	cr_assert_eq(fl_hash_cmp(&h, hash), 0);
	admitted++;
}

static void setup(void)
{
	node_http_config cfg;
	const node_http_route *routes;
	chain_tx txs[2];
	size_t n;

	mph_open();
	mph_transfer(&txs[0], MPH_A, MPH_B, 100, 1);
	mph_transfer(&txs[1], MPH_A, MPH_C, 50, 2);
	cr_assert_eq(chain_tx_hash(&tx_hash[0], &txs[0]), 0);
	cr_assert_eq(chain_tx_hash(&tx_hash[1], &txs[1]), 0);
	cr_assert_eq(fixture_next_block(&mph_fx, txs, 2), 0, "%s", mph_fx.res.reason);
	cr_assert_eq(fixture_next_block(&mph_fx, NULL, 0), 0);
	cr_assert_eq(chain_index_txs(mph_fx.store, 10, NULL), 0);
	pool = mph_pool(NULL);
	snprintf(blob_dir, sizeof(blob_dir), "%s/blobs", mph_fx.dir);
	cr_assert_eq(node_blobstore_open(&blobs, blob_dir, 0), 0);
	node_metrics_init(&metrics);
	memset(&rpc, 0, sizeof(rpc));
	rpc.store = mph_fx.store;
	rpc.mempool = pool;
	rpc.blobs = blobs;
	rpc.metrics = &metrics;
	rpc.http = &srv.server;
	rpc.node_id = mph_fx.pk[0];
	snprintf(rpc.moniker, sizeof(rpc.moniker), "test-node");
	rpc.live = live;
	rpc.tx_admitted = on_admitted;
	cr_assert_eq(node_rpc_init(&rpc), 0);
	node_rpc_routes(&routes, &n);
	hh_config(&cfg);
	hh_start(&srv, &cfg, routes, n, &rpc);
}

static void shutdown_rpc(void *arg)
{
	node_rpc_shutdown(arg);
}

static void teardown(void)
{
	hh_call(&srv, shutdown_rpc, &rpc);
	hh_stop(&srv);
	node_metrics_free(&metrics);
	node_blobstore_close(blobs);
	node_mempool_free(pool);
	mph_close();
}

TestSuite(rpc, .init = setup, .fini = teardown, .timeout = 60);

/* One request on a fresh connection; the body parsed as JSON (NULL when
 * it is not). */
static json_t *request(const char *method, const char *path, const char *body, int *status,
		       hh_response *keep)
{
	size_t cap = (body != NULL ? strlen(body) : 0) + strlen(path) + 256;
	char *req = malloc(cap);
	hh_response r;
	json_t *j;
	int fd = hh_connect(srv.port, 0);

	cr_assert_geq(fd, 0);
	snprintf(req, cap,
		 "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 method, path, body != NULL ? strlen(body) : 0, body != NULL ? body : "");
	cr_assert_eq(hh_send(fd, req), 0);
	free(req);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	close(fd);
	*status = r.status;
	j = json_loadb(r.body != NULL ? r.body : "", r.body_len, 0, NULL);
	if (keep != NULL)
		*keep = r;
	else
		hh_response_free(&r);
	return j;
}

static json_t *get(const char *path, int *status)
{
	return request("GET", path, NULL, status, NULL);
}

static void expect_error(const char *method, const char *path, const char *body, int status,
			 const char *code)
{
	int st;
	json_t *j = request(method, path, body, &st, NULL);

	cr_assert_eq(st, status, "%s %s: %d", method, path, st);
	cr_assert_not_null(j, "%s %s", method, path);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			 code, "%s %s", method, path);
	json_decref(j);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	cr_assert_not_null(s, "no string %s", key);
	return s;
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_integer(v), "no integer %s", key);
	return json_integer_value(v);
}

static void hex_of(const fl_hash *h, char *out)
{
	fl_hash_to_hex(out, h);
}

Test(rpc, health_and_status)
{
	chain_info info;
	char hex[65];
	int st;
	json_t *j = get("/health", &st);

	cr_assert_eq(st, 200);
	cr_assert(json_is_true(json_object_get(j, "ok")));
	json_decref(j);

	cr_assert_eq(chain_store_info(mph_fx.store, &info), 0);
	j = get("/status", &st);
	cr_assert_eq(st, 200);
	cr_assert_eq(num(j, "height"), 2);
	hex_of(&info.last_block_hash, hex);
	cr_assert_str_eq(str(j, "latest_block_hash"), hex);
	hex_of(&info.app_hash, hex);
	cr_assert_str_eq(str(j, "latest_app_hash"), hex);
	hex_of(&info.genesis_hash, hex);
	cr_assert_str_eq(str(j, "genesis_hash"), hex);
	cr_assert_str_eq(str(j, "chain_id"), info.chain_id);
	cr_assert_str_eq(str(j, "moniker"), "test-node");
	cr_assert_str_eq(str(j, "version"), "0.1.0");
	cr_assert_eq(num(j, "latest_block_time_ms"), (long long)info.last_time_ms);
	cr_assert_eq(num(j, "peers"), 3);
	cr_assert(json_is_false(json_object_get(j, "syncing")));
	cr_assert(json_is_true(json_object_get(j, "validator")));
	cr_assert_str_eq(str(json_object_get(j, "consensus"), "step"), "prevote");
	cr_assert_eq(num(json_object_get(j, "consensus"), "round"), 1);
	cr_assert_eq(num(json_object_get(j, "mempool"), "txs"), 0);
	json_decref(j);
}

Test(rpc, metrics_and_unknown_paths)
{
	hh_response r;
	int st;

	json_decref(request("GET", "/metrics", NULL, &st, &r));
	cr_assert_eq(st, 200);
	cr_assert(strstr(r.head, "text/plain; version=0.0.4") != NULL);
	hh_response_free(&r);
	expect_error("GET", "/v1/nothing", NULL, 404, "not_found");
	expect_error("GET", "/v1/blocks", NULL, 404, "not_found");
	expect_error("DELETE", "/v1/txs", NULL, 405, "method_not_allowed");
}

Test(rpc, blocks)
{
	char path[128], hex[65];
	fl_hash h;
	uint64_t hh;
	int st;
	json_t *j = get("/v1/blocks/1", &st), *txs, *tx;

	cr_assert_eq(st, 200);
	cr_assert_eq(num(j, "height"), 1);
	cr_assert_eq(num(json_object_get(j, "header"), "height"), 1);
	cr_assert(json_is_null(json_object_get(j, "last_commit")));
	/* Block 2 carries block 1's commit. */
	cr_assert(json_is_object(json_object_get(j, "commit")));
	cr_assert_eq(num(json_object_get(j, "commit"), "height"), 1);
	txs = json_object_get(j, "txs");
	cr_assert_eq(json_array_size(txs), 2);
	tx = json_array_get(txs, 0);
	hex_of(&tx_hash[0], hex);
	cr_assert_str_eq(str(tx, "hash"), hex);
	cr_assert_str_eq(str(tx, "kind"), "transfer");
	cr_assert_eq(num(tx, "amount"), 100);
	cr_assert_eq(num(tx, "nonce"), 1);
	cr_assert_geq(strlen(str(tx, "hex")), 100);
	snprintf(path, sizeof(path), "/v1/blocks/%s", str(j, "hash"));
	cr_assert_eq(fl_hash_from_hex(&h, str(j, "hash")), 0);
	cr_assert_eq(chain_get_block_height(mph_fx.store, &h, &hh), 0);
	cr_assert_eq(hh, 1);
	json_decref(j);

	/* By hash, upper case too. */
	for (char *p = path + 11; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	j = get(path, &st);
	cr_assert_eq(st, 200);
	cr_assert_eq(num(j, "height"), 1);
	json_decref(j);

	/* The tip: its commit is not stored yet. */
	j = get("/v1/blocks/latest", &st);
	cr_assert_eq(st, 200);
	cr_assert_eq(num(j, "height"), 2);
	cr_assert(json_is_null(json_object_get(j, "commit")));
	cr_assert(json_is_object(json_object_get(j, "last_commit")));
	json_decref(j);

	expect_error("GET", "/v1/blocks/3", NULL, 404, "not_found");
	expect_error("GET", "/v1/blocks/0", NULL, 404, "not_found");
	expect_error("GET",
		     "/v1/blocks/00000000000000000000000000000000000000000000000000000000000000ff",
		     NULL, 404, "not_found");
	expect_error("GET", "/v1/blocks/18446744073709551616", NULL, 400, "bad_request");
	expect_error("GET", "/v1/blocks/01", NULL, 400, "bad_request");
	expect_error("GET", "/v1/blocks/-1", NULL, 400, "bad_request");
	expect_error("GET", "/v1/blocks/12ab", NULL, 400, "bad_request");
	expect_error("GET",
		     "/v1/blocks/zz000000000000000000000000000000000000000000000000000000000000ff",
		     NULL, 400, "bad_request");
	expect_error(
	    "GET", "/v1/blocks/00000000000000000000000000000000000000000000000000000000000000ff00",
	    NULL, 400, "bad_request");
}

Test(rpc, txs_get)
{
	char path[128], hex[65];
	int st;
	json_t *j;

	hex_of(&tx_hash[1], hex);
	snprintf(path, sizeof(path), "/v1/txs/%s", hex);
	j = get(path, &st);
	cr_assert_eq(st, 200);
	cr_assert_eq(num(j, "height"), 1);
	cr_assert_eq(num(j, "index"), 1);
	cr_assert_str_eq(str(j, "result"), "ok");
	cr_assert_str_eq(str(json_object_get(j, "tx"), "hash"), hex);
	json_decref(j);
	expect_error("GET", "/v1/txs/abcd", NULL, 400, "bad_request");
	expect_error("GET", "/v1/txs/%2e%2e%2f%2e%2e", NULL, 400, "bad_request");
	expect_error("GET",
		     "/v1/txs/0000000000000000000000000000000000000000000000000000000000000000",
		     NULL, 404, "not_found");
}

Test(rpc, accounts)
{
	char path[128], hex[65];
	int st;
	json_t *j;

	fl_pubkey_to_hex(hex, &mph_fx.pk[MPH_B]);
	snprintf(path, sizeof(path), "/v1/accounts/%s", hex);
	j = get(path, &st);
	cr_assert_eq(st, 200);
	cr_assert_eq(num(j, "balance"), MPH_BALANCE + 100);
	cr_assert_eq(num(j, "nonce"), 0);
	cr_assert(json_is_false(json_object_get(j, "member")));
	cr_assert(json_is_false(json_object_get(j, "validator")));
	json_decref(j);

	fl_pubkey_to_hex(hex, &mph_fx.pk[0]);
	snprintf(path, sizeof(path), "/v1/accounts/%s", hex);
	j = get(path, &st);
	cr_assert_eq(st, 200);
	cr_assert(json_is_true(json_object_get(j, "member")));
	cr_assert(json_is_true(json_object_get(j, "validator")));
	cr_assert_gt(num(j, "power"), 0);
	json_decref(j);

	expect_error("GET", "/v1/accounts/xyz", NULL, 400, "bad_request");
	expect_error(
	    "GET", "/v1/accounts/zz00000000000000000000000000000000000000000000000000000000000001",
	    NULL, 400, "bad_request");
	/* A valid key (the generator's x) that holds nothing. */
	expect_error(
	    "GET", "/v1/accounts/79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
	    NULL, 404, "not_found");
}

Test(rpc, validators)
{
	int st;
	json_t *j = get("/v1/validators", &st);

	cr_assert_eq(st, 200);
	cr_assert_eq(num(j, "height"), 3);
	cr_assert_eq(json_array_size(json_object_get(j, "validators")), 1);
	cr_assert_gt(num(j, "total_power"), 0);
	json_decref(j);
	j = get("/v1/validators?height=1", &st);
	cr_assert_eq(st, 200);
	cr_assert_eq(num(j, "height"), 1);
	json_decref(j);
	expect_error("GET", "/v1/validators?height=4", NULL, 404, "not_found");
	expect_error("GET", "/v1/validators?height=0", NULL, 404, "not_found");
	expect_error("GET", "/v1/validators?height=x", NULL, 400, "bad_request");
	expect_error("GET", "/v1/validators?height=99999999999999999999999", NULL, 400,
		     "bad_request");
}

Test(rpc, profiles_and_rounds)
{
	int st;
	json_t *j = get("/v1/profiles", &st), *list, *p;

	cr_assert_eq(st, 200);
	list = json_object_get(j, "profiles");
	cr_assert_eq(json_array_size(list), 1);
	p = json_array_get(list, 0);
	cr_assert_str_eq(str(json_object_get(p, "profile"), "id"), "mnist");
	cr_assert_str_eq(str(json_object_get(p, "state"), "status"), "active");
	json_decref(j);

	j = get("/v1/profiles/mnist", &st);
	cr_assert_eq(st, 200);
	cr_assert_eq(num(json_object_get(j, "profile"), "window_blocks"), 3);
	cr_assert_str_eq(str(json_object_get(j, "profile"), "agg_rule"), "fedavg");
	cr_assert_not_null(json_object_get(j, "current_round"));
	json_decref(j);
	expect_error("GET", "/v1/profiles/nope", NULL, 404, "not_found");
	expect_error("GET", "/v1/profiles/BAD", NULL, 400, "bad_request");
	expect_error("GET", "/v1/profiles/mnist/rounds/x", NULL, 400, "bad_request");
	expect_error("GET", "/v1/profiles/mnist/rounds/999", NULL, 404, "not_found");
	expect_error("GET", "/v1/profiles/nope/rounds/1", NULL, 404, "not_found");
}

Test(rpc, blobs)
{
	uint8_t data[1000];
	char path[128], hex[65];
	hh_response r;
	fl_hash h;
	int st;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	cr_assert_eq(node_blobstore_put(blobs, data, sizeof(data), &h), 0);
	hex_of(&h, hex);
	snprintf(path, sizeof(path), "/v1/blobs/%s", hex);
	json_decref(request("GET", path, NULL, &st, &r));
	cr_assert_eq(st, 200);
	cr_assert_eq(r.body_len, sizeof(data));
	cr_assert_arr_eq(r.body, data, sizeof(data));
	cr_assert(strstr(r.head, "application/octet-stream") != NULL);
	hh_response_free(&r);
	expect_error("GET",
		     "/v1/blobs/00000000000000000000000000000000000000000000000000000000000000aa",
		     NULL, 404, "not_found");
	/* Bad hex never reaches the filesystem: a path, a dot segment. */
	expect_error("GET", "/v1/blobs/..", NULL, 400, "bad_request");
	expect_error("GET", "/v1/blobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd", NULL, 400, "bad_request");
	expect_error(
	    "GET", "/v1/blobs/%2e%2e%2f00000000000000000000000000000000000000000000000000000000000",
	    NULL, 400, "bad_request");
}

/* ----------------------------------------------------------------- POST */

static void tx_body(const chain_tx *tx, char *out, size_t cap)
{
	uint8_t buf[4096];
	size_t n = mph_encode(tx, buf, sizeof(buf));

	cr_assert_lt(2 * n + 16, cap);
	strcpy(out, "{\"tx\":\"");
	fl_hex_encode(out + 7, buf, n);
	strcat(out, "\"}");
}

Test(rpc, post_admits_and_refuses)
{
	char body[8192], hex[65];
	chain_tx tx;
	fl_hash h;
	int st;
	json_t *j, *e;

	mph_transfer(&tx, MPH_A, MPH_D, 10, 3);
	tx_body(&tx, body, sizeof(body));
	cr_assert_eq(chain_tx_hash(&h, &tx), 0);
	j = request("POST", "/v1/txs", body, &st, NULL);
	cr_assert_eq(st, 202);
	hex_of(&h, hex);
	cr_assert_str_eq(str(j, "hash"), hex);
	json_decref(j);
	cr_assert_eq(admitted, 1);

	/* Pending, then found by GET. */
	snprintf(body + 4000, 200, "/v1/txs/%s", hex);
	j = get(body + 4000, &st);
	cr_assert_eq(st, 200);
	cr_assert(json_is_true(json_object_get(j, "pending")));
	cr_assert_str_eq(str(json_object_get(j, "tx"), "hash"), hex);
	json_decref(j);

	/* The same again: a duplicate. */
	tx_body(&tx, body, sizeof(body));
	j = request("POST", "/v1/txs", body, &st, NULL);
	cr_assert_eq(st, 409);
	e = json_object_get(j, "error");
	cr_assert_str_eq(str(e, "code"), "tx_duplicate");
	cr_assert_str_eq(str(e, "message"), "mempool: duplicate");
	json_decref(j);

	/* A balance it does not have: the rule named. */
	mph_transfer(&tx, MPH_B, MPH_D, 100 * MPH_BALANCE, 1);
	tx_body(&tx, body, sizeof(body));
	j = request("POST", "/v1/txs", body, &st, NULL);
	cr_assert_eq(st, 422);
	e = json_object_get(j, "error");
	cr_assert_str_eq(str(e, "code"), "tx_refused");
	cr_assert_str_eq(str(e, "message"), "tx: balance too low");
	json_decref(j);

	/* A nonce too high. */
	mph_transfer(&tx, MPH_C, MPH_D, 1, 7);
	tx_body(&tx, body, sizeof(body));
	j = request("POST", "/v1/txs", body, &st, NULL);
	cr_assert_eq(st, 422);
	cr_assert_str_eq(str(json_object_get(j, "error"), "message"), "tx: nonce");
	json_decref(j);

	/* A broken signature. */
	mph_transfer(&tx, MPH_C, MPH_D, 1, 1);
	tx.sig.b[5] ^= 1;
	tx_body(&tx, body, sizeof(body));
	j = request("POST", "/v1/txs", body, &st, NULL);
	cr_assert_eq(st, 400);
	cr_assert_str_eq(str(json_object_get(j, "error"), "code"), "tx_bad_signature");
	cr_assert_str_eq(str(json_object_get(j, "error"), "message"), "tx: signature");
	json_decref(j);
	cr_assert_eq(admitted, 1);
}

Test(rpc, post_malformed_bodies)
{
	expect_error("POST", "/v1/txs", "", 400, "bad_request");
	expect_error("POST", "/v1/txs", "{", 400, "bad_request");
	expect_error("POST", "/v1/txs", "[]", 400, "bad_request");
	expect_error("POST", "/v1/txs", "{\"tx\":\"00\",\"x\":1}", 400, "bad_request");
	expect_error("POST", "/v1/txs", "{\"tx\":\"00\",\"tx\":\"00\"}", 400, "bad_request");
	expect_error("POST", "/v1/txs", "{\"tx\":1}", 400, "bad_request");
	expect_error("POST", "/v1/txs", "{\"tx\":\"0g\"}", 400, "bad_request");
	expect_error("POST", "/v1/txs", "{\"tx\":\"abc\"}", 400, "bad_request");
	expect_error("POST", "/v1/txs", "{\"tx\":\"\"}", 400, "bad_request");
	expect_error("POST", "/v1/txs", "{\"tx\":\"00\"} x", 400, "bad_request");
	/* Hex of bytes that are no tx: the decoder's words. */
	expect_error("POST", "/v1/txs", "{\"tx\":\"0101\"}", 400, "tx_malformed");
}

Test(rpc, post_body_too_large)
{
	size_t n = NODE_RPC_TX_BODY_MAX - 1; /* an even number of digits */
	char *body = malloc(n + 1);

	/* Past the tx cap but within the body cap: 413 by the parser. */
	memset(body, 'a', n);
	memcpy(body, "{\"tx\":\"", 7);
	memcpy(body + n - 2, "\"}", 2);
	body[n] = '\0';
	expect_error("POST", "/v1/txs", body, 413, "tx_too_large");
	free(body);
}

/* -------------------------------------------------------------- deferral */

static void release(void *arg)
{
	(void)arg;
	node_mempool_release(pool);
}

static void resume(void *arg)
{
	(void)arg;
	cr_assert_eq(node_mempool_update(pool, NULL, NULL), 0);
	node_rpc_mempool_resumed(&rpc);
}

static int queued_is(hh_server *h, void *arg)
{
	(void)h;
	return rpc.queue_len == *(size_t *)arg;
}

Test(rpc, paused_mempool_defers_then_resumes_in_order)
{
	char body[8192], req[9000];
	hh_response r;
	chain_tx tx[3];
	int fd[3];
	size_t want = 3;

	hh_call(&srv, release, NULL);
	for (int i = 0; i < 3; i++) {
		mph_transfer(&tx[i], MPH_A, MPH_D, 1, 3 + (uint64_t)i);
		tx_body(&tx[i], body, sizeof(body));
		snprintf(req, sizeof(req),
			 "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(body), body);
		fd[i] = hh_connect(srv.port, 0);
		cr_assert_geq(fd[i], 0);
		cr_assert_eq(hh_send(fd[i], req), 0);
		/* One at a time, so the arrival order is known. */
		want = (size_t)i + 1;
		cr_assert(hh_wait(&srv, queued_is, &want, 3000));
	}
	hh_call(&srv, resume, NULL);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(hh_read_response(fd[i], &r, 0), 0);
		/* Nonces 3, 4, 5 in order: each needed the one before. */
		cr_assert_eq(r.status, 202, "%d: %s", i, r.body);
		hh_response_free(&r);
		close(fd[i]);
	}
	cr_assert_eq(admitted, 3);
}

static void fill_queue(void *arg)
{
	(void)arg;
	rpc.queue_len = NODE_RPC_QUEUE_MAX;
}

static void empty_queue(void *arg)
{
	(void)arg;
	rpc.queue_len = 0;
}

Test(rpc, queue_overflow_is_busy)
{
	char body[8192];
	chain_tx tx;

	hh_call(&srv, release, NULL);
	/* The count as if 4096 were waiting (the server's connection limit
	 * keeps a test from opening them). */
	hh_call(&srv, fill_queue, NULL);
	mph_transfer(&tx, MPH_A, MPH_D, 1, 3);
	tx_body(&tx, body, sizeof(body));
	expect_error("POST", "/v1/txs", body, 503, "busy");
	hh_call(&srv, empty_queue, NULL);
}

Test(rpc, shutdown_answers_the_queue)
{
	char body[8192], req[9000];
	hh_response r;
	chain_tx tx;
	size_t want = 1;
	int fd;

	hh_call(&srv, release, NULL);
	mph_transfer(&tx, MPH_A, MPH_D, 1, 3);
	tx_body(&tx, body, sizeof(body));
	snprintf(req, sizeof(req),
		 "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
		 body);
	fd = hh_connect(srv.port, 0);
	cr_assert_eq(hh_send(fd, req), 0);
	cr_assert(hh_wait(&srv, queued_is, &want, 3000));
	hh_call(&srv, shutdown_rpc, &rpc);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 503);
	cr_assert(strstr(r.body, "\"unavailable\"") != NULL);
	hh_response_free(&r);
	close(fd);
	expect_error("POST", "/v1/txs", body, 503, "unavailable");
}

/* ------------------------------------------------------------------ SSE */

typedef struct {
	int rc;
} publish_call;

static void publish_block1(void *arg)
{
	publish_call *p = arg;
	uint8_t *bytes;
	size_t n;
	chain_block b;
	fl_hash h, app;

	cr_assert_eq(chain_get_block(mph_fx.store, 1, &bytes, &n), 0);
	cr_assert_eq(chain_block_decode(&b, bytes, n), 0);
	cr_assert_eq(chain_header_hash(&h, &b.header), 0);
	memset(&app, 0x11, sizeof(app));
	p->rc = node_rpc_publish_block(&rpc, &b, &h, &app);
	chain_block_free(&b);
	fl_free(bytes);
}

static int subscribers_are(hh_server *h, void *arg)
{
	node_http_stats st;

	node_http_get_stats(&h->server, &st);
	return st.subscribers == *(uint32_t *)arg;
}

/* Reads until `n` events have come (comments skipped) into out. */
static void read_events(int fd, char *out, size_t cap, int n)
{
	size_t len = 0;
	int seen = 0;

	while (seen < n && len < cap - 1) {
		ssize_t got = recv(fd, out + len, 1, 0);

		cr_assert_eq(got, 1);
		len++;
		out[len] = '\0';
		if (len >= 2 && out[len - 1] == '\n' && out[len - 2] == '\n') {
			const char *blk = out;
			for (const char *p = out; p + 2 < out + len; p++)
				if (p[0] == '\n' && p[1] == '\n')
					blk = p + 2;
			if (blk[0] != ':')
				seen++;
		}
	}
}

Test(rpc, events_block_and_txs)
{
	static char buf[16384];
	char hex[65], want[200];
	hh_response r;
	publish_call p = {0};
	uint32_t one = 1;
	int fd = hh_connect(srv.port, 0);

	cr_assert_eq(hh_send(fd, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(hh_read_response(fd, &r, 0), 0);
	cr_assert_eq(r.status, 200);
	hh_response_free(&r);
	cr_assert(hh_wait(&srv, subscribers_are, &one, 3000));
	hh_call(&srv, publish_block1, &p);
	cr_assert_eq(p.rc, 0);
	read_events(fd, buf, sizeof(buf), 3);
	cr_assert(strstr(buf, "event: block\ndata: {\"height\":1,") != NULL, "%s", buf);
	cr_assert(strstr(buf, "\"n_txs\":2") != NULL);
	cr_assert(strstr(buf, "\"app_hash\":\"1111") != NULL);
	hex_of(&tx_hash[0], hex);
	snprintf(want, sizeof(want), "event: tx\ndata: {\"hash\":\"%s\",\"height\":1,\"index\":0,",
		 hex);
	cr_assert(strstr(buf, want) != NULL, "%s", buf);
	hex_of(&tx_hash[1], hex);
	snprintf(want, sizeof(want),
		 "{\"hash\":\"%s\",\"height\":1,\"index\":1,\"kind\":\"transfer\","
		 "\"result\":\"ok\"}",
		 hex);
	cr_assert(strstr(buf, want) != NULL, "%s", buf);
	close(fd);
}
