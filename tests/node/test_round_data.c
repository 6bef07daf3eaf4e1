/*
 * tests/node/test_round_data.c — a member's data and share for a profile
 * (node/round_data.h): Fashion-MNIST restricted to a profile's labels, IDX
 * and CSV files written here, and every failure naming the config field.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/round_data.h"

static const uint16_t CLOTHING[] = {0, 1, 2, 3, 4, 6, 8};
static char err[NODE_CONFIG_ERR_MAX];
static char home[] = "/tmp/fedledger-round-data-XXXXXX";

static void make_home(void)
{
	cr_assert_not_null(mkdtemp(home));
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/data", home);
	cr_assert_eq(mkdir(sub, 0700), 0);
}

static void remove_home(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	cr_assert_eq(system(cmd), 0);
}

static void set(char *field, size_t size, const char *value)
{
	cr_assert_lt(strlen(value), size);
	memset(field, 0, size);
	memcpy(field, value, strlen(value));
}

static int in_clothing(uint16_t y)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(CLOTHING); i++)
		if (CLOTHING[i] == y)
			return 1;
	return 0;
}

static void write_file(const char *rel, const void *p, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", home, rel);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* n 2x2 images, pixel k of image i = i + k; labels i % classes. */
static void write_idx(const char *images, const char *labels, uint32_t n, uint32_t classes)
{
	uint8_t img[16 + 4 * 64], lab[8 + 64];

	cr_assert_leq(n, 64);
	put_be32(img, 0x803);
	put_be32(img + 4, n);
	put_be32(img + 8, 2);
	put_be32(img + 12, 2);
	put_be32(lab, 0x801);
	put_be32(lab + 4, n);
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t k = 0; k < 4; k++)
			img[16 + 4 * i + k] = (uint8_t)(i + k);
		lab[8 + i] = (uint8_t)(i % classes);
	}
	write_file(images, img, 16 + 4 * n);
	write_file(labels, lab, 8 + n);
}

static void check_share(const node_round_data *d, const uint16_t *labels, size_t n_labels)
{
	cr_assert_gt(d->n, 0);
	for (size_t i = 0; i < d->n; i++) {
		cr_assert_lt(d->idx[i], d->train.n);
		if (i > 0)
			cr_assert_gt(d->idx[i], d->idx[i - 1], "idx not ascending at %zu", i);
		int found = 0;
		for (size_t k = 0; k < n_labels; k++)
			found |= d->train.y[d->idx[i]] == labels[k];
		cr_assert(found, "label %u outside the profile", d->train.y[d->idx[i]]);
	}
	cr_assert_eq(d->summary.n, d->n);
}

