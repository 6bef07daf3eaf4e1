/*
 * genesis/json_write.c — a chain_genesis as pretty JSON that json_read.c
 * reads back to the same struct (and so the same genesis hash). Keys always
 * come in the same order and every field is written, defaults included, so
 * the file says everything the chain will hold.
 */
#include "genesis/internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *params_to_json(const chain_params *p, int *ok)
{
	json_t *o = json_object();

	gj_set(o, "timeout_propose_ms", json_integer(p->timeout_propose_ms), ok);
	gj_set(o, "timeout_prevote_ms", json_integer(p->timeout_prevote_ms), ok);
	gj_set(o, "timeout_precommit_ms", json_integer(p->timeout_precommit_ms), ok);
	gj_set(o, "timeout_delta_ms", json_integer(p->timeout_delta_ms), ok);
	gj_set(o, "max_block_txs", json_integer(p->max_block_txs), ok);
	gj_set(o, "max_block_bytes", json_integer(p->max_block_bytes), ok);
	gj_set(o, "stake_unit", gj_new_u64(p->stake_unit), ok);
	gj_set(o, "slash_bps", json_integer(p->slash_bps), ok);
	gj_set(o, "unbonding_blocks", json_integer(p->unbonding_blocks), ok);
	gj_set(o, "proposal_deposit", gj_new_u64(p->proposal_deposit), ok);
	gj_set(o, "proposal_ttl_blocks", json_integer(p->proposal_ttl_blocks), ok);
	gj_set(o, "max_open_proposals", json_integer(p->max_open_proposals), ok);
	gj_set(o, "pbts_precision_ms", json_integer(p->pbts_precision_ms), ok);
	gj_set(o, "pbts_msg_delay_ms", json_integer(p->pbts_msg_delay_ms), ok);
	gj_set(o, "block_interval_ms", json_integer(p->block_interval_ms), ok);
	if (o == NULL)
		*ok = 0;
	return o;
}

json_t *genesis_to_json(const chain_genesis *g)
{
	json_t *root = json_object(), *validators = json_array(), *members = json_array();
	json_t *balances = json_array(), *profiles = json_array();
	uint32_t i;
	int ok = 1;

	assert(g != NULL);
	gj_set(root, "chain_id", json_string(g->chain_id), &ok);
	gj_set(root, "genesis_time_ms", gj_new_u64(g->genesis_time_ms), &ok);
	gj_set(root, "params", params_to_json(&g->params, &ok), &ok);

	for (i = 0; i < g->n_validators && ok; i++) {
		json_t *v = json_object();
		gj_set(v, "pubkey", gj_new_pubkey(&g->validators[i].pubkey), &ok);
		gj_set(v, "power", gj_new_u64(g->validators[i].power), &ok);
		gj_set(v, "name", json_string(g->validators[i].name), &ok);
		gj_append(validators, v, &ok);
	}
	gj_set(root, "validators", validators, &ok);

	for (i = 0; i < g->n_members && ok; i++) {
		json_t *m = json_object();
		gj_set(m, "pubkey", gj_new_pubkey(&g->members[i].pubkey), &ok);
		gj_set(m, "name", json_string(g->members[i].name), &ok);
		gj_append(members, m, &ok);
	}
	gj_set(root, "members", members, &ok);

	for (i = 0; i < g->n_balances && ok; i++) {
		json_t *b = json_object();
		gj_set(b, "account", gj_new_pubkey(&g->balances[i].account), &ok);
		gj_set(b, "amount", gj_new_u64(g->balances[i].amount), &ok);
		gj_set(b, "bonded", gj_new_u64(g->balances[i].bonded), &ok);
		gj_append(balances, b, &ok);
	}
	gj_set(root, "balances", balances, &ok);

	for (i = 0; i < g->n_profiles && ok; i++)
		gj_append(profiles, genesis_profile_to_json(&g->profiles[i]), &ok);
	gj_set(root, "profiles", profiles, &ok);

	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

char *genesis_to_string(const chain_genesis *g)
{
	json_t *root = genesis_to_json(g);
	char *text = NULL, *out = NULL;
	size_t n;

	if (root == NULL)
		return NULL;
	/* jansson keeps insertion order, which is the order written above. */
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	out = fl_malloc(n + 2);
	if (out != NULL) {
		memcpy(out, text, n);
		out[n] = '\n';
		out[n + 1] = '\0';
	}
	free(text); /* jansson's allocation */
	return out;
}

int genesis_write_file(const char *path, const chain_genesis *g, char *err, size_t errlen)
{
	char *text;
	int rc;

	assert(path != NULL && g != NULL);
	text = genesis_to_string(g);
	if (text == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	rc = fl_file_write_atomic(path, text, strlen(text), 0644);
cleanup:
	if (rc < 0)
		gj_errorf(err, errlen, "%s: cannot write: %s", path, fl_strerror(rc));
	fl_free(text);
	return rc;
}
