/*
 * tests/chain/test_overlay_get_le.c — chain_txn_get_le on an admission txn
 * sees the overlay: random puts, deletes and rollbacks on an overlay answer
 * every get_le as a store with the same writes committed does (and as a
 * plain model of LMDB's key order does); the edges one at a time; and the
 * bug it fixes: two validator updates scheduled for one height at
 * admission get seq 0 and 1, exactly what applying a block of both writes.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The database the raw-store tests write; its neighbours in (db, key)
 * order hold keys too, which must never leak into its answers. */
#define DB       CHAIN_DB_BLOCK_HASHES
#define DB_BELOW CHAIN_DB_BLOCKS
#define DB_ABOVE CHAIN_DB_TXS

/* ------------------------------------------------------------ raw stores */

typedef struct {
	char dir[64];
	chain_store *s;
} raw_store;

static raw_store stores[2];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void store_close(raw_store *r)
{
	chain_store_close(r->s);
	r->s = NULL;
	if (r->dir[0] != '\0')
		nftw(r->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	r->dir[0] = '\0';
}

static void stores_close(void)
{
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
		store_close(&stores[i]);
}

static chain_store *store_open(raw_store *r)
{
	store_close(r);
	strcpy(r->dir, "/tmp/fl-getle-XXXXXX");
	cr_assert_not_null(mkdtemp(r->dir));
	cr_assert_eq(chain_store_open(&r->s, r->dir, 0), FL_OK);
	return r->s;
}

static void put_committed(chain_store *s, chain_db db, const char *key, const char *val)
{
	chain_txn *t = NULL;

	cr_assert_eq(chain_txn_begin(s, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_put(t, db, key, strlen(key), val, strlen(val)), FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
}

/* get_le of a NUL-terminated key; the answer's key and value as strings. */
static int le(chain_txn *t, chain_db db, const char *key, char *fk, char *fv)
{
	const uint8_t *k = NULL, *v = NULL;
	size_t klen = 0, vlen = 0;
	int rc = chain_txn_get_le(t, db, key, strlen(key), &k, &klen, &v, &vlen);

	fk[0] = fv[0] = '\0';
	if (rc == FL_OK) {
		cr_assert_not_null(k);
		cr_assert_not_null(v);
		cr_assert_lt(klen, 16);
		cr_assert_lt(vlen, 16);
		memcpy(fk, k, klen);
		fk[klen] = '\0';
		memcpy(fv, v, vlen);
		fv[vlen] = '\0';
	} else {
		cr_assert_null(k);
		cr_assert_null(v);
		cr_assert_eq(klen + vlen, 0);
	}
	return rc;
}

#define ASSERT_LE(t, key, want_key, want_val)                                                      \
	do {                                                                                       \
		char fk_[16], fv_[16];                                                             \
		int rc_ = le((t), DB, (key), fk_, fv_);                                            \
		cr_assert_eq(rc_, FL_OK, "le '%s': %s", (key), fl_strerror(rc_));                  \
		cr_assert_str_eq(fk_, (want_key), "le '%s'", (key));                               \
		cr_assert_str_eq(fv_, (want_val), "le '%s'", (key));                               \
	} while (0)

#define ASSERT_LE_NONE(t, key)                                                                     \
	do {                                                                                       \
		char fk_[16], fv_[16];                                                             \
		int rc_ = le((t), DB, (key), fk_, fv_);                                            \
		cr_assert_eq(rc_, FL_ENOTFOUND, "le '%s': found '%s'", (key), fk_);                \
	} while (0)

static void put(chain_txn *t, const char *key, const char *val)
{
	cr_assert_eq(chain_txn_put(t, DB, key, strlen(key), val, strlen(val)), FL_OK);
}

static void del(chain_txn *t, const char *key)
{
	cr_assert_eq(chain_txn_del(t, DB, key, strlen(key)), FL_OK);
}

/* One raw store holding `committed` (key, value, key, value, ..., NULL)
 * and keys in the neighbouring databases, and an admission txn over it
 * (which sees the store as it was when it began); end_overlay frees both. */
static chain_overlay *ov;
static chain_txn *ot;

static void begin_overlay(const char *const *committed)
{
	chain_store *s = store_open(&stores[0]);

	put_committed(s, DB_BELOW, "zz", "below");
	put_committed(s, DB_ABOVE, "a", "above");
	for (size_t i = 0; committed != NULL && committed[i] != NULL; i += 2)
		put_committed(s, DB, committed[i], committed[i + 1]);
	cr_assert_eq(chain_overlay_new(&ov), FL_OK);
	cr_assert_eq(chain_txn_begin_overlay(s, ov, &ot), FL_OK);
}

static void end_overlay(void)
{
	chain_txn_abort(ot);
	chain_overlay_free(ov);
	ot = NULL;
	ov = NULL;
	stores_close();
}

/* ------------------------------------------------------------ the edges */

Test(overlay_get_le, empty_database, .fini = end_overlay)
{
	begin_overlay(NULL);
	ASSERT_LE_NONE(ot, "a");
	ASSERT_LE_NONE(ot, "\xff\xff");
	/* Overlay keys in the neighbouring databases are not this one's. */
	cr_assert_eq(chain_txn_put(ot, DB_BELOW, "zzz", 3, "x", 1), FL_OK);
	cr_assert_eq(chain_txn_put(ot, DB_ABOVE, "0", 1, "x", 1), FL_OK);
	ASSERT_LE_NONE(ot, "m");
	/* Bad lengths are refused as on a plain txn. */
	{
		const uint8_t *k, *v;
		size_t klen, vlen;

		cr_assert_eq(chain_txn_get_le(ot, DB, "a", 0, &k, &klen, &v, &vlen), FL_EINVAL);
	}
}

Test(overlay_get_le, key_below_all, .fini = end_overlay)
{
	begin_overlay((const char *const[]){"b", "1", "c", "2", NULL});
	ASSERT_LE_NONE(ot, "a");
	put(ot, "bb", "3");
	ASSERT_LE_NONE(ot, "a");
	ASSERT_LE_NONE(ot, "ab");
	/* Shorter sorts first: "b" is below "ba", "a" below "b". */
	ASSERT_LE(ot, "ba", "b", "1");
	ASSERT_LE(ot, "bc", "bb", "3");
}

Test(overlay_get_le, exact_hits, .fini = end_overlay)
{
	begin_overlay((const char *const[]){"b", "1", NULL});
	put(ot, "d", "4");
	ASSERT_LE(ot, "b", "b", "1");
	ASSERT_LE(ot, "d", "d", "4");
	ASSERT_LE(ot, "c", "b", "1");
	ASSERT_LE(ot, "z", "d", "4");
	/* An empty overlay value is still found, with a non-NULL pointer. */
	put(ot, "e", "");
	ASSERT_LE(ot, "e", "e", "");
}

Test(overlay_get_le, deleted_hit_falls_back, .fini = end_overlay)
{
	begin_overlay((const char *const[]){"a", "1", "b", "2", "c", "3", NULL});
	del(ot, "b");
	ASSERT_LE(ot, "b", "a", "1");
	ASSERT_LE(ot, "bz", "a", "1");
	ASSERT_LE(ot, "c", "c", "3");
	/* Deletes in a row, of committed and of overlay-only keys. */
	put(ot, "ab", "5");
	del(ot, "ab");
	del(ot, "a");
	ASSERT_LE_NONE(ot, "b");
	ASSERT_LE(ot, "d", "c", "3");
	del(ot, "c");
	ASSERT_LE_NONE(ot, "d");
	/* Put back over a delete. */
	put(ot, "a", "6");
	ASSERT_LE(ot, "d", "a", "6");
}

Test(overlay_get_le, overlay_shadows_committed, .fini = end_overlay)
{
	begin_overlay((const char *const[]){"b", "old", "d", "dd", NULL});
	put(ot, "b", "new");
	ASSERT_LE(ot, "b", "b", "new");
	ASSERT_LE(ot, "c", "b", "new");
	/* Between a committed key and a greater overlay one. */
	put(ot, "bb", "mid");
	ASSERT_LE(ot, "c", "bb", "mid");
	ASSERT_LE(ot, "d", "d", "dd");
}

/* A write taken back leaves a "pass" node: on a committed key it shows the
 * committed entry, on any other it hides nothing. */
Test(overlay_get_le, rolled_back_writes_pass, .fini = end_overlay)
{
	size_t mark;

	begin_overlay((const char *const[]){"b", "1", NULL});
	mark = chain_overlay_mark(ov);
	put(ot, "b", "2");
	put(ot, "c", "3");
	del(ot, "b");
	chain_overlay_rollback(ov, mark);
	cr_assert_eq(chain_overlay_size(ov), 2, "the nodes stay, as passes");
	ASSERT_LE(ot, "b", "b", "1");
	ASSERT_LE(ot, "c", "b", "1");
	ASSERT_LE(ot, "z", "b", "1");
	ASSERT_LE_NONE(ot, "a");
}

/* --------------------------------------------------- the differential */

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Written keys: 1..4 of 'a'..'c', so equal keys and prefixes are common. */
static size_t rnd_key(uint32_t *x, char *k)
{
	size_t n = 1 + rnd(x) % 4;

	for (size_t i = 0; i < n; i++)
		k[i] = (char)('a' + rnd(x) % 3);
	return n;
}

/* Query keys: also one letter below and one above every written one. */
static size_t rnd_query(uint32_t *x, char *k)
{
	size_t n = 1 + rnd(x) % 5;

	for (size_t i = 0; i < n; i++)
		k[i] = (char)('`' + rnd(x) % 5);
	return n;
}

/* A plain model of what is committed: LMDB's order is bytes, then shorter
 * first, i.e. strcmp on these NUL-free keys. */
#define MODEL_MAX 128
typedef struct {
	size_t n;
	char key[MODEL_MAX][8];
	char val[MODEL_MAX][8];
} model;

static void model_put(model *m, const char *k, size_t klen, const char *v, size_t vlen)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strlen(m->key[i]) == klen && memcmp(m->key[i], k, klen) == 0)
			break;
	if (i == m->n) {
		cr_assert_lt(m->n, MODEL_MAX);
		memcpy(m->key[i], k, klen);
		m->key[i][klen] = '\0';
		m->n++;
	}
	memcpy(m->val[i], v, vlen);
	m->val[i][vlen] = '\0';
}

static void model_del(model *m, const char *k, size_t klen)
{
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->key[i]) == klen && memcmp(m->key[i], k, klen) == 0) {
			m->n--;
			memcpy(m->key[i], m->key[m->n], sizeof(m->key[i]));
			memcpy(m->val[i], m->val[m->n], sizeof(m->val[i]));
			return;
		}
}

