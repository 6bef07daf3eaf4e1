/*
 * chain/chain.h — the deterministic state machine of fedledger (design.md §4–5):
 * transaction and block types with their one canonical encoding, signing and
 * verification, the LMDB chain store, and chain_apply_block.
 *
 * Rules every file in chain/ keeps:
 *   - a pure function of (state, block): no clock, no network, no randomness,
 *     no floating point. Fractions are integers in parts per million (ppm) or
 *     basis points (bps); amounts are uint64 smallest units.
 *   - every decoder is bounded (per-field maximums below), rejects trailing
 *     bytes and non-canonical forms, and has a fuzz target.
 *
 * This is the only header another module may include from chain/.
 */
#ifndef FEDLEDGER_CHAIN_H
#define FEDLEDGER_CHAIN_H

#include "core/core.h"

/* ------------------------------------------------------------- limits */

#define CHAIN_ID_MAX           48 /* chain id: [a-z0-9._-], 1..48 chars */
#define CHAIN_NAME_MAX         64 /* monikers, profile names: printable ASCII */
#define CHAIN_PROFILE_ID_MAX   32 /* profile id: [a-z0-9._-], 1..32 chars */
#define CHAIN_DATA_TYPE_MAX    32 /* e.g. "image/28x28x1" */
#define CHAIN_MAX_LABELS       64 /* labels of a profile; label ids < 65536 */
#define CHAIN_SUMMARY_MAX      32 /* entries of a data summary vector */
#define CHAIN_MAX_LAYERS       8  /* dense layers of a model spec */
#define CHAIN_MAX_LAYER_WIDTH  65536
#define CHAIN_MAX_MODEL_PARAMS (1u << 26) /* weights + biases of one model spec */
#define CHAIN_MAX_COORDINATORS 4          /* the elected coordinator and its fallbacks */
#define CHAIN_MAX_PARTICIPANTS 256        /* updates one aggregate may include */
#define CHAIN_MAX_VALIDATORS   128
#define CHAIN_MAX_EVIDENCE_TX  65536 /* bytes of an embedded signed tx */
#define CHAIN_MAX_TX_BYTES     (256 * 1024)
#define CHAIN_MAX_BLOCK_TXS    10000
#define CHAIN_MAX_BLOCK_BYTES  (8 * 1024 * 1024)

#define CHAIN_PPM 1000000u /* 1.0 in parts per million */
#define CHAIN_BPS 10000u   /* 1.0 in basis points */

/* Profile field ranges, one definition for every path that checks them
 * (tx decode, genesis files): see chain_profile_check. */
#define CHAIN_SCHEDULE_MAX_BLOCKS 100000u /* window, deadline: a round is never open for days */
#define CHAIN_LR_MAX_PPM          (10u * CHAIN_PPM)                /* learning rate <= 10 */
#define CHAIN_PROX_MU_MAX_PPM     (10u * CHAIN_PPM)                /* FedProx mu <= 10 */
#define CHAIN_MULTIKRUM_F_MAX     (CHAIN_MAX_PARTICIPANTS / 2 - 1) /* Krum needs n > 2f + 2 */
#define CHAIN_TRIM_BETA_MAX_PPM   (CHAIN_PPM / 2 - 1) /* trimmed mean keeps something */
/* Summary entries (profiles, round joins) lie in +-CHAIN_SUMMARY_ABS_MAX so
 * the difference of two never overflows int32. */
#define CHAIN_SUMMARY_ABS_MAX (1000 * (int32_t)CHAIN_PPM)

/* Validator power: at most 2^40 each, so the total of CHAIN_MAX_VALIDATORS
 * stays below 2^47 and no sum or threshold product can overflow. */
#define CHAIN_MAX_VALIDATOR_POWER (1ull << 40)
/* Open validator_update votes per voter; a further vote replaces the
 * voter's oldest, so a vote nobody joins never blocks its voter. */
#define CHAIN_VALSET_MAX_PENDING 4u

/* Chain parameter ranges (chain_params_check). */
#define CHAIN_UNBONDING_MAX_BLOCKS 10000000u /* about four months of 1 s blocks */
#define CHAIN_MAX_OPEN_PROPOSALS   64u
/* PBTS bounds: a clock precision past a minute or a message delay past ten
 * minutes would accept any proposal time, and a block interval past ten
 * minutes is a stall, not a pace. */
#define CHAIN_PBTS_PRECISION_MAX_MS 60000u
#define CHAIN_PBTS_MSG_DELAY_MAX_MS 600000u
#define CHAIN_BLOCK_INTERVAL_MAX_MS 600000u
/* Pending unbond entries per account (one per release height: unbonds of
 * one block share theirs). A bound, so nobody can bloat the release queue
 * or make its own slashing walk long; the next unbond waits for a release. */
#define CHAIN_MAX_UNBONDING 16u
/* Latest genesis time: 9999-12-31T23:59:59.999Z. Times past it are not
 * dates anyone means, and a genesis near UINT64_MAX leaves block 1 no later
 * time to take (the chain could never start). */
#define CHAIN_GENESIS_TIME_MAX_MS 253402300799999ull

#define CHAIN_TX_VERSION    1
#define CHAIN_BLOCK_VERSION 1

/* ------------------------------------------------------------- enums */

typedef enum {
	CHAIN_TX_TRANSFER = 1,
	CHAIN_TX_MEMBER_ADD = 2,
	CHAIN_TX_MEMBER_REMOVE = 3,
	CHAIN_TX_PROFILE_PROPOSE = 4,
	CHAIN_TX_PROFILE_VOTE = 5,
	CHAIN_TX_ROUND_JOIN = 6,
	CHAIN_TX_UPDATE_COMMIT = 7,
	CHAIN_TX_AGGREGATE_COMMIT = 8,
	CHAIN_TX_EVAL_REPORT = 9,
	CHAIN_TX_EVIDENCE = 10,
	CHAIN_TX_BOND = 11,   /* liquid -> bonded */
	CHAIN_TX_UNBOND = 12, /* bonded -> unbonding, liquid after unbonding_blocks */
	CHAIN_TX_VALIDATOR_UPDATE = 13,
} chain_tx_kind;

