/*
 * tests/node/test_wire_blocks.c — the blocks response of node/wire.h
 * (docs/node-wire.md, 2.5): 0, 1 and several items (a fixture chain's
 * blocks and commits, read as serve_blocks reads them, and verified as
 * sync verifies them), a block over one part, every bound, every cut and a
 * trailing byte, and an iterator that ends with FL_ENOTFOUND, fails with
 * FL_ETRAILING on extra bytes and stays failed once it failed.
 */
#include "tests/node/wire_helpers.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

/* Suite `wire`, declared in test_wire.c. */

/* A response as node_net.c's serve_blocks writes it: u32 count, items. */
typedef struct {
	fl_writer w;
} response;

static void response_begin(response *r, uint32_t count)
{
	fl_writer_init(&r->w, P2P_MAX_FRAME);
	cr_assert_eq(fl_write_u32(&r->w, count), FL_OK);
}

static void response_add(response *r, const wh_bytes *block, const chain_commit *c)
{
	cr_assert_eq(node_wire_blocks_item_encode(&r->w, block->p, block->n, c), FL_OK);
}

/* Every item of a response, FL_ENOTFOUND after the last and again after
 * that; the items' fields are compared with blocks[] and commits[]. */
static void read_all(const wh_bytes *b, const wh_bytes *blocks, const chain_commit *commits,
		     uint32_t n)
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
static void response_cuts(const wh_bytes *b)
{
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count;
	int rc;

	for (size_t k = 0; k < b->n; k++) {
		uint8_t *c = wh_copy_of(b->p, k, 0);
		rc = node_wire_blocks_iter_begin(&it, c, k, &count);
		if (rc == FL_OK)
			while ((rc = node_wire_blocks_iter_next(&it, &item)) == FL_OK) {
			}
		cr_assert_eq(rc, FL_ETRUNC, "cut at %zu of %zu: %s", k, b->n, fl_strerror(rc));
		if (k >= 4)
			cr_assert_eq(node_wire_blocks_iter_next(&it, &item), FL_ETRUNC);
		fl_free(c);
	}
	uint8_t *c = wh_copy_of(b->p, b->n, 1);
	cr_assert_eq(node_wire_blocks_iter_begin(&it, c, b->n + 1, &count), FL_OK);
	while ((rc = node_wire_blocks_iter_next(&it, &item)) == FL_OK) {
	}
	cr_assert_eq(rc, FL_ETRAILING);
	fl_free(c);
}

Test(wire, blocks_response_empty)
{
	response r;
	wh_bytes b;
	node_wire_blocks_iter it;
	node_wire_block_item item;
	uint32_t count;

	response_begin(&r, 0);
	b = wh_take(&r.w);
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
	wh_bytes block = wh_sample_block(6, &hash), b;
	chain_commit c;
	response r;

	cr_assert_eq(chain_sample_commit(&c, 6, &hash, 3), FL_OK);
	response_begin(&r, 1);
	response_add(&r, &block, &c);
	b = wh_take(&r.w);
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
	wh_bytes blocks[N];
	chain_commit commits[N];
	response r;
	wh_bytes b;

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
	b = wh_take(&r.w);
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
	wh_bytes block = wh_big_block(), b;
	chain_commit c;
	fl_hash hash = {{7}};
	response r;

	cr_assert_eq(chain_sample_commit(&c, 5, &hash, 2), FL_OK);
	response_begin(&r, 1);
	response_add(&r, &block, &c);
	b = wh_take(&r.w);
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
		wh_bytes good = {block, sizeof(block)}, b;
		fl_writer_init(&w, 0);
		fl_write_u32(&w, 2);
		fl_write_u32(&w, cases[i].block_len);
		fl_write_bytes(&w, block, cases[i].part_len, SIZE_MAX);
		cr_assert_eq(chain_commit_encode(&w, &c), FL_OK);
		cr_assert_eq(node_wire_blocks_item_encode(&w, good.p, good.n, &c), FL_OK);
		b = wh_take(&w);
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
	wh_bytes b;

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
	b = wh_take(&w);
	cr_assert_eq(node_wire_blocks_iter_begin(&it, b.p, b.n, &count), FL_OK);
	int rc = node_wire_blocks_iter_next(&it, &item);
	cr_assert_neq(rc, FL_OK);
	cr_assert_neq(rc, FL_ENOTFOUND);
	cr_assert_eq(node_wire_blocks_iter_next(&it, &item), rc);
	fl_free(b.p);
}
