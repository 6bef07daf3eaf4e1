/* tests/support/chain_sample.c — valid sample chain values (chain_sample.h). */
#include "tests/support/chain_sample.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chain_sample_key(fl_seckey *sk, fl_pubkey *pk, uint8_t seed)
{
	fl_seckey local;

	if (sk == NULL)
		sk = &local;
	memset(sk->b, seed, sizeof(sk->b));
	/* Every seed 1..254 is a valid scalar: 0xfefe… is below the group order. */
	if (pk != NULL && fl_key_public(pk, sk) != 0)
		abort();
}

static void sample_hash(fl_hash *h, uint8_t tag)
{
	fl_sha256(h, &tag, 1);
}

void chain_sample_profile(chain_profile *p, const char *id)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->name, sizeof(p->name), "Handwritten digits %s", id);
	snprintf(p->data_type, sizeof(p->data_type), "image/28x28x1");
	p->n_labels = 10;
	for (uint16_t i = 0; i < 10; i++)
		p->labels[i] = i;
	p->n_summary = 4;
	p->summary[0] = 130000;
	p->summary[1] = 310000;
	p->summary[2] = -5000;
	p->summary[3] = 1000000;
	p->task = CHAIN_TASK_CLASSIFICATION;
	p->metric = CHAIN_METRIC_ACCURACY;
	p->metric_target = 900000;
	p->model.n_layers = 2;
	p->model.sizes[0] = 784;
	p->model.sizes[1] = 32;
	p->model.sizes[2] = 10;
	p->model.activations[0] = CHAIN_ACT_RELU;
	p->model.activations[1] = CHAIN_ACT_NONE;
	p->init_seed = 42;
	p->local_epochs = 1;
	p->batch_size = 32;
	p->lr_ppm = 100000;
	p->momentum_ppm = 900000;
	p->weight_decay_ppm = 100;
	p->prox_mu_ppm = 10000;
	p->agg_rule = CHAIN_AGG_FEDAVG;
	p->agg_param = 0;
	p->server_momentum_ppm = 500000;
	p->dp_clip_ppm = 1000000;
	p->dp_noise_ppm = 500000;
	p->secure_agg = 1;
	p->window_blocks = 10;
	p->deadline_blocks = 5;
	p->min_participants = 2;
	p->reward_per_round = 1000000;
	p->coordinator_share_bps = 1000;
	p->max_samples_weight = 5000;
}

static int pubkey_qsort_cmp(const void *a, const void *b)
{
	return fl_pubkey_cmp(a, b);
}

/* The keys of seeds first..first+n-1, sorted as entries and commits need. */
static void sorted_keys(fl_pubkey *out, uint8_t first, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		chain_sample_key(NULL, &out[i], (uint8_t)(first + i));
	qsort(out, n, sizeof(*out), pubkey_qsort_cmp);
}

static int sample_aggregate(chain_tx_aggregate_commit *a)
{
	fl_pubkey keys[3];

	snprintf(a->profile, sizeof(a->profile), "mnist");
	a->round = 3;
	sample_hash(&a->base_model, 10);
	sample_hash(&a->new_model, 11);
	sorted_keys(keys, 2, 3);
	a->entries = fl_calloc(3, sizeof(*a->entries));
	if (a->entries == NULL)
		return FL_ENOMEM;
	a->n_entries = 3;
	for (uint32_t i = 0; i < 3; i++) {
		a->entries[i].participant = keys[i];
		sample_hash(&a->entries[i].update, (uint8_t)(20 + i));
		a->entries[i].weight = 100 * (i + 1);
	}
	a->eval_accuracy_ppm = 870000;
	a->eval_loss_ppm = 420000;
	return FL_OK;
}

static int sample_double_sign(chain_tx_evidence *e)
{
	fl_seckey sk;
	int rc;

	e->type = CHAIN_EVIDENCE_DOUBLE_SIGN;
	chain_sample_key(&sk, NULL, 4);
	e->vote_a.type = CHAIN_VOTE_PRECOMMIT;
	e->vote_a.height = 7;
	e->vote_a.round = 1;
	e->vote_b = e->vote_a;
	sample_hash(&e->vote_a.block_hash, 30);
	sample_hash(&e->vote_b.block_hash, 31);
	/* The encoding wants the pair in block-hash order. */
	if (fl_hash_cmp(&e->vote_a.block_hash, &e->vote_b.block_hash) > 0) {
		fl_hash t = e->vote_a.block_hash;
		e->vote_a.block_hash = e->vote_b.block_hash;
		e->vote_b.block_hash = t;
	}
	if ((rc = chain_vote_sign(&e->vote_a, CHAIN_SAMPLE_CHAIN_ID, &sk)) != 0)
		return rc;
	return chain_vote_sign(&e->vote_b, CHAIN_SAMPLE_CHAIN_ID, &sk);
}

