/*
 * node/node_round.c — the round driver's steps (node/node_round_internal.h):
 * after each commit and each tick, for every active profile,
 *
 *   member       load its data (config.json rounds.data) → round_join →
 *                in each open window: fetch the base model, train on the
 *                pool, store the update blob, update_commit
 *   coordinator  when its turn comes (the chain's rule: past window_end and
 *                the deadlines of those ahead of it in the draw that are
 *                still in good standing): fetch the committed updates,
 *                aggregate on the pool, store the new model, aggregate_commit
 *                with its own held-out figures; test the updates for a split
 *   validator    fetch the committed updates while the window is open, so
 *                the aggregate's check (node_round_verify.c) has them
 *   everyone     fetch each new model (it is served and inferred from), and
 *                members with test data publish an eval_report for it
 *
 * and every NODE__ROUND_PRUNE_S the blob store's retention sweep. All of it
 * on the loop but the learning, which runs in node_round_jobs.c.
 */
#include "node/node_round_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG "rounds"

static const double train_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300};

uint64_t node__round_blob_max(const chain_profile *def)
{
	uint64_t params = chain_model_spec_params(&def->model);

	/* f32 weights and a header, with room: a blob over this is not one of
	 * this profile's, whatever a peer announces. */
	return params > (UINT64_MAX - (1u << 20)) / 8 ? UINT64_MAX : params * 8 + (1u << 20);
}

/* ---------------------------------------------------------- open/close */

/* The driver's families without labels, by where their series goes. */
#define M_AT(f) offsetof(node__rounds, m.f)
static const struct {
	size_t at;
	node_metric_type type;
	const char *name, *help;
} families[] = {
    {M_AT(joins), NODE_METRIC_COUNTER, "fedledger_round_joins_total",
     "round_join txs this node sent"},
    {M_AT(updates), NODE_METRIC_COUNTER, "fedledger_round_updates_total",
     "Updates this node trained and committed"},
    {M_AT(aggregates), NODE_METRIC_COUNTER, "fedledger_round_aggregates_total",
     "Aggregates this node committed as a coordinator"},
    {M_AT(evals), NODE_METRIC_COUNTER, "fedledger_round_evals_total",
     "eval_report txs this node sent"},
    {M_AT(verify_ok), NODE_METRIC_COUNTER, "fedledger_round_verify_ok_total",
     "Aggregates recomputed bit for bit before a prevote"},
    {M_AT(verify_bad), NODE_METRIC_COUNTER, "fedledger_round_verify_refused_total",
     "Aggregates refused (wrong model, updates or weights)"},
    {M_AT(verify_missing), NODE_METRIC_COUNTER, "fedledger_round_verify_missing_total",
     "Aggregate checks that lacked an update blob"},
    {M_AT(fetched), NODE_METRIC_COUNTER, "fedledger_blobs_fetched_total",
     "Blobs fetched from peers"},
    {M_AT(fetch_failed), NODE_METRIC_COUNTER, "fedledger_blobs_fetch_failures_total",
     "Blob fetch attempts that failed"},
    {M_AT(fetch_bytes), NODE_METRIC_COUNTER, "fedledger_blobs_fetched_bytes_total",
     "Bytes of the blobs fetched from peers"},
    {M_AT(store_bytes), NODE_METRIC_GAUGE, "fedledger_blobstore_bytes",
     "Bytes of the blobs stored"},
    {M_AT(store_blobs), NODE_METRIC_GAUGE, "fedledger_blobstore_blobs", "Blobs stored"},
    {M_AT(pruned), NODE_METRIC_COUNTER, "fedledger_blobstore_pruned_total",
     "Blobs removed by the retention policy"},
    {M_AT(splits), NODE_METRIC_COUNTER, "fedledger_round_splits_total",
     "Clear two-cluster splits found by this coordinator"},
};

static const struct {
	size_t at;
	const char *name, *help;
} timings[] = {
    {M_AT(train_s), "fedledger_round_train_seconds",
     "Wall time of one local training of an update"},
    {M_AT(aggregate_s), "fedledger_round_aggregate_seconds",
     "Wall time of one aggregate (coordinator), blobs read included"},
    {M_AT(verify_s), "fedledger_round_verify_seconds",
     "Wall time of one aggregate recomputed before a prevote"},
};

