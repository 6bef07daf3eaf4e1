/*
 * tests/node/cons_single.c — see cons_single.h.
 */
#include "tests/node/cons_single.h"

#include <criterion/criterion.h>
#include <string.h>

static int sign_vote(void *ctx, chain_vote *v)
{
	cs_fixture *f = ctx;

	if (f->refuse_sign)
		return FL_EPERM;
	ct_sign_vote(v);
	f->signed_votes++;
	return FL_OK;
}

static int sign_proposal(void *ctx, node_cons_proposal *p)
{
	cs_fixture *f = ctx;

	if (f->refuse_sign)
		return FL_EPERM;
	ct_sign_proposal(p);
	return FL_OK;
}

void cs_default_config(node_cons_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_propose_ms = 1000;
	cfg->timeout_prevote_ms = 1000;
	cfg->timeout_precommit_ms = 1000;
	cfg->timeout_delta_ms = 100;
	cfg->pbts_precision_ms = 500;
	cfg->pbts_msg_delay_ms = 200;
}

void cs_open(cs_fixture *f, uint32_t n, const uint64_t *powers, uint32_t self,
	     const node_cons_config *cfg)
{
	node_cons_crypto crypto = {f, sign_vote, sign_proposal, ct_verify_vote, ct_verify_proposal};
	chain_validator_set set;
	fl_pubkey pk;
	node_cons_event ev;

	memset(f, 0, sizeof(*f));
	f->n = n;
	f->self = self;
	if (cfg != NULL)
		f->cfg = *cfg;
	else
		cs_default_config(&f->cfg);
	ct_set(&set, n, powers);
	cr_assert_eq(node_cons_priority_init(&f->prio, &set), 0);
	ct_pubkey(&pk, self);
	cr_assert_eq(node_cons_new(&f->core, "cons-test", &pk, &f->cfg, &crypto), 0);
	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_START_HEIGHT;
	ev.now_ms = CS_NOW;
	ev.height = 1;
	ev.u.start = &f->prio;
	cr_assert_eq(cs_feed(f, &ev), 0);
}

void cs_close(cs_fixture *f)
{
	node_cons_free(f->core);
	f->core = NULL;
}

chain_vote cs_vote(uint32_t who, uint8_t type, uint32_t round, const fl_hash *value)
{
	chain_vote v;

	memset(&v, 0, sizeof(v));
	v.type = type;
	v.height = 1;
	v.round = round;
	if (value != NULL)
		v.block_hash = *value;
	ct_pubkey(&v.validator, who);
	ct_sign_vote(&v);
	return v;
}

node_cons_proposal cs_proposal(uint32_t who, uint32_t round, int32_t pol, const fl_hash *value,
			       uint64_t time_ms)
{
	node_cons_proposal p;

	memset(&p, 0, sizeof(p));
	p.height = 1;
	p.round = round;
	p.pol_round = pol;
	p.block_hash = *value;
	p.time_ms = time_ms;
	ct_pubkey(&p.proposer, who);
	ct_sign_proposal(&p);
	return p;
}

int cs_feed(cs_fixture *f, const node_cons_event *ev)
{
	return node_cons_on_event(f->core, ev, &f->out);
}

int cs_feed_vote(cs_fixture *f, uint32_t who, uint8_t type, uint32_t round, const fl_hash *value)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_VOTE;
	ev.now_ms = CS_NOW;
	ev.u.vote = cs_vote(who, type, round, value);
	return cs_feed(f, &ev);
}

int cs_feed_proposal(cs_fixture *f, uint32_t round, int32_t pol, const fl_hash *value,
		     uint64_t time_ms)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_PROPOSAL;
	ev.now_ms = CS_NOW;
	ev.u.proposal = cs_proposal(cs_proposer(f, round), round, pol, value, time_ms);
	return cs_feed(f, &ev);
}

int cs_feed_block(cs_fixture *f, const fl_hash *value)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_BLOCK;
	ev.now_ms = CS_NOW;
	ev.u.block.hash = *value;
	ev.u.block.time_ms = CS_NOW;
	return cs_feed(f, &ev);
}

int cs_feed_verdict(cs_fixture *f, const fl_hash *value, int valid)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_VERDICT;
	ev.now_ms = CS_NOW;
	ev.u.block.hash = *value;
	ev.u.block.valid = valid;
	return cs_feed(f, &ev);
}

int cs_feed_timeout(cs_fixture *f, uint32_t round, uint8_t step)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_TIMEOUT;
	ev.now_ms = CS_NOW;
	ev.u.timeout.height = 1;
	ev.u.timeout.round = round;
	ev.u.timeout.step = step;
	return cs_feed(f, &ev);
}

uint32_t cs_proposer(const cs_fixture *f, uint32_t round)
{
	node_cons_priority p = f->prio;

	if (round > 0)
		node_cons_priority_increment(&p, round);
	return p.proposer;
}

const node_cons_action *cs_find(const cs_fixture *f, int kind, uint32_t nth)
{
	for (uint32_t i = 0; i < f->out.n; i++)
		if (f->out.a[i].kind == kind && nth-- == 0)
			return &f->out.a[i];
	return NULL;
}

uint32_t cs_count(const cs_fixture *f, int kind)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < f->out.n; i++)
		n += f->out.a[i].kind == kind;
	return n;
}

const chain_vote *cs_own_vote(const cs_fixture *f, uint8_t type)
{
	for (uint32_t i = 0; i < f->out.n; i++)
		if (f->out.a[i].kind == NODE_CONS_ACT_BROADCAST_VOTE &&
		    f->out.a[i].u.vote.type == type)
			return &f->out.a[i].u.vote;
	return NULL;
}

node_cons_status cs_status(const cs_fixture *f)
{
	node_cons_status s;

	node_cons_get_status(f->core, &s);
	return s;
}
