/*
 * node/round_aggregate.c — a round's aggregate as its coordinator makes it
 * and as a validator recomputes it before it prevotes (node/round_work.h).
 * Both go through the same input checks and the same combine step, so an
 * honest coordinator's aggregate_commit always verifies.
 */
#include "node/round_work_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int hash_equal(const fl_hash *a, const fl_hash *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int node__round_input_decode(fl_update *u, node_round_input_status *status,
			     const node_round_params *rp, const node_round_input *in)
{
	fl_hash got;
	int rc;

	memset(u, 0, sizeof(*u));
	if (in->blob == NULL) {
		*status = NODE_ROUND_IN_MISSING;
		return FL_OK;
	}
	fl_sha256(&got, in->blob, in->n);
	if (!hash_equal(&got, &in->hash)) {
		*status = NODE_ROUND_IN_HASH;
		return FL_OK;
	}
	rc = fl_blob_decode_update(u, in->blob, in->n);
	if (rc == FL_ENOMEM)
		return rc;
	if (rc != FL_OK || !fl_spec_equal(&u->spec, &rp->spec)) {
		fl_update_free(u);
		*status = NODE_ROUND_IN_DECODE;
		return FL_OK;
	}
	if (u->n_samples != in->n_samples) {
		fl_update_free(u);
		*status = NODE_ROUND_IN_SAMPLES;
		return FL_OK;
	}
	*status = NODE_ROUND_IN_OK;
	return FL_OK;
}

int node__round_combine(fl_agg_result *agg, fl_model *next, const node_round_params *rp,
			const chain_profile *p, const fl_model *base, const fl_update *const *ups,
			size_t n, const char **why)
{
	fl_agg_params ap = rp->agg;
	size_t weighted = 0;
	int rc;

	memset(agg, 0, sizeof(*agg));
	memset(next, 0, sizeof(*next));
	/* The cap the chain checks every entry's weight against. */
	ap.max_weight = p->max_samples_weight;
	if (n < p->min_participants) {
		*why = "fewer usable updates than min_participants";
		return FL_EINVAL;
	}
	rc = fl_aggregate(agg, ups, n, &ap);
	if (rc == FL_EINVAL)
		*why = "the rule refuses this many updates";
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		weighted += agg->weights[i] > 0;
	if (weighted < p->min_participants) {
		*why = "fewer weighted updates than min_participants";
		rc = FL_EINVAL;
		goto fail;
	}
	if ((rc = fl_update_apply(next, base, agg->q)) < 0)
		goto fail;
	return FL_OK;
fail:
	if (rc == FL_ENOMEM)
		*why = "out of memory";
	fl_agg_result_free(agg);
	fl_model_free(next);
	return rc;
}

/* -------------------------------------------------------- coordinator */

typedef struct {
	const node_round_input *in;
	fl_update u;
} used_input;

static int cmp_used(const void *a, const void *b)
{
	const used_input *x = a, *y = b;

	return fl_pubkey_cmp(&x->in->participant, &y->in->participant);
}

