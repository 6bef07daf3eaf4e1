/*
 * fuzz_node_wire — every decoder of node/wire.h on arbitrary bytes. The
 * first byte picks the decoder (mod 6), the rest is its input. Whatever
 * decodes holds its documented bounds and re-encodes to exactly the input:
 * every encoding is canonical (a proposal's part and a response item's
 * part are opaque bytes, copied as they came). A blocks response is walked
 * to its end; an iterator that failed keeps failing with the same code.
 */
#include "node/wire.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_same(fl_writer *w, const uint8_t *p, size_t n)
{
	check(fl_writer_finish(w) == FL_OK);
	check(w->len == n && (n == 0 || memcmp(w->buf, p, n) == 0));
	fl_writer_free(w);
}

/* A part as both messages carry it: inside the input, in its bounds. */
static void check_part(uint32_t block_len, const uint8_t *part, size_t part_len, const uint8_t *p,
		       size_t n)
{
	check(block_len >= 1 && block_len <= CHAIN_MAX_BLOCK_BYTES);
	check(part_len >= 1 && part_len <= block_len && part_len <= NODE_WIRE_PART_MAX);
	check(part >= p && part + part_len <= p + n);
}

static void fuzz_status(const uint8_t *p, size_t n)
{
	node_wire_status s;
	fl_writer w;

	if (node_wire_status_decode(&s, p, n) != FL_OK)
		return;
	check(s.cons_step <= NODE_CONS_STEP_COMMIT);
	fl_writer_init(&w, 0);
	check(node_wire_status_encode(&w, &s) == FL_OK);
	check_same(&w, p, n);
}

static void fuzz_proposal(const uint8_t *p, size_t n)
{
	node_wire_proposal m;
	fl_writer w;

	if (node_wire_proposal_decode(&m, p, n) != FL_OK)
		return;
	check(m.proposal.pol_round >= -1 &&
	      (m.proposal.pol_round < 0 || (uint32_t)m.proposal.pol_round < m.proposal.round));
	check_part(m.block_len, m.part, m.part_len, p, n);
	fl_writer_init(&w, 0);
	check(node_wire_proposal_encode(&w, &m) == FL_OK);
	check_same(&w, p, n);
}

static void fuzz_vote(const uint8_t *p, size_t n)
{
	chain_vote v;
	fl_writer w;

	if (node_wire_vote_decode(&v, p, n) != FL_OK)
		return;
	check(v.type == CHAIN_VOTE_PREVOTE || v.type == CHAIN_VOTE_PRECOMMIT);
	fl_writer_init(&w, 0);
	check(node_wire_vote_encode(&w, &v) == FL_OK);
	check_same(&w, p, n);
}

static void fuzz_blocks_req(const uint8_t *p, size_t n)
{
	node_wire_blocks_req q;
	fl_writer w;

	if (node_wire_blocks_req_decode(&q, p, n) != FL_OK)
		return;
	check(q.from >= 1 && q.max >= 1 && q.max <= NODE_WIRE_BLOCKS_MAX);
	fl_writer_init(&w, 0);
	check(node_wire_blocks_req_encode(&w, &q) == FL_OK);
	check_same(&w, p, n);
}

/*
 * Items are re-encoded as they were read: through blocks_item_encode when
 * the part is the whole block (what a node sends for a block that fits),
 * else field by field (u32 block_len, bytes part, commit) as documented.
 */
static void fuzz_blocks(const uint8_t *p, size_t n)
{
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count = 0, seen = 0;
	fl_writer w;
	int rc;

	rc = node_wire_blocks_iter_begin(&it, p, n, &count);
	if (rc != FL_OK) {
		check(node_wire_blocks_iter_next(&it, &item) == rc);
		return;
	}
	check(count <= NODE_WIRE_BLOCKS_MAX);
	fl_writer_init(&w, 0);
	check(fl_write_u32(&w, count) == FL_OK);
	while ((rc = node_wire_blocks_iter_next(&it, &item)) == FL_OK) {
		seen++;
		check(seen <= count);
		check_part(item.block_len, item.part, item.part_len, p, n);
		check(item.commit.n_sigs <= CHAIN_MAX_VALIDATORS);
		if (item.part_len == item.block_len) {
			check(node_wire_blocks_item_encode(&w, item.part, item.part_len,
							   &item.commit) == FL_OK);
		} else {
			check(fl_write_u32(&w, item.block_len) == FL_OK);
			check(fl_write_bytes(&w, item.part, item.part_len, NODE_WIRE_PART_MAX) ==
			      FL_OK);
			check(chain_commit_encode(&w, &item.commit) == FL_OK);
		}
	}
	/* Sticky: the end, or the error, again. */
	check(node_wire_blocks_iter_next(&it, &item) == rc);
	check(item.part == NULL && item.part_len == 0);
	if (rc == FL_ENOTFOUND) {
		check(seen == count);
		check_same(&w, p, n);
		return;
	}
	check(rc != FL_ETRAILING || seen == count);
	fl_writer_free(&w);
}

static void fuzz_part_req(const uint8_t *p, size_t n)
{
	node_wire_part_req q;
	fl_writer w;

	if (node_wire_part_req_decode(&q, p, n) != FL_OK)
		return;
	check(q.by_hash <= 1 && q.offset < CHAIN_MAX_BLOCK_BYTES);
	check(q.by_hash ? q.height == 0 : q.height >= 1 && fl_hash_is_zero(&q.hash));
	fl_writer_init(&w, 0);
	check(node_wire_part_req_encode(&w, &q) == FL_OK);
	check_same(&w, p, n);
}

static void (*const decoders[])(const uint8_t *, size_t) = {
    fuzz_status, fuzz_proposal, fuzz_vote, fuzz_blocks_req, fuzz_blocks, fuzz_part_req,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	decoders[data[0] % (sizeof(decoders) / sizeof(decoders[0]))](data + 1, size - 1);
	return 0;
}
