/*
 * tests/chain/test_apphash.c — the state hash (an LtHash of every element
 * of the state databases) and the app hash made from it: the element vector
 * recomputed with another library, add/remove commutativity, a key written
 * twice in one txn, an aborted txn, a store tampered on disk diverging at
 * the next block, and 1,000 random blocks whose incremental value equals
 * the recomputation from scratch.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char ah_tmp[64];
static chain_store *ah_store;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void ah_teardown(void)
{
	chain_store_close(ah_store);
	ah_store = NULL;
	if (ah_tmp[0] != '\0')
		nftw(ah_tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	ah_tmp[0] = '\0';
}

/* An empty store (no genesis) in a fresh temp dir; removed at exit. */
static void ah_setup(void)
{
	static int registered;

	ah_teardown();
	strcpy(ah_tmp, "/tmp/fl-apphash-XXXXXX");
	cr_assert_not_null(mkdtemp(ah_tmp));
	if (!registered)
		cr_assert_eq(atexit(ah_teardown), 0);
	registered = 1;
	cr_assert_eq(chain_store_open(&ah_store, ah_tmp, 0), FL_OK);
}

static void put_s(chain_txn *t, chain_db db, const char *k, const char *v)
{
	cr_assert_eq(chain_txn_put(t, db, k, strlen(k), v, strlen(v)), FL_OK);
}

static void del_s(chain_txn *t, chain_db db, const char *k)
{
	cr_assert_eq(chain_txn_del(t, db, k, strlen(k)), FL_OK);
}

static void stored(chain_lthash *h)
{
	cr_assert_eq(chain_get_state_hash(ah_store, h), FL_OK);
}

static void recomputed(chain_lthash *h)
{
	cr_assert_eq(chain_state_hash_recompute(ah_store, h), FL_OK);
}

static int same(const chain_lthash *a, const chain_lthash *b)
{
	return memcmp(a->lane, b->lane, sizeof(a->lane)) == 0;
}

static int is_zero(const chain_lthash *a)
{
	chain_lthash z;

	memset(&z, 0, sizeof(z));
	return same(a, &z);
}

/* docs/store.md's element vector, built with libsodium's ChaCha20 (RFC 8439)
 * and a hand-written encoding rather than the code under test. */
static void element_vector(chain_lthash *out, uint8_t db, const char *key, const char *val)
{
	static const char domain[] = "fedledger/v1/lthash";
	uint8_t buf[2048], stream[CHAIN_LTHASH_BYTES], nonce[12] = {0};
	size_t klen = strlen(key), vlen = strlen(val), n = 0;
	fl_hash seed;

	cr_assert(klen + vlen + 64 <= sizeof(buf));
	memcpy(buf, domain, sizeof(domain)); /* with its NUL */
	n = sizeof(domain);
	buf[n++] = db;
	for (int i = 0; i < 8; i++)
		buf[n++] = (uint8_t)((uint64_t)klen >> (8 * i));
	memcpy(buf + n, key, klen);
	n += klen;
	for (int i = 0; i < 8; i++)
		buf[n++] = (uint8_t)((uint64_t)vlen >> (8 * i));
	memcpy(buf + n, val, vlen);
	n += vlen;
	fl_sha256(&seed, buf, n);
	memset(stream, 0, sizeof(stream));
	cr_assert_eq(crypto_stream_chacha20_ietf(stream, sizeof(stream), nonce, seed.b), 0);
	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
		out->lane[i] = (uint16_t)(stream[2 * i] | (stream[2 * i + 1] << 8));
}

