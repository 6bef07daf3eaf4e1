/*
 * node/round_data.h — a member's local data for one profile's rounds: the
 * data set config.json names (rounds.data[], node/config.h), restricted to
 * the profile's labels, and the member's share of it, ready for
 * node_round_train (node/round_work.h) and for the round_join tx.
 *
 * The share is fedledger-sim's: the same fl/ calls in the same order
 * (fl_dataset_restrict to the labels, the partition over `clients` with
 * `seed`, fl_partition_cap to max_samples), so client `client`'s indices
 * equal sim_client_share's for the same flags (`fedledger-sim --clients
 * CLIENTS --seed SEED --max-samples MAX --profile-labels L` with --iid,
 * --alpha ALPHA_MILLI/1000 or --labels LABELS_K), and a testnet's model can
 * be compared with the simulation's bit for bit.
 *
 * Errors: FL_E* codes, and one line in err (NUL-terminated when errlen > 0)
 * naming the config field at fault by profile:
 *     rounds.data[clothing].train: cannot load IDX data/train-images.idx: not found
 */
#ifndef FEDLEDGER_NODE_ROUND_DATA_H
#define FEDLEDGER_NODE_ROUND_DATA_H

#include "chain/chain.h"
#include "fl/fl.h"
#include "node/config.h"
#include "node/round_work.h"

typedef struct {
	fl_dataset train; /* restricted to the labels; owned */
	uint32_t *idx;    /* the share: idx[0..n) into train, ascending; owned */
	size_t n;
	fl_dataset test;         /* restricted to the labels; n 0 when none is configured */
	uint64_t seed;           /* the config's seed: sim's --seed */
	uint32_t client;         /* the config's client */
	fl_data_summary summary; /* of the share */
} node_round_data;

/*
 * Loads c's data: fashion-mnist from c->dir, or c->train/c->test (IDX with
 * their label files, or CSV); a relative path is under home_dir (NULL: the
 * working directory). Keeps the samples whose label is in
 * labels[0..n_labels) (n_labels 0 = all), in train and test, then takes the
 * share of client c->client. n_classes is the profile model's outputs:
 * labels must be below it (the IDX and CSV loaders enforce it; fashion-mnist
 * must have exactly that many classes). FL_ENOTFOUND / FL_EIO / FL_ECORRUPT
 * / FL_EPARSE from the loaders, FL_EINVAL for a label, partition or share
 * the data cannot give (an empty share, labels_k above the classes),
 * FL_ENOMEM. On failure *out is zeroed and holds nothing.
 */
int node_round_data_load(node_round_data *out, const node_config_data *c, const char *home_dir,
			 const uint16_t *labels, size_t n_labels, uint32_t n_classes, char *err,
			 size_t errlen) FL_MUST_CHECK;
void node_round_data_free(node_round_data *d);

/* The round_join tx body for profile p: per label of p the share's count
 * (labels without samples left out), n_samples their sum, and as summary
 * each class's share of the samples in ppm (class ids 0.. up to
 * CHAIN_SUMMARY_MAX, the form of the example profiles' data.summary). */
void node_round_data_join(const node_round_data *d, const chain_profile *p,
			  chain_tx_round_join *out);

/* The share as node_round_train takes it, borrowing d. */
void node_round_data_share(const node_round_data *d, node_round_share *out);

#endif
