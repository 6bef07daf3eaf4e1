/* tools/testnet_proc.c — the node processes of a testnet: pid files, their
 * state from /proc, starting a node detached, stopping it, waiting until
 * nodes answer /health; and reading DIR/testnet.json back. */
#include "tools/internal.h"
#include "tools/testnet.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int testnet_node_path(char *out, size_t outlen, const testnet *t, uint32_t i, const char *leaf)
{
	int n = snprintf(out, outlen, "%s/%s%s%s", t->dir, t->node[i].name, leaf ? "/" : "",
			 leaf ? leaf : "");
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int testnet_daemon_path(char *out, size_t outlen)
{
	const char *dir = getenv("FEDLEDGER_BIN");
	char self[TESTNET_PATH_MAX];
	if (!dir) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			return -1;
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (!slash)
			return -1;
		*slash = '\0';
		dir = self;
	}
	int n = snprintf(out, outlen, "%s/fedledgerd", dir);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int testnet_load(testnet *t, const char *dir)
{
	char path[TESTNET_PATH_MAX];
	json_error_t je;
	memset(t, 0, sizeof *t);
	if (snprintf(t->dir, sizeof t->dir, "%s", dir) >= (int)sizeof t->dir - 64) {
		tool_error(TESTNET_PROG, "%s: path too long", dir);
		return TOOL_EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s/testnet.json", dir);
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		tool_error(TESTNET_PROG, "%s: %s", path, je.text);
		return TOOL_EXIT_USAGE;
	}
	int rc = TOOL_EXIT_USAGE;
	json_t *nodes = json_object_get(root, "nodes");
	size_t n = json_array_size(nodes);
	if (n < 1 || n > TESTNET_MAX_NODES) {
		tool_error(TESTNET_PROG, "%s: nodes: must hold 1-%d nodes", path,
			   TESTNET_MAX_NODES);
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *nd = json_array_get(nodes, i);
		const char *id = json_string_value(json_object_get(nd, "id"));
		const char *role = json_string_value(json_object_get(nd, "role"));
		const char *byz = json_string_value(json_object_get(nd, "byzantine"));
		json_int_t p2p = json_integer_value(json_object_get(nd, "p2p_port"));
		json_int_t rpc = json_integer_value(json_object_get(nd, "rpc_port"));
		if (!id || strlen(id) != 64 || !role || p2p < 1 || p2p > 65535 || rpc < 1 ||
		    rpc > 65535 || (byz && strlen(byz) >= sizeof t->node[i].byzantine)) {
			tool_error(TESTNET_PROG, "%s: nodes[%zu]: malformed", path, i);
			goto cleanup;
		}
		testnet_node *o = &t->node[i];
		snprintf(o->name, sizeof o->name, "node%zu", i);
		memcpy(o->id, id, 65);
		o->p2p_port = (uint16_t)p2p;
		o->rpc_port = (uint16_t)rpc;
		o->validator = strcmp(role, "validator") == 0;
		if (byz)
			snprintf(o->byzantine, sizeof o->byzantine, "%s", byz);
		if (o->validator)
			t->n_validators++;
		else
			t->n_members++;
	}
	t->n = (uint32_t)n;
	rc = 0;
cleanup:
	json_decref(root);
	return rc;
}

int testnet_node_index(const testnet *t, const char *name)
{
	const char *digits = strncmp(name, "node", 4) == 0 ? name + 4 : name;
	char *end;
	errno = 0;
	unsigned long i = strtoul(digits, &end, 10);
	if (*digits < '0' || *digits > '9' || *end || errno || i >= t->n) {
		tool_error(TESTNET_PROG, "NODE: '%s' is not one of node0..node%u", name, t->n - 1);
		return -1;
	}
	return (int)i;
}

static pid_t read_pid(const testnet *t, uint32_t i)
{
	char path[TESTNET_PATH_MAX], buf[32];
	if (testnet_node_path(path, sizeof path, t, i, "node.pid") != 0)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long pid = 0;
	if (!fgets(buf, sizeof buf, f) || (pid = strtol(buf, NULL, 10)) <= 1 || pid > 1 << 30)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

testnet_state testnet_node_state(const testnet *t, uint32_t i, pid_t *pid_out)
{
	pid_t pid = read_pid(t, i);
	if (pid_out)
		*pid_out = pid;
	if (!pid)
		return TESTNET_STOPPED;
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return TESTNET_STOPPED;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: the state follows the last ')'. */
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ')
		return TESTNET_STOPPED;
	/* A recycled pid running something else is not our node; between fork
	 * and exec the child still carries our own name (cut to 15 chars). */
	char *lp = strchr(buf, '(');
	size_t cl = lp ? (size_t)(rp - lp - 1) : 0;
	if (!lp || ((cl != 10 || strncmp(lp + 1, "fedledgerd", 10) != 0) &&
		    (cl != 15 || strncmp(lp + 1, "fedledger-testn", 15) != 0)))
		return TESTNET_STOPPED;
	switch (rp[2]) {
	case 'Z':
	case 'X':
	case 'x':
		return TESTNET_STOPPED;
	case 'T':
	case 't':
		return TESTNET_PAUSED;
	default:
		return TESTNET_RUNNING;
	}
}

const char *testnet_state_name(testnet_state s)
{
	return s == TESTNET_RUNNING ? "running" : s == TESTNET_PAUSED ? "paused" : "stopped";
}

int testnet_node_spawn(const testnet *t, uint32_t i)
{
	char home[TESTNET_PATH_MAX], logp[TESTNET_PATH_MAX], pidp[TESTNET_PATH_MAX],
	    daemon[TESTNET_PATH_MAX], tmp[TESTNET_PATH_MAX + 8];
	if (testnet_node_path(home, sizeof home, t, i, NULL) ||
	    testnet_node_path(logp, sizeof logp, t, i, "node.log") ||
	    testnet_node_path(pidp, sizeof pidp, t, i, "node.pid") ||
	    testnet_daemon_path(daemon, sizeof daemon))
		return -1;
	int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		tool_error(TESTNET_PROG, "%s: %s", logp, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(logfd);
		return -1;
	}
	if (pid == 0) {
		/* Its own session: a signal to our terminal's group does not reach it. */
		setsid();
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		const char *argv[8] = {"fedledgerd", "start", "--home", home, NULL};
		if (t->node[i].byzantine[0]) {
			argv[4] = "--byzantine";
			argv[5] = t->node[i].byzantine;
			argv[6] = NULL;
		}
		execv(daemon, (char *const *)argv);
		dprintf(2, "%s: %s: %s\n", TESTNET_PROG, daemon, strerror(errno));
		_exit(127);
	}
	close(logfd);
	/* Atomic pid file: status never reads half a number. */
	snprintf(tmp, sizeof tmp, "%s.tmp", pidp);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0 || rename(tmp, pidp) != 0) {
		tool_error(TESTNET_PROG, "%s: cannot write", pidp);
		kill(pid, SIGKILL);
		return -1;
	}
	return 0;
}

void testnet_print_log_tail(const testnet *t, uint32_t i, int lines)
{
	char path[TESTNET_PATH_MAX];
	static char buf[16384];
	if (testnet_node_path(path, sizeof path, t, i, "node.log") != 0)
		return;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
	fseek(f, from, SEEK_SET);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = buf + n;
	if (p > buf && p[-1] == '\n')
		p--;
	for (int seen = 0; p > buf; p--)
		if (p[-1] == '\n' && ++seen == lines)
			break;
	fprintf(stderr, "--- last lines of %s ---\n%s", path, p);
	if (n && buf[n - 1] != '\n')
		fputc('\n', stderr);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int healthy(const testnet *t, uint32_t i)
{
	int status;
	char *body;
	char why[128];
	if (testnet_http_get(t->node[i].rpc_port, "/health", 1000, &status, &body, NULL, why,
			     sizeof why) != 0)
		return 0;
	free(body);
	return status == 200;
}

int testnet_wait_healthy(const testnet *t, const int *want, int timeout_s)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int done[TESTNET_MAX_NODES] = {0}, total = 0, up = 0, last = -1;
	for (uint32_t i = 0; i < t->n; i++)
		total += want[i] != 0;
	for (;;) {
		for (uint32_t i = 0; i < t->n; i++) {
			if (!want[i] || done[i])
				continue;
			if (testnet_node_state(t, i, NULL) == TESTNET_STOPPED) {
				fprintf(stderr, "\n");
				tool_error(TESTNET_PROG, "%s: exited while starting",
					   t->node[i].name);
				testnet_print_log_tail(t, i, 20);
				return TOOL_EXIT_RUNTIME;
			}
			if (healthy(t, i)) {
				done[i] = 1;
				up++;
			}
		}
		if (up != last) {
			fprintf(stderr, "\rstarting %d node%s: %d/%d up", total,
				total == 1 ? "" : "s", up, total);
			last = up;
		}
		if (up == total) {
			fprintf(stderr, "\n");
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= timeout_s) {
			fprintf(stderr, "\n");
			for (uint32_t i = 0; i < t->n; i++)
				if (want[i] && !done[i]) {
					tool_error(TESTNET_PROG, "%s: not healthy after %d s",
						   t->node[i].name, timeout_s);
					testnet_print_log_tail(t, i, 20);
					return TOOL_EXIT_RUNTIME;
				}
		}
		sleep_ms(200);
	}
}

int testnet_node_stop(const testnet *t, uint32_t i)
{
	pid_t pid;
	char pidp[TESTNET_PATH_MAX];
	testnet_state s = testnet_node_state(t, i, &pid);
	if (s != TESTNET_STOPPED) {
		/* A paused node cannot act on SIGTERM until it runs again. */
		kill(pid, SIGTERM);
		kill(pid, SIGCONT);
		int n = 0;
		while (testnet_node_state(t, i, NULL) != TESTNET_STOPPED && n++ < 100)
			sleep_ms(100);
		if (testnet_node_state(t, i, NULL) != TESTNET_STOPPED) {
			kill(pid, SIGKILL);
			for (n = 0; testnet_node_state(t, i, NULL) != TESTNET_STOPPED && n < 50;
			     n++)
				sleep_ms(100);
		}
	}
	if (testnet_node_path(pidp, sizeof pidp, t, i, "node.pid") == 0)
		unlink(pidp);
	return 0;
}
