/*
 * node/rpc_json.c — the API's JSON for blocks and txs: scalars, the header,
 * a commit, a vote and a tx with its kind's body, every field by its
 * chain.h name (docs/http.md, "The node's API"). Array lengths (n_…) are
 * the arrays themselves.
 */
#include "node/rpc_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

/* docs/genesis.md: 2^53, the largest integer every JSON reader holds. */
#define JSON_INT_MAX 9007199254740992ull

void node__rpc_set(json_t *obj, const char *key, json_t *value, int *ok)
{
	/* _new takes value even on failure, and refuses a NULL one. */
	if (json_object_set_new(obj, key, value) != 0)
		*ok = 0;
}

void node__rpc_append(json_t *arr, json_t *value, int *ok)
{
	if (json_array_append_new(arr, value) != 0)
		*ok = 0;
}

json_t *node__rpc_done(json_t *obj, int ok)
{
	if (obj != NULL && !ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *node__rpc_u64(uint64_t v)
{
	char buf[24];

	if (v <= JSON_INT_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

json_t *node__rpc_hex(const uint8_t *p, size_t n)
{
	json_t *j;
	char *hex;

	if (n > (SIZE_MAX - 1) / 2 || (hex = fl_malloc(2 * n + 1)) == NULL)
		return NULL;
	fl_hex_encode(hex, p, n);
	j = json_stringn(hex, 2 * n);
	fl_free(hex);
	return j;
}

json_t *node__rpc_hash(const fl_hash *h)
{
	char hex[FL_HASH_HEX_LEN + 1];

	fl_hash_to_hex(hex, h);
	return json_string(hex);
}

json_t *node__rpc_key(const fl_pubkey *pk)
{
	char hex[FL_PUBKEY_HEX_LEN + 1];

	fl_pubkey_to_hex(hex, pk);
	return json_string(hex);
}

/* A name from a table indexed by value, "unknown" outside it. */
static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] != NULL ? names[v] : "unknown";
}

json_t *node__rpc_header_json(const chain_block_header *h)
{
	json_t *o = json_object();
	int ok = 1;

	node__rpc_set(o, "version", json_integer(h->version), &ok);
	node__rpc_set(o, "chain_id", json_string(h->chain_id), &ok);
	node__rpc_set(o, "height", node__rpc_u64(h->height), &ok);
	node__rpc_set(o, "time_ms", node__rpc_u64(h->time_ms), &ok);
	node__rpc_set(o, "prev_hash", node__rpc_hash(&h->prev_hash), &ok);
	node__rpc_set(o, "tx_root", node__rpc_hash(&h->tx_root), &ok);
	node__rpc_set(o, "app_hash", node__rpc_hash(&h->app_hash), &ok);
	node__rpc_set(o, "proposer", node__rpc_key(&h->proposer), &ok);
	node__rpc_set(o, "last_commit_hash", node__rpc_hash(&h->last_commit_hash), &ok);
	node__rpc_set(o, "vrf_proof", node__rpc_hex(h->vrf_proof.b, sizeof(h->vrf_proof.b)), &ok);
	node__rpc_set(o, "beacon", node__rpc_hash(&h->beacon), &ok);
	return node__rpc_done(o, ok);
}

json_t *node__rpc_commit_json(const chain_commit *c)
{
	json_t *o = json_object(), *sigs = json_array();
	int ok = sigs != NULL;

	for (uint32_t i = 0; ok && i < c->n_sigs; i++) {
		json_t *s = json_object();
		int sok = 1;

		node__rpc_set(s, "validator", node__rpc_key(&c->sigs[i].validator), &sok);
		node__rpc_set(s, "sig", node__rpc_hex(c->sigs[i].sig.b, FL_SIG_LEN), &sok);
		node__rpc_append(sigs, node__rpc_done(s, sok), &ok);
	}
	node__rpc_set(o, "height", node__rpc_u64(c->height), &ok);
	node__rpc_set(o, "round", json_integer(c->round), &ok);
	node__rpc_set(o, "block_hash", node__rpc_hash(&c->block_hash), &ok);
	node__rpc_set(o, "sigs", sigs, &ok);
	return node__rpc_done(o, ok);
}

json_t *node__rpc_vote_json(const chain_vote *v)
{
	static const char *const types[] = {NULL, "prevote", "precommit"};
	json_t *o = json_object();
	int ok = 1;

	node__rpc_set(o, "type", json_string(name_of(types, FL_ARRAY_LEN(types), v->type)), &ok);
	node__rpc_set(o, "height", node__rpc_u64(v->height), &ok);
	node__rpc_set(o, "round", json_integer(v->round), &ok);
	node__rpc_set(o, "block_hash", node__rpc_hash(&v->block_hash), &ok);
	node__rpc_set(o, "validator", node__rpc_key(&v->validator), &ok);
	node__rpc_set(o, "sig", node__rpc_hex(v->sig.b, FL_SIG_LEN), &ok);
	return node__rpc_done(o, ok);
}

/* ------------------------------------------------------------ tx bodies */

static json_t *u16_array(const uint16_t *v, uint32_t n)
{
	json_t *a = json_array();
	int ok = 1;

	for (uint32_t i = 0; i < n; i++)
		node__rpc_append(a, json_integer(v[i]), &ok);
	return node__rpc_done(a, ok);
}

static json_t *u64_array(const uint64_t *v, uint32_t n)
{
	json_t *a = json_array();
	int ok = 1;

	for (uint32_t i = 0; i < n; i++)
		node__rpc_append(a, node__rpc_u64(v[i]), &ok);
	return node__rpc_done(a, ok);
}

static json_t *i32_array(const int32_t *v, uint32_t n)
{
	json_t *a = json_array();
	int ok = 1;

	for (uint32_t i = 0; i < n; i++)
		node__rpc_append(a, json_integer(v[i]), &ok);
	return node__rpc_done(a, ok);
}

/* One body writer per kind, like chain/apply.c's rules[] table. */
typedef void (*body_fn)(json_t *o, const chain_tx *tx, int *ok);

static void body_transfer(json_t *o, const chain_tx *tx, int *ok)
{
	node__rpc_set(o, "to", node__rpc_key(&tx->u.transfer.to), ok);
	node__rpc_set(o, "amount", node__rpc_u64(tx->u.transfer.amount), ok);
}

static void body_member(json_t *o, const chain_tx *tx, int *ok)
{
	node__rpc_set(o, "member", node__rpc_key(&tx->u.member.member), ok);
	node__rpc_set(o, "name", json_string(tx->u.member.name), ok);
}

static void body_profile_propose(json_t *o, const chain_tx *tx, int *ok)
{
	node__rpc_set(o, "profile", node__rpc_profile_json(&tx->u.profile_propose), ok);
}

static void body_profile_vote(json_t *o, const chain_tx *tx, int *ok)
{
	static const char *const choices[] = {"no", "yes", "retire"};
	const chain_tx_profile_vote *v = &tx->u.profile_vote;

	node__rpc_set(o, "profile", json_string(v->profile), ok);
	node__rpc_set(o, "choice", json_string(name_of(choices, FL_ARRAY_LEN(choices), v->choice)),
		      ok);
}

static void body_round_join(json_t *o, const chain_tx *tx, int *ok)
{
	const chain_tx_round_join *j = &tx->u.round_join;

	node__rpc_set(o, "profile", json_string(j->profile), ok);
	node__rpc_set(o, "n_samples", node__rpc_u64(j->n_samples), ok);
	node__rpc_set(o, "labels", u16_array(j->labels, j->n_labels), ok);
	node__rpc_set(o, "label_counts", u64_array(j->label_counts, j->n_labels), ok);
	node__rpc_set(o, "summary", i32_array(j->summary, j->n_summary), ok);
}

static void body_update_commit(json_t *o, const chain_tx *tx, int *ok)
{
	const chain_tx_update_commit *u = &tx->u.update_commit;

	node__rpc_set(o, "profile", json_string(u->profile), ok);
	node__rpc_set(o, "round", node__rpc_u64(u->round), ok);
	node__rpc_set(o, "base_model", node__rpc_hash(&u->base_model), ok);
	node__rpc_set(o, "update", node__rpc_hash(&u->update), ok);
	node__rpc_set(o, "n_samples", node__rpc_u64(u->n_samples), ok);
	node__rpc_set(o, "train_loss_ppm", json_integer(u->train_loss_ppm), ok);
	node__rpc_set(o, "train_accuracy_ppm", json_integer(u->train_accuracy_ppm), ok);
}

static void body_aggregate_commit(json_t *o, const chain_tx *tx, int *ok)
{
	const chain_tx_aggregate_commit *a = &tx->u.aggregate_commit;
	json_t *entries = json_array();

	for (uint32_t i = 0; entries != NULL && i < a->n_entries; i++) {
		json_t *e = json_object();
		int eok = 1;

		node__rpc_set(e, "participant", node__rpc_key(&a->entries[i].participant), &eok);
		node__rpc_set(e, "update", node__rpc_hash(&a->entries[i].update), &eok);
		node__rpc_set(e, "weight", node__rpc_u64(a->entries[i].weight), &eok);
		node__rpc_append(entries, node__rpc_done(e, eok), ok);
	}
	node__rpc_set(o, "profile", json_string(a->profile), ok);
	node__rpc_set(o, "round", node__rpc_u64(a->round), ok);
	node__rpc_set(o, "base_model", node__rpc_hash(&a->base_model), ok);
	node__rpc_set(o, "new_model", node__rpc_hash(&a->new_model), ok);
	node__rpc_set(o, "entries", entries, ok);
	node__rpc_set(o, "eval_accuracy_ppm", json_integer(a->eval_accuracy_ppm), ok);
	node__rpc_set(o, "eval_loss_ppm", json_integer(a->eval_loss_ppm), ok);
}

static void body_eval_report(json_t *o, const chain_tx *tx, int *ok)
{
	const chain_tx_eval_report *e = &tx->u.eval_report;

	node__rpc_set(o, "profile", json_string(e->profile), ok);
	node__rpc_set(o, "round", node__rpc_u64(e->round), ok);
	node__rpc_set(o, "model", node__rpc_hash(&e->model), ok);
	node__rpc_set(o, "n_samples", node__rpc_u64(e->n_samples), ok);
	node__rpc_set(o, "metric_value", node__rpc_u64(e->metric_value), ok);
}

static void body_evidence(json_t *o, const chain_tx *tx, int *ok)
{
	static const char *const types[] = {NULL, "double_sign", "bad_aggregate"};
	const chain_tx_evidence *e = &tx->u.evidence;

	node__rpc_set(o, "type", json_string(name_of(types, FL_ARRAY_LEN(types), e->type)), ok);
	if (e->type == CHAIN_EVIDENCE_DOUBLE_SIGN) {
		node__rpc_set(o, "vote_a", node__rpc_vote_json(&e->vote_a), ok);
		node__rpc_set(o, "vote_b", node__rpc_vote_json(&e->vote_b), ok);
	} else {
		/* Only the fields of the type in use are encoded (chain/tx_evidence.c). */
		node__rpc_set(o, "aggregate_tx",
			      node__rpc_hex(e->aggregate_tx, e->aggregate_tx_len), ok);
		node__rpc_set(o, "recomputed_model", node__rpc_hash(&e->recomputed_model), ok);
	}
}

static void body_stake(json_t *o, const chain_tx *tx, int *ok)
{
	node__rpc_set(o, "amount", node__rpc_u64(tx->u.stake.amount), ok);
}

static void body_validator_update(json_t *o, const chain_tx *tx, int *ok)
{
	static const char *const actions[] = {NULL, "add", "remove", "set_power", "unjail"};
	const chain_tx_validator_update *v = &tx->u.validator_update;

	node__rpc_set(o, "target", node__rpc_key(&v->target), ok);
	node__rpc_set(o, "action", json_string(name_of(actions, FL_ARRAY_LEN(actions), v->action)),
		      ok);
	node__rpc_set(o, "power", node__rpc_u64(v->power), ok);
}

static const body_fn bodies[] = {
    [CHAIN_TX_TRANSFER] = body_transfer,
    [CHAIN_TX_MEMBER_ADD] = body_member,
    [CHAIN_TX_MEMBER_REMOVE] = body_member,
    [CHAIN_TX_PROFILE_PROPOSE] = body_profile_propose,
    [CHAIN_TX_PROFILE_VOTE] = body_profile_vote,
    [CHAIN_TX_ROUND_JOIN] = body_round_join,
    [CHAIN_TX_UPDATE_COMMIT] = body_update_commit,
    [CHAIN_TX_AGGREGATE_COMMIT] = body_aggregate_commit,
    [CHAIN_TX_EVAL_REPORT] = body_eval_report,
    [CHAIN_TX_EVIDENCE] = body_evidence,
    [CHAIN_TX_BOND] = body_stake,
    [CHAIN_TX_UNBOND] = body_stake,
    [CHAIN_TX_VALIDATOR_UPDATE] = body_validator_update,
};

json_t *node__rpc_tx_json(const chain_tx *tx)
{
	const char *kind = chain_tx_kind_name(tx->kind);
	json_t *o;
	fl_writer w;
	fl_hash h;
	int ok = 1;

	/* Only decoded txs come here: their kinds are known. */
	assert(kind != NULL && tx->kind < FL_ARRAY_LEN(bodies) && bodies[tx->kind] != NULL);
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if (chain_tx_encode(&w, tx) != FL_OK) {
		fl_writer_free(&w);
		return NULL;
	}
	fl_sha256(&h, w.buf, w.len);
	o = json_object();
	node__rpc_set(o, "hash", node__rpc_hash(&h), &ok);
	node__rpc_set(o, "kind", json_string(kind), &ok);
	node__rpc_set(o, "sender", node__rpc_key(&tx->sender), &ok);
	node__rpc_set(o, "nonce", node__rpc_u64(tx->nonce), &ok);
	if (o != NULL)
		bodies[tx->kind](o, tx, &ok);
	node__rpc_set(o, "sig", node__rpc_hex(tx->sig.b, FL_SIG_LEN), &ok);
	node__rpc_set(o, "hex", node__rpc_hex(w.buf, w.len), &ok);
	fl_writer_free(&w);
	return node__rpc_done(o, ok);
}

const char *node__rpc_cons_step_name(uint8_t v)
{
	/* node_cons_step's values (node/consensus.h). */
	static const char *const steps[] = {"none", "propose", "prevote", "precommit", "commit"};

	return name_of(steps, FL_ARRAY_LEN(steps), v);
}
