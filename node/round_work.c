/*
 * node/round_work.c — a profile in fl/ terms, the model a round starts
 * from, and a model's figures on a test set (node/round_work.h); training
 * is round_train.c, aggregation and its verification round_aggregate.c,
 * clustering round_cluster.c.
 */
#include "node/round_work_internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

int node__round_model_hash(fl_hash *hash, uint8_t **blob, size_t *n, const fl_model *m)
{
	uint8_t *p = NULL;
	size_t len = 0;
	int rc = fl_blob_encode_model(&p, &len, m);

	if (rc < 0)
		return rc;
	fl_sha256(hash, p, len);
	if (blob != NULL) {
		*blob = p;
		*n = len;
	} else {
		fl_free(p);
	}
	return FL_OK;
}

/* ------------------------------------------------------------ profile */

/* ppm as the double the fraction is: exact for every ppm a profile holds. */
static double ppm_value(uint32_t ppm)
{
	return (double)ppm / CHAIN_PPM;
}

static int map_rule(fl_agg_params *agg, const chain_profile *p)
{
	/* chain_agg_rule and fl_rule number the rules alike; the switch keeps
	 * that from being an accident the compiler cannot see. */
	switch (p->agg_rule) {
	case CHAIN_AGG_FEDAVG:
		agg->rule = FL_RULE_FEDAVG;
		return FL_OK;
	case CHAIN_AGG_MEDIAN:
		agg->rule = FL_RULE_MEDIAN;
		return FL_OK;
	case CHAIN_AGG_TRIMMED_MEAN:
		agg->rule = FL_RULE_TRIMMED;
		agg->trim_beta_ppm = p->agg_param;
		return FL_OK;
	case CHAIN_AGG_MULTIKRUM:
		agg->rule = FL_RULE_MULTIKRUM;
		agg->krum_f = p->agg_param;
		return FL_OK;
	case CHAIN_AGG_NORM_BOUND:
		/* The L2 bound in ppm into fixed point, rounded half up, at
		 * least 1 (fl refuses 0); integer so every node gets it alike. */
		agg->rule = FL_RULE_NORM_BOUND;
		agg->norm_bound_q =
		    (((uint64_t)p->agg_param << FL_FIXED_FRAC) + CHAIN_PPM / 2) / CHAIN_PPM;
		if (agg->norm_bound_q == 0)
			agg->norm_bound_q = 1;
		return FL_OK;
	default:
		return FL_EINVAL;
	}
}

int node_round_params_from_profile(node_round_params *out, const chain_profile *p,
				   const char **field)
{
	const char *unused;
	fl_spec *spec = &out->spec;
	int rc;

	assert(out != NULL && p != NULL);
	if (field == NULL)
		field = &unused;
	memset(out, 0, sizeof(*out));
	/* A profile from the chain passed this already; one from elsewhere
	 * (a test, a tool) must not reach fl/ with a field out of range. */
	if ((rc = chain_profile_check(p, field)) != FL_OK)
		return rc;
	/* The velocity FedAvgM moves by is not on chain: a validator could not
	 * recompute the new model from the committed updates alone. */
	if (p->server_momentum_ppm > 0) {
		*field = "server_momentum_ppm";
		return FL_EINVAL;
	}
	/* Masked updates cannot be recomputed from their blobs either, and
	 * the node has no mask exchange. */
	if (p->secure_agg) {
		*field = "secure_agg";
		return FL_EINVAL;
	}

	spec->n_layers = p->model.n_layers;
	for (uint32_t i = 0; i <= p->model.n_layers; i++)
		spec->sizes[i] = p->model.sizes[i];
	for (uint32_t i = 0; i < p->model.n_layers; i++)
		spec->act[i] =
		    p->model.activations[i] == CHAIN_ACT_RELU ? FL_ACT_RELU : FL_ACT_NONE;
	if (fl_spec_check(spec) != FL_OK || fl_spec_params(spec) > FL_MAX_PARAMS) {
		*field = "model";
		return FL_EINVAL;
	}

	out->tp.epochs = p->local_epochs;
	out->tp.batch = p->batch_size;
	out->tp.lr = (float)ppm_value(p->lr_ppm);
	out->tp.momentum = (float)ppm_value(p->momentum_ppm);
	out->tp.weight_decay = (float)ppm_value(p->weight_decay_ppm);
	out->tp.prox_mu = (float)ppm_value(p->prox_mu_ppm);

	if (map_rule(&out->agg, p) != FL_OK) {
		*field = "agg_rule";
		return FL_EINVAL;
	}
	out->agg.max_weight = p->max_samples_weight;
	out->agg.threads = 1;

	out->dp_clip = ppm_value(p->dp_clip_ppm);
	out->dp_noise = ppm_value(p->dp_noise_ppm);
	*field = NULL;
	return FL_OK;
}

/* --------------------------------------------------------- base model */

int node_round_base_model(fl_model *out, const node_round_params *rp, uint64_t init_seed,
			  const fl_hash *base, const uint8_t *blob, size_t n)
{
	fl_hash got;
	int rc;

	assert(out != NULL && rp != NULL && base != NULL);
	memset(out, 0, sizeof(*out));
	if (fl_hash_is_zero(base))
		return fl_model_init(out, &rp->spec, init_seed);
	if (blob == NULL)
		return FL_EINVAL;
	fl_sha256(&got, blob, n);
	if (memcmp(got.b, base->b, sizeof(got.b)) != 0)
		return FL_EINVAL;
	/* The blob is the one the chain names: if it is no model of this
	 * profile, what is stored is corrupt, not the caller's argument. */
	rc = fl_blob_decode_model(out, blob, n);
	if (rc == FL_ENOMEM)
		return rc;
	if (rc != FL_OK || !fl_spec_equal(&out->spec, &rp->spec)) {
		fl_model_free(out);
		return FL_ECORRUPT;
	}
	return FL_OK;
}

/* ----------------------------------------------------------- evaluate */

/* Test images per forward pass: larger batches make faster sgemm calls. */
#define EVAL_BATCH 256

static uint32_t ppm_of(double v)
{
	double x = v * CHAIN_PPM;

	if (!(x >= 0))
		return 0;
	if (x >= (double)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)llround(x);
}

int node_round_evaluate(const node_round_params *rp, const fl_model *m, const fl_dataset *test,
			uint32_t *accuracy_ppm, uint32_t *loss_ppm)
{
	fl_trainer *t = NULL;
	fl_eval e;
	uint64_t correct = 0, total = 0;
	int rc;

	assert(rp != NULL && m != NULL && test != NULL && accuracy_ppm != NULL && loss_ppm != NULL);
	if (!fl_spec_equal(&m->spec, &rp->spec) || test->n == 0)
		return FL_EINVAL;
	if ((rc = fl_trainer_new(&t, &rp->spec, EVAL_BATCH)) < 0)
		return rc;
	rc = fl_evaluate(t, m, test, &e);
	fl_trainer_free(t);
	if (rc < 0)
		return rc;
	/* Accuracy from the integer counts, so it is the same ppm whatever
	 * the slicing of the forward passes. */
	for (uint32_t c = 0; c < e.n_classes; c++) {
		correct += e.class_correct[c];
		total += e.class_total[c];
	}
	*accuracy_ppm = total ? (uint32_t)((correct * CHAIN_PPM + total / 2) / total) : 0;
	/* A diverged model's loss (inf, NaN) is as bad as the unit can say. */
	*loss_ppm = isfinite(e.loss) ? ppm_of(e.loss) : UINT32_MAX;
	return FL_OK;
}
