/* tests/node/home_helpers.h — scratch homes for the config, home and
 * fedledgerd tests (home_helpers.c). */
#ifndef FEDLEDGER_TESTS_NODE_HOME_HELPERS_H
#define FEDLEDGER_TESTS_NODE_HOME_HELPERS_H

#include <stddef.h>
#include <sys/types.h>

#include "node/home.h"
#include "tests/support/run_prog.h"

/* The example network every home test copies in. */
#define HH_GENESIS "genesis/examples/fashion-4v.json"

/* A fresh directory under /tmp into dir (size >= 64); asserts. */
void hh_scratch(char *dir, size_t n);
/* rm -rf dir (bounded: nftw over what the test made). */
void hh_remove(const char *dir);
/* "dir/rel" into out (size >= NODE_HOME_PATH_MAX + 1). */
void hh_path(char *out, const char *dir, const char *rel);
/* The permission bits of path (asserts it exists). */
mode_t hh_mode(const char *path);
/* Writes text to path (0644), replacing it. */
void hh_write(const char *path, const char *text);
/* node_home_init of dir with the example genesis; asserts success. */
void hh_init(const char *dir, fl_pubkey *id);

#endif
