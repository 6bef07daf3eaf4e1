/*
 * tests/node/test_node_run.c — `fedledgerd start` as an operator runs it: a
 * one-validator chain in a scratch home commits blocks, stops cleanly on
 * SIGTERM, carries on from its store and WAL after a restart and after a
 * SIGKILL, refuses a home whose signer state is gone or whose store holds
 * another chain, and names every bad argument.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "tests/node/home_helpers.h"
#include "tests/node/node_run_helpers.h"
#include "tests/node/http_harness.h"
#include "tests/support/run_prog.h"

Test(node_run, commits_stops_and_carries_on)
{
	char dir[64];
	pid_t pid;

	hh_scratch(dir, sizeof(dir));
	nr_one_validator_home(dir);
	pid = nr_start_node(dir, NULL);
	if (!nr_wait_log(dir, "committed height 3 ")) {
		kill(pid, SIGKILL);
		nr_dump_log(dir);
		cr_assert_fail("no block 3");
	}
	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0, "a clean shutdown exits 0");
	char *s = nr_read_log(dir);
	cr_assert(strstr(s, "shutting down") != NULL);
	free(s);

	/* The store and the WAL carry it on: no block is made twice. */
	pid = nr_start_node(dir, NULL);
	if (!nr_wait_log(dir, "committed height 5 ")) {
		kill(pid, SIGKILL);
		nr_dump_log(dir);
		cr_assert_fail("no block 5 after a restart");
	}
	/* A SIGKILL at any moment: the next start reopens store and WAL. */
	kill(pid, SIGKILL);
	cr_assert_eq(nr_wait_exit(pid), 128 + SIGKILL);
	pid = nr_start_node(dir, NULL);
	if (!nr_wait_log(dir, "committed height 7 ")) {
		kill(pid, SIGKILL);
		nr_dump_log(dir);
		cr_assert_fail("no block 7 after a SIGKILL");
	}
	kill(pid, SIGINT);
	cr_assert_eq(nr_wait_exit(pid), 0);
	s = nr_read_log(dir);
	/* Each height was committed exactly once over the three runs. */
	char needle[64];
	for (int h = 1; h <= 6; h++) {
		snprintf(needle, sizeof(needle), "committed height %d ", h);
		const char *first = strstr(s, needle);
		cr_assert(first != NULL, "height %d", h);
		cr_assert(strstr(first + 1, needle) == NULL, "height %d committed twice", h);
	}
	cr_assert(strstr(s, "error") == NULL, "%s", s);
	free(s);
	hh_remove(dir);
}

Test(node_run, lost_signer_state_is_refused)
{
	char dir[64], path[256];
	pid_t pid;

	hh_scratch(dir, sizeof(dir));
	nr_one_validator_home(dir);
	pid = nr_start_node(dir, NULL);
	cr_assert(nr_wait_log(dir, "committed height 2 "));
	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0);
	snprintf(path, sizeof(path), "%s/n0/data/signer.state", dir);
	cr_assert_eq(unlink(path), 0);
	pid = nr_start_node(dir, NULL);
	cr_assert_eq(nr_wait_exit(pid), 1);
	char *s = nr_read_log(dir);
	cr_assert(strstr(s, "signer.state: missing") != NULL, "%s", s);
	free(s);
	hh_remove(dir);
}

Test(node_run, another_chains_store_is_refused)
{
	char dir[64], src[256], dst[256];
	pid_t pid;

	hh_scratch(dir, sizeof(dir));
	nr_one_validator_home(dir);
	pid = nr_start_node(dir, NULL);
	cr_assert(nr_wait_log(dir, "committed height 1 "));
	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0);
	/* Another network's genesis over this home's store. */
	snprintf(src, sizeof(src), "%s", HH_GENESIS);
	snprintf(dst, sizeof(dst), "%s/n0/genesis.json", dir);
	json_error_t je;
	json_t *g = json_load_file(src, 0, &je);
	cr_assert(g != NULL);
	cr_assert_eq(json_dump_file(g, dst, JSON_INDENT(2)), 0);
	json_decref(g);
	pid = nr_start_node(dir, NULL);
	cr_assert_eq(nr_wait_exit(pid), 1);
	char *s = nr_read_log(dir);
	cr_assert(strstr(s, "holds the chain of another genesis") != NULL, "%s", s);
	free(s);
	hh_remove(dir);
}

