/*
 * tests/node/test_wire.c — the node's p2p messages (node/wire.h,
 * docs/node-wire.md): every message round-trips field for field and
 * re-encodes to the same bytes, the layouts are the documented ones, every
 * bound is refused on both sides, every cut and a trailing byte are refused,
 * and the blocks response iterator ends, fails and stays failed as its
 * header says. Proposals and votes carry real BIP340 signatures; blocks
 * are real encodings (chain_sample_block, and a fixture chain's store for
 * the blocks response).
 */
#include "node/wire.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <string.h>

#define CHAIN_ID CHAIN_SAMPLE_CHAIN_ID

/* Fixed lengths of the layouts in docs/node-wire.md. */
#define STATUS_LEN     (8 + 8 + 4 + 1)
#define PROPOSAL_LEN   (8 + 4 + 8 + FL_HASH_LEN + 8 + FL_PUBKEY_LEN + FL_SIG_LEN)
#define VOTE_LEN       (1 + 8 + 4 + FL_HASH_LEN + FL_PUBKEY_LEN + FL_SIG_LEN)
#define BLOCKS_REQ_LEN (8 + 4)

TestSuite(wire);

/* ------------------------------------------------------------ helpers */

/* What a writer holds, taken out of it (fl_free). */
typedef struct {
	uint8_t *p;
	size_t n;
} bytes;

static bytes take(fl_writer *w)
{
	bytes b = {w->buf, w->len};

	cr_assert_eq(fl_writer_finish(w), FL_OK);
	w->buf = NULL;
	fl_writer_free(w);
	return b;
}

/* A heap copy of exactly n bytes (then `extra` zero bytes), so that ASan
 * sees any read past what a decoder was given. */
