/*
 * tests/node/test_round_work.c — a node's learning for rounds
 * (node/round_work.h): a profile in fl/ terms and what the node refuses,
 * round 1's base and a base from its blob, training that is a function of
 * its inputs, parity with fedledger-sim (tools/sim.h) on Fashion-MNIST with
 * and without DP, the coordinator's input checks, a validator's verdicts,
 * the clustering split and evaluation.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/round_work.h"
#include "tests/support/chain_sample.h"
#include "tools/sim.h"

#define TINY_IN      16
#define TINY_CLASSES 4

/* A profile the node runs: the sample one without server momentum, secure
 * aggregation or FedProx (fedledger-sim has no FedProx reference). */
static void runnable_profile(chain_profile *p)
{
	chain_sample_profile(p, "fashion");
	p->server_momentum_ppm = 0;
	p->secure_agg = 0;
	p->prox_mu_ppm = 0;
	p->dp_clip_ppm = 0;
	p->dp_noise_ppm = 0;
}

/* A small tabular profile 16-8-4 for the fast tests. */
static void tiny_profile(chain_profile *p)
{
	runnable_profile(p);
	snprintf(p->data_type, sizeof(p->data_type), "tabular/16");
	p->n_labels = TINY_CLASSES;
	p->model.sizes[0] = TINY_IN;
	p->model.sizes[1] = 8;
	p->model.sizes[2] = TINY_CLASSES;
	p->batch_size = 8;
	p->lr_ppm = 200000;
}

static void params_of(node_round_params *rp, const chain_profile *p)
{
	const char *field = "unset";

	cr_assert_eq(node_round_params_from_profile(rp, p, &field), FL_OK, "refused %s", field);
	cr_assert_null(field);
}