Test(round_data, fashion_mnist_share_of_a_profile)
{
	node_config_data c;
	node_round_data d;
	node_round_share share;
	chain_tx_round_join join;
	chain_profile p;
	uint64_t sum = 0;

	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "clothing");
	c.clients = 4;
	c.client = 1;
	c.seed = 3;
	c.max_samples = 500;
	cr_assert_eq(node_round_data_load(&d, &c, "/nonexistent-home", CLOTHING,
					  FL_ARRAY_LEN(CLOTHING), 10, err, sizeof(err)),
		     FL_OK, "%s", err);
	/* 7 labels of 6000 training and 1000 test images each. */
	cr_assert_eq(d.train.n, 42000);
	cr_assert_eq(d.test.n, 7000);
	for (size_t i = 0; i < d.train.n; i++)
		cr_assert(in_clothing(d.train.y[i]));
	for (size_t i = 0; i < d.test.n; i++)
		cr_assert(in_clothing(d.test.y[i]));
	cr_assert_eq(d.n, 500);
	check_share(&d, CLOTHING, FL_ARRAY_LEN(CLOTHING));
	cr_assert_eq(
	    d.summary.label_counts[5] + d.summary.label_counts[7] + d.summary.label_counts[9], 0);
	cr_assert_eq(d.seed, 3);
	cr_assert_eq(d.client, 1);

	node_round_data_share(&d, &share);
	cr_assert_eq(share.d, &d.train);
	cr_assert_eq(share.idx, d.idx);
	cr_assert_eq(share.n, 500);
	cr_assert_eq(share.seed, 3);
	cr_assert_eq(share.client, 1);

	memset(&p, 0, sizeof(p));
	set(p.id, sizeof(p.id), "clothing");
	p.n_labels = FL_ARRAY_LEN(CLOTHING);
	memcpy(p.labels, CLOTHING, sizeof(CLOTHING));
	node_round_data_join(&d, &p, &join);
	cr_assert_str_eq(join.profile, "clothing");
	cr_assert_eq(join.n_samples, 500);
	cr_assert_leq(join.n_labels, FL_ARRAY_LEN(CLOTHING));
	for (uint32_t i = 0; i < join.n_labels; i++) {
		cr_assert(in_clothing(join.labels[i]));
		if (i > 0)
			cr_assert_gt(join.labels[i], join.labels[i - 1]);
		cr_assert_gt(join.label_counts[i], 0);
		cr_assert_eq(join.label_counts[i], d.summary.label_counts[join.labels[i]]);
		sum += join.label_counts[i];
	}
	cr_assert_eq(sum, 500);
	cr_assert_eq(join.n_summary, 10);
	cr_assert_eq(join.summary[5], 0);
	cr_assert_eq(join.summary[0], (int32_t)((d.summary.label_counts[0] * 1000000 + 250) / 500));
	node_round_data_free(&d);
	node_round_data_free(&d); /* idempotent on a freed value */
}

Test(round_data, every_label_when_none_are_given_and_the_whole_share)
{
	node_config_data c;
	node_round_data d;

	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "all");
	c.partition = NODE_PARTITION_LABELS;
	c.labels_k = 2;
	c.clients = 10;
	c.client = 9;
	cr_assert_eq(node_round_data_load(&d, &c, NULL, NULL, 0, 10, err, sizeof(err)), FL_OK, "%s",
		     err);
	cr_assert_eq(d.train.n, 60000);
	cr_assert_eq(d.test.n, 10000);
	cr_assert_eq(d.n, 6000, "labels split of 10 clients: 6000 each");
	for (size_t i = 1; i < d.n; i++)
		cr_assert_gt(d.idx[i], d.idx[i - 1]);
	node_round_data_free(&d);
}

Test(round_data, idx_files_relative_to_the_home, .init = make_home, .fini = remove_home)
{
	static const uint16_t labels[] = {1, 3};
	node_config_data c;
	node_round_data d;

	write_idx("data/train-images.idx", "data/train-labels.idx", 40, 4);
	write_idx("data/test-images.idx", "data/test-labels.idx", 8, 4);
	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "digits");
	c.source = NODE_DATA_IDX;
	set(c.train, sizeof(c.train), "data/train-images.idx");
	set(c.train_labels, sizeof(c.train_labels), "data/train-labels.idx");
	set(c.test, sizeof(c.test), "data/test-images.idx");
	set(c.test_labels, sizeof(c.test_labels), "data/test-labels.idx");
	c.clients = 2;
	c.client = 0;
	cr_assert_eq(node_round_data_load(&d, &c, home, labels, 2, 4, err, sizeof(err)), FL_OK,
		     "%s", err);
	cr_assert_eq(d.train.n, 20); /* labels 1 and 3 of 40 samples cycling 0..3 */
	cr_assert_eq(d.train.dim, 4);
	cr_assert_eq(d.test.n, 4);
	cr_assert_eq(d.n, 10);
	check_share(&d, labels, 2);
	/* Restricted in order: the first kept sample is sample 1 (label 1). */
	cr_assert_eq(d.train.y[0], 1);
	cr_assert_float_eq(d.train.x[0], 1.0f / 255, 1e-7);
	node_round_data_free(&d);

	/* No test set configured: an empty one of the same shape. */
	memset(c.test, 0, sizeof(c.test));
	memset(c.test_labels, 0, sizeof(c.test_labels));
	cr_assert_eq(node_round_data_load(&d, &c, home, labels, 2, 4, err, sizeof(err)), FL_OK,
		     "%s", err);
	cr_assert_eq(d.test.n, 0);
	cr_assert_eq(d.test.dim, 4);
	node_round_data_free(&d);
}

