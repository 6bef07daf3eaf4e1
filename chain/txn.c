/*
 * chain/txn.c — transactions on the chain store. A thin layer over LMDB's
 * own transactions that adds two things: error codes of this project, and a
 * log of the state keys each write txn touched, from which
 * chain_txn_state_hash (apphash.c) folds what the txn changed into the
 * state hash, which commit stores.
 */
#include "chain/store_impl.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

/* Records (open) or forgets the thread that holds the write txn. */
static void txn_mark_writer(chain_store *s, int open)
{
	pthread_mutex_lock(&s->writer_lock);
	s->writer_open = open;
	s->writer = pthread_self();
	pthread_mutex_unlock(&s->writer_lock);
}

static int txn_writer_is_me(chain_store *s)
{
	int me;

	pthread_mutex_lock(&s->writer_lock);
	me = s->writer_open && pthread_equal(s->writer, pthread_self());
	pthread_mutex_unlock(&s->writer_lock);
	return me;
}

/* How many chain_txns this thread holds, of any store: a thread that holds
 * one must not wait for the map to be free of them (store_map.c). */
static _Thread_local unsigned txns_held;

int chain_txn_held_by_this_thread(void)
{
	return txns_held > 0;
}

static void map_enter(chain_store *s)
{
	pthread_rwlock_rdlock(&s->map_lock);
	txns_held++;
}

static void map_leave(chain_store *s)
{
	txns_held--;
	pthread_rwlock_unlock(&s->map_lock);
}

/* Any LMDB answer of a write: MAP_FULL is remembered for the retry. */
static int write_error(chain_store *s, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL)
		__atomic_store_n(&s->map_full, 1, __ATOMIC_RELEASE);
	return chain_mdb_error(rc, what);
}

int chain_txn_begin(chain_store *s, int write, chain_txn **out)
{
	chain_txn *t;
	int rc;

	assert(s != NULL && out != NULL);
	/* LMDB would wait on its writer mutex for this very thread. */
	assert(!(write && txn_writer_is_me(s)));
	*out = NULL;
	t = fl_calloc(1, sizeof(*t));
	if (t == NULL)
		return FL_ENOMEM;
	map_enter(s);
	rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
	if (rc != MDB_SUCCESS) {
		map_leave(s);
		fl_free(t);
		return chain_mdb_error(rc, "txn_begin");
	}
	t->store = s;
	t->write = write != 0;
	if (t->write)
		txn_mark_writer(s, 1);
	*out = t;
	return FL_OK;
}

/* Before LMDB's txn ends: once it releases the writer lock, the next
 * writer may renew the base reader, which must be reset by then. */
static void base_release(chain_txn *t)
{
	if (t->base_live) {
		mdb_txn_reset(t->store->base);
		t->base_live = 0;
	}
}

/* After LMDB's txn has ended. */
static void txn_free(chain_txn *t)
{
	map_leave(t->store);
	fl_free(t->log);
	fl_free(t->keys);
	fl_free(t->hash);
	fl_free(t);
}

/* The state hash goes into META in the txn it describes, so the stored
 * value and the state never disagree after a crash. */
static int txn_store_state_hash(chain_txn *t)
{
	uint8_t bytes[CHAIN_LTHASH_BYTES];
	chain_lthash h;
	int rc;

	if ((rc = chain_txn_state_hash(t, &h)) != FL_OK)
		return rc;
	chain_lthash_to_bytes(bytes, &h);
	return chain_txn_put(t, CHAIN_DB_META, CHAIN_META_STATE_LTHASH,
			     strlen(CHAIN_META_STATE_LTHASH), bytes, sizeof(bytes));
}

int chain_txn_commit(chain_txn *t)
{
	int rc;

	assert(t != NULL && t->txn != NULL && t->overlay == NULL);
	if (t->write && t->n_log > 0 && (rc = txn_store_state_hash(t)) != FL_OK) {
		chain_txn_abort(t);
		return rc;
	}
	/* Cleared while LMDB's writer mutex is still held: no other thread can
	 * have set it in between. */
	if (t->write)
		txn_mark_writer(t->store, 0);
	base_release(t);
	/* LMDB frees its txn whatever the outcome; with the default sync flags
	 * a success means the data and meta pages are on disk (store.c). */
	rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	rc = write_error(t->store, rc, "commit");
	txn_free(t);
	return rc;
}

void chain_txn_abort(chain_txn *t)
{
	if (t == NULL)
		return;
	if (t->write)
		txn_mark_writer(t->store, 0);
	base_release(t);
	mdb_txn_abort(t->txn);
	txn_free(t);
}