static int hash_eq(const fl_hash *a, const fl_hash *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

static void model_hash(fl_hash *h, const fl_model *m)
{
	uint8_t *blob;
	size_t n;

	cr_assert_eq(fl_blob_encode_model(&blob, &n, m), FL_OK);
	fl_sha256(h, blob, n);
	fl_free(blob);
}

/* ------------------------------------------------------------ params */

Test(round_work, params_map_every_field)
{
	chain_profile p;
	node_round_params rp;

	runnable_profile(&p);
	p.dp_clip_ppm = 1500000;
	p.dp_noise_ppm = 800000;
	p.prox_mu_ppm = 10000;
	params_of(&rp, &p);
	cr_assert_eq(rp.spec.n_layers, 2);
	cr_assert_eq(rp.spec.sizes[0], 784);
	cr_assert_eq(rp.spec.sizes[1], 32);
	cr_assert_eq(rp.spec.sizes[2], 10);
	cr_assert_eq(rp.spec.act[0], FL_ACT_RELU);
	cr_assert_eq(rp.spec.act[1], FL_ACT_NONE);
	cr_assert_eq(rp.tp.epochs, p.local_epochs);
	cr_assert_eq(rp.tp.batch, p.batch_size);
	cr_assert_eq(rp.tp.lr, 0.1f);
	cr_assert_eq(rp.tp.momentum, 0.9f);
	cr_assert_eq(rp.tp.weight_decay, 0.0001f);
	cr_assert_eq(rp.tp.prox_mu, 0.01f);
	cr_assert_eq(rp.agg.rule, FL_RULE_FEDAVG);
	cr_assert_eq(rp.agg.max_weight, p.max_samples_weight);
	cr_assert_eq(rp.agg.threads, 1);
	cr_assert_eq(rp.dp_clip, 1.5);
	cr_assert_eq(rp.dp_noise, 0.8);

	p.agg_rule = CHAIN_AGG_TRIMMED_MEAN;
	p.agg_param = 200000;
	params_of(&rp, &p);
	cr_assert_eq(rp.agg.rule, FL_RULE_TRIMMED);
	cr_assert_eq(rp.agg.trim_beta_ppm, 200000);
	p.agg_rule = CHAIN_AGG_MULTIKRUM;
	p.agg_param = 3;
	params_of(&rp, &p);
	cr_assert_eq(rp.agg.rule, FL_RULE_MULTIKRUM);
	cr_assert_eq(rp.agg.krum_f, 3);
	p.agg_rule = CHAIN_AGG_NORM_BOUND;
	p.agg_param = 2500000; /* 2.5 */
	params_of(&rp, &p);
	cr_assert_eq(rp.agg.rule, FL_RULE_NORM_BOUND);
	cr_assert_eq(rp.agg.norm_bound_q, (uint64_t)5 << (FL_FIXED_FRAC - 1));
	p.agg_rule = CHAIN_AGG_MEDIAN;
	p.agg_param = 0;
	params_of(&rp, &p);
	cr_assert_eq(rp.agg.rule, FL_RULE_MEDIAN);
}

Test(round_work, params_refuse_what_the_node_cannot_run)
{
	chain_profile p;
	node_round_params rp;
	const char *field = NULL;

	runnable_profile(&p);
	p.server_momentum_ppm = 500000;
	cr_assert_eq(node_round_params_from_profile(&rp, &p, &field), FL_EINVAL);
	cr_assert_str_eq(field, "server_momentum_ppm");

	runnable_profile(&p);
	p.secure_agg = 1;
	cr_assert_eq(node_round_params_from_profile(&rp, &p, &field), FL_EINVAL);
	cr_assert_str_eq(field, "secure_agg");

	/* A field out of the chain's range never reaches fl/. */
	runnable_profile(&p);
	p.batch_size = 0;
	cr_assert_eq(node_round_params_from_profile(&rp, &p, &field), FL_EINVAL);
	cr_assert_str_eq(field, "batch_size");
	runnable_profile(&p);
	p.model.activations[1] = CHAIN_ACT_RELU;
	cr_assert_eq(node_round_params_from_profile(&rp, &p, &field), FL_EINVAL);
	cr_assert_str_eq(field, "model.activations[1]");
}

/* -------------------------------------------------------- base model */

Test(round_work, base_model_round_one_and_from_blob)
{
	chain_profile p, other;
	node_round_params rp, rp_other;
	fl_model init, m, wrong;
	fl_hash zero, h, h_wrong;
	uint8_t *blob, *blob_wrong, junk[64];
	size_t n, n_wrong;

	runnable_profile(&p);
	params_of(&rp, &p);
	memset(&zero, 0, sizeof(zero));
	cr_assert_eq(node_round_base_model(&m, &rp, p.init_seed, &zero, NULL, 0), FL_OK);
	cr_assert_eq(fl_model_init(&init, &rp.spec, p.init_seed), FL_OK);
	cr_assert_eq(m.n_params, init.n_params);
	cr_assert_eq(memcmp(m.params, init.params, m.n_params * sizeof(float)), 0);
	fl_model_free(&m);

	/* Round 2 on: the blob the chain names. */
	init.params[3] += 0.5f;
	cr_assert_eq(fl_blob_encode_model(&blob, &n, &init), FL_OK);
	fl_sha256(&h, blob, n);
	cr_assert_eq(node_round_base_model(&m, &rp, p.init_seed, &h, blob, n), FL_OK);
	cr_assert_eq(memcmp(m.params, init.params, m.n_params * sizeof(float)), 0);
	fl_model_free(&m);

	cr_assert_eq(node_round_base_model(&m, &rp, p.init_seed, &h, NULL, 0), FL_EINVAL);
	cr_assert_eq(node_round_base_model(&m, &rp, p.init_seed, &h, blob, n - 1), FL_EINVAL);
	cr_assert_eq(node_round_base_model(&m, &rp, p.init_seed, &zero, blob, n), FL_OK,
		     "zero is round 1 whatever blob comes with it");
	fl_model_free(&m);

	/* What hashes right but is no model of this profile. */
	memset(junk, 0xa5, sizeof(junk));
	fl_sha256(&h, junk, sizeof(junk));
	cr_assert_eq(node_round_base_model(&m, &rp, p.init_seed, &h, junk, sizeof(junk)),
		     FL_ECORRUPT);
	tiny_profile(&other);
	params_of(&rp_other, &other);
	cr_assert_eq(fl_model_init(&wrong, &rp_other.spec, 1), FL_OK);
	cr_assert_eq(fl_blob_encode_model(&blob_wrong, &n_wrong, &wrong), FL_OK);
	fl_sha256(&h_wrong, blob_wrong, n_wrong);
	cr_assert_eq(node_round_base_model(&m, &rp, p.init_seed, &h_wrong, blob_wrong, n_wrong),
		     FL_ECORRUPT);
	cr_assert_null(m.params);
	fl_free(blob);
	fl_free(blob_wrong);
	fl_model_free(&wrong);
	fl_model_free(&init);
}

/* ---------------------------------------------------- tiny training */

typedef struct {
	chain_profile p;
	node_round_params rp;
	fl_dataset d;
	fl_model base;
	uint32_t *idx;
} tiny_world;

static void tiny_world_new(tiny_world *w, size_t n)
{
	fl_hash zero;

	tiny_profile(&w->p);
	params_of(&w->rp, &w->p);
	cr_assert_eq(fl_dataset_synthetic(&w->d, n, TINY_IN, TINY_CLASSES, 99), FL_OK);
	memset(&zero, 0, sizeof(zero));
	cr_assert_eq(node_round_base_model(&w->base, &w->rp, w->p.init_seed, &zero, NULL, 0),
		     FL_OK);
	w->idx = fl_calloc(n, sizeof(*w->idx));
	cr_assert_not_null(w->idx);
	for (size_t i = 0; i < n; i++)
		w->idx[i] = (uint32_t)i;
}

static void tiny_world_free(tiny_world *w)
{
	fl_dataset_free(&w->d);
	fl_model_free(&w->base);
	fl_free(w->idx);
}

/* Client c's share: samples [c·per, (c+1)·per). */
static node_round_share tiny_share(const tiny_world *w, uint32_t client, size_t per)
{
	node_round_share s = {&w->d, w->idx + client * per, per, 5, client};

	return s;
}

static void train(node_round_update *u, const tiny_world *w, const node_round_share *s,
		  uint64_t round)
{
	cr_assert_eq(node_round_train(u, &w->rp, &w->base, s, round, NULL), FL_OK);
}

Test(round_work, train_is_a_function_of_its_inputs)
{
	tiny_world w;
	node_round_update a, b, c, r2, dp1, dp2;
	node_round_share s0, s1;
	fl_trainer *t;
	fl_hash h;

	tiny_world_new(&w, 400);
	s0 = tiny_share(&w, 0, 200);
	train(&a, &w, &s0, 1);
	/* The caller's workspace gives the same bytes as a fresh one. */
	cr_assert_eq(fl_trainer_new(&t, &w.rp.spec, 64), FL_OK);
	cr_assert_eq(node_round_train(&b, &w.rp, &w.base, &s0, 1, t), FL_OK);
	fl_trainer_free(t);
	cr_assert_eq(a.n, b.n);
	cr_assert_eq(memcmp(a.blob, b.blob, a.n), 0);
	cr_assert(hash_eq(&a.hash, &b.hash));
	fl_sha256(&h, a.blob, a.n);
	cr_assert(hash_eq(&h, &a.hash));
	cr_assert_eq(a.n_samples, 200);
	cr_assert_leq(a.train_accuracy_ppm, CHAIN_PPM);
	cr_assert_gt(a.train_loss_ppm, 0);

	/* Another client (same samples: only the rng differs), another round. */
	s1 = s0;
	s1.client = 1;
	train(&c, &w, &s1, 1);
	cr_assert_not(hash_eq(&a.hash, &c.hash));
	train(&r2, &w, &s0, 2);
	cr_assert_not(hash_eq(&a.hash, &r2.hash));

	w.rp.dp_clip = 0.5;
	w.rp.dp_noise = 1.0;
	train(&dp1, &w, &s0, 1);
	train(&dp2, &w, &s0, 1);
	cr_assert(hash_eq(&dp1.hash, &dp2.hash), "noise from the derived rng: reproducible");
	cr_assert_not(hash_eq(&dp1.hash, &a.hash));

	node_round_update_free(&a);
	node_round_update_free(&b);
	node_round_update_free(&c);
	node_round_update_free(&r2);
	node_round_update_free(&dp1);
	node_round_update_free(&dp2);
	tiny_world_free(&w);
}

Test(round_work, train_refuses_empty_or_misfit_shares)
{
	tiny_world w;
	node_round_update u;
	node_round_share s;
	uint32_t far = 1000000;

	tiny_world_new(&w, 100);
	s = tiny_share(&w, 0, 0);
	cr_assert_eq(node_round_train(&u, &w.rp, &w.base, &s, 1, NULL), FL_EINVAL);
	cr_assert_null(u.blob);
	s = tiny_share(&w, 0, 10);
	w.d.y[3] = TINY_CLASSES; /* a label past the outputs */
	cr_assert_eq(node_round_train(&u, &w.rp, &w.base, &s, 1, NULL), FL_EINVAL);
	w.d.y[3] = 0;
	s.idx = &far;
	s.n = 1;
	cr_assert_eq(node_round_train(&u, &w.rp, &w.base, &s, 1, NULL), FL_EINVAL);
	node_round_update_free(&u);
	tiny_world_free(&w);
}

/* ------------------------------------------------- fashion-mnist parity */

#define PARITY_SEED    7
#define PARITY_CLIENTS 2

static void sim_config_for(sim_config *c, const node_round_params *rp)
{
	sim_config_default(c);
	c->clients = PARITY_CLIENTS;
	c->rounds = 2;
	c->split = SIM_SPLIT_IID;
	c->tp = rp->tp;
	c->spec = rp->spec;
	c->data_dir = FL_FASHION_MNIST_DIR;
	c->agg = rp->agg;
	c->dp_clip = rp->dp_clip;
	c->dp_noise = rp->dp_noise;
	c->threads = 2;
	c->seed = PARITY_SEED;
	c->max_samples = 200;
}

/* Two rounds of fedledger-sim against two rounds of node_round_train on
 * each client's share, node_round_aggregate and node_round_verify: the
 * same model hash after each round, and round 2 starts from round 1's blob
 * through node_round_base_model. */
static void check_parity(uint32_t dp_clip_ppm, uint32_t dp_noise_ppm)
{
	chain_profile p;
	node_round_params rp;
	sim_config c;
	sim_error err;
	sim *s;
	fl_dataset train, test;
	fl_model base;
	fl_hash base_hash;
	uint8_t *base_blob = NULL;
	size_t base_n = 0;

	runnable_profile(&p);
	p.init_seed = PARITY_SEED; /* sim starts from fl_model_init(spec, --seed) */
	p.dp_clip_ppm = dp_clip_ppm;
	p.dp_noise_ppm = dp_noise_ppm;
	params_of(&rp, &p);
	sim_config_for(&c, &rp);
	cr_assert_eq(sim_new(&s, &c, &err), FL_OK, "sim_new: %s", err.msg);
	/* sim's training set: Fashion-MNIST as loaded, no labels left out */
	cr_assert_eq(fl_dataset_load_fashion_mnist(&train, &test, FL_FASHION_MNIST_DIR), FL_OK);
	cr_assert_eq(train.n, sim_train_samples(s));
	memset(&base_hash, 0, sizeof(base_hash));

	for (uint64_t round = 1; round <= 2; round++) {
		node_round_update ups[PARITY_CLIENTS];
		node_round_input in[PARITY_CLIENTS];
		node_round_input_status st[PARITY_CLIENTS];
		node_round_aggregate_result agg;
		chain_tx_aggregate_commit a;
		sim_round sr;
		fl_hash sim_hash, recomputed;
		uint8_t *vblob;
		size_t vn;
		const char *why;

		cr_assert_eq(
		    node_round_base_model(&base, &rp, p.init_seed, &base_hash, base_blob, base_n),
		    FL_OK);
		for (uint32_t k = 0; k < PARITY_CLIENTS; k++) {
			node_round_share sh = {&train, NULL, 0, PARITY_SEED, k};

			sim_client_share(s, k, &sh.idx, &sh.n);

			cr_assert_eq(sh.n, 200);
			cr_assert_eq(node_round_train(&ups[k], &rp, &base, &sh, round, NULL),
				     FL_OK);
			chain_sample_key(NULL, &in[k].participant, (uint8_t)(1 + k));
			in[k].hash = ups[k].hash;
			in[k].n_samples = ups[k].n_samples;
			in[k].blob = ups[k].blob;
			in[k].n = ups[k].n;
		}
		cr_assert_eq(node_round_aggregate(&agg, &rp, &p, &base, in, PARITY_CLIENTS, st),
			     FL_OK);
		cr_assert_eq(st[0], NODE_ROUND_IN_OK);
		cr_assert_eq(st[1], NODE_ROUND_IN_OK);
		cr_assert_not(hash_eq(&agg.hash, &base_hash), "the round moved the model");
		cr_assert_eq(agg.n_entries, PARITY_CLIENTS);

		cr_assert_eq(sim_round_run(s, &sr, NULL, NULL), FL_OK);
		cr_assert_eq(sim_model_hash(s, &sim_hash), FL_OK);
		cr_assert(hash_eq(&agg.hash, &sim_hash),
			  "round %lu: the node's aggregate is fedledger-sim's model",
			  (unsigned long)round);

		/* And a validator agrees, entries in the committed order. */
		memset(&a, 0, sizeof(a));
		snprintf(a.profile, sizeof(a.profile), "%s", p.id);
		a.round = round;
		a.base_model = base_hash;
		a.new_model = agg.hash;
		a.n_entries = agg.n_entries;
		a.entries = agg.entries;
		{
			node_round_input sorted[PARITY_CLIENTS];

			for (uint32_t i = 0; i < agg.n_entries; i++)
				for (uint32_t k = 0; k < PARITY_CLIENTS; k++)
					if (fl_pubkey_cmp(&in[k].participant,
							  &agg.entries[i].participant) == 0)
						sorted[i] = in[k];
			cr_assert_eq(node_round_verify(&rp, &p, &base, &a, sorted, &recomputed,
						       &vblob, &vn, &why),
				     FL_OK, "verify: %s", why);
		}
		cr_assert(hash_eq(&recomputed, &sim_hash));
		cr_assert_eq(vn, agg.n);
		cr_assert_eq(memcmp(vblob, agg.blob, vn), 0);
		fl_free(vblob);

		fl_free(base_blob);
		base_blob = agg.blob;
		base_n = agg.n;
		base_hash = agg.hash;
		agg.blob = NULL;
		node_round_aggregate_result_free(&agg);
		for (uint32_t k = 0; k < PARITY_CLIENTS; k++)
			node_round_update_free(&ups[k]);
		fl_model_free(&base);
	}
	fl_free(base_blob);
	fl_dataset_free(&train);
	fl_dataset_free(&test);
	sim_free(s);
}

Test(round_work, parity_with_fedledger_sim_on_fashion_mnist, .timeout = 120)
{
	check_parity(0, 0);
}

Test(round_work, parity_with_fedledger_sim_under_dp, .timeout = 120)
{
	check_parity(2000000, 500000); /* clip 2.0, z = 0.5 */
}

/* ----------------------------------------------- aggregate and verify */

#define N_IN 6

typedef struct {
	tiny_world w;
	node_round_update ups[N_IN];
	node_round_input in[N_IN];
} tiny_round;

static void tiny_round_new(tiny_round *r)
{
	tiny_world_new(&r->w, 60 * N_IN);
	for (uint32_t k = 0; k < N_IN; k++) {
		node_round_share s = tiny_share(&r->w, k, 60);

		train(&r->ups[k], &r->w, &s, 1);
		/* keys of seeds 6, 5, …: not in participant order */
		chain_sample_key(NULL, &r->in[k].participant, (uint8_t)(N_IN - k));
		r->in[k].hash = r->ups[k].hash;
		r->in[k].n_samples = r->ups[k].n_samples;
		r->in[k].blob = r->ups[k].blob;
		r->in[k].n = r->ups[k].n;
	}
}

static void tiny_round_free(tiny_round *r)
{
	for (uint32_t k = 0; k < N_IN; k++)
		node_round_update_free(&r->ups[k]);
	tiny_world_free(&r->w);
}

Test(round_work, aggregate_leaves_out_bad_inputs_with_their_reason)
{
	tiny_round r;
	node_round_input in[N_IN];
	node_round_input_status st[N_IN];
	node_round_aggregate_result agg;
	uint8_t *model_blob;
	size_t model_n;
	fl_hash h;

	tiny_round_new(&r);
	memcpy(in, r.in, sizeof(in));
	in[0].blob = NULL;
	in[1].hash.b[0] ^= 1;
	/* a model blob, its hash committed: hashes right, is no update */
	cr_assert_eq(fl_blob_encode_model(&model_blob, &model_n, &r.w.base), FL_OK);
	in[2].blob = model_blob;
	in[2].n = model_n;
	fl_sha256(&in[2].hash, model_blob, model_n);
	in[3].n_samples = 59;
	cr_assert_eq(node_round_aggregate(&agg, &r.w.rp, &r.w.p, &r.w.base, in, N_IN, st), FL_OK);
	cr_assert_eq(st[0], NODE_ROUND_IN_MISSING);
	cr_assert_eq(st[1], NODE_ROUND_IN_HASH);
	cr_assert_eq(st[2], NODE_ROUND_IN_DECODE);
	cr_assert_eq(st[3], NODE_ROUND_IN_SAMPLES);
	cr_assert_eq(st[4], NODE_ROUND_IN_OK);
	cr_assert_eq(st[5], NODE_ROUND_IN_OK);
	cr_assert_eq(agg.n_entries, 2);
	cr_assert_lt(fl_pubkey_cmp(&agg.entries[0].participant, &agg.entries[1].participant), 0);
	cr_assert(fl_pubkey_cmp(&agg.entries[0].participant, &in[5].participant) == 0,
		  "sorted by participant, not by input order");
	cr_assert(hash_eq(&agg.entries[0].update, &in[5].hash));
	cr_assert_eq(agg.entries[0].weight, 60);
	fl_sha256(&h, agg.blob, agg.n);
	cr_assert(hash_eq(&h, &agg.hash));
	node_round_aggregate_result_free(&agg);

	/* Too few usable for min_participants; the cap on weights. */
	r.w.p.min_participants = 3;
	cr_assert_eq(node_round_aggregate(&agg, &r.w.rp, &r.w.p, &r.w.base, in, N_IN, NULL),
		     FL_EINVAL);
	cr_assert_null(agg.blob);
	r.w.p.min_participants = 2;
	r.w.p.max_samples_weight = 25;
	cr_assert_eq(node_round_aggregate(&agg, &r.w.rp, &r.w.p, &r.w.base, in, N_IN, NULL), FL_OK);
	cr_assert_eq(agg.entries[0].weight, 25);
	cr_assert_eq(agg.entries[1].weight, 25);
	node_round_aggregate_result_free(&agg);

	/* The same participant twice is no entry list the chain takes. */
	in[4].participant = in[5].participant;
	cr_assert_eq(node_round_aggregate(&agg, &r.w.rp, &r.w.p, &r.w.base, in, N_IN, NULL),
		     FL_EINVAL);
	fl_free(model_blob);
	tiny_round_free(&r);
}

/* The aggregate of every input of r as a commit, with the inputs in
 * entry order in sorted[]. */
static void commit_of(chain_tx_aggregate_commit *a, node_round_aggregate_result *agg,
		      node_round_input *sorted, tiny_round *r)
{
	cr_assert_eq(node_round_aggregate(agg, &r->w.rp, &r->w.p, &r->w.base, r->in, N_IN, NULL),
		     FL_OK);
	memset(a, 0, sizeof(*a));
	snprintf(a->profile, sizeof(a->profile), "%s", r->w.p.id);
	a->round = 1;
	a->new_model = agg->hash; /* base_model zero: round 1 */
	a->n_entries = agg->n_entries;
	a->entries = agg->entries;
	for (uint32_t i = 0; i < agg->n_entries; i++)
		for (uint32_t k = 0; k < N_IN; k++)
			if (fl_pubkey_cmp(&r->in[k].participant, &agg->entries[i].participant) == 0)
				sorted[i] = r->in[k];
}

Test(round_work, verify_ok_mismatch_notfound_einval)
{
	tiny_round r;
	chain_tx_aggregate_commit a;
	node_round_aggregate_result agg;
	node_round_input sorted[N_IN], in[N_IN];
	fl_hash rec, base_hash;
	fl_model other;
	uint8_t *blob = NULL;
	size_t n = 0;
	const char *why = NULL;

	tiny_round_new(&r);
	commit_of(&a, &agg, sorted, &r);
	cr_assert_eq(
	    node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, sorted, &rec, &blob, &n, &why),
	    FL_OK);
	cr_assert_null(why);
	cr_assert(hash_eq(&rec, &agg.hash));
	cr_assert_eq(n, agg.n);
	cr_assert_eq(memcmp(blob, agg.blob, n), 0);
	fl_free(blob);

	/* The base named by its hash works as well as round 1's zero. */
	model_hash(&base_hash, &r.w.base);
	a.base_model = base_hash;
	cr_assert_eq(
	    node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, sorted, NULL, NULL, NULL, NULL),
	    FL_OK);
	memset(&a.base_model, 0, sizeof(a.base_model));

	/* A tampered new model: the recomputed hash is what evidence names. */
	a.new_model.b[7] ^= 0x10;
	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(
	    node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, sorted, &rec, &blob, &n, &why),
	    NODE_ROUND_MISMATCH);
	cr_assert_not_null(why);
	cr_assert(hash_eq(&rec, &agg.hash));
	cr_assert_null(blob);
	a.new_model = agg.hash;

	/* An entry's blob absent: nothing to check with. */
	memcpy(in, sorted, sizeof(in));
	in[2].blob = NULL;
	cr_assert_eq(node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, in, &rec, NULL, NULL, &why),
		     FL_ENOTFOUND);
	cr_assert_not_null(why);

	/* Inputs that are not the committed updates. */
	memcpy(in, sorted, sizeof(in));
	in[1].n_samples++;
	cr_assert_eq(node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, in, &rec, NULL, NULL, &why),
		     FL_EINVAL);
	memcpy(in, sorted, sizeof(in));
	in[0] = sorted[1];
	cr_assert_eq(node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, in, &rec, NULL, NULL, &why),
		     FL_EINVAL);
	memcpy(in, sorted, sizeof(in));
	in[3].blob = sorted[4].blob;
	in[3].n = sorted[4].n;
	cr_assert_eq(node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, in, &rec, NULL, NULL, &why),
		     FL_EINVAL);

	/* A weight other than the rule's. */
	a.entries[2].weight--;
	cr_assert_eq(
	    node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, sorted, &rec, NULL, NULL, &why),
	    FL_EINVAL);
	cr_assert_str_eq(why, "an entry's weight is not the rule's");
	a.entries[2].weight++;

	/* Another profile's aggregate. */
	a.profile[0] = 'x';
	cr_assert_eq(
	    node_round_verify(&r.w.rp, &r.w.p, &r.w.base, &a, sorted, &rec, NULL, NULL, &why),
	    FL_EINVAL);
	snprintf(a.profile, sizeof(a.profile), "%s", r.w.p.id);

	/* A base that is not a's: round 1 must start from the profile's init. */
	cr_assert_eq(fl_model_init(&other, &r.w.rp.spec, r.w.p.init_seed + 1), FL_OK);
	cr_assert_eq(node_round_verify(&r.w.rp, &r.w.p, &other, &a, sorted, &rec, NULL, NULL, &why),
		     FL_EINVAL);
	cr_assert_str_eq(why, "the base is not the aggregate's");
	a.base_model = base_hash;
	cr_assert_eq(node_round_verify(&r.w.rp, &r.w.p, &other, &a, sorted, &rec, NULL, NULL, &why),
		     FL_EINVAL);
	fl_model_free(&other);

	node_round_aggregate_result_free(&agg);
	tiny_round_free(&r);
}

