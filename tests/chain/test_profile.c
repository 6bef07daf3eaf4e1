/*
 * tests/chain/test_profile.c — model spec sizes, chain_id_valid, and
 * chain_profile_check naming exactly the field that is out of range; the
 * profile codec's round trip and refusals.
 */
#include "chain/internal.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <string.h>

Test(profile, model_spec_sizes)
{
	chain_model_spec m = {.n_layers = 2, .sizes = {784, 32, 10}};

	/* 784*32 + 32 + 32*10 + 10 */
	cr_assert_eq(chain_model_spec_params(&m), 25450);
	/* 2*784*32 + 2*32*10 */
	cr_assert_eq(chain_model_spec_flops(&m), 50816);
	m.n_layers = 1;
	m.sizes[1] = 10;
	cr_assert_eq(chain_model_spec_params(&m), 7850);
	cr_assert_eq(chain_model_spec_flops(&m), 15680);
}

Test(profile, model_spec_sizes_saturate)
{
	chain_model_spec m = {.n_layers = CHAIN_MAX_LAYERS};

	for (int i = 0; i <= CHAIN_MAX_LAYERS; i++)
		m.sizes[i] = UINT32_MAX;
	cr_assert_eq(chain_model_spec_params(&m), UINT64_MAX);
	cr_assert_eq(chain_model_spec_flops(&m), UINT64_MAX);
	m.n_layers = 1000; /* out of range: clamped, not read past the arrays */
	cr_assert_eq(chain_model_spec_params(&m), UINT64_MAX);
}

Test(profile, id_valid)
{
	cr_assert(chain_id_valid("mnist", CHAIN_PROFILE_ID_MAX));
	cr_assert(chain_id_valid("a.b_c-9", CHAIN_PROFILE_ID_MAX));
	cr_assert(chain_id_valid("0", 1));
	cr_assert_not(chain_id_valid("", CHAIN_PROFILE_ID_MAX));
	cr_assert_not(chain_id_valid("ab", 1));
	cr_assert_not(chain_id_valid("Mnist", CHAIN_PROFILE_ID_MAX));
	cr_assert_not(chain_id_valid("a b", CHAIN_PROFILE_ID_MAX));
	cr_assert_not(chain_id_valid("a/b", CHAIN_PROFILE_ID_MAX));
	cr_assert_not(chain_id_valid(NULL, CHAIN_PROFILE_ID_MAX));
	cr_assert(chain_id_valid("abcdefghijklmnopqrstuvwxyz012345", 32));
	cr_assert_not(chain_id_valid("abcdefghijklmnopqrstuvwxyz0123456", 32));
}

Test(profile, sample_passes)
{
	chain_profile p;
	const char *field = "untouched";

	chain_sample_profile(&p, "mnist");
	cr_assert_eq(chain_profile_check(&p, &field), FL_OK);
	cr_assert_null(field);
}

typedef struct {
	const char *field;
	void (*change)(chain_profile *p);
} bad_case;

#define BAD(fn, stmt)                                                                              \
	static void fn(chain_profile *p)                                                           \
	{                                                                                          \
		stmt;                                                                              \
	}

