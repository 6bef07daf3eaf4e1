/*
 * genesis/check.c — the rules across the entries of a genesis (unique keys,
 * parents, supply), with a reason a person can act on, and then chain/'s own
 * checks as the final word: chain_genesis_check and chain_profile_check are
 * what every node runs, so a genesis they refuse is refused here too, their
 * field names turned into the JSON paths of the file.
 */
#include "genesis/internal.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* chain_profile field names and the JSON path that holds them. */
static const struct {
	const char *chain;
	const char *json;
} profile_fields[] = {
    {"id", "id"},
    {"parent", "parent"},
    {"name", "name"},
    {"data_type", "data.type"},
    {"n_labels", "data.labels"},
    {"labels", "data.labels"},
    {"n_summary", "data.summary"},
    {"summary", "data.summary"},
    {"task", "task"},
    {"metric", "metric.name"},
    {"metric_target", "metric.target"},
    {"model.n_layers", "model.layers"},
    {"model.sizes", "model.layers"},
    {"model.activations", "model.activations"},
    {"model", "model"},
    {"init_seed", "model.init_seed"},
    {"local_epochs", "training.local_epochs"},
    {"batch_size", "training.batch_size"},
    {"lr_ppm", "training.lr"},
    {"momentum_ppm", "training.momentum"},
    {"weight_decay_ppm", "training.weight_decay"},
    {"prox_mu_ppm", "training.prox_mu"},
    {"agg_rule", "aggregation.rule"},
    {"agg_param", "aggregation.param"},
    {"server_momentum_ppm", "aggregation.server_momentum"},
    {"dp_clip_ppm", "privacy.clip"},
    {"dp_noise_ppm", "privacy.noise"},
    {"secure_agg", "privacy.secure_aggregation"},
    {"window_blocks", "schedule.window_blocks"},
    {"deadline_blocks", "schedule.deadline_blocks"},
    {"min_participants", "schedule.min_participants"},
    {"reward_per_round", "rewards.per_round"},
    {"coordinator_share_bps", "rewards.coordinator_share_bps"},
    {"max_samples_weight", "rewards.max_samples_weight"},
};

/* Writes the JSON path of a chain_profile field name ("model.sizes[2]" ->
 * "model.layers[2]"); an unknown name is kept as it is. */
static void profile_field_path(char *out, size_t n, const char *field)
{
	size_t i, best = FL_ARRAY_LEN(profile_fields), best_len = 0;

	for (i = 0; i < FL_ARRAY_LEN(profile_fields); i++) {
		size_t len = strlen(profile_fields[i].chain);
		char next = field[len < strlen(field) ? len : strlen(field)];
		if (strncmp(field, profile_fields[i].chain, len) == 0 &&
		    (next == '\0' || next == '[' || next == '.') && len > best_len) {
			best = i;
			best_len = len;
		}
	}
	if (best == FL_ARRAY_LEN(profile_fields))
		snprintf(out, n, "%s", field);
	else
		snprintf(out, n, "%s%s", profile_fields[best].json, field + best_len);
}

int genesis_profile_chain_check(gj_ctx *c, const chain_profile *p)
{
	const char *field = NULL;
	char path[96];
	int rc = chain_profile_check(p, &field);

	if (rc == FL_OK)
		return FL_OK;
	if (field == NULL)
		return gj_fail(c, rc < 0 ? rc : FL_EINVAL, "chain_profile_check: %s",
			       fl_strerror(rc));
	profile_field_path(path, sizeof(path), field);
	gj_push_key(c, path);
	return gj_fail(c, rc < 0 ? rc : FL_EINVAL, "rejected by chain_profile_check");
}

/* ------------------------------------------------------------ duplicates */

