/*
 * chain/store_impl.h — the LMDB side of chain_store and chain_txn, shared by
 * store.c, txn.c and apphash.c only. The state machine sees neither struct:
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
};

/* One state write of a txn, as the change log keeps it. */
typedef struct {
	uint8_t db;      /* chain_db, < CHAIN_DB_STATE_COUNT */
	uint8_t present; /* 1 = put, 0 = delete (tombstone) */
	size_t klen;
	size_t vlen;    /* 0 for a tombstone */
	uint8_t *bytes; /* key then value in one fl_malloc block, owned */
} chain_change;

struct chain_txn {
	chain_store *store;
	MDB_txn *txn;
	int write;
	/* Every put/del on a state database, in the order made. */
	chain_change *log;
	size_t n_log;
	size_t cap_log;
	uint64_t reads; /* chain_txn_reads */
};

/* An LMDB return code as an FL_E* code. `what` names the operation in the
 * log line written for anything that becomes FL_EDB. */
int chain_mdb_error(int rc, const char *what);

#endif
