/*
 * tests/chain/test_store.c — the chain store: open/close/reopen, database
 * names, durability across reopen and across SIGKILL, map full,
 * chain_store_info and the block/tx lookups.
 */
#include "chain/internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char store_tmp[64];
static char store_dir[96]; /* store_tmp/store: not there until opened */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void store_teardown(void)
{
	if (store_tmp[0] != '\0')
		nftw(store_tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	store_tmp[0] = '\0';
}

/*
 * A fresh temp dir for each test. Criterion runs a test in its own worker
 * process that exits when the test ends, pass or fail, so atexit removes the
 * dir either way; a forked crash child leaves by _exit and runs none of it.
 * (A TestSuite .fini would say the same, but cppcheck cannot parse
 * Criterion's designated-initializer macros.)
 */
static void store_setup(void)
{
	static int registered;

	store_teardown(); /* only under --no-fork, where tests share a process */
	strcpy(store_tmp, "/tmp/fl-store-XXXXXX");
	cr_assert_not_null(mkdtemp(store_tmp));
	snprintf(store_dir, sizeof(store_dir), "%s/store", store_tmp);
	if (!registered)
		cr_assert_eq(atexit(store_teardown), 0);
	registered = 1;
}

static void put_kv(chain_store *s, chain_db db, const void *k, size_t klen, const void *v,
		   size_t vlen)
{
	chain_txn *t;

	cr_assert_eq(chain_txn_begin(s, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_put(t, db, k, klen, v, vlen), FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
}

static int get_u64(chain_store *s, chain_db db, const char *key, uint64_t *out)
{
	chain_txn *t;
	const uint8_t *v;
	size_t n;
	int rc;

	cr_assert_eq(chain_txn_begin(s, 0, &t), FL_OK);
	rc = chain_txn_get(t, db, key, strlen(key), &v, &n);
	if (rc == FL_OK) {
		cr_assert_eq(n, 8);
		*out = chain_get_be64(v);
	}
	chain_txn_abort(t);
	return rc;
}

Test(store, db_names_distinct)
{
	for (int i = 0; i < CHAIN_DB_COUNT; i++) {
		const char *a = chain_db_name((chain_db)i);

		cr_assert_not_null(a);
		cr_assert_gt(strlen(a), 0);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(a, chain_db_name((chain_db)j));
	}
	cr_assert_str_eq(chain_db_name(CHAIN_DB_ACCOUNTS), "accounts");
	cr_assert_str_eq(chain_db_name(CHAIN_DB_META), "meta");
	cr_assert_str_eq(chain_db_name(CHAIN_DB_TXS), "txs");
}

Test(store, open_creates_dir_close_reopen)
{
	chain_store *s = NULL;
	struct stat st;
	uint64_t v = 0;
	uint8_t b[8];

	store_setup();
	cr_assert_eq(stat(store_dir, &st), -1);
	cr_assert_eq(chain_store_open(&s, store_dir, 0), FL_OK);
	cr_assert_not_null(s);
	cr_assert_eq(stat(store_dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	chain_put_be64(b, 42);
	put_kv(s, CHAIN_DB_META, "height", 6, b, 8);
	chain_store_close(s);
	chain_store_close(NULL);

	/* Durable across close/reopen, in every database the store created. */
	cr_assert_eq(chain_store_open(&s, store_dir, 0), FL_OK);
	cr_assert_eq(get_u64(s, CHAIN_DB_META, "height", &v), FL_OK);
	cr_assert_eq(v, 42);
	for (int db = 0; db < CHAIN_DB_COUNT; db++) {
		chain_put_be64(b, (uint64_t)db * 1000);
		put_kv(s, (chain_db)db, "k", 1, b, 8);
	}
	chain_store_close(s);
	cr_assert_eq(chain_store_open(&s, store_dir, 0), FL_OK);
	for (int db = 0; db < CHAIN_DB_COUNT; db++) {
		cr_assert_eq(get_u64(s, (chain_db)db, "k", &v), FL_OK);
		cr_assert_eq(v, (uint64_t)db * 1000);
	}
	chain_store_close(s);
}

Test(store, open_errors)
{
	chain_store *s = (chain_store *)&s;
	char path[160];

	store_setup();
	/* The failures below log; keep the test report clean. */
	fl_log_set_level(FL_LOG_OFF);
	/* A missing parent is not created: only the last component is. */
	snprintf(path, sizeof(path), "%s/no/such", store_tmp);
	cr_assert_eq(chain_store_open(&s, path, 0), FL_EIO);
	cr_assert_null(s);
	/* A file where the directory should be. */
	snprintf(path, sizeof(path), "%s/file", store_tmp);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	s = (chain_store *)&s;
	cr_assert_eq(chain_store_open(&s, path, 0), FL_EDB);
	cr_assert_null(s);
}

Test(store, map_full_is_an_error)
{
	chain_store *s;
	chain_txn *t;
	uint8_t val[4096];
	int rc = FL_OK, i;

	store_setup();
	fl_log_set_level(FL_LOG_OFF); /* MDB_MAP_FULL is logged: expected here */
	memset(val, 0xab, sizeof(val));
	/* 64 KiB: room for the databases and a few pages, no more. */
	cr_assert_eq(chain_store_open(&s, store_dir, 64 * 1024), FL_OK);
	cr_assert_eq(chain_txn_begin(s, 1, &t), FL_OK);
	for (i = 0; i < 1000 && rc == FL_OK; i++) {
		uint8_t key[8];

		chain_put_be64(key, (uint64_t)i);
		rc = chain_txn_put(t, CHAIN_DB_BLOCKS, key, sizeof(key), val, sizeof(val));
	}
	cr_assert_eq(rc, FL_EDB);
	cr_assert_lt(i, 1000);
	/* LMDB refuses to commit a txn that failed; the error comes back. */
	cr_assert_eq(chain_txn_commit(t), FL_EDB);

	/* The store is still usable: a small write fits, the big ones left nothing. */
	put_kv(s, CHAIN_DB_META, "m", 1, "v", 1);
	uint8_t *blk = NULL;
	size_t n = 0;
	cr_assert_eq(chain_get_block(s, 0, &blk, &n), FL_ENOTFOUND);
	cr_assert_null(blk);
	chain_store_close(s);
}

/* ------------------------------------------------------------- lookups */

Test(store, block_and_tx_lookups)
{
	chain_store *s;
	chain_txn *t;
	uint8_t key[8], loc[12], *bytes = NULL;
	size_t n = 0;
	fl_hash bh, th, unknown;
	uint64_t h = 0;
	uint32_t idx = 0;

	store_setup();
	memset(bh.b, 0xb1, FL_HASH_LEN);
	memset(th.b, 0x7e, FL_HASH_LEN);
	memset(unknown.b, 0x55, FL_HASH_LEN);
	cr_assert_eq(chain_store_open(&s, store_dir, 0), FL_OK);
	cr_assert_eq(chain_get_block(s, 3, &bytes, &n), FL_ENOTFOUND);
	cr_assert_eq(chain_get_block_height(s, &bh, &h), FL_ENOTFOUND);
	cr_assert_eq(chain_get_tx_location(s, &th, &h, &idx), FL_ENOTFOUND);

	cr_assert_eq(chain_txn_begin(s, 1, &t), FL_OK);
	chain_put_be64(key, 3);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_BLOCKS, key, 8, "block three", 11), FL_OK);
	chain_put_be64(key, 4);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_BLOCKS, key, 8, "block four", 10), FL_OK);
	chain_put_be64(key, 3);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_BLOCK_HASHES, bh.b, FL_HASH_LEN, key, 8), FL_OK);
	chain_put_be64(loc, 3);
	loc[8] = 0x01;
	loc[9] = 0x02;
	loc[10] = 0x03;
	loc[11] = 0x04;
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_TXS, th.b, FL_HASH_LEN, loc, 12), FL_OK);
	/* Malformed index entries (wrong lengths). */
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_BLOCK_HASHES, unknown.b, FL_HASH_LEN, key, 7),
		     FL_OK);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_TXS, unknown.b, FL_HASH_LEN, loc, 8), FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);

	cr_assert_eq(chain_get_block(s, 3, &bytes, &n), FL_OK);
	cr_assert_eq(n, 11);
	cr_assert_eq(memcmp(bytes, "block three", 11), 0);
	fl_free(bytes);
	cr_assert_eq(chain_get_block(s, 4, &bytes, &n), FL_OK);
	cr_assert_eq(n, 10);
	cr_assert_eq(memcmp(bytes, "block four", 10), 0);
	fl_free(bytes);
	cr_assert_eq(chain_get_block(s, 5, &bytes, &n), FL_ENOTFOUND);

	cr_assert_eq(chain_get_block_height(s, &bh, &h), FL_OK);
	cr_assert_eq(h, 3);
	cr_assert_eq(chain_get_tx_location(s, &th, &h, &idx), FL_OK);
	cr_assert_eq(h, 3);
	cr_assert_eq(idx, 0x01020304u);
	cr_assert_eq(chain_get_block_height(s, &unknown, &h), FL_ECORRUPT);
	cr_assert_eq(chain_get_tx_location(s, &unknown, &h, &idx), FL_ECORRUPT);

	/* A failed copy-out allocation frees and reports. */
	fl_alloc_fail_after(1);
	int rc = chain_get_block(s, 3, &bytes, &n);
	fl_alloc_fail_after(0);
	cr_assert_eq(rc, FL_ENOMEM);
	cr_assert_null(bytes);
	chain_store_close(s);
}

