/*
 * tests/chain/test_txn.c — chain_txn: get/put/del on every database, scans,
 * and allocation failures (the state hash: test_apphash.c).
 */
#include "chain/internal.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Criterion does not fail a test whose worker LeakSanitizer flags at exit,
 * so the torture test asks LSan itself when built with ASan. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define TXN_NO_LEAKS() cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "leaks: see stderr")
#else
#define TXN_NO_LEAKS() ((void)0)
#endif

static char txn_tmp[64];
static chain_store *txn_store;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void txn_teardown(void)
{
	chain_store_close(txn_store);
	txn_store = NULL;
	if (txn_tmp[0] != '\0')
		nftw(txn_tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	txn_tmp[0] = '\0';
}

/*
 * A fresh store in a fresh temp dir for each test. Criterion runs a test in
 * its own worker process that exits when the test ends, pass or fail, so
 * atexit removes the dir either way. (A TestSuite .fini would say the same,
 * but cppcheck cannot parse Criterion's designated-initializer macros.)
 */
static void txn_setup(void)
{
	static int registered;

	txn_teardown(); /* only under --no-fork, where tests share a process */
	strcpy(txn_tmp, "/tmp/fl-txn-XXXXXX");
	cr_assert_not_null(mkdtemp(txn_tmp));
	if (!registered)
		cr_assert_eq(atexit(txn_teardown), 0);
	registered = 1;
	cr_assert_eq(chain_store_open(&txn_store, txn_tmp, 0), FL_OK);
}

/* Puts one key in a write txn and commits. */
static void put_one(chain_db db, const char *key, const char *val)
{
	chain_txn *t;

	cr_assert_eq(chain_txn_begin(txn_store, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_put(t, db, key, strlen(key), val, strlen(val)), FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
}

/* FL_OK and the value in *out (NUL-terminated), or the lookup's error. */
static int get_one(chain_db db, const char *key, char *out, size_t cap)
{
	chain_txn *t;
	const uint8_t *v;
	size_t n;
	int rc;

	cr_assert_eq(chain_txn_begin(txn_store, 0, &t), FL_OK);
	rc = chain_txn_get(t, db, key, strlen(key), &v, &n);
	if (rc == FL_OK) {
		cr_assert_lt(n, cap);
		memcpy(out, v, n);
		out[n] = '\0';
	}
	chain_txn_abort(t);
	return rc;
}

Test(txn, put_get_del_every_db)
{
	char buf[64];

	txn_setup();
	for (int db = 0; db < CHAIN_DB_COUNT; db++) {
		char key[16], val[32];

		snprintf(key, sizeof(key), "key-%d", db);
		snprintf(val, sizeof(val), "value of db %s", chain_db_name((chain_db)db));
		put_one((chain_db)db, key, val);
	}
	for (int db = 0; db < CHAIN_DB_COUNT; db++) {
		char key[16], val[32];

		snprintf(key, sizeof(key), "key-%d", db);
		snprintf(val, sizeof(val), "value of db %s", chain_db_name((chain_db)db));
		cr_assert_eq(get_one((chain_db)db, key, buf, sizeof(buf)), FL_OK);
		cr_assert_str_eq(buf, val);
		/* Databases are separate: db's key is absent from the next one. */
		cr_assert_eq(get_one((chain_db)((db + 1) % CHAIN_DB_COUNT), key, buf, sizeof(buf)),
			     FL_ENOTFOUND);
	}
	for (int db = 0; db < CHAIN_DB_COUNT; db++) {
		chain_txn *t;
		char key[16];

		snprintf(key, sizeof(key), "key-%d", db);
		cr_assert_eq(chain_txn_begin(txn_store, 1, &t), FL_OK);
		cr_assert_eq(chain_txn_del(t, (chain_db)db, key, strlen(key)), FL_OK);
		cr_assert_eq(chain_txn_commit(t), FL_OK);
		cr_assert_eq(get_one((chain_db)db, key, buf, sizeof(buf)), FL_ENOTFOUND);
	}
}

Test(txn, overwrite_empty_value_and_read_own_writes)
{
	chain_txn *t;
	const uint8_t *v;
	size_t n;
	char buf[64];

	txn_setup();
	put_one(CHAIN_DB_ACCOUNTS, "a", "first");
	cr_assert_eq(chain_txn_begin(txn_store, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_ACCOUNTS, "a", 1, "second", 6), FL_OK);
	cr_assert_eq(chain_txn_get(t, CHAIN_DB_ACCOUNTS, "a", 1, &v, &n), FL_OK);
	cr_assert_eq(n, 6);
	cr_assert_eq(memcmp(v, "second", 6), 0);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_ACCOUNTS, "e", 1, NULL, 0), FL_OK);
	cr_assert_eq(chain_txn_get(t, CHAIN_DB_ACCOUNTS, "e", 1, &v, &n), FL_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	cr_assert_eq(get_one(CHAIN_DB_ACCOUNTS, "a", buf, sizeof(buf)), FL_OK);
	cr_assert_str_eq(buf, "second");
	cr_assert_eq(get_one(CHAIN_DB_ACCOUNTS, "e", buf, sizeof(buf)), FL_OK);
	cr_assert_str_eq(buf, "");
}

Test(txn, bad_keys_and_absent_keys)
{
	chain_txn *t;
	const uint8_t *v = (const uint8_t *)"x";
	size_t n = 99;
	uint8_t big[2048];

	txn_setup();
	memset(big, 'k', sizeof(big));
	cr_assert_eq(chain_txn_begin(txn_store, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_get(t, CHAIN_DB_META, "nope", 4, &v, &n), FL_ENOTFOUND);
	cr_assert_null(v);
	cr_assert_eq(n, 0);
	/* Deleting an absent key is not an error. */
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_META, "nope", 4), FL_OK);
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_ACCOUNTS, "nope", 4), FL_OK);
	/* LMDB's key limit (511 by default) and the empty key. */
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_ACCOUNTS, big, sizeof(big), "v", 1), FL_EINVAL);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_ACCOUNTS, big, 0, "v", 1), FL_EINVAL);
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_ACCOUNTS, big, sizeof(big)), FL_EINVAL);
	cr_assert_eq(chain_txn_get(t, CHAIN_DB_ACCOUNTS, big, sizeof(big), &v, &n), FL_EINVAL);
	/* 511 bytes is still fine. */
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_ACCOUNTS, big, 511, "v", 1), FL_OK);
	cr_assert_eq(chain_txn_get(t, CHAIN_DB_ACCOUNTS, big, 511, &v, &n), FL_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
}

