/*
 * tests/node/test_metrics.c — the registry of node/metrics.h: the exact
 * text of every metric type (Prometheus text format 0.0.4), label escaping,
 * the cardinality cap and its overflow series, and what add refuses.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "node/metrics.h"

static char *render(const node_metrics *m)
{
	char *text;
	size_t n;

	cr_assert_eq(node_metrics_render(m, &text, &n), FL_OK);
	cr_assert_eq(strlen(text), n);
	return text;
}

Test(metrics, counter_gauge_histogram_exact_text)
{
	static const double buckets[] = {0.005, 0.1, 1, 2.5};
	node_metrics m;
	node_metric_family *height, *commits, *latency;
	node_metric *h, *c, *l;
	char *text;

	node_metrics_init(&m);
	cr_assert_eq(node_metrics_add(&m, &height,
				      &(node_metric_desc){.type = NODE_METRIC_GAUGE,
							  .name = "fedledger_height",
							  .help = "Latest committed height."}),
		     FL_OK);
	cr_assert_eq(
	    node_metrics_add(&m, &commits,
			     &(node_metric_desc){.type = NODE_METRIC_COUNTER,
						 .name = "fedledger_blocks_committed_total",
						 .help = "Blocks committed since start."}),
	    FL_OK);
	cr_assert_eq(
	    node_metrics_add(&m, &latency,
			     &(node_metric_desc){.type = NODE_METRIC_HISTOGRAM,
						 .name = "fedledger_commit_latency_seconds",
						 .help = "Proposal to commit, in seconds.",
						 .buckets = buckets,
						 .n_buckets = 4}),
	    FL_OK);
	h = node_metric_family_series0(height);
	c = node_metric_family_series0(commits);
	l = node_metric_family_series0(latency);
	node_metric_set(h, 42);
	node_metric_add(c, 3);
	node_metric_add(c, -1); /* a counter never goes down */
	node_metric_observe(l, 0.001);
	node_metric_observe(l, 0.1); /* on a bound: counted in it (le) */
	node_metric_observe(l, 0.5);
	node_metric_observe(l, 7);
	node_metric_observe(l, NAN);
	text = render(&m);
	cr_assert_str_eq(text,
			 "# HELP fedledger_height Latest committed height.\n"
			 "# TYPE fedledger_height gauge\n"
			 "fedledger_height 42\n"
			 "# HELP fedledger_blocks_committed_total Blocks committed since start.\n"
			 "# TYPE fedledger_blocks_committed_total counter\n"
			 "fedledger_blocks_committed_total 3\n"
			 "# HELP fedledger_commit_latency_seconds Proposal to commit, in seconds.\n"
			 "# TYPE fedledger_commit_latency_seconds histogram\n"
			 "fedledger_commit_latency_seconds_bucket{le=\"0.005\"} 1\n"
			 "fedledger_commit_latency_seconds_bucket{le=\"0.1\"} 2\n"
			 "fedledger_commit_latency_seconds_bucket{le=\"1\"} 3\n"
			 "fedledger_commit_latency_seconds_bucket{le=\"2.5\"} 3\n"
			 "fedledger_commit_latency_seconds_bucket{le=\"+Inf\"} 4\n"
			 "fedledger_commit_latency_seconds_sum 7.601\n"
			 "fedledger_commit_latency_seconds_count 4\n");
	fl_free(text);
	cr_assert_eq(node_metric_value(l), 4);
	node_metrics_free(&m);
}

