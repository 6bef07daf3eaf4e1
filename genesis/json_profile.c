/*
 * genesis/json_profile.c — one specialization profile (design.md §4) as a
 * JSON object, both ways. Used for the entries of genesis "profiles", for
 * `fedledger-genesis add-profile --file` and for the wallet's
 * `profile propose FILE`. docs/genesis.md lists every field.
 *
 * The reader checks each field's own range and the rules between fields of
 * one profile that a person gets wrong (activations per layer, labels that
 * the output layer can represent, the input size of an image type), with a
 * reason; chain_profile_check then has the final word.
 */
#include "genesis/internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const profile_keys[] = {
    "id",       "parent",      "name",    "data",     "task",    "metric", "model",
    "training", "aggregation", "privacy", "schedule", "rewards", NULL};
static const char *const data_keys[] = {"type", "labels", "summary", NULL};
static const char *const metric_keys[] = {"name", "target", NULL};
static const char *const model_keys[] = {"layers", "activations", "init_seed", NULL};
static const char *const training_keys[] = {"local_epochs", "batch_size", "lr", "momentum",
					    "weight_decay", "prox_mu",    NULL};
static const char *const aggregation_keys[] = {"rule", "param", "server_momentum", NULL};
static const char *const privacy_keys[] = {"clip", "noise", "secure_aggregation", NULL};
static const char *const schedule_keys[] = {"window_blocks", "deadline_blocks", "min_participants",
					    NULL};
static const char *const rewards_keys[] = {"per_round", "coordinator_share_bps",
					   "max_samples_weight", NULL};

static const char *const task_names[] = {"classification", NULL};
static const int task_values[] = {CHAIN_TASK_CLASSIFICATION};
static const char *const metric_names[] = {"accuracy", "latency", "energy", NULL};
static const int metric_values[] = {CHAIN_METRIC_ACCURACY, CHAIN_METRIC_LATENCY,
				    CHAIN_METRIC_ENERGY};
static const char *const act_names[] = {"relu", "none", NULL};
static const int act_values[] = {CHAIN_ACT_RELU, CHAIN_ACT_NONE};
static const char *const rule_names[] = {"fedavg",    "median",     "trimmed_mean",
					 "multikrum", "norm_bound", NULL};
static const int rule_values[] = {CHAIN_AGG_FEDAVG, CHAIN_AGG_MEDIAN, CHAIN_AGG_TRIMMED_MEAN,
				  CHAIN_AGG_MULTIKRUM, CHAIN_AGG_NORM_BOUND};

/* The ranges come from chain.h, so this reader and chain_profile_check
 * cannot drift apart; here they come with a reason. */
#define PPM_MAX_U32 UINT32_MAX

/* Data types are lowercase words such as "image/28x28x1" or "tabular/f32x16". */
static int data_type_valid(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("/._+-", s[i]) != NULL))
			return 0;
	return 1;
}

/* Inputs an "image/WxHxC" sample has, or 0 if the type is not of that form. */
static uint64_t image_inputs(const char *type)
{
	uint64_t dims[3] = {0, 0, 0};
	const char *p;
	int d = 0;

	if (strncmp(type, "image/", 6) != 0)
		return 0;
	for (p = type + 6; *p != '\0'; p++) {
		if (*p == 'x' && d < 2 && dims[d] > 0) {
			d++;
		} else if (*p >= '0' && *p <= '9' && dims[d] < 1000000) {
			dims[d] = dims[d] * 10 + (uint64_t)(*p - '0');
		} else {
			return 0;
		}
	}
	if (d != 2 || dims[2] == 0)
		return 0;
	return dims[0] * dims[1] * dims[2];
}

