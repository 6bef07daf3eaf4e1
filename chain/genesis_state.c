/*
 * chain/genesis_state.c — chain_store_init_genesis: the state at height 0,
 * written in one transaction like a block, so a store either has a whole
 * genesis or none. The commit stores the first state hash (the LtHash of
 * everything written here) and app(0) = chain_app_hash(chain_id, 0, it).
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* An account that several lists name (a validator with a balance) is one
 * record: read it back if an earlier list wrote it. */
static int load_or_new(chain_txn *t, const fl_pubkey *pk, const char *name, chain_account *a)
{
	int rc = chain_state_get_account(t, pk, a);

	if (rc == FL_ENOTFOUND) {
		chain_account_init(a, name);
		return FL_OK;
	}
	return rc;
}

static int add_member(chain_txn *t, const fl_pubkey *pk, const char *name)
{
	chain_member_record m;
	chain_account a;
	int rc;

	if ((rc = load_or_new(t, pk, name, &a)) != FL_OK)
		return rc;
	if ((rc = chain_state_put_account(t, pk, &a)) != FL_OK)
		return rc;
	memset(&m, 0, sizeof(m));
	m.height = 0;
	memcpy(m.name, a.name, sizeof(m.name));
	return chain_state_put_member(t, pk, &m);
}

static int write_state(chain_txn *t, const chain_genesis *g)
{
	chain_validator_set set;
	uint64_t supply = 0, bonded = 0;
	int rc;

	/* set_power keeps the total from the stored value: start it at 0. */
	if ((rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER, 0)) != 0)
		return rc;
	for (uint32_t i = 0; i < g->n_validators; i++) {
		const chain_genesis_validator *v = &g->validators[i];
		if ((rc = add_member(t, &v->pubkey, v->name)) != FL_OK ||
		    (rc = chain_state_set_power(t, &v->pubkey, v->power)) != FL_OK)
			return rc;
	}
	/* The genesis validators sign block 1: the first entry of the history. */
	if ((rc = chain_state_get_validators(t, &set)) != FL_OK ||
	    (rc = chain_state_put_validator_set(t, 1, &set)) != FL_OK)
		return rc;
	for (uint32_t i = 0; i < g->n_members; i++)
		if ((rc = add_member(t, &g->members[i].pubkey, g->members[i].name)) != FL_OK)
			return rc;
	for (uint32_t i = 0; i < g->n_balances; i++) {
		const chain_genesis_balance *b = &g->balances[i];
		chain_account a;
		chain_bond bond;

		/* chain_genesis_check bounds the sum; this only keeps the state
		 * writer from trusting it. */
		if (b->amount > UINT64_MAX - supply || b->bonded > UINT64_MAX - supply - b->amount)
			return FL_EOVERFLOW;
		supply += b->amount + b->bonded;
		bonded += b->bonded;
		if ((rc = load_or_new(t, &b->account, NULL, &a)) != FL_OK)
			return rc;
		a.balance = b->amount;
		if ((rc = chain_state_put_account(t, &b->account, &a)) != FL_OK)
			return rc;
		memset(&bond, 0, sizeof(bond));
		bond.bonded = b->bonded;
		if (b->bonded > 0 && (rc = chain_state_put_bond(t, &b->account, &bond)) != FL_OK)
			return rc;
	}
	if ((rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, supply)) ||
	    (rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS, 0)) ||
	    (rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_BONDED, bonded)) ||
	    (rc = chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_UNBONDING, 0)))
		return rc;
	for (uint32_t i = 0; i < g->n_profiles; i++) {
		chain_profile_state st;

		memset(&st, 0, sizeof(st));
		st.status = CHAIN_PROFILE_ACTIVE;
		if ((rc = chain_state_put_profile(t, &g->profiles[i], &st)) != FL_OK ||
		    (rc = chain_state_set_active(t, g->profiles[i].id, 1)) != FL_OK)
			return rc;
	}
	return FL_OK;
}

static int write_meta(chain_txn *t, const chain_genesis *g, const fl_hash *genesis_hash)
{
	chain_lthash state;
	fl_hash app, beacon;
	fl_writer w;
	int rc;

	if ((rc = chain_txn_state_hash(t, &state)) != FL_OK)
		return rc;
	chain_app_hash(&app, g->chain_id, 0, &state);
	/* The first beacon: nothing to chain from yet but the genesis itself. */
	fl_domain_hash(&beacon, "beacon", g->chain_id, genesis_hash->b, FL_HASH_LEN);

	fl_writer_init(&w, 0);
	fl_write_str(&w, g->chain_id, CHAIN_ID_MAX);
	rc = fl_writer_finish(&w);
	if (rc == FL_OK)
		rc = chain_state_put_encoded(t, CHAIN_DB_META, CHAIN_META_CHAIN_ID,
					     strlen(CHAIN_META_CHAIN_ID), &w);
	w.len = 0;
	if (rc == FL_OK && (rc = chain_params_encode(&w, &g->params)) == FL_OK)
		rc = chain_state_put_encoded(t, CHAIN_DB_META, CHAIN_META_PARAMS,
					     strlen(CHAIN_META_PARAMS), &w);
	fl_writer_free(&w);
	if (rc != FL_OK)
		return rc;
	if ((rc = chain_state_put_hash(t, CHAIN_META_GENESIS_HASH, genesis_hash)) ||
	    (rc = chain_state_put_u64(t, CHAIN_DB_META, CHAIN_META_HEIGHT, 0)) ||
	    (rc = chain_state_put_hash(t, CHAIN_META_LAST_BLOCK, genesis_hash)) ||
	    (rc =
		 chain_state_put_u64(t, CHAIN_DB_META, CHAIN_META_LAST_TIME, g->genesis_time_ms)) ||
	    (rc = chain_state_put_hash(t, CHAIN_META_BEACON, &beacon)) ||
	    (rc = chain_state_put_hash(t, CHAIN_META_APP_HASH, &app)))
		return rc;
	return FL_OK;
}

int chain_store_init_genesis(chain_store *s, const chain_genesis *g)
{
	chain_txn *t = NULL;
	fl_hash genesis_hash, stored;
	const char *field = NULL;
	int rc;

	assert(s != NULL && g != NULL);
	if ((rc = chain_genesis_check(g, &field)) != FL_OK)
		return rc;
	if ((rc = chain_genesis_hash(&genesis_hash, g)) != FL_OK)
		return rc;
	if ((rc = chain_txn_begin(s, 1, &t)) != FL_OK)
		return rc;
	rc = chain_state_get_hash(t, CHAIN_META_GENESIS_HASH, &stored);
	if (rc == FL_OK) {
		rc = fl_hash_cmp(&stored, &genesis_hash) == 0 ? FL_EEXIST : FL_ECHAIN;
		goto cleanup;
	}
	if (rc != FL_ENOTFOUND)
		goto cleanup;
	if ((rc = write_state(t, g)) != FL_OK || (rc = write_meta(t, g, &genesis_hash)) != FL_OK)
		goto cleanup;
	rc = chain_txn_commit(t);
	t = NULL;

cleanup:
	chain_txn_abort(t);
	return rc;
}
