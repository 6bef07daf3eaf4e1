/*
 * node/node.h — fedledgerd's daemon: one libuv loop that owns the chain
 * store, the consensus core and its WAL and signer, the mempool, the p2p
 * host and the HTTP API, and drives them (`fedledgerd start`).
 *
 * Only the loop thread touches node state. Block checks and applies run on
 * libuv's thread pool, one at a time (they take the store's write lock),
 * and report back on the loop in their after_work callback.
 *
 * Shutdown: the first SIGINT or SIGTERM closes every handle in order (HTTP,
 * p2p, timers), waits for the block work in flight, syncs the WAL and closes
 * the store; a second signal exits at once (the WAL and the store are
 * crash-safe, so that loses nothing committed).
 */
#ifndef FEDLEDGER_NODE_NODE_H
#define FEDLEDGER_NODE_NODE_H

#include "core/core.h"

/*
 * Test modes for multi-node safety tests, set only by the explicit
 * `--byzantine MODE` flag of `fedledgerd start` (never by a config file):
 * EQUIVOCATE signs a second, conflicting vote for every vote it sends (past
 * the signer's guard) and gossips both; SILENT sends no consensus
 * message at all; BAD_PROPOSAL proposes blocks with a wrong app hash;
 * BAD_AGGREGATE, as a round's coordinator, commits an aggregate whose new
 * model is not what its updates give (validators must refuse it and file
 * evidence); WITHHOLD_UPDATES commits its updates' hashes and never stores
 * or serves their blobs (the round must leave it out and go on). The last
 * two work on members as well as validators.
 */
typedef enum {
	NODE_BYZ_NONE = 0,
	NODE_BYZ_EQUIVOCATE = 1,
	NODE_BYZ_SILENT = 2,
	NODE_BYZ_BAD_PROPOSAL = 3,
	NODE_BYZ_BAD_AGGREGATE = 4,
	NODE_BYZ_WITHHOLD_UPDATES = 5
} node_byzantine;

/* "equivocate", "silent", "bad-proposal", "bad-aggregate",
 * "withhold-updates" -> the mode; FL_EINVAL else. */
int node_byzantine_parse(const char *s, node_byzantine *out) FL_MUST_CHECK;
const char *node_byzantine_name(node_byzantine mode);

typedef struct {
	const char *home; /* the node's home (node/home.h). Required. */
	int log_format;   /* fl_log_format, or -1 for config.json's */
	int log_level;    /* fl_log_level, or -1 for config.json's */
	node_byzantine byzantine;
} node_run_opts;

/*
 * Runs the node until a signal stops it. Returns FL_OK after a clean
 * shutdown, or the code of what kept it from starting, with one line in
 * err (naming the file or field) when err is not NULL: a bad home, a store
 * of another genesis, a WAL or signer state that cannot be read, an
 * address that cannot be bound.
 */
int node_run(const node_run_opts *opts, char *err, size_t errlen) FL_MUST_CHECK;

#endif
