/*
 * tests/tools/test_bench_rounds.c — the `rounds` suite's arithmetic
 * (tools/bench_rounds_calc.c) on made-up inputs: the /metrics reader, the
 * coordinator's log lines and the per-round breakdown. The suite itself
 * runs real nodes; test_bench.c runs it in --quick mode.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "tools/bench_rounds.h"

#define TEXT(s) (s), strlen(s)

static const char metrics[] = "# HELP fedledger_height Last committed height\n"
			      "# TYPE fedledger_height gauge\n"
			      "fedledger_height 50\n"
			      "fedledger_peer_bytes{peer=\"00aa\",direction=\"in\"} 7\n"
			      "fedledger_blobs_fetched_total 21\n"
			      "fedledger_blobs_fetched_bytes_total 16735677\n"
			      "fedledger_round_aggregates_total 2\n"
			      "fedledger_round_train_seconds_bucket{le=\"+Inf\"} 8\n"
			      "fedledger_round_train_seconds_sum 6.6834997710011521\n"
			      "fedledger_round_train_seconds_count 8\n"
			      "fedledger_round_aggregate_seconds_sum 0.16136053099990022\n"
			      "fedledger_round_aggregate_seconds_count 2\n"
			      "fedledger_round_verify_seconds_sum 0.33943697099948622\n"
			      "fedledger_round_verify_seconds_count 7";

Test(bench_rounds, prom_value_takes_the_exact_unlabelled_series)
{
	double v = -1;

	cr_assert_eq(bench_prom_value(TEXT(metrics), "fedledger_height", &v), FL_OK);
	cr_assert_eq(v, 50);
	/* The last line has no newline. */
	cr_assert_eq(bench_prom_value(TEXT(metrics), "fedledger_round_verify_seconds_count", &v),
		     FL_OK);
	cr_assert_eq(v, 7);
	cr_assert_eq(bench_prom_value(TEXT(metrics), "fedledger_round_train_seconds_sum", &v),
		     FL_OK);
	cr_assert_float_eq(v, 6.6834997710011521, 1e-12);
	/* A prefix of a longer name, a labelled series, a comment: none is it. */
	cr_assert_eq(bench_prom_value(TEXT(metrics), "fedledger_round_train_seconds", &v),
		     FL_ENOTFOUND);
	cr_assert_eq(bench_prom_value(TEXT(metrics), "fedledger_peer_bytes", &v), FL_ENOTFOUND);
	cr_assert_eq(bench_prom_value(TEXT("# HELP x 1\n"), "x", &v), FL_ENOTFOUND);
	cr_assert_eq(bench_prom_value(TEXT(""), "x", &v), FL_ENOTFOUND);
	/* Values that are not finite numbers, or too long to be ours. */
	cr_assert_eq(bench_prom_value(TEXT("x abc\n"), "x", &v), FL_EINVAL);
	cr_assert_eq(bench_prom_value(TEXT("x 1 2\n"), "x", &v), FL_EINVAL);
	cr_assert_eq(bench_prom_value(TEXT("x +Inf\n"), "x", &v), FL_EINVAL);
	char big[200] = "x ";
	memset(big + 2, '1', 150);
	cr_assert_eq(bench_prom_value(TEXT(big), "x", &v), FL_EINVAL);
	/* len bounds the read: the text need not end where the string does. */
	cr_assert_eq(bench_prom_value("x 12345", 4, "x", &v), FL_OK);
	cr_assert_eq(v, 12);
}

Test(bench_rounds, node_metrics_parse_reads_every_series)
{
	bench_node_metrics m;

	cr_assert_eq(bench_node_metrics_parse(&m, TEXT(metrics)), FL_OK);
	cr_assert_eq(m.height, 50);
	cr_assert_eq(m.train_count, 8);
	cr_assert_eq(m.agg_count, 2);
	cr_assert_eq(m.verify_count, 7);
	cr_assert_eq(m.fetched, 21);
	cr_assert_eq(m.fetched_bytes, 16735677);
	cr_assert_eq(m.aggregates, 2);
	/* One series missing: the whole read fails, m untouched. */
	m.height = -1;
	cr_assert_eq(bench_node_metrics_parse(&m, metrics,
					      strstr(metrics, "fedledger_round_verify") - metrics),
		     FL_ENOTFOUND);
	cr_assert_eq(m.height, -1);
}

