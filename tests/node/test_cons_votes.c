/*
 * tests/node/test_cons_votes.c — what the core does with votes it is
 * sent: duplicates ignored, a conflicting vote turned into evidence once,
 * strangers, bad signatures and other heights refused with their codes,
 * and rounds far ahead kept to one number per validator.
 */
#include "tests/node/cons_single.h"

#include <criterion/criterion.h>
#include <string.h>

static cs_fixture f;
static fl_hash A, B;

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

TestSuite(cons_votes, .init = open4, .fini = close4);

static int feed_vote(const chain_vote *v)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_VOTE;
	ev.now_ms = CS_NOW;
	ev.u.vote = *v;
	return cs_feed(&f, &ev);
}

Test(cons_votes, duplicate_ignored)
{
	chain_vote v = cs_vote(0, CHAIN_VOTE_PREVOTE, 0, &A);

	cr_assert_eq(feed_vote(&v), 0);
	cr_assert_eq(feed_vote(&v), FL_EDUP);
	cr_assert_eq(f.out.n, 0);
}

Test(cons_votes, conflict_becomes_evidence_once)
{
	chain_vote a = cs_vote(1, CHAIN_VOTE_PRECOMMIT, 0, &A);
	chain_vote b = cs_vote(1, CHAIN_VOTE_PRECOMMIT, 0, &B);
	chain_vote c = cs_vote(1, CHAIN_VOTE_PRECOMMIT, 0, NULL);

	cr_assert_eq(feed_vote(&a), 0);
	cr_assert_eq(feed_vote(&b), 0);
	const node_cons_action *e = cs_find(&f, NODE_CONS_ACT_EVIDENCE, 0);
	cr_assert_not_null(e);
	cr_assert_eq(memcmp(&e->u.evidence.a, &a, sizeof(a)), 0);
	cr_assert_eq(memcmp(&e->u.evidence.b, &b, sizeof(b)), 0);
	cr_assert_eq(feed_vote(&c), FL_EDUP, "one report per validator and round");
	/* Both values count (Algorithm 1 counts messages): two more for A make > 2/3. */
	cr_assert_eq(cs_feed_vote(&f, 0, CHAIN_VOTE_PRECOMMIT, 0, &A), 0);
	cr_assert_eq(cs_feed_vote(&f, 2, CHAIN_VOTE_PRECOMMIT, 0, &A), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_REQUEST_BLOCK, 0));
}

Test(cons_votes, conflict_with_bad_signature_is_no_evidence)
{
	chain_vote a = cs_vote(1, CHAIN_VOTE_PREVOTE, 0, &A);
	chain_vote b = cs_vote(1, CHAIN_VOTE_PREVOTE, 0, &B);

	cr_assert_eq(feed_vote(&a), 0);
	b.sig.b[63] ^= 1;
	cr_assert_eq(feed_vote(&b), FL_ESIG);
	cr_assert_eq(f.out.n, 0);
}

Test(cons_votes, refusals)
{
	chain_vote v = cs_vote(0, CHAIN_VOTE_PREVOTE, 0, &A);

	v.sig.b[0] ^= 1;
	cr_assert_eq(feed_vote(&v), FL_ESIG);
	v = cs_vote(9, CHAIN_VOTE_PREVOTE, 0, &A);
	cr_assert_eq(feed_vote(&v), FL_EPERM, "not a validator of the height");
	v = cs_vote(0, CHAIN_VOTE_PREVOTE, 0, &A);
	v.height = 2;
	ct_sign_vote(&v);
	cr_assert_eq(feed_vote(&v), FL_ECHAIN);
	v = cs_vote(0, 7, 0, &A);
	cr_assert_eq(feed_vote(&v), FL_EINVAL);
	memset(&v, 0, sizeof(v));
	v.height = 1;
	cr_assert_eq(feed_vote(&v), FL_EINVAL);
}

Test(cons_votes, before_start_refused)
{
	node_cons *c;
	node_cons_config cfg;
	node_cons_crypto crypto = {NULL, NULL, NULL, ct_verify_vote, ct_verify_proposal};
	node_cons_event ev;
	fl_pubkey pk;

	cs_default_config(&cfg);
	crypto.sign_vote = (int (*)(void *, chain_vote *))ct_verify_vote;
	crypto.sign_proposal = (int (*)(void *, node_cons_proposal *))ct_verify_proposal;
	ct_pubkey(&pk, 0);
	cr_assert_eq(node_cons_new(&c, "Bad Id", &pk, &cfg, &crypto), FL_EINVAL);
	cr_assert_eq(node_cons_new(&c, "cons-test", &pk, &cfg, &crypto), 0);
	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_VOTE;
	ev.u.vote = cs_vote(0, CHAIN_VOTE_PREVOTE, 0, &A);
	cr_assert_eq(node_cons_on_event(c, &ev, &f.out), FL_ESTATE);
	ev.kind = 99;
	cr_assert_eq(node_cons_on_event(c, &ev, &f.out), FL_EINVAL);
	node_cons_free(c);
}

/* A Byzantine validator signing every round up to 10^6 leaves one number
 * behind (its highest round) and no skip: one validator is not > 1/3. */
Test(cons_votes, far_rounds_bounded)
{
	for (uint32_t r = 3; r < 1000000; r += 997) {
		chain_vote v = cs_vote(0, CHAIN_VOTE_PREVOTE, r, &A);
		cr_assert_eq(feed_vote(&v), 0);
		cr_assert_eq(f.out.n, 0);
	}
	chain_vote low = cs_vote(0, CHAIN_VOTE_PRECOMMIT, 50, &A);
	cr_assert_eq(feed_vote(&low), FL_EDUP, "below its highest: nothing new to count");
	cr_assert_eq(cs_status(&f).round, 0);
	/* The height still decides normally. */
	for (uint32_t who = 0; who < 3; who++)
		cr_assert_eq(cs_feed_vote(&f, who, CHAIN_VOTE_PRECOMMIT, 0, &A), 0);
	cr_assert_eq(cs_feed_block(&f, &A), 0);
	cr_assert_eq(cs_feed_verdict(&f, &A, 1), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_COMMIT, 0));
}

/* Votes spread over every round a Byzantine validator may reach inside the
 * window and below: slots are reused, the current round's is kept. */
Test(cons_votes, old_rounds_reuse_slots)
{
	for (uint32_t r = 0; r < 8; r++)
		cr_assert_eq(cs_feed_timeout(&f, r, NODE_CONS_STEP_PRECOMMIT), 0);
	cr_assert_eq(cs_status(&f).round, 8);
	for (uint32_t r = 0; r < 8; r++) {
		chain_vote v = cs_vote(0, CHAIN_VOTE_PREVOTE, r, &B);
		cr_assert_eq(feed_vote(&v), 0);
	}
	for (uint32_t who = 0; who < 3; who++)
		cr_assert_eq(cs_feed_vote(&f, who, CHAIN_VOTE_PRECOMMIT, 8, &A), 0);
	cr_assert_eq(cs_feed_block(&f, &A), 0);
	cr_assert_eq(cs_feed_verdict(&f, &A, 1), 0);
	cr_assert_not_null(cs_find(&f, NODE_CONS_ACT_COMMIT, 0));
	cr_assert_eq(f.out.commit.round, 8);
}
