/*
 * chain/apply.c — chain_apply_block, chain_check_block and chain_check_tx:
 * the block-level checks in a fixed order, the begin-block round schedule,
 * every tx in order, then the block's own records and the new app hash,
 * all in one write transaction. Any failure aborts that transaction, so a
 * rejected block writes nothing (docs/state-machine.md lists the order).
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* One rule per kind; member_add and member_remove share theirs. */
static const chain_rule_fn rules[] = {
    [CHAIN_TX_TRANSFER] = chain_rule_transfer,
    [CHAIN_TX_MEMBER_ADD] = chain_rule_member,
    [CHAIN_TX_MEMBER_REMOVE] = chain_rule_member,
    [CHAIN_TX_PROFILE_PROPOSE] = chain_rule_profile_propose,
    [CHAIN_TX_PROFILE_VOTE] = chain_rule_profile_vote,
    [CHAIN_TX_ROUND_JOIN] = chain_rule_round_join,
    [CHAIN_TX_UPDATE_COMMIT] = chain_rule_update_commit,
    [CHAIN_TX_AGGREGATE_COMMIT] = chain_rule_aggregate_commit,
    [CHAIN_TX_EVAL_REPORT] = chain_rule_eval_report,
    [CHAIN_TX_EVIDENCE] = chain_rule_evidence,
    [CHAIN_TX_BOND] = chain_rule_bond,
    [CHAIN_TX_UNBOND] = chain_rule_unbond,
    [CHAIN_TX_VALIDATOR_UPDATE] = chain_rule_validator_update,
};

int chain_exec_tx(chain_exec *x, const chain_tx *tx, uint64_t pending_nonce, const char **reason)
{
	chain_account acc;
	uint64_t base;
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	*reason = NULL;
	if (tx->kind >= FL_ARRAY_LEN(rules) || rules[tx->kind] == NULL) {
		*reason = "tx: kind";
		return FL_EVERSION;
	}
	/* Also runs the field checks: the signature covers the canonical
	 * encoding, and only a well-formed tx has one. A prepared tx has
	 * encoded (so its fields are in range) and been verified already, or
	 * is being verified for a caller that judges it later (sig_ok is then
	 * not read: a verify thread may be writing it). */
	if (x->known != NULL && (x->sig_later ? x->known->sighash_ok : x->known->sig_ok))
		rc = FL_OK;
	else
		rc = chain_tx_verify_cached(tx, x->chain_id, x->sigcache);
	if (rc != FL_OK) {
		*reason = rc == FL_ESIG ? "tx: signature" : "tx: fields";
		return rc;
	}
	rc = chain_state_get_account(x->t, &tx->sender, &acc);
	if (rc != FL_OK) {
		*reason = rc == FL_ENOTFOUND ? "tx: unknown sender" : "tx: sender";
		return rc;
	}
	base = acc.nonce > pending_nonce ? acc.nonce : pending_nonce;
	if (base == UINT64_MAX || tx->nonce != base + 1) {
		*reason = "tx: nonce";
		return FL_ENONCE;
	}
	/* The bump comes first: a rule may rewrite this account (a transfer),
	 * and it re-reads it. */
	acc.nonce = tx->nonce;
	if ((rc = chain_state_put_account(x->t, &tx->sender, &acc)) != FL_OK) {
		*reason = "tx: store";
		return rc;
	}
	rc = rules[tx->kind](x, tx, reason);
	if (rc != FL_OK && *reason == NULL)
		*reason = "tx: rule";
	return rc;
}

/* ---------------------------------------------------------- block checks */

/* Block 1 follows the genesis, which nobody signs: its header carries a zero
 * last_commit_hash instead of a hash of the commit, so the commit's fields
 * must all be zero too, or two encodings of block 1 would share one hash. */
static int commit_is_empty(const chain_commit *c)
{
	fl_hash zero;

	memset(&zero, 0, sizeof(zero));
	return c->height == 0 && c->round == 0 && fl_hash_cmp(&c->block_hash, &zero) == 0 &&
	       c->n_sigs == 0;
}

/* The last commit carries > 2/3 of the power of the set that was in force
 * at its height (the store's history, valset.c). */
static int check_last_commit(chain_txn *t, const char *chain_id, const chain_block *b,
			     chain_block_prep *prep)
{
	int rc;

	if (b->header.height == 1)
		return commit_is_empty(&b->last_commit) ? FL_OK : FL_EINVAL;
	/* The verify threads take the commit's signatures first. */
	for (uint32_t k = 0; k < prep->n_sigs; k++)
		(void)chain_block_prep_commit_ok(prep, k);
	rc = chain_commit_check(t, chain_id, b->header.height - 1, &b->header.prev_hash,
				&b->last_commit, prep->commit_ok);
	return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
}