/* ------------------------------------------------------------ clusters */

#define CL_N 6

/* Update k: a direction per group plus small noise of its own. */
static void cluster_updates(fl_update *u, const fl_update **ptrs, int groups)
{
	fl_spec spec;
	fl_rng rng;
	size_t dim;

	cr_assert_eq(fl_spec_parse(&spec, "10-18-2"), FL_OK);
	dim = fl_spec_params(&spec);
	fl_rng_seed(&rng, 3);
	for (size_t k = 0; k < CL_N; k++) {
		int g = groups == 2 ? (int)(k % 2) : 0;

		u[k].spec = spec;
		u[k].n = dim;
		u[k].n_samples = 10;
		u[k].q = fl_calloc(dim, sizeof(*u[k].q));
		cr_assert_not_null(u[k].q);
		for (size_t i = 0; i < dim; i++) {
			int on = g == 0 ? i < dim / 2 : i >= dim / 2;

			u[k].q[i] =
			    (int32_t)((on ? 1000000.0 : 0.0) + 200000.0 * fl_rng_gauss(&rng));
		}
		ptrs[k] = &u[k];
	}
}

Test(round_work, clusters_split_two_groups_and_not_one)
{
	fl_update u[CL_N];
	const fl_update *ptrs[CL_N];
	uint8_t side[CL_N];
	int clear = -1;
	double cross = 2;

	cluster_updates(u, ptrs, 2);
	cr_assert_eq(node_round_clusters(ptrs, CL_N, side, &clear, &cross), FL_OK);
	cr_assert_eq(clear, 1, "max cross %f", cross);
	cr_assert_lt(cross, NODE_ROUND_CLUSTER_CROSS_MAX);
	for (size_t k = 0; k < CL_N; k++)
		cr_assert_eq(side[k], k % 2, "update %zu on side %u", k, side[k]);
	for (size_t k = 0; k < CL_N; k++)
		fl_update_free(&u[k]);

	cluster_updates(u, ptrs, 1);
	cr_assert_eq(node_round_clusters(ptrs, CL_N, side, &clear, &cross), FL_OK);
	cr_assert_eq(clear, 0);
	cr_assert_gt(cross, NODE_ROUND_CLUSTER_CROSS_MAX);
	cr_assert_eq(side[0], 0);

	cr_assert_eq(node_round_clusters(ptrs, 1, side, &clear, &cross), FL_EINVAL);
	u[3].spec.sizes[1] = 17;
	cr_assert_eq(node_round_clusters(ptrs, CL_N, side, &clear, &cross), FL_EINVAL);
	for (size_t k = 0; k < CL_N; k++)
		fl_update_free(&u[k]);
}

