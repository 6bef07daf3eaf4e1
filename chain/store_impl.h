/*
 * chain/store_impl.h — the LMDB side of chain_store and chain_txn, shared by
 * store.c, store_map.c, txn.c and apphash.c only. The state machine sees neither struct:
 * it works through the chain_txn_* functions of chain/internal.h, so LMDB
 * stays an implementation detail of the store layer.
 */
#ifndef FEDLEDGER_CHAIN_STORE_IMPL_H
#define FEDLEDGER_CHAIN_STORE_IMPL_H

#include "chain/internal.h"

#include <lmdb.h>
#include <pthread.h>

struct chain_store {
	MDB_env *env;
	MDB_dbi dbi[CHAIN_DB_COUNT];
	size_t max_key; /* mdb_env_get_maxkeysize: longer keys are FL_EINVAL */
	/* Which thread holds the write txn, so that a second begin from that
	 * thread fails an assert instead of waiting forever on LMDB's writer
	 * mutex. Set after LMDB grants the txn, cleared before LMDB releases it. */
	pthread_mutex_t writer_lock;
	int writer_open;
	pthread_t writer;
	/* A read txn, reset between uses, that only the holder of the write
	 * txn renews: it sees the state before that txn, where the state hash
	 * finds the values a txn replaced. Its reader slot is taken at open,
	 * so a store whose other slots are all held by snapshots still
	 * applies blocks. */
	MDB_txn *base;
	/* Held shared by every chain_txn for its life and exclusively while
	 * the map grows (store_map.c): LMDB's remap must see no txn open. */
	pthread_rwlock_t map_lock;
	/* Set when LMDB answered MDB_MAP_FULL; chain_store_grow_if_full
	 * takes it. Atomic: a write txn of another thread may set it. */
	int map_full;
	/* Signature checks (verify_pool.c): never consensus state. */
	fl_sigcache *sigcache;
	chain_verify_pool *verify_pool; /* NULL while verify_threads == 1 */
	unsigned verify_threads;
};

/* A key of a state database written by a txn: its bytes sit in the txn's
 * key arena at `off` (an offset, as the arena may move when it grows). */
typedef struct {
	uint8_t db; /* chain_db, < CHAIN_DB_STATE_COUNT */
	uint16_t klen;
	size_t off;
} chain_touch;

struct chain_txn {
	chain_store *store;
	MDB_txn *txn;
	int write;
	/* Every put/del on a state database, in the order made (keys only:
	 * the values before and after are read back when the hash is folded). */
	chain_touch *log;
	size_t n_log;
	size_t cap_log;
	uint64_t reads; /* chain_txn_reads */
	uint8_t *keys;  /* the arena */
	size_t keys_len, keys_cap;
	/* The store's base reader is renewed for this txn (apphash.c). */
	int base_live;
	/* chain_txn_state_hash's last answer and the log length it covered. */
	chain_lthash *hash;
	size_t hash_at;
	/* An admission txn: a read txn whose writes go to this overlay
	 * (overlay.c, not owned); never committed, no change log. */
	chain_overlay *overlay;
};

/* After mdb_env_open, before any txn: the map is at least the data plus
 * headroom (chain_store_map_size_for). */
int chain_store_map_fit(chain_store *s, size_t requested) FL_MUST_CHECK;
/* True while this thread holds a chain_txn of any store (txn.c). */
int chain_txn_held_by_this_thread(void);

/* The overlay's side of chain_txn_get/put/del/scan/get_le
 * (t->overlay != NULL). */
int chain_overlay_get(chain_txn *t, chain_db db, const void *key, size_t klen,
		      const uint8_t **val, size_t *vlen) FL_MUST_CHECK;
int chain_overlay_put(chain_txn *t, chain_db db, const void *key, size_t klen, const void *val,
		      size_t vlen) FL_MUST_CHECK;
int chain_overlay_del(chain_txn *t, chain_db db, const void *key, size_t klen) FL_MUST_CHECK;
int chain_overlay_scan(chain_txn *t, chain_db db, const void *prefix, size_t plen,
		       chain_scan_fn fn, void *ctx) FL_MUST_CHECK;
int chain_overlay_get_le(chain_txn *t, chain_db db, const void *key, size_t klen,
			 const uint8_t **found_key, size_t *found_klen, const uint8_t **val,
			 size_t *vlen) FL_MUST_CHECK;

/* Positions cur on the greatest key <= key (LMDB's order) and reads it into
 * *k, *v: MDB_SUCCESS, MDB_NOTFOUND when every key is greater (or there is
 * none), or another LMDB code. The one seek-le of the store (txn.c), so
 * that chain_txn_get_le and the overlay's merge (which steps on with
 * MDB_PREV from where it leaves the cursor) cannot disagree on it. */
int chain_mdb_seek_le(MDB_cursor *cur, const void *key, size_t klen, MDB_val *k, MDB_val *v);

/* An LMDB return code as an FL_E* code. `what` names the operation in the
 * log line written for anything that becomes FL_EDB. */
int chain_mdb_error(int rc, const char *what);

#endif
