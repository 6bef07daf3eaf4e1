/*
 * node/cons_input.c — what arrives at the consensus core, checked before it
 * can change anything: the cheap checks first (height, round window,
 * membership, duplicates), the signature last, so junk costs no verify and
 * a refused message leaves the state as it was. Then node_cons_on_event
 * hands the event to the rules (cons_core.c).
 */
#include "node/cons_internal.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

static int default_verify_vote(void *ctx, const chain_vote *v)
{
	return chain_vote_verify(v, ((const node_cons *)ctx)->chain_id);
}

static int default_verify_proposal(void *ctx, const node_cons_proposal *p)
{
	return node_cons_proposal_verify(p, ((const node_cons *)ctx)->chain_id);
}

static int verify_vote(node_cons *c, const chain_vote *v)
{
	if (c->crypto.verify_vote == NULL)
		return default_verify_vote(c, v);
	return c->crypto.verify_vote(c->crypto.ctx, v) == 0 ? FL_OK : FL_ESIG;
}

static int verify_proposal(node_cons *c, const node_cons_proposal *p)
{
	if (c->crypto.verify_proposal == NULL)
		return default_verify_proposal(c, p);
	return c->crypto.verify_proposal(c->crypto.ctx, p) == 0 ? FL_OK : FL_ESIG;
}

int node_cons_new(node_cons **out, const char *chain_id, const fl_pubkey *self,
		  const node_cons_config *cfg, const node_cons_crypto *crypto)
{
	node_cons *c;

	assert(out != NULL && chain_id != NULL && self != NULL && cfg != NULL && crypto != NULL);
	assert(crypto->sign_vote != NULL && crypto->sign_proposal != NULL);
	*out = NULL;
	if (!chain_id_valid(chain_id, CHAIN_ID_MAX))
		return FL_EINVAL;
	if ((c = fl_calloc(1, sizeof(*c))) == NULL)
		return FL_ENOMEM;
	memcpy(c->chain_id, chain_id, strlen(chain_id) + 1);
	c->self = *self;
	c->cfg = *cfg;
	c->crypto = *crypto;
	c->self_idx = -1;
	c->locked_round = c->valid_round = -1;
	*out = c;
	return FL_OK;
}

void node_cons_free(node_cons *c)
{
	fl_free(c);
}