typedef struct {
	const fl_pubkey *key;
	size_t index;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
	const keyed *x = a, *y = b;
	int c = fl_pubkey_cmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Finds the duplicate with the lowest index (the entry to blame) and the
 * earliest entry with the same key, in O(n log n): the members and balances
 * lists may be long. Returns 1 and sets *dup and *first when there is one,
 * 0 when there is none, or FL_ENOMEM.
 */
static int find_duplicate(const void *base, size_t n, size_t stride, size_t key_offset, size_t *dup,
			  size_t *first)
{
	keyed *k;
	size_t i;
	int found = 0;

	if (n < 2)
		return 0;
	k = fl_calloc(n, sizeof(*k));
	if (k == NULL)
		return FL_ENOMEM;
	for (i = 0; i < n; i++) {
		k[i].key = (const fl_pubkey *)((const uint8_t *)base + i * stride + key_offset);
		k[i].index = i;
	}
	/* Equal keys sort by index: a run's first entry is the original and its
	 * second the earliest duplicate. */
	qsort(k, n, sizeof(*k), keyed_cmp);
	for (i = 1; i < n; i++) {
		int run_start = i == 1 || fl_pubkey_cmp(k[i - 2].key, k[i - 1].key) != 0;
		if (run_start && fl_pubkey_cmp(k[i - 1].key, k[i].key) == 0 &&
		    (!found || k[i].index < *dup)) {
			*dup = k[i].index;
			*first = k[i - 1].index;
			found = 1;
		}
	}
	fl_free(k);
	return found;
}

static int is_validator(const chain_genesis *g, const fl_pubkey *pk, size_t *index)
{
	size_t i;

	for (i = 0; i < g->n_validators; i++)
		if (fl_pubkey_cmp(&g->validators[i].pubkey, pk) == 0) {
			*index = i;
			return 1;
		}
	return 0;
}

/* ----------------------------------------------------------------- rules */

static int check_validators(gj_ctx *c, const chain_genesis *g, unsigned flags)
{
	size_t i, dup, first;
	int rc;

	if (g->n_validators == 0 && !(flags & GENESIS_CHECK_DRAFT)) {
		gj_push_key(c, "validators");
		return gj_fail(c, FL_EINVAL, "must list at least one validator");
	}
	if (g->n_validators > CHAIN_MAX_VALIDATORS) {
		gj_push_key(c, "validators");
		return gj_fail(c, FL_EINVAL, "more than %d validators", CHAIN_MAX_VALIDATORS);
	}
	for (i = 0; i < g->n_validators; i++) {
		/* The chain's bound per validator keeps every total far from
		 * 2^64 (CHAIN_MAX_VALIDATOR_POWER). */
		if (g->validators[i].power == 0 ||
		    g->validators[i].power > CHAIN_MAX_VALIDATOR_POWER) {
			gj_push_key(c, "validators");
			gj_push_index(c, i);
			gj_push_key(c, "power");
			return gj_fail(c, FL_EINVAL,
				       g->validators[i].power == 0 ? "must be > 0"
								   : "must be at most 2^40");
		}
	}
	rc = find_duplicate(g->validators, g->n_validators, sizeof(*g->validators),
			    offsetof(chain_genesis_validator, pubkey), &dup, &first);
	if (rc < 0)
		return gj_fail(c, rc, "%s", fl_strerror(rc));
	if (rc == 1) {
		gj_push_key(c, "validators");
		gj_push_index(c, dup);
		gj_push_key(c, "pubkey");
		return gj_fail(c, FL_EINVAL, "duplicate of validators[%zu]", first);
	}
	return FL_OK;
}

static int check_members(gj_ctx *c, const chain_genesis *g)
{
	size_t i, dup, first, v;
	int rc;

	rc = find_duplicate(g->members, g->n_members, sizeof(*g->members),
			    offsetof(chain_genesis_member, pubkey), &dup, &first);
	if (rc < 0)
		return gj_fail(c, rc, "%s", fl_strerror(rc));
	if (rc == 1) {
		gj_push_key(c, "members");
		gj_push_index(c, dup);
		gj_push_key(c, "pubkey");
		return gj_fail(c, FL_EINVAL, "duplicate of members[%zu]", first);
	}
	for (i = 0; i < g->n_members; i++) {
		if (is_validator(g, &g->members[i].pubkey, &v)) {
			gj_push_key(c, "members");
			gj_push_index(c, i);
			gj_push_key(c, "pubkey");
			return gj_fail(c, FL_EINVAL,
				       "is validators[%zu]; validators are members already", v);
		}
	}
	return FL_OK;
}

static int check_balances(gj_ctx *c, const chain_genesis *g)
{
	uint64_t supply = 0;
	size_t i, dup, first;
	int rc;

	for (i = 0; i < g->n_balances; i++) {
		const chain_genesis_balance *b = &g->balances[i];
		const char *why = NULL, *key = "amount";
		if (b->amount == 0 && b->bonded == 0)
			why = "amount and bonded are both 0; at least one must be > 0";
		else if (supply > UINT64_MAX - b->amount)
			why = "total supply exceeds 2^64-1";
		else if (supply + b->amount > UINT64_MAX - b->bonded) {
			why = "total supply (balances and bonded stake) exceeds 2^64-1";
			key = "bonded";
		}
		if (why != NULL) {
			gj_push_key(c, "balances");
			gj_push_index(c, i);
			gj_push_key(c, key);
			return gj_fail(c, FL_EINVAL, "%s", why);
		}
		supply += b->amount + b->bonded;
	}
	rc = find_duplicate(g->balances, g->n_balances, sizeof(*g->balances),
			    offsetof(chain_genesis_balance, account), &dup, &first);
	if (rc < 0)
		return gj_fail(c, rc, "%s", fl_strerror(rc));
	if (rc == 1) {
		gj_push_key(c, "balances");
		gj_push_index(c, dup);
		gj_push_key(c, "account");
		return gj_fail(c, FL_EINVAL, "duplicate of balances[%zu]; one entry per account",
			       first);
	}
	return FL_OK;
}

static int check_profiles(gj_ctx *c, const chain_genesis *g)
{
	size_t i, j;
	int rc;

	for (i = 0; i < g->n_profiles; i++) {
		const chain_profile *p = &g->profiles[i];
		size_t mark = gj_push_key(c, "profiles");

		gj_push_index(c, i);
		for (j = 0; j < i; j++) {
			if (strcmp(g->profiles[j].id, p->id) == 0) {
				gj_push_key(c, "id");
				return gj_fail(c, FL_EINVAL, "duplicate of profiles[%zu]", j);
			}
		}
		/* A child starts from its parent's model, so the parent must exist
		 * first; listing it earlier also rules out cycles. */
		if (p->parent[0] != '\0') {
			for (j = 0; j < i; j++)
				if (strcmp(g->profiles[j].id, p->parent) == 0)
					break;
			if (j == i) {
				gj_push_key(c, "parent");
				return gj_fail(c, FL_EINVAL,
					       "no profile \"%s\" listed before this one",
					       p->parent);
			}
		}
		if ((rc = genesis_profile_chain_check(c, p)) < 0)
			return rc;
		gj_pop(c, mark);
	}
	return FL_OK;
}

/* chain_genesis_check's field, with profile fields turned into JSON paths. */
static int chain_check(gj_ctx *c, const chain_genesis *g)
{
	const char *field = NULL;
	char path[GJ_PATH_MAX];
	int rc = chain_genesis_check(g, &field);

	if (rc == FL_OK)
		return FL_OK;
	/* Out of memory, not a verdict on a field. */
	if (field == NULL)
		return gj_fail(c, rc < 0 ? rc : FL_EINVAL, "chain_genesis_check: %s",
			       fl_strerror(rc));
	if (strncmp(field, "profiles[", 9) == 0 && strchr(field, ']') != NULL) {
		const char *rest = strchr(field, ']') + 1;
		int head = (int)(rest - field);
		char sub[96];
		profile_field_path(sub, sizeof(sub), *rest == '.' ? rest + 1 : rest);
		snprintf(path, sizeof(path), "%.*s%s%s", head, field, *rest == '.' ? "." : "", sub);
	} else {
		snprintf(path, sizeof(path), "%s", field);
	}
	gj_push_key(c, path);
	return gj_fail(c, rc < 0 ? rc : FL_EINVAL, "rejected by chain_genesis_check");
}

int genesis_check(const chain_genesis *g, unsigned flags, const char *name, char *err,
		  size_t errlen)
{
	gj_ctx c;
	int rc;

	assert(g != NULL && name != NULL);
	gj_init(&c, name, "", err, errlen);
	if (!chain_id_valid(g->chain_id, CHAIN_ID_MAX)) {
		gj_push_key(&c, "chain_id");
		return gj_fail(&c, FL_EINVAL, "must be 1 to %d of [a-z0-9._-]", CHAIN_ID_MAX);
	}
	if ((rc = check_validators(&c, g, flags)) < 0 || (rc = check_members(&c, g)) < 0 ||
	    (rc = check_balances(&c, g)) < 0 || (rc = check_profiles(&c, g)) < 0)
		return rc;
	/* chain_genesis_check wants a validator; a draft may not have one yet. */
	if (g->n_validators == 0)
		return FL_OK;
	return chain_check(&c, g);
}