/* "transfer", "member_add", … ; NULL for an unknown kind. */
const char *chain_tx_kind_name(int kind);

typedef enum { CHAIN_TASK_CLASSIFICATION = 1 } chain_task;

typedef enum {
	CHAIN_METRIC_ACCURACY = 1, /* target in ppm of correct predictions */
	CHAIN_METRIC_LATENCY = 2,  /* target in microseconds per sample */
	CHAIN_METRIC_ENERGY = 3,   /* target in microjoules per sample */
} chain_metric;

typedef enum { CHAIN_ACT_NONE = 0, CHAIN_ACT_RELU = 1 } chain_activation;

typedef enum {
	CHAIN_AGG_FEDAVG = 1,       /* param unused */
	CHAIN_AGG_MEDIAN = 2,       /* param unused */
	CHAIN_AGG_TRIMMED_MEAN = 3, /* param: beta in ppm (fraction trimmed each side) */
	CHAIN_AGG_MULTIKRUM = 4,    /* param: f, the number of tolerated bad updates */
	CHAIN_AGG_NORM_BOUND = 5,   /* param: L2 bound in ppm */
} chain_agg_rule;

typedef enum {
	CHAIN_PROFILE_PROPOSED = 1,
	CHAIN_PROFILE_ACTIVE = 2,
	CHAIN_PROFILE_REJECTED = 3,
	CHAIN_PROFILE_RETIRED = 4,
	CHAIN_PROFILE_EXPIRED = 5, /* undecided for params.proposal_ttl_blocks */
} chain_profile_status;

typedef enum {
	CHAIN_VOTE_NO = 0,
	CHAIN_VOTE_YES = 1,
	CHAIN_VOTE_RETIRE = 2
} chain_profile_vote_choice;

typedef enum {
	CHAIN_ROUND_OPEN = 1,        /* accepting update_commit until window_end */
	CHAIN_ROUND_AGGREGATING = 2, /* window closed, waiting for aggregate_commit */
	CHAIN_ROUND_COMMITTED = 3,
	CHAIN_ROUND_FAILED = 4, /* too few updates, or every coordinator missed */
} chain_round_status;

typedef enum { CHAIN_VOTE_PREVOTE = 1, CHAIN_VOTE_PRECOMMIT = 2 } chain_vote_type;

/* What a validator_update does to its target (docs/state-machine.md). */
typedef enum {
	CHAIN_VALSET_ADD = 1,       /* a member or new account joins with `power` */
	CHAIN_VALSET_REMOVE = 2,    /* a validator leaves the set (power 0 in the tx) */
	CHAIN_VALSET_SET_POWER = 3, /* a validator's power becomes `power` */
	CHAIN_VALSET_UNJAIL = 4,    /* a jailed account is freed, a validator again if power > 0 */
} chain_valset_action;

typedef enum {
	CHAIN_EVIDENCE_DOUBLE_SIGN = 1,   /* two conflicting votes of one validator */
	CHAIN_EVIDENCE_BAD_AGGREGATE = 2, /* a validator's attestation of a wrong aggregate */
} chain_evidence_type;

/* --------------------------------------------------------- profiles */

/* Dense MLP: sizes[0] inputs, sizes[i+1] outputs of layer i; softmax
 * cross-entropy head after the last layer. */
typedef struct {
	uint32_t n_layers;                     /* 1..CHAIN_MAX_LAYERS */
	uint32_t sizes[CHAIN_MAX_LAYERS + 1];  /* each 1..CHAIN_MAX_LAYER_WIDTH */
	uint8_t activations[CHAIN_MAX_LAYERS]; /* chain_activation; last is NONE */
} chain_model_spec;

/* Weights and biases; FLOPs of one forward pass of one sample (2·in·out per
 * layer). Both saturate at UINT64_MAX, which a valid spec never reaches. */
uint64_t chain_model_spec_params(const chain_model_spec *spec);
uint64_t chain_model_spec_flops(const chain_model_spec *spec);

/* What a profile is: fixed when proposed. */
typedef struct {
	char id[CHAIN_PROFILE_ID_MAX + 1];
	char parent[CHAIN_PROFILE_ID_MAX + 1]; /* "" for none */
	char name[CHAIN_NAME_MAX + 1];

	/* data characteristics */
	char data_type[CHAIN_DATA_TYPE_MAX + 1];
	uint32_t n_labels; /* 1..CHAIN_MAX_LABELS, strictly increasing */
	uint16_t labels[CHAIN_MAX_LABELS];
	uint32_t n_summary;                 /* 0..CHAIN_SUMMARY_MAX */
	int32_t summary[CHAIN_SUMMARY_MAX]; /* distribution sketch, ppm */

	uint8_t task;           /* chain_task */
	uint8_t metric;         /* chain_metric */
	uint64_t metric_target; /* unit per chain_metric */

	chain_model_spec model;
	uint64_t init_seed; /* round 1 starts from fl's init of (model, seed) */

	/* training hyper-parameters */
	uint32_t local_epochs;     /* 1..1000 */
	uint32_t batch_size;       /* 1..65536 */
	uint32_t lr_ppm;           /* learning rate, 1..CHAIN_PPM*10 */
	uint32_t momentum_ppm;     /* < CHAIN_PPM */
	uint32_t weight_decay_ppm; /* < CHAIN_PPM */
	uint32_t prox_mu_ppm;      /* FedProx mu; 0 = off */

	/* aggregation */
	uint8_t agg_rule;             /* chain_agg_rule */
	uint32_t agg_param;           /* see chain_agg_rule */
	uint32_t server_momentum_ppm; /* FedAvgM; 0 = plain */

	/* privacy */
	uint32_t dp_clip_ppm;  /* L2 clip norm; 0 = no clipping */
	uint32_t dp_noise_ppm; /* noise multiplier z; 0 = no noise */
	uint8_t secure_agg;    /* 0/1 */

	/* schedule, in blocks */
	uint32_t window_blocks;    /* 1.. : update_commit accepted for this long */
	uint32_t deadline_blocks;  /* 1.. : each coordinator's turn after the window */
	uint32_t min_participants; /* 1..CHAIN_MAX_PARTICIPANTS */

	/* rewards (minted at aggregate commit) */
	uint64_t reward_per_round;
	uint32_t coordinator_share_bps; /* <= CHAIN_BPS; the rest to participants */
	uint32_t max_samples_weight;    /* a participant's weight is min(samples, this) */
} chain_profile;

