/*
 * tools/bench.c — the suite table, timing and output of fedledger-bench.
 * A new suite is one bench_suite_<name> function in its own
 * tools/bench_<name>.c and one entry below.
 */
#include "tools/bench.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>

const bench_suite bench_suites[] = {
    {"trainer", "sgemm GFLOP/s; fl_train samples/s, 784-200-200-10, batch 10 and 64, one thread",
     bench_suite_trainer},
    {"aggregate", "memcpy GB/s; fl_aggregate GB/s of input, 10 updates x 199,210 parameters",
     bench_suite_aggregate},
    {"p2p", "loopback TCP MB/s; p2p_send and blob fetch MB/s, 100-byte messages/s, two hosts",
     bench_suite_p2p},
    {"chain",
     "BIP340 verifies/s; apply of 5,000 transfers (cached, cold on 1 and 2 threads), admission "
     "tx/s",
     bench_suite_chain},
    {"node",
     "4 fedledgerd validators: block interval, transfers/s, submit-to-commit p50/p99, RSS; sync "
     "blocks/s",
     bench_suite_node},
    {"rounds",
     "4 validators + 4 members, 784-200-200-10 rounds: wall time per round next to fedledger-sim, "
     "broken down",
     bench_suite_rounds},
};
const size_t bench_n_suites = FL_ARRAY_LEN(bench_suites);

int bench_time(double *seconds, const bench_plan *plan, bench_fn fn, void *ctx)
{
	double best = HUGE_VAL;

	assert(plan->reps >= 1 && plan->max_calls >= 1);
	for (unsigned r = 0; r < plan->reps; r++) {
		double start = fl_now(), took;
		unsigned calls = 0;
		int rc;

		do {
			rc = fn(ctx);
			if (rc < 0)
				return rc;
			calls++;
			took = fl_now() - start;
		} while (calls < plan->max_calls && took < plan->min_seconds);
		if (took / calls < best)
			best = took / calls;
	}
	/* A monotonic clock can read the same twice around a tiny call. */
	*seconds = best > 1e-9 ? best : 1e-9;
	return FL_OK;
}

/* Names are ours (ASCII, no quotes), so they need no escaping; %.6g keeps
 * every value a valid JSON number for the finite values suites produce. */
void bench_emit(bench_ctx *b, const bench_figure *f)
{
	assert(isfinite(f->value) && isfinite(f->baseline) && isfinite(f->ratio));
	if (b->json) {
		printf("{\"suite\":\"%s\",\"name\":\"%s\",\"value\":%.6g,\"unit\":\"%s\","
		       "\"baseline_name\":\"%s\",\"baseline\":%.6g,\"ratio\":%.4f}\n",
		       f->suite, f->name, f->value, f->unit, f->baseline_name, f->baseline,
		       f->ratio);
	} else {
		if (!b->header_done) {
			printf("%-10s %-32s %12s %-10s %-28s %10s %7s\n", "suite", "figure",
			       "value", "unit", "baseline", "", "ratio");
			b->header_done = 1;
		}
		printf("%-10s %-32s %12.1f %-10s %-28s %10.1f %7.3f\n", f->suite, f->name, f->value,
		       f->unit, f->baseline_name, f->baseline, f->ratio);
	}
	fflush(stdout);
}
