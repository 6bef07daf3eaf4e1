/*
 * node/wire.c — encodings of the node's p2p messages (node/wire.h).
 */
#include "node/wire.h"

#include <assert.h>
#include <string.h>

/* A proposal's encoding: node_cons_proposal_encode's fixed length. */
#define PROPOSAL_LEN (8 + 4 + 8 + FL_HASH_LEN + 8 + FL_PUBKEY_LEN + FL_SIG_LEN)

static int finish(fl_reader *r, int rc)
{
	return rc != 0 ? rc : fl_reader_finish(r);
}

int node_wire_status_encode(fl_writer *w, const node_wire_status *s)
{
	fl_write_u64(w, s->height);
	fl_write_u64(w, s->cons_height);
	fl_write_u32(w, s->cons_round);
	return fl_write_u8(w, s->cons_step);
}

int node_wire_status_decode(node_wire_status *s, const uint8_t *p, size_t n)
{
	fl_reader r;
	int rc;

	memset(s, 0, sizeof(*s));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &s->height);
	fl_read_u64(&r, &s->cons_height);
	fl_read_u32(&r, &s->cons_round);
	fl_read_u8(&r, &s->cons_step);
	if ((rc = fl_reader_finish(&r)) != 0)
		return rc;
	return s->cons_step <= NODE_CONS_STEP_COMMIT ? FL_OK : FL_EINVAL;
}

/* The codec's errors are sticky (core/core.h): a range refused here fails
 * the writer too, so a caller that checks only fl_writer_finish never sends
 * a message cut short. */
static int writer_fail(fl_writer *w, int rc)
{
	if (w->err == FL_OK)
		w->err = rc;
	return w->err;
}

/* u32 block_len, bytes part: shared by proposals and block responses. */
static int write_part(fl_writer *w, const uint8_t *block, uint32_t block_len, size_t part_len)
{
	if (block_len == 0 || block_len > CHAIN_MAX_BLOCK_BYTES || part_len == 0 ||
	    part_len > block_len || part_len > NODE_WIRE_PART_MAX)
		return writer_fail(w, FL_EINVAL);
	fl_write_u32(w, block_len);
	return fl_write_bytes(w, block, part_len, NODE_WIRE_PART_MAX);
}

static int read_part(fl_reader *r, uint32_t *block_len, const uint8_t **part, size_t *part_len)
{
	int rc;

	fl_read_u32(r, block_len);
	if ((rc = fl_read_bytes(r, part, part_len, NODE_WIRE_PART_MAX)) != 0)
		return rc;
	if (*block_len == 0 || *block_len > CHAIN_MAX_BLOCK_BYTES || *part_len == 0 ||
	    *part_len > *block_len)
		return FL_EINVAL;
	return FL_OK;
}

int node_wire_proposal_encode(fl_writer *w, const node_wire_proposal *m)
{
	int rc;

	if ((rc = node_cons_proposal_encode(w, &m->proposal)) != 0)
		return rc;
	return write_part(w, m->part, m->block_len, m->part_len);
}

int node_wire_proposal_decode(node_wire_proposal *m, const uint8_t *p, size_t n)
{
	fl_reader r;
	int rc;

	memset(m, 0, sizeof(*m));
	if (n < PROPOSAL_LEN)
		return FL_ETRUNC;
	if ((rc = node_cons_proposal_decode(&m->proposal, p, PROPOSAL_LEN)) != 0)
		return rc;
	fl_reader_init(&r, p + PROPOSAL_LEN, n - PROPOSAL_LEN);
	return finish(&r, read_part(&r, &m->block_len, &m->part, &m->part_len));
}

int node_wire_vote_encode(fl_writer *w, const chain_vote *v)
{
	return chain_vote_encode(w, v);
}

int node_wire_vote_decode(chain_vote *v, const uint8_t *p, size_t n)
{
	fl_reader r;

	memset(v, 0, sizeof(*v));
	fl_reader_init(&r, p, n);
	return finish(&r, chain_vote_decode(&r, v));
}