/* What a profile has become: changed by votes and rounds. */
typedef struct {
	uint8_t status; /* chain_profile_status */
	uint64_t proposed_height;
	fl_pubkey proposer;
	uint64_t activated_height; /* 0 while not active */
	fl_hash model_hash;        /* current model; zero until round 1 commits */
	uint64_t round;            /* latest round opened (0 = none yet) */
	uint64_t rounds_committed;
} chain_profile_state;

/* --------------------------------------------------- tx bodies */

typedef struct {
	fl_pubkey to;
	uint64_t amount; /* > 0 */
} chain_tx_transfer;

/* member_add / member_remove: a validator's vote to admit or remove `member`.
 * > 2/3 of voting power carries it. */
typedef struct {
	fl_pubkey member;
	char name[CHAIN_NAME_MAX + 1];
} chain_tx_member;

typedef struct {
	char profile[CHAIN_PROFILE_ID_MAX + 1];
	uint8_t choice; /* chain_profile_vote_choice */
} chain_tx_profile_vote;

/* A member volunteers for a profile's rounds, declaring its data. */
typedef struct {
	char profile[CHAIN_PROFILE_ID_MAX + 1];
	uint64_t n_samples;
	uint32_t n_labels;
	uint16_t labels[CHAIN_MAX_LABELS];       /* strictly increasing */
	uint64_t label_counts[CHAIN_MAX_LABELS]; /* samples per label */
	uint32_t n_summary;
	int32_t summary[CHAIN_SUMMARY_MAX];
} chain_tx_round_join;

typedef struct {
	char profile[CHAIN_PROFILE_ID_MAX + 1];
	uint64_t round;
	fl_hash base_model; /* must be the profile's current model */
	fl_hash update;     /* hash of the update blob */
	uint64_t n_samples; /* > 0 */
	uint32_t train_loss_ppm;
	uint32_t train_accuracy_ppm;
} chain_tx_update_commit;

typedef struct {
	fl_pubkey participant;
	fl_hash update;
	uint64_t weight; /* <= min(n_samples, max_samples_weight); 0 = rejected by the rule */
} chain_aggregate_entry;

typedef struct {
	char profile[CHAIN_PROFILE_ID_MAX + 1];
	uint64_t round;
	fl_hash base_model;
	fl_hash new_model;
	uint32_t n_entries; /* 1..CHAIN_MAX_PARTICIPANTS, sorted by participant, no duplicates */
	chain_aggregate_entry *entries; /* owned: chain_tx_free */
	uint32_t eval_accuracy_ppm;
	uint32_t eval_loss_ppm;
} chain_tx_aggregate_commit;

typedef struct {
	char profile[CHAIN_PROFILE_ID_MAX + 1];
	uint64_t round;
	fl_hash model;
	uint64_t n_samples;
	uint64_t metric_value; /* unit per the profile's metric */
} chain_tx_eval_report;

/* bond / unbond: the sender's own stake. amount > 0. */
typedef struct {
	uint64_t amount;
} chain_tx_stake;

/* validator_update: the sender's YES vote for one change of the validator
 * set; the whole body is the subject, so validators agree on the exact
 * change. Past 2/3 of the power it is in force two heights after the block
 * that carried the deciding vote. */
typedef struct {
	fl_pubkey target;
	uint8_t action; /* chain_valset_action */
	/* ADD, SET_POWER: 1..CHAIN_MAX_VALIDATOR_POWER; REMOVE: 0; UNJAIL:
	 * 0 (a member again) or 1..CHAIN_MAX_VALIDATOR_POWER (a validator) */
	uint64_t power;
} chain_tx_validator_update;

/* A consensus vote (design.md §5). Signed over
 * fl_domain_hash("vote", chain_id, chain_vote_sign_bytes). */
typedef struct {
	uint8_t type; /* chain_vote_type */
	uint64_t height;
	uint32_t round;
	fl_hash block_hash; /* zero = nil */
	fl_pubkey validator;
	fl_sig sig;
} chain_vote;

typedef struct {
	uint8_t type; /* chain_evidence_type */
	/* DOUBLE_SIGN: two votes, same validator/type/height/round, different hash. */
	chain_vote vote_a, vote_b;
	/* BAD_AGGREGATE: the coordinator's signed aggregate_commit tx (canonical
	 * bytes, owned) and the hash the attesting validator recomputed. */
	uint8_t *aggregate_tx;
	uint32_t aggregate_tx_len;
	fl_hash recomputed_model;
} chain_tx_evidence;

/* A transaction: the common envelope and one body by kind. */
typedef struct {
	uint8_t kind; /* chain_tx_kind */
	fl_pubkey sender;
	uint64_t nonce; /* the sender's account nonce + 1 */
	union {
		chain_tx_transfer transfer;
		chain_tx_member member; /* MEMBER_ADD and MEMBER_REMOVE */
		chain_profile profile_propose;
		chain_tx_profile_vote profile_vote;
		chain_tx_round_join round_join;
		chain_tx_update_commit update_commit;
		chain_tx_aggregate_commit aggregate_commit;
		chain_tx_eval_report eval_report;
		chain_tx_evidence evidence;
		chain_tx_validator_update validator_update;
		chain_tx_stake stake; /* BOND and UNBOND */
	} u;
	fl_sig sig;
} chain_tx;

/*
 * Encoding: u8 version, u8 kind, sender, u64 nonce, body, sig. The signature
 * covers fl_domain_hash("tx", chain_id, everything before sig), so a tx signed
 * for one chain never verifies on another. The tx hash is SHA-256 of the whole
 * encoding, signature included.
 *
 * chain_tx_decode fills *tx (allocating the variable parts; free with
 * chain_tx_free, also after a failed decode) and checks field ranges, not
 * state and not the signature.
 */
