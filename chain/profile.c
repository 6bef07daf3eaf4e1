/*
 * chain/profile.c — the life of a specialization profile: proposed by a
 * member, then decided by the validators' votes (governance.c tallies them):
 *
 *   PROPOSED --YES > 2/3 of power--> ACTIVE --RETIRE > 2/3--> RETIRED
 *   PROPOSED --NO >= 1/3 of power--> REJECTED
 *   PROPOSED --undecided for proposal_ttl_blocks--> EXPIRED
 *
 * NO at one third already rejects because YES can then never pass. Each
 * phase (approval, retirement) takes one vote per validator. A proposal
 * costs a deposit and counts against its proposer's cap until it is
 * decided (proposal.c).
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

int chain_rule_profile_propose(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_profile *def = &tx->u.profile_propose;
	chain_profile_state st;
	chain_account sender;
	const char *field = NULL;
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	*reason = "tx: store";
	if ((rc = chain_state_get_account(x->t, &tx->sender, &sender)) != FL_OK)
		return rc;
	if (!sender.member && sender.power == 0) {
		*reason = "tx: not a member";
		return FL_EPERM;
	}
	if (sender.jailed) {
		*reason = "tx: jailed";
		return FL_EPERM;
	}
	if ((rc = chain_profile_check(def, &field)) != FL_OK) {
		*reason = "tx: profile fields";
		return rc;
	}
	rc = chain_state_get_profile(x->t, def->id, NULL, NULL);
	if (rc == FL_OK) {
		*reason = "tx: profile exists";
		return FL_EEXIST;
	}
	if (rc != FL_ENOTFOUND)
		return rc;
	if (def->parent[0] != '\0') {
		rc = chain_state_get_profile(x->t, def->parent, NULL, NULL);
		if (rc == FL_ENOTFOUND)
			*reason = "tx: no such parent";
		if (rc != FL_OK)
			return rc;
	}
	if ((rc = chain_proposal_open(x, &tx->sender, def->id, reason)) != FL_OK)
		return rc;
	*reason = "tx: store";
	memset(&st, 0, sizeof(st));
	st.status = CHAIN_PROFILE_PROPOSED;
	st.proposed_height = x->height;
	st.proposer = tx->sender;
	return chain_state_put_profile(x->t, def, &st);
}

/* 3 || phase || id || 0x00: the subject of a profile vote. */
static size_t vote_prefix(uint8_t *key, uint8_t phase, const char *id)
{
	key[0] = CHAIN_VOTES_PROFILE;
	key[1] = phase;
	return 2 + chain_key_profile_prefix(key + 2, id);
}

/* Two model specs describe the same network (field by field: the struct
 * may hold padding and unused tail entries). */
static int same_spec(const chain_model_spec *a, const chain_model_spec *b)
{
	if (a->n_layers != b->n_layers || a->n_layers > CHAIN_MAX_LAYERS)
		return 0;
	for (uint32_t i = 0; i <= a->n_layers; i++)
		if (a->sizes[i] != b->sizes[i])
			return 0;
	for (uint32_t i = 0; i < a->n_layers; i++)
		if (a->activations[i] != b->activations[i])
			return 0;
	return 1;
}

/*
 * A child profile activated with its parent's network starts from what
 * the parent has learned (design.md §6: "from its genesis model or its
 * parent's current model"), so a specialisation does not throw away the
 * rounds that found it. A parent with no committed round yet, or another
 * network, leaves the child at its own init (zero model hash: round 1
 * trains from fl's init of (model, init_seed)).
 */
static int inherit_model(chain_exec *x, const chain_profile *def, chain_profile_state *st)
{
	chain_profile pdef;
	chain_profile_state pst;
	int rc;

	if (def->parent[0] == '\0')
		return FL_OK;
	rc = chain_state_get_profile(x->t, def->parent, &pdef, &pst);
	if (rc == FL_ENOTFOUND)
		return FL_OK;
	if (rc != FL_OK)
		return rc;
	if (pst.rounds_committed > 0 && same_spec(&def->model, &pdef.model))
		st->model_hash = pst.model_hash;
	return FL_OK;
}

