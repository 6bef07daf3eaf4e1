/*
 * tests/chain/rounds_helpers.h — what the round tests share (test_rounds.c,
 * test_round_rights.c): the fixture of suite "rounds" (declared in
 * test_rounds.c with open_rounds / close_rounds), the makers of the round
 * txs, and submitting them.
 */
#ifndef FEDLEDGER_TESTS_CHAIN_ROUNDS_HELPERS_H
#define FEDLEDGER_TESTS_CHAIN_ROUNDS_HELPERS_H

#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <stdint.h>

/* Validators 0..3, members 4..7, outsider 8. */
#define M(i)    (4 + (i))
#define OUT     8
#define REWARD  1000
#define BALANCE 1000000
#define BONDED  2000000 /* two stake units each: weight 2 * reputation */

/* The open fixture of the running test. */
extern chain_fixture fx;

/* The fixture with every key holding `balance`, `bonded` of it bonded. */
void open_with(uint64_t balance, uint64_t bonded);
/* The suite's .init (open_with(BALANCE, BONDED)) and .fini. */
void open_rounds(void);
void close_rounds(void);

/* A join of profile "mnist" declaring labels 1 and 7 with a and b samples. */
void join_tx(chain_tx *tx, uint32_t who, uint64_t a, uint64_t b);
/* `who`'s update for `round` on `base` with n_samples. */
void update_tx(chain_tx *tx, uint32_t who, uint64_t round, const fl_hash *base, uint64_t n_samples);
/* An aggregate of the given participants with the given weights (in the
 * order given; sorted here), signed by `who`. */
void aggregate_tx(chain_tx *tx, uint32_t who, uint64_t round, const fl_hash *base,
		  const uint32_t *parts, const uint64_t *weights, uint32_t n);

/* The next block with these txs (freed here); its result code. */
int submit(chain_tx *tx);
int submit_many(chain_tx *txs, uint32_t n);

chain_round round_of(uint64_t r);
/* The key index of round r's coordinator j. */
uint32_t coordinator(const chain_round *r, uint32_t j);

/* Block 1: M0..M2 join with 1000 + i samples. Block 2: round 1 opens
 * (window 2..4). */
void start_round(void);
/* The updates of M(first..last) with n_samples[i] (zero = none) in one
 * block. */
void commit_updates(const uint64_t *n_samples, uint32_t first, uint32_t last);
/* start_round, then updates of M0, M1 at h = 3 and of M2 at h = 4. */
void run_to_aggregating(const uint64_t *n_samples);

#endif
