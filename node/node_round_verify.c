/*
 * node/node_round_verify.c — validators verify before they prevote
 * (design.md §5.4): a proposed block carrying an aggregate_commit is checked
 * by recomputing the aggregate from the committed update blobs on the pool
 * (node_round_verify: fixed point, bit for bit), and gets a valid verdict
 * only when every aggregate in it recomputes. A wrong one gets a nil
 * prevote and BAD_AGGREGATE evidence; one whose update blobs nobody served
 * within timeouts.blob_fetch_ms gets a nil prevote and no evidence (this
 * node cannot tell who is wrong).
 *
 * The check is keyed by the tx's hash and remembered, so a proposal seen
 * again (next round, another proposer) costs a lookup; it starts as soon as
 * the node sees the tx (gossip, its own block building), which is usually
 * well before a block carries it. A proposal whose check is still running
 * is parked (at most NODE__ROUND_PARKED_MAX) and validated again when the
 * check ends; the consensus core's prevote timeout covers the wait.
 *
 * Cost bounds: one entry per distinct aggregate tx (NODE__ROUND_VERIFY_MAX,
 * least recently used evicted; a tx only reaches here once the mempool or
 * a block check found it well-formed and signed by a coordinator in its
 * turn), one recomputation per entry, retried for a missing blob at most
 * every 5 s.
 */
#include "node/node_round_internal.h"

#include <string.h>

#define LOG "rounds"

#define MISSING_RETRY_MS 5000u
#define FORGET_MS        120000u

static void verify_clear(node__verify *v)
{
	chain_tx_free(&v->tx);
	fl_free(v->tx_bytes);
	memset(v, 0, sizeof(*v));
}

void node__round_verify_free(node *n)
{
	for (unsigned i = 0; i < NODE__ROUND_VERIFY_MAX; i++)
		if (n->rounds->verify[i].state != NODE__VERIFY_FREE)
			verify_clear(&n->rounds->verify[i]);
}

static node__verify *find(node__rounds *r, const fl_hash *tx_hash)
{
	for (unsigned i = 0; i < NODE__ROUND_VERIFY_MAX; i++)
		if (r->verify[i].state != NODE__VERIFY_FREE &&
		    fl_hash_cmp(&r->verify[i].tx_hash, tx_hash) == 0)
			return &r->verify[i];
	return NULL;
}

/* A free entry, or the least recently used one that is not running. */
static node__verify *slot(node__rounds *r)
{
	node__verify *lru = NULL;

	for (unsigned i = 0; i < NODE__ROUND_VERIFY_MAX; i++) {
		node__verify *v = &r->verify[i];

		if (v->state == NODE__VERIFY_FREE)
			return v;
		if (v->state != NODE__VERIFY_RUNNING && (lru == NULL || v->used_ms < lru->used_ms))
			lru = v;
	}
	if (lru != NULL)
		verify_clear(lru);
	return lru;
}

static node__verify *entry(node *n, const chain_tx *tx, const fl_hash *tx_hash)
{
	node__verify *v = find(n->rounds, tx_hash);
	fl_writer w;

	if (v != NULL)
		return v;
	if ((v = slot(n->rounds)) == NULL)
		return NULL;
	if (chain_tx_copy(&v->tx, tx) != FL_OK) {
		memset(v, 0, sizeof(*v));
		return NULL;
	}
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if (chain_tx_encode(&w, tx) != FL_OK || fl_writer_finish(&w) != FL_OK) {
		fl_writer_free(&w);
		chain_tx_free(&v->tx);
		memset(v, 0, sizeof(*v));
		return NULL;
	}
	v->tx_bytes = w.buf; /* the writer's buffer is fl_malloc'd: ours now */
	v->tx_n = w.len;
	v->tx_hash = *tx_hash;
	v->state = NODE__VERIFY_WAITING;
	v->first_ms = node__now_ms();
	return v;
}

/* WAITING: the inputs, wanted; the job once they are all stored or the
 * wait is over. */
