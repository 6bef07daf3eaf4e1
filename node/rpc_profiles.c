/*
 * node/rpc_profiles.c — GET /v1/profiles, /v1/profiles/{id} and
 * /v1/profiles/{id}/rounds/{r}: profiles with what they have become, and
 * a round with its coordinators, committed updates, aggregate and
 * rewards, each answer from one snapshot.
 */
#include "node/rpc_internal.h"

#include <string.h>

#define BAD_ID "id: a profile id is 1..32 characters of [a-z0-9._-]"

/* {"profile":definition,"state":state} */
static json_t *profile_entry(const chain_profile *def, const chain_profile_state *st)
{
	json_t *o = json_object();
	int ok = 1;

	node__rpc_set(o, "profile", node__rpc_profile_json(def), &ok);
	node__rpc_set(o, "state", node__rpc_profile_state_json(st), &ok);
	return node__rpc_done(o, ok);
}

/* Every profile in id order, built inside the snapshot (one profile at a
 * time in memory besides the JSON). */
static int list_profiles(node_rpc *r, json_t **out)
{
	char(*ids)[CHAIN_PROFILE_ID_MAX + 1] = NULL;
	chain_snapshot *snap = NULL;
	chain_profile *def = NULL;
	chain_profile_state st;
	chain_info info;
	json_t *o = NULL, *list = NULL;
	size_t n = 0;
	int rc, ok = 1;

	*out = NULL;
	if ((def = fl_malloc(sizeof(*def))) == NULL)
		return FL_ENOMEM;
	if ((rc = chain_snapshot_begin(r->store, &snap)) != FL_OK)
		goto cleanup;
	if ((rc = chain_snap_info(snap, &info)) != FL_OK ||
	    (rc = chain_snap_list_profiles(snap, &ids, &n)) != FL_OK)
		goto cleanup;
	o = json_object();
	list = json_array();
	for (size_t i = 0; ok && list != NULL && i < n; i++) {
		if ((rc = chain_snap_get_profile(snap, ids[i], def, &st)) != FL_OK) {
			/* Listed in the same snapshot: it must be there. */
			rc = rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
			goto cleanup;
		}
		node__rpc_append(list, profile_entry(def, &st), &ok);
	}
	node__rpc_set(o, "height", node__rpc_u64(info.height), &ok);
	node__rpc_set(o, "profiles", list, &ok);
	list = NULL;
	*out = node__rpc_done(o, ok);
	o = NULL;
	rc = *out != NULL ? FL_OK : FL_ENOMEM;

cleanup:
	chain_snapshot_end(snap);
	json_decref(list);
	json_decref(o);
	fl_free(ids);
	fl_free(def);
	return rc;
}

int node__rpc_profiles(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	json_t *body;
	int rc;

	(void)req;
	if ((rc = list_profiles(ctx, &body)) != FL_OK)
		return node__rpc_fail(ex, rc, NULL);
	return node__rpc_ok(ex, body);
}

/* ------------------------------------------------------------ a profile */

static int read_profile(node_rpc *r, const char *id, chain_profile *def, chain_profile_state *st,
			chain_round *rd, int *has_round)
{
	chain_snapshot *snap = NULL;
	int rc;

	*has_round = 0;
	if ((rc = chain_snapshot_begin(r->store, &snap)) != FL_OK)
		return rc;
	if ((rc = chain_snap_get_profile(snap, id, def, st)) != FL_OK)
		goto cleanup;
	if (st->round != 0) {
		/* A profile's latest round is stored with it. */
		if ((rc = chain_snap_get_round(snap, id, st->round, rd)) != FL_OK) {
			rc = rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
			goto cleanup;
		}
		*has_round = 1;
	}

cleanup:
	chain_snapshot_end(snap);
	return rc;
}

