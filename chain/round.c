/*
 * chain/round.c — the round schedule, run at the start of every block
 * before its txs (docs/rounds.md has the rules with their reasons):
 *
 *   for each ACTIVE profile in key order (CHAIN_DB_ACTIVE_PROFILES: a
 *   proposed, rejected, expired or retired profile has no round to step, so
 *   the cost is that of the active set, not of every profile ever proposed):
 *     OPEN and h > window_end           -> AGGREGATING if n_updates >=
 *                                          min_participants, else FAILED
 *     AGGREGATING and h > window_end + n_coordinators * deadline_blocks
 *                                       -> FAILED; every coordinator of the
 *                                          round loses 20% reputation
 *     ACTIVE, no round OPEN/AGGREGATING, and at least min_participants
 *     joined members that are not jailed and have at least one stake_unit
 *     bonded                            -> round state.round+1 opens at h,
 *                                          coordinators drawn by chain_elect
 *
 * So a round that fails or commits lets the next one open in the same
 * step of the next block, and a profile with too few members waits.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* ------------------------------------------------------ profile listing */

typedef struct {
	size_t n, cap;
	char (*ids)[CHAIN_PROFILE_ID_MAX + 1];
} id_list;

static int collect_id(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	id_list *l = ctx;

	(void)val;
	(void)vlen;
	if (klen == 0 || klen > CHAIN_PROFILE_ID_MAX)
		return FL_ECORRUPT;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = fl_realloc(l->ids, cap * sizeof(*l->ids));
		if (p == NULL)
			return FL_ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	memcpy(l->ids[l->n], key, klen);
	l->ids[l->n][klen] = '\0';
	l->n++;
	return 0;
}

/* --------------------------------------------------------- candidates */

typedef struct {
	chain_txn *t;
	uint64_t stake_unit;
	size_t plen;
	size_t n, cap;
	chain_candidate *c;
	int err;
} cand_list;

static int collect_candidate(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
			     size_t vlen)
{
	cand_list *l = ctx;
	chain_account a;
	chain_bond b;
	uint64_t weight;
	fl_pubkey pk;
	int rc;

	(void)val;
	(void)vlen;
	if (klen != l->plen + FL_PUBKEY_LEN)
		return FL_ECORRUPT;
	memcpy(pk.b, key + l->plen, FL_PUBKEY_LEN);
	rc = chain_state_get_account(l->t, &pk, &a);
	if (rc == FL_ENOTFOUND)
		return 0;
	if (rc != FL_OK)
		return rc;
	/* A join stays after its member is removed or jailed; it counts again
	 * only if the member is re-admitted (jail is for good). */
	if (!a.member || a.jailed)
		return 0;
	if ((rc = chain_state_get_bond(l->t, &pk, &b)) != FL_OK)
		return rc;
	weight = chain_election_weight(b.bonded, a.reputation, l->stake_unit);
	if (weight == 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = fl_realloc(l->c, cap * sizeof(*l->c));
		if (p == NULL)
			return FL_ENOMEM;
		l->c = p;
		l->cap = cap;
	}
	l->c[l->n].id = pk;
	l->c[l->n].weight = weight;
	l->n++;
	return 0;
}

/* Weights that saturate could sum past 64 bits; halving all of them
 * (rounding up, so none reaches 0) keeps their ratios as far as 64 bits
 * can, the same way on every node. */
static void fit_weights(chain_candidate *c, size_t n)
{
	for (;;) {
		uint64_t total = 0;
		int over = 0;

		for (size_t i = 0; i < n && !over; i++) {
			over = c[i].weight > UINT64_MAX - total;
			total += c[i].weight;
		}
		if (!over)
			return;
		for (size_t i = 0; i < n; i++)
			c[i].weight = c[i].weight / 2 + (c[i].weight & 1);
	}
}

/* --------------------------------------------------------- transitions */

static int penalize(chain_txn *t, const fl_pubkey *pk)
{
	chain_account a;
	uint32_t loss;
	int rc = chain_state_get_account(t, pk, &a);

	if (rc == FL_ENOTFOUND)
		return FL_OK;
	if (rc != FL_OK)
		return rc;
	/* 20%, at least 1 point, never below 1: a missed deadline always
	 * costs something, and reputation stays a positive weight. */
	loss = a.reputation / 5;
	if (loss == 0)
		loss = 1;
	a.reputation = a.reputation > loss ? a.reputation - loss : 1;
	return chain_state_put_account(t, pk, &a);
}