int chain_rule_profile_vote(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_tx_profile_vote *pv = &tx->u.profile_vote;
	uint8_t key[CHAIN_KEY_MAX];
	chain_profile def;
	chain_profile_state st;
	uint64_t power = 0, tally = 0, total = 0;
	uint8_t phase, next = 0;
	const uint8_t *v;
	size_t plen, vlen;
	int rc, decided;

	assert(x != NULL && tx != NULL && reason != NULL);
	*reason = "tx: store";
	if ((rc = chain_state_get_power(x->t, &tx->sender, &power)) != FL_OK)
		return rc;
	if (power == 0) {
		*reason = "tx: not a validator";
		return FL_EPERM;
	}
	rc = chain_state_get_profile(x->t, pv->profile, &def, &st);
	if (rc == FL_ENOTFOUND)
		*reason = "tx: no such profile";
	if (rc != FL_OK)
		return rc;
	if (st.status == CHAIN_PROFILE_EXPIRED) {
		*reason = "tx: profile expired";
		return FL_ESTATE;
	}
	if (pv->choice == CHAIN_VOTE_RETIRE) {
		phase = CHAIN_PROFILE_PHASE_RETIRE;
		if (st.status != CHAIN_PROFILE_ACTIVE) {
			*reason = "tx: profile not active";
			return FL_ESTATE;
		}
	} else if (pv->choice == CHAIN_VOTE_YES || pv->choice == CHAIN_VOTE_NO) {
		phase = CHAIN_PROFILE_PHASE_APPROVE;
		if (st.status != CHAIN_PROFILE_PROPOSED) {
			*reason = "tx: profile not proposed";
			return FL_ESTATE;
		}
	} else {
		*reason = "tx: choice";
		return FL_EINVAL;
	}
	plen = vote_prefix(key, phase, pv->profile);
	memcpy(key + plen, tx->sender.b, FL_PUBKEY_LEN);
	rc = chain_txn_get(x->t, CHAIN_DB_VOTES, key, plen + FL_PUBKEY_LEN, &v, &vlen);
	if (rc == FL_OK) {
		*reason = "tx: duplicate vote";
		return FL_EDUP;
	}
	if (rc != FL_ENOTFOUND)
		return rc;
	if ((rc = chain_txn_put(x->t, CHAIN_DB_VOTES, key, plen + FL_PUBKEY_LEN, &pv->choice, 1)) !=
		FL_OK ||
	    (rc = chain_votes_tally(x->t, key, plen, pv->choice, &tally)) != FL_OK ||
	    (rc = chain_state_get_u64(x->t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER,
				      &total)) != FL_OK)
		return rc;
	switch (pv->choice) {
	case CHAIN_VOTE_YES:
		decided = chain_over_two_thirds(tally, total);
		next = CHAIN_PROFILE_ACTIVE;
		break;
	case CHAIN_VOTE_NO:
		decided = chain_at_least_one_third(tally, total);
		next = CHAIN_PROFILE_REJECTED;
		break;
	default:
		decided = chain_over_two_thirds(tally, total);
		next = CHAIN_PROFILE_RETIRED;
		break;
	}
	if (!decided)
		return FL_OK;
	st.status = next;
	if (next == CHAIN_PROFILE_ACTIVE) {
		st.activated_height = x->height;
		if ((rc = inherit_model(x, &def, &st)) != FL_OK)
			return rc;
	}
	/* Decided: the deposit goes back to the proposer of a profile the
	 * validators wanted, and is burned for one they refused. */
	if (next != CHAIN_PROFILE_RETIRED &&
	    (rc = chain_proposal_close(x, &st.proposer, pv->profile,
				       next == CHAIN_PROFILE_ACTIVE ? CHAIN_DEPOSIT_RETURN
								    : CHAIN_DEPOSIT_BURN)) != FL_OK)
		return rc;
	/* A retired profile's running round can no longer finish: it fails
	 * now rather than waiting out a schedule nobody follows. */
	if (next == CHAIN_PROFILE_RETIRED && st.round > 0 &&
	    (rc = chain_round_abandon(x, pv->profile, st.round)) != FL_OK)
		return rc;
	/* The round schedule walks the active set only. */
	if ((next == CHAIN_PROFILE_ACTIVE || next == CHAIN_PROFILE_RETIRED) &&
	    (rc = chain_state_set_active(x->t, pv->profile, next == CHAIN_PROFILE_ACTIVE)) != FL_OK)
		return rc;
	if ((rc = chain_state_put_profile(x->t, &def, &st)) != FL_OK)
		return rc;
	return chain_votes_clear(x->t, key, plen);
}

int chain_profile_expire(chain_exec *x, const char *id)
{
	uint8_t key[CHAIN_KEY_MAX];
	chain_profile def;
	chain_profile_state st;
	int rc;

	assert(x != NULL && id != NULL);
	if ((rc = chain_state_get_profile(x->t, id, &def, &st)) != FL_OK)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	/* A decided proposal leaves the expiry index when it is decided. */
	if (st.status != CHAIN_PROFILE_PROPOSED)
		return FL_ECORRUPT;
	st.status = CHAIN_PROFILE_EXPIRED;
	if ((rc = chain_state_put_profile(x->t, &def, &st)) != FL_OK ||
	    (rc = chain_proposal_close(x, &st.proposer, id, CHAIN_DEPOSIT_BURN)) != FL_OK)
		return rc;
	/* Nobody can vote on it any more: its pending votes would only stay. */
	return chain_votes_clear(x->t, key, vote_prefix(key, CHAIN_PROFILE_PHASE_APPROVE, id));
}
