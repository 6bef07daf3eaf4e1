/*
 * node/consensus.h — the Tendermint consensus core (docs/consensus.md): a
 * pure state machine after Buchman, Kwon, Milosevic, "The latest gossip on
 * BFT consensus" (arXiv 1807.04938), Algorithm 1, with CometBFT's weighted
 * round-robin proposer and proposer-based timestamps (PBTS).
 *
 * Events go in (node_cons_on_event), actions come out (node_cons_actions):
 * the core does no I/O, reads no clock, starts no thread and allocates only
 * in node_cons_new. Everything it learns is in the events it is given, so a
 * WAL that records every event before it is fed (and every signature before
 * it is used) rebuilds the exact state by feeding the same events to a fresh
 * core (node_cons_resume then re-arms what the replay left pending).
 *
 * Signing goes through node_cons_crypto, which the node supplies: the core
 * calls sign_vote / sign_proposal synchronously at the moment it decides,
 * so the node's signer can persist the decision (WAL, double-sign guard)
 * and only then sign. A refused signature (non-zero return) sends nothing;
 * the core still takes the step, as a validator that stays silent would.
 *
 * One core is used by one thread at a time (the loop thread).
 */
#ifndef FEDLEDGER_NODE_CONSENSUS_H
#define FEDLEDGER_NODE_CONSENSUS_H

#include "chain/chain.h"
#include "core/core.h"

/* ------------------------------------------------------------ bounds */

/*
 * Vote sets are kept for at most NODE_CONS_ROUND_SLOTS rounds of the
 * height, and only for rounds up to round_p + NODE_CONS_FUTURE_ROUNDS: a
 * validator cannot make the core keep votes of arbitrary rounds. Messages of
 * later rounds count only towards the f+1 round skip (one round per
 * validator: the highest it signed). A slot is reused when every slot is
 * taken: never the current round's, the locked or valid round's, the
 * highest earlier round with > 2/3 prevotes for a value, nor a round
 * holding > 2/3 precommits; of the others the lowest round goes.
 * Dropping votes loses information, never safety (docs/consensus.md).
 */
#define NODE_CONS_ROUND_SLOTS   6
#define NODE_CONS_FUTURE_ROUNDS 2
/* One event moves the round by at most this many (round skip). */
#define NODE_CONS_MAX_SKIP 1000u
/* Blocks (by hash) whose content/validity the core tracks in one height. */
#define NODE_CONS_MAX_BLOCKS 16
/* Actions one call can produce: the longest cascade of an event is far
 * below 48, and node_cons_resume relays up to one POL vote per validator. */
#define NODE_CONS_MAX_ACTIONS (48 + CHAIN_MAX_VALIDATORS)
/* No timeout is scheduled for longer than this (round * delta saturates). */
#define NODE_CONS_MAX_TIMEOUT_MS (3600u * 1000u)

/* ---------------------------------------------------------- messages */

typedef enum {
	NODE_CONS_STEP_NONE = 0, /* before the first NODE_CONS_EV_START_HEIGHT */
	NODE_CONS_STEP_PROPOSE = 1,
	NODE_CONS_STEP_PREVOTE = 2,
	NODE_CONS_STEP_PRECOMMIT = 3,
	NODE_CONS_STEP_COMMIT = 4, /* decided; waiting for the next START_HEIGHT */
} node_cons_step;

/*
 * A proposal: the proposer of (height, round) offers block_hash, whose
 * header carries time_ms (PBTS), with pol_round the round of its proof of
 * lock (Algorithm 1's validRound; -1 for none). Signed over
 * fl_domain_hash("proposal", chain_id, node_cons_proposal_sign_bytes).
 */
typedef struct {
	uint64_t height;
	uint32_t round;
	int32_t pol_round; /* -1 or 0..round-1 */
	fl_hash block_hash;
	uint64_t time_ms;
	fl_pubkey proposer;
	fl_sig sig;
} node_cons_proposal;

/* Sign bytes: u64 height, u32 round, i64 pol_round, hash, u64 time_ms,
 * proposer. The encoding is the sign bytes then the 64-byte signature;
 * decode checks -1 <= pol_round < round and refuses trailing bytes. */
