/*
 * The trainer: gradients against central finite differences, the loss on a
 * hand-computed example, SGD with momentum, weight decay and FedProx against
 * their formulas, partial batches and shuffling, learning a separable set,
 * predict and evaluate, argument checks and allocation failures. The
 * kernels under it are tested in test_kernels.c.
 */
#include "fl/internal.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static fl_spec spec_of(const char *text)
{
	fl_spec s;

	cr_assert_eq(fl_spec_parse(&s, text), FL_OK, "spec %s", text);
	return s;
}

static void *xmalloc(size_t n)
{
	void *p = fl_malloc(n);

	cr_assert_not_null(p);
	return p;
}

/*
 * Gaussian blobs: class c's centre is drawn from centre_seed (so a train and
 * a test set share centres), samples from sample_seed; noise is large
 * enough that an untrained network is near chance.
 */
static void make_blobs(fl_dataset *d, size_t n, uint32_t dim, uint32_t classes,
		       uint64_t centre_seed, uint64_t sample_seed)
{
	float *centres = xmalloc((size_t)classes * dim * sizeof(float));
	fl_rng rng;

	memset(d, 0, sizeof(*d));
	fl_rng_seed(&rng, centre_seed);
	for (size_t i = 0; i < (size_t)classes * dim; i++)
		centres[i] = (float)(2.0 * fl_rng_gauss(&rng));
	d->n = n;
	d->dim = dim;
	d->n_classes = classes;
	d->x = xmalloc(n * dim * sizeof(float));
	d->y = xmalloc(n * sizeof(uint16_t));
	fl_rng_seed(&rng, sample_seed);
	for (size_t i = 0; i < n; i++) {
		uint16_t c = (uint16_t)fl_rng_below(&rng, classes);

		d->y[i] = c;
		for (uint32_t j = 0; j < dim; j++)
			d->x[i * dim + j] =
			    centres[c * dim + j] + (float)(2.0 * fl_rng_gauss(&rng));
	}
	fl_free(centres);
}

static void free_blobs(fl_dataset *d)
{
	fl_free(d->x);
	fl_free(d->y);
	memset(d, 0, sizeof(*d));
}

static double distance(const fl_model *a, const fl_model *b)
{
	double s = 0.0;

	for (size_t i = 0; i < a->n_params; i++) {
		double d = (double)a->params[i] - b->params[i];
		s += d * d;
	}
	return sqrt(s);
}

static double weight_norm(const fl_model *m)
{
	double s = 0.0;

	for (size_t i = 0; i < m->n_params; i++)
		s += (double)m->params[i] * m->params[i];
	return sqrt(s);
}

/* ------------------------------------------------------------ gradients */

/* Which hidden units of the last forward pass were active (b·width <= 64). */
static void relu_pattern(const fl_trainer *t, size_t b, uint8_t pattern[64])
{
	size_t at = 0;

	memset(pattern, 0, 64);
	for (uint32_t l = 1; l < t->spec.n_layers; l++)
		for (size_t i = 0; t->spec.act[l - 1] == FL_ACT_RELU && i < b * t->spec.sizes[l];
		     i++) {
			cr_assert_lt(at, 64);
			pattern[at++] = t->act[l][i] > 0.0f;
		}
}

/*
 * Every parameter's analytic gradient against (L(w+h) − L(w−h)) / 2h, on a
 * few random samples, with biases set away from zero so that every term is
 * exercised. The loss is float arithmetic accumulated in double, so h is
 * large enough that its rounding noise (~1e-7) stays well under 1e-2 of a
 * typical gradient.
 */
