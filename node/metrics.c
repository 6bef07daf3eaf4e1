/*
 * node/metrics.c — the registry of node/metrics.h and its text format
 * (Prometheus exposition format 0.0.4).
 *
 * Numbers print in the shortest of %.15g and %.17g that reads back as the
 * same double, so an integer count prints as an integer ("42", not
 * "42.000000") and a fraction without noise ("0.1", not
 * "0.10000000000000001"), and the text is a pure function of the values.
 */
#include "node/metrics.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 1024 /* one rendered line: names and values are capped well below */

struct node_metric {
	node_metric_family *family;
	node_metric *next;
	char values[NODE_METRICS_LABELS_MAX][NODE_METRICS_VALUE_MAX + 1];
	double value; /* counter, gauge */
	double sum;   /* histogram */
	uint64_t count;
	uint64_t buckets[NODE_METRICS_BUCKETS_MAX + 1]; /* per bucket, +Inf last; not cumulative */
};

struct node_metric_family {
	node_metric_type type;
	char name[NODE_METRICS_NAME_MAX + 1];
	char help[NODE_METRICS_HELP_MAX + 1];
	char labels[NODE_METRICS_LABELS_MAX][NODE_METRICS_NAME_MAX + 1];
	size_t n_labels, max_series;
	double bounds[NODE_METRICS_BUCKETS_MAX];
	size_t n_bounds;
	node_metric *head, *tail; /* in the order made; the overflow series is not in it */
	size_t n_series;
	node_metric *overflow;
};

/* ------------------------------------------------------------ checks */

static int name_ok(const char *s, int label)
{
	size_t n = s != NULL ? strnlen(s, NODE_METRICS_NAME_MAX + 1) : 0;

	if (n == 0 || n > NODE_METRICS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			    (!label && c == ':');
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return 0;
	}
	if (label && (strcmp(s, "le") == 0 || strncmp(s, "__", 2) == 0))
		return 0;
	return 1;
}

static int text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int desc_check(const node_metrics *m, const node_metric_desc *d)
{
	size_t n;

	if ((unsigned)d->type > NODE_METRIC_HISTOGRAM || !name_ok(d->name, 0))
		return FL_EINVAL;
	n = strlen(d->name);
	if (d->type == NODE_METRIC_COUNTER && (n < 6 || strcmp(d->name + n - 6, "_total") != 0))
		return FL_EINVAL;
	if (d->help == NULL || !text_ok(d->help, NODE_METRICS_HELP_MAX))
		return FL_EINVAL;
	if (d->n_labels > NODE_METRICS_LABELS_MAX)
		return FL_EINVAL;
	for (size_t i = 0; i < d->n_labels; i++) {
		if (!name_ok(d->labels[i], 1))
			return FL_EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(d->labels[i], d->labels[j]) == 0)
				return FL_EINVAL;
	}
	if (d->n_labels > 0 && (d->max_series == 0 || d->max_series > NODE_METRICS_SERIES_MAX))
		return FL_EINVAL;
	if (d->type == NODE_METRIC_HISTOGRAM) {
		if (d->n_buckets == 0 || d->n_buckets > NODE_METRICS_BUCKETS_MAX ||
		    d->buckets == NULL)
			return FL_EINVAL;
		for (size_t i = 0; i < d->n_buckets; i++)
			if (!isfinite(d->buckets[i]) ||
			    (i > 0 && d->buckets[i] <= d->buckets[i - 1]))
				return FL_EINVAL;
	} else if (d->n_buckets != 0) {
		return FL_EINVAL;
	}
	for (size_t i = 0; i < m->n_families; i++)
		if (strcmp(m->families[i]->name, d->name) == 0)
			return FL_EEXIST;
	if (m->n_families == NODE_METRICS_FAMILIES_MAX)
		return FL_ETOOBIG;
	return FL_OK;
}

/* ---------------------------------------------------------- registry */

void node_metrics_init(node_metrics *m)
{
	assert(m != NULL);
	memset(m, 0, sizeof(*m));
}

static void family_free(node_metric_family *f)
{
	node_metric *s = f->head, *next;

	for (; s != NULL; s = next) {
		next = s->next;
		fl_free(s);
	}
	fl_free(f->overflow);
	fl_free(f);
}

void node_metrics_free(node_metrics *m)
{
	for (size_t i = 0; i < m->n_families; i++)
		family_free(m->families[i]);
	memset(m, 0, sizeof(*m));
}