static uint8_t *copy_of(const uint8_t *p, size_t n, size_t extra)
{
	uint8_t *c = fl_calloc(1, n + extra + (n + extra == 0));

	cr_assert_not_null(c);
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

typedef union {
	node_wire_status status;
	node_wire_proposal proposal;
	chain_vote vote;
	node_wire_blocks_req blocks_req;
	node_wire_part_req part_req;
} any_msg;

typedef int (*decode_fn)(any_msg *m, const uint8_t *p, size_t n);

static int dec_status(any_msg *m, const uint8_t *p, size_t n)
{
	return node_wire_status_decode(&m->status, p, n);
}
static int dec_proposal(any_msg *m, const uint8_t *p, size_t n)
{
	return node_wire_proposal_decode(&m->proposal, p, n);
}
static int dec_vote(any_msg *m, const uint8_t *p, size_t n)
{
	return node_wire_vote_decode(&m->vote, p, n);
}
static int dec_blocks_req(any_msg *m, const uint8_t *p, size_t n)
{
	return node_wire_blocks_req_decode(&m->blocks_req, p, n);
}
static int dec_part_req(any_msg *m, const uint8_t *p, size_t n)
{
	return node_wire_part_req_decode(&m->part_req, p, n);
}

/* Every proper prefix of a valid encoding is FL_ETRUNC, and one byte more
 * is FL_ETRAILING. */
static void check_cuts(decode_fn dec, const bytes *b)
{
	any_msg m;

	cr_assert_eq(dec(&m, b->p, b->n), FL_OK);
	for (size_t k = 0; k < b->n; k++) {
		uint8_t *c = copy_of(b->p, k, 0);
		int rc = dec(&m, c, k);
		fl_free(c);
		cr_assert_eq(rc, FL_ETRUNC, "cut at %zu of %zu: %s", k, b->n, fl_strerror(rc));
	}
	uint8_t *c = copy_of(b->p, b->n, 1);
	cr_assert_eq(dec(&m, c, b->n + 1), FL_ETRAILING);
	fl_free(c);
}

static void assert_same_bytes(const bytes *a, const bytes *b)
{
	cr_assert_eq(a->n, b->n, "lengths %zu and %zu", a->n, b->n);
	cr_assert_eq(memcmp(a->p, b->p, a->n), 0);
}

/* A real sample block's encoding and header hash. */
static bytes sample_block(uint64_t height, fl_hash *hash)
{
	chain_block b;
	bytes out;

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
static bytes big_block(void)
{
	chain_block b;
	chain_tx tx;
	fl_writer w;
	bytes out;

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
	out = take(&w);
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
static node_cons_proposal signed_proposal(uint64_t height, uint32_t round, int32_t pol_round,
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
	cr_assert_eq(node_cons_proposal_sign(&p, CHAIN_ID, &sk), FL_OK);
	cr_assert_eq(memcmp(p.proposer.b, pk.b, FL_PUBKEY_LEN), 0);
	return p;
}

static chain_vote signed_vote(uint8_t type, uint64_t height, uint32_t round, const fl_hash *h,
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
	cr_assert_eq(chain_vote_sign(&v, CHAIN_ID, &sk), FL_OK);
	return v;
}

static bytes enc_proposal(const node_wire_proposal *m)
{
	fl_writer w;

	fl_writer_init(&w, P2P_MAX_FRAME);
	cr_assert_eq(node_wire_proposal_encode(&w, m), FL_OK);
	return take(&w);
}

static void assert_proposal_eq(const node_cons_proposal *a, const node_cons_proposal *b)
{
	cr_assert_eq(a->height, b->height);
	cr_assert_eq(a->round, b->round);
	cr_assert_eq(a->pol_round, b->pol_round);
	cr_assert_eq(fl_hash_cmp(&a->block_hash, &b->block_hash), 0);
	cr_assert_eq(a->time_ms, b->time_ms);
	cr_assert_eq(memcmp(a->proposer.b, b->proposer.b, FL_PUBKEY_LEN), 0);
	cr_assert_eq(memcmp(a->sig.b, b->sig.b, FL_SIG_LEN), 0);
}

/* ------------------------------------------------------------- status */

static bytes enc_status(const node_wire_status *s)
{
	fl_writer w;

	fl_writer_init(&w, 64);
	cr_assert_eq(node_wire_status_encode(&w, s), FL_OK);
	return take(&w);
}

Test(wire, status_round_trip_every_step)
{
	for (uint8_t step = NODE_CONS_STEP_NONE; step <= NODE_CONS_STEP_COMMIT; step++) {
		node_wire_status s = {41 + step, 42 + step, 7u * step, step}, d;
		bytes b = enc_status(&s), again;

		cr_assert_eq(b.n, STATUS_LEN);
		cr_assert_eq(node_wire_status_decode(&d, b.p, b.n), FL_OK);
		cr_assert_eq(d.height, s.height);
		cr_assert_eq(d.cons_height, s.cons_height);
		cr_assert_eq(d.cons_round, s.cons_round);
		cr_assert_eq(d.cons_step, s.cons_step);
		again = enc_status(&d);
		assert_same_bytes(&b, &again);
		check_cuts(dec_status, &b);
		fl_free(b.p);
		fl_free(again.p);
	}
}

Test(wire, status_layout_little_endian)
{
	node_wire_status s = {0x0102030405060708ull, UINT64_MAX, 0xa1b2c3d4u,
			      NODE_CONS_STEP_PREVOTE};
	const uint8_t want[STATUS_LEN] = {8,    7,    6,    5,    4,    3,    2,
					  1,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xd4, 0xc3, 0xb2, 0xa1, 2};
	bytes b = enc_status(&s);

	cr_assert_eq(b.n, sizeof(want));
	cr_assert_eq(memcmp(b.p, want, sizeof(want)), 0);
	fl_free(b.p);
}

Test(wire, status_step_past_commit_refused)
{
	const uint8_t steps[] = {NODE_CONS_STEP_COMMIT + 1, 0x7f, 0xff};

	for (size_t i = 0; i < sizeof(steps); i++) {
		node_wire_status s = {1, 2, 3, steps[i]}, d;
		bytes b = enc_status(&s);
		cr_assert_eq(node_wire_status_decode(&d, b.p, b.n), FL_EINVAL, "step %u", steps[i]);
		fl_free(b.p);
	}
}

/* ----------------------------------------------------------- proposal */

Test(wire, proposal_whole_block_round_trip)
{
	fl_hash hash;
	bytes block = sample_block(9, &hash), b, again;
	node_wire_proposal m, d;

	memset(&m, 0, sizeof(m));
	m.proposal = signed_proposal(9, 2, 1, &hash);
	m.block_len = (uint32_t)block.n;
	m.part = block.p;
	m.part_len = block.n;
	b = enc_proposal(&m);
	cr_assert_eq(node_wire_proposal_decode(&d, b.p, b.n), FL_OK);
	assert_proposal_eq(&d.proposal, &m.proposal);
	cr_assert_eq(node_cons_proposal_verify(&d.proposal, CHAIN_ID), FL_OK);
	cr_assert_eq(d.block_len, block.n);
	cr_assert_eq(d.part_len, block.n);
	cr_assert_eq(memcmp(d.part, block.p, block.n), 0);
	/* The part points into the input, and the block in it is the
	 * proposal's: its header hashes to the signed block_hash. */
	cr_assert(d.part >= b.p && d.part + d.part_len <= b.p + b.n);
	chain_block blk;
	fl_hash got;
	cr_assert_eq(chain_block_decode(&blk, d.part, d.part_len), FL_OK);
	cr_assert_eq(chain_header_hash(&got, &blk.header), FL_OK);
	cr_assert_eq(fl_hash_cmp(&got, &hash), 0);
	chain_block_free(&blk);
	again = enc_proposal(&d);
	assert_same_bytes(&b, &again);
	/* Layout: the proposal's fixed encoding, u32 block_len, varint, part. */
	fl_writer w;
	fl_writer_init(&w, 0);
	cr_assert_eq(node_cons_proposal_encode(&w, &m.proposal), FL_OK);
	cr_assert_eq(w.len, PROPOSAL_LEN);
	cr_assert_eq(memcmp(b.p, w.buf, PROPOSAL_LEN), 0);
	fl_writer_free(&w);
	uint32_t len_le = 0;
	for (int i = 0; i < 4; i++)
		len_le |= (uint32_t)b.p[PROPOSAL_LEN + i] << (8 * i);
	cr_assert_eq(len_le, block.n);
	cr_assert_eq(memcmp(b.p + b.n - block.n, block.p, block.n), 0);
	fl_free(b.p);
	fl_free(again.p);
	fl_free(block.p);
}

Test(wire, proposal_no_pol_round_trip_and_cuts)
{
	fl_hash hash;
	bytes block = sample_block(1, &hash), b;
	node_wire_proposal m, d;

	memset(&m, 0, sizeof(m));
	m.proposal = signed_proposal(1, 0, -1, &hash);
	m.block_len = (uint32_t)block.n;
	m.part = block.p;
	m.part_len = block.n;
	b = enc_proposal(&m);
	cr_assert_eq(node_wire_proposal_decode(&d, b.p, b.n), FL_OK);
	cr_assert_eq(d.proposal.pol_round, -1);
	cr_assert_eq(node_cons_proposal_verify(&d.proposal, CHAIN_ID), FL_OK);
	check_cuts(dec_proposal, &b);
	fl_free(b.p);
	fl_free(block.p);
}

Test(wire, proposal_first_part_of_a_big_block)
{
	bytes block = big_block(), b, again;
	node_wire_proposal m, d;
	fl_hash hash;
	chain_block_header h;
	fl_reader r;

	fl_reader_init(&r, block.p, block.n);
	cr_assert_eq(chain_header_decode(&r, &h), FL_OK);
	cr_assert_eq(chain_header_hash(&hash, &h), FL_OK);
	memset(&m, 0, sizeof(m));
	m.proposal = signed_proposal(5, 0, -1, &hash);
	m.block_len = (uint32_t)block.n;
	m.part = block.p;
	m.part_len = NODE_WIRE_PART_MAX;
	b = enc_proposal(&m);
	cr_assert_leq(b.n, P2P_MAX_FRAME);
	cr_assert_eq(node_wire_proposal_decode(&d, b.p, b.n), FL_OK);
	assert_proposal_eq(&d.proposal, &m.proposal);
	cr_assert_eq(node_cons_proposal_verify(&d.proposal, CHAIN_ID), FL_OK);
	cr_assert_eq(d.block_len, block.n);
	cr_assert_eq(d.part_len, NODE_WIRE_PART_MAX);
	cr_assert_eq(memcmp(d.part, block.p, NODE_WIRE_PART_MAX), 0);
	again = enc_proposal(&d);
	assert_same_bytes(&b, &again);
	fl_free(b.p);
	fl_free(again.p);
	fl_free(block.p);
}

Test(wire, proposal_encode_refuses_bad_parts)
{
	static uint8_t block[NODE_WIRE_PART_MAX + 2];
	const struct {
		uint32_t block_len;
		size_t part_len;
	} bad[] = {
	    {0, 0},
	    {0, 1},
	    {10, 0},
	    {CHAIN_MAX_BLOCK_BYTES + 1, 1},
	    {UINT32_MAX, 1},
	    {10, 11},
	    {NODE_WIRE_PART_MAX + 2, NODE_WIRE_PART_MAX + 1},
	};
	fl_hash hash = {{0}};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		node_wire_proposal m;
		fl_writer w;
		memset(&m, 0, sizeof(m));
		m.proposal = signed_proposal(3, 0, -1, &hash);
		m.block_len = bad[i].block_len;
		m.part = block;
		m.part_len = bad[i].part_len;
		fl_writer_init(&w, 0);
		cr_assert_eq(node_wire_proposal_encode(&w, &m), FL_EINVAL, "case %zu", i);
		/* Sticky: a caller that checks only finish sends nothing. */
		cr_assert_eq(fl_writer_finish(&w), FL_EINVAL, "case %zu", i);
		fl_writer_free(&w);
	}
}

/* A proposal message written field by field, bounds ignored: what a
 * hostile peer can send. */
static bytes forged_proposal(uint32_t block_len, const uint8_t *part, size_t part_len)
{
	fl_hash hash = {{0}};
	node_cons_proposal p = signed_proposal(3, 1, 0, &hash);
	fl_writer w;

	fl_writer_init(&w, 0);
	cr_assert_eq(node_cons_proposal_encode(&w, &p), FL_OK);
	fl_write_u32(&w, block_len);
	fl_write_bytes(&w, part, part_len, SIZE_MAX);
	return take(&w);
}

Test(wire, proposal_decode_refuses_bad_parts)
{
	static uint8_t block[NODE_WIRE_PART_MAX + 2];
	const struct {
		uint32_t block_len;
		size_t part_len;
		int rc;
	} cases[] = {
	    {0, 1, FL_EINVAL},
	    {0, 0, FL_EINVAL},
	    {10, 0, FL_EINVAL},
	    {CHAIN_MAX_BLOCK_BYTES + 1, 1, FL_EINVAL},
	    {UINT32_MAX, 10, FL_EINVAL},
	    {10, 11, FL_EINVAL},
	    {NODE_WIRE_PART_MAX + 2, NODE_WIRE_PART_MAX + 1, FL_ETOOBIG},
	    /* The edges that pass. */
	    {CHAIN_MAX_BLOCK_BYTES, NODE_WIRE_PART_MAX, FL_OK},
	    {1, 1, FL_OK},
	    {10, 10, FL_OK},
	    {10, 3, FL_OK},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bytes b = forged_proposal(cases[i].block_len, block, cases[i].part_len);
		node_wire_proposal d;
		int rc = node_wire_proposal_decode(&d, b.p, b.n);
		cr_assert_eq(rc, cases[i].rc, "case %zu: %s", i, fl_strerror(rc));
		fl_free(b.p);
	}
}

Test(wire, proposal_bad_pol_round_refused)
{
	fl_hash hash;
	bytes block = sample_block(2, &hash), b;
	node_wire_proposal m, d;

	memset(&m, 0, sizeof(m));
	m.proposal = signed_proposal(2, 1, 0, &hash);
	m.block_len = (uint32_t)block.n;
	m.part = block.p;
	m.part_len = block.n;
	b = enc_proposal(&m);
	/* pol_round (i64 at offset 12) = round: not an earlier round. */
	b.p[12] = 1;
	cr_assert_eq(node_wire_proposal_decode(&d, b.p, b.n), FL_EINVAL);
	/* pol_round = -2. */
	memset(b.p + 12, 0xff, 8);
	b.p[12] = 0xfe;
	cr_assert_eq(node_wire_proposal_decode(&d, b.p, b.n), FL_EINVAL);
	fl_free(b.p);
	fl_free(block.p);
}

/* --------------------------------------------------------------- vote */

static bytes enc_vote(const chain_vote *v)
{
	fl_writer w;

	fl_writer_init(&w, 512);
	cr_assert_eq(node_wire_vote_encode(&w, v), FL_OK);
	return take(&w);
}

Test(wire, vote_round_trip_prevote_precommit_nil)
{
	fl_hash hash;
	bytes block = sample_block(4, &hash);
	const chain_vote votes[] = {
	    signed_vote(CHAIN_VOTE_PREVOTE, 4, 0, &hash, 1),
	    signed_vote(CHAIN_VOTE_PRECOMMIT, 4, 3, &hash, 3),
	    signed_vote(CHAIN_VOTE_PRECOMMIT, UINT64_MAX, UINT32_MAX, NULL, 4),
	};

	for (size_t i = 0; i < sizeof(votes) / sizeof(votes[0]); i++) {
		chain_vote d;
		bytes b = enc_vote(&votes[i]), again;
		cr_assert_eq(b.n, VOTE_LEN);
		cr_assert_eq(node_wire_vote_decode(&d, b.p, b.n), FL_OK);
		cr_assert_eq(d.type, votes[i].type);
		cr_assert_eq(d.height, votes[i].height);
		cr_assert_eq(d.round, votes[i].round);
		cr_assert_eq(fl_hash_cmp(&d.block_hash, &votes[i].block_hash), 0);
		cr_assert_eq(memcmp(d.validator.b, votes[i].validator.b, FL_PUBKEY_LEN), 0);
		cr_assert_eq(memcmp(d.sig.b, votes[i].sig.b, FL_SIG_LEN), 0);
		cr_assert_eq(chain_vote_verify(&d, CHAIN_ID), FL_OK);
		again = enc_vote(&d);
		assert_same_bytes(&b, &again);
		check_cuts(dec_vote, &b);
		fl_free(b.p);
		fl_free(again.p);
	}
	fl_free(block.p);
}

Test(wire, vote_bad_type_refused)
{
	fl_hash hash = {{1}};
	chain_vote v = signed_vote(CHAIN_VOTE_PREVOTE, 4, 0, &hash, 1), d;
	bytes b = enc_vote(&v);
	const uint8_t types[] = {0, CHAIN_VOTE_PRECOMMIT + 1, 0xff};

	for (size_t i = 0; i < sizeof(types); i++) {
		b.p[0] = types[i];
		cr_assert_eq(node_wire_vote_decode(&d, b.p, b.n), FL_EINVAL, "type %u", types[i]);
	}
	fl_free(b.p);
}

/* ----------------------------------------------------- blocks request */

static bytes enc_blocks_req(uint64_t from, uint32_t max)
{
	node_wire_blocks_req q = {from, max};
	fl_writer w;

	fl_writer_init(&w, 64);
	cr_assert_eq(node_wire_blocks_req_encode(&w, &q), FL_OK);
	return take(&w);
}

Test(wire, blocks_req_round_trip_and_edges)
{
	const node_wire_blocks_req ok[] = {{1, 1}, {7, 32}, {UINT64_MAX, NODE_WIRE_BLOCKS_MAX}};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		node_wire_blocks_req d;
		bytes b = enc_blocks_req(ok[i].from, ok[i].max), again;
		cr_assert_eq(b.n, BLOCKS_REQ_LEN);
		cr_assert_eq(node_wire_blocks_req_decode(&d, b.p, b.n), FL_OK);
		cr_assert_eq(d.from, ok[i].from);
		cr_assert_eq(d.max, ok[i].max);
		again = enc_blocks_req(d.from, d.max);
		assert_same_bytes(&b, &again);
		check_cuts(dec_blocks_req, &b);
		fl_free(b.p);
		fl_free(again.p);
	}
}

Test(wire, blocks_req_bounds_refused)
{
	const node_wire_blocks_req bad[] = {
	    {1, 0}, {1, NODE_WIRE_BLOCKS_MAX + 1}, {1, UINT32_MAX}, {0, 1}, {0, 0}};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		node_wire_blocks_req d;
		bytes b = enc_blocks_req(bad[i].from, bad[i].max);
		cr_assert_eq(node_wire_blocks_req_decode(&d, b.p, b.n), FL_EINVAL, "case %zu", i);
		fl_free(b.p);
	}
}

