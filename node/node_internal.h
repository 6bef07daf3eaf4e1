/*
 * node/node_internal.h — the daemon's state (struct node) and the
 * functions its files share. Everything here runs on the loop thread but
 * the work functions of node__job (node/node_block.c).
 */
#ifndef FEDLEDGER_NODE_NODE_INTERNAL_H
#define FEDLEDGER_NODE_NODE_INTERNAL_H

#include <uv.h>

#include "chain/chain.h"
#include "node/consensus.h"
#include "node/home.h"
#include "node/blobstore.h"
#include "node/http.h"
#include "node/mempool.h"
#include "node/metrics.h"
#include "node/node.h"
#include "node/rpc.h"
#include "node/signer.h"
#include "node/wal.h"
#include "node/wire.h"
#include "p2p/p2p.h"

/* A send whose failure changes nothing here: the peer is dropped by p2p/
 * (slow, gone) and the periodic re-sends and sync cover what it missed. */
#define NODE__IGNORE(x)                                                                            \
	do {                                                                                       \
		if ((x) != 0) {                                                                    \
		}                                                                                  \
	} while (0)

#define NODE__TIMERS_MAX 64                  /* consensus timeouts pending at once */
#define NODE__LOCAL_MAX  64                  /* events the node feeds itself, queued */
#define NODE__NEXT_MAX   512                 /* next-height messages held until it starts */
#define NODE__NEXT_BYTES (16u * 1024 * 1024) /* and their bytes together */
#define NODE__PEERS_MAX  128                 /* peers whose status we track */
#define NODE__OWN_MAX    256                 /* own signatures found in the WAL at replay */
#define NODE__FETCH_MAX  2                   /* large proposals' blocks fetched at once */
#define NODE__TICK_MS    1000                /* status, re-sends, sync */
#define NODE__OWN_TXS_MAX 64                 /* own txs queued at once (node_owntx.c) */
#define NODE__DIRECT_TXS_PER_S 256           /* direct txs a peer may send a second */
#define NODE__OWN_PENDING_MAX  16            /* own txs waiting for a block's apply */

/* WAL record types: one per consensus event kind (node_cons_event_kind),
 * then this node's own signed messages. */
enum { NODE__WAL_OWN_VOTE = 20, NODE__WAL_OWN_PROPOSAL = 21 };

/* A block of the current height, held by header hash. */
typedef struct {
	int used;
	fl_hash hash;
	uint64_t height;
	uint8_t *bytes; /* the encoding (fl_malloc) */
	size_t n;
	chain_block block; /* decoded */
	int busy;          /* a VALIDATE job reads it on the pool: never evicted */
} node__block;

typedef struct {
	uint64_t due_ms;
	node_cons_timeout t;
} node__timer;

typedef struct {
	fl_pubkey id;
	p2p_peer *peer; /* NULL once gone */
	node_wire_status status;
	int sync_busy; /* a blocks request is out */
	/* Direct txs (NODE_MSG_TX) it may still send: a token bucket of
	 * NODE__DIRECT_TXS_PER_S, refilled as time passes (node_net.c). */
	uint32_t tx_tokens;
	uint64_t tx_refill_ms;
} node__peer;

/* An own tx signed while the mempool was paused for a block (node_owntx.c). */
typedef struct {
	chain_tx tx;      /* owned */
	const char *what; /* static: for the log */
} node__own_pending;

/* A signature this node gave before a restart, found in the WAL. */
typedef struct {
	uint8_t kind; /* NODE__WAL_OWN_* */
	chain_vote vote;
	node_cons_proposal proposal;
} node__own;

/* A proposal's block coming part by part (node_fetch.c). */
typedef struct {
	struct node *node;
	node_cons_proposal proposal;
	fl_pubkey from; /* the peer that sent the proposal */
	uint8_t *buf;   /* NULL: slot free */
	size_t len, have;
	int busy;         /* a part request is out */
	unsigned attempt; /* the source asked now (node_fetch.c's fetch_source) */
} node__fetch;

