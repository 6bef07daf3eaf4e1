/*
 * tests/node/test_cons_sim.c — the deterministic simulation (cons_sim.h)
 * over many seeds, and proof that its checker can fail: honest cores
 * built to ignore their lock fork for some seed.
 *
 *   FEDLEDGER_SIM_SEEDS=N  seeds 1..N (default 1000; `make sim SEEDS=N`)
 *   FEDLEDGER_SIM_SEED=S   seed S alone
 *   FEDLEDGER_SIM_TRACE=1  on a failure, where each node stood
 */
#include "tests/node/cons_sim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (v == NULL || *v == '\0')
		return dflt;
	x = strtoull(v, &end, 10);
	return *end == '\0' ? x : dflt;
}

Test(cons_sim, seeds, .timeout = 600)
{
	uint64_t first = 1, count = env_u64("FEDLEDGER_SIM_SEEDS", 1000);
	uint64_t one = env_u64("FEDLEDGER_SIM_SEED", 0);
	cons_sim_result r;
	uint64_t events = 0, crashes = 0, byz = 0, sim_ms = 0;

	if (one != 0) {
		first = one;
		count = 1;
	}
	for (uint64_t seed = first; seed < first + count; seed++) {
		cons_sim_opts o = {seed, 0};
		cr_assert_eq(cons_sim_run(&o, &r), 0);
		if (!r.ok)
			cr_assert_fail(
			    "seed %llu (n=%u byz=%u crashes=%u, %llu events, t=%llu ms): %s\n"
			    "rerun it alone: FEDLEDGER_SIM_SEED=%llu build/tests/test_node "
			    "--filter 'cons_sim/seeds'",
			    (unsigned long long)seed, r.n, r.byz, r.crashes,
			    (unsigned long long)r.events, (unsigned long long)r.end_ms, r.why,
			    (unsigned long long)seed);
		events += r.events;
		crashes += r.crashes;
		byz += r.byz;
		sim_ms += r.end_ms;
	}
	printf("cons_sim: %llu seeds from %llu passed: %llu events, %llu crashes and restarts, "
	       "%llu Byzantine validators, %llu s of virtual time\n",
	       (unsigned long long)count, (unsigned long long)first, (unsigned long long)events,
	       (unsigned long long)crashes, (unsigned long long)byz,
	       (unsigned long long)(sim_ms / 1000));
}

/* The same runs with the lock rule switched off in honest cores: the
 * checker must see a fork (or a double decision) for some seed. */
Test(cons_sim, broken_lock_rule_is_caught, .timeout = 600)
{
	cons_sim_result r;
	uint64_t seed, found = 0;

	for (seed = 1; seed <= 20000 && !found; seed++) {
		cons_sim_opts o = {seed, 1};
		cr_assert_eq(cons_sim_run(&o, &r), 0);
		if (!r.ok && (strstr(r.why, "safety") != NULL || strstr(r.why, "twice") != NULL))
			found = seed;
	}
	cr_assert_neq(found, 0, "no seed found the fork of a core without its lock");
	printf("cons_sim: a core without its lock rule forks at seed %llu\n",
	       (unsigned long long)found);
}
