/*
 * tools/wallet_args.c — what every wallet command parses alike: the global
 * options (accepted before or after the command, so `transfer TO 5 --json`
 * works as well as `--json transfer TO 5`), operands counted and named,
 * account and profile ids, and the one-object JSON output.
 */
#include "tools/wallet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_NODE = 1000, OPT_KEY, OPT_JSON, OPT_NO_WAIT, OPT_TIMEOUT, OPT_HELP };

static const tool_option global_opts[] = {
    {"node", 1, OPT_NODE},       {"key", 1, OPT_KEY},         {"json", 0, OPT_JSON},
    {"no-wait", 0, OPT_NO_WAIT}, {"timeout", 1, OPT_TIMEOUT}, {"help", 0, OPT_HELP},
};

#define MAX_OPTS 16

void wallet_init(wallet *w)
{
	const char *home = getenv("HOME");

	memset(w, 0, sizeof(*w));
	w->prog = WALLET_PROG;
	snprintf(w->node, sizeof(w->node), "%s", WALLET_DEFAULT_URL);
	if (home != NULL && home[0] != '\0')
		snprintf(w->key_path, sizeof(w->key_path), "%s/%s", home, WALLET_DEFAULT_KEY);
	else
		snprintf(w->key_path, sizeof(w->key_path), "%s", WALLET_DEFAULT_KEY);
	w->timeout_s = WALLET_DEFAULT_TIMEOUT_S;
}

/* http(s)://host[:port][/prefix], kept without a trailing '/' so that
 * "URL" + "/v1/…" is the request. */
static int set_node(wallet *w, const char *url)
{
	size_t n = strlen(url);

	if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
	    strpbrk(url, " \t\r\n") != NULL || n <= (url[4] == 's' ? 8u : 7u)) {
		tool_error(w->prog, "--node: must be an http:// or https:// URL, got '%s'", url);
		return -TOOL_EXIT_USAGE;
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= sizeof(w->node)) {
		tool_error(w->prog, "--node: longer than %u characters", WALLET_URL_MAX - 1);
		return -TOOL_EXIT_USAGE;
	}
	memcpy(w->node, url, n);
	w->node[n] = '\0';
	return 0;
}

static int set_global(wallet *w, int id, const char *value)
{
	switch (id) {
	case OPT_NODE:
		return set_node(w, value);
	case OPT_KEY:
		if (value[0] == '\0' || strlen(value) >= sizeof(w->key_path)) {
			tool_error(w->prog, "--key: must be a file path of 1 to %u characters",
				   WALLET_PATH_MAX - 1);
			return -TOOL_EXIT_USAGE;
		}
		snprintf(w->key_path, sizeof(w->key_path), "%s", value);
		return 0;
	case OPT_JSON:
		w->json = 1;
		return 0;
	case OPT_NO_WAIT:
		w->no_wait = 1;
		return 0;
	case OPT_TIMEOUT:
		return tool_parse_u32(&(tool_args){.prog = w->prog}, "timeout", value, 1, 86400,
				      &w->timeout_s);
	}
	return 0;
}