typedef enum { NODE__JOB_VALIDATE = 1, NODE__JOB_APPLY = 2 } node__job_kind;

/* Block work for the thread pool: one job runs at a time. */
typedef struct node__job {
	struct node__job *next;
	struct node *node;
	node__job_kind kind;
	fl_hash hash;
	chain_block *block; /* borrowed from the block cache (VALIDATE) or owned (APPLY) */
	void *cached;       /* VALIDATE: the node__block it borrows */
	uint8_t *bytes;     /* APPLY: owned encoding */
	size_t n;
	chain_commit commit;    /* APPLY */
	int flags;              /* APPLY: NODE__APPLY_* */
	int timed_out;          /* VALIDATE: past timeouts.block_validation_ms, verdict given */
	int bad_aggregate;      /* VALIDATE: an aggregate in it does not verify: invalid */
	uint32_t test_delay_ms; /* node__test_hooks.slow_validate_ms, for this job */
	int test_fail;          /* node__test_hooks.fail_applies, for this job */
	int rc;
	chain_block_result res;
	uint64_t indexed;
} node__job;

/*
 * Test hooks, read from FEDLEDGERD_TEST_* environment variables at start
 * (node.c); every field is 0 in a normal run and no config file sets one.
 */
typedef struct {
	uint64_t exit_after_apply; /* _exit(NODE__TEST_EXIT) once this height is stored */
	unsigned fail_applies;     /* this many applies fail (FL_EIO) before running */
	uint32_t slow_validate_ms; /* the first VALIDATE job sleeps this long first */
	uint64_t lose_tip_commit;  /* at this height: the block alone, then _exit */
	uint32_t prune_s;          /* the blob retention sweep's period and age, not 60 s */
} node__test_hooks;

#define NODE__TEST_EXIT 86 /* exit status of exit_after_apply */

/* A decided block that did not apply: kept and applied again, never
 * replaced by another block of its height (node_block.c). */
typedef struct {
	uint64_t height; /* 0: none */
	fl_hash hash;
	uint8_t *bytes; /* fl_malloc */
	size_t n;
	chain_commit commit;
	unsigned attempts;
	uint64_t retry_ms; /* the next attempt starts at this time or later */
} node__stuck;

typedef struct node {
	uv_loop_t *loop;
	node_run_opts opts;
	node_home home;
	char chain_id[CHAIN_ID_MAX + 1];
	chain_store *store;
	chain_info info; /* the tip, read on the loop after each commit */
	node_wal *wal;
	node_signer *signer;
	node_mempool *mempool;
	p2p_host *p2p;
	node_cons *cons;
	node_cons_priority prio; /* of the height consensus works on */
	uint64_t cons_height;    /* 0 until START_HEIGHT was fed */
	node_cons_actions acts;
	node_cons_config cons_cfg;
	uint32_t block_interval_ms;

	node_cons_event local[NODE__LOCAL_MAX];
	unsigned local_n;
	int draining;

	node__timer timers[NODE__TIMERS_MAX];
	unsigned n_timers;
	uv_timer_t cons_timer;
	uv_timer_t tick;
	uv_timer_t start_timer;
	uv_signal_t sig_int, sig_term;

	node__block blocks[NODE_CONS_MAX_BLOCKS];
	struct {
		uint8_t type; /* NODE_TOPIC_PROPOSAL or NODE_TOPIC_VOTE */
		uint8_t *p;
		size_t n;
	} next[NODE__NEXT_MAX];
	unsigned n_next;
	size_t next_bytes;

	node__peer peers[NODE__PEERS_MAX];
	node__fetch fetches[NODE__FETCH_MAX];

	node__job *jobs, *jobs_tail;
	int job_running;
	uv_work_t work;
	uint64_t applying;         /* height of an APPLY queued or running, else 0 */
	uv_timer_t validate_timer; /* timeouts.block_validation_ms of the running VALIDATE */
	node__stuck stuck;
	node__test_hooks test;

	int replaying;
	node__own own[NODE__OWN_MAX];
	unsigned n_own;

	uint64_t sync_target; /* highest height a peer reported */
	uint64_t decided_ms;
	struct {
		fl_hash hash;
		uint64_t sent_ms; /* gossiped or last re-sent */
		unsigned resends;
	} own_txs[NODE__OWN_TXS_MAX]; /* own txs signed, maybe still queued */
	unsigned n_own_txs;
	node__own_pending own_pending[NODE__OWN_PENDING_MAX]; /* signed while paused */
	unsigned n_own_pending;
	int stopping;
	int handles; /* closed handles still pending */
	int fatal;   /* a WAL or store failure: stop */

	node_blobstore *blobs;
	struct node__rounds *rounds; /* node_round.c */
	node_http_server http;
	node_rpc rpc;
	int http_open;

	node_metrics metrics;
	struct {
		node_metric *height, *round, *step, *interval, *commit, *peers;
		node_metric *mempool_txs, *mempool_bytes, *wal_fsync, *wal_syncs, *txs;
		node_metric *apply_failures, *apply_stuck, *validate_timeouts;
		node_metric_family *peer_bytes;
		uint64_t wal_ns_seen, wal_syncs_seen;
		uint64_t last_height, step_since;
		uint32_t last_round;
		uint8_t last_step;
	} m;
} node;