/* ---------------------------------------------------- blocks response */

/* A response as node_net.c's serve_blocks writes it: u32 count, items. */
typedef struct {
	fl_writer w;
} response;

static void response_begin(response *r, uint32_t count)
{
	fl_writer_init(&r->w, P2P_MAX_FRAME);
	cr_assert_eq(fl_write_u32(&r->w, count), FL_OK);
}

static void response_add(response *r, const bytes *block, const chain_commit *c)
{
	cr_assert_eq(node_wire_blocks_item_encode(&r->w, block->p, block->n, c), FL_OK);
}

/* Every item of a response, FL_ENOTFOUND after the last and again after
 * that; the items' fields are compared with blocks[] and commits[]. */
static void read_all(const bytes *b, const bytes *blocks, const chain_commit *commits, uint32_t n)
{
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count = UINT32_MAX;

	cr_assert_eq(node_wire_blocks_iter_begin(&it, b->p, b->n, &count), FL_OK);
	cr_assert_eq(count, n);
	for (uint32_t i = 0; i < n; i++) {
		size_t part = blocks[i].n < NODE_WIRE_PART_MAX ? blocks[i].n : NODE_WIRE_PART_MAX;
		cr_assert_eq(node_wire_blocks_iter_next(&it, &item), FL_OK, "item %u", i);
		cr_assert_eq(item.block_len, blocks[i].n);
		cr_assert_eq(item.part_len, part);
		cr_assert_eq(memcmp(item.part, blocks[i].p, part), 0);
		cr_assert_eq(memcmp(&item.commit, &commits[i], sizeof(item.commit)), 0);
	}
	cr_assert_eq(node_wire_blocks_iter_next(&it, &item), FL_ENOTFOUND);
	cr_assert_eq(node_wire_blocks_iter_next(&it, &item), FL_ENOTFOUND);
}

