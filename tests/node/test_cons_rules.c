/*
 * tests/node/test_cons_rules.c — each rule of Algorithm 1 (arXiv
 * 1807.04938) driven through events on one core (validator 3 of four with
 * power 1: > 2/3 is 3 votes, > 1/3 is 2), the test playing the others.
 * Proposers of height 1: round 0 -> 0, 1 -> 1, 2 -> 2, 3 -> 3.
 */
#include "tests/node/cons_single.h"

#include <criterion/criterion.h>
#include <string.h>

static cs_fixture f;
static fl_hash A, B;
static const fl_hash nil;

static void open4(void)
{
	A = ct_hash("block A");
	B = ct_hash("block B");
	cs_open(&f, 4, NULL, 3, NULL);
}

static void close4(void)
{
	cs_close(&f);
}

TestSuite(cons_rules, .init = open4, .fini = close4);

/* A valid proposal of the round with its block held and judged. */
static void proposal_with_block(uint32_t round, int32_t pol, const fl_hash *v, int valid)
{
	cr_assert_eq(cs_feed_proposal(&f, round, pol, v, CS_NOW), 0);
	cr_assert_eq(cs_feed_block(&f, v), 0);
	cr_assert_eq(cs_feed_verdict(&f, v, valid), 0);
}

static void expect_vote(uint8_t type, const fl_hash *value)
{
	const chain_vote *v = cs_own_vote(&f, type);

	cr_assert_not_null(v, "no %s", type == CHAIN_VOTE_PREVOTE ? "prevote" : "precommit");
	cr_assert_eq(fl_hash_cmp(&v->block_hash, value), 0);
	cr_assert_eq(ct_verify_vote(NULL, v), 0);
}

/* Round 0 locked on A: the others prevote A, we precommit it. */
static void lock_a_round0(void)
{
	proposal_with_block(0, -1, &A, 1);
	expect_vote(CHAIN_VOTE_PREVOTE, &A);
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PREVOTE, 0, &A), 0);
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PREVOTE, 0, &A), 0);
	expect_vote(CHAIN_VOTE_PRECOMMIT, &A);
}

Test(cons_rules, start_schedules_propose_timeout)
{
	cr_assert_eq(cs_proposer(&f, 0), 0);
	cr_assert_eq(cs_proposer(&f, 3), 3);
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PREVOTE), 0);
	cr_assert_eq(f.out.n, 0, "a prevote timeout in the propose step is stale");
	node_cons_status s = cs_status(&f);
	cr_assert_eq(s.height, 1);
	cr_assert_eq(s.step, NODE_CONS_STEP_PROPOSE);
	cr_assert_eq(s.locked_round, -1);
}

Test(cons_rules, prevote_for_valid_proposal_after_verdict)
{
	cr_assert_eq(cs_feed_proposal(&f, 0, -1, &A, CS_NOW), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_REQUEST_BLOCK, 0));
	cr_assert_eq(cs_feed_block(&f, &A), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_VALIDATE_BLOCK, 0));
	cr_assert_null(cs_own_vote(&f, CHAIN_VOTE_PREVOTE), "no prevote before the verdict");
	cr_assert_eq(cs_feed_verdict(&f, &A, 1), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &A);
	cr_assert_eq(cs_status(&f).step, NODE_CONS_STEP_PREVOTE);
}

Test(cons_rules, prevote_nil_on_invalid_block)
{
	proposal_with_block(0, -1, &A, 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &nil);
}

Test(cons_rules, prevote_nil_on_propose_timeout)
{
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PROPOSE), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &nil);
	/* A proposal arriving after that changes nothing. */
	cr_assert_eq(cs_feed_proposal(&f, 0, -1, &A, CS_NOW), 0);
	cr_assert_null(cs_own_vote(&f, CHAIN_VOTE_PREVOTE));
}

Test(cons_rules, proposal_from_wrong_proposer_refused)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_PROPOSAL;
	ev.now_ms = CS_NOW;
	ev.u.proposal = cs_proposal(2, 0, -1, &A, CS_NOW);
	cr_assert_eq(cs_feed(&f, &ev), FL_EPERM);
	ev.u.proposal = cs_proposal(0, 0, -1, &A, CS_NOW);
	ev.u.proposal.sig.b[5] ^= 1;
	cr_assert_eq(cs_feed(&f, &ev), FL_ESIG);
	ev.u.proposal = cs_proposal(0, 0, 0, &A, CS_NOW);
	cr_assert_eq(cs_feed(&f, &ev), FL_EINVAL, "pol_round must be below round");
	ev.u.proposal = cs_proposal(0, 0, -1, &A, CS_NOW);
	cr_assert_eq(cs_feed(&f, &ev), 0);
	ev.u.proposal = cs_proposal(0, 0, -1, &B, CS_NOW);
	cr_assert_eq(cs_feed(&f, &ev), FL_EDUP, "a second proposal for the round");
}