/* Everything about the block that does not need its txs applied, in the
 * order of docs/state-machine.md; *reason names the failed check. */
static int check_header(chain_txn *t, const chain_info *info, const chain_block *b,
			chain_block_prep *prep, const char **reason)
{
	const chain_block_header *h = &b->header;
	fl_hash expect, zero;
	uint64_t power = 0;
	int rc;

	memset(&zero, 0, sizeof(zero));
	*reason = "version";
	if (h->version != CHAIN_BLOCK_VERSION)
		return FL_EVERSION;
	*reason = "chain_id";
	if (strncmp(h->chain_id, info->chain_id, sizeof(h->chain_id)) != 0)
		return FL_ECHAIN;
	*reason = "height";
	if (info->height == UINT64_MAX || h->height != info->height + 1)
		return FL_ECHAIN;
	*reason = "prev_hash";
	if (fl_hash_cmp(&h->prev_hash, &info->last_block_hash) != 0)
		return FL_ECHAIN;
	*reason = "app_hash";
	if (fl_hash_cmp(&h->app_hash, &info->app_hash) != 0)
		return FL_ECHAIN;
	*reason = "tx_root";
	if (prep->root_rc != FL_OK)
		return prep->root_rc;
	if (fl_hash_cmp(&prep->tx_root, &h->tx_root) != 0)
		return FL_EINVAL;
	*reason = "last_commit";
	if (h->height == 1) {
		expect = zero;
	} else if ((rc = chain_commit_hash(&expect, &b->last_commit)) != FL_OK) {
		return rc;
	}
	if (fl_hash_cmp(&expect, &h->last_commit_hash) != 0)
		return FL_EINVAL;
	*reason = "proposer";
	if ((rc = chain_state_get_power(t, &h->proposer, &power)) != FL_OK)
		return rc;
	if (power == 0)
		return FL_EPERM;
	/* Sets *reason to "vrf" or "beacon" on failure. */
	if ((rc = chain_header_verify_beacon(h, &info->beacon, reason)) != FL_OK)
		return rc;
	*reason = "time";
	if (h->time_ms <= info->last_time_ms)
		return FL_EINVAL;
	*reason = "last_commit";
	if ((rc = check_last_commit(t, info->chain_id, b, prep)) != FL_OK)
		return rc;
	*reason = "n_txs";
	if (b->n_txs > info->params.max_block_txs)
		return FL_ETOOBIG;
	*reason = NULL;
	return FL_OK;
}

/* ---------------------------------------------------------- block writes */

/* The set this block leaves behind is in force from the next height: the
 * history gains an entry only when it differs from the block's own. */
static int record_next_set(chain_exec *x, const chain_validator_set *set)
{
	chain_validator_set next;
	int rc;

	if ((rc = chain_state_get_validators(x->t, &next)) != FL_OK)
		return rc;
	if (next.n == set->n && next.total == set->total &&
	    memcmp(next.pubkey, set->pubkey, set->n * sizeof(set->pubkey[0])) == 0 &&
	    memcmp(next.power, set->power, set->n * sizeof(set->power[0])) == 0)
		return FL_OK;
	return chain_state_put_validator_set(x->t, x->height + 1, &next);
}

/* The block, its hash index, and the meta that chain_store_info reads:
 * none of it is state (the app hash covers the state the txs left). The
 * tx index is written later (txindex.c). */
static int write_block(chain_exec *x, const chain_block *b, const chain_block_prep *prep,
		       const chain_validator_set *set, fl_hash *app)
{
	uint8_t key[8];
	fl_hash block_hash;
	chain_lthash state;
	int rc;

	chain_put_be64(key, b->header.height);
	if ((rc = chain_state_put_encoded(x->t, CHAIN_DB_BLOCKS, key, sizeof(key), &prep->enc)) !=
	    0)
		return rc;
	if ((rc = chain_header_hash(&block_hash, &b->header)) != 0)
		return rc;
	if ((rc = chain_txn_put(x->t, CHAIN_DB_BLOCK_HASHES, block_hash.b, FL_HASH_LEN, key,
				sizeof(key))) != 0)
		return rc;
	if ((rc = record_next_set(x, set)) != 0)
		return rc;
	/* Every state write of the block is made by now. */
	if ((rc = chain_txn_state_hash(x->t, &state)) != 0)
		return rc;
	chain_app_hash(app, x->chain_id, b->header.height, &state);
	if ((rc = chain_state_put_u64(x->t, CHAIN_DB_META, CHAIN_META_HEIGHT, b->header.height)) ||
	    (rc = chain_state_put_hash(x->t, CHAIN_META_LAST_BLOCK, &block_hash)) ||
	    (rc = chain_state_put_hash(x->t, CHAIN_META_BEACON, &b->header.beacon)) ||
	    (rc = chain_state_put_u64(x->t, CHAIN_DB_META, CHAIN_META_LAST_TIME,
				      b->header.time_ms)) ||
	    (rc = chain_state_put_hash(x->t, CHAIN_META_APP_HASH, app)))
		return rc;
	return FL_OK;
}

