/*
 * tools/wallet_profile.c — profile propose|vote|list|show: a profile file
 * (the genesis library's own parser reads it, so the wallet accepts exactly
 * what a genesis does) into a profile_propose tx, a validator's vote, and
 * the node's view of the profiles.
 */
#include "genesis/genesis.h"
#include "tools/wallet.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: fedledger-wallet profile propose FILE\n"
    "       fedledger-wallet profile vote ID yes|no|retire\n"
    "       fedledger-wallet profile list\n"
    "       fedledger-wallet profile show ID\n"
    "propose: FILE holds one profile object, as in a genesis' \"profiles\"\n"
    "(genesis/examples/profiles/clothing.json); the proposer's balance must cover\n"
    "the chain's proposal_deposit. vote: a validator's YES/NO on a proposed profile\n"
    "or RETIRE on an active one. list/show: the profiles as the node sees them.\n";

static int propose(wallet *w, int argc, char **argv)
{
	char err[GENESIS_ERR_MAX];
	const char *ops[1];
	size_t n_ops;
	chain_tx tx;
	int rc;

	rc = wallet_parse(w, argc, argv, usage, NULL, 0, NULL, NULL, ops, 1, 1, "FILE", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_PROPOSE;
	if (genesis_profile_load_file(ops[0], &tx.u.profile_propose, err, sizeof(err)) != FL_OK) {
		tool_error(w->prog, "FILE: %s", err);
		return TOOL_EXIT_USAGE;
	}
	return wallet_tx_run(w, &tx);
}

static int vote(wallet *w, int argc, char **argv)
{
	static const struct {
		const char *name;
		uint8_t choice;
	} choices[] = {
	    {"yes", CHAIN_VOTE_YES}, {"no", CHAIN_VOTE_NO}, {"retire", CHAIN_VOTE_RETIRE}};
	const char *ops[2];
	size_t n_ops, i;
	chain_tx tx;
	int rc;

	rc = wallet_parse(w, argc, argv, usage, NULL, 0, NULL, NULL, ops, 2, 2, "ID yes|no|retire",
			  &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	if ((rc = wallet_parse_profile_id(w, "ID", ops[0])) < 0)
		return -rc;
	for (i = 0; i < FL_ARRAY_LEN(choices) && strcmp(ops[1], choices[i].name) != 0; i++)
		;
	if (i == FL_ARRAY_LEN(choices)) {
		tool_error(w->prog, "vote: must be yes, no or retire, got '%s'", ops[1]);
		return TOOL_EXIT_USAGE;
	}
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_PROFILE_VOTE;
	snprintf(tx.u.profile_vote.profile, sizeof(tx.u.profile_vote.profile), "%s", ops[0]);
	tx.u.profile_vote.choice = choices[i].choice;
	return wallet_tx_run(w, &tx);
}

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static int list(wallet *w, int argc, char **argv)
{
	char err[WALLET_ERR_MAX], b1[24], b2[24];
	const char *ops[1];
	json_t *o, *profiles, *e;
	size_t n_ops, i;
	int rc;

	rc = wallet_parse(w, argc, argv, usage, NULL, 0, NULL, NULL, ops, 0, 0, "", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	if ((o = wallet_get(w, "/v1/profiles", NULL, err, sizeof(err))) == NULL) {
		tool_error(w->prog, "%s", err);
		return TOOL_EXIT_RUNTIME;
	}
	if (w->json)
		return wallet_print_json(w, o);
	profiles = json_object_get(o, "profiles");
	printf("%-32s %-9s %6s %9s %-16s %s\n", "ID", "STATUS", "ROUND", "COMMITTED", "MODEL",
	       "NAME");
	json_array_foreach(profiles, i, e)
	{
		const json_t *def = json_object_get(e, "profile"),
			     *st = json_object_get(e, "state");

		printf("%-32s %-9s %6s %9s %-16.16s %s\n", str_of(def, "id"), str_of(st, "status"),
		       wallet_u64_text(st, "round", b1),
		       wallet_u64_text(st, "rounds_committed", b2), str_of(st, "model_hash"),
		       str_of(def, "name"));
	}
	if (json_array_size(profiles) == 0)
		printf("(no profiles)\n");
	json_decref(o);
	return TOOL_EXIT_OK;
}

static int show(wallet *w, int argc, char **argv)
{
	char err[WALLET_ERR_MAX], path[96], b[24], b2[24];
	const json_t *def, *st, *cur, *model, *v;
	const char *ops[1];
	size_t n_ops, i;
	json_t *o;
	int rc;

	rc = wallet_parse(w, argc, argv, usage, NULL, 0, NULL, NULL, ops, 1, 1, "ID", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	if ((rc = wallet_parse_profile_id(w, "ID", ops[0])) < 0)
		return -rc;
	snprintf(path, sizeof(path), "/v1/profiles/%s", ops[0]);
	if ((o = wallet_get(w, path, NULL, err, sizeof(err))) == NULL) {
		tool_error(w->prog, "%s: %s", ops[0], err);
		return TOOL_EXIT_RUNTIME;
	}
	if (w->json)
		return wallet_print_json(w, o);
	def = json_object_get(o, "profile");
	st = json_object_get(o, "state");
	cur = json_object_get(o, "current_round");
	model = json_object_get(def, "model");
	printf("profile          %s (%s)\n", str_of(def, "id"), str_of(def, "name"));
	printf("parent           %s\n", str_of(def, "parent")[0] ? str_of(def, "parent") : "-");
	printf("status           %s\n", str_of(st, "status"));
	printf("proposer         %s\n", str_of(st, "proposer"));
	printf("proposed height  %s\n", wallet_u64_text(st, "proposed_height", b));
	printf("activated height %s\n", wallet_u64_text(st, "activated_height", b));
	printf("data type        %s\n", str_of(def, "data_type"));
	printf("labels          ");
	json_array_foreach(json_object_get(def, "labels"), i, v)
	{
		printf(" %lld", (long long)json_integer_value(v));
	}
	printf("\nmodel           ");
	json_array_foreach(json_object_get(model, "sizes"), i, v)
	{
		printf("%s%lld", i ? "-" : " ", (long long)json_integer_value(v));
	}
	printf("\nmetric           %s, target %s\n", str_of(def, "metric"),
	       wallet_u64_text(def, "metric_target", b));
	printf("aggregation      %s\n", str_of(def, "agg_rule"));
	printf("round            %s (%s committed)\n", wallet_u64_text(st, "round", b),
	       wallet_u64_text(st, "rounds_committed", b2));
	printf("model hash       %s\n", str_of(st, "model_hash"));
	if (json_is_object(cur))
		printf("current round    %s: %s, %lld updates\n", wallet_u64_text(cur, "round", b),
		       str_of(cur, "status"),
		       (long long)json_integer_value(json_object_get(cur, "n_updates")));
	json_decref(o);
	return TOOL_EXIT_OK;
}

int wallet_cmd_profile(wallet *w, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(wallet *w, int argc, char **argv);
	} subs[] = {{"propose", propose}, {"vote", vote}, {"list", list}, {"show", show}};
	static char prog[64];
	int sub = 0, rc;

	if (argc < 2) {
		tool_error(w->prog, "missing propose|vote|list|show (see --help)");
		return TOOL_EXIT_USAGE;
	}
	/* Global options may come between "profile" and its command. */
	if ((rc = wallet_parse_globals(w, argc, argv, usage, &sub)) != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	for (size_t i = 0; i < FL_ARRAY_LEN(subs); i++)
		if (strcmp(argv[sub], subs[i].name) == 0) {
			snprintf(prog, sizeof(prog), "%s %s", w->prog, subs[i].name);
			w->prog = prog;
			return subs[i].run(w, argc - sub, argv + sub);
		}
	tool_error(w->prog, "unknown profile command '%s' (propose, vote, list, show)", argv[sub]);
	return TOOL_EXIT_USAGE;
}