static void advance(node *n, node__verify *v)
{
	const chain_tx_aggregate_commit *a = &v->tx.u.aggregate_commit;
	chain_update_record *ups = NULL;
	size_t n_ups = 0, have = 0;
	chain_profile def;
	chain_profile_state st;
	node__rjob *j = NULL;
	const char *field = NULL;
	uint64_t max;
	int base_ok, rc;

	if (v->state != NODE__VERIFY_WAITING)
		return;
	rc = chain_get_profile(n->store, a->profile, &def, &st);
	if (rc == FL_OK)
		rc = chain_get_round_updates(n->store, a->profile, a->round, &ups, &n_ups);
	if (rc == FL_ENOTFOUND)
		goto invalid; /* the block check refuses it for the same reason */
	if (rc != FL_OK)
		goto cleanup; /* a store error is not the tx's: still WAITING, tried again */
	if ((j = node__round_job_new(n, NODE__RJOB_VERIFY, (int)(v - n->rounds->verify))) == NULL)
		goto cleanup;
	if (node_round_params_from_profile(&j->rp, &def, &field) != FL_OK)
		goto invalid;
	if ((j->in = fl_calloc(a->n_entries ? a->n_entries : 1, sizeof(*j->in))) == NULL)
		goto cleanup;
	max = node__round_blob_max(&def);
	for (uint32_t e = 0; e < a->n_entries; e++) {
		const chain_update_record *u = NULL;

		for (size_t k = 0; k < n_ups && u == NULL; k++)
			if (fl_pubkey_cmp(&ups[k].participant, &a->entries[e].participant) == 0)
				u = &ups[k];
		if (u == NULL || fl_hash_cmp(&u->update, &a->entries[e].update) != 0)
			goto invalid;
		j->in[e].participant = u->participant;
		j->in[e].hash = u->update;
		j->in[e].n_samples = u->n_samples;
		have += (size_t)node__round_want(n, &u->update, max);
	}
	base_ok = node__round_want(n, &a->base_model, max);
	if ((have < a->n_entries || !base_ok) &&
	    node__now_ms() - v->first_ms < n->home.config.timeouts.blob_fetch_ms)
		goto cleanup; /* the fetches go on; the tick or a stored blob comes back */
	j->n_in = a->n_entries;
	j->def = def;
	j->base = a->base_model;
	j->round = a->round;
	memcpy(j->profile, a->profile, sizeof(j->profile));
	if (chain_tx_copy(&j->tx, &v->tx) != FL_OK)
		goto cleanup;
	v->state = NODE__VERIFY_RUNNING;
	if (node__round_job_queue(n, j) != FL_OK)
		v->state = NODE__VERIFY_WAITING;
	j = NULL;
	goto cleanup;

invalid:
	v->state = NODE__VERIFY_INVALID;
	fl_log(FL_LOG_INFO, LOG,
	       "%s round %llu: an aggregate_commit that names other updates "
	       "than the round's",
	       a->profile, (unsigned long long)a->round);
cleanup:
	node__round_job_free(j);
	fl_free(ups);
}

static void evidence(node *n, node__verify *v)
{
	chain_tx tx;
	int rc;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_EVIDENCE;
	tx.u.evidence.type = CHAIN_EVIDENCE_BAD_AGGREGATE;
	tx.u.evidence.aggregate_tx = v->tx_bytes;
	tx.u.evidence.aggregate_tx_len = (uint32_t)v->tx_n;
	tx.u.evidence.recomputed_model = v->recomputed;
	rc = node__submit_own_tx(n, &tx, NULL, "bad-aggregate evidence");
	/* The bytes are the entry's: not the tx's to free. */
	tx.u.evidence.aggregate_tx = NULL;
	chain_tx_free(&tx);
	if (rc == FL_OK)
		fl_log(FL_LOG_WARN, LOG, "%s round %llu: evidence filed against its coordinator",
		       v->tx.u.aggregate_commit.profile,
		       (unsigned long long)v->tx.u.aggregate_commit.round);
}

static void unpark(node *n)
{
	node__rounds *r = n->rounds;
	fl_hash parked[NODE__ROUND_PARKED_MAX];
	unsigned np = r->n_parked;

	memcpy(parked, r->parked, sizeof(parked));
	r->n_parked = 0;
	for (unsigned i = 0; i < np; i++)
		node__job_validate(n, &parked[i]);
}

