/*
 * fl/fl.h — the federated-learning engine of fedledger (design.md §2, §5, §7):
 * pure compute. Model specs, an MLP on OpenBLAS sgemm, the trainer, datasets
 * and partitions, the model/update blob format, fixed-point aggregation rules,
 * differential privacy and its accountant.
 *
 * fl/ never touches the network or the chain. It may use floating point for
 * training; everything a validator must recompute (quantised updates, the
 * aggregate, the new model's bytes) is integer arithmetic or exactly
 * specified IEEE single operations, so it is bit-identical on every machine
 * and for any thread count.
 *
 * This is the only header another module may include from fl/.
 * Ownership: structs filled by a *_new / *_load / *_decode function own their
 * arrays and are released by the matching *_free, which is also safe on a
 * zeroed struct and after a failed call.
 */
#ifndef FEDLEDGER_FL_H
#define FEDLEDGER_FL_H

#include "core/core.h"

/* ------------------------------------------------------------ spec */

#define FL_MAX_LAYERS 8
#define FL_MAX_WIDTH 65536
#define FL_MAX_CLASSES 256
#define FL_MAX_PARAMS ((size_t)1 << 26)

typedef enum { FL_ACT_NONE = 0, FL_ACT_RELU = 1 } fl_activation;

/* Dense layers: sizes[0] inputs, sizes[i+1] outputs of layer i, then a softmax
 * cross-entropy head. The last layer's activation is NONE. */
typedef struct {
	uint32_t n_layers;
	uint32_t sizes[FL_MAX_LAYERS + 1];
	uint8_t act[FL_MAX_LAYERS];
} fl_spec;

/* "784-200-200-10": ReLU on hidden layers, none on the last. FL_EPARSE or
 * FL_EINVAL (a width of 0, over FL_MAX_WIDTH, too many layers, < 2 outputs). */
int fl_spec_parse(fl_spec *out, const char *text) FL_MUST_CHECK;
int fl_spec_check(const fl_spec *spec) FL_MUST_CHECK;
/* 1 if two specs describe the same network (only the used entries count). */
int fl_spec_equal(const fl_spec *a, const fl_spec *b);
void fl_spec_format(char *out, size_t len, const fl_spec *spec);
size_t fl_spec_params(const fl_spec *spec);
/* Multiply-adds ×2 of one forward pass of one sample. */
uint64_t fl_spec_flops(const fl_spec *spec);
/* Offset of layer l's weights in the parameter vector; its biases follow
 * them. Layout per layer: W row-major [in][out], then b[out]. */
size_t fl_spec_layer_offset(const fl_spec *spec, uint32_t layer);

/* ------------------------------------------------------------- rng */

/* xoshiro256** seeded through splitmix64: portable and reproducible. */
typedef struct {
	uint64_t s[4];
} fl_rng;

void fl_rng_seed(fl_rng *rng, uint64_t seed);
uint64_t fl_rng_next(fl_rng *rng);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint32_t fl_rng_below(fl_rng *rng, uint32_t n);
/* Uniform double in [0, 1) from the top 53 bits. */
double fl_rng_uniform(fl_rng *rng);
/* Standard normal (Marsaglia polar method). */
double fl_rng_gauss(fl_rng *rng);
/* Gamma(shape, 1) (Marsaglia–Tsang), for Dirichlet partitions. */
double fl_rng_gamma(fl_rng *rng, double shape);
/* A stream derived from (seed, a, b) so clients and rounds get independent,
 * reproducible streams whatever the thread that runs them. */
void fl_rng_derive(fl_rng *rng, uint64_t seed, uint64_t a, uint64_t b);

/* ----------------------------------------------------------- model */

typedef struct {
	fl_spec spec;
	size_t n_params;
	float *params; /* owned, 64-byte aligned */
} fl_model;

/* Zeroed parameters. */
int fl_model_new(fl_model *m, const fl_spec *spec) FL_MUST_CHECK;
/* He-uniform weights, zero biases, from fl_rng seeded by `seed`: the same
 * spec and seed give the same bytes everywhere (round 1's base model). */
