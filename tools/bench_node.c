/*
 * tools/bench_node.c — the `node` suite: real fedledgerd processes on
 * 127.0.0.1, started by fedledger-testnet, measured through their HTTP API.
 *
 *   sig_verify_1thread         fl_verify of distinct transfer signatures on
 *                              one thread, verifies/s: the baseline (each node
 *                              verifies each transfer's signature once)
 *   block_interval_empty_ms    4 validators, empty mempool: mean header-time
 *                              gap over 10 blocks; ratio to the
 *                              genesis block_interval_ms (1,000)
 *   transfers_committed_per_s  the same testnet, signed transfers offered at
 *                              5,000 a second for 60 s (10,000-tx blocks):
 *                              committed while posting / time; ratio to the
 *                              verify rate
 *   submit_to_commit_p50_s     from writing the POST to the transfer's `tx`
 *   submit_to_commit_p99_s     event on node 0; ratio to the measured interval
 *   rss_peak_mb                the largest VmHWM of the four nodes after the
 *                              load; ratio to the 64 MB the issue allows
 *   sync_blocks_per_s          1 validator (block_interval_ms 0) makes
 *                              10,000 blocks while a member is down; the
 *                              member restarted, blocks/s until it reaches the
 *                              validator's height; ratio to the disk's
 *                              fdatasync/s measured in the same directory
 *
 * Every wait is bounded; the testnets live under $TMPDIR and are removed
 * (kept, and named, when a step fails).
 */
#include "tools/bench_node.h"

#include "chain/chain.h"
#include "core/core.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUITE        "node"
#define VERIFY_NAME  "sig_verify_1thread"
#define CHAIN_ID     "testnet" /* fedledger-testnet's default */
#define RSS_LIMIT_MB 64.0
#define FSYNC_PROBES 200

typedef struct {
	uint32_t accounts, per_account, window, conns, interval_blocks, sync_blocks;
	double load_seconds;
	double rate; /* transfers offered per second */
} plan;

/* The load: 5,000 transfers a second offered for 60 s. */
static const plan full_plan = {3000, 120, 20000, 16, 10, 10000, 60.0, 5000.0};
/* Quick: 3,000 transfers posted in well under a second, a burst past
 * p2p's default gossip rate (1,000 messages a second per peer). */
static const plan quick_plan = {100, 30, 3000, 8, 2, 100, 2.0, 0.0};

/* --------------------------------------------------------- baselines */

enum { VERIFY_N = 2000 };
static chain_tx verify_txs[VERIFY_N];
static fl_hash verify_msgs[VERIFY_N];

static int verify_all(void *ctx)
{
	(void)ctx;
	for (uint32_t i = 0; i < VERIFY_N; i++)
		if (fl_verify(&verify_txs[i].sig, &verify_txs[i].sender, &verify_msgs[i]) != FL_OK)
			return FL_ESIG;
	return FL_OK;
}

static int measure_verify(const bench_ctx *b, double *rate)
{
	bench_plan bp = {b->quick ? 1 : 3, 1, 0.0};
	fl_seckey sk;
	double sec;
	int rc = FL_OK;

	for (uint32_t i = 0; i < VERIFY_N && rc == FL_OK; i++) {
		chain_tx *tx = &verify_txs[i];
		memset(tx, 0, sizeof *tx);
		tx->kind = CHAIN_TX_TRANSFER;
		tx->nonce = 1;
		tx->u.transfer.amount = 1 + i;
		if ((rc = fl_key_generate(&sk, &tx->sender)) == FL_OK &&
		    (tx->u.transfer.to = tx->sender, 1) &&
		    (rc = chain_tx_sign(tx, CHAIN_ID, &sk)) == FL_OK)
			rc = chain_tx_sighash(&verify_msgs[i], CHAIN_ID, tx);
	}
	fl_wipe(&sk, sizeof sk);
	if (rc == FL_OK)
		rc = bench_time(&sec, &bp, verify_all, NULL);
	if (rc == FL_OK)
		*rate = VERIFY_N / sec;
	return rc;
}

