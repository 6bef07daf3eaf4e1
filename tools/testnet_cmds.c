/* tools/testnet_cmds.c — the commands on a made testnet: up, down, status,
 * kill/pause/resume/restart, wait and check (docs/testnet.md). */
#include "tools/internal.h"
#include "tools/testnet.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD_HTTP_MS 2000 /* per request to a node */

enum { O_HELP, O_TIMEOUT, O_HEIGHT, O_FROM };

/* Parses "CMD DIR [NODE] [options]" where n_ops is how many operands the command takes. */
static int cmd_parse(const char *prog, int argc, char **argv, const char *usage,
		     const tool_option *opts, size_t n_opts, const char **ops, int n_ops,
		     uint32_t *vals)
{
	tool_args a;
	const tool_option *opt;
	const char *v;
	int r, got = 0;
	tool_args_init(&a, prog, argc, argv);
	while ((r = tool_args_next(&a, opts, n_opts, &opt, &v)) != TOOL_ARGS_END) {
		if (r < 0)
			return -r;
		if (r == TOOL_ARGS_OPERAND) {
			if (got == n_ops) {
				tool_error(prog, "unexpected argument '%s'", v);
				return TOOL_EXIT_USAGE;
			}
			ops[got++] = v;
			continue;
		}
		if (opt->id == O_HELP) {
			fputs(usage, stdout);
			return -1;
		}
		const char *name = opt->name;
		uint32_t lo = opt->id == O_TIMEOUT ? 1 : 0;
		if (tool_parse_u32(&a, name, v, lo, opt->id == O_TIMEOUT ? 86400 : UINT32_MAX,
				   &vals[opt->id]))
			return TOOL_EXIT_USAGE;
	}
	if (got < n_ops) {
		tool_error(prog, "%s: required", got == 0 ? "DIR" : "NODE");
		return TOOL_EXIT_USAGE;
	}
	return 0;
}

static const tool_option help_opt[] = {{"help", 0, O_HELP}};

static int start_nodes(const testnet *t, const int *want, int timeout_s)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (want[i] && testnet_node_spawn(t, i) != 0) {
			tool_error(TESTNET_PROG, "%s: cannot start", t->node[i].name);
			return TOOL_EXIT_RUNTIME;
		}
	return testnet_wait_healthy(t, want, timeout_s);
}

int testnet_cmd_up(int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-testnet up DIR [--timeout S]\n"
	    "Starts every node that is not running and waits (default 60 s) until each\n"
	    "answers GET /health. Exit: 0 all up, 1 a node died or timed out, 2 usage.\n";
	static const tool_option opts[] = {{"help", 0, O_HELP}, {"timeout", 1, O_TIMEOUT}};
	const char *ops[1];
	uint32_t vals[4] = {0, 60, 0, 0};
	static testnet t;
	int rc = cmd_parse(TESTNET_PROG " up", argc, argv, usage, opts, 2, ops, 1, vals);
	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = testnet_load(&t, ops[0])))
		return rc;
	int want[TESTNET_MAX_NODES] = {0};
	for (uint32_t i = 0; i < t.n; i++)
		want[i] = testnet_node_state(&t, i, NULL) == TESTNET_STOPPED;
	return start_nodes(&t, want, (int)vals[O_TIMEOUT]);
}

int testnet_cmd_down(int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-testnet down DIR\n"
	    "SIGTERM to every node, up to 10 s each, then SIGKILL; removes the pid files.\n"
	    "Exit: 0 all stopped, 2 usage.\n";
	const char *ops[1];
	uint32_t vals[4] = {0};
	static testnet t;
	int rc = cmd_parse(TESTNET_PROG " down", argc, argv, usage, help_opt, 1, ops, 1, vals);
	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = testnet_load(&t, ops[0])))
		return rc;
	pid_t pid;
	/* SIGTERM to all first so they shut down together, not one after another. */
	for (uint32_t i = 0; i < t.n; i++)
		if (testnet_node_state(&t, i, &pid) != TESTNET_STOPPED) {
			kill(pid, SIGTERM);
			kill(pid, SIGCONT);
		}
	for (uint32_t i = 0; i < t.n; i++)
		testnet_node_stop(&t, i);
	return TOOL_EXIT_OK;
}

