/*
 * genesis/decimal.c — decimal fractions to and from parts per million, in
 * integers only. chain/ has no floating point (design.md §2), and a genesis
 * must hash the same on every machine, so "0.05" is read digit by digit.
 */
#include "genesis/genesis.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define PPM_DIGITS 6

int genesis_decimal_to_ppm(const char *s, int64_t *out)
{
	uint64_t whole = 0, frac = 0, mag;
	int negative = 0, frac_digits = 0;
	const char *p;

	assert(s != NULL && out != NULL);
	p = s;
	if (*p == '-') {
		negative = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return FL_EPARSE;
	/* No leading zeros: "007" and "-00.5" are not canonical decimals. */
	if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
		return FL_EPARSE;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return FL_EOVERFLOW;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return FL_EPARSE;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++frac_digits > PPM_DIGITS)
				return FL_ETOOBIG;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
	}
	if (*p != '\0')
		return FL_EPARSE;
	for (; frac_digits < PPM_DIGITS; frac_digits++)
		frac *= 10;
	/* |value| <= INT64_MAX keeps both signs representable and symmetric. */
	if (whole > (uint64_t)INT64_MAX / 1000000u)
		return FL_EOVERFLOW;
	mag = whole * 1000000u + frac;
	if (mag > (uint64_t)INT64_MAX)
		return FL_EOVERFLOW;
	*out = negative ? -(int64_t)mag : (int64_t)mag;
	return FL_OK;
}

void genesis_ppm_to_decimal(char out[32], int64_t ppm)
{
	/* Through uint64 so that INT64_MIN has a magnitude too. */
	uint64_t mag = ppm < 0 ? (uint64_t)0 - (uint64_t)ppm : (uint64_t)ppm;
	uint64_t whole = mag / 1000000u, frac = mag % 1000000u;
	char digits[PPM_DIGITS + 1];
	int n;

	if (frac == 0) {
		snprintf(out, 32, "%s%llu", ppm < 0 ? "-" : "", (unsigned long long)whole);
		return;
	}
	snprintf(digits, sizeof(digits), "%06llu", (unsigned long long)frac);
	for (n = PPM_DIGITS; digits[n - 1] == '0'; n--)
		;
	digits[n] = '\0';
	snprintf(out, 32, "%s%llu.%s", ppm < 0 ? "-" : "", (unsigned long long)whole, digits);
}

const char *genesis_metric_name(int metric)
{
	switch (metric) {
	case CHAIN_METRIC_ACCURACY:
		return "accuracy";
	case CHAIN_METRIC_LATENCY:
		return "latency";
	case CHAIN_METRIC_ENERGY:
		return "energy";
	default:
		return NULL;
	}
}

const char *genesis_activation_name(int activation)
{
	switch (activation) {
	case CHAIN_ACT_RELU:
		return "relu";
	case CHAIN_ACT_NONE:
		return "none";
	default:
		return NULL;
	}
}

const char *genesis_agg_rule_name(int rule)
{
	switch (rule) {
	case CHAIN_AGG_FEDAVG:
		return "fedavg";
	case CHAIN_AGG_MEDIAN:
		return "median";
	case CHAIN_AGG_TRIMMED_MEAN:
		return "trimmed_mean";
	case CHAIN_AGG_MULTIKRUM:
		return "multikrum";
	case CHAIN_AGG_NORM_BOUND:
		return "norm_bound";
	default:
		return NULL;
	}
}

const char *genesis_task_name(int task)
{
	return task == CHAIN_TASK_CLASSIFICATION ? "classification" : NULL;
}
