/*
 * tools/sim_args.c — fedledger-sim's options (shared/interfaces.md): every
 * value checked here, before any data is loaded, with one line naming the
 * option that is wrong.
 */
#include "tools/internal.h"
#include "tools/sim.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: " SIM_PROG " --clients N --rounds R [options]\n"
    "\n"
    "Federated learning without a chain: N clients train the model on their share\n"
    "of Fashion-MNIST, an aggregation rule combines their quantised updates each\n"
    "round, and the global model is evaluated on the 10,000-image test set. The\n"
    "same seed and flags give the same final model hash for any --threads.\n"
    "\n"
    "  --clients N        clients, 1 to 1000 (required)\n"
    "  --rounds R         rounds, 1 to 100000 (required)\n"
    "  --alpha A          Dirichlet(A) label split, A > 0 (default 0.5)\n"
    "  --iid              IID split instead\n"
    "  --labels K         K labels per client instead\n"
    "  --epochs E         local epochs per round (default 1)\n"
    "  --batch B          local batch size (default 10)\n"
    "  --lr LR            local SGD learning rate (default 0.05)\n"
    "  --momentum M       local SGD momentum, 0 <= M < 1 (default 0)\n"
    "  --server-momentum B  FedAvgM: the server moves by v = B*v + aggregate,\n"
    "                     0 <= B < 1, in fixed point (default 0: plain FedAvg)\n"
    "  --model SPEC       dense layers, e.g. 784-200-200-10 (the default)\n"
    "  --data DIR         Fashion-MNIST IDX files (default " FL_FASHION_MNIST_DIR ")\n"
    "  --rule RULE        fedavg (default), median, trimmed:B (trim a fraction\n"
    "                     0 <= B < 0.5 each side), multikrum:F (tolerate F bad\n"
    "                     updates), norm:BOUND (clip each update's L2 norm)\n"
    "  --dp-clip C        differential privacy: each client clips its update to\n"
    "  --dp-noise Z       L2 norm C and adds Gaussian noise of stddev Z*C; epsilon\n"
    "                     at delta=1e-5 is reported per round (both or neither)\n"
    "  --threads T        clients trained in parallel (default: online CPUs)\n"
    "  --seed S           seed of the split, the model and training (default 1)\n"
    "  --max-samples N    train on at most N samples per client (quick runs)\n"
    "  --profile-labels L  a profile's labels, e.g. 0,1,2,3,4,6,8: train and test\n"
    "                     on those samples only, split as a node splits its share\n"
    "  --json             one JSON object per line instead of text\n"
    "  --help             this text\n"
    "\n"
    "Output: one line per round (test accuracy, loss, seconds), then the SHA-256\n"
    "of the final model's canonical blob. A progress bar is drawn on stderr when\n"
    "stdout and stderr are terminals.\n"
    "Exit status: 0 done, 1 runtime failure (data, memory), 2 bad arguments.\n";

enum {
	O_CLIENTS,
	O_ROUNDS,
	O_ALPHA,
	O_IID,
	O_LABELS,
	O_EPOCHS,
	O_BATCH,
	O_LR,
	O_MOMENTUM,
	O_SERVER_MOMENTUM,
	O_MODEL,
	O_DATA,
	O_RULE,
	O_DP_CLIP,
	O_DP_NOISE,
	O_THREADS,
	O_SEED,
	O_MAX_SAMPLES,
	O_PROFILE_LABELS,
	O_JSON,
	O_HELP,
	O_COUNT
};

