/*
 * node/node_metrics.c — the node's Prometheus families (GET /metrics):
 * height, consensus round and step durations, block interval, commit
 * latency, peers and their bytes, mempool size and bytes, WAL fsync time.
 * Updated on the loop: at each commit, each step change and each tick.
 */
#include "node/node_internal.h"

#include <string.h>

static const double secs[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30};

node_metric *node__metric_one(node *n, node_metric_type type, const char *name, const char *help,
			      int *rc)
{
	node_metric_desc d;
	node_metric_family *f;

	if (*rc != 0)
		return NULL;
	memset(&d, 0, sizeof(d));
	d.type = type;
	d.name = name;
	d.help = help;
	if (type == NODE_METRIC_HISTOGRAM) {
		d.buckets = secs;
		d.n_buckets = FL_ARRAY_LEN(secs);
	}
	if ((*rc = node_metrics_add(&n->metrics, &f, &d)) != 0)
		return NULL;
	return node_metric_family_series0(f);
}

int node__metrics_init(node *n)
{
	node_metric_desc d;
	int rc = 0;

	node_metrics_init(&n->metrics);
	n->m.height =
	    node__metric_one(n, NODE_METRIC_GAUGE, "fedledger_height", "Last committed block height", &rc);
	n->m.round = node__metric_one(n, NODE_METRIC_GAUGE, "fedledger_consensus_round",
			 "Consensus round of the height in progress", &rc);
	n->m.step = node__metric_one(n, NODE_METRIC_HISTOGRAM, "fedledger_consensus_step_seconds",
			"Time spent in each consensus step (propose, prevote, precommit)", &rc);
	n->m.interval = node__metric_one(n, NODE_METRIC_HISTOGRAM, "fedledger_block_interval_seconds",
			    "Time between the header times of consecutive blocks", &rc);
	n->m.commit = node__metric_one(n, NODE_METRIC_HISTOGRAM, "fedledger_commit_latency_seconds",
			  "From the decision to the block applied in the store", &rc);
	n->m.peers = node__metric_one(n, NODE_METRIC_GAUGE, "fedledger_peers", "Connected peers", &rc);
	n->m.mempool_txs =
	    node__metric_one(n, NODE_METRIC_GAUGE, "fedledger_mempool_txs", "Txs in the mempool", &rc);
	n->m.mempool_bytes =
	    node__metric_one(n, NODE_METRIC_GAUGE, "fedledger_mempool_bytes", "Bytes of the mempool's txs", &rc);
	n->m.wal_fsync = node__metric_one(n, NODE_METRIC_COUNTER, "fedledger_wal_fsync_seconds_total",
			     "Wall time spent in WAL fsyncs", &rc);
	n->m.wal_syncs =
	    node__metric_one(n, NODE_METRIC_COUNTER, "fedledger_wal_fsyncs_total", "WAL fsyncs", &rc);
	n->m.txs = node__metric_one(n, NODE_METRIC_COUNTER, "fedledger_txs_committed_total",
		       "Txs in committed blocks", &rc);
	n->m.apply_failures = node__metric_one(n, NODE_METRIC_COUNTER, "fedledger_block_apply_failures_total",
				  "Decided blocks that failed to apply (each attempt)", &rc);
	n->m.apply_stuck = node__metric_one(n, NODE_METRIC_GAUGE, "fedledger_block_apply_stuck_height",
			       "Height of a decided block that does not apply yet, else 0", &rc);
	n->m.validate_timeouts =
	    node__metric_one(n, NODE_METRIC_COUNTER, "fedledger_block_validation_timeouts_total",
		"Block checks past timeouts.block_validation_ms (prevoted nil)", &rc);
	if (rc != 0)
		return rc;
	memset(&d, 0, sizeof(d));
	d.type = NODE_METRIC_GAUGE;
	d.name = "fedledger_peer_bytes";
	d.help = "Ciphertext bytes of each peer's session, by direction";
	d.labels[0] = "peer";
	d.labels[1] = "direction";
	d.n_labels = 2;
	d.max_series = 2 * 64;
	return node_metrics_add(&n->metrics, &n->m.peer_bytes, &d);
}

void node__metrics_tick(node *n)
{
	node_mempool_stats ms;
	node_wal_stats ws;
	p2p_peer *peers[NODE__PEERS_MAX];
	size_t k;

	if (n->m.height == NULL)
		return;
	node_metric_set(n->m.height, (double)n->info.height);
	node_mempool_get_stats(n->mempool, &ms);
	node_metric_set(n->m.mempool_txs, (double)ms.count);
	node_metric_set(n->m.mempool_bytes, (double)ms.bytes);
	node_wal_get_stats(n->wal, &ws);
	node_metric_add(n->m.wal_fsync, (double)(ws.sync_ns - n->m.wal_ns_seen) / 1e9);
	node_metric_add(n->m.wal_syncs, (double)(ws.syncs - n->m.wal_syncs_seen));
	n->m.wal_ns_seen = ws.sync_ns;
	n->m.wal_syncs_seen = ws.syncs;
	k = p2p_peers(n->p2p, peers, NODE__PEERS_MAX);
	node_metric_set(n->m.peers, (double)k);
	for (size_t i = 0; i < k; i++) {
		p2p_peer_info pi;
		char id[17];
		node_metric *s;
		p2p_peer_get_info(peers[i], &pi);
		fl_hex_encode(id, pi.id.b, 8);
		const char *in[2] = {id, "in"}, *out[2] = {id, "out"};
		if (node_metric_family_series(n->m.peer_bytes, &s, in) == 0)
			node_metric_set(s, (double)pi.bytes_in);
		if (node_metric_family_series(n->m.peer_bytes, &s, out) == 0)
			node_metric_set(s, (double)pi.bytes_out);
	}
}

/* The core's step changed (or not): a step that ended is observed. */
void node__metrics_step(node *n)
{
	node_cons_status st;
	uint64_t now = node__now_ms();

	if (n->m.step == NULL)
		return;
	node_cons_get_status(n->cons, &st);
	if (st.height != n->m.last_height || st.round != n->m.last_round ||
	    st.step != n->m.last_step) {
		if (n->m.step_since != 0 && n->m.last_step >= NODE_CONS_STEP_PROPOSE &&
		    n->m.last_step <= NODE_CONS_STEP_PRECOMMIT)
			node_metric_observe(n->m.step, (double)(now - n->m.step_since) / 1000.0);
		n->m.last_height = st.height;
		n->m.last_round = st.round;
		n->m.last_step = st.step;
		n->m.step_since = now;
		node_metric_set(n->m.round, (double)st.round);
	}
}

void node__metrics_commit(node *n, const chain_block *b, uint64_t prev_time_ms, uint64_t decided_ms)
{
	uint64_t now = node__now_ms();

	if (n->m.commit == NULL)
		return;
	node_metric_add(n->m.txs, (double)b->n_txs);
	if (prev_time_ms != 0 && b->header.time_ms > prev_time_ms)
		node_metric_observe(n->m.interval,
				    (double)(b->header.time_ms - prev_time_ms) / 1000.0);
	if (decided_ms != 0 && now >= decided_ms)
		node_metric_observe(n->m.commit, (double)(now - decided_ms) / 1000.0);
	node_metric_set(n->m.height, (double)b->header.height);
}
