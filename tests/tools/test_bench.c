/*
 * tests/tools/test_bench.c — the real fedledger-bench in --quick mode: the
 * form of its output, never its figures (tests are not timed).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl/fl.h"
#include "tests/tools/helpers.h"
#include "tools/bench.h"

static test_run run;

static json_t *find(json_t **lines, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_string_value(json_object_get(lines[i], "name")), name) == 0)
			return lines[i];
	cr_assert_fail("no figure named %s", name);
	return NULL;
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

Test(bench, json_figures_have_every_key)
{
	static const char *const keys[] = {"suite",         "name",     "value", "unit",
					   "baseline_name", "baseline", "ratio"};
	static const char *const names[] = {
	    "sgemm_1024x1024x1024_gflops",
	    "sgemm_64x784x200_gflops",
	    "sgemm_10x784x200_gflops",
	    "train_784-200-200-10_b10",
	    "train_784-200-200-10_b64",
	    "train_784-200-200-10_b10_gflops",
	    "memcpy_gbps",
	    "fedavg_10x199210",
	    "median_10x199210",
	    "multikrum_f2_10x199210",
	    "trimmed_0.1_10x199210",
	    "norm_bound_10x199210",
	};
	json_t *lines[64];
	size_t n;

	RUN_BENCH(&run, "--json", "--quick", "trainer", "aggregate");
	cr_assert_eq(run.status, 0, "status %d; stderr: %s", run.status, run.err);
	cr_assert_str_empty(run.err, "stderr: %s", run.err);
	n = tool_test_json_lines(run.out, lines, 64);
	cr_assert_geq(n, 12, "%s", run.out);
	for (size_t i = 0; i < n; i++) {
		const char *suite = json_string_value(json_object_get(lines[i], "suite"));

		cr_assert_eq(json_object_size(lines[i]), 7, "line %zu", i);
		for (size_t k = 0; k < 7; k++)
			cr_assert_not_null(json_object_get(lines[i], keys[k]), "line %zu: no %s", i,
					   keys[k]);
		cr_assert(strcmp(suite, "trainer") == 0 || strcmp(suite, "aggregate") == 0);
		cr_assert_gt(num(lines[i], "value"), 0, "line %zu", i);
		cr_assert_gt(num(lines[i], "baseline"), 0, "line %zu", i);
		cr_assert_gt(num(lines[i], "ratio"), 0, "line %zu", i);
		cr_assert_gt(strlen(json_string_value(json_object_get(lines[i], "unit"))), 0);
	}
	/* Suites run in the order named. */
	cr_assert_str_eq(json_string_value(json_object_get(lines[0], "suite")), "trainer");
	cr_assert_str_eq(json_string_value(json_object_get(lines[n - 1], "suite")), "aggregate");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		find(lines, n, names[i]);
	for (size_t i = 0; i < n; i++)
		json_decref(lines[i]);
}

/* The ratios say what docs/benchmarks.md says they are. */
Test(bench, ratios_are_consistent)
{
	json_t *lines[64], *peak, *b10, *fedavg, *copy;
	double flops, want;
	size_t n;

	RUN_BENCH(&run, "--json", "--quick", "trainer", "aggregate");
	cr_assert_eq(run.status, 0, "stderr: %s", run.err);
	n = tool_test_json_lines(run.out, lines, 64);
	peak = find(lines, n, "sgemm_1024x1024x1024_gflops");
	b10 = find(lines, n, "train_784-200-200-10_b10");
	fedavg = find(lines, n, "fedavg_10x199210");
	copy = find(lines, n, "memcpy_gbps");

	cr_assert_str_eq(json_string_value(json_object_get(b10, "unit")), "samples/s");
	cr_assert_eq(num(b10, "baseline"), num(peak, "value"));
	flops = num(b10, "value") * 879200 / 1e9;
	want = flops / num(peak, "value");
	cr_assert(fabs(num(b10, "ratio") - want) < 1e-3 + 1e-3 * want, "ratio %f, want %f",
		  num(b10, "ratio"), want);

	cr_assert_str_eq(json_string_value(json_object_get(fedavg, "unit")), "GB/s");
	cr_assert_eq(num(fedavg, "baseline"), num(copy, "value"));
	want = num(fedavg, "value") / num(copy, "value");
	cr_assert(fabs(num(fedavg, "ratio") - want) < 1e-3 + 1e-3 * want);
	for (size_t i = 0; i < n; i++)
		json_decref(lines[i]);
}

Test(bench, train_flops_formula)
{
	fl_spec spec;

	cr_assert_eq(fl_spec_parse(&spec, "784-200-200-10"), 0);
	/* 4·(156800 + 40000 + 2000) + 2·(40000 + 2000) */
	cr_assert_eq(bench_train_flops(&spec), 879200);
	cr_assert_eq(fl_spec_parse(&spec, "10-3"), 0);
	cr_assert_eq(bench_train_flops(&spec), 120);
}

