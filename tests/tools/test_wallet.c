/* tests/tools/test_wallet.c — fedledger-wallet without a node: the key file
 * (round trip, wrong passphrase, every flipped byte, edits that recompute
 * the checksum, Argon2 limits), keygen/--import/address through the real
 * binary, every bad argument named, and --help on every command. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tools/helpers.h"
#include "tools/wallet.h"

#define RUN_WALLET(r, ...)                                                                         \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		test_run_prog((r), "fedledger-wallet", argv_);                                     \
	} while (0)

static test_run run;
/* libsodium's minimum cost: these tests are about the format, not Argon2. */
static const wallet_pwhash fast = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
static const char pass[] = "correct horse";

static void sealed(uint8_t file[WALLET_KEYFILE_LEN], fl_seckey *sk, fl_pubkey *pk)
{
	char err[WALLET_ERR_MAX];

	cr_assert_eq(fl_key_generate(sk, pk), FL_OK);
	cr_assert_eq(wallet_keyfile_seal(file, sk, pass, strlen(pass), &fast, err, sizeof(err)),
		     FL_OK, "%s", err);
}

/* The trailing SHA-256 recomputed, as a deliberate editor would. */
static void resum(uint8_t file[WALLET_KEYFILE_LEN])
{
	fl_hash h;

	fl_sha256(&h, file, WALLET_KEYFILE_LEN - FL_HASH_LEN);
	memcpy(file + WALLET_KEYFILE_LEN - FL_HASH_LEN, h.b, FL_HASH_LEN);
}

Test(wallet_keyfile, round_trip)
{
	uint8_t file[WALLET_KEYFILE_LEN];
	char err[WALLET_ERR_MAX];
	fl_seckey sk, got;
	fl_pubkey pk, got_pk;
	wallet_pwhash params;

	sealed(file, &sk, &pk);
	cr_assert_eq(memcmp(file, "FLWALLET", 8), 0);
	cr_assert_eq(file[8], WALLET_KEYFILE_VERSION);
	/* The public key and the parameters are readable without the passphrase. */
	cr_assert_eq(wallet_keyfile_check(file, sizeof(file), &got_pk, &params, err, sizeof(err)),
		     FL_OK, "%s", err);
	cr_assert_eq(fl_pubkey_cmp(&got_pk, &pk), 0);
	cr_assert_eq(params.opslimit, fast.opslimit);
	cr_assert_eq(params.memlimit, fast.memlimit);
	cr_assert_eq(wallet_keyfile_open(&got, &got_pk, file, sizeof(file), pass, strlen(pass), err,
					 sizeof(err)),
		     FL_OK, "%s", err);
	cr_assert_eq(memcmp(got.b, sk.b, FL_SECKEY_LEN), 0);
	cr_assert_eq(fl_pubkey_cmp(&got_pk, &pk), 0);
	/* The secret key is not in the file in the clear. */
	cr_assert_null(memmem(file, sizeof(file), sk.b, FL_SECKEY_LEN));

	/* Two seals of one key differ (fresh salt and nonce) and both open. */
	uint8_t again[WALLET_KEYFILE_LEN];
	cr_assert_eq(wallet_keyfile_seal(again, &sk, pass, strlen(pass), &fast, err, sizeof(err)),
		     FL_OK);
	cr_assert_neq(memcmp(again, file, sizeof(file)), 0);
	cr_assert_eq(wallet_keyfile_open(&got, &got_pk, again, sizeof(again), pass, strlen(pass),
					 err, sizeof(err)),
		     FL_OK, "%s", err);
}

Test(wallet_keyfile, wrong_passphrase_refused)
{
	uint8_t file[WALLET_KEYFILE_LEN];
	char err[WALLET_ERR_MAX];
	fl_seckey sk, got;
	fl_pubkey pk, got_pk;

	sealed(file, &sk, &pk);
	memset(&got, 0xaa, sizeof(got));
	cr_assert_eq(wallet_keyfile_open(&got, &got_pk, file, sizeof(file), "correct horsE", 13,
					 err, sizeof(err)),
		     FL_EPERM);
	cr_assert_str_eq(err, "wrong passphrase");
	for (size_t i = 0; i < FL_SECKEY_LEN; i++)
		cr_assert_eq(got.b[i], 0, "the secret key was not wiped");
	cr_assert_eq(
	    wallet_keyfile_open(&got, &got_pk, file, sizeof(file), pass, 5, err, sizeof(err)),
	    FL_EPERM);
}

