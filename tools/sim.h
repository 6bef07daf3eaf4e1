/*
 * tools/sim.h — fedledger-sim's parts: a federated-learning simulation
 * without a chain (sim.c), its options (sim_args.c) and its output
 * (sim_report.c). Never included outside tools/.
 *
 * One round: every client starts from the global model, trains on its own
 * partition with an rng derived from (seed, round, client), optionally clips
 * and noises its delta (DP), quantises it to an fl_update weighted by its
 * sample count; the updates are aggregated with the chosen rule (integer
 * arithmetic, so the result is independent of thread count and finishing
 * order), applied to the global model, and the model is evaluated on the
 * test set.
 */
#ifndef FEDLEDGER_TOOLS_SIM_H
#define FEDLEDGER_TOOLS_SIM_H

#include "fl/fl.h"

#define SIM_PROG "fedledger-sim"

#define SIM_MAX_CLIENTS 1000
#define SIM_MAX_ROUNDS  100000
#define SIM_MAX_THREADS 256
#define SIM_DP_DELTA    1e-5
/* Test images per evaluation job: a fixed split, so the reported loss (a
 * sum of per-slice floating-point means) does not depend on --threads. */
#define SIM_EVAL_SLICE 2500

typedef enum { SIM_SPLIT_DIRICHLET = 0, SIM_SPLIT_IID, SIM_SPLIT_LABELS } sim_split;

typedef struct {
	uint32_t clients;
	uint32_t rounds;
	sim_split split;
	double alpha;       /* SIM_SPLIT_DIRICHLET */
	uint32_t labels;    /* SIM_SPLIT_LABELS: labels per client */
	fl_train_params tp; /* epochs, batch, lr, momentum */
	fl_spec spec;
	const char *data_dir;
	fl_agg_params agg;            /* rule and its parameter; threads is set by sim_new */
	uint32_t server_momentum_ppm; /* FedAvgM beta; 0 = apply the aggregate as is */
	double dp_clip;               /* 0 = no DP */
	double dp_noise;              /* noise multiplier z: stddev = z · clip */
	uint32_t threads;
	uint64_t seed;
	uint64_t max_samples; /* per client, 0 = all of its partition */
	/* --profile-labels: train and test restricted to these labels
	 * (ascending, distinct) before partitioning; 0 = every label. */
	size_t n_profile_labels;
	uint16_t profile_labels[FL_MAX_CLASSES];
	int json;
} sim_config;

/* Defaults of every option (interfaces.md); clients and rounds are 0 =
 * not given. */
void sim_config_default(sim_config *c);

/* Parses argv into c. Returns -1 when the simulation should run, or the
 * exit status to leave with: 0 after --help, 2 after a one-line error. */
int sim_parse_args(sim_config *c, int argc, char **argv);

typedef struct {
	uint32_t round; /* 1-based */
	double accuracy;
	double loss;
	double seconds; /* of this round: */
	double train_seconds, aggregate_seconds, eval_seconds;
	double elapsed;    /* since the simulation started, data loading included */
	double epsilon;    /* DP: epsilon at SIM_DP_DELTA after this round; else 0 */
	size_t accepted;   /* updates the rule kept (weight > 0) */
	double train_loss; /* sample-weighted mean of the clients' last epoch */
} sim_round;

typedef struct sim sim;

/* Called on the main thread while a round's clients train. */
typedef void (*sim_progress_fn)(void *ctx, uint32_t round, size_t done, size_t total);

/* Why sim_new failed: one line; usage is set when the flags do not fit the
 * data (the line then names the option). */
typedef struct {
	char msg[512];
	int usage;
} sim_error;

/*
 * Loads the data, partitions it, starts the global model at
 * fl_model_init(spec, seed) and the worker pool. On failure an FL_E* code
 * and err says why.
 */
int sim_new(sim **out, const sim_config *c, sim_error *err) FL_MUST_CHECK;
void sim_free(sim *s);

/* Samples of the training set and of the test set; client sizes. */
size_t sim_train_samples(const sim *s);
size_t sim_test_samples(const sim *s);
size_t sim_client_samples(const sim *s, uint32_t client);
/* Client `client`'s share: *idx[0..*n) into the (restricted) training set,
 * ascending, borrowed until sim_free. A node
 * with the same flags trains on exactly these samples (node/round_data.h). */
void sim_client_share(const sim *s, uint32_t client, const uint32_t **idx, size_t *n);
/* Samples per label of the (restricted) training and test sets. */
void sim_label_counts(const sim *s, uint64_t train[FL_MAX_CLASSES],
		      uint64_t test[FL_MAX_CLASSES]);

/* Runs the next round. */
int sim_round_run(sim *s, sim_round *out, sim_progress_fn progress, void *ctx) FL_MUST_CHECK;

/* SHA-256 of the global model's canonical blob. */
int sim_model_hash(const sim *s, fl_hash *out) FL_MUST_CHECK;

/* Seconds since sim_new started. */
double sim_elapsed(const sim *s);

/* ----------------------------------------------------------- output */

typedef struct {
	int json;
	int progress; /* draw a progress bar on stderr */
	int bar_drawn;
	uint32_t rounds;
} sim_report;

void sim_report_init(sim_report *r, const sim_config *c, int progress);
void sim_report_start(sim_report *r, const sim_config *c, const sim *s);
void sim_report_progress(void *r, uint32_t round, size_t done, size_t total);
void sim_report_round(sim_report *r, const sim_round *round);
void sim_report_final(sim_report *r, const fl_hash *model, const sim_round *last, uint32_t rounds,
		      double seconds);

#endif