int node_cons_proposal_sign_bytes(fl_writer *w, const node_cons_proposal *p) FL_MUST_CHECK;
int node_cons_proposal_encode(fl_writer *w, const node_cons_proposal *p) FL_MUST_CHECK;
int node_cons_proposal_decode(node_cons_proposal *p, const uint8_t *bytes, size_t n) FL_MUST_CHECK;
/* Sets p->proposer from sk, then signs. FL_EINVAL for a bad chain id. */
int node_cons_proposal_sign(node_cons_proposal *p, const char *chain_id,
			    const fl_seckey *sk) FL_MUST_CHECK;
/* The digest a proposal's signature covers: fl_domain_hash("proposal",
 * chain_id, sign bytes). FL_EINVAL for a bad chain id or pol_round. */
int node_cons_proposal_digest(fl_hash *out, const char *chain_id,
			      const node_cons_proposal *p) FL_MUST_CHECK;
/* FL_OK or FL_ESIG (FL_EINVAL for a bad chain id or pol_round). */
int node_cons_proposal_verify(const node_cons_proposal *p, const char *chain_id) FL_MUST_CHECK;

/* ------------------------------------------------ proposer priority */

/*
 * CometBFT's weighted round-robin (types/validator_set.go): every step adds
 * each validator's power to its priority and takes the total off the one
 * with the highest (ties: the lower pubkey); before the steps of one
 * increment, priorities are scaled into a window of 2 * total and centred
 * on their floored average. Over `total` steps from equal priorities each
 * validator proposes exactly `power` times.
 *
 * The state of height h (the proposer of its round 0 is `proposer`) moves
 * to h+1 by node_cons_priority_advance, and to round r of h by r steps:
 * the node keeps it next to its chain state (chain/ does not store it).
 */
typedef struct {
	chain_validator_set set;
	int64_t priority[CHAIN_MAX_VALIDATORS];
	uint32_t proposer; /* index into set: the last step's choice */
} node_cons_priority;

/* The state of the first height with `set` (CometBFT's NewValidatorSet:
 * equal priorities, one increment). FL_EINVAL for an empty set or one
 * whose powers are 0, over CHAIN_MAX_VALIDATOR_POWER or do not sum to
 * set->total, or not sorted by pubkey without duplicates. */
int node_cons_priority_init(node_cons_priority *p, const chain_validator_set *set) FL_MUST_CHECK;
/* `times` increments (CometBFT IncrementProposerPriority); times >= 1. */
void node_cons_priority_increment(node_cons_priority *p, uint32_t times);
/* The state of the next height whose set is `next`: validators that stay
 * keep their priority, new ones start at -1.125 * the new total, removed
 * ones leave; then scale, centre and one increment. FL_EINVAL as _init. */
int node_cons_priority_advance(node_cons_priority *p,
			       const chain_validator_set *next) FL_MUST_CHECK;

/* --------------------------------------------------------- the core */

typedef struct node_cons node_cons;

typedef struct {
	/* Durations: timeout_X + round * delta (Algorithm 1's growth). */
	uint32_t timeout_propose_ms;
	uint32_t timeout_prevote_ms;
	uint32_t timeout_precommit_ms;
	uint32_t timeout_delta_ms;
	/* PBTS: a proposal without POL whose time is outside
	 * [now - precision - msg_delay, now + precision] gets a nil prevote. */
	uint64_t pbts_precision_ms;
	uint64_t pbts_msg_delay_ms;
	/* TESTS ONLY, never set by a node: prevote a valid proposal whatever
	 * the lock (breaks Algorithm 1's lines 23 and 29 on purpose, so the
	 * simulation can prove its checker finds the fork that follows). */
	int test_skip_lock_rule;
} node_cons_config;

/* Timeouts and PBTS bounds from the chain's parameters (genesis), so every
 * validator judges a proposal's time alike; test_skip_lock_rule left 0.
 * params->block_interval_ms is not the core's: the node waits it after a
 * commit before it starts the next height. */
