/*
 * node/config_rounds.c — config.json's rounds.data: the member's local data
 * per profile, read and written. Every key applies to one source or one
 * partition, and a key given where it does not apply is refused rather than
 * ignored: "train" next to source "fashion-mnist" is a mistake about which
 * files are used, and the node must not train on something else quietly.
 */
#include "node/config_internal.h"

#include "fl/fl.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PATH_LEN 96 /* "rounds.data[7].train_labels" */

static const char *const source_names[] = {"fashion-mnist", "idx", "csv"};
static const char *const partition_names[] = {"iid", "dirichlet", "labels"};

/* The keys of an entry, in the order they are read, written and documented. */
static const char *const entry_keys[] = {"profile",      "source",      "dir",         "train",
					 "train_labels", "test",        "test_labels", "partition",
					 "alpha_milli",  "labels_k",    "clients",     "client",
					 "seed",         "max_samples", "labels",      NULL};

void node_config_data_default(node_config_data *d)
{
	assert(d != NULL);
	memset(d, 0, sizeof(*d));
	d->source = NODE_DATA_FASHION_MNIST;
	snprintf(d->dir, sizeof(d->dir), "%s", FL_FASHION_MNIST_DIR);
	d->partition = NODE_PARTITION_IID;
	d->alpha_milli = 500; /* fedledger-sim's --alpha default */
	d->labels_k = 2;
	d->clients = 1;
	d->seed = 1;
}

/* Whether key may be given for an entry with this source and partition. */
static int key_applies(const char *key, const node_config_data *d)
{
	if (strcmp(key, "dir") == 0)
		return d->source == NODE_DATA_FASHION_MNIST;
	if (strcmp(key, "train") == 0 || strcmp(key, "test") == 0)
		return d->source != NODE_DATA_FASHION_MNIST;
	if (strcmp(key, "train_labels") == 0 || strcmp(key, "test_labels") == 0)
		return d->source == NODE_DATA_IDX;
	if (strcmp(key, "alpha_milli") == 0)
		return d->partition == NODE_PARTITION_DIRICHLET;
	if (strcmp(key, "labels_k") == 0)
		return d->partition == NODE_PARTITION_LABELS;
	return 1;
}

static const char *applies_to(const char *key)
{
	if (strcmp(key, "dir") == 0)
		return "source \"fashion-mnist\"";
	if (strcmp(key, "train") == 0 || strcmp(key, "test") == 0)
		return "source \"idx\" or \"csv\"";
	if (strcmp(key, "train_labels") == 0 || strcmp(key, "test_labels") == 0)
		return "source \"idx\"";
	if (strcmp(key, "alpha_milli") == 0)
		return "partition \"dirichlet\"";
	return "partition \"labels\"";
}

/* A path field: printable ASCII, 1..NODE_CONFIG_DATA_PATH_MAX chars. */
static int read_path(const node__config_reader *r, const char *at, const json_t *v, char *out)
{
	return node__config_read_string(r, at, v, 1, NODE_CONFIG_DATA_PATH_MAX, out);
}

static int read_u32(const node__config_reader *r, const char *at, const json_t *v, uint64_t min,
		    uint64_t max, uint32_t *out)
{
	uint64_t x;
	int rc = node__config_read_uint(r, at, v, min, max, &x);

	if (rc == FL_OK)
		*out = (uint32_t)x;
	return rc;
}

/* "labels": 1..CHAIN_MAX_LABELS label ids, strictly increasing. */
static int read_labels(const node__config_reader *r, const char *at, const json_t *v,
		       node_config_data *d)
{
	char el[PATH_LEN + 8];
	size_t n;
	int rc;

	if ((rc = node__config_read_array(r, at, v, CHAIN_MAX_LABELS, &n)) != FL_OK)
		return rc;
	if (n == 0)
		return node__config_fail(r, FL_EINVAL, at,
					 "must list at least one label (leave it out for all)");
	for (size_t i = 0; i < n; i++) {
		uint64_t x;
		snprintf(el, sizeof(el), "%.80s[%zu]", at, i);
		if ((rc = node__config_read_uint(r, el, json_array_get(v, i), 0, UINT16_MAX, &x)) !=
		    FL_OK)
			return rc;
		if (i > 0 && x <= d->labels[i - 1])
			return node__config_fail(r, FL_EINVAL, el,
						 "labels must be strictly increasing");
		d->labels[i] = (uint16_t)x;
	}
	d->n_labels = (uint32_t)n;
	return FL_OK;
}

