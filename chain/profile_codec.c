/*
 * chain/profile_codec.c — the canonical encoding of a specialization profile
 * (docs/encoding.md, "profile"). It is the body of profile_propose and a
 * part of the genesis encoding; the store keeps it as well.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

static void write_model(fl_writer *w, const chain_model_spec *m)
{
	fl_write_varint(w, m->n_layers);
	for (uint32_t i = 0; i <= m->n_layers && i <= CHAIN_MAX_LAYERS; i++)
		fl_write_u32(w, m->sizes[i]);
	for (uint32_t i = 0; i < m->n_layers && i < CHAIN_MAX_LAYERS; i++)
		fl_write_u8(w, m->activations[i]);
}

static int write_profile(fl_writer *w, const chain_profile *p)
{
	const char *field;
	int rc;

	assert(w != NULL && p != NULL);
	if ((rc = chain_profile_check(p, &field)) != 0)
		return rc;
	fl_write_str(w, p->id, CHAIN_PROFILE_ID_MAX);
	fl_write_str(w, p->parent, CHAIN_PROFILE_ID_MAX);
	fl_write_str(w, p->name, CHAIN_NAME_MAX);
	fl_write_str(w, p->data_type, CHAIN_DATA_TYPE_MAX);
	chain_write_labels(w, p->labels, p->n_labels);
	chain_write_summary(w, p->summary, p->n_summary);
	fl_write_u8(w, p->task);
	fl_write_u8(w, p->metric);
	fl_write_u64(w, p->metric_target);
	write_model(w, &p->model);
	fl_write_u64(w, p->init_seed);
	fl_write_u32(w, p->local_epochs);
	fl_write_u32(w, p->batch_size);
	fl_write_u32(w, p->lr_ppm);
	fl_write_u32(w, p->momentum_ppm);
	fl_write_u32(w, p->weight_decay_ppm);
	fl_write_u32(w, p->prox_mu_ppm);
	fl_write_u8(w, p->agg_rule);
	fl_write_u32(w, p->agg_param);
	fl_write_u32(w, p->server_momentum_ppm);
	fl_write_u32(w, p->dp_clip_ppm);
	fl_write_u32(w, p->dp_noise_ppm);
	fl_write_bool(w, p->secure_agg);
	fl_write_u32(w, p->window_blocks);
	fl_write_u32(w, p->deadline_blocks);
	fl_write_u32(w, p->min_participants);
	fl_write_u64(w, p->reward_per_round);
	fl_write_u32(w, p->coordinator_share_bps);
	return fl_write_u32(w, p->max_samples_weight);
}

int chain_profile_encode(fl_writer *w, const chain_profile *p)
{
	return chain_writer_fail(w, write_profile(w, p));
}

static int read_model(fl_reader *r, chain_model_spec *m)
{
	size_t n = 0;
	int rc;

	/* Zero layers is out of range but still reads as a count. */
	if ((rc = fl_read_count(r, &n, CHAIN_MAX_LAYERS)) != 0)
		return rc;
	m->n_layers = (uint32_t)n;
	for (size_t i = 0; i <= n; i++)
		fl_read_u32(r, &m->sizes[i]);
	for (size_t i = 0; i < n; i++)
		fl_read_u8(r, &m->activations[i]);
	return r->err;
}

int chain_profile_decode(fl_reader *r, chain_profile *p)
{
	const char *field;
	int secure = 0;
	int rc;

	assert(r != NULL && p != NULL);
	memset(p, 0, sizeof(*p));
	fl_read_str(r, p->id, CHAIN_PROFILE_ID_MAX);
	fl_read_str(r, p->parent, CHAIN_PROFILE_ID_MAX);
	fl_read_str(r, p->name, CHAIN_NAME_MAX);
	fl_read_str(r, p->data_type, CHAIN_DATA_TYPE_MAX);
	if ((rc = r->err) != 0)
		return rc;
	if ((rc = chain_read_labels(r, p->labels, &p->n_labels)) != 0)
		return rc;
	if ((rc = chain_read_summary(r, p->summary, &p->n_summary)) != 0)
		return rc;
	fl_read_u8(r, &p->task);
	fl_read_u8(r, &p->metric);
	fl_read_u64(r, &p->metric_target);
	if ((rc = read_model(r, &p->model)) != 0)
		return rc;
	fl_read_u64(r, &p->init_seed);
	fl_read_u32(r, &p->local_epochs);
	fl_read_u32(r, &p->batch_size);
	fl_read_u32(r, &p->lr_ppm);
	fl_read_u32(r, &p->momentum_ppm);
	fl_read_u32(r, &p->weight_decay_ppm);
	fl_read_u32(r, &p->prox_mu_ppm);
	fl_read_u8(r, &p->agg_rule);
	fl_read_u32(r, &p->agg_param);
	fl_read_u32(r, &p->server_momentum_ppm);
	fl_read_u32(r, &p->dp_clip_ppm);
	fl_read_u32(r, &p->dp_noise_ppm);
	fl_read_bool(r, &secure);
	p->secure_agg = (uint8_t)secure;
	fl_read_u32(r, &p->window_blocks);
	fl_read_u32(r, &p->deadline_blocks);
	fl_read_u32(r, &p->min_participants);
	fl_read_u64(r, &p->reward_per_round);
	fl_read_u32(r, &p->coordinator_share_bps);
	if ((rc = fl_read_u32(r, &p->max_samples_weight)) != 0)
		return rc;
	return chain_reader_fail(r, chain_profile_check(p, &field));
}