static void check_gradients(const char *text, int relu, uint64_t seed)
{
	fl_spec s = spec_of(text);
	const size_t b = 6;
	const uint32_t in = s.sizes[0], k = s.sizes[s.n_layers];
	fl_trainer *t;
	fl_model m;
	fl_rng rng;
	double loss, loss2, worst = 0.0;
	uint8_t pattern[64], up_pattern[64], down_pattern[64];
	size_t kinks = 0, checked = 0;

	if (!relu)
		for (uint32_t l = 0; l < s.n_layers; l++)
			s.act[l] = FL_ACT_NONE;
	cr_assert_eq(fl_model_init(&m, &s, seed), FL_OK);
	cr_assert_eq(fl_trainer_new(&t, &s, 8), FL_OK);
	fl_rng_seed(&rng, seed + 100);
	for (uint32_t l = 0; l < s.n_layers; l++) {
		float *bias =
		    m.params + fl_spec_layer_offset(&s, l) + (size_t)s.sizes[l] * s.sizes[l + 1];
		for (uint32_t j = 0; j < s.sizes[l + 1]; j++)
			bias[j] = (float)(0.5 * fl_rng_gauss(&rng));
	}
	float *x = xmalloc(b * in * sizeof(float));
	uint16_t y[6];
	float *g = xmalloc(m.n_params * sizeof(float));
	for (size_t i = 0; i < b * in; i++)
		x[i] = (float)fl_rng_gauss(&rng);
	for (size_t i = 0; i < b; i++)
		y[i] = (uint16_t)fl_rng_below(&rng, k);

	cr_assert_eq(fl_loss_grad(t, &m, x, y, b, &loss, g), FL_OK);
	cr_assert_eq(fl_loss_grad(t, &m, x, y, b, &loss2, NULL), FL_OK);
	relu_pattern(t, b, pattern);
	cr_assert_eq(loss, loss2);
	cr_assert(loss > 0.0 && isfinite(loss));

	for (uint32_t l = 0; l < s.n_layers; l++) {
		const size_t off = fl_spec_layer_offset(&s, l);
		const size_t nw = (size_t)s.sizes[l] * s.sizes[l + 1];
		double largest_w = 0.0, largest_b = 0.0;

		for (size_t i = off; i < off + nw + s.sizes[l + 1]; i++) {
			const float w0 = m.params[i], h = 1e-2f;
			double lp, lm;

			m.params[i] = w0 + h;
			cr_assert_eq(fl_loss_grad(t, &m, x, y, b, &lp, NULL), FL_OK);
			relu_pattern(t, b, up_pattern);
			const double up = m.params[i];
			m.params[i] = w0 - h;
			cr_assert_eq(fl_loss_grad(t, &m, x, y, b, &lm, NULL), FL_OK);
			relu_pattern(t, b, down_pattern);
			const double down = m.params[i];
			m.params[i] = w0;
			/* A ReLU switching inside [w−h, w+h] makes the difference
			 * quotient meaningless there (the loss has a kink). */
			if (memcmp(up_pattern, pattern, sizeof(pattern)) != 0 ||
			    memcmp(down_pattern, pattern, sizeof(pattern)) != 0) {
				kinks++;
				continue;
			}
			checked++;

			const double num = (lp - lm) / (up - down);
			const double ana = g[i];
			const double scale = fmax(fmax(fabs(num), fabs(ana)), 1e-2);
			const double err = fabs(num - ana) / scale;

			cr_assert(err < 1e-2,
				  "%s relu=%d layer %u param %zu: analytic %g numeric %g", text,
				  relu, l, i - off, ana, num);
			worst = fmax(worst, err);
			if (i < off + nw)
				largest_w = fmax(largest_w, fabs(ana));
			else
				largest_b = fmax(largest_b, fabs(ana));
		}
		/* The check compared real gradients, not zeros. */
		cr_assert(largest_w > 1e-2 && largest_b > 1e-2, "layer %u: %g %g", l, largest_w,
			  largest_b);
	}
	cr_log_info("%s relu=%d: worst relative error %.2e, %zu checked, %zu across a kink", text,
		    relu, worst, checked, kinks);
	cr_assert_lt(kinks * 10, checked);
	fl_free(x);
	fl_free(g);
	fl_model_free(&m);
	fl_trainer_free(t);
}

Test(train, gradients_match_finite_differences_relu)
{
	check_gradients("5-4-3", 1, 11);
	check_gradients("5-4-4-3", 1, 12);
}

Test(train, gradients_match_finite_differences_linear)
{
	check_gradients("5-4-3", 0, 13);
	check_gradients("5-4-4-3", 0, 14);
}

Test(train, gradient_of_a_single_layer)
{
	check_gradients("7-3", 0, 15);
}

