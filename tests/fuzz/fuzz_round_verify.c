/*
 * fuzz_round_verify — a validator's recomputation of an aggregate
 * (node/round_work.h) and the base model it starts from, on hostile blobs.
 *
 * The whole input is tried as a base model blob under its own hash: what
 * node_round_base_model accepts has the profile's spec and re-encodes to
 * exactly the input. Then the input is read as
 *   u8 flags (bits 0-1: rule, bits 2-3: blobs - 1, bit 4: hostile weights),
 *   then per blob a u16 little-endian length and that many bytes,
 * and each blob is an update committed under its own hash (n_samples as it
 * claims, so the decoder is reached and passed). Beyond "never crash or
 * leak": what the coordinator aggregates, a validator verifies (FL_OK, the
 * same new model) and a tampered new_model is NODE_ROUND_MISMATCH; hostile
 * weights give only the documented verdicts.
 */
#include "node/round_work.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BLOBS 4

static void check(int cond)
{
	if (!cond)
		abort();
}

/* A small profile, 4-3-2, so that fuzzed blobs can be whole updates. */
static void profile(chain_profile *p, uint8_t rule)
{
	static const uint8_t rules[4] = {CHAIN_AGG_FEDAVG, CHAIN_AGG_MEDIAN, CHAIN_AGG_TRIMMED_MEAN,
					 CHAIN_AGG_NORM_BOUND};

	memset(p, 0, sizeof(*p));
	strcpy(p->id, "fuzz");
	strcpy(p->name, "fuzz");
	strcpy(p->data_type, "tabular/4");
	p->n_labels = 2;
	p->labels[0] = 0;
	p->labels[1] = 1;
	p->task = CHAIN_TASK_CLASSIFICATION;
	p->metric = CHAIN_METRIC_ACCURACY;
	p->metric_target = 500000;
	p->model.n_layers = 2;
	p->model.sizes[0] = 4;
	p->model.sizes[1] = 3;
	p->model.sizes[2] = 2;
	p->model.activations[0] = CHAIN_ACT_RELU;
	p->init_seed = 1;
	p->local_epochs = 1;
	p->batch_size = 4;
	p->lr_ppm = 100000;
	p->agg_rule = rules[rule & 3];
	if (p->agg_rule == CHAIN_AGG_TRIMMED_MEAN)
		p->agg_param = 200000;
	if (p->agg_rule == CHAIN_AGG_NORM_BOUND)
		p->agg_param = 1000000;
	p->window_blocks = 1;
	p->deadline_blocks = 1;
	p->min_participants = 1;
	p->max_samples_weight = 1000;
}

static void check_base(const node_round_params *rp, const uint8_t *data, size_t size)
{
	fl_model m;
	fl_hash h;
	uint8_t *out;
	size_t n;
	int rc;

	fl_sha256(&h, data, size);
	rc = node_round_base_model(&m, rp, 1, &h, data, size);
	check(rc == FL_OK || rc == FL_ECORRUPT || rc == FL_ENOMEM);
	if (rc == FL_OK) {
		check(m.spec.n_layers == rp->spec.n_layers && m.n_params == 4 * 3 + 3 + 3 * 2 + 2);
		check(fl_blob_encode_model(&out, &n, &m) == FL_OK);
		check(n == size && memcmp(out, data, size) == 0);
		fl_free(out);
	}
	fl_model_free(&m);
}

/* Aggregate, verify what was aggregated, then a tampered result. */
static void check_round(const node_round_params *rp, const chain_profile *p, const fl_model *base,
			const node_round_input *in, size_t n, uint8_t flags, const uint8_t *noise)
{
	node_round_aggregate_result agg;
	node_round_input_status st[MAX_BLOBS];
	node_round_input sorted[MAX_BLOBS];
	chain_tx_aggregate_commit a;
	fl_hash rec;
	uint8_t *blob;
	size_t blob_n;
	const char *why;
	int rc;

	rc = node_round_aggregate(&agg, rp, p, base, in, n, st);
	check(rc == FL_OK || rc == FL_EINVAL || rc == FL_ENOMEM);
	if (rc != FL_OK)
		return;
	memset(&a, 0, sizeof(a));
	strcpy(a.profile, p->id);
	a.new_model = agg.hash;
	a.n_entries = agg.n_entries;
	a.entries = agg.entries;
	for (uint32_t i = 0; i < agg.n_entries; i++)
		for (size_t k = 0; k < n; k++)
			if (st[k] == NODE_ROUND_IN_OK &&
			    fl_pubkey_cmp(&in[k].participant, &agg.entries[i].participant) == 0)
				sorted[i] = in[k];
	rc = node_round_verify(rp, p, base, &a, sorted, &rec, &blob, &blob_n, &why);
	check(rc == FL_OK || rc == FL_ENOMEM);
	if (rc == FL_OK) {
		check(blob_n == agg.n && memcmp(blob, agg.blob, blob_n) == 0);
		fl_free(blob);
	}
	a.new_model.b[0] ^= 1;
	rc = node_round_verify(rp, p, base, &a, sorted, &rec, NULL, NULL, &why);
	check(rc == NODE_ROUND_MISMATCH || rc == FL_ENOMEM);
	check(rc != NODE_ROUND_MISMATCH || memcmp(rec.b, agg.hash.b, sizeof(rec.b)) == 0);
	if (flags & 0x10) {
		for (uint32_t i = 0; i < agg.n_entries; i++)
			agg.entries[i].weight = noise[i % 4];
		rc = node_round_verify(rp, p, base, &a, sorted, &rec, NULL, NULL, &why);
		check(rc == FL_OK || rc == NODE_ROUND_MISMATCH || rc == FL_EINVAL ||
		      rc == FL_ENOMEM);
		check(rc == FL_OK || why != NULL);
	}
	node_round_aggregate_result_free(&agg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chain_profile p;
	node_round_params rp;
	node_round_input in[MAX_BLOBS];
	fl_model base;
	fl_hash zero;
	const char *field;
	size_t at = 1, n = 0;
	uint8_t flags, noise[4] = {0, 1, 7, 255};

	if (size < 1)
		return 0;
	flags = data[0];
	profile(&p, flags);
	check(node_round_params_from_profile(&rp, &p, &field) == FL_OK);
	check_base(&rp, data, size);

	memset(in, 0, sizeof(in));
	for (size_t k = 0; k <= ((flags >> 2) & 3u) && at + 2 <= size; k++) {
		size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
		fl_update u;

		at += 2;
		if (len > size - at)
			len = size - at;
		memset(in[n].participant.b, (int)(0x10 + k), sizeof(in[n].participant.b));
		in[n].blob = data + at;
		in[n].n = len;
		fl_sha256(&in[n].hash, in[n].blob, len);
		in[n].n_samples = 1;
		if (fl_blob_decode_update(&u, in[n].blob, len) == FL_OK)
			in[n].n_samples = u.n_samples;
		fl_update_free(&u);
		at += len;
		n++;
	}
	if (size - at >= 4)
		memcpy(noise, data + size - 4, 4);
	if (n == 0)
		return 0;
	memset(&zero, 0, sizeof(zero));
	check(node_round_base_model(&base, &rp, p.init_seed, &zero, NULL, 0) == FL_OK);
	check_round(&rp, &p, &base, in, n, flags, noise);
	fl_model_free(&base);
	return 0;
}