static int sample_bad_aggregate(chain_tx_evidence *e)
{
	chain_tx inner;
	fl_writer w;
	int rc;

	e->type = CHAIN_EVIDENCE_BAD_AGGREGATE;
	fl_writer_init(&w, 0);
	if ((rc = chain_sample_signed_tx(&inner, CHAIN_TX_AGGREGATE_COMMIT, 0, 3)) != 0)
		goto cleanup;
	if ((rc = chain_tx_encode(&w, &inner)) != 0)
		goto cleanup;
	e->aggregate_tx = w.buf;
	e->aggregate_tx_len = (uint32_t)w.len;
	w.buf = NULL;
	sample_hash(&e->recomputed_model, 12);
cleanup:
	chain_tx_free(&inner);
	fl_writer_free(&w);
	return rc;
}

static int sample_body(chain_tx *tx, int kind, int variant)
{
	switch (kind) {
	case CHAIN_TX_TRANSFER:
		chain_sample_key(NULL, &tx->u.transfer.to, 2);
		tx->u.transfer.amount = 12345;
		return FL_OK;
	case CHAIN_TX_MEMBER_ADD:
	case CHAIN_TX_MEMBER_REMOVE:
		chain_sample_key(NULL, &tx->u.member.member, 7);
		snprintf(tx->u.member.name, sizeof(tx->u.member.name), "hospital-7");
		return FL_OK;
	case CHAIN_TX_PROFILE_PROPOSE:
		chain_sample_profile(&tx->u.profile_propose, "mnist.b");
		snprintf(tx->u.profile_propose.parent, CHAIN_PROFILE_ID_MAX + 1, "mnist");
		return FL_OK;
	case CHAIN_TX_PROFILE_VOTE:
		snprintf(tx->u.profile_vote.profile, CHAIN_PROFILE_ID_MAX + 1, "mnist.b");
		tx->u.profile_vote.choice = CHAIN_VOTE_YES;
		return FL_OK;
	case CHAIN_TX_ROUND_JOIN: {
		chain_tx_round_join *j = &tx->u.round_join;
		snprintf(j->profile, sizeof(j->profile), "mnist");
		j->n_labels = 3;
		j->n_samples = 0;
		for (uint32_t i = 0; i < 3; i++) {
			j->labels[i] = (uint16_t)(2 * i + 1);
			j->label_counts[i] = 100 + i;
			j->n_samples += j->label_counts[i];
		}
		j->n_summary = 2;
		j->summary[0] = 120000;
		j->summary[1] = -30000;
		return FL_OK;
	}
	case CHAIN_TX_UPDATE_COMMIT: {
		chain_tx_update_commit *u = &tx->u.update_commit;
		snprintf(u->profile, sizeof(u->profile), "mnist");
		u->round = 3;
		sample_hash(&u->base_model, 10);
		sample_hash(&u->update, 21);
		u->n_samples = 600;
		u->train_loss_ppm = 350000;
		u->train_accuracy_ppm = 880000;
		return FL_OK;
	}
	case CHAIN_TX_AGGREGATE_COMMIT:
		return sample_aggregate(&tx->u.aggregate_commit);
	case CHAIN_TX_EVAL_REPORT: {
		chain_tx_eval_report *e = &tx->u.eval_report;
		snprintf(e->profile, sizeof(e->profile), "mnist");
		e->round = 3;
		sample_hash(&e->model, 11);
		e->n_samples = 1000;
		e->metric_value = 865000;
		return FL_OK;
	}
	case CHAIN_TX_EVIDENCE:
		if (variant == CHAIN_EVIDENCE_BAD_AGGREGATE)
			return sample_bad_aggregate(&tx->u.evidence);
		return sample_double_sign(&tx->u.evidence);
	case CHAIN_TX_BOND:
		tx->u.stake.amount = 500000;
		return FL_OK;
	case CHAIN_TX_UNBOND:
		tx->u.stake.amount = 125000;
		return FL_OK;
	case CHAIN_TX_VALIDATOR_UPDATE:
		chain_sample_key(NULL, &tx->u.validator_update.target, 7);
		tx->u.validator_update.action = CHAIN_VALSET_ADD;
		tx->u.validator_update.power = 25;
		return FL_OK;
	default:
		return FL_EVERSION;
	}
}

