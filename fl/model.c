/*
 * fl/model.c — model parameters: allocation (64-byte aligned, so every
 * vector kernel starts on a cache line), He-uniform initialisation from
 * fl_rng, copies.
 */
#include "fl/internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/*
 * fl_malloc has no aligned variant, so the block is over-allocated and the
 * address fl_malloc returned is kept in the word just below the aligned
 * start. Going through fl_malloc keeps the failure-injection hook working.
 */
float *fl_floats_alloc(size_t n)
{
	const size_t slack = FL_FLOAT_ALIGN + sizeof(void *);
	uint8_t *raw;
	uintptr_t start;

	if (n > (SIZE_MAX - slack) / sizeof(float))
		return NULL;
	raw = fl_malloc(n * sizeof(float) + slack);
	if (raw == NULL)
		return NULL;
	start = ((uintptr_t)raw + sizeof(void *) + FL_FLOAT_ALIGN - 1) &
		~(uintptr_t)(FL_FLOAT_ALIGN - 1);
	memcpy((uint8_t *)start - sizeof(void *), &raw, sizeof(void *));
	return (float *)start;
}

void fl_floats_free(float *p)
{
	void *raw;

	if (p == NULL)
		return;
	memcpy(&raw, (uint8_t *)p - sizeof(void *), sizeof(void *));
	fl_free(raw);
}

int fl_spec_equal(const fl_spec *a, const fl_spec *b)
{
	if (a->n_layers != b->n_layers || a->n_layers > FL_MAX_LAYERS)
		return 0;
	for (uint32_t i = 0; i <= a->n_layers; i++)
		if (a->sizes[i] != b->sizes[i])
			return 0;
	for (uint32_t i = 0; i < a->n_layers; i++)
		if (a->act[i] != b->act[i])
			return 0;
	return 1;
}

int fl_model_new(fl_model *m, const fl_spec *spec)
{
	int rc;

	assert(m != NULL && spec != NULL);
	memset(m, 0, sizeof(*m));
	rc = fl_spec_check(spec);
	if (rc != FL_OK)
		return rc;
	m->n_params = fl_spec_params(spec);
	m->params = fl_floats_alloc(m->n_params);
	if (m->params == NULL) {
		m->n_params = 0;
		return FL_ENOMEM;
	}
	memset(m->params, 0, m->n_params * sizeof(float));
	m->spec = *spec;
	return FL_OK;
}

/*
 * He-uniform: U(-limit, limit) with limit = sqrt(6 / fan_in), which keeps
 * the variance of ReLU activations constant from layer to layer. Computed
 * in double and rounded once to float, drawing weights in memory order, so
 * the bytes depend only on (spec, seed): round 1's base model is the same
 * on every node.
 */
int fl_model_init(fl_model *m, const fl_spec *spec, uint64_t seed)
{
	fl_rng rng;
	int rc = fl_model_new(m, spec);

	if (rc != FL_OK)
		return rc;
	fl_rng_seed(&rng, seed);
	for (uint32_t l = 0; l < spec->n_layers; l++) {
		float *w = m->params + fl_spec_layer_offset(spec, l);
		size_t n = (size_t)spec->sizes[l] * spec->sizes[l + 1];
		double limit = sqrt(6.0 / (double)spec->sizes[l]);

		for (size_t i = 0; i < n; i++)
			w[i] = (float)((2.0 * fl_rng_uniform(&rng) - 1.0) * limit);
		/* Biases stay zero from fl_model_new. */
	}
	return FL_OK;
}

int fl_model_copy(fl_model *dst, const fl_model *src)
{
	int rc;

	assert(dst != NULL && src != NULL && dst != src);
	rc = fl_model_new(dst, &src->spec);
	if (rc != FL_OK)
		return rc;
	assert(dst->n_params == src->n_params);
	memcpy(dst->params, src->params, src->n_params * sizeof(float));
	return FL_OK;
}

void fl_model_free(fl_model *m)
{
	if (m == NULL)
		return;
	fl_floats_free(m->params);
	memset(m, 0, sizeof(*m));
}
