/*
 * tests/chain/test_snapshot.c — read snapshots: one height through any
 * number of lookups while blocks are applied from the same thread, a clean
 * end, and the reader-slot bound reported as FL_ETOOBIG.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

static const fixture_opts snap_opts = {.n_validators = 2, .n_outsiders = 2, .balance = 5000};

/* Key 2 pays key 3 `amount` in the next block. */
static void pay(chain_fixture *fx, uint64_t amount)
{
	chain_tx tx;

	cr_assert_eq(fixture_transfer(fx, &tx, 2, 3, amount), 0);
	cr_assert_eq(fixture_next_block(fx, &tx, 1), 0, "%s", fx->res.reason);
	chain_tx_free(&tx);
}

Test(snapshot, keeps_its_height_while_blocks_apply)
{
	chain_fixture fx;
	chain_snapshot *snap = NULL;
	chain_info at, now, again;
	chain_account acc;
	chain_lthash hash_at, h;
	uint8_t *blk = NULL;
	size_t n = 0;
	uint64_t height = 0;

	cr_assert_eq(fixture_open(&fx, &snap_opts), 0);
	pay(&fx, 10);
	pay(&fx, 20);
	cr_assert_eq(chain_snapshot_begin(fx.store, &snap), FL_OK);
	cr_assert_eq(chain_snap_info(snap, &at), FL_OK);
	cr_assert_eq(at.height, 2);
	cr_assert_eq(chain_snap_get_state_hash(snap, &hash_at), FL_OK);

	/* Blocks 3..5 commit from this very thread while the snapshot is open. */
	pay(&fx, 100);
	pay(&fx, 200);
	pay(&fx, 300);
	cr_assert_eq(chain_store_info(fx.store, &now), FL_OK);
	cr_assert_eq(now.height, 5);
	cr_assert_eq(fixture_balance(&fx, 3), 5000 + 630);

	cr_assert_eq(chain_snap_info(snap, &again), FL_OK);
	cr_assert_eq(memcmp(&again, &at, sizeof(at)), 0, "the snapshot still reads height 2");
	cr_assert_eq(chain_snap_get_account(snap, &fx.pk[3], &acc), FL_OK);
	cr_assert_eq(acc.balance, 5000 + 30);
	cr_assert_eq(chain_snap_get_account(snap, &fx.pk[2], &acc), FL_OK);
	cr_assert_eq(acc.balance, 5000 - 30);
	cr_assert_eq(acc.nonce, 2);
	cr_assert_eq(chain_snap_get_state_hash(snap, &h), FL_OK);
	cr_assert_eq(memcmp(&h, &hash_at, sizeof(h)), 0);
	cr_assert_eq(chain_snap_get_block(snap, 2, &blk, &n), FL_OK);
	fl_free(blk);
	blk = NULL;
	cr_assert_eq(chain_snap_get_block(snap, 3, &blk, &n), FL_ENOTFOUND);
	cr_assert_null(blk);
	cr_assert_eq(chain_snap_get_block_height(snap, &at.last_block_hash, &height), FL_OK);
	cr_assert_eq(height, 2);
	cr_assert_eq(chain_snap_get_block_height(snap, &now.last_block_hash, &height),
		     FL_ENOTFOUND);
	/* The store itself reads the tip. */
	cr_assert_eq(chain_get_block(fx.store, 5, &blk, &n), FL_OK);
	fl_free(blk);

	chain_genesis_validator *vals = NULL;
	cr_assert_eq(chain_snap_get_validators(snap, &vals, &n), FL_OK);
	cr_assert_eq(n, 2);
	fl_free(vals);
	char(*ids)[CHAIN_PROFILE_ID_MAX + 1] = NULL;
	cr_assert_eq(chain_snap_list_profiles(snap, &ids, &n), FL_OK);
	cr_assert_eq(n, 0);
	fl_free(ids);

	chain_snapshot_end(snap);
	chain_snapshot_end(NULL);
	/* A new one sees the tip, and the chain goes on. */
	cr_assert_eq(chain_snapshot_begin(fx.store, &snap), FL_OK);
	cr_assert_eq(chain_snap_info(snap, &again), FL_OK);
	cr_assert_eq(memcmp(&again, &now, sizeof(now)), 0);
	chain_snapshot_end(snap);
	pay(&fx, 1);
	cr_assert_eq(fixture_height(&fx), 6);
	fixture_close(&fx);
}

