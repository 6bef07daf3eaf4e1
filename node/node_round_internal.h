/*
 * node/node_round_internal.h — the node's round driver (docs/node.md,
 * "Rounds"): what a member, a coordinator and a validator do for each active
 * profile, driven from the loop after each commit and each tick. The
 * learning itself is node/round_work.h, run on the libuv thread pool; the
 * loop only decides, fetches blobs, and signs txs.
 *
 * Level-triggered: every step looks at the committed state and at what the
 * node holds, and does the next thing that is missing (load the data, join,
 * fetch the base model, train, commit, aggregate, evaluate). A restart, a
 * lost tx or a failed fetch is then only a later step doing it again;
 * nothing is remembered that the chain does not say, but what is running.
 *
 * Files: node_round.c (the steps), node_round_fetch.c (blobs wanted from
 * peers), node_round_verify.c (aggregates recomputed before a prevote),
 * node_round_jobs.c (the pool work).
 */
#ifndef FEDLEDGER_NODE_NODE_ROUND_INTERNAL_H
#define FEDLEDGER_NODE_NODE_ROUND_INTERNAL_H

#include "node/node_internal.h"
#include "node/round_data.h"
#include "node/round_work.h"

#define NODE__ROUND_PROFILES_MAX 16  /* active profiles followed (key order) */
#define NODE__ROUND_WANTS_MAX    512 /* blobs wanted at once */
#define NODE__ROUND_FETCHES_MAX  16  /* of them fetched at once */
#define NODE__ROUND_VERIFY_MAX   32  /* aggregate txs whose check is remembered */
#define NODE__ROUND_PARKED_MAX   4   /* proposals waiting for a check to finish */
#define NODE__ROUND_KEEP_ROUNDS  8   /* models of the last K rounds stay stored */
#define NODE__ROUND_PRUNE_S      60  /* the retention sweep, every this often */

/* Pool work (node_round_jobs.c). */
typedef enum {
	NODE__RJOB_LOAD = 1,      /* a member's data for a profile */
	NODE__RJOB_TRAIN = 2,     /* a member's update */
	NODE__RJOB_AGGREGATE = 3, /* a coordinator's aggregate */
	NODE__RJOB_EVAL = 4,      /* a member's eval_report */
	NODE__RJOB_VERIFY = 5,    /* a validator's recomputation */
	NODE__RJOB_STORE = 6,     /* a fetched blob onto disk */
	NODE__RJOB_PRUNE = 7,     /* the retention sweep */
} node__rjob_kind;

typedef struct node__keep_set node__keep_set; /* node_round.c */
void node__round_keep_free(node__keep_set *k);
int node__round_keep(void *ctx, const fl_hash *h); /* a node_blobstore_keep_fn */

typedef struct node__rjob {
	uv_work_t work;
	struct node *node;
	node__rjob_kind kind;
	int slot;       /* the profile's (or the verify's, or the want's) index */
	uint64_t round; /* the round it is for */
	char profile[CHAIN_PROFILE_ID_MAX + 1];
	int rc;
	char err[256];
	double seconds;

	/* inputs, copied: the job never reads loop state */
	chain_profile def;
	node_round_params rp;
	fl_hash base;                /* the round's base model (zero: init) */
	node_round_input *in;        /* TRAIN: none; AGGREGATE, VERIFY: the updates */
	size_t n_in;                 /* their blobs are read from the store on the pool */
	const node_round_data *data; /* TRAIN, EVAL, AGGREGATE: the profile's, read-only */
	const node_config_data *cfg; /* LOAD */
	char home[4096];             /* LOAD */
	int withhold;                /* TRAIN: withhold-updates mode: no blob stored */
	int bad;                     /* AGGREGATE: bad-aggregate mode */
	chain_tx tx;                 /* VERIFY: the aggregate_commit (owned) */
	fl_hash model;               /* EVAL: the model to evaluate */
	uint8_t *blob;               /* STORE: the bytes (owned) */
	size_t blob_n;
	node__keep_set *keep; /* PRUNE: what stays (owned) */
	int64_t older_than;   /* PRUNE */

	/* outputs */
	node_round_data *loaded;         /* LOAD */
	node_round_update update;        /* TRAIN */
	node_round_aggregate_result agg; /* AGGREGATE */
	node_round_input_status *status; /* AGGREGATE: n_in reasons */
	uint8_t *sides;                  /* AGGREGATE: cluster side of each used update */
	int split_clear;                 /* AGGREGATE: the sides are two clear clusters */
	double max_cross;
	uint32_t accuracy_ppm, loss_ppm; /* AGGREGATE, EVAL */
	fl_hash recomputed;              /* VERIFY */
	uint64_t removed, removed_bytes; /* PRUNE */
	const char *why;                 /* VERIFY */
} node__rjob;

