/*
 * tests/node/test_node_faults.c — a real one-validator `fedledgerd start`
 * through the faults a node must survive, made by its FEDLEDGERD_TEST_*
 * hooks: a crash right after a block is stored (its commit must be stored
 * with it, or the node cannot build the next block), decided blocks that
 * fail to apply (logged, shown in /metrics, tried again, the same block
 * committed in the end), a block check slower than
 * timeouts.block_validation_ms (treated as invalid for its round, the
 * chain goes on), and log.modules levels applied per module.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/node/home_helpers.h"
#include "tests/node/node_run_helpers.h"

#define TEST_EXIT_STATUS 86 /* NODE__TEST_EXIT, node/node_internal.h */

static pid_t start_with_env(const char *dir, const char *name, const char *value)
{
	pid_t pid;

	cr_assert_eq(setenv(name, value, 1), 0);
	pid = nr_start_node(dir, NULL);
	cr_assert_eq(unsetenv(name), 0);
	return pid;
}

static void expect_log(const char *dir, pid_t pid, const char *needle)
{
	if (nr_wait_log(dir, needle))
		return;
	kill(pid, SIGKILL);
	nr_dump_log(dir);
	cr_assert_fail("the log never said \"%s\"", needle);
}

/* How many times the log holds needle. */
static int log_count(const char *dir, const char *needle)
{
	char *s = nr_read_log(dir);
	int k = 0;

	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
		k++;
	free(s);
	return k;
}

/* The process exits right after block 3 is in the store, before anything
 * else happens (as a power cut would). The restarted node must hold the
 * commit of its tip 3 to build block 4: with a separate write for it,
 * that commit was lost and a lone validator never built another block. */
Test(node_faults, crash_after_apply_keeps_the_tip_commit)
{
	char dir[64];
	pid_t pid;

	hh_scratch(dir, sizeof(dir));
	nr_one_validator_home(dir);
	pid = start_with_env(dir, "FEDLEDGERD_TEST_EXIT_AFTER_APPLY", "3");
	expect_log(dir, pid, "TEST HOOKS: exit after applying height 3");
	cr_assert_eq(nr_wait_exit(pid), TEST_EXIT_STATUS);
	/* After block 3's store commit, nothing of the loop's follow-up ran. */
	cr_assert_eq(log_count(dir, "committed height 3 "), 0);
	cr_assert_eq(log_count(dir, "committed height 2 "), 1);

	pid = nr_start_node(dir, NULL);
	expect_log(dir, pid, "started: chain runtest, height 3,");
	expect_log(dir, pid, "committed height 5 ");
	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0);
	cr_assert_eq(log_count(dir, "cannot build a block"), 0);
	cr_assert_eq(log_count(dir, "committed height 3 "), 0);
	cr_assert_eq(log_count(dir, "committed height 4 "), 1);
	hh_remove(dir);
}

/* A store of a fedledgerd that wrote a block and its commit apart and
 * crashed between them (the hook does exactly that at height 3): the
 * restarted node rebuilds the commit of its tip from the WAL's precommits
 * and goes on building blocks. */
Test(node_faults, lost_tip_commit_is_rebuilt_from_the_wal)
{
	char dir[64];
	pid_t pid;

	hh_scratch(dir, sizeof(dir));
	nr_one_validator_home(dir);
	pid = start_with_env(dir, "FEDLEDGERD_TEST_LOSE_TIP_COMMIT", "3");
	expect_log(dir, pid, "lose the commit of height 3");
	cr_assert_eq(nr_wait_exit(pid), TEST_EXIT_STATUS);
	cr_assert_eq(log_count(dir, "committed height 3 "), 0);

	pid = nr_start_node(dir, NULL);
	expect_log(dir, pid, "height 3: the store had no commit of its tip; rebuilt from the WAL");
	expect_log(dir, pid, "committed height 5 ");
	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0);
	cr_assert_eq(log_count(dir, "cannot build a block"), 0);
	cr_assert_eq(log_count(dir, "committed height 4 "), 1);
	hh_remove(dir);
}

/* The first two applies of block 1 fail: each is an error line naming the
 * height, the block's hash and the reason; /metrics shows the stuck
 * height meanwhile; the third attempt (after 1 s, then 2 s) commits that
 * same block and the chain goes on. */
