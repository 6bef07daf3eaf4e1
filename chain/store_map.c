/*
 * chain/store_map.c — the size of the LMDB map: never below the data on
 * open, and grown between transactions when a write finds it full.
 *
 * LMDB alone raises a map smaller than the data to exactly the data's size,
 * which leaves no page for the next write: a store reopened with a small
 * map_size (or with 0 = 1 GiB on a bigger store) failed its next block with
 * MDB_MAP_FULL for good. Here the map is at least the data plus headroom,
 * and a write txn that fills it is aborted, the map grown and the block
 * retried once (apply.c).
 *
 * mdb_env_set_mapsize remaps the file, so no txn of this process may be open
 * while it runs: every chain_txn holds the store's map_lock shared for its
 * life, and growing takes it exclusive.
 */
#include "chain/store_impl.h"

#include <assert.h>

#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

#define STORE_DEFAULT_MAP_SIZE GIB
/* Room left past the data on open: a quarter of it, at least 256 KiB. */
#define STORE_HEADROOM_MIN (256 * 1024)
/* A growth adds the map's size again, between 64 MiB and 1 GiB: doubling
 * while small, linear once big, and one step fits any block (at most
 * CHAIN_MAX_BLOCK_BYTES of block and a bounded set of state writes). */
#define STORE_GROW_MIN (64 * MIB)
#define STORE_GROW_MAX GIB

static size_t add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* The least map that leaves room past `used` bytes of data. */
static size_t data_floor(size_t used)
{
	return add_sat(used, used / 4 > STORE_HEADROOM_MIN ? used / 4 : STORE_HEADROOM_MIN);
}

size_t chain_store_map_size_for(size_t requested, size_t used)
{
	size_t want = requested ? requested : STORE_DEFAULT_MAP_SIZE;

	return want > data_floor(used) ? want : data_floor(used);
}

/* Bytes of the map in use: the pages up to the last one LMDB handed out. */
static int map_used(chain_store *s, size_t *used, size_t *mapsize)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc;

	if ((rc = mdb_env_info(s->env, &info)) != MDB_SUCCESS ||
	    (rc = mdb_env_stat(s->env, &st)) != MDB_SUCCESS)
		return chain_mdb_error(rc, "env_info");
	*used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	*mapsize = info.me_mapsize;
	return FL_OK;
}

int chain_store_map_fit(chain_store *s, size_t requested)
{
	size_t used, cur, want;
	int rc;

	if ((rc = map_used(s, &used, &cur)) != FL_OK)
		return rc;
	want = chain_store_map_size_for(requested, used);
	if (want == cur)
		return FL_OK;
	/* No txn is open yet: the store is not handed out. */
	return chain_mdb_error(mdb_env_set_mapsize(s->env, want), "set_mapsize (open)");
}

size_t chain_store_mapsize(chain_store *s)
{
	MDB_envinfo info;

	assert(s != NULL);
	if (mdb_env_info(s->env, &info) != MDB_SUCCESS)
		return 0;
	return info.me_mapsize;
}

int chain_store_grow_if_full(chain_store *s)
{
	size_t used, cur, step, want;
	int rc;

	assert(s != NULL);
	if (!__atomic_exchange_n(&s->map_full, 0, __ATOMIC_ACQ_REL))
		return 0;
	/* Waiting for our own txns to end would wait forever. */
	if (chain_txn_held_by_this_thread()) {
		fl_log(FL_LOG_ERROR, "chain",
		       "store map full: cannot grow it while this thread holds a transaction "
		       "or snapshot");
		return 0;
	}
	if (pthread_rwlock_wrlock(&s->map_lock) != 0)
		return 0;
	rc = map_used(s, &used, &cur);
	if (rc == FL_OK) {
		step = cur < STORE_GROW_MIN   ? STORE_GROW_MIN
		       : cur > STORE_GROW_MAX ? STORE_GROW_MAX
					      : cur;
		want = add_sat(cur, step);
		if (want < data_floor(used))
			want = data_floor(used);
		rc = chain_mdb_error(mdb_env_set_mapsize(s->env, want), "set_mapsize (grow)");
		if (rc == FL_OK)
			fl_log(FL_LOG_INFO, "chain", "store map grown from %zu to %zu bytes", cur,
			       want);
	}
	pthread_rwlock_unlock(&s->map_lock);
	return rc == FL_OK;
}
