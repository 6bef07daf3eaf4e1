/*
 * node/cons_internal.h — the consensus core's state, shared by its files
 * (cons_core.c the rules, cons_votes.c the vote sets, cons_input.c the
 * checks of what arrives). Nothing outside node/cons_* includes it.
 */
#ifndef FEDLEDGER_NODE_CONS_INTERNAL_H
#define FEDLEDGER_NODE_CONS_INTERNAL_H

#include "node/consensus.h"

/* One (round, type): at most one vote per validator, and the power behind
 * each value voted (nil is the zero hash). Each validator adds one value,
 * so n_values <= twice the set's size (alt below). */
typedef struct {
	uint64_t total; /* power of every vote held, nil included */
	uint32_t n_values;
	fl_hash value[2 * CHAIN_MAX_VALIDATORS];
	uint64_t value_power[2 * CHAIN_MAX_VALIDATORS];
	uint8_t have[CHAIN_MAX_VALIDATORS];
	uint8_t evidenced[CHAIN_MAX_VALIDATORS]; /* alt[] holds a conflicting vote */
	chain_vote vote[CHAIN_MAX_VALIDATORS];
	/* An equivocator's second value: Algorithm 1 counts every message, so
	 * it counts towards that value too (not towards `total`), else a
	 * polka that honest nodes saw with its other vote could never be
	 * confirmed. Two values per validator at most: a third is dropped. */
	chain_vote alt[CHAIN_MAX_VALIDATORS];
} node__cons_voteset;

enum { NODE__VOTE_NEW = 0, NODE__VOTE_DUP = 1, NODE__VOTE_CONFLICT = 2, NODE__VOTE_REPORTED = 3 };

void node__cons_voteset_clear(node__cons_voteset *vs, uint32_t n);
/* What adding v for validator idx would be (no change). */
int node__cons_voteset_lookup(const node__cons_voteset *vs, uint32_t idx, const chain_vote *v);
/* Adds v (lookup said NEW). */
void node__cons_voteset_add(node__cons_voteset *vs, uint32_t idx, uint64_t power,
			    const chain_vote *v);
/* Keeps v as idx's second value (lookup said CONFLICT). */
void node__cons_voteset_add_alt(node__cons_voteset *vs, uint32_t idx, uint64_t power,
				const chain_vote *v);
/* idx's vote for `value` (first or second), or NULL. */
const chain_vote *node__cons_voteset_vote_for(const node__cons_voteset *vs, uint32_t idx,
					      const fl_hash *value);
uint64_t node__cons_voteset_power(const node__cons_voteset *vs, const fl_hash *value);
/* The non-nil value with the most power (0 and untouched *value if none). */
uint64_t node__cons_voteset_best(const node__cons_voteset *vs, fl_hash *value);

typedef struct {
	int used;
	uint32_t round;
	int has_proposal;
	uint64_t proposal_recv_ms;
	node_cons_proposal proposal;
	node__cons_voteset votes[2]; /* [0] prevotes, [1] precommits */
} node__cons_slot;

typedef struct {
	int used;
	fl_hash hash;
	uint64_t time_ms;
	uint8_t content;    /* the node holds it */
	uint8_t requested;  /* REQUEST_BLOCK sent */
	uint8_t validating; /* VALIDATE_BLOCK sent */
	int8_t verdict;     /* 0 unknown, 1 valid, -1 invalid */
	uint64_t stamp;     /* last use, for eviction */
} node__cons_block;

struct node_cons {
	char chain_id[CHAIN_ID_MAX + 1];
	fl_pubkey self;
	node_cons_config cfg;
	node_cons_crypto crypto;

	/* the height */
	uint64_t height;
	node_cons_priority prio0;    /* round 0 of the height */
	node_cons_priority prio_cur; /* advanced to `round` */
	int self_idx;                /* -1: not a validator of this height */

	/* Algorithm 1 */
	uint32_t round;
	uint8_t step;
	int32_t locked_round, valid_round;
	fl_hash locked_value, valid_value;
	fl_hash decided; /* set with STEP_COMMIT */
	uint32_t decided_round;

	/* once-per-round flags ("for the first time") */
	uint8_t prevote_timer, precommit_timer, valid_updated;
	uint8_t build_pending; /* BUILD_BLOCK asked, no answer yet */

	/* round skip: the highest round each validator signed at this height */
	uint8_t seen[CHAIN_MAX_VALIDATORS];
	uint32_t seen_round[CHAIN_MAX_VALIDATORS];

	node__cons_slot slots[NODE_CONS_ROUND_SLOTS];
	node__cons_block blocks[NODE_CONS_MAX_BLOCKS];
	uint64_t clock; /* a counter for block stamps */

	int has_cert; /* a verified COMMIT_CERT of this height */
	chain_commit cert;
	int has_last_commit;
	chain_commit last_commit;
};

/* cons_core.c */
node_cons_action *node__cons_emit(node_cons_actions *out, int kind);
int node__cons_quorum(const node_cons *c, uint64_t power);
node__cons_block *node__cons_block_find(node_cons *c, const fl_hash *hash);
node__cons_block *node__cons_block_get(node_cons *c, const fl_hash *hash);
node__cons_slot *node__cons_slot_find(node_cons *c, uint32_t round);
node__cons_slot *node__cons_slot_get(node_cons *c, uint32_t round);
uint32_t node__cons_proposer(const node_cons *c, uint32_t round);
void node__cons_start_round(node_cons *c, uint32_t round, uint64_t now_ms, node_cons_actions *out);
void node__cons_propose(node_cons *c, const fl_hash *value, uint64_t time_ms, int32_t pol_round,
			uint64_t now_ms, node_cons_actions *out);
void node__cons_progress(node_cons *c, uint64_t now_ms, node_cons_actions *out);
void node__cons_timeout(node_cons *c, const node_cons_timeout *t, uint64_t now_ms,
			node_cons_actions *out);

#endif