int chain_tx_encode(fl_writer *w, const chain_tx *tx) FL_MUST_CHECK;
int chain_tx_decode(chain_tx *tx, const uint8_t *p, size_t n) FL_MUST_CHECK;
int chain_tx_decode_reader(chain_tx *tx, fl_reader *r) FL_MUST_CHECK;
void chain_tx_free(chain_tx *tx);
int chain_tx_hash(fl_hash *out, const chain_tx *tx) FL_MUST_CHECK;
int chain_tx_sighash(fl_hash *out, const char *chain_id, const chain_tx *tx) FL_MUST_CHECK;
/* Sets tx->sender from sk, then signs. */
int chain_tx_sign(chain_tx *tx, const char *chain_id, const fl_seckey *sk) FL_MUST_CHECK;
/* FL_OK, FL_ESIG, or an encoding error. */
int chain_tx_verify(const chain_tx *tx, const char *chain_id) FL_MUST_CHECK;
/* Deep copy (the variable parts too). */
int chain_tx_copy(chain_tx *dst, const chain_tx *src) FL_MUST_CHECK;

/* Field checks shared by decode and genesis: FL_EINVAL with *field naming the
 * first bad field (a static string such as "model.sizes[2]"). */
int chain_profile_check(const chain_profile *p, const char **field) FL_MUST_CHECK;
int chain_profile_encode(fl_writer *w, const chain_profile *p) FL_MUST_CHECK;
int chain_profile_decode(fl_reader *r, chain_profile *p) FL_MUST_CHECK;
/* True for [a-z0-9._-]{1,max}. */
int chain_id_valid(const char *s, size_t max);

int chain_vote_sign_bytes(fl_writer *w, const chain_vote *v) FL_MUST_CHECK;
int chain_vote_sign(chain_vote *v, const char *chain_id, const fl_seckey *sk) FL_MUST_CHECK;
int chain_vote_verify(const chain_vote *v, const char *chain_id) FL_MUST_CHECK;
int chain_vote_encode(fl_writer *w, const chain_vote *v) FL_MUST_CHECK;
int chain_vote_decode(fl_reader *r, chain_vote *v) FL_MUST_CHECK;

/* --------------------------------------------------------- blocks */

/* Precommits for one block: > 2/3 of the voting power of the validator set
 * that was in force at `height`. */
typedef struct {
	uint64_t height;
	uint32_t round;
	fl_hash block_hash;
	uint32_t n_sigs; /* 0..CHAIN_MAX_VALIDATORS, sorted by validator, no duplicates */
	struct chain_commit_sig {
		fl_pubkey validator;
		fl_sig sig; /* over the PRECOMMIT vote (height, round, block_hash) */
	} sigs[CHAIN_MAX_VALIDATORS];
} chain_commit;

typedef struct {
	uint8_t version;
	char chain_id[CHAIN_ID_MAX + 1];
	uint64_t height;   /* 1 for the first block after genesis */
	uint64_t time_ms;  /* proposer's clock; must grow; chain/ only compares it */
	fl_hash prev_hash; /* header hash of height-1 (the genesis hash for height 1) */
	fl_hash tx_root;   /* fl_merkle_root of the tx hashes */
	fl_hash app_hash;  /* state after height-1 */
	fl_pubkey proposer;
	fl_hash last_commit_hash; /* hash of the encoded last_commit; zero at height 1 */
	fl_vrf_proof vrf_proof;   /* proposer's ECVRF proof over chain_beacon_alpha */
	fl_hash beacon;           /* SHA256(prev beacon || VRF output of vrf_proof) */
} chain_block_header;

typedef struct {
	chain_block_header header;
	uint32_t n_txs;
	chain_tx *txs;            /* owned */
	chain_commit last_commit; /* commit of height-1; n_sigs == 0 at height 1 */
} chain_block;

int chain_header_encode(fl_writer *w, const chain_block_header *h) FL_MUST_CHECK;
int chain_header_decode(fl_reader *r, chain_block_header *h) FL_MUST_CHECK;
/* The block hash: SHA-256 of the encoded header. */
int chain_header_hash(fl_hash *out, const chain_block_header *h) FL_MUST_CHECK;
int chain_commit_encode(fl_writer *w, const chain_commit *c) FL_MUST_CHECK;
int chain_commit_decode(fl_reader *r, chain_commit *c) FL_MUST_CHECK;
int chain_commit_hash(fl_hash *out, const chain_commit *c) FL_MUST_CHECK;
int chain_block_encode(fl_writer *w, const chain_block *b) FL_MUST_CHECK;
/* Allocates b->txs; chain_block_free also after a failed decode. */
int chain_block_decode(chain_block *b, const uint8_t *p, size_t n) FL_MUST_CHECK;
void chain_block_free(chain_block *b);
/* Recomputes tx_root from b->txs. */
int chain_block_tx_root(fl_hash *out, const chain_block *b) FL_MUST_CHECK;

/*
 * The beacon (chain/beacon.c, docs/rounds.md "The beacon"): the proposer's
 * ECVRF proof over alpha = (str chain_id, u64 height, hash prev_beacon) in
 * the canonical codec, and beacon = SHA256(prev_beacon || VRF output).
 */
int chain_beacon_alpha(fl_writer *w, const char *chain_id, uint64_t height,
		       const fl_hash *prev_beacon) FL_MUST_CHECK;
void chain_beacon_next(fl_hash *out, const fl_hash *prev_beacon, const fl_hash *vrf_output);
/* For a proposer: sets h->vrf_proof and h->beacon from h's chain id and
 * height. sk must be h->proposer's key (FL_EINVAL otherwise). */
int chain_header_prove_beacon(chain_block_header *h, const fl_seckey *sk,
			      const fl_hash *prev_beacon) FL_MUST_CHECK;
/* h->vrf_proof verifies under h->proposer (else FL_ESIG, *reason "vrf") and
 * h->beacon follows from it (else FL_EINVAL, *reason "beacon"). */
int chain_header_verify_beacon(const chain_block_header *h, const fl_hash *prev_beacon,
			       const char **reason) FL_MUST_CHECK;

