/*
 * chain/apphash.c — the app hash: a hash chain over what each block changed
 * in the state databases. Hashing the changes rather than the whole state
 * keeps the cost per block proportional to the block, and two nodes agree
 * on it exactly when they made the same writes from the same state.
 */
#include "chain/store_impl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Byte order of LMDB's default comparator: memcmp, then the shorter first. */
static int key_cmp(const chain_change *a, const chain_change *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->bytes, b->bytes, n);

	if (c != 0)
		return c;
	return (a->klen > b->klen) - (a->klen < b->klen);
}

/* Orders by (db, key) and then by position in the log. The entries sit in
 * one array, so comparing their addresses makes qsort a stable sort: among
 * writes of one key the last one made sorts last. */
static int change_cmp(const void *pa, const void *pb)
{
	const chain_change *a = *(const chain_change *const *)pa;
	const chain_change *b = *(const chain_change *const *)pb;
	int c;

	if (a->db != b->db)
		return a->db < b->db ? -1 : 1;
	c = key_cmp(a, b);
	if (c != 0)
		return c;
	return (a > b) - (a < b);
}

/* One entry: u8 db, bytes key, u8 present, bytes value (empty when deleted). */
static int encode_change(fl_writer *w, const chain_change *c, size_t max_key)
{
	fl_write_u8(w, c->db);
	fl_write_bytes(w, c->bytes, c->klen, max_key);
	fl_write_u8(w, c->present);
	fl_write_bytes(w, c->bytes + c->klen, c->vlen, SIZE_MAX);
	return fl_writer_finish(w);
}

int chain_txn_changes_hash(chain_txn *t, fl_hash *out)
{
	const chain_change **sorted = NULL;
	fl_sha256_ctx *ctx = NULL;
	fl_writer w;
	size_t n;
	int rc;

	assert(t != NULL && out != NULL);
	n = t->n_log;
	fl_writer_init(&w, 0);
	if (n > 0) {
		sorted = fl_malloc(n * sizeof(*sorted));
		if (sorted == NULL) {
			rc = FL_ENOMEM;
			goto cleanup;
		}
		for (size_t i = 0; i < n; i++)
			sorted[i] = &t->log[i];
		qsort(sorted, n, sizeof(*sorted), change_cmp);
	}
	rc = fl_sha256_init(&ctx);
	if (rc != FL_OK)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		/* Only the last write of each (db, key) counts. */
		if (i + 1 < n && sorted[i]->db == sorted[i + 1]->db &&
		    key_cmp(sorted[i], sorted[i + 1]) == 0)
			continue;
		/* The hash of the concatenation, fed an entry at a time: the
		 * writer is emptied and reused rather than grown to the block. */
		w.len = 0;
		rc = encode_change(&w, sorted[i], t->store->max_key);
		if (rc != FL_OK)
			goto cleanup;
		fl_sha256_update(ctx, w.buf, w.len);
	}
	fl_sha256_final(ctx, out);
	ctx = NULL;

cleanup:
	if (ctx != NULL)
		fl_sha256_ctx_abort(ctx);
	fl_writer_free(&w);
	fl_free(sorted);
	return rc;
}

void chain_app_hash_next(fl_hash *out, const char *chain_id, const fl_hash *prev_app,
			 uint64_t height, const fl_hash *changes)
{
	/* prev_app || u64 height || changes, the u64 little-endian as in the
	 * canonical codec; fixed size, so no writer (and no failure) needed. */
	uint8_t body[FL_HASH_LEN + 8 + FL_HASH_LEN];

	assert(out != NULL && chain_id != NULL && prev_app != NULL && changes != NULL);
	memcpy(body, prev_app->b, FL_HASH_LEN);
	for (int i = 0; i < 8; i++)
		body[FL_HASH_LEN + i] = (uint8_t)(height >> (8 * i));
	memcpy(body + FL_HASH_LEN + 8, changes->b, FL_HASH_LEN);
	fl_domain_hash(out, "app", chain_id, body, sizeof(body));
}