int node_round_aggregate(node_round_aggregate_result *out, const node_round_params *rp,
			 const chain_profile *p, const fl_model *base, const node_round_input *in,
			 size_t n, node_round_input_status *status)
{
	used_input *used = NULL;
	const fl_update **ups = NULL;
	fl_agg_result agg;
	fl_model next;
	size_t n_used = 0;
	const char *why = NULL;
	double t0 = fl_now();
	int rc;

	assert(out != NULL && rp != NULL && p != NULL && base != NULL && (in != NULL || n == 0));
	memset(out, 0, sizeof(*out));
	memset(&agg, 0, sizeof(agg));
	memset(&next, 0, sizeof(next));
	/* An aggregate names at most CHAIN_MAX_PARTICIPANTS updates. */
	if (n == 0 || n > CHAIN_MAX_PARTICIPANTS || !fl_spec_equal(&base->spec, &rp->spec))
		return FL_EINVAL;
	used = fl_calloc(n, sizeof(*used));
	ups = fl_calloc(n, sizeof(*ups));
	if (used == NULL || ups == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		node_round_input_status st;

		if ((rc = node__round_input_decode(&used[n_used].u, &st, rp, &in[i])) < 0)
			goto cleanup;
		if (status != NULL)
			status[i] = st;
		if (st == NODE_ROUND_IN_OK)
			used[n_used++].in = &in[i];
	}
	qsort(used, n_used, sizeof(*used), cmp_used);
	for (size_t i = 0; i < n_used; i++) {
		/* The chain takes one update per participant and round: two
		 * here are the caller's mix-up, and no entry list could hold
		 * both. */
		if (i > 0 &&
		    fl_pubkey_cmp(&used[i - 1].in->participant, &used[i].in->participant) == 0) {
			rc = FL_EINVAL;
			goto cleanup;
		}
		ups[i] = &used[i].u;
	}
	if ((rc = node__round_combine(&agg, &next, rp, p, base, ups, n_used, &why)) < 0)
		goto cleanup;
	if ((rc = node__round_model_hash(&out->hash, &out->blob, &out->n, &next)) < 0)
		goto cleanup;
	out->entries = fl_calloc(n_used, sizeof(*out->entries));
	if (out->entries == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	out->n_entries = (uint32_t)n_used;
	for (size_t i = 0; i < n_used; i++) {
		out->entries[i].participant = used[i].in->participant;
		out->entries[i].update = used[i].in->hash;
		out->entries[i].weight = agg.weights[i];
	}
	out->seconds = fl_now() - t0;
	rc = FL_OK;
cleanup:
	if (rc < 0)
		node_round_aggregate_result_free(out);
	fl_agg_result_free(&agg);
	fl_model_free(&next);
	for (size_t i = 0; used != NULL && i < n; i++)
		fl_update_free(&used[i].u);
	fl_free(used);
	fl_free(ups);
	return rc;
}

void node_round_aggregate_result_free(node_round_aggregate_result *r)
{
	if (r == NULL)
		return;
	fl_free(r->blob);
	fl_free(r->entries);
	memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------- validator */

/* Whether base is the model a's round trained from: a zero base_model
 * names round 1's fl_model_init(spec, init_seed). */
static int check_base(const node_round_params *rp, const chain_profile *p, const fl_model *base,
		      const fl_hash *named)
{
	fl_model init;
	fl_hash want, got;
	int rc;

	if (!fl_spec_equal(&base->spec, &rp->spec))
		return FL_EINVAL;
	if (fl_hash_is_zero(named)) {
		if ((rc = fl_model_init(&init, &rp->spec, p->init_seed)) < 0)
			return rc;
		rc = node__round_model_hash(&want, NULL, NULL, &init);
		fl_model_free(&init);
		if (rc < 0)
			return rc;
	} else {
		want = *named;
	}
	if ((rc = node__round_model_hash(&got, NULL, NULL, base)) < 0)
		return rc;
	return hash_equal(&got, &want) ? FL_OK : FL_EINVAL;
}

/* The entries as the chain takes them, and in[] holding each of them. */
static int check_entries(const chain_tx_aggregate_commit *a, const node_round_input *in,
			 const char **why)
{
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const chain_aggregate_entry *e = &a->entries[i];

		if (i > 0 && fl_pubkey_cmp(&a->entries[i - 1].participant, &e->participant) >= 0) {
			*why = "entries not sorted by participant";
			return FL_EINVAL;
		}
		if (fl_pubkey_cmp(&in[i].participant, &e->participant) != 0 ||
		    !hash_equal(&in[i].hash, &e->update)) {
			*why = "an input is not the entry's committed update";
			return FL_EINVAL;
		}
	}
	for (uint32_t i = 0; i < a->n_entries; i++)
		if (in[i].blob == NULL) {
			*why = "an entry's update blob is absent";
			return FL_ENOTFOUND;
		}
	return FL_OK;
}

static const char *const input_reasons[] = {
    [NODE_ROUND_IN_OK] = "",
    [NODE_ROUND_IN_MISSING] = "an entry's update blob is absent",
    [NODE_ROUND_IN_HASH] = "an update blob does not hash to its commit",
    [NODE_ROUND_IN_DECODE] = "an update blob is not an update of the profile's spec",
    [NODE_ROUND_IN_SAMPLES] = "an update blob's n_samples differs from its commit",
};

int node_round_verify(const node_round_params *rp, const chain_profile *p, const fl_model *base,
		      const chain_tx_aggregate_commit *a, const node_round_input *in,
		      fl_hash *recomputed, uint8_t **model_blob, size_t *model_n, const char **why)
{
	fl_update *us = NULL;
	const fl_update **ups = NULL;
	fl_agg_result agg;
	fl_model next;
	fl_hash got;
	uint8_t *blob = NULL;
	size_t n = 0, blob_n = 0;
	const char *unused;
	int rc;

	assert(rp != NULL && p != NULL && base != NULL && a != NULL);
	if (why == NULL)
		why = &unused;
	*why = NULL;
	memset(&agg, 0, sizeof(agg));
	memset(&next, 0, sizeof(next));
	if (model_blob != NULL) {
		*model_blob = NULL;
		if (model_n != NULL)
			*model_n = 0;
	}
	if (a->n_entries == 0 || a->n_entries > CHAIN_MAX_PARTICIPANTS || a->entries == NULL ||
	    in == NULL) {
		*why = "no entries, or more than an aggregate may name";
		return FL_EINVAL;
	}
	if (strcmp(a->profile, p->id) != 0) {
		*why = "not an aggregate of this profile";
		return FL_EINVAL;
	}
	n = a->n_entries;
	if ((rc = check_entries(a, in, why)) != FL_OK)
		return rc;
	if ((rc = check_base(rp, p, base, &a->base_model)) != FL_OK) {
		*why = rc == FL_ENOMEM ? "out of memory" : "the base is not the aggregate's";
		return rc;
	}

	us = fl_calloc(n, sizeof(*us));
	ups = fl_calloc(n, sizeof(*ups));
	if (us == NULL || ups == NULL) {
		rc = FL_ENOMEM;
		*why = "out of memory";
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		node_round_input_status st;

		if ((rc = node__round_input_decode(&us[i], &st, rp, &in[i])) < 0) {
			*why = "out of memory";
			goto cleanup;
		}
		if (st != NODE_ROUND_IN_OK) {
			*why = input_reasons[st];
			rc = FL_EINVAL;
			goto cleanup;
		}
		ups[i] = &us[i];
	}
	if ((rc = node__round_combine(&agg, &next, rp, p, base, ups, n, why)) < 0)
		goto cleanup;
	for (size_t i = 0; i < n; i++)
		if (agg.weights[i] != a->entries[i].weight) {
			*why = "an entry's weight is not the rule's";
			rc = FL_EINVAL;
			goto cleanup;
		}
	if ((rc = node__round_model_hash(&got, &blob, &blob_n, &next)) < 0) {
		*why = "out of memory";
		goto cleanup;
	}
	if (recomputed != NULL)
		*recomputed = got;
	if (!hash_equal(&got, &a->new_model)) {
		*why = "new_model is not what the updates give";
		rc = NODE_ROUND_MISMATCH;
		goto cleanup;
	}
	if (model_blob != NULL) {
		*model_blob = blob;
		if (model_n != NULL)
			*model_n = blob_n;
		blob = NULL;
	}
	rc = FL_OK;
cleanup:
	fl_free(blob);
	fl_agg_result_free(&agg);
	fl_model_free(&next);
	for (size_t i = 0; us != NULL && i < n; i++)
		fl_update_free(&us[i]);
	fl_free(us);
	fl_free(ups);
	return rc;
}
