/*
 * tests/genesis/test_tool.c — the real fedledger-genesis binary
 * ($FEDLEDGER_BIN, default build/bin), run as a user would run it.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/genesis/helpers.h"

#define EXAMPLE "genesis/examples/fashion-4v.json"

/* A scratch directory per test; files named here are removed at the end. */
static char scratch[] = "/tmp/fedledger-genesis-tool-XXXXXX";
static char gpath[128];

static void scratch_up(void)
{
	memcpy(scratch + sizeof(scratch) - 7, "XXXXXX", 6);
	cr_assert_not_null(mkdtemp(scratch));
	snprintf(gpath, sizeof(gpath), "%s/genesis.json", scratch);
}

static void scratch_down(void)
{
	unlink(gpath);
	rmdir(scratch);
}

#define RUN(r, ...)                                                                                \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		test_run_prog((r), "fedledger-genesis", argv_);                                    \
	} while (0)

/* Exit non-zero with exactly one stderr line containing `want`. */
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

static test_run run;

Test(tool, validate_examples)
{
	glob_t gl;

	cr_assert_eq(glob("genesis/examples/*.json", 0, NULL, &gl), 0);
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		RUN(&run, "validate", gl.gl_pathv[i]);
		assert_ok(&run);
		cr_assert_not_null(strstr(run.out, ": valid\n"), "%s", run.out);
		cr_assert_not_null(strstr(run.out, "genesis hash  "), "%s", run.out);
	}
	globfree(&gl);
	RUN(&run, "validate", EXAMPLE);
	cr_assert_not_null(strstr(run.out, "validators    4, total power 40"), "%s", run.out);
	cr_assert_not_null(strstr(run.out, "labels 0,1,2,3,4,6,8"), "%s", run.out);
	cr_assert_not_null(strstr(run.out, "784-200-200-10 (relu,relu,none): 199210 params, "
					   "397600 FLOPs/sample"),
			   "%s", run.out);
	cr_assert_not_null(strstr(run.out, "trimmed_mean beta=0.1"), "%s", run.out);
}

Test(tool, validate_json_matches_the_library_hash)
{
	char err[GENESIS_ERR_MAX], hex[FL_HASH_HEX_LEN + 1];
	chain_genesis g;
	fl_hash h;
	json_t *o;

	RUN(&run, "validate", "--json", EXAMPLE);
	assert_ok(&run);
	cr_assert_eq(test_count_lines(run.out), 1);
	o = json_loads(run.out, 0, NULL);
	cr_assert_not_null(o, "not JSON: %s", run.out);
	cr_assert_eq(genesis_load_file(EXAMPLE, &g, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(chain_genesis_hash(&h, &g), FL_OK);
	fl_hash_to_hex(hex, &h);
	cr_assert_str_eq(json_string_value(json_object_get(o, "genesis_hash")), hex);
	cr_assert_str_eq(json_string_value(json_object_get(o, "chain_id")), "fedledger-fashion-1");
	cr_assert_eq(json_integer_value(json_object_get(o, "total_power")), 40);
	cr_assert_eq(json_array_size(json_object_get(o, "profiles")), 2);
	cr_assert_eq(json_integer_value(json_object_get(
			 json_array_get(json_object_get(o, "profiles"), 0), "params")),
		     199210);
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(o, "profiles"), 0), "target")),
			 "0.85");
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(o, "profiles"), 1), "param")),
			 "0.1");
	json_decref(o);
	chain_genesis_free(&g);
}

Test(tool, broken_files_fail_with_one_line)
{
	char expect[256];
	glob_t gl;

	cr_assert_eq(glob("tests/genesis/broken/*.json", 0, NULL, &gl), 0);
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		genesis_test_expect(gl.gl_pathv[i], expect, sizeof(expect));
		RUN(&run, "validate", gl.gl_pathv[i]);
		cr_expect_eq(run.status, 1, "%s: status %d", gl.gl_pathv[i], run.status);
		cr_expect_eq(test_count_lines(run.err), 1, "%s: stderr: %s", gl.gl_pathv[i],
			     run.err);
		cr_expect_not_null(strstr(run.err, expect), "%s: stderr: %s\nwant: %s",
				   gl.gl_pathv[i], run.err, expect);
		cr_expect_str_empty(run.out, "%s: printed a summary", gl.gl_pathv[i]);
	}
	globfree(&gl);
}