/*
 * 2 inputs, 2 classes, no hidden layer: logits, loss and gradient by hand.
 * W (row-major [in][out]) = [[1, −1], [0.5, 2]], b = [0.1, −0.2].
 *   x = (1, 2),     y = 0: z = (2.1, 2.8)
 *   x = (−1, 0.5),  y = 1: z = (−0.65, 1.8)
 */
Test(train, loss_by_hand)
{
	fl_spec s = {.n_layers = 1, .sizes = {2, 2}, .act = {FL_ACT_NONE}};
	const float x[4] = {1.0f, 2.0f, -1.0f, 0.5f};
	const uint16_t y[2] = {0, 1};
	const double z[2][2] = {{2.1, 2.8}, {-0.65, 1.8}};
	float g[6];
	fl_trainer *t;
	fl_model m;
	double loss, want = 0.0, dz[2][2];

	cr_assert_eq(fl_model_new(&m, &s), FL_OK);
	cr_assert_eq(m.n_params, 6);
	const float p[6] = {1.0f, -1.0f, 0.5f, 2.0f, 0.1f, -0.2f};
	memcpy(m.params, p, sizeof(p));
	cr_assert_eq(fl_trainer_new(&t, &s, 2), FL_OK);
	cr_assert_eq(fl_loss_grad(t, &m, x, y, 2, &loss, g), FL_OK);

	for (int i = 0; i < 2; i++) {
		double lse = log(exp(z[i][0]) + exp(z[i][1]));

		want += (lse - z[i][y[i]]) / 2.0;
		for (int j = 0; j < 2; j++)
			dz[i][j] = (exp(z[i][j] - lse) - (j == y[i])) / 2.0;
	}
	/* log(1 + e^0.7)/2 + log(1 + e^−2.45)/2 */
	cr_assert_float_eq(want, (log(1.0 + exp(0.7)) + log(1.0 + exp(-2.45))) / 2.0, 1e-12);
	cr_assert_float_eq(loss, want, 1e-6, "loss %.9f want %.9f", loss, want);
	for (int a = 0; a < 2; a++)
		for (int j = 0; j < 2; j++)
			cr_assert_float_eq(g[a * 2 + j], x[a] * dz[0][j] + x[2 + a] * dz[1][j],
					   1e-6, "dW[%d][%d]", a, j);
	for (int j = 0; j < 2; j++)
		cr_assert_float_eq(g[4 + j], dz[0][j] + dz[1][j], 1e-6, "db[%d]", j);
	fl_model_free(&m);
	fl_trainer_free(t);
}

/* Huge logits must not overflow: the head works around the largest one. */
Test(train, loss_is_stable_for_large_logits)
{
	fl_spec s = {.n_layers = 1, .sizes = {1, 3}, .act = {FL_ACT_NONE}};
	const float x[1] = {1.0f};
	const uint16_t y[1] = {2};
	float g[6];
	fl_trainer *t;
	fl_model m;
	double loss;

	cr_assert_eq(fl_model_new(&m, &s), FL_OK);
	m.params[0] = 1000.0f; /* z = (1000, 0, −1000) */
	m.params[2] = -1000.0f;
	cr_assert_eq(fl_trainer_new(&t, &s, 1), FL_OK);
	cr_assert_eq(fl_loss_grad(t, &m, x, y, 1, &loss, g), FL_OK);
	cr_assert_float_eq(loss, 2000.0, 1e-6);
	cr_assert_float_eq(g[0], 1.0f, 1e-6);
	cr_assert_float_eq(g[2], -1.0f, 1e-6);
	fl_model_free(&m);
	fl_trainer_free(t);
}

/* ------------------------------------------------ SGD against formulas */

/* One reference step from fl_loss_grad: g = ∇L + wd·w + mu·(w − ref),
 * v ← momentum·v + g, w ← w − lr·v. */