Test(cons_rules, lock_on_polka_and_prevote_timer)
{
	proposal_with_block(0, -1, &A, 1);
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PREVOTE, 0, &A), 0);
	cr_assert_null(cs_own_vote(&f, CHAIN_VOTE_PRECOMMIT), "two of four is no polka");
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PREVOTE, 0, &A), 0);
	expect_vote(CHAIN_VOTE_PRECOMMIT, &A);
	node_cons_status s = cs_status(&f);
	cr_assert_eq(s.locked_round, 0);
	cr_assert_eq(s.valid_round, 0);
	cr_assert_eq(fl_hash_cmp(&s.locked_value, &A), 0);
	/* Line 34: > 2/3 prevotes of any kind in the prevote step. */
	const node_cons_action *t = cs_find(&f, NODE_CONS_ACT_SCHEDULE_TIMEOUT, 0);
	cr_assert_not_null(t);
	cr_assert_eq(t->u.timeout.t.step, NODE_CONS_STEP_PREVOTE);
	cr_assert_eq(t->u.timeout.ms, 1000);
}

Test(cons_rules, locked_validator_prevotes_nil_for_another_value)
{
	lock_a_round0();
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_status(&f).round, 1);
	proposal_with_block(1, -1, &B, 1);
	expect_vote(CHAIN_VOTE_PREVOTE, &nil);
	/* The lock holds with no POL for B: still A at round 0. */
	cr_assert_eq(cs_status(&f).locked_round, 0);
}

Test(cons_rules, locked_validator_prevotes_its_value_again)
{
	lock_a_round0();
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_feed_proposal(&f, 1, -1, &A, CS_NOW), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &A);
}

/* Locked on A at round 0, then B gets a polka at round 1 after we
 * precommitted nil there: B is the valid value (line 36 from the
 * precommit step, no lock), and a round-2 proposal of B with pol_round 1
 * unlocks us (line 28: lockedRound 0 <= vr 1). */
Test(cons_rules, unlock_on_higher_pol)
{
	lock_a_round0();
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_feed_timeout(&f, 1, NODE_CONS_STEP_PROPOSE), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &nil);
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PREVOTE, 1, &B), 0);
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PREVOTE, 1, &B), 0);
	cr_assert_eq(cs_feed_timeout(&f, 1, NODE_CONS_STEP_PREVOTE), 0);
	expect_vote(CHAIN_VOTE_PRECOMMIT, &nil);
	cr_assert_eq(cs_feed_vote(&f, 2, CHAIN_VOTE_PREVOTE, 1, &B), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_REQUEST_BLOCK, 0));
	cr_assert_eq(cs_feed_block(&f, &B), 0);
	cr_assert_eq(cs_feed_verdict(&f, &B, 1), 0);
	node_cons_status s = cs_status(&f);
	cr_assert_eq(s.valid_round, 1);
	cr_assert_eq(fl_hash_cmp(&s.valid_value, &B), 0);
	cr_assert_eq(s.locked_round, 0, "no lock from the precommit step");

	cr_assert_eq(cs_feed_timeout(&f, 1, NODE_CONS_STEP_PRECOMMIT), 0);
	/* Received long after the block's time: a POL proposal is exempt. */
	node_cons_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_PROPOSAL;
	ev.now_ms = CS_NOW + 100000;
	ev.u.proposal = cs_proposal(cs_proposer(&f, 2), 2, 1, &B, CS_NOW);
	cr_assert_eq(cs_feed(&f, &ev), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &B);
}

Test(cons_rules, pol_proposal_without_polka_waits)
{
	lock_a_round0();
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_feed_block(&f, &B), 0);
	cr_assert_eq(cs_feed_proposal(&f, 1, 0, &B, CS_NOW), 0);
	cr_assert_null(cs_own_vote(&f, CHAIN_VOTE_PREVOTE), "no polka for B at round 0");
	cr_assert_eq(cs_feed_timeout(&f, 1, NODE_CONS_STEP_PROPOSE), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &nil);
}

