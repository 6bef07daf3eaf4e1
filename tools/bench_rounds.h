/*
 * tools/bench_rounds.h — the parts of fedledger-bench's `rounds` suite: the
 * suite itself (bench_rounds.c: a testnet running federated rounds, polled
 * through the nodes' HTTP API, and fedledger-sim on the same shares) and
 * the pure part, a /metrics reader and the per-round breakdown
 * (bench_rounds_calc.c), kept apart so a unit test can feed it numbers.
 * Never included outside tools/bench_rounds*.c and its test.
 */
#ifndef FEDLEDGER_TOOLS_BENCH_ROUNDS_H
#define FEDLEDGER_TOOLS_BENCH_ROUNDS_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The value of the unlabelled series `name` in a Prometheus text
 * exposition (text, len bytes, need not be NUL-terminated): the line
 * "name VALUE". 0, FL_ENOTFOUND when no such line, FL_EINVAL when its value
 * is not a finite number.
 */
int bench_prom_value(const char *text, size_t len, const char *name, double *value) FL_MUST_CHECK;

/* What the suite reads off one node's /metrics (cumulative since start). */
typedef struct {
	double train_sum, train_count;   /* fedledger_round_train_seconds */
	double agg_sum, agg_count;       /* fedledger_round_aggregate_seconds */
	double verify_sum, verify_count; /* fedledger_round_verify_seconds */
	double fetched, fetched_bytes;   /* fedledger_blobs_fetched{,_bytes}_total */
	double aggregates;               /* fedledger_round_aggregates_total */
	double height;                   /* fedledger_height */
} bench_node_metrics;

/* Every field of bench_node_metrics from one /metrics text; 0 or FL_E*. */
int bench_node_metrics_parse(bench_node_metrics *m, const char *text, size_t len) FL_MUST_CHECK;

/*
 * A coordinator's turn in round `round` of profile `profile`, from its
 * node.log text (len bytes): the times (ms since the epoch, UTC) of its
 * "P round R: this node's turn to aggregate" and "P round R: aggregate
 * committed, …, S s" lines, and S (the aggregate job's seconds: blobs read,
 * aggregated, evaluated). 0, FL_ENOTFOUND when either line is missing,
 * FL_EPARSE when one is malformed.
 */
int bench_log_turn(const char *text, size_t len, const char *profile, uint64_t round,
		   int64_t *turn_ms, int64_t *sent_ms, double *agg_s) FL_MUST_CHECK;

/* One committed round, as the chain recorded it (block heights and their
 * header times, ms) and as the suite saw its coordinator. */
typedef struct {
	uint64_t prev_commit_h, open_h, last_update_h, window_end, commit_h;
	uint64_t prev_commit_ms, open_ms, last_update_ms, window_end_ms, commit_ms;
	uint32_t n_updates;
	/* The committing coordinator's wait for the update blobs in its turn
	 * (bench_log_turn), seconds; < 0 when not measured. */
	double blob_s;
} bench_round_obs;

/* The schedule and the metric deltas over the measured rounds (sums over
 * every node of end minus start). */
typedef struct {
	uint32_t window_blocks;
	double interval_ms; /* the genesis block_interval_ms */
	bench_node_metrics delta;
} bench_rounds_totals;

/* Means per round, in ms (MB for bytes). */
typedef struct {
	size_t rounds, blob_rounds;
	double wall_ms;            /* commit to commit, header times */
	double blocks;             /* blocks per round */
	double interval_ms;        /* mean header-time gap over those blocks */
	double schedule_ms;        /* (window_blocks + 1) x interval: the fewest a round can take */
	double overhead_ms;        /* wall - schedule */
	double overhead_median_ms; /* the median round's: what a round costs when none fails */
	double train_phase_ms;     /* open block to the block with the last update */
	double slack_ms;           /* that block to window_end: the window left unused */
	double post_window_ms;     /* window_end to the commit block */
	double train_ms;           /* one member's training (train_seconds sum / count) */
	double blob_ms;            /* the coordinator's fetch in its turn */
	double aggregate_ms;  /* aggregate_seconds sum / count (blob reads and eval included) */
	double verify_ms;     /* verify_seconds sum / count (one validator's recompute) */
	double chain_work_ms; /* blob + aggregate + verify: the round's own work */
	double fetched_mb;    /* blob bytes fetched by all nodes */
} bench_rounds_breakdown;

#define BENCH_ROUNDS_MAX 64

/* Means over obs[0..n-1]; FL_EINVAL when n is 0, a round's heights or
 * times run backwards, or no training or aggregate was observed;
 * FL_ETOOBIG past BENCH_ROUNDS_MAX rounds. */
int bench_rounds_derive(bench_rounds_breakdown *out, const bench_round_obs *obs, size_t n,
			const bench_rounds_totals *tot) FL_MUST_CHECK;

/* One line for round `round`: its wall time and where it went. */
void bench_rounds_print_round(FILE *f, uint64_t round, const bench_round_obs *o,
			      const bench_rounds_totals *tot);

#endif