Test(metrics, labels_escaped_and_capped)
{
	node_metrics m;
	node_metric_family *bytes;
	node_metric *s;
	char *text;

	node_metrics_init(&m);
	cr_assert_eq(
	    node_metrics_add(&m, &bytes,
			     &(node_metric_desc){.type = NODE_METRIC_COUNTER,
						 .name = "fedledger_peer_bytes_total",
						 .help = "Bytes by peer and direction (\\ kept).",
						 .labels = {"peer", "direction"},
						 .n_labels = 2,
						 .max_series = 2}),
	    FL_OK);
	cr_assert_null(node_metric_family_series0(bytes));
	cr_assert_eq(node_metric_family_series(bytes, &s, (const char *[]){"ab\"c\\", "in"}),
		     FL_OK);
	node_metric_add(s, 100);
	cr_assert_eq(node_metric_family_series(bytes, &s, (const char *[]){"ab\"c\\", "in"}),
		     FL_OK);
	node_metric_add(s, 0.5);
	cr_assert_eq(node_metric_family_series(bytes, &s, (const char *[]){"p2", "out"}), FL_OK);
	node_metric_add(s, 1e20);
	/* Past max_series: both land in the one overflow series. */
	cr_assert_eq(node_metric_family_series(bytes, &s, (const char *[]){"p3", "in"}), FL_OK);
	node_metric_add(s, 1);
	cr_assert_eq(node_metric_family_series(bytes, &s, (const char *[]){"p4", "in"}), FL_OK);
	node_metric_add(s, 2);
	cr_assert_eq(node_metric_family_series(bytes, &s, (const char *[]){"bad\n", "in"}),
		     FL_EINVAL);
	text = render(&m);
	cr_assert_str_eq(
	    text, "# HELP fedledger_peer_bytes_total Bytes by peer and direction (\\\\ kept).\n"
		  "# TYPE fedledger_peer_bytes_total counter\n"
		  "fedledger_peer_bytes_total{peer=\"ab\\\"c\\\\\",direction=\"in\"} 100.5\n"
		  "fedledger_peer_bytes_total{peer=\"p2\",direction=\"out\"} 1e+20\n"
		  "fedledger_peer_bytes_total{peer=\"_other\",direction=\"_other\"} 3\n");
	fl_free(text);

	/* A peer gone: its series goes, and a new one takes the slot. */
	node_metric_family_remove(bytes, (const char *[]){"p2", "out"});
	cr_assert_eq(node_metric_family_series(bytes, &s, (const char *[]){"p5", "in"}), FL_OK);
	node_metric_add(s, 0.1);
	text = render(&m);
	cr_assert_str_eq(
	    text, "# HELP fedledger_peer_bytes_total Bytes by peer and direction (\\\\ kept).\n"
		  "# TYPE fedledger_peer_bytes_total counter\n"
		  "fedledger_peer_bytes_total{peer=\"ab\\\"c\\\\\",direction=\"in\"} 100.5\n"
		  "fedledger_peer_bytes_total{peer=\"p5\",direction=\"in\"} 0.1\n"
		  "fedledger_peer_bytes_total{peer=\"_other\",direction=\"_other\"} 3\n");
	fl_free(text);
	node_metrics_free(&m);
}

Test(metrics, labelled_histogram_and_gauge_moves)
{
	static const double buckets[] = {0.5, 1};
	node_metrics m;
	node_metric_family *step, *mempool;
	node_metric *s, *g;
	char *text;

	node_metrics_init(&m);
	cr_assert_eq(node_metrics_add(&m, &step,
				      &(node_metric_desc){.type = NODE_METRIC_HISTOGRAM,
							  .name = "fedledger_step_seconds",
							  .help = "Time in each step.",
							  .labels = {"step"},
							  .n_labels = 1,
							  .max_series = 3,
							  .buckets = buckets,
							  .n_buckets = 2}),
		     FL_OK);
	cr_assert_eq(node_metrics_add(&m, &mempool,
				      &(node_metric_desc){.type = NODE_METRIC_GAUGE,
							  .name = "fedledger_mempool_txs",
							  .help = "Txs waiting."}),
		     FL_OK);
	cr_assert_eq(node_metric_family_series(step, &s, (const char *[]){"prevote"}), FL_OK);
	node_metric_observe(s, 0.25);
	node_metric_observe(s, 0.75);
	g = node_metric_family_series0(mempool);
	node_metric_add(g, 5);
	node_metric_add(g, -7);
	text = render(&m);
	cr_assert_str_eq(text, "# HELP fedledger_step_seconds Time in each step.\n"
			       "# TYPE fedledger_step_seconds histogram\n"
			       "fedledger_step_seconds_bucket{step=\"prevote\",le=\"0.5\"} 1\n"
			       "fedledger_step_seconds_bucket{step=\"prevote\",le=\"1\"} 2\n"
			       "fedledger_step_seconds_bucket{step=\"prevote\",le=\"+Inf\"} 2\n"
			       "fedledger_step_seconds_sum{step=\"prevote\"} 1\n"
			       "fedledger_step_seconds_count{step=\"prevote\"} 2\n"
			       "# HELP fedledger_mempool_txs Txs waiting.\n"
			       "# TYPE fedledger_mempool_txs gauge\n"
			       "fedledger_mempool_txs -2\n");
	fl_free(text);
	node_metrics_free(&m);
}

