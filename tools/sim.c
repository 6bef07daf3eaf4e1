/*
 * tools/sim.c — the simulation behind fedledger-sim (tools/sim.h): data and
 * partitions loaded once, one pool of workers each owning an fl_trainer and
 * a scratch model, and a round that trains every client on the pool,
 * aggregates, applies and evaluates.
 *
 * Determinism: a client's training depends only on the global model, its
 * samples and fl_rng_derive(seed, round, client); its update lands in its
 * own slot; fl_aggregate is integer arithmetic. So the final model's bytes
 * are the same for any --threads and any finishing order.
 */
#include "tools/sim.h"
#include "tools/internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	fl_trainer *trainer;
	fl_model local; /* the client being trained */
} sim_worker;

struct sim {
	sim_config c;
	double t0;
	uint32_t round; /* rounds done */

	fl_dataset train, test;
	fl_dataset *slices; /* views into test (not owned: never fl_dataset_free'd) */
	size_t n_slices;
	fl_partition part;
	size_t *order; /* clients, most samples first: the longest jobs start first */

	fl_model global, next;
	int32_t *velocity;  /* FedAvgM: fixed-point server momentum, NULL when off */
	fl_update *updates; /* per client, refilled every round */
	const fl_update **update_ptrs;
	fl_train_stats *stats;
	fl_eval *evals; /* per test slice */

	size_t n_workers;
	sim_worker *workers;
	void **worker_states;
	tool_pool *pool;
};

