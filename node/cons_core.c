/*
 * node/cons_core.c — Algorithm 1 of "The latest gossip on BFT consensus"
 * (Buchman, Kwon, Milosevic, arXiv 1807.04938) as rules re-evaluated after
 * every event until none applies (rules_step): each rule that fires moves
 * the step, the round or the height, or sets a once-per-round flag, so the
 * loop ends. Line numbers below are the paper's.
 *
 * Two readings of the paper, as CometBFT reads it: "valid(v)" is the node's
 * verdict on the block of hash id(v) (asked for once, answered by an
 * event; no verdict yet means the rule waits), and the lines that need v
 * itself beside > 2/3 votes for id(v) (36 and 49) take the block by hash
 * from the node (fetched if need be) rather than only from the round's
 * proposal, so an equivocating proposer cannot hide the block 2f+1 voted for.
 */
#include "node/cons_internal.h"

#include <assert.h>
#include <string.h>

#define RULE_LOOP_MAX 64 /* far above the longest cascade of one event */

node_cons_action *node__cons_emit(node_cons_actions *out, int kind)
{
	node_cons_action *a;

	/* NODE_CONS_MAX_ACTIONS bounds the longest cascade (consensus.h). */
	assert(out->n < NODE_CONS_MAX_ACTIONS);
	a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->kind = (uint8_t)kind;
	return a;
}

int node__cons_quorum(const node_cons *c, uint64_t power)
{
	/* > 2/3 of the height's power; no overflow under 2^47 (chain.h). */
	return power * 3 > c->prio0.set.total * 2;
}

static int over_third(const node_cons *c, uint64_t power)
{
	return power * 3 > c->prio0.set.total;
}

/* ------------------------------------------------------------ blocks */

node__cons_block *node__cons_block_find(node_cons *c, const fl_hash *hash)
{
	for (uint32_t i = 0; i < NODE_CONS_MAX_BLOCKS; i++)
		if (c->blocks[i].used && fl_hash_cmp(&c->blocks[i].hash, hash) == 0) {
			c->blocks[i].stamp = ++c->clock;
			return &c->blocks[i];
		}
	return NULL;
}

/* The entry of `hash`, made if absent by reusing a free entry or the one
 * least recently used that is neither the locked nor the valid value.
 * NULL only if every entry is one of those two: impossible with 16. */