static const char node_log[] =
    "2026-12-04T18:42:58.667Z info  node: committed height 45 block fa72e923… round 0, 0 txs\n"
    "2026-12-04T18:42:59.072Z info  rounds: clothing round 17: this node's turn to aggregate 4 "
    "updates\n"
    "2026-12-04T18:42:59.139Z info  rounds: clothing round 17: aggregate committed, 4 updates (0 "
    "left out), held-out accuracy 82.31%, 0.052 s\n"
    "2026-12-04T23:59:59.900Z info  rounds: clothing round 7: this node's turn to aggregate 4 "
    "updates\n"
    "2026-12-04T23:59:59.950Z info  rounds: footwear round 7: aggregate committed, 4 updates (0 "
    "left out), held-out accuracy 90.00%, 0.010 s\n"
    "2026-12-05T00:00:00.125Z info  rounds: clothing round 7: aggregate committed, 3 updates (1 "
    "left out), held-out accuracy 80.00%, 0.125 s — BAD-AGGREGATE TEST MODE: its model is "
    "wrong\n";

Test(bench_rounds, log_turn_finds_the_coordinator_lines_of_its_round)
{
	int64_t turn = 0, sent = 0;
	double agg = 0;

	cr_assert_eq(bench_log_turn(TEXT(node_log), "clothing", 17, &turn, &sent, &agg), FL_OK);
	cr_assert_eq(sent - turn, 67);
	cr_assert_float_eq(agg, 0.052, 1e-12);
	/* 2026-12-04T18:42:59.072Z, in ms since the epoch. */
	cr_assert_eq(turn, 1796409779072LL);
	/* Round 7 is not round 17; another profile's line is not ours; the
	 * turn crosses midnight; a test-mode note after the seconds. */
	cr_assert_eq(bench_log_turn(TEXT(node_log), "clothing", 7, &turn, &sent, &agg), FL_OK);
	cr_assert_eq(sent - turn, 225);
	cr_assert_float_eq(agg, 0.125, 1e-12);
	cr_assert_eq(bench_log_turn(TEXT(node_log), "clothing", 8, &turn, &sent, &agg),
		     FL_ENOTFOUND);
	cr_assert_eq(bench_log_turn(TEXT(node_log), "footwear", 7, &turn, &sent, &agg),
		     FL_ENOTFOUND, "no turn line for footwear");
	cr_assert_eq(bench_log_turn(TEXT("2026-13-04T18:42:59.072Z info  rounds: p round 1: this "
					 "node's turn to aggregate 1 updates\n"),
				    "p", 1, &turn, &sent, &agg),
		     FL_EPARSE);
	cr_assert_eq(bench_log_turn(TEXT("2026-12-04T18:42:59.072Z info  rounds: p round 1: this "
					 "node's turn to aggregate 1 updates\n"
					 "2026-12-04T18:42:59.072Z info  rounds: p round 1: "
					 "aggregate committed, 1 updates, x s\n"),
				    "p", 1, &turn, &sent, &agg),
		     FL_EPARSE);
}

/* Two rounds of a 5-block window at 400 ms: the first takes the schedule's
 * 6 blocks exactly, the second 8 blocks (a failed round's worth of them
 * would look the same) with slower blocks. */
static void two_rounds(bench_round_obs o[2], bench_rounds_totals *tot)
{
	memset(o, 0, 2 * sizeof o[0]);
	o[0] = (bench_round_obs){.prev_commit_h = 11,
				 .open_h = 12,
				 .last_update_h = 14,
				 .window_end = 16,
				 .commit_h = 17,
				 .prev_commit_ms = 10000,
				 .open_ms = 10400,
				 .last_update_ms = 11200,
				 .window_end_ms = 12000,
				 .commit_ms = 12400,
				 .n_updates = 4,
				 .blob_s = 0.020};
	o[1] = (bench_round_obs){.prev_commit_h = 17,
				 .open_h = 18,
				 .last_update_h = 21,
				 .window_end = 22,
				 .commit_h = 25,
				 .prev_commit_ms = 12400,
				 .open_ms = 12850,
				 .last_update_ms = 14100,
				 .window_end_ms = 14600,
				 .commit_ms = 16000,
				 .n_updates = 4,
				 .blob_s = -1};
	memset(tot, 0, sizeof *tot);
	tot->window_blocks = 5;
	tot->interval_ms = 400;
	tot->delta.train_sum = 4.0; /* 8 trainings of 0.5 s */
	tot->delta.train_count = 8;
	tot->delta.agg_sum = 0.120;
	tot->delta.agg_count = 2;
	tot->delta.verify_sum = 0.400; /* 8 checks of 50 ms */
	tot->delta.verify_count = 8;
	tot->delta.fetched_bytes = 40e6;
}

