/*
 * node/metrics.h — a small Prometheus registry (docs/http.md, "Metrics"):
 * counters, gauges and histograms with fixed buckets, each a family with
 * up to NODE_METRICS_LABELS_MAX label names and a cap on its series, and
 * the text exposition format 0.0.4 for GET /metrics.
 *
 * Threading: none inside. Update and render from one thread, the loop's
 * (work on the thread pool reports its timings from its after_work_cb).
 *
 * Ownership: the caller owns the node_metrics struct (embed it); after
 * node_metrics_init succeeded, node_metrics_free releases every family and
 * series. Family and series pointers stay valid until then (a series
 * removed with node_metric_family_remove is freed at once: drop the
 * pointer first).
 *
 * Cardinality: a family made with max_series N holds at most N label sets;
 * past it, new label sets all land in one overflow series whose every
 * label value is NODE_METRICS_OVERFLOW, so a stream of new peers costs one
 * series, not one each, and the total shows what the cap folded together.
 */
#ifndef FEDLEDGER_NODE_METRICS_H
#define FEDLEDGER_NODE_METRICS_H

#include "core/core.h"

#define NODE_METRICS_FAMILIES_MAX 64  /* families in a registry */
#define NODE_METRICS_LABELS_MAX   2   /* label names in a family */
#define NODE_METRICS_BUCKETS_MAX  16  /* histogram upper bounds, +Inf excluded */
#define NODE_METRICS_SERIES_MAX   256 /* max_series of one family, at most */
#define NODE_METRICS_NAME_MAX     64  /* metric and label names */
#define NODE_METRICS_VALUE_MAX    64  /* a label value, in bytes */
#define NODE_METRICS_HELP_MAX     160
#define NODE_METRICS_OVERFLOW     "_other"

typedef enum { NODE_METRIC_COUNTER = 0, NODE_METRIC_GAUGE, NODE_METRIC_HISTOGRAM } node_metric_type;

typedef struct node_metric_family node_metric_family;
typedef struct node_metric node_metric; /* one series */

typedef struct {
	node_metric_family *families[NODE_METRICS_FAMILIES_MAX];
	size_t n_families;
} node_metrics;

/* What a family is. Strings are copied. */
typedef struct {
	node_metric_type type;
	/* [a-zA-Z_:][a-zA-Z0-9_:]*; a counter's name ends in "_total". */
	const char *name;
	const char *help; /* one line of printable ASCII */
	/* Label names, [a-zA-Z_][a-zA-Z0-9_]*, not "le", not "__…". */
	const char *labels[NODE_METRICS_LABELS_MAX];
	size_t n_labels;
	/* Label sets held, 1..NODE_METRICS_SERIES_MAX (the overflow series
	 * comes on top); ignored without labels. */
	size_t max_series;
	/* Histograms: strictly increasing finite upper bounds ("le"); +Inf is
	 * always added. */
	const double *buckets;
	size_t n_buckets;
} node_metric_desc;

void node_metrics_init(node_metrics *m);
void node_metrics_free(node_metrics *m);

/*
 * Registers a family: FL_EINVAL for a bad name, label, help, bucket list
 * or max_series; FL_EEXIST for a name taken; FL_ETOOBIG past
 * NODE_METRICS_FAMILIES_MAX; FL_ENOMEM. Families render in the order they
 * were added.
 */
int node_metrics_add(node_metrics *m, node_metric_family **out,
		     const node_metric_desc *d) FL_MUST_CHECK;

/* The one series of a family without labels (NULL if it has labels). */
node_metric *node_metric_family_series0(node_metric_family *f);
/*
 * The series for these label values (n_labels of them, each at most
 * NODE_METRICS_VALUE_MAX bytes; any bytes, escaped when rendered), made at
 * the first call; past max_series, the overflow series. FL_EINVAL for a
 * value too long, FL_ENOMEM.
 */
int node_metric_family_series(node_metric_family *f, node_metric **out,
			      const char *const *values) FL_MUST_CHECK;
/* Forgets the series of these values (a peer gone); no-op if absent. */
void node_metric_family_remove(node_metric_family *f, const char *const *values);

/* A counter grows by v >= 0 (a negative or NaN v is ignored: a counter
 * never goes down); a gauge moves by v. */
void node_metric_add(node_metric *s, double v);
/* A gauge's value. */
void node_metric_set(node_metric *s, double v);
/* A histogram's observation (NaN ignored). */
void node_metric_observe(node_metric *s, double v);
/* The series' value (counter, gauge) or count (histogram), for tests. */
double node_metric_value(const node_metric *s);

/*
 * The whole registry in the text format 0.0.4 into a fresh NUL-terminated
 * buffer (*out, *n bytes without the NUL; fl_free it): per family "# HELP",
 * "# TYPE", then its series in the order they were made; histograms as
 * _bucket{le=…} (cumulative), _sum and _count. FL_ENOMEM.
 */
int node_metrics_render(const node_metrics *m, char **out, size_t *n) FL_MUST_CHECK;

/* The Content-Type of that text. */
#define NODE_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct node_http_exchange;
/* Answers ex with the rendered registry (a GET /metrics handler's body):
 * node_http_respond's codes; 500 JSON when rendering fails. */
int node_metrics_respond(const node_metrics *m, struct node_http_exchange *ex);

#endif
