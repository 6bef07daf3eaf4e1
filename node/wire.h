/*
 * node/wire.h — what fedledgerd nodes say to each other over p2p/ (docs/node-wire.md):
 * application message types, gossip topics and request kinds, and their
 * encodings in the canonical codec. Every decoder checks every bound and
 * refuses trailing bytes; tests/fuzz/fuzz_node_wire.c feeds them junk.
 *
 * A block travels whole when it fits in one frame; a larger one travels as
 * its first part (NODE_WIRE_PART_MAX bytes) and the rest is fetched part by
 * part with NODE_REQ_BLOCK_PART from any peer that holds it.
 */
#ifndef FEDLEDGER_NODE_WIRE_H
#define FEDLEDGER_NODE_WIRE_H

#include "chain/chain.h"
#include "node/consensus.h"
#include "p2p/p2p.h"

/* Direct messages (p2p_send), never forwarded. */
enum {
	NODE_MSG_STATUS = P2P_TYPE_APP + 0,   /* node_wire_status */
	NODE_MSG_PROPOSAL = P2P_TYPE_APP + 1, /* node_wire_proposal: a re-send */
	NODE_MSG_VOTE = P2P_TYPE_APP + 2,     /* chain_vote: a re-send */
	NODE_MSG_TX = P2P_TYPE_APP + 3,       /* a tx's canonical encoding: an own tx re-sent */
};

/* Gossip topics (p2p_broadcast: forwarded once per link). */
enum {
	NODE_TOPIC_TX = 1,       /* a tx's canonical encoding */
	NODE_TOPIC_PROPOSAL = 2, /* node_wire_proposal */
	NODE_TOPIC_VOTE = 3,     /* chain_vote */
};

/* Request kinds (p2p_request). */
enum {
	NODE_REQ_BLOCKS = 1,     /* node_wire_blocks_req -> a blocks response */
	NODE_REQ_BLOCK_PART = 2, /* node_wire_part_req -> raw bytes of a block */
};

/* The block bytes one message carries at most, leaving room in a frame
 * for the proposal or the commit around them. */
#define NODE_WIRE_PART_MAX (768u * 1024)
/* Blocks one response carries at most, and the bytes of them. */
#define NODE_WIRE_BLOCKS_MAX       64u
#define NODE_WIRE_BLOCKS_BYTES_MAX (900u * 1024)

typedef struct {
	uint64_t height;      /* the last block this node committed */
	uint64_t cons_height; /* the height its consensus works on */
	uint32_t cons_round;
	uint8_t cons_step;
} node_wire_status;

int node_wire_status_encode(fl_writer *w, const node_wire_status *s) FL_MUST_CHECK;
int node_wire_status_decode(node_wire_status *s, const uint8_t *p, size_t n) FL_MUST_CHECK;

/* A proposal and its block (or the block's first part): block_len is the
 * whole encoding's length, part its first part_len bytes (part_len ==
 * block_len when it is all there). Decoded pointers point into the input. */
typedef struct {
	node_cons_proposal proposal;
	uint32_t block_len; /* 1..CHAIN_MAX_BLOCK_BYTES */
	const uint8_t *part;
	size_t part_len; /* 1..min(block_len, NODE_WIRE_PART_MAX) */
} node_wire_proposal;

int node_wire_proposal_encode(fl_writer *w, const node_wire_proposal *m) FL_MUST_CHECK;
int node_wire_proposal_decode(node_wire_proposal *m, const uint8_t *p, size_t n) FL_MUST_CHECK;

int node_wire_vote_encode(fl_writer *w, const chain_vote *v) FL_MUST_CHECK;
int node_wire_vote_decode(chain_vote *v, const uint8_t *p, size_t n) FL_MUST_CHECK;

/* Committed blocks from `from` (>= 1), at most `max` (1..NODE_WIRE_BLOCKS_MAX). */
typedef struct {
	uint64_t from;
	uint32_t max;
} node_wire_blocks_req;

int node_wire_blocks_req_encode(fl_writer *w, const node_wire_blocks_req *q) FL_MUST_CHECK;
int node_wire_blocks_req_decode(node_wire_blocks_req *q, const uint8_t *p, size_t n) FL_MUST_CHECK;

/*
 * The response: u32 count (0..NODE_WIRE_BLOCKS_MAX), then per block u32
 * block_len, bytes part (as in a proposal) and the commit that finalised it.
 * Blocks are consecutive heights from the request's `from`. Written with
 * begin / add / finish, read with an iterator.
 */
typedef struct {
	uint32_t block_len;
	const uint8_t *part;
	size_t part_len;
	chain_commit commit;
} node_wire_block_item;

int node_wire_blocks_item_encode(fl_writer *w, const uint8_t *block, size_t block_len,
				 const chain_commit *c) FL_MUST_CHECK;
typedef struct {
	fl_reader r;
	uint32_t left;
} node_wire_blocks_iter;
/* FL_OK and *count, or a decode error. */
int node_wire_blocks_iter_begin(node_wire_blocks_iter *it, const uint8_t *p, size_t n,
				uint32_t *count) FL_MUST_CHECK;
/* FL_OK and the next item; FL_ENOTFOUND after the last one, when the
 * input must also have ended (else FL_ETRAILING); a decode error. Once it
 * failed (begin too), every later call returns the same code. */
int node_wire_blocks_iter_next(node_wire_blocks_iter *it, node_wire_block_item *item) FL_MUST_CHECK;

/* Part of a block from offset, by height (committed) or by hash (a
 * proposal's block, or a committed one). */
typedef struct {
	uint8_t by_hash;
	uint64_t height;
	fl_hash hash;
	uint32_t offset; /* < CHAIN_MAX_BLOCK_BYTES */
} node_wire_part_req;

int node_wire_part_req_encode(fl_writer *w, const node_wire_part_req *q) FL_MUST_CHECK;
int node_wire_part_req_decode(node_wire_part_req *q, const uint8_t *p, size_t n) FL_MUST_CHECK;

#endif