static int read_data(gj_ctx *c, const json_t *data, chain_profile *p)
{
	const json_t *v;
	size_t mark, n, i;
	int rc;

	if ((rc = gj_object(c, data, data_keys)) < 0)
		return rc;
	if ((rc = gj_str(c, data, "type", 1, CHAIN_DATA_TYPE_MAX, p->data_type)) < 0)
		return rc;
	if (!data_type_valid(p->data_type)) {
		gj_push_key(c, "type");
		return gj_fail(c, FL_EINVAL, "must be lowercase [a-z0-9/._+-], e.g. image/28x28x1");
	}

	if ((rc = gj_enter(c, data, "labels", 1, &v, &mark)) < 0)
		return rc;
	if ((rc = gj_val_array(c, v, CHAIN_MAX_LABELS, &n)) < 0)
		return rc;
	if (n == 0)
		return gj_fail(c, FL_EINVAL, "must list at least one label");
	for (i = 0; i < n; i++) {
		size_t m = gj_push_index(c, i);
		uint32_t label;
		if ((rc = gj_val_u32(c, json_array_get(v, i), 0, UINT16_MAX, &label)) < 0)
			return rc;
		/* Sorted and unique, so a label set has one encoding (and one hash). */
		if (i > 0 && label <= p->labels[i - 1])
			return gj_fail(c, FL_EINVAL,
				       "labels must be strictly increasing (%u after %u)", label,
				       (unsigned)p->labels[i - 1]);
		p->labels[i] = (uint16_t)label;
		gj_pop(c, m);
	}
	p->n_labels = (uint32_t)n;
	gj_pop(c, mark);

	if ((rc = gj_enter(c, data, "summary", 0, &v, &mark)) < 0)
		return rc;
	if (rc == 0)
		return FL_OK;
	if ((rc = gj_val_array(c, v, CHAIN_SUMMARY_MAX, &n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		size_t m = gj_push_index(c, i);
		int64_t x;
		if ((rc = gj_val_ppm(c, json_array_get(v, i), -CHAIN_SUMMARY_ABS_MAX,
				     CHAIN_SUMMARY_ABS_MAX, &x)) < 0)
			return rc;
		p->summary[i] = (int32_t)x;
		gj_pop(c, m);
	}
	p->n_summary = (uint32_t)n;
	gj_pop(c, mark);
	return FL_OK;
}

static int read_metric(gj_ctx *c, const json_t *metric, chain_profile *p)
{
	int rc, name;

	if ((rc = gj_object(c, metric, metric_keys)) < 0)
		return rc;
	if ((rc = gj_enum(c, metric, "name", 1, metric_names, metric_values, &name)) < 0)
		return rc;
	p->metric = (uint8_t)name;
	if (name == CHAIN_METRIC_ACCURACY) {
		/* A share of correct predictions: (0, 1], kept in ppm. */
		uint32_t target;
		rc = gj_ppm_u32(c, metric, "target", 1, 1, CHAIN_PPM, &target);
		p->metric_target = target;
	} else {
		/* Microseconds or microjoules per sample: a plain integer. */
		rc = gj_u64(c, metric, "target", 1, 1, UINT64_MAX, &p->metric_target);
	}
	return rc < 0 ? rc : FL_OK;
}

static int read_model(gj_ctx *c, const json_t *model, const char *data_type, chain_profile *p)
{
	chain_model_spec *spec = &p->model;
	const json_t *v;
	size_t mark, n, i;
	uint64_t inputs;
	int rc;

	if ((rc = gj_object(c, model, model_keys)) < 0)
		return rc;
	if ((rc = gj_enter(c, model, "layers", 1, &v, &mark)) < 0)
		return rc;
	if ((rc = gj_val_array(c, v, CHAIN_MAX_LAYERS + 1, &n)) < 0)
		return rc;
	if (n < 2)
		return gj_fail(c, FL_EINVAL, "needs at least 2 sizes (inputs and outputs)");
	for (i = 0; i < n; i++) {
		size_t m = gj_push_index(c, i);
		if ((rc = gj_val_u32(c, json_array_get(v, i), 1, CHAIN_MAX_LAYER_WIDTH,
				     &spec->sizes[i])) < 0)
			return rc;
		gj_pop(c, m);
	}
	spec->n_layers = (uint32_t)(n - 1);
	if (spec->sizes[n - 1] < 2) {
		gj_push_index(c, n - 1);
		return gj_fail(c, FL_EINVAL, "a classifier needs at least 2 outputs");
	}
	if (chain_model_spec_params(spec) > CHAIN_MAX_MODEL_PARAMS)
		return gj_fail(c, FL_EINVAL, "%" PRIu64 " parameters; at most %u are allowed",
			       chain_model_spec_params(spec), (unsigned)CHAIN_MAX_MODEL_PARAMS);
	inputs = image_inputs(data_type);
	if (inputs != 0 && spec->sizes[0] != inputs) {
		gj_push_index(c, 0);
		return gj_fail(c, FL_EINVAL, "must be %" PRIu64 " (the inputs of %s)", inputs,
			       data_type);
	}
	gj_pop(c, mark);

	if ((rc = gj_enter(c, model, "activations", 1, &v, &mark)) < 0)
		return rc;
	if ((rc = gj_val_array(c, v, CHAIN_MAX_LAYERS, &n)) < 0)
		return rc;
	if (n != spec->n_layers)
		return gj_fail(c, FL_EINVAL, "must have %u entries, one per layer", spec->n_layers);
	for (i = 0; i < n; i++) {
		size_t m = gj_push_index(c, i);
		int act;
		if ((rc = gj_val_enum(c, json_array_get(v, i), act_names, act_values, &act)) < 0)
			return rc;
		/* The softmax head follows the last layer: it must stay linear. */
		if (i + 1 == n && act != CHAIN_ACT_NONE)
			return gj_fail(c, FL_EINVAL, "the last layer must be \"none\"");
		spec->activations[i] = (uint8_t)act;
		gj_pop(c, m);
	}
	gj_pop(c, mark);

	rc = gj_u64(c, model, "init_seed", 0, 0, UINT64_MAX, &p->init_seed);
	return rc < 0 ? rc : FL_OK;
}

static int read_training(gj_ctx *c, const json_t *t, chain_profile *p)
{
	int rc;

	if ((rc = gj_object(c, t, training_keys)) < 0 ||
	    (rc = gj_u32(c, t, "local_epochs", 1, 1, 1000, &p->local_epochs)) < 0 ||
	    (rc = gj_u32(c, t, "batch_size", 1, 1, 65536, &p->batch_size)) < 0 ||
	    (rc = gj_ppm_u32(c, t, "lr", 1, 1, CHAIN_LR_MAX_PPM, &p->lr_ppm)) < 0 ||
	    (rc = gj_ppm_u32(c, t, "momentum", 0, 0, CHAIN_PPM - 1, &p->momentum_ppm)) < 0 ||
	    (rc = gj_ppm_u32(c, t, "weight_decay", 0, 0, CHAIN_PPM - 1, &p->weight_decay_ppm)) <
		0 ||
	    (rc = gj_ppm_u32(c, t, "prox_mu", 0, 0, CHAIN_PROX_MU_MAX_PPM, &p->prox_mu_ppm)) < 0)
		return rc;
	return FL_OK;
}

static int read_aggregation(gj_ctx *c, const json_t *a, chain_profile *p)
{
	int rc, rule;

	if ((rc = gj_object(c, a, aggregation_keys)) < 0)
		return rc;
	if ((rc = gj_enum(c, a, "rule", 1, rule_names, rule_values, &rule)) < 0)
		return rc;
	p->agg_rule = (uint8_t)rule;
	switch (rule) {
	case CHAIN_AGG_TRIMMED_MEAN:
		/* beta: the share trimmed at each end; half or more leaves nothing. */
		rc = gj_ppm_u32(c, a, "param", 1, 1, CHAIN_TRIM_BETA_MAX_PPM, &p->agg_param);
		break;
	case CHAIN_AGG_MULTIKRUM:
		/* f: how many bad updates to tolerate. */
		rc = gj_u32(c, a, "param", 1, 0, CHAIN_MULTIKRUM_F_MAX, &p->agg_param);
		break;
	case CHAIN_AGG_NORM_BOUND:
		rc = gj_ppm_u32(c, a, "param", 1, 1, PPM_MAX_U32, &p->agg_param);
		break;
	default:
		if (json_object_get(a, "param") != NULL) {
			gj_push_key(c, "param");
			return gj_fail(c, FL_EINVAL, "not used by rule %s; remove it",
				       genesis_agg_rule_name(rule));
		}
		p->agg_param = 0;
		rc = 0;
	}
	if (rc < 0)
		return rc;
	rc = gj_ppm_u32(c, a, "server_momentum", 0, 0, CHAIN_PPM - 1, &p->server_momentum_ppm);
	return rc < 0 ? rc : FL_OK;
}

static int read_privacy(gj_ctx *c, const json_t *pv, chain_profile *p)
{
	int rc, secure = 0;

	if ((rc = gj_object(c, pv, privacy_keys)) < 0 ||
	    (rc = gj_ppm_u32(c, pv, "clip", 0, 0, PPM_MAX_U32, &p->dp_clip_ppm)) < 0 ||
	    (rc = gj_ppm_u32(c, pv, "noise", 0, 0, PPM_MAX_U32, &p->dp_noise_ppm)) < 0 ||
	    (rc = gj_bool(c, pv, "secure_aggregation", 0, &secure)) < 0)
		return rc;
	/* Gaussian noise is scaled by the clip norm: without clipping it has no
	 * defined sensitivity, so it would buy no privacy guarantee. */
	if (p->dp_noise_ppm > 0 && p->dp_clip_ppm == 0) {
		gj_push_key(c, "noise");
		return gj_fail(c, FL_EINVAL, "needs privacy.clip > 0");
	}
	p->secure_agg = (uint8_t)secure;
	return FL_OK;
}

static int read_schedule(gj_ctx *c, const json_t *s, chain_profile *p)
{
	int rc;

	if ((rc = gj_object(c, s, schedule_keys)) < 0 ||
	    (rc = gj_u32(c, s, "window_blocks", 1, 1, CHAIN_SCHEDULE_MAX_BLOCKS,
			 &p->window_blocks)) < 0 ||
	    (rc = gj_u32(c, s, "deadline_blocks", 1, 1, CHAIN_SCHEDULE_MAX_BLOCKS,
			 &p->deadline_blocks)) < 0 ||
	    (rc = gj_u32(c, s, "min_participants", 1, 1, CHAIN_MAX_PARTICIPANTS,
			 &p->min_participants)) < 0)
		return rc;
	return FL_OK;
}

static int read_rewards(gj_ctx *c, const json_t *r, chain_profile *p)
{
	int rc;

	if ((rc = gj_object(c, r, rewards_keys)) < 0 ||
	    (rc = gj_u64(c, r, "per_round", 1, 0, UINT64_MAX, &p->reward_per_round)) < 0 ||
	    (rc = gj_u32(c, r, "coordinator_share_bps", 1, 0, CHAIN_BPS,
			 &p->coordinator_share_bps)) < 0 ||
	    (rc = gj_u32(c, r, "max_samples_weight", 1, 1, UINT32_MAX, &p->max_samples_weight)) < 0)
		return rc;
	return FL_OK;
}

/* Reads the object at key (required or not) with fn; absent leaves defaults. */
static int read_section(gj_ctx *c, const json_t *obj, const char *key, int required,
			int (*fn)(gj_ctx *, const json_t *, chain_profile *), chain_profile *p)
{
	const json_t *v;
	size_t mark;
	int rc = gj_enter(c, obj, key, required, &v, &mark);

	if (rc <= 0)
		return rc;
	if ((rc = fn(c, v, p)) < 0)
		return rc;
	gj_pop(c, mark);
	return FL_OK;
}

int genesis_profile_read(gj_ctx *c, const json_t *obj, chain_profile *p)
{
	const json_t *v;
	size_t i, mark;
	uint32_t outputs;
	int rc, task;

	memset(p, 0, sizeof(*p));
	if ((rc = gj_object(c, obj, profile_keys)) < 0)
		return rc;
	if ((rc = gj_str(c, obj, "id", 1, CHAIN_PROFILE_ID_MAX, p->id)) < 0)
		return rc;
	if (!chain_id_valid(p->id, CHAIN_PROFILE_ID_MAX)) {
		gj_push_key(c, "id");
		return gj_fail(c, FL_EINVAL, "must be 1 to %d of [a-z0-9._-]",
			       CHAIN_PROFILE_ID_MAX);
	}
	if ((rc = gj_str(c, obj, "parent", 0, CHAIN_PROFILE_ID_MAX, p->parent)) < 0)
		return rc;
	if (p->parent[0] != '\0' && !chain_id_valid(p->parent, CHAIN_PROFILE_ID_MAX)) {
		gj_push_key(c, "parent");
		return gj_fail(c, FL_EINVAL, "must be \"\" or a profile id");
	}
	if ((rc = gj_str(c, obj, "name", 1, CHAIN_NAME_MAX, p->name)) < 0)
		return rc;
	if (p->name[0] == '\0') {
		gj_push_key(c, "name");
		return gj_fail(c, FL_EINVAL, "must not be empty");
	}
	if ((rc = read_section(c, obj, "data", 1, read_data, p)) < 0)
		return rc;
	if ((rc = gj_enum(c, obj, "task", 1, task_names, task_values, &task)) < 0)
		return rc;
	p->task = (uint8_t)task;
	if ((rc = read_section(c, obj, "metric", 1, read_metric, p)) < 0)
		return rc;

	if ((rc = gj_enter(c, obj, "model", 1, &v, &mark)) < 0)
		return rc;
	if ((rc = read_model(c, v, p->data_type, p)) < 0)
		return rc;
	gj_pop(c, mark);
	/* Outputs are indexed by label id (Fashion-MNIST's 5 is output 5), so
	 * every label needs an output. */
	outputs = p->model.sizes[p->model.n_layers];
	for (i = 0; i < p->n_labels; i++) {
		if (p->labels[i] >= outputs) {
			gj_push_key(c, "data");
			gj_push_key(c, "labels");
			gj_push_index(c, i);
			return gj_fail(c, FL_EINVAL,
				       "label %u has no output (the model has %u outputs)",
				       (unsigned)p->labels[i], outputs);
		}
	}

	if ((rc = read_section(c, obj, "training", 1, read_training, p)) < 0 ||
	    (rc = read_section(c, obj, "aggregation", 1, read_aggregation, p)) < 0 ||
	    (rc = read_section(c, obj, "privacy", 0, read_privacy, p)) < 0 ||
	    (rc = read_section(c, obj, "schedule", 1, read_schedule, p)) < 0 ||
	    (rc = read_section(c, obj, "rewards", 1, read_rewards, p)) < 0)
		return rc;
	return FL_OK;
}

int genesis_profile_from_json(chain_profile *out, const json_t *obj, const char *name,
			      const char *where, char *err, size_t errlen)
{
	gj_ctx c;
	int rc;

	assert(out != NULL && obj != NULL && name != NULL);
	gj_init(&c, name, where, err, errlen);
	if ((rc = genesis_profile_read(&c, obj, out)) < 0)
		return rc;
	return genesis_profile_chain_check(&c, out);
}

int genesis_profile_load_file(const char *path, chain_profile *out, char *err, size_t errlen)
{
	uint8_t *text = NULL;
	json_t *root = NULL;
	size_t n;
	int rc;

	assert(path != NULL && out != NULL);
	rc = fl_file_read(path, &text, &n, GENESIS_MAX_BYTES);
	if (rc < 0) {
		gj_errorf(err, errlen, "%s: cannot read: %s", path, fl_strerror(rc));
		return rc;
	}
	root = genesis_json_loads(path, (const char *)text, n, err, errlen);
	if (root == NULL) {
		rc = FL_EPARSE;
		goto cleanup;
	}
	rc = genesis_profile_from_json(out, root, path, "", err, errlen);
cleanup:
	json_decref(root);
	fl_free(text);
	return rc;
}

/* ---------------------------------------------------------------- write */

static json_t *u32_array(const uint32_t *v, size_t n, int *ok)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		gj_append(arr, json_integer(v[i]), ok);
	if (arr == NULL)
		*ok = 0;
	return arr;
}

json_t *genesis_profile_to_json(const chain_profile *p)
{
	json_t *o = json_object(), *data = json_object(), *metric = json_object();
	json_t *model = json_object(), *training = json_object(), *agg = json_object();
	json_t *privacy = json_object(), *schedule = json_object(), *rewards = json_object();
	json_t *labels = json_array(), *summary = json_array(), *acts = json_array();
	uint32_t sizes[CHAIN_MAX_LAYERS + 1];
	size_t i;
	int ok = 1;

	assert(p != NULL);
	gj_set(o, "id", json_string(p->id), &ok);
	gj_set(o, "parent", json_string(p->parent), &ok);
	gj_set(o, "name", json_string(p->name), &ok);

	gj_set(data, "type", json_string(p->data_type), &ok);
	for (i = 0; i < p->n_labels && i < CHAIN_MAX_LABELS; i++)
		gj_append(labels, json_integer(p->labels[i]), &ok);
	gj_set(data, "labels", labels, &ok);
	for (i = 0; i < p->n_summary && i < CHAIN_SUMMARY_MAX; i++)
		gj_append(summary, gj_new_ppm(p->summary[i]), &ok);
	gj_set(data, "summary", summary, &ok);
	gj_set(o, "data", data, &ok);

	gj_set(o, "task", json_string(genesis_task_name(p->task)), &ok);
	gj_set(metric, "name", json_string(genesis_metric_name(p->metric)), &ok);
	gj_set(metric, "target",
	       p->metric == CHAIN_METRIC_ACCURACY ? gj_new_ppm((int64_t)p->metric_target)
						  : gj_new_u64(p->metric_target),
	       &ok);
	gj_set(o, "metric", metric, &ok);

	for (i = 0; i <= p->model.n_layers && i <= CHAIN_MAX_LAYERS; i++)
		sizes[i] = p->model.sizes[i];
	gj_set(model, "layers", u32_array(sizes, i, &ok), &ok);
	for (i = 0; i < p->model.n_layers && i < CHAIN_MAX_LAYERS; i++)
		gj_append(acts, json_string(genesis_activation_name(p->model.activations[i])), &ok);
	gj_set(model, "activations", acts, &ok);
	gj_set(model, "init_seed", gj_new_u64(p->init_seed), &ok);
	gj_set(o, "model", model, &ok);

	gj_set(training, "local_epochs", json_integer(p->local_epochs), &ok);
	gj_set(training, "batch_size", json_integer(p->batch_size), &ok);
	gj_set(training, "lr", gj_new_ppm(p->lr_ppm), &ok);
	gj_set(training, "momentum", gj_new_ppm(p->momentum_ppm), &ok);
	gj_set(training, "weight_decay", gj_new_ppm(p->weight_decay_ppm), &ok);
	gj_set(training, "prox_mu", gj_new_ppm(p->prox_mu_ppm), &ok);
	gj_set(o, "training", training, &ok);

	gj_set(agg, "rule", json_string(genesis_agg_rule_name(p->agg_rule)), &ok);
	if (p->agg_rule == CHAIN_AGG_MULTIKRUM)
		gj_set(agg, "param", json_integer(p->agg_param), &ok);
	else if (p->agg_rule == CHAIN_AGG_TRIMMED_MEAN || p->agg_rule == CHAIN_AGG_NORM_BOUND)
		gj_set(agg, "param", gj_new_ppm(p->agg_param), &ok);
	gj_set(agg, "server_momentum", gj_new_ppm(p->server_momentum_ppm), &ok);
	gj_set(o, "aggregation", agg, &ok);

	gj_set(privacy, "clip", gj_new_ppm(p->dp_clip_ppm), &ok);
	gj_set(privacy, "noise", gj_new_ppm(p->dp_noise_ppm), &ok);
	gj_set(privacy, "secure_aggregation", json_boolean(p->secure_agg), &ok);
	gj_set(o, "privacy", privacy, &ok);

	gj_set(schedule, "window_blocks", json_integer(p->window_blocks), &ok);
	gj_set(schedule, "deadline_blocks", json_integer(p->deadline_blocks), &ok);
	gj_set(schedule, "min_participants", json_integer(p->min_participants), &ok);
	gj_set(o, "schedule", schedule, &ok);

	gj_set(rewards, "per_round", gj_new_u64(p->reward_per_round), &ok);
	gj_set(rewards, "coordinator_share_bps", json_integer(p->coordinator_share_bps), &ok);
	gj_set(rewards, "max_samples_weight", json_integer(p->max_samples_weight), &ok);
	gj_set(o, "rewards", rewards, &ok);

	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
