/*
 * tests/node/cons_sim.c — see cons_sim.h.
 */
#include "tests/node/cons_sim.h"
#include "tests/node/cons_testkit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_N       7
#define TARGET_H    5 /* heights every honest node must decide */
#define MAX_H       (TARGET_H + 1)
#define HEAP_MAX    (1u << 15) /* pending events; beyond it a send is dropped */
#define MAX_BLOCKS  512
#define MAX_SIGNED  2048
#define FAULT_END   4000  /* ms: no drop, partition or crash after it */
#define RUN_END     60000 /* ms: liveness deadline */
#define GOSSIP_MS   400
#define EVENT_LIMIT 400000 /* a run that loops is a failure, not a hang */

enum { BYZ_NONE, BYZ_EQUIVOCATE, BYZ_SILENT, BYZ_BAD_PROPOSAL };
enum { E_DELIVER, E_LOCAL, E_TIMER, E_CRASH, E_RESTART, E_GOSSIP };

typedef struct {
	uint64_t at, seq;
	uint8_t type;
	uint32_t node, from, incarnation;
	uint64_t cert_h; /* E_DELIVER of a cert: commits[from][cert_h] */
	node_cons_event ev;
} sim_event;

typedef struct {
	fl_hash hash;
	int valid;
	uint64_t time_ms;
} sim_block;

typedef struct sim sim;

typedef struct {
	sim *s;
	uint32_t idx;
	int byz;
	node_cons *core;
	int alive;
	uint32_t incarnation;
	int64_t skew;
	/* the WAL: inputs recorded before they are fed */
	node_cons_event *log;
	size_t n_log, cap_log;
	int replaying;
	/* every signature this validator ever made (survives crashes) */
	chain_vote signed_votes[MAX_SIGNED];
	uint32_t n_signed;
	fl_hash decided[MAX_H + 1];
	int has_decided[MAX_H + 1];
	uint64_t height;
	uint64_t last_sync_ms;
} sim_node;

struct sim {
	uint64_t rng, now, seq;
	uint32_t n, byz;
	sim_node node[MAX_N];
	node_cons_priority prio[MAX_H + 2];
	chain_commit commits[MAX_N][MAX_H + 1];
	sim_event heap[HEAP_MAX];
	uint32_t heap_n;
	sim_block blocks[MAX_BLOCKS];
	uint32_t n_blocks;
	/* network faults */
	uint32_t drop_pct, dup_pct, max_delay;
	uint64_t part_from, part_to;
	uint32_t part_mask; /* side A: bits set */
	node_cons_config cfg;
	cons_sim_result *res;
};

/* ---------------------------------------------------------------- prng */