BAD(b_id, strcpy(p->id, "MNIST"))
BAD(b_id_empty, p->id[0] = '\0')
BAD(b_parent, strcpy(p->parent, "not an id"))
BAD(b_parent_self, strcpy(p->parent, p->id))
BAD(b_name, p->name[0] = '\0')
BAD(b_name_ctl, p->name[1] = '\n')
BAD(b_data_type, p->data_type[0] = '\0')
BAD(b_data_type_upper, p->data_type[0] = 'I')
BAD(b_data_type_space, p->data_type[5] = ' ')
BAD(b_image_inputs, p->model.sizes[0] = 783)
BAD(b_accuracy_zero, p->metric_target = 0)
BAD(b_n_labels, p->n_labels = 0)
BAD(b_n_labels_big, p->n_labels = CHAIN_MAX_LABELS + 1)
BAD(b_labels, p->labels[5] = 4)
/* label 9 would index an output the model does not have */
BAD(b_label_no_output, p->model.sizes[2] = 9)
BAD(b_n_summary, p->n_summary = CHAIN_SUMMARY_MAX + 1)
BAD(b_summary, p->summary[3] = CHAIN_SUMMARY_ABS_MAX + 1)
BAD(b_task, p->task = 2)
BAD(b_metric, p->metric = 0)
BAD(b_metric_target, p->metric_target = CHAIN_PPM + 1)
BAD(b_latency_target, (p->metric = CHAIN_METRIC_LATENCY, p->metric_target = 0))
BAD(b_n_layers, p->model.n_layers = 0)
BAD(b_n_layers_big, p->model.n_layers = CHAIN_MAX_LAYERS + 1)
BAD(b_size0, p->model.sizes[0] = 0)
BAD(b_size2, p->model.sizes[2] = CHAIN_MAX_LAYER_WIDTH + 1)
BAD(b_output, p->model.sizes[2] = 1)
BAD(b_activation0, p->model.activations[0] = 7)
BAD(b_last_activation, p->model.activations[1] = CHAIN_ACT_RELU)
BAD(b_model_params, (p->model.sizes[0] = 65536, p->model.sizes[1] = 65536))
BAD(b_epochs, p->local_epochs = 0)
BAD(b_epochs_big, p->local_epochs = 1001)
BAD(b_batch, p->batch_size = 65537)
BAD(b_lr, p->lr_ppm = 0)
BAD(b_lr_big, p->lr_ppm = 10 * CHAIN_PPM + 1)
BAD(b_momentum, p->momentum_ppm = CHAIN_PPM)
BAD(b_decay, p->weight_decay_ppm = CHAIN_PPM)
BAD(b_prox, p->prox_mu_ppm = 10 * CHAIN_PPM + 1)
BAD(b_rule, p->agg_rule = 6)
BAD(b_fedavg_param, p->agg_param = 1)
BAD(b_trimmed, (p->agg_rule = CHAIN_AGG_TRIMMED_MEAN, p->agg_param = CHAIN_PPM / 2))
BAD(b_trimmed_zero, (p->agg_rule = CHAIN_AGG_TRIMMED_MEAN, p->agg_param = 0))
BAD(b_krum, (p->agg_rule = CHAIN_AGG_MULTIKRUM, p->agg_param = CHAIN_MAX_PARTICIPANTS / 2))
BAD(b_norm, (p->agg_rule = CHAIN_AGG_NORM_BOUND, p->agg_param = 0))
BAD(b_server_momentum, p->server_momentum_ppm = CHAIN_PPM)
BAD(b_noise, p->dp_clip_ppm = 0)
BAD(b_secure, p->secure_agg = 2)
BAD(b_window, p->window_blocks = 0)
BAD(b_window_big, p->window_blocks = 100001)
BAD(b_deadline, p->deadline_blocks = 0)
BAD(b_min, p->min_participants = 0)
BAD(b_min_big, p->min_participants = CHAIN_MAX_PARTICIPANTS + 1)
BAD(b_share, p->coordinator_share_bps = CHAIN_BPS + 1)
BAD(b_max_weight, p->max_samples_weight = 0)

static const bad_case bad_cases[] = {
    {"id", b_id},
    {"id", b_id_empty},
    {"parent", b_parent},
    {"parent", b_parent_self},
    {"name", b_name},
    {"name", b_name_ctl},
    {"data_type", b_data_type},
    {"n_labels", b_n_labels},
    {"n_labels", b_n_labels_big},
    {"labels", b_labels},
    {"labels", b_label_no_output},
    {"n_summary", b_n_summary},
    {"summary", b_summary},
    {"task", b_task},
    {"metric", b_metric},
    {"metric_target", b_metric_target},
    {"metric_target", b_latency_target},
    {"model.n_layers", b_n_layers},
    {"model.n_layers", b_n_layers_big},
    {"model.sizes[0]", b_size0},
    {"model.sizes[2]", b_size2},
    {"model.sizes[2]", b_output},
    {"model.activations[0]", b_activation0},
    {"model.activations[1]", b_last_activation},
    {"model", b_model_params},
    {"local_epochs", b_epochs},
    {"local_epochs", b_epochs_big},
    {"batch_size", b_batch},
    {"lr_ppm", b_lr},
    {"lr_ppm", b_lr_big},
    {"momentum_ppm", b_momentum},
    {"weight_decay_ppm", b_decay},
    {"prox_mu_ppm", b_prox},
    {"agg_rule", b_rule},
    {"agg_param", b_fedavg_param},
    {"agg_param", b_trimmed},
    {"agg_param", b_trimmed_zero},
    {"data_type", b_data_type_upper},
    {"data_type", b_data_type_space},
    {"model.sizes[0]", b_image_inputs},
    {"metric_target", b_accuracy_zero},
    {"agg_param", b_krum},
    {"agg_param", b_norm},
    {"server_momentum_ppm", b_server_momentum},
    {"dp_noise_ppm", b_noise},
    {"secure_agg", b_secure},
    {"window_blocks", b_window},
    {"window_blocks", b_window_big},
    {"deadline_blocks", b_deadline},
    {"min_participants", b_min},
    {"min_participants", b_min_big},
    {"coordinator_share_bps", b_share},
    {"max_samples_weight", b_max_weight},
};