static const tool_option options[] = {
    {"clients", 1, O_CLIENTS},   {"rounds", 1, O_ROUNDS},
    {"alpha", 1, O_ALPHA},       {"iid", 0, O_IID},
    {"labels", 1, O_LABELS},     {"epochs", 1, O_EPOCHS},
    {"batch", 1, O_BATCH},       {"lr", 1, O_LR},
    {"momentum", 1, O_MOMENTUM}, {"server-momentum", 1, O_SERVER_MOMENTUM},
    {"model", 1, O_MODEL},       {"data", 1, O_DATA},
    {"rule", 1, O_RULE},         {"dp-clip", 1, O_DP_CLIP},
    {"dp-noise", 1, O_DP_NOISE}, {"threads", 1, O_THREADS},
    {"seed", 1, O_SEED},         {"max-samples", 1, O_MAX_SAMPLES},
    {"profile-labels", 1, O_PROFILE_LABELS},
    {"json", 0, O_JSON},         {"help", 0, O_HELP},
};

void sim_config_default(sim_config *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	memset(c, 0, sizeof(*c));
	c->split = SIM_SPLIT_DIRICHLET;
	c->alpha = 0.5;
	c->tp.epochs = 1;
	c->tp.batch = 10;
	c->tp.lr = 0.05f;
	rc = fl_spec_parse(&c->spec, "784-200-200-10");
	assert(rc == FL_OK);
	(void)rc;
	c->data_dir = FL_FASHION_MNIST_DIR;
	c->agg.rule = FL_RULE_FEDAVG;
	c->threads = cpus < 1 ? 1 : cpus > SIM_MAX_THREADS ? SIM_MAX_THREADS : (uint32_t)cpus;
	c->seed = 1;
}

/* fedavg | median | trimmed:B | multikrum:F | norm:BOUND */
static int parse_rule(const tool_args *a, const char *text, fl_agg_params *ap)
{
	const char *colon = strchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : strlen(text);
	const char *arg = colon ? colon + 1 : NULL;
	double v;
	uint32_t f;

	if (len == 6 && strncmp(text, "fedavg", len) == 0 && !arg) {
		ap->rule = FL_RULE_FEDAVG;
		return 0;
	}
	if (len == 6 && strncmp(text, "median", len) == 0 && !arg) {
		ap->rule = FL_RULE_MEDIAN;
		return 0;
	}
	if (len == 7 && strncmp(text, "trimmed", len) == 0 && arg) {
		if (tool_parse_double(a, "rule trimmed", arg, 0, 0.5, &v) < 0)
			return -TOOL_EXIT_USAGE;
		if (v >= 0.5) {
			tool_error(a->prog, "--rule: trimmed:B needs B < 0.5, got '%s'", arg);
			return -TOOL_EXIT_USAGE;
		}
		ap->rule = FL_RULE_TRIMMED;
		/* In ppm, rounded, but kept under one half as B is: 0.4999999
		 * must not become a trim of 1/2, which leaves nothing of an
		 * even number of updates. */
		ap->trim_beta_ppm = (uint32_t)lround(v * 1e6);
		if (ap->trim_beta_ppm >= 500000)
			ap->trim_beta_ppm = 499999;
		return 0;
	}
	if (len == 9 && strncmp(text, "multikrum", len) == 0 && arg) {
		if (tool_parse_u32(a, "rule multikrum", arg, 0, SIM_MAX_CLIENTS, &f) < 0)
			return -TOOL_EXIT_USAGE;
		ap->rule = FL_RULE_MULTIKRUM;
		ap->krum_f = f;
		return 0;
	}
	if (len == 4 && strncmp(text, "norm", len) == 0 && arg) {
		/* The bound in fixed point must fit 64 bits comfortably. */
		if (tool_parse_double(a, "rule norm", arg, 1, 1e9, &v) < 0)
			return -TOOL_EXIT_USAGE;
		ap->rule = FL_RULE_NORM_BOUND;
		ap->norm_bound_q = (uint64_t)llround(v * (double)(1u << FL_FIXED_FRAC));
		if (ap->norm_bound_q == 0)
			ap->norm_bound_q = 1;
		return 0;
	}
	tool_error(a->prog,
		   "--rule: must be fedavg, median, trimmed:B, multikrum:F or norm:BOUND, got '%s'",
		   text);
	return -TOOL_EXIT_USAGE;
}