/* fdatasync/s of a 4 KiB rewrite in dir: what one durable store commit costs. */
static int measure_fsync(const char *dir, double *rate)
{
	char path[TESTNET_PATH_MAX + 16], page[4096];
	snprintf(path, sizeof path, "%s/fsync.probe", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return FL_EIO;
	memset(page, 0x5a, sizeof page);
	double t0 = bench_now();
	int rc = FL_OK;
	for (int i = 0; i < FSYNC_PROBES && rc == FL_OK; i++)
		if (pwrite(fd, page, sizeof page, 0) != (ssize_t)sizeof page || fdatasync(fd) != 0)
			rc = FL_EIO;
	double t = bench_now() - t0;
	close(fd);
	unlink(path);
	if (rc == FL_OK)
		*rate = FSYNC_PROBES / t;
	return rc;
}

/* ---------------------------------------------------- four validators */

static unsigned base_port(void)
{
	return 40000u + (unsigned)(getpid() % 500) * 40u;
}

static int block_interval(const bench_net *net, uint32_t blocks, double *ms)
{
	uint64_t h0, t0, t1;
	int rc;

	if ((rc = bench_net_height(net, 0, &h0)) != FL_OK ||
	    (rc = bench_net_wait_height(net, 0, h0 + blocks, bench_now() + 30.0 + 5.0 * blocks)) !=
		FL_OK ||
	    (rc = bench_net_block_time(net, 0, h0, &t0)) != FL_OK ||
	    (rc = bench_net_block_time(net, 0, h0 + blocks, &t1)) != FL_OK)
		return rc;
	*ms = (double)(t1 - t0) / blocks;
	return FL_OK;
}

static int four_validators(bench_ctx *b, const plan *pl, double verify)
{
	char accounts[16];
	bench_net net;
	testnet_account *acc = NULL;
	uint32_t n_acc = 0;
	bench_load_result lr;
	char err[512];
	double interval = 0;
	int rc;

	snprintf(accounts, sizeof accounts, "%u", pl->accounts);
	/* Blocks of up to 10,000 transfers (5,000 would cap a 1 s interval at
	 * the target itself), and CometBFT's 3 s for a proposal to arrive: a
	 * full block is built, sent in parts and checked inside it. */
	const char *const init[] = {"--validators",
				    "4",
				    "--accounts",
				    accounts,
				    "--param",
				    "max_block_txs=10000",
				    "--param",
				    "timeout_propose_ms=3000",
				    NULL};
	fprintf(stderr, "%s: node: 4 validators on 127.0.0.1...\n", BENCH_PROG);
	if ((rc = bench_net_start(&net, base_port(), init)) != FL_OK)
		goto cleanup;
	if (testnet_accounts_load(net.dir, &acc, &n_acc, err, sizeof err) != 0) {
		fprintf(stderr, "%s: node: %s\n", BENCH_PROG, err);
		rc = FL_EIO;
		goto cleanup;
	}
	if ((rc = bench_net_wait_height(&net, 0, 2, bench_now() + 60)) != FL_OK ||
	    (rc = block_interval(&net, pl->interval_blocks, &interval)) != FL_OK)
		goto cleanup;
	bench_emit(b, &(bench_figure){SUITE, "block_interval_empty_ms", interval, "ms",
				      "genesis_block_interval_ms", 1000.0, interval / 1000.0});

	bench_load_cfg cfg = {CHAIN_ID,   pl->load_seconds, pl->per_account,
			      pl->window, pl->conns,        pl->rate};
	if (cfg.rate > 0)
		fprintf(stderr, "%s: node: posting %.0f transfers a second for %.0f s...\n",
			BENCH_PROG, cfg.rate, cfg.seconds);
	else
		fprintf(stderr, "%s: node: posting transfers for %.0f s...\n", BENCH_PROG,
			cfg.seconds);
	if ((rc = bench_node_load(&net, acc, n_acc, &cfg, &lr)) != FL_OK)
		goto cleanup;
	fprintf(stderr, "  %llu posted (%llu answers 503, posted again), %llu committed\n",
		(unsigned long long)lr.posted, (unsigned long long)lr.retried,
		(unsigned long long)lr.committed);
	bench_emit(b, &(bench_figure){SUITE, "transfers_committed_per_s", lr.tx_per_s, "tx/s",
				      VERIFY_NAME, verify, lr.tx_per_s / verify});
	bench_emit(b, &(bench_figure){SUITE, "submit_to_commit_p50_s", lr.p50_s, "s",
				      "block_interval_empty_s", interval / 1000.0,
				      lr.p50_s / (interval / 1000.0)});
	bench_emit(b, &(bench_figure){SUITE, "submit_to_commit_p99_s", lr.p99_s, "s",
				      "block_interval_empty_s", interval / 1000.0,
				      lr.p99_s / (interval / 1000.0)});

	/* The load must not cost a node its peers (a relay scored for the
	 * rate of what it relays is banned). */
	for (uint32_t i = 0; i < net.t.n; i++) {
		json_t *st = testnet_http_get_json(net.t.node[i].rpc_port, "/status", 5000);
		json_int_t peers = json_integer_value(json_object_get(st, "peers"));
		json_decref(st);
		if (peers < (json_int_t)net.t.n - 1) {
			fprintf(stderr, "%s: node: %s has %lld of %u peers after the load\n",
				BENCH_PROG, net.t.node[i].name, (long long)peers, net.t.n - 1);
			rc = FL_EPROTO;
			goto cleanup;
		}
	}
	uint64_t peak = 0;
	for (uint32_t i = 0; i < net.t.n; i++) {
		uint64_t rss, hwm;
		if ((rc = bench_net_rss(&net, i, &rss, &hwm)) != FL_OK) {
			fprintf(stderr, "%s: node: %s is not running\n", BENCH_PROG,
				net.t.node[i].name);
			goto cleanup;
		}
		peak = hwm > peak ? hwm : peak;
	}
	bench_emit(b, &(bench_figure){SUITE, "rss_peak_mb", (double)peak / 1024.0, "MB",
				      "rss_limit_mb", RSS_LIMIT_MB,
				      (double)peak / 1024.0 / RSS_LIMIT_MB});
	/* Whatever the speed, the nodes must still agree on every height. */
	if (bench_net_tool(&net, "check", NULL) != 0) {
		fprintf(stderr, "%s: node: fedledger-testnet check found the nodes disagree\n",
			BENCH_PROG);
		rc = FL_ECHAIN;
	}
cleanup:
	if (acc)
		fl_wipe(acc, (size_t)n_acc * sizeof *acc);
	free(acc);
	bench_net_stop(&net, rc != FL_OK);
	return rc;
}

/* ---------------------------------------------------------------- sync */

static int sync_member(bench_ctx *b, const plan *pl)
{
	const char *const init[] = {"--validators",        "1", "--members", "1", "--param",
				    "block_interval_ms=0", NULL};
	const char *const member[] = {"node1", NULL};
	bench_net net;
	double fsyncs = 0;
	uint64_t target, from;
	int rc;

	fprintf(stderr, "%s: node: 1 validator making %u blocks, a member down...\n", BENCH_PROG,
		pl->sync_blocks);
	if ((rc = bench_net_start(&net, base_port(), init)) != FL_OK)
		goto cleanup;
	if ((rc = measure_fsync(net.root, &fsyncs)) != FL_OK)
		goto cleanup;
	if ((rc = bench_net_height(&net, 1, &from)) != FL_OK)
		goto cleanup;
	if (bench_net_tool(&net, "kill", member) != 0) {
		rc = FL_EIO;
		goto cleanup;
	}
	if ((rc = bench_net_wait_height(&net, 0, pl->sync_blocks, bench_now() + 600)) != FL_OK ||
	    (rc = bench_net_height(&net, 0, &target)) != FL_OK)
		goto cleanup;
	/* From the restart (the process's start-up, ~0.1 s, is in the time)
	 * to the validator's height of then, from the member's height when it
	 * was killed (a little below what it held: a bound in its favour
	 * against the blocks it had, never past them). */
	double t0 = bench_now();
	if (bench_net_tool(&net, "up", NULL) != 0) {
		rc = FL_EIO;
		goto cleanup;
	}
	if ((rc = bench_net_wait_height(&net, 1, target, bench_now() + 600)) != FL_OK)
		goto cleanup;
	double rate = (double)(target - (from < target ? from : 0)) / (bench_now() - t0);
	fprintf(stderr, "  node1 synced heights %llu..%llu\n", (unsigned long long)from,
		(unsigned long long)target);
	bench_emit(b, &(bench_figure){SUITE, "sync_blocks_per_s", rate, "blocks/s",
				      "fdatasync_per_s", fsyncs, rate / fsyncs});
cleanup:
	bench_net_stop(&net, rc != FL_OK);
	return rc;
}

int bench_suite_node(bench_ctx *b)
{
	const plan *pl = b->quick ? &quick_plan : &full_plan;
	double verify = 0;
	int rc;

	if ((rc = measure_verify(b, &verify)) != FL_OK)
		return rc;
	bench_emit(
	    b, &(bench_figure){SUITE, VERIFY_NAME, verify, "verifies/s", VERIFY_NAME, verify, 1.0});
	if ((rc = four_validators(b, pl, verify)) != FL_OK)
		return rc;
	return sync_member(b, pl);
}
