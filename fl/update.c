/*
 * fl/update.c — updates: the quantised difference between a locally trained
 * model and the round's base model, and applying an aggregated delta.
 */
#include "fl/internal.h"

#include <assert.h>
#include <string.h>

/*
 * The difference is taken in double: exact whenever the two floats are
 * within 2^29 of each other in magnitude (always, for a trained model and
 * its base), and a single IEEE rounding otherwise, so the quantised delta
 * is the same integer everywhere. Quantising (local − base) in single
 * precision would round the difference a second time.
 */
int fl_update_from_models(fl_update *u, const fl_model *local, const fl_model *base,
			  uint64_t n_samples)
{
	size_t n;

	assert(u != NULL && local != NULL && base != NULL);
	memset(u, 0, sizeof(*u));
	if (!fl_spec_equal(&local->spec, &base->spec) || local->n_params != base->n_params)
		return FL_EINVAL;
	n = local->n_params;
	if (n == 0 || n != fl_spec_params(&local->spec))
		return FL_EINVAL;
	u->q = fl_malloc(n * sizeof(int32_t));
	if (u->q == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		u->q[i] = fl_fixed_from_double((double)local->params[i] - (double)base->params[i]);
	u->spec = local->spec;
	u->n = n;
	u->n_samples = n_samples;
	return FL_OK;
}

int fl_update_apply(fl_model *out, const fl_model *base, const int32_t *delta)
{
	int rc;

	assert(out != NULL && base != NULL && delta != NULL);
	if (out != base) {
		if (out->params == NULL) {
			rc = fl_model_new(out, &base->spec);
			if (rc != FL_OK)
				return rc;
		} else if (!fl_spec_equal(&out->spec, &base->spec) ||
			   out->n_params != base->n_params) {
			return FL_EINVAL;
		}
	}
	/* Elementwise in single precision: the dequantised delta is one
	 * rounding of q·2^-24, the sum a second, both IEEE-specified. */
	for (size_t i = 0; i < base->n_params; i++)
		out->params[i] = base->params[i] + fl_fixed_to_float(delta[i]);
	return FL_OK;
}

void fl_update_free(fl_update *u)
{
	if (u == NULL)
		return;
	fl_free(u->q);
	memset(u, 0, sizeof(*u));
}
