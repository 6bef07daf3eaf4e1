/*
 * tools/testnet_rounds.c — fedledger-testnet rounds: waits until every
 * running node has committed R rounds of each active profile (or of the
 * ones named), then compares, round by round, what each node holds: the
 * new model's hash, who committed it and the reward minted. One line per
 * profile and round; exit 1 when two nodes disagree or the wait times out.
 * The multi-node round tests (tests/net/rounds.sh) stand on it.
 */
#include "chain/chain.h"
#include "tools/internal.h"
#include "tools/testnet.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HTTP_MS      3000
#define PROFILES_MAX 16

static const char usage[] =
    "usage: fedledger-testnet rounds DIR [--rounds R] [--timeout S] [--profile ID]...\n"
    "                                   [--follow]\n"
    "       fedledger-testnet rounds DIR --open ID [--timeout S]\n"
    "Waits (at most S seconds, default 300) until every running node has decided\n"
    "(committed or failed) rounds 1..R (default 1) of each active profile (or of\n"
    "each ID given), then prints, for each profile and round, the new model's\n"
    "hash, the committing coordinator and the reward minted, as every node\n"
    "agrees on them (--follow: each round as soon as all have decided it):\n"
    "  PROFILE ROUND MODEL_HASH COORDINATOR REWARD PAID UPDATES ACCURACY_PPM ELECTED\n"
    "  PAID_TO\n"
    "(REWARD minted, PAID the sum of the round's reward rows, UPDATES committed,\n"
    "ACCURACY_PPM the coordinator's held-out figure, ELECTED the first of the\n"
    "draw, PAID_TO the participants paid, comma-separated or -; nodes by name;\n"
    "a failed round reads 'failed - 0 0 UPDATES 0 ELECTED -').\n"
    "With --open ID: waits for profile ID's next round to open on a running node\n"
    "and prints ROUND ELECTED WINDOW_END, the elected coordinator by name.\n"
    "Exit: 0 all agree, 1 a disagreement (named) or the wait timed out, 2 usage.\n";

enum { O_HELP, O_ROUNDS, O_TIMEOUT, O_PROFILE, O_OPEN, O_FOLLOW };

static const tool_option opts[] = {
    {"help", 0, O_HELP},       {"rounds", 1, O_ROUNDS}, {"timeout", 1, O_TIMEOUT},
    {"profile", 1, O_PROFILE}, {"open", 1, O_OPEN},     {"follow", 0, O_FOLLOW},
};

/* The active profiles node i lists: their ids into ids[], their count. */
static int active_profiles(const testnet *t, uint32_t i, char ids[][CHAIN_PROFILE_ID_MAX + 1])
{
	json_t *o = testnet_http_get_json(t->node[i].rpc_port, "/v1/profiles", HTTP_MS);
	json_t *list = o != NULL ? json_object_get(o, "profiles") : NULL;
	size_t k;
	json_t *e;
	int n = 0;

	if (!json_is_array(list)) {
		json_decref(o);
		return -1;
	}
	json_array_foreach(list, k, e)
	{
		const json_t *st = json_object_get(e, "state");
		const char *id =
		    json_string_value(json_object_get(json_object_get(e, "profile"), "id"));
		const char *status = json_string_value(json_object_get(st, "status"));

		if (id == NULL || status == NULL || strcmp(status, "active") != 0 ||
		    n == PROFILES_MAX || strlen(id) > CHAIN_PROFILE_ID_MAX)
			continue;
		snprintf(ids[n++], CHAIN_PROFILE_ID_MAX + 1, "%s", id);
	}
	json_decref(o);
	return n;
}

/* The last round number of profile id that node i has decided (committed
 * or failed) with every round before it, or -1. */