/* Every prefix fails with FL_ETRUNC (at begin or at some item) and keeps
 * failing; one byte more is FL_ETRAILING after the last item. */
static void response_cuts(const bytes *b)
{
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count;
	int rc;

	for (size_t k = 0; k < b->n; k++) {
		uint8_t *c = copy_of(b->p, k, 0);
		rc = node_wire_blocks_iter_begin(&it, c, k, &count);
		if (rc == FL_OK)
			while ((rc = node_wire_blocks_iter_next(&it, &item)) == FL_OK) {
			}
		cr_assert_eq(rc, FL_ETRUNC, "cut at %zu of %zu: %s", k, b->n, fl_strerror(rc));
		if (k >= 4)
			cr_assert_eq(node_wire_blocks_iter_next(&it, &item), FL_ETRUNC);
		fl_free(c);
	}
	uint8_t *c = copy_of(b->p, b->n, 1);
	cr_assert_eq(node_wire_blocks_iter_begin(&it, c, b->n + 1, &count), FL_OK);
	while ((rc = node_wire_blocks_iter_next(&it, &item)) == FL_OK) {
	}
	cr_assert_eq(rc, FL_ETRAILING);
	fl_free(c);
}

Test(wire, blocks_response_empty)
{
	response r;
	bytes b;
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count;

	response_begin(&r, 0);
	b = take(&r.w);
	cr_assert_eq(b.n, 4);
	read_all(&b, NULL, NULL, 0);
	response_cuts(&b);
	/* Bytes after a zero count. */
	uint8_t extra[5] = {0, 0, 0, 0, 0};
	cr_assert_eq(node_wire_blocks_iter_begin(&it, extra, sizeof(extra), &count), FL_OK);
	cr_assert_eq(node_wire_blocks_iter_next(&it, &item), FL_ETRAILING);
	fl_free(b.p);
}