int testnet_cmd_status(int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-testnet status DIR\n"
	    "One line per node: name, state (running/paused/stopped), height, peers and\n"
	    "last block time from GET /status ('-' when unreachable). Exit: 0, 2 usage.\n";
	const char *ops[1];
	uint32_t vals[4] = {0};
	static testnet t;
	int rc = cmd_parse(TESTNET_PROG " status", argc, argv, usage, help_opt, 1, ops, 1, vals);
	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = testnet_load(&t, ops[0])))
		return rc;
	printf("%-8s %-8s %8s %6s  %s\n", "NODE", "STATE", "HEIGHT", "PEERS", "LAST_BLOCK");
	for (uint32_t i = 0; i < t.n; i++) {
		testnet_state s = testnet_node_state(&t, i, NULL);
		json_t *st = s == TESTNET_RUNNING
				 ? testnet_http_get_json(t.node[i].rpc_port, "/status", CMD_HTTP_MS)
				 : NULL;
		char h[24] = "-", p[24] = "-", tm[40] = "-";
		if (st) {
			json_t *hv = json_object_get(st, "height"),
			       *pv = json_object_get(st, "peers"),
			       *tv = json_object_get(st, "latest_block_time_ms");
			if (json_is_integer(hv))
				snprintf(h, sizeof h, "%lld", (long long)json_integer_value(hv));
			if (json_is_integer(pv))
				snprintf(p, sizeof p, "%lld", (long long)json_integer_value(pv));
			else if (json_is_array(pv))
				snprintf(p, sizeof p, "%zu", json_array_size(pv));
			if (json_is_integer(tv) && json_integer_value(tv) > 0) {
				time_t sec = (time_t)(json_integer_value(tv) / 1000);
				struct tm g;
				gmtime_r(&sec, &g);
				strftime(tm, sizeof tm, "%Y-%m-%dT%H:%M:%SZ", &g);
			}
			json_decref(st);
		}
		printf("%-8s %-8s %8s %6s  %s\n", t.node[i].name, testnet_state_name(s), h, p, tm);
	}
	return TOOL_EXIT_OK;
}

int testnet_cmd_signal(int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-testnet kill|pause|resume|restart DIR NODE [--timeout S]\n"
	    "kill: SIGKILL (the pid file stays; `up` restarts it). pause: SIGSTOP.\n"
	    "resume: SIGCONT. restart: kill, start, wait until healthy (default 60 s).\n"
	    "NODE is node2 or 2. Exit: 0 done, 1 the node is not running or did not\n"
	    "come back, 2 usage.\n";
	static const tool_option opts[] = {{"help", 0, O_HELP}, {"timeout", 1, O_TIMEOUT}};
	const char *cmd = argv[0], *ops[2];
	uint32_t vals[4] = {0, 60, 0, 0};
	static testnet t;
	char prog[64];
	snprintf(prog, sizeof prog, TESTNET_PROG " %s", cmd);
	int rc = cmd_parse(prog, argc, argv, usage, opts, 2, ops, 2, vals);
	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = testnet_load(&t, ops[0])))
		return rc;
	int i = testnet_node_index(&t, ops[1]);
	if (i < 0)
		return TOOL_EXIT_USAGE;
	pid_t pid;
	testnet_state s = testnet_node_state(&t, (uint32_t)i, &pid);
	if (strcmp(cmd, "restart") == 0) {
		if (s != TESTNET_STOPPED) {
			kill(pid, SIGKILL);
			for (int n = 0; n < 100 && testnet_node_state(&t, (uint32_t)i, NULL) !=
						       TESTNET_STOPPED;
			     n++)
				usleep(50000);
		}
		int want[TESTNET_MAX_NODES] = {0};
		want[i] = 1;
		return start_nodes(&t, want, (int)vals[O_TIMEOUT]);
	}
	if (s == TESTNET_STOPPED) {
		tool_error(prog, "%s: not running", t.node[i].name);
		return TOOL_EXIT_RUNTIME;
	}
	int sig = strcmp(cmd, "kill") == 0    ? SIGKILL
		  : strcmp(cmd, "pause") == 0 ? SIGSTOP
					      : SIGCONT;
	if (kill(pid, sig) != 0) {
		tool_error(prog, "%s: pid %d: %s", t.node[i].name, (int)pid, strerror(errno));
		return TOOL_EXIT_RUNTIME;
	}
	/* Return once the change shows, so the next command sees it. */
	testnet_state want = sig == SIGKILL   ? TESTNET_STOPPED
			     : sig == SIGSTOP ? TESTNET_PAUSED
					      : TESTNET_RUNNING;
	for (int n = 0; n < 100 && testnet_node_state(&t, (uint32_t)i, NULL) != want; n++)
		usleep(50000);
	return TOOL_EXIT_OK;
}

static int64_t node_height(const testnet *t, uint32_t i)
{
	json_t *st = testnet_http_get_json(t->node[i].rpc_port, "/status", CMD_HTTP_MS);
	json_t *h = json_object_get(st, "height");
	int64_t v = json_is_integer(h) ? (int64_t)json_integer_value(h) : -1;
	json_decref(st);
	return v;
}