Test(bench_rounds, derive_breaks_the_rounds_down)
{
	bench_round_obs o[2];
	bench_rounds_totals tot;
	bench_rounds_breakdown br;

	two_rounds(o, &tot);
	cr_assert_eq(bench_rounds_derive(&br, o, 2, &tot), FL_OK);
	cr_assert_eq(br.rounds, 2);
	cr_assert_float_eq(br.wall_ms, (2400 + 3600) / 2.0, 1e-9);
	cr_assert_float_eq(br.blocks, 7, 1e-9);
	cr_assert_float_eq(br.interval_ms, 6000 / 14.0, 1e-9);
	cr_assert_float_eq(br.schedule_ms, 2400, 1e-9);
	cr_assert_float_eq(br.overhead_ms, 600, 1e-9);
	cr_assert_float_eq(br.overhead_median_ms, (0 + 1200) / 2.0, 1e-9);
	cr_assert_float_eq(br.train_phase_ms, (800 + 1250) / 2.0, 1e-9);
	cr_assert_float_eq(br.slack_ms, (800 + 500) / 2.0, 1e-9);
	cr_assert_float_eq(br.post_window_ms, (400 + 1400) / 2.0, 1e-9);
	cr_assert_float_eq(br.train_ms, 500, 1e-9);
	/* Only the round whose coordinator's log was read. */
	cr_assert_eq(br.blob_rounds, 1);
	cr_assert_float_eq(br.blob_ms, 20, 1e-9);
	cr_assert_float_eq(br.aggregate_ms, 60, 1e-9);
	cr_assert_float_eq(br.verify_ms, 50, 1e-9);
	cr_assert_float_eq(br.chain_work_ms, 130, 1e-9);
	cr_assert_float_eq(br.fetched_mb, 20, 1e-9);
	/* An odd count's median is its middle round. */
	cr_assert_eq(bench_rounds_derive(&br, o, 1, &tot), FL_OK);
	cr_assert_float_eq(br.overhead_median_ms, 0, 1e-9);
}

Test(bench_rounds, derive_refuses_what_cannot_be_a_round)
{
	bench_round_obs o[2];
	bench_rounds_totals tot;
	bench_rounds_breakdown br;

	two_rounds(o, &tot);
	cr_assert_eq(bench_rounds_derive(&br, o, 0, &tot), FL_EINVAL);
	cr_assert_eq(bench_rounds_derive(&br, o, BENCH_ROUNDS_MAX + 1, &tot), FL_ETOOBIG);
	o[1].window_end_ms = o[1].commit_ms + 1; /* time running backwards */
	cr_assert_eq(bench_rounds_derive(&br, o, 2, &tot), FL_EINVAL);
	two_rounds(o, &tot);
	o[0].commit_h = o[0].window_end; /* an aggregate inside its window */
	cr_assert_eq(bench_rounds_derive(&br, o, 2, &tot), FL_EINVAL);
	two_rounds(o, &tot);
	tot.delta.train_count = 0; /* no training seen: nothing to compare with */
	cr_assert_eq(bench_rounds_derive(&br, o, 2, &tot), FL_EINVAL);
}

Test(bench_rounds, print_round_says_where_the_time_went)
{
	bench_round_obs o[2];
	bench_rounds_totals tot;
	char buf[512] = "";
	FILE *f = fmemopen(buf, sizeof buf, "w");

	two_rounds(o, &tot);
	cr_assert_not_null(f);
	bench_rounds_print_round(f, 3, &o[0], &tot);
	bench_rounds_print_round(f, 4, &o[1], &tot);
	fclose(f);
	cr_assert_not_null(strstr(buf, "round 3: 2400 ms, 6 blocks (schedule 6)"), "%s", buf);
	cr_assert_not_null(strstr(buf, "coordinator's blobs 20 ms\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "round 4: 3600 ms, 8 blocks"), "%s", buf);
	cr_assert_not_null(strstr(buf, "blobs not timed\n"), "%s", buf);
}