/* Any one flipped bit anywhere is caught by the checksum, before any KDF. */
Test(wallet_keyfile, every_flipped_byte_refused)
{
	uint8_t file[WALLET_KEYFILE_LEN];
	char err[WALLET_ERR_MAX];
	fl_seckey sk, got;
	fl_pubkey pk, got_pk;

	sealed(file, &sk, &pk);
	for (size_t i = 0; i < sizeof(file); i++) {
		file[i] ^= 0x10;
		int rc = wallet_keyfile_open(&got, &got_pk, file, sizeof(file), pass, strlen(pass),
					     err, sizeof(err));
		cr_assert_neq(rc, FL_OK, "byte %zu flipped and still opened", i);
		cr_assert(strstr(err, "damaged") || strstr(err, "magic") || strstr(err, "version"),
			  "byte %zu: %s", i, err);
		file[i] ^= 0x10;
	}
	cr_assert_eq(wallet_keyfile_open(&got, &got_pk, file, sizeof(file), pass, strlen(pass), err,
					 sizeof(err)),
		     FL_OK);
}

/* An edit that recomputes the checksum: the AEAD tag (over the header)
 * still names it tampering for the nonce, the public key and the sealed
 * key; an edit of what Argon2 reads looks like a wrong passphrase. */
Test(wallet_keyfile, edit_with_checksum_recomputed_refused)
{
	static const struct {
		size_t at;
		int rc;
		const char *want;
	} edits[] = {
	    {50, FL_ESIG, "tampered"},           /* nonce */
	    {70, FL_ESIG, "tampered"},           /* public key */
	    {120, FL_ESIG, "tampered"},          /* sealed key */
	    {160, FL_ESIG, "tampered"},          /* tag */
	    {30, FL_EPERM, "wrong passphrase"},  /* salt */
	    {100, FL_EPERM, "wrong passphrase"}, /* the check itself */
	};
	uint8_t file[WALLET_KEYFILE_LEN], edited[WALLET_KEYFILE_LEN];
	char err[WALLET_ERR_MAX];
	fl_seckey sk, got;
	fl_pubkey pk, got_pk;

	sealed(file, &sk, &pk);
	for (size_t i = 0; i < FL_ARRAY_LEN(edits); i++) {
		int rc;

		memcpy(edited, file, sizeof(file));
		edited[edits[i].at] ^= 0x01;
		resum(edited);
		rc = wallet_keyfile_open(&got, &got_pk, edited, sizeof(edited), pass, strlen(pass),
					 err, sizeof(err));
		/* A public key edit may leave the curve: refused as damaged. */
		if (edits[i].at == 70 && rc == FL_ECORRUPT)
			continue;
		cr_assert_eq(rc, edits[i].rc, "byte %zu: %d (%s)", edits[i].at, rc, err);
		cr_assert_not_null(strstr(err, edits[i].want), "byte %zu: %s", edits[i].at, err);
	}
}

Test(wallet_keyfile, malformed_headers_refused_by_name)
{
	uint8_t file[WALLET_KEYFILE_LEN], big[WALLET_KEYFILE_LEN + 1];
	char err[WALLET_ERR_MAX];
	wallet_pwhash params;
	fl_seckey sk;
	fl_pubkey pk;

	sealed(file, &sk, &pk);
	cr_assert_eq(wallet_keyfile_check(file, 100, &pk, &params, err, sizeof(err)), FL_ECORRUPT);
	cr_assert_not_null(strstr(err, "100 bytes"), "%s", err);
	memcpy(big, file, sizeof(file));
	big[sizeof(file)] = 0;
	cr_assert_eq(wallet_keyfile_check(big, sizeof(big), &pk, &params, err, sizeof(err)),
		     FL_ECORRUPT);
	cr_assert_eq(wallet_keyfile_check((const uint8_t *)"fedledger-seckey-v1 00", 22, &pk,
					  &params, err, sizeof(err)),
		     FL_ECORRUPT);
	cr_assert_not_null(strstr(err, "magic"), "%s", err);

	file[8] = 2;
	resum(file);
	cr_assert_eq(wallet_keyfile_check(file, sizeof(file), &pk, &params, err, sizeof(err)),
		     FL_EVERSION);
	cr_assert_not_null(strstr(err, "version 2"), "%s", err);
	file[8] = 1;

	/* Limits are refused before Argon2 could be asked for 2^60 bytes. */
	file[20 + 7] = 0x10;
	resum(file);
	cr_assert_eq(wallet_keyfile_check(file, sizeof(file), &pk, &params, err, sizeof(err)),
		     FL_ECORRUPT);
	cr_assert_not_null(strstr(err, "memlimit"), "%s", err);
}