static node_metric **metric_at(node__rounds *r, size_t at)
{
	return (node_metric **)((char *)r + at);
}

static int register_metrics(node *n)
{
	node_metric_desc d;
	node_metric_family *f;
	int rc = 0;

	for (size_t i = 0; i < FL_ARRAY_LEN(families); i++)
		*metric_at(n->rounds, families[i].at) =
		    node__metric_one(n, families[i].type, families[i].name, families[i].help, &rc);
	if (rc != 0)
		return rc;
	memset(&d, 0, sizeof(d));
	d.type = NODE_METRIC_HISTOGRAM;
	d.buckets = train_buckets;
	d.n_buckets = FL_ARRAY_LEN(train_buckets);
	for (size_t i = 0; i < FL_ARRAY_LEN(timings); i++) {
		d.name = timings[i].name;
		d.help = timings[i].help;
		if ((rc = node_metrics_add(&n->metrics, &f, &d)) != 0)
			return rc;
		*metric_at(n->rounds, timings[i].at) = node_metric_family_series0(f);
	}
	return FL_OK;
}

int node__round_open(node *n, char *err, size_t errlen)
{
	int rc;

	if ((n->rounds = fl_calloc(1, sizeof(*n->rounds))) == NULL) {
		snprintf(err, errlen, "rounds: out of memory");
		return FL_ENOMEM;
	}
	for (unsigned i = 0; i < NODE__ROUND_PROFILES_MAX; i++)
		n->rounds->prof[i].cfg = -1;
	if ((rc = register_metrics(n)) != 0) {
		snprintf(err, errlen, "rounds: metrics: %s", fl_strerror(rc));
		return rc;
	}
	n->rounds->pruned_ms = node__now_ms();
	return FL_OK;
}

int node__round_busy(const node *n)
{
	return n->rounds != NULL && n->rounds->busy > 0;
}

void node__round_close(node *n)
{
	node__rounds *r = n->rounds;

	if (r == NULL)
		return;
	for (unsigned i = 0; i < NODE__ROUND_PROFILES_MAX; i++)
		if (r->prof[i].data != NULL) {
			node_round_data_free(r->prof[i].data);
			fl_free(r->prof[i].data);
		}
	node__round_verify_free(n);
	fl_free(r);
	n->rounds = NULL;
}

/* ------------------------------------------------------------ profiles */

