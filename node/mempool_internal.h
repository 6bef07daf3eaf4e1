/*
 * node/mempool_internal.h — what the node_mempool files share: the pool's
 * layout, its entries, and the two index tables (node/mempool_index.c).
 * Nothing outside node/mempool*.c includes it.
 */
#ifndef FEDLEDGER_NODE_MEMPOOL_INTERNAL_H
#define FEDLEDGER_NODE_MEMPOOL_INTERNAL_H

#include "node/mempool.h"

#include <sodium.h>

/* One queued tx: its canonical encoding and what the indexes need, in one
 * allocation. Decoded only when handed out or rechecked: a decoded chain_tx
 * is 944 bytes, a transfer's encoding about 150. */
typedef struct node__mp_entry {
	struct node__mp_entry *prev, *next; /* admission order */
	fl_hash hash;
	fl_pubkey sender;
	uint64_t nonce;
	uint32_t len;
	uint8_t bytes[];
} node__mp_entry;

/* A sender with queued txs: they hold the nonces first_nonce ..
 * first_nonce + n - 1, in admission order (the checker admits a sender's
 * nonce n+1 only after n, and a recheck keeps a prefix of each sender's).
 * `broken` is only used during an update. */
typedef struct {
	fl_pubkey key;
	uint64_t first_nonce;
	uint32_t n;
	uint8_t used; /* 0 = free slot */
	uint8_t broken;
} node__mp_sender;

struct node_mempool {
	chain_store *store;
	node_mempool_config cfg;
	size_t block_budget;     /* bytes of txs a block can hold */
	chain_mempool_check *ck; /* NULL: none begun yet, or released */
	int released;            /* between release and update */

	node__mp_entry *head, *tail;
	size_t count;
	size_t bytes;

	/* Open addressing with linear probing and backward-shift deletion,
	 * cap a power of two with count <= 3/4 cap: every insert finds a
	 * slot, every probe ends. Slots are picked by SipHash under a random
	 * key, so nobody can aim txs or keys at one run of slots. */
	size_t cap;
	node__mp_entry **by_hash;
	node__mp_sender *senders;
	size_t n_senders;
	uint8_t salt[crypto_shorthash_KEYBYTES];

	uint64_t admitted, refused, removed;
};

/* Allocates both tables for cfg.max_txs (FL_ENOMEM); free frees them. */
int node__mp_index_init(node_mempool *mp) FL_MUST_CHECK;
void node__mp_index_free(node_mempool *mp);

node__mp_entry *node__mp_find(const node_mempool *mp, const fl_hash *hash);
/* e's hash must not be in the table. Never fails (count bound). */
void node__mp_hash_insert(node_mempool *mp, node__mp_entry *e);
void node__mp_hash_remove(node_mempool *mp, const node__mp_entry *e);

/* A pointer into the table: valid until the next add or clear. Records
 * are never removed one by one: an update rebuilds the table. */
node__mp_sender *node__mp_sender_find(node_mempool *mp, const fl_pubkey *key);
/* key must not be in the table; the record is zero but for its key,
 * first_nonce and used. Never fails (at most one record a queued tx, and
 * during an update one a sender that had one). */
node__mp_sender *node__mp_sender_add(node_mempool *mp, const fl_pubkey *key, uint64_t first_nonce);
void node__mp_senders_clear(node_mempool *mp);

/* Unlinks e from the order and the hash table, fixes count and bytes, frees
 * it. Leaves the sender table alone (the caller fixes or rebuilds it). */
void node__mp_entry_drop(node_mempool *mp, node__mp_entry *e);

#endif