Test(bench, table_by_default)
{
	RUN_BENCH(&run, "--quick", "aggregate");
	cr_assert_eq(run.status, 0, "stderr: %s", run.err);
	cr_assert_eq(run.out[0], '#', "a machine line first: %s", run.out);
	cr_assert_not_null(strstr(run.out, "\nsuite "), "%s", run.out);
	cr_assert_not_null(strstr(run.out, "\naggregate  fedavg_10x199210 "), "%s", run.out);
	cr_assert_null(strstr(run.out, "trainer "), "only the suite named: %s", run.out);
}

Test(bench, unknown_suite_is_named)
{
	RUN_BENCH(&run, "--quick", "trainer", "nosuch");
	tool_assert_one_line_failure(
	    &run, 2,
	    "unknown suite 'nosuch' (suites: trainer, aggregate, p2p, chain, node, rounds)");
}

Test(bench, bad_option)
{
	RUN_BENCH(&run, "--fast");
	tool_assert_one_line_failure(&run, 2, "fedledger-bench: unknown option '--fast'");
}

Test(bench, help_lists_the_suites)
{
	RUN_BENCH(&run, "--help");
	cr_assert_eq(run.status, 0);
	cr_assert_not_null(strstr(run.out, "\n  trainer "));
	cr_assert_not_null(strstr(run.out, "\n  aggregate "));
	cr_assert_not_null(strstr(run.out, "\n  p2p "));
	cr_assert_not_null(strstr(run.out, "\n  chain "));
	cr_assert_not_null(strstr(run.out, "\n  rounds "));
}

/* Two hosts on loopback: four figures, all against the raw TCP rate of the
 * same run; small messages compare their payload rate (100 bytes each). */
Test(bench, p2p_figures, .timeout = 60)
{
	static const char *const names[] = {"raw_tcp_mbps", "send_1MB_mbps", "blob_fetch_mbps",
					    "small_100B_msgs"};
	json_t *lines[16], *raw, *small;
	double want;
	size_t n;

	RUN_BENCH(&run, "--json", "--quick", "p2p");
	cr_assert_eq(run.status, 0, "status %d; stderr: %s", run.status, run.err);
	cr_assert_str_empty(run.err, "stderr: %s", run.err);
	n = tool_test_json_lines(run.out, lines, 16);
	cr_assert_eq(n, 4, "%s", run.out);
	raw = find(lines, n, "raw_tcp_mbps");
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(json_object_size(lines[i]), 7, "line %zu", i);
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "suite")), "p2p");
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "name")), names[i]);
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "baseline_name")),
				 "raw_tcp_mbps");
		cr_assert_gt(num(lines[i], "value"), 0, "line %zu", i);
		cr_assert_eq(num(lines[i], "baseline"), num(raw, "value"), "line %zu", i);
		if (i < 3) {
			cr_assert_str_eq(json_string_value(json_object_get(lines[i], "unit")), "MB/s");
			want = num(lines[i], "value") / num(raw, "value");
			cr_assert(fabs(num(lines[i], "ratio") - want) < 1e-3 + 1e-3 * want,
				  "line %zu: ratio %f, want %f", i, num(lines[i], "ratio"), want);
		}
	}
	small = find(lines, n, "small_100B_msgs");
	cr_assert_str_eq(json_string_value(json_object_get(small, "unit")), "msgs/s");
	want = num(small, "value") * 100 / 1e6 / num(raw, "value");
	cr_assert(fabs(num(small, "ratio") - want) < 1e-3 + 1e-3 * want, "ratio %f, want %f",
		  num(small, "ratio"), want);
	for (size_t i = 0; i < n; i++)
		json_decref(lines[i]);
}

/* A store, blocks applied, txs admitted and indexed: six figures, every
 * ratio against the one-thread verify rate of the same run. */
Test(bench, chain_figures, .timeout = 120)
{
	static const char *const names[] = {"bip340_verify_1thread", "apply_5000_cached",
					    "apply_5000_cold_1thread", "apply_5000_cold_2threads",
					    "admission_while_applying", "txindex_5000"};
	static const char *const units[] = {"verifies/s", "tx/s", "tx/s", "tx/s", "tx/s", "tx/s"};
	json_t *lines[16], *verify;
	double want;
	size_t n;

	RUN_BENCH(&run, "--json", "--quick", "chain");
	cr_assert_eq(run.status, 0, "status %d; stderr: %s", run.status, run.err);
	cr_assert_str_empty(run.err, "stderr: %s", run.err);
	n = tool_test_json_lines(run.out, lines, 16);
	cr_assert_eq(n, 6, "%s", run.out);
	verify = find(lines, n, "bip340_verify_1thread");
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(json_object_size(lines[i]), 7, "line %zu", i);
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "suite")), "chain");
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "name")), names[i]);
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "unit")), units[i]);
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "baseline_name")),
				 "bip340_verify_1thread");
		cr_assert_gt(num(lines[i], "value"), 0, "line %zu", i);
		cr_assert_eq(num(lines[i], "baseline"), num(verify, "value"), "line %zu", i);
		want = num(lines[i], "value") / num(verify, "value");
		cr_assert(fabs(num(lines[i], "ratio") - want) < 1e-3 + 1e-3 * want,
			  "line %zu: ratio %f, want %f", i, num(lines[i], "ratio"), want);
	}
	cr_assert_eq(num(verify, "ratio"), 1.0);
	for (size_t i = 0; i < n; i++)
		json_decref(lines[i]);
}