node__profile *node__round_profile(node *n, const char *id)
{
	node__profile *free_slot = NULL;

	for (unsigned i = 0; i < NODE__ROUND_PROFILES_MAX; i++) {
		node__profile *p = &n->rounds->prof[i];

		if (p->used && strcmp(p->id, id) == 0)
			return p;
		if (!p->used && free_slot == NULL)
			free_slot = p;
	}
	if (free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	free_slot->cfg = -1;
	snprintf(free_slot->id, sizeof(free_slot->id), "%s", id);
	for (size_t i = 0; i < n->home.config.rounds.n_data; i++)
		if (strcmp(n->home.config.rounds.data[i].profile, id) == 0)
			free_slot->cfg = (int)i;
	return free_slot;
}

/* A child profile (a split's) without data of its own in config.json uses
 * its parent's: the share restricted to the child's labels, joined only
 * when it has samples of them (a load that finds none is logged once). */
static void inherit_cfg(node *n, node__profile *p)
{
	if (p->cfg >= 0 || p->def.parent[0] == '\0')
		return;
	for (size_t i = 0; i < n->home.config.rounds.n_data; i++)
		if (strcmp(n->home.config.rounds.data[i].profile, p->def.parent) == 0)
			p->cfg = (int)i;
}

static int slot_of(node *n, const node__profile *p)
{
	return (int)(p - n->rounds->prof);
}

static int is_me(const node *n, const fl_pubkey *pk)
{
	return fl_pubkey_cmp(pk, &n->home.member_id) == 0;
}

static int submit(node *n, chain_tx *tx, fl_hash *hash, const char *what)
{
	int rc = node__submit_own_tx(n, tx, hash, what);

	chain_tx_free(tx);
	return rc;
}

/* --------------------------------------------------------- the member */

static void data_step(node *n, node__profile *p)
{
	node__rjob *j;

	if (p->cfg < 0 || p->data != NULL || p->loading || p->load_failed)
		return;
	if ((j = node__round_job_new(n, NODE__RJOB_LOAD, slot_of(n, p))) == NULL)
		return;
	j->def = p->def;
	j->cfg = &n->home.config.rounds.data[p->cfg];
	snprintf(j->home, sizeof(j->home), "%s", n->home.dir);
	memcpy(j->profile, p->id, sizeof(j->profile));
	p->loading = 1;
	if (node__round_job_queue(n, j) != FL_OK)
		p->loading = 0;
}

static void join_step(node *n, node__profile *p)
{
	chain_tx_round_join have;
	uint64_t height = 0;
	chain_tx tx;
	int rc;

	if (p->data == NULL)
		return;
	rc = chain_get_join(n->store, p->id, &n->home.member_id, &have, &height);
	if (rc == FL_OK) {
		p->joined_height = height;
		p->join_pending = 0;
		return;
	}
	if (rc != FL_ENOTFOUND)
		return;
	/* Sent and not on chain yet: queued (or waiting for a block's apply,
	 * node_owntx.c). Sent again only once it is gone from the mempool and
	 * a few blocks passed, so a join lost on the way is not lost for good. */
	if (p->join_pending && (node_mempool_contains(n->mempool, &p->join_tx) ||
				n->info.height < p->join_sent_height + 4))
		return;
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_ROUND_JOIN;
	node_round_data_join(p->data, &p->def, &tx.u.round_join);
	if (submit(n, &tx, &p->join_tx, "round_join") == FL_OK) {
		p->join_pending = 1;
		p->join_sent_height = n->info.height;
		node_metric_add(n->rounds->m.joins, 1);
		fl_log(FL_LOG_INFO, LOG, "%s: joining with %zu samples", p->id, p->data->n);
	}
}

/* Whether this node's update is on chain for round r already (a restart
 * in the window finds its own commit there). */
static int committed_update(node *n, const chain_round *r)
{
	chain_update_record *ups = NULL;
	size_t n_ups = 0;
	int found = 0;

	if (chain_get_round_updates(n->store, r->profile, r->round, &ups, &n_ups) != FL_OK)
		return 0;
	for (size_t i = 0; i < n_ups && !found; i++)
		found = is_me(n, &ups[i].participant);
	fl_free(ups);
	return found;
}

static void train_step(node *n, node__profile *p, const chain_round *r)
{
	node__rjob *j;

	if (p->data == NULL || p->joined_height == 0 || p->training || p->trained >= r->round)
		return;
	if (committed_update(n, r)) {
		p->trained = r->round;
		return;
	}
	if (!node__round_want(n, &r->base_model, node__round_blob_max(&p->def)))
		return; /* fetching: a stored blob steps again */
	if ((j = node__round_job_new(n, NODE__RJOB_TRAIN, slot_of(n, p))) == NULL)
		return;
	j->def = p->def;
	j->rp = p->rp;
	j->base = r->base_model;
	j->round = r->round;
	j->data = p->data;
	j->withhold = n->opts.byzantine == NODE_BYZ_WITHHOLD_UPDATES;
	memcpy(j->profile, p->id, sizeof(j->profile));
	p->training = 1;
	fl_log(FL_LOG_INFO, LOG, "%s round %llu: training on %zu samples", p->id,
	       (unsigned long long)r->round, p->data->n);
	if (node__round_job_queue(n, j) != FL_OK)
		p->training = 0;
}

static void trained(node *n, node__profile *p, node__rjob *j)
{
	chain_round r;
	chain_tx tx;

	p->training = 0;
	p->trained = j->round;
	if (j->rc != FL_OK) {
		fl_log(FL_LOG_WARN, LOG, "%s round %llu: no update: %s", p->id,
		       (unsigned long long)j->round, j->err[0] ? j->err : fl_strerror(j->rc));
		return;
	}
	node_metric_observe(n->rounds->m.train_s, j->update.seconds);
	if (chain_get_round(n->store, p->id, j->round, &r) != FL_OK ||
	    r.status != CHAIN_ROUND_OPEN || n->info.height + 1 > r.window_end) {
		fl_log(FL_LOG_WARN, LOG,
		       "%s round %llu: trained in %.2f s, after the window closed", p->id,
		       (unsigned long long)j->round, j->update.seconds);
		return;
	}
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_UPDATE_COMMIT;
	memcpy(tx.u.update_commit.profile, p->id, sizeof(tx.u.update_commit.profile));
	tx.u.update_commit.round = j->round;
	tx.u.update_commit.base_model = j->base;
	tx.u.update_commit.update = j->update.hash;
	tx.u.update_commit.n_samples = j->update.n_samples;
	tx.u.update_commit.train_loss_ppm = j->update.train_loss_ppm;
	tx.u.update_commit.train_accuracy_ppm = j->update.train_accuracy_ppm;
	if (submit(n, &tx, NULL, "update_commit") != FL_OK)
		return;
	node_metric_add(n->rounds->m.updates, 1);
	fl_log(FL_LOG_INFO, LOG,
	       "%s round %llu: update committed (%llu samples, train accuracy %.2f%%, %.2f s)%s",
	       p->id, (unsigned long long)j->round, (unsigned long long)j->update.n_samples,
	       j->update.train_accuracy_ppm / 1e4, j->update.seconds,
	       j->withhold ? " — WITHHOLD TEST MODE: its blob is not served" : "");
}

/* ---------------------------------------------------- the coordinator */

static int good_standing(node *n, const fl_pubkey *pk)
{
	chain_account a;

	return chain_get_account(n->store, pk, &a) == FL_OK && a.member && !a.jailed;
}

/* 1 when the next block may carry this node's aggregate for r (the chain's
 * coordinator_turn), with *me its place in the draw. */
static int my_turn(node *n, const node__profile *p, const chain_round *r)
{
	uint64_t next = n->info.height + 1, ahead = 0;
	uint32_t j;

	for (j = 0; j < r->n_coordinators; j++)
		if (is_me(n, &r->coordinators[j]))
			break;
	if (j == r->n_coordinators || !good_standing(n, &n->home.member_id))
		return 0;
	for (uint32_t i = 0; i < j; i++)
		ahead += (uint64_t)good_standing(n, &r->coordinators[i]);
	return next > r->window_end && next - r->window_end > ahead * p->def.deadline_blocks;
}

/* How long a coordinator waits in its turn for blobs not served yet: a
 * member that never serves must not make it miss its own deadline, so at
 * most half the turn (at the chain's block interval), within
 * timeouts.blob_fetch_ms. */
static uint64_t turn_wait_ms(const node *n, const node__profile *p)
{
	uint64_t turn = (uint64_t)p->def.deadline_blocks * n->block_interval_ms / 2;
	uint64_t cap = n->home.config.timeouts.blob_fetch_ms;

	if (turn < 500)
		turn = 500;
	return turn < cap ? turn : cap;
}

static void aggregate_step(node *n, node__profile *p, const chain_round *r)
{
	chain_update_record *ups = NULL;
	size_t n_ups = 0, have = 0;
	uint64_t max = node__round_blob_max(&p->def), now = node__now_ms();
	node__rjob *j = NULL;

	/* Too few updates: the round fails at the next block, whoever aggregates. */
	if (p->aggregating || p->aggregated >= r->round || r->n_updates < p->def.min_participants ||
	    !my_turn(n, p, r))
		return;
	if (p->turn_round != r->round) {
		p->turn_round = r->round;
		p->turn_ms = now;
		fl_log(FL_LOG_INFO, LOG, "%s round %llu: this node's turn to aggregate %u updates",
		       p->id, (unsigned long long)r->round, r->n_updates);
	}
	if (chain_get_round_updates(n->store, p->id, r->round, &ups, &n_ups) != FL_OK)
		return;
	for (size_t i = 0; i < n_ups; i++)
		have += (size_t)node__round_want(n, &ups[i].update, max);
	if (!node__round_want(n, &r->base_model, max) ||
	    (have < n_ups && now - p->turn_ms < turn_wait_ms(n, p)))
		goto cleanup;
	if ((j = node__round_job_new(n, NODE__RJOB_AGGREGATE, slot_of(n, p))) == NULL ||
	    (j->in = fl_calloc(n_ups ? n_ups : 1, sizeof(*j->in))) == NULL)
		goto cleanup;
	for (size_t i = 0; i < n_ups; i++) {
		j->in[i].participant = ups[i].participant;
		j->in[i].hash = ups[i].update;
		j->in[i].n_samples = ups[i].n_samples;
	}
	j->n_in = n_ups;
	j->def = p->def;
	j->rp = p->rp;
	j->base = r->base_model;
	j->round = r->round;
	j->data = p->data;
	j->bad = n->opts.byzantine == NODE_BYZ_BAD_AGGREGATE;
	memcpy(j->profile, p->id, sizeof(j->profile));
	p->aggregating = 1;
	if (node__round_job_queue(n, j) != FL_OK)
		p->aggregating = 0;
	j = NULL;

cleanup:
	node__round_job_free(j);
	fl_free(ups);
}

static void aggregated(node *n, node__profile *p, node__rjob *j)
{
	chain_tx tx;
	size_t left = 0;

	p->aggregating = 0;
	if (j->rc != FL_OK) {
		/* Too few usable updates stays so: no retry; a store error may pass. */
		if (j->rc == FL_EINVAL)
			p->aggregated = j->round;
		fl_log(FL_LOG_WARN, LOG, "%s round %llu: no aggregate: %s", p->id,
		       (unsigned long long)j->round, j->err[0] ? j->err : fl_strerror(j->rc));
		return;
	}
	p->aggregated = j->round;
	node_metric_observe(n->rounds->m.aggregate_s, j->seconds);
	for (size_t i = 0; i < j->n_in; i++)
		if (j->status[i] != NODE_ROUND_IN_OK) {
			char who[17];
			static const char *const why[] = {"ok", "never served", "wrong hash",
							  "not an update of the profile",
							  "n_samples differ"};
			fl_hex_encode(who, j->in[i].participant.b, 8);
			fl_log(FL_LOG_WARN, LOG, "%s round %llu: the update of %s… is left out: %s",
			       p->id, (unsigned long long)j->round, who,
			       j->status[i] < FL_ARRAY_LEN(why) ? why[j->status[i]] : "?");
			left++;
		}
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_AGGREGATE_COMMIT;
	memcpy(tx.u.aggregate_commit.profile, p->id, sizeof(tx.u.aggregate_commit.profile));
	tx.u.aggregate_commit.round = j->round;
	tx.u.aggregate_commit.base_model = j->base;
	tx.u.aggregate_commit.new_model = j->agg.hash;
	tx.u.aggregate_commit.n_entries = j->agg.n_entries;
	tx.u.aggregate_commit.entries = j->agg.entries; /* the tx owns them now */
	j->agg.entries = NULL;
	tx.u.aggregate_commit.eval_accuracy_ppm = j->accuracy_ppm;
	tx.u.aggregate_commit.eval_loss_ppm = j->loss_ppm;
	if (submit(n, &tx, NULL, "aggregate_commit") != FL_OK)
		return;
	node_metric_add(n->rounds->m.aggregates, 1);
	fl_log(FL_LOG_INFO, LOG,
	       "%s round %llu: aggregate committed, %u updates (%zu left out), held-out "
	       "accuracy %.2f%%, %.3f s%s",
	       p->id, (unsigned long long)j->round, j->agg.n_entries, left, j->accuracy_ppm / 1e4,
	       j->seconds, j->bad ? " — BAD-AGGREGATE TEST MODE: its model is wrong" : "");
	if (j->split_clear && p->split_round < j->round) {
		p->split_round = j->round;
		node_metric_add(n->rounds->m.splits, 1);
		fl_log(FL_LOG_INFO, LOG,
		       "%s round %llu: the updates split into two clear clusters (largest "
		       "similarity across %.3f)",
		       p->id, (unsigned long long)j->round, j->max_cross);
		node__round_propose_split(n, p, j);
	}
}

/* ------------------------------------------------------------ evaluation */

static void eval_step(node *n, node__profile *p, const chain_round *c)
{
	node__rjob *j;

	if (p->data == NULL || p->data->test.n == 0 || p->evaluating || p->evaluated >= c->round)
		return;
	if (!node__round_want(n, &c->new_model, node__round_blob_max(&p->def)))
		return;
	if ((j = node__round_job_new(n, NODE__RJOB_EVAL, slot_of(n, p))) == NULL)
		return;
	j->def = p->def;
	j->rp = p->rp;
	j->model = c->new_model;
	j->round = c->round;
	j->data = p->data;
	memcpy(j->profile, p->id, sizeof(j->profile));
	p->evaluating = 1;
	if (node__round_job_queue(n, j) != FL_OK)
		p->evaluating = 0;
}

static void evaluated(node *n, node__profile *p, node__rjob *j)
{
	chain_tx tx;

	p->evaluating = 0;
	p->evaluated = j->round;
	if (j->rc != FL_OK) {
		fl_log(FL_LOG_WARN, LOG, "%s round %llu: not evaluated: %s", p->id,
		       (unsigned long long)j->round, j->err[0] ? j->err : fl_strerror(j->rc));
		return;
	}
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_EVAL_REPORT;
	memcpy(tx.u.eval_report.profile, p->id, sizeof(tx.u.eval_report.profile));
	tx.u.eval_report.round = j->round;
	tx.u.eval_report.model = j->model;
	tx.u.eval_report.n_samples = p->data->test.n;
	tx.u.eval_report.metric_value = j->accuracy_ppm;
	if (submit(n, &tx, NULL, "eval_report") != FL_OK)
		return;
	node_metric_add(n->rounds->m.evals, 1);
	fl_log(FL_LOG_INFO, LOG, "%s round %llu: held-out accuracy %.2f%% on %zu samples", p->id,
	       (unsigned long long)j->round, j->accuracy_ppm / 1e4, p->data->test.n);
}

/* ------------------------------------------------------------ the step */

static void prefetch_updates(node *n, const node__profile *p, const chain_round *r)
{
	chain_update_record *ups = NULL;
	size_t n_ups = 0;
	uint64_t max = node__round_blob_max(&p->def);

	if (chain_get_round_updates(n->store, p->id, r->round, &ups, &n_ups) != FL_OK)
		return;
	for (size_t i = 0; i < n_ups; i++)
		(void)node__round_want(n, &ups[i].update, max);
	fl_free(ups);
}

static int in_draw(const node *n, const chain_round *r)
{
	for (uint32_t j = 0; j < r->n_coordinators; j++)
		if (is_me(n, &r->coordinators[j]))
			return 1;
	return 0;
}

static int is_validator(node *n)
{
	chain_account a;

	return chain_get_account(n->store, &n->home.member_id, &a) == FL_OK && a.power > 0;
}

static void profile_step(node *n, node__profile *p, int validator)
{
	chain_round r, c;
	const char *field = NULL;
	int rc;

	if (!p->runnable) {
		rc = node_round_params_from_profile(&p->rp, &p->def, &field);
		if (rc != FL_OK) {
			if (!p->warned)
				fl_log(FL_LOG_WARN, LOG, "%s: this node cannot run its rounds: %s",
				       p->id, field != NULL ? field : fl_strerror(rc));
			p->warned = 1;
			return;
		}
		p->runnable = 1;
	}
	inherit_cfg(n, p);
	data_step(n, p);
	join_step(n, p);
	if (p->st.round == 0 || chain_get_round(n->store, p->id, p->st.round, &r) != FL_OK)
		return;
	if (r.status == CHAIN_ROUND_OPEN && n->info.height + 1 <= r.window_end)
		train_step(n, p, &r);
	if (r.status == CHAIN_ROUND_OPEN || r.status == CHAIN_ROUND_AGGREGATING) {
		/* Validators check the aggregate, the draw's coordinators make it:
		 * both fetch the updates as they are committed, not at the end. */
		if (validator || in_draw(n, &r))
			prefetch_updates(n, p, &r);
		aggregate_step(n, p, &r);
	}
	/* The latest committed model: everyone holds it; members evaluate it. */
	if (r.status == CHAIN_ROUND_COMMITTED)
		c = r;
	else if (r.round < 2 || chain_get_round(n->store, p->id, r.round - 1, &c) != FL_OK ||
		 c.status != CHAIN_ROUND_COMMITTED)
		return;
	if (node__round_want(n, &c.new_model, node__round_blob_max(&p->def)))
		eval_step(n, p, &c);
}

void node__round_step(node *n)
{
	char(*ids)[CHAIN_PROFILE_ID_MAX + 1] = NULL;
	size_t n_ids = 0, followed = 0;
	int validator;

	if (n->rounds == NULL || n->stopping || n->blobs == NULL)
		return;
	if (chain_list_profiles(n->store, &ids, &n_ids) != FL_OK)
		return;
	validator = is_validator(n);
	for (size_t i = 0; i < n_ids && followed < NODE__ROUND_PROFILES_MAX; i++) {
		chain_profile def;
		chain_profile_state st;
		node__profile *p;

		if (chain_get_profile(n->store, ids[i], &def, &st) != FL_OK ||
		    st.status != CHAIN_PROFILE_ACTIVE)
			continue;
		followed++;
		if ((p = node__round_profile(n, ids[i])) == NULL)
			break;
		p->def = def;
		p->st = st;
		profile_step(n, p, validator);
	}
	fl_free(ids);
}

void node__round_committed(node *n, const chain_block *b)
{
	(void)b;
	node__round_step(n);
}

/* -------------------------------------------------------------- retention */

/* What the retention policy keeps: the hashes, unsorted (a few hundred). */
struct node__keep_set {
	fl_hash *h;
	size_t n, cap;
};

static int keep_cb(void *ctx, const fl_hash *h)
{
	const node__keep_set *k = ctx;

	for (size_t i = 0; i < k->n; i++)
		if (fl_hash_cmp(&k->h[i], h) == 0)
			return 1;
	return 0;
}

static int keep_add(node__keep_set *k, const fl_hash *h)
{
	if (node__zero_hash(h))
		return FL_OK;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		fl_hash *grown = fl_realloc(k->h, cap * sizeof(*grown));
		if (grown == NULL)
			return FL_ENOMEM;
		k->h = grown;
		k->cap = cap;
	}
	k->h[k->n++] = *h;
	return FL_OK;
}