static node_metric *series_new(node_metric_family *f)
{
	node_metric *s = fl_calloc(1, sizeof(*s));

	if (s != NULL)
		s->family = f;
	return s;
}

static void series_append(node_metric_family *f, node_metric *s)
{
	if (f->tail != NULL)
		f->tail->next = s;
	else
		f->head = s;
	f->tail = s;
	f->n_series++;
}

int node_metrics_add(node_metrics *m, node_metric_family **out, const node_metric_desc *d)
{
	node_metric_family *f;
	int rc;

	assert(m != NULL && out != NULL && d != NULL);
	*out = NULL;
	if ((rc = desc_check(m, d)) != FL_OK)
		return rc;
	f = fl_calloc(1, sizeof(*f));
	if (f == NULL)
		return FL_ENOMEM;
	f->type = d->type;
	snprintf(f->name, sizeof(f->name), "%s", d->name);
	snprintf(f->help, sizeof(f->help), "%s", d->help);
	f->n_labels = d->n_labels;
	for (size_t i = 0; i < d->n_labels; i++)
		snprintf(f->labels[i], sizeof(f->labels[i]), "%s", d->labels[i]);
	f->max_series = d->n_labels > 0 ? d->max_series : 1;
	f->n_bounds = d->n_buckets;
	if (d->n_buckets > 0)
		memcpy(f->bounds, d->buckets, d->n_buckets * sizeof(double));
	if (d->n_labels == 0) {
		node_metric *s = series_new(f);
		if (s == NULL) {
			fl_free(f);
			return FL_ENOMEM;
		}
		series_append(f, s);
	}
	m->families[m->n_families++] = f;
	*out = f;
	return FL_OK;
}

node_metric *node_metric_family_series0(node_metric_family *f)
{
	assert(f != NULL);
	return f->n_labels == 0 ? f->head : NULL;
}

static int same_values(const node_metric *s, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->values[i], values[i]) != 0)
			return 0;
	return 1;
}

int node_metric_family_series(node_metric_family *f, node_metric **out, const char *const *values)
{
	node_metric *s;

	assert(f != NULL && out != NULL && values != NULL && f->n_labels > 0);
	*out = NULL;
	for (size_t i = 0; i < f->n_labels; i++)
		if (values[i] == NULL || !text_ok(values[i], NODE_METRICS_VALUE_MAX))
			return FL_EINVAL;
	/* Tens of series at most: a scan beats a hash table here. */
	for (s = f->head; s != NULL; s = s->next)
		if (same_values(s, values, f->n_labels)) {
			*out = s;
			return FL_OK;
		}
	if (f->n_series < f->max_series) {
		if ((s = series_new(f)) == NULL)
			return FL_ENOMEM;
		for (size_t i = 0; i < f->n_labels; i++)
			snprintf(s->values[i], sizeof(s->values[i]), "%s", values[i]);
		series_append(f, s);
		*out = s;
		return FL_OK;
	}
	if (f->overflow == NULL) {
		if ((f->overflow = series_new(f)) == NULL)
			return FL_ENOMEM;
		for (size_t i = 0; i < f->n_labels; i++)
			snprintf(f->overflow->values[i], sizeof(f->overflow->values[i]), "%s",
				 NODE_METRICS_OVERFLOW);
	}
	*out = f->overflow;
	return FL_OK;
}

void node_metric_family_remove(node_metric_family *f, const char *const *values)
{
	node_metric *s, *prev = NULL;

	assert(f != NULL && values != NULL && f->n_labels > 0);
	for (s = f->head; s != NULL; prev = s, s = s->next) {
		if (!same_values(s, values, f->n_labels))
			continue;
		if (prev != NULL)
			prev->next = s->next;
		else
			f->head = s->next;
		if (f->tail == s)
			f->tail = prev;
		f->n_series--;
		fl_free(s);
		return;
	}
}

/* ------------------------------------------------------------ values */

void node_metric_add(node_metric *s, double v)
{
	assert(s != NULL && s->family->type != NODE_METRIC_HISTOGRAM);
	if (s->family->type == NODE_METRIC_COUNTER && !(v >= 0))
		return;
	s->value += v;
}

void node_metric_set(node_metric *s, double v)
{
	assert(s != NULL && s->family->type == NODE_METRIC_GAUGE);
	s->value = v;
}