int testnet_cmd_wait(int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-testnet wait DIR --height H [--timeout S]\n"
	    "Waits until every running node reports height >= H (default timeout 60 s).\n"
	    "Exit: 0 reached, 1 timed out (naming the node behind), 2 usage.\n";
	static const tool_option opts[] = {
	    {"help", 0, O_HELP}, {"timeout", 1, O_TIMEOUT}, {"height", 1, O_HEIGHT}};
	const char *ops[1];
	uint32_t vals[4] = {0, 60, UINT32_MAX, 0};
	static testnet t;
	int rc = cmd_parse(TESTNET_PROG " wait", argc, argv, usage, opts, 3, ops, 1, vals);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (vals[O_HEIGHT] == UINT32_MAX) {
		tool_error(TESTNET_PROG " wait", "--height: required");
		return TOOL_EXIT_USAGE;
	}
	if ((rc = testnet_load(&t, ops[0])))
		return rc;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int behind = -1, running = 0;
		int64_t bh = 0;
		for (uint32_t i = 0; i < t.n && behind < 0; i++) {
			if (testnet_node_state(&t, i, NULL) != TESTNET_RUNNING)
				continue;
			running++;
			int64_t h = node_height(&t, i);
			if (h < (int64_t)vals[O_HEIGHT]) {
				behind = (int)i;
				bh = h;
			}
		}
		if (running == 0) {
			tool_error(TESTNET_PROG " wait", "no node is running");
			return TOOL_EXIT_RUNTIME;
		}
		if (behind < 0)
			return TOOL_EXIT_OK;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)vals[O_TIMEOUT]) {
			if (bh < 0)
				tool_error(TESTNET_PROG " wait", "%s: unreachable after %u s",
					   t.node[behind].name, vals[O_TIMEOUT]);
			else
				tool_error(TESTNET_PROG " wait",
					   "%s: at height %lld, not %u, after %u s",
					   t.node[behind].name, (long long)bh, vals[O_HEIGHT],
					   vals[O_TIMEOUT]);
			return TOOL_EXIT_RUNTIME;
		}
		usleep(200000);
	}
}

/* The block hash and app hash node i reports for height h; 0 on success. */
static int block_hashes(const testnet *t, uint32_t i, uint64_t h, char hash[80], char app[80])
{
	char path[64];
	snprintf(path, sizeof path, "/v1/blocks/%llu", (unsigned long long)h);
	json_t *b = testnet_http_get_json(t->node[i].rpc_port, path, CMD_HTTP_MS);
	const char *bh = json_string_value(json_object_get(b, "hash"));
	const char *ah =
	    json_string_value(json_object_get(json_object_get(b, "header"), "app_hash"));
	int rc = -1;
	if (bh && ah && strlen(bh) < 80 && strlen(ah) < 80) {
		snprintf(hash, 80, "%s", bh);
		snprintf(app, 80, "%s", ah);
		rc = 0;
	}
	json_decref(b);
	return rc;
}

int testnet_cmd_check(int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-testnet check DIR [--from H]\n"
	    "Compares the block hash and app hash of every height from H (default 1)\n"
	    "that two or more running nodes hold. Exit: 0 all agree, 1 a mismatch (named)\n"
	    "or no running node, 2 usage.\n";
	static const tool_option opts[] = {{"help", 0, O_HELP}, {"from", 1, O_FROM}};
	const char *ops[1];
	uint32_t vals[4] = {0, 0, 0, 1};
	static testnet t;
	int rc = cmd_parse(TESTNET_PROG " check", argc, argv, usage, opts, 2, ops, 1, vals);
	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = testnet_load(&t, ops[0])))
		return rc;
	int64_t height[TESTNET_MAX_NODES];
	int64_t top = -1;
	uint32_t running = 0;
	for (uint32_t i = 0; i < t.n; i++) {
		height[i] =
		    testnet_node_state(&t, i, NULL) == TESTNET_RUNNING ? node_height(&t, i) : -1;
		if (height[i] >= 0)
			running++;
		if (height[i] > top)
			top = height[i];
	}
	if (running == 0) {
		tool_error(TESTNET_PROG " check", "no running node answers /status");
		return TOOL_EXIT_RUNTIME;
	}
	uint64_t compared = 0;
	for (int64_t h = vals[O_FROM] ? vals[O_FROM] : 1; h <= top; h++) {
		char ref[80] = "", ref_app[80] = "", hash[80], app[80];
		int ref_node = -1;
		for (uint32_t i = 0; i < t.n; i++) {
			if (height[i] < h)
				continue;
			if (block_hashes(&t, i, (uint64_t)h, hash, app) != 0) {
				tool_error(TESTNET_PROG " check", "%s: height %lld: no block",
					   t.node[i].name, (long long)h);
				return TOOL_EXIT_RUNTIME;
			}
			if (ref_node < 0) {
				ref_node = (int)i;
				memcpy(ref, hash, sizeof ref);
				memcpy(ref_app, app, sizeof ref_app);
			} else if (strcmp(ref, hash) != 0 || strcmp(ref_app, app) != 0) {
				tool_error(TESTNET_PROG " check",
					   "height %lld: %s has block %s app %s, %s has block %s "
					   "app %s",
					   (long long)h, t.node[ref_node].name, ref, ref_app,
					   t.node[i].name, hash, app);
				return TOOL_EXIT_RUNTIME;
			} else {
				compared++;
			}
		}
	}
	printf("%u running nodes agree on heights %u-%lld (%llu comparisons)\n", running,
	       vals[O_FROM] ? vals[O_FROM] : 1, (long long)top, (unsigned long long)compared);
	return TOOL_EXIT_OK;
}