Test(profile, check_names_the_bad_field)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(bad_cases); i++) {
		chain_profile p;
		const char *field = NULL;
		fl_writer w;

		chain_sample_profile(&p, "mnist");
		bad_cases[i].change(&p);
		cr_assert_eq(chain_profile_check(&p, &field), FL_EINVAL, "case %zu (%s)", i,
			     bad_cases[i].field);
		cr_assert_not_null(field, "case %zu", i);
		cr_assert_str_eq(field, bad_cases[i].field, "case %zu", i);
		/* and the encoder will not write it */
		fl_writer_init(&w, 0);
		cr_assert_eq(chain_profile_encode(&w, &p), FL_EINVAL);
		cr_assert_eq(w.len, 0);
		fl_writer_free(&w);
	}
}

Test(profile, edges_that_pass)
{
	chain_profile p;
	const char *field;

	chain_sample_profile(&p, "mnist");
	p.agg_rule = CHAIN_AGG_TRIMMED_MEAN;
	p.agg_param = CHAIN_PPM / 2 - 1;
	cr_assert_eq(chain_profile_check(&p, &field), FL_OK);
	p.agg_rule = CHAIN_AGG_MULTIKRUM;
	p.agg_param = CHAIN_MAX_PARTICIPANTS / 2 - 1;
	cr_assert_eq(chain_profile_check(&p, &field), FL_OK);
	p.agg_rule = CHAIN_AGG_MEDIAN;
	p.agg_param = 0;
	p.dp_noise_ppm = 0;
	p.dp_clip_ppm = 0;
	p.metric_target = CHAIN_PPM;
	p.n_summary = 0;
	p.parent[0] = '\0';
	p.window_blocks = 100000;
	p.coordinator_share_bps = CHAIN_BPS;
	cr_assert_eq(chain_profile_check(&p, &field), FL_OK);
	/* A tabular type: the image type would pin the inputs to 784. */
	strcpy(p.data_type, "tabular/16");
	p.model.n_layers = CHAIN_MAX_LAYERS;
	for (int i = 0; i <= CHAIN_MAX_LAYERS; i++)
		p.model.sizes[i] = 16;
	for (int i = 0; i < CHAIN_MAX_LAYERS; i++)
		p.model.activations[i] = CHAIN_ACT_RELU;
	p.model.activations[CHAIN_MAX_LAYERS - 1] = CHAIN_ACT_NONE;
	cr_assert_eq(chain_profile_check(&p, &field), FL_OK);
	p.model.sizes[CHAIN_MAX_LAYERS] = 0;
	cr_assert_eq(chain_profile_check(&p, &field), FL_EINVAL);
	cr_assert_str_eq(field, "model.sizes[8]");
}

Test(profile, codec_round_trip)
{
	chain_profile p, back;
	fl_writer w, w2;
	fl_reader r;

	chain_sample_profile(&p, "mnist");
	strcpy(p.parent, "base");
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_profile_encode(&w, &p), FL_OK);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_profile_decode(&r, &back), FL_OK);
	cr_assert_eq(fl_reader_finish(&r), FL_OK);
	cr_assert_eq(memcmp(&p, &back, sizeof(p)), 0, "the sample is zero-padded like a decode");
	fl_writer_init(&w2, 0);
	cr_assert_eq(chain_profile_encode(&w2, &back), FL_OK);
	cr_assert_eq(w.len, w2.len);
	cr_assert_arr_eq(w.buf, w2.buf, w.len);
	for (size_t len = 0; len < w.len; len++) {
		fl_reader_init(&r, w.buf, len);
		cr_assert_eq(chain_profile_decode(&r, &back), FL_ETRUNC, "cut at %zu", len);
	}
	fl_writer_free(&w);
	fl_writer_free(&w2);
}

Test(profile, decode_refuses_out_of_range)
{
	chain_profile p, back;
	fl_writer w;
	fl_reader r;
	size_t off;

	chain_sample_profile(&p, "mnist");
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_profile_encode(&w, &p), FL_OK);
	/* the last field, max_samples_weight (u32), set to 0 */
	off = w.len - 4;
	memset(w.buf + off, 0, 4);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_profile_decode(&r, &back), FL_EINVAL);
	cr_assert_eq(r.err, FL_EINVAL, "the reader keeps the error");
	fl_writer_free(&w);

	/* secure_agg is a canonical boolean: the byte before the schedule */
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_profile_encode(&w, &p), FL_OK);
	off = w.len - 4 - 4 - 8 - 4 - 4 - 4 - 1;
	cr_assert_eq(w.buf[off], 1);
	w.buf[off] = 2;
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_profile_decode(&r, &back), FL_ENONCANON);
	fl_writer_free(&w);
}
