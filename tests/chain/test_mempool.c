/*
 * tests/chain/test_mempool.c — admission over committed state plus the
 * txs already admitted (chain_mempool_check_*): a second full-balance
 * transfer, a nonce gap or a second vote of one validator is refused at
 * admission, a refused tx leaves nothing behind, admission takes no write
 * lock (it runs while a write txn is open, and while another thread applies
 * blocks), and the overlay under it merges with the store in key order.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static chain_fixture fx;

static void open_default(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = 2;
	o.n_outsiders = 4;
	o.balance = 1000000;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void close_fixture(void)
{
	fixture_close(&fx);
}

TestSuite(mempool, .init = open_default, .fini = close_fixture);

static void transfer(chain_tx *tx, uint32_t from, uint32_t to, uint64_t amount, uint64_t nonce)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_TRANSFER;
	tx->u.transfer.to = fx.pk[to];
	tx->u.transfer.amount = amount;
	cr_assert_eq(fixture_sign_nonce(&fx, tx, from, nonce), 0);
}

/* The defect of chain_check_tx: with a pending nonce it checks each tx on
 * the committed balance alone, so both halves of a double spend pass and
 * the block holding them is invalid as a whole. */
Test(mempool, second_full_balance_transfer_refused)
{
	chain_mempool_check *ck = NULL;
	const char *reason = NULL;
	chain_tx a, b, both[2];

	transfer(&a, 4, 5, 1000000, 1);
	transfer(&b, 4, 6, 1000000, 2);
	cr_assert_eq(chain_check_tx(fx.store, &a, 0, &reason), 0);
	cr_assert_eq(chain_check_tx(fx.store, &b, 1, &reason), 0, "the old check admits both");

	cr_assert_eq(chain_mempool_check_begin(fx.store, &ck), 0);
	cr_assert_eq(chain_mempool_check_tx(ck, &a, &reason), 0);
	cr_assert_null(reason);
	cr_assert_eq(chain_mempool_check_tx(ck, &b, &reason), FL_EFUNDS);
	cr_assert_str_eq(reason, "tx: balance too low");
	cr_assert_eq(chain_mempool_check_count(ck), 1);
	chain_mempool_check_end(ck);

	/* What the block would have said, and that the admitted one applies. */
	both[0] = a;
	both[1] = b;
	cr_assert_eq(fixture_next_block(&fx, both, 2), FL_EFUNDS);
	cr_assert_eq(fx.res.failed_tx, 1);
	cr_assert_eq(fixture_next_block(&fx, &a, 1), 0, "%s", fx.res.reason);
	cr_assert_eq(fixture_balance(&fx, 5), 2000000);
	/* Admission only read: nothing of b is anywhere. */
	cr_assert_eq(fixture_balance(&fx, 6), 1000000);
}

Test(mempool, nonces_in_order_gaps_refused)
{
	chain_mempool_check *ck = NULL;
	const char *reason = NULL;
	chain_tx tx;

	cr_assert_eq(chain_mempool_check_begin(fx.store, &ck), 0);
	for (uint64_t n = 1; n <= 3; n++) {
		transfer(&tx, 4, 5, 10, n);
		cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), 0, "nonce %lu: %s",
			     (unsigned long)n, reason);
	}
	transfer(&tx, 4, 5, 10, 5);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), FL_ENONCE);
	cr_assert_str_eq(reason, "tx: nonce");
	transfer(&tx, 4, 5, 10, 2);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), FL_ENONCE, "a replay");
	transfer(&tx, 4, 5, 10, 4);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), 0, "the gap filled");
	/* Another sender's sequence is its own. */
	transfer(&tx, 6, 5, 10, 1);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), 0);
	cr_assert_eq(chain_mempool_check_count(ck), 5);
	chain_mempool_check_end(ck);
}

/* A tx refused by its rule after the nonce bump takes the bump back: the
 * sender's next tx still needs the same nonce. */
Test(mempool, refused_tx_leaves_nothing)
{
	chain_mempool_check *ck = NULL;
	const char *reason = NULL;
	chain_tx tx;

	cr_assert_eq(chain_mempool_check_begin(fx.store, &ck), 0);
	transfer(&tx, 4, 5, 1000001, 1);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), FL_EFUNDS);
	transfer(&tx, 4, 5, 1000000, 1);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), 0, "%s", reason);
	/* The recipient's credit is seen by its own spend. */
	transfer(&tx, 5, 6, 2000000, 1);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), 0, "%s", reason);
	transfer(&tx, 5, 6, 1, 2);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), FL_EFUNDS);
	/* A forged signature is refused and costs the sender nothing. */
	transfer(&tx, 7, 6, 1, 1);
	tx.sig.b[3] ^= 1;
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), FL_ESIG);
	transfer(&tx, 7, 6, 1, 1);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), 0);
	chain_mempool_check_end(ck);
}

