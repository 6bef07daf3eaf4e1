/*
 * node/home.c — opening a node's home: config, genesis and member key
 * loaded and checked, data directories made (node/home.h).
 */
#include "node/home_internal.h"

#include "genesis/genesis.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* "PATH: permissions 0640 are too open…", in ssh's words. */
static int too_open(const char *path, mode_t mode, char *err, size_t errlen)
{
	return node__home_fail(err, errlen, FL_EPERM,
			       "%s: permissions %04o are too open: group or others may read or "
			       "write this key (chmod 600 %s)",
			       path, (unsigned)(mode & 07777), path);
}

int node_home_key_load(const char *path, fl_seckey *sk, fl_pubkey *pk, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	assert(path != NULL && sk != NULL);
	/* fl_key_load checks the mode on the descriptor it reads, which is
	 * what makes the check sound; this stat is only there to tell the
	 * operator which mode it found. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		memset(sk, 0, sizeof(*sk));
		return too_open(path, st.st_mode, err, errlen);
	}
	rc = fl_key_load(path, sk, pk);
	switch (rc) {
	case FL_OK:
		return FL_OK;
	case FL_ENOTFOUND:
		return node__home_fail(
		    err, errlen, rc, "%s: no member key here (make a home with 'fedledgerd init')",
		    path);
	case FL_EPERM:
		/* Made too open between the stat and the open. */
		return too_open(path, stat(path, &st) == 0 ? st.st_mode : 0077, err, errlen);
	case FL_EPARSE:
	case FL_EINVAL:
		return node__home_fail(err, errlen, rc, "%s: not a fedledger key file", path);
	default:
		return node__home_fail(err, errlen, rc, "%s: cannot read: %s", path,
				       fl_strerror(rc));
	}
}

int node_home_node_id(const char *dir, fl_pubkey *out, char *err, size_t errlen)
{
	char home[NODE_HOME_DIR_MAX + 1], path[NODE_HOME_PATH_MAX + 1];
	fl_seckey sk;
	int rc;

	assert(dir != NULL && out != NULL);
	if ((rc = node__home_dir_set(home, dir)) != FL_OK ||
	    (rc = node__home_path(path, home, NODE_HOME_KEY)) != FL_OK)
		return node__home_fail(err, errlen, rc, "--home: %s",
				       rc == FL_EINVAL ? "must not be empty" : "path too long");
	rc = node_home_key_load(path, &sk, out, err, errlen);
	fl_wipe(&sk, sizeof(sk));
	return rc;
}

void node_home_close(node_home *h)
{
	assert(h != NULL);
	chain_genesis_free(&h->genesis);
	memset(&h->genesis, 0, sizeof(h->genesis));
	fl_wipe(&h->member_key, sizeof(h->member_key));
}

/* A data directory (and its missing parents), naming it on failure; `what`
 * is the config field it comes from, or NULL for the fixed ones. */
static int make_dir(const char *path, const char *config_path, const char *what, char *err,
		    size_t errlen)
{
	int rc = node__home_mkdirs(path);

	if (rc == FL_OK)
		return FL_OK;
	if (what != NULL)
		return node__home_fail(err, errlen, rc, "%s: %s: cannot make directory %s: %s",
				       config_path, what, path,
				       rc == FL_EEXIST ? "not a directory" : fl_strerror(rc));
	return node__home_fail(err, errlen, rc, "%s: cannot make directory: %s", path,
			       rc == FL_EEXIST ? "not a directory" : fl_strerror(rc));
}

/* The fixed paths and the config's directories, resolved under dir. */
static int set_paths(node_home *h, char *err, size_t errlen)
{
	int rc;

	if ((rc = node__home_path(h->config_path, h->dir, NODE_HOME_CONFIG)) ||
	    (rc = node__home_path(h->genesis_path, h->dir, NODE_HOME_GENESIS)) ||
	    (rc = node__home_path(h->key_path, h->dir, NODE_HOME_KEY)) ||
	    (rc = node__home_path(h->data_dir, h->dir, NODE_HOME_DATA_DIR)) ||
	    (rc = node__home_path(h->store_dir, h->dir, NODE_HOME_STORE_DIR)))
		return node__home_fail(err, errlen, rc, "%s: home path too long", h->dir);
	return FL_OK;
}

static int set_config_dirs(node_home *h, char *err, size_t errlen)
{
	if (node__home_path(h->wal_dir, h->dir, h->config.consensus.wal_dir) != FL_OK)
		return node__home_fail(err, errlen, FL_ETOOBIG,
				       "%s: consensus.wal_dir: path too long under %s",
				       h->config_path, h->dir);
	if (node__home_path(h->blob_dir, h->dir, h->config.blobs.dir) != FL_OK)
		return node__home_fail(err, errlen, FL_ETOOBIG,
				       "%s: blobs.dir: path too long under %s", h->config_path,
				       h->dir);
	return FL_OK;
}

int node_home_open(node_home *h, const char *dir, char *err, size_t errlen)
{
	int rc;

	assert(h != NULL && dir != NULL);
	memset(h, 0, sizeof(*h));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((rc = node__home_dir_set(h->dir, dir)) != FL_OK)
		return node__home_fail(err, errlen, rc, "--home: %s",
				       rc == FL_EINVAL ? "must not be empty" : "path too long");
	if ((rc = set_paths(h, err, errlen)) != FL_OK)
		goto cleanup;
	if ((rc = node_config_load(&h->config, h->config_path, err, errlen)) != FL_OK)
		goto cleanup;
	if ((rc = set_config_dirs(h, err, errlen)) != FL_OK)
		goto cleanup;
	if ((rc = genesis_load_file(h->genesis_path, &h->genesis, err, errlen)) != FL_OK)
		goto cleanup;
	if ((rc = chain_genesis_hash(&h->genesis_hash, &h->genesis)) != FL_OK) {
		rc = node__home_fail(err, errlen, rc, "%s: cannot hash: %s", h->genesis_path,
				     fl_strerror(rc));
		goto cleanup;
	}
	if ((rc = node_home_key_load(h->key_path, &h->member_key, &h->member_id, err, errlen)))
		goto cleanup;
	/* Dialling ourselves would only ever fail the handshake, forever. */
	for (uint32_t i = 0; i < h->config.p2p.n_persistent_peers; i++) {
		if (fl_pubkey_cmp(&h->config.p2p.persistent_peers[i].id, &h->member_id) == 0) {
			rc = node__home_fail(err, errlen, FL_EINVAL,
					     "%s: p2p.persistent_peers[%u]: is this node's own id "
					     "(%s)",
					     h->config_path, (unsigned)i, h->key_path);
			goto cleanup;
		}
	}
	if ((rc = make_dir(h->data_dir, h->config_path, NULL, err, errlen)) ||
	    (rc = make_dir(h->store_dir, h->config_path, NULL, err, errlen)) ||
	    (rc = make_dir(h->wal_dir, h->config_path, "consensus.wal_dir", err, errlen)) ||
	    (rc = make_dir(h->blob_dir, h->config_path, "blobs.dir", err, errlen)))
		goto cleanup;
	return FL_OK;

cleanup:
	node_home_close(h);
	return rc;
}