static int model_le(const model *m, const char *q, char *fk, char *fv)
{
	const char *best = NULL;
	size_t at = 0;

	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->key[i], q) <= 0 && (best == NULL || strcmp(m->key[i], best) > 0)) {
			best = m->key[i];
			at = i;
		}
	fk[0] = fv[0] = '\0';
	if (best == NULL)
		return FL_ENOTFOUND;
	strcpy(fk, m->key[at]);
	strcpy(fv, m->val[at]);
	return FL_OK;
}

/* One seed: the same base committed to stores a and b, then rounds of
 * writes on an overlay over a, each round kept (and committed to b) or
 * rolled back, and after every round get_le at many keys on the overlay,
 * on a read txn of b and on the model, which must all agree. */
static void differential(uint32_t seed)
{
	chain_store *a = store_open(&stores[0]), *b = store_open(&stores[1]);
	chain_overlay *o = NULL;
	chain_txn *t = NULL, *ta = NULL, *tb = NULL;
	static model m;
	uint32_t x = seed;
	int base = 20 + (int)(rnd(&x) % 40);

	m.n = 0;
	cr_assert_eq(chain_txn_begin(a, 1, &ta), FL_OK);
	cr_assert_eq(chain_txn_begin(b, 1, &tb), FL_OK);
	for (int i = 0; i < base; i++) {
		char k[8], v[2] = {'b', (char)('0' + i % 10)};
		size_t n = rnd_key(&x, k);

		cr_assert_eq(chain_txn_put(ta, DB, k, n, v, 2), FL_OK);
		cr_assert_eq(chain_txn_put(tb, DB, k, n, v, 2), FL_OK);
		model_put(&m, k, n, v, 2);
	}
	/* Neighbours, in both stores alike. */
	cr_assert_eq(chain_txn_put(ta, DB_BELOW, "ccccc", 5, "x", 1), FL_OK);
	cr_assert_eq(chain_txn_put(tb, DB_BELOW, "ccccc", 5, "x", 1), FL_OK);
	cr_assert_eq(chain_txn_put(ta, DB_ABOVE, "`", 1, "x", 1), FL_OK);
	cr_assert_eq(chain_txn_put(tb, DB_ABOVE, "`", 1, "x", 1), FL_OK);
	cr_assert_eq(chain_txn_commit(ta), FL_OK);
	cr_assert_eq(chain_txn_commit(tb), FL_OK);

	cr_assert_eq(chain_overlay_new(&o), FL_OK);
	cr_assert_eq(chain_txn_begin_overlay(a, o, &t), FL_OK);
	for (int round = 0; round < 30; round++) {
		int keep = rnd(&x) % 3 != 0, ops = 1 + (int)(rnd(&x) % 6);
		size_t mark = chain_overlay_mark(o);

		tb = NULL;
		if (keep)
			cr_assert_eq(chain_txn_begin(b, 1, &tb), FL_OK);
		for (int op = 0; op < ops; op++) {
			char k[8], v[3] = {(char)('A' + round % 26), (char)('0' + op), 'v'};
			size_t n = rnd_key(&x, k), vlen = rnd(&x) % 4;
			int d = rnd(&x) % 3 == 0;

			/* Now and then a neighbour's key: it must stay invisible. */
			if (rnd(&x) % 8 == 0)
				cr_assert_eq(chain_txn_put(t, rnd(&x) % 2 ? DB_BELOW : DB_ABOVE, k,
							   n, v, vlen),
					     FL_OK);
			if (d) {
				cr_assert_eq(chain_txn_del(t, DB, k, n), FL_OK);
			} else {
				cr_assert_eq(chain_txn_put(t, DB, k, n, v, vlen), FL_OK);
			}
			if (keep && d) {
				cr_assert_eq(chain_txn_del(tb, DB, k, n), FL_OK);
				model_del(&m, k, n);
			} else if (keep) {
				cr_assert_eq(chain_txn_put(tb, DB, k, n, v, vlen), FL_OK);
				model_put(&m, k, n, v, vlen);
			}
		}
		if (keep) {
			chain_overlay_keep(o);
			cr_assert_eq(chain_txn_commit(tb), FL_OK);
		} else {
			chain_overlay_rollback(o, mark);
		}
		cr_assert_eq(chain_txn_begin(b, 0, &tb), FL_OK);
		for (int i = 0; i < 40; i++) {
			char q[8], k1[16], v1[16], k2[16], v2[16], k3[16], v3[16];
			size_t n = rnd_query(&x, q);
			int r1, r2, r3;

			q[n] = '\0';
			r1 = le(t, DB, q, k1, v1);
			r2 = le(tb, DB, q, k2, v2);
			r3 = model_le(&m, q, k3, v3);
			cr_assert_eq(r2, r3, "seed %u round %d: committed le '%s': %d vs model %d",
				     seed, round, q, r2, r3);
			cr_assert_str_eq(k2, k3, "seed %u round %d: committed le '%s'", seed, round,
					 q);
			cr_assert_str_eq(v2, v3, "seed %u round %d: committed le '%s'", seed, round,
					 q);
			cr_assert_eq(r1, r2,
				     "seed %u round %d: le '%s': overlay %d ('%s'), store %d", seed,
				     round, q, r1, k1, r2);
			cr_assert_str_eq(k1, k2, "seed %u round %d: le '%s'", seed, round, q);
			cr_assert_str_eq(v1, v2, "seed %u round %d: le '%s' at '%s'", seed, round,
					 q, k1);
		}
		chain_txn_abort(tb);
	}
	chain_txn_abort(t);
	chain_overlay_free(o);
}