/* LMDB refuses empty keys and keys over its compiled-in maximum with
 * MDB_BAD_VALSIZE; checking first keeps the log free of entries that
 * could never have been written. */
static int txn_key_ok(const chain_txn *t, size_t klen)
{
	return klen > 0 && klen <= t->store->max_key;
}

int chain_txn_get(chain_txn *t, chain_db db, const void *key, size_t klen, const uint8_t **val,
		  size_t *vlen)
{
	MDB_val k, v;
	int rc;

	assert(t != NULL && t->txn != NULL && key != NULL && val != NULL && vlen != NULL);
	assert((unsigned)db < CHAIN_DB_COUNT);
	if (t->overlay != NULL)
		return chain_overlay_get(t, db, key, klen, val, vlen);
	*val = NULL;
	*vlen = 0;
	if (!txn_key_ok(t, klen))
		return FL_EINVAL;
	k.mv_size = klen;
	k.mv_data = (void *)key;
	t->reads++;
	rc = mdb_get(t->txn, t->store->dbi[db], &k, &v);
	if (rc != MDB_SUCCESS)
		return chain_mdb_error(rc, "get");
	*val = v.mv_data;
	*vlen = v.mv_size;
	return FL_OK;
}

static int grow(void **p, size_t *cap, size_t need, size_t item)
{
	size_t c = *cap ? *cap : 16;
	void *q;

	while (c < need) {
		if (c > SIZE_MAX / 2)
			return FL_ENOMEM;
		c *= 2;
	}
	if (c == *cap)
		return FL_OK;
	if (c > SIZE_MAX / item)
		return FL_ENOMEM;
	q = fl_realloc(*p, c * item);
	if (q == NULL)
		return FL_ENOMEM;
	*p = q;
	*cap = c;
	return FL_OK;
}

/* Appends the key of a state write to the log. Done before the LMDB write
 * so that an allocation failure leaves both untouched; a failed LMDB write
 * then takes its entry back with log_pop. */
static int log_push(chain_txn *t, chain_db db, const void *key, size_t klen)
{
	chain_touch *c;
	int rc;

	if ((rc = grow((void **)&t->log, &t->cap_log, t->n_log + 1, sizeof(*t->log))) != FL_OK ||
	    (rc = grow((void **)&t->keys, &t->keys_cap, t->keys_len + klen, 1)) != FL_OK)
		return rc;
	memcpy(t->keys + t->keys_len, key, klen);
	c = &t->log[t->n_log++];
	c->db = (uint8_t)db;
	c->klen = (uint16_t)klen;
	c->off = t->keys_len;
	t->keys_len += klen;
	return FL_OK;
}

/* The key is the last one logged (a rule re-writing the account the nonce
 * bump just wrote, as a transfer does): logging it again would only give
 * the fold's sort more to do. The cached hash no longer covers the txn. */
static int log_repeats(chain_txn *t, chain_db db, const void *key, size_t klen)
{
	const chain_touch *c;

	if (t->n_log == 0)
		return 0;
	c = &t->log[t->n_log - 1];
	if (c->db != (uint8_t)db || c->klen != klen || memcmp(t->keys + c->off, key, klen) != 0)
		return 0;
	t->hash_at = SIZE_MAX;
	return 1;
}

static void log_pop(chain_txn *t)
{
	assert(t->n_log > 0);
	t->keys_len -= t->log[--t->n_log].klen;
}

int chain_txn_put(chain_txn *t, chain_db db, const void *key, size_t klen, const void *val,
		  size_t vlen)
{
	int logged = (unsigned)db < CHAIN_DB_STATE_COUNT;
	MDB_val k, v;
	int rc;

	assert(t != NULL && t->txn != NULL && key != NULL && (val != NULL || vlen == 0));
	assert((unsigned)db < CHAIN_DB_COUNT);
	if (t->overlay != NULL)
		return chain_overlay_put(t, db, key, klen, val, vlen);
	if (!t->write || !txn_key_ok(t, klen))
		return FL_EINVAL;
	logged = logged && !log_repeats(t, db, key, klen);
	if (logged) {
		rc = log_push(t, db, key, klen);
		if (rc != FL_OK)
			return rc;
	}
	k.mv_size = klen;
	k.mv_data = (void *)key;
	v.mv_size = vlen;
	/* LMDB copies mv_size bytes from mv_data; never hand it NULL. */
	v.mv_data = vlen > 0 ? (void *)val : (void *)"";
	rc = mdb_put(t->txn, t->store->dbi[db], &k, &v, 0);
	if (rc != MDB_SUCCESS) {
		if (logged)
			log_pop(t);
		return write_error(t->store, rc, "put");
	}
	return FL_OK;
}

