/*
 * tests/node/cons_testkit.h — test keys and signatures for the consensus
 * core: validator i has the pubkey 0x(i+1) 5a 5a ... (so sets sort by
 * index) and "signs" with SHA-256 of its index and every signed field.
 * Not a signature scheme: a stand-in a hundred times cheaper than BIP340,
 * for tests that sign and check hundreds of thousands of votes (the
 * simulation). Forging needs the sim's code to sign as another index,
 * which only a test can do on purpose.
 */
#ifndef FEDLEDGER_TESTS_CONS_TESTKIT_H
#define FEDLEDGER_TESTS_CONS_TESTKIT_H

#include "node/consensus.h"

#define CT_MAX_VALIDATORS 16

void ct_pubkey(fl_pubkey *pk, uint32_t i);
/* The index of a test pubkey, or -1. */
int ct_index(const fl_pubkey *pk);
/* Validators 0..n-1 with powers (NULL = all 1). */
void ct_set(chain_validator_set *s, uint32_t n, const uint64_t *powers);
/* Sign as the key in v->validator / p->proposer. */
void ct_sign_vote(chain_vote *v);
void ct_sign_proposal(node_cons_proposal *p);
/* node_cons_crypto verify callbacks (ctx unused). */
int ct_verify_vote(void *ctx, const chain_vote *v);
int ct_verify_proposal(void *ctx, const node_cons_proposal *p);
/* A block hash from a label. */
fl_hash ct_hash(const char *label);

#endif
