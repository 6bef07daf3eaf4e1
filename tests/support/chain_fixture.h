/*
 * tests/support/chain_fixture.h — a chain store in a temp dir with a genesis
 * of N validators, members and balances, and helpers that build and apply
 * the next block the way an honest proposer would (right prev hash, app
 * hash, tx root, time, proposer, its VRF proof and the beacon, a last
 * commit signed by every validator of the set in force). Keys come from
 * fixed labels
 * (secret = SHA256("validator 3")), so two processes that build the same
 * blocks from the same options get the same chain.
 *
 * Key indices: validators 0..n_validators-1, then members, then outsiders
 * (keys with a balance that are not members).
 */
#ifndef FEDLEDGER_TESTS_CHAIN_FIXTURE_H
#define FEDLEDGER_TESTS_CHAIN_FIXTURE_H

#include "chain/chain.h"

#define FX_MAX_KEYS 32

typedef struct chain_fixture chain_fixture;

typedef struct {
	uint32_t n_validators;        /* 1..FX_MAX_KEYS; default power 10 */
	uint64_t powers[FX_MAX_KEYS]; /* per validator; 0 = 10 */
	uint32_t n_members;           /* members that are not validators */
	uint32_t n_outsiders;         /* accounts with a balance only */
	uint64_t balance;             /* genesis balance of every key; 0 = none */
	uint64_t bonded;              /* genesis bonded stake of every key; 0 = none */
	/* Last word on the genesis before it is written (profiles, params). */
	void (*tweak)(chain_genesis *g, void *arg);
	void *tweak_arg;
} fixture_opts;

struct chain_fixture {
	char dir[96];
	int own_dir; /* fixture_close removes it */
	chain_store *store;
	chain_genesis genesis;
	fl_hash genesis_hash;
	uint32_t n_keys;
	fl_seckey sk[FX_MAX_KEYS];
	fl_pubkey pk[FX_MAX_KEYS];
	uint64_t pending[FX_MAX_KEYS]; /* txs signed since the last block */
	chain_block_result res;        /* of the last apply */
	int last_rc;
};

/* A fresh temp dir, store and genesis. 0 or an FL_E* code. */
int fixture_open(chain_fixture *fx, const fixture_opts *o);
/* A fixture_opts.tweak: one sample profile "mnist" with short rounds
 * (window 3, deadline 2, >= 2 participants, coordinator 20 %, weights
 * capped at 1000) paying *(uint64_t *)arg per round. */
void fixture_short_round_profile(chain_genesis *g, void *arg);
/* The same in `dir` (created if absent); a store that already holds this
 * genesis is simply opened. */
int fixture_open_at(chain_fixture *fx, const fixture_opts *o, const char *dir);
/* Closes the store; removes the dir if fixture_open made it. */
void fixture_close(chain_fixture *fx);
/* Close and open the store again (what a restart does). */
int fixture_reopen(chain_fixture *fx);
/* Close the store but keep the fixture (before fork, say). */
void fixture_detach(chain_fixture *fx);
int fixture_attach(chain_fixture *fx);

/* Index of a public key among the fixture's keys, or -1. */
int fixture_key_index(const chain_fixture *fx, const fl_pubkey *pk);

/* The next block with copies of txs[0..n) (free with chain_block_free). */
int fixture_build_block(chain_fixture *fx, const chain_tx *txs, uint32_t n, chain_block *b);
/* Apply b; fx->res and fx->last_rc keep the outcome. Pending nonces reset. */
int fixture_apply(chain_fixture *fx, const chain_block *b);
/* build + apply + free: returns the apply's code. */
int fixture_next_block(chain_fixture *fx, const chain_tx *txs, uint32_t n);
/* Empty blocks until the store is at `height`; 0 or the first failure. */
int fixture_advance_to(chain_fixture *fx, uint64_t height);

/* Sign tx as key `who` with the next nonce (committed + pending + 1). */
int fixture_sign(chain_fixture *fx, chain_tx *tx, uint32_t who);
/* Sign with an explicit nonce (replays and gaps). */
int fixture_sign_nonce(chain_fixture *fx, chain_tx *tx, uint32_t who, uint64_t nonce);
/* A signed transfer from `from` to key `to`. */
int fixture_transfer(chain_fixture *fx, chain_tx *tx, uint32_t from, uint32_t to, uint64_t amount);

/* Committed values, read from the store (abort on a store error). */
uint64_t fixture_height(chain_fixture *fx);
uint64_t fixture_balance(chain_fixture *fx, uint32_t who);
uint64_t fixture_balance_of(chain_fixture *fx, const fl_pubkey *pk);
/* Sum of every account's balance, by a scan of the accounts database. */
uint64_t fixture_sum_balances(chain_fixture *fx);
/* What the supply must equal: that sum plus the deposits of undecided
 * proposals (chain_info.deposits) plus fixture_sum_stake. */
uint64_t fixture_sum_held(chain_fixture *fx);

/* The stake of key `who` (a zero bond when it has none). */
chain_bond fixture_bond(chain_fixture *fx, uint32_t who);
/* Sum of every bonded amount and every unbonding entry, by a scan of the
 * bonds database: with fixture_sum_balances, what the supply must be. */
uint64_t fixture_sum_stake(chain_fixture *fx);

/* A precommit by key `who`. */
int fixture_vote(chain_fixture *fx, chain_vote *v, uint32_t who, uint8_t type, uint64_t height,
		 uint32_t round, const fl_hash *block_hash);
/* A commit of (height, round 0, block_hash) signed by keys who[0..n), put
 * in validator order. */
int fixture_commit(chain_fixture *fx, uint64_t height, const fl_hash *block_hash,
		   const uint32_t *who, uint32_t n, chain_commit *c);
/* The commit of the tip block by every key of the set in force at the tip
 * (chain_get_validator_set); empty at height 0. What the next block carries. */
int fixture_tip_commit(chain_fixture *fx, chain_commit *c);
/* An unsigned DOUBLE_SIGN evidence tx: two precommits of `culprit` at
 * (height, round) for two blocks named by `tag`, in the order the encoding
 * wants. Sign it with fixture_sign. */
int fixture_double_sign(chain_fixture *fx, chain_tx *tx, uint32_t culprit, uint64_t height,
			uint32_t round, const char *tag);

#endif