/* One entry's value for key (present in obj) into d. */
static int read_key(const node__config_reader *r, const char *at, const char *key, const json_t *v,
		    node_config_data *d)
{
	int e = 0, rc;

	if (strcmp(key, "profile") == 0) {
		if ((rc = node__config_read_string(r, at, v, 1, CHAIN_PROFILE_ID_MAX, d->profile)))
			return rc;
		if (!chain_id_valid(d->profile, CHAIN_PROFILE_ID_MAX))
			return node__config_fail(r, FL_EINVAL, at,
						 "expected a profile id ([a-z0-9._-]), got \"%s\"",
						 d->profile);
		return FL_OK;
	}
	if (strcmp(key, "source") == 0 || strcmp(key, "partition") == 0) {
		int source = key[0] == 's';
		rc = node__config_read_enum(r, at, v, key, source ? source_names : partition_names,
					    3, &e);
		if (rc != FL_OK)
			return rc;
		if (source)
			d->source = (node_data_source)(e + 1);
		else
			d->partition = (node_partition_kind)(e + 1);
		return FL_OK;
	}
	if (strcmp(key, "dir") == 0)
		return read_path(r, at, v, d->dir);
	if (strcmp(key, "train") == 0)
		return read_path(r, at, v, d->train);
	if (strcmp(key, "train_labels") == 0)
		return read_path(r, at, v, d->train_labels);
	if (strcmp(key, "test") == 0)
		return read_path(r, at, v, d->test);
	if (strcmp(key, "test_labels") == 0)
		return read_path(r, at, v, d->test_labels);
	/* Dirichlet(alpha) needs alpha > 0; 1000000 (alpha 1000) is already
	 * an IID split. */
	if (strcmp(key, "alpha_milli") == 0)
		return read_u32(r, at, v, 1, 1000000, &d->alpha_milli);
	if (strcmp(key, "labels_k") == 0)
		return read_u32(r, at, v, 1, FL_MAX_CLASSES, &d->labels_k);
	if (strcmp(key, "clients") == 0)
		return read_u32(r, at, v, 1, NODE_CONFIG_CLIENTS_MAX, &d->clients);
	if (strcmp(key, "client") == 0)
		return read_u32(r, at, v, 0, NODE_CONFIG_CLIENTS_MAX - 1, &d->client);
	/* At most 2^63 - 1: a JSON writer (jansson's json_int_t) holds it. */
	if (strcmp(key, "seed") == 0)
		return node__config_read_uint(r, at, v, 0, INT64_MAX, &d->seed);
	if (strcmp(key, "max_samples") == 0)
		return read_u32(r, at, v, 0, UINT32_MAX, &d->max_samples);
	assert(strcmp(key, "labels") == 0);
	return read_labels(r, at, v, d);
}

/* The rules between an entry's fields, once each has passed its own. */
static int check_entry(const node__config_reader *r, const char *path, const json_t *obj,
		       const node_config_data *d)
{
	char at[PATH_LEN];

	if (d->profile[0] == '\0')
		return node__config_fail(r, FL_EINVAL, path, "\"profile\" is required");
	for (size_t k = 0; entry_keys[k] != NULL; k++) {
		if (json_object_get(obj, entry_keys[k]) != NULL && !key_applies(entry_keys[k], d)) {
			snprintf(at, sizeof(at), "%.60s.%s", path, entry_keys[k]);
			return node__config_fail(r, FL_EINVAL, at, "only for %s",
						 applies_to(entry_keys[k]));
		}
	}
	if (d->source != NODE_DATA_FASHION_MNIST && d->train[0] == '\0') {
		snprintf(at, sizeof(at), "%.60s.train", path);
		return node__config_fail(r, FL_EINVAL, at, "required for source \"%s\"",
					 source_names[d->source - 1]);
	}
	if (d->source == NODE_DATA_IDX && (d->train_labels[0] == '\0') != (d->train[0] == '\0')) {
		snprintf(at, sizeof(at), "%.60s.train_labels", path);
		return node__config_fail(r, FL_EINVAL, at,
					 "required with train for source \"idx\"");
	}
	if (d->source == NODE_DATA_IDX && (d->test_labels[0] == '\0') != (d->test[0] == '\0')) {
		snprintf(at, sizeof(at), "%.60s.%s", path, d->test[0] ? "test_labels" : "test");
		return node__config_fail(r, FL_EINVAL, at,
					 "test and test_labels go together for source \"idx\"");
	}
	if (d->client >= d->clients) {
		snprintf(at, sizeof(at), "%.60s.client", path);
		return node__config_fail(r, FL_EINVAL, at,
					 "must be < clients (%" PRIu32 "), got %" PRIu32,
					 d->clients, d->client);
	}
	return FL_OK;
}