Test(cons_rules, precommit_nil_on_prevote_timeout)
{
	proposal_with_block(0, -1, &A, 1);
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PREVOTE, 0, &A), 0);
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PREVOTE, 0, NULL), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_SCHEDULE_TIMEOUT, 0));
	cr_assert_null(cs_own_vote(&f, CHAIN_VOTE_PRECOMMIT));
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PREVOTE), 0);
	expect_vote(CHAIN_VOTE_PRECOMMIT, &nil);
	cr_assert_eq(cs_status(&f).locked_round, -1);
}

Test(cons_rules, precommit_nil_on_nil_polka)
{
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PROPOSE), 0);
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PREVOTE, 0, NULL), 0);
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PREVOTE, 0, NULL), 0);
	expect_vote(CHAIN_VOTE_PRECOMMIT, &nil);
}

Test(cons_rules, precommit_timeout_starts_next_round)
{
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PRECOMMIT, 0, NULL), 0);
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PRECOMMIT, 0, NULL), 0);
	cr_assert_eq(f.out.n, 0);
	cr_assert_eq(cs_feed_vote(&f, 2, CHAIN_VOTE_PRECOMMIT, 0, NULL), 0);
	const node_cons_action *t = cs_find(&f, NODE_CONS_ACT_SCHEDULE_TIMEOUT, 0);
	cr_assert_not_null(t, "line 47: > 2/3 precommits of any kind");
	cr_assert_eq(t->u.timeout.t.step, NODE_CONS_STEP_PRECOMMIT);
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_status(&f).round, 1);
	t = cs_find(&f, NODE_CONS_ACT_SCHEDULE_TIMEOUT, 0);
	cr_assert_not_null(t);
	cr_assert_eq(t->u.timeout.t.step, NODE_CONS_STEP_PROPOSE);
	cr_assert_eq(t->u.timeout.ms, 1000 + 100, "timeout_propose + round * delta");
	/* The old round's timeouts are stale now. */
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PROPOSE), 0);
	cr_assert_eq(f.out.n, 0);
	cr_assert_eq(cs_status(&f).step, NODE_CONS_STEP_PROPOSE);
}

Test(cons_rules, commit_on_precommits_of_an_earlier_round)
{
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PROPOSE), 0);
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_feed_timeout(&f, 1, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_status(&f).round, 2);
	/* Late precommits of round 0 for A, from 0, 1 and 2. */
	for (uint32_t who = 0; who < 3; who++)
		cr_assert_eq(cs_feed_vote(&f, who, CHAIN_VOTE_PRECOMMIT, 0, &A), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_REQUEST_BLOCK, 0));
	cr_assert_eq(cs_feed_block(&f, &A), 0);
	cr_assert_null(cs_find(&f, NODE_CONS_ACT_COMMIT, 0), "not before the verdict");
	cr_assert_eq(cs_feed_verdict(&f, &A, 1), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_COMMIT, 0));
	const chain_commit *cm = &f.out.commit;
	cr_assert_eq(cm->height, 1);
	cr_assert_eq(cm->round, 0);
	cr_assert_eq(fl_hash_cmp(&cm->block_hash, &A), 0);
	cr_assert_eq(cm->n_sigs, 3);
	for (uint32_t i = 0; i < cm->n_sigs; i++) {
		chain_vote v;
		node_cons_commit_vote(&v, cm, i);
		cr_assert_eq(ct_index(&v.validator), (int)i, "sorted by validator");
		cr_assert_eq(ct_verify_vote(NULL, &v), 0);
	}
	cr_assert_eq(cs_status(&f).step, NODE_CONS_STEP_COMMIT);
	cr_assert_eq(cs_feed_vote(&f, 3, CHAIN_VOTE_PREVOTE, 2, &A), FL_ESTATE);
	cr_assert_not_null(node_cons_last_commit(f.core));
}

Test(cons_rules, no_commit_of_invalid_block)
{
	for (uint32_t who = 0; who < 3; who++)
		cr_assert_eq(cs_feed_vote(&f, who, CHAIN_VOTE_PRECOMMIT, 0, &A), 0);
	cr_assert_eq(cs_feed_block(&f, &A), 0);
	cr_assert_eq(cs_feed_verdict(&f, &A, 0), 0);
	cr_assert_null(cs_find(&f, NODE_CONS_ACT_COMMIT, 0));
	cr_assert_neq(cs_status(&f).step, NODE_CONS_STEP_COMMIT);
}

