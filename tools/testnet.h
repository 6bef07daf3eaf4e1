/*
 * tools/testnet.h — what the files of fedledger-testnet share (docs/testnet.md):
 * the testnet description (DIR/testnet.json), a blocking loopback HTTP GET
 * client, the node processes and the funded accounts. Included by
 * tools/testnet*.c and by fedledger-bench's node suite, which drives a testnet.
 */
#ifndef FEDLEDGER_TOOLS_TESTNET_H
#define FEDLEDGER_TOOLS_TESTNET_H

#include "core/core.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TESTNET_PROG      "fedledger-testnet"
#define TESTNET_MAX_NODES 64 /* node_config allows 64 persistent peers */
#define TESTNET_PATH_MAX  1024
/* A response larger than this is refused: the JSON of a full block
 * (CHAIN_MAX_BLOCK_BYTES of transfers) is about 3 times its bytes. */
#define TESTNET_HTTP_MAX (64u * 1024 * 1024)

/* One node of a testnet as testnet.json records it. */
typedef struct {
	char name[16]; /* "node<i>" */
	char id[65];   /* node id, hex */
	uint16_t p2p_port;
	uint16_t rpc_port;
	int validator;
	char byzantine[24]; /* "" = honest; a node_byzantine_name */
} testnet_node;

typedef struct {
	char dir[TESTNET_PATH_MAX];
	uint32_t n_validators, n_members, n;
	testnet_node node[TESTNET_MAX_NODES];
} testnet;

/* Reads DIR/testnet.json; one line on stderr naming the problem on failure.
 * Returns 0 or a TOOL_EXIT_* status. */
int testnet_load(testnet *t, const char *dir);
/* "node2" or "2" -> index; -1 (after one line on stderr) when no such node. */
int testnet_node_index(const testnet *t, const char *name);

/* ----------------------------------------------------------------- http */

/*
 * GET path from 127.0.0.1:port with HTTP/1.1, Connection: close. Waits at
 * most timeout_ms for the connect and for each read. On success *status is
 * the HTTP status and *body a malloc'd NUL-terminated body (free it).
 * Returns 0, or -1 with why[] set (unreachable, timeout, malformed, too big).
 */
int testnet_http_get(uint16_t port, const char *path, int timeout_ms, int *status, char **body,
		     size_t *body_len, char *why, size_t whylen);
/* GET path and parse a 200 answer as a JSON object; NULL when anything fails. */
json_t *testnet_http_get_json(uint16_t port, const char *path, int timeout_ms);
/* A JSON integer, or a decimal string (the API writes u64 amounts as
 * strings); -1 for anything else. */
int64_t testnet_json_int(const json_t *v);

/* ------------------------------------------------------------ processes */

typedef enum { TESTNET_STOPPED = 0, TESTNET_RUNNING, TESTNET_PAUSED } testnet_state;

/* The state of node i from DIR/nodeI/node.pid and /proc/PID/stat; *pid is
 * the recorded pid (0 when none). A zombie or a dead pid is stopped. */
testnet_state testnet_node_state(const testnet *t, uint32_t i, pid_t *pid);
const char *testnet_state_name(testnet_state s);
/* Starts node i detached (setsid, output appended to node.log, pid file). */
int testnet_node_spawn(const testnet *t, uint32_t i);
/* Waits until every node in want[] answers /health, printing progress on
 * stderr; names the node and the tail of its log when one dies or the
 * timeout passes. Returns 0 or TOOL_EXIT_RUNTIME. */
int testnet_wait_healthy(const testnet *t, const int *want, int timeout_s);
/* SIGTERM, up to 10 s, then SIGKILL; removes the pid file. */
int testnet_node_stop(const testnet *t, uint32_t i);
/* Prints the last lines of node i's log on stderr. */
void testnet_print_log_tail(const testnet *t, uint32_t i, int lines);
/* The fedledgerd binary: $FEDLEDGER_BIN/fedledgerd or next to our own binary. */
int testnet_daemon_path(char *out, size_t outlen);
/* DIR/nodeI/<leaf> into out; -1 when too long. */
int testnet_node_path(char *out, size_t outlen, const testnet *t, uint32_t i, const char *leaf);

/* ------------------------------------------------------------- accounts */

#define TESTNET_MAX_ACCOUNTS   60000u           /* with the nodes, under GENESIS_MAX_BALANCES */
#define TESTNET_ACCOUNT_AMOUNT 1000000000000ull /* liquid tokens of each extra account */

typedef struct {
	fl_seckey sk;
	fl_pubkey pk;
} testnet_account;

/* n fresh accounts: appends {"account","amount"} for each to balances and
 * writes DIR/accounts.keys (0600). 0, or -1 with err set. */
int testnet_accounts_make(const char *dir, uint32_t n, json_t *balances, char *err, size_t errlen);
/* Reads DIR/accounts.keys, checking every secret key against its public
 * key; *out is calloc'd (wipe and free it). 0, or -1 with err set. */
int testnet_accounts_load(const char *dir, testnet_account **out, uint32_t *n, char *err,
			  size_t errlen);

/* ----------------------------------------------------------- commands */

int testnet_cmd_init(int argc, char **argv);
int testnet_cmd_up(int argc, char **argv);
int testnet_cmd_down(int argc, char **argv);
int testnet_cmd_status(int argc, char **argv);
int testnet_cmd_signal(int argc, char **argv); /* kill, pause, resume, restart */
int testnet_cmd_wait(int argc, char **argv);
int testnet_cmd_check(int argc, char **argv);
int testnet_cmd_rounds(int argc, char **argv); /* testnet_rounds.c */
int testnet_cmd_get(int argc, char **argv);    /* testnet_get.c */

#endif