/* --------------------------------------------------------- genesis */

typedef struct {
	/* consensus timeouts (node/ uses them; chain/ only stores them) */
	uint32_t timeout_propose_ms;
	uint32_t timeout_prevote_ms;
	uint32_t timeout_precommit_ms;
	uint32_t timeout_delta_ms; /* added per view */
	uint32_t max_block_txs;    /* <= CHAIN_MAX_BLOCK_TXS */
	uint32_t max_block_bytes;  /* <= CHAIN_MAX_BLOCK_BYTES */
	/* election and penalties */
	uint64_t stake_unit; /* bonded stake per unit of election weight, > 0 */
	uint32_t slash_bps;  /* share of bonded stake burned on proven misbehaviour */
	/* bonded stake */
	uint32_t unbonding_blocks; /* 1..CHAIN_UNBONDING_MAX_BLOCKS: unbond -> liquid */
	/* profile governance: what an open proposal costs and how long it lives */
	uint64_t
	    proposal_deposit; /* locked at propose; returned on activation, burned on rejection */
	uint32_t proposal_ttl_blocks; /* 1..CHAIN_SCHEDULE_MAX_BLOCKS: undecided -> expired */
	uint32_t max_open_proposals;  /* 1..CHAIN_MAX_OPEN_PROPOSALS per proposer */
	/* proposer-based timestamps and block pacing (node/ uses them; chain/
	 * only stores them). Every validator must judge a proposal's time
	 * alike, so these are agreed in genesis, not set per node. */
	uint32_t pbts_precision_ms; /* 1..CHAIN_PBTS_PRECISION_MAX_MS: clock bound */
	uint32_t pbts_msg_delay_ms; /* 1..CHAIN_PBTS_MSG_DELAY_MAX_MS: proposal delay */
	uint32_t block_interval_ms; /* 0..CHAIN_BLOCK_INTERVAL_MAX_MS: commit -> next height */
} chain_params;

typedef struct {
	fl_pubkey pubkey;
	uint64_t power; /* > 0 */
	char name[CHAIN_NAME_MAX + 1];
} chain_genesis_validator;

typedef struct {
	fl_pubkey pubkey;
	char name[CHAIN_NAME_MAX + 1];
} chain_genesis_member;

/* An account's tokens at genesis: amount liquid, bonded locked as stake
 * (chain_bond). At least one of them > 0. */
typedef struct {
	fl_pubkey account;
	uint64_t amount;
	uint64_t bonded;
} chain_genesis_balance;

/* The initial state. Arrays owned; chain_genesis_free. Profiles listed here
 * start ACTIVE. Validators are members too. */
typedef struct {
	char chain_id[CHAIN_ID_MAX + 1];
	uint64_t genesis_time_ms;
	chain_params params;
	uint32_t n_validators;
	chain_genesis_validator *validators;
	uint32_t n_members;
	chain_genesis_member *members;
	uint32_t n_balances;
	chain_genesis_balance *balances;
	uint32_t n_profiles;
	chain_profile *profiles;
} chain_genesis;

void chain_params_default(chain_params *p);
void chain_genesis_free(chain_genesis *g);
/* Semantic checks (unique keys, ranges, supply fits u64): FL_EINVAL and
 * *field names the first bad one, e.g. "validators[2].power". */
int chain_genesis_check(const chain_genesis *g, const char **field) FL_MUST_CHECK;
int chain_genesis_encode(fl_writer *w, const chain_genesis *g) FL_MUST_CHECK;
/* SHA-256 of the canonical encoding: the prev_hash of block 1. */
int chain_genesis_hash(fl_hash *out, const chain_genesis *g) FL_MUST_CHECK;

/* --------------------------------------------------------- state */

typedef struct {
	uint64_t balance;
	uint64_t nonce;      /* of the last applied tx; next must be nonce+1 */
	uint64_t power;      /* voting power; > 0 = validator */
	uint8_t member;      /* admitted member (validators are members) */
	uint8_t jailed;      /* proven misbehaviour: no rounds, no election */
	uint32_t reputation; /* 1..1000; starts at 500 */
	char name[CHAIN_NAME_MAX + 1];
} chain_account;

/* An account's stake: locked, slashable, and its election weight. Amounts
 * leave `bonded` only by unbond (into an entry that turns liquid at its
 * release height) or by slashing. */
typedef struct {
	uint64_t release_height; /* liquid again at the start of this block */
	uint64_t amount;         /* > 0 */
} chain_unbonding;

typedef struct {
	uint64_t bonded;
	uint32_t n_unbonding; /* 0..CHAIN_MAX_UNBONDING */
	/* release_height strictly increasing */
	chain_unbonding unbonding[CHAIN_MAX_UNBONDING];
} chain_bond;

#define CHAIN_REPUTATION_START 500
#define CHAIN_REPUTATION_MAX   1000

typedef struct {
	fl_pubkey participant;
	fl_hash update;
	fl_hash base_model;
	uint64_t n_samples;
	uint64_t height;
	uint32_t train_loss_ppm;
	uint32_t train_accuracy_ppm;
} chain_update_record;

/* An eval_report as stored: a member's held-out figure for a round. */
typedef struct {
	fl_pubkey reporter;
	fl_hash model;
	uint64_t n_samples;
	uint64_t metric_value; /* unit per the profile's metric */
	uint64_t height;       /* included at */
} chain_eval;

typedef struct {
	char profile[CHAIN_PROFILE_ID_MAX + 1];
	uint64_t round;
	uint8_t status; /* chain_round_status */
	uint64_t open_height;
	uint64_t window_end; /* last height that accepts update_commit */
	fl_hash beacon;      /* of the opening block: seeds the draw */
	fl_hash base_model;
	uint32_t n_coordinators;
	fl_pubkey
	    coordinators[CHAIN_MAX_COORDINATORS]; /* draw order: [0] elected, then fallbacks */
	uint32_t n_updates;
	/* set at commit */
	uint64_t commit_height;
	fl_pubkey committed_by;
	fl_hash new_model;
	uint32_t eval_accuracy_ppm;
	uint32_t eval_loss_ppm;
	uint64_t reward_total;
} chain_round;