node__cons_block *node__cons_block_get(node_cons *c, const fl_hash *hash)
{
	node__cons_block *b = node__cons_block_find(c, hash), *victim = NULL;

	if (b != NULL)
		return b;
	for (uint32_t i = 0; i < NODE_CONS_MAX_BLOCKS; i++) {
		b = &c->blocks[i];
		if (!b->used) {
			victim = b;
			break;
		}
		if ((c->locked_round >= 0 && fl_hash_cmp(&b->hash, &c->locked_value) == 0) ||
		    (c->valid_round >= 0 && fl_hash_cmp(&b->hash, &c->valid_value) == 0))
			continue;
		if (victim == NULL || b->stamp < victim->stamp)
			victim = b;
	}
	if (victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->used = 1;
	victim->hash = *hash;
	victim->stamp = ++c->clock;
	return victim;
}

/* The block a rule needs: asked for, then checked, once each. */
static node__cons_block *block_need(node_cons *c, const fl_hash *hash, node_cons_actions *out)
{
	node__cons_block *b = node__cons_block_get(c, hash);

	if (b == NULL)
		return NULL;
	if (!b->content && !b->requested) {
		b->requested = 1;
		node__cons_emit(out, NODE_CONS_ACT_REQUEST_BLOCK)->u.block_hash = *hash;
	}
	if (b->content && b->verdict == 0 && !b->validating) {
		b->validating = 1;
		node__cons_emit(out, NODE_CONS_ACT_VALIDATE_BLOCK)->u.block_hash = *hash;
	}
	return b;
}

/* ------------------------------------------------------------- slots */

node__cons_slot *node__cons_slot_find(node_cons *c, uint32_t round)
{
	for (uint32_t i = 0; i < NODE_CONS_ROUND_SLOTS; i++)
		if (c->slots[i].used && c->slots[i].round == round)
			return &c->slots[i];
	return NULL;
}

static int slot_precommit_quorum(const node_cons *c, const node__cons_slot *s)
{
	fl_hash v;

	return node__cons_quorum(c, node__cons_voteset_best(&s->votes[1], &v));
}

/* The highest round below the current one with > 2/3 prevotes for a
 * value (-1 if none): the POL a re-proposal will name, kept so that a
 * locked validator can follow it (line 28). */
static int64_t highest_polka(const node_cons *c)
{
	int64_t best = -1;
	fl_hash v;

	for (uint32_t i = 0; i < NODE_CONS_ROUND_SLOTS; i++) {
		const node__cons_slot *s = &c->slots[i];
		if (s->used && s->round < c->round && (int64_t)s->round > best &&
		    node__cons_quorum(c, node__cons_voteset_best(&s->votes[0], &v)))
			best = s->round;
	}
	return best;
}

/* The slot of `round`, made if absent (consensus.h states which is
 * reused). NULL when every other slot is kept and round is not current. */
node__cons_slot *node__cons_slot_get(node_cons *c, uint32_t round)
{
	node__cons_slot *s = node__cons_slot_find(c, round), *victim = NULL, *fallback = NULL;
	int64_t polka = highest_polka(c);

	if (s != NULL)
		return s;
	for (uint32_t i = 0; i < NODE_CONS_ROUND_SLOTS; i++) {
		s = &c->slots[i];
		if (!s->used) {
			victim = s;
			break;
		}
		if (s->round == c->round || (int64_t)s->round == c->locked_round ||
		    (int64_t)s->round == c->valid_round || (int64_t)s->round == polka)
			continue;
		if (fallback == NULL || s->round < fallback->round)
			fallback = s;
		if (slot_precommit_quorum(c, s))
			continue;
		if (victim == NULL || s->round < victim->round)
			victim = s;
	}
	if (victim == NULL && round == c->round)
		victim = fallback; /* the current round always gets one */
	if (victim == NULL)
		return NULL;
	victim->used = 1;
	victim->round = round;
	victim->has_proposal = 0;
	node__cons_voteset_clear(&victim->votes[0], c->prio0.set.n);
	node__cons_voteset_clear(&victim->votes[1], c->prio0.set.n);
	return victim;
}

/* --------------------------------------------------------- proposer */

/* The proposer of `round` in [c->round, c->round + NODE_CONS_FUTURE_ROUNDS]:
 * the state of the current round advanced as CometBFT's enterNewRound
 * advances it, so the answer does not depend on the rounds visited. */
uint32_t node__cons_proposer(const node_cons *c, uint32_t round)
{
	node_cons_priority p;

	assert(round >= c->round && round - c->round <= NODE_CONS_FUTURE_ROUNDS);
	if (round == c->round)
		return c->prio_cur.proposer;
	p = c->prio_cur;
	node_cons_priority_increment(&p, round - c->round);
	return p.proposer;
}

/* ------------------------------------------------------------ output */

static void schedule(node_cons *c, uint8_t step, node_cons_actions *out)
{
	node_cons_action *a = node__cons_emit(out, NODE_CONS_ACT_SCHEDULE_TIMEOUT);
	uint64_t base = step == NODE_CONS_STEP_PROPOSE   ? c->cfg.timeout_propose_ms
			: step == NODE_CONS_STEP_PREVOTE ? c->cfg.timeout_prevote_ms
							 : c->cfg.timeout_precommit_ms;
	uint64_t ms = base + (uint64_t)c->round * c->cfg.timeout_delta_ms;

	a->u.timeout.t.height = c->height;
	a->u.timeout.t.round = c->round;
	a->u.timeout.t.step = step;
	a->u.timeout.ms = ms > NODE_CONS_MAX_TIMEOUT_MS ? NODE_CONS_MAX_TIMEOUT_MS : (uint32_t)ms;
}

/* Signs and sends this validator's vote, counting it as received. The
 * step moves whether or not the signer agrees (a refusal is a silent
 * validator, never a different vote). */
static void vote(node_cons *c, uint8_t type, const fl_hash *value, node_cons_actions *out)
{
	node__cons_slot *s = node__cons_slot_get(c, c->round);
	chain_vote v;
	int rc;

	if (c->self_idx < 0)
		return;
	memset(&v, 0, sizeof(v));
	v.type = type;
	v.height = c->height;
	v.round = c->round;
	v.block_hash = *value;
	v.validator = c->self;
	if ((rc = c->crypto.sign_vote(c->crypto.ctx, &v)) != 0) {
		out->sign_rc = rc;
		return;
	}
	if (s != NULL && node__cons_voteset_lookup(&s->votes[type - 1], (uint32_t)c->self_idx,
						   &v) == NODE__VOTE_NEW)
		node__cons_voteset_add(&s->votes[type - 1], (uint32_t)c->self_idx,
				       c->prio0.set.power[c->self_idx], &v);
	node__cons_emit(out, NODE_CONS_ACT_BROADCAST_VOTE)->u.vote = v;
}

/* Signs and sends this proposer's proposal, and holds it as received. */
void node__cons_propose(node_cons *c, const fl_hash *value, uint64_t time_ms, int32_t pol_round,
			uint64_t now_ms, node_cons_actions *out)
{
	node__cons_slot *s = node__cons_slot_get(c, c->round);
	node_cons_proposal p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.height = c->height;
	p.round = c->round;
	p.pol_round = pol_round;
	p.block_hash = *value;
	p.time_ms = time_ms;
	p.proposer = c->self;
	if ((rc = c->crypto.sign_proposal(c->crypto.ctx, &p)) != 0) {
		out->sign_rc = rc;
		return;
	}
	if (s != NULL && !s->has_proposal) {
		s->has_proposal = 1;
		s->proposal = p;
		s->proposal_recv_ms = now_ms;
	}
	node__cons_emit(out, NODE_CONS_ACT_BROADCAST_PROPOSAL)->u.proposal = p;
}

/* ------------------------------------------------------------- rules */

/* Lines 11-21, with a propose timeout for the proposer too (CometBFT):
 * a node slow to build its block must not hold the round forever. */
void node__cons_start_round(node_cons *c, uint32_t round, uint64_t now_ms, node_cons_actions *out)
{
	if (round > c->round)
		node_cons_priority_increment(&c->prio_cur, round - c->round);
	c->round = round;
	c->step = NODE_CONS_STEP_PROPOSE;
	c->prevote_timer = c->precommit_timer = c->valid_updated = 0;
	c->build_pending = 0;
	(void)node__cons_slot_get(c, round);
	schedule(c, NODE_CONS_STEP_PROPOSE, out);
	if (c->self_idx < 0 || c->prio_cur.proposer != (uint32_t)c->self_idx)
		return;
	if (c->valid_round >= 0) {
		node__cons_block *b = node__cons_block_find(c, &c->valid_value);
		/* valid_value's entry is never evicted and has its content. */
		assert(b != NULL && b->content);
		node__cons_propose(c, &c->valid_value, b->time_ms, c->valid_round, now_ms, out);
		return;
	}
	c->build_pending = 1;
	node_cons_action *a = node__cons_emit(out, NODE_CONS_ACT_BUILD_BLOCK);
	a->u.build.height = c->height;
	a->u.build.round = round;
}

static void decide(node_cons *c, uint32_t round, const fl_hash *value, const node__cons_slot *s,
		   node_cons_actions *out)
{
	chain_commit *cm = &out->commit;

	if (s != NULL) {
		memset(cm, 0, sizeof(*cm));
		cm->height = c->height;
		cm->round = round;
		cm->block_hash = *value;
		/* The set is sorted by pubkey, so index order is the order
		 * chain_verify_commit wants. */
		for (uint32_t i = 0; i < c->prio0.set.n; i++) {
			const chain_vote *pv = node__cons_voteset_vote_for(&s->votes[1], i, value);
			if (pv == NULL)
				continue;
			cm->sigs[cm->n_sigs].validator = pv->validator;
			cm->sigs[cm->n_sigs].sig = pv->sig;
			cm->n_sigs++;
		}
	} else {
		*cm = c->cert;
	}
	c->step = NODE_CONS_STEP_COMMIT;
	c->decided = *value;
	c->decided_round = round;
	c->last_commit = *cm;
	c->has_last_commit = 1;
	node__cons_emit(out, NODE_CONS_ACT_COMMIT);
}

static int timely(const node_cons *c, const node__cons_slot *s)
{
	uint64_t now = s->proposal_recv_ms, t = s->proposal.time_ms;
	uint64_t slack = c->cfg.pbts_precision_ms + c->cfg.pbts_msg_delay_ms;
	uint64_t lo = now > slack ? now - slack : 0;
	uint64_t hi = UINT64_MAX - now < c->cfg.pbts_precision_ms ? UINT64_MAX
								  : now + c->cfg.pbts_precision_ms;

	return t >= lo && t <= hi;
}

/* Lines 22-33: the prevote on the round's proposal, once its block has a
 * verdict (and, with a POL, once > 2/3 prevoted it in pol_round). */
static int rule_prevote_proposal(node_cons *c, node__cons_slot *cur, node_cons_actions *out)
{
	const node_cons_proposal *p = &cur->proposal;
	node__cons_block *b;
	int ok, free_lock = c->cfg.test_skip_lock_rule;
	static const fl_hash nil;

	if (c->step != NODE_CONS_STEP_PROPOSE || !cur->has_proposal)
		return 0;
	if (p->pol_round >= 0) {
		node__cons_slot *pol = node__cons_slot_find(c, (uint32_t)p->pol_round);
		if (pol == NULL ||
		    !node__cons_quorum(c, node__cons_voteset_power(&pol->votes[0], &p->block_hash)))
			return 0;
	}
	b = block_need(c, &p->block_hash, out);
	if (b == NULL || b->verdict == 0)
		return 0;
	/* The block's own time must be the time proposed (PBTS judges it). */
	ok = b->verdict > 0 && b->time_ms == p->time_ms;
	if (p->pol_round < 0)
		ok = ok && timely(c, cur) &&
		     (c->locked_round < 0 || fl_hash_cmp(&c->locked_value, &p->block_hash) == 0 ||
		      free_lock);
	else
		ok = ok && (c->locked_round <= p->pol_round ||
			    fl_hash_cmp(&c->locked_value, &p->block_hash) == 0 || free_lock);
	c->step = NODE_CONS_STEP_PREVOTE;
	vote(c, CHAIN_VOTE_PREVOTE, ok ? &p->block_hash : &nil, out);
	return 1;
}

/* Lines 36-43: > 2/3 prevotes for a valid block in this round lock it
 * (from the prevote step) and make it the valid value. */
static int rule_lock(node_cons *c, node__cons_slot *cur, node_cons_actions *out)
{
	node__cons_block *b;
	fl_hash v;

	if (c->valid_updated ||
	    (c->step != NODE_CONS_STEP_PREVOTE && c->step != NODE_CONS_STEP_PRECOMMIT))
		return 0;
	if (!node__cons_quorum(c, node__cons_voteset_best(&cur->votes[0], &v)))
		return 0;
	b = block_need(c, &v, out);
	if (b == NULL || b->verdict <= 0)
		return 0;
	if (c->step == NODE_CONS_STEP_PREVOTE) {
		c->locked_value = v;
		c->locked_round = (int32_t)c->round;
		c->step = NODE_CONS_STEP_PRECOMMIT;
		vote(c, CHAIN_VOTE_PRECOMMIT, &v, out);
	}
	c->valid_value = v;
	c->valid_round = (int32_t)c->round;
	c->valid_updated = 1;
	return 1;
}

/* Line 49 for every round held, and for a commit certificate. */
static int rule_decide(node_cons *c, node_cons_actions *out)
{
	node__cons_block *b;
	fl_hash v;

	for (uint32_t i = 0; i < NODE_CONS_ROUND_SLOTS; i++) {
		node__cons_slot *s = &c->slots[i];
		if (!s->used || !node__cons_quorum(c, node__cons_voteset_best(&s->votes[1], &v)))
			continue;
		b = block_need(c, &v, out);
		if (b != NULL && b->verdict > 0) {
			decide(c, s->round, &v, s, out);
			return 1;
		}
	}
	if (c->has_cert) {
		b = block_need(c, &c->cert.block_hash, out);
		if (b != NULL && b->verdict > 0) {
			decide(c, c->cert.round, &c->cert.block_hash, NULL, out);
			return 1;
		}
	}
	return 0;
}

/* Line 55: > 1/3 of the power signed something in a later round. Each
 * validator counts once, at the highest round it signed; the highest round
 * that > 1/3 reached is one an honest validator is at (or past). */
static uint32_t skip_target(const node_cons *c)
{
	uint32_t target = c->round;

	for (uint32_t i = 0; i < c->prio0.set.n; i++) {
		uint32_t r = c->seen_round[i];
		uint64_t power = 0;
		if (!c->seen[i] || r <= target)
			continue;
		for (uint32_t j = 0; j < c->prio0.set.n; j++)
			if (c->seen[j] && c->seen_round[j] >= r)
				power += c->prio0.set.power[j];
		if (over_third(c, power))
			target = r;
	}
	return target;
}

static int rules_step(node_cons *c, uint64_t now_ms, int *skipped, node_cons_actions *out)
{
	static const fl_hash nil;
	node__cons_slot *cur;
	uint32_t skip;

	if (c->step == NODE_CONS_STEP_NONE || c->step == NODE_CONS_STEP_COMMIT)
		return 0;
	if (rule_decide(c, out))
		return 1;
	/* One skip an event, of at most NODE_CONS_MAX_SKIP rounds: the
	 * proposer of a round costs work in the rounds skipped, and the
	 * rounds are the senders' choice. A peer far ahead is caught up with
	 * over the next events. */
	if (!*skipped && (skip = skip_target(c)) > c->round) {
		if (skip - c->round > NODE_CONS_MAX_SKIP)
			skip = c->round + NODE_CONS_MAX_SKIP;
		*skipped = 1;
		node__cons_start_round(c, skip, now_ms, out);
		return 1;
	}
	cur = node__cons_slot_get(c, c->round);
	assert(cur != NULL);
	if (rule_prevote_proposal(c, cur, out))
		return 1;
	/* line 34 */
	if (c->step == NODE_CONS_STEP_PREVOTE && !c->prevote_timer &&
	    node__cons_quorum(c, cur->votes[0].total)) {
		c->prevote_timer = 1;
		schedule(c, NODE_CONS_STEP_PREVOTE, out);
		return 1;
	}
	if (rule_lock(c, cur, out))
		return 1;
	/* line 44 */
	if (c->step == NODE_CONS_STEP_PREVOTE &&
	    node__cons_quorum(c, node__cons_voteset_power(&cur->votes[0], &nil))) {
		c->step = NODE_CONS_STEP_PRECOMMIT;
		vote(c, CHAIN_VOTE_PRECOMMIT, &nil, out);
		return 1;
	}
	/* line 47 */
	if (!c->precommit_timer && node__cons_quorum(c, cur->votes[1].total)) {
		c->precommit_timer = 1;
		schedule(c, NODE_CONS_STEP_PRECOMMIT, out);
		return 1;
	}
	return 0;
}

void node__cons_progress(node_cons *c, uint64_t now_ms, node_cons_actions *out)
{
	int skipped = 0;

	for (int i = 0; i < RULE_LOOP_MAX; i++)
		if (!rules_step(c, now_ms, &skipped, out))
			return;
	assert(!"consensus rules did not settle");
}

/* Lines 57-66. A timeout of another (height, round, step) is stale. */
void node__cons_timeout(node_cons *c, const node_cons_timeout *t, uint64_t now_ms,
			node_cons_actions *out)
{
	static const fl_hash nil;

	if (t->height != c->height || t->round != c->round || c->step == NODE_CONS_STEP_NONE ||
	    c->step == NODE_CONS_STEP_COMMIT)
		return;
	if (t->step == NODE_CONS_STEP_PROPOSE && c->step == NODE_CONS_STEP_PROPOSE) {
		c->step = NODE_CONS_STEP_PREVOTE;
		vote(c, CHAIN_VOTE_PREVOTE, &nil, out);
	} else if (t->step == NODE_CONS_STEP_PREVOTE && c->step == NODE_CONS_STEP_PREVOTE) {
		c->step = NODE_CONS_STEP_PRECOMMIT;
		vote(c, CHAIN_VOTE_PRECOMMIT, &nil, out);
	} else if (t->step == NODE_CONS_STEP_PRECOMMIT) {
		if (c->round == UINT32_MAX)
			return; /* no round after the last: wait for a commit */
		node__cons_start_round(c, c->round + 1, now_ms, out);
	} else {
		return;
	}
	node__cons_progress(c, now_ms, out);
}

/* ------------------------------------------------------------ resume */

void node_cons_resume(node_cons *c, int flags, node_cons_actions *out)
{
	node__cons_slot *cur;

	assert(c != NULL && out != NULL);
	memset(out, 0, offsetof(node_cons_actions, commit));
	if (c->step == NODE_CONS_STEP_NONE)
		return;
	cur = node__cons_slot_find(c, c->round);
	if ((flags & NODE_CONS_RESUME_MESSAGES) && cur != NULL && c->self_idx >= 0) {
		if (cur->has_proposal && fl_pubkey_cmp(&cur->proposal.proposer, &c->self) == 0)
			node__cons_emit(out, NODE_CONS_ACT_BROADCAST_PROPOSAL)->u.proposal =
			    cur->proposal;
		for (int t = 0; t < 2; t++)
			if (cur->votes[t].have[c->self_idx])
				node__cons_emit(out, NODE_CONS_ACT_BROADCAST_VOTE)->u.vote =
				    cur->votes[t].vote[c->self_idx];
	}
	/* The previous round's precommit too: a peer still there moves on
	 * only with > 2/3 precommits of it (line 47). */
	const node__cons_slot *prev = c->round > 0 ? node__cons_slot_find(c, c->round - 1) : NULL;
	if ((flags & NODE_CONS_RESUME_MESSAGES) && prev != NULL && c->self_idx >= 0 &&
	    prev->votes[1].have[c->self_idx])
		node__cons_emit(out, NODE_CONS_ACT_BROADCAST_VOTE)->u.vote =
		    prev->votes[1].vote[c->self_idx];
	if ((flags & NODE_CONS_RESUME_MESSAGES) && c->valid_round >= 0 &&
	    (uint32_t)c->valid_round != c->round) {
		const node__cons_slot *pol = node__cons_slot_find(c, (uint32_t)c->valid_round);
		for (uint32_t i = 0; pol != NULL && i < c->prio0.set.n; i++) {
			const chain_vote *pv =
			    node__cons_voteset_vote_for(&pol->votes[0], i, &c->valid_value);
			if (pv != NULL)
				node__cons_emit(out, NODE_CONS_ACT_BROADCAST_VOTE)->u.vote = *pv;
		}
	}
	if (flags != NODE_CONS_RESUME_ALL)
		return;
	if (c->step == NODE_CONS_STEP_COMMIT) {
		out->commit = c->last_commit;
		node__cons_emit(out, NODE_CONS_ACT_COMMIT);
		return;
	}
	if (c->step == NODE_CONS_STEP_PROPOSE)
		schedule(c, NODE_CONS_STEP_PROPOSE, out);
	if (c->prevote_timer)
		schedule(c, NODE_CONS_STEP_PREVOTE, out);
	if (c->precommit_timer)
		schedule(c, NODE_CONS_STEP_PRECOMMIT, out);
	if (c->build_pending) {
		node_cons_action *a = node__cons_emit(out, NODE_CONS_ACT_BUILD_BLOCK);
		a->u.build.height = c->height;
		a->u.build.round = c->round;
	}
	for (uint32_t i = 0; i < NODE_CONS_MAX_BLOCKS; i++) {
		const node__cons_block *b = &c->blocks[i];
		if (b->used && b->requested && !b->content)
			node__cons_emit(out, NODE_CONS_ACT_REQUEST_BLOCK)->u.block_hash = b->hash;
		if (b->used && b->validating && b->verdict == 0)
			node__cons_emit(out, NODE_CONS_ACT_VALIDATE_BLOCK)->u.block_hash = b->hash;
	}
}
