/*
 * node/round_work_internal.h — what the files of node/round_work.h share:
 * the canonical blob and hash of a model, and the checks of one committed
 * update and the combine step that both the coordinator's aggregate and a
 * validator's verification run, so the two never disagree on what a usable
 * update is.
 */
#ifndef FEDLEDGER_NODE_ROUND_WORK_INTERNAL_H
#define FEDLEDGER_NODE_ROUND_WORK_INTERNAL_H

#include "node/round_work.h"

/* m's canonical blob (*blob fl_malloc'd, or NULL: only the hash) and its
 * SHA-256. */
int node__round_model_hash(fl_hash *hash, uint8_t **blob, size_t *n,
			   const fl_model *m) FL_MUST_CHECK;

/* Decodes in's blob into *u when it is present, hashes to in->hash, is an
 * update of rp->spec and carries in->n_samples; *status says which check
 * failed otherwise (*u then zeroed). FL_OK whatever the status; only
 * FL_ENOMEM is an error. */
int node__round_input_decode(fl_update *u, node_round_input_status *status,
			     const node_round_params *rp, const node_round_input *in) FL_MUST_CHECK;

/* The aggregate of ups[0..n) by rp's rule with p's max_samples_weight cap,
 * checked to weigh at least p->min_participants of them, applied to base
 * into *next (a zeroed model, allocated). FL_EINVAL with *why set when the
 * rule refuses the count or too few get weight > 0; FL_ENOMEM. */
int node__round_combine(fl_agg_result *agg, fl_model *next, const node_round_params *rp,
			const chain_profile *p, const fl_model *base, const fl_update *const *ups,
			size_t n, const char **why) FL_MUST_CHECK;

#endif
