/*
 * chain/apphash.c — the state hash kept by the store: the LtHash
 * (lthash.c) of every element of the state databases. A write txn logs the
 * keys it touches; chain_txn_state_hash folds each distinct key once,
 * removing the element with its value before the txn and adding the one with
 * its value now, into the value the last commit stored. The cost is that of
 * what the txn changed, never of the whole state, yet the result equals
 * the hash of the whole state recomputed from scratch
 * (chain_state_hash_recompute), whatever order the writes came in.
 */
#include "chain/store_impl.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The value the last commit stored, zero on a store never written. */
static int stored_state_hash(chain_txn *t, chain_lthash *out)
{
	const uint8_t *v;
	size_t n;
	int rc = chain_txn_get(t, CHAIN_DB_META, CHAIN_META_STATE_LTHASH,
			       strlen(CHAIN_META_STATE_LTHASH), &v, &n);

	if (rc == FL_ENOTFOUND) {
		memset(out, 0, sizeof(*out));
		return FL_OK;
	}
	if (rc != FL_OK)
		return rc;
	if (n != CHAIN_LTHASH_BYTES)
		return FL_ECORRUPT;
	chain_lthash_from_bytes(out, v);
	return FL_OK;
}

typedef struct {
	const uint8_t *key;
	uint16_t klen;
	uint8_t db;
} touched_key;

static int touched_cmp(const void *pa, const void *pb)
{
	const touched_key *a = pa, *b = pb;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c;

	if (a->db != b->db)
		return a->db < b->db ? -1 : 1;
	if ((c = memcmp(a->key, b->key, n)) != 0)
		return c;
	return (a->klen > b->klen) - (a->klen < b->klen);
}

/* MDB_NOTFOUND is "absent", not an error. */
static int lookup(MDB_txn *txn, MDB_dbi dbi, const touched_key *k, MDB_val *v, int *present)
{
	MDB_val key = {.mv_size = k->klen, .mv_data = (void *)k->key};
	int rc = mdb_get(txn, dbi, &key, v);

	*present = rc == MDB_SUCCESS;
	if (rc == MDB_NOTFOUND)
		return FL_OK;
	return chain_mdb_error(rc, "get (state hash)");
}

/* One element to add or remove: key and value point into the base reader
 * or the write txn, valid until the txn writes again (none does while the
 * fold runs). */
typedef struct {
	const void *key, *val;
	size_t vlen;
	uint16_t klen;
	uint8_t db, add;
} fold_elem;

/* Elements a pool item folds: a few tens of microseconds of work, so the
 * threads share out the tail without contending for the counter. */
#define FOLD_ITEM 16
/* Below this many elements the fold stays on the caller. */
#define FOLD_PARALLEL_MIN 64

/* Each thread sums into its own slot (accumulator, hasher, error); the
 * slots are added at the end. The sum mod 2^16 does not depend on the
 * order, so nor does the result on the threads. */
typedef struct {
	chain_lthash acc;
	chain_lthasher *h;
	int rc;
} fold_slot;

typedef struct {
	const fold_elem *elems;
	size_t n;
	fold_slot *slots;
} fold_ctx;

static void fold_item(void *arg, unsigned slot, size_t item)
{
	fold_ctx *c = arg;
	fold_slot *sl = &c->slots[slot];
	size_t end = (item + 1) * FOLD_ITEM < c->n ? (item + 1) * FOLD_ITEM : c->n;

	if (sl->rc != FL_OK)
		return;
	if (sl->h == NULL && (sl->rc = chain_lthasher_new(&sl->h)) != FL_OK)
		return;
	for (size_t i = item * FOLD_ITEM; i < end && sl->rc == FL_OK; i++) {
		const fold_elem *e = &c->elems[i];

		sl->rc = chain_lthash_fold(sl->h, &sl->acc, e->add, e->db, e->key, e->klen, e->val,
					   e->vlen);
	}
}

/* acc += the sum of the elements, on the store's verify threads when
 * there are enough of them to share. */
static int fold_elems(chain_store *s, const fold_elem *elems, size_t n, chain_lthash *acc)
{
	chain_verify_pool *pool = n >= FOLD_PARALLEL_MIN ? s->verify_pool : NULL;
	unsigned n_slots = chain_verify_pool_slots(pool);
	fold_ctx c;
	int rc = FL_OK;

	c.elems = elems;
	c.n = n;
	c.slots = fl_calloc(n_slots, sizeof(*c.slots));
	if (c.slots == NULL)
		return FL_ENOMEM;
	chain_verify_pool_run(pool, s->verify_threads, fold_item, &c,
			      (n + FOLD_ITEM - 1) / FOLD_ITEM);
	for (unsigned k = 0; k < n_slots; k++) {
		if (rc == FL_OK)
			rc = c.slots[k].rc;
		for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
			acc->lane[i] = (uint16_t)(acc->lane[i] + c.slots[k].acc.lane[i]);
		chain_lthasher_free(c.slots[k].h);
	}
	fl_free(c.slots);
	return rc;
}

