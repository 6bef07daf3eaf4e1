/*
 * tests/tools/test_sim_profile.c — a node's share is fedledger-sim's share:
 * for several (clients, client, seed, max_samples, split, labels) settings,
 * node_round_data_load's indices equal sim_client_share's, sample for
 * sample, because both run fl_dataset_restrict, the same partition and
 * fl_partition_cap (fl/share.c). And the real binary's --profile-labels
 * trains and tests on those labels only.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/round_data.h"
#include "tests/tools/helpers.h"
#include "tools/sim.h"

typedef struct {
	uint32_t clients, client;
	uint64_t seed;
	uint32_t max_samples;
	node_partition_kind partition;
	uint32_t alpha_milli, labels_k;
	const char *alpha; /* --alpha as sim's command line gives it */
	size_t n_labels;
	uint16_t labels[10];
} setting;

static const setting settings[] = {
    {4, 1, 3, 500, NODE_PARTITION_IID, 0, 0, "0.5", 7, {0, 1, 2, 3, 4, 6, 8}},
    {5, 4, 11, 0, NODE_PARTITION_DIRICHLET, 300, 0, "0.3", 3, {5, 7, 9}},
    {6, 2, 2, 200, NODE_PARTITION_LABELS, 0, 2, "0.5", 4, {0, 2, 4, 6}},
    {3, 0, 1, 1000, NODE_PARTITION_DIRICHLET, 500, 0, "0.5", 0, {0}},
};

/* The fedledger-sim flags of a setting, as a sim_config. */
static void sim_config_of(sim_config *sc, const setting *s)
{
	sim_config_default(sc);
	sc->clients = s->clients;
	sc->rounds = 1;
	sc->threads = 1;
	sc->seed = s->seed;
	sc->max_samples = s->max_samples;
	sc->split = s->partition == NODE_PARTITION_IID      ? SIM_SPLIT_IID
		    : s->partition == NODE_PARTITION_LABELS ? SIM_SPLIT_LABELS
							    : SIM_SPLIT_DIRICHLET;
	sc->alpha = strtod(s->alpha, NULL); /* as sim parses --alpha */
	sc->labels = s->labels_k;
	sc->n_profile_labels = s->n_labels;
	memcpy(sc->profile_labels, s->labels, s->n_labels * sizeof(s->labels[0]));
}

static void config_of(node_config_data *c, const setting *s, uint32_t client)
{
	node_config_data_default(c);
	snprintf(c->profile, sizeof(c->profile), "p");
	c->clients = s->clients;
	c->client = client;
	c->seed = s->seed;
	c->max_samples = s->max_samples;
	c->partition = s->partition;
	if (s->partition == NODE_PARTITION_DIRICHLET)
		c->alpha_milli = s->alpha_milli;
	if (s->partition == NODE_PARTITION_LABELS)
		c->labels_k = s->labels_k;
}

Test(sim_profile, node_share_equals_sim_client_share, .timeout = 300)
{
	char err[NODE_CONFIG_ERR_MAX];

	fl_log_set_level(FL_LOG_OFF);
	for (size_t k = 0; k < FL_ARRAY_LEN(settings); k++) {
		const setting *s = &settings[k];
		sim_config sc;
		sim_error serr;
		sim *sm = NULL;

		sim_config_of(&sc, s);
		cr_assert_eq(sim_new(&sm, &sc, &serr), FL_OK, "setting %zu: %s", k, serr.msg);
		/* The setting's client, and the last one, whose list sees the
		 * partition's remainders. */
		uint32_t clients[2] = {s->client, s->clients - 1};
		for (size_t j = 0; j < 2; j++) {
			node_config_data c;
			node_round_data d;
			const uint32_t *idx;
			size_t n;

			config_of(&c, s, clients[j]);
			cr_assert_eq(node_round_data_load(&d, &c, NULL, s->labels, s->n_labels, 10,
							  err, sizeof(err)),
				     FL_OK, "setting %zu: %s", k, err);
			sim_client_share(sm, clients[j], &idx, &n);
			cr_assert_eq(d.train.n, sim_train_samples(sm), "setting %zu", k);
			cr_assert_eq(d.test.n, sim_test_samples(sm), "setting %zu", k);
			cr_assert_eq(d.n, n, "setting %zu client %u: node %zu, sim %zu", k,
				     clients[j], d.n, n);
			cr_assert_gt(n, 0);
			cr_assert_eq(memcmp(d.idx, idx, n * sizeof(*idx)), 0,
				     "setting %zu client %u: the shares differ", k, clients[j]);
			for (size_t i = 1; i < n; i++)
				cr_assert_gt(idx[i], idx[i - 1]);
			if (s->max_samples > 0)
				cr_assert_leq(n, s->max_samples);
			node_round_data_free(&d);
		}
		sim_free(sm);
	}
}

static test_run run;

Test(sim_profile, the_binary_reports_only_the_profile_labels, .timeout = 120)
{
	const char *line, *p;
	int seen[10] = {0};

	RUN_SIM(&run, "--clients", "3", "--rounds", "1", "--model", "784-16-10", "--max-samples",
		"100", "--threads", "1", "--profile-labels", "8,0,1,2,3,4,6");
	cr_assert_eq(run.status, 0, "status %d: %s", run.status, run.err);
	cr_assert_not_null(strstr(run.out, "data 42000 training / 7000 test samples"), "%s",
			   run.out);
	line = strstr(run.out, "labels (training/test samples):");
	cr_assert_not_null(line, "%s", run.out);
	p = line + strlen("labels (training/test samples):");
	while (*p != '\n' && *p != '\0') {
		unsigned label, train, test;
		int used = 0;
		cr_assert_eq(sscanf(p, " %u %u/%u%n", &label, &train, &test, &used), 3, "at: %s",
			     p);
		cr_assert_lt(label, 10);
		cr_assert_eq(train, 6000);
		cr_assert_eq(test, 1000);
		seen[label] = 1;
		p += used;
		if (*p == ',')
			p++;
	}
	for (int l = 0; l < 10; l++)
		cr_assert_eq(seen[l], l != 5 && l != 7 && l != 9, "label %d", l);
	cr_assert_not_null(strstr(run.out, "final model "));
}

Test(sim_profile, bad_profile_labels_exit_2_naming_the_option)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
	    {"", "--profile-labels: must be labels like 0,1,2"},
	    {"0,,1", "--profile-labels: must be labels like 0,1,2"},
	    {"0,1,", "--profile-labels: must be labels like 0,1,2"},
	    {"a", "--profile-labels: label 'a' is not 0 to 255"},
	    {"256", "--profile-labels: label '256' is not 0 to 255"},
	    {"-1", "--profile-labels: label '-1'"},
	    {"3,1,3", "--profile-labels: label 3 given twice"},
	    {"1,12", "--profile-labels: label 12, but the data has 10 classes"},
	};

	for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
		RUN_SIM(&run, "--clients", "3", "--rounds", "1", "--profile-labels",
			cases[i].value);
		tool_assert_one_line_failure(&run, 2, cases[i].want);
	}
}

Test(sim_profile, help_names_the_option)
{
	RUN_SIM(&run, "--help");
	cr_assert_eq(run.status, 0);
	cr_assert_not_null(strstr(run.out, "--profile-labels L"));
}
