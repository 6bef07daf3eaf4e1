/*
 * fl/eval.c — inference with a trainer's workspace: class probabilities,
 * and accuracy, loss and per-class accuracy over a dataset. Both run in
 * chunks of the trainer's max_batch, reading the samples in place (dataset
 * rows are contiguous), so neither allocates.
 */
#include "fl/internal.h"

#include <assert.h>
#include <string.h>

int fl_predict(fl_trainer *t, const fl_model *m, const float *x, size_t b, float *probs)
{
	uint32_t in, k;

	assert(t != NULL && m != NULL && (b == 0 || (x != NULL && probs != NULL)));
	in = t->spec.sizes[0];
	k = t->spec.sizes[t->spec.n_layers];
	if (!fl_spec_equal(&t->spec, &m->spec))
		return FL_EINVAL;
	for (size_t at = 0; at < b; at += t->max_batch) {
		const size_t c = b - at < t->max_batch ? b - at : t->max_batch;
		const float *z = fl_trainer_forward(t, m->params, x + at * in, c);

		for (size_t i = 0; i < c; i++)
			(void)fl_xent_row(z + i * k, k, 0, NULL, probs + (at + i) * k);
	}
	return FL_OK;
}

int fl_evaluate(fl_trainer *t, const fl_model *m, const fl_dataset *d, fl_eval *out)
{
	uint32_t in, k;
	double loss = 0.0;
	uint64_t correct = 0;

	assert(t != NULL && m != NULL && d != NULL && out != NULL);
	in = t->spec.sizes[0];
	k = t->spec.sizes[t->spec.n_layers];
	memset(out, 0, sizeof(*out));
	/* Per-class counts have FL_MAX_CLASSES slots. */
	if (!fl_spec_equal(&t->spec, &m->spec) || d->dim != in || d->n == 0 || k > FL_MAX_CLASSES)
		return FL_EINVAL;
	for (size_t i = 0; i < d->n; i++)
		if (d->y[i] >= k)
			return FL_EINVAL;
	out->n_classes = k;
	for (size_t at = 0; at < d->n; at += t->max_batch) {
		const size_t c = d->n - at < t->max_batch ? d->n - at : t->max_batch;
		const float *z = fl_trainer_forward(t, m->params, d->x + at * in, c);

		for (size_t i = 0; i < c; i++) {
			const uint16_t y = d->y[at + i];
			uint32_t best;

			loss += fl_xent_row(z + i * k, k, y, &best, NULL);
			out->class_total[y]++;
			if (best == y) {
				out->class_correct[y]++;
				correct++;
			}
		}
	}
	out->accuracy = (double)correct / (double)d->n;
	out->loss = loss / (double)d->n;
	return FL_OK;
}