int fl_model_init(fl_model *m, const fl_spec *spec, uint64_t seed) FL_MUST_CHECK;
int fl_model_copy(fl_model *dst, const fl_model *src) FL_MUST_CHECK;
void fl_model_free(fl_model *m);

/* --------------------------------------------------------- datasets */

#define FL_DATA_TYPE_MAX 32

typedef struct {
	size_t n;            /* samples */
	uint32_t dim;        /* features per sample */
	uint32_t n_classes;  /* labels are < n_classes */
	float *x;            /* owned, n*dim, row-major; pixel data scaled to [0,1] */
	uint16_t *y;         /* owned, n */
	char data_type[FL_DATA_TYPE_MAX + 1]; /* "image/28x28x1", "tabular/N" */
} fl_dataset;

/* IDX files (optionally gzip-compressed, detected by magic), images as u8
 * scaled by 1/255. Rejects truncated or inconsistent files (FL_ECORRUPT). */
int fl_dataset_load_idx(fl_dataset *out, const char *images_path, const char *labels_path,
			uint32_t n_classes) FL_MUST_CHECK;
/* The Debian dataset-fashion-mnist layout: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz */
#define FL_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
int fl_dataset_load_fashion_mnist(fl_dataset *train, fl_dataset *test,
				  const char *dir) FL_MUST_CHECK;
/* CSV: one sample a line, label first, then dim numeric features; a header
 * line is allowed if it does not parse as numbers. FL_EPARSE names the line
 * through fl_log. */
int fl_dataset_load_csv(fl_dataset *out, const char *path, uint32_t n_classes) FL_MUST_CHECK;
/* Gaussian blobs, one per class, separable enough that an MLP learns them. */
int fl_dataset_synthetic(fl_dataset *out, size_t n, uint32_t dim, uint32_t n_classes,
			 uint64_t seed) FL_MUST_CHECK;
/* Copy of the samples idx[0..n). */
int fl_dataset_subset(fl_dataset *out, const fl_dataset *in, const uint32_t *idx,
		      size_t n) FL_MUST_CHECK;
void fl_dataset_free(fl_dataset *d);

/* ------------------------------------------------------- partitions */

/* Per-client index lists into one dataset, each in ascending order. Every
 * partition is a pure function of the labels, the arguments and the seed;
 * FL_EINVAL if clients is 0 or more than d->n. */
typedef struct {
	uint32_t n_clients;
	uint32_t **idx; /* owned */
	size_t *n;      /* owned */
} fl_partition;

int fl_partition_iid(fl_partition *p, const fl_dataset *d, uint32_t clients,
		     uint64_t seed) FL_MUST_CHECK;
/* Per class, shares ~ Dirichlet(alpha) over clients (alpha > 0); every client
 * gets at least one sample. */
int fl_partition_dirichlet(fl_partition *p, const fl_dataset *d, uint32_t clients, double alpha,
			   uint64_t seed) FL_MUST_CHECK;
/* Each client holds samples of k distinct labels (shards): the classes are
 * cut into clients·k single-class shards, k per client, of distinct classes
 * whenever no class needs more shards than there are clients. With fewer
 * shards than classes only clients·k classes are used. FL_EINVAL if k is 0
 * or clients·k > d->n. */
int fl_partition_labels(fl_partition *p, const fl_dataset *d, uint32_t clients, uint32_t k,
			uint64_t seed) FL_MUST_CHECK;
/* Indices of the samples whose label is in labels[0..n_labels): a profile
 * such as "footwear only". *idx allocated (fl_free). */
int fl_select_labels(uint32_t **idx, size_t *n, const fl_dataset *d, const uint16_t *labels,
		     size_t n_labels) FL_MUST_CHECK;
void fl_partition_free(fl_partition *p);

/* A member's share (fl/share.c), one code path for fedledger-sim and the
 * node: restrict the data to the profile's labels, partition it, cap each
 * client. */
