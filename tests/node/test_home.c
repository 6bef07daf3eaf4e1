/*
 * tests/node/test_home.c — node_home_init and node_home_open through their
 * header: the layout and its modes, the key's permission check, a bad
 * config or genesis named, nothing half-made left by a refused init.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "genesis/genesis.h"
#include "tests/node/home_helpers.h"

static char dir[64], path[NODE_HOME_PATH_MAX + 1], err[NODE_CONFIG_ERR_MAX];
static node_home home;

static void up(void)
{
	hh_scratch(dir, sizeof(dir));
}

static void down(void)
{
	node_home_close(&home);
	hh_remove(dir);
}

TestSuite(home, .init = up, .fini = down);

/* Entries in a directory other than . and .. */
static int entries(const char *d)
{
	char cmd[NODE_HOME_PATH_MAX + 32];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", d);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	for (int ch; (ch = fgetc(p)) != EOF;)
		n += ch == '\n';
	pclose(p);
	return n;
}

Test(home, init_then_open)
{
	char hdir[96];
	fl_pubkey id, from_file;
	fl_seckey sk;
	chain_genesis g;
	fl_hash h;

	/* A home that does not exist yet is made 0700. */
	snprintf(hdir, sizeof(hdir), "%s/n0", dir);
	hh_init(hdir, &id);
	cr_assert_eq(hh_mode(hdir), 0700);
	hh_path(path, hdir, "keys");
	cr_assert_eq(hh_mode(path), 0700);
	hh_path(path, hdir, "data");
	cr_assert_eq(hh_mode(path), 0700);
	hh_path(path, hdir, "config.json");
	cr_assert_eq(hh_mode(path), 0644);
	hh_path(path, hdir, "genesis.json");
	cr_assert_eq(hh_mode(path), 0644);
	hh_path(path, hdir, "keys/member.key");
	cr_assert_eq(hh_mode(path), 0600);
	cr_assert_eq(fl_key_load(path, &sk, &from_file), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&id, &from_file), 0);

	cr_assert_eq(node_home_open(&home, hdir, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(fl_pubkey_cmp(&home.member_id, &id), 0);
	cr_assert_eq(memcmp(&home.member_key, &sk, sizeof(sk)), 0);
	cr_assert_str_eq(home.config.moniker, "n0");
	cr_assert_str_eq(home.genesis.chain_id, "fedledger-fashion-1");
	cr_assert_eq(genesis_load_file(HH_GENESIS, &g, err, sizeof(err)), FL_OK);
	cr_assert_eq(chain_genesis_hash(&h, &g), FL_OK);
	chain_genesis_free(&g);
	cr_assert_eq(fl_hash_cmp(&h, &home.genesis_hash), 0, "the copy is the file given");
	hh_path(path, hdir, "data/wal");
	cr_assert_str_eq(home.wal_dir, path);
	cr_assert_eq(hh_mode(path), 0700);
	hh_path(path, hdir, "data/blobs");
	cr_assert_str_eq(home.blob_dir, path);
	cr_assert_eq(hh_mode(path), 0700);
	hh_path(path, hdir, "data/chain");
	cr_assert_str_eq(home.store_dir, path);
	cr_assert_eq(hh_mode(path), 0700);
	fl_wipe(&sk, sizeof(sk));

	/* Opening again finds everything in place. */
	node_home_close(&home);
	cr_assert_eq(node_home_open(&home, hdir, err, sizeof(err)), FL_OK, "%s", err);
}

Test(home, init_into_an_existing_empty_directory_and_a_trailing_slash)
{
	char slashed[96];
	fl_pubkey id;

	snprintf(slashed, sizeof(slashed), "%s//", dir);
	hh_init(slashed, &id);
	cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_str_eq(home.dir, dir);
	cr_assert_eq(fl_pubkey_cmp(&home.member_id, &id), 0);
}

Test(home, a_key_others_can_read_or_write_is_refused_naming_path_and_mode)
{
	static const mode_t modes[] = {0640, 0604, 0620, 0602, 0610, 0601};
	char want[NODE_HOME_PATH_MAX + 64];
	fl_pubkey id;

	hh_init(dir, &id);
	hh_path(path, dir, "keys/member.key");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		cr_assert_eq(chmod(path, modes[i]), 0);
		cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_EPERM, "mode %o",
			     (unsigned)modes[i]);
		snprintf(want, sizeof(want), "%s: permissions %04o are too open", path,
			 (unsigned)modes[i]);
		cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
		cr_assert_not_null(strstr(err, "chmod 600"), "%s", err);
		cr_assert(memcmp(&home.member_key, &(fl_seckey){{0}}, sizeof(fl_seckey)) == 0);
	}
	cr_assert_eq(chmod(path, 0400), 0, "read-only for the owner is fine");
	cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_OK, "%s", err);
}

