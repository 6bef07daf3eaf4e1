/*
 * chain/spec.c — sizes derived from a model spec: parameter count and forward
 * FLOPs. Profiles show them and profile checks bound them; saturating
 * arithmetic keeps a hostile spec from wrapping round to a small number.
 */
#include "chain/chain.h"

#include <assert.h>

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	if (a != 0 && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

/* Layers past CHAIN_MAX_LAYERS do not exist; a bad n_layers is clamped here
 * and rejected by chain_profile_check. */
static uint32_t layer_count(const chain_model_spec *spec)
{
	return spec->n_layers > CHAIN_MAX_LAYERS ? CHAIN_MAX_LAYERS : spec->n_layers;
}

uint64_t chain_model_spec_params(const chain_model_spec *spec)
{
	uint64_t total = 0;

	assert(spec != NULL);
	for (uint32_t i = 0; i < layer_count(spec); i++) {
		uint64_t in = spec->sizes[i], out = spec->sizes[i + 1];
		/* weights in x out, plus one bias per output */
		total = add_sat(total, add_sat(mul_sat(in, out), out));
	}
	return total;
}

uint64_t chain_model_spec_flops(const chain_model_spec *spec)
{
	uint64_t total = 0;

	assert(spec != NULL);
	for (uint32_t i = 0; i < layer_count(spec); i++)
		total = add_sat(total, mul_sat(2, mul_sat(spec->sizes[i], spec->sizes[i + 1])));
	return total;
}
