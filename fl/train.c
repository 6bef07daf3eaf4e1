/*
 * fl/train.c — the trainer: forward and backward passes of the MLP (the
 * products in dense.c, dW on OpenBLAS sgemm), the softmax cross-entropy
 * head, and SGD with momentum, weight decay and the FedProx term.
 *
 * Layout (fl.h): layer l has W row-major [in][out] then b[out], so with a
 * batch X [B×in] row-major the forward pass is Y = X·W + b, and backward
 * dW = Xᵀ·dY, db = column sums of dY, dX = dY·Wᵀ.
 *
 * Throughput at small batches is set by how often memory is touched, not by
 * the arithmetic alone, hence:
 *   - no allocation per step: one workspace block sized for max_batch;
 *   - the optimiser is folded into the dW product: plain SGD is one sgemm
 *     W ← W − lr·Xᵀ·dY (beta = 1); with momentum the sgemm writes
 *     v ← mu·v + Xᵀ·dY and one pass over [W, b] adds decay and prox and
 *     moves W, layer by layer while that layer is still in cache;
 *   - bias and ReLU are applied as the forward product is stored, the ReLU
 *     mask as dX is (dense.c);
 *   - a layer's dX is computed before its W moves, and not at all for the
 *     first layer (nobody needs the gradient of the data).
 */
#include "fl/internal.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

/* ---------------------------------------------------------- workspace */

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* fl.h promises single-threaded kernels, so that N clients train on N
 * cores; OpenBLAS would otherwise spawn a thread per core for each sgemm. */
static void blas_single_thread(void)
{
	openblas_set_num_threads(1);
}

/* Floats rounded up to whole cache lines, so every buffer stays aligned. */
static size_t aligned_count(size_t n)
{
	const size_t per_line = FL_FLOAT_ALIGN / sizeof(float);

	return (n + per_line - 1) / per_line * per_line;
}

