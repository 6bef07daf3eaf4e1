/*
 * chain/round_tx.c — what members do in rounds: round_join (volunteer for a
 * profile, declaring the data), update_commit (the hash of one local update
 * while the round's window is open) and eval_report (a member's own
 * evaluation of a profile's model). The aggregate is in aggregate.c.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* A member that may take part: admitted and not jailed. */
static int check_participant(chain_exec *x, const fl_pubkey *pk, const char **reason)
{
	chain_account a;
	int rc = chain_state_get_account(x->t, pk, &a);

	if (rc != FL_OK) {
		*reason = "tx: store";
		return rc;
	}
	if (!a.member) {
		*reason = "tx: not a member";
		return FL_EPERM;
	}
	if (a.jailed) {
		*reason = "tx: jailed";
		return FL_EPERM;
	}
	return FL_OK;
}

static int active_profile(chain_exec *x, const char *id, chain_profile *def,
			  chain_profile_state *st, const char **reason)
{
	int rc = chain_state_get_profile(x->t, id, def, st);

	if (rc != FL_OK) {
		*reason = rc == FL_ENOTFOUND ? "tx: no such profile" : "tx: store";
		return rc;
	}
	if (st->status != CHAIN_PROFILE_ACTIVE) {
		*reason = "tx: profile not active";
		return FL_ESTATE;
	}
	return FL_OK;
}

/* Every label of the join is one of the profile's (both sorted). */
static int labels_subset(const uint16_t *sub, uint32_t n_sub, const uint16_t *set, uint32_t n_set)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < n_sub; i++) {
		while (j < n_set && set[j] < sub[i])
			j++;
		if (j == n_set || set[j] != sub[i])
			return 0;
	}
	return 1;
}

int chain_rule_round_join(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_tx_round_join *j = &tx->u.round_join;
	chain_profile def;
	chain_profile_state st;
	chain_join_record rec;
	uint64_t sum = 0;
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	if ((rc = check_participant(x, &tx->sender, reason)) != FL_OK ||
	    (rc = active_profile(x, j->profile, &def, &st, reason)) != FL_OK)
		return rc;
	if (!labels_subset(j->labels, j->n_labels, def.labels, def.n_labels)) {
		*reason = "tx: labels not in profile";
		return FL_EINVAL;
	}
	for (uint32_t i = 0; i < j->n_labels; i++) {
		if (j->label_counts[i] > UINT64_MAX - sum) {
			*reason = "tx: label counts";
			return FL_EINVAL;
		}
		sum += j->label_counts[i];
	}
	if (j->n_samples == 0 || sum != j->n_samples) {
		*reason = "tx: label counts";
		return FL_EINVAL;
	}
	memset(&rec, 0, sizeof(rec));
	rec.height = x->height;
	rec.n_samples = j->n_samples;
	rec.n_labels = j->n_labels;
	memcpy(rec.labels, j->labels, sizeof(rec.labels));
	memcpy(rec.label_counts, j->label_counts, sizeof(rec.label_counts));
	rec.n_summary = j->n_summary;
	memcpy(rec.summary, j->summary, sizeof(rec.summary));
	*reason = "tx: store";
	return chain_state_put_join(x->t, j->profile, &tx->sender, &rec);
}

int chain_rule_update_commit(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_tx_update_commit *u = &tx->u.update_commit;
	chain_profile def;
	chain_profile_state st;
	chain_join_record join;
	chain_update_record rec;
	chain_round r;
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	if ((rc = active_profile(x, u->profile, &def, &st, reason)) != FL_OK)
		return rc;
	if (u->round == 0 || u->round != st.round) {
		*reason = "tx: not the current round";
		return FL_ESTATE;
	}
	*reason = "tx: store";
	if ((rc = chain_state_get_round(x->t, u->profile, u->round, &r)) != FL_OK)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	if (r.status != CHAIN_ROUND_OPEN || x->height > r.window_end) {
		*reason = "tx: round window closed";
		return FL_ESTATE;
	}
	if ((rc = check_participant(x, &tx->sender, reason)) != FL_OK)
		return rc;
	rc = chain_state_get_join(x->t, u->profile, &tx->sender, &join);
	if (rc == FL_ENOTFOUND) {
		*reason = "tx: not joined";
		return FL_EPERM;
	}
	if (rc != FL_OK)
		return rc;
	if (fl_hash_cmp(&u->base_model, &r.base_model) != 0) {
		*reason = "tx: base model";
		return FL_EINVAL;
	}
	if (u->n_samples == 0) {
		*reason = "tx: n_samples";
		return FL_EINVAL;
	}
	/* The samples weigh the reward: no more than the member declared. */
	if (u->n_samples > join.n_samples) {
		*reason = "tx: n_samples over the join";
		return FL_EINVAL;
	}
	rc = chain_state_get_update(x->t, u->profile, u->round, &tx->sender, &rec);
	if (rc == FL_OK) {
		*reason = "tx: duplicate update";
		return FL_EDUP;
	}
	if (rc != FL_ENOTFOUND)
		return rc;
	/* An aggregate names at most CHAIN_MAX_PARTICIPANTS updates: more
	 * could never all be paid, so the round takes no more. */
	if (r.n_updates >= CHAIN_MAX_PARTICIPANTS) {
		*reason = "tx: round full";
		return FL_ESTATE;
	}
	memset(&rec, 0, sizeof(rec));
	rec.participant = tx->sender;
	rec.update = u->update;
	rec.base_model = u->base_model;
	rec.n_samples = u->n_samples;
	rec.height = x->height;
	rec.train_loss_ppm = u->train_loss_ppm;
	rec.train_accuracy_ppm = u->train_accuracy_ppm;
	r.n_updates++;
	*reason = "tx: store";
	if ((rc = chain_state_put_update(x->t, u->profile, u->round, &rec)) != FL_OK)
		return rc;
	return chain_state_put_round(x->t, &r);
}

int chain_rule_eval_report(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_tx_eval_report *e = &tx->u.eval_report;
	chain_profile_state st;
	chain_eval_record rec;
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	if ((rc = check_participant(x, &tx->sender, reason)) != FL_OK)
		return rc;
	rc = chain_state_get_profile(x->t, e->profile, NULL, &st);
	if (rc != FL_OK) {
		*reason = rc == FL_ENOTFOUND ? "tx: no such profile" : "tx: store";
		return rc;
	}
	if (e->round > st.round) {
		*reason = "tx: round not opened yet";
		return FL_ESTATE;
	}
	rc = chain_state_get_eval(x->t, e->profile, e->round, &tx->sender, &rec);
	if (rc == FL_OK) {
		*reason = "tx: duplicate eval report";
		return FL_EDUP;
	}
	if (rc != FL_ENOTFOUND) {
		*reason = "tx: store";
		return rc;
	}
	memset(&rec, 0, sizeof(rec));
	rec.model = e->model;
	rec.n_samples = e->n_samples;
	rec.metric_value = e->metric_value;
	rec.height = x->height;
	*reason = "tx: store";
	return chain_state_put_eval(x->t, e->profile, e->round, &tx->sender, &rec);
}