Test(tool, validate_several_files_reports_each)
{
	RUN(&run, "validate", EXAMPLE, "tests/genesis/broken/zero-power.json", EXAMPLE);
	assert_one_line_failure(&run, 1, "zero-power.json: validators[2].power: must be > 0");
	cr_assert_not_null(strstr(run.out, EXAMPLE ": valid"));
}

/* Rebuilding the example with the tool gives the example's genesis hash. */
Test(tool, build_the_example_from_scratch, .init = scratch_up, .fini = scratch_down)
{
	char err[GENESIS_ERR_MAX], hex[FL_PUBKEY_HEX_LEN + 1], amount[32], power[32];
	chain_genesis want, got;
	fl_hash hw, hg;

	cr_assert_eq(genesis_load_file(EXAMPLE, &want, err, sizeof(err)), FL_OK, "%s", err);

	RUN(&run, "new", "--chain-id", "fedledger-fashion-1", "--out", gpath, "--time-ms",
	    "1767225600000");
	assert_ok(&run);
	/* The draft spells out every parameter, the PBTS bounds included. */
	{
		uint8_t *text;
		size_t n;
		cr_assert_eq(fl_file_read(gpath, &text, &n, GENESIS_MAX_BYTES), FL_OK);
		cr_assert_not_null(strstr((char *)text, "\"pbts_precision_ms\": 500"), "%s", text);
		cr_assert_not_null(strstr((char *)text, "\"pbts_msg_delay_ms\": 2000"), "%s", text);
		cr_assert_not_null(strstr((char *)text, "\"block_interval_ms\": 1000"), "%s", text);
		fl_free(text);
	}
	/* A draft without validators is not a valid genesis yet. */
	RUN(&run, "validate", gpath);
	assert_one_line_failure(&run, 1, "validators: must list at least one validator");

	for (uint32_t i = 0; i < want.n_validators; i++) {
		fl_pubkey_to_hex(hex, &want.validators[i].pubkey);
		snprintf(power, sizeof(power), "%llu",
			 (unsigned long long)want.validators[i].power);
		RUN(&run, "add-validator", "--genesis", gpath, "--pubkey", hex, "--power", power,
		    "--name", want.validators[i].name);
		assert_ok(&run);
	}
	for (uint32_t i = 0; i < want.n_members; i++) {
		fl_pubkey_to_hex(hex, &want.members[i].pubkey);
		RUN(&run, "add-member", "--genesis", gpath, "--pubkey", hex, "--name",
		    want.members[i].name);
		assert_ok(&run);
	}
	for (uint32_t i = 0; i < want.n_balances; i++) {
		/* In two parts: fund adds to an existing balance. */
		uint64_t a = want.balances[i].amount;
		fl_pubkey_to_hex(hex, &want.balances[i].account);
		snprintf(amount, sizeof(amount), "%llu", (unsigned long long)(a / 3));
		RUN(&run, "fund", "--genesis", gpath, "--account", hex, "--amount", amount);
		assert_ok(&run);
		snprintf(amount, sizeof(amount), "%llu", (unsigned long long)(a - a / 3));
		RUN(&run, "fund", "--genesis", gpath, "--account", hex, "--amount", amount);
		assert_ok(&run);
		if (want.balances[i].bonded > 0) {
			snprintf(amount, sizeof(amount), "%llu",
				 (unsigned long long)want.balances[i].bonded);
			RUN(&run, "fund", "--genesis", gpath, "--account", hex, "--bond", amount);
			assert_ok(&run);
		}
	}
	RUN(&run, "add-profile", "--genesis", gpath, "--file",
	    "genesis/examples/profiles/clothing.json");
	assert_ok(&run);
	RUN(&run, "add-profile", "--genesis", gpath, "--file",
	    "genesis/examples/profiles/footwear.json");
	assert_ok(&run);
	RUN(&run, "validate", gpath);
	assert_ok(&run);

	cr_assert_eq(genesis_load_file(gpath, &got, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(chain_genesis_hash(&hw, &want), FL_OK);
	cr_assert_eq(chain_genesis_hash(&hg, &got), FL_OK);
	cr_assert_eq(fl_hash_cmp(&hw, &hg), 0, "the tool built a different genesis");

	/* A child profile whose parent is in the genesis now. */
	RUN(&run, "add-profile", "--genesis", gpath, "--file",
	    "genesis/examples/profiles/sneakers.json");
	assert_ok(&run);
	RUN(&run, "validate", gpath);
	assert_ok(&run);
	cr_assert_not_null(strstr(run.out, "child of footwear"), "%s", run.out);
	chain_genesis_free(&want);
	chain_genesis_free(&got);
}

static void copy_example(void)
{
	uint8_t *text;
	size_t n;

	scratch_up();
	cr_assert_eq(fl_file_read(EXAMPLE, &text, &n, GENESIS_MAX_BYTES), FL_OK);
	cr_assert_eq(fl_file_write_atomic(gpath, text, n, 0644), FL_OK);
	fl_free(text);
}

/* A refused edit leaves the file as it was. */
static void assert_unchanged(void)
{
	uint8_t *a, *b;
	size_t na, nb;

	cr_assert_eq(fl_file_read(EXAMPLE, &a, &na, GENESIS_MAX_BYTES), FL_OK);
	cr_assert_eq(fl_file_read(gpath, &b, &nb, GENESIS_MAX_BYTES), FL_OK);
	cr_assert(na == nb && memcmp(a, b, na) == 0, "a refused edit changed the file");
	fl_free(a);
	fl_free(b);
}

Test(tool, refused_edits_leave_the_file_alone, .init = copy_example, .fini = scratch_down)
{
	const char *v0 = "4c2493cce4f114607aa2b424079396269d591b61db6c3b353bc8098db8cee8f4";
	const char *m0 = "af59c8d7a69fc69bc629c06be7451e7868d4244378afd6ba51fe199f5b94444b";

	RUN(&run, "add-validator", "--genesis", gpath, "--pubkey", v0, "--power", "5");
	assert_one_line_failure(&run, 1, "validators[0] has this key already");
	RUN(&run, "add-member", "--genesis", gpath, "--pubkey", v0);
	assert_one_line_failure(&run, 1, "validators are members already");
	RUN(&run, "add-member", "--genesis", gpath, "--pubkey", m0);
	assert_one_line_failure(&run, 1, "members[0] has this key already");
	RUN(&run, "fund", "--genesis", gpath, "--account", v0, "--amount", "18446744073709551615");
	assert_one_line_failure(&run, 1, "balances[0].amount: would exceed 2^64-1");
	RUN(&run, "add-profile", "--genesis", gpath, "--file",
	    "genesis/examples/profiles/clothing.json");
	assert_one_line_failure(&run, 1, "clothing.json: id: \"clothing\" is profiles[0]");
	RUN(&run, "add-profile", "--genesis", gpath, "--file",
	    "tests/genesis/broken/zero-power.json");
	assert_one_line_failure(&run, 1, "zero-power.json: chain_id: unknown field");
	RUN(&run, "new", "--chain-id", "x", "--out", gpath);
	assert_one_line_failure(&run, 1, "already exists");
	assert_unchanged();
}

Test(tool, member_promoted_to_validator, .init = copy_example, .fini = scratch_down)
{
	const char *m1 = "58d58452165aa95e015e9401ffe4e62491eb770e4b056bebe98274584c4d461a";
	char err[GENESIS_ERR_MAX];
	chain_genesis g;

	RUN(&run, "add-validator", "--genesis", gpath, "--pubkey", m1, "--power", "7");
	assert_ok(&run);
	cr_assert_eq(genesis_load_file(gpath, &g, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(g.n_validators, 5);
	cr_assert_eq(g.n_members, 1);
	cr_assert_str_eq(g.validators[4].name, "member-1", "the member's name is kept");
	cr_assert_eq(g.validators[4].power, 7);
	chain_genesis_free(&g);
}

/* fund --bond adds bonded stake to an account's genesis entry;
 * --amount and --bond together, or either alone; neither is a usage error. */
Test(tool, fund_bonds_stake, .init = copy_example, .fini = scratch_down)
{
	const char *m0 = "af59c8d7a69fc69bc629c06be7451e7868d4244378afd6ba51fe199f5b94444b";
	char err[GENESIS_ERR_MAX];
	chain_genesis g;
	fl_pubkey pk;
	int found = 0;

	RUN(&run, "fund", "--genesis", gpath, "--account", m0, "--bond", "2000000");
	assert_ok(&run);
	cr_assert_not_null(strstr(run.out, "now 5000000, bonded 4000000"), "%s", run.out);
	RUN(&run, "fund", "--genesis", gpath, "--account", m0, "--amount", "1", "--bond", "3");
	assert_ok(&run);
	cr_assert_eq(genesis_load_file(gpath, &g, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(fl_pubkey_from_hex(&pk, m0), FL_OK);
	for (uint32_t i = 0; i < g.n_balances; i++)
		if (fl_pubkey_cmp(&g.balances[i].account, &pk) == 0) {
			cr_assert_eq(g.balances[i].amount, 5000001);
			cr_assert_eq(g.balances[i].bonded, 4000003);
			found = 1;
		}
	cr_assert(found);
	chain_genesis_free(&g);
	/* validate counts the stake into the supply and says how much is bonded
	 * (member-1 bonds 2000000 in the example). */
	RUN(&run, "validate", "--json", gpath);
	assert_ok(&run);
	cr_assert_not_null(strstr(run.out, "\"total_supply\":56000004,\"bonded\":6000003"), "%s",
			   run.out);
	RUN(&run, "fund", "--genesis", gpath, "--account", m0);
	assert_one_line_failure(&run, 2, "missing --amount or --bond");
	RUN(&run, "fund", "--genesis", gpath, "--account", m0, "--bond", "0");
	assert_one_line_failure(&run, 2, "--bond: must be > 0");
	RUN(&run, "fund", "--genesis", gpath, "--account", m0, "--bond", "18446744073709551615");
	assert_one_line_failure(&run, 1, "balances[4].bonded: would exceed 2^64-1");
}

Test(tool, help_on_every_command)
{
	static const char *const cmds[] = {"new",  "add-validator", "add-member",
					   "fund", "add-profile",   "validate"};
	char want[64];

	RUN(&run, "--help");
	assert_ok(&run);
	cr_assert_not_null(strstr(run.out, "usage: fedledger-genesis COMMAND"), "%s", run.out);
	for (size_t i = 0; i < FL_ARRAY_LEN(cmds); i++) {
		RUN(&run, cmds[i], "--help");
		assert_ok(&run);
		snprintf(want, sizeof(want), "usage: fedledger-genesis %s ", cmds[i]);
		cr_assert_not_null(strstr(run.out, want), "%s --help: %s", cmds[i], run.out);
	}
}

Test(tool, bad_arguments, .init = copy_example, .fini = scratch_down)
{
	const char *v = "02dfb2eab1b8fe91d5f26d3332a9d14e7859101636e8db2f667750924f32c20f";

	RUN(&run, "add-validator", "--genesis", gpath, "--pubkey", v);
	assert_one_line_failure(&run, 2, "add-validator: missing --power");
	RUN(&run, "add-validator", "--genesis", gpath, "--pubkey", v, "--power", "0");
	assert_one_line_failure(&run, 2, "--power: must be > 0");
	RUN(&run, "add-validator", "--genesis", gpath, "--pubkey", "abc", "--power", "1");
	assert_one_line_failure(&run, 2, "--pubkey: must be 64 hex characters");
	RUN(&run, "fund", "--genesis", gpath, "--account", v, "--amount", "ten");
	assert_one_line_failure(&run, 2, "fund: --amount: not a decimal integer: 'ten'");
	RUN(&run, "fund", "--genesis", gpath, "--account", v, "--amount", "-5");
	assert_one_line_failure(&run, 2, "--amount: not a decimal integer");
	RUN(&run, "fund", "--genesis", gpath, "--account", v, "--amount");
	assert_one_line_failure(&run, 2, "option --amount needs a value");
	RUN(&run, "fund", "--genesis", gpath, "--acount", v, "--amount", "5");
	assert_one_line_failure(&run, 2, "unknown option '--acount'");
	RUN(&run, "new", "--chain-id", "Bad Id", "--out", "/tmp/x.json");
	assert_one_line_failure(&run, 2, "--chain-id: must be 1 to 48 of [a-z0-9._-]");
	RUN(&run, "new", "--chain-id", "far", "--out", "/tmp/x.json", "--time-ms",
	    "18446744073709551615");
	assert_one_line_failure(&run, 2, "--time-ms: must be at most 253402300799999");
	RUN(&run, "add-member", "--genesis", gpath, "--pubkey", v, "stray");
	assert_one_line_failure(&run, 2, "unexpected argument 'stray'");
	RUN(&run, "validate");
	assert_one_line_failure(&run, 2, "validate: missing FILE");
	RUN(&run, "frobnicate");
	assert_one_line_failure(&run, 2, "unknown command 'frobnicate'");
	RUN(&run, "add-profile", "--genesis", gpath, "--file", "no/such/profile.json");
	assert_one_line_failure(&run, 1, "no/such/profile.json: cannot read");
	RUN(&run, "fund", "--genesis", "no/such/genesis.json", "--account", v, "--amount", "5");
	assert_one_line_failure(&run, 1, "no/such/genesis.json: cannot read");
	assert_unchanged();
}