static void member_vote(chain_tx *tx, uint32_t voter, uint32_t subject)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_MEMBER_ADD;
	tx->u.member.member = fx.pk[subject];
	snprintf(tx->u.member.name, sizeof(tx->u.member.name), "new member");
	cr_assert_eq(fixture_sign(&fx, tx, voter), 0);
}

Test(mempool, one_vote_per_validator)
{
	chain_mempool_check *ck = NULL;
	const char *reason = NULL;
	chain_tx tx;
	chain_tx votes[3];

	cr_assert_eq(chain_mempool_check_begin(fx.store, &ck), 0);
	member_vote(&votes[0], 0, 8);
	cr_assert_eq(chain_mempool_check_tx(ck, &votes[0], &reason), 0, "%s", reason);
	member_vote(&tx, 0, 8);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), FL_EDUP);
	cr_assert_str_eq(reason, "tx: duplicate vote");
	member_vote(&votes[1], 1, 8);
	cr_assert_eq(chain_mempool_check_tx(ck, &votes[1], &reason), 0, "%s", reason);
	/* The third vote passes 2/3 (30 of 40): the tally scans the votes the
	 * overlay holds; the subject is then a member, so the fourth is late. */
	member_vote(&votes[2], 2, 8);
	cr_assert_eq(chain_mempool_check_tx(ck, &votes[2], &reason), 0, "%s", reason);
	member_vote(&tx, 3, 8);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), FL_ESTATE);
	cr_assert_str_eq(reason, "tx: already a member");
	chain_mempool_check_end(ck);
	/* The admitted three make a valid block. */
	cr_assert_eq(fixture_next_block(&fx, votes, 3), 0, "%s", fx.res.reason);
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[8], &(chain_account){0}), 0);
}

/* chain_check_tx would wait for (or, on this thread, assert on) LMDB's
 * writer mutex; admission takes none. */
Test(mempool, admits_while_a_write_txn_is_open)
{
	chain_mempool_check *ck = NULL;
	const char *reason = NULL;
	chain_txn *w = NULL;
	chain_tx tx;

	cr_assert_eq(chain_txn_begin(fx.store, 1, &w), 0);
	cr_assert_eq(chain_mempool_check_begin(fx.store, &ck), 0);
	transfer(&tx, 4, 5, 10, 1);
	cr_assert_eq(chain_mempool_check_tx(ck, &tx, &reason), 0, "%s", reason);
	chain_mempool_check_end(ck);
	chain_txn_abort(w);
}

typedef struct {
	int rc;
	const char *reason;
	int blocks;
} applier;

/* Blocks of transfers between keys 0 and 1 (validators), while the main
 * thread admits transfers of keys 4..7. */
static void *apply_thread(void *arg)
{
	applier *a = arg;

	for (int i = 0; i < 12 && a->rc == 0; i++) {
		chain_block_result res;
		chain_block b;
		chain_tx tx;

		memset(&tx, 0, sizeof(tx));
		tx.kind = CHAIN_TX_TRANSFER;
		tx.u.transfer.to = fx.pk[1];
		tx.u.transfer.amount = 1;
		if ((a->rc = fixture_sign_nonce(&fx, &tx, 0, (uint64_t)i + 1)) != 0)
			break;
		if ((a->rc = fixture_build_block(&fx, &tx, 1, &b)) != 0)
			break;
		a->rc = chain_apply_block(fx.store, &b, &res);
		a->reason = res.reason;
		chain_block_free(&b);
		a->blocks++;
	}
	return NULL;
}

Test(mempool, admits_while_another_thread_applies, .timeout = 60)
{
	enum { N = 40 };
	chain_tx txs[N];
	applier a = {0, NULL, 0};
	pthread_t th;
	int rounds = 0;

	for (uint32_t i = 0; i < N; i++)
		transfer(&txs[i], 4 + i % 4, 9, 1, 1 + i / 4);
	cr_assert_eq(pthread_create(&th, NULL, apply_thread, &a), 0);
	do {
		chain_mempool_check *ck = NULL;
		const char *reason = NULL;

		cr_assert_eq(chain_mempool_check_begin(fx.store, &ck), 0);
		for (uint32_t i = 0; i < N; i++)
			cr_assert_eq(chain_mempool_check_tx(ck, &txs[i], &reason), 0, "tx %u: %s",
				     i, reason);
		chain_mempool_check_end(ck);
		rounds++;
	} while (__atomic_load_n(&a.blocks, __ATOMIC_RELAXED) < 12 && a.rc == 0 && rounds < 1000);
	pthread_join(th, NULL);
	cr_assert_eq(a.rc, 0, "applier: %s", a.reason ? a.reason : "-");
	cr_assert_eq(a.blocks, 12);
	cr_assert_eq(fixture_height(&fx), 12);
	cr_assert_gt(rounds, 0);
}

