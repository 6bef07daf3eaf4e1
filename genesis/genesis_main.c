/*
 * genesis/genesis_main.c — fedledger-genesis: create, edit and check a
 * network's genesis.json (docs/genesis.md, shared interfaces).
 *
 *   new --chain-id ID --out genesis.json [--time-ms N]
 *   add-validator --genesis F --pubkey HEX --power N [--name S]
 *   add-member    --genesis F --pubkey HEX [--name S]
 *   fund          --genesis F --account HEX [--amount N] [--bond N]
 *   add-profile   --genesis F --file profile.json
 *   validate [--json] FILE...
 *
 * Every editing command loads the file, changes it, checks the result the
 * way a node would (genesis_check, chain_genesis_check) and only then writes
 * it back atomically, so a genesis on disk is never half-edited or invalid
 * (a fresh one may lack validators: that is the one thing `new` cannot know).
 * Exit status: 0 done, 1 the genesis or an input file is wrong, 2 bad
 * arguments; in both error cases exactly one line on stderr says what.
 */
#include "genesis/genesis.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PROG         "fedledger-genesis"
#define EXIT_INVALID 1
#define EXIT_USAGE   2

static const char usage_main[] =
    "usage: " PROG " COMMAND [OPTIONS]\n"
    "\n"
    "Creates, edits and checks a fedledger genesis.json.\n"
    "\n"
    "commands:\n"
    "  new            start a genesis file\n"
    "  add-validator  add a validator (a voting member)\n"
    "  add-member     admit a member (a data owner)\n"
    "  fund           give an account tokens at genesis\n"
    "  add-profile    add a specialization profile from a JSON file\n"
    "  validate       check genesis files and summarise them\n"
    "\n"
    "Run '" PROG " COMMAND --help' for a command's options.\n"
    "Exit status: 0 done, 1 invalid genesis or input file, 2 bad arguments.\n";

static const char usage_new[] =
    "usage: " PROG " new --chain-id ID --out FILE [--time-ms N]\n"
    "\n"
    "Writes a new genesis with default consensus parameters and no validators,\n"
    "members, balances or profiles. Refuses to overwrite FILE.\n"
    "\n"
    "  --chain-id ID  1 to 48 of [a-z0-9._-], e.g. fedledger-test-1\n"
    "  --out FILE     where to write it\n"
    "  --time-ms N    genesis time in ms since 1970 (default: now)\n";

static const char usage_add_validator[] =
    "usage: " PROG " add-validator --genesis FILE --pubkey HEX --power N [--name S]\n"
    "\n"
    "Adds a validator. A key that is a member already becomes a validator\n"
    "(validators are members too).\n"
    "\n"
    "  --pubkey HEX   64 hex chars: the BIP340 x-only public key (account id)\n"
    "  --power N      voting power, > 0\n"
    "  --name S       a moniker, up to 64 printable ASCII chars\n";

static const char usage_add_member[] =
    "usage: " PROG " add-member --genesis FILE --pubkey HEX [--name S]\n"
    "\n"
    "Admits a member: a node that may join learning rounds and earn rewards.\n"
    "\n"
    "  --pubkey HEX   64 hex chars: the member's x-only public key\n"
    "  --name S       a moniker, up to 64 printable ASCII chars\n";

static const char usage_fund[] =
    "usage: " PROG " fund --genesis FILE --account HEX [--amount N] [--bond N]\n"
    "\n"
    "Adds N tokens (smallest units) to an account's genesis balance (--amount)\n"
    "and/or to its bonded stake (--bond: locked, slashable, its weight in the\n"
    "coordinator draw). At least one of the two.\n"
    "\n"
    "  --account HEX  64 hex chars: the account id (x-only public key)\n"
    "  --amount N     a decimal integer > 0: liquid tokens\n"
    "  --bond N       a decimal integer > 0: bonded stake\n";