Test(wire, blocks_response_one_sample_block)
{
	fl_hash hash;
	bytes block = sample_block(6, &hash), b;
	chain_commit c;
	response r;

	cr_assert_eq(chain_sample_commit(&c, 6, &hash, 3), FL_OK);
	response_begin(&r, 1);
	response_add(&r, &block, &c);
	b = take(&r.w);
	read_all(&b, &block, &c, 1);
	response_cuts(&b);
	fl_free(b.p);
	fl_free(block.p);
}

/* Committed blocks and their commits out of a fixture chain's store, read
 * the way serve_blocks reads them. */
Test(wire, blocks_response_several_from_a_store)
{
	enum { N = 4 };
	chain_fixture fx;
	fixture_opts o;
	bytes blocks[N];
	chain_commit commits[N];
	response r;
	bytes b;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	cr_assert_eq(fixture_open(&fx, &o), FL_OK);
	cr_assert_eq(fixture_advance_to(&fx, N + 1), FL_OK);
	response_begin(&r, N);
	for (uint64_t h = 1; h <= N; h++) {
		cr_assert_eq(chain_get_block(fx.store, h, &blocks[h - 1].p, &blocks[h - 1].n),
			     FL_OK);
		cr_assert_eq(chain_get_commit(fx.store, h, &commits[h - 1]), FL_OK);
		cr_assert_eq(commits[h - 1].height, h);
		cr_assert_gt(commits[h - 1].n_sigs, 0);
		response_add(&r, &blocks[h - 1], &commits[h - 1]);
	}
	b = take(&r.w);
	read_all(&b, blocks, commits, N);
	/* What sync does with each item: the commit verifies for the block. */
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count;
	cr_assert_eq(node_wire_blocks_iter_begin(&it, b.p, b.n, &count), FL_OK);
	while (node_wire_blocks_iter_next(&it, &item) == FL_OK) {
		chain_block_header h;
		fl_reader rd;
		fl_hash hash;
		fl_reader_init(&rd, item.part, item.part_len);
		cr_assert_eq(chain_header_decode(&rd, &h), FL_OK);
		cr_assert_eq(chain_header_hash(&hash, &h), FL_OK);
		cr_assert_eq(chain_verify_commit(fx.store, fx.genesis.chain_id, h.height, &hash,
						 &item.commit),
			     FL_OK);
	}
	response_cuts(&b);
	fl_free(b.p);
	for (int i = 0; i < N; i++)
		fl_free(blocks[i].p);
	fixture_close(&fx);
}

