/*
 * node/round_train.c — a member's update for one round (node/round_work.h):
 * the same fl/ calls, in the same order and with the same rng stream, as
 * fedledger-sim's client job (tools/sim.c), so a member and the simulation
 * over the same share produce the same bytes.
 */
#include "node/round_work_internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* ppm of a figure in [0, max]; NaN (a diverged model) is the worst. */
static uint32_t ppm_clamped(double v, uint32_t max, uint32_t nan_value)
{
	double x = v * CHAIN_PPM;

	if (isnan(x))
		return nan_value;
	if (x <= 0)
		return 0;
	if (x >= (double)max)
		return max;
	return (uint32_t)llround(x);
}

int node_round_train(node_round_update *out, const node_round_params *rp, const fl_model *base,
		     const node_round_share *share, uint64_t round, fl_trainer *trainer)
{
	fl_trainer *own = NULL;
	fl_model local;
	fl_update u;
	fl_train_stats stats;
	fl_rng rng;
	double t0;
	int rc;

	assert(out != NULL && rp != NULL && base != NULL && share != NULL && share->d != NULL);
	memset(out, 0, sizeof(*out));
	memset(&local, 0, sizeof(local));
	memset(&u, 0, sizeof(u));
	if (share->n == 0 || share->idx == NULL || round == 0 ||
	    !fl_spec_equal(&base->spec, &rp->spec))
		return FL_EINVAL;
	if (trainer == NULL) {
		if ((rc = fl_trainer_new(&own, &rp->spec, rp->tp.batch)) < 0)
			return rc;
		trainer = own;
	}
	if ((rc = fl_model_copy(&local, base)) < 0)
		goto cleanup;

	/* tools/sim.c's client_job, step for step: the stream of (seed,
	 * round, client), local epochs (the base is the FedProx reference,
	 * as the global model is sim's), then the DP or plain update. */
	t0 = fl_now();
	fl_rng_derive(&rng, share->seed, round, share->client);
	rc = fl_train(trainer, &local, share->d, share->idx, share->n, &rp->tp,
		      rp->tp.prox_mu > 0.0f ? base : NULL, &rng, &stats);
	out->seconds = fl_now() - t0;
	if (rc < 0)
		goto cleanup;
	if (rp->dp_clip > 0)
		rc = fl_dp_update(&u, &local, base, share->n, rp->dp_clip, rp->dp_noise, &rng);
	else
		rc = fl_update_from_models(&u, &local, base, share->n);
	if (rc < 0)
		goto cleanup;

	if ((rc = fl_blob_encode_update(&out->blob, &out->n, &u)) < 0)
		goto cleanup;
	fl_sha256(&out->hash, out->blob, out->n);
	out->n_samples = share->n;
	out->train_loss_ppm = ppm_clamped(stats.loss, UINT32_MAX, UINT32_MAX);
	out->train_accuracy_ppm = ppm_clamped(stats.accuracy, CHAIN_PPM, 0);
	rc = FL_OK;
cleanup:
	if (rc < 0) {
		fl_free(out->blob);
		memset(out, 0, sizeof(*out));
	}
	fl_update_free(&u);
	fl_model_free(&local);
	fl_trainer_free(own);
	return rc;
}

void node_round_update_free(node_round_update *u)
{
	if (u == NULL)
		return;
	fl_free(u->blob);
	memset(u, 0, sizeof(*u));
}