static void reference_step(fl_trainer *t, fl_model *m, float *v, const float *x, const uint16_t *y,
			   size_t b, const fl_train_params *tp, const fl_model *ref, double *loss)
{
	float *g = xmalloc(m->n_params * sizeof(float));

	cr_assert_eq(fl_loss_grad(t, m, x, y, b, loss, g), FL_OK);
	for (size_t i = 0; i < m->n_params; i++) {
		float gi = g[i] + tp->weight_decay * m->params[i];

		if (tp->prox_mu > 0.0f)
			gi += tp->prox_mu * (m->params[i] - ref->params[i]);
		v[i] = tp->momentum * v[i] + gi;
		m->params[i] -= tp->lr * v[i];
	}
	fl_free(g);
}

/*
 * fl_train against reference steps that replay its documented order: each
 * epoch a Fisher–Yates shuffle (i from n−1 down, j = below(i+1)) of the
 * previous order, then batches of tp->batch with a short last one.
 */
static void check_against_reference(const fl_train_params *tp, size_t n, uint64_t seed)
{
	fl_spec s = spec_of("6-5-4-3");
	fl_dataset d;
	fl_model m, want, ref;
	fl_trainer *t, *tr;
	fl_rng rng, rng2;
	fl_train_stats st;
	uint32_t *idx = xmalloc(n * sizeof(uint32_t));
	float *v, *x = xmalloc(tp->batch * 6 * sizeof(float));
	uint16_t *y = xmalloc(tp->batch * sizeof(uint16_t));
	double epoch_loss = 0.0;

	make_blobs(&d, n + 5, 6, 3, seed, seed + 1);
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)(n + 4 - i); /* a subset, out of order */
	cr_assert_eq(fl_model_init(&m, &s, seed), FL_OK);
	cr_assert_eq(fl_model_copy(&want, &m), FL_OK);
	cr_assert_eq(fl_model_init(&ref, &s, seed + 2), FL_OK);
	cr_assert_eq(fl_trainer_new(&t, &s, tp->batch), FL_OK);
	cr_assert_eq(fl_trainer_new(&tr, &s, tp->batch), FL_OK);
	v = xmalloc(m.n_params * sizeof(float));
	memset(v, 0, m.n_params * sizeof(float));

	fl_rng_seed(&rng, seed + 3);
	rng2 = rng;
	cr_assert_eq(fl_train(t, &m, &d, idx, n, tp, &ref, &rng, &st), FL_OK);

	for (uint32_t e = 0; e < tp->epochs; e++) {
		for (size_t i = n - 1; i > 0; i--) {
			uint32_t j = fl_rng_below(&rng2, (uint32_t)(i + 1)), tmp = idx[i];
			idx[i] = idx[j];
			idx[j] = tmp;
		}
		epoch_loss = 0.0;
		for (size_t at = 0; at < n; at += tp->batch) {
			size_t b = n - at < tp->batch ? n - at : tp->batch;
			double loss;

			for (size_t i = 0; i < b; i++) {
				memcpy(x + i * 6, d.x + idx[at + i] * 6, 6 * sizeof(float));
				y[i] = d.y[idx[at + i]];
			}
			reference_step(tr, &want, v, x, y, b, tp, &ref, &loss);
			epoch_loss += loss * (double)b;
		}
	}
	/* The RNG was used for the shuffles and nothing else. */
	cr_assert_eq(memcmp(&rng, &rng2, sizeof(rng)), 0);
	for (size_t i = 0; i < m.n_params; i++)
		cr_assert_float_eq(m.params[i], want.params[i], 1e-5 * (1.0 + fabs(want.params[i])),
				   "param %zu: %g want %g", i, m.params[i], want.params[i]);
	cr_assert_eq(st.samples, (uint64_t)n * tp->epochs);
	cr_assert_float_eq(st.loss, epoch_loss / (double)n, 1e-5);
	cr_assert(st.accuracy >= 0.0 && st.accuracy <= 1.0);
	cr_assert(st.seconds >= 0.0);
	cr_assert(distance(&m, &want) < 1e-4 && distance(&m, &ref) > 0.1);

	free_blobs(&d);
	fl_free(idx);
	fl_free(x);
	fl_free(y);
	fl_free(v);
	fl_model_free(&m);
	fl_model_free(&want);
	fl_model_free(&ref);
	fl_trainer_free(t);
	fl_trainer_free(tr);
}