int node_wire_blocks_req_encode(fl_writer *w, const node_wire_blocks_req *q)
{
	fl_write_u64(w, q->from);
	return fl_write_u32(w, q->max);
}

int node_wire_blocks_req_decode(node_wire_blocks_req *q, const uint8_t *p, size_t n)
{
	fl_reader r;
	int rc;

	memset(q, 0, sizeof(*q));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &q->from);
	fl_read_u32(&r, &q->max);
	if ((rc = fl_reader_finish(&r)) != 0)
		return rc;
	return q->from >= 1 && q->max >= 1 && q->max <= NODE_WIRE_BLOCKS_MAX ? FL_OK : FL_EINVAL;
}

int node_wire_blocks_item_encode(fl_writer *w, const uint8_t *block, size_t block_len,
				 const chain_commit *c)
{
	size_t part = block_len < NODE_WIRE_PART_MAX ? block_len : NODE_WIRE_PART_MAX;
	int rc;

	if (block_len > CHAIN_MAX_BLOCK_BYTES)
		return writer_fail(w, FL_EINVAL);
	if ((rc = write_part(w, block, (uint32_t)block_len, part)) != 0)
		return rc;
	return chain_commit_encode(w, c);
}

/* A response that failed once keeps failing with the same code: a caller
 * that calls next again must not read a half-read item's bytes as the
 * next one, nor take a truncated response's end for FL_ENOTFOUND. */
static int iter_fail(node_wire_blocks_iter *it, int rc)
{
	it->left = 0;
	if (it->r.err == FL_OK)
		it->r.err = rc;
	return it->r.err;
}

int node_wire_blocks_iter_begin(node_wire_blocks_iter *it, const uint8_t *p, size_t n,
				uint32_t *count)
{
	int rc;

	fl_reader_init(&it->r, p, n);
	it->left = 0;
	if ((rc = fl_read_u32(&it->r, count)) != 0)
		return rc;
	if (*count > NODE_WIRE_BLOCKS_MAX)
		return iter_fail(it, FL_ETOOBIG);
	it->left = *count;
	return FL_OK;
}

int node_wire_blocks_iter_next(node_wire_blocks_iter *it, node_wire_block_item *item)
{
	int rc;

	memset(item, 0, sizeof(*item));
	if (it->r.err != FL_OK)
		return it->r.err;
	if (it->left == 0)
		return fl_reader_remaining(&it->r) == 0 ? FL_ENOTFOUND : FL_ETRAILING;
	it->left--;
	if ((rc = read_part(&it->r, &item->block_len, &item->part, &item->part_len)) != 0 ||
	    (rc = chain_commit_decode(&it->r, &item->commit)) != 0) {
		memset(item, 0, sizeof(*item));
		return iter_fail(it, rc);
	}
	return FL_OK;
}

int node_wire_part_req_encode(fl_writer *w, const node_wire_part_req *q)
{
	fl_write_u8(w, q->by_hash ? 1 : 0);
	if (q->by_hash)
		fl_write_fixed(w, q->hash.b, FL_HASH_LEN);
	else
		fl_write_u64(w, q->height);
	return fl_write_u32(w, q->offset);
}

int node_wire_part_req_decode(node_wire_part_req *q, const uint8_t *p, size_t n)
{
	fl_reader r;
	int rc;

	memset(q, 0, sizeof(*q));
	fl_reader_init(&r, p, n);
	if ((rc = fl_read_u8(&r, &q->by_hash)) != 0)
		return rc;
	if (q->by_hash > 1)
		return FL_EINVAL;
	if (q->by_hash)
		fl_read_fixed(&r, q->hash.b, FL_HASH_LEN);
	else
		fl_read_u64(&r, &q->height);
	fl_read_u32(&r, &q->offset);
	if ((rc = fl_reader_finish(&r)) != 0)
		return rc;
	if (!q->by_hash && q->height == 0)
		return FL_EINVAL;
	return q->offset < CHAIN_MAX_BLOCK_BYTES ? FL_OK : FL_EINVAL;
}
