/* tools/wallet_main.c — fedledger-wallet: a member's key, encrypted on
 * disk, and the txs it signs for a node's HTTP API (docs/wallet.md). */
#include "tools/wallet.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: fedledger-wallet [GLOBAL OPTIONS] COMMAND ...\n"
    "  keygen [--import FILE] [--force] [--pwhash interactive|moderate|sensitive]\n"
    "  address\n"
    "  balance [ACCOUNT]\n"
    "  transfer TO AMOUNT\n"
    "  bond AMOUNT | unbond AMOUNT\n"
    "  profile propose FILE | profile vote ID yes|no|retire | profile list | profile show ID\n"
    "  rounds PROFILE [--last N]\n"
    "COMMAND --help for each.\n";

static const struct {
	const char *name;
	int (*run)(wallet *w, int argc, char **argv);
} commands[] = {
    {"keygen", wallet_cmd_keygen},   {"address", wallet_cmd_address},
    {"balance", wallet_cmd_balance}, {"transfer", wallet_cmd_transfer},
    {"bond", wallet_cmd_bond},       {"unbond", wallet_cmd_bond},
    {"profile", wallet_cmd_profile}, {"rounds", wallet_cmd_rounds},
};

int main(int argc, char **argv)
{
	char prog[64];
	wallet w;
	int cmd = 0, rc;

	wallet_init(&w);
	rc = wallet_parse_globals(&w, argc, argv, usage, &cmd);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	for (size_t i = 0; i < FL_ARRAY_LEN(commands); i++) {
		if (strcmp(argv[cmd], commands[i].name) != 0)
			continue;
		snprintf(prog, sizeof(prog), "%s %s", WALLET_PROG, commands[i].name);
		w.prog = prog;
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			tool_error(prog, "libcurl: cannot initialise");
			return TOOL_EXIT_RUNTIME;
		}
		rc = commands[i].run(&w, argc - cmd, argv + cmd);
		curl_global_cleanup();
		return rc;
	}
	tool_error(WALLET_PROG, "unknown command '%s' (try --help)", argv[cmd]);
	return TOOL_EXIT_USAGE;
}