Test(train, plain_sgd_with_a_partial_last_batch)
{
	fl_train_params tp = {.epochs = 2, .batch = 3, .lr = 0.1f};

	check_against_reference(&tp, 7, 21); /* batches 3, 3, 1 */
}

Test(train, batch_larger_than_the_data)
{
	fl_train_params tp = {.epochs = 3, .batch = 8, .lr = 0.1f};

	check_against_reference(&tp, 5, 22);
}

Test(train, momentum_matches_formula)
{
	fl_train_params tp = {.epochs = 3, .batch = 4, .lr = 0.05f, .momentum = 0.9f};

	check_against_reference(&tp, 10, 23);
}

Test(train, weight_decay_matches_formula)
{
	fl_train_params tp = {.epochs = 2, .batch = 4, .lr = 0.05f, .weight_decay = 0.1f};

	check_against_reference(&tp, 9, 24);
}

Test(train, prox_matches_formula)
{
	fl_train_params tp = {.epochs = 2, .batch = 5, .lr = 0.05f, .prox_mu = 0.5f};

	check_against_reference(&tp, 11, 25);
}

Test(train, all_terms_match_formula)
{
	fl_train_params tp = {.epochs = 2,
			      .batch = 4,
			      .lr = 0.05f,
			      .momentum = 0.5f,
			      .weight_decay = 0.01f,
			      .prox_mu = 0.2f};

	check_against_reference(&tp, 13, 26);
}

/* ------------------------------------------------------------- learning */

/* Trains a copy of start on d with tp; returns the trained model. */
static fl_model train_copy(const fl_model *start, const fl_dataset *d, const fl_train_params *tp,
			   const fl_model *ref, fl_train_stats *st)
{
	fl_trainer *t;
	fl_model m;
	fl_rng rng;

	cr_assert_eq(fl_model_copy(&m, start), FL_OK);
	cr_assert_eq(fl_trainer_new(&t, &start->spec, tp->batch), FL_OK);
	fl_rng_seed(&rng, 99);
	cr_assert_eq(fl_train(t, &m, d, NULL, d->n, tp, ref, &rng, st), FL_OK);
	fl_trainer_free(t);
	return m;
}

static double accuracy_of(const fl_model *m, const fl_dataset *d)
{
	fl_trainer *t;
	fl_eval ev;

	cr_assert_eq(fl_trainer_new(&t, &m->spec, 64), FL_OK);
	cr_assert_eq(fl_evaluate(t, m, d, &ev), FL_OK);
	fl_trainer_free(t);
	return ev.accuracy;
}

/* fl_dataset_synthetic's blobs, split into a training and a held-out set. */
Test(train, learns_the_synthetic_set)
{
	fl_spec s = spec_of("20-32-32-5");
	fl_dataset all, train, test;
	fl_model start, m;
	fl_train_params tp = {.epochs = 3, .batch = 10, .lr = 0.05f};
	fl_train_stats st;
	uint32_t idx[1500];

	cr_assert_eq(fl_dataset_synthetic(&all, 1500, 20, 5, 7), FL_OK);
	for (uint32_t i = 0; i < 1500; i++)
		idx[i] = i;
	cr_assert_eq(fl_dataset_subset(&train, &all, idx, 1000), FL_OK);
	cr_assert_eq(fl_dataset_subset(&test, &all, idx + 1000, 500), FL_OK);
	cr_assert_eq(fl_model_init(&start, &s, 1), FL_OK);
	double before = accuracy_of(&start, &test);
	m = train_copy(&start, &train, &tp, NULL, &st);
	double after = accuracy_of(&m, &test);

	cr_log_info("synthetic: test accuracy %.3f -> %.3f, train loss %.3f", before, after,
		    st.loss);
	cr_assert(before < 0.6, "untrained accuracy %g", before);
	cr_assert(after > 0.9, "trained accuracy %g", after);
	cr_assert(st.accuracy > 0.9, "training accuracy %g", st.accuracy);
	cr_assert_eq(st.samples, 3000);

	fl_dataset_free(&all);
	fl_dataset_free(&train);
	fl_dataset_free(&test);
	fl_model_free(&start);
	fl_model_free(&m);
}