int chain_sample_tx(chain_tx *tx, int kind, int variant)
{
	int rc;

	memset(tx, 0, sizeof(*tx));
	tx->kind = (uint8_t)kind;
	chain_sample_key(NULL, &tx->sender, 1);
	tx->nonce = 1;
	if ((rc = sample_body(tx, kind, variant)) != 0)
		chain_tx_free(tx);
	return rc;
}

int chain_sample_signed_tx(chain_tx *tx, int kind, int variant, uint8_t seed)
{
	fl_seckey sk;
	int rc;

	if ((rc = chain_sample_tx(tx, kind, variant)) != 0)
		return rc;
	chain_sample_key(&sk, NULL, seed);
	if ((rc = chain_tx_sign(tx, CHAIN_SAMPLE_CHAIN_ID, &sk)) != 0)
		chain_tx_free(tx);
	return rc;
}

const chain_sample_case chain_sample_cases[] = {
    {CHAIN_TX_TRANSFER, 0, "transfer"},
    {CHAIN_TX_MEMBER_ADD, 0, "member_add"},
    {CHAIN_TX_MEMBER_REMOVE, 0, "member_remove"},
    {CHAIN_TX_PROFILE_PROPOSE, 0, "profile_propose"},
    {CHAIN_TX_PROFILE_VOTE, 0, "profile_vote"},
    {CHAIN_TX_ROUND_JOIN, 0, "round_join"},
    {CHAIN_TX_UPDATE_COMMIT, 0, "update_commit"},
    {CHAIN_TX_AGGREGATE_COMMIT, 0, "aggregate_commit"},
    {CHAIN_TX_EVAL_REPORT, 0, "eval_report"},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, "evidence_double_sign"},
    {CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_BAD_AGGREGATE, "evidence_bad_aggregate"},
    {CHAIN_TX_BOND, 0, "bond"},
    {CHAIN_TX_UNBOND, 0, "unbond"},
    {CHAIN_TX_VALIDATOR_UPDATE, 0, "validator_update"},
};
const size_t chain_sample_n_cases = FL_ARRAY_LEN(chain_sample_cases);

int chain_sample_genesis(chain_genesis *g)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->chain_id, sizeof(g->chain_id), CHAIN_SAMPLE_CHAIN_ID);
	g->genesis_time_ms = 1700000000000ull;
	chain_params_default(&g->params);
	g->validators = fl_calloc(4, sizeof(*g->validators));
	g->members = fl_calloc(2, sizeof(*g->members));
	g->balances = fl_calloc(6, sizeof(*g->balances));
	g->profiles = fl_calloc(2, sizeof(*g->profiles));
	if (g->validators == NULL || g->members == NULL || g->balances == NULL ||
	    g->profiles == NULL) {
		chain_genesis_free(g);
		return FL_ENOMEM;
	}
	g->n_validators = 4;
	for (uint32_t i = 0; i < 4; i++) {
		chain_sample_key(NULL, &g->validators[i].pubkey, (uint8_t)(i + 1));
		g->validators[i].power = 10;
		snprintf(g->validators[i].name, sizeof(g->validators[i].name), "validator-%u",
			 i + 1);
	}
	g->n_members = 2;
	for (uint32_t i = 0; i < 2; i++) {
		chain_sample_key(NULL, &g->members[i].pubkey, (uint8_t)(i + 5));
		snprintf(g->members[i].name, sizeof(g->members[i].name), "member-%u", i + 5);
	}
	g->n_balances = 6;
	for (uint32_t i = 0; i < 6; i++) {
		chain_sample_key(NULL, &g->balances[i].account, (uint8_t)(i + 1));
		g->balances[i].amount = 1000000000;
	}
	g->n_profiles = 2;
	chain_sample_profile(&g->profiles[0], "mnist");
	chain_sample_profile(&g->profiles[1], "mnist.a");
	snprintf(g->profiles[1].parent, sizeof(g->profiles[1].parent), "mnist");
	return FL_OK;
}