static int64_t decided(const testnet *t, uint32_t i, const char *id)
{
	char path[640];
	json_t *o;
	const char *status;
	int64_t round;

	snprintf(path, sizeof path, "/v1/profiles/%s", id);
	if ((o = testnet_http_get_json(t->node[i].rpc_port, path, HTTP_MS)) == NULL)
		return -1;
	round = testnet_json_int(json_object_get(json_object_get(o, "state"), "round"));
	status = json_string_value(json_object_get(json_object_get(o, "current_round"), "status"));
	if (round > 0 && (status == NULL || (strcmp(status, "committed") != 0 &&
					     strcmp(status, "failed") != 0)))
		round--;
	json_decref(o);
	return round;
}

/* The testnet's name of a node id (hex), or the id's first 16 digits. */
static void name_of(const testnet *t, const char *hex, char *out, size_t cap)
{
	for (uint32_t i = 0; hex != NULL && i < t->n; i++)
		if (strcmp(t->node[i].id, hex) == 0) {
			snprintf(out, cap, "%s", t->node[i].name);
			return;
		}
	snprintf(out, cap, "%.16s", hex != NULL ? hex : "-");
}

/* "MODEL COORDINATOR REWARD PAID UPDATES ACCURACY ELECTED PAID_TO" of
 * round r on node i ("failed - 0 0 UPDATES 0 ELECTED -" for a failed one),
 * or -1 while it is not decided there. */
