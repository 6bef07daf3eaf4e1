/*
 * core/sigcache.c — a cache of verified BIP340 signatures, after Bitcoin
 * Core's sigcache: a node sees most signatures twice or more (mempool
 * admission, the proposal's check, the block's apply), and a BIP340 verify
 * costs tens of microseconds while a lookup costs one SHA-256.
 *
 * An entry is SHA-256(salt || msg || pubkey || sig), so a hit means this
 * exact triple verified before: a different message (another chain id or tx
 * body), key or signature hashes to another entry. The salt is random per
 * cache; an attacker who cannot compute entries cannot aim collisions or
 * evictions at a bucket. The cache is outside consensus (a miss only costs a
 * verify), which is why randomness is fine here.
 *
 * Layout: a fixed table of 4-way buckets, with a clock hand per bucket
 * choosing the entry to evict. Buckets are guarded by striped mutexes, so
 * verify threads and mempool admission share it.
 */
#include "core/internal.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#define SIGCACHE_WAYS    4
#define SIGCACHE_STRIPES 64
#define SIGCACHE_DEFAULT ((size_t)1 << 17) /* entries: 4 MiB of tags */

typedef struct {
	uint8_t tag[SIGCACHE_WAYS][FL_HASH_LEN];
	uint8_t used; /* bit i: tag[i] holds an entry */
	uint8_t hand; /* the way the next insert into a full bucket replaces */
} sigcache_bucket;

struct fl_sigcache {
	uint8_t salt[FL_HASH_LEN];
	size_t mask; /* n_buckets - 1, n_buckets a power of two */
	sigcache_bucket *buckets;
	pthread_mutex_t locks[SIGCACHE_STRIPES];
};

int fl_sigcache_new(fl_sigcache **out, size_t max_entries)
{
	fl_sigcache *c;
	size_t n = 1;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (max_entries == 0)
		max_entries = SIGCACHE_DEFAULT;
	if (max_entries > ((size_t)1 << 26))
		return FL_ETOOBIG;
	while (n * SIGCACHE_WAYS < max_entries)
		n *= 2;
	c = fl_calloc(1, sizeof(*c));
	if (c == NULL)
		return FL_ENOMEM;
	c->buckets = fl_calloc(n, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		fl_free(c);
		return FL_ENOMEM;
	}
	c->mask = n - 1;
	if ((rc = fl_random_bytes(c->salt, sizeof(c->salt))) != FL_OK) {
		fl_free(c->buckets);
		fl_free(c);
		return rc;
	}
	for (size_t i = 0; i < SIGCACHE_STRIPES; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	*out = c;
	return FL_OK;
}

void fl_sigcache_free(fl_sigcache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < SIGCACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->locks[i]);
	fl_free(c->buckets);
	fl_wipe(c->salt, sizeof(c->salt));
	fl_free(c);
}

/* The entry of a triple, and its bucket from the entry's first bytes. */
static size_t sigcache_entry(const fl_sigcache *c, fl_hash *entry, const fl_hash *msg,
			     const fl_pubkey *pk, const fl_sig *sig)
{
	uint8_t buf[FL_HASH_LEN + FL_HASH_LEN + FL_PUBKEY_LEN + FL_SIG_LEN];
	size_t bucket = 0;

	memcpy(buf, c->salt, FL_HASH_LEN);
	memcpy(buf + FL_HASH_LEN, msg->b, FL_HASH_LEN);
	memcpy(buf + 2 * FL_HASH_LEN, pk->b, FL_PUBKEY_LEN);
	memcpy(buf + 2 * FL_HASH_LEN + FL_PUBKEY_LEN, sig->b, FL_SIG_LEN);
	fl_sha256(entry, buf, sizeof(buf));
	for (int i = 0; i < 8; i++)
		bucket = bucket << 8 | entry->b[i];
	return bucket & c->mask;
}

static int bucket_find(const sigcache_bucket *b, const fl_hash *entry)
{
	for (int w = 0; w < SIGCACHE_WAYS; w++)
		if ((b->used >> w & 1) && memcmp(b->tag[w], entry->b, FL_HASH_LEN) == 0)
			return w;
	return -1;
}

int fl_sigcache_contains(fl_sigcache *c, const fl_hash *msg, const fl_pubkey *pk,
			 const fl_sig *sig)
{
	fl_hash entry;
	size_t i;
	int hit;

	assert(c != NULL && msg != NULL && pk != NULL && sig != NULL);
	i = sigcache_entry(c, &entry, msg, pk, sig);
	pthread_mutex_lock(&c->locks[i % SIGCACHE_STRIPES]);
	hit = bucket_find(&c->buckets[i], &entry) >= 0;
	pthread_mutex_unlock(&c->locks[i % SIGCACHE_STRIPES]);
	return hit;
}

/* The entry goes in unless there already (clock eviction when full). */
static void sigcache_insert(fl_sigcache *c, size_t i, const fl_hash *entry)
{
	sigcache_bucket *b;
	int w;

	pthread_mutex_lock(&c->locks[i % SIGCACHE_STRIPES]);
	b = &c->buckets[i];
	if (bucket_find(b, entry) < 0) {
		for (w = 0; w < SIGCACHE_WAYS && (b->used >> w & 1); w++)
			;
		if (w == SIGCACHE_WAYS) {
			w = b->hand;
			b->hand = (uint8_t)((b->hand + 1) % SIGCACHE_WAYS);
		}
		memcpy(b->tag[w], entry->b, FL_HASH_LEN);
		b->used |= (uint8_t)(1u << w);
	}
	pthread_mutex_unlock(&c->locks[i % SIGCACHE_STRIPES]);
}

/* The entry is computed once for the lookup and the insert. */
static int verify_through(fl_sigcache *c, const fl_sig *sig, const fl_pubkey *pk,
			  const fl_hash *msg, int remember)
{
	fl_hash entry;
	size_t i = 0;
	int rc, hit;

	assert(sig != NULL && pk != NULL && msg != NULL);
	if (c != NULL) {
		i = sigcache_entry(c, &entry, msg, pk, sig);
		pthread_mutex_lock(&c->locks[i % SIGCACHE_STRIPES]);
		hit = bucket_find(&c->buckets[i], &entry) >= 0;
		pthread_mutex_unlock(&c->locks[i % SIGCACHE_STRIPES]);
		if (hit)
			return FL_OK;
	}
	rc = fl_verify(sig, pk, msg);
	/* Only what verified goes in: a failure is never remembered, so an
	 * invalid triple is checked (and refused) every time. */
	if (rc == FL_OK && c != NULL && remember)
		sigcache_insert(c, i, &entry);
	return rc;
}

int fl_verify_cached(fl_sigcache *c, const fl_sig *sig, const fl_pubkey *pk, const fl_hash *msg)
{
	return verify_through(c, sig, pk, msg, 1);
}

int fl_verify_lookup(fl_sigcache *c, const fl_sig *sig, const fl_pubkey *pk, const fl_hash *msg)
{
	return verify_through(c, sig, pk, msg, 0);
}