void node__round_keep_free(node__keep_set *k)
{
	if (k == NULL)
		return;
	fl_free(k->h);
	fl_free(k);
}

/* One profile's part of the keep set: its current model, and for each of
 * its last NODE__ROUND_KEEP_ROUNDS rounds the base, the new model and,
 * while the round runs, its updates; the updates of the latest committed
 * round too, so that round can still be audited from this node. */
static int keep_profile(node *n, const node__profile *p, node__keep_set *k)
{
	int rc = keep_add(k, &p->st.model_hash), audit = 1;

	for (uint64_t back = 0;
	     rc == FL_OK && back <= NODE__ROUND_KEEP_ROUNDS && back < p->st.round; back++) {
		chain_update_record *ups = NULL;
		size_t n_ups = 0;
		chain_round r;

		if (chain_get_round(n->store, p->id, p->st.round - back, &r) != FL_OK)
			continue;
		rc = keep_add(k, &r.base_model);
		if (rc == FL_OK && r.status == CHAIN_ROUND_COMMITTED)
			rc = keep_add(k, &r.new_model);
		if (rc != FL_OK)
			continue;
		if (r.status == CHAIN_ROUND_COMMITTED && audit)
			audit = 0;
		else if (r.status != CHAIN_ROUND_OPEN && r.status != CHAIN_ROUND_AGGREGATING)
			continue;
		if (chain_get_round_updates(n->store, p->id, r.round, &ups, &n_ups) != FL_OK)
			continue;
		for (size_t u = 0; rc == FL_OK && u < n_ups; u++)
			rc = keep_add(k, &ups[u].update);
		fl_free(ups);
	}
	return rc;
}

