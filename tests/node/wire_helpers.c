/*
 * tests/node/wire_helpers.c — see wire_helpers.h.
 */
#include "tests/node/wire_helpers.h"

#include <criterion/criterion.h>
#include <string.h>

wh_bytes wh_take(fl_writer *w)
{
	wh_bytes b = {w->buf, w->len};

	cr_assert_eq(fl_writer_finish(w), FL_OK);
	w->buf = NULL;
	fl_writer_free(w);
	return b;
}

/* A heap copy of exactly n bytes (then `extra` zero bytes), so that ASan
 * sees any read past what a decoder was given. */
uint8_t *wh_copy_of(const uint8_t *p, size_t n, size_t extra)
{
	uint8_t *c = fl_calloc(1, n + extra + (n + extra == 0));

	cr_assert_not_null(c);
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

void wh_assert_same_bytes(const wh_bytes *a, const wh_bytes *b)
{
	cr_assert_eq(a->n, b->n, "lengths %zu and %zu", a->n, b->n);
	cr_assert_eq(memcmp(a->p, b->p, a->n), 0);
}

/* A real sample block's encoding and header hash. */
wh_bytes wh_sample_block(uint64_t height, fl_hash *hash)
{
	chain_block b;
	wh_bytes out;

	cr_assert_eq(chain_sample_block(&b, height), FL_OK);
	cr_assert_eq(chain_header_hash(hash, &b.header), FL_OK);
	out.n = chain_sample_block_bytes(&b, &out.p);
	chain_block_free(&b);
	return out;
}

/* A real block encoding larger than one part: the sample block's header
 * and last commit with copies of one signed transfer until it passes
 * NODE_WIRE_PART_MAX (the tx root is not recomputed: the wire never reads
 * a block's contents). */
wh_bytes wh_big_block(void)
{
	chain_block b;
	chain_tx tx;
	fl_writer w;
	wh_bytes out;

	cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
	cr_assert_eq(chain_sample_signed_tx(&tx, CHAIN_TX_TRANSFER, 0, 1), FL_OK);
	uint8_t *txb;
	size_t tx_n = chain_sample_tx_bytes(&tx, &txb);
	fl_free(txb);
	chain_tx *keep = b.txs;
	uint32_t keep_n = b.n_txs;
	b.n_txs = (uint32_t)(NODE_WIRE_PART_MAX / tx_n + 16);
	b.txs = fl_calloc(b.n_txs, sizeof(*b.txs));
	cr_assert_not_null(b.txs);
	for (uint32_t i = 0; i < b.n_txs; i++)
		b.txs[i] = tx; /* a transfer owns no memory: shallow copies */
	fl_writer_init(&w, CHAIN_MAX_BLOCK_BYTES);
	cr_assert_eq(chain_block_encode(&w, &b), FL_OK);
	out = wh_take(&w);
	fl_free(b.txs);
	b.txs = keep;
	b.n_txs = keep_n;
	chain_block_free(&b);
	chain_tx_free(&tx);
	cr_assert_gt(out.n, NODE_WIRE_PART_MAX);
	cr_assert_leq(out.n, CHAIN_MAX_BLOCK_BYTES);
	return out;
}

/* A proposal of block_hash signed for real by sample key 2 (the sample
 * block's proposer). */
node_cons_proposal wh_signed_proposal(uint64_t height, uint32_t round, int32_t pol_round,
				      const fl_hash *block_hash)
{
	node_cons_proposal p;
	fl_seckey sk;
	fl_pubkey pk;

	memset(&p, 0, sizeof(p));
	p.height = height;
	p.round = round;
	p.pol_round = pol_round;
	p.block_hash = *block_hash;
	p.time_ms = 1700000000000ull + height * 1000;
	chain_sample_key(&sk, &pk, 2);
	cr_assert_eq(node_cons_proposal_sign(&p, WH_CHAIN_ID, &sk), FL_OK);
	cr_assert_eq(memcmp(p.proposer.b, pk.b, FL_PUBKEY_LEN), 0);
	return p;
}

chain_vote wh_signed_vote(uint8_t type, uint64_t height, uint32_t round, const fl_hash *h,
			  uint8_t seed)
{
	chain_vote v;
	fl_seckey sk;
	fl_pubkey pk;

	memset(&v, 0, sizeof(v));
	v.type = type;
	v.height = height;
	v.round = round;
	if (h != NULL)
		v.block_hash = *h;
	chain_sample_key(&sk, &pk, seed);
	cr_assert_eq(chain_vote_sign(&v, WH_CHAIN_ID, &sk), FL_OK);
	return v;
}