int chain_begin_block(chain_exec *x)
{
	int rc;

	assert(x != NULL);
	/* Stake first: what matures at this height is liquid for every later
	 * step and for the block's txs. */
	if ((rc = chain_stake_begin_block(x)) != FL_OK ||
	    (rc = chain_proposals_begin_block(x)) != FL_OK)
		return rc;
	return chain_rounds_begin_block(x);
}

static void exec_init(chain_exec *x, chain_txn *t, const chain_info *info, uint64_t height,
		      const fl_hash *beacon)
{
	memset(x, 0, sizeof(*x));
	x->t = t;
	memcpy(x->chain_id, info->chain_id, sizeof(x->chain_id));
	x->params = info->params;
	x->height = height;
	x->beacon = *beacon;
}

/* The verdict on the txs' signatures once the txs have run with them
 * unchecked (sig_later): rc is how the rest went and res->failed_tx the tx
 * that failed (UINT32_MAX: none). A bad signature at or before that tx is
 * the block's failure, as it was when each tx checked its own before its
 * rule; one after it never counts. This thread verifies unclaimed ones
 * while it waits. */
static int signatures_verdict(chain_exec *x, const chain_block *b, chain_block_prep *prep, int rc,
			      chain_block_result *res)
{
	uint32_t upto = res->failed_tx != UINT32_MAX ? res->failed_tx + 1 : b->n_txs;

	for (uint32_t i = 0; i < upto; i++) {
		int vrc;

		if (chain_block_prep_tx_ok(prep, i))
			continue;
		/* The in-order check's own code and reason (it verified again
		 * what the threads had refused). */
		if ((vrc = chain_tx_verify_cached(&b->txs[i], x->chain_id, x->sigcache)) == FL_OK)
			continue;
		res->failed_tx = i;
		res->reason = vrc == FL_ESIG ? "tx: signature" : "tx: fields";
		return vrc;
	}
	return rc;
}

static int run_block(chain_store *s, const chain_block *b, const chain_commit *tip,
		     chain_block_result *res, int keep)
{
	chain_validator_set set;
	chain_block_prep prep;
	chain_txn *t = NULL;
	chain_info info;
	chain_exec x;
	int rc;

	assert(s != NULL && b != NULL && res != NULL);
	assert(b->n_txs == 0 || b->txs != NULL);
	memset(res, 0, sizeof(*res));
	res->failed_tx = UINT32_MAX;
	/* Bytes and hashes first, outside the write lock: the verify threads
	 * prepare the txs (this one helping), then start on the signatures
	 * while this one assembles the block and the transaction opens. */
	if ((rc = chain_block_prepare(&prep, b)) != FL_OK ||
	    (rc = chain_block_prep_checks_begin(s, &prep, b, 0, !keep)) != FL_OK) {
		res->reason = "store";
		goto cleanup;
	}
	chain_block_prep_txs_wait(&prep);
	if ((rc = chain_block_prep_assemble(&prep, b)) != FL_OK) {
		res->reason = "store";
		goto cleanup;
	}
	if ((rc = chain_txn_begin(s, 1, &t)) != FL_OK) {
		res->reason = "store";
		goto cleanup;
	}
	if ((rc = chain_state_info(t, &info)) != FL_OK) {
		res->reason = "no genesis";
		goto cleanup;
	}
	if ((rc = check_header(t, &info, b, &prep, &res->reason)) != FL_OK)
		goto cleanup;
	res->reason = "block_bytes";
	if ((rc = prep.enc_rc) != FL_OK)
		goto cleanup;
	if (prep.enc.len > info.params.max_block_bytes) {
		rc = FL_ETOOBIG;
		goto cleanup;
	}
	/* The set in force for this block: the next block's commit is checked
	 * against it, whatever the txs below do to the validators. */
	res->reason = "store";
	if ((rc = chain_state_get_validators(t, &set)) != FL_OK)
		goto cleanup;
	exec_init(&x, t, &info, b->header.height, &b->header.beacon);
	x.sigcache = chain_store_sigcache(s);
	res->reason = "begin_block";
	if ((rc = chain_begin_block(&x)) != FL_OK)
		goto cleanup;
	/* The txs run with their signatures still being verified on the
	 * other threads, and this one joins them after its own serial work
	 * (run_signatures): what the block does with a bad signature is
	 * decided there, exactly as if each tx had checked its own first. */
	x.sig_later = 1;
	for (uint32_t i = 0; i < b->n_txs; i++) {
		/* The header's chain id is the store's (check 2), so the
		 * prepared sighash is the one the rules would compute. */
		x.known = &prep.txs[i];
		rc = chain_exec_tx(&x, &b->txs[i], 0, &res->reason);
		x.known = NULL;
		if (rc != FL_OK) {
			res->failed_tx = i;
			goto signatures;
		}
	}
	res->reason = "end_block";
	if ((rc = chain_valset_end_block(&x)) != FL_OK)
		goto signatures;
	/* Checks already all done (cached signatures): the pool is free for
	 * the state hash's fold (apphash.c). */
	if (chain_block_prep_checks_done(&prep))
		chain_block_prep_checks_end(&prep, 0);
	res->reason = "store";
	rc = write_block(&x, b, &prep, &set, &res->app_hash);

signatures:
	if ((rc = signatures_verdict(&x, b, &prep, rc, res)) != FL_OK)
		goto cleanup;
	/* The commit that finalised the block, in the block's own transaction:
	 * no crash can leave a tip whose commit is lost. */
	if (tip != NULL && (rc = chain_state_put_tip_commit(t, tip)) != FL_OK) {
		res->reason = "tip commit";
		goto cleanup;
	}
	if (keep) {
		rc = chain_txn_commit(t);
		t = NULL;
		if (rc != FL_OK)
			goto cleanup;
	}
	res->reason = NULL;

cleanup:
	chain_txn_abort(t);
	chain_block_prep_free(&prep);
	if (rc != FL_OK)
		memset(&res->app_hash, 0, sizeof(res->app_hash));
	return rc;
}