Test(wallet_keyfile, save_is_0600_and_never_overwrites)
{
	char dir[128], path[192], err[WALLET_ERR_MAX];
	struct stat st;
	fl_seckey sk;
	fl_pubkey pk;

	snprintf(dir, sizeof(dir), "/tmp/fl-wallet-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/sub.key", dir);
	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
	cr_assert_eq(wallet_keyfile_save(path, &sk, pass, strlen(pass), &fast, 0, err, sizeof(err)),
		     FL_OK, "%s", err);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "the made directory is %o", st.st_mode & 0777);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, WALLET_KEYFILE_LEN);
	cr_assert_eq(wallet_keyfile_save(path, &sk, pass, strlen(pass), &fast, 0, err, sizeof(err)),
		     FL_EEXIST);
	cr_assert_not_null(strstr(err, "already exists"), "%s", err);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(rmdir(dir), 0);
}

/* ------------------------------------------------------------ the binary */

static char tmp[128], key[192];

/* Every CLI test: a HOME of its own (so the default key path is never the
 * user's) and a passphrase in the environment (never a prompt). */
static void cli_setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/fl-wallet-cli-%d", (int)getpid());
	cr_assert_eq(mkdir(tmp, 0700), 0, "%s", tmp);
	snprintf(key, sizeof(key), "%s/w.key", tmp);
	setenv("HOME", tmp, 1);
	setenv("FEDLEDGER_PASSPHRASE", pass, 1);
}

static void cli_teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(wallet_cli, .init = cli_setup, .fini = cli_teardown);

static json_t *one_json(const test_run *r)
{
	json_t *o[2];

	cr_assert_eq(tool_test_json_lines(r->out, o, 2), 1, "want one JSON line: %s", r->out);
	return o[0];
}