Test(wire, blocks_response_big_block_travels_as_first_part)
{
	bytes block = big_block(), b;
	chain_commit c;
	fl_hash hash = {{7}};
	response r;

	cr_assert_eq(chain_sample_commit(&c, 5, &hash, 2), FL_OK);
	response_begin(&r, 1);
	response_add(&r, &block, &c);
	b = take(&r.w);
	cr_assert_lt(b.n, block.n);
	read_all(&b, &block, &c, 1);
	fl_free(b.p);
	fl_free(block.p);
}

Test(wire, blocks_item_encode_refuses_bad_lengths)
{
	static uint8_t block[16];
	chain_commit c;
	fl_hash hash = {{7}};
	fl_writer w;

	cr_assert_eq(chain_sample_commit(&c, 5, &hash, 2), FL_OK);
	fl_writer_init(&w, 0);
	cr_assert_eq(node_wire_blocks_item_encode(&w, block, 0, &c), FL_EINVAL);
	cr_assert_eq(fl_writer_finish(&w), FL_EINVAL);
	fl_writer_free(&w);
	fl_writer_init(&w, 0);
	cr_assert_eq(node_wire_blocks_item_encode(&w, block, (size_t)CHAIN_MAX_BLOCK_BYTES + 1, &c),
		     FL_EINVAL);
	cr_assert_eq(fl_writer_finish(&w), FL_EINVAL);
	fl_writer_free(&w);
}

