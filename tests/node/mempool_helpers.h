/*
 * tests/node/mempool_helpers.h — what the mempool tests share: a chain
 * store with one validator (key 0), one member (key 1) with a short-round
 * profile "mnist", and outsiders (keys 2..9) holding MPH_BALANCE each; a
 * pool over it; signed transfers with explicit nonces.
 */
#ifndef FEDLEDGER_TESTS_NODE_MEMPOOL_HELPERS_H
#define FEDLEDGER_TESTS_NODE_MEMPOOL_HELPERS_H

#include "node/mempool.h"
#include "tests/support/chain_fixture.h"

#define MPH_BALANCE 1000000u
#define MPH_MEMBER  1u
#define MPH_A       2u /* outsiders */
#define MPH_B       3u
#define MPH_C       4u
#define MPH_D       5u

extern chain_fixture mph_fx;

/* Suite init/fini: the store above, closed and removed after. */
void mph_open(void);
void mph_close(void);

/* A pool over mph_fx's store; cfg NULL = defaults. Asserts success. */
node_mempool *mph_pool(const node_mempool_config *cfg);
/* A transfer from -> to of amount with this nonce, signed. */
void mph_transfer(chain_tx *tx, uint32_t from, uint32_t to, uint64_t amount, uint64_t nonce);
/* The canonical encoding of tx into buf (size cap); returns its length. */
size_t mph_encode(const chain_tx *tx, uint8_t *buf, size_t cap);
/* Applies a block of txs[0..n) made the way an honest proposer makes it,
 * after a release, then updates mp with it; asserts both succeed. */
void mph_commit(node_mempool *mp, const chain_tx *txs, uint32_t n, node_mempool_update_result *r);
/* Reaps everything (block limits of the default params) and checks the
 * pool's numbers against what came out: count and bytes. Returns n. */
uint32_t mph_check_contents(node_mempool *mp, chain_tx **txs);
void mph_free_txs(chain_tx *txs, uint32_t n);

#endif
