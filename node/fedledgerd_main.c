/*
 * node/fedledgerd_main.c — fedledgerd, the node (shared interfaces):
 *
 *   init --home DIR [--genesis FILE] [--moniker NAME]
 *   start --home DIR [--log-format text|json] [--log-level LEVEL]
 *         [--byzantine MODE]
 *   show-node-id --home DIR
 *   version
 *
 * Exit status: 0 done, 1 a file or a field in one is wrong (one line on
 * stderr naming it), 2 bad arguments (one line on stderr naming them).
 */
#include "chain/chain.h"
#include "node/home.h"
#include "node/node.h"
#include "node/version.h"
#include "p2p/p2p.h"

#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define PROG         "fedledgerd"
#define EXIT_INVALID 1
#define EXIT_USAGE   2

static const char usage_main[] =
    "usage: " PROG " COMMAND [OPTIONS]\n"
    "\n"
    "The fedledger node.\n"
    "\n"
    "commands:\n"
    "  init          make a node's home: member key, config.json, data/\n"
    "  start         run the node: consensus, p2p, the HTTP API\n"
    "  show-node-id  print the node id (the member key) of a home\n"
    "  version       print the version and the protocol versions spoken\n"
    "\n"
    "Run '" PROG " COMMAND --help' for a command's options; docs/config.md\n"
    "describes the home and every config.json field.\n"
    "Exit status: 0 done, 1 a file or field is wrong, 2 bad arguments.\n";

static const char usage_init[] =
    "usage: " PROG " init --home DIR [--genesis FILE] [--moniker NAME]\n"
    "\n"
    "Makes a node's home in DIR (created 0700 if missing): a new member key in\n"
    "keys/member.key (0600), a default config.json, data/ (0700), and a copy of\n"
    "FILE as genesis.json once it has been checked. Never overwrites a file;\n"
    "on any failure nothing it made is left behind. Prints the node id.\n"
    "\n"
    "  --home DIR      the home directory\n"
    "  --genesis FILE  the network's genesis.json (default: none, add it later)\n"
    "  --moniker NAME  the node's name in config.json, up to 64 printable ASCII\n";

static const char usage_start[] =
    "usage: " PROG " start --home DIR [--log-format text|json] [--log-level LEVEL]\n"
    "                        [--byzantine MODE]\n"
    "\n"
    "Runs the node of the home in DIR until SIGINT or SIGTERM: opens the chain\n"
    "store (writing the genesis on first start), replays the consensus WAL,\n"
    "connects to its persistent peers and takes part in consensus when its key\n"
    "is a validator's. The first signal shuts down cleanly; a second exits at once.\n"
    "\n"
    "  --home DIR           the home directory (fedledgerd init)\n"
    "  --log-format FORMAT  text or json (default: config.json's log.format)\n"
    "  --log-level LEVEL    trace, debug, info, warn, error or off (default: log.level)\n"
    "  --byzantine MODE     TESTS ONLY: misbehave on purpose (equivocate: sign two\n"
    "                       votes for each one; silent: send no consensus message;\n"
    "                       bad-proposal: propose invalid blocks; bad-aggregate:\n"
    "                       commit wrong aggregates as a round's coordinator;\n"
    "                       withhold-updates: commit updates, never serve them)\n";

static const char usage_show_node_id[] =
    "usage: " PROG " show-node-id --home DIR\n"
    "\n"
    "Prints the node id: the member key's public key, 64 hex characters, which\n"
    "peers list as NODEID@HOST:PORT in p2p.persistent_peers. The key file must\n"
    "not be readable or writable by group or others.\n"
    "\n"
    "  --home DIR      the home directory\n";

static const char usage_version[] =
    "usage: " PROG " version\n"
    "\n"
    "Prints the version of fedledgerd, the block, transaction and p2p\n"
    "protocol versions it speaks, and what it was built with.\n";

/* One line on stderr; non-printable bytes (a newline in an argument, say)
 * become '?', so the message stays exactly one line. */
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

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error, naming the command. Returns EXIT_USAGE. */
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

/* err from the library already names the file and field. */
static int invalid(const char *err)
{
	fprintf(stderr, "%s\n", err);
	return EXIT_INVALID;
}

/* ---------------------------------------------------------------- options */

enum { OPT_HOME, OPT_GENESIS, OPT_MONIKER, OPT_LOG_FORMAT, OPT_LOG_LEVEL, OPT_BYZANTINE, N_OPTS };

