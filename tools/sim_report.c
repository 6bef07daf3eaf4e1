/*
 * tools/sim_report.c — what fedledger-sim prints: a text line per round or
 * one JSON object per line (--json), and a progress bar on stderr while
 * clients train when a person is watching.
 */
#include "tools/sim.h"

#include <math.h>
#include <stdio.h>

#define BAR_WIDTH 30

static const char *rule_name(const fl_agg_params *ap, char *buf, size_t n)
{
	switch (ap->rule) {
	case FL_RULE_MEDIAN:
		return "median";
	case FL_RULE_TRIMMED:
		snprintf(buf, n, "trimmed mean (beta %.4g)", ap->trim_beta_ppm / 1e6);
		return buf;
	case FL_RULE_MULTIKRUM:
		snprintf(buf, n, "multi-krum (f %u)", ap->krum_f);
		return buf;
	case FL_RULE_NORM_BOUND:
		snprintf(buf, n, "norm bound %.4g + fedavg",
			 (double)ap->norm_bound_q / (double)(1u << FL_FIXED_FRAC));
		return buf;
	default:
		return "fedavg";
	}
}

/* A JSON number, or null for what JSON cannot hold (a diverged loss). */
static void json_number(const char *key, double v, int decimals)
{
	printf(",\"%s\":", key);
	if (isfinite(v))
		printf("%.*f", decimals, v);
	else
		fputs("null", stdout);
}

void sim_report_init(sim_report *r, const sim_config *c, int progress)
{
	r->json = c->json;
	r->progress = progress && !c->json;
	r->bar_drawn = 0;
	r->rounds = c->rounds;
}

void sim_report_start(sim_report *r, const sim_config *c, const sim *s)
{
	char spec[128], rule[64], split[64];
	size_t lo = SIZE_MAX, hi = 0;

	if (r->json)
		return;
	for (uint32_t i = 0; i < c->clients; i++) {
		size_t n = sim_client_samples(s, i);

		lo = n < lo ? n : lo;
		hi = n > hi ? n : hi;
	}
	fl_spec_format(spec, sizeof(spec), &c->spec);
	if (c->split == SIM_SPLIT_IID)
		snprintf(split, sizeof(split), "iid");
	else if (c->split == SIM_SPLIT_LABELS)
		snprintf(split, sizeof(split), "%u labels per client", c->labels);
	else
		snprintf(split, sizeof(split), "dirichlet alpha %g", c->alpha);
	printf("model %s (%zu parameters), %u clients, %u rounds, %s\n", spec,
	       fl_spec_params(&c->spec), c->clients, c->rounds,
	       rule_name(&c->agg, rule, sizeof(rule)));
	printf("data %zu training / %zu test samples, %s: %zu to %zu samples per client\n",
	       sim_train_samples(s), sim_test_samples(s), split, lo, hi);
	printf("local SGD: %u epoch%s, batch %u, lr %g, momentum %g; seed %llu; %u thread%s\n",
	       c->tp.epochs, c->tp.epochs == 1 ? "" : "s", c->tp.batch, (double)c->tp.lr,
	       (double)c->tp.momentum, (unsigned long long)c->seed, c->threads,
	       c->threads == 1 ? "" : "s");
	if (c->n_profile_labels > 0) {
		/* From the data as restricted, not from the flag: what was kept. */
		uint64_t train[FL_MAX_CLASSES], test[FL_MAX_CLASSES];
		const char *sep = "";

		sim_label_counts(s, train, test);
		printf("labels (training/test samples):");
		for (size_t l = 0; l < FL_MAX_CLASSES; l++) {
			if (train[l] == 0 && test[l] == 0)
				continue;
			printf("%s %zu %llu/%llu", sep, l, (unsigned long long)train[l],
			       (unsigned long long)test[l]);
			sep = ",";
		}
		putchar('\n');
	}
	if (c->dp_clip > 0)
		printf("DP: clip %g, noise multiplier %g, epsilon at delta %g\n", c->dp_clip,
		       c->dp_noise, SIM_DP_DELTA);
	fflush(stdout);
}

void sim_report_progress(void *ctx, uint32_t round, size_t done, size_t total)
{
	sim_report *r = ctx;
	char bar[BAR_WIDTH + 1];
	size_t fill = total ? done * BAR_WIDTH / total : 0;

	if (!r->progress)
		return;
	for (size_t i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\rround %u/%u  [%s]  %zu/%zu clients trained", round, r->rounds, bar, done,
		total);
	fflush(stderr);
	r->bar_drawn = 1;
}

/* Erases the bar so the round's line takes its place. */
static void erase_bar(sim_report *r)
{
	if (r->bar_drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		r->bar_drawn = 0;
	}
}

void sim_report_round(sim_report *r, const sim_round *x)
{
	erase_bar(r);
	if (r->json) {
		printf("{\"round\":%u", x->round);
		json_number("accuracy", x->accuracy, 6);
		json_number("loss", x->loss, 6);
		json_number("seconds", x->seconds, 3);
		json_number("train_seconds", x->train_seconds, 3);
		json_number("aggregate_seconds", x->aggregate_seconds, 3);
		json_number("eval_seconds", x->eval_seconds, 3);
		json_number("train_loss", x->train_loss, 6);
		if (x->epsilon > 0)
			json_number("epsilon", x->epsilon, 6);
		printf(",\"accepted\":%zu}\n", x->accepted);
	} else {
		printf("round %u/%u  accuracy %.4f  loss %.4f  %.1f s  (total %.1f s)", x->round,
		       r->rounds, x->accuracy, x->loss, x->seconds, x->elapsed);
		if (x->epsilon > 0)
			printf("  epsilon %.3f", x->epsilon);
		putchar('\n');
	}
	fflush(stdout);
}

void sim_report_final(sim_report *r, const fl_hash *model, const sim_round *last, uint32_t rounds,
		      double seconds)
{
	char hex[FL_HASH_HEX_LEN + 1];

	erase_bar(r);
	fl_hash_to_hex(hex, model);
	if (r->json) {
		printf("{\"final_model\":\"%s\",\"rounds\":%u", hex, rounds);
		json_number("seconds", seconds, 3);
		json_number("accuracy", last->accuracy, 6);
		json_number("loss", last->loss, 6);
		if (last->epsilon > 0)
			json_number("epsilon", last->epsilon, 6);
		puts("}");
	} else {
		printf("final model %s (SHA-256 of its canonical blob)\n", hex);
		printf("%u rounds in %.1f s, final test accuracy %.4f\n", rounds, seconds,
		       last->accuracy);
	}
	fflush(stdout);
}
