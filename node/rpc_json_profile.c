/*
 * node/rpc_json_profile.c — the API's JSON for profiles and rounds: a
 * profile's definition and state, a round, its committed updates and its
 * rewards, every field by its chain.h name and enums by their names.
 */
#include "node/rpc_internal.h"

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] != NULL ? names[v] : "unknown";
}

const char *node__rpc_profile_status_name(uint8_t v)
{
	static const char *const names[] = {NULL,       "proposed", "active",
					    "rejected", "retired",  "expired"};

	return name_of(names, FL_ARRAY_LEN(names), v);
}

const char *node__rpc_round_status_name(uint8_t v)
{
	static const char *const names[] = {NULL, "open", "aggregating", "committed", "failed"};

	return name_of(names, FL_ARRAY_LEN(names), v);
}

static const char *task_name(uint8_t v)
{
	static const char *const names[] = {NULL, "classification"};

	return name_of(names, FL_ARRAY_LEN(names), v);
}

static const char *metric_name(uint8_t v)
{
	static const char *const names[] = {NULL, "accuracy", "latency", "energy"};

	return name_of(names, FL_ARRAY_LEN(names), v);
}

static const char *agg_rule_name(uint8_t v)
{
	static const char *const names[] = {NULL,           "fedavg",    "median",
					    "trimmed_mean", "multikrum", "norm_bound"};

	return name_of(names, FL_ARRAY_LEN(names), v);
}

static const char *activation_name(uint8_t v)
{
	static const char *const names[] = {"none", "relu"};

	return name_of(names, FL_ARRAY_LEN(names), v);
}

static json_t *model_json(const chain_model_spec *m)
{
	json_t *o = json_object(), *sizes = json_array(), *acts = json_array();
	int ok = 1;
	uint32_t n = m->n_layers <= CHAIN_MAX_LAYERS ? m->n_layers : CHAIN_MAX_LAYERS;

	for (uint32_t i = 0; sizes != NULL && i <= n; i++)
		node__rpc_append(sizes, json_integer(m->sizes[i]), &ok);
	for (uint32_t i = 0; acts != NULL && i < n; i++)
		node__rpc_append(acts, json_string(activation_name(m->activations[i])), &ok);
	node__rpc_set(o, "sizes", sizes, &ok);
	node__rpc_set(o, "activations", acts, &ok);
	return node__rpc_done(o, ok);
}

json_t *node__rpc_profile_json(const chain_profile *p)
{
	json_t *o = json_object(), *labels = json_array(), *summary = json_array();
	int ok = 1;

	for (uint32_t i = 0; labels != NULL && i < p->n_labels && i < CHAIN_MAX_LABELS; i++)
		node__rpc_append(labels, json_integer(p->labels[i]), &ok);
	for (uint32_t i = 0; summary != NULL && i < p->n_summary && i < CHAIN_SUMMARY_MAX; i++)
		node__rpc_append(summary, json_integer(p->summary[i]), &ok);
	node__rpc_set(o, "id", json_string(p->id), &ok);
	node__rpc_set(o, "parent", json_string(p->parent), &ok);
	node__rpc_set(o, "name", json_string(p->name), &ok);
	node__rpc_set(o, "data_type", json_string(p->data_type), &ok);
	node__rpc_set(o, "labels", labels, &ok);
	node__rpc_set(o, "summary", summary, &ok);
	node__rpc_set(o, "task", json_string(task_name(p->task)), &ok);
	node__rpc_set(o, "metric", json_string(metric_name(p->metric)), &ok);
	node__rpc_set(o, "metric_target", node__rpc_u64(p->metric_target), &ok);
	node__rpc_set(o, "model", model_json(&p->model), &ok);
	node__rpc_set(o, "init_seed", node__rpc_u64(p->init_seed), &ok);
	node__rpc_set(o, "local_epochs", json_integer(p->local_epochs), &ok);
	node__rpc_set(o, "batch_size", json_integer(p->batch_size), &ok);
	node__rpc_set(o, "lr_ppm", json_integer(p->lr_ppm), &ok);
	node__rpc_set(o, "momentum_ppm", json_integer(p->momentum_ppm), &ok);
	node__rpc_set(o, "weight_decay_ppm", json_integer(p->weight_decay_ppm), &ok);
	node__rpc_set(o, "prox_mu_ppm", json_integer(p->prox_mu_ppm), &ok);
	node__rpc_set(o, "agg_rule", json_string(agg_rule_name(p->agg_rule)), &ok);
	node__rpc_set(o, "agg_param", json_integer(p->agg_param), &ok);
	node__rpc_set(o, "server_momentum_ppm", json_integer(p->server_momentum_ppm), &ok);
	node__rpc_set(o, "dp_clip_ppm", json_integer(p->dp_clip_ppm), &ok);
	node__rpc_set(o, "dp_noise_ppm", json_integer(p->dp_noise_ppm), &ok);
	node__rpc_set(o, "secure_agg", json_boolean(p->secure_agg), &ok);
	node__rpc_set(o, "window_blocks", json_integer(p->window_blocks), &ok);
	node__rpc_set(o, "deadline_blocks", json_integer(p->deadline_blocks), &ok);
	node__rpc_set(o, "min_participants", json_integer(p->min_participants), &ok);
	node__rpc_set(o, "reward_per_round", node__rpc_u64(p->reward_per_round), &ok);
	node__rpc_set(o, "coordinator_share_bps", json_integer(p->coordinator_share_bps), &ok);
	node__rpc_set(o, "max_samples_weight", json_integer(p->max_samples_weight), &ok);
	return node__rpc_done(o, ok);
}

