/*
 * genesis/summary.c — what a genesis amounts to, in a few lines for a person
 * or one JSON object for a script (`fedledger-genesis validate [--json]`).
 * Model sizes come from chain/ (chain_model_spec_params/flops), so the
 * numbers shown are the ones the chain itself uses.
 */
#include "genesis/internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	fl_hash hash;
	uint64_t total_power;
	uint64_t supply; /* liquid and bonded */
	uint64_t bonded;
} genesis_totals;

static int totals(const chain_genesis *g, genesis_totals *t)
{
	uint32_t i;

	memset(t, 0, sizeof(*t));
	/* A checked genesis has both sums within 64 bits. */
	for (i = 0; i < g->n_validators; i++)
		t->total_power += g->validators[i].power;
	for (i = 0; i < g->n_balances; i++) {
		t->supply += g->balances[i].amount + g->balances[i].bonded;
		t->bonded += g->balances[i].bonded;
	}
	return chain_genesis_hash(&t->hash, g);
}

static void layers_text(char *out, size_t n, const chain_model_spec *m, char sep)
{
	size_t used = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; i <= m->n_layers && i <= CHAIN_MAX_LAYERS && used < n; i++) {
		int w = i ? snprintf(out + used, n - used, "%c%" PRIu32, sep, m->sizes[i])
			  : snprintf(out + used, n - used, "%" PRIu32, m->sizes[i]);
		if (w > 0)
			used += (size_t)w;
	}
}

static void labels_text(char *out, size_t n, const chain_profile *p)
{
	size_t used = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; i < p->n_labels && i < CHAIN_MAX_LABELS && used < n; i++) {
		int w =
		    snprintf(out + used, n - used, "%s%u", i ? "," : "", (unsigned)p->labels[i]);
		if (w > 0)
			used += (size_t)w;
	}
}

static void target_text(char *out, size_t n, const chain_profile *p)
{
	char dec[32];

	switch (p->metric) {
	case CHAIN_METRIC_ACCURACY:
		genesis_ppm_to_decimal(dec, (int64_t)p->metric_target);
		snprintf(out, n, "accuracy >= %s", dec);
		break;
	case CHAIN_METRIC_LATENCY:
		snprintf(out, n, "latency <= %" PRIu64 " us/sample", p->metric_target);
		break;
	default:
		snprintf(out, n, "energy <= %" PRIu64 " uJ/sample", p->metric_target);
	}
}

static void rule_text(char *out, size_t n, const chain_profile *p)
{
	const char *rule = genesis_agg_rule_name(p->agg_rule);
	char dec[32];

	if (p->agg_rule == CHAIN_AGG_MULTIKRUM) {
		snprintf(out, n, "%s f=%" PRIu32, rule, p->agg_param);
	} else if (p->agg_rule == CHAIN_AGG_TRIMMED_MEAN || p->agg_rule == CHAIN_AGG_NORM_BOUND) {
		genesis_ppm_to_decimal(dec, p->agg_param);
		snprintf(out, n, "%s %s=%s", rule,
			 p->agg_rule == CHAIN_AGG_TRIMMED_MEAN ? "beta" : "bound", dec);
	} else {
		snprintf(out, n, "%s", rule != NULL ? rule : "?");
	}
}

static void print_profile(FILE *out, const chain_profile *p)
{
	char layers[128], labels[CHAIN_MAX_LABELS * 6 + 1], target[64], rule[64];
	uint32_t i;

	layers_text(layers, sizeof(layers), &p->model, '-');
	labels_text(labels, sizeof(labels), p);
	target_text(target, sizeof(target), p);
	rule_text(rule, sizeof(rule), p);
	fprintf(out, "    %-12s \"%s\"%s%s\n", p->id, p->name, p->parent[0] ? ", child of " : "",
		p->parent);
	fprintf(out, "      data        %s, labels %s\n", p->data_type, labels);
	fprintf(out, "      model       %s (", layers);
	for (i = 0; i < p->model.n_layers && i < CHAIN_MAX_LAYERS; i++)
		fprintf(out, "%s%s", i ? "," : "",
			genesis_activation_name(p->model.activations[i]));
	fprintf(out, "): %" PRIu64 " params, %" PRIu64 " FLOPs/sample\n",
		chain_model_spec_params(&p->model), chain_model_spec_flops(&p->model));
	fprintf(out, "      rule        %s; %s\n", rule, target);
	fprintf(out,
		"      schedule    window %" PRIu32 " blocks, deadline %" PRIu32
		" blocks, >= %" PRIu32 " participants\n",
		p->window_blocks, p->deadline_blocks, p->min_participants);
	fprintf(out, "      rewards     %" PRIu64 " per round, coordinator %" PRIu32 " bps\n",
		p->reward_per_round, p->coordinator_share_bps);
}