static const char *const option_names[N_OPTS] = {"home",       "genesis",   "moniker",
						 "log-format", "log-level", "byzantine"};

/*
 * argv[1..] (argv[0] is the command) as "--NAME VALUE" or "--NAME=VALUE"
 * for the options with allowed[i] set, each at most once; no operands.
 * Exact names only (no abbreviations: "--ho" is not --home). Returns -1
 * when parsed, 0 after printing help, or EXIT_USAGE after one line.
 */
static int parse_options(int argc, char **argv, const char *cmd, const char *help,
			 const int allowed[N_OPTS], const char *values[N_OPTS])
{
	int i, k;

	memset(values, 0, N_OPTS * sizeof(*values));
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *value;
		size_t len;
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(help, stdout);
			return 0;
		}
		if (strncmp(arg, "--", 2) != 0)
			return usage_error(cmd, "unexpected argument '%s' (see --help)", arg);
		eq = strchr(arg + 2, '=');
		len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		for (k = 0; k < N_OPTS; k++)
			if (allowed[k] && strlen(option_names[k]) == len &&
			    strncmp(arg + 2, option_names[k], len) == 0)
				break;
		if (k == N_OPTS)
			return usage_error(cmd, "unknown option '%.*s' (see --help)", (int)len + 2,
					   arg);
		if (eq != NULL) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			return usage_error(cmd, "option --%s needs a value (see --help)",
					   option_names[k]);
		}
		if (values[k] != NULL)
			return usage_error(cmd, "option --%s given twice", option_names[k]);
		values[k] = value;
	}
	return -1;
}

static int require(const char *cmd, const char *const values[N_OPTS], int k)
{
	if (values[k] == NULL)
		return usage_error(cmd, "missing --%s (see --help)", option_names[k]);
	if (values[k][0] == '\0')
		return usage_error(cmd, "--%s: must not be empty", option_names[k]);
	return 0;
}

/* --------------------------------------------------------------- commands */