Test(round_data, csv_file_with_a_dirichlet_split, .init = make_home, .fini = remove_home)
{
	static const uint16_t labels[] = {0, 2};
	char text[4096];
	size_t len = 0;
	node_config_data c;
	node_round_data d;
	char abs[200];

	len += (size_t)snprintf(text + len, sizeof(text) - len, "label,a,b,c\n");
	for (int i = 0; i < 60; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%d,%d,%d.5,-%d\n", i % 3,
					i, i, i);
	write_file("data/tab.csv", text, len);
	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "tab");
	c.source = NODE_DATA_CSV;
	/* An absolute path is taken as it is, whatever the home. */
	snprintf(abs, sizeof(abs), "%s/data/tab.csv", home);
	set(c.train, sizeof(c.train), abs);
	set(c.test, sizeof(c.test), "data/tab.csv");
	c.partition = NODE_PARTITION_DIRICHLET;
	c.alpha_milli = 1000;
	c.clients = 3;
	c.client = 2;
	c.seed = 7;
	cr_assert_eq(node_round_data_load(&d, &c, home, labels, 2, 3, err, sizeof(err)), FL_OK,
		     "%s", err);
	cr_assert_eq(d.train.n, 40);
	cr_assert_eq(d.train.dim, 3);
	cr_assert_eq(d.test.n, 40);
	check_share(&d, labels, 2);
	node_round_data_free(&d);
}

/* A failure: rc < 0, err starting with want, *out left empty. */
static void assert_fails(const node_config_data *c, const char *home_dir, const uint16_t *labels,
			 size_t n_labels, uint32_t classes, const char *want)
{
	node_round_data d;
	int rc;

	memset(&d, 0x5a, sizeof(d));
	rc = node_round_data_load(&d, c, home_dir, labels, n_labels, classes, err, sizeof(err));
	cr_assert_lt(rc, 0, "accepted; want %s", want);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "got: %s\nwant: %s", err, want);
	cr_assert_null(strchr(err, '\n'));
	cr_assert_null(d.idx);
	cr_assert_null(d.train.x);
	cr_assert_eq(d.n, 0);
}