static const char usage_add_profile[] =
    "usage: " PROG " add-profile --genesis FILE --file PROFILE.json\n"
    "\n"
    "Adds a specialization profile (one JSON object, see docs/genesis.md);\n"
    "it starts active. Its parent, if any, must be in the genesis already.\n";

static const char usage_validate[] =
    "usage: " PROG " validate [--json] FILE...\n"
    "\n"
    "Checks each genesis file as a node would and prints a summary: chain id,\n"
    "genesis hash, validators, members, supply and profiles. Exit 1 if any\n"
    "file is invalid (one line on stderr for each).\n"
    "\n"
    "  --json         one JSON object per file instead of the text summary\n";

/* Prints one line on stderr: non-printable bytes (say, a newline in a file
 * name or an argument) become '?', so the message stays exactly one line. */
static void print_line(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s", prefix);

	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	fprintf(stderr, "%s\n", line);
}

/* A usage error, naming the command. Returns EXIT_USAGE. */
static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s%s%s: ", PROG, cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	print_line(prefix, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

/* The genesis or an input file is wrong. Returns EXIT_INVALID. */
static int invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int invalid(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_line("", fmt, ap);
	va_end(ap);
	return EXIT_INVALID;
}

/* ---------------------------------------------------------------- options */

typedef struct {
	const char *chain_id, *out, *time_ms, *genesis, *pubkey, *power, *name;
	const char *account, *amount, *bond, *file;
	int json;
} options;

enum { OPT_HELP = 'h', OPT_JSON = 1000 };

/*
 * getopt_long over argv[1..] (argv[0] is the command) filling only the
 * options in `allowed`. Returns -1 when parsed, 0 after printing --help, or
 * the exit status of a usage error. *first_arg is the first operand.
 */
static int parse_options(int argc, char **argv, const char *cmd, const char *help,
			 const struct option *allowed, options *o, int *first_arg)
{
	int ch, idx;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0; /* our own one-line messages */
	while ((ch = getopt_long(argc, argv, ":h", allowed, &idx)) != -1) {
		const char *name = ch == ':' || ch == '?' ? NULL : allowed[idx].name;
		if (ch == OPT_HELP) {
			fputs(help, stdout);
			return 0;
		}
		if (ch == ':')
			return usage_error(cmd, "option %s needs a value (see --help)",
					   argv[optind - 1]);
		if (ch == '?')
			return usage_error(cmd, "unknown option '%s' (see --help)",
					   argv[optind - 1]);
		if (strcmp(name, "json") == 0)
			o->json = 1;
		else if (strcmp(name, "chain-id") == 0)
			o->chain_id = optarg;
		else if (strcmp(name, "out") == 0)
			o->out = optarg;
		else if (strcmp(name, "time-ms") == 0)
			o->time_ms = optarg;
		else if (strcmp(name, "genesis") == 0)
			o->genesis = optarg;
		else if (strcmp(name, "pubkey") == 0)
			o->pubkey = optarg;
		else if (strcmp(name, "power") == 0)
			o->power = optarg;
		else if (strcmp(name, "name") == 0)
			o->name = optarg;
		else if (strcmp(name, "account") == 0)
			o->account = optarg;
		else if (strcmp(name, "amount") == 0)
			o->amount = optarg;
		else if (strcmp(name, "bond") == 0)
			o->bond = optarg;
		else if (strcmp(name, "file") == 0)
			o->file = optarg;
	}
	*first_arg = optind;
	return -1;
}

#define OPT_ARG(n)                                                                                 \
	{                                                                                          \
		n, required_argument, NULL, 0                                                      \
	}
#define OPT_HELP_ENTRY                                                                             \
	{                                                                                          \
		"help", no_argument, NULL, OPT_HELP                                                \
	}
#define OPT_END                                                                                    \
	{                                                                                          \
		NULL, 0, NULL, 0                                                                   \
	}

static int require(const char *cmd, const char *value, const char *option)
{
	if (value == NULL)
		return usage_error(cmd, "missing %s (see --help)", option);
	return 0;
}