Test(cons_rules, round_skip_on_f_plus_1)
{
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PREVOTE, 5, NULL), 0);
	cr_assert_eq(cs_status(&f).round, 0, "one validator (1/4) is not > 1/3");
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PRECOMMIT, 7, NULL), 0);
	/* Both are at round 5 or later: skip to 5, the highest both reached. */
	cr_assert_eq(cs_status(&f).round, 5);
	const node_cons_action *t = cs_find(&f, NODE_CONS_ACT_SCHEDULE_TIMEOUT, 0);
	cr_assert_not_null(t);
	cr_assert_eq(t->u.timeout.t.round, 5);
	cr_assert_eq(t->u.timeout.ms, 1000 + 5 * 100);
}

Test(cons_rules, round_skip_on_near_round_votes)
{
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PREVOTE, 1, &A), 0);
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PREVOTE, 1, &A), 0);
	cr_assert_eq(cs_status(&f).round, 1);
	/* The votes of round 1 were kept: one more makes a polka there. */
	cr_assert_eq(cs_feed_proposal(&f, 1, -1, &A, CS_NOW), 0);
	cr_assert_eq(cs_feed_block(&f, &A), 0);
	cr_assert_eq(cs_feed_verdict(&f, &A, 1), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &A);
	expect_vote(CHAIN_VOTE_PRECOMMIT, &A);
}

Test(cons_rules, pbts_prevote_nil_for_untimely_proposal)
{
	/* precision 500, delay 200: the window is [now - 700, now + 500]. */
	cr_assert_eq(cs_feed_block(&f, &A), 0);
	cr_assert_eq(cs_feed_proposal(&f, 0, -1, &A, CS_NOW - 701), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_VALIDATE_BLOCK, 0));
	cr_assert_eq(cs_feed_verdict(&f, &A, 1), 0);
	/* The block's time (CS_NOW) is not the proposal's: nil either way. */
	expect_vote(CHAIN_VOTE_PREVOTE, &nil);
}

/* The block's own time is what PBTS judges: blocks at the window's edges. */
static void pbts_case(int64_t offset, int timely)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_BLOCK;
	ev.now_ms = CS_NOW;
	ev.u.block.hash = A;
	ev.u.block.time_ms = (uint64_t)((int64_t)CS_NOW + offset);
	cr_assert_eq(cs_feed(&f, &ev), 0);
	cr_assert_eq(cs_feed_proposal(&f, 0, -1, &A, ev.u.block.time_ms), 0);
	cr_assert_eq(cs_feed_verdict(&f, &A, 1), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, timely ? &A : &nil);
}

Test(cons_rules, pbts_too_old)
{
	pbts_case(-701, 0);
}
Test(cons_rules, pbts_oldest_timely)
{
	pbts_case(-700, 1);
}
Test(cons_rules, pbts_newest_timely)
{
	pbts_case(500, 1);
}
Test(cons_rules, pbts_too_new)
{
	pbts_case(501, 0);
}

Test(cons_rules, refused_signature_sends_nothing_but_steps)
{
	f.refuse_sign = 1;
	cr_assert_eq(cs_feed_timeout(&f, 0, NODE_CONS_STEP_PROPOSE), 0);
	cr_assert_null(cs_own_vote(&f, CHAIN_VOTE_PREVOTE));
	cr_assert_eq(f.out.sign_rc, FL_EPERM);
	cr_assert_eq(cs_status(&f).step, NODE_CONS_STEP_PREVOTE);
}

Test(cons_rules, proposer_builds_and_reproposes_valid_value)
{
	cs_close(&f);
	cs_open(&f, 4, NULL, 0, NULL); /* validator 0 proposes round 0 */
	const node_cons_action *b = cs_find(&f, NODE_CONS_ACT_BUILD_BLOCK, 0);
	cr_assert_not_null(b);
	cr_assert_eq(b->u.build.round, 0);
	node_cons_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_BUILT_BLOCK;
	ev.now_ms = CS_NOW;
	ev.u.block.hash = A;
	ev.u.block.time_ms = CS_NOW;
	ev.u.block.height = 1;
	ev.u.block.round = 0;
	cr_assert_eq(cs_feed(&f, &ev), 0);
	const node_cons_action *p = cs_find(&f, NODE_CONS_ACT_BROADCAST_PROPOSAL, 0);
	cr_assert_not_null(p);
	cr_assert_eq(p->u.proposal.pol_round, -1);
	cr_assert_eq(ct_verify_proposal(NULL, &p->u.proposal), 0);
	expect_vote(CHAIN_VOTE_PREVOTE, &A);
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PREVOTE, 0, &A), 0);
	cr_assert_eq(cs_feed_vote(&f, 2, CHAIN_VOTE_PREVOTE, 0, &A), 0);
	expect_vote(CHAIN_VOTE_PRECOMMIT, &A);
	/* Rounds 1, 2, 3 pass; validator 0 proposes again at round 4 and
	 * re-proposes its valid value with its POL round and block time. */
	for (uint32_t r = 0; r < 4; r++)
		cr_assert_eq(cs_feed_timeout(&f, r, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_proposer(&f, 4), 0);
	p = cs_find(&f, NODE_CONS_ACT_BROADCAST_PROPOSAL, 0);
	cr_assert_not_null(p);
	cr_assert_eq(p->u.proposal.round, 4);
	cr_assert_eq(p->u.proposal.pol_round, 0);
	cr_assert_eq(fl_hash_cmp(&p->u.proposal.block_hash, &A), 0);
	cr_assert_eq(p->u.proposal.time_ms, CS_NOW);
	cr_assert_null(cs_find(&f, NODE_CONS_ACT_BUILD_BLOCK, 0));
}