/* The samples of in whose label is in labels[0..n_labels), in their order,
 * as a data set of their own (dim, n_classes and data_type kept): a
 * profile's view of the data. n_labels 0 copies every sample. FL_EINVAL for
 * a label >= in->n_classes, FL_ENOMEM. *out is allocated (fl_dataset_free). */
int fl_dataset_restrict(fl_dataset *out, const fl_dataset *in, const uint16_t *labels,
			size_t n_labels) FL_MUST_CHECK;
/* Keeps at most max of the client's samples (max 0 = all): a random choice
 * from fl_rng_derive(seed, 0, client), then ascending again. */
void fl_partition_cap(fl_partition *p, uint32_t client, uint64_t max, uint64_t seed);

/* ---------------------------------------------------- data summary */

#define FL_SKETCH_DIM 16

/* What a member declares about its data (round_join) and what profile
 * matching compares: type, label histogram, and a per-feature mean/variance
 * sketch over FL_SKETCH_DIM equal slices of the feature vector. */
typedef struct {
	char data_type[FL_DATA_TYPE_MAX + 1];
	uint32_t n_classes;
	uint64_t n;
	uint64_t label_counts[FL_MAX_CLASSES];
	float mean[FL_SKETCH_DIM];
	float var[FL_SKETCH_DIM];
} fl_data_summary;

/* Over d's samples idx[0..n) (idx NULL = all, n ignored). FL_EINVAL for no
 * samples, or an index or label out of range. */
int fl_data_summarize(fl_data_summary *out, const fl_dataset *d, const uint32_t *idx,
		      size_t n) FL_MUST_CHECK;

/* --------------------------------------------------------- training */

typedef struct {
	uint32_t epochs;
	uint32_t batch;
	float lr;
	float momentum;     /* SGD momentum; 0 = plain SGD */
	float weight_decay; /* L2, added to the gradient */
	float prox_mu;      /* FedProx: mu/2·||w − w_global||²; 0 = off */
} fl_train_params;

typedef struct {
	double loss;     /* mean training loss over the last epoch */
	double accuracy; /* training accuracy over the last epoch */
	uint64_t samples;
	double seconds;
} fl_train_stats;

typedef struct {
	double accuracy;
	double loss;
	uint32_t n_classes;
	uint64_t class_total[FL_MAX_CLASSES];
	uint64_t class_correct[FL_MAX_CLASSES];
} fl_eval;

/* Workspace for one thread: activations, gradients, momentum. Kernels are
 * single-threaded (OpenBLAS set to one thread) so several trainers run in
 * parallel on separate cores. */
typedef struct fl_trainer fl_trainer;

int fl_trainer_new(fl_trainer **out, const fl_spec *spec, uint32_t max_batch) FL_MUST_CHECK;
void fl_trainer_free(fl_trainer *t);

/* Local training in place: `epochs` passes over d's samples idx[0..n), order
 * shuffled with rng; prox_ref is the global model for FedProx (NULL when
 * prox_mu is 0). Momentum starts at zero on each call. */
int fl_train(fl_trainer *t, fl_model *m, const fl_dataset *d, const uint32_t *idx, size_t n,
	     const fl_train_params *tp, const fl_model *prox_ref, fl_rng *rng,
	     fl_train_stats *stats) FL_MUST_CHECK;

/* Mean cross-entropy of a batch and, if grad != NULL, its gradient with
 * respect to every parameter (n_params floats): the gradient check's API. */
int fl_loss_grad(fl_trainer *t, const fl_model *m, const float *x, const uint16_t *y, size_t b,
		 double *loss, float *grad) FL_MUST_CHECK;

/* Class probabilities for b samples (b*n_outputs floats into probs). */
int fl_predict(fl_trainer *t, const fl_model *m, const float *x, size_t b,
	       float *probs) FL_MUST_CHECK;

/* Accuracy, loss and per-class accuracy over a whole dataset. */
int fl_evaluate(fl_trainer *t, const fl_model *m, const fl_dataset *d, fl_eval *out) FL_MUST_CHECK;