Test(snapshot, reader_slots_are_a_bound_not_a_crash)
{
	static chain_snapshot *snaps[CHAIN_STORE_MAX_READERS + 8];
	chain_fixture fx;
	chain_block b;
	chain_info info;
	chain_tx tx;
	int open = 0, rc = FL_OK;

	fl_log_set_level(FL_LOG_OFF); /* MDB_READERS_FULL is logged: expected */
	cr_assert_eq(fixture_open(&fx, &snap_opts), 0);
	cr_assert_eq(fixture_transfer(&fx, &tx, 2, 3, 5), 0);
	cr_assert_eq(fixture_build_block(&fx, &tx, 1, &b), 0);
	chain_tx_free(&tx);
	while (open < (int)FL_ARRAY_LEN(snaps) &&
	       (rc = chain_snapshot_begin(fx.store, &snaps[open])) == FL_OK)
		open++;
	cr_assert_eq(rc, FL_ETOOBIG);
	cr_assert_null(snaps[open]);
	/* One slot is the store's own base reader. */
	cr_assert_eq(open, CHAIN_STORE_MAX_READERS - 1);
	cr_assert_eq(chain_store_info(fx.store, &info), FL_ETOOBIG);

	/* Blocks still apply: the writer's reader slot is reserved. */
	cr_assert_eq(fixture_apply(&fx, &b), 0, "%s", fx.res.reason);
	chain_block_free(&b);
	cr_assert_eq(chain_snap_info(snaps[0], &info), FL_OK);
	cr_assert_eq(info.height, 0);

	for (int i = 0; i < open; i++)
		chain_snapshot_end(snaps[i]);
	cr_assert_eq(chain_store_info(fx.store, &info), FL_OK);
	cr_assert_eq(info.height, 1);
	cr_assert_eq(fixture_balance(&fx, 3), 5005);
	fixture_close(&fx);
}

/* Readers on other threads, each snapshot checked for one height: key 3's
 * balance is 5000 + 5 per block while block after block pays it 5. */
typedef struct {
	chain_fixture *fx;
	int *stop;
	int reads, torn, errors;
} reader_arg;

static void *reader(void *p)
{
	reader_arg *a = p;

	while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE)) {
		chain_snapshot *snap;
		chain_info info;
		chain_account acc;

		if (chain_snapshot_begin(a->fx->store, &snap) != FL_OK) {
			a->errors++;
			continue;
		}
		if (chain_snap_info(snap, &info) != FL_OK ||
		    chain_snap_get_account(snap, &a->fx->pk[3], &acc) != FL_OK)
			a->errors++;
		else if (acc.balance != 5000 + 5 * info.height)
			a->torn++;
		chain_snapshot_end(snap);
		a->reads++;
	}
	return NULL;
}

Test(snapshot, readers_on_other_threads_see_whole_heights)
{
	chain_fixture fx;
	pthread_t th[3];
	reader_arg args[3];
	int stop = 0;

	cr_assert_eq(fixture_open(&fx, &snap_opts), 0);
	for (int i = 0; i < 3; i++) {
		args[i] = (reader_arg){.fx = &fx, .stop = &stop};
		cr_assert_eq(pthread_create(&th[i], NULL, reader, &args[i]), 0);
	}
	for (int h = 0; h < 30; h++)
		pay(&fx, 5);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(pthread_join(th[i], NULL), 0);
		cr_assert_eq(args[i].errors, 0);
		cr_assert_eq(args[i].torn, 0);
		cr_assert_gt(args[i].reads, 0);
	}
	fixture_close(&fx);
}