Test(home, a_bad_config_field_is_named)
{
	char want[NODE_HOME_PATH_MAX + 64];
	fl_pubkey id;

	hh_init(dir, &id);
	hh_path(path, dir, "config.json");
	hh_write(path, "{\"log\": {\"modules\": {\"chain\": \"loud\"}}}\n");
	cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_EINVAL);
	snprintf(want, sizeof(want), "%s: log.modules.chain: unknown level \"loud\"", path);
	cr_assert_str_eq(err, want);

	hh_write(path, "{\"p2p\": {\"listen\": \"26656\"}}");
	cr_assert_lt(node_home_open(&home, dir, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s: p2p.listen: expected \"HOST:PORT\"", path);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);

	unlink(path);
	cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_ENOTFOUND);
	cr_assert_not_null(strstr(err, path), "%s", err);
}

Test(home, its_own_id_as_a_persistent_peer_is_refused)
{
	char hex[FL_PUBKEY_HEX_LEN + 1], text[256];
	fl_pubkey id;

	hh_init(dir, &id);
	fl_pubkey_to_hex(hex, &id);
	snprintf(text, sizeof(text), "{\"p2p\": {\"persistent_peers\": [\"%s@127.0.0.1:26656\"]}}",
		 hex);
	hh_path(path, dir, "config.json");
	hh_write(path, text);
	cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_EINVAL);
	cr_assert_not_null(strstr(err, "p2p.persistent_peers[0]: is this node's own id"), "%s",
			   err);
}

Test(home, a_missing_or_bad_genesis_is_named_at_open)
{
	char want[NODE_HOME_PATH_MAX + 64];
	node_home_init_opts opts = {.home = dir};
	fl_pubkey id;

	cr_assert_eq(node_home_init(&opts, &id, err, sizeof(err)), FL_OK, "%s", err);
	hh_path(path, dir, "genesis.json");
	cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_ENOTFOUND);
	snprintf(want, sizeof(want), "%s: cannot read", path);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
	hh_write(path, "{\"chain_id\": 5}");
	cr_assert_lt(node_home_open(&home, dir, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s: chain_id:", path);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
}

Test(home, config_directories_relative_absolute_and_nested)
{
	char abs_dir[128], text[512];
	fl_pubkey id;

	hh_init(dir, &id);
	snprintf(abs_dir, sizeof(abs_dir), "%s/elsewhere/blobs", dir);
	snprintf(
	    text, sizeof(text),
	    "{\"consensus\": {\"wal_dir\": \"data/deep/er/wal\"}, \"blobs\": {\"dir\": \"%s\"}}",
	    abs_dir);
	hh_path(path, dir, "config.json");
	hh_write(path, text);
	cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_OK, "%s", err);
	hh_path(path, dir, "data/deep/er/wal");
	cr_assert_str_eq(home.wal_dir, path);
	cr_assert_eq(hh_mode(path), 0700);
	cr_assert_str_eq(home.blob_dir, abs_dir);
	cr_assert_eq(hh_mode(abs_dir), 0700);

	/* A file where a directory must go is named with its field. */
	node_home_close(&home);
	hh_path(path, dir, "data/blobfile");
	hh_write(path, "x");
	hh_path(path, dir, "config.json");
	hh_write(path, "{\"blobs\": {\"dir\": \"data/blobfile\"}}");
	cr_assert_eq(node_home_open(&home, dir, err, sizeof(err)), FL_EEXIST);
	cr_assert_not_null(strstr(err, "blobs.dir: cannot make directory"), "%s", err);
	cr_assert_not_null(strstr(err, "not a directory"), "%s", err);
}

Test(home, init_never_overwrites)
{
	char want[NODE_HOME_PATH_MAX + 64];
	node_home_init_opts opts = {.home = dir, .genesis = HH_GENESIS};
	fl_pubkey id, again;
	fl_seckey sk;

	hh_init(dir, &id);
	cr_assert_eq(node_home_init(&opts, &again, err, sizeof(err)), FL_EEXIST);
	hh_path(path, dir, "keys/member.key");
	snprintf(want, sizeof(want), "%s: already exists; not overwriting a member key", path);
	cr_assert_str_eq(err, want);
	cr_assert_eq(fl_key_load(path, &sk, &again), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&id, &again), 0, "the first key is still there");
	fl_wipe(&sk, sizeof(sk));

	/* Key gone, config still there: refused naming the config, and the
	 * refusal makes nothing (no new key). */
	unlink(path);
	cr_assert_eq(node_home_init(&opts, &again, err, sizeof(err)), FL_EEXIST);
	hh_path(path, dir, "config.json");
	snprintf(want, sizeof(want), "%s: already exists; not overwriting it", path);
	cr_assert_str_eq(err, want);
	hh_path(path, dir, "keys/member.key");
	cr_assert_neq(access(path, F_OK), 0);
}