/* A txn that filled the map wrote nothing: grow it and run the block once
 * more, so a full map is never a verdict on the block (store_map.c). */
static int run_block_growing(chain_store *s, const chain_block *b, const chain_commit *tip,
			     chain_block_result *res, int keep)
{
	int rc = run_block(s, b, tip, res, keep);

	if (rc == FL_EDB && chain_store_grow_if_full(s))
		rc = run_block(s, b, tip, res, keep);
	return rc;
}

int chain_apply_block(chain_store *s, const chain_block *b, chain_block_result *res)
{
	return run_block_growing(s, b, NULL, res, 1);
}

int chain_apply_block_commit(chain_store *s, const chain_block *b, const chain_commit *c,
			     chain_block_result *res)
{
	assert(c != NULL);
	return run_block_growing(s, b, c, res, 1);
}

int chain_check_block(chain_store *s, const chain_block *b, chain_block_result *res)
{
	return run_block_growing(s, b, NULL, res, 0);
}

/* The tx on top of the committed state and the next block's begin-block
 * step (stake released, proposals expired, rounds that open or close at
 * that height). The next beacon is not known yet: the stored one stands
 * in, which only changes who a round that opens in that very block elects,
 * and no tx of that block depends on it. */
static int check_tx_once(chain_store *s, const chain_tx *tx, uint64_t pending_nonce,
			 const char **reason)
{
	const char *why = NULL;
	chain_txn *t = NULL;
	chain_info info;
	chain_exec x;
	int rc;

	assert(s != NULL && tx != NULL);
	if ((rc = chain_txn_begin(s, 1, &t)) != FL_OK) {
		why = "store";
		goto cleanup;
	}
	if ((rc = chain_state_info(t, &info)) != FL_OK) {
		why = "no genesis";
		goto cleanup;
	}
	exec_init(&x, t, &info, info.height + 1, &info.beacon);
	x.sigcache = chain_store_sigcache(s);
	if ((rc = chain_begin_block(&x)) != FL_OK) {
		why = "begin_block";
		goto cleanup;
	}
	rc = chain_exec_tx(&x, tx, pending_nonce, &why);

cleanup:
	chain_txn_abort(t);
	if (reason != NULL)
		*reason = rc == FL_OK ? NULL : why;
	return rc;
}

int chain_check_tx(chain_store *s, const chain_tx *tx, uint64_t pending_nonce, const char **reason)
{
	int rc = check_tx_once(s, tx, pending_nonce, reason);

	if (rc == FL_EDB && chain_store_grow_if_full(s))
		rc = check_tx_once(s, tx, pending_nonce, reason);
	return rc;
}
