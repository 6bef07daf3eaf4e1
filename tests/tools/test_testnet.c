/* tests/tools/test_testnet.c — fedledger-testnet: the layout init makes, every
 * bad argument refused by name, and process management of real fedledgerd
 * processes (pause, resume, kill, down). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/config.h"
#include "tests/tools/helpers.h"

#define RUN_TESTNET(r, ...)                                                                        \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		test_run_prog((r), "fedledger-testnet", argv_);                                    \
	} while (0)

static test_run run;

/* Whether 127.0.0.1:port can be listened on now. */
static int port_free(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	cr_assert_geq(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/*
 * A fresh, absent directory under /tmp and a base port for up to 6 nodes
 * (node i: base + 10i, base + 10i + 1). Above the kernel's ephemeral range
 * (32768-60999), where neither another test's client sockets nor the
 * kernel-chosen ports of the tests that ask for one (test_wallet_node.c)
 * land; from the pid (Criterion runs each test in a process of its own),
 * moved on past a block whose ports are taken.
 */
static void fresh(char *dir, size_t len, char *port, size_t plen)
{
	static int seq;
	int base = 0;

	snprintf(dir, len, "/tmp/fl-testnet-%d-%d", (int)getpid(), seq++);
	for (int k = 0; k < 62 && base == 0; k++) {
		int b = 61000 + (int)((getpid() + k) % 62) * 64, ok = 1;
		for (int i = 0; i < 6 && ok; i++)
			ok = port_free(b + 10 * i) && port_free(b + 10 * i + 1);
		if (ok)
			base = b;
	}
	cr_assert_neq(base, 0, "no free block of ports in 61000-64999");
	snprintf(port, plen, "%d", base);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s missing", path);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

static void rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(testnet, init_layout)
{
	char dir[256], port[16], path[512];
	fresh(dir, sizeof dir, port, sizeof port);
	RUN_TESTNET(&run, "init", "--out", dir, "--validators", "4", "--members", "2", "--dataset",
		    "fashion-mnist", "--partition", "dirichlet:0.5", "--base-port", port,
		    "--byzantine", "3=silent", "--byzantine", "5=withhold-updates", "--seed", "7",
		    "--max-samples", "500");
	cr_assert_eq(run.status, 0, "stderr: %s", run.err);
	int base = atoi(port);
	char *genesis0 = NULL;
	json_error_t je;
	snprintf(path, sizeof path, "%s/testnet.json", dir);
	json_t *tn = json_load_file(path, 0, &je);
	cr_assert_not_null(tn, "%s", je.text);
	cr_assert_eq(json_integer_value(json_object_get(tn, "validators")), 4);
	cr_assert_eq(json_integer_value(json_object_get(tn, "members")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(tn, "partition")), "dirichlet:0.5");
	cr_assert_str_eq(json_string_value(json_object_get(tn, "dataset")), "fashion-mnist");
	json_t *nodes = json_object_get(tn, "nodes");
	cr_assert_eq(json_array_size(nodes), 6);
	for (int i = 0; i < 6; i++) {
		json_t *nd = json_array_get(nodes, (size_t)i);
		const char *id = json_string_value(json_object_get(nd, "id"));
		cr_assert_eq(strlen(id), 64);
		cr_assert_str_eq(json_string_value(json_object_get(nd, "role")),
				 i < 4 ? "validator" : "member");
		const char *byz = json_string_value(json_object_get(nd, "byzantine"));
		if (i == 3)
			cr_assert_str_eq(byz, "silent");
		else if (i == 5)
			cr_assert_str_eq(byz, "withhold-updates");
		else
			cr_assert_null(byz);

		struct stat st;
		snprintf(path, sizeof path, "%s/node%d/keys/member.key", dir, i);
		cr_assert_eq(stat(path, &st), 0, "%s", path);
		cr_assert_eq(st.st_mode & 0777, 0600);

		snprintf(path, sizeof path, "%s/node%d/genesis.json", dir, i);
		char *g = slurp(path);
		cr_assert_not_null(strstr(g, id), "node%d's id not in its genesis", i);
		cr_assert_not_null(strstr(g, "\"clothing\""), "no Fashion-MNIST profile");
		cr_assert_not_null(strstr(g, "\"footwear\""), "no second profile");
		if (!genesis0)
			genesis0 = g;
		else {
			cr_assert_str_eq(g, genesis0, "node%d's genesis differs", i);
			free(g);
		}

		node_config cfg;
		char err[NODE_CONFIG_ERR_MAX], want[64];
		snprintf(path, sizeof path, "%s/node%d/config.json", dir, i);
		cr_assert_eq(node_config_load(&cfg, path, err, sizeof err), 0, "%s", err);
		snprintf(want, sizeof want, "node%d", i);
		cr_assert_str_eq(cfg.moniker, want);
		snprintf(want, sizeof want, "127.0.0.1:%d", base + 10 * i);
		cr_assert_str_eq(cfg.p2p.listen, want);
		snprintf(want, sizeof want, "127.0.0.1:%d", base + 10 * i + 1);
		cr_assert_str_eq(cfg.rpc.listen, want);
		cr_assert_eq(cfg.p2p.n_persistent_peers, 5);
		/* The members hold the data: client i-4 of 2, each profile. */
		cr_assert_eq(cfg.rounds.n_data, i < 4 ? 0 : 2, "node%d", i);
		for (size_t k = 0; k < cfg.rounds.n_data; k++) {
			const node_config_data *d = &cfg.rounds.data[k];
			cr_assert_str_eq(d->profile, k == 0 ? "clothing" : "footwear");
			cr_assert_eq(d->source, NODE_DATA_FASHION_MNIST);
			cr_assert_eq(d->partition, NODE_PARTITION_DIRICHLET);
			cr_assert_eq(d->alpha_milli, 500);
			cr_assert_eq(d->clients, 2);
			cr_assert_eq(d->client, (uint32_t)(i - 4));
			cr_assert_eq(d->seed, 7);
			cr_assert_eq(d->max_samples, 500);
		}
		for (uint32_t k = 0; k < cfg.p2p.n_persistent_peers; k++)
			cr_assert_str_neq(cfg.p2p.persistent_peers[k].addr, cfg.p2p.listen,
					  "node%d lists itself", i);
	}
	/* The validators at power 10, every node funded with bonded stake. */
	cr_assert_not_null(strstr(genesis0, "\"power\": 10"));
	cr_assert_not_null(strstr(genesis0, "\"bonded\""));
	free(genesis0);
	json_decref(tn);

	/* The genesis library accepts it through the real validator. */
	snprintf(path, sizeof path, "%s/node0/genesis.json", dir);
	const char *const gv[] = {"validate", path, NULL};
	test_run_prog(&run, "fedledger-genesis", gv);
	cr_assert_eq(run.status, 0, "%s", run.err);

	/* A second init into the same directory is refused, changing nothing. */
	RUN_TESTNET(&run, "init", "--out", dir, "--validators", "1");
	tool_assert_one_line_failure(&run, 2, "--out");
	rm_rf(dir);
}

/* --accounts: funded in the genesis, their keys in accounts.keys (0600),
 * each line "PUBKEY SECKEY"; --param lands in the genesis params. */
Test(testnet, init_accounts_and_params)
{
	char dir[256], port[16], path[512];
	fresh(dir, sizeof dir, port, sizeof port);
	RUN_TESTNET(&run, "init", "--out", dir, "--validators", "1", "--base-port", port,
		    "--accounts", "5", "--param", "block_interval_ms=0", "--param",
		    "max_block_txs=10000");
	cr_assert_eq(run.status, 0, "stderr: %s", run.err);
	struct stat st;
	snprintf(path, sizeof path, "%s/accounts.keys", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	char *keys = slurp(path);
	snprintf(path, sizeof path, "%s/node0/genesis.json", dir);
	json_error_t je;
	json_t *g = json_load_file(path, 0, &je);
	cr_assert_not_null(g, "%s", je.text);
	json_t *params = json_object_get(g, "params");
	cr_assert_eq(json_integer_value(json_object_get(params, "block_interval_ms")), 0);
	cr_assert_eq(json_integer_value(json_object_get(params, "max_block_txs")), 10000);
	json_t *bals = json_object_get(g, "balances");
	int lines = 0;
	for (char *line = keys; *line; lines++) {
		char *nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		cr_assert_eq(nl - line, 129, "line %d: %.*s", lines, (int)(nl - line), line);
		cr_assert_eq(line[64], ' ');
		int funded = 0;
		for (size_t i = 0; i < json_array_size(bals); i++) {
			json_t *b = json_array_get(bals, i);
			if (strncmp(json_string_value(json_object_get(b, "account")), line, 64) ==
			    0)
				funded = json_integer_value(json_object_get(b, "amount")) > 0;
		}
		cr_assert(funded, "account %.64s not funded", line);
		line = nl + 1;
	}
	cr_assert_eq(lines, 5);
	free(keys);
	json_decref(g);
	const char *const gv[] = {"validate", path, NULL};
	test_run_prog(&run, "fedledger-genesis", gv);
	cr_assert_eq(run.status, 0, "%s", run.err);
	rm_rf(dir);
}

Test(testnet, bad_arguments_named)
{
	char dir[256], port[16];
	fresh(dir, sizeof dir, port, sizeof port);
	static const struct {
		const char *args[8];
		const char *want;
	} cases[] = {
	    {{"--validators", "4"}, "--out"},
	    {{"--out", "@", NULL}, "--validators"},
	    {{"--out", "@", "--validators", "0"}, "--validators"},
	    {{"--out", "@", "--validators", "x"}, "--validators"},
	    {{"--out", "@", "--validators", "65"}, "--validators"},
	    {{"--out", "@", "--validators", "40", "--members", "30"}, "--members"},
	    {{"--out", "@", "--validators", "4", "--base-port", "65530"}, "--base-port"},
	    {{"--out", "@", "--validators", "4", "--base-port", "70000"}, "--base-port"},
	    {{"--out", "@", "--validators", "4", "--dataset", "mnist"}, "--dataset"},
	    {{"--out", "@", "--validators", "4", "--partition", "dirichlet:0"}, "--partition"},
	    {{"--out", "@", "--validators", "4", "--partition", "labels:11"}, "--partition"},
	    {{"--out", "@", "--validators", "4", "--partition", "noniid"}, "--partition"},
	    {{"--out", "@", "--validators", "4", "--chain-id", "Bad Id"}, "--chain-id"},
	    {{"--out", "@", "--validators", "4", "--byzantine", "1=lazy"}, "--byzantine"},
	    {{"--out", "@", "--validators", "4", "--byzantine", "4=silent"}, "--byzantine"},
	    {{"--out", "@", "--validators", "4", "--byzantine", "4=bad-aggregate"}, "--byzantine"},
	    {{"--out", "@", "--validators", "4", "--profile", "p.json"}, "--profile"},
	    {{"--out", "@", "--validators", "1", "--dataset", "fashion-mnist", "--profile",
	      "/nonexistent/p.json"},
	     "--profile"},
	    {{"--out", "@", "--validators", "1", "--seed", "-1"}, "--seed"},
	    {{"--out", "@", "--validators", "1", "--max-samples", "many"}, "--max-samples"},
	    {{"--out", "@", "--validators", "4", "--bogus"}, "--bogus"},
	    {{"--out", "@", "--validators", "1", "--accounts", "60001"}, "--accounts"},
	    {{"--out", "@", "--validators", "1", "--param", "block_interval_ms"}, "--param"},
	    {{"--out", "@", "--validators", "1", "--param", "bogus=1"}, "params.bogus"},
	    {{"--out", "@", "--validators", "1", "--param", "max_block_txs=0"}, "max_block_txs"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		const char *argv[12] = {"init"};
		size_t n = 1;
		for (size_t k = 0; k < 8 && cases[c].args[k]; k++)
			argv[n++] = strcmp(cases[c].args[k], "@") ? cases[c].args[k] : dir;
		argv[n] = NULL;
		test_run_prog(&run, "fedledger-testnet", argv);
		tool_assert_one_line_failure(&run, 2, cases[c].want);
		cr_assert_eq(access(dir, F_OK), -1, "case %zu wrote %s", c, dir);
	}
	RUN_TESTNET(&run, "frobnicate");
	tool_assert_one_line_failure(&run, 2, "frobnicate");
	RUN_TESTNET(&run, "status", "/nonexistent/testnet");
	tool_assert_one_line_failure(&run, 2, "/nonexistent/testnet/testnet.json");
	RUN_TESTNET(&run, "wait", dir);
	tool_assert_one_line_failure(&run, 2, "--height");
	RUN_TESTNET(&run, "kill", dir);
	tool_assert_one_line_failure(&run, 2, "NODE");
}

Test(testnet, help_on_every_command)
{
	static const char *const cmds[] = {"init", "up",   "down",  "status", "kill",
					   "pause", "resume", "restart", "wait", "check",
					   "rounds", "get"};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		RUN_TESTNET(&run, cmds[i], "--help");
		cr_assert_eq(run.status, 0, "%s --help: %s", cmds[i], run.err);
		cr_assert_not_null(strstr(run.out, "usage: fedledger-testnet"), "%s", cmds[i]);
	}
}

static const char *state_of(const char *status_out, int node)
{
	static char state[16];
	char key[16];
	snprintf(key, sizeof key, "\nnode%d ", node);
	const char *p = strstr(status_out, key);
	cr_assert_not_null(p, "node%d not in status: %s", node, status_out);
	cr_assert_eq(sscanf(p + strlen(key), "%15s", state), 1);
	return state;
}

/*
 * Real fedledgerd processes on a 4-validator chain, managed through the pid
 * files: states seen by status, signals, up starting only the stopped node,
 * down stopping paused nodes too. `up` runs with a short timeout: this test
 * is about the processes, real_network_perturbed_and_checked about /health.
 */
Test(testnet, process_management, .timeout = 90)
{
	char dir[256], port[16];
	fresh(dir, sizeof dir, port, sizeof port);
	RUN_TESTNET(&run, "init", "--out", dir, "--validators", "4", "--base-port", port);
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "status", dir);
	cr_assert_eq(run.status, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_str_eq(state_of(run.out, i), "stopped");

	RUN_TESTNET(&run, "up", dir, "--timeout", "2");
	if (run.status == 0)
		cr_log_info("fedledgerd serves /health: up succeeded");
	else
		cr_assert_not_null(strstr(run.err, "not healthy"), "%s", run.err);
	RUN_TESTNET(&run, "status", dir);
	for (int i = 0; i < 4; i++)
		cr_assert_str_eq(state_of(run.out, i), "running", "%s", run.out);

	RUN_TESTNET(&run, "pause", dir, "1");
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "kill", dir, "node2");
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "status", dir);
	cr_assert_str_eq(state_of(run.out, 0), "running");
	cr_assert_str_eq(state_of(run.out, 1), "paused");
	cr_assert_str_eq(state_of(run.out, 2), "stopped");
	RUN_TESTNET(&run, "kill", dir, "node2");
	tool_assert_one_line_failure(&run, 1, "node2: not running");
	RUN_TESTNET(&run, "kill", dir, "node9");
	tool_assert_one_line_failure(&run, 2, "node9");

	RUN_TESTNET(&run, "resume", dir, "node1");
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "status", dir);
	cr_assert_str_eq(state_of(run.out, 1), "running");

	/* The killed node's pid file stays; a later up starts only that one. */
	char pidfile[512], *pid0;
	snprintf(pidfile, sizeof pidfile, "%s/node2/node.pid", dir);
	cr_assert_eq(access(pidfile, F_OK), 0);
	snprintf(pidfile, sizeof pidfile, "%s/node0/node.pid", dir);
	pid0 = slurp(pidfile);
	RUN_TESTNET(&run, "up", dir, "--timeout", "1");
	cr_assert_not_null(strstr(run.err, "starting 1 node"), "%s", run.err);
	char *pid0_after = slurp(pidfile);
	cr_assert_str_eq(pid0, pid0_after, "up restarted a running node");
	RUN_TESTNET(&run, "status", dir);
	cr_assert_str_eq(state_of(run.out, 2), "running", "%s", run.out);

	/* Down stops everything, paused nodes too, and removes the pid files. */
	RUN_TESTNET(&run, "pause", dir, "3");
	RUN_TESTNET(&run, "down", dir);
	cr_assert_eq(run.status, 0, "%s", run.err);
	int pid = atoi(pid0);
	cr_assert(kill(pid, 0) != 0 || access(pidfile, F_OK) != 0);
	RUN_TESTNET(&run, "status", dir);
	for (int i = 0; i < 4; i++) {
		cr_assert_str_eq(state_of(run.out, i), "stopped");
		snprintf(pidfile, sizeof pidfile, "%s/node%d/node.pid", dir, i);
		cr_assert_eq(access(pidfile, F_OK), -1);
	}
	/* The nodes ran: each wrote its log. */
	snprintf(pidfile, sizeof pidfile, "%s/node0/node.log", dir);
	char *log = slurp(pidfile);
	cr_assert_not_null(strstr(log, "node"), "%s", log);
	free(log);
	free(pid0);
	free(pid0_after);
	rm_rf(dir);
}

/* A real 4-validator chain: up, wait, kill one, check the three, restart it,
 * wait for it to catch up, check all four, down. */
Test(testnet, real_network_perturbed_and_checked, .timeout = 150)
{
	char dir[256], port[16];
	fresh(dir, sizeof dir, port, sizeof port);
	RUN_TESTNET(&run, "init", "--out", dir, "--validators", "4", "--base-port", port);
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "up", dir, "--timeout", "60");
	cr_assert_eq(run.status, 0, "%s", run.err);
	cr_assert_not_null(strstr(run.err, "4/4 up"), "%s", run.err);
	RUN_TESTNET(&run, "wait", dir, "--height", "3", "--timeout", "30");
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "kill", dir, "2");
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "check", dir);
	cr_assert_eq(run.status, 0, "%s", run.err);
	cr_assert_not_null(strstr(run.out, "3 running nodes agree"), "%s", run.out);
	RUN_TESTNET(&run, "restart", dir, "node2");
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "wait", dir, "--height", "6", "--timeout", "40");
	cr_assert_eq(run.status, 0, "%s", run.err);
	RUN_TESTNET(&run, "status", dir);
	for (int i = 0; i < 4; i++)
		cr_assert_str_eq(state_of(run.out, i), "running", "%s", run.out);
	RUN_TESTNET(&run, "check", dir, "--from", "1");
	cr_assert_eq(run.status, 0, "%s", run.err);
	cr_assert_not_null(strstr(run.out, "4 running nodes agree"), "%s", run.out);
	RUN_TESTNET(&run, "down", dir);
	cr_assert_eq(run.status, 0, "%s", run.err);
	rm_rf(dir);
}