Test(apphash, element_vector_matches_independent_computation)
{
	chain_lthash got, want, two;
	chain_txn *t;

	ah_setup();
	stored(&got);
	cr_assert(is_zero(&got), "an empty store hashes to zero");
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_ROUNDS, "round-key", "some value");
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	stored(&got);
	element_vector(&want, CHAIN_DB_ROUNDS, "round-key", "some value");
	cr_assert(same(&got, &want));

	/* A second element adds lane-wise mod 2^16. */
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_ACCOUNTS, "a", "");
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	element_vector(&two, CHAIN_DB_ACCOUNTS, "a", "");
	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
		want.lane[i] = (uint16_t)(want.lane[i] + two.lane[i]);
	stored(&got);
	cr_assert(same(&got, &want));
	recomputed(&got);
	cr_assert(same(&got, &want));

	/* A value too long for the hasher's one-piece seed buffer (lthash.c
	 * streams those) and one that just fits: the same definition. */
	for (size_t len = 474; len <= 477; len++) {
		char big[1200];

		memset(big, 'v', sizeof(big));
		big[len] = '\0';
		cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
		put_s(t, CHAIN_DB_PROFILES, "k", big);
		cr_assert_eq(chain_txn_commit(t), FL_OK);
		element_vector(&two, CHAIN_DB_PROFILES, "k", big);
		if (len > 474) {
			chain_lthash old;

			memset(big, 'v', sizeof(big));
			big[len - 1] = '\0';
			element_vector(&old, CHAIN_DB_PROFILES, "k", big);
			for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
				want.lane[i] = (uint16_t)(want.lane[i] - old.lane[i]);
		}
		for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
			want.lane[i] = (uint16_t)(want.lane[i] + two.lane[i]);
		stored(&got);
		cr_assert(same(&got, &want), "value of %zu bytes", len);
	}
	recomputed(&got);
	cr_assert(same(&got, &want));
}

Test(apphash, encoding_is_unambiguous)
{
	chain_lthash a, b, c;
	chain_lthasher *h;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	cr_assert_eq(chain_lthasher_new(&h), FL_OK);
	/* The same bytes split differently between key and value, or in
	 * another database, are other elements. */
	cr_assert_eq(chain_lthash_fold(h, &a, 1, 0, "ab", 2, "c", 1), FL_OK);
	cr_assert_eq(chain_lthash_fold(h, &b, 1, 0, "a", 1, "bc", 2), FL_OK);
	cr_assert_eq(chain_lthash_fold(h, &c, 1, 1, "ab", 2, "c", 1), FL_OK);
	cr_assert(!same(&a, &b));
	cr_assert(!same(&a, &c));
	/* Remove undoes add. */
	cr_assert_eq(chain_lthash_fold(h, &a, 0, 0, "ab", 2, "c", 1), FL_OK);
	cr_assert(is_zero(&a));
	chain_lthasher_free(h);
}

Test(apphash, app_hash_vector)
{
	static const char head[] = "fedledger/v1/app\0test-chain\0";
	uint8_t msg[sizeof(head) - 1 + 8 + CHAIN_LTHASH_BYTES];
	chain_lthash st;
	fl_hash got, want, other;
	size_t n;

	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++)
		st.lane[i] = (uint16_t)(i * 257 + 3);
	memcpy(msg, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	for (int i = 0; i < 8; i++) /* height 0x0102030405060708, little-endian */
		msg[n++] = (uint8_t)(8 - i);
	for (size_t i = 0; i < CHAIN_LTHASH_LANES; i++) {
		msg[n++] = (uint8_t)st.lane[i];
		msg[n++] = (uint8_t)(st.lane[i] >> 8);
	}
	fl_sha256(&want, msg, n);
	chain_app_hash(&got, "test-chain", 0x0102030405060708ull, &st);
	cr_assert_eq(memcmp(got.b, want.b, FL_HASH_LEN), 0);
	chain_app_hash(&other, "test-chain", 0x0102030405060709ull, &st);
	cr_assert_neq(memcmp(got.b, other.b, FL_HASH_LEN), 0);
	st.lane[1023] ^= 1;
	chain_app_hash(&other, "test-chain", 0x0102030405060708ull, &st);
	cr_assert_neq(memcmp(got.b, other.b, FL_HASH_LEN), 0);
}

/* ------------------------------------------------------------ txns */