Test(node_run, bad_arguments_are_named)
{
	test_run r;
	const char *help[] = {"start", "--help", NULL};
	nr_run(&r, "fedledgerd", help);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "--byzantine") != NULL);

	const char *nohome[] = {"start", NULL};
	nr_run(&r, "fedledgerd", nohome);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "--home") != NULL, "%s", r.err);

	const char *byz[] = {"start", "--home", "/nonexistent", "--byzantine", "evil", NULL};
	nr_run(&r, "fedledgerd", byz);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "--byzantine") != NULL, "%s", r.err);

	const char *lvl[] = {"start", "--home", "/nonexistent", "--log-level", "loud", NULL};
	nr_run(&r, "fedledgerd", lvl);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "--log-level") != NULL, "%s", r.err);

	const char *fmt[] = {"start", "--home", "/nonexistent", "--log-format", "xml", NULL};
	nr_run(&r, "fedledgerd", fmt);
	cr_assert_eq(r.status, 2);

	const char *missing[] = {"start", "--home", "/nonexistent/fedledger-home", NULL};
	nr_run(&r, "fedledgerd", missing);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "/nonexistent/fedledger-home") != NULL, "%s", r.err);
}

/* A transfer signed with the validator's own key, posted to its node:
 * admitted (202 with its hash), committed in a block, found by hash; the
 * same tx again is refused naming why, and junk is refused as malformed. */
Test(node_run, a_posted_transfer_is_committed)
{
	char dir[64], key[256], req[16384], hex[4096];
	fl_seckey sk;
	fl_pubkey pk;
	chain_tx tx;
	fl_writer w;
	hh_response r;
	pid_t pid;

	hh_scratch(dir, sizeof(dir));
	nr_one_validator_home(dir);
	snprintf(key, sizeof(key), "%s/n0/%s", dir, NODE_HOME_KEY);
	cr_assert_eq(fl_key_load(key, &sk, &pk), 0);
	pid = nr_start_node(dir, NULL);
	cr_assert(nr_wait_log(dir, "committed height 1 "));
	uint16_t port = nr_rpc_port(dir);
	cr_assert(port != 0);

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_TRANSFER;
	tx.sender = pk;
	tx.nonce = 1;
	memset(tx.u.transfer.to.b, 0x42, FL_PUBKEY_LEN);
	tx.u.transfer.to.b[0] = 0x02;
	tx.u.transfer.amount = 7;
	cr_assert_eq(chain_tx_sign(&tx, "runtest", &sk), 0);
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	cr_assert_eq(chain_tx_encode(&w, &tx), 0);
	cr_assert_eq(fl_writer_finish(&w), 0);
	cr_assert(2 * w.len + 1 <= sizeof(hex));
	fl_hex_encode(hex, w.buf, w.len);
	char body[8192];
	snprintf(body, sizeof(body), "{\"tx\":\"%s\"}", hex);
	snprintf(req, sizeof(req),
		 "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(body), body);
	memset(&r, 0, sizeof(r));
	cr_assert_eq(nr_http(port, req, &r), 0);
	cr_assert_eq(r.status, 202, "%d %s", r.status, r.body);
	json_error_t je;
	json_t *j = json_loads(r.body, 0, &je);
	cr_assert(j != NULL);
	char hash[80];
	snprintf(hash, sizeof(hash), "%s", json_string_value(json_object_get(j, "hash")));
	json_decref(j);
	free(r.body);
	cr_assert(nr_wait_log(dir, "1 txs"), "the transfer was never committed");

	/* The same bytes again: the nonce is used now. */
	memset(&r, 0, sizeof(r));
	cr_assert_eq(nr_http(port, req, &r), 0);
	cr_assert(r.status >= 400 && r.status < 500, "%d", r.status);
	cr_assert(strstr(r.body, "nonce") != NULL || strstr(r.body, "duplicate") != NULL, "%s",
		  r.body);
	free(r.body);

	/* Found by hash, in the block that holds it (the index may trail a
	 * moment: bounded wait). */
	int found = 0;
	for (int t = 0; t < 100 && !found; t++) {
		snprintf(req, sizeof(req),
			 "GET /v1/txs/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", hash);
		memset(&r, 0, sizeof(r));
		cr_assert_eq(nr_http(port, req, &r), 0);
		found = r.status == 200 && strstr(r.body, "\"height\"") != NULL &&
			strstr(r.body, "\"pending\"") == NULL;
		free(r.body);
		if (!found)
			nr_sleep_ms(100);
	}
	cr_assert(found, "GET /v1/txs/{hash} never showed the committed tx");

	snprintf(body, sizeof(body), "{\"tx\":\"00ff\"}");
	snprintf(req, sizeof(req),
		 "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\nConnection: "
		 "close\r\n\r\n%s",
		 strlen(body), body);
	memset(&r, 0, sizeof(r));
	cr_assert_eq(nr_http(port, req, &r), 0);
	cr_assert_eq(r.status, 400, "%d %s", r.status, r.body);
	free(r.body);

	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0);
	fl_writer_free(&w);
	chain_tx_free(&tx);
	fl_wipe(&sk, sizeof(sk));
	hh_remove(dir);
}
