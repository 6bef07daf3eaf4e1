/*
 * tests/chain/test_tx_fields.c — every field of every tx kind is part of the
 * encoding: changing any one (to another valid value) changes the tx hash,
 * and every field but the signature changes the sighash.
 */
#include "chain/chain.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <string.h>

typedef struct {
	int kind;
	int variant;
	const char *name;
	void (*change)(chain_tx *tx);
} field_change;

#define CHANGE(fn, stmt)                                                                           \
	static void fn(chain_tx *tx)                                                               \
	{                                                                                          \
		stmt;                                                                              \
	}

static void other_hash(fl_hash *h)
{
	h->b[0] ^= 0x5a;
}

static void other_key(fl_pubkey *pk)
{
	chain_sample_key(NULL, pk, 99);
}

CHANGE(env_sender, other_key(&tx->sender))
CHANGE(env_nonce, tx->nonce++)
CHANGE(xfer_to, other_key(&tx->u.transfer.to))
CHANGE(xfer_amount, tx->u.transfer.amount++)
CHANGE(member_key, other_key(&tx->u.member.member))
CHANGE(member_name, tx->u.member.name[0] = 'H')
CHANGE(member_kind, tx->kind = CHAIN_TX_MEMBER_REMOVE)
CHANGE(vote_profile, tx->u.profile_vote.profile[0] = 'n')
CHANGE(vote_choice, tx->u.profile_vote.choice = CHAIN_VOTE_RETIRE)
CHANGE(join_profile, tx->u.round_join.profile[0] = 'n')
CHANGE(join_labels, tx->u.round_join.labels[2]++)
CHANGE(join_counts, (tx->u.round_join.label_counts[0]++, tx->u.round_join.n_samples++))
CHANGE(join_n_labels, (tx->u.round_join.n_labels = 2,
		       tx->u.round_join.n_samples -= tx->u.round_join.label_counts[2]))
CHANGE(join_summary, tx->u.round_join.summary[1]++)
CHANGE(join_n_summary, tx->u.round_join.n_summary = 1)
CHANGE(upd_profile, tx->u.update_commit.profile[0] = 'n')
CHANGE(upd_round, tx->u.update_commit.round++)
CHANGE(upd_base, other_hash(&tx->u.update_commit.base_model))
CHANGE(upd_update, other_hash(&tx->u.update_commit.update))
CHANGE(upd_samples, tx->u.update_commit.n_samples++)
CHANGE(upd_loss, tx->u.update_commit.train_loss_ppm++)
CHANGE(upd_acc, tx->u.update_commit.train_accuracy_ppm++)
CHANGE(agg_profile, tx->u.aggregate_commit.profile[0] = 'n')
CHANGE(agg_round, tx->u.aggregate_commit.round++)
CHANGE(agg_base, other_hash(&tx->u.aggregate_commit.base_model))
CHANGE(agg_new, other_hash(&tx->u.aggregate_commit.new_model))
CHANGE(agg_n_entries, tx->u.aggregate_commit.n_entries = 2)
CHANGE(agg_participant, tx->u.aggregate_commit.entries[2].participant.b[31] ^= 1)
CHANGE(agg_update, other_hash(&tx->u.aggregate_commit.entries[1].update))
CHANGE(agg_weight, tx->u.aggregate_commit.entries[0].weight = 0)
CHANGE(agg_acc, tx->u.aggregate_commit.eval_accuracy_ppm++)
CHANGE(agg_loss, tx->u.aggregate_commit.eval_loss_ppm++)
CHANGE(eval_profile, tx->u.eval_report.profile[0] = 'n')
CHANGE(eval_round, tx->u.eval_report.round++)
CHANGE(eval_model, other_hash(&tx->u.eval_report.model))
CHANGE(eval_samples, tx->u.eval_report.n_samples++)
CHANGE(eval_metric, tx->u.eval_report.metric_value++)
CHANGE(ds_height, (tx->u.evidence.vote_a.height++, tx->u.evidence.vote_b.height++))
CHANGE(ds_round, (tx->u.evidence.vote_a.round++, tx->u.evidence.vote_b.round++))
CHANGE(ds_type, (tx->u.evidence.vote_a.type = CHAIN_VOTE_PREVOTE,
		 tx->u.evidence.vote_b.type = CHAIN_VOTE_PREVOTE))
CHANGE(ds_hash, tx->u.evidence.vote_b.block_hash.b[31] ^= 1)
CHANGE(ds_validator,
       (other_key(&tx->u.evidence.vote_a.validator), other_key(&tx->u.evidence.vote_b.validator)))