Test(wire, blocks_response_count_over_max_refused)
{
	uint8_t p[4];
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count;
	const uint32_t counts[] = {NODE_WIRE_BLOCKS_MAX + 1, UINT32_MAX};

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		for (int k = 0; k < 4; k++)
			p[k] = (uint8_t)(counts[i] >> (8 * k));
		cr_assert_eq(node_wire_blocks_iter_begin(&it, p, sizeof(p), &count), FL_ETOOBIG);
		cr_assert_eq(node_wire_blocks_iter_next(&it, &item), FL_ETOOBIG);
	}
	/* The maximum itself is a valid count (its items then must follow). */
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(NODE_WIRE_BLOCKS_MAX >> (8 * k));
	cr_assert_eq(node_wire_blocks_iter_begin(&it, p, sizeof(p), &count), FL_OK);
	cr_assert_eq(count, NODE_WIRE_BLOCKS_MAX);
	cr_assert_eq(node_wire_blocks_iter_next(&it, &item), FL_ETRUNC);
}

/* An item with bad part lengths, written field by field, then a good one:
 * the bad one is refused and the iterator stays failed. */
Test(wire, blocks_response_bad_item_refused_and_sticky)
{
	static uint8_t block[64];
	const struct {
		uint32_t block_len;
		size_t part_len;
		int rc;
	} cases[] = {
	    {0, 1, FL_EINVAL},
	    {10, 0, FL_EINVAL},
	    {10, 11, FL_EINVAL},
	    {CHAIN_MAX_BLOCK_BYTES + 1, 10, FL_EINVAL},
	};
	chain_commit c;
	fl_hash hash = {{7}};

	cr_assert_eq(chain_sample_commit(&c, 5, &hash, 2), FL_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fl_writer w;
		node_wire_blocks_iter it;
		node_wire_block_item item;
		uint32_t count;
		bytes good = {block, sizeof(block)}, b;
		fl_writer_init(&w, 0);
		fl_write_u32(&w, 2);
		fl_write_u32(&w, cases[i].block_len);
		fl_write_bytes(&w, block, cases[i].part_len, SIZE_MAX);
		cr_assert_eq(chain_commit_encode(&w, &c), FL_OK);
		cr_assert_eq(node_wire_blocks_item_encode(&w, good.p, good.n, &c), FL_OK);
		b = take(&w);
		cr_assert_eq(node_wire_blocks_iter_begin(&it, b.p, b.n, &count), FL_OK);
		cr_assert_eq(node_wire_blocks_iter_next(&it, &item), cases[i].rc, "case %zu", i);
		cr_assert_eq(item.part, NULL);
		cr_assert_eq(node_wire_blocks_iter_next(&it, &item), cases[i].rc, "case %zu", i);
		fl_free(b.p);
	}
}

