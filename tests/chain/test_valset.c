/*
 * tests/chain/test_valset.c — the validator set in force at every height
 * (the store's history), chain_verify_commit against it, and the stored tip
 * commit: the set of a height stays what it was after the set changes, a
 * commit is checked against its own height's set (not today's), each way a
 * commit can be wrong is refused with its code, and the tip's commit
 * survives a restart.
 */
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

/* Validators 0..3 (power 10), members 4..5. */
#define MEMBER 4

static chain_fixture fx;

static void open_valset(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = 2;
	o.balance = 1000000;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void close_valset(void)
{
	fixture_close(&fx);
}

TestSuite(valset, .init = open_valset, .fini = close_valset);

static chain_info info_now(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info;
}

static int in_set(const chain_validator_set *set, uint32_t who)
{
	for (uint32_t i = 0; i < set->n; i++)
		if (fl_pubkey_cmp(&set->pubkey[i], &fx.pk[who]) == 0)
			return 1;
	return 0;
}

/* One block jailing `a` and `b` by double-sign evidence (sent by validator 0). */
static void jail_two(uint32_t a, uint32_t b)
{
	chain_tx txs[2];

	cr_assert_eq(fixture_double_sign(&fx, &txs[0], a, 1, 0, "jail a"), 0);
	cr_assert_eq(fixture_sign(&fx, &txs[0], 0), 0);
	cr_assert_eq(fixture_double_sign(&fx, &txs[1], b, 1, 0, "jail b"), 0);
	cr_assert_eq(fixture_sign(&fx, &txs[1], 0), 0);
	cr_assert_eq(fixture_next_block(&fx, txs, 2), 0, "%s", fx.res.reason);
	chain_tx_free(&txs[0]);
	chain_tx_free(&txs[1]);
}

static fl_hash block_hash_at(uint64_t height)
{
	chain_block b;
	uint8_t *bytes;
	size_t n;
	fl_hash h;

	cr_assert_eq(chain_get_block(fx.store, height, &bytes, &n), 0);
	cr_assert_eq(chain_block_decode(&b, bytes, n), 0);
	cr_assert_eq(chain_header_hash(&h, &b.header), 0);
	chain_block_free(&b);
	fl_free(bytes);
	return h;
}

Test(valset, history_keeps_the_set_of_every_height)
{
	chain_validator_set set;

	cr_assert_eq(chain_get_validator_set(fx.store, 1, &set), 0);
	cr_assert_eq(set.n, 4);
	cr_assert_eq(set.total, 40);
	/* Nobody knows the set of a height two blocks ahead, nor of 0. */
	cr_assert_eq(chain_get_validator_set(fx.store, 2, &set), FL_ENOTFOUND);
	cr_assert_eq(chain_get_validator_set(fx.store, 0, &set), FL_ENOTFOUND);

	cr_assert_eq(fixture_advance_to(&fx, 3), 0);
	jail_two(2, 3); /* block 4 */
	cr_assert_eq(fixture_advance_to(&fx, 7), 0);
	for (uint64_t h = 1; h <= 4; h++) {
		cr_assert_eq(chain_get_validator_set(fx.store, h, &set), 0);
		cr_assert_eq(set.n, 4, "height %llu", (unsigned long long)h);
		cr_assert_eq(set.total, 40);
	}
	/* Jailed in block 4: out of the set from 5 on, up to the next block. */
	for (uint64_t h = 5; h <= 8; h++) {
		cr_assert_eq(chain_get_validator_set(fx.store, h, &set), 0);
		cr_assert_eq(set.n, 2, "height %llu", (unsigned long long)h);
		cr_assert_eq(set.total, 20);
		cr_assert(in_set(&set, 0) && in_set(&set, 1) && !in_set(&set, 2) &&
			  !in_set(&set, 3));
	}
	cr_assert_eq(chain_get_validator_set(fx.store, 9, &set), FL_ENOTFOUND);
	/* It is the store's: a restart reads the same. */
	cr_assert_eq(fixture_reopen(&fx), 0);
	cr_assert_eq(chain_get_validator_set(fx.store, 4, &set), 0);
	cr_assert_eq(set.n, 4);
	cr_assert_eq(chain_get_validator_set(fx.store, 5, &set), 0);
	cr_assert_eq(set.n, 2);
}

Test(valset, verify_commit_refuses_each_flaw)
{
	const char *id = fx.genesis.chain_id;
	chain_commit real, c;
	fl_hash h2;

	cr_assert_eq(fixture_advance_to(&fx, 3), 0);
	h2 = block_hash_at(2);
	/* The commit block 3 carries: all four signed. */
	cr_assert_eq(chain_get_commit(fx.store, 2, &real), 0);
	cr_assert_eq(real.n_sigs, 4);
	cr_assert_eq(chain_verify_commit(fx.store, id, 2, &h2, &real), 0);

	/* Three of four equal validators: 30/40 > 2/3. Two: exactly half. */
	c = real;
	c.n_sigs = 3;
	cr_assert_eq(chain_verify_commit(fx.store, id, 2, &h2, &c), 0);
	c.n_sigs = 2;
	cr_assert_eq(chain_verify_commit(fx.store, id, 2, &h2, &c), FL_EPERM);

	c = real;
	c.sigs[2].sig.b[10] ^= 0x40;
	cr_assert_eq(chain_verify_commit(fx.store, id, 2, &h2, &c), FL_ESIG);

	/* A member's real precommit: a signer outside the set. */
	{
		uint32_t who[] = {0, 1, 2, MEMBER};
		cr_assert_eq(fixture_commit(&fx, 2, &h2, who, 4, &c), 0);
		cr_assert_eq(chain_verify_commit(fx.store, id, 2, &h2, &c), FL_EPERM);
	}

	/* A duplicate signer does not count twice (3 sigs, 2 signers). */
	c = real;
	c.n_sigs = 3;
	c.sigs[1] = c.sigs[0];
	cr_assert_eq(chain_verify_commit(fx.store, id, 2, &h2, &c), FL_EINVAL);

	/* Another block, another height, another chain. */
	cr_assert_eq(chain_verify_commit(fx.store, id, 2, &fx.genesis_hash, &real), FL_EINVAL);
	cr_assert_eq(chain_verify_commit(fx.store, id, 1, &h2, &real), FL_EINVAL);
	cr_assert_eq(chain_verify_commit(fx.store, "another-chain", 2, &h2, &real), FL_ESIG);
	/* Far past the tip: no set to check against. */
	c = real;
	c.height = 10;
	cr_assert_eq(chain_verify_commit(fx.store, id, 10, &h2, &c), FL_ENOTFOUND);
}

/* After a change, each height's commit is checked against its own set:
 * validators 0 and 1 alone are everything from height 5 on, but only half
 * of the set that signed height 4, so a commit of block 4 by them alone
 * must fail although today's set would take it. */
Test(valset, verify_commit_uses_the_set_of_its_height)
{
	const char *id = fx.genesis.chain_id;
	uint32_t two[] = {0, 1}, four[] = {0, 1, 2, 3};
	chain_commit c;
	fl_hash h4, h5;

	cr_assert_eq(fixture_advance_to(&fx, 3), 0);
	jail_two(2, 3); /* block 4 */
	cr_assert_eq(fixture_advance_to(&fx, 6), 0);
	h4 = block_hash_at(4);
	h5 = block_hash_at(5);

	cr_assert_eq(fixture_commit(&fx, 4, &h4, two, 2, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, 4, &h4, &c), FL_EPERM);
	cr_assert_eq(fixture_commit(&fx, 4, &h4, four, 4, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, 4, &h4, &c), 0);

	cr_assert_eq(fixture_commit(&fx, 5, &h5, two, 2, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, 5, &h5, &c), 0);
	/* The jailed two no longer sign anything. */
	cr_assert_eq(fixture_commit(&fx, 5, &h5, four, 4, &c), 0);
	cr_assert_eq(chain_verify_commit(fx.store, id, 5, &h5, &c), FL_EPERM);
}

static int commit_eq(const chain_commit *a, const chain_commit *b)
{
	if (a->height != b->height || a->round != b->round || a->n_sigs != b->n_sigs ||
	    fl_hash_cmp(&a->block_hash, &b->block_hash) != 0)
		return 0;
	return memcmp(a->sigs, b->sigs, a->n_sigs * sizeof(a->sigs[0])) == 0;
}

Test(valset, tip_commit_survives_reopen)
{
	chain_commit tip, got, bad;
	chain_info info;
	uint32_t two[] = {0, 1};

	cr_assert_eq(fixture_tip_commit(&fx, &tip), 0);
	cr_assert_eq(chain_store_put_tip_commit(fx.store, &tip), FL_ESTATE);
	cr_assert_eq(chain_get_commit(fx.store, 0, &got), FL_ENOTFOUND);

	cr_assert_eq(fixture_advance_to(&fx, 4), 0);
	info = info_now();
	/* Nothing stored yet: the tip has no commit to serve. */
	cr_assert_eq(chain_get_commit(fx.store, 4, &got), FL_ENOTFOUND);

	/* Only a commit of the tip that verifies is kept. */
	cr_assert_eq(fixture_commit(&fx, 4, &info.last_block_hash, two, 2, &bad), 0);
	cr_assert_eq(chain_store_put_tip_commit(fx.store, &bad), FL_EPERM);
	cr_assert_eq(chain_get_commit(fx.store, 3, &bad), 0); /* block 3's: not the tip's */
	cr_assert_eq(chain_store_put_tip_commit(fx.store, &bad), FL_EINVAL);
	cr_assert_eq(fixture_tip_commit(&fx, &tip), 0);
	tip.sigs[0].sig.b[0] ^= 1;
	cr_assert_eq(chain_store_put_tip_commit(fx.store, &tip), FL_ESIG);
	cr_assert_eq(chain_get_commit(fx.store, 4, &got), FL_ENOTFOUND);

	cr_assert_eq(fixture_tip_commit(&fx, &tip), 0);
	cr_assert_eq(chain_store_put_tip_commit(fx.store, &tip), 0);
	cr_assert_eq(fixture_reopen(&fx), 0);
	cr_assert_eq(chain_get_commit(fx.store, 4, &got), 0);
	cr_assert(commit_eq(&got, &tip));
	cr_assert_eq(
	    chain_verify_commit(fx.store, fx.genesis.chain_id, 4, &info.last_block_hash, &got), 0);

	/* The next block carries a commit of 4 (maybe another signer set);
	 * the new tip has none until the node stores one. */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(chain_get_commit(fx.store, 4, &got), 0);
	cr_assert_eq(got.height, 4);
	cr_assert_eq(fl_hash_cmp(&got.block_hash, &info.last_block_hash), 0);
	cr_assert_eq(chain_get_commit(fx.store, 5, &got), FL_ENOTFOUND);
	cr_assert_eq(chain_get_commit(fx.store, 6, &got), FL_ENOTFOUND);
}

/* The block and its commit in one transaction: both or neither. */
Test(valset, apply_with_commit_stores_both_or_neither)
{
	chain_block_result res;
	chain_commit c, got;
	chain_block b;
	fl_hash hash;
	uint32_t all[] = {0, 1, 2, 3}, two[] = {0, 1};

	cr_assert_eq(fixture_advance_to(&fx, 2), 0);
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	cr_assert_eq(chain_header_hash(&hash, &b.header), 0);

	/* Too few signers: the block is not applied either. */
	cr_assert_eq(fixture_commit(&fx, 3, &hash, two, 2, &c), 0);
	cr_assert_eq(chain_apply_block_commit(fx.store, &b, &c, &res), FL_EPERM);
	cr_assert_str_eq(res.reason, "tip commit");
	cr_assert_eq(fixture_height(&fx), 2);
	/* A commit of another block: the same. */
	chain_info before = info_now();
	cr_assert_eq(fixture_commit(&fx, 3, &before.last_block_hash, all, 4, &c), 0);
	cr_assert_eq(chain_apply_block_commit(fx.store, &b, &c, &res), FL_EINVAL);
	cr_assert_eq(fixture_height(&fx), 2);

	cr_assert_eq(fixture_commit(&fx, 3, &hash, all, 4, &c), 0);
	cr_assert_eq(chain_apply_block_commit(fx.store, &b, &c, &res), 0, "%s", res.reason);
	chain_block_free(&b);
	cr_assert_eq(fixture_height(&fx), 3);
	cr_assert_eq(fixture_reopen(&fx), 0);
	cr_assert_eq(chain_get_commit(fx.store, 3, &got), 0);
	cr_assert(commit_eq(&got, &c));
	chain_info after = info_now();
	cr_assert_eq(fl_hash_cmp(&after.app_hash, &res.app_hash), 0);
}