Test(overlay_get_le, agrees_with_the_committed_store, .fini = stores_close, .timeout = 120)
{
	static const uint32_t seeds[] = {1u,          2463534242u, 88172645u, 521288629u,
					 3141592653u, 2718281828u, 12345u,    987654321u};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		differential(seeds[i]);
}

/* ----------------------------------------------------------- end to end */

static chain_fixture fx;

/* One validator (all the power): each of its votes decides at once. */
static void open_one_validator(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 1;
	o.n_members = 2;
	o.balance = 1000000;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void close_fixture(void)
{
	fixture_close(&fx);
}

static void add_vote(chain_tx *tx, uint32_t target, uint64_t power)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_VALIDATOR_UPDATE;
	tx->u.validator_update.target = fx.pk[target];
	tx->u.validator_update.action = CHAIN_VALSET_ADD;
	tx->u.validator_update.power = power;
	cr_assert_eq(fixture_sign(&fx, tx, 0), 0);
}

/* The updates scheduled for `height`, in key order. */
typedef struct {
	uint32_t n;
	uint32_t seq[4];
	chain_tx_validator_update u[4];
} pending;

static int collect_pending(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
			   size_t vlen)
{
	pending *p = ctx;

	cr_assert_eq(klen, 12);
	cr_assert_lt(p->n, 4);
	p->seq[p->n] = chain_get_be32(key + 8);
	cr_assert_eq(chain_valset_update_record_decode(val, vlen, &p->u[p->n]), FL_OK);
	p->n++;
	return 0;
}