/*
 * The retention policy: the models of each profile's last
 * NODE__ROUND_KEEP_ROUNDS rounds (served, inferred from, audited) and
 * everything a running round needs (its base, its committed updates) stay;
 * the rest goes once it is older than a sweep period, so a blob stored for
 * a round this sweep cannot see yet (being trained, fetched) is never
 * swept. The keep set is read from the chain here; the directory walk and
 * the unlinks run on the pool (node_round_jobs.c), never on the loop.
 */
static uint32_t prune_period(const node *n)
{
	return n->test.prune_s != 0 ? n->test.prune_s : NODE__ROUND_PRUNE_S;
}

static void prune(node *n)
{
	node__keep_set *k = fl_calloc(1, sizeof(*k));
	node__rjob *j;

	if (k == NULL)
		return;
	for (unsigned i = 0; i < NODE__ROUND_PROFILES_MAX; i++)
		if (n->rounds->prof[i].used && keep_profile(n, &n->rounds->prof[i], k) != FL_OK) {
			node__round_keep_free(k); /* keep everything rather than guess */
			return;
		}
	if ((j = node__round_job_new(n, NODE__RJOB_PRUNE, 0)) == NULL) {
		node__round_keep_free(k);
		return;
	}
	j->keep = k;
	j->older_than = (int64_t)time(NULL) - (int64_t)prune_period(n);
	if (node__round_job_queue(n, j) == FL_OK)
		n->rounds->pruning = 1;
}

