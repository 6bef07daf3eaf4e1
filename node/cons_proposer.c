/*
 * node/cons_proposer.c — CometBFT's weighted round-robin proposer priority
 * (types/validator_set.go: IncrementProposerPriority, RescalePriorities,
 * shiftByAvgProposerPriority, the new-validator priority of
 * updateWithChangeSet), as a pure function of the validator set and the
 * number of steps taken.
 *
 * No sum here can overflow: powers are at most 2^40 and the total below
 * 2^47 (chain.h), priorities stay within a few totals of zero (the window
 * is 2 * total, a new validator starts at -1.125 * total), so the sum of
 * CHAIN_MAX_VALIDATORS of them is below 2^57. The clipping adds are kept
 * anyway, as CometBFT keeps them, so a wrong bound saturates, not wraps.
 */
#include "node/consensus.h"

#include <assert.h>
#include <string.h>

static int64_t add_clip(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/* Floored division for a positive divisor (Go's big.Int Div is Euclidean). */
static int64_t floor_div(int64_t a, int64_t d)
{
	int64_t q = a / d;

	if ((a % d) != 0 && a < 0)
		q--;
	return q;
}

static int set_check(const chain_validator_set *s)
{
	uint64_t sum = 0;

	if (s->n == 0 || s->n > CHAIN_MAX_VALIDATORS)
		return FL_EINVAL;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->power[i] == 0 || s->power[i] > CHAIN_MAX_VALIDATOR_POWER)
			return FL_EINVAL;
		if (i > 0 && fl_pubkey_cmp(&s->pubkey[i - 1], &s->pubkey[i]) >= 0)
			return FL_EINVAL;
		sum += s->power[i];
	}
	return sum == s->total ? FL_OK : FL_EINVAL;
}

static void rescale(node_cons_priority *p)
{
	int64_t lo = p->priority[0], hi = p->priority[0];
	int64_t window = 2 * (int64_t)p->set.total;

	for (uint32_t i = 1; i < p->set.n; i++) {
		if (p->priority[i] < lo)
			lo = p->priority[i];
		if (p->priority[i] > hi)
			hi = p->priority[i];
	}
	/* hi - lo cannot overflow for the bounds above; clip if it would. */
	int64_t diff = add_clip(hi, lo == INT64_MIN ? INT64_MAX : -lo);
	if (diff > window) {
		int64_t ratio = (diff + window - 1) / window;
		for (uint32_t i = 0; i < p->set.n; i++)
			p->priority[i] /= ratio; /* Go's / truncates toward zero, as C's */
	}
}

static void centre(node_cons_priority *p)
{
	int64_t sum = 0;

	for (uint32_t i = 0; i < p->set.n; i++)
		sum = add_clip(sum, p->priority[i]);
	int64_t avg = floor_div(sum, (int64_t)p->set.n);
	for (uint32_t i = 0; i < p->set.n; i++)
		p->priority[i] = add_clip(p->priority[i], -avg);
}

static uint32_t step_once(node_cons_priority *p)
{
	uint32_t best = 0;

	for (uint32_t i = 0; i < p->set.n; i++)
		p->priority[i] = add_clip(p->priority[i], (int64_t)p->set.power[i]);
	/* Strictly greater: on a tie the lower index (lower pubkey) stays. */
	for (uint32_t i = 1; i < p->set.n; i++)
		if (p->priority[i] > p->priority[best])
			best = i;
	p->priority[best] = add_clip(p->priority[best], -(int64_t)p->set.total);
	return best;
}

void node_cons_priority_increment(node_cons_priority *p, uint32_t times)
{
	assert(p != NULL && times >= 1 && p->set.n > 0);
	rescale(p);
	centre(p);
	for (uint32_t i = 0; i < times; i++)
		p->proposer = step_once(p);
}

int node_cons_priority_init(node_cons_priority *p, const chain_validator_set *set)
{
	int rc;

	assert(p != NULL && set != NULL);
	if ((rc = set_check(set)) != 0)
		return rc;
	memset(p, 0, sizeof(*p));
	p->set = *set;
	/* Every validator is new: all start at -1.125 * total, which the
	 * centring turns into zero before the first step. */
	node_cons_priority_increment(p, 1);
	return FL_OK;
}

int node_cons_priority_advance(node_cons_priority *p, const chain_validator_set *next)
{
	int64_t prio[CHAIN_MAX_VALIDATORS];
	int64_t fresh;
	uint32_t j = 0;
	int rc;

	assert(p != NULL && next != NULL);
	if ((rc = set_check(next)) != 0)
		return rc;
	fresh = -(int64_t)(next->total + (next->total >> 3));
	/* Both sets are sorted by pubkey: one merge finds who stays. */
	for (uint32_t i = 0; i < next->n; i++) {
		while (j < p->set.n && fl_pubkey_cmp(&p->set.pubkey[j], &next->pubkey[i]) < 0)
			j++;
		if (j < p->set.n && fl_pubkey_cmp(&p->set.pubkey[j], &next->pubkey[i]) == 0)
			prio[i] = p->priority[j];
		else
			prio[i] = fresh;
	}
	p->set = *next;
	memset(p->priority, 0, sizeof(p->priority));
	memcpy(p->priority, prio, next->n * sizeof(prio[0]));
	/* updateWithChangeSet scales and centres, then the height's increment. */
	rescale(p);
	centre(p);
	node_cons_priority_increment(p, 1);
	return FL_OK;
}
