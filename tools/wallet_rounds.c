/*
 * tools/wallet_rounds.c — rounds PROFILE: the table of a profile's
 * federated rounds (GET /v1/profiles/{id} for the latest round, then
 * /v1/profiles/{id}/rounds/{r} for each), newest last.
 */
#include "tools/wallet.h"

#include <stdio.h>
#include <string.h>

#define ROUNDS_DEFAULT_LAST 50u

typedef struct {
	const char *prog;
	uint32_t last;
} rounds_opts;

static int rounds_opt(void *ctx, const tool_option *opt, const char *value)
{
	rounds_opts *o = ctx;

	(void)opt; /* --last is the only one */
	return tool_parse_u32(&(tool_args){.prog = o->prog}, "last", value, 1, 100000, &o->last);
}

/* The round's accuracy as a percentage with one decimal, "-" before commit. */
static void accuracy_text(char out[48], const json_t *rd)
{
	const json_t *v = json_object_get(rd, "eval_accuracy_ppm");
	const char *status = json_string_value(json_object_get(rd, "status"));
	long long ppm = json_integer_value(v);

	if (status == NULL || strcmp(status, "committed") != 0 || !json_is_integer(v))
		snprintf(out, 48, "-");
	else
		snprintf(out, 48, "%lld.%lld%%", ppm / 10000, ppm / 1000 % 10);
}

/* The account that committed the aggregate, else the elected coordinator. */
static const char *coordinator_of(const json_t *rd)
{
	const char *by = json_string_value(json_object_get(rd, "committed_by"));
	const char *first =
	    json_string_value(json_array_get(json_object_get(rd, "coordinators"), 0));

	if (by != NULL && strspn(by, "0") != strlen(by))
		return by;
	return first != NULL ? first : "-";
}

static void print_row(const json_t *rd)
{
	const char *status = json_string_value(json_object_get(rd, "status"));
	const char *model = json_string_value(json_object_get(rd, "new_model"));
	char acc[48], b1[24], b2[24];

	/* Before commit the round trains on its base model. */
	if (status == NULL || strcmp(status, "committed") != 0)
		model = json_string_value(json_object_get(rd, "base_model"));
	accuracy_text(acc, rd);
	printf("%6s %-11s %-16.16s %-16.16s %7lld %8s %12s\n", wallet_u64_text(rd, "round", b1),
	       status != NULL ? status : "-", model != NULL ? model : "-", coordinator_of(rd),
	       (long long)json_integer_value(json_object_get(rd, "n_updates")), acc,
	       wallet_u64_text(rd, "reward_total", b2));
}

int wallet_cmd_rounds(wallet *w, int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-wallet rounds PROFILE [--last N]\n"
	    "The profile's rounds, newest last (the last N, default 50): round, status,\n"
	    "model hash (the aggregate once committed, the base model before), coordinator,\n"
	    "updates, evaluated accuracy and the reward minted.\n";
	static const tool_option opts[] = {{"last", 1, 1}};
	char err[WALLET_ERR_MAX], path[128];
	rounds_opts o = {w->prog, ROUNDS_DEFAULT_LAST};
	json_t *p = NULL, *list = NULL, *rd;
	uint64_t latest = 0, first;
	const char *ops[1];
	size_t n_ops;
	int rc;

	rc = wallet_parse(w, argc, argv, usage, opts, FL_ARRAY_LEN(opts), rounds_opt, &o, ops, 1, 1,
			  "PROFILE", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	if ((rc = wallet_parse_profile_id(w, "PROFILE", ops[0])) < 0)
		return -rc;
	snprintf(path, sizeof(path), "/v1/profiles/%s", ops[0]);
	if ((p = wallet_get(w, path, NULL, err, sizeof(err))) == NULL) {
		tool_error(w->prog, "%s: %s", ops[0], err);
		return TOOL_EXIT_RUNTIME;
	}
	if (wallet_json_u64(json_object_get(p, "state"), "round", &latest) != FL_OK) {
		tool_error(w->prog, "%s: node: the profile's state has no round", ops[0]);
		rc = TOOL_EXIT_RUNTIME;
		goto cleanup;
	}
	first = latest > o.last ? latest - o.last + 1 : 1;
	if ((list = json_array()) == NULL) {
		rc = wallet_print_json(w, NULL);
		goto cleanup;
	}
	if (!w->json)
		printf("%6s %-11s %-16s %-16s %7s %8s %12s\n", "ROUND", "STATUS", "MODEL",
		       "COORDINATOR", "UPDATES", "ACCURACY", "REWARD");
	for (uint64_t r = first; latest > 0 && r <= latest; r++) {
		snprintf(path, sizeof(path), "/v1/profiles/%s/rounds/%llu", ops[0],
			 (unsigned long long)r);
		if ((rd = wallet_get(w, path, NULL, err, sizeof(err))) == NULL) {
			tool_error(w->prog, "%s round %llu: %s", ops[0], (unsigned long long)r,
				   err);
			rc = TOOL_EXIT_RUNTIME;
			goto cleanup;
		}
		if (!w->json)
			print_row(rd);
		if (json_array_append_new(list, rd) != 0) {
			rc = wallet_print_json(w, NULL);
			goto cleanup;
		}
	}
	if (w->json) {
		rc = wallet_print_json(w,
				       json_pack("{s:s,s:I,s:O}", "profile", ops[0], "latest_round",
						 (json_int_t)latest, "rounds", list));
	} else {
		if (latest == 0)
			printf("(no rounds yet)\n");
		rc = TOOL_EXIT_OK;
	}

cleanup:
	json_decref(list);
	json_decref(p);
	return rc;
}