static void set_err(sim_error *err, int usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(sim_error *err, int usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->usage = usage;
}

/* ------------------------------------------------------------- setup */

static int partition(sim *s, sim_error *err)
{
	const sim_config *c = &s->c;
	int rc;

	switch (c->split) {
	case SIM_SPLIT_IID:
		rc = fl_partition_iid(&s->part, &s->train, c->clients, c->seed);
		break;
	case SIM_SPLIT_LABELS:
		if (c->labels > s->train.n_classes) {
			set_err(err, 1, "--labels: %u labels per client, but the data has %u",
				c->labels, s->train.n_classes);
			return FL_EINVAL;
		}
		rc = fl_partition_labels(&s->part, &s->train, c->clients, c->labels, c->seed);
		break;
	default:
		rc = fl_partition_dirichlet(&s->part, &s->train, c->clients, c->alpha, c->seed);
		break;
	}
	if (rc < 0) {
		set_err(err, 0, "partitioning %zu samples over %u clients: %s", s->train.n,
			c->clients, fl_strerror(rc));
		return rc;
	}
	for (uint32_t i = 0; i < c->clients; i++) {
		if (s->part.n[i] == 0) {
			set_err(err, 1,
				"--clients: client %u got no training samples from the partition; "
				"use fewer clients",
				i);
			return FL_EINVAL;
		}
		fl_partition_cap(&s->part, i, c->max_samples, c->seed);
	}
	return FL_OK;
}

/* --profile-labels: train and test become their samples of those labels,
 * through the function a node uses for its share (fl_dataset_restrict). */
static int restrict_labels(sim *s, sim_error *err)
{
	const sim_config *c = &s->c;
	fl_dataset train, test;
	int rc;

	if (c->n_profile_labels == 0)
		return FL_OK;
	for (size_t i = 0; i < c->n_profile_labels; i++) {
		if (c->profile_labels[i] >= s->train.n_classes) {
			set_err(err, 1, "--profile-labels: label %u, but the data has %u classes",
				c->profile_labels[i], s->train.n_classes);
			return FL_EINVAL;
		}
	}
	rc = fl_dataset_restrict(&train, &s->train, c->profile_labels, c->n_profile_labels);
	if (rc < 0) {
		set_err(err, 0, "--profile-labels: %s", fl_strerror(rc));
		return rc;
	}
	rc = fl_dataset_restrict(&test, &s->test, c->profile_labels, c->n_profile_labels);
	if (rc < 0) {
		fl_dataset_free(&train);
		set_err(err, 0, "--profile-labels: %s", fl_strerror(rc));
		return rc;
	}
	fl_dataset_free(&s->train);
	fl_dataset_free(&s->test);
	s->train = train;
	s->test = test;
	return FL_OK;
}

/* Checks that the flags fit the data once it is known. */
static int check_fit(const sim *s, sim_error *err)
{
	const fl_spec *spec = &s->c.spec;
	uint32_t outputs = spec->sizes[spec->n_layers];

	if (spec->sizes[0] != s->train.dim) {
		set_err(err, 1, "--model: takes %u inputs, but the data has %u features",
			spec->sizes[0], s->train.dim);
		return FL_EINVAL;
	}
	if (outputs != s->train.n_classes) {
		set_err(err, 1, "--model: has %u outputs, but the data has %u classes", outputs,
			s->train.n_classes);
		return FL_EINVAL;
	}
	if (s->c.clients > s->train.n) {
		set_err(err, 1, "--clients: %u clients for %zu training samples", s->c.clients,
			s->train.n);
		return FL_EINVAL;
	}
	return FL_OK;
}

/* Fixed slices of the test set, each a view sharing test's arrays. */
static int slice_test(sim *s)
{
	size_t n = s->test.n;

	s->n_slices = (n + SIM_EVAL_SLICE - 1) / SIM_EVAL_SLICE;
	s->slices = fl_calloc(s->n_slices, sizeof(*s->slices));
	s->evals = fl_calloc(s->n_slices, sizeof(*s->evals));
	if (s->slices == NULL || s->evals == NULL)
		return FL_ENOMEM;
	for (size_t k = 0; k < s->n_slices; k++) {
		fl_dataset *v = &s->slices[k];
		size_t first = k * SIM_EVAL_SLICE;

		*v = s->test;
		v->n = n - first < SIM_EVAL_SLICE ? n - first : SIM_EVAL_SLICE;
		v->x = s->test.x + first * s->test.dim;
		v->y = s->test.y + first;
	}
	return FL_OK;
}

static int cmp_clients(const void *a, const void *b, void *arg)
{
	const sim *s = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (s->part.n[x] != s->part.n[y])
		return s->part.n[x] > s->part.n[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int start_workers(sim *s)
{
	size_t jobs = s->c.clients > s->n_slices ? s->c.clients : s->n_slices;
	uint32_t max_batch = s->c.tp.batch > 256 ? s->c.tp.batch : 256;
	int rc;

	s->n_workers = s->c.threads < jobs ? s->c.threads : jobs;
	s->workers = fl_calloc(s->n_workers, sizeof(*s->workers));
	s->worker_states = fl_calloc(s->n_workers, sizeof(*s->worker_states));
	if (s->workers == NULL || s->worker_states == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i < s->n_workers; i++) {
		/* max_batch above the training batch lets evaluation use larger,
		 * faster sgemm calls. */
		rc = fl_trainer_new(&s->workers[i].trainer, &s->c.spec, max_batch);
		if (rc < 0)
			return rc;
		rc = fl_model_new(&s->workers[i].local, &s->c.spec);
		if (rc < 0)
			return rc;
		s->worker_states[i] = &s->workers[i];
	}
	return tool_pool_new(&s->pool, s->n_workers, s->worker_states);
}

int sim_new(sim **out, const sim_config *c, sim_error *err)
{
	sim *s;
	int rc;

	assert(out != NULL && c != NULL && c->clients >= 1 && c->threads >= 1);
	*out = NULL;
	memset(err, 0, sizeof(*err));
	s = fl_calloc(1, sizeof(*s));
	if (s == NULL) {
		set_err(err, 0, "out of memory");
		return FL_ENOMEM;
	}
	s->t0 = fl_now();
	s->c = *c;
	s->c.agg.threads = c->threads;

	rc = fl_dataset_load_fashion_mnist(&s->train, &s->test, c->data_dir);
	if (rc < 0) {
		set_err(err, 0,
			"--data: cannot load Fashion-MNIST from %s: %s (it needs "
			"{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, as in the Debian "
			"package dataset-fashion-mnist)",
			c->data_dir, fl_strerror(rc));
		goto cleanup;
	}
	rc = restrict_labels(s, err);
	if (rc < 0)
		goto cleanup;
	rc = check_fit(s, err);
	if (rc < 0)
		goto cleanup;
	rc = partition(s, err);
	if (rc < 0)
		goto cleanup;

	rc = FL_ENOMEM;
	s->order = fl_calloc(c->clients, sizeof(*s->order));
	s->updates = fl_calloc(c->clients, sizeof(*s->updates));
	s->update_ptrs = fl_calloc(c->clients, sizeof(*s->update_ptrs));
	s->stats = fl_calloc(c->clients, sizeof(*s->stats));
	if (s->order == NULL || s->updates == NULL || s->update_ptrs == NULL || s->stats == NULL)
		goto nomem;
	for (uint32_t i = 0; i < c->clients; i++) {
		s->order[i] = i;
		s->update_ptrs[i] = &s->updates[i];
	}
	qsort_r(s->order, c->clients, sizeof(*s->order), cmp_clients, s);
	if ((rc = slice_test(s)) < 0)
		goto nomem;

	rc = fl_model_init(&s->global, &c->spec, c->seed);
	if (rc == FL_OK)
		rc = fl_model_new(&s->next, &c->spec);
	if (rc < 0) {
		set_err(err, 0, "creating the model: %s", fl_strerror(rc));
		goto cleanup;
	}
	if (c->server_momentum_ppm > 0 &&
	    (s->velocity = fl_calloc(s->global.n_params, sizeof(*s->velocity))) == NULL)
		goto nomem;
	rc = start_workers(s);
	if (rc < 0) {
		set_err(err, 0, "starting %u workers: %s", c->threads, fl_strerror(rc));
		goto cleanup;
	}
	*out = s;
	return FL_OK;
nomem:
	set_err(err, 0, "out of memory");
cleanup:
	sim_free(s);
	return rc;
}

void sim_free(sim *s)
{
	if (s == NULL)
		return;
	tool_pool_free(s->pool);
	for (size_t i = 0; s->workers != NULL && i < s->n_workers; i++) {
		fl_trainer_free(s->workers[i].trainer);
		fl_model_free(&s->workers[i].local);
	}
	fl_free(s->workers);
	fl_free(s->worker_states);
	for (uint32_t i = 0; s->updates != NULL && i < s->c.clients; i++)
		fl_update_free(&s->updates[i]);
	fl_free(s->updates);
	fl_free(s->update_ptrs);
	fl_free(s->stats);
	fl_free(s->order);
	fl_free(s->evals);
	fl_free(s->slices);
	fl_model_free(&s->global);
	fl_model_free(&s->next);
	fl_free(s->velocity);
	fl_partition_free(&s->part);
	fl_dataset_free(&s->train);
	fl_dataset_free(&s->test);
	fl_free(s);
}

size_t sim_train_samples(const sim *s)
{
	return s->train.n;
}

size_t sim_test_samples(const sim *s)
{
	return s->test.n;
}

size_t sim_client_samples(const sim *s, uint32_t client)
{
	assert(client < s->c.clients);
	return s->part.n[client];
}

void sim_client_share(const sim *s, uint32_t client, const uint32_t **idx, size_t *n)
{
	assert(client < s->c.clients && idx != NULL && n != NULL);
	*idx = s->part.idx[client];
	*n = s->part.n[client];
}

void sim_label_counts(const sim *s, uint64_t train[FL_MAX_CLASSES], uint64_t test[FL_MAX_CLASSES])
{
	memset(train, 0, FL_MAX_CLASSES * sizeof(*train));
	memset(test, 0, FL_MAX_CLASSES * sizeof(*test));
	for (size_t i = 0; i < s->train.n; i++)
		train[s->train.y[i]]++;
	for (size_t i = 0; i < s->test.n; i++)
		test[s->test.y[i]]++;
}

double sim_elapsed(const sim *s)
{
	return fl_now() - s->t0;
}

/* ------------------------------------------------------------- round */

static int client_job(void *ctx, void *state, size_t job)
{
	sim *s = ctx;
	sim_worker *w = state;
	uint32_t client = (uint32_t)job;
	fl_rng rng;
	int rc;

	memcpy(w->local.params, s->global.params, s->global.n_params * sizeof(float));
	fl_rng_derive(&rng, s->c.seed, s->round + 1, client);
	rc = fl_train(w->trainer, &w->local, &s->train, s->part.idx[client], s->part.n[client],
		      &s->c.tp, NULL, &rng, &s->stats[client]);
	if (rc < 0)
		return rc;
	/* DP (design.md §7): the client clips its own delta to L2 <= C and
	 * adds N(0, (zC)²) before anyone sees it, so each update is the
	 * Gaussian mechanism on that client's data with noise multiplier z. */
	if (s->c.dp_clip > 0)
		return fl_dp_update(&s->updates[client], &w->local, &s->global, s->part.n[client],
				    s->c.dp_clip, s->c.dp_noise, &rng);
	return fl_update_from_models(&s->updates[client], &w->local, &s->global, s->part.n[client]);
}

static int eval_job(void *ctx, void *state, size_t job)
{
	sim *s = ctx;
	sim_worker *w = state;

	return fl_evaluate(w->trainer, &s->global, &s->slices[job], &s->evals[job]);
}

typedef struct {
	sim *s;
	sim_progress_fn fn;
	void *ctx;
} progress_relay;

static void relay_progress(void *ctx, size_t done, size_t total)
{
	progress_relay *r = ctx;

	r->fn(r->ctx, r->s->round + 1, done, total);
}

/* The test-set figures, combined over slices in a fixed order. */
static void combine_evals(const sim *s, sim_round *out)
{
	uint64_t correct = 0, total = 0;
	double loss = 0;

	for (size_t k = 0; k < s->n_slices; k++) {
		const fl_eval *e = &s->evals[k];

		for (uint32_t c = 0; c < e->n_classes; c++) {
			correct += e->class_correct[c];
			total += e->class_total[c];
		}
		loss += e->loss * (double)s->slices[k].n;
	}
	out->accuracy = total ? (double)correct / (double)total : 0;
	out->loss = s->test.n ? loss / (double)s->test.n : 0;
}

int sim_round_run(sim *s, sim_round *out, sim_progress_fn progress, void *ctx)
{
	progress_relay relay = {s, progress, ctx};
	double start = fl_now(), t1, t2, train_loss = 0;
	fl_agg_result agg;
	uint64_t samples = 0;
	int rc;

	memset(&agg, 0, sizeof(agg));
	memset(out, 0, sizeof(*out));
	if (progress != NULL)
		progress(ctx, s->round + 1, 0, s->c.clients);
	rc = tool_pool_run(s->pool, s->c.clients, s->order, client_job, s,
			   progress ? relay_progress : NULL, &relay);
	if (rc < 0)
		goto cleanup;
	t1 = fl_now();
	rc = fl_aggregate(&agg, s->update_ptrs, s->c.clients, &s->c.agg);
	if (rc < 0)
		goto cleanup;
	/* FedAvgM keeps its velocity in fixed point too, so a validator that
	 * replays the rounds gets the same bytes. */
	if (s->velocity != NULL) {
		rc = fl_server_momentum(s->velocity, agg.q, agg.n, s->c.server_momentum_ppm);
		if (rc < 0)
			goto cleanup;
	}
	rc = fl_update_apply(&s->next, &s->global, s->velocity ? s->velocity : agg.q);
	if (rc < 0)
		goto cleanup;
	{
		fl_model t = s->global;

		s->global = s->next;
		s->next = t;
	}
	t2 = fl_now();
	rc = tool_pool_run(s->pool, s->n_slices, NULL, eval_job, s, NULL, NULL);
	if (rc < 0)
		goto cleanup;

	s->round++;
	out->round = s->round;
	combine_evals(s, out);
	for (uint32_t i = 0; i < s->c.clients; i++) {
		out->accepted += agg.weights[i] > 0;
		train_loss += s->stats[i].loss * (double)s->part.n[i];
		samples += s->part.n[i];
	}
	out->train_loss = samples ? train_loss / (double)samples : 0;
	if (s->c.dp_clip > 0)
		out->epsilon = fl_rdp_epsilon(s->c.dp_noise, 1.0, s->round, SIM_DP_DELTA, NULL);
	out->seconds = fl_now() - start;
	out->train_seconds = t1 - start;
	out->aggregate_seconds = t2 - t1;
	out->eval_seconds = start + out->seconds - t2;
	out->elapsed = sim_elapsed(s);
cleanup:
	fl_agg_result_free(&agg);
	for (uint32_t i = 0; i < s->c.clients; i++)
		fl_update_free(&s->updates[i]);
	return rc;
}

int sim_model_hash(const sim *s, fl_hash *out)
{
	uint8_t *blob = NULL;
	size_t n = 0;
	int rc = fl_blob_encode_model(&blob, &n, &s->global);

	if (rc < 0)
		return rc;
	fl_sha256(out, blob, n);
	fl_free(blob);
	return FL_OK;
}