/* ------------------------------------------------------------- overlay */

static int collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	char *out = ctx;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "%.*s=%.*s ", (int)klen, (const char *)key, (int)vlen,
		 (const char *)val);
	return 0;
}

static void put(chain_txn *t, const char *k, const char *v)
{
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_BLOCK_HASHES, k, strlen(k), v, strlen(v)), 0);
}

Test(mempool, overlay_merges_with_the_store_in_key_order)
{
	chain_overlay *ov = NULL;
	chain_txn *t = NULL;
	const uint8_t *v;
	size_t vlen, mark;
	char seen[256] = "";

	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	put(t, "a1", "s");
	put(t, "a3", "s");
	put(t, "a5", "s");
	put(t, "a8", "s");
	put(t, "b1", "s");
	cr_assert_eq(chain_txn_commit(t), 0);

	cr_assert_eq(chain_overlay_new(&ov), 0);
	cr_assert_eq(chain_txn_begin_overlay(fx.store, ov, &t), 0);
	put(t, "a2", "o");
	put(t, "a3", "o");
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_BLOCK_HASHES, "a5", 2), 0);
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_BLOCK_HASHES, "a4", 2), 0);
	put(t, "a9", "o");
	put(t, "a", "o");
	put(t, "0", "o");
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_BLOCK_HASHES, "a", 1, collect, seen), 0);
	cr_assert_str_eq(seen, "a=o a1=s a2=o a3=o a8=s a9=o ");
	cr_assert_eq(chain_txn_get(t, CHAIN_DB_BLOCK_HASHES, "a5", 2, &v, &vlen), FL_ENOTFOUND);
	cr_assert_eq(chain_txn_get(t, CHAIN_DB_BLOCK_HASHES, "a3", 2, &v, &vlen), 0);
	cr_assert_eq(vlen, 1);
	cr_assert_eq(v[0], 'o');

	/* Rolled back: a write, a delete of a committed key, a rewrite. */
	chain_overlay_keep(ov);
	mark = chain_overlay_mark(ov);
	put(t, "a7", "o");
	put(t, "a2", "r");
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_BLOCK_HASHES, "a1", 2), 0);
	chain_overlay_rollback(ov, mark);
	seen[0] = '\0';
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_BLOCK_HASHES, "a", 1, collect, seen), 0);
	cr_assert_str_eq(seen, "a=o a1=s a2=o a3=o a8=s a9=o ");
	/* The committed store never saw any of it. */
	chain_txn_abort(t);
	cr_assert_eq(chain_txn_begin(fx.store, 0, &t), 0);
	seen[0] = '\0';
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_BLOCK_HASHES, "a", 1, collect, seen), 0);
	cr_assert_str_eq(seen, "a1=s a3=s a5=s a8=s ");
	chain_txn_abort(t);
	cr_assert_gt(chain_overlay_size(ov), 5);
	chain_overlay_free(ov);
}

typedef struct {
	uint32_t n;
	uint8_t prev[5];
	int ok;
} sorted_ctx;

static int check_sorted(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
			size_t vlen)
{
	sorted_ctx *c = ctx;

	(void)val;
	if (klen != 5 || vlen != 0 || (c->n > 0 && memcmp(c->prev, key, 5) >= 0))
		c->ok = 0;
	memcpy(c->prev, key, 5);
	c->n++;
	return 0;
}

/* Many keys in random order: the tree stays sorted and complete. */
Test(mempool, overlay_many_keys_scan_sorted)
{
	chain_overlay *ov = NULL;
	chain_txn *t = NULL;
	sorted_ctx c = {0, {0}, 1};
	uint32_t x = 12345;

	cr_assert_eq(chain_overlay_new(&ov), 0);
	cr_assert_eq(chain_txn_begin_overlay(fx.store, ov, &t), 0);
	for (int i = 0; i < 5000; i++) {
		uint8_t key[5] = {'k'};

		x = x * 1103515245u + 12345u;
		chain_put_be32(key + 1, x >> 8);
		cr_assert_eq(chain_txn_put(t, CHAIN_DB_TXS, key, sizeof(key), "", 0), 0);
	}
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_TXS, "k", 1, check_sorted, &c), 0);
	cr_assert(c.ok);
	cr_assert_eq(c.n, chain_overlay_size(ov));
	cr_assert_gt(c.n, 4900);
	chain_txn_abort(t);
	chain_overlay_free(ov);
}

