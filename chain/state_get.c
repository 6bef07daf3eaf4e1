/*
 * chain/state_get.c — lookups on committed state for the rest of the node
 * (RPC, explorer, FL driver), on a read snapshot (snapshot.c) so that they
 * see one whole height, copying out what they return. Each chain_get_* is
 * its chain_snap_* on a snapshot of its own.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

int chain_snap_get_account(chain_snapshot *snap, const fl_pubkey *id, chain_account *out)
{
	assert(snap != NULL && id != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	return chain_state_get_account(snap->t, id, out);
}

int chain_snap_get_bond(chain_snapshot *snap, const fl_pubkey *id, chain_bond *out)
{
	assert(snap != NULL && id != NULL && out != NULL);
	return chain_state_get_bond(snap->t, id, out);
}

int chain_snap_get_profile(chain_snapshot *snap, const char *id, chain_profile *def,
			   chain_profile_state *state)
{
	assert(snap != NULL && id != NULL);
	return chain_state_get_profile(snap->t, id, def, state);
}

int chain_snap_get_round(chain_snapshot *snap, const char *profile, uint64_t round,
			 chain_round *out)
{
	assert(snap != NULL && profile != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	return chain_state_get_round(snap->t, profile, round, out);
}

/* A member's join as the round_join tx body it came from, so the node can
 * tell whether what it declared still stands (a re-join replaces it). */