/* Index of pk in the height's set (sorted), or -1. */
static int validator_index(const node_cons *c, const fl_pubkey *pk)
{
	uint32_t lo = 0, hi = c->prio0.set.n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int cmp = fl_pubkey_cmp(&c->prio0.set.pubkey[mid], pk);
		if (cmp == 0)
			return (int)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int live_height(const node_cons *c, uint64_t height)
{
	if (c->step == NODE_CONS_STEP_NONE)
		return FL_ESTATE;
	if (height != c->height)
		return FL_ECHAIN;
	return c->step == NODE_CONS_STEP_COMMIT ? FL_ESTATE : FL_OK;
}

static void note_round(node_cons *c, int idx, uint32_t round)
{
	if (!c->seen[idx] || c->seen_round[idx] < round) {
		c->seen[idx] = 1;
		c->seen_round[idx] = round;
	}
}

/* A message of a round past the window: its signer's round, nothing else. */
static int far_round(const node_cons *c, uint32_t round)
{
	return round > c->round && round - c->round > NODE_CONS_FUTURE_ROUNDS;
}

static int on_start_height(node_cons *c, const node_cons_event *ev, node_cons_actions *out)
{
	const node_cons_priority *p = ev->u.start;
	uint64_t sum = 0;

	assert(p != NULL);
	if (c->step != NODE_CONS_STEP_NONE && ev->height <= c->height)
		return FL_ECHAIN;
	if (ev->height == 0 || p->set.n == 0 || p->set.n > CHAIN_MAX_VALIDATORS ||
	    p->proposer >= p->set.n)
		return FL_EINVAL;
	for (uint32_t i = 0; i < p->set.n; i++) {
		if (p->set.power[i] == 0 || p->set.power[i] > CHAIN_MAX_VALIDATOR_POWER)
			return FL_EINVAL;
		if (i > 0 && fl_pubkey_cmp(&p->set.pubkey[i - 1], &p->set.pubkey[i]) >= 0)
			return FL_EINVAL;
		sum += p->set.power[i];
	}
	if (sum != p->set.total)
		return FL_EINVAL;
	c->height = ev->height;
	c->prio0 = *p;
	c->prio_cur = *p;
	c->self_idx = validator_index(c, &c->self);
	c->round = 0;
	c->locked_round = c->valid_round = -1;
	memset(&c->locked_value, 0, sizeof(c->locked_value));
	memset(&c->valid_value, 0, sizeof(c->valid_value));
	memset(c->seen, 0, sizeof(c->seen));
	memset(c->seen_round, 0, sizeof(c->seen_round));
	for (uint32_t i = 0; i < NODE_CONS_ROUND_SLOTS; i++)
		c->slots[i].used = 0;
	memset(c->blocks, 0, sizeof(c->blocks));
	c->has_cert = 0;
	node__cons_start_round(c, 0, ev->now_ms, out);
	node__cons_progress(c, ev->now_ms, out);
	return FL_OK;
}

static int on_vote(node_cons *c, const chain_vote *v, node_cons_actions *out, uint64_t now_ms)
{
	node__cons_voteset *vs;
	node__cons_slot *s;
	int rc, idx, kind;

	if ((rc = live_height(c, v->height)) != 0)
		return rc;
	if (v->type != CHAIN_VOTE_PREVOTE && v->type != CHAIN_VOTE_PRECOMMIT)
		return FL_EINVAL;
	if ((idx = validator_index(c, &v->validator)) < 0)
		return FL_EPERM;
	if (far_round(c, v->round)) {
		if (c->seen[idx] && c->seen_round[idx] >= v->round)
			return FL_EDUP;
		if ((rc = verify_vote(c, v)) != 0)
			return rc;
		note_round(c, idx, v->round);
		node__cons_progress(c, now_ms, out);
		return FL_OK;
	}
	/* A slot is made (perhaps reusing another) only for a verified vote. */
	s = node__cons_slot_find(c, v->round);
	kind = s == NULL ? NODE__VOTE_NEW
			 : node__cons_voteset_lookup(&s->votes[v->type - 1], (uint32_t)idx, v);
	if (kind == NODE__VOTE_DUP || kind == NODE__VOTE_REPORTED)
		return FL_EDUP;
	if ((rc = verify_vote(c, v)) != 0)
		return rc;
	if (s == NULL && (s = node__cons_slot_get(c, v->round)) == NULL)
		return FL_ESTATE;
	vs = &s->votes[v->type - 1];
	if (kind == NODE__VOTE_CONFLICT) {
		node_cons_action *a = node__cons_emit(out, NODE_CONS_ACT_EVIDENCE);
		a->u.evidence.a = vs->vote[idx];
		a->u.evidence.b = *v;
		node__cons_voteset_add_alt(vs, (uint32_t)idx, c->prio0.set.power[idx], v);
		note_round(c, idx, v->round);
		node__cons_progress(c, now_ms, out);
		return FL_OK;
	}
	node__cons_voteset_add(vs, (uint32_t)idx, c->prio0.set.power[idx], v);
	note_round(c, idx, v->round);
	node__cons_progress(c, now_ms, out);
	return FL_OK;
}

static int on_proposal(node_cons *c, const node_cons_proposal *p, uint64_t now_ms,
		       node_cons_actions *out)
{
	node__cons_slot *s;
	int rc, idx;

	if ((rc = live_height(c, p->height)) != 0)
		return rc;
	if (p->pol_round < -1 || (p->pol_round >= 0 && (uint32_t)p->pol_round >= p->round))
		return FL_EINVAL;
	if ((idx = validator_index(c, &p->proposer)) < 0)
		return FL_EPERM;
	if (far_round(c, p->round)) {
		/* The round's proposer is not computed here: that would cost
		 * work in the round number, which the sender chose. */
		if (c->seen[idx] && c->seen_round[idx] >= p->round)
			return FL_EDUP;
		if ((rc = verify_proposal(c, p)) != 0)
			return rc;
		note_round(c, idx, p->round);
		node__cons_progress(c, now_ms, out);
		return FL_OK;
	}
	if (p->round < c->round)
		return FL_ESTATE; /* the rules only read this round's proposal */
	if (node__cons_proposer(c, p->round) != (uint32_t)idx)
		return FL_EPERM;
	/* One proposal a round: a second one (equivocation) is dropped; the
	 * block 2f+1 vote for is fetched by hash anyway. */
	s = node__cons_slot_find(c, p->round);
	if (s != NULL && s->has_proposal)
		return FL_EDUP;
	if ((rc = verify_proposal(c, p)) != 0)
		return rc;
	if (s == NULL && (s = node__cons_slot_get(c, p->round)) == NULL)
		return FL_ESTATE;
	s->has_proposal = 1;
	s->proposal = *p;
	s->proposal_recv_ms = now_ms;
	note_round(c, idx, p->round);
	node__cons_progress(c, now_ms, out);
	return FL_OK;
}

static int on_cert(node_cons *c, const chain_commit *cm, uint64_t now_ms, node_cons_actions *out)
{
	uint64_t power = 0;
	chain_vote v;
	int rc, idx;

	assert(cm != NULL);
	if ((rc = live_height(c, cm->height)) != 0)
		return rc;
	if (c->has_cert)
		return FL_EDUP;
	if (cm->n_sigs > CHAIN_MAX_VALIDATORS || fl_hash_is_zero(&cm->block_hash))
		return FL_EINVAL;
	for (uint32_t i = 0; i < cm->n_sigs; i++) {
		if (i > 0 && fl_pubkey_cmp(&cm->sigs[i - 1].validator, &cm->sigs[i].validator) >= 0)
			return FL_EINVAL;
		if ((idx = validator_index(c, &cm->sigs[i].validator)) < 0)
			return FL_EPERM;
		power += c->prio0.set.power[idx];
	}
	if (!node__cons_quorum(c, power))
		return FL_EPERM;
	for (uint32_t i = 0; i < cm->n_sigs; i++) {
		node_cons_commit_vote(&v, cm, i);
		if ((rc = verify_vote(c, &v)) != 0)
			return rc;
	}
	c->has_cert = 1;
	c->cert = *cm;
	node__cons_progress(c, now_ms, out);
	return FL_OK;
}

static int on_block(node_cons *c, const node_cons_event *ev, node_cons_actions *out)
{
	node__cons_block *b;
	int rc;

	if ((rc = live_height(c, c->height)) != 0)
		return rc;
	if ((b = node__cons_block_get(c, &ev->u.block.hash)) == NULL)
		return FL_ESTATE;
	if (b->content)
		return FL_EDUP;
	b->content = 1;
	b->time_ms = ev->u.block.time_ms;
	node__cons_progress(c, ev->now_ms, out);
	return FL_OK;
}

static int on_verdict(node_cons *c, const node_cons_event *ev, node_cons_actions *out)
{
	node__cons_block *b;

	if (live_height(c, c->height) != 0)
		return FL_OK; /* stale: asked at a height that is over */
	b = node__cons_block_find(c, &ev->u.block.hash);
	if (b == NULL || !b->validating || b->verdict != 0)
		return FL_OK;
	b->verdict = ev->u.block.valid ? 1 : -1;
	node__cons_progress(c, ev->now_ms, out);
	return FL_OK;
}

static int on_built_block(node_cons *c, const node_cons_event *ev, node_cons_actions *out)
{
	node__cons_block *b;
	static const fl_hash nil;

	if (live_height(c, ev->u.block.height) != 0 || ev->u.block.round != c->round ||
	    !c->build_pending || c->step != NODE_CONS_STEP_PROPOSE)
		return FL_OK; /* stale: the round moved on */
	if (fl_hash_cmp(&ev->u.block.hash, &nil) == 0)
		return FL_EINVAL;
	if ((b = node__cons_block_get(c, &ev->u.block.hash)) == NULL)
		return FL_ESTATE;
	c->build_pending = 0;
	b->content = 1;
	b->verdict = 1;
	b->time_ms = ev->u.block.time_ms;
	node__cons_propose(c, &ev->u.block.hash, ev->u.block.time_ms, -1, ev->now_ms, out);
	node__cons_progress(c, ev->now_ms, out);
	return FL_OK;
}

int node_cons_on_event(node_cons *c, const node_cons_event *ev, node_cons_actions *out)
{
	int rc;

	assert(c != NULL && ev != NULL && out != NULL);
	memset(out, 0, offsetof(node_cons_actions, commit));
	switch (ev->kind) {
	case NODE_CONS_EV_START_HEIGHT:
		rc = on_start_height(c, ev, out);
		break;
	case NODE_CONS_EV_PROPOSAL:
		rc = on_proposal(c, &ev->u.proposal, ev->now_ms, out);
		break;
	case NODE_CONS_EV_VOTE:
		rc = on_vote(c, &ev->u.vote, out, ev->now_ms);
		break;
	case NODE_CONS_EV_TIMEOUT:
		node__cons_timeout(c, &ev->u.timeout, ev->now_ms, out);
		rc = FL_OK;
		break;
	case NODE_CONS_EV_BLOCK:
		rc = on_block(c, ev, out);
		break;
	case NODE_CONS_EV_VERDICT:
		rc = on_verdict(c, ev, out);
		break;
	case NODE_CONS_EV_BUILT_BLOCK:
		rc = on_built_block(c, ev, out);
		break;
	case NODE_CONS_EV_COMMIT_CERT:
		rc = on_cert(c, ev->u.cert, ev->now_ms, out);
		break;
	default:
		rc = FL_EINVAL;
	}
	/* A refused event changed nothing, so it announces nothing. */
	if (rc != 0)
		out->n = 0;
	return rc;
}

void node_cons_get_status(const node_cons *c, node_cons_status *out)
{
	assert(c != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	out->height = c->height;
	out->round = c->round;
	out->step = c->step;
	out->locked_round = c->locked_round;
	out->valid_round = c->valid_round;
	out->locked_value = c->locked_value;
	out->valid_value = c->valid_value;
}

const chain_commit *node_cons_last_commit(const node_cons *c)
{
	assert(c != NULL);
	return c->has_last_commit ? &c->last_commit : NULL;
}
