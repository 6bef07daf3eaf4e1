/*
 * fl/spec.c — model specs: parsing "784-200-200-10", checks, and the sizes
 * derived from a spec (parameter count, FLOPs, the parameter layout).
 */
#include "fl/fl.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

int fl_spec_check(const fl_spec *spec)
{
	size_t params = 0;

	assert(spec != NULL);
	if (spec->n_layers < 1 || spec->n_layers > FL_MAX_LAYERS)
		return FL_EINVAL;
	for (uint32_t i = 0; i <= spec->n_layers; i++)
		if (spec->sizes[i] < 1 || spec->sizes[i] > FL_MAX_WIDTH)
			return FL_EINVAL;
	/* A softmax over one class is constant: nothing to learn. */
	if (spec->sizes[spec->n_layers] < 2)
		return FL_EINVAL;
	for (uint32_t i = 0; i < spec->n_layers; i++) {
		if (spec->act[i] != FL_ACT_NONE && spec->act[i] != FL_ACT_RELU)
			return FL_EINVAL;
		/* Widths are <= 2^16, so each product fits in 2^32 + 2^16. */
		params += (size_t)spec->sizes[i] * spec->sizes[i + 1] + spec->sizes[i + 1];
		if (params > FL_MAX_PARAMS)
			return FL_ETOOBIG;
	}
	if (spec->act[spec->n_layers - 1] != FL_ACT_NONE)
		return FL_EINVAL;
	return FL_OK;
}

int fl_spec_parse(fl_spec *out, const char *text)
{
	fl_spec spec;
	const char *p;
	uint32_t n = 0;

	assert(out != NULL && text != NULL);
	p = text;
	memset(&spec, 0, sizeof(spec));
	for (;;) {
		uint64_t v = 0;
		const char *start = p;

		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p - '0');
			if (v > FL_MAX_WIDTH)
				return FL_EINVAL;
			p++;
		}
		if (p == start || (*start == '0' && p - start > 1))
			return FL_EPARSE;
		if (n > FL_MAX_LAYERS)
			return FL_EINVAL;
		spec.sizes[n++] = (uint32_t)v;
		if (*p == '\0')
			break;
		if (*p != '-')
			return FL_EPARSE;
		p++;
	}
	if (n < 2)
		return FL_EPARSE;
	spec.n_layers = n - 1;
	for (uint32_t i = 0; i + 1 < spec.n_layers; i++)
		spec.act[i] = FL_ACT_RELU;
	spec.act[spec.n_layers - 1] = FL_ACT_NONE;
	if (fl_spec_check(&spec) != FL_OK)
		return FL_EINVAL;
	*out = spec;
	return FL_OK;
}

void fl_spec_format(char *out, size_t len, const fl_spec *spec)
{
	size_t used = 0;

	assert(out != NULL && len > 0 && spec != NULL);
	out[0] = '\0';
	for (uint32_t i = 0; i <= spec->n_layers && i <= FL_MAX_LAYERS; i++) {
		int w = snprintf(out + used, len - used, i ? "-%u" : "%u", spec->sizes[i]);

		if (w < 0 || (size_t)w >= len - used)
			return; /* truncated, still NUL-terminated */
		used += (size_t)w;
	}
}

size_t fl_spec_params(const fl_spec *spec)
{
	size_t n = 0;

	for (uint32_t i = 0; i < spec->n_layers; i++)
		n += (size_t)spec->sizes[i] * spec->sizes[i + 1] + spec->sizes[i + 1];
	return n;
}

uint64_t fl_spec_flops(const fl_spec *spec)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < spec->n_layers; i++)
		n += 2 * (uint64_t)spec->sizes[i] * spec->sizes[i + 1];
	return n;
}

size_t fl_spec_layer_offset(const fl_spec *spec, uint32_t layer)
{
	size_t off = 0;

	assert(layer < spec->n_layers);
	for (uint32_t i = 0; i < layer; i++)
		off += (size_t)spec->sizes[i] * spec->sizes[i + 1] + spec->sizes[i + 1];
	return off;
}
