/*
 * tests/node/cons_single.h — one consensus core driven by hand: the test
 * plays every other validator (test keys, cons_testkit.h) and reads the
 * actions of each event. Height 1, validators 0..n-1; the core is `self`.
 */
#ifndef FEDLEDGER_TESTS_CONS_SINGLE_H
#define FEDLEDGER_TESTS_CONS_SINGLE_H

#include "tests/node/cons_testkit.h"

#define CS_NOW 1000000u /* the test's clock, ms */

typedef struct {
	uint32_t n, self;
	node_cons_config cfg;
	node_cons_priority prio;
	node_cons *core;
	node_cons_actions out;
	int refuse_sign; /* the signer says no */
	uint32_t signed_votes;
} cs_fixture;

/* Timeouts 1000/1000/1000 + 100 a round, PBTS precision 500, delay 200. */
void cs_default_config(node_cons_config *cfg);
/* Opens the core (cfg NULL = default) and starts height 1 at CS_NOW. */
void cs_open(cs_fixture *f, uint32_t n, const uint64_t *powers, uint32_t self,
	     const node_cons_config *cfg);
void cs_close(cs_fixture *f);

chain_vote cs_vote(uint32_t who, uint8_t type, uint32_t round, const fl_hash *value);
node_cons_proposal cs_proposal(uint32_t who, uint32_t round, int32_t pol, const fl_hash *value,
			       uint64_t time_ms);

int cs_feed_vote(cs_fixture *f, uint32_t who, uint8_t type, uint32_t round, const fl_hash *value);
int cs_feed_proposal(cs_fixture *f, uint32_t round, int32_t pol, const fl_hash *value,
		     uint64_t time_ms);
/* The block is held (time CS_NOW) and valid (or not). */
int cs_feed_block(cs_fixture *f, const fl_hash *value);
int cs_feed_verdict(cs_fixture *f, const fl_hash *value, int valid);
int cs_feed_timeout(cs_fixture *f, uint32_t round, uint8_t step);
int cs_feed(cs_fixture *f, const node_cons_event *ev);

/* The proposer of (height 1, round). */
uint32_t cs_proposer(const cs_fixture *f, uint32_t round);
/* The nth action of `kind` in the last call's output, or NULL. */
const node_cons_action *cs_find(const cs_fixture *f, int kind, uint32_t nth);
uint32_t cs_count(const cs_fixture *f, int kind);
/* The core's own vote of `type` in the last output, or NULL. */
const chain_vote *cs_own_vote(const cs_fixture *f, uint8_t type);
node_cons_status cs_status(const cs_fixture *f);

#endif