int fl_trainer_new(fl_trainer **out, const fl_spec *spec, uint32_t max_batch)
{
	fl_trainer *t = NULL;
	size_t total, used = 0;
	int rc;

	assert(out != NULL && spec != NULL);
	*out = NULL;
	pthread_once(&blas_once, blas_single_thread);
	rc = fl_spec_check(spec);
	if (rc != FL_OK)
		return rc;
	/* 2^16 rows of 2^16 floats would already be 16 GiB of activations. */
	if (max_batch == 0 || max_batch > FL_MAX_WIDTH)
		return FL_EINVAL;
	t = fl_calloc(1, sizeof(*t));
	if (t == NULL)
		return FL_ENOMEM;
	t->spec = *spec;
	t->max_batch = max_batch;
	t->n_params = fl_spec_params(spec);
	for (uint32_t l = 0; l < spec->n_layers; l++) {
		t->offset[l] = fl_spec_layer_offset(spec, l);
		if (spec->sizes[l + 1] > t->max_width)
			t->max_width = spec->sizes[l + 1];
	}

	/* Widths <= 2^16, batch <= 2^16, at most 9 activation buffers: every
	 * size below fits a 64-bit size_t with room to spare. */
	total = 0;
	for (uint32_t l = 0; l <= spec->n_layers; l++)
		total += aligned_count((size_t)max_batch * spec->sizes[l]);
	total += 2 * aligned_count((size_t)max_batch * t->max_width);
	total += aligned_count(max_batch);
	total += aligned_count(t->n_params);
	t->block = fl_floats_alloc(total);
	t->labels = fl_calloc(max_batch, sizeof(uint16_t));
	if (t->block == NULL || t->labels == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	memset(t->block, 0, total * sizeof(float));
	for (uint32_t l = 0; l <= spec->n_layers; l++) {
		t->act[l] = t->block + used;
		used += aligned_count((size_t)max_batch * spec->sizes[l]);
	}
	for (int i = 0; i < 2; i++) {
		t->dy[i] = t->block + used;
		used += aligned_count((size_t)max_batch * t->max_width);
	}
	t->ones = t->block + used;
	for (uint32_t i = 0; i < max_batch; i++)
		t->ones[i] = 1.0f;
	used += aligned_count(max_batch);
	t->velocity = t->block + used;
	used += aligned_count(t->n_params);
	assert(used == total);
	*out = t;
	return FL_OK;

cleanup:
	fl_trainer_free(t);
	return rc;
}

void fl_trainer_free(fl_trainer *t)
{
	if (t == NULL)
		return;
	fl_floats_free(t->block);
	fl_free(t->labels);
	fl_free(t);
}

/* ------------------------------------------------------------ forward */

const float *fl_trainer_forward(fl_trainer *t, const float *params, const float *x, size_t b)
{
	const fl_spec *s = &t->spec;

	assert(b >= 1 && b <= t->max_batch);
	for (uint32_t l = 0; l < s->n_layers; l++) {
		const uint32_t in = s->sizes[l], out = s->sizes[l + 1];
		const float *w = params + t->offset[l];

		fl_dense_forward(t->act[l + 1], l ? t->act[l] : x, w, w + (size_t)in * out, b, in,
				 out, s->act[l]);
	}
	return t->act[s->n_layers];
}

/* --------------------------------------------------------------- head */

double fl_xent_row(const float *z, uint32_t k, uint32_t y, uint32_t *argmax, float *p)
{
	uint32_t best = 0;
	float m = z[0];
	double s = 0.0;

	assert(k >= 1 && y < k);
	for (uint32_t j = 1; j < k; j++)
		if (z[j] > m) {
			m = z[j];
			best = j;
		}
	/* exp(z − max) <= 1 never overflows; the sum is kept in double so the
	 * loss is accurate enough for finite-difference checks. */
	for (uint32_t j = 0; j < k; j++) {
		float e = expf(z[j] - m);

		if (p != NULL)
			p[j] = e;
		s += (double)e;
	}
	if (p != NULL) {
		float inv = (float)(1.0 / s);

		for (uint32_t j = 0; j < k; j++)
			p[j] *= inv;
	}
	if (argmax != NULL)
		*argmax = best;
	return (double)m + log(s) - (double)z[y];
}

/*
 * Loss of a batch and, into dz, the gradient of the mean loss w.r.t. the
 * logits: (softmax − onehot)/b. Returns the summed (not mean) loss.
 */
static double head(const float *z, const uint16_t *y, size_t b, uint32_t k, float *dz,
		   uint64_t *correct)
{
	const float inv_b = 1.0f / (float)b;
	double loss = 0.0;

	for (size_t i = 0; i < b; i++) {
		float *restrict d = dz + i * k;
		uint32_t best;

		loss += fl_xent_row(z + i * k, k, y[i], &best, d);
		for (uint32_t j = 0; j < k; j++)
			d[j] *= inv_b;
		d[y[i]] -= inv_b;
		if (best == y[i])
			(*correct)++;
	}
	return loss;
}

/* ----------------------------------------------------------- backward */

/*
 * Receives layer l's input xl [b×in] and output gradient dy [b×out] once
 * dX has been taken from the current weights, and either records the
 * gradient or moves the weights.
 */
typedef void (*layer_sink)(void *ctx, fl_trainer *t, uint32_t l, const float *xl, const float *dy,
			   size_t b);

/* Runs from the logits' gradient (in dy[0]) down to the first layer. */
static void backward(fl_trainer *t, const float *params, const float *x, size_t b, layer_sink sink,
		     void *ctx)
{
	const fl_spec *s = &t->spec;
	int cur = 0;

	for (uint32_t l = s->n_layers; l-- > 0;) {
		const uint32_t in = s->sizes[l], out = s->sizes[l + 1];
		const float *xl = l ? t->act[l] : x;

		if (l > 0)
			fl_dense_input_grad(t->dy[cur ^ 1], t->dy[cur], params + t->offset[l], xl,
					    b, in, out, s->act[l - 1]);
		sink(ctx, t, l, xl, t->dy[cur], b);
		cur ^= 1;
	}
}

/* ------------------------------------------------------ gradient sink */

static void sink_gradient(void *ctx, fl_trainer *t, uint32_t l, const float *xl, const float *dy,
			  size_t b)
{
	fl_dense_param_grad((float *)ctx + t->offset[l], xl, dy, t->ones, b, t->spec.sizes[l],
			    t->spec.sizes[l + 1], 1.0f, 0.0f);
}

int fl_loss_grad(fl_trainer *t, const fl_model *m, const float *x, const uint16_t *y, size_t b,
		 double *loss, float *grad)
{
	uint64_t correct = 0;
	const float *z;
	double sum;
	uint32_t k;

	assert(t != NULL && m != NULL && x != NULL && y != NULL && loss != NULL);
	k = t->spec.sizes[t->spec.n_layers];
	if (!fl_spec_equal(&t->spec, &m->spec) || b == 0 || b > t->max_batch)
		return FL_EINVAL;
	for (size_t i = 0; i < b; i++)
		if (y[i] >= k)
			return FL_EINVAL;
	z = fl_trainer_forward(t, m->params, x, b);
	sum = head(z, y, b, k, t->dy[0], &correct);
	*loss = sum / (double)b;
	if (grad != NULL)
		backward(t, m->params, x, b, sink_gradient, grad);
	return FL_OK;
}

/* ---------------------------------------------------------- SGD sinks */

typedef struct {
	float *params;
	const float *ref; /* FedProx reference parameters, or NULL */
	float lr, momentum, weight_decay, prox_mu;
} sgd_step;

/* Plain SGD: the update is the gradient product itself, accumulated into
 * the parameters (alpha = −lr, beta = 1). */
static void sink_sgd(void *ctx, fl_trainer *t, uint32_t l, const float *xl, const float *dy,
		     size_t b)
{
	const sgd_step *st = ctx;

	fl_dense_param_grad(st->params + t->offset[l], xl, dy, t->ones, b, t->spec.sizes[l],
			    t->spec.sizes[l + 1], -st->lr, 1.0f);
}

/*
 * Momentum, weight decay and prox: g = ∇ + wd·w + mu_p·(w − w_ref),
 * v ← momentum·v + g, w ← w − lr·v. The product leaves momentum·v + ∇ in
 * v; one pass over the layer's [W, b] adds the rest and moves w, while the
 * layer is still in cache.
 */
static void sink_momentum(void *ctx, fl_trainer *t, uint32_t l, const float *xl, const float *dy,
			  size_t b)
{
	const sgd_step *st = ctx;
	const uint32_t in = t->spec.sizes[l], out = t->spec.sizes[l + 1];
	float *v = t->velocity + t->offset[l];

	fl_dense_param_grad(v, xl, dy, t->ones, b, in, out, 1.0f, st->momentum);
	fl_sgd_step(st->params + t->offset[l], v, st->ref != NULL ? st->ref + t->offset[l] : NULL,
		    (size_t)in * out + out, st->lr, st->weight_decay, st->prox_mu);
}

/* ------------------------------------------------------------- fl_train */

static int check_train_params(const fl_train_params *tp)
{
	if (tp->batch == 0 || !isfinite(tp->lr) || tp->lr <= 0.0f)
		return FL_EINVAL;
	if (!isfinite(tp->momentum) || tp->momentum < 0.0f || tp->momentum >= 1.0f)
		return FL_EINVAL;
	if (!isfinite(tp->weight_decay) || tp->weight_decay < 0.0f)
		return FL_EINVAL;
	if (!isfinite(tp->prox_mu) || tp->prox_mu < 0.0f)
		return FL_EINVAL;
	return FL_OK;
}

/* Copies the samples order[0..b) into the input and label batches. */
static void gather(fl_trainer *t, const fl_dataset *d, const uint32_t *order, size_t b)
{
	const size_t dim = d->dim;

	for (size_t i = 0; i < b; i++) {
		memcpy(t->act[0] + i * dim, d->x + (size_t)order[i] * dim, dim * sizeof(float));
		t->labels[i] = d->y[order[i]];
	}
}

int fl_train(fl_trainer *t, fl_model *m, const fl_dataset *d, const uint32_t *idx, size_t n,
	     const fl_train_params *tp, const fl_model *prox_ref, fl_rng *rng,
	     fl_train_stats *stats)
{
	const fl_spec *s;
	const double start = fl_now();
	uint32_t *order = NULL;
	uint32_t k;
	sgd_step st;
	layer_sink sink;
	double loss = 0.0;
	uint64_t correct = 0;
	int rc;

	assert(t != NULL && m != NULL && d != NULL && tp != NULL && rng != NULL);
	s = &t->spec;
	k = s->sizes[s->n_layers];
	if (stats != NULL)
		memset(stats, 0, sizeof(*stats));
	rc = check_train_params(tp);
	if (rc != FL_OK)
		return rc;
	if (!fl_spec_equal(s, &m->spec) || d->dim != s->sizes[0] || tp->batch > t->max_batch)
		return FL_EINVAL;
	/* Indices are uint32_t and the shuffle draws below 2^32. */
	if (n == 0 || n > UINT32_MAX || (idx == NULL && n > d->n))
		return FL_EINVAL;
	if (tp->prox_mu > 0.0f && (prox_ref == NULL || !fl_spec_equal(s, &prox_ref->spec)))
		return FL_EINVAL;

	order = fl_malloc(n * sizeof(*order));
	if (order == NULL)
		return FL_ENOMEM;
	/* idx NULL trains on the first n samples. Every index and label is
	 * checked before the first step, so a bad one never leaves the model
	 * half-trained. */
	for (size_t i = 0; i < n; i++) {
		uint32_t j = idx != NULL ? idx[i] : (uint32_t)i;

		if (j >= d->n || d->y[j] >= k) {
			rc = FL_EINVAL;
			goto cleanup;
		}
		order[i] = j;
	}

	st.params = m->params;
	st.ref = tp->prox_mu > 0.0f ? prox_ref->params : NULL;
	st.lr = tp->lr;
	st.momentum = tp->momentum;
	st.weight_decay = tp->weight_decay;
	st.prox_mu = tp->prox_mu;
	if (tp->momentum == 0.0f && tp->weight_decay == 0.0f && st.ref == NULL) {
		sink = sink_sgd;
	} else {
		sink = sink_momentum;
		memset(t->velocity, 0, t->n_params * sizeof(float));
	}

	for (uint32_t e = 0; e < tp->epochs; e++) {
		/* Fisher–Yates, continuing from the previous epoch's order. */
		for (size_t i = n - 1; i > 0; i--) {
			uint32_t j = fl_rng_below(rng, (uint32_t)(i + 1));
			uint32_t tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
		loss = 0.0;
		correct = 0;
		for (size_t at = 0; at < n; at += tp->batch) {
			const size_t b = n - at < tp->batch ? n - at : tp->batch;
			const float *z;

			gather(t, d, order + at, b);
			z = fl_trainer_forward(t, m->params, t->act[0], b);
			loss += head(z, t->labels, b, k, t->dy[0], &correct);
			backward(t, m->params, t->act[0], b, sink, &st);
		}
	}
	if (stats != NULL) {
		stats->loss = tp->epochs ? loss / (double)n : 0.0;
		stats->accuracy = tp->epochs ? (double)correct / (double)n : 0.0;
		stats->samples = (uint64_t)n * tp->epochs;
		stats->seconds = fl_now() - start;
	}
	rc = FL_OK;

cleanup:
	fl_free(order);
	return rc;
}
