/*
 * node/mempool_index.c — the pool's two tables: queued txs by hash, and
 * senders by key (node/mempool_internal.h). Both are sized once for
 * max_txs, so nothing here allocates after node_mempool_new and no insert
 * can fail or rehash. A tx's deletion shifts its run back (no tombstones),
 * so a pool that churns forever probes no longer than a fresh one; sender
 * records are only ever cleared all at once (an update rebuilds them).
 */
#include "node/mempool_internal.h"

#include <assert.h>
#include <string.h>

/* Slot count: a power of two with max_txs at most 3/4 of it. */
static size_t table_cap(uint32_t max_txs)
{
	size_t want = (size_t)max_txs + (size_t)max_txs / 3 + 1;
	size_t cap = 16;

	while (cap < want)
		cap <<= 1;
	return cap;
}

int node__mp_index_init(node_mempool *mp)
{
	mp->cap = table_cap(mp->cfg.max_txs);
	mp->by_hash = fl_calloc(mp->cap, sizeof(*mp->by_hash));
	mp->senders = fl_calloc(mp->cap, sizeof(*mp->senders));
	if (mp->by_hash == NULL || mp->senders == NULL) {
		node__mp_index_free(mp);
		return FL_ENOMEM;
	}
	randombytes_buf(mp->salt, sizeof(mp->salt));
	return FL_OK;
}

void node__mp_index_free(node_mempool *mp)
{
	fl_free(mp->by_hash);
	fl_free(mp->senders);
	mp->by_hash = NULL;
	mp->senders = NULL;
	mp->cap = 0;
}

static size_t home_slot(const node_mempool *mp, const uint8_t key[32])
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(out, key, 32, mp->salt);
	for (size_t i = 0; i < sizeof(out); i++)
		v |= (uint64_t)out[i] << (8 * i);
	return (size_t)v & (mp->cap - 1);
}

/* Whether the element at j, whose home is k, may move back to the hole
 * at i: k lies cyclically outside (i, j]. */
static int may_fill(size_t i, size_t j, size_t k)
{
	return i <= j ? (k <= i || k > j) : (k <= i && k > j);
}

node__mp_entry *node__mp_find(const node_mempool *mp, const fl_hash *hash)
{
	size_t mask = mp->cap - 1;

	for (size_t i = home_slot(mp, hash->b);; i = (i + 1) & mask) {
		node__mp_entry *e = mp->by_hash[i];

		if (e == NULL)
			return NULL;
		if (memcmp(e->hash.b, hash->b, FL_HASH_LEN) == 0)
			return e;
	}
}

void node__mp_hash_insert(node_mempool *mp, node__mp_entry *e)
{
	size_t mask = mp->cap - 1;
	size_t i = home_slot(mp, e->hash.b);

	assert(mp->count < mp->cap);
	while (mp->by_hash[i] != NULL)
		i = (i + 1) & mask;
	mp->by_hash[i] = e;
}

void node__mp_hash_remove(node_mempool *mp, const node__mp_entry *e)
{
	size_t mask = mp->cap - 1;
	size_t i = home_slot(mp, e->hash.b);

	while (mp->by_hash[i] != e) {
		assert(mp->by_hash[i] != NULL);
		i = (i + 1) & mask;
	}
	mp->by_hash[i] = NULL;
	for (size_t j = (i + 1) & mask; mp->by_hash[j] != NULL; j = (j + 1) & mask) {
		if (may_fill(i, j, home_slot(mp, mp->by_hash[j]->hash.b))) {
			mp->by_hash[i] = mp->by_hash[j];
			mp->by_hash[j] = NULL;
			i = j;
		}
	}
}

node__mp_sender *node__mp_sender_find(node_mempool *mp, const fl_pubkey *key)
{
	size_t mask = mp->cap - 1;

	for (size_t i = home_slot(mp, key->b);; i = (i + 1) & mask) {
		node__mp_sender *s = &mp->senders[i];

		if (!s->used)
			return NULL;
		if (memcmp(s->key.b, key->b, FL_PUBKEY_LEN) == 0)
			return s;
	}
}

node__mp_sender *node__mp_sender_add(node_mempool *mp, const fl_pubkey *key, uint64_t first_nonce)
{
	size_t mask = mp->cap - 1;
	size_t i = home_slot(mp, key->b);

	assert(mp->n_senders < mp->cfg.max_txs);
	while (mp->senders[i].used)
		i = (i + 1) & mask;
	memset(&mp->senders[i], 0, sizeof(mp->senders[i]));
	mp->senders[i].key = *key;
	mp->senders[i].first_nonce = first_nonce;
	mp->senders[i].used = 1;
	mp->n_senders++;
	return &mp->senders[i];
}

void node__mp_senders_clear(node_mempool *mp)
{
	memset(mp->senders, 0, mp->cap * sizeof(*mp->senders));
	mp->n_senders = 0;
}

void node__mp_entry_drop(node_mempool *mp, node__mp_entry *e)
{
	node__mp_hash_remove(mp, e);
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		mp->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		mp->tail = e->prev;
	mp->count--;
	mp->bytes -= e->len;
	fl_free(e);
}
