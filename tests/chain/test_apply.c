/*
 * tests/chain/test_apply.c — chain_apply_block: every block-level check
 * named by its reason, nonces (replay, gap), signatures (forged, other
 * chain), that a rejected block writes nothing, check_block/check_tx, and
 * that the store survives close/reopen with the same info and app hash.
 */
#include "chain/internal.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

static chain_fixture fx;

static void open_default(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = 2;
	o.n_outsiders = 1;
	o.balance = 1000000;
	cr_assert_eq(fixture_open(&fx, &o), 0);
}

static void close_fixture(void)
{
	fixture_close(&fx);
}

static chain_info info_now(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info;
}

/* Apply b and expect rc and reason, with the store unchanged. */
static void expect_rejected(chain_block *b, int rc, const char *reason)
{
	chain_info before = info_now(), after;

	cr_assert_eq(fixture_apply(&fx, b), rc, "rc %d (%s), want %d", fx.last_rc,
		     fx.res.reason ? fx.res.reason : "-", rc);
	cr_assert_str_eq(fx.res.reason, reason);
	after = info_now();
	cr_assert_eq(after.height, before.height);
	cr_assert_eq(fl_hash_cmp(&after.app_hash, &before.app_hash), 0);
	cr_assert_eq(fl_hash_cmp(&after.last_block_hash, &before.last_block_hash), 0);
}

TestSuite(apply, .init = open_default, .fini = close_fixture);

Test(apply, genesis_state)
{
	chain_info info = info_now();
	chain_account a;
	fl_hash beacon;

	cr_assert_eq(info.height, 0);
	cr_assert_eq(fl_hash_cmp(&info.last_block_hash, &fx.genesis_hash), 0);
	cr_assert_eq(fl_hash_cmp(&info.genesis_hash, &fx.genesis_hash), 0);
	fl_domain_hash(&beacon, "beacon", info.chain_id, fx.genesis_hash.b, FL_HASH_LEN);
	cr_assert_eq(fl_hash_cmp(&info.beacon, &beacon), 0);
	cr_assert_eq(info.supply, 7 * 1000000ull);
	cr_assert_eq(info.total_power, 40);
	cr_assert_eq(info.last_time_ms, fx.genesis.genesis_time_ms);
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[0], &a), 0);
	cr_assert_eq(a.power, 10);
	cr_assert_eq(a.member, 1);
	cr_assert_eq(a.reputation, CHAIN_REPUTATION_START);
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[5], &a), 0);
	cr_assert_eq(a.power, 0);
	cr_assert_eq(a.member, 1);
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[6], &a), 0);
	cr_assert_eq(a.member, 0);
	cr_assert_eq(a.balance, 1000000);
	/* Writing the same genesis again, or another one. */
	cr_assert_eq(chain_store_init_genesis(fx.store, &fx.genesis), FL_EEXIST);
	fx.genesis.genesis_time_ms++;
	cr_assert_eq(chain_store_init_genesis(fx.store, &fx.genesis), FL_ECHAIN);
	fx.genesis.genesis_time_ms--;
}

Test(apply, empty_blocks_chain_the_app_hash)
{
	chain_info a, b;

	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	a = info_now();
	cr_assert_eq(a.height, 1);
	cr_assert_eq(fl_hash_cmp(&a.app_hash, &fx.res.app_hash), 0);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	b = info_now();
	cr_assert_eq(b.height, 2);
	cr_assert_neq(fl_hash_cmp(&a.app_hash, &b.app_hash), 0);
	cr_assert_eq(b.last_time_ms, a.last_time_ms + 1000);
}