Test(node_faults, failed_apply_is_logged_shown_and_retried)
{
	char dir[64], prefix[17];
	const char *p;
	pid_t pid;

	hh_scratch(dir, sizeof(dir));
	nr_one_validator_home(dir);
	pid = start_with_env(dir, "FEDLEDGERD_TEST_FAIL_APPLIES", "2");
	expect_log(dir, pid, "attempt 1, next in 1000 ms");
	uint16_t port = nr_rpc_port(dir);
	cr_assert(port != 0);
	cr_assert_eq(nr_metric(port, "fedledger_block_apply_stuck_height"), 1);
	cr_assert_geq(nr_metric(port, "fedledger_block_apply_failures_total"), 1);
	expect_log(dir, pid, "attempt 2, next in 2000 ms");
	expect_log(dir, pid, "height 1: applied after 2 failed attempts");
	expect_log(dir, pid, "committed height 3 ");
	cr_assert_eq(nr_metric(port, "fedledger_block_apply_stuck_height"), 0);
	cr_assert_eq(nr_metric(port, "fedledger_block_apply_failures_total"), 2);
	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0);

	char *s = nr_read_log(dir);
	p = strstr(s, "error node: height 1: decided block ");
	cr_assert(p != NULL, "%s", s);
	p += strlen("error node: height 1: decided block ");
	/* The whole hash, then the reason. */
	cr_assert_eq(strspn(p, "0123456789abcdef"), 64, "%.80s", p);
	cr_assert(strncmp(p + 64, " does not apply: test hook: apply failure", 41) == 0, "%.120s",
		  p);
	memcpy(prefix, p, 16);
	prefix[16] = '\0';
	/* The block committed at 1 is the one decided. */
	char want[64];
	snprintf(want, sizeof(want), "committed height 1 block %s", prefix);
	cr_assert(strstr(s, want) != NULL, "%s", s);
	cr_assert_eq(log_count(dir, "committed height 1 "), 1);
	free(s);
	hh_remove(dir);
}

/* The p2p port the log's "started:" line names. */
static uint16_t p2p_port(const char *dir)
{
	char *s = nr_read_log(dir);
	const char *p = strstr(s, "p2p port ");
	unsigned port = 0;

	if (p != NULL)
		port = (unsigned)strtoul(p + 9, NULL, 10);
	free(s);
	return (uint16_t)port;
}

/* A socket that sends junk instead of a HELLO: p2p logs (info) why it
 * drops it. Returns once the node closed it. */
