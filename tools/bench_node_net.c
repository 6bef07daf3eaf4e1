/*
 * tools/bench_node_net.c — the node suite's testnet: made, started, perturbed
 * and stopped through the real fedledger-testnet binary (next to our own
 * binary, or in $FEDLEDGER_BIN, like the daemon it starts), and read through
 * the nodes' HTTP API and /proc, as an operator would.
 */
#include "tools/bench_node.h"
#include "tools/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOOL_ARGS_MAX   32
#define HTTP_TIMEOUT_MS 5000

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_net_bin_path(char *out, size_t outlen, const char *name)
{
	char daemon[TESTNET_PATH_MAX];
	if (testnet_daemon_path(daemon, sizeof daemon) != 0)
		return -1;
	char *slash = strrchr(daemon, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	int n = snprintf(out, outlen, "%s/%s", daemon, name);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

static void print_log_tail(const bench_net *net)
{
	char path[TESTNET_PATH_MAX + 16], line[512];
	char *ring[8] = {0};
	unsigned n = 0;
	snprintf(path, sizeof path, "%s/testnet.log", net->root);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		free(ring[n % 8]);
		ring[n++ % 8] = strdup(line);
	}
	fclose(f);
	for (unsigned k = n > 8 ? n - 8 : 0; k < n; k++) {
		fprintf(stderr, "  %s", ring[k % 8] ? ring[k % 8] : "\n");
		free(ring[k % 8]);
	}
}

/* Runs the tool with argv[1..] = words, output appended to root/testnet.log. */
static int run_tool(const bench_net *net, const char *const words[])
{
	char tool[TESTNET_PATH_MAX], log[TESTNET_PATH_MAX + 16];
	const char *argv[TOOL_ARGS_MAX + 2];
	size_t n = 0;

	if (bench_net_bin_path(tool, sizeof tool, "fedledger-testnet") != 0)
		return -1;
	argv[n++] = "fedledger-testnet";
	for (size_t k = 0; words[k] && n < TOOL_ARGS_MAX; k++)
		argv[n++] = words[k];
	argv[n] = NULL;
	snprintf(log, sizeof log, "%s/testnet.log", net->root);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execv(tool, (char *const *)argv);
		fprintf(stderr, "%s: %s\n", tool, strerror(errno));
		_exit(127);
	}
	close(fd);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int bench_net_tool(const bench_net *net, const char *cmd, const char *const args[])
{
	const char *words[TOOL_ARGS_MAX + 1] = {cmd, net->dir};
	size_t n = 2;
	for (size_t k = 0; args && args[k] && n < TOOL_ARGS_MAX; k++)
		words[n++] = args[k];
	words[n] = NULL;
	return run_tool(net, words);
}

int bench_net_start(bench_net *net, unsigned base_port, const char *const extra[])
{
	const char *tmp = getenv("TMPDIR");
	const char *words[TOOL_ARGS_MAX + 1] = {"init", "--out", net->dir, "--base-port"};
	char port[16];
	size_t n = 5;

	memset(net, 0, sizeof *net);
	snprintf(net->root, sizeof net->root, "%s/fedledger-bench-node-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(net->root)) {
		fprintf(stderr, "%s: node: %s: %s\n", BENCH_PROG, net->root, strerror(errno));
		net->root[0] = '\0';
		return FL_EIO;
	}
	if (strlen(net->root) + 5 > sizeof net->dir)
		return FL_ETOOBIG;
	memcpy(net->dir, net->root, strlen(net->root));
	memcpy(net->dir + strlen(net->root), "/net", 5);
	snprintf(port, sizeof port, "%u", base_port);
	words[4] = port;
	for (size_t k = 0; extra && extra[k] && n < TOOL_ARGS_MAX; k++)
		words[n++] = extra[k];
	words[n] = NULL;
	if (run_tool(net, words) != 0 || testnet_load(&net->t, net->dir) != 0) {
		fprintf(stderr, "%s: node: fedledger-testnet init failed:\n", BENCH_PROG);
		print_log_tail(net);
		return FL_EIO;
	}
	const char *up[] = {"--timeout", "60", NULL};
	if (bench_net_tool(net, "up", up) != 0) {
		fprintf(stderr, "%s: node: fedledger-testnet up failed:\n", BENCH_PROG);
		print_log_tail(net);
		return FL_EIO;
	}
	return FL_OK;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void bench_net_stop(bench_net *net, int keep)
{
	if (net->root[0] == '\0')
		return;
	if (net->t.n > 0 && bench_net_tool(net, "down", NULL) != 0)
		keep = 1;
	if (keep)
		fprintf(stderr, "%s: node: the testnet is kept in %s\n", BENCH_PROG, net->root);
	else
		nftw(net->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	net->root[0] = '\0';
}

int bench_net_height(const bench_net *net, uint32_t i, uint64_t *height)
{
	json_t *st = testnet_http_get_json(net->t.node[i].rpc_port, "/status", HTTP_TIMEOUT_MS);
	json_t *h = json_object_get(st, "height");
	int rc = json_is_integer(h) && json_integer_value(h) >= 0 ? FL_OK : FL_EIO;
	if (rc == FL_OK)
		*height = (uint64_t)json_integer_value(h);
	json_decref(st);
	return rc;
}

int bench_net_block_time(const bench_net *net, uint32_t i, uint64_t h, uint64_t *time_ms)
{
	char path[64];
	snprintf(path, sizeof path, "/v1/blocks/%llu", (unsigned long long)h);
	json_t *b = testnet_http_get_json(net->t.node[i].rpc_port, path, HTTP_TIMEOUT_MS);
	json_t *t = json_object_get(json_object_get(b, "header"), "time_ms");
	int rc = json_is_integer(t) && json_integer_value(t) >= 0 ? FL_OK : FL_EIO;
	if (rc == FL_OK)
		*time_ms = (uint64_t)json_integer_value(t);
	json_decref(b);
	return rc;
}

int bench_net_rss(const bench_net *net, uint32_t i, uint64_t *rss_kb, uint64_t *hwm_kb)
{
	char path[64], line[256];
	pid_t pid;
	unsigned long long v, anon = 0, file = 0;
	int got = 0;

	if (testnet_node_state(&net->t, i, &pid) != TESTNET_RUNNING)
		return FL_EIO;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return FL_EIO;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "VmRSS: %llu kB", &v) == 1) {
			*rss_kb = v;
			got |= 1;
		} else if (sscanf(line, "VmHWM: %llu kB", &v) == 1) {
			*hwm_kb = v;
			got |= 2;
		} else if (sscanf(line, "RssAnon: %llu kB", &v) == 1) {
			anon = v;
		} else if (sscanf(line, "RssFile: %llu kB", &v) == 1) {
			file = v;
		}
	}
	fclose(f);
	/* What the peak is made of: the heap, or the store's mapped pages
	 * (LMDB reads through its map; those pages count as resident). */
	if (got == 3)
		fprintf(stderr, "  %s: peak %llu MB; now %llu MB anonymous, %llu MB mapped files\n",
			net->t.node[i].name, (unsigned long long)*hwm_kb / 1024, anon / 1024,
			file / 1024);
	return got == 3 ? FL_OK : FL_EIO;
}

int bench_net_wait_height(const bench_net *net, uint32_t i, uint64_t h, double deadline)
{
	double next_note = bench_now() + 5;
	uint64_t at = 0;

	for (;;) {
		if (bench_net_height(net, i, &at) == FL_OK && at >= h)
			return FL_OK;
		double now = bench_now();
		if (now >= deadline) {
			fprintf(stderr, "%s: node: %s at height %llu, not %llu, in time\n",
				BENCH_PROG, net->t.node[i].name, (unsigned long long)at,
				(unsigned long long)h);
			return FL_ETIMEOUT;
		}
		if (now >= next_note) {
			fprintf(stderr, "  %s: height %llu of %llu\n", net->t.node[i].name,
				(unsigned long long)at, (unsigned long long)h);
			next_note = now + 5;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}