static pending pending_at(chain_txn *t, uint64_t height)
{
	uint8_t prefix[8];
	pending p;

	memset(&p, 0, sizeof(p));
	chain_put_be64(prefix, height);
	cr_assert_eq(
	    chain_txn_scan(t, CHAIN_DB_VALSET_PENDING, prefix, sizeof(prefix), collect_pending, &p),
	    FL_OK);
	return p;
}

/* Before the fix the second schedule read only the committed state, found
 * no update at H+2 and wrote seq 0 again, over the first one's. */
Test(overlay_get_le, second_update_of_a_height_gets_seq_1, .init = open_one_validator,
     .fini = close_fixture)
{
	chain_mempool_check *ck = NULL;
	const char *reason = NULL;
	uint64_t H;
	pending adm, app;
	chain_txn *t = NULL;
	chain_tx txs[2];

	cr_assert_eq(fixture_advance_to(&fx, 2), 0);
	H = fixture_height(&fx) + 1;
	add_vote(&txs[0], 1, 5);
	add_vote(&txs[1], 2, 7);

	cr_assert_eq(chain_mempool_check_begin(fx.store, &ck), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(chain_mempool_check_tx(ck, &txs[i], &reason), 0, "tx %d: %s", i,
			     reason);
	adm = pending_at(chain_mempool_check_txn(ck), H + 2);
	chain_mempool_check_end(ck);

	cr_assert_eq(fixture_next_block(&fx, txs, 2), 0, "%s", fx.res.reason);
	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	app = pending_at(t, H + 2);
	chain_txn_abort(t);

	cr_assert_eq(app.n, 2);
	cr_assert_eq(app.seq[0], 0);
	cr_assert_eq(app.seq[1], 1);
	cr_assert_eq(fl_pubkey_cmp(&app.u[0].target, &fx.pk[1]), 0);
	cr_assert_eq(fl_pubkey_cmp(&app.u[1].target, &fx.pk[2]), 0);
	cr_assert_eq(adm.n, app.n, "admission scheduled %u, the block %u", adm.n, app.n);
	for (uint32_t i = 0; i < app.n; i++) {
		cr_assert_eq(adm.seq[i], app.seq[i]);
		cr_assert_eq(fl_pubkey_cmp(&adm.u[i].target, &app.u[i].target), 0);
		cr_assert_eq(adm.u[i].action, app.u[i].action);
		cr_assert_eq(adm.u[i].power, app.u[i].power);
	}
}
