/* tests/tools/helpers.h — running the real tools from the tests (helpers.c). */
#ifndef FEDLEDGER_TESTS_TOOLS_HELPERS_H
#define FEDLEDGER_TESTS_TOOLS_HELPERS_H

#include <jansson.h>
#include <stddef.h>

/* The result of running a tool. */
typedef struct {
	int status;      /* exit status, or -1 if it did not exit normally */
	char out[65536]; /* stdout, NUL-terminated (cut if longer) */
	char err[8192];  /* stderr */
} tool_run;

/*
 * Runs $FEDLEDGER_BIN/PROG (default build/bin) with argv (NULL terminated,
 * the arguments after the program name) via posix_spawn, capturing stdout
 * and stderr, and waits for it. Asserts that it could start.
 */
void tool_run_prog(tool_run *r, const char *prog, const char *const *argv);

#define RUN_SIM(r, ...)                                                                            \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		tool_run_prog((r), "fedledger-sim", argv_);                                        \
	} while (0)

#define RUN_BENCH(r, ...)                                                                          \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		tool_run_prog((r), "fedledger-bench", argv_);                                      \
	} while (0)

/* Lines in s (a last line without '\n' counts). */
int tool_test_lines(const char *s);

/* Each line of s parsed as one JSON object (asserting that it is), at most
 * max of them; returns how many. json_decref each. */
size_t tool_test_json_lines(const char *s, json_t **out, size_t max);

/* Exit `status` with exactly one stderr line containing want, and nothing
 * on stdout. */
void tool_assert_one_line_failure(const tool_run *r, int status, const char *want);

#endif