void node_metric_observe(node_metric *s, double v)
{
	const node_metric_family *f;
	size_t i = 0;

	assert(s != NULL && s->family->type == NODE_METRIC_HISTOGRAM);
	if (isnan(v))
		return;
	f = s->family;
	while (i < f->n_bounds && v > f->bounds[i])
		i++;
	s->buckets[i]++;
	s->count++;
	s->sum += v;
}

double node_metric_value(const node_metric *s)
{
	assert(s != NULL);
	return s->family->type == NODE_METRIC_HISTOGRAM ? (double)s->count : s->value;
}

/* ------------------------------------------------------------ render */

static void fmt_number(char out[32], double v)
{
	if (isnan(v)) {
		snprintf(out, 32, "NaN");
	} else if (isinf(v)) {
		snprintf(out, 32, "%s", v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(out, 32, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, 32, "%.17g", v);
	}
}

static void put(fl_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(fl_writer *w, const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert(n >= 0 && (size_t)n < sizeof(line));
	(void)fl_write_fixed(w, line, (size_t)n);
}

/* {a="x",b="y"} with an optional last pair (le), or "" without labels. */
static void labels(char *out, size_t cap, const node_metric *s, const char *le)
{
	const node_metric_family *f = s->family;
	size_t len = 0;

	out[0] = '\0';
	if (f->n_labels == 0 && le == NULL)
		return;
	out[len++] = '{';
	for (size_t i = 0; i < f->n_labels; i++) {
		len +=
		    (size_t)snprintf(out + len, cap - len, "%s%s=\"", i ? "," : "", f->labels[i]);
		/* Values are printable ASCII (checked): only \ and " escape. */
		for (const char *c = s->values[i]; *c != '\0'; c++) {
			if (*c == '\\' || *c == '"')
				out[len++] = '\\';
			out[len++] = *c;
		}
		out[len++] = '"';
	}
	if (le != NULL)
		len += (size_t)snprintf(out + len, cap - len, "%sle=\"%s\"", f->n_labels ? "," : "",
					le);
	out[len++] = '}';
	out[len] = '\0';
	assert(len < cap);
}

static void render_series(fl_writer *w, const node_metric *s)
{
	const node_metric_family *f = s->family;
	char lab[LINE_MAX_BYTES / 2], num[32], le[32];
	uint64_t cum = 0;

	if (f->type != NODE_METRIC_HISTOGRAM) {
		labels(lab, sizeof(lab), s, NULL);
		fmt_number(num, s->value);
		put(w, "%s%s %s\n", f->name, lab, num);
		return;
	}
	for (size_t i = 0; i <= f->n_bounds; i++) {
		cum += s->buckets[i];
		if (i < f->n_bounds)
			fmt_number(le, f->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		labels(lab, sizeof(lab), s, le);
		put(w, "%s_bucket%s %llu\n", f->name, lab, (unsigned long long)cum);
	}
	labels(lab, sizeof(lab), s, NULL);
	fmt_number(num, s->sum);
	put(w, "%s_sum%s %s\n", f->name, lab, num);
	put(w, "%s_count%s %llu\n", f->name, lab, (unsigned long long)s->count);
}

static const char *const type_names[] = {"counter", "gauge", "histogram"};

int node_metrics_render(const node_metrics *m, char **out, size_t *n)
{
	fl_writer w;
	int rc;

	assert(m != NULL && out != NULL && n != NULL);
	*out = NULL;
	*n = 0;
	fl_writer_init(&w, 0);
	for (size_t i = 0; i < m->n_families; i++) {
		const node_metric_family *f = m->families[i];

		char help[2 * NODE_METRICS_HELP_MAX + 1];
		size_t len = 0;

		/* HELP text is printable ASCII (checked): only \ escapes. */
		for (const char *c = f->help; *c != '\0'; c++) {
			if (*c == '\\')
				help[len++] = '\\';
			help[len++] = *c;
		}
		help[len] = '\0';
		put(&w, "# HELP %s %s\n# TYPE %s %s\n", f->name, help, f->name,
		    type_names[f->type]);
		for (const node_metric *s = f->head; s != NULL; s = s->next)
			render_series(&w, s);
		if (f->overflow != NULL)
			render_series(&w, f->overflow);
	}
	(void)fl_write_u8(&w, 0);
	if ((rc = fl_writer_finish(&w)) != FL_OK) {
		fl_writer_free(&w);
		return rc;
	}
	*out = (char *)w.buf;
	*n = w.len - 1;
	return FL_OK;
}
