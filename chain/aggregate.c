/*
 * chain/aggregate.c — aggregate_commit: a coordinator of an AGGREGATING
 * round names the updates it aggregated with their weights and the new
 * model's hash; the round commits, the profile moves to the new model, and
 * the round's reward is minted:
 *
 *   R      = reward_per_round
 *   coord  = floor(R * coordinator_share_bps / 10000)
 *   P      = R - coord
 *   pay_i  = floor(P * weight_i / sum of weights)     (weight 0: nothing)
 *   coord += P - sum of pay_i                          (the rounding remainder)
 *
 * with 128-bit intermediates. A participant that is no longer in good
 * standing (removed or jailed since its update) is paid nothing and its
 * pay_i is not minted: the supply grows by R less those shares, and the
 * coordinator gains nothing from them. A coordinator must be in good
 * standing too; coordinator j of the draw may commit once
 * height > window_end + k * deadline_blocks, where k counts the coordinators
 * before it that are still in good standing: the elected one at once, each
 * fallback after the deadlines of those before it that could still commit.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

typedef struct {
	uint64_t total_weight;
	uint32_t positive; /* entries with weight > 0 */
} entry_summary;

/* Every entry is an update committed in this round, with its hash, and a
 * weight within its cap. */
static int check_entries(chain_exec *x, const chain_profile *def,
			 const chain_tx_aggregate_commit *a, entry_summary *sum,
			 const char **reason)
{
	memset(sum, 0, sizeof(*sum));
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const chain_aggregate_entry *e = &a->entries[i];
		chain_update_record u;
		uint64_t cap;
		int rc;

		if (i > 0 && fl_pubkey_cmp(&a->entries[i - 1].participant, &e->participant) >= 0) {
			*reason = "tx: entries order";
			return FL_ENONCANON;
		}
		rc = chain_state_get_update(x->t, a->profile, a->round, &e->participant, &u);
		if (rc == FL_ENOTFOUND) {
			*reason = "tx: entry without update";
			return FL_EINVAL;
		}
		if (rc != FL_OK) {
			*reason = "tx: store";
			return rc;
		}
		if (fl_hash_cmp(&u.update, &e->update) != 0) {
			*reason = "tx: entry update hash";
			return FL_EINVAL;
		}
		cap = u.n_samples < def->max_samples_weight ? u.n_samples : def->max_samples_weight;
		if (e->weight > cap) {
			*reason = "tx: entry weight";
			return FL_EINVAL;
		}
		/* <= CHAIN_MAX_PARTICIPANTS weights of at most 2^32 each: no wrap. */
		sum->total_weight += e->weight;
		sum->positive += e->weight > 0;
	}
	if (sum->positive < def->min_participants) {
		*reason = "tx: too few weighted entries";
		return FL_EINVAL;
	}
	return FL_OK;
}

/* Whether the account may still be paid or coordinate. */
static int in_good_standing(chain_txn *t, const fl_pubkey *pk, int *good)
{
	chain_account a;
	int rc = chain_state_get_account(t, pk, &a);

	*good = 0;
	if (rc == FL_ENOTFOUND)
		return FL_OK;
	if (rc != FL_OK)
		return rc;
	*good = chain_account_in_good_standing(&a);
	return FL_OK;
}

/* Mints the reward and writes the rows: the coordinator first, then each
 * weighted participant in good standing in pubkey order (the order of the
 * entries). *minted is what the supply grew by. */
static int pay_rewards(chain_exec *x, const chain_profile *def, const chain_tx *tx,
		       const entry_summary *sum, uint64_t *minted)
{
	const chain_tx_aggregate_commit *a = &tx->u.aggregate_commit;
	uint64_t R = def->reward_per_round;
	uint64_t coord = chain_mul_div(R, def->coordinator_share_bps, CHAIN_BPS);
	uint64_t P = R - coord, shares = 0, total = 0;
	chain_reward row;
	uint32_t index = 1;
	int good, rc;

	for (uint32_t i = 0; i < a->n_entries; i++)
		if (a->entries[i].weight > 0)
			shares += chain_mul_div(P, a->entries[i].weight, sum->total_weight);
	coord += P - shares;

	memset(&row, 0, sizeof(row));
	row.account = tx->sender;
	row.amount = coord;
	if ((rc = chain_ledger_mint(x->t, &tx->sender, coord)) != FL_OK ||
	    (rc = chain_state_put_reward(x->t, a->profile, a->round, 0, &row)) != FL_OK)
		return rc;
	total = coord;
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const chain_aggregate_entry *e = &a->entries[i];

		if (e->weight == 0)
			continue;
		if ((rc = in_good_standing(x->t, &e->participant, &good)) != FL_OK)
			return rc;
		if (!good)
			continue;
		row.account = e->participant;
		row.weight = e->weight;
		row.amount = chain_mul_div(P, e->weight, sum->total_weight);
		if ((rc = chain_ledger_mint(x->t, &e->participant, row.amount)) != FL_OK ||
		    (rc = chain_state_put_reward(x->t, a->profile, a->round, index++, &row)) != 0)
			return rc;
		total += row.amount;
	}
	*minted = total;
	return FL_OK;
}

