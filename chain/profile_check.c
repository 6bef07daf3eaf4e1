/*
 * chain/profile_check.c — the field ranges of a specialization profile.
 * The same check guards tx decode, tx encode and genesis, so a profile that
 * one path accepts no other path refuses. Ranges the header leaves open are
 * chosen here to keep every node's work bounded (see each comment).
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* Field names must be static strings: one per index, written out. */
static const char *const size_fields[CHAIN_MAX_LAYERS + 1] = {
    "model.sizes[0]", "model.sizes[1]", "model.sizes[2]", "model.sizes[3]", "model.sizes[4]",
    "model.sizes[5]", "model.sizes[6]", "model.sizes[7]", "model.sizes[8]",
};
static const char *const activation_fields[CHAIN_MAX_LAYERS] = {
    "model.activations[0]", "model.activations[1]", "model.activations[2]", "model.activations[3]",
    "model.activations[4]", "model.activations[5]", "model.activations[6]", "model.activations[7]",
};

static int bad(const char **field, const char *name)
{
	*field = name;
	return FL_EINVAL;
}

static int check_model(const chain_model_spec *m, const char **field)
{
	if (m->n_layers < 1 || m->n_layers > CHAIN_MAX_LAYERS)
		return bad(field, "model.n_layers");
	for (uint32_t i = 0; i <= m->n_layers; i++)
		if (m->sizes[i] < 1 || m->sizes[i] > CHAIN_MAX_LAYER_WIDTH)
			return bad(field, size_fields[i]);
	/* A classifier needs at least two classes to choose between. */
	if (m->sizes[m->n_layers] < 2)
		return bad(field, size_fields[m->n_layers]);
	for (uint32_t i = 0; i < m->n_layers; i++)
		if (m->activations[i] != CHAIN_ACT_NONE && m->activations[i] != CHAIN_ACT_RELU)
			return bad(field, activation_fields[i]);
	/* The softmax head reads raw logits. */
	if (m->activations[m->n_layers - 1] != CHAIN_ACT_NONE)
		return bad(field, activation_fields[m->n_layers - 1]);
	if (chain_model_spec_params(m) > CHAIN_MAX_MODEL_PARAMS)
		return bad(field, "model");
	return FL_OK;
}

/* Data types are lowercase words such as "image/28x28x1" or "tabular/16":
 * one spelling per type, so profiles match on equal strings. */
static int data_type_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("/._+-", s[i]) != NULL))
			return 0;
	return i >= 1 && i <= CHAIN_DATA_TYPE_MAX;
}

/* Inputs of an "image/WxHxC" sample, or 0 if the type is not of that form
 * (then nothing ties it to the input layer). Each side <= 10^6. */
static uint64_t image_inputs(const char *type)
{
	uint64_t dims[3] = {0, 0, 0};
	int d = 0;

	if (strncmp(type, "image/", 6) != 0)
		return 0;
	for (const char *c = type + 6; *c != '\0'; c++) {
		if (*c == 'x' && d < 2 && dims[d] > 0)
			d++;
		else if (*c >= '0' && *c <= '9' && dims[d] < 100000)
			dims[d] = dims[d] * 10 + (uint64_t)(*c - '0');
		else
			return 0;
	}
	if (d != 2 || dims[2] == 0)
		return 0;
	return dims[0] * dims[1] * dims[2];
}

static int check_metric(const chain_profile *p, const char **field)
{
	switch (p->metric) {
	case CHAIN_METRIC_ACCURACY:
		/* a target of zero accuracy says nothing */
		if (p->metric_target == 0 || p->metric_target > CHAIN_PPM)
			return bad(field, "metric_target");
		return FL_OK;
	case CHAIN_METRIC_LATENCY:
	case CHAIN_METRIC_ENERGY:
		/* a cost per sample of zero cannot be met */
		if (p->metric_target == 0)
			return bad(field, "metric_target");
		return FL_OK;
	default:
		return bad(field, "metric");
	}
}

static int check_aggregation(const chain_profile *p, const char **field)
{
	switch (p->agg_rule) {
	case CHAIN_AGG_FEDAVG:
	case CHAIN_AGG_MEDIAN:
		/* unused, so one canonical value */
		if (p->agg_param != 0)
			return bad(field, "agg_param");
		break;
	case CHAIN_AGG_TRIMMED_MEAN:
		/* trimming half from each side leaves nothing; trimming
		 * nothing is FedAvg, which has its own rule */
		if (p->agg_param == 0 || p->agg_param > CHAIN_TRIM_BETA_MAX_PPM)
			return bad(field, "agg_param");
		break;
	case CHAIN_AGG_MULTIKRUM:
		/* Krum tolerates f bad updates only among more than 2f+2 */
		if (p->agg_param > CHAIN_MULTIKRUM_F_MAX)
			return bad(field, "agg_param");
		break;
	case CHAIN_AGG_NORM_BOUND:
		if (p->agg_param == 0)
			return bad(field, "agg_param");
		break;
	default:
		return bad(field, "agg_rule");
	}
	if (p->server_momentum_ppm >= CHAIN_PPM)
		return bad(field, "server_momentum_ppm");
	return FL_OK;
}

