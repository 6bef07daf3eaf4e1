/*
 * node/round_data.c — a member's data and share for a profile's rounds
 * (node/round_data.h): load, restrict to the profile's labels, partition
 * exactly as tools/sim.c does, keep this member's list.
 */
#include "node/round_data.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PATH_BYTES (NODE_CONFIG_PATH_MAX + NODE_CONFIG_DATA_PATH_MAX + 2)

typedef struct {
	const node_config_data *c;
	char *err;
	size_t errlen;
} loader;

static int fail(const loader *l, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "rounds.data[PROFILE].FIELD: message" into err; returns code. */
static int fail(const loader *l, int code, const char *field, const char *fmt, ...)
{
	char msg[NODE_CONFIG_ERR_MAX];
	va_list ap;

	if (l->err == NULL || l->errlen == 0)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "rounds.data[%s]%s%s: %s", l->c->profile, field[0] ? "." : "",
		 field, msg);
	return code;
}

/* path as given when absolute (or no home), else under home_dir. */
static void resolve(char out[PATH_BYTES], const char *home_dir, const char *path)
{
	if (path[0] == '/' || home_dir == NULL || home_dir[0] == '\0')
		snprintf(out, PATH_BYTES, "%s", path);
	else
		snprintf(out, PATH_BYTES, "%.*s/%s", NODE_CONFIG_PATH_MAX, home_dir, path);
}

/* One IDX or CSV set: images (or the CSV) at `file`, IDX labels at `labels`. */
static int load_files(const loader *l, fl_dataset *out, const char *home_dir, const char *field,
		      const char *file, const char *labels_field, const char *labels,
		      uint32_t n_classes)
{
	char path[PATH_BYTES], labels_path[PATH_BYTES];
	int rc;

	resolve(path, home_dir, file);
	if (l->c->source == NODE_DATA_CSV) {
		rc = fl_dataset_load_csv(out, path, n_classes);
		if (rc < 0)
			return fail(l, rc, field, "cannot load CSV %s: %s", path, fl_strerror(rc));
		return FL_OK;
	}
	resolve(labels_path, home_dir, labels);
	rc = fl_dataset_load_idx(out, path, labels_path, n_classes);
	if (rc < 0)
		return fail(
		    l, rc, rc == FL_ENOTFOUND && access(path, F_OK) == 0 ? labels_field : field,
		    "cannot load IDX %s with labels %s: %s", path, labels_path, fl_strerror(rc));
	return FL_OK;
}

static int load_sets(const loader *l, fl_dataset *train, fl_dataset *test, const char *home_dir,
		     uint32_t n_classes)
{
	const node_config_data *c = l->c;
	char dir[PATH_BYTES];
	int rc;

	if (c->source == NODE_DATA_FASHION_MNIST) {
		resolve(dir, home_dir, c->dir);
		rc = fl_dataset_load_fashion_mnist(train, test, dir);
		if (rc < 0)
			return fail(l, rc, "dir",
				    "cannot load Fashion-MNIST from %s: %s (it needs "
				    "{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz)",
				    dir, fl_strerror(rc));
		if (train->n_classes != n_classes)
			return fail(l, FL_EINVAL, "source",
				    "fashion-mnist has %" PRIu32
				    " classes, the profile's model %" PRIu32,
				    train->n_classes, n_classes);
		return FL_OK;
	}
	rc = load_files(l, train, home_dir, "train", c->train, "train_labels", c->train_labels,
			n_classes);
	if (rc < 0)
		return rc;
	if (c->test[0] != '\0')
		return load_files(l, test, home_dir, "test", c->test, "test_labels", c->test_labels,
				  n_classes);
	/* No test set: an empty one of the same shape. */
	memset(test, 0, sizeof(*test));
	test->dim = train->dim;
	test->n_classes = train->n_classes;
	memcpy(test->data_type, train->data_type, sizeof(test->data_type));
	return FL_OK;
}

/* fedledger-sim's partition() (tools/sim.c), for one client: the same call
 * for each split, then fl_partition_cap. */
static int take_share(const loader *l, node_round_data *out)
{
	const node_config_data *c = l->c;
	fl_partition part;
	int rc;

	memset(&part, 0, sizeof(part));
	switch (c->partition) {
	case NODE_PARTITION_IID:
		rc = fl_partition_iid(&part, &out->train, c->clients, c->seed);
		break;
	case NODE_PARTITION_LABELS:
		if (c->labels_k > out->train.n_classes)
			return fail(l, FL_EINVAL, "labels_k",
				    "%" PRIu32 " labels per client, but the data has %" PRIu32,
				    c->labels_k, out->train.n_classes);
		rc = fl_partition_labels(&part, &out->train, c->clients, c->labels_k, c->seed);
		break;
	default:
		/* Correctly rounded division: the double sim's strtod gives for
		 * the decimal ALPHA_MILLI/1000. */
		rc = fl_partition_dirichlet(&part, &out->train, c->clients,
					    (double)c->alpha_milli / 1000.0, c->seed);
		break;
	}
	if (rc < 0)
		return fail(l, rc, "clients",
			    "partitioning %zu samples over %" PRIu32 " clients: %s", out->train.n,
			    c->clients, fl_strerror(rc));
	if (part.n[c->client] == 0) {
		rc = fail(l, FL_EINVAL, "client",
			  "client %" PRIu32 " got no samples of the profile's labels; use fewer "
			  "clients",
			  c->client);
		goto cleanup;
	}
	fl_partition_cap(&part, c->client, c->max_samples, c->seed);
	/* The list is the share: taken from the partition, not copied. */
	out->idx = part.idx[c->client];
	out->n = part.n[c->client];
	part.idx[c->client] = NULL;
	rc = FL_OK;
cleanup:
	fl_partition_free(&part);
	return rc;
}

