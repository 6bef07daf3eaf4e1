/*
 * node/rpc_internal.h — what the node/rpc*.c files share: the handlers of
 * the route table, the JSON encoders of chain values and the answers for
 * store errors. Never included outside node/rpc*.c.
 */
#ifndef FEDLEDGER_NODE_RPC_INTERNAL_H
#define FEDLEDGER_NODE_RPC_INTERNAL_H

#include "node/rpc.h"

/* ------------------------------------------------------------ handlers */

int node__rpc_status(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_block(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_tx_get(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_tx_post(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_account(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_validators(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_blob(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_profiles(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_profile(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_round(void *ctx, node_http_exchange *ex, const node_http_request *req);
int node__rpc_events(void *ctx, node_http_exchange *ex, const node_http_request *req);

/* ------------------------------------------------------------- answers */

/*
 * The answer for a failed lookup or build: FL_ENOTFOUND 404 "not_found"
 * with `what` ("no block at that height"), FL_ENOMEM and FL_ETOOBIG (the
 * store's reader slots are taken) 503 "unavailable", anything else 500
 * "internal" naming fl_strerror. Returns node_http_respond_error's code.
 */
int node__rpc_fail(node_http_exchange *ex, int rc, const char *what);
/* 400 "bad_request" with message. */
int node__rpc_bad(node_http_exchange *ex, const char *message);
/* 200 with body, which it takes (json_decref'd); a NULL body (a failed
 * build) is answered 503 as FL_ENOMEM. */
int node__rpc_ok(node_http_exchange *ex, json_t *body);

/* A 64-hex-digit hash from a path parameter (either case): FL_OK or
 * FL_EPARSE (also for a wrong length). */
int node__rpc_parse_hash(const char *s, fl_hash *out) FL_MUST_CHECK;

/* ---------------------------------------------------------- encoders */

/*
 * Each returns a new reference, or NULL when jansson ran out of memory
 * (nothing leaked). The object builders take a sticky `ok` flag so a
 * whole object is built and checked once.
 */
void node__rpc_set(json_t *obj, const char *key, json_t *value, int *ok);
void node__rpc_append(json_t *arr, json_t *value, int *ok);
/* An object built with node__rpc_set: itself, or NULL (released) when a
 * set failed. */
json_t *node__rpc_done(json_t *obj, int ok);

/* u64: a JSON integer up to 2^53, a decimal string above (docs/genesis.md's
 * rule: every JSON reader holds 2^53 exactly). */
json_t *node__rpc_u64(uint64_t v);
json_t *node__rpc_hex(const uint8_t *p, size_t n);
json_t *node__rpc_hash(const fl_hash *h);
json_t *node__rpc_key(const fl_pubkey *pk);

json_t *node__rpc_header_json(const chain_block_header *h);
/* {height, round, block_hash, sigs:[{validator, sig}]} */
json_t *node__rpc_commit_json(const chain_commit *c);
/* {hash, kind, sender, nonce, <the kind's body fields>, sig, hex} */
json_t *node__rpc_tx_json(const chain_tx *tx);
json_t *node__rpc_vote_json(const chain_vote *v);

json_t *node__rpc_profile_json(const chain_profile *p);
json_t *node__rpc_profile_state_json(const chain_profile_state *st);
json_t *node__rpc_round_json(const chain_round *rd);
json_t *node__rpc_update_json(const chain_update_record *u);
json_t *node__rpc_reward_json(const chain_reward *rw);
json_t *node__rpc_eval_json(const chain_eval *e);

/* Names of enum values ("active", "open", "fedavg"…), "unknown" outside
 * their ranges (a value the chain stored is always in range). */
const char *node__rpc_profile_status_name(uint8_t v);
const char *node__rpc_round_status_name(uint8_t v);
const char *node__rpc_cons_step_name(uint8_t v);

#endif