static int round_line(const testnet *t, uint32_t i, const char *id, uint32_t r, char *out,
		      size_t cap)
{
	char path[640], by_name[40], elected[40];
	json_t *o;
	const char *model, *by, *status;
	int rc = -1;

	snprintf(path, sizeof path, "/v1/profiles/%s/rounds/%u", id, r);
	if ((o = testnet_http_get_json(t->node[i].rpc_port, path, HTTP_MS)) == NULL)
		return -1;
	model = json_string_value(json_object_get(o, "new_model"));
	by = json_string_value(json_object_get(o, "committed_by"));
	status = json_string_value(json_object_get(o, "status"));
	if (status != NULL && strcmp(status, "failed") == 0) {
		name_of(t, json_string_value(json_array_get(json_object_get(o, "coordinators"), 0)),
			elected, sizeof elected);
		snprintf(out, cap, "failed - 0 0 %zu 0 %s -",
			 json_array_size(json_object_get(o, "updates")), elected);
		rc = 0;
	} else if (model != NULL && by != NULL && status != NULL &&
		   strcmp(status, "committed") == 0) {
		const json_t *rws = json_object_get(o, "rewards"), *e;
		long long paid = 0;
		size_t k;

		char paid_to[512] = "";
		size_t used = 0;

		json_array_foreach(rws, k, e)
		{
			char who[40];

			paid += (long long)testnet_json_int(json_object_get(e, "amount"));
			if (testnet_json_int(json_object_get(e, "weight")) <= 0 ||
			    testnet_json_int(json_object_get(e, "amount")) <= 0)
				continue; /* the coordinator's row, or nothing paid */
			name_of(t, json_string_value(json_object_get(e, "account")), who,
				sizeof who);
			if (used + strlen(who) + 2 < sizeof paid_to)
				used += (size_t)snprintf(paid_to + used, sizeof paid_to - used,
							 "%s%s", used ? "," : "", who);
		}
		name_of(t, by, by_name, sizeof by_name);
		name_of(t, json_string_value(json_array_get(json_object_get(o, "coordinators"), 0)),
			elected, sizeof elected);
		snprintf(out, cap, "%s %s %lld %lld %zu %lld %s %s", model, by_name,
			 (long long)testnet_json_int(json_object_get(o, "reward_total")), paid,
			 json_array_size(json_object_get(o, "updates")),
			 (long long)testnet_json_int(json_object_get(o, "eval_accuracy_ppm")),
			 elected, used ? paid_to : "-");
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* Round rd of profile id as every running node has it, printed; a node
 * that has not decided it or disagrees fails (named). */
static int print_round(const testnet *t, const char *prog, const char *id, uint32_t rd)
{
	char ref[640] = "", line[640];
	int ref_node = -1;

	for (uint32_t i = 0; i < t->n; i++) {
		if (testnet_node_state(t, i, NULL) != TESTNET_RUNNING)
			continue;
		if (round_line(t, i, id, rd, line, sizeof line) != 0) {
			tool_error(prog, "%s: %s round %u: not decided there", t->node[i].name, id,
				   rd);
			return TOOL_EXIT_RUNTIME;
		}
		if (ref_node < 0) {
			ref_node = (int)i;
			snprintf(ref, sizeof ref, "%s", line);
		} else if (strcmp(ref, line) != 0) {
			tool_error(prog, "%s round %u: %s has %s, %s has %s", id, rd,
				   t->node[ref_node].name, ref, t->node[i].name, line);
			return TOOL_EXIT_RUNTIME;
		}
	}
	printf("%s %u %s\n", id, rd, ref);
	return TOOL_EXIT_OK;
}

/* --open: the first running node's view of profile id's round after the
 * rounds committed when called, once it is open. */
static int wait_open(const testnet *t, const char *prog, const char *id, uint32_t timeout)
{
	time_t until = time(NULL) + (time_t)timeout;
	int64_t after = -1;
	char path[640];

	snprintf(path, sizeof path, "/v1/profiles/%s", id);
	while (time(NULL) < until) {
		for (uint32_t i = 0; i < t->n; i++) {
			json_t *o, *cur;
			int64_t done, round;
			const char *status;
			char elected[40];

			if (testnet_node_state(t, i, NULL) != TESTNET_RUNNING ||
			    (o = testnet_http_get_json(t->node[i].rpc_port, path, HTTP_MS)) == NULL)
				continue;
			done = testnet_json_int(
			    json_object_get(json_object_get(o, "state"), "rounds_committed"));
			cur = json_object_get(o, "current_round");
			round = testnet_json_int(json_object_get(cur, "round"));
			status = json_string_value(json_object_get(cur, "status"));
			if (after < 0)
				after = done;
			if (status != NULL && strcmp(status, "open") == 0 && round > after) {
				name_of(t,
					json_string_value(json_array_get(
					    json_object_get(cur, "coordinators"), 0)),
					elected, sizeof elected);
				printf("%lld %s %lld\n", (long long)round, elected,
				       (long long)testnet_json_int(
					   json_object_get(cur, "window_end")));
				json_decref(o);
				return TOOL_EXIT_OK;
			}
			json_decref(o);
			break;
		}
		usleep(200 * 1000);
	}
	tool_error(prog, "%s: no new round opened within %u s", id, timeout);
	return TOOL_EXIT_RUNTIME;
}

int testnet_cmd_rounds(int argc, char **argv)
{
	static char ids[PROFILES_MAX][CHAIN_PROFILE_ID_MAX + 1];
	static testnet t;
	const char *prog = TESTNET_PROG " rounds", *dir = NULL, *v;
	const tool_option *opt;
	uint32_t rounds = 1, timeout = 300;
	const char *open_id = NULL;
	uint32_t printed[PROFILES_MAX] = {0};
	int follow = 0;
	int n_ids = 0, named = 0, r;
	tool_args a;
	time_t until;

	tool_args_init(&a, prog, argc, argv);
	while ((r = tool_args_next(&a, opts, FL_ARRAY_LEN(opts), &opt, &v)) != TOOL_ARGS_END) {
		if (r < 0)
			return -r;
		if (r == TOOL_ARGS_OPERAND) {
			if (dir != NULL) {
				tool_error(prog, "unexpected argument '%s'", v);
				return TOOL_EXIT_USAGE;
			}
			dir = v;
			continue;
		}
		switch (opt->id) {
		case O_HELP:
			fputs(usage, stdout);
			return TOOL_EXIT_OK;
		case O_ROUNDS:
		case O_TIMEOUT: {
			uint32_t x;
			if (tool_parse_u32(&a, opt->id == O_ROUNDS ? "rounds" : "timeout", v, 1,
					   100000, &x) != 0)
				return TOOL_EXIT_USAGE;
			*(opt->id == O_ROUNDS ? &rounds : &timeout) = x;
			break;
		}
		case O_OPEN:
			open_id = v;
			break;
		case O_FOLLOW:
			follow = 1;
			break;
		case O_PROFILE:
			if (n_ids == PROFILES_MAX || strlen(v) == 0 ||
			    strlen(v) > CHAIN_PROFILE_ID_MAX || strchr(v, '/') != NULL ||
			    strchr(v, '?') != NULL) {
				tool_error(prog, "--profile: '%s' is not a profile id", v);
				return TOOL_EXIT_USAGE;
			}
			snprintf(ids[n_ids++], sizeof ids[0], "%s", v);
			named = 1;
			break;
		}
	}
	if (dir == NULL) {
		tool_error(prog, "DIR: required");
		return TOOL_EXIT_USAGE;
	}
	if ((r = testnet_load(&t, dir)) != 0)
		return r;
	if (open_id != NULL) {
		if (strlen(open_id) == 0 || strlen(open_id) > CHAIN_PROFILE_ID_MAX ||
		    strpbrk(open_id, "/?%# ") != NULL) {
			tool_error(prog, "--open: '%s' is not a profile id", open_id);
			return TOOL_EXIT_USAGE;
		}
		return wait_open(&t, prog, open_id, timeout);
	}
	until = time(NULL) + (time_t)timeout;
	for (;;) {
		int64_t low[PROFILES_MAX];
		int done = 1, running = 0;

		for (int p = 0; p < PROFILES_MAX; p++)
			low[p] = INT64_MAX;
		for (uint32_t i = 0; i < t.n; i++) {
			if (testnet_node_state(&t, i, NULL) != TESTNET_RUNNING)
				continue;
			running++;
			if (!named && n_ids == 0)
				n_ids = active_profiles(&t, i, ids);
			if (n_ids <= 0) {
				n_ids = 0;
				done = 0;
				continue;
			}
			for (int p = 0; p < n_ids; p++) {
				int64_t d = decided(&t, i, ids[p]);
				if (d < low[p])
					low[p] = d;
				done &= d >= (int64_t)rounds;
			}
		}
		if (running == 0) {
			tool_error(prog, "no running node");
			return TOOL_EXIT_RUNTIME;
		}
		/* --follow: each round once every running node has decided it. */
		for (int p = 0; follow && n_ids > 0 && p < n_ids; p++)
			while (printed[p] < (uint32_t)rounds && low[p] != INT64_MAX &&
			       (int64_t)printed[p] < low[p]) {
				if ((r = print_round(&t, prog, ids[p], printed[p] + 1)) != TOOL_EXIT_OK)
					return r;
				printed[p]++;
				fflush(stdout);
			}
		if (done)
			break;
		if (time(NULL) >= until) {
			tool_error(prog,
				   "%u rounds of every profile not decided on every node "
				   "within %u s",
				   rounds, timeout);
			for (uint32_t i = 0; i < t.n; i++)
				for (int p = 0; p < n_ids; p++)
					if (testnet_node_state(&t, i, NULL) == TESTNET_RUNNING)
						fprintf(stderr, "  %s %s: rounds 1-%lld decided\n",
							t.node[i].name, ids[p],
							(long long)decided(&t, i, ids[p]));
			return TOOL_EXIT_RUNTIME;
		}
		usleep(500 * 1000);
	}
	for (int p = 0; p < n_ids; p++)
		for (uint32_t rd = printed[p] + 1; rd <= rounds; rd++)
			if ((r = print_round(&t, prog, ids[p], rd)) != TOOL_EXIT_OK)
				return r;
	return TOOL_EXIT_OK;
}