/* -------------------------------------------------- fixed-point updates */

/*
 * An update is the quantised difference local − base: q = round(x · 2^FRAC)
 * (ties away from zero) clipped to ±FL_FIXED_MAX. With FRAC = 24 a value in
 * ±127 keeps 6e-8 resolution, far below SGD noise. Sums use 64-bit (or
 * 128-bit where a product could overflow) integers, so aggregation is exact
 * and independent of order and threads.
 */
#define FL_FIXED_FRAC 24
#define FL_FIXED_MAX INT32_MAX

typedef struct {
	fl_spec spec;
	size_t n;          /* = fl_spec_params(spec) */
	/* owned; every value within +-FL_FIXED_MAX (never INT32_MIN): the
	 * quantiser and the blob decoder guarantee it, and the aggregation
	 * rules' exactness arguments rely on it */
	int32_t *q;
	uint64_t n_samples;
} fl_update;

int32_t fl_fixed_from_float(float x);
float fl_fixed_to_float(int32_t q);
int fl_update_from_models(fl_update *u, const fl_model *local, const fl_model *base,
			  uint64_t n_samples) FL_MUST_CHECK;
/* out = base + dequantised delta, elementwise in IEEE single precision.
 * out may be base (in place), a model of base's spec (overwritten) or a
 * zeroed struct (allocated like fl_model_new; fl_model_free it). */
int fl_update_apply(fl_model *out, const fl_model *base, const int32_t *delta) FL_MUST_CHECK;
void fl_update_free(fl_update *u);

/* -------------------------------------------------------- aggregation */

typedef enum {
	FL_RULE_FEDAVG = 1,     /* weighted by samples (capped) */
	FL_RULE_MEDIAN = 2,     /* coordinate-wise */
	FL_RULE_TRIMMED = 3,    /* trim beta of each side, coordinate-wise, unweighted */
	FL_RULE_MULTIKRUM = 4,  /* keep n−f updates with the lowest Krum scores, then FedAvg */
	FL_RULE_NORM_BOUND = 5, /* scale each update to L2 <= bound, then FedAvg */
} fl_rule;

typedef struct {
	fl_rule rule;
	uint32_t trim_beta_ppm;  /* TRIMMED: fraction trimmed from each side */
	uint32_t krum_f;         /* MULTIKRUM: tolerated bad updates */
	uint64_t norm_bound_q;   /* NORM_BOUND: bound in fixed point (value · 2^FRAC) */
	uint64_t max_weight;     /* FedAvg weight = min(n_samples, max_weight, 2^31 − 1); 0 = no cap */
	uint32_t threads;        /* 0 or 1 = calling thread only */
} fl_agg_params;

typedef struct {
	size_t n;
	int32_t *q;        /* owned: the aggregated delta */
	size_t n_inputs;
	uint64_t *weights; /* owned, per input in the order given: 0 = rejected */
} fl_agg_result;

/* The most updates one aggregation takes (Multi-Krum keeps n² distances). */
#define FL_AGG_MAX_INPUTS 1024

/* Aggregates n updates of one spec. The result does not depend on the
 * order of `updates` beyond the order of `weights` (rules sort by content
 * where they must), nor on `threads`.
 * Rounding (docs/aggregation.md): FedAvg, Multi-Krum and norm bounding give
 * round(Σ w·q / Σ w) half away from zero; a median of an even count is
 * floor((a + b) / 2); a trimmed mean drops floor(beta·n) values at each end
 * and rounds like FedAvg. Norm bounding scales an update whose norm
 * N = floor(sqrt(Σ q²)) exceeds the bound B to round(q·B/N). `weights` holds
 * every input's capped weight, 0 for those Multi-Krum rejected.
 * FL_EINVAL: n = 0 or over FL_AGG_MAX_INPUTS, mixed specs, a rule parameter
 * out of range (Multi-Krum needs n > 2f + 2, a trimmed mean
 * n − 2·floor(beta·n) >= 1, norm bounding B > 0), or a weighted mean whose
 * weights are all 0. FL_ENOMEM. */