/* Rewards of a committed round, one per paid account (coordinator first). */
typedef struct {
	fl_pubkey account;
	uint64_t amount;
	uint64_t weight;
} chain_reward;

/* A validator set sorted by pubkey, every power > 0, total their sum. */
typedef struct {
	uint32_t n;
	uint64_t total;
	fl_pubkey pubkey[CHAIN_MAX_VALIDATORS];
	uint64_t power[CHAIN_MAX_VALIDATORS];
} chain_validator_set;

/* --------------------------------------------------------- store */

typedef struct chain_store chain_store; /* opaque; one LMDB environment */

/*
 * Opens (creating if absent) the store in directory `dir`: named databases
 * meta, blocks, block_hashes, txs, accounts, validators, members, profiles,
 * rounds, updates, joins, votes, evals, rewards, proposals, proposal_expiry,
 * active_profiles, valset_history, valset_pending, bonds, unbonding.
 * map_size 0 = 1 GiB; the map is never smaller than the data plus
 * headroom, and chain_apply_block grows it when a block fills it
 * (docs/store.md). A new store's directory is fsynced. Each block is
 * applied in one LMDB write transaction, so a crash leaves the store at the
 * last committed height.
 */
int chain_store_open(chain_store **out, const char *dir, size_t map_size) FL_MUST_CHECK;
void chain_store_close(chain_store *s);

/* Writes the genesis state (height 0). FL_EEXIST if the store already holds
 * a genesis; FL_ECHAIN if that genesis has a different hash. */
int chain_store_init_genesis(chain_store *s, const chain_genesis *g) FL_MUST_CHECK;

typedef struct {
	char chain_id[CHAIN_ID_MAX + 1];
	uint64_t height;         /* last committed block; 0 = genesis only */
	fl_hash last_block_hash; /* genesis hash at height 0 */
	fl_hash app_hash;        /* state after `height` */
	fl_hash beacon;          /* beacon of the last block (genesis beacon at 0) */
	uint64_t last_time_ms;
	/* every token: balances + deposits + bonded_total + unbonding_total */
	uint64_t supply;
	uint64_t deposits;        /* locked by undecided profile proposals */
	uint64_t bonded_total;    /* sum of every account's bonded stake */
	uint64_t unbonding_total; /* sum of every pending unbonding entry */
	uint64_t total_power;
	fl_hash genesis_hash;
	chain_params params;
} chain_info;

int chain_store_info(chain_store *s, chain_info *out) FL_MUST_CHECK;

/*
 * The state hash: an LtHash (docs/store.md) of every (database, key, value)
 * of the state databases, kept incrementally by every write transaction,
 * 1024 u16 lanes (2048 bytes, little-endian on the wire). The app hash after
 * height h is chain_app_hash(chain_id, h, state hash after h).
 */
#define CHAIN_LTHASH_LANES 1024
#define CHAIN_LTHASH_BYTES (2 * CHAIN_LTHASH_LANES)
typedef struct {
	uint16_t lane[CHAIN_LTHASH_LANES];
} chain_lthash;

/* fl_domain_hash("app", chain_id, u64le height || state as bytes). */
void chain_app_hash(fl_hash *out, const char *chain_id, uint64_t height, const chain_lthash *state);
/* The incremental value the last commit stored (zero for an empty store). */
int chain_get_state_hash(chain_store *s, chain_lthash *out) FL_MUST_CHECK;
/* The same from scratch: every element of every state database, in one read
 * transaction. Equal to chain_get_state_hash unless the store was changed
 * behind the chain layer's back; state sync checks a snapshot with it. */
int chain_state_hash_recompute(chain_store *s, chain_lthash *out) FL_MUST_CHECK;

/* Result of applying (or checking) a block. */
typedef struct {
	fl_hash app_hash;   /* state after the block */
	uint32_t failed_tx; /* index of the first invalid tx when rc != 0, else UINT32_MAX */
	const char *reason; /* static words on failure: "tx 3: nonce" */
} chain_block_result;

/*
 * Validates `b` against the state (height, prev hash, app hash, tx root,
 * proposer is a validator, its VRF proof and the beacon, last commit > 2/3,
 * time grows, every tx signed and valid in order) and applies it in one
 * write transaction.
 * A block is valid only if every tx in it is: a proposer includes no failing tx.
 * On failure nothing is written.
 */
int chain_apply_block(chain_store *s, const chain_block *b, chain_block_result *res) FL_MUST_CHECK;
/*
 * chain_apply_block and chain_store_put_tip_commit in one write
 * transaction: the block and the commit `c` that finalised it are stored
 * together or not at all, so a crash never leaves a tip whose commit is
 * lost (a node needs it to build the next block and to prove its tip). c
 * must be for b's height and header hash and verify as chain_verify_commit
 * does; if it does not, nothing is written, with its code and reason
 * "tip commit".
 */
int chain_apply_block_commit(chain_store *s, const chain_block *b, const chain_commit *c,
			     chain_block_result *res) FL_MUST_CHECK;
/* The same checks and the app hash it would produce, then rolled back. */
int chain_check_block(chain_store *s, const chain_block *b, chain_block_result *res) FL_MUST_CHECK;
/* Would this tx apply on top of the current state (mempool admission)?
 * `pending_nonce` lets a mempool queue several txs of one sender: the tx's
 * nonce must equal max(account nonce, pending_nonce) + 1. */
int chain_check_tx(chain_store *s, const chain_tx *tx, uint64_t pending_nonce,
		   const char **reason) FL_MUST_CHECK;

/*
 * Mempool admission that sees the queued txs (chain/mempool.c): a checker
 * over the committed state (one LMDB read transaction, taken at begin) and
 * an in-memory overlay of the txs it admitted. Each tx runs the real rules
 * of the next block against state + overlay (balances, nonces, one update
 * per member and round, one vote per validator, …); an admitted tx keeps
 * its writes in the overlay, a refused one leaves none. It never takes the
 * store's write lock, so it runs while another thread applies blocks.
 *
 * The checker sees the state of its begin: after a block commits, end it
 * and admit the txs still queued into a new one (they are checked again on
 * the new state). It holds a reader like a snapshot (below): LMDB keeps
 * the pages of later blocks from reuse and the map cannot grow while it is
 * open, so never wait for a block while holding one, end it after each
 * block, and begin and end it on one thread. Its memory grows with what it
 * admitted: bound the mempool (count, bytes).
 * check_tx: 0, or the rule's FL_E* code with *reason (may be NULL) its
 * static words ("tx: nonce", "tx: balance too low", …). Signatures go
 * through the store's cache and fill it. One checker is used by one thread
 * at a time; several may be open at once.
 */