Test(apphash, writes_commute_and_cancel)
{
	chain_lthash ab, ba, h;
	chain_txn *t;

	ah_setup();
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_ACCOUNTS, "a", "1");
	put_s(t, CHAIN_DB_VOTES, "b", "2");
	cr_assert_eq(chain_txn_state_hash(t, &ab), FL_OK);
	chain_txn_abort(t);
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_VOTES, "b", "2");
	put_s(t, CHAIN_DB_ACCOUNTS, "a", "1");
	cr_assert_eq(chain_txn_state_hash(t, &ba), FL_OK);
	/* A put then a delete of a key absent before is no change at all, and
	 * non-state databases never count. */
	put_s(t, CHAIN_DB_MEMBERS, "gone", "x");
	del_s(t, CHAIN_DB_MEMBERS, "gone");
	put_s(t, CHAIN_DB_META, "m", "1");
	put_s(t, CHAIN_DB_BLOCKS, "b", "1");
	del_s(t, CHAIN_DB_ACCOUNTS, "never-there");
	cr_assert_eq(chain_txn_state_hash(t, &h), FL_OK);
	cr_assert(same(&h, &ba));
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	cr_assert(same(&ab, &ba));
	cr_assert(!is_zero(&ab));
	stored(&h);
	cr_assert(same(&h, &ab));
	recomputed(&h);
	cr_assert(same(&h, &ab));

	/* Deleting both, in one txn and in another order, brings back zero. */
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	del_s(t, CHAIN_DB_ACCOUNTS, "a");
	del_s(t, CHAIN_DB_VOTES, "b");
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	stored(&h);
	cr_assert(is_zero(&h));
}

Test(apphash, key_written_twice_folds_once)
{
	chain_lthash once, twice, h;
	chain_txn *t;

	ah_setup();
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_ACCOUNTS, "k", "v0");
	put_s(t, CHAIN_DB_ACCOUNTS, "other", "o");
	cr_assert_eq(chain_txn_commit(t), FL_OK);

	/* v0 -> v2 directly ... */
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_ACCOUNTS, "k", "v2");
	cr_assert_eq(chain_txn_state_hash(t, &once), FL_OK);
	chain_txn_abort(t);
	/* ... and through v1, a delete and v0 again, asking in between. */
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_ACCOUNTS, "k", "v1");
	cr_assert_eq(chain_txn_state_hash(t, &h), FL_OK);
	del_s(t, CHAIN_DB_ACCOUNTS, "k");
	put_s(t, CHAIN_DB_ACCOUNTS, "k", "v0");
	cr_assert_eq(chain_txn_state_hash(t, &h), FL_OK);
	stored(&twice);
	cr_assert(same(&h, &twice), "back to v0 is no change");
	put_s(t, CHAIN_DB_ACCOUNTS, "k", "v2");
	cr_assert_eq(chain_txn_state_hash(t, &twice), FL_OK);
	cr_assert(same(&once, &twice));
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	stored(&h);
	cr_assert(same(&h, &once));
	recomputed(&h);
	cr_assert(same(&h, &once));
}

Test(apphash, aborted_txn_leaves_hash)
{
	chain_lthash before, h;
	chain_txn *t;

	ah_setup();
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_PROFILES, "p", "1");
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	stored(&before);
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_PROFILES, "p", "2");
	put_s(t, CHAIN_DB_PROFILES, "q", "3");
	cr_assert_eq(chain_txn_state_hash(t, &h), FL_OK);
	cr_assert(!same(&h, &before));
	chain_txn_abort(t);
	stored(&h);
	cr_assert(same(&h, &before));
	recomputed(&h);
	cr_assert(same(&h, &before));
	/* A read txn sees the stored value and can store nothing. */
	cr_assert_eq(chain_txn_begin(ah_store, 0, &t), FL_OK);
	cr_assert_eq(chain_txn_state_hash(t, &h), FL_OK);
	cr_assert(same(&h, &before));
	cr_assert_eq(chain_txn_commit(t), FL_OK);
}

/* ------------------------------------------------------------ tampering */

static const fixture_opts twin_opts = {
    .n_validators = 4, .n_members = 2, .n_outsiders = 2, .balance = 1000};

/* Opens the raw LMDB environment of a closed store and hands the named
 * database to fn: a write no chain_txn logs, as an operator's or a bug's. */
static void raw_edit(const char *dir, const char *db, void (*fn)(MDB_txn *, MDB_dbi, void *),
		     void *arg)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, CHAIN_DB_COUNT), 0);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	fn(txn, dbi, arg);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void add_million(MDB_txn *txn, MDB_dbi dbi, void *arg)
{
	const fl_pubkey *pk = arg;
	MDB_val k = {.mv_size = FL_PUBKEY_LEN, .mv_data = (void *)pk->b}, v;
	chain_account a;
	fl_writer w;

	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	cr_assert_eq(chain_account_record_decode(v.mv_data, v.mv_size, &a), FL_OK);
	a.balance += 1000000;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_account_record_encode(&w, &a), FL_OK);
	v.mv_size = w.len;
	v.mv_data = w.buf;
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	fl_writer_free(&w);
}