static int cmd_init(int argc, char **argv)
{
	static const int allowed[N_OPTS] = {[OPT_HOME] = 1, [OPT_GENESIS] = 1, [OPT_MONIKER] = 1};
	const char *cmd = "init", *v[N_OPTS];
	char err[NODE_CONFIG_ERR_MAX], hex[FL_PUBKEY_HEX_LEN + 1];
	node_home_init_opts opts;
	fl_pubkey id;
	int rc;

	if ((rc = parse_options(argc, argv, cmd, usage_init, allowed, v)) >= 0)
		return rc;
	if ((rc = require(cmd, v, OPT_HOME)) ||
	    (v[OPT_GENESIS] != NULL && (rc = require(cmd, v, OPT_GENESIS))))
		return rc;
	if (strlen(v[OPT_HOME]) > NODE_HOME_DIR_MAX)
		return usage_error(cmd, "--home: longer than %d characters", NODE_HOME_DIR_MAX);
	if (v[OPT_MONIKER] != NULL) {
		if (strlen(v[OPT_MONIKER]) > CHAIN_NAME_MAX)
			return usage_error(cmd, "--moniker: longer than %d characters",
					   CHAIN_NAME_MAX);
		for (const char *p = v[OPT_MONIKER]; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				return usage_error(cmd,
						   "--moniker: only printable ASCII is allowed");
	}
	opts.home = v[OPT_HOME];
	opts.genesis = v[OPT_GENESIS];
	opts.moniker = v[OPT_MONIKER];
	if (node_home_init(&opts, &id, err, sizeof(err)) != FL_OK)
		return invalid(err);
	fl_pubkey_to_hex(hex, &id);
	printf("initialised %s\nnode id %s\n", v[OPT_HOME], hex);
	if (v[OPT_GENESIS] == NULL)
		printf("no genesis yet: put the network's genesis.json in %s\n", v[OPT_HOME]);
	return 0;
}

static int cmd_start(int argc, char **argv)
{
	static const int allowed[N_OPTS] = {
	    [OPT_HOME] = 1, [OPT_LOG_FORMAT] = 1, [OPT_LOG_LEVEL] = 1, [OPT_BYZANTINE] = 1};
	const char *cmd = "start", *v[N_OPTS];
	char err[NODE_CONFIG_ERR_MAX] = "";
	node_run_opts opts;
	fl_log_format fmt;
	fl_log_level level;
	node_byzantine byz = NODE_BYZ_NONE;
	int rc;

	if ((rc = parse_options(argc, argv, cmd, usage_start, allowed, v)) >= 0)
		return rc;
	if ((rc = require(cmd, v, OPT_HOME)))
		return rc;
	if (strlen(v[OPT_HOME]) > NODE_HOME_DIR_MAX)
		return usage_error(cmd, "--home: longer than %d characters", NODE_HOME_DIR_MAX);
	memset(&opts, 0, sizeof(opts));
	opts.home = v[OPT_HOME];
	opts.log_format = -1;
	opts.log_level = -1;
	if (v[OPT_LOG_FORMAT] != NULL) {
		if (fl_log_format_parse(v[OPT_LOG_FORMAT], &fmt) != 0)
			return usage_error(cmd, "--log-format: expected text or json, got '%s'",
					   v[OPT_LOG_FORMAT]);
		opts.log_format = (int)fmt;
	}
	if (v[OPT_LOG_LEVEL] != NULL) {
		if (fl_log_level_parse(v[OPT_LOG_LEVEL], &level) != 0)
			return usage_error(cmd,
					   "--log-level: expected trace, debug, info, warn, error "
					   "or off, got '%s'",
					   v[OPT_LOG_LEVEL]);
		opts.log_level = (int)level;
	}
	if (v[OPT_BYZANTINE] != NULL && node_byzantine_parse(v[OPT_BYZANTINE], &byz) != 0)
		return usage_error(
		    cmd, "--byzantine: expected equivocate, silent, bad-proposal, bad-aggregate or "
		    "withhold-updates, got '%s'",
		    v[OPT_BYZANTINE]);
	opts.byzantine = byz;
	/* A peer or an HTTP client that goes away while we write to it must
	 * cost one connection, not the process: libuv writes with write(2),
	 * which raises SIGPIPE on a closed socket; ignored, it returns EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* Memory back to the system once a block is done with: a decoded
	 * full block is ~10 MB (944 bytes a tx), made and freed on the loop
	 * and the pool's threads. glibc would raise its mmap threshold after
	 * the first such free (keeping later ones on the heap, where they stay
	 * resident) and give each thread an arena of its own. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_ARENA_MAX, 2);
	if (node_run(&opts, err, sizeof(err)) != FL_OK) {
		fprintf(stderr, "%s\n",
			err[0] != '\0' ? err : "fedledgerd: stopped on an error (see the log)");
		return EXIT_INVALID;
	}
	return 0;
}

static int cmd_show_node_id(int argc, char **argv)
{
	static const int allowed[N_OPTS] = {[OPT_HOME] = 1};
	const char *cmd = "show-node-id", *v[N_OPTS];
	char err[NODE_CONFIG_ERR_MAX], hex[FL_PUBKEY_HEX_LEN + 1];
	fl_pubkey id;
	int rc;

	if ((rc = parse_options(argc, argv, cmd, usage_show_node_id, allowed, v)) >= 0)
		return rc;
	if ((rc = require(cmd, v, OPT_HOME)))
		return rc;
	if (strlen(v[OPT_HOME]) > NODE_HOME_DIR_MAX)
		return usage_error(cmd, "--home: longer than %d characters", NODE_HOME_DIR_MAX);
	if (node_home_node_id(v[OPT_HOME], &id, err, sizeof(err)) != FL_OK)
		return invalid(err);
	fl_pubkey_to_hex(hex, &id);
	printf("%s\n", hex);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	static const int allowed[N_OPTS] = {0};
	const char *v[N_OPTS];
	int rc;

	if ((rc = parse_options(argc, argv, "version", usage_version, allowed, v)) >= 0)
		return rc;
	printf(PROG " %s\n", NODE_VERSION);
	printf("block version %d, tx version %d, p2p protocol version %d\n", CHAIN_BLOCK_VERSION,
	       CHAIN_TX_VERSION, P2P_PROTOCOL_VERSION);
	printf("built with %s, libuv %d.%d.%d (running %s), jansson %s\n",
#ifdef __VERSION__
	       "cc " __VERSION__,
#else
	       "an unknown compiler",
#endif
	       UV_VERSION_MAJOR, UV_VERSION_MINOR, UV_VERSION_PATCH, uv_version_string(),
	       JANSSON_VERSION);
	return 0;
}

/* ------------------------------------------------------------------ main */

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
    {"init", cmd_init},
    {"start", cmd_start},
    {"show-node-id", cmd_show_node_id},
    {"version", cmd_version},
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
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	for (i = 0; i < FL_ARRAY_LEN(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error(NULL, "unknown command '%s' (see --help)", argv[1]);
}