int node__rpc_profile(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	const char *id = node_http_param(req, "id");
	chain_profile *def;
	chain_profile_state st;
	chain_round rd;
	json_t *o;
	int rc, has_round, ok = 1;

	if (!chain_id_valid(id, CHAIN_PROFILE_ID_MAX))
		return node__rpc_bad(ex, BAD_ID);
	if ((def = fl_malloc(sizeof(*def))) == NULL)
		return node__rpc_fail(ex, FL_ENOMEM, NULL);
	if ((rc = read_profile(ctx, id, def, &st, &rd, &has_round)) != FL_OK) {
		fl_free(def);
		return node__rpc_fail(ex, rc, "no such profile");
	}
	o = profile_entry(def, &st);
	node__rpc_set(o, "current_round", has_round ? node__rpc_round_json(&rd) : json_null(), &ok);
	fl_free(def);
	return node__rpc_ok(ex, node__rpc_done(o, ok));
}

/* --------------------------------------------------------------- a round */

typedef struct {
	chain_round rd;
	chain_update_record *updates;
	size_t n_updates;
	chain_reward *rewards;
	size_t n_rewards;
	chain_eval *evals;
	size_t n_evals;
} round_view;

static int read_round(node_rpc *r, const char *id, uint64_t round, round_view *v, const char **what)
{
	chain_snapshot *snap = NULL;
	chain_profile *def;
	chain_profile_state st;
	int rc;

	if ((def = fl_malloc(sizeof(*def))) == NULL)
		return FL_ENOMEM;
	if ((rc = chain_snapshot_begin(r->store, &snap)) != FL_OK)
		goto cleanup;
	*what = "no such profile";
	if ((rc = chain_snap_get_profile(snap, id, def, &st)) != FL_OK)
		goto cleanup;
	*what = "no such round of this profile";
	if ((rc = chain_snap_get_round(snap, id, round, &v->rd)) != FL_OK)
		goto cleanup;
	if ((rc = chain_snap_get_round_updates(snap, id, round, &v->updates, &v->n_updates)) !=
		FL_OK ||
	    (rc = chain_snap_get_round_rewards(snap, id, round, &v->rewards, &v->n_rewards)) !=
		FL_OK ||
	    (rc = chain_snap_get_round_evals(snap, id, round, &v->evals, &v->n_evals)) != FL_OK) {
		/* The round exists: its lists may be empty, never absent. */
		rc = rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
		goto cleanup;
	}

cleanup:
	chain_snapshot_end(snap);
	fl_free(def);
	return rc;
}

static json_t *round_view_json(const round_view *v)
{
	json_t *o = node__rpc_round_json(&v->rd), *ups = json_array(), *rws = json_array();
	json_t *evs = json_array();
	int ok = 1;

	for (size_t i = 0; evs != NULL && i < v->n_evals; i++)
		node__rpc_append(evs, node__rpc_eval_json(&v->evals[i]), &ok);
	for (size_t i = 0; ups != NULL && i < v->n_updates; i++)
		node__rpc_append(ups, node__rpc_update_json(&v->updates[i]), &ok);
	for (size_t i = 0; rws != NULL && i < v->n_rewards; i++)
		node__rpc_append(rws, node__rpc_reward_json(&v->rewards[i]), &ok);
	node__rpc_set(o, "updates", ups, &ok);
	node__rpc_set(o, "rewards", rws, &ok);
	node__rpc_set(o, "evals", evs, &ok);
	return node__rpc_done(o, ok);
}

int node__rpc_round(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	const char *id = node_http_param(req, "id"), *what = NULL;
	round_view v;
	uint64_t round;
	int rc;

	if (!chain_id_valid(id, CHAIN_PROFILE_ID_MAX))
		return node__rpc_bad(ex, BAD_ID);
	if (fl_parse_u64(node_http_param(req, "r"), &round) != FL_OK)
		return node__rpc_bad(ex, "r: must be a decimal round number");
	memset(&v, 0, sizeof(v));
	rc = read_round(ctx, id, round, &v, &what);
	if (rc == FL_OK)
		rc = node__rpc_ok(ex, round_view_json(&v));
	else
		rc = node__rpc_fail(ex, rc, what);
	fl_free(v.updates);
	fl_free(v.rewards);
	fl_free(v.evals);
	return rc;
}