Test(metrics, empty_registry_renders_nothing)
{
	node_metrics m;
	char *text;

	node_metrics_init(&m);
	text = render(&m);
	cr_assert_str_eq(text, "");
	fl_free(text);
	node_metrics_free(&m);
}

Test(metrics, add_refuses_bad_descriptions)
{
	static const double unordered[] = {1, 0.5};
	static const double inf[] = {1, INFINITY};
	node_metrics m;
	node_metric_family *f;

	node_metrics_init(&m);
#define ADD(...) node_metrics_add(&m, &f, &(node_metric_desc){__VA_ARGS__})
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "9bad", .help = "x"), FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "a-b", .help = "x"), FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "", .help = "x"), FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_COUNTER, .name = "no_suffix", .help = "x"), FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "g", .help = "two\nlines"), FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "g", .help = "x", .labels = {"le"},
			 .n_labels = 1, .max_series = 1),
		     FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "g", .help = "x", .labels = {"__a"},
			 .n_labels = 1, .max_series = 1),
		     FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "g", .help = "x", .labels = {"a", "a"},
			 .n_labels = 2, .max_series = 1),
		     FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "g", .help = "x", .labels = {"a"},
			 .n_labels = 1, .max_series = 0),
		     FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "g", .help = "x", .labels = {"a"},
			 .n_labels = 1, .max_series = NODE_METRICS_SERIES_MAX + 1),
		     FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_HISTOGRAM, .name = "h", .help = "x"), FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_HISTOGRAM, .name = "h", .help = "x",
			 .buckets = unordered, .n_buckets = 2),
		     FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_HISTOGRAM, .name = "h", .help = "x", .buckets = inf,
			 .n_buckets = 2),
		     FL_EINVAL);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "g", .help = "x"), FL_OK);
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "g", .help = "y"), FL_EEXIST);
	for (size_t i = 1; i < NODE_METRICS_FAMILIES_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "g%zu", i);
		cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = name, .help = "x"), FL_OK);
	}
	cr_assert_eq(ADD(.type = NODE_METRIC_GAUGE, .name = "one_more", .help = "x"), FL_ETOOBIG);
#undef ADD
	node_metrics_free(&m);
}

Test(metrics, add_frees_on_every_allocation_failure)
{
	for (unsigned long n = 1; n < 8; n++) {
		node_metrics m;
		node_metric_family *f;
		node_metric *s;
		char *text;
		size_t len;
		int rc;

		node_metrics_init(&m);
		(void)fl_alloc_fail_after(n);
		rc = node_metrics_add(&m, &f,
				      &(node_metric_desc){.type = NODE_METRIC_GAUGE,
							  .name = "g",
							  .help = "x",
							  .labels = {"a"},
							  .n_labels = 1,
							  .max_series = 4});
		if (rc == FL_OK)
			rc = node_metric_family_series(f, &s, (const char *[]){"v"});
		if (rc == FL_OK) {
			rc = node_metrics_render(&m, &text, &len);
			if (rc == FL_OK)
				fl_free(text);
		}
		(void)fl_alloc_fail_after(0);
		cr_assert(rc == FL_OK || rc == FL_ENOMEM);
		node_metrics_free(&m);
	}
}