Test(home, a_bad_genesis_at_init_leaves_nothing_behind)
{
	char hdir[96], gpath[128];
	node_home_init_opts opts = {.home = hdir, .genesis = gpath};
	fl_pubkey id;

	snprintf(hdir, sizeof(hdir), "%s/n0", dir);
	snprintf(gpath, sizeof(gpath), "%s/bad-genesis.json", dir);
	hh_write(gpath, "{\"chain_id\": \"x\", \"validators\": []}");
	cr_assert_lt(node_home_init(&opts, &id, err, sizeof(err)), 0);
	cr_assert_eq(strncmp(err, gpath, strlen(gpath)), 0, "names the file: %s", err);
	cr_assert_neq(access(hdir, F_OK), 0, "no home made");

	/* Into an existing empty directory: it stays empty. */
	cr_assert_eq(mkdir(hdir, 0755), 0);
	cr_assert_lt(node_home_init(&opts, &id, err, sizeof(err)), 0);
	cr_assert_eq(entries(hdir), 0);
	cr_assert_eq(hh_mode(hdir), 0755, "left as it was");

	/* A genesis file that does not exist. */
	snprintf(gpath, sizeof(gpath), "%s/missing.json", dir);
	cr_assert_eq(node_home_init(&opts, &id, err, sizeof(err)), FL_ENOTFOUND);
	cr_assert_eq(entries(hdir), 0);
}

Test(home, a_failure_at_any_step_takes_everything_back)
{
	char hdir[96];
	node_home_init_opts opts = {.home = hdir, .genesis = HH_GENESIS};
	unsigned long n;
	fl_pubkey id;
	int rc = FL_ENOMEM;

	/* The Nth allocation fails, for every N until init gets through:
	 * each failure is reported and leaves no home behind. */
	snprintf(hdir, sizeof(hdir), "%s/n0", dir);
	for (n = 1; n < 100000 && rc != FL_OK; n++) {
		fl_alloc_fail_after(n);
		rc = node_home_init(&opts, &id, err, sizeof(err));
		fl_alloc_fail_after(0);
		if (rc != FL_OK) {
			cr_assert_neq(err[0], '\0');
			cr_assert_neq(access(hdir, F_OK), 0, "allocation %lu: %s left behind", n,
				      hdir);
		}
	}
	cr_assert_eq(rc, FL_OK);
	cr_assert_gt(n, 3, "failures after the first directory were tried");
	cr_assert_eq(node_home_open(&home, hdir, err, sizeof(err)), FL_OK, "%s", err);

	/* keys is a file where init needs a directory, in a home that was
	 * there before: refused, and the file stays the only entry. */
	hh_remove(hdir);
	cr_assert_eq(mkdir(hdir, 0700), 0);
	hh_path(path, hdir, "keys");
	hh_write(path, "not a directory");
	cr_assert_eq(node_home_init(&opts, &id, err, sizeof(err)), FL_EEXIST);
	cr_assert_not_null(strstr(err, "keys: exists and is not a directory"), "%s", err);
	cr_assert_eq(entries(hdir), 1);
}

Test(home, arguments)
{
	node_home_init_opts opts = {.home = dir, .moniker = "tab\there"};
	char long_home[NODE_HOME_DIR_MAX + 8];
	fl_pubkey id;

	cr_assert_eq(node_home_init(&opts, &id, err, sizeof(err)), FL_EINVAL);
	cr_assert_str_eq(err, "--moniker: only printable ASCII is allowed");
	opts.moniker = "0123456789012345678901234567890123456789012345678901234567890123x";
	cr_assert_eq(node_home_init(&opts, &id, err, sizeof(err)), FL_EINVAL);
	cr_assert_eq(entries(dir), 0);
	opts.moniker = NULL;
	opts.home = "";
	cr_assert_eq(node_home_init(&opts, &id, err, sizeof(err)), FL_EINVAL);
	memset(long_home, 'a', sizeof(long_home) - 1);
	long_home[sizeof(long_home) - 1] = '\0';
	opts.home = long_home;
	cr_assert_lt(node_home_init(&opts, &id, err, sizeof(err)), 0);
	cr_assert_lt(node_home_open(&home, long_home, err, sizeof(err)), 0);
	cr_assert_lt(node_home_node_id(long_home, &id, err, sizeof(err)), 0);
}
