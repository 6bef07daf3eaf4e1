/*
 * tests/node/test_fedledgerd_cli.c — the real fedledgerd binary
 * ($FEDLEDGER_BIN, default build/bin), run as an operator runs it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/node/home_helpers.h"

static char dir[64], hdir[96], path[NODE_HOME_PATH_MAX + 1];
static test_run run;

static void up(void)
{
	hh_scratch(dir, sizeof(dir));
	snprintf(hdir, sizeof(hdir), "%s/n0", dir);
}

static void down(void)
{
	hh_remove(dir);
}

TestSuite(cli, .init = up, .fini = down);

#define RUN(r, ...)                                                                                \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		test_run_prog((r), "fedledgerd", argv_);                                           \
	} while (0)

/* Exit `status` with exactly one stderr line containing `want`. */
static void assert_one_line_failure(const test_run *r, int status, const char *want)
{
	cr_assert_eq(r->status, status, "status %d, want %d; stderr: %s", r->status, status,
		     r->err);
	cr_assert_eq(test_count_lines(r->err), 1, "stderr must be one line, got: %s", r->err);
	cr_assert_not_null(strstr(r->err, want), "stderr: %s\nwant: %s", r->err, want);
}

static void assert_ok(const test_run *r)
{
	cr_assert_eq(r->status, 0, "status %d; stderr: %s", r->status, r->err);
	cr_assert_str_empty(r->err, "stderr not empty: %s", r->err);
}

/* The hex of the key in HOME/keys/member.key, read by the library. */
static void key_hex(const char *home, char hex[FL_PUBKEY_HEX_LEN + 1])
{
	fl_seckey sk;
	fl_pubkey pk;

	hh_path(path, home, "keys/member.key");
	cr_assert_eq(fl_key_load(path, &sk, &pk), FL_OK);
	fl_wipe(&sk, sizeof(sk));
	fl_pubkey_to_hex(hex, &pk);
}

Test(cli, init_makes_the_layout_with_its_modes)
{
	char hex[FL_PUBKEY_HEX_LEN + 1], want[128];

	RUN(&run, "init", "--home", hdir, "--genesis", HH_GENESIS, "--moniker", "val-0");
	assert_ok(&run);
	cr_assert_eq(hh_mode(hdir), 0700);
	hh_path(path, hdir, "keys");
	cr_assert_eq(hh_mode(path), 0700);
	hh_path(path, hdir, "keys/member.key");
	cr_assert_eq(hh_mode(path), 0600);
	hh_path(path, hdir, "data");
	cr_assert_eq(hh_mode(path), 0700);
	hh_path(path, hdir, "config.json");
	cr_assert_eq(hh_mode(path), 0644);
	hh_path(path, hdir, "genesis.json");
	cr_assert_eq(hh_mode(path), 0644);
	key_hex(hdir, hex);
	snprintf(want, sizeof(want), "node id %s\n", hex);
	cr_assert_not_null(strstr(run.out, want), "%s", run.out);
}

Test(cli, init_without_genesis_says_what_is_missing)
{
	RUN(&run, "init",
	    "--home="
	    "/dev/null/x");
	assert_one_line_failure(&run, 1, "/dev/null/x");
	RUN(&run, "init", "--home", hdir);
	assert_ok(&run);
	cr_assert_not_null(strstr(run.out, "no genesis yet"), "%s", run.out);
	hh_path(path, hdir, "genesis.json");
	cr_assert_neq(access(path, F_OK), 0);
}

Test(cli, show_node_id_prints_the_key_of_the_key_file)
{
	char hex[FL_PUBKEY_HEX_LEN + 1], want[FL_PUBKEY_HEX_LEN + 2];

	RUN(&run, "init", "--home", hdir);
	assert_ok(&run);
	RUN(&run, "show-node-id", "--home", hdir);
	assert_ok(&run);
	key_hex(hdir, hex);
	snprintf(want, sizeof(want), "%s\n", hex);
	cr_assert_str_eq(run.out, want);
}

Test(cli, a_group_readable_key_is_refused_naming_path_and_mode)
{
	char want[NODE_HOME_PATH_MAX + 64];

	RUN(&run, "init", "--home", hdir);
	assert_ok(&run);
	hh_path(path, hdir, "keys/member.key");
	cr_assert_eq(chmod(path, 0640), 0);
	RUN(&run, "show-node-id", "--home", hdir);
	snprintf(want, sizeof(want), "%s: permissions 0640 are too open", path);
	assert_one_line_failure(&run, 1, want);
	cr_assert_str_empty(run.out);
}