static uint64_t rnd(sim *s)
{
	/* splitmix64: the whole run follows from the seed */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(sim *s, uint32_t n)
{
	return n == 0 ? 0 : (uint32_t)(rnd(s) % n);
}

static void fail(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->res->ok)
		return;
	s->res->ok = 0;
	va_start(ap, fmt);
	vsnprintf(s->res->why, sizeof(s->res->why), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- heap */

static int ev_less(const sim_event *a, const sim_event *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void push(sim *s, sim_event *e)
{
	uint32_t i;

	if (s->heap_n == HEAP_MAX)
		return; /* a full network drops */
	e->seq = s->seq++;
	i = s->heap_n++;
	while (i > 0 && ev_less(e, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = *e;
}

static void pop(sim *s, sim_event *out)
{
	sim_event last;
	uint32_t i = 0;

	*out = s->heap[0];
	last = s->heap[--s->heap_n];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= s->heap_n)
			break;
		if (c + 1 < s->heap_n && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->heap_n > 0)
		s->heap[i] = last;
}

static void local(sim *s, uint32_t node, uint64_t delay, const node_cons_event *ev, uint8_t type)
{
	sim_event e;

	memset(&e, 0, sizeof(e));
	e.at = s->now + delay;
	e.type = type;
	e.node = node;
	e.incarnation = s->node[node].incarnation;
	if (ev != NULL)
		e.ev = *ev;
	push(s, &e);
}

/* -------------------------------------------------------------- blocks */

static const sim_block *block_find(const sim *s, const fl_hash *h)
{
	for (uint32_t i = 0; i < s->n_blocks; i++)
		if (fl_hash_cmp(&s->blocks[i].hash, h) == 0)
			return &s->blocks[i];
	return NULL;
}

static fl_hash block_make(sim *s, uint64_t height, uint32_t round, uint32_t who, int valid,
			  uint64_t time_ms)
{
	uint8_t buf[32];
	sim_block *b;
	uint64_t salt = rnd(s);

	memcpy(buf, &height, 8);
	memcpy(buf + 8, &round, 4);
	memcpy(buf + 12, &who, 4);
	memcpy(buf + 16, &salt, 8);
	buf[24] = (uint8_t)valid;
	memset(buf + 25, 0, 7);
	if (s->n_blocks == MAX_BLOCKS)
		return block_find(s, &s->blocks[0].hash)->hash; /* reuse: never in practice */
	b = &s->blocks[s->n_blocks++];
	fl_sha256(&b->hash, buf, sizeof(buf));
	b->valid = valid;
	b->time_ms = time_ms;
	return b->hash;
}

/* ------------------------------------------------------------- network */

static int cut(const sim *s, uint32_t a, uint32_t b)
{
	if (s->now < s->part_from || s->now >= s->part_to)
		return 0;
	return ((s->part_mask >> a) & 1) != ((s->part_mask >> b) & 1);
}

static void send(sim *s, uint32_t from, uint32_t to, const node_cons_event *ev, uint64_t cert_h)
{
	int faulty = s->now < FAULT_END;
	uint32_t copies = 1;
	sim_event e;

	if (faulty && (below(s, 100) < s->drop_pct || cut(s, from, to)))
		return;
	if (faulty && below(s, 100) < s->dup_pct)
		copies = 2;
	for (uint32_t k = 0; k < copies; k++) {
		memset(&e, 0, sizeof(e));
		e.at = s->now + 1 + below(s, faulty ? s->max_delay : 20);
		e.type = E_DELIVER;
		e.node = to;
		e.from = from;
		e.cert_h = cert_h;
		e.ev = *ev;
		push(s, &e);
	}
}

static void broadcast(sim *s, uint32_t from, const node_cons_event *ev, uint64_t cert_h)
{
	for (uint32_t j = 0; j < s->n; j++)
		if (j != from)
			send(s, from, j, ev, cert_h);
}

/* ------------------------------------------------------------- signing */

static int sign_vote(void *ctx, chain_vote *v)
{
	sim_node *nd = ctx;

	ct_sign_vote(v);
	if (nd->byz)
		return FL_OK;
	/* The checker's record, independent of the core and of any guard. */
	for (uint32_t i = 0; i < nd->n_signed; i++) {
		const chain_vote *o = &nd->signed_votes[i];
		if (o->type == v->type && o->height == v->height && o->round == v->round) {
			if (fl_hash_cmp(&o->block_hash, &v->block_hash) != 0)
				fail(nd->s, "honest validator %u signed two values at height %llu",
				     nd->idx, (unsigned long long)v->height);
			return FL_OK;
		}
	}
	if (nd->n_signed < MAX_SIGNED)
		nd->signed_votes[nd->n_signed++] = *v;
	return FL_OK;
}

static int sign_proposal(void *ctx, node_cons_proposal *p)
{
	(void)ctx;
	ct_sign_proposal(p);
	return FL_OK;
}

/* --------------------------------------------------------------- nodes */

static uint64_t clock_of(const sim *s, const sim_node *nd)
{
	return (uint64_t)((int64_t)s->now + nd->skew);
}

static int node_boot(sim *s, sim_node *nd)
{
	node_cons_crypto crypto = {nd, sign_vote, sign_proposal, ct_verify_vote,
				   ct_verify_proposal};
	node_cons_config cfg = s->cfg;
	fl_pubkey pk;

	if (nd->byz)
		cfg.test_skip_lock_rule = 0;
	ct_pubkey(&pk, nd->idx);
	node_cons_free(nd->core);
	nd->core = NULL;
	return node_cons_new(&nd->core, "cons-sim", &pk, &cfg, &crypto);
}

static void record(sim_node *nd, const node_cons_event *ev)
{
	if (nd->byz || nd->replaying)
		return;
	if (nd->n_log == nd->cap_log) {
		size_t cap = nd->cap_log ? 2 * nd->cap_log : 256;
		node_cons_event *p = fl_realloc(nd->log, cap * sizeof(*p));
		if (p == NULL) {
			fail(nd->s, "out of memory at node %u", nd->idx);
			return;
		}
		nd->log = p;
		nd->cap_log = cap;
	}
	nd->log[nd->n_log++] = *ev;
}

static void byz_vote(sim *s, sim_node *nd, const chain_vote *v)
{
	chain_vote other = *v;
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_VOTE;
	if (nd->byz == BYZ_SILENT)
		return;
	if (nd->byz != BYZ_EQUIVOCATE) {
		ev.u.vote = *v;
		broadcast(s, nd->idx, &ev, 0);
		return;
	}
	/* Half the peers get the vote, half a conflicting one (another
	 * block of the height, or nil). */
	if (fl_hash_is_zero(&v->block_hash) && s->n_blocks > 0)
		other.block_hash = s->blocks[below(s, s->n_blocks)].hash;
	else
		memset(&other.block_hash, 0, sizeof(other.block_hash));
	ct_sign_vote(&other);
	for (uint32_t j = 0; j < s->n; j++) {
		if (j == nd->idx)
			continue;
		ev.u.vote = below(s, 2) ? *v : other;
		send(s, nd->idx, j, &ev, 0);
	}
}

static void act(sim *s, sim_node *nd, const node_cons_actions *out)
{
	node_cons_event ev;

	for (uint32_t k = 0; k < out->n; k++) {
		const node_cons_action *a = &out->a[k];
		memset(&ev, 0, sizeof(ev));
		switch (a->kind) {
		case NODE_CONS_ACT_BROADCAST_PROPOSAL:
			ev.kind = NODE_CONS_EV_PROPOSAL;
			ev.u.proposal = a->u.proposal;
			if (nd->byz == BYZ_EQUIVOCATE) {
				node_cons_event alt = ev;
				alt.u.proposal.block_hash =
				    block_make(s, a->u.proposal.height, a->u.proposal.round,
					       nd->idx, 1, a->u.proposal.time_ms);
				ct_sign_proposal(&alt.u.proposal);
				for (uint32_t j = 0; j < s->n; j++)
					if (j != nd->idx)
						send(s, nd->idx, j, below(s, 2) ? &ev : &alt, 0);
			} else if (nd->byz != BYZ_SILENT) {
				broadcast(s, nd->idx, &ev, 0);
			}
			break;
		case NODE_CONS_ACT_BROADCAST_VOTE:
			if (nd->byz) {
				byz_vote(s, nd, &a->u.vote);
				break;
			}
			ev.kind = NODE_CONS_EV_VOTE;
			ev.u.vote = a->u.vote;
			broadcast(s, nd->idx, &ev, 0);
			break;
		case NODE_CONS_ACT_SCHEDULE_TIMEOUT:
			ev.kind = NODE_CONS_EV_TIMEOUT;
			ev.u.timeout = a->u.timeout.t;
			local(s, nd->idx, a->u.timeout.ms, &ev, E_TIMER);
			break;
		case NODE_CONS_ACT_BUILD_BLOCK:
			ev.kind = NODE_CONS_EV_BUILT_BLOCK;
			ev.u.block.height = a->u.build.height;
			ev.u.block.round = a->u.build.round;
			ev.u.block.time_ms = clock_of(s, nd);
			ev.u.block.hash =
			    block_make(s, a->u.build.height, a->u.build.round, nd->idx,
				       nd->byz != BYZ_BAD_PROPOSAL, ev.u.block.time_ms);
			local(s, nd->idx, 1 + below(s, 5), &ev, E_LOCAL);
			break;
		case NODE_CONS_ACT_REQUEST_BLOCK: {
			const sim_block *b = block_find(s, &a->u.block_hash);
			if (b == NULL)
				break; /* nobody has it: never answered */
			ev.kind = NODE_CONS_EV_BLOCK;
			ev.u.block.hash = b->hash;
			ev.u.block.time_ms = b->time_ms;
			local(s, nd->idx, 1 + below(s, 30), &ev, E_LOCAL);
			break;
		}
		case NODE_CONS_ACT_VALIDATE_BLOCK: {
			const sim_block *b = block_find(s, &a->u.block_hash);
			ev.kind = NODE_CONS_EV_VERDICT;
			ev.u.block.hash = a->u.block_hash;
			ev.u.block.valid = b != NULL && b->valid;
			local(s, nd->idx, 1 + below(s, 30), &ev, E_LOCAL);
			break;
		}
		case NODE_CONS_ACT_COMMIT: {
			uint64_t h = out->commit.height;
			if (h > MAX_H)
				break;
			if (nd->has_decided[h] &&
			    fl_hash_cmp(&nd->decided[h], &out->commit.block_hash) != 0)
				fail(s, "node %u decided twice at height %llu", nd->idx,
				     (unsigned long long)h);
			nd->decided[h] = out->commit.block_hash;
			nd->has_decided[h] = 1;
			s->commits[nd->idx][h] = out->commit;
			if (h < TARGET_H) {
				ev.kind = NODE_CONS_EV_START_HEIGHT;
				ev.height = h + 1;
				ev.u.start = &s->prio[h + 1];
				local(s, nd->idx, 5, &ev, E_LOCAL);
			}
			break;
		}
		default: /* evidence: the node would put it in a block */
			break;
		}
	}
}

/* Feeds one input: recorded first (the WAL), then acted on. */
static void feed(sim *s, sim_node *nd, node_cons_event *ev, uint64_t now_ms)
{
	static node_cons_actions out;

	ev->now_ms = now_ms;
	record(nd, ev);
	/* Now and then a crash between the WAL write and the act: the input
	 * is on disk, nothing it caused was sent. */
	if (!nd->byz && !nd->replaying && s->now < FAULT_END && below(s, 3000) == 0) {
		sim_event r;
		nd->alive = 0;
		memset(&r, 0, sizeof(r));
		r.at = s->now + 50 + below(s, 450);
		r.type = E_RESTART;
		r.node = nd->idx;
		push(s, &r);
		s->res->crashes++;
		return;
	}
	if (node_cons_on_event(nd->core, ev, &out) == 0 && !nd->replaying)
		act(s, nd, &out);
	node_cons_status st;
	node_cons_get_status(nd->core, &st);
	nd->height = st.height;
}

static void restart(sim *s, sim_node *nd)
{
	static node_cons_actions out;

	if (node_boot(s, nd) != 0) {
		fail(s, "node %u could not restart", nd->idx);
		return;
	}
	nd->alive = 1;
	nd->incarnation++;
	/* Replay: the same inputs, the same decisions, the same signatures
	 * (the signer's record flags any other); actions dropped. */
	nd->replaying = 1;
	for (size_t i = 0; i < nd->n_log; i++) {
		/* Refused inputs were refused the first time too. */
		int rc = node_cons_on_event(nd->core, &nd->log[i], &out);
		(void)rc;
	}
	nd->replaying = 0;
	node_cons_resume(nd->core, NODE_CONS_RESUME_ALL, &out);
	act(s, nd, &out);
	node_cons_status st;
	node_cons_get_status(nd->core, &st);
	if (st.step == NODE_CONS_STEP_NONE) {
		/* Crashed before its first height began: the store says 1. */
		node_cons_event ev;
		memset(&ev, 0, sizeof(ev));
		ev.kind = NODE_CONS_EV_START_HEIGHT;
		ev.height = 1;
		ev.u.start = &s->prio[1];
		feed(s, nd, &ev, clock_of(s, nd));
	}
	node_cons_get_status(nd->core, &st);
	nd->height = st.height;
}

static void gossip(sim *s, sim_node *nd)
{
	static node_cons_actions out;
	const chain_commit *lc;
	node_cons_event ev;

	node_cons_resume(nd->core, NODE_CONS_RESUME_MESSAGES, &out);
	act(s, nd, &out);
	if ((lc = node_cons_last_commit(nd->core)) != NULL && lc->height <= MAX_H) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = NODE_CONS_EV_COMMIT_CERT;
		broadcast(s, nd->idx, &ev, lc->height);
	}
}

static void deliver(sim *s, sim_event *e)
{
	sim_node *nd = &s->node[e->node];
	uint64_t h = 0;

	if (e->ev.kind == NODE_CONS_EV_COMMIT_CERT) {
		e->ev.u.cert = &s->commits[e->from][e->cert_h];
		h = e->cert_h;
	} else if (e->ev.kind == NODE_CONS_EV_VOTE) {
		h = e->ev.u.vote.height;
	} else if (e->ev.kind == NODE_CONS_EV_PROPOSAL) {
		h = e->ev.u.proposal.height;
	}
	/* Block sync: a node that hears of a later height gets the commit
	 * of its own height from the sender, if the sender has it. */
	if (h > nd->height && nd->height >= 1 && nd->height <= MAX_H &&
	    s->commits[e->from][nd->height].height == nd->height &&
	    s->now - nd->last_sync_ms > 100) {
		node_cons_event cert;
		nd->last_sync_ms = s->now;
		memset(&cert, 0, sizeof(cert));
		cert.kind = NODE_CONS_EV_COMMIT_CERT;
		send(s, e->from, e->node, &cert, nd->height);
	}
	feed(s, nd, &e->ev, clock_of(s, nd));
}

/* ------------------------------------------------------------------ run */

static void setup(sim *s, const cons_sim_opts *o)
{
	chain_validator_set set;

	s->rng = o->seed * 0x2545f4914f6cdd1dull + 1;
	s->n = 4 + below(s, MAX_N - 3);
	s->byz = below(s, (s->n - 1) / 3 + 1);
	s->drop_pct = below(s, 20);
	s->dup_pct = below(s, 10);
	s->max_delay = 20 + below(s, 300);
	if (below(s, 2)) {
		s->part_from = below(s, FAULT_END / 2);
		s->part_to = s->part_from + below(s, FAULT_END / 2);
		s->part_mask = 1 + below(s, (1u << s->n) - 2);
	}
	memset(&s->cfg, 0, sizeof(s->cfg));
	s->cfg.timeout_propose_ms = 300;
	s->cfg.timeout_prevote_ms = 200;
	s->cfg.timeout_precommit_ms = 200;
	s->cfg.timeout_delta_ms = 50;
	s->cfg.pbts_precision_ms = 500;
	s->cfg.pbts_msg_delay_ms = 400;
	s->cfg.test_skip_lock_rule = o->skip_lock_rule;
	ct_set(&set, s->n, NULL);
	/* A set ct_set made is valid: these cannot fail. */
	if (node_cons_priority_init(&s->prio[1], &set) != 0)
		fail(s, "validator set refused");
	for (uint32_t h = 2; h <= MAX_H + 1; h++) {
		s->prio[h] = s->prio[h - 1];
		if (node_cons_priority_advance(&s->prio[h], &set) != 0)
			fail(s, "validator set refused");
	}
}

static void check(sim *s)
{
	for (uint32_t h = 1; h <= TARGET_H; h++) {
		const fl_hash *first = NULL;
		for (uint32_t i = 0; i < s->n; i++) {
			sim_node *nd = &s->node[i];
			if (nd->byz)
				continue;
			if (!nd->has_decided[h]) {
				fail(s, "liveness: node %u never decided height %u", i, h);
				continue;
			}
			const sim_block *b = block_find(s, &nd->decided[h]);
			if (b == NULL || !b->valid)
				fail(s, "node %u decided an invalid block at height %u", i, h);
			if (first == NULL)
				first = &nd->decided[h];
			else if (fl_hash_cmp(first, &nd->decided[h]) != 0)
				fail(s, "safety: two blocks decided at height %u (node %u)", h, i);
		}
	}
}

static int all_done(const sim *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (!s->node[i].byz && !s->node[i].has_decided[TARGET_H])
			return 0;
	return 1;
}

int cons_sim_run(const cons_sim_opts *o, cons_sim_result *r)
{
	sim *s = fl_calloc(1, sizeof(*s));
	sim_event e;
	int rc = FL_OK;

	memset(r, 0, sizeof(*r));
	r->ok = 1;
	if (s == NULL)
		return FL_ENOMEM;
	s->res = r;
	setup(s, o);
	r->n = s->n;
	r->byz = s->byz;
	for (uint32_t i = 0; i < s->n; i++) {
		sim_node *nd = &s->node[i];
		nd->s = s;
		nd->idx = i;
		/* The last `byz` validators misbehave, each its own way. */
		nd->byz = i >= s->n - s->byz ? 1 + (int)below(s, 3) : BYZ_NONE;
		nd->skew = (int64_t)below(s, 101) - 50;
		nd->alive = 1;
		if ((rc = node_boot(s, nd)) != 0)
			goto cleanup;
		memset(&e, 0, sizeof(e));
		e.ev.kind = NODE_CONS_EV_START_HEIGHT;
		e.ev.height = 1;
		e.ev.u.start = &s->prio[1];
		local(s, i, below(s, 50), &e.ev, E_LOCAL);
		local(s, i, GOSSIP_MS + below(s, GOSSIP_MS), NULL, E_GOSSIP);
		/* Honest validators crash in the fault window, at most one at a
		 * time per validator, each back before the window ends. */
		if (!nd->byz && below(s, 3) == 0) {
			uint64_t at = below(s, FAULT_END - 1000);
			sim_event c;
			memset(&c, 0, sizeof(c));
			c.at = at;
			c.type = E_CRASH;
			c.node = i;
			push(s, &c);
			c.at = at + 50 + below(s, 900);
			c.type = E_RESTART;
			push(s, &c);
			r->crashes++;
		}
	}
	while (s->heap_n > 0 && r->ok) {
		pop(s, &e);
		s->now = e.at;
		if (s->now > RUN_END || ++r->events > EVENT_LIMIT)
			break;
		sim_node *nd = &s->node[e.node];
		switch (e.type) {
		case E_CRASH:
			nd->alive = 0;
			break;
		case E_RESTART:
			restart(s, nd);
			break;
		case E_GOSSIP:
			if (nd->alive)
				gossip(s, nd);
			if (!all_done(s))
				local(s, e.node, GOSSIP_MS, NULL, E_GOSSIP);
			break;
		case E_DELIVER:
			if (nd->alive)
				deliver(s, &e);
			break;
		default: /* E_LOCAL, E_TIMER: the incarnation that asked */
			if (nd->alive && e.incarnation == nd->incarnation)
				feed(s, nd, &e.ev, clock_of(s, nd));
			break;
		}
		if (s->now >= FAULT_END && all_done(s))
			break;
	}
	r->end_ms = s->now;
	check(s);
	if (!r->ok && getenv("FEDLEDGER_SIM_TRACE") != NULL)
		for (uint32_t i = 0; i < s->n; i++) {
			node_cons_status st;
			node_cons_get_status(s->node[i].core, &st);
			fprintf(stderr,
				"node %u byz=%d alive=%d h=%llu r=%u step=%u lock=%d valid=%d "
				"log=%zu\n",
				i, s->node[i].byz, s->node[i].alive, (unsigned long long)st.height,
				st.round, st.step, st.locked_round, st.valid_round,
				s->node[i].n_log);
		}
cleanup:
	for (uint32_t i = 0; i < MAX_N; i++) {
		node_cons_free(s->node[i].core);
		fl_free(s->node[i].log);
	}
	fl_free(s);
	return rc;
}
