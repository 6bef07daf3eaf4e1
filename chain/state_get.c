/*
 * chain/state_get.c — lookups on committed state for the rest of the node
 * (RPC, explorer, FL driver). Each runs in its own read transaction, so it
 * sees one whole height, and copies out what it returns.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

int chain_get_account(chain_store *s, const fl_pubkey *id, chain_account *out)
{
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && id != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		return rc;
	rc = chain_state_get_account(t, id, out);
	chain_txn_abort(t);
	return rc;
}

int chain_get_profile(chain_store *s, const char *id, chain_profile *def,
		      chain_profile_state *state)
{
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && id != NULL);
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		return rc;
	rc = chain_state_get_profile(t, id, def, state);
	chain_txn_abort(t);
	return rc;
}

int chain_get_round(chain_store *s, const char *profile, uint64_t round, chain_round *out)
{
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && profile != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		return rc;
	rc = chain_state_get_round(t, profile, round, out);
	chain_txn_abort(t);
	return rc;
}

/* ------------------------------------------------------------ listings */

/* A growing array of fixed-size items, filled by a scan callback. */
typedef struct {
	size_t item, n, cap;
	void *items;
	size_t plen; /* key prefix length, for the callbacks that need it */
} grow_list;

static void *grow_next(grow_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p;

		if (cap > SIZE_MAX / l->item)
			return NULL;
		p = fl_realloc(l->items, cap * l->item);
		if (p == NULL)
			return NULL;
		l->items = p;
		l->cap = cap;
	}
	return (uint8_t *)l->items + l->n * l->item;
}

static int list_profile(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	grow_list *l = ctx;
	char *id;

	(void)val;
	(void)vlen;
	if (klen == 0 || klen > CHAIN_PROFILE_ID_MAX)
		return FL_ECORRUPT;
	if ((id = grow_next(l)) == NULL)
		return FL_ENOMEM;
	memcpy(id, key, klen);
	id[klen] = '\0';
	l->n++;
	return 0;
}

static int list_update(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	grow_list *l = ctx;
	chain_update_record *u;

	(void)key;
	if (klen != l->plen + FL_PUBKEY_LEN)
		return FL_ECORRUPT;
	if ((u = grow_next(l)) == NULL)
		return FL_ENOMEM;
	if (chain_update_record_decode(val, vlen, u) != FL_OK)
		return FL_ECORRUPT;
	l->n++;
	return 0;
}

static int list_reward(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	grow_list *l = ctx;
	chain_reward *r;

	(void)key;
	if (klen != l->plen + 4)
		return FL_ECORRUPT;
	if ((r = grow_next(l)) == NULL)
		return FL_ENOMEM;
	if (chain_reward_record_decode(val, vlen, r) != FL_OK)
		return FL_ECORRUPT;
	l->n++;
	return 0;
}

/* Runs one scan in a read txn and hands the array over (or frees it). */
static int run_list(chain_store *s, chain_db db, const void *prefix, size_t plen, chain_scan_fn fn,
		    size_t item, void **out, size_t *n)
{
	grow_list l;
	chain_txn *t = NULL;
	int rc;

	memset(&l, 0, sizeof(l));
	l.item = item;
	l.plen = plen;
	*out = NULL;
	*n = 0;
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		return rc;
	rc = chain_txn_scan(t, db, prefix, plen, fn, &l);
	chain_txn_abort(t);
	if (rc != FL_OK) {
		fl_free(l.items);
		return rc;
	}
	*out = l.items;
	*n = l.n;
	return FL_OK;
}

int chain_list_profiles(chain_store *s, char (**ids)[CHAIN_PROFILE_ID_MAX + 1], size_t *n)
{
	void *items = NULL;
	int rc;

	assert(s != NULL && ids != NULL && n != NULL);
	rc = run_list(s, CHAIN_DB_PROFILES, NULL, 0, list_profile, sizeof(**ids), &items, n);
	*ids = items;
	return rc;
}

int chain_get_round_updates(chain_store *s, const char *profile, uint64_t round,
			    chain_update_record **out, size_t *n)
{
	uint8_t prefix[CHAIN_KEY_MAX];
	void *items = NULL;
	int rc;

	assert(s != NULL && profile != NULL && out != NULL && n != NULL);
	*out = NULL;
	*n = 0;
	if (!chain_id_valid(profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	rc = run_list(s, CHAIN_DB_UPDATES, prefix, chain_key_round(prefix, profile, round),
		      list_update, sizeof(**out), &items, n);
	*out = items;
	return rc;
}

int chain_get_round_rewards(chain_store *s, const char *profile, uint64_t round, chain_reward **out,
			    size_t *n)
{
	uint8_t prefix[CHAIN_KEY_MAX];
	void *items = NULL;
	int rc;

	assert(s != NULL && profile != NULL && out != NULL && n != NULL);
	*out = NULL;
	*n = 0;
	if (!chain_id_valid(profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	rc = run_list(s, CHAIN_DB_REWARDS, prefix, chain_key_round(prefix, profile, round),
		      list_reward, sizeof(**out), &items, n);
	*out = items;
	return rc;
}

int chain_get_validators(chain_store *s, chain_genesis_validator **out, size_t *n)
{
	chain_validator_set set;
	chain_genesis_validator *v = NULL;
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && out != NULL && n != NULL);
	*out = NULL;
	*n = 0;
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		return rc;
	if ((rc = chain_state_get_validators(t, &set)) != FL_OK)
		goto cleanup;
	if (set.n > 0 && (v = fl_calloc(set.n, sizeof(*v))) == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (uint32_t i = 0; i < set.n; i++) {
		chain_account a;

		if ((rc = chain_state_get_account(t, &set.pubkey[i], &a)) != FL_OK) {
			rc = rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
			goto cleanup;
		}
		v[i].pubkey = set.pubkey[i];
		v[i].power = set.power[i];
		memcpy(v[i].name, a.name, sizeof(v[i].name));
	}
	*out = v;
	*n = set.n;
	v = NULL;

cleanup:
	fl_free(v);
	chain_txn_abort(t);
	return rc;
}