/*
 * A member SIGKILLed while the validator streams blocks to it: the
 * validator's next write to the dead socket must cost it the connection,
 * not the process (it died of SIGPIPE before fedledgerd ignored it). Blocks
 * as fast as one validator makes them (block_interval_ms 0), three kills.
 */
Test(testnet, a_killed_peer_does_not_kill_the_node, .timeout = 90)
{
	char dir[256], port[16];
	fresh(dir, sizeof dir, port, sizeof port);
	RUN_TESTNET(&run, "init", "--out", dir, "--validators", "1", "--members", "1",
		    "--base-port", port, "--param", "block_interval_ms=0");
	cr_assert_eq(run.status, 0, "%s", run.err);
	for (int k = 0; k < 3; k++) {
		RUN_TESTNET(&run, "up", dir, "--timeout", "30");
		cr_assert_eq(run.status, 0, "%s", run.err);
		usleep(300 * 1000);
		RUN_TESTNET(&run, "kill", dir, "node1");
		cr_assert_eq(run.status, 0, "%s", run.err);
		usleep(1500 * 1000);
		RUN_TESTNET(&run, "status", dir);
		cr_assert_str_eq(state_of(run.out, 0), "running", "kill %d took node0 down: %s",
				 k + 1, run.out);
	}
	RUN_TESTNET(&run, "down", dir);
	cr_assert_eq(run.status, 0, "%s", run.err);
	rm_rf(dir);
}