void node_cons_config_from_params(node_cons_config *cfg, const chain_params *params);

/*
 * What the node supplies. sign_vote gets a vote with every field but sig
 * set (validator = the core's key) and must fill sig, or return non-zero to
 * refuse; sign_proposal likewise. A signer that persists before it signs
 * makes a crash unable to produce two different signatures for one (height,
 * round, type). verify_* return FL_OK or an error (FL_ESIG); the core calls
 * them for every message it has not seen, after the cheap checks (height,
 * round window, membership, duplicates), so a stranger's junk costs none.
 * NULL verify functions mean chain_vote_verify / node_cons_proposal_verify
 * on cfg chain_id. Callbacks run inside node_cons_on_event and must not
 * call back into the core.
 */
typedef struct {
	void *ctx;
	int (*sign_vote)(void *ctx, chain_vote *v);
	int (*sign_proposal)(void *ctx, node_cons_proposal *p);
	int (*verify_vote)(void *ctx, const chain_vote *v);
	int (*verify_proposal)(void *ctx, const node_cons_proposal *p);
} node_cons_crypto;

/*
 * A core for the chain `chain_id` acting as `self` (which signs only at
 * heights whose set holds it; elsewhere it follows without voting).
 * crypto is copied; ctx must outlive the core. FL_EINVAL for a bad chain
 * id, FL_ENOMEM. Free with node_cons_free (NULL is a no-op).
 */
int node_cons_new(node_cons **out, const char *chain_id, const fl_pubkey *self,
		  const node_cons_config *cfg, const node_cons_crypto *crypto) FL_MUST_CHECK;
void node_cons_free(node_cons *c);

typedef enum {
	/* Begin `height` with `priority` (the set of that height and its
	 * round-0 state), round 0. Needed first, and after each COMMIT. */
	NODE_CONS_EV_START_HEIGHT = 1,
	NODE_CONS_EV_PROPOSAL = 2, /* a proposal received at now_ms */
	NODE_CONS_EV_VOTE = 3,     /* a prevote or precommit */
	NODE_CONS_EV_TIMEOUT = 4,  /* a timeout scheduled earlier fired */
	NODE_CONS_EV_BLOCK = 5,    /* the node holds the block block_hash (time_ms) */
	NODE_CONS_EV_VERDICT = 6,  /* chain_check_block's answer for block_hash */
	/* The block the node built for (height, round) after
	 * NODE_CONS_ACT_BUILD_BLOCK: held and valid by the node's word. */
	NODE_CONS_EV_BUILT_BLOCK = 7,
	/* > 2/3 precommits for the current height (sync, a peer's last commit):
	 * each signature is checked as a vote. */
	NODE_CONS_EV_COMMIT_CERT = 8,
} node_cons_event_kind;

typedef struct {
	uint64_t height;
	uint32_t round;
	uint8_t step; /* node_cons_step: PROPOSE, PREVOTE or PRECOMMIT */
} node_cons_timeout;

typedef struct {
	uint8_t kind;    /* node_cons_event_kind */
	uint64_t now_ms; /* the node's clock when the event happened (PBTS) */
	union {
		const node_cons_priority *start; /* START_HEIGHT; height below */
		node_cons_proposal proposal;     /* PROPOSAL */
		chain_vote vote;                 /* VOTE */
		node_cons_timeout timeout;       /* TIMEOUT */
		const chain_commit *cert;        /* COMMIT_CERT */
		struct {                         /* BLOCK, VERDICT, BUILT_BLOCK */
			fl_hash hash;
			uint64_t time_ms; /* BLOCK, BUILT_BLOCK: the header's time */
			int valid;        /* VERDICT: 1 valid, 0 not */
			uint64_t height;  /* BUILT_BLOCK */
			uint32_t round;   /* BUILT_BLOCK */
		} block;
	} u;
	uint64_t height; /* START_HEIGHT */
} node_cons_event;

