/*
 * tests/node/mempool_helpers.c — see mempool_helpers.h.
 */
#include "tests/node/mempool_helpers.h"

#include <criterion/criterion.h>
#include <string.h>

chain_fixture mph_fx;
static uint64_t round_reward = 1000;

void mph_open(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 1;
	o.n_members = 1;
	o.n_outsiders = 8;
	o.balance = MPH_BALANCE;
	o.tweak = fixture_short_round_profile;
	o.tweak_arg = &round_reward;
	cr_assert_eq(fixture_open(&mph_fx, &o), 0);
}

void mph_close(void)
{
	fixture_close(&mph_fx);
}

node_mempool *mph_pool(const node_mempool_config *cfg)
{
	node_mempool *mp = NULL;

	cr_assert_eq(node_mempool_new(&mp, mph_fx.store, cfg), 0);
	cr_assert_not_null(mp);
	return mp;
}

void mph_transfer(chain_tx *tx, uint32_t from, uint32_t to, uint64_t amount, uint64_t nonce)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_TRANSFER;
	tx->u.transfer.to = mph_fx.pk[to];
	tx->u.transfer.amount = amount;
	cr_assert_eq(fixture_sign_nonce(&mph_fx, tx, from, nonce), 0);
}

size_t mph_encode(const chain_tx *tx, uint8_t *buf, size_t cap)
{
	fl_writer w;
	size_t n;

	fl_writer_init(&w, 0);
	cr_assert_eq(chain_tx_encode(&w, tx), 0);
	cr_assert_leq(w.len, cap);
	memcpy(buf, w.buf, w.len);
	n = w.len;
	fl_writer_free(&w);
	return n;
}

void mph_commit(node_mempool *mp, const chain_tx *txs, uint32_t n, node_mempool_update_result *r)
{
	chain_block b;

	cr_assert_eq(fixture_build_block(&mph_fx, txs, n, &b), 0);
	node_mempool_release(mp);
	cr_assert_eq(fixture_apply(&mph_fx, &b), 0, "%s", mph_fx.res.reason);
	cr_assert_eq(node_mempool_update(mp, &b, r), 0);
	chain_block_free(&b);
}

uint32_t mph_check_contents(node_mempool *mp, chain_tx **txs)
{
	node_mempool_stats st;
	size_t bytes = 0;
	uint32_t n = 0;
	fl_writer w;

	cr_assert_eq(node_mempool_reap(mp, UINT32_MAX, SIZE_MAX, txs, &n), 0);
	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.count, n);
	for (uint32_t i = 0; i < n; i++) {
		fl_hash h;

		fl_writer_init(&w, 0);
		cr_assert_eq(chain_tx_encode(&w, &(*txs)[i]), 0);
		bytes += w.len;
		fl_writer_free(&w);
		cr_assert_eq(chain_tx_hash(&h, &(*txs)[i]), 0);
		cr_assert(node_mempool_contains(mp, &h));
	}
	cr_assert_eq(st.bytes, bytes);
	return n;
}

void mph_free_txs(chain_tx *txs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
	fl_free(txs);
}
