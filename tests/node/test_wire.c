/*
 * tests/node/test_wire.c — the node's p2p messages but the blocks response
 * (node/wire.h, docs/node-wire.md): status, proposal, vote, blocks request
 * and part request round-trip field for field and re-encode to the same
 * bytes, the layouts are the documented ones, every bound is refused on
 * both sides, and every cut and a trailing byte are refused. Proposals and
 * votes carry real BIP340 signatures; blocks are real encodings.
 */
#include "tests/node/wire_helpers.h"

#include <criterion/criterion.h>
#include <string.h>

/* Fixed lengths of the layouts in docs/node-wire.md. */
#define STATUS_LEN     (8 + 8 + 4 + 1)
#define PROPOSAL_LEN   (8 + 4 + 8 + FL_HASH_LEN + 8 + FL_PUBKEY_LEN + FL_SIG_LEN)
#define VOTE_LEN       (1 + 8 + 4 + FL_HASH_LEN + FL_PUBKEY_LEN + FL_SIG_LEN)
#define BLOCKS_REQ_LEN (8 + 4)

TestSuite(wire);

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
static void check_cuts(decode_fn dec, const wh_bytes *b)
{
	any_msg m;

	cr_assert_eq(dec(&m, b->p, b->n), FL_OK);
	for (size_t k = 0; k < b->n; k++) {
		uint8_t *c = wh_copy_of(b->p, k, 0);
		int rc = dec(&m, c, k);
		fl_free(c);
		cr_assert_eq(rc, FL_ETRUNC, "cut at %zu of %zu: %s", k, b->n, fl_strerror(rc));
	}
	uint8_t *c = wh_copy_of(b->p, b->n, 1);
	cr_assert_eq(dec(&m, c, b->n + 1), FL_ETRAILING);
	fl_free(c);
}