int fl_aggregate(fl_agg_result *out, const fl_update *const *updates, size_t n,
		 const fl_agg_params *ap) FL_MUST_CHECK;
void fl_agg_result_free(fl_agg_result *r);

/* FedAvgM: v = beta·v + delta, in fixed point (beta in ppm, rounding as
 * fl_fixed); the model then moves by v. v has n int32 entries, zero at start. */
int fl_server_momentum(int32_t *v, const int32_t *delta, size_t n, uint32_t beta_ppm) FL_MUST_CHECK;

/* ------------------------------------------------------------- blobs */

/*
 * Model and update blobs: "FLB1", u8 kind, the spec, then per layer two
 * tensors (W, b) each with its shape, element type (f32 for models, q32
 * fixed with FL_FIXED_FRAC for updates) and scale exponent, then the
 * little-endian payload; an update also carries n_samples. The blob hash is
 * the SHA-256 of these uncompressed canonical bytes; on the wire and on disk
 * a blob is a zstd frame of them. Exact layout and what decoding refuses:
 * docs/blob-format.md. Encoded buffers are the caller's (fl_free).
 */
typedef enum { FL_BLOB_MODEL = 1, FL_BLOB_UPDATE = 2 } fl_blob_kind;

#define FL_BLOB_MAX ((size_t)512 << 20)

int fl_blob_encode_model(uint8_t **out, size_t *n, const fl_model *m) FL_MUST_CHECK;
int fl_blob_decode_model(fl_model *m, const uint8_t *p, size_t n) FL_MUST_CHECK;
int fl_blob_encode_update(uint8_t **out, size_t *n, const fl_update *u) FL_MUST_CHECK;
int fl_blob_decode_update(fl_update *u, const uint8_t *p, size_t n) FL_MUST_CHECK;
/* The kind of a canonical blob without decoding it all. */
int fl_blob_kind_of(const uint8_t *p, size_t n, fl_blob_kind *kind) FL_MUST_CHECK;
/* zstd; decompress refuses output over max (FL_ETOOBIG) and corrupt frames. */
int fl_blob_compress(uint8_t **out, size_t *n, const uint8_t *p, size_t len) FL_MUST_CHECK;
int fl_blob_decompress(uint8_t **out, size_t *n, const uint8_t *p, size_t len,
		       size_t max) FL_MUST_CHECK;

/* ------------------------------------------------ differential privacy */

/* Scales delta to L2 norm <= clip (clip > 0); returns the norm before. */
double fl_dp_clip(float *delta, size_t n, double clip);
/* Adds N(0, stddev²) to every entry. */
void fl_dp_noise(float *delta, size_t n, double stddev, fl_rng *rng);
/* A client's DP update (design.md §7): local becomes its delta local − base
 * (IEEE single subtraction), clipped to L2 <= clip (> 0) and noised with
 * N(0, (z·clip)²) from rng, then quantised into u with n_samples. local's
 * parameters are overwritten. fedledger-sim and the node both train
 * through this, so their DP updates are the same bytes. */
int fl_dp_update(fl_update *u, fl_model *local, const fl_model *base, uint64_t n_samples,
		 double clip, double z, fl_rng *rng) FL_MUST_CHECK;

/*
 * Rényi-DP accountant for the (subsampled) Gaussian mechanism: epsilon at
 * `delta` after `steps` applications with noise multiplier z and sampling
 * rate q (q = 1: every round uses every client). Minimises over the usual
 * grid of orders. Returns the epsilon and, if order != NULL, the best order.
 */
double fl_rdp_epsilon(double z, double q, uint64_t steps, double delta, double *order);
/* RDP of one step at order alpha (the quantity the accountant sums). */
double fl_rdp_gaussian(double z, double q, double alpha);

/* ------------------------------------------------------------- misc */

/* Monotonic seconds, for progress and benchmarks (never in chain/). */
double fl_now(void);

#endif