static int read_entry(const node__config_reader *r, const char *path, const json_t *obj,
		      node_config_data *d)
{
	char at[PATH_LEN];
	int rc;

	node_config_data_default(d);
	if ((rc = node__config_check_object(r, path, obj, entry_keys)) != FL_OK)
		return rc;
	/* In entry_keys' order, so source and partition are known before the
	 * keys that depend on them are checked. */
	for (size_t k = 0; entry_keys[k] != NULL; k++) {
		const json_t *v = json_object_get(obj, entry_keys[k]);
		if (v == NULL)
			continue;
		snprintf(at, sizeof(at), "%.60s.%s", path, entry_keys[k]);
		if ((rc = read_key(r, at, entry_keys[k], v, d)) != FL_OK)
			return rc;
	}
	return check_entry(r, path, obj, d);
}

int node__config_read_data(const node__config_reader *r, const char *path, const json_t *v,
			   node_config *cfg)
{
	char at[PATH_LEN];
	size_t n;
	int rc;

	if ((rc = node__config_read_array(r, path, v, NODE_CONFIG_DATA_MAX, &n)) != FL_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		node_config_data *d = &cfg->rounds.data[i];
		snprintf(at, sizeof(at), "%.60s[%zu]", path, i);
		if ((rc = read_entry(r, at, json_array_get(v, i), d)) != FL_OK)
			return rc;
		/* One share per profile: a second entry could only contradict
		 * the first about which data the member trains on. */
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->rounds.data[j].profile, d->profile) == 0) {
				snprintf(at, sizeof(at), "%.60s[%zu].profile", path, i);
				return node__config_fail(r, FL_EINVAL, at,
							 "\"%s\" is already in %s[%zu]", d->profile,
							 path, j);
			}
		}
	}
	cfg->rounds.n_data = n;
	return FL_OK;
}

/* ------------------------------------------------------------ writing */

static void put(json_t *obj, const char *key, json_t *v, int *ok)
{
	if (v == NULL || json_object_set_new(obj, key, v) != 0)
		*ok = 0;
}

/* One entry: only the keys that apply to it, in entry_keys' order. */
static json_t *entry_json(const node_config_data *d)
{
	json_t *obj = json_object();
	int ok = obj != NULL;

	put(obj, "profile", json_string(d->profile), &ok);
	put(obj, "source", json_string(source_names[d->source - 1]), &ok);
	if (d->source == NODE_DATA_FASHION_MNIST) {
		put(obj, "dir", json_string(d->dir), &ok);
	} else {
		put(obj, "train", json_string(d->train), &ok);
		if (d->source == NODE_DATA_IDX)
			put(obj, "train_labels", json_string(d->train_labels), &ok);
		if (d->test[0] != '\0') {
			put(obj, "test", json_string(d->test), &ok);
			if (d->source == NODE_DATA_IDX)
				put(obj, "test_labels", json_string(d->test_labels), &ok);
		}
	}
	put(obj, "partition", json_string(partition_names[d->partition - 1]), &ok);
	if (d->partition == NODE_PARTITION_DIRICHLET)
		put(obj, "alpha_milli", json_integer(d->alpha_milli), &ok);
	if (d->partition == NODE_PARTITION_LABELS)
		put(obj, "labels_k", json_integer(d->labels_k), &ok);
	put(obj, "clients", json_integer(d->clients), &ok);
	put(obj, "client", json_integer(d->client), &ok);
	put(obj, "seed", json_integer((json_int_t)d->seed), &ok);
	put(obj, "max_samples", json_integer(d->max_samples), &ok);
	if (d->n_labels > 0) {
		json_t *ls = json_array();
		for (uint32_t i = 0; ls != NULL && i < d->n_labels; i++)
			if (json_array_append_new(ls, json_integer(d->labels[i])) != 0)
				ok = 0;
		put(obj, "labels", ls, &ok);
	}
	if (!ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *node__config_data_json(const node_config *cfg)
{
	json_t *arr = json_array();
	int ok = arr != NULL;

	for (size_t i = 0; ok && i < cfg->rounds.n_data; i++) {
		json_t *e = entry_json(&cfg->rounds.data[i]);
		if (e == NULL || json_array_append_new(arr, e) != 0)
			ok = 0;
	}
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
