/* tests/tools/helpers.h — running the real tools from the tests (helpers.c). */
#ifndef FEDLEDGER_TESTS_TOOLS_HELPERS_H
#define FEDLEDGER_TESTS_TOOLS_HELPERS_H

#include <jansson.h>
#include <stddef.h>

#include "tests/support/run_prog.h"

#define RUN_SIM(r, ...)                                                                            \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		test_run_prog((r), "fedledger-sim", argv_);                                        \
	} while (0)

#define RUN_BENCH(r, ...)                                                                          \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		test_run_prog((r), "fedledger-bench", argv_);                                      \
	} while (0)

/* Each line of s parsed as one JSON object (asserting that it is), at most
 * max of them; returns how many. json_decref each. */
size_t tool_test_json_lines(const char *s, json_t **out, size_t max);

/* Exit `status` with exactly one stderr line containing want, and nothing
 * on stdout. */
void tool_assert_one_line_failure(const test_run *r, int status, const char *want);

/* Writes src through the sed expression expr into out (a test's edited
 * copy of a checked-in file), asserting that it worked. */
void tool_test_sed(const char *src, const char *expr, const char *out);

#endif