/* Two stores with the same genesis; B is tampered on disk by `edit`. */
static void twins(chain_fixture *a, chain_fixture *b, const char *db,
		  void (*edit)(MDB_txn *, MDB_dbi, void *), void *arg)
{
	cr_assert_eq(fixture_open(a, &twin_opts), 0);
	cr_assert_eq(fixture_open(b, &twin_opts), 0);
	fixture_detach(b);
	raw_edit(b->dir, db, edit, arg);
	cr_assert_eq(fixture_attach(b), 0);
}

/* Builds the next block on A and applies it to both; returns whether the
 * two app hashes agree. */
static int apply_both(chain_fixture *a, chain_fixture *b, const chain_tx *txs, uint32_t n)
{
	chain_block blk;
	chain_block_result rb;

	cr_assert_eq(fixture_build_block(a, txs, n, &blk), 0);
	cr_assert_eq(fixture_apply(a, &blk), 0, "%s", a->res.reason);
	cr_assert_eq(chain_apply_block(b->store, &blk, &rb), 0, "%s", rb.reason);
	chain_block_free(&blk);
	return memcmp(a->res.app_hash.b, rb.app_hash.b, FL_HASH_LEN) == 0;
}

Test(apphash, tampered_balance_diverges_at_next_touch)
{
	chain_fixture a, b;
	chain_lthash sa, sb, ra, rb;
	chain_tx tx;

	twins(&a, &b, "accounts", add_million, &b.pk[0]);
	/* Key 5 pays key 6: the tampered account is not touched, and the
	 * incremental hash cannot see it; a recomputation does. */
	cr_assert_eq(fixture_transfer(&a, &tx, 5, 6, 7), 0);
	cr_assert(apply_both(&a, &b, &tx, 1));
	chain_tx_free(&tx);
	cr_assert_eq(chain_get_state_hash(a.store, &sa), FL_OK);
	cr_assert_eq(chain_get_state_hash(b.store, &sb), FL_OK);
	cr_assert_eq(chain_state_hash_recompute(a.store, &ra), FL_OK);
	cr_assert_eq(chain_state_hash_recompute(b.store, &rb), FL_OK);
	cr_assert(same(&sa, &ra));
	cr_assert(same(&sa, &sb));
	cr_assert(!same(&rb, &sb), "the recomputation sees the tampered balance");

	/* The first block that touches it diverges. */
	cr_assert_eq(fixture_transfer(&a, &tx, 0, 1, 10), 0);
	cr_assert(!apply_both(&a, &b, &tx, 1));
	chain_tx_free(&tx);
	fixture_close(&a);
	fixture_close(&b);
}

/* The vote of validator 0 for admitting key 6. */
static void vote_key(uint8_t key[1 + 2 * FL_PUBKEY_LEN], const chain_fixture *fx)
{
	key[0] = CHAIN_VOTES_MEMBER_ADD;
	memcpy(key + 1, fx->pk[6].b, FL_PUBKEY_LEN);
	memcpy(key + 1 + FL_PUBKEY_LEN, fx->pk[0].b, FL_PUBKEY_LEN);
}

static void rewrite_vote(MDB_txn *txn, MDB_dbi dbi, void *arg)
{
	uint8_t key[1 + 2 * FL_PUBKEY_LEN];
	MDB_val k = {.mv_size = sizeof(key), .mv_data = key}, v;

	vote_key(key, arg);
	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	cr_assert_eq(v.mv_size, 1);
	v.mv_data = "\x02"; /* the tally counts any choice: the outcome is the same */
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void member_add(chain_fixture *fx, chain_tx *tx, uint32_t who)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_MEMBER_ADD;
	tx->u.member.member = fx->pk[6];
	strcpy(tx->u.member.name, "newcomer");
	cr_assert_eq(fixture_sign(fx, tx, who), 0);
}

/* The old app hash chained each block's final writes: a record the next
 * block overwrote or deleted whatever it held gave the same app hash on a
 * tampered store. The state hash removes what the store held. */