/* A commit that does not decode (signatures out of order) fails its item. */
Test(wire, blocks_response_bad_commit_refused)
{
	static uint8_t block[64];
	chain_commit c;
	fl_hash hash = {{7}};
	fl_writer w;
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count;
	bytes b;

	cr_assert_eq(chain_sample_commit(&c, 5, &hash, 3), FL_OK);
	struct chain_commit_sig s = c.sigs[0];
	c.sigs[0] = c.sigs[1];
	c.sigs[1] = s;
	fl_writer_init(&w, 0);
	fl_write_u32(&w, 1);
	fl_write_u32(&w, sizeof(block));
	fl_write_bytes(&w, block, sizeof(block), SIZE_MAX);
	fl_write_u64(&w, c.height);
	fl_write_u32(&w, c.round);
	fl_write_fixed(&w, c.block_hash.b, FL_HASH_LEN);
	fl_write_varint(&w, c.n_sigs);
	for (uint32_t i = 0; i < c.n_sigs; i++) {
		fl_write_fixed(&w, c.sigs[i].validator.b, FL_PUBKEY_LEN);
		fl_write_fixed(&w, c.sigs[i].sig.b, FL_SIG_LEN);
	}
	b = take(&w);
	cr_assert_eq(node_wire_blocks_iter_begin(&it, b.p, b.n, &count), FL_OK);
	int rc = node_wire_blocks_iter_next(&it, &item);
	cr_assert_neq(rc, FL_OK);
	cr_assert_neq(rc, FL_ENOTFOUND);
	cr_assert_eq(node_wire_blocks_iter_next(&it, &item), rc);
	fl_free(b.p);
}

/* ------------------------------------------------- block-part request */

static bytes enc_part_req(const node_wire_part_req *q)
{
	fl_writer w;

	fl_writer_init(&w, 64);
	cr_assert_eq(node_wire_part_req_encode(&w, q), FL_OK);
	return take(&w);
}

Test(wire, part_req_round_trip_by_height_and_by_hash)
{
	fl_hash hash;
	bytes block = sample_block(3, &hash);
	node_wire_part_req qs[4];

	memset(qs, 0, sizeof(qs));
	qs[0].height = 3;
	qs[0].offset = NODE_WIRE_PART_MAX;
	qs[1].height = UINT64_MAX;
	qs[1].offset = CHAIN_MAX_BLOCK_BYTES - 1;
	qs[2].by_hash = 1;
	qs[2].hash = hash;
	qs[2].offset = 0;
	qs[3].by_hash = 1;
	qs[3].hash = hash;
	qs[3].offset = 2 * NODE_WIRE_PART_MAX;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		node_wire_part_req d;
		bytes b = enc_part_req(&qs[i]), again;
		cr_assert_eq(b.n, qs[i].by_hash ? 1 + FL_HASH_LEN + 4 : 1 + 8 + 4);
		cr_assert_eq(b.p[0], qs[i].by_hash);
		cr_assert_eq(node_wire_part_req_decode(&d, b.p, b.n), FL_OK);
		cr_assert_eq(d.by_hash, qs[i].by_hash);
		cr_assert_eq(d.height, qs[i].by_hash ? 0 : qs[i].height);
		if (qs[i].by_hash)
			cr_assert_eq(fl_hash_cmp(&d.hash, &qs[i].hash), 0);
		else
			cr_assert(fl_hash_is_zero(&d.hash));
		cr_assert_eq(d.offset, qs[i].offset);
		again = enc_part_req(&d);
		assert_same_bytes(&b, &again);
		check_cuts(dec_part_req, &b);
		fl_free(b.p);
		fl_free(again.p);
	}
	fl_free(block.p);
}

Test(wire, part_req_bounds_refused)
{
	node_wire_part_req q, d;
	bytes b;

	/* by_hash is a flag: 0 or 1 only. */
	memset(&q, 0, sizeof(q));
	q.by_hash = 1;
	b = enc_part_req(&q);
	for (unsigned v = 2; v <= 0xff; v++) {
		b.p[0] = (uint8_t)v;
		cr_assert_eq(node_wire_part_req_decode(&d, b.p, b.n), FL_EINVAL, "by_hash %u", v);
	}
	fl_free(b.p);
	/* Height 0 is the genesis: no block to fetch. */
	memset(&q, 0, sizeof(q));
	b = enc_part_req(&q);
	cr_assert_eq(node_wire_part_req_decode(&d, b.p, b.n), FL_EINVAL);
	fl_free(b.p);
	/* An offset past the largest block. */
	const uint32_t offsets[] = {CHAIN_MAX_BLOCK_BYTES, CHAIN_MAX_BLOCK_BYTES + 1, UINT32_MAX};
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		for (uint8_t by_hash = 0; by_hash <= 1; by_hash++) {
			memset(&q, 0, sizeof(q));
			q.by_hash = by_hash;
			q.height = 9;
			q.offset = offsets[i];
			b = enc_part_req(&q);
			cr_assert_eq(node_wire_part_req_decode(&d, b.p, b.n), FL_EINVAL,
				     "offset %u by_hash %u", offsets[i], by_hash);
			fl_free(b.p);
		}
	}
}
