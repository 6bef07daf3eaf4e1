/*
 * chain/store.c — the chain store: one LMDB environment in a directory with
 * a named database per chain_db (its lookups: snapshot.c, state_get.c).
 *
 * Durability: the environment is opened without MDB_NOSYNC, MDB_NOMETASYNC
 * or MDB_MAPASYNC, so mdb_txn_commit fsyncs the data pages and then the meta
 * page before it returns. LMDB never overwrites a live page (copy-on-write)
 * and flips between two meta pages, so after a SIGKILL or a power loss the
 * store opens at the last transaction whose commit returned, never at half
 * of one. A block is applied in one write transaction (chain.h), so the
 * store always sits at a whole committed height.
 */
#include "chain/store_impl.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const db_names[CHAIN_DB_COUNT] = {
    [CHAIN_DB_ACCOUNTS] = "accounts",
    [CHAIN_DB_VALIDATORS] = "validators",
    [CHAIN_DB_MEMBERS] = "members",
    [CHAIN_DB_PROFILES] = "profiles",
    [CHAIN_DB_ROUNDS] = "rounds",
    [CHAIN_DB_UPDATES] = "updates",
    [CHAIN_DB_JOINS] = "joins",
    [CHAIN_DB_VOTES] = "votes",
    [CHAIN_DB_EVALS] = "evals",
    [CHAIN_DB_REWARDS] = "rewards",
    [CHAIN_DB_PROPOSALS] = "proposals",
    [CHAIN_DB_PROPOSAL_EXPIRY] = "proposal_expiry",
    [CHAIN_DB_ACTIVE_PROFILES] = "active_profiles",
    [CHAIN_DB_STATE_META] = "state_meta",
    [CHAIN_DB_VALSET_HISTORY] = "valset_history",
    [CHAIN_DB_VALSET_PENDING] = "valset_pending",
    [CHAIN_DB_BONDS] = "bonds",
    [CHAIN_DB_UNBONDING] = "unbonding",
    [CHAIN_DB_META] = "meta",
    [CHAIN_DB_BLOCKS] = "blocks",
    [CHAIN_DB_BLOCK_HASHES] = "block_hashes",
    [CHAIN_DB_TXS] = "txs",
};

const char *chain_db_name(chain_db db)
{
	assert((unsigned)db < CHAIN_DB_COUNT);
	return db_names[db];
}

int chain_mdb_error(int rc, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return FL_OK;
	case MDB_NOTFOUND:
		return FL_ENOTFOUND;
	case ENOMEM:
		return FL_ENOMEM;
	case MDB_BAD_VALSIZE:
		/* A key too long for LMDB or of length zero: a bad argument. */
		return FL_EINVAL;
	case MDB_READERS_FULL:
		/* Snapshots and lookups hold a slot each: a bound, not a fault. */
		fl_log(FL_LOG_WARN, "chain",
		       "lmdb %s: MDB_READERS_FULL: all %d reader slots are held by open snapshots "
		       "and lookups",
		       what, CHAIN_STORE_MAX_READERS);
		return FL_ETOOBIG;
	case MDB_MAP_FULL:
		/* chain_apply_block grows the map and retries (store_map.c). */
		fl_log(FL_LOG_WARN, "chain",
		       "lmdb %s: MDB_MAP_FULL: the store reached its map size", what);
		return FL_EDB;
	default:
		fl_log(FL_LOG_ERROR, "chain", "lmdb %s: %s", what, mdb_strerror(rc));
		return FL_EDB;
	}
}

/* Creates (or opens) every named database in one write transaction, so a
 * fresh store is either complete or absent. */