uint64_t node__now_ms(void);

/* node_rpc.c: the HTTP API. */
int node__rpc_open(node *n, char *err, size_t errlen);
void node__rpc_close(node *n);
void node__rpc_committed(node *n, const chain_block *b, const fl_hash *hash);
uint16_t node__rpc_port(const node *n);

/* node_metrics.c: the Prometheus families. */
int node__metrics_init(node *n);
/* One family without labels, its series; after a failure (*rc != 0) it
 * does nothing and returns NULL. */
node_metric *node__metric_one(node *n, node_metric_type type, const char *name, const char *help,
			      int *rc);
void node__metrics_tick(node *n);
void node__metrics_step(node *n);
void node__metrics_commit(node *n, const chain_block *b, uint64_t prev_time_ms,
			  uint64_t decided_ms);

/* node_cons.c: feeding the core and acting on what it says. */
int node__cons_open(node *n);
int node__cons_replay(node *n);
void node__cons_start_height(node *n);
int node__cons_feed(node *n, node_cons_event *ev, const uint8_t *block, size_t block_n);
int node__cons_feed_proposal(node *n, const node_cons_proposal *p, const node__block *b);
/* A proposal message (gossip or re-send), and a vote: the gossip verdict. */
p2p_gossip_verdict node__cons_on_proposal(node *n, p2p_peer *from, const uint8_t *p, size_t len);
p2p_gossip_verdict node__cons_on_vote(node *n, const uint8_t *p, size_t len);
void node__cons_on_timer(uv_timer_t *t);
void node__cons_resend(node *n);
void node__cons_committed(node *n, uint64_t height);

/* node_block.c: the block cache, building, and the jobs. */
node__block *node__block_find(node *n, const fl_hash *hash);
/* Decodes and holds a block; with expect, only if it hashes to it (else
 * FL_EINVAL, nothing held). */
node__block *node__block_put(node *n, const uint8_t *bytes, size_t len, const fl_hash *expect,
			     int *rc);
void node__blocks_prune(node *n, uint64_t below);
int node__block_build(node *n, uint64_t height, uint32_t round, fl_hash *hash, uint64_t *time_ms);
void node__job_validate(node *n, const fl_hash *hash);
/* node__job_apply flags. */
#define NODE__APPLY_SYNC 1 /* a block sync fetched (logged as such) */
#define NODE__APPLY_MORE 2 /* sync holds the next height's block too: see work_cb */
void node__job_apply(node *n, const uint8_t *bytes, size_t len, const chain_commit *c, int flags);
void node__blocks_free(node *n);
/* node_tipcommit.c: at start, the tip's commit rebuilt from the WAL when
 * the store lacks it. */