/* "0,1,2,3,4,6,8": distinct labels below FL_MAX_CLASSES, any order, kept
 * ascending (a profile's label set). */
static int parse_profile_labels(const char *text, sim_config *c)
{
	uint8_t seen[FL_MAX_CLASSES] = {0};
	const char *p = text;

	c->n_profile_labels = 0;
	for (;;) {
		char item[8];
		size_t len = strcspn(p, ",");
		uint64_t v;

		if (len == 0 || len >= sizeof(item)) {
			tool_error(SIM_PROG,
				   "--profile-labels: must be labels like 0,1,2 (each 0 to %d), got "
				   "'%s'",
				   FL_MAX_CLASSES - 1, text);
			return -TOOL_EXIT_USAGE;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (fl_parse_u64(item, &v) != FL_OK || v >= FL_MAX_CLASSES) {
			tool_error(SIM_PROG, "--profile-labels: label '%s' is not 0 to %d", item,
				   FL_MAX_CLASSES - 1);
			return -TOOL_EXIT_USAGE;
		}
		if (seen[v]) {
			tool_error(SIM_PROG, "--profile-labels: label %s given twice", item);
			return -TOOL_EXIT_USAGE;
		}
		seen[v] = 1;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	for (size_t l = 0; l < FL_MAX_CLASSES; l++)
		if (seen[l])
			c->profile_labels[c->n_profile_labels++] = (uint16_t)l;
	return 0;
}

/* Rules between options, once all are known. */
static int check_combination(const tool_args *a, sim_config *c, const int *seen)
{
	int splits = seen[O_ALPHA] + seen[O_IID] + seen[O_LABELS];

	if (!seen[O_CLIENTS] || !seen[O_ROUNDS]) {
		tool_error(a->prog, "%s is required (see --help)",
			   seen[O_CLIENTS] ? "--rounds" : "--clients");
		return TOOL_EXIT_USAGE;
	}
	if (splits > 1) {
		tool_error(a->prog, "--%s: only one of --alpha, --iid and --labels may be given",
			   seen[O_LABELS] ? "labels" : "iid");
		return TOOL_EXIT_USAGE;
	}
	if (seen[O_DP_CLIP] != seen[O_DP_NOISE]) {
		tool_error(a->prog, "--%s: needs --%s too",
			   seen[O_DP_CLIP] ? "dp-clip" : "dp-noise",
			   seen[O_DP_CLIP] ? "dp-noise" : "dp-clip");
		return TOOL_EXIT_USAGE;
	}
	/* Krum scores each update by its n − f − 2 nearest neighbours. */
	if (c->agg.rule == FL_RULE_MULTIKRUM && c->clients < 2 * (uint64_t)c->agg.krum_f + 3) {
		tool_error(a->prog, "--rule: multikrum:%u needs at least %u clients, got %u",
			   c->agg.krum_f, 2 * c->agg.krum_f + 3, c->clients);
		return TOOL_EXIT_USAGE;
	}
	return -1;
}

static int parse_value(const tool_args *a, sim_config *c, const tool_option *opt, const char *v)
{
	const char *name = opt->name;
	double d;
	int rc = 0;

	switch (opt->id) {
	case O_CLIENTS:
		return tool_parse_u32(a, name, v, 1, SIM_MAX_CLIENTS, &c->clients);
	case O_ROUNDS:
		return tool_parse_u32(a, name, v, 1, SIM_MAX_ROUNDS, &c->rounds);
	case O_ALPHA:
		c->split = SIM_SPLIT_DIRICHLET;
		return tool_parse_double(a, name, v, 1, HUGE_VAL, &c->alpha);
	case O_IID:
		c->split = SIM_SPLIT_IID;
		return 0;
	case O_LABELS:
		c->split = SIM_SPLIT_LABELS;
		return tool_parse_u32(a, name, v, 1, FL_MAX_CLASSES, &c->labels);
	case O_EPOCHS:
		return tool_parse_u32(a, name, v, 1, 1000, &c->tp.epochs);
	case O_BATCH:
		return tool_parse_u32(a, name, v, 1, 4096, &c->tp.batch);
	case O_LR:
		rc = tool_parse_double(a, name, v, 1, 100, &d);
		c->tp.lr = (float)d;
		return rc;
	case O_MOMENTUM:
		rc = tool_parse_double(a, name, v, 0, 1, &d);
		if (rc == 0 && d >= 1) {
			tool_error(a->prog, "--momentum: must be a number >= 0 and < 1, got '%s'",
				   v);
			return -TOOL_EXIT_USAGE;
		}
		c->tp.momentum = (float)d;
		return rc;
	case O_MODEL:
		if (fl_spec_parse(&c->spec, v) < 0) {
			tool_error(a->prog,
				   "--model: must be layer widths like 784-200-200-10 (2 to %d "
				   "layers, widths 1 to %d, at least 2 outputs), got '%s'",
				   FL_MAX_LAYERS, FL_MAX_WIDTH, v);
			return -TOOL_EXIT_USAGE;
		}
		return 0;
	case O_DATA:
		c->data_dir = v;
		return 0;
	case O_RULE:
		return parse_rule(a, v, &c->agg);
	case O_DP_CLIP:
		return tool_parse_double(a, name, v, 1, 1e6, &c->dp_clip);
	case O_DP_NOISE:
		return tool_parse_double(a, name, v, 1, 1e6, &c->dp_noise);
	case O_THREADS:
		return tool_parse_u32(a, name, v, 1, SIM_MAX_THREADS, &c->threads);
	case O_SEED:
		return tool_parse_u64(a, name, v, &c->seed);
	case O_MAX_SAMPLES:
		rc = tool_parse_u64(a, name, v, &c->max_samples);
		if (rc == 0 && c->max_samples == 0) {
			tool_error(a->prog, "--max-samples: must be at least 1");
			return -TOOL_EXIT_USAGE;
		}
		return rc;
	case O_PROFILE_LABELS:
		return parse_profile_labels(v, c);
	case O_SERVER_MOMENTUM:
		rc = tool_parse_double(a, name, v, 0, 1, &d);
		if (rc == 0 && d >= 1) {
			tool_error(a->prog,
				   "--server-momentum: must be a number >= 0 and < 1, got '%s'", v);
			return -TOOL_EXIT_USAGE;
		}
		/* ppm, rounded: the fixed-point momentum takes an integer beta,
		 * kept under 1 as B is (beta = 1 never lets the velocity decay). */
		c->server_momentum_ppm = (uint32_t)(d * 1e6 + 0.5);
		if (c->server_momentum_ppm >= 1000000)
			c->server_momentum_ppm = 999999;
		return rc;
	case O_JSON:
		c->json = 1;
		return 0;
	}
	return 0;
}

int sim_parse_args(sim_config *c, int argc, char **argv)
{
	int seen[O_COUNT] = {0};
	const tool_option *opt;
	const char *value;
	tool_args a;
	int kind;

	sim_config_default(c);
	tool_args_init(&a, SIM_PROG, argc, argv);
	while ((kind = tool_args_next(&a, options, FL_ARRAY_LEN(options), &opt, &value)) !=
	       TOOL_ARGS_END) {
		if (kind < 0)
			return -kind;
		if (kind == TOOL_ARGS_OPERAND) {
			tool_error(SIM_PROG, "unexpected argument '%s' (see --help)", value);
			return TOOL_EXIT_USAGE;
		}
		if (opt->id == O_HELP) {
			fputs(usage, stdout);
			return TOOL_EXIT_OK;
		}
		if (seen[opt->id]) {
			tool_error(SIM_PROG, "--%s: given twice", opt->name);
			return TOOL_EXIT_USAGE;
		}
		seen[opt->id] = 1;
		if (parse_value(&a, c, opt, value) < 0)
			return TOOL_EXIT_USAGE;
	}
	return check_combination(&a, c, seen);
}