/* ---------------------------------------------------------------- info */

static void put_meta(chain_txn *t, chain_db db, const char *key, const fl_writer *w)
{
	cr_assert_eq(chain_txn_put(t, db, key, strlen(key), w->buf, w->len), FL_OK);
}

static void put_meta_u64(chain_txn *t, chain_db db, const char *key, uint64_t v)
{
	fl_writer w;

	fl_writer_init(&w, 0);
	fl_write_u64(&w, v);
	cr_assert_eq(fl_writer_finish(&w), FL_OK);
	put_meta(t, db, key, &w);
	fl_writer_free(&w);
}

static void put_meta_hash(chain_txn *t, const char *key, uint8_t fill)
{
	fl_writer w;
	uint8_t h[FL_HASH_LEN];

	memset(h, fill, sizeof(h));
	fl_writer_init(&w, 0);
	fl_write_fixed(&w, h, sizeof(h));
	cr_assert_eq(fl_writer_finish(&w), FL_OK);
	put_meta(t, CHAIN_DB_META, key, &w);
	fl_writer_free(&w);
}

/* What a genesis leaves in the meta databases, in the documented codec. */
static void write_info(chain_store *s, const chain_params *p)
{
	chain_txn *t;
	fl_writer w;

	cr_assert_eq(chain_txn_begin(s, 1, &t), FL_OK);
	fl_writer_init(&w, 0);
	fl_write_str(&w, "info-test", CHAIN_ID_MAX);
	cr_assert_eq(fl_writer_finish(&w), FL_OK);
	put_meta(t, CHAIN_DB_META, CHAIN_META_CHAIN_ID, &w);
	fl_writer_free(&w);
	put_meta_u64(t, CHAIN_DB_META, CHAIN_META_HEIGHT, 17);
	put_meta_hash(t, CHAIN_META_LAST_BLOCK, 0x01);
	put_meta_hash(t, CHAIN_META_APP_HASH, 0x02);
	put_meta_hash(t, CHAIN_META_BEACON, 0x03);
	put_meta_u64(t, CHAIN_DB_META, CHAIN_META_LAST_TIME, 1700000000123ull);
	put_meta_hash(t, CHAIN_META_GENESIS_HASH, 0x04);
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_params_encode(&w, p), FL_OK);
	put_meta(t, CHAIN_DB_META, CHAIN_META_PARAMS, &w);
	fl_writer_free(&w);
	put_meta_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, 123456789);
	put_meta_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER, 30);
	put_meta_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS, 4567);
	put_meta_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_BONDED, 4000);
	put_meta_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_UNBONDING, 500);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
}