typedef struct chain_mempool_check chain_mempool_check;
int chain_mempool_check_begin(chain_store *s, chain_mempool_check **out) FL_MUST_CHECK;
int chain_mempool_check_tx(chain_mempool_check *ck, const chain_tx *tx,
			   const char **reason) FL_MUST_CHECK;
/* Txs admitted since begin. */
size_t chain_mempool_check_count(const chain_mempool_check *ck);
void chain_mempool_check_end(chain_mempool_check *ck);

/*
 * Signatures verified once. The store keeps a bounded cache of verified
 * (digest, key, signature) triples (fl_sigcache; it holds no state and
 * changes no outcome). Admission (chain_check_tx, chain_mempool_check_tx)
 * fills it; apply and check hand a block's tx and commit signatures to the
 * store's verify threads before their write transaction opens, run the txs
 * while those threads verify, then wait for them all before the commit (the
 * outcome is the one of checking each tx's signature before its rule); a
 * cached triple costs a lookup instead of a verify. Check adds what it
 * verified to the cache; apply only looks up (its signatures are never
 * checked again).
 *
 * chain_store_set_verify_threads: 1..64 threads, the caller's included
 * (1, the default, starts none). Not while another call on s runs.
 * chain_preverify_block: the same verification for a block that has just
 * arrived, on up to `threads` threads (0 = the store's setting; at most
 * that), filling the cache without any lock on the store. FL_OK when every
 * signature verified, FL_ESIG when one did not (the block will fail),
 * FL_ENOMEM. It checks nothing else. A node calls it on a block as it
 * arrives, off its loop thread and before chain_check_block or
 * chain_apply_block: the block's signatures are then all verified on
 * several threads before any write transaction opens, and the check or
 * apply costs a lookup a signature.
 */
int chain_store_set_verify_threads(chain_store *s, unsigned threads) FL_MUST_CHECK;
int chain_preverify_block(chain_store *s, const chain_block *b, unsigned threads) FL_MUST_CHECK;

/* Lookups on committed state. FL_ENOTFOUND when absent. */
int chain_get_account(chain_store *s, const fl_pubkey *id, chain_account *out) FL_MUST_CHECK;
int chain_get_profile(chain_store *s, const char *id, chain_profile *def,
		      chain_profile_state *state) FL_MUST_CHECK;
/* Profile ids in key order; *ids allocated (fl_free). */
int chain_list_profiles(chain_store *s, char (**ids)[CHAIN_PROFILE_ID_MAX + 1],
			size_t *n) FL_MUST_CHECK;
int chain_get_round(chain_store *s, const char *profile, uint64_t round,
		    chain_round *out) FL_MUST_CHECK;
/* A member's round_join for a profile as it stands (the latest one);
 * *height (may be NULL) the height it was included at. */
int chain_get_join(chain_store *s, const char *profile, const fl_pubkey *pk,
		   chain_tx_round_join *join, uint64_t *height) FL_MUST_CHECK;
/* Updates committed in a round, sorted by participant; *out allocated. */
int chain_get_round_updates(chain_store *s, const char *profile, uint64_t round,
			    chain_update_record **out, size_t *n) FL_MUST_CHECK;
/* The eval_reports of a round, sorted by reporter; *out allocated. */
int chain_get_round_evals(chain_store *s, const char *profile, uint64_t round, chain_eval **out,
			  size_t *n) FL_MUST_CHECK;
int chain_get_round_rewards(chain_store *s, const char *profile, uint64_t round, chain_reward **out,
			    size_t *n) FL_MUST_CHECK;
/* Encoded block bytes (fl_free); decode with chain_block_decode. */
int chain_get_block(chain_store *s, uint64_t height, uint8_t **bytes, size_t *n) FL_MUST_CHECK;
int chain_get_block_height(chain_store *s, const fl_hash *hash, uint64_t *height) FL_MUST_CHECK;
/* Where a tx was included, from the tx index: FL_ENOTFOUND for a tx of a
 * block chain_index_txs has not reached yet. */
int chain_get_tx_location(chain_store *s, const fl_hash *tx_hash, uint64_t *height,
			  uint32_t *index) FL_MUST_CHECK;
/*
 * The tx index trails the chain (chain/txindex.c): a block commits without
 * it, and this writes it for the next blocks not indexed yet, at most
 * max_blocks (> 0) of them, in one write transaction (it waits for and
 * holds the store's write lock like a block's apply). *indexed (may be
 * NULL): the height indexed up to afterwards. The node calls it after each
 * commit; after a crash it carries on where the last call committed.
 */
int chain_index_txs(chain_store *s, uint64_t max_blocks, uint64_t *indexed) FL_MUST_CHECK;
/* An account's stake; an account that holds none (or does not exist) gets
 * a zero chain_bond and FL_OK. */
int chain_get_bond(chain_store *s, const fl_pubkey *id, chain_bond *out) FL_MUST_CHECK;
/* The validator set in force for the next block, sorted by pubkey. */
int chain_get_validators(chain_store *s, chain_genesis_validator **out, size_t *n) FL_MUST_CHECK;

/*
 * The validator set in force at `height` (the one that proposes and signs
 * block `height`), for any height from 1 to the next block (tip + 1); the
 * store keeps each set from the height it took over. FL_ENOTFOUND for 0
 * and beyond tip + 1.
 */
int chain_get_validator_set(chain_store *s, uint64_t height,
			    chain_validator_set *out) FL_MUST_CHECK;