/* One profile the node follows. */
typedef struct {
	int used;
	char id[CHAIN_PROFILE_ID_MAX + 1];
	chain_profile def;
	chain_profile_state st;
	int runnable; /* node_round_params_from_profile accepted it */
	node_round_params rp;
	int warned; /* why it is not runnable, said once */

	int cfg;               /* index in config rounds.data, -1 none */
	node_round_data *data; /* loaded (owned) */
	int loading, load_failed;

	uint64_t joined_height; /* the join on chain, 0 none */
	int join_pending;       /* a join tx is queued */
	uint64_t join_sent_height;
	fl_hash join_tx;

	uint64_t trained; /* the last round whose update was made (or given up) */
	int training;
	uint64_t aggregated; /* the last round this node aggregated as coordinator */
	int aggregating;
	uint64_t turn_ms; /* when this node's turn in `aggregating` round began */
	uint64_t turn_round;
	uint64_t evaluated; /* the last committed round evaluated */
	int evaluating;
	uint64_t split_round; /* the last round whose updates were tested for a split */
} node__profile;

/* A blob wanted from peers (node_round_fetch.c). */
typedef enum {
	NODE__WANT_FREE = 0,
	NODE__WANT_IDLE,
	NODE__WANT_FETCHING,
	NODE__WANT_STORING
} node__want_state;

typedef struct {
	node__want_state state;
	struct node *node;
	fl_hash hash;
	uint64_t max_size;
	unsigned attempts;
	uint64_t next_ms;  /* the next attempt not before */
	uint64_t asked_ms; /* a step last asked for it: forgotten a while after */
} node__want;

/* An aggregate_commit tx's check (node_round_verify.c). */
typedef enum {
	NODE__VERIFY_FREE = 0,
	NODE__VERIFY_WAITING, /* for update blobs */
	NODE__VERIFY_RUNNING,
	NODE__VERIFY_OK,
	NODE__VERIFY_MISMATCH, /* the updates give another model: evidence filed */
	NODE__VERIFY_INVALID,  /* not the round's updates, weights or base */
	NODE__VERIFY_MISSING,  /* a blob nobody served in time: nil, no evidence */
} node__verify_state;

typedef struct {
	node__verify_state state;
	fl_hash tx_hash;
	chain_tx tx;       /* decoded copy (owned) */
	uint8_t *tx_bytes; /* its canonical bytes, for the evidence (owned) */
	size_t tx_n;
	uint64_t first_ms; /* blobs waited for since */
	uint64_t retry_ms; /* MISSING: checked again from then */
	uint64_t used_ms;
	fl_hash recomputed;
} node__verify;

typedef struct node__rounds {
	node__profile prof[NODE__ROUND_PROFILES_MAX];
	node__want wants[NODE__ROUND_WANTS_MAX];
	unsigned fetching;
	node__verify verify[NODE__ROUND_VERIFY_MAX];
	fl_hash parked[NODE__ROUND_PARKED_MAX];
	unsigned n_parked;
	int busy;    /* pool jobs running */
	int pruning; /* a PRUNE job is out */
	uint64_t pruned_ms;
	struct {
		node_metric *updates, *aggregates, *evals, *joins;
		node_metric *verify_ok, *verify_bad, *verify_missing;
		node_metric *train_s, *aggregate_s, *verify_s;
		node_metric *fetched, *fetch_failed, *fetch_bytes;
		node_metric *store_bytes, *store_blobs, *pruned;
		node_metric *splits;
	} m;
} node__rounds;

static inline int node__zero_hash(const fl_hash *h)
{
	static const fl_hash zero;

	return fl_hash_cmp(h, &zero) == 0;
}

/* node_round.c */
void node__round_step(node *n);
node__profile *node__round_profile(node *n, const char *id);
/* The largest blob a profile's model or update may take. */
uint64_t node__round_blob_max(const chain_profile *def);

/* node_round_split.c: child profiles for a clear split of j's updates. */
void node__round_propose_split(node *n, node__profile *p, const node__rjob *j);

/* node_round_fetch.c: 1 when the blob is stored; else it is wanted (a
 * fetch starts when a slot is free) and 0. */
int node__round_want(node *n, const fl_hash *h, uint64_t max_size);
void node__round_fetch_tick(node *n);
void node__round_stored(node *n, node__rjob *j);

/* node_round_verify.c */
void node__round_verify_tick(node *n);
void node__round_verified(node *n, node__rjob *j);
void node__round_verify_free(node *n);

/* node_round_jobs.c: queues j on the pool (FL_OK; j is the pool's until
 * node__round_job_done), or frees it and returns the error. */
int node__round_job_queue(node *n, node__rjob *j) FL_MUST_CHECK;
node__rjob *node__round_job_new(node *n, node__rjob_kind kind, int slot);
void node__round_job_free(node__rjob *j);
/* Loop side of each finished job (node_round.c). */
void node__round_job_done(node *n, node__rjob *j);

#endif