Test(txn, read_only_refuses_writes)
{
	chain_txn *t;
	chain_lthash h, before;

	txn_setup();
	put_one(CHAIN_DB_ACCOUNTS, "a", "1");
	cr_assert_eq(chain_get_state_hash(txn_store, &before), FL_OK);
	cr_assert_eq(chain_txn_begin(txn_store, 0, &t), FL_OK);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_ACCOUNTS, "a", 1, "2", 1), FL_EINVAL);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_META, "m", 1, "2", 1), FL_EINVAL);
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_ACCOUNTS, "a", 1), FL_EINVAL);
	/* Nothing was logged either. */
	cr_assert_eq(chain_txn_state_hash(t, &h), FL_OK);
	cr_assert_eq(memcmp(&h, &before, sizeof(h)), 0);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	char buf[8];
	cr_assert_eq(get_one(CHAIN_DB_ACCOUNTS, "a", buf, sizeof(buf)), FL_OK);
	cr_assert_str_eq(buf, "1");
}

Test(txn, abort_leaves_nothing)
{
	chain_txn *t;
	char buf[8];

	txn_setup();
	put_one(CHAIN_DB_PROFILES, "kept", "1");
	cr_assert_eq(chain_txn_begin(txn_store, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_PROFILES, "new", 3, "2", 1), FL_OK);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_BLOCKS, "blk", 3, "3", 1), FL_OK);
	cr_assert_eq(chain_txn_del(t, CHAIN_DB_PROFILES, "kept", 4), FL_OK);
	chain_txn_abort(t);
	cr_assert_eq(get_one(CHAIN_DB_PROFILES, "new", buf, sizeof(buf)), FL_ENOTFOUND);
	cr_assert_eq(get_one(CHAIN_DB_BLOCKS, "blk", buf, sizeof(buf)), FL_ENOTFOUND);
	cr_assert_eq(get_one(CHAIN_DB_PROFILES, "kept", buf, sizeof(buf)), FL_OK);
	cr_assert_str_eq(buf, "1");
	chain_txn_abort(NULL);
}

