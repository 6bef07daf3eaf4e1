/*
 * node/node_cons.c — the node around its consensus core: every input is
 * appended to the WAL before it is fed, the WAL is synced before a
 * signature is made or an action leaves, own signatures go through the
 * signer (which saves its state before it signs) and into the WAL, and a
 * restart replays the height in progress from the WAL into a fresh core.
 */
#include "node/node_internal.h"

#include <assert.h>
#include <string.h>
#include <time.h>

#define LOG "consensus"

uint64_t node__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fatal(node *n, const char *what, int rc)
{
	fl_log(FL_LOG_ERROR, LOG, "%s: %s; stopping", what, fl_strerror(rc));
	n->fatal = rc;
	uv_stop(n->loop);
}

/* ---------------------------------------------------------------- signing */

static const node__own *own_find(const node *n, uint8_t kind, uint64_t h, uint32_t r, uint8_t type)
{
	for (unsigned i = 0; i < n->n_own; i++) {
		const node__own *o = &n->own[i];
		if (o->kind != kind)
			continue;
		if (kind == NODE__WAL_OWN_VOTE && o->vote.height == h && o->vote.round == r &&
		    o->vote.type == type)
			return o;
		if (kind == NODE__WAL_OWN_PROPOSAL && o->proposal.height == h &&
		    o->proposal.round == r)
			return o;
	}
	return NULL;
}