json_t *node__rpc_profile_state_json(const chain_profile_state *st)
{
	json_t *o = json_object();
	int ok = 1;

	node__rpc_set(o, "status", json_string(node__rpc_profile_status_name(st->status)), &ok);
	node__rpc_set(o, "proposed_height", node__rpc_u64(st->proposed_height), &ok);
	node__rpc_set(o, "proposer", node__rpc_key(&st->proposer), &ok);
	node__rpc_set(o, "activated_height", node__rpc_u64(st->activated_height), &ok);
	node__rpc_set(o, "model_hash", node__rpc_hash(&st->model_hash), &ok);
	node__rpc_set(o, "round", node__rpc_u64(st->round), &ok);
	node__rpc_set(o, "rounds_committed", node__rpc_u64(st->rounds_committed), &ok);
	return node__rpc_done(o, ok);
}

json_t *node__rpc_round_json(const chain_round *rd)
{
	json_t *o = json_object(), *coords = json_array();
	int ok = 1;

	for (uint32_t i = 0; coords != NULL && i < rd->n_coordinators && i < CHAIN_MAX_COORDINATORS;
	     i++)
		node__rpc_append(coords, node__rpc_key(&rd->coordinators[i]), &ok);
	node__rpc_set(o, "profile", json_string(rd->profile), &ok);
	node__rpc_set(o, "round", node__rpc_u64(rd->round), &ok);
	node__rpc_set(o, "status", json_string(node__rpc_round_status_name(rd->status)), &ok);
	node__rpc_set(o, "open_height", node__rpc_u64(rd->open_height), &ok);
	node__rpc_set(o, "window_end", node__rpc_u64(rd->window_end), &ok);
	node__rpc_set(o, "beacon", node__rpc_hash(&rd->beacon), &ok);
	node__rpc_set(o, "base_model", node__rpc_hash(&rd->base_model), &ok);
	node__rpc_set(o, "coordinators", coords, &ok);
	node__rpc_set(o, "n_updates", json_integer(rd->n_updates), &ok);
	node__rpc_set(o, "commit_height", node__rpc_u64(rd->commit_height), &ok);
	node__rpc_set(o, "committed_by", node__rpc_key(&rd->committed_by), &ok);
	node__rpc_set(o, "new_model", node__rpc_hash(&rd->new_model), &ok);
	node__rpc_set(o, "eval_accuracy_ppm", json_integer(rd->eval_accuracy_ppm), &ok);
	node__rpc_set(o, "eval_loss_ppm", json_integer(rd->eval_loss_ppm), &ok);
	node__rpc_set(o, "reward_total", node__rpc_u64(rd->reward_total), &ok);
	return node__rpc_done(o, ok);
}

json_t *node__rpc_update_json(const chain_update_record *u)
{
	json_t *o = json_object();
	int ok = 1;

	node__rpc_set(o, "participant", node__rpc_key(&u->participant), &ok);
	node__rpc_set(o, "update", node__rpc_hash(&u->update), &ok);
	node__rpc_set(o, "base_model", node__rpc_hash(&u->base_model), &ok);
	node__rpc_set(o, "n_samples", node__rpc_u64(u->n_samples), &ok);
	node__rpc_set(o, "height", node__rpc_u64(u->height), &ok);
	node__rpc_set(o, "train_loss_ppm", json_integer(u->train_loss_ppm), &ok);
	node__rpc_set(o, "train_accuracy_ppm", json_integer(u->train_accuracy_ppm), &ok);
	return node__rpc_done(o, ok);
}

json_t *node__rpc_reward_json(const chain_reward *rw)
{
	json_t *o = json_object();
	int ok = 1;

	node__rpc_set(o, "account", node__rpc_key(&rw->account), &ok);
	node__rpc_set(o, "amount", node__rpc_u64(rw->amount), &ok);
	node__rpc_set(o, "weight", node__rpc_u64(rw->weight), &ok);
	return node__rpc_done(o, ok);
}

json_t *node__rpc_eval_json(const chain_eval *e)
{
	json_t *o = json_object();
	int ok = 1;

	node__rpc_set(o, "reporter", node__rpc_key(&e->reporter), &ok);
	node__rpc_set(o, "model", node__rpc_hash(&e->model), &ok);
	node__rpc_set(o, "n_samples", node__rpc_u64(e->n_samples), &ok);
	node__rpc_set(o, "metric_value", node__rpc_u64(e->metric_value), &ok);
	node__rpc_set(o, "height", node__rpc_u64(e->height), &ok);
	return node__rpc_done(o, ok);
}