static void print_text(FILE *out, const char *name, const chain_genesis *g, const genesis_totals *t)
{
	char hash[FL_HASH_HEX_LEN + 1], key[FL_PUBKEY_HEX_LEN + 1], when[32] = "";
	time_t secs = (time_t)(g->genesis_time_ms / 1000);
	struct tm tm;
	uint32_t i;

	fl_hash_to_hex(hash, &t->hash);
	if (gmtime_r(&secs, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "%s: valid\n", name);
	fprintf(out, "  chain id      %s\n", g->chain_id);
	fprintf(out, "  genesis hash  %s\n", hash);
	fprintf(out, "  genesis time  %" PRIu64 " ms (%s)\n", g->genesis_time_ms, when);
	fprintf(out, "  validators    %" PRIu32 ", total power %" PRIu64 "\n", g->n_validators,
		t->total_power);
	for (i = 0; i < g->n_validators; i++) {
		fl_pubkey_to_hex(key, &g->validators[i].pubkey);
		fprintf(out, "    %-12s %.16s...  power %" PRIu64 "\n",
			g->validators[i].name[0] ? g->validators[i].name : "-", key,
			g->validators[i].power);
	}
	fprintf(out, "  members       %" PRIu32 " besides the validators\n", g->n_members);
	fprintf(out,
		"  balances      %" PRIu32 " accounts, total supply %" PRIu64 " (%" PRIu64
		" bonded)\n",
		g->n_balances, t->supply, t->bonded);
	fprintf(out, "  profiles      %" PRIu32 "\n", g->n_profiles);
	for (i = 0; i < g->n_profiles; i++)
		print_profile(out, &g->profiles[i]);
}

static json_t *profile_summary(const chain_profile *p, int *ok)
{
	json_t *o = json_object(), *labels = json_array(), *layers = json_array();
	uint32_t i;

	gj_set(o, "id", json_string(p->id), ok);
	gj_set(o, "name", json_string(p->name), ok);
	gj_set(o, "parent", json_string(p->parent), ok);
	gj_set(o, "data_type", json_string(p->data_type), ok);
	for (i = 0; i < p->n_labels && i < CHAIN_MAX_LABELS; i++)
		gj_append(labels, json_integer(p->labels[i]), ok);
	gj_set(o, "labels", labels, ok);
	for (i = 0; i <= p->model.n_layers && i <= CHAIN_MAX_LAYERS; i++)
		gj_append(layers, json_integer(p->model.sizes[i]), ok);
	gj_set(o, "layers", layers, ok);
	gj_set(o, "params", gj_new_u64(chain_model_spec_params(&p->model)), ok);
	gj_set(o, "flops", gj_new_u64(chain_model_spec_flops(&p->model)), ok);
	gj_set(o, "rule", json_string(genesis_agg_rule_name(p->agg_rule)), ok);
	/* The same forms as in genesis.json: fractions as decimal strings. */
	if (p->agg_rule == CHAIN_AGG_MULTIKRUM)
		gj_set(o, "param", json_integer(p->agg_param), ok);
	else if (p->agg_rule == CHAIN_AGG_TRIMMED_MEAN || p->agg_rule == CHAIN_AGG_NORM_BOUND)
		gj_set(o, "param", gj_new_ppm(p->agg_param), ok);
	gj_set(o, "metric", json_string(genesis_metric_name(p->metric)), ok);
	gj_set(o, "target",
	       p->metric == CHAIN_METRIC_ACCURACY ? gj_new_ppm((int64_t)p->metric_target)
						  : gj_new_u64(p->metric_target),
	       ok);
	gj_set(o, "window_blocks", json_integer(p->window_blocks), ok);
	gj_set(o, "deadline_blocks", json_integer(p->deadline_blocks), ok);
	gj_set(o, "min_participants", json_integer(p->min_participants), ok);
	gj_set(o, "reward_per_round", gj_new_u64(p->reward_per_round), ok);
	if (o == NULL)
		*ok = 0;
	return o;
}

static int print_json(FILE *out, const char *name, const chain_genesis *g, const genesis_totals *t)
{
	json_t *o = json_object(), *profiles = json_array();
	char hash[FL_HASH_HEX_LEN + 1];
	char *text;
	uint32_t i;
	int ok = 1;

	fl_hash_to_hex(hash, &t->hash);
	gj_set(o, "file", json_string(name), &ok);
	gj_set(o, "valid", json_true(), &ok);
	gj_set(o, "chain_id", json_string(g->chain_id), &ok);
	gj_set(o, "genesis_hash", json_string(hash), &ok);
	gj_set(o, "genesis_time_ms", gj_new_u64(g->genesis_time_ms), &ok);
	gj_set(o, "validators", json_integer(g->n_validators), &ok);
	gj_set(o, "total_power", gj_new_u64(t->total_power), &ok);
	gj_set(o, "members", json_integer(g->n_members), &ok);
	gj_set(o, "accounts", json_integer(g->n_balances), &ok);
	gj_set(o, "total_supply", gj_new_u64(t->supply), &ok);
	gj_set(o, "bonded", gj_new_u64(t->bonded), &ok);
	for (i = 0; i < g->n_profiles && ok; i++)
		gj_append(profiles, profile_summary(&g->profiles[i], &ok), &ok);
	gj_set(o, "profiles", profiles, &ok);
	text = ok ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL)
		return FL_ENOMEM;
	fprintf(out, "%s\n", text);
	free(text); /* jansson's allocation */
	return FL_OK;
}

int genesis_summary_print(FILE *out, const char *name, const chain_genesis *g, int as_json)
{
	genesis_totals t;
	int rc;

	assert(out != NULL && name != NULL && g != NULL);
	if ((rc = totals(g, &t)) < 0)
		return rc;
	if (as_json)
		return print_json(out, name, g, &t);
	print_text(out, name, g, &t);
	return FL_OK;
}