/* Noisier blobs (class clouds overlap a little), and determinism. */
Test(train, learns_noisy_blobs)
{
	fl_spec s = spec_of("20-32-32-5");
	fl_dataset train, test;
	fl_model start, m;
	fl_train_params tp = {.epochs = 5, .batch = 10, .lr = 0.05f};
	fl_train_stats st;

	make_blobs(&train, 1000, 20, 5, 7, 8);
	make_blobs(&test, 500, 20, 5, 7, 9); /* same centres, new samples */
	cr_assert_eq(fl_model_init(&start, &s, 1), FL_OK);
	double before = accuracy_of(&start, &test);
	m = train_copy(&start, &train, &tp, NULL, &st);
	double after = accuracy_of(&m, &test);

	cr_log_info("blobs: test accuracy %.3f -> %.3f, train loss %.3f", before, after, st.loss);
	cr_assert(before < 0.6, "untrained accuracy %g", before);
	cr_assert(after > 0.9, "trained accuracy %g", after);
	cr_assert(st.accuracy > 0.9, "training accuracy %g", st.accuracy);
	cr_assert(st.loss < 0.5, "training loss %g", st.loss);
	cr_assert_eq(st.samples, 5000);

	/* Same seed, same bytes. */
	fl_model again = train_copy(&start, &train, &tp, NULL, &st);
	cr_assert_eq(memcmp(m.params, again.params, m.n_params * sizeof(float)), 0);
	fl_model_free(&again);

	free_blobs(&train);
	free_blobs(&test);
	fl_model_free(&start);
	fl_model_free(&m);
}

Test(train, terms_move_the_model_the_expected_way)
{
	fl_spec s = spec_of("20-16-4");
	fl_dataset d;
	fl_model start, ref, plain, mom, wd, prox;
	fl_train_params tp = {.epochs = 2, .batch = 10, .lr = 0.05f};
	fl_train_stats st;

	make_blobs(&d, 200, 20, 4, 3, 4);
	cr_assert_eq(fl_model_init(&start, &s, 2), FL_OK);
	plain = train_copy(&start, &d, &tp, NULL, &st);

	/* Momentum: consistent early gradients add up, so it travels farther. */
	tp.momentum = 0.9f;
	mom = train_copy(&start, &d, &tp, NULL, &st);
	tp.momentum = 0.0f;
	/* Weight decay shrinks the weights. */
	tp.weight_decay = 0.5f;
	wd = train_copy(&start, &d, &tp, NULL, &st);
	tp.weight_decay = 0.0f;
	/* A large proximal term holds the model at its reference: starting
	 * from elsewhere, it ends near the reference, not near the start. */
	cr_assert_eq(fl_model_init(&ref, &s, 3), FL_OK);
	tp.prox_mu = 20.0f;
	prox = train_copy(&start, &d, &tp, &ref, &st);

	double d_plain = distance(&plain, &start), d_mom = distance(&mom, &start);
	double d_ref = distance(&start, &ref), d_prox = distance(&prox, &ref);
	cr_log_info("moved: plain %.3f momentum %.3f; prox %.3f from ref (start %.3f); norm plain "
		    "%.3f wd %.3f",
		    d_plain, d_mom, d_prox, d_ref, weight_norm(&plain), weight_norm(&wd));
	cr_assert(d_plain > 0.1);
	cr_assert(d_mom > 1.5 * d_plain);
	cr_assert(d_prox < 0.2 * d_ref);
	cr_assert(d_prox < 0.5 * distance(&plain, &ref));
	cr_assert(weight_norm(&wd) < 0.8 * weight_norm(&plain));

	free_blobs(&d);
	fl_model_free(&start);
	fl_model_free(&plain);
	fl_model_free(&mom);
	fl_model_free(&wd);
	fl_model_free(&prox);
	fl_model_free(&ref);
}

/* ----------------------------------------------------- predict, evaluate */

