/*
 * tests/node/wire_helpers.h — values for the node/wire.h tests: real
 * encoded blocks (chain_sample_block, and one larger than a part), and
 * proposals and votes with real BIP340 signatures by the sample keys.
 * Every helper asserts (Criterion) instead of returning an error.
 */
#ifndef FEDLEDGER_TESTS_WIRE_HELPERS_H
#define FEDLEDGER_TESTS_WIRE_HELPERS_H

#include "node/wire.h"
#include "tests/support/chain_sample.h"

#define WH_CHAIN_ID CHAIN_SAMPLE_CHAIN_ID

/* Bytes on the heap (fl_free p). */
typedef struct {
	uint8_t *p;
	size_t n;
} wh_bytes;

/* What a writer holds, taken out of it (asserts fl_writer_finish is OK). */
wh_bytes wh_take(fl_writer *w);
/* A heap copy of exactly n bytes, then `extra` zero bytes: ASan sees any
 * read past what a decoder was given. fl_free it. */
uint8_t *wh_copy_of(const uint8_t *p, size_t n, size_t extra);
void wh_assert_same_bytes(const wh_bytes *a, const wh_bytes *b);

/* A real sample block's encoding at `height`, and its header hash. */
wh_bytes wh_sample_block(uint64_t height, fl_hash *hash);
/* A real block encoding over NODE_WIRE_PART_MAX (height 5). */
wh_bytes wh_big_block(void);

/* A proposal of block_hash signed by sample key 2 (the sample block's
 * proposer) for WH_CHAIN_ID. */
node_cons_proposal wh_signed_proposal(uint64_t height, uint32_t round, int32_t pol_round,
				      const fl_hash *block_hash);
/* A vote (h NULL: nil) signed by sample key `seed` for WH_CHAIN_ID. */
chain_vote wh_signed_vote(uint8_t type, uint64_t height, uint32_t round, const fl_hash *h,
			  uint8_t seed);

#endif
