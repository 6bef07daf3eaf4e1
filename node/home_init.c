/*
 * node/home_init.c — making a node's home (`fedledgerd init`, node/home.h).
 *
 * Three phases, so that a refusal never leaves a half-made home: check
 * everything that can be checked without writing (arguments, the genesis
 * file's bytes, that no file init writes is there already); make the
 * directories and files, noting each one made; on a failure in that second
 * phase, remove what was made, newest first.
 */
#include "node/home_internal.h"

#include "genesis/genesis.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What this call made, to take back on failure. */
typedef struct {
	int home, keys, data, key, config, genesis;
} made;

typedef struct {
	char home[NODE_HOME_DIR_MAX + 1];
	char keys[NODE_HOME_PATH_MAX + 1];
	char data[NODE_HOME_PATH_MAX + 1];
	char key[NODE_HOME_PATH_MAX + 1];
	char config[NODE_HOME_PATH_MAX + 1];
	char genesis[NODE_HOME_PATH_MAX + 1];
} layout;

static int set_layout(layout *l, const char *dir, char *err, size_t errlen)
{
	int rc = node__home_dir_set(l->home, dir);

	if (rc == FL_EINVAL)
		return node__home_fail(err, errlen, rc, "--home: must not be empty");
	if (rc != FL_OK || (rc = node__home_path(l->keys, l->home, NODE_HOME_KEYS_DIR)) ||
	    (rc = node__home_path(l->data, l->home, NODE_HOME_DATA_DIR)) ||
	    (rc = node__home_path(l->key, l->home, NODE_HOME_KEY)) ||
	    (rc = node__home_path(l->config, l->home, NODE_HOME_CONFIG)) ||
	    (rc = node__home_path(l->genesis, l->home, NODE_HOME_GENESIS)))
		return node__home_fail(err, errlen, FL_EINVAL, "--home: longer than %d characters",
				       NODE_HOME_DIR_MAX);
	return FL_OK;
}

/* FL_EEXIST naming path if anything (even a dangling link) is there. */
static int must_be_missing(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return node__home_fail(err, errlen, FL_EEXIST,
				       "%s: already exists; not overwriting %s", path, what);
	return FL_OK;
}