static void expect_hash_fill(const fl_hash *h, uint8_t fill)
{
	for (int i = 0; i < FL_HASH_LEN; i++)
		cr_assert_eq(h->b[i], fill);
}

Test(store, info_reads_meta)
{
	chain_store *s;
	chain_info info;
	chain_params p;

	store_setup();
	cr_assert_eq(chain_store_open(&s, store_dir, 0), FL_OK);
	cr_assert_eq(chain_store_info(s, &info), FL_ENOTFOUND);
	chain_params_default(&p);
	p.stake_unit = 777;
	p.max_block_txs = 123;
	write_info(s, &p);
	chain_store_close(s);

	cr_assert_eq(chain_store_open(&s, store_dir, 0), FL_OK);
	cr_assert_eq(chain_store_info(s, &info), FL_OK);
	cr_assert_str_eq(info.chain_id, "info-test");
	cr_assert_eq(info.height, 17);
	expect_hash_fill(&info.last_block_hash, 0x01);
	expect_hash_fill(&info.app_hash, 0x02);
	expect_hash_fill(&info.beacon, 0x03);
	cr_assert_eq(info.last_time_ms, 1700000000123ull);
	expect_hash_fill(&info.genesis_hash, 0x04);
	cr_assert_eq(info.supply, 123456789);
	cr_assert_eq(info.total_power, 30);
	cr_assert_eq(info.deposits, 4567);
	cr_assert_eq(info.bonded_total, 4000);
	cr_assert_eq(info.unbonding_total, 500);
	cr_assert_eq(info.params.stake_unit, 777);
	cr_assert_eq(info.params.max_block_txs, 123);
	cr_assert_eq(info.params.timeout_propose_ms, p.timeout_propose_ms);
	chain_store_close(s);
}

