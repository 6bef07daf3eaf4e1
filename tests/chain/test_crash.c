/*
 * tests/chain/test_crash.c — a forked child applies a stream of blocks with
 * transfers to a store and is SIGKILLed after a random short delay. The
 * parent reopens the store, which must sit at a whole committed height h,
 * and replays the same stream up to h into a fresh store: the app hash,
 * the supply and every balance must agree. The stream is a pure function
 * of a seed and the committed state (keys from fixed labels, txs from a
 * seeded generator), so both sides build the same blocks (up to the
 * randomized signatures, which the app hash does not cover).
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CRASH_MAX_TXS 6
#define CRASH_FOREVER 1000000 /* the child runs until it is killed */

static fixture_opts crash_opts(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = 3;
	o.n_outsiders = 5;
	o.balance = 100000000;
	return o;
}

static uint64_t mix(uint64_t x)
{
	/* splitmix64 finalizer: every (seed, height, i) its own value. */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The txs of block `height`: transfers of 1..100 between the fixture's
 * keys. Balances of 10^8 cover far more blocks than a run makes. */
static uint32_t stream_txs(chain_fixture *fx, uint64_t seed, uint64_t height, chain_tx *txs)
{
	uint64_t s = mix(seed ^ mix(height));
	uint32_t n = (uint32_t)(s % (CRASH_MAX_TXS + 1));

	for (uint32_t i = 0; i < n; i++) {
		uint64_t r = mix(s + i + 1);
		uint32_t from = (uint32_t)(r % fx->n_keys);
		uint32_t to = (uint32_t)((r >> 16) % fx->n_keys);
		uint64_t amount = 1 + (r >> 32) % 100;

		if (fixture_transfer(fx, &txs[i], from, to, amount) != 0)
			abort();
	}
	return n;
}

/* Applies the stream until the store is at `up_to`; 0 or the failure. */
static int apply_stream(chain_fixture *fx, uint64_t seed, uint64_t up_to)
{
	for (uint64_t h = fixture_height(fx); h < up_to; h++) {
		chain_tx txs[CRASH_MAX_TXS];
		uint32_t n = stream_txs(fx, seed, h + 1, txs);
		int rc = fixture_next_block(fx, txs, n);

		for (uint32_t i = 0; i < n; i++)
			chain_tx_free(&txs[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void one_crash(uint64_t seed, unsigned delay_us)
{
	fixture_opts o = crash_opts();
	chain_fixture a, b;
	chain_info ia, ib;
	uint8_t *bytes = NULL;
	size_t n = 0;
	int status = 0;
	pid_t pid;

	cr_assert_eq(fixture_open(&a, &o), 0);
	/* No LMDB environment may cross a fork. */
	fixture_detach(&a);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int rc = fixture_attach(&a);
		if (rc == 0)
			rc = apply_stream(&a, seed, CRASH_FOREVER);
		_exit(rc == 0 ? 0 : 3);
	}
	usleep(delay_us);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "the child stopped by itself: status %d", status);

	cr_assert_eq(fixture_attach(&a), 0);
	cr_assert_eq(chain_store_info(a.store, &ia), 0);
	/* The block at h is whole and is the one the meta names. */
	if (ia.height > 0) {
		chain_block blk;
		fl_hash hh;
		cr_assert_eq(chain_get_block(a.store, ia.height, &bytes, &n), 0);
		cr_assert_eq(chain_block_decode(&blk, bytes, n), 0);
		cr_assert_eq(chain_header_hash(&hh, &blk.header), 0);
		cr_assert_eq(fl_hash_cmp(&hh, &ia.last_block_hash), 0);
		chain_block_free(&blk);
		fl_free(bytes);
	}
	cr_assert_eq(chain_get_block(a.store, ia.height + 1, &bytes, &n), FL_ENOTFOUND);

	cr_assert_eq(fixture_open(&b, &o), 0);
	cr_assert_eq(apply_stream(&b, seed, ia.height), 0);
	cr_assert_eq(chain_store_info(b.store, &ib), 0);
	cr_assert_eq(ib.height, ia.height);
	cr_assert_eq(fl_hash_cmp(&ia.app_hash, &ib.app_hash), 0, "app hash differs at %llu",
		     (unsigned long long)ia.height);
	cr_assert_eq(ia.supply, ib.supply);
	cr_assert_eq(ia.last_time_ms, ib.last_time_ms);
	for (uint32_t i = 0; i < a.n_keys; i++)
		cr_assert_eq(fixture_balance(&a, i), fixture_balance(&b, i));
	cr_assert_eq(fixture_sum_held(&a), ia.supply);
	/* The killed store goes on from where it stood. */
	cr_assert_eq(apply_stream(&a, seed, ia.height + 3), 0);
	cr_assert_eq(apply_stream(&b, seed, ia.height + 3), 0);
	cr_assert_eq(chain_store_info(a.store, &ia), 0);
	cr_assert_eq(chain_store_info(b.store, &ib), 0);
	cr_assert_eq(fl_hash_cmp(&ia.app_hash, &ib.app_hash), 0);

	fixture_close(&b);
	fixture_close(&a);
	cr_log_info("crash seed %llu: killed after %u us at height %llu", (unsigned long long)seed,
		    delay_us, (unsigned long long)ia.height - 3);
}

Test(crash, sigkill_leaves_a_committed_height, .timeout = 300)
{
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (uint64_t i = 0; i < 4; i++)
		one_crash(1000 + i, 20000 + (unsigned)(rand() % 180000));
}