Test(apply, transfer_moves_tokens_and_bumps_nonce)
{
	chain_tx tx;
	chain_account a;
	uint64_t h;

	cr_assert_eq(fixture_transfer(&fx, &tx, 0, 6, 250), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
	cr_assert_eq(fixture_balance(&fx, 0), 1000000 - 250);
	cr_assert_eq(fixture_balance(&fx, 6), 1000000 + 250);
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[0], &a), 0);
	cr_assert_eq(a.nonce, 1);
	/* The tx index points at it once written (test_txindex.c). */
	{
		fl_hash th;
		uint32_t idx = 99;
		cr_assert_eq(chain_tx_hash(&th, &tx), 0);
		cr_assert_eq(chain_index_txs(fx.store, 16, NULL), 0);
		cr_assert_eq(chain_get_tx_location(fx.store, &th, &h, &idx), 0);
		cr_assert_eq(h, 1);
		cr_assert_eq(idx, 0);
	}
	chain_tx_free(&tx);
}

Test(apply, replayed_nonce_rejected_and_nothing_written)
{
	chain_tx tx, again;
	chain_block b;
	chain_info before, after;

	cr_assert_eq(fixture_transfer(&fx, &tx, 1, 2, 10), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
	/* Same tx again in the next block: nonce 1 once more. */
	before = info_now();
	cr_assert_eq(chain_tx_copy(&again, &tx), 0);
	cr_assert_eq(fixture_build_block(&fx, &again, 1, &b), 0);
	cr_assert_eq(fixture_apply(&fx, &b), FL_ENONCE);
	cr_assert_eq(fx.res.failed_tx, 0);
	cr_assert_str_eq(fx.res.reason, "tx: nonce");
	after = info_now();
	cr_assert_eq(after.height, before.height);
	cr_assert_eq(fl_hash_cmp(&after.app_hash, &before.app_hash), 0);
	cr_assert_eq(fixture_balance(&fx, 1), 1000000 - 10);
	chain_block_free(&b);
	chain_tx_free(&again);
	chain_tx_free(&tx);
}

Test(apply, gapped_nonce_rejected)
{
	chain_tx txs[2];
	chain_block b;

	/* A valid first tx, then one that skips nonce 2: the whole block goes,
	 * the first transfer included. */
	cr_assert_eq(fixture_transfer(&fx, &txs[0], 1, 2, 10), 0);
	memset(&txs[1], 0, sizeof(txs[1]));
	txs[1].kind = CHAIN_TX_TRANSFER;
	txs[1].u.transfer.to = fx.pk[3];
	txs[1].u.transfer.amount = 5;
	cr_assert_eq(fixture_sign_nonce(&fx, &txs[1], 1, 3), 0);
	cr_assert_eq(fixture_build_block(&fx, txs, 2, &b), 0);
	expect_rejected(&b, FL_ENONCE, "tx: nonce");
	cr_assert_eq(fx.res.failed_tx, 1);
	cr_assert_eq(fixture_balance(&fx, 1), 1000000);
	cr_assert_eq(fixture_balance(&fx, 2), 1000000);
	chain_block_free(&b);
	/* Nonce 0 is never valid either. */
	cr_assert_eq(fixture_sign_nonce(&fx, &txs[1], 1, 0), 0);
	cr_assert_eq(fixture_next_block(&fx, &txs[1], 1), FL_ENONCE);
	/* Two txs of one sender in order are fine. */
	cr_assert_eq(fixture_sign_nonce(&fx, &txs[1], 1, 2), 0);
	cr_assert_eq(fixture_next_block(&fx, txs, 2), 0);
	cr_assert_eq(fixture_balance(&fx, 1), 1000000 - 15);
	chain_tx_free(&txs[0]);
	chain_tx_free(&txs[1]);
}

Test(apply, forged_signature_rejected)
{
	chain_tx tx;
	chain_block b;

	cr_assert_eq(fixture_transfer(&fx, &tx, 1, 2, 10), 0);
	tx.sig.b[10] ^= 1;
	cr_assert_eq(fixture_build_block(&fx, &tx, 1, &b), 0);
	expect_rejected(&b, FL_ESIG, "tx: signature");
	chain_block_free(&b);
	/* Signed by another key than the sender's. */
	cr_assert_eq(fixture_transfer(&fx, &tx, 1, 2, 10), 0);
	tx.sender = fx.pk[3];
	cr_assert_eq(fixture_build_block(&fx, &tx, 1, &b), 0);
	expect_rejected(&b, FL_ESIG, "tx: signature");
	chain_block_free(&b);
	chain_tx_free(&tx);
}

Test(apply, tx_for_another_chain_rejected)
{
	chain_tx tx;
	chain_block b;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_TRANSFER;
	tx.u.transfer.to = fx.pk[2];
	tx.u.transfer.amount = 10;
	tx.nonce = 1;
	cr_assert_eq(chain_tx_sign(&tx, "another-chain", &fx.sk[1]), 0);
	cr_assert_eq(chain_tx_verify(&tx, "another-chain"), 0);
	cr_assert_eq(fixture_build_block(&fx, &tx, 1, &b), 0);
	expect_rejected(&b, FL_ESIG, "tx: signature");
	chain_block_free(&b);
	chain_tx_free(&tx);
}

Test(apply, unknown_sender_rejected)
{
	chain_tx tx;
	fl_seckey sk;
	fl_pubkey pk;

	cr_assert_eq(fl_key_generate(&sk, &pk), 0);
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_TRANSFER;
	tx.u.transfer.to = fx.pk[2];
	tx.u.transfer.amount = 1;
	tx.nonce = 1;
	cr_assert_eq(chain_tx_sign(&tx, fx.genesis.chain_id, &sk), 0);
	cr_assert_eq(fixture_next_block(&fx, &tx, 1), FL_ENOTFOUND);
	cr_assert_str_eq(fx.res.reason, "tx: unknown sender");
}

Test(apply, header_checks_in_order)
{
	chain_block b;

	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.version = 2;
	expect_rejected(&b, FL_EVERSION, "version");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	strcpy(b.header.chain_id, "other");
	expect_rejected(&b, FL_ECHAIN, "chain_id");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.height = 3;
	expect_rejected(&b, FL_ECHAIN, "height");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.prev_hash.b[0] ^= 1;
	expect_rejected(&b, FL_ECHAIN, "prev_hash");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.app_hash.b[31] ^= 1;
	expect_rejected(&b, FL_ECHAIN, "app_hash");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.tx_root.b[5] ^= 1;
	expect_rejected(&b, FL_EINVAL, "tx_root");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.last_commit_hash.b[5] ^= 1;
	expect_rejected(&b, FL_EINVAL, "last_commit");
	chain_block_free(&b);

	/* A member that is not a validator may not propose. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.proposer = fx.pk[4];
	expect_rejected(&b, FL_EPERM, "proposer");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.vrf_proof.b[60] ^= 1;
	expect_rejected(&b, FL_ESIG, "vrf");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.beacon.b[5] ^= 1;
	expect_rejected(&b, FL_EINVAL, "beacon");
	chain_block_free(&b);

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.time_ms = info_now().last_time_ms;
	expect_rejected(&b, FL_EINVAL, "time");
	chain_block_free(&b);

	/* The honest block still applies after all of that. */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(info_now().height, 2);
}

/* The commit hash after editing the commit (the beacon does not depend on it). */
static void refresh_commit(chain_block *b)
{
	cr_assert_eq(chain_commit_hash(&b->header.last_commit_hash, &b->last_commit), 0);
}

Test(apply, last_commit_needs_over_two_thirds)
{
	chain_block b;

	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	/* 3 of 4 equal validators: 30/40 > 2/3 passes; 2 of 4 does not. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	cr_assert_eq(b.last_commit.n_sigs, 4);
	b.last_commit.n_sigs = 2;
	refresh_commit(&b);
	expect_rejected(&b, FL_EPERM, "last_commit");
	chain_block_free(&b);

	/* A bad signature. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.last_commit.sigs[1].sig.b[3] ^= 1;
	refresh_commit(&b);
	expect_rejected(&b, FL_ESIG, "last_commit");
	chain_block_free(&b);

	/* A signer outside the validator set. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.last_commit.sigs[3].validator = fx.pk[5];
	refresh_commit(&b);
	cr_assert_neq(fixture_apply(&fx, &b), 0);
	cr_assert_str_eq(fx.res.reason, "last_commit");
	chain_block_free(&b);

	/* A commit of another height. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.last_commit.height = 5;
	refresh_commit(&b);
	expect_rejected(&b, FL_EINVAL, "last_commit");
	chain_block_free(&b);

	/* Exactly three: passes. */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.last_commit.n_sigs = 3;
	refresh_commit(&b);
	cr_assert_eq(fixture_apply(&fx, &b), 0);
	chain_block_free(&b);
}

/* Block 1's header carries a zero last_commit_hash whatever its commit
 * holds, so each field of that commit would give another encoding of the
 * same block (same header hash): every one must be zero. */
Test(apply, block_one_has_no_commit)
{
	chain_block b;
	fl_hash honest, edited;
	chain_vote v;

	for (int field = 0; field < 5; field++) {
		cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
		cr_assert_eq(chain_header_hash(&honest, &b.header), 0);
		switch (field) {
		case 0:
			b.last_commit.height = 1;
			break;
		case 1:
			b.last_commit.round = 7;
			break;
		case 2:
			b.last_commit.block_hash = fx.genesis_hash;
			break;
		case 3:
			/* A real precommit for the genesis at height 0. */
			cr_assert_eq(fixture_vote(&fx, &v, 0, CHAIN_VOTE_PRECOMMIT, 0, 0,
						  &b.last_commit.block_hash),
				     0);
			b.last_commit.n_sigs = 1;
			b.last_commit.sigs[0].validator = v.validator;
			b.last_commit.sigs[0].sig = v.sig;
			break;
		default:
			b.last_commit.height = 0xffffffffffffffffull;
			b.last_commit.n_sigs = 0;
			break;
		}
		cr_assert_eq(chain_header_hash(&edited, &b.header), 0);
		cr_assert_eq(fl_hash_cmp(&honest, &edited), 0,
			     "the header does not see the commit");
		expect_rejected(&b, FL_EINVAL, "last_commit");
		chain_block_free(&b);
	}
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(info_now().height, 1);
}

static void small_blocks(chain_genesis *g, void *arg)
{
	(void)arg;
	g->params.max_block_txs = 2;
}

Test(apply, too_many_txs)
{
	fixture_opts o;
	chain_tx txs[3];

	fixture_close(&fx);
	memset(&o, 0, sizeof(o));
	o.n_validators = 2;
	o.balance = 1000;
	o.tweak = small_blocks;
	cr_assert_eq(fixture_open(&fx, &o), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(fixture_transfer(&fx, &txs[i], 0, 1, 1), 0);
	cr_assert_eq(fixture_next_block(&fx, txs, 3), FL_ETOOBIG);
	cr_assert_str_eq(fx.res.reason, "n_txs");
	cr_assert_eq(fixture_height(&fx), 0);
	cr_assert_eq(fixture_next_block(&fx, txs, 2), 0);
	cr_assert_eq(fixture_balance(&fx, 1), 1002);
}

Test(apply, check_block_computes_without_writing)
{
	chain_tx tx;
	chain_block b;
	chain_block_result r;
	chain_info before;

	cr_assert_eq(fixture_transfer(&fx, &tx, 0, 1, 77), 0);
	cr_assert_eq(fixture_build_block(&fx, &tx, 1, &b), 0);
	before = info_now();
	cr_assert_eq(chain_check_block(fx.store, &b, &r), 0);
	cr_assert_null(r.reason);
	cr_assert_eq(r.failed_tx, UINT32_MAX);
	cr_assert_eq(info_now().height, before.height);
	cr_assert_eq(fixture_balance(&fx, 1), 1000000);
	cr_assert_eq(fixture_apply(&fx, &b), 0);
	cr_assert_eq(fl_hash_cmp(&fx.res.app_hash, &r.app_hash), 0);
	before = info_now();
	cr_assert_eq(fl_hash_cmp(&before.app_hash, &r.app_hash), 0);
	chain_block_free(&b);
	chain_tx_free(&tx);
}

Test(apply, check_tx_with_pending_nonce)
{
	chain_tx tx;
	const char *reason = NULL;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_TRANSFER;
	tx.u.transfer.to = fx.pk[2];
	tx.u.transfer.amount = 3;
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, 1, 1), 0);
	cr_assert_eq(chain_check_tx(fx.store, &tx, 0, &reason), 0);
	cr_assert_null(reason);
	/* With two txs of this sender queued, the next must be nonce 3. */
	cr_assert_eq(chain_check_tx(fx.store, &tx, 2, &reason), FL_ENONCE);
	cr_assert_str_eq(reason, "tx: nonce");
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, 1, 3), 0);
	cr_assert_eq(chain_check_tx(fx.store, &tx, 2, &reason), 0);
	/* Nothing was written by the checks. */
	cr_assert_eq(fixture_balance(&fx, 2), 1000000);
	tx.u.transfer.amount = 2000000;
	cr_assert_eq(fixture_sign_nonce(&fx, &tx, 1, 1), 0);
	cr_assert_eq(chain_check_tx(fx.store, &tx, 0, &reason), FL_EFUNDS);
	cr_assert_str_eq(reason, "tx: balance too low");
}

