/*
 * node/round_work.h — the learning a node does for a profile's rounds, as
 * pure functions of their inputs: training a member's update, aggregating
 * a round as its coordinator, and recomputing an aggregate as a validator
 * before it prevotes (docs/rounds.md, "The node's part"). No loop, no store,
 * no clock: node/node_round.c calls these on the libuv thread pool with the
 * blobs it holds, so every function here is thread-safe on distinct
 * arguments and never touches the loop.
 *
 * Determinism: an update is trained with the rng of
 * fl_rng_derive(seed, round, client), exactly as fedledger-sim trains client
 * `client` in round `round` (tools/sim.c), so a testnet's members and the
 * simulation over the same shares produce the same bytes. An aggregate is
 * fl_aggregate (integer arithmetic) applied to the base model with
 * fl_update_apply, so every validator recomputes the new model's blob bit
 * for bit whatever its thread count.
 *
 * Blobs here are the canonical, uncompressed bytes whose SHA-256 is the
 * hash named on chain (fl_blob_encode_*); compression for disk and wire is
 * the blob store's business.
 */
#ifndef FEDLEDGER_NODE_ROUND_WORK_H
#define FEDLEDGER_NODE_ROUND_WORK_H

#include "chain/chain.h"
#include "fl/fl.h"

/* The fl/ view of a profile's model, training, privacy and aggregation.
 * FL_EINVAL (with *field naming the profile field) for what the node
 * cannot run: server momentum (its velocity is not on chain), secure
 * aggregation, a model fl/ refuses. */
typedef struct {
	fl_spec spec;
	fl_train_params tp;
	fl_agg_params agg; /* threads 1; the caller may raise it */
	double dp_clip;    /* L2 clip norm; 0 = no DP */
	double dp_noise;   /* noise multiplier z: stddev z * dp_clip */
} node_round_params;

int node_round_params_from_profile(node_round_params *out, const chain_profile *p,
				   const char **field) FL_MUST_CHECK;

/* The model a round trains from: base zero means round 1, which starts
 * from fl_model_init(spec, p->init_seed); otherwise blob (n bytes) must
 * hash to base, decode, and have the profile's spec (FL_EINVAL,
 * FL_ECORRUPT otherwise). *out is allocated (fl_model_free). */
int node_round_base_model(fl_model *out, const node_round_params *rp, uint64_t init_seed,
			  const fl_hash *base, const uint8_t *blob, size_t n) FL_MUST_CHECK;

/* What a member trains on: its share of a dataset (idx[0..n) into d, in
 * ascending order), and how its rng is seeded. Borrowed, read-only. */
typedef struct {
	const fl_dataset *d;
	const uint32_t *idx;
	size_t n;
	uint64_t seed;   /* fedledger-sim's --seed */
	uint32_t client; /* fedledger-sim's client index */
} node_round_share;

/* A trained update: its canonical blob, hash and the figures that go into
 * update_commit. */
typedef struct {
	uint8_t *blob; /* fl_malloc'd */
	size_t n;
	fl_hash hash;
	uint64_t n_samples;
	uint32_t train_loss_ppm;     /* saturating at UINT32_MAX */
	uint32_t train_accuracy_ppm; /* 0..CHAIN_PPM */
	double seconds;              /* training alone */
} node_round_update;

/* Trains `round` (1-based) of a profile from base on the share: local
 * epochs with the profile's hyper-parameters, then DP (clip, noise) when
 * the profile asks, then quantisation (fl_update_from_models or, with DP,
 * the same clip/noise/quantise steps as fedledger-sim). `trainer` is the
 * calling thread's workspace for rp->spec (NULL: one is made and freed).
 * FL_EINVAL for an empty share or a share whose labels do not fit the
 * model's outputs, FL_ENOMEM. */
int node_round_train(node_round_update *out, const node_round_params *rp, const fl_model *base,
		     const node_round_share *share, uint64_t round,
		     fl_trainer *trainer) FL_MUST_CHECK;
void node_round_update_free(node_round_update *u);

/* One committed update as the coordinator or a validator holds it. */
typedef struct {
	fl_pubkey participant;
	fl_hash hash;        /* committed in update_commit */
	uint64_t n_samples;  /* committed in update_commit */
	const uint8_t *blob; /* its canonical bytes, NULL when not fetched */
	size_t n;
} node_round_input;

