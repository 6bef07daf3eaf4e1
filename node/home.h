/*
 * node/home.h — a node's home directory (docs/config.md, "The home"):
 *
 *     HOME/config.json        the operator's settings (node/config.h), 0644
 *     HOME/genesis.json       the network's genesis (genesis/genesis.h), 0644
 *     HOME/keys/              0700
 *     HOME/keys/member.key    the member key (core's key file), 0600
 *     HOME/data/              0700: the chain store (data/chain), and by
 *                             default the consensus WAL and the blob store
 *
 * node_home_init makes one (`fedledgerd init`); node_home_open is what the
 * daemon does first: it loads and checks everything above and hands back one
 * struct holding it.
 *
 * Errors: every function that can fail returns 0 or a negative FL_E* code
 * and, when err is not NULL, writes one line (no newline) into err naming the
 * file, and in a JSON file the field, that was wrong:
 *     /srv/n0/config.json: p2p.listen: expected "HOST:PORT", …
 *     /srv/n0/keys/member.key: permissions 0640 are too open: …
 * err is always NUL-terminated when errlen > 0.
 */
#ifndef FEDLEDGER_NODE_HOME_H
#define FEDLEDGER_NODE_HOME_H

#include "chain/chain.h"
#include "core/core.h"
#include "node/config.h"

#define NODE_HOME_CONFIG    "config.json"
#define NODE_HOME_GENESIS   "genesis.json"
#define NODE_HOME_KEYS_DIR  "keys"
#define NODE_HOME_KEY       "keys/member.key"
#define NODE_HOME_DATA_DIR  "data"
#define NODE_HOME_STORE_DIR "data/chain" /* the LMDB environment (chain_store_open) */

#define NODE_HOME_DIR_MAX 1024 /* chars of the home path */
/* Room for any path under a home: HOME "/" and a config directory. */
#define NODE_HOME_PATH_MAX (NODE_HOME_DIR_MAX + 1 + NODE_CONFIG_PATH_MAX)

/* ------------------------------------------------------------------ init */

typedef struct {
	const char *home;    /* the directory; created 0700 if missing. Required. */
	const char *genesis; /* a genesis.json to copy in; NULL = none (add it later) */
	const char *moniker; /* config.json's moniker; NULL = the default */
} node_home_init_opts;

/*
 * Makes a home: the directories (0700), a fresh member key (0600), a default
 * config.json with the moniker, and a copy of the genesis file when given,
 * byte for byte, after genesis_load_string has checked those very bytes
 * (a bad one is refused naming its field). Each new file and directory is
 * fsynced along with the directory holding it.
 *
 * An existing HOME is fine (a directory made for it, say) as long as the
 * files init writes are missing: it never overwrites config.json, the key or
 * genesis.json (when --genesis is given; without it an existing genesis.json
 * is left alone), and refuses naming the first one present (FL_EEXIST).
 * Everything is checked before anything is made, and on a failure after
 * that, what this call made is removed again: no half-made home is left.
 *
 * On success *member_id (may be NULL) is the new key's public key.
 * FL_EINVAL (moniker not printable ASCII or too long, home path too long),
 * FL_EEXIST, FL_ENOTFOUND, FL_EIO, FL_ENOMEM, genesis loading's codes.
 */
int node_home_init(const node_home_init_opts *opts, fl_pubkey *member_id, char *err,
		   size_t errlen) FL_MUST_CHECK;

/* ------------------------------------------------------------------ open */

/* Everything the daemon starts from. The caller owns the struct (it is
 * large: put it in the node's struct or on the heap, not on a small stack). */
typedef struct {
	char dir[NODE_HOME_DIR_MAX + 1];
	char config_path[NODE_HOME_PATH_MAX + 1];
	char genesis_path[NODE_HOME_PATH_MAX + 1];
	char key_path[NODE_HOME_PATH_MAX + 1];
	char data_dir[NODE_HOME_PATH_MAX + 1];
	char store_dir[NODE_HOME_PATH_MAX + 1]; /* for chain_store_open */
	char wal_dir[NODE_HOME_PATH_MAX + 1];   /* config consensus.wal_dir, resolved */
	char blob_dir[NODE_HOME_PATH_MAX + 1];  /* config blobs.dir, resolved */
	node_config config;
	chain_genesis genesis; /* owned: node_home_close frees it */
	fl_hash genesis_hash;
	fl_seckey member_key; /* wiped by node_home_close */
	fl_pubkey member_id;  /* the node id peers dial and pin */
} node_home;

/*
 * Opens the home at dir: config.json through node_config_load, genesis.json
 * through genesis_load_file (full check) and its hash, the member key through
 * node_home_key_load (permissions checked); refuses a persistent peer whose
 * node id is this node's own; then makes data/, the store directory, the WAL
 * and blob directories (and missing parents) with mode 0700, each fsynced
 * into its parent. Relative config directories are taken under dir.
 * On success the caller must node_home_close(h). On failure h holds nothing
 * to release (node_home_close on it is harmless).
 */
int node_home_open(node_home *h, const char *dir, char *err, size_t errlen) FL_MUST_CHECK;

/* Frees the genesis and wipes the key. h may be reused for node_home_open. */
void node_home_close(node_home *h);

/* --------------------------------------------------------------- the key */

/*
 * fl_key_load with messages for a person: a key file that group or others
 * may read or write is refused like ssh refuses one (FL_EPERM), naming the
 * path and its mode ("…: permissions 0640 are too open: …; chmod 600 it");
 * FL_ENOTFOUND names the file and `fedledgerd init`; FL_EPARSE says it is not
 * a key file. pk may be NULL; sk is wiped on failure.
 */
int node_home_key_load(const char *path, fl_seckey *sk, fl_pubkey *pk, char *err,
		       size_t errlen) FL_MUST_CHECK;

/* The node id of the home at dir (its member key's public key), through
 * node_home_key_load: what `fedledgerd show-node-id` prints. */
int node_home_node_id(const char *dir, fl_pubkey *out, char *err, size_t errlen) FL_MUST_CHECK;

#endif
