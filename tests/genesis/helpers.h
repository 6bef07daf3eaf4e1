/* tests/genesis/helpers.h — shared by the genesis tests (helpers.c). */
#ifndef FEDLEDGER_TESTS_GENESIS_HELPERS_H
#define FEDLEDGER_TESTS_GENESIS_HELPERS_H

#include "genesis/genesis.h"

/* The first line of the NAME.expect next to a broken NAME.json. */
void genesis_test_expect(const char *json_path, char *out, size_t n);

/* The result of running fedledger-genesis. */
typedef struct {
	int status;      /* exit status, or -1 if it did not exit normally */
	char out[65536]; /* stdout, NUL-terminated (cut if longer) */
	char err[4096];  /* stderr */
} genesis_run;

/*
 * Runs $FEDLEDGER_BIN/fedledger-genesis (default build/bin) with argv (NULL
 * terminated, argv[0] being the first argument after the program) via
 * posix_spawn, stdout and stderr captured. Asserts that it could start.
 */
void genesis_run_tool(genesis_run *r, const char *const *argv);

/* Lines in s (a last line without '\n' counts). */
int genesis_test_lines(const char *s);

#endif