/* Why an input was left out by node_round_aggregate. */
typedef enum {
	NODE_ROUND_IN_OK = 0,
	NODE_ROUND_IN_MISSING = 1, /* no blob: its participant never served it */
	NODE_ROUND_IN_HASH = 2,    /* the blob does not hash to the committed hash */
	NODE_ROUND_IN_DECODE = 3,  /* not an update blob of the profile's spec */
	NODE_ROUND_IN_SAMPLES = 4, /* the blob's n_samples differs from the commit */
} node_round_input_status;

/* A round's aggregate: the new model and what aggregate_commit names. */
typedef struct {
	uint8_t *blob; /* the new model's canonical blob, fl_malloc'd */
	size_t n;
	fl_hash hash;
	uint32_t n_entries;             /* the inputs used, sorted by participant */
	chain_aggregate_entry *entries; /* fl_malloc'd; weight 0 = the rule rejected it */
	double seconds;
} node_round_aggregate_result;

/*
 * The coordinator's aggregate of in[0..n): every input whose blob is
 * present, hashes to its hash, decodes to an update of the profile's spec
 * with the committed n_samples, is used (status[i] = NODE_ROUND_IN_OK);
 * the others are left out with their reason in status (n entries, may be
 * NULL). The used inputs are aggregated with the profile's rule (entries
 * sorted by participant, weights as fl_aggregate gives them, capped by
 * max_samples_weight) and applied to base. FL_EINVAL when fewer than
 * min_participants inputs are usable or get weight > 0, or the rule
 * refuses their count; FL_ENOMEM.
 */
int node_round_aggregate(node_round_aggregate_result *out, const node_round_params *rp,
			 const chain_profile *p, const fl_model *base, const node_round_input *in,
			 size_t n, node_round_input_status *status) FL_MUST_CHECK;
void node_round_aggregate_result_free(node_round_aggregate_result *r);

/*
 * A validator's check of an aggregate_commit `a` against the inputs it
 * holds, before it prevotes: in[] must hold, for each of a's entries in
 * order, the committed update (participant, hash, n_samples) with its blob.
 * Recomputes the aggregate over exactly those updates and compares every
 * weight and the new model's hash. Returns
 *   FL_OK               they match; model_blob (when not NULL) receives the
 *                       new model's blob, fl_malloc'd, so the validator
 *                       stores and serves it;
 *   NODE_ROUND_MISMATCH the weights match but a->new_model is not what the
 *                       updates give: *recomputed is the hash the validator
 *                       got, which its BAD_AGGREGATE evidence names;
 *   FL_ENOTFOUND        an entry's blob is absent: the validator cannot
 *                       check (it prevotes nil, files no evidence);
 *   FL_EINVAL           an input that is not the committed update, a weight
 *                       other than the rule's, a base that is not a's;
 *   FL_ENOMEM.
 * *why is a short static reason for the log in every failure.
 */
#define NODE_ROUND_MISMATCH 1 /* positive: not an error of the node's own */
int node_round_verify(const node_round_params *rp, const chain_profile *p, const fl_model *base,
		      const chain_tx_aggregate_commit *a, const node_round_input *in,
		      fl_hash *recomputed, uint8_t **model_blob, size_t *model_n,
		      const char **why) FL_MUST_CHECK;

/* The model's figures on a held-out set, in chain units (ppm). */
int node_round_evaluate(const node_round_params *rp, const fl_model *m, const fl_dataset *test,
			uint32_t *accuracy_ppm, uint32_t *loss_ppm) FL_MUST_CHECK;

/*
 * Clustered FL (Sattler, Müller, Samek, "Clustered Federated Learning",
 * 2019): the pairwise cosine similarities of the updates' directions,
 * split in two by complete linkage (the bipartition that minimises the
 * largest similarity across it). *clear is set when the split is clear:
 * both sides hold at least NODE_ROUND_CLUSTER_MIN updates, and the largest
 * cross-cluster similarity is below NODE_ROUND_CLUSTER_CROSS_MAX while
 * each cluster's members are closer to each other than to the other side.
 * side[i] is 0 or 1 for updates[i] (side of updates[0] is 0). Not part of
 * consensus: only a coordinator's proposal, so doubles are fine here.
 * FL_EINVAL for n < 2 or mixed specs, FL_ENOMEM.
 */
#define NODE_ROUND_CLUSTER_MIN       2
#define NODE_ROUND_CLUSTER_CROSS_MAX 0.25
int node_round_clusters(const fl_update *const *updates, size_t n, uint8_t *side, int *clear,
			double *max_cross) FL_MUST_CHECK;

#endif