void node__round_verified(node *n, node__rjob *j)
{
	node__verify *v = &n->rounds->verify[j->slot];
	const chain_tx_aggregate_commit *a = &j->tx.u.aggregate_commit;
	char who[17];

	if (v->state != NODE__VERIFY_RUNNING)
		return;
	if (n->rounds->m.verify_s != NULL)
		node_metric_observe(n->rounds->m.verify_s, j->seconds);
	fl_hex_encode(who, j->tx.sender.b, 8);
	switch (j->rc) {
	case FL_OK:
		v->state = NODE__VERIFY_OK;
		node_metric_add(n->rounds->m.verify_ok, 1);
		fl_log(FL_LOG_INFO, LOG,
		       "%s round %llu: aggregate of %s… recomputed (%u updates, %.3f s)",
		       a->profile, (unsigned long long)a->round, who, a->n_entries, j->seconds);
		break;
	case NODE_ROUND_MISMATCH:
		v->state = NODE__VERIFY_MISMATCH;
		v->recomputed = j->recomputed;
		node_metric_add(n->rounds->m.verify_bad, 1);
		fl_log(FL_LOG_WARN, LOG,
		       "%s round %llu: the aggregate of coordinator %s… does not recompute: "
		       "prevoting nil",
		       a->profile, (unsigned long long)a->round, who);
		evidence(n, v);
		break;
	case FL_ENOTFOUND:
		v->state = NODE__VERIFY_MISSING;
		v->retry_ms = node__now_ms() + MISSING_RETRY_MS;
		node_metric_add(n->rounds->m.verify_missing, 1);
		fl_log(FL_LOG_WARN, LOG,
		       "%s round %llu: the aggregate of %s… names an update no peer served: "
		       "prevoting nil",
		       a->profile, (unsigned long long)a->round, who);
		break;
	default:
		v->state = NODE__VERIFY_INVALID;
		node_metric_add(n->rounds->m.verify_bad, 1);
		fl_log(FL_LOG_WARN, LOG, "%s round %llu: the aggregate of %s… is refused: %s (%s)",
		       a->profile, (unsigned long long)a->round, who, j->why ? j->why : "-",
		       fl_strerror(j->rc));
		break;
	}
	unpark(n);
}

/* The entry's answer now: 1 ok, 0 pending, -1 refused. */
static int answer(node *n, node__verify *v)
{
	v->used_ms = node__now_ms();
	if (v->state == NODE__VERIFY_MISSING && v->used_ms >= v->retry_ms) {
		v->state = NODE__VERIFY_WAITING;
		v->first_ms = v->used_ms;
	}
	advance(n, v);
	switch (v->state) {
	case NODE__VERIFY_OK:
		return 1;
	case NODE__VERIFY_WAITING:
	case NODE__VERIFY_RUNNING:
		return 0;
	default:
		return -1;
	}
}

static int tx_answer(node *n, const chain_tx *tx)
{
	node__verify *v;
	fl_hash h;

	if (tx->kind != CHAIN_TX_AGGREGATE_COMMIT)
		return 1;
	if (chain_tx_hash(&h, tx) != FL_OK || (v = entry(n, tx, &h)) == NULL)
		return 0;
	return answer(n, v);
}

node__block_readiness node__round_block_ready(node *n, const chain_block *b, const fl_hash *hash)
{
	node__rounds *r = n->rounds;
	int pending = 0;

	if (r == NULL)
		return NODE__BLOCK_READY;
	for (uint32_t i = 0; i < b->n_txs; i++) {
		int a = tx_answer(n, &b->txs[i]);

		if (a < 0)
			return NODE__BLOCK_BAD;
		pending |= a == 0;
	}
	if (!pending)
		return NODE__BLOCK_READY;
	for (unsigned i = 0; i < r->n_parked; i++)
		if (fl_hash_cmp(&r->parked[i], hash) == 0)
			return NODE__BLOCK_PARKED;
	if (r->n_parked == NODE__ROUND_PARKED_MAX) {
		memmove(r->parked, r->parked + 1,
			sizeof(r->parked[0]) * (NODE__ROUND_PARKED_MAX - 1));
		r->n_parked--;
	}
	r->parked[r->n_parked++] = *hash;
	return NODE__BLOCK_PARKED;
}

int node__round_includable(node *n, const chain_tx *tx)
{
	if (n->rounds == NULL || tx->kind != CHAIN_TX_AGGREGATE_COMMIT)
		return 1;
	return tx_answer(n, tx) == 1;
}

void node__round_on_tx(node *n, const uint8_t *p, size_t len)
{
	chain_tx tx;

	/* Only aggregates are worth a decode here: the kind is the second byte
	 * of the encoding, after the version (docs/encoding.md). */
	if (n->rounds == NULL || len < 2 || p[1] != CHAIN_TX_AGGREGATE_COMMIT)
		return;
	memset(&tx, 0, sizeof(tx));
	if (chain_tx_decode(&tx, p, len) == FL_OK)
		(void)tx_answer(n, &tx);
	chain_tx_free(&tx);
}

void node__round_verify_tick(node *n)
{
	uint64_t now = node__now_ms();

	for (unsigned i = 0; i < NODE__ROUND_VERIFY_MAX; i++) {
		node__verify *v = &n->rounds->verify[i];

		if (v->state == NODE__VERIFY_WAITING)
			advance(n, v);
		else if (v->state != NODE__VERIFY_FREE && v->state != NODE__VERIFY_RUNNING &&
			 now - v->used_ms > FORGET_MS && now - v->first_ms > FORGET_MS)
			verify_clear(v);
	}
}
