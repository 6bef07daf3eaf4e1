/*
 * node/cons_votes.c — the votes of one (height, round, type): one per
 * validator, the power behind each value, conflicts detected. Fixed-size:
 * nothing here allocates.
 */
#include "node/cons_internal.h"

#include <assert.h>
#include <string.h>

void node__cons_voteset_clear(node__cons_voteset *vs, uint32_t n)
{
	assert(n <= CHAIN_MAX_VALIDATORS);
	/* Only the parts read before written: vote[] is read where have[] says. */
	vs->total = 0;
	vs->n_values = 0;
	memset(vs->have, 0, n);
	memset(vs->evidenced, 0, n);
}

int node__cons_voteset_lookup(const node__cons_voteset *vs, uint32_t idx, const chain_vote *v)
{
	const chain_vote *old;

	assert(idx < CHAIN_MAX_VALIDATORS);
	if (!vs->have[idx])
		return NODE__VOTE_NEW;
	old = &vs->vote[idx];
	if (fl_hash_cmp(&old->block_hash, &v->block_hash) == 0)
		return NODE__VOTE_DUP;
	if (vs->evidenced[idx] && fl_hash_cmp(&vs->alt[idx].block_hash, &v->block_hash) == 0)
		return NODE__VOTE_DUP;
	return vs->evidenced[idx] ? NODE__VOTE_REPORTED : NODE__VOTE_CONFLICT;
}

static void count_value(node__cons_voteset *vs, uint64_t power, const chain_vote *v)
{
	uint32_t i;

	for (i = 0; i < vs->n_values; i++)
		if (fl_hash_cmp(&vs->value[i], &v->block_hash) == 0)
			break;
	if (i == vs->n_values) {
		assert(vs->n_values < 2 * CHAIN_MAX_VALIDATORS);
		vs->value[i] = v->block_hash;
		vs->value_power[i] = 0;
		vs->n_values++;
	}
	vs->value_power[i] += power;
}

void node__cons_voteset_add(node__cons_voteset *vs, uint32_t idx, uint64_t power,
			    const chain_vote *v)
{
	assert(idx < CHAIN_MAX_VALIDATORS && !vs->have[idx]);
	vs->have[idx] = 1;
	vs->vote[idx] = *v;
	vs->total += power;
	count_value(vs, power, v);
}

void node__cons_voteset_add_alt(node__cons_voteset *vs, uint32_t idx, uint64_t power,
				const chain_vote *v)
{
	assert(idx < CHAIN_MAX_VALIDATORS && vs->have[idx] && !vs->evidenced[idx]);
	vs->evidenced[idx] = 1;
	vs->alt[idx] = *v;
	/* n_values stays <= 2 * validators: each adds at most two values. */
	count_value(vs, power, v);
}

const chain_vote *node__cons_voteset_vote_for(const node__cons_voteset *vs, uint32_t idx,
					      const fl_hash *value)
{
	if (!vs->have[idx])
		return NULL;
	if (fl_hash_cmp(&vs->vote[idx].block_hash, value) == 0)
		return &vs->vote[idx];
	if (vs->evidenced[idx] && fl_hash_cmp(&vs->alt[idx].block_hash, value) == 0)
		return &vs->alt[idx];
	return NULL;
}

uint64_t node__cons_voteset_power(const node__cons_voteset *vs, const fl_hash *value)
{
	for (uint32_t i = 0; i < vs->n_values; i++)
		if (fl_hash_cmp(&vs->value[i], value) == 0)
			return vs->value_power[i];
	return 0;
}

uint64_t node__cons_voteset_best(const node__cons_voteset *vs, fl_hash *value)
{
	uint64_t best = 0;

	for (uint32_t i = 0; i < vs->n_values; i++)
		if (!fl_hash_is_zero(&vs->value[i]) && vs->value_power[i] > best) {
			best = vs->value_power[i];
			*value = vs->value[i];
		}
	return best;
}
