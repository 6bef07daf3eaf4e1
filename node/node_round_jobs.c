/*
 * node/node_round_jobs.c — the round driver's work on the libuv thread
 * pool: loading a member's data, training its update, aggregating as the
 * coordinator, evaluating a model, recomputing an aggregate before a
 * prevote, and writing a fetched blob to disk. Each job carries copies of
 * what it needs and reads blobs from the store itself (thread-safe), so no
 * work function touches the loop's state; the loop sees the result in
 * node__round_job_done (node_round.c).
 */
#include "node/node_round_internal.h"

#include <string.h>
#include <time.h>

#define LOG "rounds"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

node__rjob *node__round_job_new(node *n, node__rjob_kind kind, int slot)
{
	node__rjob *j = fl_calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->node = n;
	j->kind = kind;
	j->slot = slot;
	j->work.data = j;
	return j;
}

void node__round_job_free(node__rjob *j)
{
	if (j == NULL)
		return;
	fl_free(j->in);
	fl_free(j->status);
	fl_free(j->sides);
	fl_free(j->blob);
	node__round_keep_free(j->keep);
	chain_tx_free(&j->tx);
	node_round_update_free(&j->update);
	node_round_aggregate_result_free(&j->agg);
	if (j->loaded != NULL) {
		node_round_data_free(j->loaded);
		fl_free(j->loaded);
	}
	fl_free(j);
}

/* The round's base model: the profile's init for a zero base, else the
 * stored blob. */
static int load_base(node__rjob *j, fl_model *base)
{
	uint8_t *blob = NULL;
	size_t n = 0;
	int rc;

	if (!node__zero_hash(&j->base) &&
	    (rc = node_blobstore_get(j->node->blobs, &j->base, &blob, &n)) != FL_OK) {
		snprintf(j->err, sizeof(j->err), "base model: %s", fl_strerror(rc));
		return rc;
	}
	rc = node_round_base_model(base, &j->rp, j->def.init_seed, &j->base, blob, n);
	if (rc != FL_OK)
		snprintf(j->err, sizeof(j->err), "base model does not decode: %s", fl_strerror(rc));
	fl_free(blob);
	return rc;
}

/* The inputs' blobs from the store; an absent one stays NULL (the
 * aggregate leaves it out, the verify fails). Freed by free_inputs. */
static void read_inputs(node__rjob *j)
{
	for (size_t i = 0; i < j->n_in; i++) {
		uint8_t *p = NULL;
		size_t n = 0;

		j->in[i].blob = NULL;
		j->in[i].n = 0;
		if (node_blobstore_get(j->node->blobs, &j->in[i].hash, &p, &n) == FL_OK) {
			j->in[i].blob = p;
			j->in[i].n = n;
		}
	}
}

static void free_inputs(node__rjob *j)
{
	for (size_t i = 0; i < j->n_in; i++) {
		fl_free((void *)j->in[i].blob);
		j->in[i].blob = NULL;
	}
}

static void work_load(node__rjob *j)
{
	if ((j->loaded = fl_calloc(1, sizeof(*j->loaded))) == NULL) {
		j->rc = FL_ENOMEM;
		return;
	}
	j->rc =
	    node_round_data_load(j->loaded, j->cfg, j->home, j->def.labels, j->def.n_labels,
				 j->def.model.sizes[j->def.model.n_layers], j->err, sizeof(j->err));
	if (j->rc != FL_OK) {
		fl_free(j->loaded);
		j->loaded = NULL;
	}
}

static void work_train(node__rjob *j)
{
	node_round_share share;
	fl_model base;

	memset(&base, 0, sizeof(base));
	if ((j->rc = load_base(j, &base)) != FL_OK)
		return;
	node_round_data_share(j->data, &share);
	j->rc = node_round_train(&j->update, &j->rp, &base, &share, j->round, NULL);
	fl_model_free(&base);
	if (j->rc != FL_OK) {
		snprintf(j->err, sizeof(j->err), "training: %s", fl_strerror(j->rc));
		return;
	}
	j->seconds = j->update.seconds;
	/* withhold-updates (tests only): the hash goes on chain, the bytes
	 * nowhere, so no peer can ever fetch them. */
	if (!j->withhold && (j->rc = node_blobstore_put(j->node->blobs, j->update.blob, j->update.n,
							NULL)) != FL_OK)
		snprintf(j->err, sizeof(j->err), "storing the update: %s", fl_strerror(j->rc));
}

/* The used updates decoded, for the split test. */
static void test_split(node__rjob *j)
{
	fl_update *ups = NULL;
	const fl_update **ptrs = NULL;
	size_t used = 0;

	if (j->agg.n_entries < 2 * NODE_ROUND_CLUSTER_MIN)
		return;
	ups = fl_calloc(j->n_in, sizeof(*ups));
	ptrs = fl_calloc(j->n_in, sizeof(*ptrs));
	j->sides = fl_calloc(j->n_in, 1);
	if (ups == NULL || ptrs == NULL || j->sides == NULL)
		goto cleanup;
	for (size_t i = 0; i < j->n_in; i++) {
		if (j->status[i] != NODE_ROUND_IN_OK)
			continue;
		if (fl_blob_decode_update(&ups[used], j->in[i].blob, j->in[i].n) != FL_OK)
			goto cleanup;
		ptrs[used] = &ups[used];
		used++;
	}
	if (node_round_clusters(ptrs, used, j->sides, &j->split_clear, &j->max_cross) != FL_OK)
		j->split_clear = 0;

cleanup:
	if (ups != NULL)
		for (size_t i = 0; i < used; i++)
			fl_update_free(&ups[i]);
	fl_free(ups);
	fl_free(ptrs);
}