/* ------------------------------------------------ overlay vs the store */

typedef struct {
	char buf[64 * 1024];
	size_t len;
} dump;

static int dump_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	dump *d = ctx;

	if (d->len + klen + vlen + 4 < sizeof(d->buf)) {
		memcpy(d->buf + d->len, key, klen);
		d->buf[d->len + klen] = '=';
		memcpy(d->buf + d->len + klen + 1, val, vlen);
		d->buf[d->len + klen + 1 + vlen] = ';';
		d->len += klen + vlen + 2;
	}
	return 0;
}

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Short keys over a small alphabet, so prefixes and equal keys are common. */
static size_t rnd_key(uint32_t *x, char *k)
{
	size_t n = 1 + rnd(x) % 4;

	for (size_t i = 0; i < n; i++)
		k[i] = (char)('a' + rnd(x) % 3);
	return n;
}

static void compare(chain_txn *w, chain_txn *o, uint32_t *x)
{
	static dump dw, dov;
	char p[4];
	size_t plen = rnd(x) % 3;

	for (size_t i = 0; i < plen; i++)
		p[i] = (char)('a' + rnd(x) % 3);
	dw.len = dov.len = 0;
	cr_assert_eq(chain_txn_scan(w, CHAIN_DB_TXS, p, plen, dump_one, &dw), 0);
	cr_assert_eq(chain_txn_scan(o, CHAIN_DB_TXS, p, plen, dump_one, &dov), 0);
	cr_assert_eq(dw.len, dov.len, "prefix '%.*s': %.*s vs %.*s", (int)plen, p, (int)dw.len,
		     dw.buf, (int)dov.len, dov.buf);
	cr_assert_eq(memcmp(dw.buf, dov.buf, dw.len), 0);
	for (int i = 0; i < 8; i++) {
		const uint8_t *v1, *v2;
		size_t n1, n2;
		char k[4];
		size_t n = rnd_key(x, k);
		int r1 = chain_txn_get(w, CHAIN_DB_TXS, k, n, &v1, &n1);
		int r2 = chain_txn_get(o, CHAIN_DB_TXS, k, n, &v2, &n2);

		cr_assert_eq(r1, r2, "get '%.*s'", (int)n, k);
		if (r1 == 0) {
			cr_assert_eq(n1, n2);
			cr_assert_eq(memcmp(v1, v2, n1), 0);
		}
	}
}

/* The same random writes on an admission txn (a third of each batch taken
 * back) and on a real write txn: every get and every prefix scan agree. */
Test(mempool, overlay_agrees_with_a_write_txn)
{
	chain_overlay *ov = NULL;
	chain_txn *w = NULL, *o = NULL;
	uint32_t x = 2463534242u;

	cr_assert_eq(chain_txn_begin(fx.store, 1, &w), 0);
	for (int i = 0; i < 60; i++) {
		char k[4];
		size_t n = rnd_key(&x, k);

		cr_assert_eq(chain_txn_put(w, CHAIN_DB_TXS, k, n, "s", 1), 0);
	}
	cr_assert_eq(chain_txn_commit(w), 0);
	cr_assert_eq(chain_overlay_new(&ov), 0);
	cr_assert_eq(chain_txn_begin_overlay(fx.store, ov, &o), 0);
	cr_assert_eq(chain_txn_begin(fx.store, 1, &w), 0);
	for (int round = 0; round < 400; round++) {
		int keep = rnd(&x) % 3 != 0;
		size_t mark = chain_overlay_mark(ov);

		for (int op = 0; op < 5; op++) {
			char k[4], v[2] = {(char)('0' + round % 10), (char)('0' + op)};
			size_t n = rnd_key(&x, k), vlen = rnd(&x) % 3;
			int del = rnd(&x) % 3 == 0;

			if (del)
				cr_assert_eq(chain_txn_del(o, CHAIN_DB_TXS, k, n), 0);
			else
				cr_assert_eq(chain_txn_put(o, CHAIN_DB_TXS, k, n, v, vlen), 0);
			if (keep && del)
				cr_assert_eq(chain_txn_del(w, CHAIN_DB_TXS, k, n), 0);
			else if (keep)
				cr_assert_eq(chain_txn_put(w, CHAIN_DB_TXS, k, n, v, vlen), 0);
		}
		if (keep)
			chain_overlay_keep(ov);
		else
			chain_overlay_rollback(ov, mark);
		compare(w, o, &x);
	}
	chain_txn_abort(w);
	chain_txn_abort(o);
	chain_overlay_free(ov);
}
