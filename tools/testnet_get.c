/* tools/testnet_get.c — fedledger-testnet get: one GET of a node's HTTP API,
 * the body on stdout, so shell tests can read what the API says without a
 * client of their own. */
#include "tools/internal.h"
#include "tools/testnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int testnet_cmd_get(int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-testnet get DIR NODE PATH\n"
	    "GETs PATH (e.g. /v1/accounts/ID) from NODE's HTTP API and prints the body.\n"
	    "Exit: 0 a 2xx answer, 1 another status or no answer, 2 usage.\n";
	static const tool_option opts[] = {{"help", 0, 0}};
	const char *prog = TESTNET_PROG " get", *ops[3] = {NULL, NULL, NULL}, *v;
	const tool_option *opt;
	static testnet t;
	char why[128], *body = NULL;
	size_t n_ops = 0, blen = 0;
	int status = 0, r, i;
	tool_args a;

	tool_args_init(&a, prog, argc, argv);
	while ((r = tool_args_next(&a, opts, 1, &opt, &v)) != TOOL_ARGS_END) {
		if (r < 0)
			return -r;
		if (r != TOOL_ARGS_OPERAND) {
			fputs(usage, stdout);
			return TOOL_EXIT_OK;
		}
		if (n_ops == 3) {
			tool_error(prog, "unexpected argument '%s'", v);
			return TOOL_EXIT_USAGE;
		}
		ops[n_ops++] = v;
	}
	if (n_ops != 3) {
		tool_error(prog, "DIR NODE PATH: required");
		return TOOL_EXIT_USAGE;
	}
	if (ops[2][0] != '/' || strpbrk(ops[2], " \r\n") != NULL) {
		tool_error(prog, "PATH: '%s' is not an absolute path", ops[2]);
		return TOOL_EXIT_USAGE;
	}
	if ((r = testnet_load(&t, ops[0])) != 0)
		return r;
	if ((i = testnet_node_index(&t, ops[1])) < 0)
		return TOOL_EXIT_USAGE;
	if (testnet_http_get(t.node[i].rpc_port, ops[2], 3000, &status, &body, &blen, why,
			     sizeof why) != 0) {
		tool_error(prog, "%s: %s", t.node[i].name, why);
		return TOOL_EXIT_RUNTIME;
	}
	fwrite(body, 1, blen, stdout);
	if (blen == 0 || body[blen - 1] != '\n')
		putchar('\n');
	free(body);
	return status >= 200 && status < 300 ? TOOL_EXIT_OK : TOOL_EXIT_RUNTIME;
}
