/*
 * tools/bench_rounds_calc.c — the `rounds` suite's arithmetic: reading the
 * few series it needs out of a node's /metrics text, and turning the
 * committed rounds' block heights and header times, the coordinator polls
 * and the metric deltas into a per-round breakdown (tools/bench_rounds.h).
 * No I/O but the one line per round it prints.
 */
#include "tools/bench_rounds.h"

#include "chain/chain.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A value longer than this is not a number the node prints (%.17g). */
#define PROM_VALUE_MAX 64

int bench_prom_value(const char *text, size_t len, const char *name, double *value)
{
	size_t nlen, at = 0;

	assert(text != NULL && name != NULL && value != NULL);
	nlen = strlen(name);
	assert(nlen > 0);
	while (at < len) {
		const char *line = text + at;
		const char *nl = memchr(line, '\n', len - at);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - at;

		at += llen + 1;
		/* "name VALUE": the exact name, then a space (not "name_sum",
		 * not "name{labels}", never a "# HELP name" comment). */
		if (llen > nlen + 1 && memcmp(line, name, nlen) == 0 && line[nlen] == ' ') {
			char buf[PROM_VALUE_MAX + 1], *end;
			size_t vlen = llen - nlen - 1;
			double v;

			if (vlen > PROM_VALUE_MAX)
				return FL_EINVAL;
			memcpy(buf, line + nlen + 1, vlen);
			buf[vlen] = '\0';
			v = strtod(buf, &end);
			if (end == buf || *end != '\0' || !isfinite(v))
				return FL_EINVAL;
			*value = v;
			return FL_OK;
		}
	}
	return FL_ENOTFOUND;
}

int bench_node_metrics_parse(bench_node_metrics *m, const char *text, size_t len)
{
	bench_node_metrics got;
	const struct {
		const char *name;
		double *to;
	} series[] = {
	    {"fedledger_round_train_seconds_sum", &got.train_sum},
	    {"fedledger_round_train_seconds_count", &got.train_count},
	    {"fedledger_round_aggregate_seconds_sum", &got.agg_sum},
	    {"fedledger_round_aggregate_seconds_count", &got.agg_count},
	    {"fedledger_round_verify_seconds_sum", &got.verify_sum},
	    {"fedledger_round_verify_seconds_count", &got.verify_count},
	    {"fedledger_blobs_fetched_total", &got.fetched},
	    {"fedledger_blobs_fetched_bytes_total", &got.fetched_bytes},
	    {"fedledger_round_aggregates_total", &got.aggregates},
	    {"fedledger_height", &got.height},
	};

	memset(&got, 0, sizeof got);
	for (size_t i = 0; i < FL_ARRAY_LEN(series); i++) {
		int rc = bench_prom_value(text, len, series[i].name, series[i].to);
		if (rc != FL_OK)
			return rc;
	}
	*m = got;
	return FL_OK;
}