Test(txn, reads_while_writer_open)
{
	chain_txn *w, *r1, *r2;
	const uint8_t *v;
	size_t n;

	txn_setup();
	put_one(CHAIN_DB_ACCOUNTS, "a", "old");
	cr_assert_eq(chain_txn_begin(txn_store, 1, &w), FL_OK);
	cr_assert_eq(chain_txn_put(w, CHAIN_DB_ACCOUNTS, "a", 1, "new", 3), FL_OK);
	/* Two readers in one thread (MDB_NOTLS) see the last commit only. */
	cr_assert_eq(chain_txn_begin(txn_store, 0, &r1), FL_OK);
	cr_assert_eq(chain_txn_begin(txn_store, 0, &r2), FL_OK);
	cr_assert_eq(chain_txn_get(r1, CHAIN_DB_ACCOUNTS, "a", 1, &v, &n), FL_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(memcmp(v, "old", 3), 0);
	cr_assert_eq(chain_txn_commit(w), FL_OK);
	/* A reader keeps its snapshot after the writer commits. */
	cr_assert_eq(chain_txn_get(r2, CHAIN_DB_ACCOUNTS, "a", 1, &v, &n), FL_OK);
	cr_assert_eq(memcmp(v, "old", 3), 0);
	chain_txn_abort(r1);
	chain_txn_abort(r2);
	char buf[8];
	cr_assert_eq(get_one(CHAIN_DB_ACCOUNTS, "a", buf, sizeof(buf)), FL_OK);
	cr_assert_str_eq(buf, "new");
}

/* A second writer from another thread waits for the first to end. */
static void *second_writer(void *arg)
{
	chain_txn *t;
	const uint8_t *v;
	size_t n;
	intptr_t seen = -1;

	(void)arg;
	if (chain_txn_begin(txn_store, 1, &t) != FL_OK)
		return (void *)seen;
	/* The first writer has committed by now: its key is visible. */
	seen = chain_txn_get(t, CHAIN_DB_ACCOUNTS, "first", 5, &v, &n) == FL_OK;
	if (chain_txn_put(t, CHAIN_DB_ACCOUNTS, "second", 6, "2", 1) != FL_OK ||
	    chain_txn_commit(t) != FL_OK)
		seen = -1;
	return (void *)seen;
}

Test(txn, writers_take_turns)
{
	chain_txn *t;
	pthread_t th;
	void *seen = NULL;
	char buf[8];

	txn_setup();
	cr_assert_eq(chain_txn_begin(txn_store, 1, &t), FL_OK);
	cr_assert_eq(pthread_create(&th, NULL, second_writer, NULL), 0);
	usleep(50000); /* let the thread reach LMDB's writer mutex */
	cr_assert_eq(get_one(CHAIN_DB_ACCOUNTS, "second", buf, sizeof(buf)), FL_ENOTFOUND);
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_ACCOUNTS, "first", 5, "1", 1), FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	cr_assert_eq(pthread_join(th, &seen), 0);
	cr_assert_eq((intptr_t)seen, 1);
	cr_assert_eq(get_one(CHAIN_DB_ACCOUNTS, "second", buf, sizeof(buf)), FL_OK);
}