Test(apphash, tampered_record_diverges_when_deleted)
{
	chain_fixture a, b;
	chain_tx txs[2];

	cr_assert_eq(fixture_open(&a, &twin_opts), 0);
	cr_assert_eq(fixture_open(&b, &twin_opts), 0);
	member_add(&a, &txs[0], 0);
	cr_assert(apply_both(&a, &b, txs, 1));
	chain_tx_free(&txs[0]);
	fixture_detach(&b);
	raw_edit(b.dir, "votes", rewrite_vote, &b);
	cr_assert_eq(fixture_attach(&b), 0);
	/* Two more votes: 30 of 40 passes, and all three votes are deleted. */
	member_add(&a, &txs[0], 1);
	member_add(&a, &txs[1], 2);
	cr_assert(!apply_both(&a, &b, txs, 2));
	chain_tx_free(&txs[0]);
	chain_tx_free(&txs[1]);
	chain_account acc;
	cr_assert_eq(chain_get_account(b.store, &b.pk[6], &acc), FL_OK);
	cr_assert(acc.member, "the vote passed on the tampered store too");
	fixture_close(&a);
	fixture_close(&b);
}

/* ------------------------------------------------------- random blocks */

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64: seeded, so a failure replays. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void round_join(chain_fixture *fx, chain_tx *tx, uint32_t who, uint64_t n)
{
	chain_tx_round_join *j = &tx->u.round_join;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_ROUND_JOIN;
	strcpy(j->profile, "mnist");
	j->n_labels = 1;
	j->labels[0] = 3;
	j->label_counts[0] = n;
	j->n_samples = n;
	cr_assert_eq(fixture_sign(fx, tx, who), 0);
}

/* Outsiders 7..11 go through member_add and member_remove votes of the
 * three validators in turn: pending votes are written, and deleted when the
 * third vote carries the subject. */
typedef struct {
	int member;
	uint8_t voted; /* mask of the validators that voted on the open subject */
} gov_track;

static int gov_passed;

static int governance_vote(chain_fixture *fx, chain_tx *tx, gov_track *g, uint32_t m, uint32_t v)
{
	if (g[m].voted & (1u << v))
		return 0;
	memset(tx, 0, sizeof(*tx));
	tx->kind = g[m].member ? CHAIN_TX_MEMBER_REMOVE : CHAIN_TX_MEMBER_ADD;
	tx->u.member.member = fx->pk[m];
	strcpy(tx->u.member.name, "admitted");
	cr_assert_eq(fixture_sign(fx, tx, v), 0);
	g[m].voted |= (uint8_t)(1u << v);
	if (g[m].voted == 7) {
		g[m].member = !g[m].member;
		g[m].voted = 0;
		gov_passed++;
	}
	return 1;
}

/* A transfer from key `who` to a fixture key or to a fresh account. */
static void random_transfer(chain_fixture *fx, chain_tx *tx, uint32_t who, uint64_t r)
{
	if ((r >> 12) % 4 == 0) {
		fl_hash h;
		fl_seckey sk;

		memset(tx, 0, sizeof(*tx));
		tx->kind = CHAIN_TX_TRANSFER;
		fl_sha256(&h, &r, sizeof(r));
		memcpy(sk.b, h.b, FL_SECKEY_LEN);
		cr_assert_eq(fl_key_public(&tx->u.transfer.to, &sk), 0);
		tx->u.transfer.amount = 1 + (r >> 24) % 100;
		cr_assert_eq(fixture_sign(fx, tx, who), 0);
		return;
	}
	cr_assert_eq(
	    fixture_transfer(fx, tx, who, (uint32_t)((r >> 16) % fx->n_keys), 1 + (r >> 24) % 100),
	    0);
}