int chain_sample_commit(chain_commit *c, uint64_t height, const fl_hash *block_hash, uint32_t n)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->height = height;
	c->round = 0;
	c->block_hash = *block_hash;
	for (uint32_t i = 0; i < n; i++) {
		chain_vote v = {.type = CHAIN_VOTE_PRECOMMIT,
				.height = height,
				.round = c->round,
				.block_hash = *block_hash};
		fl_seckey sk;
		uint32_t j;

		chain_sample_key(&sk, NULL, (uint8_t)(i + 1));
		if ((rc = chain_vote_sign(&v, CHAIN_SAMPLE_CHAIN_ID, &sk)) != 0)
			return rc;
		/* insertion sort by validator */
		for (j = c->n_sigs;
		     j > 0 && fl_pubkey_cmp(&c->sigs[j - 1].validator, &v.validator) > 0; j--)
			c->sigs[j] = c->sigs[j - 1];
		c->sigs[j].validator = v.validator;
		c->sigs[j].sig = v.sig;
		c->n_sigs++;
	}
	return FL_OK;
}

int chain_sample_prove_beacon(chain_block_header *h)
{
	fl_seckey sk;
	fl_hash prev;

	chain_sample_key(&sk, &h->proposer, 2);
	sample_hash(&prev, 42);
	return chain_header_prove_beacon(h, &sk, &prev);
}

int chain_sample_block(chain_block *b, uint64_t height)
{
	fl_hash prev;
	int rc;

	memset(b, 0, sizeof(*b));
	b->header.version = CHAIN_BLOCK_VERSION;
	snprintf(b->header.chain_id, sizeof(b->header.chain_id), CHAIN_SAMPLE_CHAIN_ID);
	b->header.height = height;
	b->header.time_ms = 1700000000000ull + height * 1000;
	sample_hash(&prev, 40);
	b->header.prev_hash = prev;
	sample_hash(&b->header.app_hash, 41);
	chain_sample_key(NULL, &b->header.proposer, 2);
	b->txs = fl_calloc(chain_sample_n_cases, sizeof(*b->txs));
	if (b->txs == NULL)
		return FL_ENOMEM;
	b->n_txs = (uint32_t)chain_sample_n_cases;
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		rc = chain_sample_signed_tx(&b->txs[i], chain_sample_cases[i].kind,
					    chain_sample_cases[i].variant, 1);
		if (rc != 0)
			goto fail;
	}
	if ((rc = chain_block_tx_root(&b->header.tx_root, b)) != 0)
		goto fail;
	if ((rc = chain_sample_commit(&b->last_commit, height - 1, &prev, 3)) != 0)
		goto fail;
	if ((rc = chain_commit_hash(&b->header.last_commit_hash, &b->last_commit)) != 0)
		goto fail;
	if ((rc = chain_sample_prove_beacon(&b->header)) != 0)
		goto fail;
	return FL_OK;
fail:
	chain_block_free(b);
	return rc;
}

size_t chain_sample_tx_bytes(const chain_tx *tx, uint8_t **out)
{
	fl_writer w;
	size_t n;

	fl_writer_init(&w, 0);
	if (chain_tx_encode(&w, tx) != 0)
		abort();
	*out = w.buf;
	n = w.len;
	return n;
}

size_t chain_sample_block_bytes(const chain_block *b, uint8_t **out)
{
	fl_writer w;
	size_t n;

	fl_writer_init(&w, 0);
	if (chain_block_encode(&w, b) != 0)
		abort();
	*out = w.buf;
	n = w.len;
	return n;
}

uint8_t *chain_sample_splice(const uint8_t *p, size_t n, size_t off, size_t cut, const void *ins,
			     size_t ins_n, size_t *out_n)
{
	uint8_t *out;

	if (off > n || cut > n - off)
		abort();
	*out_n = n - cut + ins_n;
	out = fl_malloc(*out_n);
	if (out == NULL)
		abort();
	memcpy(out, p, off);
	if (ins_n > 0)
		memcpy(out + off, ins, ins_n);
	memcpy(out + off + ins_n, p + off + cut, n - off - cut);
	return out;
}