/*
 * Runs `fedledger-bench --json --quick SUITE` under a private TMPDIR and
 * checks what every testnet suite promises: exit 0, exactly the figures
 * named, in order, each ratio value / baseline, and nothing left behind (no
 * directory, no fedledgerd). The figures' lines into lines[] (json_decref
 * them); their count.
 */
static size_t run_testnet_suite(const char *suite, const char *const names[], size_t n_names,
				json_t **lines, size_t max)
{
	char tmp[] = "/tmp/fl-bench-net-XXXXXX", cmd[128];

	cr_assert_not_null(mkdtemp(tmp));
	cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);
	RUN_BENCH(&run, "--json", "--quick", suite);
	unsetenv("TMPDIR");
	cr_assert_eq(run.status, 0, "status %d; stderr: %s", run.status, run.err);
	size_t n = tool_test_json_lines(run.out, lines, max);
	cr_assert_eq(n, n_names, "%s", run.out);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "suite")), suite);
		cr_assert_str_eq(json_string_value(json_object_get(lines[i], "name")), names[i]);
		double want = num(lines[i], "value") / num(lines[i], "baseline");
		cr_assert(fabs(num(lines[i], "ratio") - want) < 1e-3 + 1e-3 * fabs(want), "%s",
			  names[i]);
	}
	cr_assert_eq(rmdir(tmp), 0, "the suite left files in %s", tmp);
	snprintf(cmd, sizeof cmd, "pgrep -f '[f]edledgerd start --home %s' >/dev/null", tmp);
	cr_assert_neq(system(cmd), 0, "a fedledgerd of the suite is still running");
	return n;
}

/*
 * The node suite in --quick mode: real testnets (4 validators, then a
 * validator and a member) started through fedledger-testnet under a private
 * TMPDIR, every figure present, positive and consistent with its baseline,
 * every transfer posted seen committed (else the suite fails), and nothing
 * left behind: no directory, no process.
 */
Test(bench, node_suite_on_real_testnets, .timeout = 180)
{
	static const char *const names[] = {
	    "sig_verify_1thread",     "block_interval_empty_ms", "transfers_committed_per_s",
	    "submit_to_commit_p50_s", "submit_to_commit_p99_s",  "rss_peak_mb",
	    "sync_blocks_per_s"};
	json_t *lines[16];
	size_t n = run_testnet_suite("node", names, FL_ARRAY_LEN(names), lines, 16);

	for (size_t i = 0; i < n; i++) {
		cr_assert_gt(num(lines[i], "value"), 0, "%s", names[i]);
		cr_assert_gt(num(lines[i], "baseline"), 0, "%s", names[i]);
	}
	/* An empty mempool's blocks come about once a second (the genesis default). */
	double interval = num(lines[1], "value");
	cr_assert(interval > 500 && interval < 5000, "block interval %f ms", interval);
	cr_assert_leq(num(lines[3], "value"), num(lines[4], "value"), "p50 above p99");
	for (size_t i = 0; i < n; i++)
		json_decref(lines[i]);
}

/*
 * The rounds suite in --quick mode: 4 validators and 4 members running
 * rounds, then fedledger-sim, under a private TMPDIR: every figure present,
 * the ratios what their baselines say, the rounds within the schedule's
 * reach, and nothing left behind: no directory, no process.
 */
Test(bench, rounds_suite_on_a_real_testnet, .timeout = 180)
{
	static const char *const names[] = {
	    "sim_round_ms",     "round_wall_ms",      "block_interval_ms", "schedule_wait_ms",
	    "train_phase_ms",   "window_slack_ms",    "post_window_ms",    "member_train_ms",
	    "blob_transfer_ms", "aggregate_ms",       "verify_ms",         "chain_work_ms",
	    "overhead_ms",      "overhead_median_ms", "rounds_failed",     "blobs_fetched_mb"};
	json_t *lines[32];
	size_t n = run_testnet_suite("rounds", names, FL_ARRAY_LEN(names), lines, 32);

	/* 400 ms blocks, and a round never shorter than its 6 of them. */
	double interval = num(find(lines, n, "block_interval_ms"), "value");
	cr_assert(interval >= 400 && interval < 2000, "block interval %f ms", interval);
	cr_assert_geq(num(find(lines, n, "round_wall_ms"), "value"), 6 * 400);
	cr_assert_gt(num(find(lines, n, "member_train_ms"), "value"), 0);
	cr_assert_gt(num(find(lines, n, "aggregate_ms"), "value"), 0);
	cr_assert_gt(num(find(lines, n, "sim_round_ms"), "value"), 0);
	for (size_t i = 0; i < n; i++)
		json_decref(lines[i]);
}