Test(wallet_cli, keygen_then_address)
{
	char deflt[256];
	struct stat st;

	RUN_WALLET(&run, "--key", key, "keygen", "--json");
	cr_assert_eq(run.status, 0, "%s", run.err);
	json_t *o = one_json(&run);
	const char *addr = json_string_value(json_object_get(o, "address"));
	cr_assert_not_null(addr);
	cr_assert_eq(strlen(addr), 64);
	cr_assert(json_is_false(json_object_get(o, "imported")));
	cr_assert_eq(stat(key, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	/* Options after the command work as well as before it. */
	RUN_WALLET(&run, "address", "--key", key);
	cr_assert_eq(run.status, 0, "%s", run.err);
	cr_assert_eq(strncmp(run.out, addr, 64), 0, "%s vs %s", run.out, addr);
	cr_assert_str_eq(run.out + 64, "\n");

	/* A second keygen refuses to replace the key; --force does. */
	RUN_WALLET(&run, "--key", key, "keygen");
	tool_assert_one_line_failure(&run, 1, "already exists");
	RUN_WALLET(&run, "--key", key, "keygen", "--force", "--json");
	cr_assert_eq(run.status, 0, "%s", run.err);
	json_t *o2 = one_json(&run);
	cr_assert_str_neq(json_string_value(json_object_get(o2, "address")), addr);
	json_decref(o2);
	json_decref(o);

	/* The default key file: ~/.fedledger/wallet.key, its directory made. */
	RUN_WALLET(&run, "keygen");
	cr_assert_eq(run.status, 0, "%s", run.err);
	snprintf(deflt, sizeof(deflt), "%s/.fedledger/wallet.key", tmp);
	cr_assert_eq(stat(deflt, &st), 0, "no %s", deflt);
	RUN_WALLET(&run, "address");
	cr_assert_eq(run.status, 0, "%s", run.err);
}

Test(wallet_cli, import_a_member_key)
{
	char member[256], hex[FL_PUBKEY_HEX_LEN + 1];
	fl_seckey sk;
	fl_pubkey pk;

	snprintf(member, sizeof(member), "%s/member.key", tmp);
	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
	cr_assert_eq(fl_key_save(member, &sk, 0), FL_OK);
	fl_pubkey_to_hex(hex, &pk);
	RUN_WALLET(&run, "--key", key, "--json", "keygen", "--import", member);
	cr_assert_eq(run.status, 0, "%s", run.err);
	json_t *o = one_json(&run);
	cr_assert_str_eq(json_string_value(json_object_get(o, "address")), hex);
	cr_assert(json_is_true(json_object_get(o, "imported")));
	json_decref(o);
	RUN_WALLET(&run, "--key", key, "address");
	cr_assert_eq(run.status, 0, "%s", run.err);
	cr_assert_eq(strncmp(run.out, hex, 64), 0);

	/* A member key others may read is refused, as fedledgerd refuses it. */
	cr_assert_eq(chmod(member, 0644), 0);
	RUN_WALLET(&run, "--key", key, "keygen", "--force", "--import", member);
	tool_assert_one_line_failure(&run, 1, "--import");
	RUN_WALLET(&run, "--key", key, "keygen", "--force", "--import", "/nonexistent/member.key");
	tool_assert_one_line_failure(&run, 1, "/nonexistent/member.key");
}

Test(wallet_cli, wrong_passphrase_and_tampered_file_refused)
{
	RUN_WALLET(&run, "--key", key, "keygen");
	cr_assert_eq(run.status, 0, "%s", run.err);

	setenv("FEDLEDGER_PASSPHRASE", "not it", 1);
	RUN_WALLET(&run, "--key", key, "address");
	tool_assert_one_line_failure(&run, 1, "wrong passphrase");
	setenv("FEDLEDGER_PASSPHRASE", "", 1);
	RUN_WALLET(&run, "--key", key, "address");
	tool_assert_one_line_failure(&run, 1, "FEDLEDGER_PASSPHRASE");
	setenv("FEDLEDGER_PASSPHRASE", pass, 1);

	/* Flip one byte of the sealed key in place. */
	FILE *f = fopen(key, "r+b");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 130, SEEK_SET), 0);
	int c = fgetc(f);
	cr_assert_eq(fseek(f, 130, SEEK_SET), 0);
	fputc(c ^ 0x01, f);
	fclose(f);
	RUN_WALLET(&run, "--key", key, "address");
	tool_assert_one_line_failure(&run, 1, "tampered");
	RUN_WALLET(&run, "--key", key, "transfer",
		   "c8bcbfc99a45bb91236c17ae54df6d30d04a3828f635861a4018c3996aad2e33", "5");
	tool_assert_one_line_failure(&run, 1, "tampered");

	RUN_WALLET(&run, "--key", "/nonexistent/w.key", "address");
	tool_assert_one_line_failure(&run, 1, "no such file");
}