static int store_open_dbs(chain_store *s)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);

	if (rc != MDB_SUCCESS)
		return chain_mdb_error(rc, "begin (open databases)");
	for (int i = 0; i < CHAIN_DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
		if (rc != MDB_SUCCESS) {
			mdb_txn_abort(txn);
			return chain_mdb_error(rc, "dbi_open");
		}
	}
	return chain_mdb_error(mdb_txn_commit(txn), "commit (open databases)");
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = FL_OK;

	if (fd < 0 || fsync(fd) != 0) {
		fl_log(FL_LOG_ERROR, "chain", "store %s: fsync dir: %s", path, strerror(errno));
		rc = FL_EIO;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* LMDB fsyncs its files, not the directory entries that name them: until
 * the directory is synced, a power loss can leave a store without its
 * data.mdb, and one this call created without its own entry in the parent. */
static int sync_dirs(const char *dir, int created)
{
	char parent[4096];
	size_t n = strlen(dir);
	int rc;

	if ((rc = fsync_dir(dir)) != FL_OK || !created)
		return rc;
	if (n >= sizeof(parent))
		return FL_EINVAL;
	memcpy(parent, dir, n + 1);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	while (n > 0 && parent[n - 1] != '/')
		n--;
	if (n == 0)
		return fsync_dir(".");
	while (n > 1 && parent[n - 1] == '/')
		n--;
	parent[n] = '\0';
	return fsync_dir(parent);
}

int chain_store_open(chain_store **out, const char *dir, size_t map_size)
{
	chain_store *s = NULL;
	int rc, created = 1;

	assert(out != NULL && dir != NULL);
	*out = NULL;
	/* Only the last component: a missing parent is an operator error that
	 * a node should report, not paper over. */
	if (mkdir(dir, 0700) != 0) {
		if (errno != EEXIST) {
			fl_log(FL_LOG_ERROR, "chain", "store %s: mkdir: %s", dir, strerror(errno));
			return FL_EIO;
		}
		created = 0;
	}
	s = fl_calloc(1, sizeof(*s));
	if (s == NULL)
		return FL_ENOMEM;
	if (pthread_mutex_init(&s->writer_lock, NULL) != 0) {
		fl_free(s);
		return FL_ENOMEM;
	}
	if (pthread_rwlock_init(&s->map_lock, NULL) != 0) {
		pthread_mutex_destroy(&s->writer_lock);
		fl_free(s);
		return FL_ENOMEM;
	}
	rc = chain_mdb_error(mdb_env_create(&s->env), "env_create");
	if (rc != FL_OK)
		goto cleanup;
	rc = chain_mdb_error(mdb_env_set_maxdbs(s->env, CHAIN_DB_COUNT), "set_maxdbs");
	if (rc != FL_OK)
		goto cleanup;
	rc = chain_mdb_error(mdb_env_set_maxreaders(s->env, CHAIN_STORE_MAX_READERS),
			     "set_maxreaders");
	if (rc != FL_OK)
		goto cleanup;
	rc = chain_mdb_error(mdb_env_set_mapsize(s->env, chain_store_map_size_for(map_size, 0)),
			     "set_mapsize");
	if (rc != FL_OK)
		goto cleanup;
	/* MDB_NOTLS ties a read transaction to its chain_txn rather than to the
	 * thread, so a thread may hold several (a lookup inside a scan) and the
	 * node may hand one to its thread pool. No sync flags: see the top. */
	rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
	if (rc != MDB_SUCCESS) {
		fl_log(FL_LOG_ERROR, "chain", "store %s: open: %s", dir, mdb_strerror(rc));
		rc = rc == ENOMEM ? FL_ENOMEM : FL_EDB;
		goto cleanup;
	}
	s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
	if ((rc = chain_store_map_fit(s, map_size)) != FL_OK)
		goto cleanup;
	rc = store_open_dbs(s);
	if (rc != FL_OK)
		goto cleanup;
	if ((rc = sync_dirs(dir, created)) != FL_OK)
		goto cleanup;
	rc = chain_mdb_error(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->base),
			     "begin (base reader)");
	if (rc != FL_OK)
		goto cleanup;
	mdb_txn_reset(s->base);
	s->verify_threads = 1;
	if ((rc = fl_sigcache_new(&s->sigcache, 0)) != FL_OK)
		goto cleanup;
	*out = s;
	return FL_OK;

cleanup:
	if (s->base != NULL)
		mdb_txn_abort(s->base);
	if (s->env != NULL)
		mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->map_lock);
	pthread_mutex_destroy(&s->writer_lock);
	fl_free(s);
	return rc;
}

void chain_store_close(chain_store *s)
{
	if (s == NULL)
		return;
	assert(!s->writer_open);
	mdb_txn_abort(s->base);
	chain_verify_pool_free(s->verify_pool);
	fl_sigcache_free(s->sigcache);
	mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->map_lock);
	pthread_mutex_destroy(&s->writer_lock);
	fl_free(s);
}

fl_sigcache *chain_store_sigcache(chain_store *s)
{
	assert(s != NULL);
	return s->sigcache;
}