/* acc += sum over distinct touched keys of element(now) - element(before).
 * The lookups stay on this thread (an LMDB txn is one thread's); only the
 * hashing, the cost, is shared out. */
static int fold_touched(chain_txn *t, chain_lthash *acc)
{
	chain_store *s = t->store;
	touched_key *keys;
	fold_elem *elems = NULL;
	size_t n = 0;
	int rc = FL_OK;

	keys = fl_malloc(t->n_log * sizeof(*keys));
	/* At most two elements a key: its value before and now. */
	if (keys == NULL || t->n_log > SIZE_MAX / (2 * sizeof(*elems)) ||
	    (elems = fl_malloc(2 * t->n_log * sizeof(*elems))) == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < t->n_log; i++) {
		keys[i].key = t->keys + t->log[i].off;
		keys[i].klen = t->log[i].klen;
		keys[i].db = t->log[i].db;
	}
	/* Sorted only to find the distinct keys: the sum is the same in any
	 * order. */
	qsort(keys, t->n_log, sizeof(*keys), touched_cmp);
	/* Only this txn's holder renews the base reader, and no commit can
	 * land while it holds LMDB's writer lock: the base sees exactly the
	 * state this txn started from. */
	if (!t->base_live) {
		if ((rc = chain_mdb_error(mdb_txn_renew(s->base), "renew (state hash)")) != FL_OK)
			goto cleanup;
		t->base_live = 1;
	}
	for (size_t i = 0; i < t->n_log; i++) {
		MDB_val before, now;
		int had, has;

		if (i + 1 < t->n_log && touched_cmp(&keys[i], &keys[i + 1]) == 0)
			continue;
		if ((rc = lookup(s->base, s->dbi[keys[i].db], &keys[i], &before, &had)) != FL_OK ||
		    (rc = lookup(t->txn, s->dbi[keys[i].db], &keys[i], &now, &has)) != FL_OK)
			goto cleanup;
		if (had && has && before.mv_size == now.mv_size &&
		    memcmp(before.mv_data, now.mv_data, now.mv_size) == 0)
			continue;
		if (had)
			elems[n++] = (fold_elem){keys[i].key, before.mv_data, before.mv_size,
						 keys[i].klen, keys[i].db, 0};
		if (has)
			elems[n++] = (fold_elem){keys[i].key, now.mv_data, now.mv_size,
						 keys[i].klen, keys[i].db, 1};
	}
	rc = fold_elems(s, elems, n, acc);

cleanup:
	fl_free(elems);
	fl_free(keys);
	return rc;
}

int chain_txn_state_hash(chain_txn *t, chain_lthash *out)
{
	chain_lthash acc;
	int rc;

	assert(t != NULL && t->txn != NULL && out != NULL);
	if (t->hash != NULL && t->hash_at == t->n_log) {
		*out = *t->hash;
		return FL_OK;
	}
	if ((rc = stored_state_hash(t, &acc)) != FL_OK)
		return rc;
	if (t->n_log > 0 && (rc = fold_touched(t, &acc)) != FL_OK)
		return rc;
	if (t->hash == NULL && (t->hash = fl_malloc(sizeof(*t->hash))) == NULL)
		return FL_ENOMEM;
	*t->hash = acc;
	t->hash_at = t->n_log;
	*out = acc;
	return FL_OK;
}

int chain_snap_get_state_hash(chain_snapshot *snap, chain_lthash *out)
{
	assert(snap != NULL && out != NULL);
	return stored_state_hash(snap->t, out);
}

/* ------------------------------------------------------- recomputation */

typedef struct {
	chain_lthasher *h;
	chain_lthash *acc;
	uint8_t db;
} recompute_ctx;

static int add_element(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	recompute_ctx *c = ctx;

	return chain_lthash_fold(c->h, c->acc, 1, c->db, key, klen, val, vlen);
}

int chain_state_hash_recompute(chain_store *s, chain_lthash *out)
{
	recompute_ctx c;
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.acc = out;
	if ((rc = chain_lthasher_new(&c.h)) != FL_OK)
		return rc;
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		goto cleanup;
	for (int db = 0; db < CHAIN_DB_STATE_COUNT && rc == FL_OK; db++) {
		c.db = (uint8_t)db;
		rc = chain_txn_scan(t, (chain_db)db, NULL, 0, add_element, &c);
	}

cleanup:
	chain_txn_abort(t);
	chain_lthasher_free(c.h);
	if (rc != FL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
