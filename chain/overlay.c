/*
 * chain/overlay.c — an in-memory layer of writes over a read transaction,
 * for mempool admission: the tx rules run on a chain_txn as always, and
 * txn.c sends the get/put/del/scan/get_le of an admission txn here. Reads
 * see the overlay first and the committed state under it; writes stay in
 * memory, so admission never takes LMDB's write lock and never commits.
 *
 * The map is an AVL tree ordered by (db, key) in LMDB's key order (bytes,
 * then the shorter first), so a scan (or a get_le, backwards) merges it
 * with an LMDB cursor in one pass, and its depth stays logarithmic
 * whatever keys a sender picks. A node is a put, a delete, or "pass" (a
 * key the overlay does not hold: a write taken back). Every change is
 * logged with the value it replaced so that a tx that fails can be taken
 * back (chain_overlay_rollback).
 */
#include "chain/store_impl.h"

#include <assert.h>
#include <string.h>

enum { OV_PASS = 0, OV_PUT = 1, OV_DEL = 2 };

typedef struct overlay_node {
	struct overlay_node *left, *right;
	int height;
	uint8_t db;
	uint8_t state;
	size_t klen;
	uint8_t *val; /* owned when state == OV_PUT; NULL for an empty value */
	size_t vlen;
	uint8_t key[];
} overlay_node;

typedef struct {
	overlay_node *node;
	uint8_t state;
	uint8_t *val;
	size_t vlen;
} overlay_undo;

struct chain_overlay {
	overlay_node *root;
	size_t n_nodes;
	overlay_undo *undo;
	size_t n_undo, cap_undo;
};

/* Deepest an AVL tree of 2^40 nodes can be (1.44 log2 n): scans keep a
 * stack this deep, and the node count is bounded far below 2^40. */
#define OV_MAX_DEPTH 64

int chain_overlay_new(chain_overlay **out)
{
	assert(out != NULL);
	*out = fl_calloc(1, sizeof(**out));
	return *out != NULL ? FL_OK : FL_ENOMEM;
}

static void node_free_all(overlay_node *n)
{
	while (n != NULL) {
		overlay_node *right = n->right;

		node_free_all(n->left);
		fl_free(n->val);
		fl_free(n);
		n = right;
	}
}

void chain_overlay_free(chain_overlay *ov)
{
	if (ov == NULL)
		return;
	chain_overlay_keep(ov);
	node_free_all(ov->root);
	fl_free(ov->undo);
	fl_free(ov);
}

size_t chain_overlay_size(const chain_overlay *ov)
{
	assert(ov != NULL);
	return ov->n_nodes;
}