CHANGE(ds_sig_a, tx->u.evidence.vote_a.sig.b[0] ^= 1)
CHANGE(ds_sig_b, tx->u.evidence.vote_b.sig.b[63] ^= 1)
CHANGE(ba_tx, tx->u.evidence.aggregate_tx[tx->u.evidence.aggregate_tx_len - 1] ^= 1)
CHANGE(ba_recomputed, other_hash(&tx->u.evidence.recomputed_model))

/* profile_propose: every field of the profile */
#define P (tx->u.profile_propose)
CHANGE(pp_id, P.id[0] = 'n')
CHANGE(pp_parent, P.parent[0] = '\0')
CHANGE(pp_name, P.name[0] = 'h')
CHANGE(pp_data_type, P.data_type[0] = 'j')
/* every output 0..9 is a label already: a different set within them is smaller */
CHANGE(pp_labels, (P.n_labels = 9, P.labels[8] = 9))
CHANGE(pp_n_labels, P.n_labels = 9)
CHANGE(pp_summary, P.summary[2]--)
CHANGE(pp_n_summary, P.n_summary = 0)
CHANGE(pp_metric, (P.metric = CHAIN_METRIC_LATENCY, P.metric_target = 50))
CHANGE(pp_metric_target, P.metric_target++)
CHANGE(pp_n_layers,
       (P.model.n_layers = 1, P.model.sizes[1] = 10, P.model.activations[0] = CHAIN_ACT_NONE))
CHANGE(pp_sizes, P.model.sizes[1]++)
CHANGE(pp_activation, P.model.activations[0] = CHAIN_ACT_NONE)
CHANGE(pp_init_seed, P.init_seed++)
CHANGE(pp_epochs, P.local_epochs++)
CHANGE(pp_batch, P.batch_size++)
CHANGE(pp_lr, P.lr_ppm++)
CHANGE(pp_momentum, P.momentum_ppm++)
CHANGE(pp_decay, P.weight_decay_ppm++)
CHANGE(pp_prox, P.prox_mu_ppm++)
CHANGE(pp_rule, (P.agg_rule = CHAIN_AGG_TRIMMED_MEAN, P.agg_param = 100000))
CHANGE(pp_param, (P.agg_rule = CHAIN_AGG_MULTIKRUM, P.agg_param = 1))
CHANGE(pp_server_momentum, P.server_momentum_ppm++)
CHANGE(pp_clip, P.dp_clip_ppm++)
CHANGE(pp_noise, P.dp_noise_ppm++)
CHANGE(pp_secure, P.secure_agg = 0)
CHANGE(pp_window, P.window_blocks++)
CHANGE(pp_deadline, P.deadline_blocks++)
CHANGE(pp_min, P.min_participants++)
CHANGE(pp_reward, P.reward_per_round++)
CHANGE(pp_share, P.coordinator_share_bps++)
CHANGE(pp_max_weight, P.max_samples_weight++)
#undef P