static int obs_ordered(const bench_round_obs *o)
{
	return o->prev_commit_h < o->open_h && o->open_h <= o->last_update_h &&
	       o->last_update_h <= o->window_end && o->window_end < o->commit_h &&
	       o->prev_commit_ms <= o->open_ms && o->open_ms <= o->last_update_ms &&
	       o->last_update_ms <= o->window_end_ms && o->window_end_ms <= o->commit_ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int bench_rounds_derive(bench_rounds_breakdown *out, const bench_round_obs *obs, size_t n,
			const bench_rounds_totals *tot)
{
	const bench_node_metrics *d = &tot->delta;
	double wall = 0, blocks = 0, phase = 0, slack = 0, post = 0, blob = 0;
	double over[BENCH_ROUNDS_MAX];
	size_t blob_n = 0;

	assert(out != NULL && tot != NULL);
	if (n == 0 || obs == NULL || d->train_count <= 0 || d->agg_count <= 0 ||
	    tot->interval_ms <= 0)
		return FL_EINVAL;
	if (n > BENCH_ROUNDS_MAX)
		return FL_ETOOBIG;
	for (size_t i = 0; i < n; i++) {
		const bench_round_obs *o = &obs[i];

		if (!obs_ordered(o))
			return FL_EINVAL;
		wall += (double)(o->commit_ms - o->prev_commit_ms);
		over[i] = (double)(o->commit_ms - o->prev_commit_ms) -
			  (tot->window_blocks + 1.0) * tot->interval_ms;
		blocks += (double)(o->commit_h - o->prev_commit_h);
		phase += (double)(o->last_update_ms - o->open_ms);
		slack += (double)(o->window_end_ms - o->last_update_ms);
		post += (double)(o->commit_ms - o->window_end_ms);
		if (o->blob_s >= 0) {
			blob += o->blob_s;
			blob_n++;
		}
	}
	memset(out, 0, sizeof *out);
	out->rounds = n;
	out->blob_rounds = blob_n;
	out->wall_ms = wall / (double)n;
	out->blocks = blocks / (double)n;
	out->interval_ms = wall / blocks;
	out->schedule_ms = (tot->window_blocks + 1.0) * tot->interval_ms;
	out->overhead_ms = out->wall_ms - out->schedule_ms;
	qsort(over, n, sizeof over[0], cmp_double);
	out->overhead_median_ms = n % 2 ? over[n / 2] : (over[n / 2 - 1] + over[n / 2]) / 2;
	out->train_phase_ms = phase / (double)n;
	out->slack_ms = slack / (double)n;
	out->post_window_ms = post / (double)n;
	out->train_ms = 1e3 * d->train_sum / d->train_count;
	out->blob_ms = blob_n ? 1e3 * blob / (double)blob_n : 0;
	out->aggregate_ms = 1e3 * d->agg_sum / d->agg_count;
	out->verify_ms = d->verify_count > 0 ? 1e3 * d->verify_sum / d->verify_count : 0;
	out->chain_work_ms = out->blob_ms + out->aggregate_ms + out->verify_ms;
	out->fetched_mb = d->fetched_bytes / (double)n / 1e6;
	return FL_OK;
}

/* Signed: the line is printed before the round's order is checked. */
static long long ms_between(uint64_t from, uint64_t to)
{
	return (long long)to - (long long)from;
}

void bench_rounds_print_round(FILE *f, uint64_t round, const bench_round_obs *o,
			      const bench_rounds_totals *tot)
{
	char blob[48] = "not timed";

	if (o->blob_s >= 0)
		snprintf(blob, sizeof blob, "%.0f ms", o->blob_s * 1e3);
	fprintf(f,
		"  round %llu: %lld ms, %lld blocks (schedule %u): open->last update %lld ms, "
		"window slack %lld ms, window_end->commit %lld ms; %u updates; coordinator's "
		"blobs %s\n",
		(unsigned long long)round, ms_between(o->prev_commit_ms, o->commit_ms),
		ms_between(o->prev_commit_h, o->commit_h), tot->window_blocks + 1,
		ms_between(o->open_ms, o->last_update_ms),
		ms_between(o->last_update_ms, o->window_end_ms),
		ms_between(o->window_end_ms, o->commit_ms), o->n_updates, blob);
}

/* "2026-12-04T18:42:59.072Z …": the line's time, ms since the epoch. */
static int log_line_ms(const char *line, size_t len, int64_t *ms)
{
	char stamp[25];
	struct tm tm;
	int y, mo, d, h, mi, s, milli, used = 0;

	if (len < 24)
		return FL_EPARSE;
	memcpy(stamp, line, 24);
	stamp[24] = '\0';
	if (sscanf(stamp, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo, &d, &h, &mi, &s, &milli,
		   &used) != 7 ||
	    used != 24 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return FL_EPARSE;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*ms = (int64_t)timegm(&tm) * 1000 + milli;
	return FL_OK;
}

/* The first occurrence of needle (nlen bytes) in hay (hlen bytes), or NULL. */
static const char *find_in(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	for (size_t i = 0; nlen <= hlen && i <= hlen - nlen; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return hay + i;
	return NULL;
}

/* The S of "…, S s" at the end of an "aggregate committed" line (a
 * test-mode note may follow it, with no comma). */
static int log_seconds(const char *line, size_t len, double *s)
{
	char buf[PROM_VALUE_MAX + 1], *end;
	const char *comma = NULL;
	size_t vlen = 0;

	for (size_t i = 0; i + 1 < len; i++)
		if (line[i] == ',' && line[i + 1] == ' ')
			comma = line + i + 2;
	if (comma == NULL)
		return FL_EPARSE;
	while (comma + vlen < line + len && comma[vlen] != ' ' && vlen <= PROM_VALUE_MAX)
		vlen++;
	if (vlen == 0 || vlen > PROM_VALUE_MAX || comma + vlen + 2 > line + len ||
	    comma[vlen + 1] != 's')
		return FL_EPARSE;
	memcpy(buf, comma, vlen);
	buf[vlen] = '\0';
	*s = strtod(buf, &end);
	return end != buf && *end == '\0' && isfinite(*s) && *s >= 0 ? FL_OK : FL_EPARSE;
}

int bench_log_turn(const char *text, size_t len, const char *profile, uint64_t round,
		   int64_t *turn_ms, int64_t *sent_ms, double *agg_s)
{
	char turn[CHAIN_PROFILE_ID_MAX + 96], sent[CHAIN_PROFILE_ID_MAX + 96];
	int tlen, slen, have_turn = 0;
	size_t at = 0;

	assert(text != NULL && profile != NULL && turn_ms && sent_ms && agg_s);
	tlen = snprintf(turn, sizeof turn, "rounds: %s round %llu: this node's turn to aggregate ",
			profile, (unsigned long long)round);
	slen = snprintf(sent, sizeof sent, "rounds: %s round %llu: aggregate committed, ", profile,
			(unsigned long long)round);
	if (tlen < 0 || (size_t)tlen >= sizeof turn || slen < 0 || (size_t)slen >= sizeof sent)
		return FL_EINVAL;
	while (at < len) {
		const char *line = text + at;
		const char *nl = memchr(line, '\n', len - at);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - at;

		at += llen + 1;
		if (!have_turn && find_in(line, llen, turn, (size_t)tlen) != NULL) {
			if (log_line_ms(line, llen, turn_ms) != FL_OK)
				return FL_EPARSE;
			have_turn = 1;
		} else if (have_turn && find_in(line, llen, sent, (size_t)slen) != NULL) {
			if (log_line_ms(line, llen, sent_ms) != FL_OK ||
			    log_seconds(line, llen, agg_s) != FL_OK)
				return FL_EPARSE;
			return FL_OK;
		}
	}
	return FL_ENOTFOUND;
}
