/*
 * tests/node/node_run_helpers.h — a real `fedledgerd start` for tests (see
 * node_run_helpers.c). The binaries come from $FEDLEDGER_BIN, else
 * build/bin. Every wait is bounded by NR_WAIT_MS.
 */
#ifndef FEDLEDGER_TESTS_NODE_NODE_RUN_HELPERS_H
#define FEDLEDGER_TESTS_NODE_NODE_RUN_HELPERS_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/node/http_harness.h"
#include "tests/support/run_prog.h"

#define NR_WAIT_MS 20000

const char *nr_bin_dir(void);
void nr_run(test_run *r, const char *prog, const char *const *argv);
/* A home in dir/n0 whose genesis makes its own key the only validator,
 * with p2p and RPC on ephemeral ports. */
void nr_one_validator_home(const char *dir);
/* config.json of dir/n0: section.key = value (the reference is taken). */
void nr_config_set(const char *dir, const char *section, const char *key, json_t *value);
/* fedledgerd start --home dir/n0 [extra], stderr and stdout to dir/log. */
pid_t nr_start_node(const char *dir, const char *extra);
/* The file at path so far, NUL-terminated (free); "" when there is none. */
char *nr_read_file(const char *path);
/* dir/log so far (free); "" when there is none. */
char *nr_read_log(const char *dir);
void nr_sleep_ms(unsigned ms);
/* Waits until the log holds needle; 1 if it did. */
int nr_wait_log(const char *dir, const char *needle);
/* Waits for the process to exit: its status (128 + signal when killed),
 * or -1 after SIGKILLing it at the bound. */
int nr_wait_exit(pid_t pid);
/* The log on stderr, to explain a failure. */
void nr_dump_log(const char *dir);
/* The RPC port the log's "started:" line names; 0 if none yet. */
uint16_t nr_rpc_port(const char *dir);
/* One request, the whole response in *out (free out->body); 0 or -1. */
int nr_http(uint16_t port, const char *req, hh_response *out);
/* The value of an unlabelled series of GET /metrics; -1 if absent. */
double nr_metric(uint16_t port, const char *name);

#endif