int chain_txn_del(chain_txn *t, chain_db db, const void *key, size_t klen)
{
	int logged = (unsigned)db < CHAIN_DB_STATE_COUNT;
	MDB_val k;
	int rc;

	assert(t != NULL && t->txn != NULL && key != NULL);
	assert((unsigned)db < CHAIN_DB_COUNT);
	if (t->overlay != NULL)
		return chain_overlay_del(t, db, key, klen);
	if (!t->write || !txn_key_ok(t, klen))
		return FL_EINVAL;
	/* Logged even when the key is absent: the fold then finds it absent
	 * before and after, which changes nothing. */
	logged = logged && !log_repeats(t, db, key, klen);
	if (logged) {
		rc = log_push(t, db, key, klen);
		if (rc != FL_OK)
			return rc;
	}
	k.mv_size = klen;
	k.mv_data = (void *)key;
	rc = mdb_del(t->txn, t->store->dbi[db], &k, NULL);
	if (rc == MDB_NOTFOUND)
		rc = MDB_SUCCESS;
	if (rc != MDB_SUCCESS) {
		if (logged)
			log_pop(t);
		return write_error(t->store, rc, "del");
	}
	return FL_OK;
}

int chain_txn_scan(chain_txn *t, chain_db db, const void *prefix, size_t plen, chain_scan_fn fn,
		   void *ctx)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	assert(t != NULL && t->txn != NULL && fn != NULL && (prefix != NULL || plen == 0));
	assert((unsigned)db < CHAIN_DB_COUNT);
	if (t->overlay != NULL)
		return chain_overlay_scan(t, db, prefix, plen, fn, ctx);
	rc = mdb_cursor_open(t->txn, t->store->dbi[db], &cur);
	if (rc != MDB_SUCCESS)
		return chain_mdb_error(rc, "cursor_open");
	t->reads++; /* the seek */
	if (plen > 0) {
		/* LMDB cannot seek to a key it could never store; no stored key
		 * then starts with the prefix. */
		if (plen > t->store->max_key) {
			rc = MDB_NOTFOUND;
			goto done;
		}
		k.mv_size = plen;
		k.mv_data = (void *)prefix;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	} else {
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	}
	/* Keys come in byte order, so the first key past the prefix ends it. */
	while (rc == MDB_SUCCESS && k.mv_size >= plen &&
	       (plen == 0 || memcmp(k.mv_data, prefix, plen) == 0)) {
		int cb;

		t->reads++;
		cb = fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size);

		assert(cb <= 1);
		if (cb != 0) {
			mdb_cursor_close(cur);
			return cb < 0 ? cb : FL_OK;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
done:
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? FL_OK : chain_mdb_error(rc, "cursor_get");
}

uint64_t chain_txn_reads(const chain_txn *t)
{
	assert(t != NULL);
	return t->reads;
}

int chain_mdb_seek_le(MDB_cursor *cur, const void *key, size_t klen, MDB_val *k, MDB_val *v)
{
	int rc;

	k->mv_size = klen;
	k->mv_data = (void *)key;
	/* SET_RANGE finds the first key >= key: that one if equal, else the
	 * one before it; with no key >= key, the last key is the answer. */
	rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, k, v, MDB_LAST);
	else if (rc == MDB_SUCCESS && (k->mv_size != klen || memcmp(k->mv_data, key, klen) != 0))
		rc = mdb_cursor_get(cur, k, v, MDB_PREV);
	return rc;
}

int chain_txn_get_le(chain_txn *t, chain_db db, const void *key, size_t klen,
		     const uint8_t **found_key, size_t *found_klen, const uint8_t **val,
		     size_t *vlen)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	assert(t != NULL && t->txn != NULL && key != NULL);
	assert(found_key != NULL && found_klen != NULL && val != NULL && vlen != NULL);
	assert((unsigned)db < CHAIN_DB_COUNT);
	if (t->overlay != NULL)
		return chain_overlay_get_le(t, db, key, klen, found_key, found_klen, val, vlen);
	*found_key = *val = NULL;
	*found_klen = *vlen = 0;
	if (!txn_key_ok(t, klen))
		return FL_EINVAL;
	rc = mdb_cursor_open(t->txn, t->store->dbi[db], &cur);
	if (rc != MDB_SUCCESS)
		return chain_mdb_error(rc, "cursor_open");
	t->reads++; /* one seek, whichever way it steps */
	rc = chain_mdb_seek_le(cur, key, klen, &k, &v);
	if (rc == MDB_SUCCESS) {
		*found_key = k.mv_data;
		*found_klen = k.mv_size;
		*val = v.mv_data;
		*vlen = v.mv_size;
	}
	mdb_cursor_close(cur);
	return chain_mdb_error(rc, "cursor_get");
}
