/*
 * tests/node/node_run_helpers.c — a real `fedledgerd start` for tests: a
 * one-validator home in a scratch directory, the process started with its
 * log in DIR/log, bounded waits on that log and on the exit, and plain
 * HTTP requests to its RPC port.
 */
#include "tests/node/node_run_helpers.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/run_prog.h"

const char *nr_bin_dir(void)
{
	const char *b = getenv("FEDLEDGER_BIN");
	return b != NULL && b[0] != '\0' ? b : "build/bin";
}

void nr_run(test_run *r, const char *prog, const char *const *argv)
{
	test_run_prog(r, prog, argv);
}

/* A home in dir whose genesis makes its own key the only validator, with
 * p2p and RPC on ephemeral ports. */
void nr_one_validator_home(const char *dir)
{
	char home[256], gen[256], id[80], cfg[300];
	test_run r;

	snprintf(home, sizeof(home), "%s/n0", dir);
	snprintf(gen, sizeof(gen), "%s/genesis.json", dir);
	const char *init[] = {"init", "--home", home, NULL};
	nr_run(&r, "fedledgerd", init);
	cr_assert_eq(r.status, 0, "%s", r.err);
	const char *show[] = {"show-node-id", "--home", home, NULL};
	nr_run(&r, "fedledgerd", show);
	cr_assert_eq(r.status, 0);
	snprintf(id, sizeof(id), "%.64s", r.out);
	const char *gnew[] = {"new", "--chain-id", "runtest", "--out", gen, NULL};
	nr_run(&r, "fedledger-genesis", gnew);
	cr_assert_eq(r.status, 0, "%s", r.err);
	const char *gval[] = {"add-validator", "--genesis", gen, "--pubkey", id,
			      "--power",       "10",        NULL};
	nr_run(&r, "fedledger-genesis", gval);
	cr_assert_eq(r.status, 0, "%s", r.err);
	const char *gfund[] = {"fund", "--genesis", gen, "--account", id, "--amount", "1000", NULL};
	nr_run(&r, "fedledger-genesis", gfund);
	cr_assert_eq(r.status, 0, "%s", r.err);

	char dst[300];
	snprintf(dst, sizeof(dst), "%s/genesis.json", home);
	json_error_t je;
	json_t *g = json_load_file(gen, 0, &je);
	cr_assert(g != NULL);
	cr_assert_eq(json_dump_file(g, dst, JSON_INDENT(2)), 0);
	json_decref(g);
	snprintf(cfg, sizeof(cfg), "%s/config.json", home);
	json_t *c = json_load_file(cfg, 0, &je);
	cr_assert(c != NULL);
	json_object_set_new(json_object_get(c, "p2p"), "listen", json_string("127.0.0.1:0"));
	json_object_set_new(json_object_get(c, "rpc"), "listen", json_string("127.0.0.1:0"));
	cr_assert_eq(json_dump_file(c, cfg, JSON_INDENT(2)), 0);
	json_decref(c);
}

/* fedledgerd start --home dir/n0 [extra], stderr and stdout to dir/log. */
pid_t nr_start_node(const char *dir, const char *extra)
{
	char prog[512], home[256], log[256];
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/fedledgerd", nr_bin_dir());
	snprintf(home, sizeof(home), "%s/n0", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		if (extra != NULL)
			execl(prog, prog, "start", "--home", home, extra, (char *)NULL);
		else
			execl(prog, prog, "start", "--home", home, (char *)NULL);
		_exit(127);
	}
	return pid;
}

char *nr_read_log(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/log", dir);
	return nr_read_file(path);
}

char *nr_read_file(const char *path)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return calloc(1, 1);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	cr_assert(buf != NULL);
	if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

void nr_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits (bounded) until the log holds needle; 1 if it did. */
int nr_wait_log(const char *dir, const char *needle)
{
	for (unsigned t = 0; t < NR_WAIT_MS; t += 50) {
		char *s = nr_read_log(dir);
		int found = strstr(s, needle) != NULL;
		free(s);
		if (found)
			return 1;
		nr_sleep_ms(50);
	}
	return 0;
}

/* Waits (bounded) for the process to exit; its status, or -1. */
int nr_wait_exit(pid_t pid)
{
	int st;

	for (unsigned t = 0; t < NR_WAIT_MS; t += 20) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		nr_sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

void nr_dump_log(const char *dir)
{
	char *s = nr_read_log(dir);
	fprintf(stderr, "---- fedledgerd log ----\n%s\n", s);
	free(s);
}

/* The RPC port the log's "started:" line names. */
uint16_t nr_rpc_port(const char *dir)
{
	char *s = nr_read_log(dir);
	const char *p = strstr(s, "rpc port ");
	unsigned port = 0;

	if (p != NULL)
		port = (unsigned)strtoul(p + 9, NULL, 10);
	free(s);
	return (uint16_t)port;
}

int nr_http(uint16_t port, const char *req, hh_response *out)
{
	int fd = hh_connect(port, 0);

	if (fd < 0)
		return -1;
	if (hh_send(fd, req) != 0 || hh_read_response(fd, out, 0) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void nr_config_set(const char *dir, const char *section, const char *key, json_t *value)
{
	char cfg[300];
	json_error_t je;
	json_t *c, *sec;

	snprintf(cfg, sizeof(cfg), "%s/n0/config.json", dir);
	c = json_load_file(cfg, 0, &je);
	cr_assert(c != NULL, "%s", je.text);
	if ((sec = json_object_get(c, section)) == NULL) {
		sec = json_object();
		json_object_set_new(c, section, sec);
	}
	json_object_set_new(sec, key, value);
	cr_assert_eq(json_dump_file(c, cfg, JSON_INDENT(2)), 0);
	json_decref(c);
}

double nr_metric(uint16_t port, const char *name)
{
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char needle[128];
	hh_response r;
	double v = -1;

	memset(&r, 0, sizeof(r));
	if (nr_http(port, req, &r) != 0)
		return -1;
	snprintf(needle, sizeof(needle), "\n%s ", name);
	if (r.status == 200 && r.body != NULL) {
		const char *p = strstr(r.body, needle);
		if (p != NULL)
			v = strtod(p + strlen(needle), NULL);
	}
	free(r.body);
	return v;
}