/* The same thread beginning a second write txn is a caller bug: an assert,
 * where LMDB alone would wait for itself forever. */
Test(txn, nested_writer_asserts)
{
	pid_t pid;
	int status;

	txn_setup();
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		chain_txn *a, *b;

		/* The assert's message would read as a failure in the report. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(5);
		alarm(5);
		if (chain_txn_begin(txn_store, 1, &a) != FL_OK)
			_exit(6);
		_exit(chain_txn_begin(txn_store, 1, &b) == FL_OK ? 7 : 8);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status), "child status %d", status);
	cr_assert_eq(WTERMSIG(status), SIGABRT);
}

/* ------------------------------------------------------------------ scan */

typedef struct {
	char keys[16][16];
	char vals[16][16];
	int n;
	int stop_after; /* return 1 after this many; 0 = never */
	int fail_after; /* return FL_ESTATE after this many; 0 = never */
} scan_log;

static int scan_record(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	scan_log *l = ctx;

	cr_assert_lt(l->n, 16);
	cr_assert_lt(klen, 16);
	cr_assert_lt(vlen, 16);
	memcpy(l->keys[l->n], key, klen);
	l->keys[l->n][klen] = '\0';
	memcpy(l->vals[l->n], val, vlen);
	l->vals[l->n][vlen] = '\0';
	l->n++;
	if (l->fail_after && l->n == l->fail_after)
		return FL_ESTATE;
	if (l->stop_after && l->n == l->stop_after)
		return 1;
	return 0;
}

static void put_scan_keys(void)
{
	/* Written out of order; some share a prefix with "ab" only partly. */
	static const char *const keys[] = {"ab\x02", "b", "ab\x01", "a", "ab", "abz", "aa", "ac"};
	chain_txn *t;

	cr_assert_eq(chain_txn_begin(txn_store, 1, &t), FL_OK);
	for (size_t i = 0; i < FL_ARRAY_LEN(keys); i++) {
		char v[8];

		snprintf(v, sizeof(v), "v%zu", i);
		cr_assert_eq(
		    chain_txn_put(t, CHAIN_DB_ROUNDS, keys[i], strlen(keys[i]), v, strlen(v)),
		    FL_OK);
	}
	/* The same prefix in another database must not show up. */
	cr_assert_eq(chain_txn_put(t, CHAIN_DB_UPDATES, "ab\x03", 3, "x", 1), FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
}

Test(txn, scan_prefix_in_key_order)
{
	chain_txn *t;
	scan_log l = {0};

	txn_setup();
	put_scan_keys();
	cr_assert_eq(chain_txn_begin(txn_store, 0, &t), FL_OK);
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_ROUNDS, "ab", 2, scan_record, &l), FL_OK);
	cr_assert_eq(l.n, 4);
	cr_assert_str_eq(l.keys[0], "ab");
	cr_assert_str_eq(l.keys[1], "ab\x01");
	cr_assert_str_eq(l.keys[2], "ab\x02");
	cr_assert_str_eq(l.keys[3], "abz");
	cr_assert_str_eq(l.vals[0], "v4");
	cr_assert_str_eq(l.vals[1], "v2");
	cr_assert_str_eq(l.vals[2], "v0");
	cr_assert_str_eq(l.vals[3], "v5");

	/* No prefix: every key, in byte order. */
	memset(&l, 0, sizeof(l));
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_ROUNDS, NULL, 0, scan_record, &l), FL_OK);
	cr_assert_eq(l.n, 8);
	cr_assert_str_eq(l.keys[0], "a");
	cr_assert_str_eq(l.keys[1], "aa");
	cr_assert_str_eq(l.keys[6], "ac");
	cr_assert_str_eq(l.keys[7], "b");

	/* A prefix nothing has, one past the last key, and an empty db. */
	memset(&l, 0, sizeof(l));
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_ROUNDS, "abc", 3, scan_record, &l), FL_OK);
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_ROUNDS, "c", 1, scan_record, &l), FL_OK);
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_EVALS, NULL, 0, scan_record, &l), FL_OK);
	cr_assert_eq(l.n, 0);
	chain_txn_abort(t);
}

