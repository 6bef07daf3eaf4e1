/*
 * tests/support/chain_sample.h — valid sample values of the chain types for
 * tests and fuzz seeds: deterministic keys, a profile, one tx of every kind,
 * a genesis. Everything here passes the chain's own range checks, so a test
 * can change one field and expect exactly that field to be refused.
 */
#ifndef FEDLEDGER_TESTS_CHAIN_SAMPLE_H
#define FEDLEDGER_TESTS_CHAIN_SAMPLE_H

#include "chain/chain.h"

#define CHAIN_SAMPLE_CHAIN_ID "fedledger-test"

/* The key whose secret is 32 bytes of `seed` (1..254): the same on every run. */
void chain_sample_key(fl_seckey *sk, fl_pubkey *pk, uint8_t seed);

/* An MNIST-like profile: image/28x28x1, labels 0..9, 784-32-10 ReLU MLP,
 * FedAvg, window 10 blocks, deadline 5, 2 participants minimum. */
void chain_sample_profile(chain_profile *p, const char *id);

/*
 * A tx of `kind` with every field set to a valid, non-zero value, from the
 * sender with key seed 1 and nonce 1, unsigned (sig zero). Aggregate
 * commits and evidence allocate: free with chain_tx_free. `variant` picks
 * the evidence type for CHAIN_TX_EVIDENCE (CHAIN_EVIDENCE_*; 0 = double
 * sign) and is ignored otherwise.
 */
int chain_sample_tx(chain_tx *tx, int kind, int variant) FL_MUST_CHECK;
/* The same, signed for CHAIN_SAMPLE_CHAIN_ID with the key of `seed`. */
int chain_sample_signed_tx(chain_tx *tx, int kind, int variant, uint8_t seed) FL_MUST_CHECK;

/* Every sample: each kind with both evidence types, in kind order. */
typedef struct {
	int kind;
	int variant;
	const char *name;
} chain_sample_case;
extern const chain_sample_case chain_sample_cases[];
extern const size_t chain_sample_n_cases;

/*
 * A valid genesis for CHAIN_SAMPLE_CHAIN_ID: 4 validators (key seeds 1..4,
 * power 10 each), 2 further members (seeds 5, 6), a balance of 10^9 for each
 * of the six, and two profiles "mnist" and its child "mnist.a". Arrays are
 * allocated with fl_calloc: free with chain_genesis_free.
 */
int chain_sample_genesis(chain_genesis *g) FL_MUST_CHECK;

/* A commit for `height`/`block_hash` signed by validator seeds 1..n (n <= 4),
 * sorted by validator as the encoding requires. */
int chain_sample_commit(chain_commit *c, uint64_t height, const fl_hash *block_hash,
			uint32_t n) FL_MUST_CHECK;

/* Makes key seed 2 h's proposer and sets its VRF proof and beacon over a
 * fixed previous beacon, from h's chain id and height: a header that
 * encodes (the codec refuses a non-canonical proof, such as all zeros). */
int chain_sample_prove_beacon(chain_block_header *h) FL_MUST_CHECK;

/* A block at `height` holding one signed tx of every sample case, with its
 * tx root set, a last commit from chain_sample_commit(3 signers), and
 * chain_sample_prove_beacon's proposer, proof and beacon.
 * Free with chain_block_free. */
int chain_sample_block(chain_block *b, uint64_t height) FL_MUST_CHECK;

/* The canonical encoding of tx in a fresh buffer (fl_free); aborts on error. */
size_t chain_sample_tx_bytes(const chain_tx *tx, uint8_t **out);
/* The encoding of b likewise. */
size_t chain_sample_block_bytes(const chain_block *b, uint8_t **out);

/* A copy of p[0..n) with bytes [off, off+cut) replaced by ins[0..ins_n):
 * for hand-made malformed inputs. fl_free the result; aborts on ENOMEM. */
uint8_t *chain_sample_splice(const uint8_t *p, size_t n, size_t off, size_t cut, const void *ins,
			     size_t ins_n, size_t *out_n);

#endif