typedef enum {
	NODE_CONS_ACT_BROADCAST_PROPOSAL = 1, /* u.proposal, signed */
	NODE_CONS_ACT_BROADCAST_VOTE = 2,     /* u.vote, signed */
	NODE_CONS_ACT_SCHEDULE_TIMEOUT = 3,   /* u.timeout after u.timeout_ms */
	/* Build a block for (height, round) with time ~ now (and above the
	 * previous block's), answer with NODE_CONS_EV_BUILT_BLOCK. */
	NODE_CONS_ACT_BUILD_BLOCK = 4,
	NODE_CONS_ACT_REQUEST_BLOCK = 5,  /* fetch u.block_hash; then EV_BLOCK */
	NODE_CONS_ACT_VALIDATE_BLOCK = 6, /* check u.block_hash; then EV_VERDICT */
	NODE_CONS_ACT_EVIDENCE = 7,       /* u.evidence: a double sign, chain_evidence-ready */
	NODE_CONS_ACT_COMMIT = 8,         /* out->commit: apply, then START_HEIGHT */
} node_cons_action_kind;

typedef struct {
	uint8_t kind; /* node_cons_action_kind */
	union {
		node_cons_proposal proposal;
		chain_vote vote;
		struct {
			node_cons_timeout t;
			uint32_t ms;
		} timeout;
		struct {
			uint64_t height;
			uint32_t round;
		} build;
		fl_hash block_hash;
		struct {
			chain_vote a, b; /* same validator, height, round, type */
		} evidence;
	} u;
} node_cons_action;

/* Filled by each call (cleared first). commit is set with a COMMIT action:
 * sigs sorted by validator, > 2/3 of the height's power, exactly what
 * chain_verify_commit accepts for (height, block_hash). */
typedef struct {
	uint32_t n;
	node_cons_action a[NODE_CONS_MAX_ACTIONS];
	int sign_rc; /* the last refused signature's code this call, else 0 */
	chain_commit commit;
} node_cons_actions;

/*
 * Feeds one event. FL_OK when it was taken (also for a stale timeout or
 * verdict, which are ignored); else the message is refused and changed
 * nothing, and out holds no action:
 *   FL_ECHAIN  another height (the node may buffer the next one)
 *   FL_ESTATE  before START_HEIGHT, or after the decision
 *   FL_EPERM   signer not a validator of the height, or not the round's proposer
 *   FL_EINVAL  malformed (vote type, pol_round, cert not sorted, bad set)
 *   FL_EDUP    already held (or a second proposal for the round: dropped)
 *   FL_ESIG    signature does not verify (a cert with one bad signature)
 * Votes of rounds beyond the window return FL_OK and only count towards
 * the round skip. A conflicting vote is FL_OK with an EVIDENCE action.
 */
int node_cons_on_event(node_cons *c, const node_cons_event *ev,
		       node_cons_actions *out) FL_MUST_CHECK;

/*
 * After a WAL replay (whose actions the node drops): re-arms the timers of
 * the current step, asks again for pending blocks, verdicts and the
 * proposer's block, repeats a pending COMMIT, and rebroadcasts this node's
 * messages of the current round, with the prevotes it holds for its valid
 * value in its valid round (the proof of lock a locked peer needs to
 * follow a re-proposal; CometBFT gossips them too). With only
 * NODE_CONS_RESUME_MESSAGES it is the periodic gossip a node sends so that
 * lost messages are not lost for good.
 */
enum { NODE_CONS_RESUME_MESSAGES = 1, NODE_CONS_RESUME_ALL = 3 };
void node_cons_resume(node_cons *c, int flags, node_cons_actions *out);

/* Where the core is. */
typedef struct {
	uint64_t height;
	uint32_t round;
	uint8_t step;
	int32_t locked_round, valid_round; /* -1 = none */
	fl_hash locked_value, valid_value;
} node_cons_status;
void node_cons_get_status(const node_cons *c, node_cons_status *out);

/* The commit of the last decided height (what a peer behind needs), or
 * NULL before the first. Valid until the next call on c. */
const chain_commit *node_cons_last_commit(const node_cons *c);

/* Vote i of commit cm rebuilt as the PRECOMMIT it signed. */
void node_cons_commit_vote(chain_vote *out, const chain_commit *cm, uint32_t i);

#endif