int chain_snap_get_join(chain_snapshot *snap, const char *profile, const fl_pubkey *pk,
			chain_tx_round_join *join, uint64_t *height)
{
	chain_join_record rec;
	int rc;

	assert(snap != NULL && profile != NULL && pk != NULL && join != NULL);
	memset(join, 0, sizeof(*join));
	if (!chain_id_valid(profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	if ((rc = chain_state_get_join(snap->t, profile, pk, &rec)) != FL_OK)
		return rc;
	memcpy(join->profile, profile, strlen(profile) + 1);
	join->n_samples = rec.n_samples;
	join->n_labels = rec.n_labels;
	memcpy(join->labels, rec.labels, sizeof(join->labels));
	memcpy(join->label_counts, rec.label_counts, sizeof(join->label_counts));
	join->n_summary = rec.n_summary;
	memcpy(join->summary, rec.summary, sizeof(join->summary));
	if (height != NULL)
		*height = rec.height;
	return FL_OK;
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

static int list_eval(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	grow_list *l = ctx;
	chain_eval_record rec;
	chain_eval *e;

	if (klen != l->plen + FL_PUBKEY_LEN)
		return FL_ECORRUPT;
	if (chain_eval_record_decode(val, vlen, &rec) != FL_OK)
		return FL_ECORRUPT;
	if ((e = grow_next(l)) == NULL)
		return FL_ENOMEM;
	memcpy(e->reporter.b, key + l->plen, FL_PUBKEY_LEN);
	e->model = rec.model;
	e->n_samples = rec.n_samples;
	e->metric_value = rec.metric_value;
	e->height = rec.height;
	l->n++;
	return 0;
}

/* Runs one scan and hands the array over (or frees it). */
static int run_list(chain_txn *t, chain_db db, const void *prefix, size_t plen, chain_scan_fn fn,
		    size_t item, void **out, size_t *n)
{
	grow_list l;
	int rc;

	memset(&l, 0, sizeof(l));
	l.item = item;
	l.plen = plen;
	*out = NULL;
	*n = 0;
	rc = chain_txn_scan(t, db, prefix, plen, fn, &l);
	if (rc != FL_OK) {
		fl_free(l.items);
		return rc;
	}
	*out = l.items;
	*n = l.n;
	return FL_OK;
}

int chain_snap_list_profiles(chain_snapshot *snap, char (**ids)[CHAIN_PROFILE_ID_MAX + 1],
			     size_t *n)
{
	void *items = NULL;
	int rc;

	assert(snap != NULL && ids != NULL && n != NULL);
	rc = run_list(snap->t, CHAIN_DB_PROFILES, NULL, 0, list_profile, sizeof(**ids), &items, n);
	*ids = items;
	return rc;
}

/* One round's rows of db (keys: the round's prefix, then a member or an
 * index), each decoded by fn into items of `item` bytes. */
static int round_list(chain_snapshot *snap, chain_db db, const char *profile, uint64_t round,
		      chain_scan_fn fn, size_t item, void **out, size_t *n)
{
	uint8_t prefix[CHAIN_KEY_MAX];

	assert(snap != NULL && profile != NULL && out != NULL && n != NULL);
	*out = NULL;
	*n = 0;
	if (!chain_id_valid(profile, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	return run_list(snap->t, db, prefix, chain_key_round(prefix, profile, round), fn, item, out,
			n);
}

int chain_snap_get_round_updates(chain_snapshot *snap, const char *profile, uint64_t round,
				 chain_update_record **out, size_t *n)
{
	void *items = NULL;
	int rc = round_list(snap, CHAIN_DB_UPDATES, profile, round, list_update, sizeof(**out), &items, n);

	*out = items;
	return rc;
}

int chain_snap_get_round_evals(chain_snapshot *snap, const char *profile, uint64_t round,
			       chain_eval **out, size_t *n)
{
	void *items = NULL;
	int rc = round_list(snap, CHAIN_DB_EVALS, profile, round, list_eval, sizeof(**out), &items, n);

	*out = items;
	return rc;
}

int chain_snap_get_round_rewards(chain_snapshot *snap, const char *profile, uint64_t round,
				 chain_reward **out, size_t *n)
{
	void *items = NULL;
	int rc = round_list(snap, CHAIN_DB_REWARDS, profile, round, list_reward, sizeof(**out), &items, n);

	*out = items;
	return rc;
}

int chain_snap_get_validators(chain_snapshot *snap, chain_genesis_validator **out, size_t *n)
{
	chain_validator_set set;
	chain_genesis_validator *v = NULL;
	chain_txn *t;
	int rc;

	assert(snap != NULL && out != NULL && n != NULL);
	t = snap->t;
	*out = NULL;
	*n = 0;
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
	return rc;
}

/* ------------------------------------------------ one-lookup snapshots */

/* Each chain_get_* below: a snapshot, its chain_snap_*, the end. */
#define ON_SNAPSHOT(s, call)                                                                       \
	do {                                                                                       \
		chain_snapshot *snap_;                                                             \
		int rc_;                                                                           \
		assert((s) != NULL);                                                               \
		if ((rc_ = chain_snapshot_begin((s), &snap_)) != FL_OK)                            \
			return rc_;                                                                \
		rc_ = call;                                                                        \
		chain_snapshot_end(snap_);                                                         \
		return rc_;                                                                        \
	} while (0)

int chain_get_account(chain_store *s, const fl_pubkey *id, chain_account *out)
{
	memset(out, 0, sizeof(*out));
	ON_SNAPSHOT(s, chain_snap_get_account(snap_, id, out));
}

int chain_get_bond(chain_store *s, const fl_pubkey *id, chain_bond *out)
{
	memset(out, 0, sizeof(*out));
	ON_SNAPSHOT(s, chain_snap_get_bond(snap_, id, out));
}

int chain_get_profile(chain_store *s, const char *id, chain_profile *def,
		      chain_profile_state *state)
{
	ON_SNAPSHOT(s, chain_snap_get_profile(snap_, id, def, state));
}

int chain_get_round(chain_store *s, const char *profile, uint64_t round, chain_round *out)
{
	memset(out, 0, sizeof(*out));
	ON_SNAPSHOT(s, chain_snap_get_round(snap_, profile, round, out));
}

int chain_get_join(chain_store *s, const char *profile, const fl_pubkey *pk,
		   chain_tx_round_join *join, uint64_t *height)
{
	memset(join, 0, sizeof(*join));
	ON_SNAPSHOT(s, chain_snap_get_join(snap_, profile, pk, join, height));
}

int chain_list_profiles(chain_store *s, char (**ids)[CHAIN_PROFILE_ID_MAX + 1], size_t *n)
{
	*ids = NULL;
	*n = 0;
	ON_SNAPSHOT(s, chain_snap_list_profiles(snap_, ids, n));
}

int chain_get_round_updates(chain_store *s, const char *profile, uint64_t round,
			    chain_update_record **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	ON_SNAPSHOT(s, chain_snap_get_round_updates(snap_, profile, round, out, n));
}

int chain_get_round_evals(chain_store *s, const char *profile, uint64_t round, chain_eval **out,
			  size_t *n)
{
	*out = NULL;
	*n = 0;
	ON_SNAPSHOT(s, chain_snap_get_round_evals(snap_, profile, round, out, n));
}

int chain_get_round_rewards(chain_store *s, const char *profile, uint64_t round, chain_reward **out,
			    size_t *n)
{
	*out = NULL;
	*n = 0;
	ON_SNAPSHOT(s, chain_snap_get_round_rewards(snap_, profile, round, out, n));
}

int chain_get_validators(chain_store *s, chain_genesis_validator **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	ON_SNAPSHOT(s, chain_snap_get_validators(snap_, out, n));
}

int chain_store_info(chain_store *s, chain_info *out)
{
	memset(out, 0, sizeof(*out));
	ON_SNAPSHOT(s, chain_snap_info(snap_, out));
}

int chain_get_state_hash(chain_store *s, chain_lthash *out)
{
	ON_SNAPSHOT(s, chain_snap_get_state_hash(snap_, out));
}

int chain_get_block(chain_store *s, uint64_t height, uint8_t **bytes, size_t *n)
{
	*bytes = NULL;
	*n = 0;
	ON_SNAPSHOT(s, chain_snap_get_block(snap_, height, bytes, n));
}

int chain_get_block_height(chain_store *s, const fl_hash *hash, uint64_t *height)
{
	ON_SNAPSHOT(s, chain_snap_get_block_height(snap_, hash, height));
}

int chain_get_tx_location(chain_store *s, const fl_hash *tx_hash, uint64_t *height, uint32_t *index)
{
	ON_SNAPSHOT(s, chain_snap_get_tx_location(snap_, tx_hash, height, index));
}