int wallet_parse(wallet *w, int argc, char **argv, const char *usage, const tool_option *opts,
		 size_t n_opts, int (*on_opt)(void *ctx, const tool_option *opt, const char *value),
		 void *ctx, const char **ops, size_t min_ops, size_t max_ops, const char *operands,
		 size_t *n_ops)
{
	tool_option all[MAX_OPTS];
	const tool_option *opt;
	const char *v;
	size_t n_all = 0;
	int help = 0, r;
	tool_args a;

	/* A command's table and the globals, as one table tool_args checks
	 * against, so an unknown option is named whichever it meant. */
	for (size_t i = 0; i < n_opts && n_all < MAX_OPTS; i++)
		all[n_all++] = opts[i];
	for (size_t i = 0; i < FL_ARRAY_LEN(global_opts) && n_all < MAX_OPTS; i++)
		all[n_all++] = global_opts[i];
	*n_ops = 0;
	tool_args_init(&a, w->prog, argc, argv);
	while ((r = tool_args_next(&a, all, n_all, &opt, &v)) != TOOL_ARGS_END) {
		if (r < 0)
			return -r;
		if (r == TOOL_ARGS_OPERAND) {
			if (*n_ops == max_ops) {
				tool_error(w->prog, "unexpected argument '%s' (see --help)", v);
				return TOOL_EXIT_USAGE;
			}
			ops[(*n_ops)++] = v;
			continue;
		}
		if (opt->id == OPT_HELP) {
			help = 1;
			continue;
		}
		r = opt->id >= OPT_NODE ? set_global(w, opt->id, v) : on_opt(ctx, opt, v);
		if (r < 0)
			return -r;
	}
	/* --help wins over anything else on the line, even a missing operand. */
	if (help) {
		fputs(usage, stdout);
		fputs(WALLET_GLOBAL_USAGE, stdout);
		return WALLET_HELP_SHOWN;
	}
	if (*n_ops < min_ops) {
		tool_error(w->prog, "%s: required (see --help)", operands);
		return TOOL_EXIT_USAGE;
	}
	return 0;
}

int wallet_print_json(const wallet *w, json_t *o)
{
	char *s;

	if (o == NULL || (s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(o);
		tool_error(w->prog, "out of memory");
		return TOOL_EXIT_RUNTIME;
	}
	printf("%s\n", s);
	free(s);
	json_decref(o);
	return TOOL_EXIT_OK;
}

int wallet_parse_account(const wallet *w, const char *what, const char *text, fl_pubkey *out)
{
	int rc;

	if (strlen(text) != FL_PUBKEY_HEX_LEN) {
		tool_error(w->prog, "%s: must be 64 hex digits (an account's public key), got '%s'",
			   what, text);
		return -TOOL_EXIT_USAGE;
	}
	rc = fl_pubkey_from_hex(out, text);
	if (rc == FL_EPARSE) {
		tool_error(w->prog, "%s: must be 64 hex digits (an account's public key), got '%s'",
			   what, text);
		return -TOOL_EXIT_USAGE;
	}
	if (rc != FL_OK) {
		tool_error(w->prog, "%s: '%s' is not a public key (no such curve point)", what,
			   text);
		return -TOOL_EXIT_USAGE;
	}
	return 0;
}

int wallet_parse_profile_id(const wallet *w, const char *what, const char *text)
{
	if (!chain_id_valid(text, CHAIN_PROFILE_ID_MAX)) {
		tool_error(w->prog, "%s: must be 1 to %u of [a-z0-9._-], got '%s'", what,
			   CHAIN_PROFILE_ID_MAX, text);
		return -TOOL_EXIT_USAGE;
	}
	return 0;
}

int wallet_parse_globals(wallet *w, int argc, char **argv, const char *usage, int *cmd)
{
	const tool_option *opt;
	const char *v;
	tool_args a;
	int r;

	tool_args_init(&a, w->prog, argc, argv);
	while ((r = tool_args_next(&a, global_opts, FL_ARRAY_LEN(global_opts), &opt, &v)) !=
	       TOOL_ARGS_END) {
		if (r < 0)
			return -r;
		if (r == TOOL_ARGS_OPERAND) {
			*cmd = a.next - 1;
			return 0;
		}
		if (opt->id == OPT_HELP) {
			fputs(usage, stdout);
			fputs(WALLET_GLOBAL_USAGE, stdout);
			return WALLET_HELP_SHOWN;
		}
		if ((r = set_global(w, opt->id, v)) < 0)
			return -r;
	}
	tool_error(w->prog, "missing COMMAND (try --help)");
	return TOOL_EXIT_USAGE;
}

int wallet_json_u64(const json_t *o, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return FL_OK;
	}
	if (json_is_string(v))
		return fl_parse_u64(json_string_value(v), out);
	return FL_EPARSE;
}

const char *wallet_u64_text(const json_t *o, const char *key, char buf[24])
{
	uint64_t v;

	if (wallet_json_u64(o, key, &v) != FL_OK)
		return "-";
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}
