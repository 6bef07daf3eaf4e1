/*
 * tests/chain/test_ledger.c — the token ledger: overdraft and overflow are
 * refused, a self-transfer conserves, a transfer creates its recipient, and
 * the supply equals the sum of balances and does not move across many
 * random transfers (only rewards mint, only slashing burns), and a deposit
 * moves between a balance and the deposits without changing the supply
 * until it is burned.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

static chain_fixture fx;

static void open_ledger(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 3;
	o.n_members = 2;
	o.n_outsiders = 3;
	o.balance = 5000;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void close_ledger(void)
{
	fixture_close(&fx);
}

static uint64_t supply_now(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info.supply;
}

TestSuite(ledger, .init = open_ledger, .fini = close_ledger);

Test(ledger, overdraft_rejected)
{
	chain_tx tx;

	cr_assert_eq(fixture_transfer(&fx, &tx, 5, 6, 5001), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), FL_EFUNDS);
	cr_assert_str_eq(fx.res.reason, "tx: balance too low");
	cr_assert_eq(fx.res.failed_tx, 0);
	cr_assert_eq(fixture_height(&fx), 0);
	cr_assert_eq(fixture_balance(&fx, 5), 5000);
	/* The whole balance is fine, and leaves exactly nothing. */
	cr_assert_eq(fixture_transfer(&fx, &tx, 5, 6, 5000), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
	cr_assert_eq(fixture_balance(&fx, 5), 0);
	cr_assert_eq(fixture_balance(&fx, 6), 10000);
	/* Two transfers in one block that overdraw only together. */
	{
		chain_tx two[2];
		cr_assert_eq(fixture_transfer(&fx, &two[0], 6, 7, 6000), 0);
		cr_assert_eq(fixture_transfer(&fx, &two[1], 6, 7, 4001), 0);
		cr_assert_eq(fixture_next_block(&fx, two, 2), FL_EFUNDS);
		cr_assert_eq(fx.res.failed_tx, 1);
		cr_assert_eq(fixture_balance(&fx, 6), 10000);
	}
	cr_assert_eq(supply_now(), 8 * 5000);
}

Test(ledger, zero_amount_is_not_a_transfer)
{
	chain_tx tx;

	/* A zero amount has no canonical encoding, so it cannot be signed
	 * (nor decoded from a block: the codec tests cover that side). */
	cr_assert_eq(fixture_transfer(&fx, &tx, 5, 6, 0), FL_EINVAL);
	cr_assert_eq(fixture_transfer(&fx, &tx, 5, 6, 1), 0);
	cr_assert_eq(tx.nonce, 1);
}

Test(ledger, self_transfer_conserves)
{
	chain_tx tx;
	chain_account a;

	cr_assert_eq(fixture_transfer(&fx, &tx, 5, 5, 3000), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[5], &a), 0);
	cr_assert_eq(a.balance, 5000);
	cr_assert_eq(a.nonce, 1);
	cr_assert_eq(fixture_transfer(&fx, &tx, 5, 5, 5001), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), FL_EFUNDS);
	cr_assert_eq(supply_now(), fixture_sum_held(&fx));
}

Test(ledger, transfer_creates_recipient)
{
	chain_tx tx;
	chain_account a;
	fl_seckey sk;
	fl_pubkey pk;

	cr_assert_eq(fl_key_generate(&sk, &pk), 0);
	cr_assert_eq(chain_get_account(fx.store, &pk, &a), FL_ENOTFOUND);
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_TRANSFER;
	tx.u.transfer.to = pk;
	tx.u.transfer.amount = 42;
	cr_assert_eq(fixture_sign(&fx, &tx, 0), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
	cr_assert_eq(chain_get_account(fx.store, &pk, &a), 0);
	cr_assert_eq(a.balance, 42);
	cr_assert_eq(a.nonce, 0);
	cr_assert_eq(a.member, 0);
	cr_assert_eq(a.reputation, CHAIN_REPUTATION_START);
	/* The new account can spend what it got. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_TRANSFER;
	tx.u.transfer.to = fx.pk[0];
	tx.u.transfer.amount = 40;
	tx.nonce = 1;
	cr_assert_eq(chain_tx_sign(&tx, fx.genesis.chain_id, &sk), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
	cr_assert_eq(fixture_balance_of(&fx, &pk), 2);
	cr_assert_eq(supply_now(), 8 * 5000);
	cr_assert_eq(fixture_sum_held(&fx), 8 * 5000);
}

/* Overflow cannot arise while supply is the sum of balances and fits 64
 * bits, so the ledger is driven directly on a state where it would. */
Test(ledger, overflow_rejected)
{
	chain_txn *t = NULL;
	chain_account a;
	uint64_t supply = 0;

	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	cr_assert_eq(chain_state_get_account(t, &fx.pk[6], &a), 0);
	a.balance = UINT64_MAX - 5;
	cr_assert_eq(chain_state_put_account(t, &fx.pk[6], &a), 0);
	cr_assert_eq(chain_ledger_transfer(t, &fx.pk[5], &fx.pk[6], 6), FL_EOVERFLOW);
	cr_assert_eq(chain_ledger_transfer(t, &fx.pk[5], &fx.pk[6], 5), 0);
	cr_assert_eq(chain_state_get_account(t, &fx.pk[6], &a), 0);
	cr_assert_eq(a.balance, UINT64_MAX);
	/* Minting past 2^64 - 1 of supply. */
	cr_assert_eq(
	    chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, UINT64_MAX - 10), 0);
	cr_assert_eq(chain_ledger_mint(t, &fx.pk[7], 11), FL_EOVERFLOW);
	cr_assert_eq(chain_ledger_mint(t, &fx.pk[7], 10), 0);
	cr_assert_eq(chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, &supply), 0);
	cr_assert_eq(supply, UINT64_MAX);
	cr_assert_eq(fixture_balance(&fx, 7), 5000); /* not committed */
	chain_txn_abort(t);
	cr_assert_eq(fixture_balance(&fx, 6), 5000);
	cr_assert_eq(supply_now(), 8 * 5000);
}