static wh_bytes enc_proposal(const node_wire_proposal *m)
{
	fl_writer w;

	fl_writer_init(&w, P2P_MAX_FRAME);
	cr_assert_eq(node_wire_proposal_encode(&w, m), FL_OK);
	return wh_take(&w);
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

static wh_bytes enc_status(const node_wire_status *s)
{
	fl_writer w;

	fl_writer_init(&w, 64);
	cr_assert_eq(node_wire_status_encode(&w, s), FL_OK);
	return wh_take(&w);
}

Test(wire, status_round_trip_every_step)
{
	for (uint8_t step = NODE_CONS_STEP_NONE; step <= NODE_CONS_STEP_COMMIT; step++) {
		node_wire_status s = {41 + step, 42 + step, 7u * step, step}, d;
		wh_bytes b = enc_status(&s), again;

		cr_assert_eq(b.n, STATUS_LEN);
		cr_assert_eq(node_wire_status_decode(&d, b.p, b.n), FL_OK);
		cr_assert_eq(d.height, s.height);
		cr_assert_eq(d.cons_height, s.cons_height);
		cr_assert_eq(d.cons_round, s.cons_round);
		cr_assert_eq(d.cons_step, s.cons_step);
		again = enc_status(&d);
		wh_assert_same_bytes(&b, &again);
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
	wh_bytes b = enc_status(&s);

	cr_assert_eq(b.n, sizeof(want));
	cr_assert_eq(memcmp(b.p, want, sizeof(want)), 0);
	fl_free(b.p);
}

Test(wire, status_step_past_commit_refused)
{
	const uint8_t steps[] = {NODE_CONS_STEP_COMMIT + 1, 0x7f, 0xff};

	for (size_t i = 0; i < sizeof(steps); i++) {
		node_wire_status s = {1, 2, 3, steps[i]}, d;
		wh_bytes b = enc_status(&s);
		cr_assert_eq(node_wire_status_decode(&d, b.p, b.n), FL_EINVAL, "step %u", steps[i]);
		fl_free(b.p);
	}
}

/* ----------------------------------------------------------- proposal */

Test(wire, proposal_whole_block_round_trip)
{
	fl_hash hash;
	wh_bytes block = wh_sample_block(9, &hash), b, again;
	node_wire_proposal m, d;

	memset(&m, 0, sizeof(m));
	m.proposal = wh_signed_proposal(9, 2, 1, &hash);
	m.block_len = (uint32_t)block.n;
	m.part = block.p;
	m.part_len = block.n;
	b = enc_proposal(&m);
	cr_assert_eq(node_wire_proposal_decode(&d, b.p, b.n), FL_OK);
	assert_proposal_eq(&d.proposal, &m.proposal);
	cr_assert_eq(node_cons_proposal_verify(&d.proposal, WH_CHAIN_ID), FL_OK);
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
	wh_assert_same_bytes(&b, &again);
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
	wh_bytes block = wh_sample_block(1, &hash), b;
	node_wire_proposal m, d;

	memset(&m, 0, sizeof(m));
	m.proposal = wh_signed_proposal(1, 0, -1, &hash);
	m.block_len = (uint32_t)block.n;
	m.part = block.p;
	m.part_len = block.n;
	b = enc_proposal(&m);
	cr_assert_eq(node_wire_proposal_decode(&d, b.p, b.n), FL_OK);
	cr_assert_eq(d.proposal.pol_round, -1);
	cr_assert_eq(node_cons_proposal_verify(&d.proposal, WH_CHAIN_ID), FL_OK);
	check_cuts(dec_proposal, &b);
	fl_free(b.p);
	fl_free(block.p);
}

Test(wire, proposal_first_part_of_a_big_block)
{
	wh_bytes block = wh_big_block(), b, again;
	node_wire_proposal m, d;
	fl_hash hash;
	chain_block_header h;
	fl_reader r;

	fl_reader_init(&r, block.p, block.n);
	cr_assert_eq(chain_header_decode(&r, &h), FL_OK);
	cr_assert_eq(chain_header_hash(&hash, &h), FL_OK);
	memset(&m, 0, sizeof(m));
	m.proposal = wh_signed_proposal(5, 0, -1, &hash);
	m.block_len = (uint32_t)block.n;
	m.part = block.p;
	m.part_len = NODE_WIRE_PART_MAX;
	b = enc_proposal(&m);
	cr_assert_leq(b.n, P2P_MAX_FRAME);
	cr_assert_eq(node_wire_proposal_decode(&d, b.p, b.n), FL_OK);
	assert_proposal_eq(&d.proposal, &m.proposal);
	cr_assert_eq(node_cons_proposal_verify(&d.proposal, WH_CHAIN_ID), FL_OK);
	cr_assert_eq(d.block_len, block.n);
	cr_assert_eq(d.part_len, NODE_WIRE_PART_MAX);
	cr_assert_eq(memcmp(d.part, block.p, NODE_WIRE_PART_MAX), 0);
	again = enc_proposal(&d);
	wh_assert_same_bytes(&b, &again);
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
		m.proposal = wh_signed_proposal(3, 0, -1, &hash);
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
static wh_bytes forged_proposal(uint32_t block_len, const uint8_t *part, size_t part_len)
{
	fl_hash hash = {{0}};
	node_cons_proposal p = wh_signed_proposal(3, 1, 0, &hash);
	fl_writer w;

	fl_writer_init(&w, 0);
	cr_assert_eq(node_cons_proposal_encode(&w, &p), FL_OK);
	fl_write_u32(&w, block_len);
	fl_write_bytes(&w, part, part_len, SIZE_MAX);
	return wh_take(&w);
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
		wh_bytes b = forged_proposal(cases[i].block_len, block, cases[i].part_len);
		node_wire_proposal d;
		int rc = node_wire_proposal_decode(&d, b.p, b.n);
		cr_assert_eq(rc, cases[i].rc, "case %zu: %s", i, fl_strerror(rc));
		fl_free(b.p);
	}
}

Test(wire, proposal_bad_pol_round_refused)
{
	fl_hash hash;
	wh_bytes block = wh_sample_block(2, &hash), b;
	node_wire_proposal m, d;

	memset(&m, 0, sizeof(m));
	m.proposal = wh_signed_proposal(2, 1, 0, &hash);
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

static wh_bytes enc_vote(const chain_vote *v)
{
	fl_writer w;

	fl_writer_init(&w, 512);
	cr_assert_eq(node_wire_vote_encode(&w, v), FL_OK);
	return wh_take(&w);
}

Test(wire, vote_round_trip_prevote_precommit_nil)
{
	fl_hash hash;
	wh_bytes block = wh_sample_block(4, &hash);
	const chain_vote votes[] = {
	    wh_signed_vote(CHAIN_VOTE_PREVOTE, 4, 0, &hash, 1),
	    wh_signed_vote(CHAIN_VOTE_PRECOMMIT, 4, 3, &hash, 3),
	    wh_signed_vote(CHAIN_VOTE_PRECOMMIT, UINT64_MAX, UINT32_MAX, NULL, 4),
	};

	for (size_t i = 0; i < sizeof(votes) / sizeof(votes[0]); i++) {
		chain_vote d;
		wh_bytes b = enc_vote(&votes[i]), again;
		cr_assert_eq(b.n, VOTE_LEN);
		cr_assert_eq(node_wire_vote_decode(&d, b.p, b.n), FL_OK);
		cr_assert_eq(d.type, votes[i].type);
		cr_assert_eq(d.height, votes[i].height);
		cr_assert_eq(d.round, votes[i].round);
		cr_assert_eq(fl_hash_cmp(&d.block_hash, &votes[i].block_hash), 0);
		cr_assert_eq(memcmp(d.validator.b, votes[i].validator.b, FL_PUBKEY_LEN), 0);
		cr_assert_eq(memcmp(d.sig.b, votes[i].sig.b, FL_SIG_LEN), 0);
		cr_assert_eq(chain_vote_verify(&d, WH_CHAIN_ID), FL_OK);
		again = enc_vote(&d);
		wh_assert_same_bytes(&b, &again);
		check_cuts(dec_vote, &b);
		fl_free(b.p);
		fl_free(again.p);
	}
	fl_free(block.p);
}

Test(wire, vote_bad_type_refused)
{
	fl_hash hash = {{1}};
	chain_vote v = wh_signed_vote(CHAIN_VOTE_PREVOTE, 4, 0, &hash, 1), d;
	wh_bytes b = enc_vote(&v);
	const uint8_t types[] = {0, CHAIN_VOTE_PRECOMMIT + 1, 0xff};

	for (size_t i = 0; i < sizeof(types); i++) {
		b.p[0] = types[i];
		cr_assert_eq(node_wire_vote_decode(&d, b.p, b.n), FL_EINVAL, "type %u", types[i]);
	}
	fl_free(b.p);
}

/* ----------------------------------------------------- blocks request */

static wh_bytes enc_blocks_req(uint64_t from, uint32_t max)
{
	node_wire_blocks_req q = {from, max};
	fl_writer w;

	fl_writer_init(&w, 64);
	cr_assert_eq(node_wire_blocks_req_encode(&w, &q), FL_OK);
	return wh_take(&w);
}

Test(wire, blocks_req_round_trip_and_edges)
{
	const node_wire_blocks_req ok[] = {{1, 1}, {7, 32}, {UINT64_MAX, NODE_WIRE_BLOCKS_MAX}};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		node_wire_blocks_req d;
		wh_bytes b = enc_blocks_req(ok[i].from, ok[i].max), again;
		cr_assert_eq(b.n, BLOCKS_REQ_LEN);
		cr_assert_eq(node_wire_blocks_req_decode(&d, b.p, b.n), FL_OK);
		cr_assert_eq(d.from, ok[i].from);
		cr_assert_eq(d.max, ok[i].max);
		again = enc_blocks_req(d.from, d.max);
		wh_assert_same_bytes(&b, &again);
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
		wh_bytes b = enc_blocks_req(bad[i].from, bad[i].max);
		cr_assert_eq(node_wire_blocks_req_decode(&d, b.p, b.n), FL_EINVAL, "case %zu", i);
		fl_free(b.p);
	}
}

/* ------------------------------------------------- block-part request */

static wh_bytes enc_part_req(const node_wire_part_req *q)
{
	fl_writer w;

	fl_writer_init(&w, 64);
	cr_assert_eq(node_wire_part_req_encode(&w, q), FL_OK);
	return wh_take(&w);
}

Test(wire, part_req_round_trip_by_height_and_by_hash)
{
	fl_hash hash;
	wh_bytes block = wh_sample_block(3, &hash);
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
		wh_bytes b = enc_part_req(&qs[i]), again;
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
		wh_assert_same_bytes(&b, &again);
		check_cuts(dec_part_req, &b);
		fl_free(b.p);
		fl_free(again.p);
	}
	fl_free(block.p);
}

Test(wire, part_req_bounds_refused)
{
	node_wire_part_req q, d;
	wh_bytes b;

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