static const field_change changes[] = {
    {CHAIN_TX_TRANSFER, 0, "sender", env_sender},
    {CHAIN_TX_TRANSFER, 0, "nonce", env_nonce},
    {CHAIN_TX_TRANSFER, 0, "to", xfer_to},
    {CHAIN_TX_TRANSFER, 0, "amount", xfer_amount},
    {CHAIN_TX_MEMBER_ADD, 0, "member", member_key},
    {CHAIN_TX_MEMBER_ADD, 0, "name", member_name},
    {CHAIN_TX_MEMBER_ADD, 0, "kind", member_kind},
    {CHAIN_TX_PROFILE_VOTE, 0, "profile", vote_profile},
    {CHAIN_TX_PROFILE_VOTE, 0, "choice", vote_choice},
    {CHAIN_TX_ROUND_JOIN, 0, "profile", join_profile},
    {CHAIN_TX_ROUND_JOIN, 0, "labels", join_labels},
    {CHAIN_TX_ROUND_JOIN, 0, "label_counts", join_counts},
    {CHAIN_TX_ROUND_JOIN, 0, "n_labels", join_n_labels},
    {CHAIN_TX_ROUND_JOIN, 0, "summary", join_summary},
    {CHAIN_TX_ROUND_JOIN, 0, "n_summary", join_n_summary},
    {CHAIN_TX_UPDATE_COMMIT, 0, "profile", upd_profile},
    {CHAIN_TX_UPDATE_COMMIT, 0, "round", upd_round},
    {CHAIN_TX_UPDATE_COMMIT, 0, "base_model", upd_base},
    {CHAIN_TX_UPDATE_COMMIT, 0, "update", upd_update},
    {CHAIN_TX_UPDATE_COMMIT, 0, "n_samples", upd_samples},
    {CHAIN_TX_UPDATE_COMMIT, 0, "train_loss_ppm", upd_loss},
    {CHAIN_TX_UPDATE_COMMIT, 0, "train_accuracy_ppm", upd_acc},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "profile", agg_profile},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "round", agg_round},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "base_model", agg_base},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "new_model", agg_new},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "n_entries", agg_n_entries},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "entries.participant", agg_participant},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "entries.update", agg_update},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "entries.weight", agg_weight},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "eval_accuracy_ppm", agg_acc},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "eval_loss_ppm", agg_loss},
    {CHAIN_TX_EVAL_REPORT, 0, "profile", eval_profile},
    {CHAIN_TX_EVAL_REPORT, 0, "round", eval_round},
    {CHAIN_TX_EVAL_REPORT, 0, "model", eval_model},
    {CHAIN_TX_EVAL_REPORT, 0, "n_samples", eval_samples},
    {CHAIN_TX_EVAL_REPORT, 0, "metric_value", eval_metric},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, "votes.height", ds_height},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, "votes.round", ds_round},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, "votes.type", ds_type},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, "vote_b.block_hash", ds_hash},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, "votes.validator", ds_validator},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, "vote_a.sig", ds_sig_a},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, "vote_b.sig", ds_sig_b},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_BAD_AGGREGATE, "aggregate_tx", ba_tx},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_BAD_AGGREGATE, "recomputed_model", ba_recomputed},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "id", pp_id},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "parent", pp_parent},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "name", pp_name},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "data_type", pp_data_type},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "labels", pp_labels},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "n_labels", pp_n_labels},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "summary", pp_summary},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "n_summary", pp_n_summary},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "metric", pp_metric},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "metric_target", pp_metric_target},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "model.n_layers", pp_n_layers},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "model.sizes", pp_sizes},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "model.activations", pp_activation},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "init_seed", pp_init_seed},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "local_epochs", pp_epochs},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "batch_size", pp_batch},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "lr_ppm", pp_lr},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "momentum_ppm", pp_momentum},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "weight_decay_ppm", pp_decay},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "prox_mu_ppm", pp_prox},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "agg_rule", pp_rule},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "agg_param", pp_param},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "server_momentum_ppm", pp_server_momentum},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "dp_clip_ppm", pp_clip},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "dp_noise_ppm", pp_noise},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "secure_agg", pp_secure},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "window_blocks", pp_window},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "deadline_blocks", pp_deadline},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "min_participants", pp_min},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "reward_per_round", pp_reward},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "coordinator_share_bps", pp_share},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "max_samples_weight", pp_max_weight},
};

Test(tx_fields, every_field_changes_the_hashes)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(changes); i++) {
		const field_change *c = &changes[i];
		chain_tx tx;
		fl_hash h0, s0, h1, s1;

		cr_assert_eq(chain_sample_signed_tx(&tx, c->kind, c->variant, 1), FL_OK);
		cr_assert_eq(chain_tx_hash(&h0, &tx), FL_OK);
		cr_assert_eq(chain_tx_sighash(&s0, CHAIN_SAMPLE_CHAIN_ID, &tx), FL_OK);
		c->change(&tx);
		cr_assert_eq(chain_tx_hash(&h1, &tx), FL_OK, "%s %s: still valid",
			     chain_tx_kind_name(c->kind), c->name);
		cr_assert_eq(chain_tx_sighash(&s1, CHAIN_SAMPLE_CHAIN_ID, &tx), FL_OK);
		cr_assert_neq(fl_hash_cmp(&h0, &h1), 0, "%s %s: tx hash unchanged",
			      chain_tx_kind_name(c->kind), c->name);
		cr_assert_neq(fl_hash_cmp(&s0, &s1), 0, "%s %s: sighash unchanged",
			      chain_tx_kind_name(c->kind), c->name);
		/* the old signature no longer covers it */
		cr_assert_eq(chain_tx_verify(&tx, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG, "%s %s",
			     chain_tx_kind_name(c->kind), c->name);
		chain_tx_free(&tx);
	}
}

Test(tx_fields, the_signature_changes_only_the_tx_hash)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		chain_tx tx;
		fl_hash h0, s0, h1, s1;

		cr_assert_eq(chain_sample_signed_tx(&tx, chain_sample_cases[i].kind,
						    chain_sample_cases[i].variant, 1),
			     FL_OK);
		cr_assert_eq(chain_tx_hash(&h0, &tx), FL_OK);
		cr_assert_eq(chain_tx_sighash(&s0, CHAIN_SAMPLE_CHAIN_ID, &tx), FL_OK);
		tx.sig.b[17] ^= 0x80;
		cr_assert_eq(chain_tx_hash(&h1, &tx), FL_OK);
		cr_assert_eq(chain_tx_sighash(&s1, CHAIN_SAMPLE_CHAIN_ID, &tx), FL_OK);
		cr_assert_neq(fl_hash_cmp(&h0, &h1), 0);
		cr_assert_eq(fl_hash_cmp(&s0, &s1), 0);
		chain_tx_free(&tx);
	}
}