Test(ledger, burn_takes_at_most_the_balance)
{
	chain_txn *t = NULL;
	uint64_t burned = 0, supply = 0;

	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	cr_assert_eq(chain_ledger_burn(t, &fx.pk[5], 1200, &burned), 0);
	cr_assert_eq(burned, 1200);
	cr_assert_eq(chain_ledger_burn(t, &fx.pk[5], 99999, &burned), 0);
	cr_assert_eq(burned, 3800);
	cr_assert_eq(chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, &supply), 0);
	cr_assert_eq(supply, 8 * 5000 - 5000);
	chain_txn_abort(t);
}

static uint64_t scalar(chain_txn *t, const char *key)
{
	uint64_t v = 0;

	cr_assert_eq(chain_state_get_u64(t, CHAIN_DB_STATE_META, key, &v), 0);
	return v;
}

Test(ledger, deposits_lock_unlock_and_burn)
{
	chain_txn *t = NULL;
	chain_account a;

	cr_assert_eq(chain_txn_begin(fx.store, 1, &t), 0);
	/* Lock: out of the balance into deposits; the supply stays. */
	cr_assert_eq(chain_ledger_lock(t, &fx.pk[5], 5001), FL_EFUNDS);
	cr_assert_eq(chain_ledger_lock(t, &fx.pk[5], 5000), 0);
	cr_assert_eq(chain_ledger_lock(t, &fx.pk[6], 300), 0);
	cr_assert_eq(chain_state_get_account(t, &fx.pk[5], &a), 0);
	cr_assert_eq(a.balance, 0);
	cr_assert_eq(scalar(t, CHAIN_STATE_DEPOSITS), 5300);
	cr_assert_eq(scalar(t, CHAIN_STATE_SUPPLY), 8 * 5000);
	/* Unlock to another account (a new one, even); never more than held. */
	cr_assert_eq(chain_ledger_unlock(t, &fx.pk[7], 5301), FL_ECORRUPT);
	cr_assert_eq(chain_ledger_unlock(t, &fx.pk[5], 1000), 0);
	cr_assert_eq(chain_state_get_account(t, &fx.pk[5], &a), 0);
	cr_assert_eq(a.balance, 1000);
	cr_assert_eq(scalar(t, CHAIN_STATE_DEPOSITS), 4300);
	cr_assert_eq(scalar(t, CHAIN_STATE_SUPPLY), 8 * 5000);
	/* Burn: deposits and supply shrink together. */
	cr_assert_eq(chain_ledger_burn_deposit(t, 4301), FL_ECORRUPT);
	cr_assert_eq(chain_ledger_burn_deposit(t, 4300), 0);
	cr_assert_eq(scalar(t, CHAIN_STATE_DEPOSITS), 0);
	cr_assert_eq(scalar(t, CHAIN_STATE_SUPPLY), 8 * 5000 - 4300);
	/* Deposits above the supply are a corrupt store, not a lock. */
	cr_assert_eq(chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS, UINT64_MAX),
		     0);
	cr_assert_eq(chain_ledger_lock(t, &fx.pk[6], 1), FL_ECORRUPT);
	chain_txn_abort(t);
	cr_assert_eq(supply_now(), 8 * 5000);
	cr_assert_eq(fixture_sum_held(&fx), 8 * 5000);
}

/* xorshift64*: a fixed stream, so a failure replays exactly. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

Test(ledger, supply_conserved_across_random_transfers)
{
	uint64_t model[FX_MAX_KEYS];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	const uint64_t supply0 = 8 * 5000;
	uint32_t n = fx.n_keys;

	for (uint32_t i = 0; i < n; i++)
		model[i] = 5000;
	for (int block = 0; block < 40; block++) {
		chain_tx txs[12];
		uint32_t k = (uint32_t)(rng_next(&seed) % 12);

		for (uint32_t j = 0; j < k; j++) {
			uint32_t from = (uint32_t)(rng_next(&seed) % n);
			uint32_t to = (uint32_t)(rng_next(&seed) % n);
			uint64_t amount;

			/* Senders with nothing left give a token they do not
			 * spend: pick another that has one. */
			while (model[from] == 0)
				from = (from + 1) % n;
			amount = 1 + rng_next(&seed) % model[from];
			cr_assert_eq(fixture_transfer(&fx, &txs[j], from, to, amount), 0);
			model[from] -= amount;
			model[to] += amount;
		}
		cr_assert_eq(fixture_next_block(&fx, txs, k), 0, "block %d: %s", block,
			     fx.res.reason ? fx.res.reason : "-");
		for (uint32_t i = 0; i < n; i++)
			cr_assert_eq(fixture_balance(&fx, i), model[i], "key %u", i);
		cr_assert_eq(supply_now(), supply0);
		cr_assert_eq(fixture_sum_held(&fx), supply0);
	}
	cr_assert_eq(fixture_height(&fx), 40);
}