Test(txn, scan_stop_and_error)
{
	chain_txn *t;
	scan_log l = {.stop_after = 2};

	txn_setup();
	put_scan_keys();
	cr_assert_eq(chain_txn_begin(txn_store, 0, &t), FL_OK);
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_ROUNDS, "a", 1, scan_record, &l), FL_OK);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.keys[1], "aa");

	memset(&l, 0, sizeof(l));
	l.fail_after = 3;
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_ROUNDS, NULL, 0, scan_record, &l), FL_ESTATE);
	cr_assert_eq(l.n, 3);
	chain_txn_abort(t);
}

/* A scan callback may write to another database of the same write txn. */
static int scan_copy(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	return chain_txn_put(ctx, CHAIN_DB_EVALS, key, klen, val, vlen);
}

Test(txn, scan_writes_elsewhere)
{
	chain_txn *t;
	scan_log l = {0};

	txn_setup();
	put_scan_keys();
	cr_assert_eq(chain_txn_begin(txn_store, 1, &t), FL_OK);
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_ROUNDS, "ab", 2, scan_copy, t), FL_OK);
	cr_assert_eq(chain_txn_commit(t), FL_OK);
	cr_assert_eq(chain_txn_begin(txn_store, 0, &t), FL_OK);
	cr_assert_eq(chain_txn_scan(t, CHAIN_DB_EVALS, NULL, 0, scan_record, &l), FL_OK);
	chain_txn_abort(t);
	cr_assert_eq(l.n, 4);
	cr_assert_str_eq(l.keys[3], "abz");
}

/* ------------------------------------------------------- alloc torture */

/* Begin, several puts and deletes, the state hash: every allocation in
 * turn fails, and each failure must surface as FL_ENOMEM and free all. */
static int torture_once(chain_lthash *out)
{
	chain_txn *t = NULL;
	int rc;

	rc = chain_txn_begin(txn_store, 1, &t);
	if (rc != FL_OK)
		return rc;
	for (int i = 0; i < 40 && rc == FL_OK; i++) {
		char key[16], val[64];

		snprintf(key, sizeof(key), "acct-%02d", (i * 7) % 40);
		snprintf(val, sizeof(val), "balance %d", i);
		rc = chain_txn_put(t, (chain_db)(i % CHAIN_DB_COUNT), key, strlen(key), val,
				   strlen(val));
		if (rc == FL_OK && i % 5 == 0)
			rc = chain_txn_del(t, CHAIN_DB_ACCOUNTS, key, strlen(key));
	}
	if (rc == FL_OK)
		rc = chain_txn_state_hash(t, out);
	chain_txn_abort(t);
	return rc;
}

Test(txn, alloc_torture)
{
	chain_lthash want, got;
	unsigned long n;
	int failures = 0;

	txn_setup();
	fl_alloc_fail_after(0);
	cr_assert_eq(torture_once(&want), FL_OK);
	for (n = 1; n < 10000; n++) {
		int rc;

		fl_alloc_fail_after(n);
		rc = torture_once(&got);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM, "allocation %lu: %s", n, fl_strerror(rc));
		failures++;
	}
	cr_assert_lt(n, 10000);
	/* The txn struct, the log and key arena growing, the sort array, the
	 * hasher and the cached hash. */
	cr_assert_gt(failures, 6);
	cr_assert_eq(memcmp(&got, &want, sizeof(got)), 0);
	/* Nothing was committed along the way. */
	char buf[8];
	cr_assert_eq(get_one(CHAIN_DB_ACCOUNTS, "acct-00", buf, sizeof(buf)), FL_ENOTFOUND);
	TXN_NO_LEAKS();
}