int node__round_keep(void *ctx, const fl_hash *h)
{
	return keep_cb(ctx, h);
}

void node__round_tick(node *n)
{
	node__rounds *r = n->rounds;
	uint64_t bytes = 0, count = 0, now = node__now_ms();

	if (r == NULL || n->stopping || n->blobs == NULL)
		return;
	node__round_fetch_tick(n);
	node__round_verify_tick(n);
	node__round_step(n);
	node_blobstore_usage(n->blobs, &bytes, &count);
	node_metric_set(r->m.store_bytes, (double)bytes);
	node_metric_set(r->m.store_blobs, (double)count);
	if (now - r->pruned_ms >= prune_period(n) * 1000ull && !r->pruning) {
		r->pruned_ms = now;
		prune(n);
	}
}

/* ---------------------------------------------------------- job results */

void node__round_job_done(node *n, node__rjob *j)
{
	node__profile *p;

	if (j->kind == NODE__RJOB_STORE) {
		node__round_stored(n, j);
		return;
	}
	if (j->kind == NODE__RJOB_VERIFY) {
		node__round_verified(n, j);
		return;
	}
	if (j->kind == NODE__RJOB_PRUNE) {
		n->rounds->pruning = 0;
		if (j->rc == FL_OK && j->removed > 0) {
			node_metric_add(n->rounds->m.pruned, (double)j->removed);
			fl_log(FL_LOG_INFO, LOG, "blob store: %llu old blobs removed (%llu bytes)",
			       (unsigned long long)j->removed,
			       (unsigned long long)j->removed_bytes);
		}
		return;
	}
	p = &n->rounds->prof[j->slot];
	switch (j->kind) {
	case NODE__RJOB_LOAD:
		p->loading = 0;
		if (j->rc != FL_OK) {
			p->load_failed = 1;
			fl_log(FL_LOG_ERROR, LOG, "%s: rounds.data[%d]: %s", p->id, p->cfg,
			       j->err[0] ? j->err : fl_strerror(j->rc));
			return;
		}
		p->data = j->loaded;
		j->loaded = NULL;
		fl_log(FL_LOG_INFO, LOG, "%s: %zu training and %zu test samples loaded", p->id,
		       p->data->n, p->data->test.n);
		break;
	case NODE__RJOB_TRAIN:
		trained(n, p, j);
		break;
	case NODE__RJOB_AGGREGATE:
		aggregated(n, p, j);
		break;
	case NODE__RJOB_EVAL:
		evaluated(n, p, j);
		break;
	default:
		break;
	}
	if (!n->stopping)
		node__round_step(n);
}