int node_round_data_load(node_round_data *out, const node_config_data *c, const char *home_dir,
			 const uint16_t *labels, size_t n_labels, uint32_t n_classes, char *err,
			 size_t errlen)
{
	loader l = {c, err, errlen};
	uint16_t mine[CHAIN_MAX_LABELS];
	fl_dataset train, test;
	int rc;

	assert(out != NULL && c != NULL && (labels != NULL || n_labels == 0));
	assert(c->clients >= 1 && c->client < c->clients);
	memset(out, 0, sizeof(*out));
	memset(&train, 0, sizeof(train));
	memset(&test, 0, sizeof(test));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	for (size_t i = 0; i < n_labels; i++)
		if (labels[i] >= n_classes)
			return fail(&l, FL_EINVAL, "profile",
				    "label %u of the profile, but the model has %" PRIu32
				    " classes",
				    labels[i], n_classes);
	if ((rc = load_sets(&l, &train, &test, home_dir, n_classes)) < 0)
		goto cleanup;
	/* The member's own labels (rounds.data[].labels) narrow the profile's. */
	if (c->n_labels > 0) {
		size_t k = 0;
		for (size_t i = 0; i < (n_labels ? n_labels : c->n_labels); i++) {
			uint16_t want = n_labels ? labels[i] : c->labels[i];
			for (uint32_t j = 0; j < c->n_labels; j++)
				if (c->labels[j] == want && want < n_classes)
					mine[k++] = want;
		}
		if (k == 0) {
			rc = fail(&l, FL_EINVAL, "labels",
				  "none of the member's labels is one of the profile's");
			goto cleanup;
		}
		labels = mine;
		n_labels = k;
	}
	if ((rc = fl_dataset_restrict(&out->train, &train, labels, n_labels)) < 0 ||
	    (rc = fl_dataset_restrict(&out->test, &test, labels, n_labels)) < 0) {
		fail(&l, rc, "profile", "keeping the profile's labels: %s", fl_strerror(rc));
		goto cleanup;
	}
	if ((rc = take_share(&l, out)) < 0)
		goto cleanup;
	if ((rc = fl_data_summarize(&out->summary, &out->train, out->idx, out->n)) < 0) {
		fail(&l, rc, "", "summarising the share: %s", fl_strerror(rc));
		goto cleanup;
	}
	out->seed = c->seed;
	out->client = c->client;

cleanup:
	fl_dataset_free(&train);
	fl_dataset_free(&test);
	if (rc < 0)
		node_round_data_free(out);
	return rc;
}

void node_round_data_free(node_round_data *d)
{
	if (d == NULL)
		return;
	fl_dataset_free(&d->train);
	fl_dataset_free(&d->test);
	fl_free(d->idx);
	memset(d, 0, sizeof(*d));
}

void node_round_data_join(const node_round_data *d, const chain_profile *p,
			  chain_tx_round_join *out)
{
	const fl_data_summary *s = &d->summary;
	uint32_t classes;

	assert(d != NULL && p != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	memcpy(out->profile, p->id, sizeof(out->profile));
	for (uint32_t i = 0; i < p->n_labels && i < CHAIN_MAX_LABELS; i++) {
		uint16_t label = p->labels[i];
		if (label >= FL_MAX_CLASSES || s->label_counts[label] == 0)
			continue;
		out->labels[out->n_labels] = label;
		out->label_counts[out->n_labels] = s->label_counts[label];
		out->n_labels++;
		out->n_samples += s->label_counts[label];
	}
	/* Integer ppm, rounded half up: every member computes the same. */
	classes = s->n_classes < CHAIN_SUMMARY_MAX ? s->n_classes : CHAIN_SUMMARY_MAX;
	out->n_summary = s->n > 0 ? classes : 0;
	for (uint32_t k = 0; k < out->n_summary; k++)
		out->summary[k] = (int32_t)((s->label_counts[k] * CHAIN_PPM + s->n / 2) / s->n);
}

void node_round_data_share(const node_round_data *d, node_round_share *out)
{
	assert(d != NULL && out != NULL);
	out->d = &d->train;
	out->idx = d->idx;
	out->n = d->n;
	out->seed = d->seed;
	out->client = d->client;
}
