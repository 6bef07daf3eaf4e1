/*
 * tests/node/cons_sim.h — a deterministic simulation of 4..7 validators'
 * consensus cores in one process (FoundationDB's simulation testing and
 * TigerBeetle's VOPR are the models): a virtual clock, a seeded network
 * that delays, drops, duplicates, reorders and partitions messages and then
 * heals, honest validators that crash and restart from their WAL (every
 * input and signature recorded before it is acted on; a restart is a fresh
 * core fed the recorded inputs), and up to f Byzantine validators
 * (equivocation, withheld votes, invalid proposals). Blocks are abstract:
 * SHA-256 of (height, round, proposer, salt, valid bit).
 *
 * After a run: no two honest nodes decided different blocks at a height,
 * every decided block was valid, no honest validator signed two values for
 * one (height, round, type), and every honest node reached the target
 * height after the faults stopped. Everything follows from the seed.
 */
#ifndef FEDLEDGER_TESTS_CONS_SIM_H
#define FEDLEDGER_TESTS_CONS_SIM_H

#include <stdint.h>

typedef struct {
	uint64_t seed;
	int skip_lock_rule; /* honest cores broken on purpose (node_cons_config) */
} cons_sim_opts;

typedef struct {
	int ok;
	char why[200]; /* the first violation */
	uint32_t n, byz, crashes;
	uint64_t events, end_ms;
} cons_sim_result;

/* 0 when the run was carried out (ok says whether the checks held). */
int cons_sim_run(const cons_sim_opts *o, cons_sim_result *r);

#endif