/* Which coordinator the sender is, that it is in good standing, and
 * whether its turn has come: the coordinators before it that were removed
 * or jailed no longer hold a deadline it must wait out. */
static int coordinator_turn(chain_exec *x, const chain_profile *def, const chain_round *r,
			    const fl_pubkey *sender, const char **reason)
{
	chain_account a;
	uint32_t j, ahead = 0;
	int good, rc;

	for (j = 0; j < r->n_coordinators; j++)
		if (fl_pubkey_cmp(&r->coordinators[j], sender) == 0)
			break;
	if (j == r->n_coordinators) {
		*reason = "tx: not a coordinator";
		return FL_EPERM;
	}
	*reason = "tx: store";
	if ((rc = chain_state_get_account(x->t, sender, &a)) != FL_OK)
		return rc;
	if (!a.member) {
		*reason = "tx: not a member";
		return FL_EPERM;
	}
	if (a.jailed) {
		*reason = "tx: jailed";
		return FL_EPERM;
	}
	for (uint32_t i = 0; i < j; i++) {
		if ((rc = in_good_standing(x->t, &r->coordinators[i], &good)) != FL_OK)
			return rc;
		ahead += (uint32_t)good;
	}
	if (x->height <= r->window_end ||
	    x->height - r->window_end <= (uint64_t)ahead * def->deadline_blocks) {
		*reason = "tx: not this coordinator's turn";
		return FL_EPERM;
	}
	return FL_OK;
}

int chain_rule_aggregate_commit(chain_exec *x, const chain_tx *tx, const char **reason)
{
	const chain_tx_aggregate_commit *a = &tx->u.aggregate_commit;
	chain_profile def;
	chain_profile_state st;
	chain_account coord;
	entry_summary sum;
	chain_round r;
	uint64_t minted = 0;
	int rc;

	assert(x != NULL && tx != NULL && reason != NULL);
	rc = chain_state_get_profile(x->t, a->profile, &def, &st);
	if (rc != FL_OK) {
		*reason = rc == FL_ENOTFOUND ? "tx: no such profile" : "tx: store";
		return rc;
	}
	rc = chain_state_get_round(x->t, a->profile, a->round, &r);
	if (rc != FL_OK) {
		*reason = rc == FL_ENOTFOUND ? "tx: no such round" : "tx: store";
		return rc;
	}
	if (r.status != CHAIN_ROUND_AGGREGATING) {
		*reason = "tx: round not aggregating";
		return FL_ESTATE;
	}
	if ((rc = coordinator_turn(x, &def, &r, &tx->sender, reason)) != FL_OK)
		return rc;
	if (fl_hash_cmp(&a->base_model, &r.base_model) != 0) {
		*reason = "tx: base model";
		return FL_EINVAL;
	}
	if ((rc = check_entries(x, &def, a, &sum, reason)) != FL_OK)
		return rc;
	if ((rc = pay_rewards(x, &def, tx, &sum, &minted)) != FL_OK) {
		*reason = rc == FL_EOVERFLOW ? "tx: supply overflow" : "tx: store";
		return rc;
	}
	*reason = "tx: store";
	r.status = CHAIN_ROUND_COMMITTED;
	r.commit_height = x->height;
	r.committed_by = tx->sender;
	r.new_model = a->new_model;
	r.eval_accuracy_ppm = a->eval_accuracy_ppm;
	r.eval_loss_ppm = a->eval_loss_ppm;
	r.reward_total = minted;
	if ((rc = chain_state_put_round(x->t, &r)) != FL_OK)
		return rc;
	st.model_hash = a->new_model;
	st.rounds_committed++;
	if ((rc = chain_state_put_profile(x->t, &def, &st)) != FL_OK)
		return rc;
	/* Re-read: the mint above rewrote this account's balance. */
	if ((rc = chain_state_get_account(x->t, &tx->sender, &coord)) != FL_OK)
		return rc;
	coord.reputation = coord.reputation + 5 > CHAIN_REPUTATION_MAX ? CHAIN_REPUTATION_MAX
								       : coord.reputation + 5;
	return chain_state_put_account(x->t, &tx->sender, &coord);
}