/*
 * Does `c` finalise block `block_hash` at `height`? Its height and block
 * hash are those (FL_EINVAL); its signers are sorted with no duplicate
 * (FL_EINVAL) and each is in the set in force at `height` (FL_EPERM); each
 * signature is that validator's PRECOMMIT for (height, c->round,
 * block_hash) on `chain_id` (FL_ESIG); the signers hold more than 2/3 of
 * that set's power (FL_EPERM). FL_ENOTFOUND when the set at `height` is not
 * known (see chain_get_validator_set). Sync checks old blocks with it.
 */
int chain_verify_commit(chain_store *s, const char *chain_id, uint64_t height,
			const fl_hash *block_hash, const chain_commit *c) FL_MUST_CHECK;

/*
 * Stores the commit that finalised the tip block, so that a restarted node
 * can still prove its tip (the next block would carry it, but there is no
 * next block yet). It must be for the tip's height and hash and verify as
 * chain_verify_commit does; FL_ESTATE at height 0. A later call replaces it.
 */
int chain_store_put_tip_commit(chain_store *s, const chain_commit *c) FL_MUST_CHECK;

/*
 * The commit of block `height`: for a height below the tip the last_commit
 * of the block after it, for the tip the stored tip commit (FL_ENOTFOUND if
 * none was stored since that block). FL_ENOTFOUND for 0 or above the tip.
 */
int chain_get_commit(chain_store *s, uint64_t height, chain_commit *out) FL_MUST_CHECK;

/*
 * A read snapshot: one LMDB read transaction. Every chain_snap_* lookup on
 * it reads the height that was committed when it began, whatever blocks
 * commit meanwhile (from this thread or another), so a response built from
 * several lookups describes one height. Each chain_get_* above is its
 * chain_snap_* on a snapshot of its own. Results are copied out, as there.
 *
 * Hold one briefly: LMDB keeps every page it sees until it ends, and the
 * map cannot grow while any is open (a block applied by the thread that
 * holds one fails with FL_EDB if it needs a bigger map; docs/store.md).
 * One thread at a time per snapshot. Snapshots and lookups share
 * CHAIN_STORE_MAX_READERS reader slots (one is the store's own): beyond
 * them chain_snapshot_begin, like any lookup, returns FL_ETOOBIG.
 */
#define CHAIN_STORE_MAX_READERS 126
typedef struct chain_snapshot chain_snapshot;
int chain_snapshot_begin(chain_store *s, chain_snapshot **out) FL_MUST_CHECK;
/* NULL is a no-op. */
void chain_snapshot_end(chain_snapshot *snap);

int chain_snap_info(chain_snapshot *snap, chain_info *out) FL_MUST_CHECK;
int chain_snap_get_state_hash(chain_snapshot *snap, chain_lthash *out) FL_MUST_CHECK;
int chain_snap_get_account(chain_snapshot *snap, const fl_pubkey *id,
			   chain_account *out) FL_MUST_CHECK;
int chain_snap_get_bond(chain_snapshot *snap, const fl_pubkey *id, chain_bond *out) FL_MUST_CHECK;
int chain_snap_get_profile(chain_snapshot *snap, const char *id, chain_profile *def,
			   chain_profile_state *state) FL_MUST_CHECK;
int chain_snap_list_profiles(chain_snapshot *snap, char (**ids)[CHAIN_PROFILE_ID_MAX + 1],
			     size_t *n) FL_MUST_CHECK;
int chain_snap_get_round(chain_snapshot *snap, const char *profile, uint64_t round,
			 chain_round *out) FL_MUST_CHECK;
int chain_snap_get_join(chain_snapshot *snap, const char *profile, const fl_pubkey *pk,
			chain_tx_round_join *join, uint64_t *height) FL_MUST_CHECK;
int chain_snap_get_round_updates(chain_snapshot *snap, const char *profile, uint64_t round,
				 chain_update_record **out, size_t *n) FL_MUST_CHECK;
int chain_snap_get_round_evals(chain_snapshot *snap, const char *profile, uint64_t round,
			       chain_eval **out, size_t *n) FL_MUST_CHECK;
int chain_snap_get_round_rewards(chain_snapshot *snap, const char *profile, uint64_t round,
				 chain_reward **out, size_t *n) FL_MUST_CHECK;
int chain_snap_get_block(chain_snapshot *snap, uint64_t height, uint8_t **bytes,
			 size_t *n) FL_MUST_CHECK;
int chain_snap_get_block_height(chain_snapshot *snap, const fl_hash *hash,
				uint64_t *height) FL_MUST_CHECK;
int chain_snap_get_tx_location(chain_snapshot *snap, const fl_hash *tx_hash, uint64_t *height,
			       uint32_t *index) FL_MUST_CHECK;
int chain_snap_get_validators(chain_snapshot *snap, chain_genesis_validator **out,
			      size_t *n) FL_MUST_CHECK;
/* chain_get_validator_set and chain_get_commit on the snapshot's height. */
int chain_snap_get_validator_set(chain_snapshot *snap, uint64_t height,
				 chain_validator_set *out) FL_MUST_CHECK;
int chain_snap_get_commit(chain_snapshot *snap, uint64_t height, chain_commit *out) FL_MUST_CHECK;

/* ------------------------------------------------------- election */

typedef struct {
	fl_pubkey id;
	uint64_t weight; /* > 0 */
} chain_candidate;

/*
 * Draws up to k (<= CHAIN_MAX_COORDINATORS) distinct candidates without
 * replacement, each draw with probability proportional to weight, from a
 * stream of SHA-256(beacon || profile || round || counter) values with
 * rejection sampling (no modulo bias). The candidates' order must be
 * canonical (sorted by id); the result does not depend on anything else.
 */
int chain_elect(fl_pubkey *out, uint32_t *n_out, uint32_t k, const chain_candidate *cands,
		size_t n_cands, const fl_hash *beacon, const char *profile,
		uint64_t round) FL_MUST_CHECK;
/* A candidate's weight: floor(bonded / stake_unit) * reputation, saturating.
 * 0 (less than one stake_unit bonded) is not a candidate. */
uint64_t chain_election_weight(uint64_t bonded, uint32_t reputation, uint64_t stake_unit);

#endif
