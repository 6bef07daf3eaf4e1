/*
 * tools/bench.h — fedledger-bench's parts: figures and timing (bench.c),
 * one file per suite (bench_<suite>.c). Never included outside tools/.
 *
 * Every figure is reported next to a baseline measured in the same run on
 * the same machine (sgemm for the trainer, memcpy for aggregation), so a
 * reader can judge it even on a noisy or unknown machine.
 */
#ifndef FEDLEDGER_TOOLS_BENCH_H
#define FEDLEDGER_TOOLS_BENCH_H

#include "fl/fl.h"

#define BENCH_PROG "fedledger-bench"

typedef struct {
	int json;        /* one JSON object per figure instead of a table */
	int quick;       /* a fraction of the work: for tests, never for figures */
	int header_done; /* the table's header line */
} bench_ctx;

/* One figure; ratio = value / baseline unless the suite says otherwise. */
typedef struct {
	const char *suite;
	const char *name;
	double value;
	const char *unit;
	const char *baseline_name;
	double baseline;
	double ratio;
} bench_figure;

/* Prints a figure as a table row or as
 * {"suite":…,"name":…,"value":…,"unit":…,"baseline_name":…,"baseline":…,"ratio":…}. */
void bench_emit(bench_ctx *b, const bench_figure *f);

/* One call of the code being measured; 0 or FL_E*. */
typedef int (*bench_fn)(void *ctx);

typedef struct {
	unsigned reps;      /* repetitions; the best is kept */
	unsigned max_calls; /* per repetition */
	double min_seconds; /* per repetition: calls until this much time has passed */
} bench_plan;

/*
 * Best seconds per call of fn: `reps` repetitions, each calling fn until
 * min_seconds have passed or max_calls were made (so every loop is bounded
 * in count, and in time as long as one call is). The minimum is the figure
 * least disturbed by other processes.
 */
int bench_time(double *seconds, const bench_plan *plan, bench_fn fn, void *ctx) FL_MUST_CHECK;

/* Suites: each prints its figures through bench_emit; 0 or FL_E*. */
typedef struct {
	const char *name;
	const char *what;
	int (*run)(bench_ctx *b);
} bench_suite;

extern const bench_suite bench_suites[];
extern const size_t bench_n_suites;

int bench_suite_trainer(bench_ctx *b) FL_MUST_CHECK;
int bench_suite_aggregate(bench_ctx *b) FL_MUST_CHECK;
int bench_suite_p2p(bench_ctx *b) FL_MUST_CHECK;
int bench_suite_chain(bench_ctx *b) FL_MUST_CHECK;
int bench_suite_node(bench_ctx *b) FL_MUST_CHECK;
int bench_suite_rounds(bench_ctx *b) FL_MUST_CHECK;

/* Training FLOPs of one sample (see bench_trainer.c for the formula). */
uint64_t bench_train_flops(const fl_spec *spec);

#endif
