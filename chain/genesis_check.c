/*
 * chain/genesis_check.c — the semantic checks of a genesis document: ranges,
 * unique keys, totals that fit 64 bits, and profiles whose parents exist.
 * A failure names the first bad field, e.g. "validators[2].power", so the
 * genesis tool can point the operator at it.
 */
#include "chain/internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Profiles are checked pairwise (unique ids, parents); a genesis with more
 * than this is a mistake, not a network. */
#define GENESIS_MAX_PROFILES 1024u

/* The field name of the last failure on this thread: indices make names
 * that cannot be static strings. Valid until the next check on the thread. */
static _Thread_local char field_buf[128];

static int bad_at(const char **field, const char *list, uint32_t i, const char *name)
{
	snprintf(field_buf, sizeof(field_buf), "%s[%u].%s", list, i, name);
	*field = field_buf;
	return FL_EINVAL;
}

static int bad(const char **field, const char *name)
{
	*field = name;
	return FL_EINVAL;
}

/* One key with where it was listed: `pos` orders validators before members. */
typedef struct {
	fl_pubkey key;
	uint32_t pos;
} listed_key;

static int listed_key_cmp(const void *a, const void *b)
{
	const listed_key *x = a, *y = b;
	int c = fl_pubkey_cmp(&x->key, &y->key);

	if (c != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * Sorting finds duplicates in O(n log n) for any number of members; the
 * first bad entry is the smallest position that repeats an earlier key.
 * Sets *dup_pos to UINT32_MAX when every key is unique.
 */
static void first_duplicate(listed_key *keys, size_t n, uint32_t *dup_pos)
{
	*dup_pos = UINT32_MAX;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), listed_key_cmp);
	for (size_t i = 1; i < n; i++)
		if (fl_pubkey_cmp(&keys[i - 1].key, &keys[i].key) == 0 && keys[i].pos < *dup_pos)
			*dup_pos = keys[i].pos;
}

static int check_validators(const chain_genesis *g, const char **field)
{
	uint64_t total = 0;

	if (g->n_validators < 1 || g->n_validators > CHAIN_MAX_VALIDATORS)
		return bad(field, "validators");
	for (uint32_t i = 0; i < g->n_validators; i++) {
		const chain_genesis_validator *v = &g->validators[i];
		if (fl_pubkey_check(&v->pubkey) != 0)
			return bad_at(field, "validators", i, "pubkey");
		if (v->power == 0 || v->power > CHAIN_MAX_VALIDATOR_POWER ||
		    v->power > UINT64_MAX - total)
			return bad_at(field, "validators", i, "power");
		total += v->power;
		if (!chain_text_valid(v->name, 0, CHAIN_NAME_MAX))
			return bad_at(field, "validators", i, "name");
	}
	return FL_OK;
}

static int check_members(const chain_genesis *g, const char **field)
{
	for (uint32_t i = 0; i < g->n_members; i++) {
		if (fl_pubkey_check(&g->members[i].pubkey) != 0)
			return bad_at(field, "members", i, "pubkey");
		if (!chain_text_valid(g->members[i].name, 0, CHAIN_NAME_MAX))
			return bad_at(field, "members", i, "name");
	}
	return FL_OK;
}

/* Validators are members too: a key listed twice in either list, or in
 * both, is one duplicate entry. */
static int check_unique_members(const chain_genesis *g, const char **field)
{
	size_t n = (size_t)g->n_validators + g->n_members;
	listed_key *keys;
	uint32_t dup;
	int rc = FL_OK;

	keys = fl_calloc(n, sizeof(*keys));
	if (keys == NULL)
		return FL_ENOMEM;
	for (uint32_t i = 0; i < g->n_validators; i++)
		keys[i] = (listed_key){g->validators[i].pubkey, i};
	for (uint32_t i = 0; i < g->n_members; i++)
		keys[g->n_validators + i] = (listed_key){g->members[i].pubkey, g->n_validators + i};
	first_duplicate(keys, n, &dup);
	if (dup < g->n_validators)
		rc = bad_at(field, "validators", dup, "pubkey");
	else if (dup != UINT32_MAX)
		rc = bad_at(field, "members", dup - g->n_validators, "pubkey");
	fl_free(keys);
	return rc;
}

static int check_balances(const chain_genesis *g, const char **field)
{
	listed_key *keys;
	uint64_t supply = 0;
	uint32_t dup;
	int rc = FL_OK;

	for (uint32_t i = 0; i < g->n_balances; i++) {
		const chain_genesis_balance *b = &g->balances[i];
		if (fl_pubkey_check(&b->account) != 0)
			return bad_at(field, "balances", i, "account");
		/* The supply (liquid and bonded) is tracked as one u64: it must
		 * fit from the start. An entry of nothing is a mistake. */
		if (b->amount > UINT64_MAX - supply || (b->amount == 0 && b->bonded == 0))
			return bad_at(field, "balances", i, "amount");
		supply += b->amount;
		if (b->bonded > UINT64_MAX - supply)
			return bad_at(field, "balances", i, "bonded");
		supply += b->bonded;
	}
	keys = fl_calloc(g->n_balances, sizeof(*keys));
	if (keys == NULL)
		return FL_ENOMEM;
	for (uint32_t i = 0; i < g->n_balances; i++)
		keys[i] = (listed_key){g->balances[i].account, i};
	first_duplicate(keys, g->n_balances, &dup);
	if (dup != UINT32_MAX)
		rc = bad_at(field, "balances", dup, "account");
	fl_free(keys);
	return rc;
}

static int check_profiles(const chain_genesis *g, const char **field)
{
	if (g->n_profiles > GENESIS_MAX_PROFILES)
		return bad(field, "profiles");
	for (uint32_t i = 0; i < g->n_profiles; i++) {
		const chain_profile *p = &g->profiles[i];
		const char *inner = NULL;
		int parent_found = p->parent[0] == '\0';

		if (chain_profile_check(p, &inner) != 0)
			return bad_at(field, "profiles", i, inner);
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(g->profiles[j].id, p->id) == 0)
				return bad_at(field, "profiles", i, "id");
			if (strcmp(g->profiles[j].id, p->parent) == 0)
				parent_found = 1;
		}
		/* Listed before its children, so the state can be built in order. */
		if (!parent_found)
			return bad_at(field, "profiles", i, "parent");
	}
	return FL_OK;
}

int chain_genesis_check(const chain_genesis *g, const char **field)
{
	const char *unused;
	int rc;

	assert(g != NULL);
	assert(g->validators != NULL || g->n_validators == 0);
	assert(g->members != NULL || g->n_members == 0);
	assert(g->balances != NULL || g->n_balances == 0);
	assert(g->profiles != NULL || g->n_profiles == 0);
	if (field == NULL)
		field = &unused;
	*field = NULL;
	if (!chain_id_valid(g->chain_id, CHAIN_ID_MAX))
		return bad(field, "chain_id");
	if (g->genesis_time_ms > CHAIN_GENESIS_TIME_MAX_MS)
		return bad(field, "genesis_time_ms");
	if ((rc = chain_params_check(&g->params, field)) != 0)
		return rc;
	if ((rc = check_validators(g, field)) != 0)
		return rc;
	if ((rc = check_members(g, field)) != 0)
		return rc;
	if ((rc = check_unique_members(g, field)) != 0)
		return rc;
	if ((rc = check_balances(g, field)) != 0)
		return rc;
	return check_profiles(g, field);
}