static int open_round(chain_exec *x, const chain_profile *def, chain_profile_state *st, int *opened)
{
	cand_list l;
	chain_round r;
	uint8_t prefix[CHAIN_KEY_MAX];
	uint32_t k;
	int rc;

	*opened = 0;
	memset(&l, 0, sizeof(l));
	l.t = x->t;
	l.stake_unit = x->params.stake_unit;
	l.plen = chain_key_profile_prefix(prefix, def->id);
	if (l.stake_unit == 0)
		return FL_ECORRUPT;
	rc = chain_txn_scan(x->t, CHAIN_DB_JOINS, prefix, l.plen, collect_candidate, &l);
	if (rc != FL_OK || l.n < def->min_participants || l.n == 0 || st->round == UINT64_MAX)
		goto cleanup;
	memset(&r, 0, sizeof(r));
	memcpy(r.profile, def->id, sizeof(r.profile));
	r.round = st->round + 1;
	r.status = CHAIN_ROUND_OPEN;
	r.open_height = x->height;
	r.window_end = x->height + def->window_blocks - 1;
	r.beacon = x->beacon;
	r.base_model = st->model_hash;
	k = l.n < CHAIN_MAX_COORDINATORS ? (uint32_t)l.n : CHAIN_MAX_COORDINATORS;
	fit_weights(l.c, l.n);
	rc = chain_elect(r.coordinators, &r.n_coordinators, k, l.c, l.n, &x->beacon, def->id,
			 r.round);
	if (rc != FL_OK)
		goto cleanup;
	st->round = r.round;
	if ((rc = chain_state_put_round(x->t, &r)) == FL_OK)
		*opened = 1;

cleanup:
	fl_free(l.c);
	return rc;
}

/* Close (or fail) the profile's running round, then open the next one. */
static int step_profile(chain_exec *x, const char *id)
{
	chain_profile def;
	chain_profile_state st;
	chain_round r;
	int busy = 0, opened = 0, rc;

	if ((rc = chain_state_get_profile(x->t, id, &def, &st)) != FL_OK)
		return rc;
	if (st.round > 0) {
		int dirty = 0;

		if ((rc = chain_state_get_round(x->t, id, st.round, &r)) != FL_OK)
			return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
		if (r.status == CHAIN_ROUND_OPEN && x->height > r.window_end) {
			r.status = r.n_updates >= def.min_participants ? CHAIN_ROUND_AGGREGATING
								       : CHAIN_ROUND_FAILED;
			dirty = 1;
		}
		/* n_coordinators <= 4 and deadline_blocks is a u32: the product
		 * fits, and the subtraction cannot wrap after the first test. */
		if (r.status == CHAIN_ROUND_AGGREGATING && x->height > r.window_end &&
		    x->height - r.window_end > (uint64_t)r.n_coordinators * def.deadline_blocks) {
			r.status = CHAIN_ROUND_FAILED;
			dirty = 1;
			for (uint32_t i = 0; i < r.n_coordinators; i++)
				if ((rc = penalize(x->t, &r.coordinators[i])) != FL_OK)
					return rc;
		}
		if (dirty && (rc = chain_state_put_round(x->t, &r)) != FL_OK)
			return rc;
		busy = r.status == CHAIN_ROUND_OPEN || r.status == CHAIN_ROUND_AGGREGATING;
	}
	if (busy || st.status != CHAIN_PROFILE_ACTIVE)
		return FL_OK;
	if ((rc = open_round(x, &def, &st, &opened)) != FL_OK)
		return rc;
	return opened ? chain_state_put_profile(x->t, &def, &st) : FL_OK;
}

int chain_rounds_begin_block(chain_exec *x)
{
	id_list l;
	int rc;

	assert(x != NULL);
	memset(&l, 0, sizeof(l));
	/* Collect first, step after: no write while the cursor is open. */
	rc = chain_txn_scan(x->t, CHAIN_DB_ACTIVE_PROFILES, NULL, 0, collect_id, &l);
	for (size_t i = 0; rc == FL_OK && i < l.n; i++)
		rc = step_profile(x, l.ids[i]);
	fl_free(l.ids);
	return rc;
}

int chain_round_abandon(chain_exec *x, const char *id, uint64_t round)
{
	chain_round r;
	int rc;

	assert(x != NULL && id != NULL);
	if ((rc = chain_state_get_round(x->t, id, round, &r)) != FL_OK)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	if (r.status != CHAIN_ROUND_OPEN && r.status != CHAIN_ROUND_AGGREGATING)
		return FL_OK;
	r.status = CHAIN_ROUND_FAILED;
	return chain_state_put_round(x->t, &r);
}
