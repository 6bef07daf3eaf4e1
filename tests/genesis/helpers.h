/* tests/genesis/helpers.h — shared by the genesis tests (helpers.c). */
#ifndef FEDLEDGER_TESTS_GENESIS_HELPERS_H
#define FEDLEDGER_TESTS_GENESIS_HELPERS_H

#include "genesis/genesis.h"
#include "tests/support/run_prog.h"

/* The first line of the NAME.expect next to a broken NAME.json. */
void genesis_test_expect(const char *json_path, char *out, size_t n);

#endif