static int check_moniker(const char *s, char *err, size_t errlen)
{
	size_t n = strnlen(s, CHAIN_NAME_MAX + 1);

	if (n > CHAIN_NAME_MAX)
		return node__home_fail(err, errlen, FL_EINVAL,
				       "--moniker: longer than %d characters", CHAIN_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return node__home_fail(err, errlen, FL_EINVAL,
					       "--moniker: only printable ASCII is allowed");
	return FL_OK;
}

/* The genesis file's bytes, checked as a node will check them. */
static int read_genesis(const char *path, uint8_t **text, size_t *n, char *err, size_t errlen)
{
	chain_genesis g;
	int rc = fl_file_read(path, text, n, GENESIS_MAX_BYTES);

	if (rc != FL_OK)
		return node__home_fail(err, errlen, rc, "%s: cannot read: %s", path,
				       fl_strerror(rc));
	rc = genesis_load_string(path, (const char *)*text, *n, &g, err, errlen);
	chain_genesis_free(&g);
	if (rc != FL_OK) {
		fl_free(*text);
		*text = NULL;
	}
	return rc;
}

/* Removes what m says was made, newest first; best effort (the error the
 * caller reports is the one that got us here). */
static void take_back(const layout *l, const made *m)
{
	if (m->genesis)
		unlink(l->genesis);
	if (m->config)
		unlink(l->config);
	if (m->key)
		unlink(l->key);
	if (m->data)
		rmdir(l->data);
	if (m->keys)
		rmdir(l->keys);
	if (m->home)
		rmdir(l->home);
	/* The removals are made durable like the creations were; a failure
	 * here changes nothing about the error being reported. */
	if (m->home || m->keys || m->data || m->key || m->config || m->genesis) {
		int synced = node__home_sync_parent(m->home ? l->home : l->config);
		(void)synced;
	}
}

static int make_dir(const char *path, int *created, char *err, size_t errlen)
{
	int rc = node__home_mkdir(path, created);

	if (rc == FL_EEXIST)
		return node__home_fail(err, errlen, rc, "%s: exists and is not a directory", path);
	/* Only the home itself is made: a missing parent is more likely a
	 * typo than a wish for a tree of new directories. */
	if (rc == FL_ENOTFOUND)
		return node__home_fail(
		    err, errlen, rc, "%s: cannot make directory: its parent does not exist", path);
	if (rc != FL_OK)
		return node__home_fail(err, errlen, rc, "%s: cannot make directory: %s", path,
				       fl_strerror(rc));
	return FL_OK;
}

int node_home_init(const node_home_init_opts *opts, fl_pubkey *member_id, char *err, size_t errlen)
{
	uint8_t *genesis_text = NULL;
	size_t genesis_len = 0;
	node_config cfg;
	layout l;
	made m;
	fl_seckey sk;
	fl_pubkey pk;
	int rc;

	assert(opts != NULL && opts->home != NULL);
	memset(&m, 0, sizeof(m));
	memset(&sk, 0, sizeof(sk));
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	/* Phase 1: nothing is written. */
	if ((rc = set_layout(&l, opts->home, err, errlen)) != FL_OK)
		return rc;
	if (opts->moniker != NULL && (rc = check_moniker(opts->moniker, err, errlen)) != FL_OK)
		return rc;
	if (opts->genesis != NULL &&
	    (rc = read_genesis(opts->genesis, &genesis_text, &genesis_len, err, errlen)) != FL_OK)
		return rc;
	if ((rc = must_be_missing(l.key, "a member key", err, errlen)) ||
	    (rc = must_be_missing(l.config, "it", err, errlen)) ||
	    (opts->genesis != NULL && (rc = must_be_missing(l.genesis, "it", err, errlen))))
		goto cleanup;
	node_config_default(&cfg);
	if (opts->moniker != NULL)
		snprintf(cfg.moniker, sizeof(cfg.moniker), "%s", opts->moniker);

	/* Phase 2: each step noted in m. */
	if ((rc = make_dir(l.home, &m.home, err, errlen)) ||
	    (rc = make_dir(l.keys, &m.keys, err, errlen)) ||
	    (rc = make_dir(l.data, &m.data, err, errlen)))
		goto cleanup;
	if ((rc = fl_key_generate(&sk, &pk)) != FL_OK) {
		rc = node__home_fail(err, errlen, rc, "cannot generate a key: %s", fl_strerror(rc));
		goto cleanup;
	}
	/* Never overwrite (link, not rename, inside fl_key_save): a second
	 * init racing this one finds the key there and fails here. Any other
	 * failure means the name was free, so whatever is there now (a key
	 * placed before its directory sync failed, say) is ours to remove. */
	rc = fl_key_save(l.key, &sk, 0);
	m.key = rc != FL_EEXIST;
	if (rc == FL_EEXIST) {
		rc = node__home_fail(err, errlen, rc,
				     "%s: already exists; not overwriting a member key", l.key);
		goto cleanup;
	}
	if (rc != FL_OK) {
		rc = node__home_fail(err, errlen, rc, "%s: cannot write: %s", l.key,
				     fl_strerror(rc));
		goto cleanup;
	}
	/* Both checked missing: a failed write may still have placed them. */
	m.config = 1;
	if ((rc = node_config_write(l.config, &cfg, err, errlen)) != FL_OK)
		goto cleanup;
	if (genesis_text != NULL) {
		m.genesis = 1;
		rc = fl_file_write_atomic(l.genesis, genesis_text, genesis_len, 0644);
		if (rc != FL_OK) {
			rc = node__home_fail(err, errlen, rc, "%s: cannot write: %s", l.genesis,
					     fl_strerror(rc));
			goto cleanup;
		}
	}
	if (member_id != NULL)
		*member_id = pk;
	rc = FL_OK;

cleanup:
	if (rc != FL_OK)
		take_back(&l, &m);
	fl_wipe(&sk, sizeof(sk));
	fl_free(genesis_text);
	return rc;
}