static int check_training(const chain_profile *p, const char **field)
{
	if (p->local_epochs < 1 || p->local_epochs > 1000)
		return bad(field, "local_epochs");
	if (p->batch_size < 1 || p->batch_size > 65536)
		return bad(field, "batch_size");
	if (p->lr_ppm < 1 || p->lr_ppm > CHAIN_LR_MAX_PPM)
		return bad(field, "lr_ppm");
	if (p->momentum_ppm >= CHAIN_PPM)
		return bad(field, "momentum_ppm");
	if (p->weight_decay_ppm >= CHAIN_PPM)
		return bad(field, "weight_decay_ppm");
	if (p->prox_mu_ppm > CHAIN_PROX_MU_MAX_PPM)
		return bad(field, "prox_mu_ppm");
	return FL_OK;
}

static int check_privacy_and_schedule(const chain_profile *p, const char **field)
{
	/* The noise multiplier scales the clip norm: without clipping it means nothing. */
	if (p->dp_noise_ppm != 0 && p->dp_clip_ppm == 0)
		return bad(field, "dp_noise_ppm");
	if (p->secure_agg > 1)
		return bad(field, "secure_agg");
	if (p->window_blocks < 1 || p->window_blocks > CHAIN_SCHEDULE_MAX_BLOCKS)
		return bad(field, "window_blocks");
	if (p->deadline_blocks < 1 || p->deadline_blocks > CHAIN_SCHEDULE_MAX_BLOCKS)
		return bad(field, "deadline_blocks");
	if (p->min_participants < 1 || p->min_participants > CHAIN_MAX_PARTICIPANTS)
		return bad(field, "min_participants");
	if (p->coordinator_share_bps > CHAIN_BPS)
		return bad(field, "coordinator_share_bps");
	/* zero would weigh every contribution at zero */
	if (p->max_samples_weight == 0)
		return bad(field, "max_samples_weight");
	return FL_OK;
}

int chain_profile_check(const chain_profile *p, const char **field)
{
	const char *unused;
	int rc;

	assert(p != NULL);
	if (field == NULL)
		field = &unused;
	*field = NULL;
	if (!chain_id_valid(p->id, CHAIN_PROFILE_ID_MAX))
		return bad(field, "id");
	if (p->parent[0] != '\0' &&
	    (!chain_id_valid(p->parent, CHAIN_PROFILE_ID_MAX) || strcmp(p->parent, p->id) == 0))
		return bad(field, "parent");
	if (!chain_text_valid(p->name, 1, CHAIN_NAME_MAX))
		return bad(field, "name");
	if (!data_type_valid(p->data_type))
		return bad(field, "data_type");
	if (p->n_labels < 1 || p->n_labels > CHAIN_MAX_LABELS)
		return bad(field, "n_labels");
	if (chain_labels_check(p->labels, p->n_labels) != 0)
		return bad(field, "labels");
	if (p->n_summary > CHAIN_SUMMARY_MAX)
		return bad(field, "n_summary");
	if (chain_summary_check(p->summary, p->n_summary) != 0)
		return bad(field, "summary");
	if (p->task != CHAIN_TASK_CLASSIFICATION)
		return bad(field, "task");
	if ((rc = check_metric(p, field)) != 0)
		return rc;
	if ((rc = check_model(&p->model, field)) != 0)
		return rc;
	/* An image type fixes the input layer: 28x28x1 is 784 inputs. */
	if (image_inputs(p->data_type) != 0 && p->model.sizes[0] != image_inputs(p->data_type))
		return bad(field, size_fields[0]);
	/* Label ids index the output layer directly (docs/genesis.md): a label
	 * past the last output could never be predicted nor trained on. The
	 * labels are sorted, so the last one is the largest. */
	if (p->labels[p->n_labels - 1] >= p->model.sizes[p->model.n_layers])
		return bad(field, "labels");
	if ((rc = check_training(p, field)) != 0)
		return rc;
	if ((rc = check_aggregation(p, field)) != 0)
		return rc;
	return check_privacy_and_schedule(p, field);
}
