/* tests/support/run_prog.h — running the project's real programs from a
 * test, the way a user does (run_prog.c). Shared by every test binary. */
#ifndef FEDLEDGER_TESTS_SUPPORT_RUN_PROG_H
#define FEDLEDGER_TESTS_SUPPORT_RUN_PROG_H

#include <stddef.h>

/* The result of running a program. */
typedef struct {
	int status;      /* exit status, or -1 if it did not exit normally */
	char out[65536]; /* stdout, NUL-terminated (cut if longer) */
	char err[8192];  /* stderr */
} test_run;

/*
 * Runs $FEDLEDGER_BIN/PROG (default build/bin) with argv (NULL terminated,
 * the arguments after the program name) via posix_spawn, capturing stdout
 * and stderr, and waits for it. Asserts that it could start.
 */
void test_run_prog(test_run *r, const char *prog, const char *const *argv);

/* Lines in s (a last line without '\n' counts). */
int test_count_lines(const char *s);

#endif