static void junk_peer(const char *dir, pid_t pid)
{
	char junk[1025];
	uint16_t port = p2p_port(dir);
	int fd;

	cr_assert(port != 0);
	memset(junk, 0xff, sizeof(junk) - 1);
	junk[sizeof(junk) - 1] = '\0';
	fd = hh_connect(port, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(hh_send(fd, junk), 0);
	if (!hh_closed_within(fd, NR_WAIT_MS)) {
		kill(pid, SIGKILL);
		cr_assert_fail("the node kept a junk peer");
	}
	close(fd);
}

/* node0 and node1 of a two-validator `fedledger-testnet init`, moved to
 * base/a/n0 and base/b/n0 (so each has its log in base/x/log), on
 * ephemeral ports: b dials a. Returns a's node id in hex. */
static void two_validators(const char *base, char a[128], char b[128], char *a_id, size_t cap)
{
	char out[256], from[300], to[300], tn[300];
	json_error_t je;
	test_run r;

	snprintf(out, sizeof(out), "%s/tn", base);
	const char *init[] = {"init", "--out", out, "--validators", "2", NULL};
	nr_run(&r, "fedledger-testnet", init);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(tn, sizeof(tn), "%s/testnet.json", out);
	json_t *t = json_load_file(tn, 0, &je);
	cr_assert(t != NULL);
	snprintf(a_id, cap, "%s",
		 json_string_value(
		     json_object_get(json_array_get(json_object_get(t, "nodes"), 0), "id")));
	json_decref(t);
	for (int i = 0; i < 2; i++) {
		char *dir = i == 0 ? a : b;
		snprintf(dir, 128, "%s/%c", base, i == 0 ? 'a' : 'b');
		cr_assert_eq(mkdir(dir, 0700), 0);
		snprintf(from, sizeof(from), "%s/node%d", out, i);
		snprintf(to, sizeof(to), "%s/n0", dir);
		cr_assert_eq(rename(from, to), 0);
		nr_config_set(dir, "p2p", "listen", json_string("127.0.0.1:0"));
		nr_config_set(dir, "p2p", "persistent_peers", json_array());
		nr_config_set(dir, "rpc", "listen", json_string("127.0.0.1:0"));
	}
}

/* Validator a's first block check sleeps 1.5 s against a 100 ms limit:
 * that block (b's proposal) is treated as invalid for its round, so a
 * prevotes nil and that round commits nothing; a's late verdict is
 * ignored, and a later round commits the height. */
Test(node_faults, slow_block_check_is_a_nil_prevote, .timeout = 90)
{
	char base[64], a[128], b[128], id[80], peer[160];
	pid_t pa, pb;

	hh_scratch(base, sizeof(base));
	two_validators(base, a, b, id, sizeof(id));
	nr_config_set(a, "timeouts", "block_validation_ms", json_integer(100));
	pa = start_with_env(a, "FEDLEDGERD_TEST_SLOW_VALIDATE_MS", "1500");
	expect_log(a, pa, "node: started: ");
	snprintf(peer, sizeof(peer), "%s@127.0.0.1:%u", id, (unsigned)p2p_port(a));
	json_t *peers = json_array();
	json_array_append_new(peers, json_string(peer));
	nr_config_set(b, "p2p", "persistent_peers", peers);
	pb = nr_start_node(b, NULL);
	expect_log(a, pa, "not checked within timeouts.block_validation_ms (100 ms)");
	expect_log(a, pa, "checked after its timeout: valid (ignored)");
	expect_log(a, pa, "committed height 4 ");
	uint16_t port = nr_rpc_port(a);
	cr_assert_eq(nr_metric(port, "fedledger_block_validation_timeouts_total"), 1);
	kill(pb, SIGTERM);
	kill(pa, SIGTERM);
	cr_assert_eq(nr_wait_exit(pa), 0);
	cr_assert_eq(nr_wait_exit(pb), 0);

	/* The height of the timed-out check committed in a later round. */
	char *s = nr_read_log(a), want[64];
	const char *p = strstr(s, "not checked within");
	cr_assert(p != NULL);
	while (p > s && strncmp(p, "height ", 7) != 0)
		p--;
	unsigned long h = strtoul(p + 7, NULL, 10);
	snprintf(want, sizeof(want), "committed height %lu block ", h);
	p = strstr(s, want);
	cr_assert(p != NULL, "%s", s);
	p = strstr(p, " round ");
	cr_assert(p != NULL);
	cr_assert_geq(strtoul(p + 7, NULL, 10), 1, "the round of the nil prevote committed");
	free(s);
	hh_remove(base);
}

/* log.level info for all; then log.modules.p2p "error" hides p2p's info
 * lines and log.modules.node "debug" shows node's debug lines, while the
 * other modules stay at info. */
Test(node_faults, log_modules_set_each_modules_level)
{
	char dir[64], log[128];
	pid_t pid;

	hh_scratch(dir, sizeof(dir));
	nr_one_validator_home(dir);
	nr_config_set(dir, "log", "level", json_string("info"));
	pid = nr_start_node(dir, NULL);
	expect_log(dir, pid, "committed height 1 ");
	junk_peer(dir, pid);
	expect_log(dir, pid, "p2p: peer ");
	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0);
	cr_assert_eq(log_count(dir, "built a block"), 0, "debug lines at level info");

	snprintf(log, sizeof(log), "%s/log", dir);
	cr_assert_eq(truncate(log, 0), 0);
	json_t *mods = json_object();
	json_object_set_new(mods, "p2p", json_string("error"));
	json_object_set_new(mods, "node", json_string("debug"));
	nr_config_set(dir, "log", "modules", mods);
	pid = nr_start_node(dir, NULL);
	expect_log(dir, pid, "node: started: ");
	junk_peer(dir, pid);
	expect_log(dir, pid, "built a block");
	expect_log(dir, pid, "committed height 3 ");
	kill(pid, SIGTERM);
	cr_assert_eq(nr_wait_exit(pid), 0);
	cr_assert_eq(log_count(dir, "p2p: "), 0);
	cr_assert_geq(log_count(dir, "info  node: committed height"), 1);
	hh_remove(dir);
}