Test(train, predict_gives_distributions)
{
	fl_spec s = spec_of("8-6-5");
	fl_dataset d;
	fl_model m;
	fl_trainer *t, *t1;
	const size_t n = 23;

	make_blobs(&d, n, 8, 5, 5, 6);
	cr_assert_eq(fl_model_init(&m, &s, 4), FL_OK);
	cr_assert_eq(fl_trainer_new(&t, &s, 4), FL_OK); /* 23 = 5 chunks of 4 and 3 */
	cr_assert_eq(fl_trainer_new(&t1, &s, 1), FL_OK);
	float *p = xmalloc(n * 5 * sizeof(float)), *q = xmalloc(5 * sizeof(float));
	cr_assert_eq(fl_predict(t, &m, d.x, n, p), FL_OK);
	for (size_t i = 0; i < n; i++) {
		double sum = 0.0;

		for (int j = 0; j < 5; j++) {
			cr_assert(p[i * 5 + j] >= 0.0f && p[i * 5 + j] <= 1.0f);
			sum += p[i * 5 + j];
		}
		cr_assert_float_eq(sum, 1.0, 1e-5, "sample %zu sums to %g", i, sum);
		cr_assert_eq(fl_predict(t1, &m, d.x + i * 8, 1, q), FL_OK);
		for (int j = 0; j < 5; j++)
			cr_assert_float_eq(q[j], p[i * 5 + j], 1e-6);
	}
	fl_free(p);
	fl_free(q);
	free_blobs(&d);
	fl_model_free(&m);
	fl_trainer_free(t);
	fl_trainer_free(t1);
}

Test(train, evaluate_counts_add_up)
{
	fl_spec s = spec_of("10-12-4");
	fl_dataset d;
	fl_model m;
	fl_trainer *t;
	fl_eval ev;
	const size_t n = 101;
	uint64_t hist[4] = {0}, total = 0, correct = 0, argmax_right = 0;
	double loss = 0.0;

	make_blobs(&d, n, 10, 4, 8, 9);
	cr_assert_eq(fl_model_init(&m, &s, 6), FL_OK);
	cr_assert_eq(fl_trainer_new(&t, &s, 16), FL_OK);
	cr_assert_eq(fl_evaluate(t, &m, &d, &ev), FL_OK);
	cr_assert_eq(ev.n_classes, 4);
	for (size_t i = 0; i < n; i++)
		hist[d.y[i]]++;
	for (uint32_t c = 0; c < 4; c++) {
		cr_assert_eq(ev.class_total[c], hist[c]);
		cr_assert_leq(ev.class_correct[c], ev.class_total[c]);
		total += ev.class_total[c];
		correct += ev.class_correct[c];
	}
	cr_assert_eq(total, n);
	cr_assert_float_eq(ev.accuracy, (double)correct / n, 1e-12);

	/* The same figures from predict's probabilities. */
	float *p = xmalloc(n * 4 * sizeof(float));
	cr_assert_eq(fl_predict(t, &m, d.x, n, p), FL_OK);
	for (size_t i = 0; i < n; i++) {
		int best = 0;
		for (int j = 1; j < 4; j++)
			if (p[i * 4 + j] > p[i * 4 + best])
				best = j;
		argmax_right += best == d.y[i];
		loss -= log(p[i * 4 + d.y[i]]);
	}
	cr_assert_eq(argmax_right, correct);
	cr_assert_float_eq(ev.loss, loss / n, 1e-4);
	fl_free(p);
	free_blobs(&d);
	fl_model_free(&m);
	fl_trainer_free(t);
}

/* --------------------------------------------------- arguments, failures */

