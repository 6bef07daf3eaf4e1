/*
 * fl/share.c — what turns a loaded data set into one member's share, the
 * same way for fedledger-sim (tools/sim.c) and for a node (node/round_data.c):
 * the profile's labels first, then the partition, then the per-client cap.
 * Both call these, so a node's share of a round is sim's share for the same
 * flags, sample for sample and in the same order (the trainer shuffles from
 * that order, so the order is part of the result).
 */
#include "fl/fl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int fl_dataset_restrict(fl_dataset *out, const fl_dataset *in, const uint16_t *labels,
			size_t n_labels)
{
	uint32_t *idx = NULL;
	size_t n = 0;
	int rc;

	assert(out != NULL && in != NULL && out != in && (labels != NULL || n_labels == 0));
	memset(out, 0, sizeof(*out));
	if (n_labels > 0) {
		if ((rc = fl_select_labels(&idx, &n, in, labels, n_labels)) != FL_OK)
			return rc;
	} else {
		if (in->n > UINT32_MAX)
			return FL_EINVAL;
		n = in->n;
		if ((idx = fl_malloc((n > 0 ? n : 1) * sizeof(*idx))) == NULL)
			return FL_ENOMEM;
		for (size_t i = 0; i < n; i++)
			idx[i] = (uint32_t)i;
	}
	rc = fl_dataset_subset(out, in, idx, n);
	fl_free(idx);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void fl_partition_cap(fl_partition *p, uint32_t client, uint64_t max, uint64_t seed)
{
	uint32_t *idx;
	size_t n;
	fl_rng rng;

	assert(p != NULL && client < p->n_clients);
	idx = p->idx[client];
	n = p->n[client];
	if (max == 0 || n <= max)
		return;
	/* A stream of the client's own; round 0 is never a training round, so
	 * this never repeats a stream the trainer draws from. */
	fl_rng_derive(&rng, seed, 0, client);
	for (size_t i = 0; i < max; i++) {
		size_t j = i + fl_rng_below(&rng, (uint32_t)(n - i));
		uint32_t t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
	p->n[client] = (size_t)max;
	/* Ascending again, as every partition leaves its lists. */
	qsort(idx, (size_t)max, sizeof(*idx), cmp_u32);
}