/* (db, key) order: LMDB's order within a database. */
static int key_cmp(uint8_t db_a, const uint8_t *a, size_t alen, uint8_t db_b, const uint8_t *b,
		   size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c;

	if (db_a != db_b)
		return db_a < db_b ? -1 : 1;
	c = n > 0 ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

static overlay_node *node_find(const chain_overlay *ov, uint8_t db, const uint8_t *key,
			       size_t klen)
{
	overlay_node *n = ov->root;

	while (n != NULL) {
		int c = key_cmp(db, key, klen, n->db, n->key, n->klen);

		if (c == 0)
			return n;
		n = c < 0 ? n->left : n->right;
	}
	return NULL;
}

/* ------------------------------------------------------------- AVL insert */

static int node_height(const overlay_node *n)
{
	return n != NULL ? n->height : 0;
}

static void node_fix(overlay_node *n)
{
	int l = node_height(n->left), r = node_height(n->right);

	n->height = (l > r ? l : r) + 1;
}

static overlay_node *rotate_right(overlay_node *n)
{
	overlay_node *l = n->left;

	n->left = l->right;
	l->right = n;
	node_fix(n);
	node_fix(l);
	return l;
}

static overlay_node *rotate_left(overlay_node *n)
{
	overlay_node *r = n->right;

	n->right = r->left;
	r->left = n;
	node_fix(n);
	node_fix(r);
	return r;
}

static overlay_node *rebalance(overlay_node *n)
{
	int balance;

	node_fix(n);
	balance = node_height(n->left) - node_height(n->right);
	if (balance > 1) {
		if (node_height(n->left->left) < node_height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (balance < -1) {
		if (node_height(n->right->right) < node_height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

/* Inserts `fresh` (absent from the tree, the caller checked). */
static overlay_node *node_insert(overlay_node *n, overlay_node *fresh)
{
	if (n == NULL)
		return fresh;
	if (key_cmp(fresh->db, fresh->key, fresh->klen, n->db, n->key, n->klen) < 0)
		n->left = node_insert(n->left, fresh);
	else
		n->right = node_insert(n->right, fresh);
	return rebalance(n);
}

/* ------------------------------------------------------------ changes */

static int undo_push(chain_overlay *ov, overlay_node *n)
{
	if (ov->n_undo == ov->cap_undo) {
		size_t cap = ov->cap_undo ? ov->cap_undo * 2 : 16;
		overlay_undo *u;

		if (cap > SIZE_MAX / sizeof(*u))
			return FL_ENOMEM;
		u = fl_realloc(ov->undo, cap * sizeof(*u));
		if (u == NULL)
			return FL_ENOMEM;
		ov->undo = u;
		ov->cap_undo = cap;
	}
	ov->undo[ov->n_undo++] = (overlay_undo){n, n->state, n->val, n->vlen};
	return FL_OK;
}

/* The node of (db, key), inserted as "pass" if absent. */
static int node_get_or_add(chain_overlay *ov, uint8_t db, const uint8_t *key, size_t klen,
			   overlay_node **out)
{
	overlay_node *n = node_find(ov, db, key, klen);

	if (n == NULL) {
		if (klen > SIZE_MAX - sizeof(*n))
			return FL_ENOMEM;
		n = fl_calloc(1, sizeof(*n) + klen);
		if (n == NULL)
			return FL_ENOMEM;
		n->height = 1;
		n->db = db;
		n->klen = klen;
		memcpy(n->key, key, klen);
		ov->root = node_insert(ov->root, n);
		ov->n_nodes++;
	}
	*out = n;
	return FL_OK;
}

/* Sets a node to put (val) or delete, logging what it was. The new value
 * is copied before anything changes, so a failure changes nothing. */
static int overlay_set(chain_overlay *ov, uint8_t db, const void *key, size_t klen, uint8_t state,
		       const void *val, size_t vlen)
{
	overlay_node *n = NULL;
	uint8_t *copy = NULL;
	int rc;

	if (state == OV_PUT && vlen > 0) {
		if ((copy = fl_malloc(vlen)) == NULL)
			return FL_ENOMEM;
		memcpy(copy, val, vlen);
	}
	if ((rc = node_get_or_add(ov, db, key, klen, &n)) != FL_OK ||
	    (rc = undo_push(ov, n)) != FL_OK) {
		fl_free(copy);
		return rc;
	}
	/* The replaced value stays alive in the undo log: pointers a get
	 * handed out before this write remain readable until keep/rollback. */
	n->state = state;
	n->val = copy;
	n->vlen = state == OV_PUT ? vlen : 0;
	return FL_OK;
}

size_t chain_overlay_mark(const chain_overlay *ov)
{
	assert(ov != NULL);
	return ov->n_undo;
}

void chain_overlay_rollback(chain_overlay *ov, size_t mark)
{
	assert(ov != NULL && mark <= ov->n_undo);
	while (ov->n_undo > mark) {
		overlay_undo *u = &ov->undo[--ov->n_undo];

		fl_free(u->node->val);
		u->node->state = u->state;
		u->node->val = u->val;
		u->node->vlen = u->vlen;
	}
}

void chain_overlay_keep(chain_overlay *ov)
{
	assert(ov != NULL);
	/* Each logged value was replaced by a later write: no node holds it. */
	for (size_t i = 0; i < ov->n_undo; i++)
		fl_free(ov->undo[i].val);
	ov->n_undo = 0;
}

/* ------------------------------------------------- the txn's operations */

static int ov_key_ok(const chain_txn *t, size_t klen)
{
	return klen > 0 && klen <= t->store->max_key;
}

int chain_overlay_get(chain_txn *t, chain_db db, const void *key, size_t klen,
		      const uint8_t **val, size_t *vlen)
{
	const overlay_node *n;
	MDB_val k, v;
	int rc;

	*val = NULL;
	*vlen = 0;
	if (!ov_key_ok(t, klen))
		return FL_EINVAL;
	t->reads++;
	n = node_find(t->overlay, (uint8_t)db, key, klen);
	if (n != NULL && n->state == OV_DEL)
		return FL_ENOTFOUND;
	if (n != NULL && n->state == OV_PUT) {
		/* An empty value still needs a non-NULL pointer. */
		*val = n->val != NULL ? n->val : (const uint8_t *)"";
		*vlen = n->vlen;
		return FL_OK;
	}
	k.mv_size = klen;
	k.mv_data = (void *)key;
	rc = mdb_get(t->txn, t->store->dbi[db], &k, &v);
	if (rc != MDB_SUCCESS)
		return chain_mdb_error(rc, "get");
	*val = v.mv_data;
	*vlen = v.mv_size;
	return FL_OK;
}

int chain_overlay_put(chain_txn *t, chain_db db, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	if (!ov_key_ok(t, klen))
		return FL_EINVAL;
	return overlay_set(t->overlay, (uint8_t)db, key, klen, OV_PUT, val, vlen);
}

int chain_overlay_del(chain_txn *t, chain_db db, const void *key, size_t klen)
{
	if (!ov_key_ok(t, klen))
		return FL_EINVAL;
	return overlay_set(t->overlay, (uint8_t)db, key, klen, OV_DEL, NULL, 0);
}

/* In-order walk from the first node >= (db, prefix). */
typedef struct {
	overlay_node *stack[OV_MAX_DEPTH];
	int depth;
} ov_iter;

static void iter_seek(ov_iter *it, overlay_node *n, uint8_t db, const uint8_t *key, size_t klen)
{
	it->depth = 0;
	while (n != NULL) {
		if (key_cmp(db, key, klen, n->db, n->key, n->klen) <= 0) {
			assert(it->depth < OV_MAX_DEPTH);
			it->stack[it->depth++] = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
}

static overlay_node *iter_peek(const ov_iter *it)
{
	return it->depth > 0 ? it->stack[it->depth - 1] : NULL;
}

static void iter_next(ov_iter *it)
{
	overlay_node *n = it->stack[--it->depth]->right;

	while (n != NULL) {
		assert(it->depth < OV_MAX_DEPTH);
		it->stack[it->depth++] = n;
		n = n->left;
	}
}

static int in_prefix(uint8_t db, const uint8_t *key, size_t klen, uint8_t want_db,
		     const uint8_t *prefix, size_t plen)
{
	return db == want_db && klen >= plen && (plen == 0 || memcmp(key, prefix, plen) == 0);
}

/* The committed keys and the overlay's merged in key order; on a key both
 * hold, the overlay's write wins (a delete hides the committed value). */
int chain_overlay_scan(chain_txn *t, chain_db db, const void *prefix, size_t plen,
		       chain_scan_fn fn, void *ctx)
{
	const uint8_t *pre = prefix;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	ov_iter it;
	int rc, cb = 0;

	t->reads++; /* the seek, as chain_txn_scan counts it */
	iter_seek(&it, t->overlay->root, (uint8_t)db, pre, plen);
	rc = mdb_cursor_open(t->txn, t->store->dbi[db], &cur);
	if (rc != MDB_SUCCESS)
		return chain_mdb_error(rc, "cursor_open");
	if (plen > t->store->max_key) {
		rc = MDB_NOTFOUND;
	} else if (plen > 0) {
		k.mv_size = plen;
		k.mv_data = (void *)prefix;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	} else {
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	}
	for (;;) {
		overlay_node *n = iter_peek(&it);
		int have_db, have_ov, c;

		have_db = rc == MDB_SUCCESS &&
			  in_prefix((uint8_t)db, k.mv_data, k.mv_size, (uint8_t)db, pre, plen);
		have_ov = n != NULL && in_prefix(n->db, n->key, n->klen, (uint8_t)db, pre, plen);
		if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
			break;
		if (!have_db && !have_ov) {
			rc = MDB_NOTFOUND;
			break;
		}
		c = !have_db ? 1
		    : !have_ov
			? -1
			: key_cmp((uint8_t)db, k.mv_data, k.mv_size, n->db, n->key, n->klen);
		t->reads++;
		if (c < 0 || (c == 0 && n->state == OV_PASS)) {
			cb = fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
		} else if (n->state == OV_PUT) {
			cb = fn(ctx, n->key, n->klen, n->val != NULL ? n->val : (const uint8_t *)"",
				n->vlen);
		}
		assert(cb <= 1);
		if (cb != 0)
			break;
		if (c >= 0)
			iter_next(&it);
		if (c <= 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (cb != 0)
		return cb < 0 ? cb : FL_OK;
	return rc == MDB_NOTFOUND ? FL_OK : chain_mdb_error(rc, "cursor_get");
}

/* Backward walk from the last node <= (db, key): the stack holds the nodes
 * whose right subtrees the walk has finished, the top the current one. */
static void iter_seek_le(ov_iter *it, overlay_node *n, uint8_t db, const uint8_t *key, size_t klen)
{
	it->depth = 0;
	while (n != NULL) {
		if (key_cmp(n->db, n->key, n->klen, db, key, klen) <= 0) {
			assert(it->depth < OV_MAX_DEPTH);
			it->stack[it->depth++] = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
}

static void iter_prev(ov_iter *it)
{
	overlay_node *n = it->stack[--it->depth]->left;

	while (n != NULL) {
		assert(it->depth < OV_MAX_DEPTH);
		it->stack[it->depth++] = n;
		n = n->right;
	}
}

/*
 * The greatest key <= key of the merged view: the committed seek-le and the
 * overlay's last node <= key, walked backwards together. The greater of
 * the two is the answer unless it is the overlay's delete (or a "pass" on a
 * key the committed state lacks), which hides it; then both step back past
 * that key. A pass on a committed key shows the committed entry.
 */
int chain_overlay_get_le(chain_txn *t, chain_db db, const void *key, size_t klen,
			 const uint8_t **found_key, size_t *found_klen, const uint8_t **val,
			 size_t *vlen)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	ov_iter it;
	int rc;

	*found_key = *val = NULL;
	*found_klen = *vlen = 0;
	if (!ov_key_ok(t, klen))
		return FL_EINVAL;
	rc = mdb_cursor_open(t->txn, t->store->dbi[db], &cur);
	if (rc != MDB_SUCCESS)
		return chain_mdb_error(rc, "cursor_open");
	t->reads++; /* the seek, as chain_txn_get_le counts it */
	iter_seek_le(&it, t->overlay->root, (uint8_t)db, key, klen);
	rc = chain_mdb_seek_le(cur, key, klen, &k, &v);
	while (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) {
		const overlay_node *n = iter_peek(&it);
		/* Nodes of a lower db sort before every key of this one. */
		int have_ov = n != NULL && n->db == (uint8_t)db;
		int have_db = rc == MDB_SUCCESS;
		int c;

		if (!have_db && !have_ov)
			break;
		c = !have_db   ? -1
		    : !have_ov ? 1
			       : key_cmp((uint8_t)db, k.mv_data, k.mv_size, n->db, n->key, n->klen);
		/* c > 0: the overlay holds nothing at the committed key. */
		if (c > 0 || (c == 0 && n->state == OV_PASS))
			break;
		if (n->state == OV_PUT) {
			*found_key = n->key;
			*found_klen = n->klen;
			*val = n->val != NULL ? n->val : (const uint8_t *)"";
			*vlen = n->vlen;
			mdb_cursor_close(cur);
			return FL_OK;
		}
		iter_prev(&it);
		if (c == 0) {
			t->reads++; /* a committed entry the overlay deleted */
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
		}
	}
	if (rc == MDB_SUCCESS) {
		*found_key = k.mv_data;
		*found_klen = k.mv_size;
		*val = v.mv_data;
		*vlen = v.mv_size;
	}
	mdb_cursor_close(cur);
	return chain_mdb_error(rc, "cursor_get");
}

int chain_txn_begin_overlay(chain_store *s, chain_overlay *ov, chain_txn **out)
{
	int rc;

	assert(s != NULL && ov != NULL && out != NULL);
	if ((rc = chain_txn_begin(s, 0, out)) != FL_OK)
		return rc;
	(*out)->overlay = ov;
	return FL_OK;
}
