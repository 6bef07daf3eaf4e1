/* core/merkle.c — RFC 6962 Merkle tree hash over a list of leaf hashes. */
#include "core/core.h"

#include <assert.h>
#include <string.h>

/* Domain prefixes from RFC 6962 §2.1: a leaf can never be read as a node. */
#define LEAF_PREFIX 0x00
#define NODE_PREFIX 0x01

static void hash_leaf(fl_hash *out, const fl_hash *leaf)
{
	uint8_t buf[1 + FL_HASH_LEN];

	buf[0] = LEAF_PREFIX;
	memcpy(buf + 1, leaf->b, FL_HASH_LEN);
	fl_sha256(out, buf, sizeof(buf));
}

static void hash_node(fl_hash *out, const fl_hash *left, const fl_hash *right)
{
	uint8_t buf[1 + 2 * FL_HASH_LEN];

	buf[0] = NODE_PREFIX;
	memcpy(buf + 1, left->b, FL_HASH_LEN);
	memcpy(buf + 1 + FL_HASH_LEN, right->b, FL_HASH_LEN);
	fl_sha256(out, buf, sizeof(buf));
}

/*
 * Bottom-up, pairing neighbours and carrying an odd last node up unhashed.
 * This computes exactly RFC 6962's recursive definition (split at the largest
 * power of two below n): the left subtree of every split is a complete tree,
 * so only the rightmost node of a level can be unpaired, and carrying it is
 * what the recursion does when its right part is smaller.
 */
int fl_merkle_root(fl_hash *out, const fl_hash *leaves, size_t n)
{
	fl_hash *level;

	assert(out != NULL && (leaves != NULL || n == 0));
	if (n == 0) {
		fl_sha256(out, "", 0);
		return FL_OK;
	}
	level = fl_calloc(n, sizeof(*level));
	if (level == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		hash_leaf(&level[i], &leaves[i]);
	while (n > 1) {
		size_t i;
		for (i = 0; i + 1 < n; i += 2)
			hash_node(&level[i / 2], &level[i], &level[i + 1]);
		if (i < n)
			level[i / 2] = level[i];
		n = (n + 1) / 2;
	}
	*out = level[0];
	fl_free(level);
	return FL_OK;
}
