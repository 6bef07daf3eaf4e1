/*
 * tools/bench_node.h — the parts of fedledger-bench's `node` suite: a local
 * testnet of real fedledgerd processes driven through the fedledger-testnet
 * binary (bench_node_net.c) and a load generator of signed transfers posted
 * to the nodes' HTTP API, timed to their commit on the `events` stream
 * (bench_node_load.c). Never included outside tools/bench_node*.c.
 */
#ifndef FEDLEDGER_TOOLS_BENCH_NODE_H
#define FEDLEDGER_TOOLS_BENCH_NODE_H

#include "tools/bench.h"
#include "tools/testnet.h"

#include <stdint.h>

/* A testnet made under a fresh directory of $TMPDIR (/tmp by default). */
typedef struct {
	char root[TESTNET_PATH_MAX]; /* the mkdtemp directory: net/ and testnet.log */
	char dir[TESTNET_PATH_MAX];  /* root/net, the testnet */
	testnet t;                   /* as init wrote it */
} bench_net;

/* Seconds on the monotonic clock. */
double bench_now(void);

/* `fedledger-testnet init --out DIR --base-port P EXTRA...`, then `up`:
 * every node healthy. extra is NULL-terminated. Output of the tool goes to
 * root/testnet.log, whose tail is printed on failure. 0 or FL_E*. */
int bench_net_start(bench_net *net, unsigned base_port, const char *const extra[]);
/* The path of tool `name` (fedledger-testnet, fedledger-sim): next to
 * fedledgerd (testnet_daemon_path). 0, or -1 when too long. */
int bench_net_bin_path(char *out, size_t outlen, const char *name);
/* Runs `fedledger-testnet CMD DIR ARGS...`: its exit status, or -1. */
int bench_net_tool(const bench_net *net, const char *cmd, const char *const args[]);
/* `down`, then removes root (kept, and named on stderr, when keep). */
void bench_net_stop(bench_net *net, int keep);

/* Node i's GET /status height; 0 or FL_EIO. */
int bench_net_height(const bench_net *net, uint32_t i, uint64_t *height);
/* The header time of block h on node i (GET /v1/blocks/h); 0 or FL_EIO. */
int bench_net_block_time(const bench_net *net, uint32_t i, uint64_t h, uint64_t *time_ms);
/* Node i's resident set now and its peak (VmRSS, VmHWM), KiB; 0 or FL_EIO. */
int bench_net_rss(const bench_net *net, uint32_t i, uint64_t *rss_kb, uint64_t *hwm_kb);
/* Polls until node i reaches height h or deadline (bench_now() seconds);
 * 0, or FL_ETIMEOUT. Prints progress on stderr every few seconds. */
int bench_net_wait_height(const bench_net *net, uint32_t i, uint64_t h, double deadline);

/* ----------------------------------------------------------- the load */

typedef struct {
	const char *chain_id;
	double seconds;       /* how long transfers are posted */
	uint32_t per_account; /* transfers signed per account (nonces 1..per_account) */
	uint32_t window;      /* at most this many posted and not yet committed */
	uint32_t conns;       /* HTTP connections, spread over the nodes */
	double rate;          /* transfers begun per second, at most; 0: no pacing */
} bench_load_cfg;

typedef struct {
	uint64_t posted;     /* answered 202 */
	uint64_t committed;  /* seen committed on node 0's events stream */
	uint64_t in_window;  /* committed while transfers were being posted */
	double window_s;     /* from the first post to the last */
	double tx_per_s;     /* in_window / window_s */
	double p50_s, p99_s; /* post to commit seen, over every committed transfer */
	uint64_t retried;    /* 503 answers (mempool full, busy), posted again later */
} bench_load_result;

/* Signs per_account transfers for each account, posts them for cfg->seconds
 * over cfg->conns keep-alive connections (an account always on the same
 * one, so its nonces arrive in order), and times each to its `tx` event on
 * node 0; then waits (bounded) for what is still in flight. A refusal other
 * than 503 fails the run, naming the node's reason. 0 or FL_E*. */
int bench_node_load(const bench_net *net, const testnet_account *acc, uint32_t n_acc,
		    const bench_load_cfg *cfg, bench_load_result *out) FL_MUST_CHECK;

#endif
