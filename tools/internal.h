/*
 * tools/internal.h — what the command-line tools in tools/ share: strict
 * option parsing with one-line errors (args.c) and a fixed-size thread pool
 * (pool.c). Never included outside tools/.
 */
#ifndef FEDLEDGER_TOOLS_INTERNAL_H
#define FEDLEDGER_TOOLS_INTERNAL_H

#include "core/core.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of every tool (shared/interfaces.md). */
#define TOOL_EXIT_OK      0
#define TOOL_EXIT_RUNTIME 1
#define TOOL_EXIT_USAGE   2

/* ------------------------------------------------------------- messages */

/*
 * One line on stderr, "PROG: message": non-printable bytes (a newline in an
 * argument, say) become '?' so the message is always exactly one line.
 */
void tool_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tool_verror(const char *prog, const char *fmt, va_list ap);

/* ------------------------------------------------------------- options */

/* One accepted option: "--name" or "--name VALUE" (also "--name=VALUE"). */
typedef struct {
	const char *name; /* without the dashes */
	int has_value;
	int id; /* returned to the caller */
} tool_option;

typedef struct {
	const char *prog;
	int argc;
	char **argv;
	int next;      /* index of the next argv entry */
	int only_args; /* after "--" */
} tool_args;

enum {
	TOOL_ARGS_END = 0,    /* argv is exhausted */
	TOOL_ARGS_OPTION = 1, /* *opt and, for a valued option, *value are set */
	TOOL_ARGS_OPERAND = 2 /* *value is a positional argument */
};

void tool_args_init(tool_args *a, const char *prog, int argc, char **argv);

/*
 * The next option or operand. An unknown option, a missing value or a value
 * given to a flag prints one line naming the option and returns
 * -TOOL_EXIT_USAGE.
 */
int tool_args_next(tool_args *a, const tool_option *opts, size_t n_opts, const tool_option **opt,
		   const char **value);

/*
 * Strict numbers: the whole string, decimal, no sign for the unsigned ones,
 * finite for doubles. Each prints "PROG: --NAME: <why>" and returns
 * -TOOL_EXIT_USAGE when the text is not a number in [lo, hi].
 */
int tool_parse_u32(const tool_args *a, const char *option, const char *text, uint32_t lo,
		   uint32_t hi, uint32_t *out);
int tool_parse_u64(const tool_args *a, const char *option, const char *text, uint64_t *out);
/* A finite number; `positive` requires > 0, otherwise >= 0 is enough. hi is
 * inclusive; HUGE_VAL for no upper bound. */
int tool_parse_double(const tool_args *a, const char *option, const char *text, int positive,
		      double hi, double *out);

/* --------------------------------------------------------------- pool */

/*
 * A fixed set of worker threads, each with its own state (for the trainer
 * tools, an fl_trainer and a scratch model), running batches of jobs. A job
 * writes its result to a slot of its own, so results do not depend on which
 * worker ran it or in which order jobs finished.
 */
typedef struct tool_pool tool_pool;

/* Runs job `job` with the state of the worker that picked it; 0 or FL_E*. */
typedef int (*tool_job_fn)(void *ctx, void *worker, size_t job);
/* Called on the thread that called tool_pool_run each time jobs finish. */
typedef void (*tool_progress_fn)(void *ctx, size_t done, size_t total);

/* threads >= 1 workers; workers[i] is handed to every job worker i runs and
 * stays the caller's. FL_ENOMEM, or FL_EIO if a thread cannot start. */
int tool_pool_new(tool_pool **out, size_t threads, void *const *workers) FL_MUST_CHECK;
/* Joins the workers; safe on NULL. */
void tool_pool_free(tool_pool *p);
size_t tool_pool_threads(const tool_pool *p);

/*
 * Runs jobs order[0..n) (or 0..n when order is NULL: order only sets which
 * job starts first, e.g. the longest first) and returns when all are done.
 * Every job runs even if one fails; the result is the error of the failed
 * job with the lowest number, so it is the same for any thread count.
 * progress may be NULL.
 */
int tool_pool_run(tool_pool *p, size_t n, const size_t *order, tool_job_fn fn, void *ctx,
		  tool_progress_fn progress, void *progress_ctx) FL_MUST_CHECK;

#endif