Test(wallet_cli, bad_arguments_named)
{
	static const char acct[] =
	    "c8bcbfc99a45bb91236c17ae54df6d30d04a3828f635861a4018c3996aad2e33";
	char bad_profile[256];
	static const struct {
		const char *args[8];
		int status;
		const char *want;
	} cases[] = {
	    {{"frobnicate"}, 2, "frobnicate"},
	    {{"--json"}, 2, "COMMAND"},
	    {{"--bogus", "address"}, 2, "--bogus"},
	    {{"address", "--bogus"}, 2, "--bogus"},
	    {{"address", "extra"}, 2, "extra"},
	    {{"--node", "ftp://x", "balance"}, 2, "--node"},
	    {{"--node"}, 2, "--node"},
	    {{"balance", "--timeout", "0"}, 2, "--timeout"},
	    {{"balance", "zz"}, 2, "ACCOUNT"},
	    {{"balance", "0000000000000000000000000000000000000000000000000000000000000000"},
	     2,
	     "not a public key"},
	    {{"transfer"}, 2, "TO AMOUNT"},
	    {{"transfer", "xyz", "5"}, 2, "TO"},
	    {{"transfer", acct, "0"}, 2, "AMOUNT"},
	    {{"transfer", acct, "1.5"}, 2, "AMOUNT"},
	    {{"transfer", acct, "18446744073709551616"}, 2, "AMOUNT"},
	    {{"transfer", acct, "-5"}, 2, "-5"},
	    {{"bond"}, 2, "AMOUNT"},
	    {{"bond", "abc"}, 2, "AMOUNT"},
	    {{"unbond", "1", "2"}, 2, "'2'"},
	    {{"profile"}, 2, "propose|vote|list|show"},
	    {{"profile", "frob"}, 2, "frob"},
	    {{"profile", "vote", "Bad Id", "yes"}, 2, "ID"},
	    {{"profile", "vote", "clothing", "maybe"}, 2, "maybe"},
	    {{"profile", "vote", "clothing"}, 2, "ID yes|no|retire"},
	    {{"profile", "propose"}, 2, "FILE"},
	    {{"profile", "propose", "/nonexistent/p.json"}, 2, "/nonexistent/p.json"},
	    {{"profile", "propose", "@"}, 2, "schedule.window_blocks"},
	    {{"profile", "show"}, 2, "ID"},
	    {{"profile", "show", "UPPER"}, 2, "ID"},
	    {{"profile", "list", "x"}, 2, "'x'"},
	    {{"rounds"}, 2, "PROFILE"},
	    {{"rounds", "clothing", "--last", "0"}, 2, "--last"},
	    {{"keygen", "--pwhash", "weak"}, 2, "--pwhash"},
	    {{"keygen", "--import"}, 2, "--import"},
	    {{"keygen", "--force=yes"}, 2, "--force"},
	};

	/* A profile whose one bad field the genesis parser names. */
	snprintf(bad_profile, sizeof(bad_profile), "%s/bad.json", tmp);
	tool_test_sed("genesis/examples/profiles/clothing.json",
		      "s/\"window_blocks\": 10/\"window_blocks\": 0/", bad_profile);
	for (size_t c = 0; c < FL_ARRAY_LEN(cases); c++) {
		const char *argv[12];
		size_t n = 0;

		argv[n++] = "--key";
		argv[n++] = key;
		for (size_t k = 0; k < 8 && cases[c].args[k]; k++)
			argv[n++] = strcmp(cases[c].args[k], "@") ? cases[c].args[k] : bad_profile;
		argv[n] = NULL;
		test_run_prog(&run, "fedledger-wallet", argv);
		tool_assert_one_line_failure(&run, cases[c].status, cases[c].want);
	}
	/* Nothing was written: a bad argument never reaches the key file. */
	cr_assert_eq(access(key, F_OK), -1);

	/* No node listening: the node is named, exit 1. */
	RUN_WALLET(&run, "--node", "http://127.0.0.1:1", "balance", acct);
	tool_assert_one_line_failure(&run, 1, "http://127.0.0.1:1");
}

Test(wallet_cli, help_on_every_command)
{
	static const char *const cmds[][3] = {
	    {"--help"},
	    {"keygen", "--help"},
	    {"address", "--help"},
	    {"balance", "--help"},
	    {"transfer", "--help"},
	    {"bond", "--help"},
	    {"unbond", "--help"},
	    {"profile", "--help"},
	    {"profile", "propose", "--help"},
	    {"profile", "vote", "--help"},
	    {"profile", "list", "--help"},
	    {"profile", "show", "--help"},
	    {"rounds", "--help"},
	    /* --help wins over a missing operand or another option. */
	    {"transfer", "--json", "--help"},
	};
	for (size_t i = 0; i < FL_ARRAY_LEN(cmds); i++) {
		const char *argv[4] = {cmds[i][0], cmds[i][1], cmds[i][2], NULL};

		test_run_prog(&run, "fedledger-wallet", argv);
		cr_assert_eq(run.status, 0, "%s %s: %s", cmds[i][0], cmds[i][1], run.err);
		cr_assert_not_null(strstr(run.out, "usage: fedledger-wallet"), "%s %s: %s",
				   cmds[i][0], cmds[i][1], run.out);
		cr_assert_not_null(strstr(run.out, "--no-wait"), "%s: no global options",
				   cmds[i][0]);
		cr_assert_str_empty(run.err);
	}
	/* The usage of a command names the command. */
	RUN_WALLET(&run, "rounds", "--help");
	cr_assert_not_null(strstr(run.out, "rounds PROFILE"));
}
