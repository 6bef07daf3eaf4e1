/* tools/testnet_main.c — fedledger-testnet: make, run, perturb and check a
 * local multi-node network of real fedledgerd processes (docs/testnet.md). */
#include "tools/internal.h"
#include "tools/testnet.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: fedledger-testnet COMMAND ...\n"
    "  init --out DIR --validators N [--members M] [--dataset fashion-mnist]\n"
    "       [--partition iid|dirichlet:ALPHA|labels:K] [--base-port P] [--chain-id ID]\n"
    "       [--byzantine K=MODE]\n"
    "  up DIR | down DIR | status DIR\n"
    "  kill DIR NODE | pause DIR NODE | resume DIR NODE | restart DIR NODE\n"
    "  wait DIR --height H [--timeout S]\n"
    "  check DIR [--from H]\n"
    "  rounds DIR [--rounds R] [--timeout S] [--profile ID]... | rounds DIR --open ID\n"
    "  get DIR NODE PATH\n"
    "COMMAND --help for each. Exit: 0 success, 1 runtime failure, 2 usage.\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
    {"init", testnet_cmd_init},     {"up", testnet_cmd_up},          {"down", testnet_cmd_down},
    {"status", testnet_cmd_status}, {"kill", testnet_cmd_signal},    {"pause", testnet_cmd_signal},
    {"resume", testnet_cmd_signal}, {"restart", testnet_cmd_signal}, {"wait", testnet_cmd_wait},
    {"check", testnet_cmd_check},   {"rounds", testnet_cmd_rounds},  {"get", testnet_cmd_get},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		tool_error(TESTNET_PROG, "missing COMMAND (try --help)");
		return TOOL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return TOOL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	tool_error(TESTNET_PROG, "unknown command '%s' (try --help)", argv[1]);
	return TOOL_EXIT_USAGE;
}