int node__tip_commit_recover(node *n);
/* The 1 s tick: applies again a decided block that failed, when due. */
void node__block_retry(node *n);

/* node_round.c: federated rounds (node/node_round_internal.h). */
int node__round_open(node *n, char *err, size_t errlen);
void node__round_close(node *n);
int node__round_busy(const node *n); /* pool jobs still running */
void node__round_committed(node *n, const chain_block *b);
void node__round_tick(node *n);
/* Before a proposed block is checked: whether every aggregate_commit in it
 * recomputed (READY), one is still being checked (PARKED: it is validated
 * again when the check ends) or one does not (BAD: an invalid verdict). */
typedef enum { NODE__BLOCK_READY = 0, NODE__BLOCK_PARKED = 1, NODE__BLOCK_BAD = 2 } node__block_readiness;
node__block_readiness node__round_block_ready(node *n, const chain_block *b, const fl_hash *hash);
/* Whether a block this node builds may carry tx (an aggregate it has
 * recomputed; its check starts otherwise). */
int node__round_includable(node *n, const chain_tx *tx);
/* A tx gossip admitted: an aggregate's check starts at once. */
void node__round_on_tx(node *n, const uint8_t *p, size_t len);

/* node_owntx.c: a tx of the node's member key (sender, next nonce, sign,
 * admit, gossip): FL_OK, or the error, logged as `what`'s. *hash (may be
 * NULL) its hash. */
int node__submit_own_tx(node *n, chain_tx *tx, fl_hash *hash, const char *what) FL_MUST_CHECK;
/* The tick: own txs still queued after a while are sent to every peer again. */
void node__own_txs_tick(node *n);
/* After a block's apply: the own txs signed meanwhile go into the mempool. */
void node__own_txs_flush(node *n);
void node__own_txs_free(node *n);

/* node_fetch.c: blocks larger than a frame. */
void node__fetch_start(node *n, p2p_peer *from, const node_wire_proposal *wp);
void node__fetch_serve(node *n, p2p_peer *peer, uint64_t id, const node_wire_part_req *q);
void node__fetch_free_all(node *n);
/* A part of len bytes at offset `have` of a block of `total` bytes is what a
 * responder sends: not empty, not past the end, NODE_WIRE_PART_MAX unless
 * it ends the block. */
int node__part_fits(size_t total, size_t have, size_t len);
/* Asks the connected peer `from` for block `hash`'s bytes from `offset`:
 * 0 and cb runs exactly once (p2p_request), or FL_ENOTFOUND (that peer is
 * gone) or the request's error, and cb never runs. */
int node__part_request(node *n, const fl_pubkey *from, const fl_hash *hash, size_t offset,
		       uint32_t timeout_ms, p2p_response_cb cb, void *arg);

/* node_net.c: p2p callbacks and sends. */
void node__net_config(node *n, p2p_config *cfg);
void node__net_broadcast_proposal(node *n, const node_cons_proposal *p);
void node__net_broadcast_vote(node *n, const chain_vote *v);
void node__net_send_status(node *n, p2p_peer *only);
/* An own tx's bytes straight to every peer (NODE_MSG_TX). */
void node__net_resend_tx(node *n, const uint8_t *p, size_t len);
void node__net_sync(node *n, int allow_one);
/* The connected peer of that id, or NULL. */
p2p_peer *node__net_peer(node *n, const fl_pubkey *id);
/* After each commit: the next block sync already holds, if any. */
void node__sync_next(node *n);
/* Block `height` is in the store (its after_apply has begun): the next
 * held block's commit is verified on the pool meanwhile. */
void node__sync_applied(node *n, uint64_t height);
void node__sync_free(node *n);
void node__sync_retarget(node *n);

#endif