static int no_operands(const char *cmd, int argc, char **argv, int first)
{
	if (first < argc)
		return usage_error(cmd, "unexpected argument '%s' (see --help)", argv[first]);
	return 0;
}

static int parse_count(const char *cmd, const char *option, const char *text, uint64_t *out)
{
	int rc = fl_parse_u64(text, out);

	if (rc == FL_EOVERFLOW)
		return usage_error(cmd, "%s: '%s' is larger than 2^64-1", option, text);
	if (rc < 0)
		return usage_error(cmd, "%s: not a decimal integer: '%s'", option, text);
	return 0;
}

static int parse_key(const char *cmd, const char *option, const char *text, fl_pubkey *out)
{
	int rc;

	if (strlen(text) != FL_PUBKEY_HEX_LEN)
		return usage_error(cmd, "%s: must be %d hex characters, got %zu", option,
				   FL_PUBKEY_HEX_LEN, strlen(text));
	rc = fl_pubkey_from_hex(out, text);
	if (rc == FL_EPARSE)
		return usage_error(cmd, "%s: not hex: '%s'", option, text);
	if (rc < 0)
		return usage_error(cmd, "%s: not a valid secp256k1 x-only public key", option);
	return 0;
}

static int parse_name(const char *cmd, const char *text, char out[CHAIN_NAME_MAX + 1])
{
	size_t i, n = strlen(text);

	if (n > CHAIN_NAME_MAX)
		return usage_error(cmd, "--name: longer than %d characters", CHAIN_NAME_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
			return usage_error(cmd, "--name: only printable ASCII is allowed");
	memcpy(out, text, n + 1);
	return 0;
}

/* ----------------------------------------------------------- load / save */

/* Loads a genesis that may still lack validators. */
static int load_draft(const char *path, chain_genesis *g)
{
	char err[GENESIS_ERR_MAX];

	if (genesis_parse_file(path, g, err, sizeof(err)) < 0 ||
	    genesis_check(g, GENESIS_CHECK_DRAFT, path, err, sizeof(err)) < 0)
		return invalid("%s", err);
	return 0;
}

/* Checks the edited genesis as a node would, then writes it atomically. */
static int save_checked(const char *path, const chain_genesis *g)
{
	char err[GENESIS_ERR_MAX];

	if (genesis_check(g, GENESIS_CHECK_DRAFT, path, err, sizeof(err)) < 0 ||
	    genesis_write_file(path, g, err, sizeof(err)) < 0)
		return invalid("%s", err);
	return 0;
}

/* Room for one more entry at the end of *arr (n entries of size bytes). */
static int grow(void **arr, uint32_t n, size_t size)
{
	void *p = fl_realloc(*arr, ((size_t)n + 1) * size);

	if (p == NULL)
		return invalid("%s: out of memory", PROG);
	*arr = p;
	memset((uint8_t *)p + (size_t)n * size, 0, size);
	return 0;
}

static int find_validator(const chain_genesis *g, const fl_pubkey *pk)
{
	uint32_t i;

	for (i = 0; i < g->n_validators; i++)
		if (fl_pubkey_cmp(&g->validators[i].pubkey, pk) == 0)
			return (int)i;
	return -1;
}

static int find_member(const chain_genesis *g, const fl_pubkey *pk)
{
	uint32_t i;

	for (i = 0; i < g->n_members; i++)
		if (fl_pubkey_cmp(&g->members[i].pubkey, pk) == 0)
			return (int)i;
	return -1;
}

/* --------------------------------------------------------------- commands */

static int cmd_new(int argc, char **argv)
{
	static const struct option opts[] = {OPT_ARG("chain-id"), OPT_ARG("out"),
					     OPT_ARG("time-ms"), OPT_HELP_ENTRY, OPT_END};
	const char *cmd = "new";
	chain_genesis g;
	struct stat st;
	options o;
	int first, rc;

	rc = parse_options(argc, argv, cmd, usage_new, opts, &o, &first);
	if (rc >= 0)
		return rc;
	if ((rc = require(cmd, o.chain_id, "--chain-id")) || (rc = require(cmd, o.out, "--out")) ||
	    (rc = no_operands(cmd, argc, argv, first)))
		return rc;
	memset(&g, 0, sizeof(g));
	if (!chain_id_valid(o.chain_id, CHAIN_ID_MAX))
		return usage_error(cmd, "--chain-id: must be 1 to %d of [a-z0-9._-], got '%s'",
				   CHAIN_ID_MAX, o.chain_id);
	snprintf(g.chain_id, sizeof(g.chain_id), "%s", o.chain_id);
	if (o.time_ms != NULL) {
		if ((rc = parse_count(cmd, "--time-ms", o.time_ms, &g.genesis_time_ms)))
			return rc;
		if (g.genesis_time_ms > CHAIN_GENESIS_TIME_MAX_MS)
			return usage_error(
			    cmd, "--time-ms: must be at most %llu (9999-12-31), got '%s'",
			    (unsigned long long)CHAIN_GENESIS_TIME_MAX_MS, o.time_ms);
	} else {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		g.genesis_time_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
	}
	chain_params_default(&g.params);
	if (stat(o.out, &st) == 0) {
		return invalid("%s: already exists; not overwriting it", o.out);
	}
	if ((rc = save_checked(o.out, &g)))
		return rc;
	printf("wrote %s (chain %s); add validators with '%s add-validator'\n", o.out, g.chain_id,
	       PROG);
	return 0;
}

static int cmd_add_validator(int argc, char **argv)
{
	static const struct option opts[] = {OPT_ARG("genesis"), OPT_ARG("pubkey"),
					     OPT_ARG("power"),   OPT_ARG("name"),
					     OPT_HELP_ENTRY,     OPT_END};
	const char *cmd = "add-validator";
	chain_genesis_validator v;
	chain_genesis g;
	options o;
	int first, rc, i;

	rc = parse_options(argc, argv, cmd, usage_add_validator, opts, &o, &first);
	if (rc >= 0)
		return rc;
	if ((rc = require(cmd, o.genesis, "--genesis")) ||
	    (rc = require(cmd, o.pubkey, "--pubkey")) || (rc = require(cmd, o.power, "--power")) ||
	    (rc = no_operands(cmd, argc, argv, first)))
		return rc;
	memset(&v, 0, sizeof(v));
	if ((rc = parse_key(cmd, "--pubkey", o.pubkey, &v.pubkey)) ||
	    (rc = parse_count(cmd, "--power", o.power, &v.power)) ||
	    (o.name != NULL && (rc = parse_name(cmd, o.name, v.name))))
		return rc;
	if (v.power == 0)
		return usage_error(cmd, "--power: must be > 0");
	if ((rc = load_draft(o.genesis, &g)))
		goto cleanup;
	if ((i = find_validator(&g, &v.pubkey)) >= 0) {
		rc = invalid("%s: validators[%d] has this key already", o.genesis, i);
		goto cleanup;
	}
	/* A member promoted to validator: it stays a member by being one. */
	if ((i = find_member(&g, &v.pubkey)) >= 0) {
		if (o.name == NULL)
			memcpy(v.name, g.members[i].name, sizeof(v.name));
		memmove(&g.members[i], &g.members[i + 1],
			(g.n_members - (uint32_t)i - 1) * sizeof(*g.members));
		g.n_members--;
	}
	if ((rc = grow((void **)&g.validators, g.n_validators, sizeof(v))))
		goto cleanup;
	g.validators[g.n_validators++] = v;
	if ((rc = save_checked(o.genesis, &g)))
		goto cleanup;
	printf("%s: validators[%" PRIu32 "] added (power %" PRIu64 ")\n", o.genesis,
	       g.n_validators - 1, v.power);
cleanup:
	chain_genesis_free(&g);
	return rc;
}

static int cmd_add_member(int argc, char **argv)
{
	static const struct option opts[] = {OPT_ARG("genesis"), OPT_ARG("pubkey"), OPT_ARG("name"),
					     OPT_HELP_ENTRY, OPT_END};
	const char *cmd = "add-member";
	chain_genesis_member m;
	chain_genesis g;
	options o;
	int first, rc, i;

	rc = parse_options(argc, argv, cmd, usage_add_member, opts, &o, &first);
	if (rc >= 0)
		return rc;
	if ((rc = require(cmd, o.genesis, "--genesis")) ||
	    (rc = require(cmd, o.pubkey, "--pubkey")) || (rc = no_operands(cmd, argc, argv, first)))
		return rc;
	memset(&m, 0, sizeof(m));
	if ((rc = parse_key(cmd, "--pubkey", o.pubkey, &m.pubkey)) ||
	    (o.name != NULL && (rc = parse_name(cmd, o.name, m.name))))
		return rc;
	if ((rc = load_draft(o.genesis, &g)))
		goto cleanup;
	if ((i = find_validator(&g, &m.pubkey)) >= 0) {
		rc = invalid("%s: validators[%d] has this key; validators are members already",
			     o.genesis, i);
		goto cleanup;
	}
	if ((i = find_member(&g, &m.pubkey)) >= 0) {
		rc = invalid("%s: members[%d] has this key already", o.genesis, i);
		goto cleanup;
	}
	if ((rc = grow((void **)&g.members, g.n_members, sizeof(m))))
		goto cleanup;
	g.members[g.n_members++] = m;
	if ((rc = save_checked(o.genesis, &g)))
		goto cleanup;
	printf("%s: members[%" PRIu32 "] added\n", o.genesis, g.n_members - 1);
cleanup:
	chain_genesis_free(&g);
	return rc;
}

/* Adds add to *field of balances[i], or refuses past 2^64-1. */
static int fund_add(const char *path, uint32_t i, const char *name, uint64_t *field, uint64_t add)
{
	if (*field > UINT64_MAX - add)
		return invalid("%s: balances[%" PRIu32 "].%s: would exceed 2^64-1", path, i, name);
	*field += add;
	return 0;
}

static int cmd_fund(int argc, char **argv)
{
	static const struct option opts[] = {OPT_ARG("genesis"), OPT_ARG("account"),
					     OPT_ARG("amount"),  OPT_ARG("bond"),
					     OPT_HELP_ENTRY,     OPT_END};
	const char *cmd = "fund";
	chain_genesis g;
	fl_pubkey account;
	uint64_t amount = 0, bond = 0;
	uint32_t i;
	options o;
	int first, rc;

	rc = parse_options(argc, argv, cmd, usage_fund, opts, &o, &first);
	if (rc >= 0)
		return rc;
	if ((rc = require(cmd, o.genesis, "--genesis")) ||
	    (rc = require(cmd, o.account, "--account")) ||
	    (rc = no_operands(cmd, argc, argv, first)))
		return rc;
	if (o.amount == NULL && o.bond == NULL)
		return usage_error(cmd, "missing --amount or --bond (see --help)");
	if ((rc = parse_key(cmd, "--account", o.account, &account)) ||
	    (o.amount != NULL && (rc = parse_count(cmd, "--amount", o.amount, &amount))) ||
	    (o.bond != NULL && (rc = parse_count(cmd, "--bond", o.bond, &bond))))
		return rc;
	if (o.amount != NULL && amount == 0)
		return usage_error(cmd, "--amount: must be > 0");
	if (o.bond != NULL && bond == 0)
		return usage_error(cmd, "--bond: must be > 0");
	if ((rc = load_draft(o.genesis, &g)))
		goto cleanup;
	for (i = 0; i < g.n_balances; i++)
		if (fl_pubkey_cmp(&g.balances[i].account, &account) == 0)
			break;
	if (i == g.n_balances) {
		if ((rc = grow((void **)&g.balances, g.n_balances, sizeof(*g.balances))))
			goto cleanup;
		g.balances[g.n_balances++].account = account;
	}
	if ((rc = fund_add(o.genesis, i, "amount", &g.balances[i].amount, amount)) ||
	    (rc = fund_add(o.genesis, i, "bonded", &g.balances[i].bonded, bond)))
		goto cleanup;
	if ((rc = save_checked(o.genesis, &g)))
		goto cleanup;
	if (g.balances[i].bonded > 0)
		printf("%s: balances[%" PRIu32 "] now %" PRIu64 ", bonded %" PRIu64 "\n", o.genesis,
		       i, g.balances[i].amount, g.balances[i].bonded);
	else
		printf("%s: balances[%" PRIu32 "] now %" PRIu64 "\n", o.genesis, i,
		       g.balances[i].amount);
cleanup:
	chain_genesis_free(&g);
	return rc;
}

static int cmd_add_profile(int argc, char **argv)
{
	static const struct option opts[] = {OPT_ARG("genesis"), OPT_ARG("file"), OPT_HELP_ENTRY,
					     OPT_END};
	const char *cmd = "add-profile";
	char err[GENESIS_ERR_MAX];
	chain_profile p;
	chain_genesis g;
	uint32_t i;
	options o;
	int first, rc;

	rc = parse_options(argc, argv, cmd, usage_add_profile, opts, &o, &first);
	if (rc >= 0)
		return rc;
	if ((rc = require(cmd, o.genesis, "--genesis")) || (rc = require(cmd, o.file, "--file")) ||
	    (rc = no_operands(cmd, argc, argv, first)))
		return rc;
	if (genesis_profile_load_file(o.file, &p, err, sizeof(err)) < 0)
		return invalid("%s", err);
	if ((rc = load_draft(o.genesis, &g)))
		goto cleanup;
	for (i = 0; i < g.n_profiles; i++) {
		if (strcmp(g.profiles[i].id, p.id) == 0) {
			rc = invalid("%s: id: \"%s\" is profiles[%" PRIu32 "] of %s already",
				     o.file, p.id, i, o.genesis);
			goto cleanup;
		}
	}
	if ((rc = grow((void **)&g.profiles, g.n_profiles, sizeof(p))))
		goto cleanup;
	g.profiles[g.n_profiles++] = p;
	if ((rc = save_checked(o.genesis, &g)))
		goto cleanup;
	printf("%s: profiles[%" PRIu32 "] \"%s\" added\n", o.genesis, g.n_profiles - 1, p.id);
cleanup:
	chain_genesis_free(&g);
	return rc;
}

static int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, OPT_JSON}, OPT_HELP_ENTRY, OPT_END};
	const char *cmd = "validate";
	char err[GENESIS_ERR_MAX];
	int first, rc, i, status = 0;
	options o;

	rc = parse_options(argc, argv, cmd, usage_validate, opts, &o, &first);
	if (rc >= 0)
		return rc;
	if (first >= argc)
		return usage_error(cmd, "missing FILE (see --help)");
	for (i = first; i < argc; i++) {
		chain_genesis g;
		if (genesis_load_file(argv[i], &g, err, sizeof(err)) < 0) {
			status = invalid("%s", err);
		} else if ((rc = genesis_summary_print(stdout, argv[i], &g, o.json)) < 0) {
			status = invalid("%s: cannot summarise: %s", argv[i], fl_strerror(rc));
		}
		chain_genesis_free(&g);
	}
	return status;
}

/* ------------------------------------------------------------------ main */

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
    {"new", cmd_new},   {"add-validator", cmd_add_validator}, {"add-member", cmd_add_member},
    {"fund", cmd_fund}, {"add-profile", cmd_add_profile},     {"validate", cmd_validate},
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage_error(NULL, "missing command (see --help)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	for (i = 0; i < FL_ARRAY_LEN(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error(NULL, "unknown command '%s' (see --help)", argv[1]);
}