/* ------------------------------------------------------------ evaluate */

Test(round_work, evaluate_in_ppm)
{
	tiny_world w;
	fl_dataset test;
	uint32_t acc0, loss0, acc, loss;
	fl_model m;
	node_round_update u;
	node_round_share s;
	fl_update up;

	tiny_world_new(&w, 400);
	cr_assert_eq(fl_dataset_synthetic(&test, 200, TINY_IN, TINY_CLASSES, 99), FL_OK);
	cr_assert_eq(node_round_evaluate(&w.rp, &w.base, &test, &acc0, &loss0), FL_OK);
	cr_assert_leq(acc0, CHAIN_PPM);

	/* Three local epochs on the whole set learn separable blobs. */
	w.rp.tp.epochs = 3;
	s = tiny_share(&w, 0, 400);
	train(&u, &w, &s, 1);
	cr_assert_eq(fl_blob_decode_update(&up, u.blob, u.n), FL_OK);
	memset(&m, 0, sizeof(m));
	cr_assert_eq(fl_update_apply(&m, &w.base, up.q), FL_OK);
	cr_assert_eq(node_round_evaluate(&w.rp, &m, &test, &acc, &loss), FL_OK);
	cr_assert_gt(acc, acc0);
	cr_assert_gt(acc, 800000, "accuracy %u ppm", acc);
	cr_assert_lt(loss, loss0);

	test.n = 0;
	cr_assert_eq(node_round_evaluate(&w.rp, &m, &test, &acc, &loss), FL_EINVAL);
	fl_update_free(&up);
	fl_model_free(&m);
	node_round_update_free(&u);
	fl_dataset_free(&test);
	tiny_world_free(&w);
}