Test(store, info_corrupt_meta)
{
	chain_store *s;
	chain_info info;
	chain_params p;
	chain_txn *t;

	store_setup();
	cr_assert_eq(chain_store_open(&s, store_dir, 0), FL_OK);
	chain_params_default(&p);
	write_info(s, &p);
	/* A height of the wrong width. */
	put_kv(s, CHAIN_DB_META, CHAIN_META_HEIGHT, strlen(CHAIN_META_HEIGHT), "1234", 4);
	cr_assert_eq(chain_store_info(s, &info), FL_ECORRUPT);
	cr_assert_eq(info.height, 0);
	/* A missing state scalar once a genesis exists. */
	write_info(s, &p);
	cr_assert_eq(chain_store_info(s, &info), FL_OK);
	cr_assert_eq(chain_txn_begin(s, 1, &t), FL_OK);
	cr_assert_eq(
	    chain_txn_del(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, strlen(CHAIN_STATE_SUPPLY)),
	    FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	cr_assert_eq(chain_store_info(s, &info), FL_ECORRUPT);
	write_info(s, &p);
	cr_assert_eq(chain_txn_begin(s, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS,
				   strlen(CHAIN_STATE_DEPOSITS)),
		     FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	cr_assert_eq(chain_store_info(s, &info), FL_ECORRUPT);
	write_info(s, &p);
	cr_assert_eq(chain_txn_begin(s, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_STATE_META, CHAIN_STATE_UNBONDING,
				   strlen(CHAIN_STATE_UNBONDING)),
		     FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	cr_assert_eq(chain_store_info(s, &info), FL_ECORRUPT);
	/* Trailing bytes after the params. */
	write_info(s, &p);
	{
		fl_writer w;

		fl_writer_init(&w, 0);
		cr_assert_eq(chain_params_encode(&w, &p), FL_OK);
		fl_write_u8(&w, 0);
		cr_assert_eq(fl_writer_finish(&w), FL_OK);
		put_kv(s, CHAIN_DB_META, CHAIN_META_PARAMS, strlen(CHAIN_META_PARAMS), w.buf,
		       w.len);
		fl_writer_free(&w);
	}
	cr_assert_eq(chain_store_info(s, &info), FL_ECORRUPT);
	chain_store_close(s);
}

/* ------------------------------------------------------- crash safety */

/*
 * Txn i (1-based) writes: meta "counter" = i, accounts "k<i>" = i,
 * validators "last" = i, and a multi-page value in profiles "big" filled
 * with byte i. A consistent store has all four agreeing.
 */
static int crash_write(chain_store *s, uint64_t i)
{
	static uint8_t big[3 * 4096 + 17];
	chain_txn *t;
	uint8_t v[8], key[16];
	int rc;

	chain_put_be64(v, i);
	memset(big, (int)(i & 0xff), sizeof(big));
	memcpy(key, "k", 1);
	chain_put_be64(key + 1, i);
	rc = chain_txn_begin(s, 1, &t);
	if (rc != FL_OK)
		return rc;
	if ((rc = chain_txn_put(t, CHAIN_DB_ACCOUNTS, key, 9, v, 8)) ||
	    (rc = chain_txn_put(t, CHAIN_DB_PROFILES, "big", 3, big, sizeof(big))) ||
	    (rc = chain_txn_put(t, CHAIN_DB_VALIDATORS, "last", 4, v, 8)) ||
	    (rc = chain_txn_put(t, CHAIN_DB_META, "counter", 7, v, 8))) {
		chain_txn_abort(t);
		return rc;
	}
	return chain_txn_commit(t);
}

static int count_keys(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	uint64_t *n = ctx;

	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	(*n)++;
	return 0;
}

/* Checks the invariant and returns the counter. */
static uint64_t crash_check(chain_store *s)
{
	chain_txn *t;
	uint64_t counter = 0, last = 0, keys = 0;
	const uint8_t *v;
	size_t n;
	int rc;

	cr_assert_eq(chain_txn_begin(s, 0, &t), FL_OK);
	rc = chain_txn_get(t, CHAIN_DB_META, "counter", 7, &v, &n);
	if (rc == FL_ENOTFOUND) {
		/* Killed before the first commit: nothing at all. */
		cr_assert_eq(chain_txn_get(t, CHAIN_DB_VALIDATORS, "last", 4, &v, &n),
			     FL_ENOTFOUND);
		cr_assert_eq(chain_txn_get(t, CHAIN_DB_PROFILES, "big", 3, &v, &n), FL_ENOTFOUND);
	} else {
		cr_assert_eq(rc, FL_OK);
		cr_assert_eq(n, 8);
		counter = chain_get_be64(v);
		cr_assert_eq(chain_txn_get(t, CHAIN_DB_VALIDATORS, "last", 4, &v, &n), FL_OK);
		cr_assert_eq(n, 8);
		last = chain_get_be64(v);
		cr_assert_eq(last, counter);
		cr_assert_eq(chain_txn_get(t, CHAIN_DB_PROFILES, "big", 3, &v, &n), FL_OK);
		cr_assert_eq(n, 3 * 4096 + 17);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(v[i], (uint8_t)(counter & 0xff), "big[%zu]", i);
	}
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_ACCOUNTS, "k", 1, count_keys, &keys), FL_OK);
	cr_assert_eq(keys, counter, "%llu account keys, counter %llu", (unsigned long long)keys,
		     (unsigned long long)counter);
	chain_txn_abort(t);
	return counter;
}

/* The child: commits txns from `next` on forever, telling the parent over
 * `fd` the number of each txn whose commit returned. Never returns. */
static void crash_child(int fd, uint64_t next)
{
	chain_store *s;

	if (chain_store_open(&s, store_dir, 0) != FL_OK)
		_exit(2);
	for (uint64_t i = next;; i++) {
		if (crash_write(s, i) != FL_OK)
			_exit(3);
		if (write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
			_exit(4);
	}
}

Test(store, sigkill_leaves_whole_txns)
{
	uint64_t counter = 0;

	store_setup();
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int round = 0; round < 6; round++) {
		int fds[2];
		pid_t pid;
		int status;
		uint64_t acked = counter, got;

		cr_assert_eq(pipe(fds), 0);
		pid = fork();
		cr_assert_neq(pid, -1);
		if (pid == 0) {
			close(fds[0]);
			crash_child(fds[1], counter + 1);
		}
		close(fds[1]);
		/* Wait for the first commit, then kill at a random moment. */
		cr_assert_eq(read(fds[0], &got, sizeof(got)), (ssize_t)sizeof(got));
		acked = got;
		usleep((useconds_t)(rand() % 40000));
		cr_assert_eq(kill(pid, SIGKILL), 0);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			  "child ended on its own: status %d", status);
		/* Every commit the child saw return before it died. */
		while (read(fds[0], &got, sizeof(got)) == (ssize_t)sizeof(got))
			acked = got;
		close(fds[0]);

		chain_store *s;
		cr_assert_eq(chain_store_open(&s, store_dir, 0), FL_OK);
		counter = crash_check(s);
		/* Committed txns survive; at most the one in flight is extra. */
		cr_assert_geq(counter, acked);
		cr_assert_leq(counter, acked + 1);
		chain_store_close(s);
	}
	cr_assert_gt(counter, 0);
}
