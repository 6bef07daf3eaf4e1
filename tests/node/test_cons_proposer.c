/*
 * tests/node/test_cons_proposer.c — CometBFT's weighted round-robin, with
 * sequences worked by hand: each step adds every power and takes the
 * total off the highest priority (ties to the lower pubkey).
 */
#include "tests/node/cons_testkit.h"

#include <criterion/criterion.h>
#include <string.h>

/* Powers 1, 2, 3 (total 6), from zero:
 *   +p: (1,2,3) -> 2 picked -> (1,2,-3)
 *   +p: (2,4,0) -> 1        -> (2,-2,0)
 *   +p: (3,0,3) -> tie 0,2: 0 -> (-3,0,3)
 *   +p: (-2,2,6) -> 2       -> (-2,2,0)
 *   +p: (-1,4,3) -> 1       -> (-1,-2,3)
 *   +p: (0,0,6) -> 2        -> (0,0,0), and the period starts again. */
Test(cons_proposer, powers_1_2_3_by_hand)
{
	static const uint64_t powers[3] = {1, 2, 3};
	static const uint32_t want[6] = {2, 1, 0, 2, 1, 2};
	static const int64_t after[6][3] = {{1, 2, -3}, {2, -2, 0},  {-3, 0, 3},
					    {-2, 2, 0}, {-1, -2, 3}, {0, 0, 0}};
	chain_validator_set set;
	node_cons_priority p;

	ct_set(&set, 3, powers);
	cr_assert_eq(node_cons_priority_init(&p, &set), 0);
	for (uint32_t k = 0; k < 60; k++) {
		if (k > 0)
			node_cons_priority_increment(&p, 1);
		cr_assert_eq(p.proposer, want[k % 6], "step %u", k);
		for (uint32_t i = 0; i < 3; i++)
			cr_assert_eq(p.priority[i], after[k % 6][i], "step %u validator %u", k, i);
	}
}

/* Over many rounds each validator proposes in proportion to its power. */
Test(cons_proposer, proportional_over_many_rounds)
{
	static const uint64_t powers[5] = {1, 2, 3, 10, 84};
	chain_validator_set set;
	node_cons_priority p;
	uint32_t count[5] = {0};

	ct_set(&set, 5, powers);
	cr_assert_eq(node_cons_priority_init(&p, &set), 0);
	count[p.proposer]++;
	for (uint32_t k = 1; k < 100 * 100; k++) {
		node_cons_priority_increment(&p, 1);
		count[p.proposer]++;
	}
	for (uint32_t i = 0; i < 5; i++)
		cr_assert_eq(count[i], powers[i] * 100, "validator %u: %u", i, count[i]);
}

/* increment(k) is k steps after one scale-and-centre: from equal powers
 * no scaling happens, so k calls of 1 give the same proposer. */
Test(cons_proposer, rounds_of_a_height)
{
	chain_validator_set set;
	node_cons_priority a, b;

	ct_set(&set, 4, NULL);
	cr_assert_eq(node_cons_priority_init(&a, &set), 0);
	cr_assert_eq(a.proposer, 0);
	b = a;
	node_cons_priority_increment(&b, 3);
	cr_assert_eq(b.proposer, 3);
	for (int i = 0; i < 3; i++)
		node_cons_priority_increment(&a, 1);
	cr_assert_eq(memcmp(a.priority, b.priority, sizeof(a.priority)), 0);
}

/* A new validator starts at -1.125 * total, so it waits its turn: powers
 * 1,1 then a third of power 2 joins (total 4, starts at -4 - 0 = -4 + ...). */
Test(cons_proposer, advance_newcomer_waits)
{
	chain_validator_set two, three;
	static const uint64_t p3[3] = {1, 1, 2};
	node_cons_priority p;

	ct_set(&two, 2, NULL);
	cr_assert_eq(node_cons_priority_init(&p, &two), 0);
	/* init: (0,0) +1 -> (1,1) -> 0 picked -> (-1,1). */
	cr_assert_eq(p.proposer, 0);
	cr_assert_eq(p.priority[0], -1);
	cr_assert_eq(p.priority[1], 1);
	ct_set(&three, 3, p3);
	cr_assert_eq(node_cons_priority_advance(&p, &three), 0);
	/* newcomer: -(4 + 4/8) = -4 -> (-1, 1, -4); window 8 > diff 5, no
	 * scaling; sum -4, floor avg -2 -> (1, 3, -2); then one step:
	 * (2, 4, 0) -> 1 picked -> (2, 0, 0). */
	cr_assert_eq(p.proposer, 1);
	cr_assert_eq(p.priority[0], 2);
	cr_assert_eq(p.priority[1], 0);
	cr_assert_eq(p.priority[2], 0);
	/* A validator leaves: its priority goes with it. */
	cr_assert_eq(node_cons_priority_advance(&p, &two), 0);
	cr_assert_eq(p.set.n, 2);
}

/* Scaling: a spread wider than 2 * total is divided down (rounded up
 * ratio, truncating division), as RescalePriorities does. */
Test(cons_proposer, rescale_wide_spread)
{
	chain_validator_set set;
	node_cons_priority p;

	ct_set(&set, 2, NULL);
	cr_assert_eq(node_cons_priority_init(&p, &set), 0);
	p.priority[0] = 41;
	p.priority[1] = -41;
	/* diff 82 > window 4: ratio ceil(82/4) = 21 -> (1, -1); centre: sum 0;
	 * step: (2, 0) -> 0 -> (0, 0). */
	node_cons_priority_increment(&p, 1);
	cr_assert_eq(p.proposer, 0);
	cr_assert_eq(p.priority[0], 0);
	cr_assert_eq(p.priority[1], 0);
}

Test(cons_proposer, bad_sets_refused)
{
	chain_validator_set set;
	node_cons_priority p;

	ct_set(&set, 3, NULL);
	set.total = 4;
	cr_assert_eq(node_cons_priority_init(&p, &set), FL_EINVAL);
	ct_set(&set, 3, NULL);
	set.pubkey[2] = set.pubkey[1];
	cr_assert_eq(node_cons_priority_init(&p, &set), FL_EINVAL);
	ct_set(&set, 0, NULL);
	cr_assert_eq(node_cons_priority_init(&p, &set), FL_EINVAL);
	ct_set(&set, 2, NULL);
	set.power[1] = 0;
	set.total = 1;
	cr_assert_eq(node_cons_priority_init(&p, &set), FL_EINVAL);
}