Test(apply, survives_close_and_reopen)
{
	chain_tx tx;
	chain_info before, after;
	chain_account a, b;

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(fixture_transfer(&fx, &tx, (uint32_t)i, 6, 100 + (uint64_t)i), 0);
		cr_assert_eq(fixture_next_block(&fx, &tx, 1), 0);
		chain_tx_free(&tx);
	}
	before = info_now();
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[6], &a), 0);
	cr_assert_eq(fixture_reopen(&fx), 0);
	after = info_now();
	cr_assert_eq(memcmp(&before, &after, sizeof(before)), 0);
	cr_assert_eq(chain_get_account(fx.store, &fx.pk[6], &b), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(a.balance, 1000000 + 303);
	/* And the chain goes on from there. */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
	cr_assert_eq(info_now().height, 4);
}

Test(apply, stored_block_decodes_to_the_applied_one)
{
	chain_tx tx;
	chain_block b, back;
	uint8_t *bytes = NULL;
	size_t n = 0;
	uint64_t h = 0;
	fl_hash bh, bh2;

	cr_assert_eq(fixture_transfer(&fx, &tx, 0, 1, 5), 0);
	cr_assert_eq(fixture_build_block(&fx, &tx, 1, &b), 0);
	cr_assert_eq(fixture_apply(&fx, &b), 0);
	cr_assert_eq(chain_get_block(fx.store, 1, &bytes, &n), 0);
	cr_assert_eq(chain_block_decode(&back, bytes, n), 0);
	cr_assert_eq(chain_header_hash(&bh, &b.header), 0);
	cr_assert_eq(chain_header_hash(&bh2, &back.header), 0);
	cr_assert_eq(fl_hash_cmp(&bh, &bh2), 0);
	cr_assert_eq(back.n_txs, 1);
	cr_assert_eq(chain_get_block_height(fx.store, &bh, &h), 0);
	cr_assert_eq(h, 1);
	{
		chain_info now = info_now();
		cr_assert_eq(fl_hash_cmp(&now.last_block_hash, &bh), 0);
	}
	fl_free(bytes);
	chain_block_free(&back);
	chain_block_free(&b);
	chain_tx_free(&tx);
}