Test(round_data, bad_paths_and_settings_name_the_field, .init = make_home, .fini = remove_home)
{
	static const uint16_t one[] = {1}, big[] = {12};
	node_config_data c;

	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "clothing");
	set(c.dir, sizeof(c.dir), "no-such-dir");
	assert_fails(&c, home, NULL, 0, 10, "rounds.data[clothing].dir: cannot load Fashion-MNIST");

	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "clothing");
	assert_fails(&c, home, NULL, 0, 12,
		     "rounds.data[clothing].source: fashion-mnist has 10 classes");
	assert_fails(&c, home, big, 1, 10, "rounds.data[clothing].profile: label 12");

	write_idx("data/tr.idx", "data/trl.idx", 12, 3);
	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "digits");
	c.source = NODE_DATA_IDX;
	set(c.train, sizeof(c.train), "data/missing.idx");
	set(c.train_labels, sizeof(c.train_labels), "data/trl.idx");
	assert_fails(&c, home, NULL, 0, 3, "rounds.data[digits].train: cannot load IDX");
	set(c.train, sizeof(c.train), "data/tr.idx");
	set(c.train_labels, sizeof(c.train_labels), "data/missing.idx");
	assert_fails(&c, home, NULL, 0, 3, "rounds.data[digits].train_labels: cannot load IDX");
	set(c.train_labels, sizeof(c.train_labels), "data/trl.idx");
	set(c.test, sizeof(c.test), "data/tr.idx");
	set(c.test_labels, sizeof(c.test_labels), "data/missing.idx");
	assert_fails(&c, home, NULL, 0, 3, "rounds.data[digits].test_labels: cannot load IDX");
	memset(c.test, 0, sizeof(c.test));
	memset(c.test_labels, 0, sizeof(c.test_labels));
	/* Labels 0..2 cycle: a label the model cannot output is corrupt data. */
	assert_fails(&c, home, NULL, 0, 2, "rounds.data[digits].train: cannot load IDX");

	/* 4 samples of label 1: more clients than samples. */
	c.clients = 5;
	c.client = 4;
	assert_fails(&c, home, one, 1, 3, "rounds.data[digits].clients: partitioning 4 samples");
	c.clients = 2;
	c.client = 0;
	c.partition = NODE_PARTITION_LABELS;
	c.labels_k = 4;
	assert_fails(&c, home, NULL, 0, 3, "rounds.data[digits].labels_k: 4 labels per client");

	write_file("data/bad.csv", "0,1,2\n1,x,3\n", 12);
	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "tab");
	c.source = NODE_DATA_CSV;
	set(c.train, sizeof(c.train), "data/bad.csv");
	assert_fails(&c, home, NULL, 0, 2, "rounds.data[tab].train: cannot load CSV");
	write_file("data/good.csv", "0,1,2\n1,2,3\n", 12);
	set(c.train, sizeof(c.train), "data/good.csv");
	set(c.test, sizeof(c.test), "data/none.csv");
	assert_fails(&c, home, NULL, 0, 2, "rounds.data[tab].test: cannot load CSV");
}

/* A member whose data holds only some labels: its share is of the labels
 * it has among the profile's, and its join declares only those. */
Test(round_data, the_members_own_labels_narrow_the_profiles)
{
	static const uint16_t mine[] = {1, 5, 6}; /* 5 is not clothing's */
	node_config_data c;
	node_round_data d;
	chain_tx_round_join join;
	chain_profile p;

	node_config_data_default(&c);
	set(c.profile, sizeof(c.profile), "clothing");
	c.n_labels = FL_ARRAY_LEN(mine);
	memcpy(c.labels, mine, sizeof(mine));
	c.clients = 2;
	c.max_samples = 300;
	cr_assert_eq(node_round_data_load(&d, &c, "/nonexistent-home", CLOTHING,
					  FL_ARRAY_LEN(CLOTHING), 10, err, sizeof(err)),
		     FL_OK, "%s", err);
	cr_assert_eq(d.train.n, 12000);
	cr_assert_eq(d.test.n, 2000);
	for (size_t i = 0; i < d.train.n; i++)
		cr_assert(d.train.y[i] == 1 || d.train.y[i] == 6);
	cr_assert_eq(d.n, 300);
	memset(&p, 0, sizeof(p));
	set(p.id, sizeof(p.id), "clothing");
	p.n_labels = FL_ARRAY_LEN(CLOTHING);
	memcpy(p.labels, CLOTHING, sizeof(CLOTHING));
	node_round_data_join(&d, &p, &join);
	cr_assert_eq(join.n_labels, 2);
	cr_assert_eq(join.labels[0], 1);
	cr_assert_eq(join.labels[1], 6);
	node_round_data_free(&d);

	/* None of the profile's: not a share at all, and the field is named. */
	c.n_labels = 1;
	c.labels[0] = 5;
	cr_assert_neq(node_round_data_load(&d, &c, "/nonexistent-home", CLOTHING,
					   FL_ARRAY_LEN(CLOTHING), 10, err, sizeof(err)),
		      FL_OK);
	cr_assert(strstr(err, "labels") != NULL, "%s", err);
}