Test(cli, a_bad_genesis_is_named_and_nothing_is_left)
{
	char gpath[128];

	snprintf(gpath, sizeof(gpath), "%s/genesis.json", dir);
	hh_write(gpath, "{\"chain_id\": \"UPPER\"}");
	RUN(&run, "init", "--home", hdir, "--genesis", gpath);
	assert_one_line_failure(&run, 1, "genesis.json: chain_id:");
	cr_assert_neq(access(hdir, F_OK), 0);
}

Test(cli, init_twice_refuses_to_clobber_the_key)
{
	char before[FL_PUBKEY_HEX_LEN + 1], after[FL_PUBKEY_HEX_LEN + 1];

	RUN(&run, "init", "--home", hdir);
	assert_ok(&run);
	key_hex(hdir, before);
	RUN(&run, "init", "--home", hdir);
	hh_path(path, hdir, "keys/member.key");
	assert_one_line_failure(&run, 1, path);
	cr_assert_not_null(strstr(run.err, "already exists; not overwriting a member key"), "%s",
			   run.err);
	key_hex(hdir, after);
	cr_assert_str_eq(before, after);
}

Test(cli, help_on_every_command)
{
	static const char *const cmds[] = {"init", "show-node-id", "version"};

	RUN(&run, "--help");
	assert_ok(&run);
	cr_assert_not_null(strstr(run.out, "usage: fedledgerd COMMAND"), "%s", run.out);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		cr_assert_not_null(strstr(run.out, cmds[i]), "main help lacks %s", cmds[i]);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "usage: fedledgerd %s", cmds[i]);
		RUN(&run, cmds[i], "--help");
		assert_ok(&run);
		cr_assert_not_null(strstr(run.out, want), "%s --help: %s", cmds[i], run.out);
		RUN(&run, cmds[i], "-h");
		assert_ok(&run);
	}
}

Test(cli, usage_errors_exit_2_with_one_line)
{
	RUN(&run, "frobnicate");
	assert_one_line_failure(&run, 2, "fedledgerd: unknown command 'frobnicate'");
	RUN(&run, "start", "--home", hdir, "--byzantine", "evil");
	assert_one_line_failure(&run, 2, "--byzantine: expected equivocate, silent, bad-proposal, bad-aggregate or ");
	{
		const char *const none[] = {NULL};
		test_run_prog(&run, "fedledgerd", none);
		assert_one_line_failure(&run, 2, "missing command");
	}
	RUN(&run, "init");
	assert_one_line_failure(&run, 2, "fedledgerd init: missing --home");
	RUN(&run, "init", "--home");
	assert_one_line_failure(&run, 2, "option --home needs a value");
	RUN(&run, "init", "--home", "");
	assert_one_line_failure(&run, 2, "--home: must not be empty");
	RUN(&run, "init", "--ho", hdir);
	assert_one_line_failure(&run, 2, "unknown option '--ho'");
	RUN(&run, "init", "--home", hdir, "--home", hdir);
	assert_one_line_failure(&run, 2, "option --home given twice");
	RUN(&run, "init", "--home", hdir, "extra");
	assert_one_line_failure(&run, 2, "unexpected argument 'extra'");
	RUN(&run, "init", "--home", hdir, "--moniker", "new\nline");
	assert_one_line_failure(&run, 2, "--moniker: only printable ASCII");
	RUN(&run, "show-node-id", "--genesis", "x");
	assert_one_line_failure(&run, 2, "unknown option '--genesis'");
	RUN(&run, "version", "--home", hdir);
	assert_one_line_failure(&run, 2, "fedledgerd version: unknown option '--home'");
	cr_assert_neq(access(hdir, F_OK), 0, "no usage error made anything");
}

Test(cli, version_names_the_protocol_versions)
{
	char want[128];

	RUN(&run, "version");
	assert_ok(&run);
	cr_assert_eq(strncmp(run.out, "fedledgerd ", 11), 0, "%s", run.out);
	snprintf(want, sizeof(want), "block version %d, tx version %d, p2p protocol version %d\n",
		 CHAIN_BLOCK_VERSION, CHAIN_TX_VERSION, P2P_PROTOCOL_VERSION);
	cr_assert_not_null(strstr(run.out, want), "%s", run.out);
	cr_assert_not_null(strstr(run.out, "libuv "), "%s", run.out);
}