static int wal_own(node *n, uint8_t kind, const void *msg)
{
	fl_writer w;
	int rc;

	fl_writer_init(&w, 4096);
	if (kind == NODE__WAL_OWN_VOTE)
		rc = chain_vote_encode(&w, msg);
	else
		rc = node_cons_proposal_encode(&w, msg);
	if (rc == 0 && (rc = fl_writer_finish(&w)) == 0)
		rc = node_wal_append(n->wal, kind, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

static int sign_vote(void *ctx, chain_vote *v)
{
	node *n = ctx;
	int rc;

	if (n->replaying) {
		const node__own *o = own_find(n, NODE__WAL_OWN_VOTE, v->height, v->round, v->type);
		if (o != NULL && fl_hash_cmp(&o->vote.block_hash, &v->block_hash) == 0) {
			v->sig = o->vote.sig;
			return FL_OK;
		}
		/* Not in the WAL (a crash between the signer and the WAL):
		 * the signer gives its saved signature for the same vote. */
		return node_signer_sign_vote(n->signer, v, n->chain_id);
	}
	if (n->opts.byzantine == NODE_BYZ_SILENT)
		return FL_EPERM;
	if ((rc = node_wal_sync(n->wal)) != 0) {
		fatal(n, "WAL sync before a vote", rc);
		return rc;
	}
	if ((rc = node_signer_sign_vote(n->signer, v, n->chain_id)) != 0)
		return rc;
	if ((rc = wal_own(n, NODE__WAL_OWN_VOTE, v)) != 0)
		fatal(n, "WAL append of an own vote", rc);
	return rc;
}

static int sign_proposal(void *ctx, node_cons_proposal *p)
{
	node *n = ctx;
	fl_hash digest;
	int rc;

	p->proposer = n->home.member_id;
	if (n->replaying) {
		const node__own *o = own_find(n, NODE__WAL_OWN_PROPOSAL, p->height, p->round, 0);
		if (o != NULL && fl_hash_cmp(&o->proposal.block_hash, &p->block_hash) == 0 &&
		    o->proposal.time_ms == p->time_ms && o->proposal.pol_round == p->pol_round) {
			p->sig = o->proposal.sig;
			return FL_OK;
		}
	} else if (n->opts.byzantine == NODE_BYZ_SILENT) {
		return FL_EPERM;
	} else if ((rc = node_wal_sync(n->wal)) != 0) {
		fatal(n, "WAL sync before a proposal", rc);
		return rc;
	}
	if ((rc = node_cons_proposal_digest(&digest, n->chain_id, p)) != 0)
		return rc;
	if ((rc = node_signer_sign(n->signer, &p->sig, p->height, p->round, NODE_SIGN_PROPOSAL,
				   &digest)) != 0)
		return rc;
	if (!n->replaying && (rc = wal_own(n, NODE__WAL_OWN_PROPOSAL, p)) != 0)
		fatal(n, "WAL append of an own proposal", rc);
	return rc;
}

int node__cons_open(node *n)
{
	node_cons_crypto crypto = {n, sign_vote, sign_proposal, NULL, NULL};

	return node_cons_new(&n->cons, n->chain_id, &n->home.member_id, &n->cons_cfg, &crypto);
}

/* -------------------------------------------------------------- WAL codec */

/* u64 now_ms, then the event's fields; blocks carry their encoding. */
static int wal_event(node *n, const node_cons_event *ev, const uint8_t *block, size_t block_n)
{
	fl_writer w;
	int rc = 0;

	fl_writer_init(&w, NODE_WAL_RECORD_MAX);
	fl_write_u64(&w, ev->now_ms);
	switch (ev->kind) {
	case NODE_CONS_EV_START_HEIGHT:
		fl_write_u64(&w, ev->height);
		break;
	case NODE_CONS_EV_PROPOSAL:
		rc = node_cons_proposal_encode(&w, &ev->u.proposal);
		break;
	case NODE_CONS_EV_VOTE:
		rc = chain_vote_encode(&w, &ev->u.vote);
		break;
	case NODE_CONS_EV_TIMEOUT:
		fl_write_u64(&w, ev->u.timeout.height);
		fl_write_u32(&w, ev->u.timeout.round);
		fl_write_u8(&w, ev->u.timeout.step);
		break;
	case NODE_CONS_EV_VERDICT:
		fl_write_fixed(&w, ev->u.block.hash.b, FL_HASH_LEN);
		fl_write_u8(&w, ev->u.block.valid ? 1 : 0);
		break;
	case NODE_CONS_EV_BUILT_BLOCK:
		fl_write_u64(&w, ev->u.block.height);
		fl_write_u32(&w, ev->u.block.round);
		__attribute__((fallthrough)); /* hash, time and the block as for BLOCK */
	case NODE_CONS_EV_BLOCK:
		fl_write_fixed(&w, ev->u.block.hash.b, FL_HASH_LEN);
		fl_write_u64(&w, ev->u.block.time_ms);
		fl_write_bytes(&w, block, block_n, CHAIN_MAX_BLOCK_BYTES);
		break;
	default:
		rc = FL_EINVAL;
	}
	if (rc == 0 && (rc = fl_writer_finish(&w)) == 0)
		rc = node_wal_append(n->wal, ev->kind, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

/* The inverse, for replay; *block points into p. */
static int wal_event_decode(node_cons_event *ev, uint8_t type, const uint8_t *p, size_t len,
			    const uint8_t **block, size_t *block_n)
{
	fl_reader r;
	int rc = 0;

	memset(ev, 0, sizeof(*ev));
	*block = NULL;
	*block_n = 0;
	ev->kind = type;
	fl_reader_init(&r, p, len);
	fl_read_u64(&r, &ev->now_ms);
	switch (type) {
	case NODE_CONS_EV_START_HEIGHT:
		fl_read_u64(&r, &ev->height);
		break;
	case NODE_CONS_EV_PROPOSAL: {
		const size_t plen = fl_reader_remaining(&r);
		if (plen > len)
			return FL_ECORRUPT;
		rc = node_cons_proposal_decode(&ev->u.proposal, p + (len - plen), plen);
		return rc != 0 ? FL_ECORRUPT : FL_OK;
	}
	case NODE_CONS_EV_VOTE:
		rc = chain_vote_decode(&r, &ev->u.vote);
		break;
	case NODE_CONS_EV_TIMEOUT:
		fl_read_u64(&r, &ev->u.timeout.height);
		fl_read_u32(&r, &ev->u.timeout.round);
		fl_read_u8(&r, &ev->u.timeout.step);
		break;
	case NODE_CONS_EV_VERDICT: {
		uint8_t valid = 0;
		fl_read_fixed(&r, ev->u.block.hash.b, FL_HASH_LEN);
		fl_read_u8(&r, &valid);
		ev->u.block.valid = valid;
		break;
	}
	case NODE_CONS_EV_BUILT_BLOCK:
		fl_read_u64(&r, &ev->u.block.height);
		fl_read_u32(&r, &ev->u.block.round);
		__attribute__((fallthrough));
	case NODE_CONS_EV_BLOCK:
		fl_read_fixed(&r, ev->u.block.hash.b, FL_HASH_LEN);
		fl_read_u64(&r, &ev->u.block.time_ms);
		rc = fl_read_bytes(&r, block, block_n, CHAIN_MAX_BLOCK_BYTES);
		break;
	default:
		return FL_ECORRUPT;
	}
	if (rc == 0)
		rc = fl_reader_finish(&r);
	return rc != 0 ? FL_ECORRUPT : FL_OK;
}

/* ---------------------------------------------------------------- actions */

static void local_push(node *n, const node_cons_event *ev)
{
	if (n->local_n == NODE__LOCAL_MAX) {
		/* The core asks again on resume: a lost local event costs a round. */
		fl_log(FL_LOG_WARN, LOG, "local event queue full; event %u dropped", ev->kind);
		return;
	}
	n->local[n->local_n++] = *ev;
}

static void timer_arm(node *n)
{
	uint64_t now = node__now_ms(), first = UINT64_MAX;

	for (unsigned i = 0; i < n->n_timers; i++)
		if (n->timers[i].due_ms < first)
			first = n->timers[i].due_ms;
	if (first == UINT64_MAX) {
		uv_timer_stop(&n->cons_timer);
		return;
	}
	uv_timer_start(&n->cons_timer, node__cons_on_timer, first > now ? first - now : 0, 0);
}

static void timer_add(node *n, const node_cons_timeout *t, uint32_t ms)
{
	unsigned slot = n->n_timers;

	if (slot == NODE__TIMERS_MAX) {
		/* Full: the oldest (height, round) is stale first. */
		slot = 0;
		for (unsigned i = 1; i < n->n_timers; i++) {
			const node_cons_timeout *a = &n->timers[i].t, *b = &n->timers[slot].t;
			if (a->height < b->height ||
			    (a->height == b->height && a->round < b->round))
				slot = i;
		}
	} else {
		n->n_timers++;
	}
	n->timers[slot].t = *t;
	n->timers[slot].due_ms = node__now_ms() + ms;
	timer_arm(n);
}

void node__cons_on_timer(uv_timer_t *t)
{
	node *n = t->data;
	uint64_t now = node__now_ms();

	for (unsigned i = 0; i < n->n_timers;) {
		if (n->timers[i].due_ms > now) {
			i++;
			continue;
		}
		node_cons_event ev;
		memset(&ev, 0, sizeof(ev));
		ev.kind = NODE_CONS_EV_TIMEOUT;
		ev.u.timeout = n->timers[i].t;
		n->timers[i] = n->timers[--n->n_timers];
		(void)node__cons_feed(n, &ev, NULL, 0);
	}
	timer_arm(n);
}

static void act_build(node *n, uint64_t height, uint32_t round)
{
	node_cons_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_BUILT_BLOCK;
	ev.u.block.height = height;
	ev.u.block.round = round;
	if ((rc = node__block_build(n, height, round, &ev.u.block.hash, &ev.u.block.time_ms)) !=
	    0) {
		fl_log(FL_LOG_WARN, LOG, "height %llu round %u: cannot build a block: %s",
		       (unsigned long long)height, round, fl_strerror(rc));
		return; /* the propose timeout moves the round on */
	}
	local_push(n, &ev);
}

static void act_evidence(node *n, const chain_vote *a, const chain_vote *b)
{
	chain_tx tx;
	char who[FL_HASH_HEX_LEN + 1];

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_EVIDENCE;
	tx.u.evidence.type = CHAIN_EVIDENCE_DOUBLE_SIGN;
	/* One encoding per equivocation: the pair in block-hash order. */
	if (fl_hash_cmp(&a->block_hash, &b->block_hash) > 0) {
		const chain_vote *t = a;
		a = b;
		b = t;
	}
	tx.u.evidence.vote_a = *a;
	tx.u.evidence.vote_b = *b;
	fl_hex_encode(who, a->validator.b, 8);
	fl_log(FL_LOG_WARN, LOG, "validator %s signed two votes at height %llu round %u", who,
	       (unsigned long long)a->height, a->round);
	/* Logged there when it fails: the next equivocation seen tries again. */
	NODE__IGNORE(node__submit_own_tx(n, &tx, NULL, "evidence"));
}

static void act(node *n, const node_cons_actions *out)
{
	for (uint32_t i = 0; i < out->n; i++) {
		const node_cons_action *a = &out->a[i];
		node_cons_event ev;
		node__block *b;

		switch (a->kind) {
		case NODE_CONS_ACT_BROADCAST_PROPOSAL:
			node__net_broadcast_proposal(n, &a->u.proposal);
			break;
		case NODE_CONS_ACT_BROADCAST_VOTE:
			node__net_broadcast_vote(n, &a->u.vote);
			break;
		case NODE_CONS_ACT_SCHEDULE_TIMEOUT:
			timer_add(n, &a->u.timeout.t, a->u.timeout.ms);
			break;
		case NODE_CONS_ACT_BUILD_BLOCK:
			act_build(n, a->u.build.height, a->u.build.round);
			break;
		case NODE_CONS_ACT_REQUEST_BLOCK:
			if ((b = node__block_find(n, &a->u.block_hash)) != NULL) {
				memset(&ev, 0, sizeof(ev));
				ev.kind = NODE_CONS_EV_BLOCK;
				ev.u.block.hash = b->hash;
				ev.u.block.time_ms = b->block.header.time_ms;
				local_push(n, &ev);
			}
			/* else: the proposal's re-sends bring it, or sync does */
			break;
		case NODE_CONS_ACT_VALIDATE_BLOCK:
			node__job_validate(n, &a->u.block_hash);
			break;
		case NODE_CONS_ACT_EVIDENCE:
			act_evidence(n, &a->u.evidence.a, &a->u.evidence.b);
			break;
		case NODE_CONS_ACT_COMMIT:
			if ((b = node__block_find(n, &out->commit.block_hash)) == NULL) {
				fl_log(
				    FL_LOG_WARN, LOG,
				    "height %llu decided on a block not held; sync will fetch it",
				    (unsigned long long)out->commit.height);
				break;
			}
			n->decided_ms = node__now_ms();
			node__job_apply(n, b->bytes, b->n, &out->commit, 0);
			break;
		default:
			break;
		}
	}
}

/*
 * Feeds one event, then the local events it caused. An event the core
 * takes is appended to the WAL before any action it caused leaves (the WAL
 * is synced first, and the signer syncs it before it signs): a crash before
 * the append loses an input nothing was done about, as if it never came.
 * Refused events (duplicates, other heights) never reach the WAL.
 * Returns node_cons_on_event's code.
 */
int node__cons_feed(node *n, node_cons_event *ev, const uint8_t *block, size_t block_n)
{
	int rc;

	if (n->fatal || n->stopping)
		return FL_ESTATE;
	ev->now_ms = node__now_ms();
	if (ev->kind == NODE_CONS_EV_BLOCK || ev->kind == NODE_CONS_EV_BUILT_BLOCK) {
		node__block *b = node__block_find(n, &ev->u.block.hash);
		if (b == NULL)
			return FL_ENOTFOUND;
		block = b->bytes;
		block_n = b->n;
	}
	if ((rc = node_cons_on_event(n->cons, ev, &n->acts)) != 0)
		return rc;
	if ((rc = wal_event(n, ev, block, block_n)) != 0) {
		fatal(n, "WAL append", rc);
		return rc;
	}
	if (n->acts.n > 0) {
		if ((rc = node_wal_sync(n->wal)) != 0) {
			fatal(n, "WAL sync", rc);
			return rc;
		}
		act(n, &n->acts);
	}
	node__metrics_step(n);
	if (!n->draining) {
		n->draining = 1;
		while (n->local_n > 0 && !n->fatal) {
			node_cons_event lev = n->local[0];
			memmove(&n->local[0], &n->local[1], (n->local_n - 1) * sizeof(n->local[0]));
			n->local_n--;
			(void)node__cons_feed(n, &lev, NULL, 0);
		}
		n->draining = 0;
	}
	return FL_OK;
}

/* ------------------------------------------------------------ heights */

void node__cons_start_height(node *n)
{
	node_cons_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_START_HEIGHT;
	ev.height = n->info.height + 1;
	ev.u.start = &n->prio;
	n->cons_height = ev.height;
	n->n_timers = 0;
	timer_arm(n);
	(void)node__cons_feed(n, &ev, NULL, 0);
	node__net_send_status(n, NULL);
	/* What came early for this height. */
	unsigned held = n->n_next;
	n->n_next = 0;
	n->next_bytes = 0;
	for (unsigned i = 0; i < held; i++) {
		if (n->next[i].type == NODE_TOPIC_VOTE)
			(void)node__cons_on_vote(n, n->next[i].p, n->next[i].n);
		else
			(void)node__cons_on_proposal(n, NULL, n->next[i].p, n->next[i].n);
		fl_free(n->next[i].p);
	}
}

/* A message of the next height, held (bounded) until it starts. */
static void hold_next(node *n, uint8_t type, const uint8_t *p, size_t len)
{
	uint8_t *copy;

	if (n->n_next == NODE__NEXT_MAX || len > NODE__NEXT_BYTES - n->next_bytes ||
	    (copy = fl_malloc(len)) == NULL)
		return;
	n->next_bytes += len;
	memcpy(copy, p, len);
	n->next[n->n_next].type = type;
	n->next[n->n_next].p = copy;
	n->next[n->n_next].n = len;
	n->n_next++;
}

static p2p_gossip_verdict verdict(int rc)
{
	switch (rc) {
	case FL_OK:
		return P2P_GOSSIP_ACCEPT;
	case FL_ESIG:
	case FL_EINVAL:
	case FL_ETRUNC:
	case FL_ETRAILING:
	case FL_ENONCANON:
	case FL_EVERSION:
		return P2P_GOSSIP_REJECT;
	default:
		return P2P_GOSSIP_IGNORE;
	}
}

/* Is pk the proposer of (cons_height, round)? Rounds far ahead are not
 * looked at (they would cost a step per round). */
static int round_proposer(const node *n, uint32_t round, const fl_pubkey *pk)
{
	node_cons_status st;
	node_cons_priority p;

	node_cons_get_status(n->cons, &st);
	if (round > st.round + NODE_CONS_FUTURE_ROUNDS)
		return 0;
	p = n->prio;
	if (round > 0)
		node_cons_priority_increment(&p, round);
	return memcmp(p.set.pubkey[p.proposer].b, pk->b, FL_PUBKEY_LEN) == 0;
}

p2p_gossip_verdict node__cons_on_vote(node *n, const uint8_t *p, size_t len)
{
	node_cons_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	if ((rc = node_wire_vote_decode(&ev.u.vote, p, len)) != 0)
		return P2P_GOSSIP_REJECT;
	if (ev.u.vote.height == n->cons_height + 1) {
		/* Held only once its signature holds: a stranger's junk is not kept. */
		if (chain_vote_verify(&ev.u.vote, n->chain_id) != 0)
			return P2P_GOSSIP_REJECT;
		hold_next(n, NODE_TOPIC_VOTE, p, len);
		return P2P_GOSSIP_IGNORE;
	}
	ev.kind = NODE_CONS_EV_VOTE;
	rc = node__cons_feed(n, &ev, NULL, 0);
	return verdict(rc);
}

/*
 * A proposal with its block: the signature is checked before the block is
 * held, so a stranger cannot fill the cache; a block that is not the
 * proposal's is a malformed message.
 */
p2p_gossip_verdict node__cons_on_proposal(node *n, p2p_peer *from, const uint8_t *p, size_t len)
{
	node_wire_proposal wp;
	node__block *b;
	int rc;

	if ((rc = node_wire_proposal_decode(&wp, p, len)) != 0)
		return P2P_GOSSIP_REJECT;
	if (wp.proposal.height != n->cons_height && wp.proposal.height != n->cons_height + 1)
		return P2P_GOSSIP_IGNORE;
	if (node_cons_proposal_verify(&wp.proposal, n->chain_id) != 0)
		return P2P_GOSSIP_REJECT;
	if (wp.proposal.height == n->cons_height + 1) {
		hold_next(n, NODE_TOPIC_PROPOSAL, p, len);
		return P2P_GOSSIP_IGNORE;
	}
	/* Only the round's proposer gets its block held: another member's
	 * signed junk never takes a slot of the block cache. */
	if (!round_proposer(n, wp.proposal.round, &wp.proposal.proposer))
		return P2P_GOSSIP_IGNORE;
	if (wp.part_len != wp.block_len) {
		/* Larger than a frame: the rest comes part by part. */
		node__fetch_start(n, from, &wp);
		return P2P_GOSSIP_ACCEPT;
	}
	if ((b = node__block_put(n, wp.part, wp.part_len, &wp.proposal.block_hash, &rc)) == NULL)
		return rc == FL_ECHAIN || rc == FL_ENOMEM || rc == FL_ETOOBIG ? P2P_GOSSIP_IGNORE
									      : P2P_GOSSIP_REJECT;
	return verdict(node__cons_feed_proposal(n, &wp.proposal, b));
}

/* A proposal whose block is held: the proposal, then (if the core took it
 * or had it) the block. Returns the proposal's code. */
int node__cons_feed_proposal(node *n, const node_cons_proposal *p, const node__block *b)
{
	node_cons_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_PROPOSAL;
	ev.u.proposal = *p;
	rc = node__cons_feed(n, &ev, NULL, 0);
	if (rc == FL_OK || rc == FL_EDUP) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = NODE_CONS_EV_BLOCK;
		ev.u.block.hash = b->hash;
		ev.u.block.time_ms = b->block.header.time_ms;
		(void)node__cons_feed(n, &ev, NULL, 0);
	}
	return rc;
}

static void start_cb(uv_timer_t *t)
{
	node__cons_start_height(t->data);
}

/* After block `height` committed (by consensus or by sync). */
void node__cons_committed(node *n, uint64_t height)
{
	chain_validator_set next;
	uint64_t now = node__now_ms(), waited;
	int rc;

	if ((rc = chain_store_info(n->store, &n->info)) != 0) {
		fatal(n, "store info", rc);
		return;
	}
	if ((rc = node_wal_end_height(n->wal, height)) != 0) {
		fatal(n, "WAL end of height", rc);
		return;
	}
	if (node_wal_prune(n->wal, height > 100 ? height - 100 : 1, NULL) != 0)
		fl_log(FL_LOG_WARN, LOG, "WAL: old files not pruned");
	if ((rc = chain_get_validator_set(n->store, height + 1, &next)) != 0 ||
	    (rc = node_cons_priority_advance(&n->prio, &next)) != 0) {
		fatal(n, "validator set of the next height", rc);
		return;
	}
	node__blocks_prune(n, height + 1);
	/* The block interval runs from the block's own time (its proposer's
	 * clock as it proposed), so blocks keep the interval's pace under
	 * load: the rounds, votes and apply of a full block are inside it
	 * rather than added to it. A height that took longer starts at once. */
	waited = now > n->info.last_time_ms ? now - n->info.last_time_ms : 0;
	n->decided_ms = 0;
	if (n->info.height < n->sync_target) {
		node__cons_start_height(n); /* sync goes on; consensus follows */
		return;
	}
	uv_timer_start(&n->start_timer, start_cb,
		       waited >= n->block_interval_ms ? 0 : n->block_interval_ms - waited, 0);
}

void node__cons_resend(node *n)
{
	if (n->cons_height == 0 || n->replaying)
		return;
	node_cons_resume(n->cons, NODE_CONS_RESUME_MESSAGES, &n->acts);
	act(n, &n->acts);
}

/* --------------------------------------------------------------- replay */

typedef struct {
	node *n;
	int pass;
	uint64_t fed;
} replay_ctx;

static int replay_cb(void *arg, const node_wal_record *rec)
{
	replay_ctx *rc_ = arg;
	node *n = rc_->n;
	node_cons_event ev;
	const uint8_t *block;
	size_t block_n;
	int rc;

	if (rec->type == NODE__WAL_OWN_VOTE || rec->type == NODE__WAL_OWN_PROPOSAL) {
		if (rc_->pass != 1 || n->n_own == NODE__OWN_MAX)
			return FL_OK;
		node__own *o = &n->own[n->n_own];
		fl_reader r;
		memset(o, 0, sizeof(*o));
		o->kind = rec->type;
		fl_reader_init(&r, rec->payload, rec->len);
		if (rec->type == NODE__WAL_OWN_VOTE)
			rc = chain_vote_decode(&r, &o->vote) || fl_reader_finish(&r);
		else
			rc = node_cons_proposal_decode(&o->proposal, rec->payload, rec->len);
		if (rc == 0)
			n->n_own++;
		return FL_OK;
	}
	if (rc_->pass != 2)
		return FL_OK;
	if ((rc = wal_event_decode(&ev, rec->type, rec->payload, rec->len, &block, &block_n)) !=
	    0) {
		fl_log(FL_LOG_ERROR, LOG, "WAL record of type %u does not decode", rec->type);
		return rc;
	}
	if (ev.kind == NODE_CONS_EV_START_HEIGHT) {
		if (ev.height != n->info.height + 1)
			return FL_ECORRUPT;
		ev.u.start = &n->prio;
		n->cons_height = ev.height;
	}
	if ((ev.kind == NODE_CONS_EV_BLOCK || ev.kind == NODE_CONS_EV_BUILT_BLOCK) &&
	    node__block_put(n, block, block_n, NULL, &rc) == NULL)
		return FL_OK; /* it was refused the first time too */
	if (node_cons_on_event(n->cons, &ev, &n->acts) == 0)
		rc_->fed++;
	return FL_OK;
}

/*
 * Rebuilds the core of the height in progress from the WAL: a first pass
 * collects this node's own signatures, a second feeds every input to the
 * fresh core (its actions dropped), then resume re-arms the timers and
 * re-sends. A WAL whose last marker is below the store's height (a crash
 * after the block committed, before its marker) gets the marker now.
 */
int node__cons_replay(node *n)
{
	replay_ctx ctx = {n, 1, 0};
	uint64_t last = node_wal_last_height(n->wal);
	int rc;

	if (last > n->info.height) {
		fl_log(FL_LOG_ERROR, LOG, "the WAL ends at height %llu but the store at %llu",
		       (unsigned long long)last, (unsigned long long)n->info.height);
		return FL_ECORRUPT;
	}
	if (last < n->info.height && (rc = node_wal_end_height(n->wal, n->info.height)) != 0)
		return rc;
	n->replaying = 1;
	n->n_own = 0;
	rc = node_wal_replay(n->wal, n->info.height + 1, replay_cb, &ctx);
	if (rc == 0) {
		ctx.pass = 2;
		rc = node_wal_replay(n->wal, n->info.height + 1, replay_cb, &ctx);
	}
	n->replaying = 0;
	if (rc != 0)
		return rc;
	if (n->cons_height == 0) {
		node__cons_start_height(n);
		return FL_OK;
	}
	fl_log(FL_LOG_INFO, LOG, "replayed %llu WAL records of height %llu",
	       (unsigned long long)ctx.fed, (unsigned long long)n->cons_height);
	node_cons_resume(n->cons, NODE_CONS_RESUME_ALL, &n->acts);
	act(n, &n->acts);
	return FL_OK;
}