Test(train, rejects_bad_arguments)
{
	fl_spec s = spec_of("6-4-3"), other = spec_of("6-5-3");
	fl_dataset d;
	fl_model m, copy, wrong;
	fl_trainer *t;
	fl_rng rng;
	fl_eval ev;
	uint32_t idx[4] = {0, 1, 2, 3};
	fl_train_params tp = {.epochs = 1, .batch = 2, .lr = 0.1f};
	double loss;

	make_blobs(&d, 10, 6, 3, 1, 2);
	cr_assert_eq(fl_model_init(&m, &s, 1), FL_OK);
	cr_assert_eq(fl_model_copy(&copy, &m), FL_OK);
	cr_assert_eq(fl_model_init(&wrong, &other, 1), FL_OK);
	cr_assert_eq(fl_trainer_new(&t, &s, 4), FL_OK);
	fl_rng_seed(&rng, 1);

	cr_assert_eq(fl_train(t, &wrong, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	tp.batch = 5; /* over max_batch */
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	tp.batch = 0;
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	tp.batch = 2;
	tp.lr = 0.0f;
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	tp.lr = NAN;
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	tp.lr = 0.1f;
	tp.momentum = 1.0f;
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	tp.momentum = 0.0f;
	tp.prox_mu = 0.1f; /* without a reference */
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, &wrong, &rng, NULL), FL_EINVAL);
	tp.prox_mu = 0.0f;
	cr_assert_eq(fl_train(t, &m, &d, idx, 0, &tp, NULL, &rng, NULL), FL_EINVAL);
	cr_assert_eq(fl_train(t, &m, &d, NULL, 11, &tp, NULL, &rng, NULL), FL_EINVAL);
	idx[3] = 10; /* out of range, after valid ones: nothing may move */
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	idx[3] = 3;
	d.y[2] = 3; /* a label the model cannot output */
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	cr_assert_eq(fl_evaluate(t, &m, &d, &ev), FL_EINVAL);
	cr_assert_eq(fl_loss_grad(t, &m, d.x, d.y, 4, &loss, NULL), FL_EINVAL);
	d.y[2] = 2;
	cr_assert_eq(fl_loss_grad(t, &m, d.x, d.y, 5, &loss, NULL), FL_EINVAL);
	cr_assert_eq(fl_loss_grad(t, &m, d.x, d.y, 0, &loss, NULL), FL_EINVAL);
	cr_assert_eq(fl_loss_grad(t, &wrong, d.x, d.y, 2, &loss, NULL), FL_EINVAL);
	cr_assert_eq(fl_evaluate(t, &wrong, &d, &ev), FL_EINVAL);
	d.dim = 5;
	cr_assert_eq(fl_train(t, &m, &d, idx, 4, &tp, NULL, &rng, NULL), FL_EINVAL);
	cr_assert_eq(fl_evaluate(t, &m, &d, &ev), FL_EINVAL);
	d.dim = 6;
	cr_assert_eq(memcmp(m.params, copy.params, m.n_params * sizeof(float)), 0);

	fl_trainer *none = (fl_trainer *)&rng; /* must be overwritten */
	cr_assert_eq(fl_trainer_new(&none, &s, 0), FL_EINVAL);
	cr_assert_null(none);
	s.sizes[2] = 1;
	cr_assert_eq(fl_trainer_new(&none, &s, 4), FL_EINVAL);
	cr_assert_null(none);

	free_blobs(&d);
	fl_model_free(&m);
	fl_model_free(&copy);
	fl_model_free(&wrong);
	fl_trainer_free(t);
}

Test(train, alloc_torture)
{
	fl_spec s = spec_of("12-8-8-3");
	fl_dataset d;
	fl_model m, copy;
	fl_trainer *t;
	fl_rng rng;
	fl_train_params tp = {.epochs = 1, .batch = 4, .lr = 0.1f};
	unsigned long n;
	int rc;

	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_trainer_new(&t, &s, 16);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_null(t);
	}
	cr_assert_gt(n, 1);

	make_blobs(&d, 20, 12, 3, 1, 2);
	cr_assert_eq(fl_model_init(&m, &s, 1), FL_OK);
	cr_assert_eq(fl_model_copy(&copy, &m), FL_OK);
	fl_rng_seed(&rng, 5);
	fl_alloc_fail_after(1);
	rc = fl_train(t, &m, &d, NULL, d.n, &tp, NULL, &rng, NULL);
	fl_alloc_fail_after(0);
	cr_assert_eq(rc, FL_ENOMEM);
	cr_assert_eq(memcmp(m.params, copy.params, m.n_params * sizeof(float)), 0);
	cr_assert_eq(fl_train(t, &m, &d, NULL, d.n, &tp, NULL, &rng, NULL), FL_OK);
	cr_assert_neq(memcmp(m.params, copy.params, m.n_params * sizeof(float)), 0);

	free_blobs(&d);
	fl_model_free(&m);
	fl_model_free(&copy);
	fl_trainer_free(t);
}