Test(cons_rules, commit_cert_decides)
{
	chain_commit cm;
	node_cons_event ev;

	memset(&cm, 0, sizeof(cm));
	cm.height = 1;
	cm.round = 3;
	cm.block_hash = A;
	for (uint32_t who = 0; who < 3; who++) {
		chain_vote v = cs_vote(who, CHAIN_VOTE_PRECOMMIT, 3, &A);
		cm.sigs[cm.n_sigs].validator = v.validator;
		cm.sigs[cm.n_sigs++].sig = v.sig;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_COMMIT_CERT;
	ev.now_ms = CS_NOW;
	ev.u.cert = &cm;
	cm.n_sigs = 2;
	cr_assert_eq(cs_feed(&f, &ev), FL_EPERM, "2 of 4 is not > 2/3");
	cm.n_sigs = 3;
	cm.sigs[1].sig.b[0] ^= 1;
	cr_assert_eq(cs_feed(&f, &ev), FL_ESIG);
	cm.sigs[1].sig.b[0] ^= 1;
	chain_commit swapped = cm;
	swapped.sigs[0] = cm.sigs[1];
	swapped.sigs[1] = cm.sigs[0];
	ev.u.cert = &swapped;
	cr_assert_eq(cs_feed(&f, &ev), FL_EINVAL, "not sorted");
	ev.u.cert = &cm;
	cr_assert_eq(cs_feed(&f, &ev), 0);
	cr_assert_eq(cs_feed_block(&f, &A), 0);
	cr_assert_eq(cs_feed_verdict(&f, &A, 1), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_COMMIT, 0));
	cr_assert_eq(f.out.commit.round, 3);
	cr_assert_eq(f.out.commit.n_sigs, 3);
}

Test(cons_rules, resume_rearms_what_is_pending)
{
	node_cons_actions out;

	cr_assert_eq(cs_feed_proposal(&f, 0, -1, &A, CS_NOW), 0);
	node_cons_resume(f.core, NODE_CONS_RESUME_ALL, &out);
	uint32_t timers = 0, requests = 0;
	for (uint32_t i = 0; i < out.n; i++) {
		timers += out.a[i].kind == NODE_CONS_ACT_SCHEDULE_TIMEOUT;
		requests += out.a[i].kind == NODE_CONS_ACT_REQUEST_BLOCK;
	}
	cr_assert_eq(timers, 1, "the propose timeout");
	cr_assert_eq(requests, 1, "the proposal's block");
}

/* Far rounds are reached NODE_CONS_MAX_SKIP at a time, one skip an event:
 * the work of computing a far round's proposer is bounded per event. */
Test(cons_rules, round_skip_is_capped_per_event)
{
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PREVOTE, 2500, NULL), 0);
	cr_assert_eq(cs_feed_vote(&f, 1, CHAIN_VOTE_PREVOTE, 2500, NULL), 0);
	cr_assert_eq(cs_status(&f).round, NODE_CONS_MAX_SKIP);
	cr_assert_eq(cs_feed_vote(&f, 2, CHAIN_VOTE_PREVOTE, 2500, NULL), 0);
	cr_assert_eq(cs_status(&f).round, 2 * NODE_CONS_MAX_SKIP);
	cr_assert_eq(cs_feed_timeout(&f, 2 * NODE_CONS_MAX_SKIP, NODE_CONS_STEP_PROPOSE), 0);
	cr_assert_eq(cs_status(&f).round, 2500);
}