/* Four members trained from one base on Fashion-MNIST: two on labels 0-4,
 * two on 5-9. The split is clear and follows the labels; the real updates'
 * cross similarity is why NODE_ROUND_CLUSTER_CROSS_MAX is 0.25. */
Test(round_work, clusters_split_label_disjoint_fashion_mnist, .timeout = 120)
{
	static const uint16_t low[] = {0, 1, 2, 3, 4}, high[] = {5, 6, 7, 8, 9};
	chain_profile p;
	node_round_params rp;
	fl_dataset train, test;
	fl_model base;
	fl_hash zero;
	uint32_t *idx[2];
	size_t n[2];
	node_round_update ups[4];
	fl_update us[4];
	const fl_update *ptrs[4];
	uint8_t side[4];
	int clear = -1;
	double cross = 2;

	runnable_profile(&p);
	params_of(&rp, &p);
	cr_assert_eq(fl_dataset_load_fashion_mnist(&train, &test, FL_FASHION_MNIST_DIR), FL_OK);
	cr_assert_eq(fl_select_labels(&idx[0], &n[0], &train, low, 5), FL_OK);
	cr_assert_eq(fl_select_labels(&idx[1], &n[1], &train, high, 5), FL_OK);
	memset(&zero, 0, sizeof(zero));
	cr_assert_eq(node_round_base_model(&base, &rp, p.init_seed, &zero, NULL, 0), FL_OK);
	for (uint32_t k = 0; k < 4; k++) {
		/* members 0, 2 on the low labels, 1, 3 on the high ones, 300 each */
		node_round_share s = {&train, idx[k % 2] + (k / 2) * 300, 300, 11, k};

		cr_assert_eq(node_round_train(&ups[k], &rp, &base, &s, 1, NULL), FL_OK);
		cr_assert_eq(fl_blob_decode_update(&us[k], ups[k].blob, ups[k].n), FL_OK);
		ptrs[k] = &us[k];
	}
	cr_assert_eq(node_round_clusters(ptrs, 4, side, &clear, &cross), FL_OK);
	cr_log_info("label-disjoint Fashion-MNIST: max cross similarity %.3f", cross);
	cr_assert_eq(clear, 1, "max cross %f", cross);
	cr_assert_eq(side[0], 0);
	cr_assert_eq(side[1], 1);
	cr_assert_eq(side[2], 0);
	cr_assert_eq(side[3], 1);
	for (uint32_t k = 0; k < 4; k++) {
		fl_update_free(&us[k]);
		node_round_update_free(&ups[k]);
	}
	fl_model_free(&base);
	fl_free(idx[0]);
	fl_free(idx[1]);
	fl_dataset_free(&train);
	fl_dataset_free(&test);
}