Test(apphash, random_blocks_match_recompute)
{
	static const uint64_t reward = 500;
	fixture_opts o = {.n_validators = 3,
			  .n_members = 4,
			  .n_outsiders = 5,
			  .balance = 1000000,
			  .tweak = fixture_short_round_profile,
			  .tweak_arg = (void *)&reward};
	gov_track gov[FX_MAX_KEYS];
	chain_fixture fx;
	chain_lthash inc, full;
	uint64_t seed = 0x5eed;
	chain_info info;
	fl_hash app;

	memset(gov, 0, sizeof(gov));
	cr_assert_eq(fixture_open(&fx, &o), 0);
	for (int h = 1; h <= 1000; h++) {
		chain_tx txs[4];
		uint32_t n = (uint32_t)(rng_next(&seed) % 5);

		for (uint32_t i = 0; i < n; i++) {
			uint64_t r = rng_next(&seed);
			uint32_t who = (uint32_t)(r % fx.n_keys), kind = (uint32_t)((r >> 8) % 4);

			if (kind == 0 && who >= 3 && who < 7)
				round_join(&fx, &txs[i], who, 1 + (r >> 16) % 500);
			else if (kind != 1 ||
				 !governance_vote(&fx, &txs[i], gov, 7 + (uint32_t)((r >> 16) % 5),
						  (uint32_t)((r >> 20) % 3)))
				random_transfer(&fx, &txs[i], who, r);
		}
		cr_assert_eq(fixture_next_block(&fx, txs, n), 0, "height %d: %s", h, fx.res.reason);
		for (uint32_t i = 0; i < n; i++)
			chain_tx_free(&txs[i]);
		if (h % 250 == 0) {
			cr_assert_eq(chain_get_state_hash(fx.store, &inc), FL_OK);
			cr_assert_eq(chain_state_hash_recompute(fx.store, &full), FL_OK);
			cr_assert(same(&inc, &full), "height %d", h);
		}
	}
	cr_assert_gt(gov_passed, 10, "admissions and removals deleted their votes");
	/* The header of the next block carries exactly this. */
	cr_assert_eq(chain_store_info(fx.store, &info), FL_OK);
	chain_app_hash(&app, info.chain_id, info.height, &full);
	cr_assert_eq(memcmp(app.b, info.app_hash.b, FL_HASH_LEN), 0);
	fixture_close(&fx);
}

/* One store's state hash after two txns big enough for the fold to be
 * shared out (hundreds of elements): 600 keys written, then 300 of them
 * changed, 100 deleted and 100 added, on `threads` verify threads. */
static void big_txns_hash(unsigned threads, chain_lthash *out)
{
	chain_lthash full;
	chain_txn *t;
	char k[32], v[32];

	ah_setup();
	cr_assert_eq(chain_store_set_verify_threads(ah_store, threads), FL_OK);
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	for (int i = 0; i < 600; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		snprintf(v, sizeof(v), "value-%d", i);
		put_s(t, i % 2 ? CHAIN_DB_ACCOUNTS : CHAIN_DB_VOTES, k, v);
	}
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		snprintf(v, sizeof(v), "changed-%d", i);
		put_s(t, i % 2 ? CHAIN_DB_ACCOUNTS : CHAIN_DB_VOTES, k, v);
	}
	for (int i = 300; i < 400; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		del_s(t, i % 2 ? CHAIN_DB_ACCOUNTS : CHAIN_DB_VOTES, k);
	}
	for (int i = 600; i < 700; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		put_s(t, CHAIN_DB_MEMBERS, k, "new");
	}
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	stored(out);
	recomputed(&full);
	cr_assert(same(out, &full), "%u threads", threads);
}

/* The fold runs on the verify threads, each summing its own share: the
 * sum mod 2^16 is the same whoever added what. */
Test(apphash, fold_on_threads_is_bit_exact)
{
	chain_lthash one, two, three;

	big_txns_hash(1, &one);
	big_txns_hash(2, &two);
	big_txns_hash(3, &three);
	cr_assert(!is_zero(&one));
	cr_assert(same(&one, &two));
	cr_assert(same(&one, &three));
}

/* A write of the key just written is logged once, yet the hash asked for
 * in between does not stand for the txn afterwards. */
Test(apphash, rewrite_of_last_key_after_hash_refolds)
{
	chain_lthash mid, end, h;
	chain_txn *t;

	ah_setup();
	cr_assert_eq(chain_txn_begin(ah_store, 1, &t), FL_OK);
	put_s(t, CHAIN_DB_ACCOUNTS, "a", "1");
	cr_assert_eq(chain_txn_state_hash(t, &mid), FL_OK);
	put_s(t, CHAIN_DB_ACCOUNTS, "a", "2");
	cr_assert_eq(chain_txn_state_hash(t, &end), FL_OK);
	cr_assert(!same(&mid, &end));
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	stored(&h);
	cr_assert(same(&h, &end));
	recomputed(&h);
	cr_assert(same(&h, &end));
}