static void work_aggregate(node__rjob *j)
{
	fl_model base, next;
	double t0 = now_s();

	memset(&base, 0, sizeof(base));
	memset(&next, 0, sizeof(next));
	if ((j->rc = load_base(j, &base)) != FL_OK)
		return;
	read_inputs(j);
	if ((j->status = fl_calloc(j->n_in, sizeof(*j->status))) == NULL) {
		j->rc = FL_ENOMEM;
		goto cleanup;
	}
	j->rc = node_round_aggregate(&j->agg, &j->rp, &j->def, &base, j->in, j->n_in, j->status);
	if (j->rc != FL_OK) {
		snprintf(j->err, sizeof(j->err), "aggregating: %s", fl_strerror(j->rc));
		goto cleanup;
	}
	if ((j->rc = node_blobstore_put(j->node->blobs, j->agg.blob, j->agg.n, NULL)) != FL_OK) {
		snprintf(j->err, sizeof(j->err), "storing the model: %s", fl_strerror(j->rc));
		goto cleanup;
	}
	/* The coordinator's own held-out figures go into aggregate_commit. */
	if (j->data != NULL && j->data->test.n > 0 &&
	    fl_blob_decode_model(&next, j->agg.blob, j->agg.n) == FL_OK &&
	    node_round_evaluate(&j->rp, &next, &j->data->test, &j->accuracy_ppm, &j->loss_ppm) !=
		FL_OK)
		j->accuracy_ppm = j->loss_ppm = 0;
	test_split(j);
	/* bad-aggregate (tests only): a new model no update gives. */
	if (j->bad)
		j->agg.hash.b[0] ^= 0x5a;

cleanup:
	fl_model_free(&next);
	fl_model_free(&base);
	free_inputs(j);
	j->seconds = now_s() - t0;
}

static void work_eval(node__rjob *j)
{
	uint8_t *blob = NULL;
	size_t n = 0;
	fl_model m;

	memset(&m, 0, sizeof(m));
	if ((j->rc = node_blobstore_get(j->node->blobs, &j->model, &blob, &n)) != FL_OK) {
		snprintf(j->err, sizeof(j->err), "model: %s", fl_strerror(j->rc));
		return;
	}
	if ((j->rc = fl_blob_decode_model(&m, blob, n)) == FL_OK)
		j->rc =
		    node_round_evaluate(&j->rp, &m, &j->data->test, &j->accuracy_ppm, &j->loss_ppm);
	if (j->rc != FL_OK)
		snprintf(j->err, sizeof(j->err), "evaluating: %s", fl_strerror(j->rc));
	fl_model_free(&m);
	fl_free(blob);
}

static void work_verify(node__rjob *j)
{
	uint8_t *model = NULL;
	size_t model_n = 0;
	fl_model base;
	double t0 = now_s();

	memset(&base, 0, sizeof(base));
	j->why = "base model";
	if ((j->rc = load_base(j, &base)) != FL_OK)
		goto cleanup;
	read_inputs(j);
	j->rc = node_round_verify(&j->rp, &j->def, &base, &j->tx.u.aggregate_commit, j->in,
				  &j->recomputed, &model, &model_n, &j->why);
	/* The verified model is served from here on, as the coordinator's is. */
	if (j->rc == FL_OK && node_blobstore_put(j->node->blobs, model, model_n, NULL) != FL_OK)
		fl_log(FL_LOG_WARN, LOG, "round %llu: the verified model was not stored",
		       (unsigned long long)j->round);

cleanup:
	fl_free(model);
	fl_model_free(&base);
	free_inputs(j);
	j->seconds = now_s() - t0;
}

static void work_store(node__rjob *j)
{
	j->rc = node_blobstore_put(j->node->blobs, j->blob, j->blob_n, NULL);
}

static void work_prune(node__rjob *j)
{
	j->rc = node_blobstore_prune(j->node->blobs, node__round_keep, j->keep, j->older_than,
				     &j->removed, &j->removed_bytes);
}

static void work_cb(uv_work_t *req)
{
	node__rjob *j = req->data;

	switch (j->kind) {
	case NODE__RJOB_LOAD:
		work_load(j);
		break;
	case NODE__RJOB_TRAIN:
		work_train(j);
		break;
	case NODE__RJOB_AGGREGATE:
		work_aggregate(j);
		break;
	case NODE__RJOB_EVAL:
		work_eval(j);
		break;
	case NODE__RJOB_VERIFY:
		work_verify(j);
		break;
	case NODE__RJOB_STORE:
		work_store(j);
		break;
	case NODE__RJOB_PRUNE:
		work_prune(j);
		break;
	}
}

static void after_cb(uv_work_t *req, int status)
{
	node__rjob *j = req->data;
	node *n = j->node;

	if (status != 0 && j->rc == FL_OK)
		j->rc = FL_EIO; /* cancelled */
	n->rounds->busy--;
	node__round_job_done(n, j);
	node__round_job_free(j);
}

int node__round_job_queue(node *n, node__rjob *j)
{
	if (uv_queue_work(n->loop, &j->work, work_cb, after_cb) != 0) {
		node__round_job_free(j);
		return FL_EIO;
	}
	n->rounds->busy++;
	return FL_OK;
}
