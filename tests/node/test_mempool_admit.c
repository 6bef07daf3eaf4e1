/*
 * tests/node/test_mempool_admit.c — admission into the node's mempool on a
 * real chain store: a valid tx is queued with its hash and size; each kind
 * of invalid tx is refused with its code and words; the caps (count,
 * bytes, per sender, one tx's size) refuse with FL_ETOOBIG; copies are
 * refused by hash and by (sender, nonce); a sender's nonces queue in order
 * and a gap is refused; a flood from one sender stays bounded; the gossip
 * verdict of each code; allocation failures leave the pool consistent.
 */
#include "tests/node/mempool_helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

TestSuite(mempool_admit, .init = mph_open, .fini = mph_close);

static int add(node_mempool *mp, const chain_tx *tx, const char **reason)
{
	return node_mempool_add(mp, tx, NULL, reason);
}

Test(mempool_admit, valid_tx_admitted)
{
	node_mempool *mp = mph_pool(NULL);
	const char *reason = "unset";
	node_mempool_stats st;
	uint8_t buf[512];
	fl_hash h, want;
	chain_tx tx;
	size_t n;

	mph_transfer(&tx, MPH_A, MPH_B, 10, 1);
	cr_assert_eq(node_mempool_add(mp, &tx, &h, &reason), 0);
	cr_assert_null(reason);
	cr_assert_eq(chain_tx_hash(&want, &tx), 0);
	cr_assert_eq(fl_hash_cmp(&h, &want), 0);
	cr_assert(node_mempool_contains(mp, &h));
	n = mph_encode(&tx, buf, sizeof(buf));
	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.count, 1);
	cr_assert_eq(st.bytes, n);
	cr_assert_eq(st.senders, 1);
	cr_assert_eq(st.admitted, 1);
	cr_assert_eq(st.refused, 0);

	/* The same path from bytes. */
	mph_transfer(&tx, MPH_B, MPH_A, 10, 1);
	n = mph_encode(&tx, buf, sizeof(buf));
	cr_assert_eq(node_mempool_add_bytes(mp, buf, n, &h, &reason), 0, "%s", reason);
	cr_assert_eq(chain_tx_hash(&want, &tx), 0);
	cr_assert_eq(fl_hash_cmp(&h, &want), 0);
	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.count, 2);
	cr_assert_eq(st.senders, 2);
	node_mempool_free(mp);
}

/* One refusal: code, words, and what the pool holds afterwards. */
static void refused(node_mempool *mp, const chain_tx *tx, int code, const char *words)
{
	node_mempool_stats before, after;
	const char *reason = NULL;

	node_mempool_get_stats(mp, &before);
	cr_assert_eq(add(mp, tx, &reason), code, "want %s (%s), got %s", fl_strerror(code), words,
		     reason ? reason : "(null)");
	cr_assert_str_eq(reason, words);
	node_mempool_get_stats(mp, &after);
	cr_assert_eq(after.count, before.count);
	cr_assert_eq(after.bytes, before.bytes);
	cr_assert_eq(after.refused, before.refused + 1);
}

Test(mempool_admit, each_invalid_kind_refused_with_its_reason)
{
	node_mempool *mp = mph_pool(NULL);
	fl_seckey stranger_sk;
	fl_pubkey stranger_pk;
	chain_tx tx;

	mph_transfer(&tx, MPH_A, MPH_B, 10, 1);
	tx.sig.b[5] ^= 1;
	refused(mp, &tx, FL_ESIG, "tx: signature");

	/* Signed for another chain: the chain id is under the signature. */
	mph_transfer(&tx, MPH_A, MPH_B, 10, 1);
	cr_assert_eq(chain_tx_sign(&tx, "another-chain", &mph_fx.sk[MPH_A]), 0);
	refused(mp, &tx, FL_ESIG, "tx: signature");

	mph_transfer(&tx, MPH_A, MPH_B, 10, 2);
	refused(mp, &tx, FL_ENONCE, "tx: nonce");
	mph_transfer(&tx, MPH_A, MPH_B, 10, 0);
	refused(mp, &tx, FL_ENONCE, "tx: nonce");

	mph_transfer(&tx, MPH_A, MPH_B, MPH_BALANCE + 1, 1);
	refused(mp, &tx, FL_EFUNDS, "tx: balance too low");

	cr_assert_eq(fl_key_generate(&stranger_sk, &stranger_pk), 0);
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_TRANSFER;
	tx.u.transfer.to = mph_fx.pk[MPH_A];
	tx.u.transfer.amount = 1;
	tx.nonce = 1;
	cr_assert_eq(chain_tx_sign(&tx, mph_fx.genesis.chain_id, &stranger_sk), 0);
	refused(mp, &tx, FL_ENOTFOUND, "tx: unknown sender");

	/* Only validators vote on members. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_MEMBER_ADD;
	tx.u.member.member = mph_fx.pk[MPH_C];
	snprintf(tx.u.member.name, sizeof(tx.u.member.name), "c");
	cr_assert_eq(fixture_sign_nonce(&mph_fx, &tx, MPH_A, 1), 0);
	refused(mp, &tx, FL_EPERM, "tx: not a validator");

	/* A field out of range in a decoded tx: it has no encoding. */
	mph_transfer(&tx, MPH_A, MPH_B, 10, 1);
	tx.u.transfer.amount = 0;
	refused(mp, &tx, FL_EINVAL, "tx: field out of range");

	/* None of these left anything behind: nonce 1 still admits. */
	mph_transfer(&tx, MPH_A, MPH_B, 10, 1);
	cr_assert_eq(add(mp, &tx, NULL), 0);
	node_mempool_free(mp);
}

/* A rule that reads the state and says FL_EINVAL (labels are checked
 * against the profile's) comes out as FL_ESTATE, so the
 * verdict does not take it for malformed bytes. */
Test(mempool_admit, state_rule_einval_is_estate)
{
	node_mempool *mp = mph_pool(NULL);
	const char *reason = NULL;
	chain_tx_round_join *j;
	chain_tx tx;
	int rc;

	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_ROUND_JOIN;
	j = &tx.u.round_join;
	strcpy(j->profile, "mnist");
	j->n_labels = 2;
	j->labels[0] = 1;
	j->labels[1] = 99;
	j->label_counts[0] = 10;
	j->label_counts[1] = 20;
	j->n_samples = 30;
	j->n_summary = 1;
	j->summary[0] = 1234;
	cr_assert_eq(fixture_sign_nonce(&mph_fx, &tx, MPH_MEMBER, 1), 0);
	rc = add(mp, &tx, &reason);
	cr_assert_eq(rc, FL_ESTATE, "%s: %s", fl_strerror(rc), reason);
	cr_assert_str_eq(reason, "tx: labels not in profile");
	cr_assert_eq(node_mempool_verdict(rc), P2P_GOSSIP_IGNORE);

	j->labels[1] = 7;
	cr_assert_eq(fixture_sign_nonce(&mph_fx, &tx, MPH_MEMBER, 1), 0);
	cr_assert_eq(add(mp, &tx, &reason), 0, "%s", reason);
	node_mempool_free(mp);
}

static void bytes_refused(node_mempool *mp, const uint8_t *p, size_t n, int code, const char *words)
{
	const char *reason = NULL;
	fl_hash h;

	memset(&h, 0xaa, sizeof(h));
	cr_assert_eq(node_mempool_add_bytes(mp, p, n, &h, &reason), code, "%s",
		     reason ? reason : "(null)");
	cr_assert_str_eq(reason, words);
	cr_assert(fl_hash_is_zero(&h), "no hash for bytes that did not decode");
	cr_assert_eq(node_mempool_verdict(code), P2P_GOSSIP_REJECT);
}

Test(mempool_admit, malformed_bytes_refused)
{
	node_mempool *mp = mph_pool(NULL);
	static uint8_t big[CHAIN_MAX_TX_BYTES + 1];
	uint8_t buf[512];
	chain_tx tx;
	size_t n;

	mph_transfer(&tx, MPH_A, MPH_B, 10, 1);
	n = mph_encode(&tx, buf, sizeof(buf) - 1);
	bytes_refused(mp, buf, 0, FL_ETRUNC, "tx: truncated");
	bytes_refused(mp, buf, n - 1, FL_ETRUNC, "tx: truncated");
	buf[n] = 0;
	bytes_refused(mp, buf, n + 1, FL_ETRAILING, "tx: trailing bytes");
	buf[0] = CHAIN_TX_VERSION + 1;
	bytes_refused(mp, buf, n, FL_EVERSION, "tx: unknown version or kind");
	buf[0] = CHAIN_TX_VERSION;
	bytes_refused(mp, big, sizeof(big), FL_EINVAL, "tx: over a length limit");

	/* A member name with a control character is not canonical text. */
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_MEMBER_ADD;
	tx.u.member.member = mph_fx.pk[MPH_C];
	snprintf(tx.u.member.name, sizeof(tx.u.member.name), "c");
	cr_assert_eq(fixture_sign_nonce(&mph_fx, &tx, 0, 1), 0);
	n = mph_encode(&tx, buf, sizeof(buf));
	cr_assert_eq(buf[n - FL_SIG_LEN - 1], 'c');
	buf[n - FL_SIG_LEN - 1] = 0x01;
	bytes_refused(mp, buf, n, FL_ENONCANON, "tx: not canonical");
	buf[n - FL_SIG_LEN - 1] = 'c';
	cr_assert_eq(node_mempool_add_bytes(mp, buf, n, NULL, NULL), 0);

	node_mempool_free(mp);
}

Test(mempool_admit, duplicates_by_hash_and_by_sender_nonce)
{
	node_mempool *mp = mph_pool(NULL);
	const char *reason = NULL;
	node_mempool_stats st;
	uint8_t buf[512];
	fl_hash h, want;
	chain_tx tx;
	size_t n;

	mph_transfer(&tx, MPH_A, MPH_B, 10, 1);
	cr_assert_eq(add(mp, &tx, NULL), 0);
	refused(mp, &tx, FL_EDUP, "mempool: duplicate");
	n = mph_encode(&tx, buf, sizeof(buf));
	cr_assert_eq(node_mempool_add_bytes(mp, buf, n, &h, &reason), FL_EDUP);
	cr_assert_str_eq(reason, "mempool: duplicate");
	cr_assert_eq(chain_tx_hash(&want, &tx), 0);
	cr_assert_eq(fl_hash_cmp(&h, &want), 0, "a copy is named by its hash");

	/* Another tx of that sender and nonce: the first one stays. */
	mph_transfer(&tx, MPH_A, MPH_C, 99, 1);
	refused(mp, &tx, FL_EDUP, "mempool: nonce already queued");
	/* Even with a bad signature it costs no verification, and nobody
	 * gets punished for it. */
	tx.sig.b[0] ^= 1;
	refused(mp, &tx, FL_EDUP, "mempool: nonce already queued");
	cr_assert_eq(node_mempool_verdict(FL_EDUP), P2P_GOSSIP_IGNORE);

	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.count, 1);
	node_mempool_free(mp);
}

Test(mempool_admit, sender_queue_in_nonce_order_gap_refused)
{
	node_mempool *mp = mph_pool(NULL);
	const char *reason = NULL;
	node_mempool_stats st;
	chain_tx tx;

	for (uint64_t k = 1; k <= 5; k++) {
		mph_transfer(&tx, MPH_A, MPH_B, 10, k);
		cr_assert_eq(add(mp, &tx, &reason), 0, "nonce %lu: %s", (unsigned long)k, reason);
	}
	mph_transfer(&tx, MPH_A, MPH_B, 10, 7);
	refused(mp, &tx, FL_ENONCE, "tx: nonce");
	mph_transfer(&tx, MPH_A, MPH_B, 10, 3);
	refused(mp, &tx, FL_EDUP, "mempool: nonce already queued");
	mph_transfer(&tx, MPH_A, MPH_B, 10, 6);
	cr_assert_eq(add(mp, &tx, &reason), 0, "the gap filled: %s", reason);
	mph_transfer(&tx, MPH_A, MPH_B, 10, 7);
	cr_assert_eq(add(mp, &tx, &reason), 0, "%s", reason);
	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.count, 7);
	cr_assert_eq(st.senders, 1);

	/* The queue sees its own spends: the 8th would overdraw. */
	mph_transfer(&tx, MPH_A, MPH_B, MPH_BALANCE - 70 + 1, 8);
	refused(mp, &tx, FL_EFUNDS, "tx: balance too low");
	mph_transfer(&tx, MPH_A, MPH_B, MPH_BALANCE - 70, 8);
	cr_assert_eq(add(mp, &tx, &reason), 0, "%s", reason);
	node_mempool_free(mp);
}

Test(mempool_admit, count_cap)
{
	node_mempool_config cfg;
	node_mempool *mp;
	chain_tx tx;

	node_mempool_config_default(&cfg);
	cfg.max_txs = 3;
	cfg.max_per_sender = 3;
	mp = mph_pool(&cfg);
	for (uint32_t who = MPH_A; who < MPH_A + 3; who++) {
		mph_transfer(&tx, who, MPH_MEMBER, 1, 1);
		cr_assert_eq(add(mp, &tx, NULL), 0);
	}
	mph_transfer(&tx, MPH_D, MPH_MEMBER, 1, 1);
	refused(mp, &tx, FL_ETOOBIG, "mempool: full");
	cr_assert_eq(node_mempool_verdict(FL_ETOOBIG), P2P_GOSSIP_IGNORE);
	node_mempool_free(mp);
}

Test(mempool_admit, bytes_caps)
{
	node_mempool_config cfg;
	node_mempool *mp;
	uint8_t buf[512];
	chain_tx tx;
	size_t len;

	mph_transfer(&tx, MPH_A, MPH_B, 1, 1);
	len = mph_encode(&tx, buf, sizeof(buf));

	node_mempool_config_default(&cfg);
	cfg.max_bytes = 2 * len + len / 2;
	mp = mph_pool(&cfg);
	cr_assert_eq(add(mp, &tx, NULL), 0);
	mph_transfer(&tx, MPH_B, MPH_A, 1, 1);
	cr_assert_eq(add(mp, &tx, NULL), 0);
	mph_transfer(&tx, MPH_C, MPH_A, 1, 1);
	refused(mp, &tx, FL_ETOOBIG, "mempool: full (bytes)");
	node_mempool_free(mp);

	/* One tx over a cap, in an empty pool. */
	cfg.max_bytes = len - 1;
	mp = mph_pool(&cfg);
	refused(mp, &tx, FL_ETOOBIG, "mempool: tx too large");
	node_mempool_free(mp);
	node_mempool_config_default(&cfg);
	cfg.max_tx_bytes = len - 1;
	mp = mph_pool(&cfg);
	refused(mp, &tx, FL_ETOOBIG, "mempool: tx too large");
	cfg.max_tx_bytes = len;
	node_mempool_free(mp);
	mp = mph_pool(&cfg);
	cr_assert_eq(add(mp, &tx, NULL), 0);
	node_mempool_free(mp);
}

Test(mempool_admit, per_sender_cap)
{
	node_mempool_config cfg;
	node_mempool *mp;
	chain_tx tx;

	node_mempool_config_default(&cfg);
	cfg.max_per_sender = 4;
	mp = mph_pool(&cfg);
	for (uint64_t k = 1; k <= 4; k++) {
		mph_transfer(&tx, MPH_A, MPH_B, 1, k);
		cr_assert_eq(add(mp, &tx, NULL), 0);
	}
	mph_transfer(&tx, MPH_A, MPH_B, 1, 5);
	refused(mp, &tx, FL_ETOOBIG, "mempool: sender has too many queued txs");
	/* Others are not held back. */
	mph_transfer(&tx, MPH_B, MPH_A, 1, 1);
	cr_assert_eq(add(mp, &tx, NULL), 0);
	node_mempool_free(mp);
}

Test(mempool_admit, config_ranges)
{
	node_mempool_config cfg;
	node_mempool *mp = (node_mempool *)&cfg;

	node_mempool_config_default(&cfg);
	cfg.max_txs = 0;
	cr_assert_eq(node_mempool_new(&mp, mph_fx.store, &cfg), FL_EINVAL);
	cr_assert_null(mp);
	cfg.max_txs = NODE_MEMPOOL_MAX_TXS_LIMIT + 1;
	cr_assert_eq(node_mempool_new(&mp, mph_fx.store, &cfg), FL_EINVAL);
	node_mempool_config_default(&cfg);
	cfg.max_per_sender = cfg.max_txs + 1;
	cr_assert_eq(node_mempool_new(&mp, mph_fx.store, &cfg), FL_EINVAL);
	node_mempool_config_default(&cfg);
	cfg.max_bytes = 0;
	cr_assert_eq(node_mempool_new(&mp, mph_fx.store, &cfg), FL_EINVAL);
	node_mempool_config_default(&cfg);
	cfg.max_tx_bytes = CHAIN_MAX_TX_BYTES + 1;
	cr_assert_eq(node_mempool_new(&mp, mph_fx.store, &cfg), FL_EINVAL);
	node_mempool_free(NULL);
}

/* 10,000 txs of one sender, nonces 1..10,000: the per-sender cap holds
 * the pool at 64 of them, every other one is refused in words, and none of
 * the refused ones reached a signature check (they are refused before it,
 * so a forged copy of each is refused the same way). */
Test(mempool_admit, flood_from_one_sender_is_bounded)
{
	enum { FLOOD = 10000, CAP = 64 };
	node_mempool_config cfg;
	node_mempool_stats st;
	const char *reason;
	uint32_t refused_cap = 0;
	uint8_t one[512];
	size_t len = 0;
	node_mempool *mp;
	chain_tx tx;

	node_mempool_config_default(&cfg);
	cfg.max_per_sender = CAP;
	mp = mph_pool(&cfg);
	for (uint64_t k = 1; k <= FLOOD; k++) {
		memset(&tx, 0, sizeof(tx));
		tx.kind = CHAIN_TX_TRANSFER;
		tx.u.transfer.to = mph_fx.pk[MPH_B];
		tx.u.transfer.amount = 1;
		tx.sender = mph_fx.pk[MPH_A];
		tx.nonce = k;
		if (k <= CAP) {
			cr_assert_eq(fixture_sign_nonce(&mph_fx, &tx, MPH_A, k), 0);
			if (k == 1)
				len = mph_encode(&tx, one, sizeof(one));
		} else {
			memset(tx.sig.b, 0x5a, sizeof(tx.sig.b)); /* never verified */
		}
		reason = NULL;
		if (node_mempool_add(mp, &tx, NULL, &reason) == FL_OK)
			continue;
		cr_assert_gt(k, CAP);
		cr_assert_str_eq(reason, "mempool: sender has too many queued txs");
		refused_cap++;
	}
	node_mempool_get_stats(mp, &st);
	cr_assert_eq(st.count, CAP);
	cr_assert_eq(st.bytes, (size_t)CAP * len);
	cr_assert_eq(st.senders, 1);
	cr_assert_eq(refused_cap, FLOOD - CAP);
	cr_assert_eq(st.refused, FLOOD - CAP);
	node_mempool_free(mp);
}

Test(mempool_admit, verdicts)
{
	static const struct {
		int rc;
		p2p_gossip_verdict v;
	} table[] = {
	    {FL_OK, P2P_GOSSIP_ACCEPT},         {FL_ESIG, P2P_GOSSIP_REJECT},
	    {FL_ETRUNC, P2P_GOSSIP_REJECT},     {FL_ETRAILING, P2P_GOSSIP_REJECT},
	    {FL_ENONCANON, P2P_GOSSIP_REJECT},  {FL_EVERSION, P2P_GOSSIP_REJECT},
	    {FL_EINVAL, P2P_GOSSIP_REJECT},     {FL_ECHAIN, P2P_GOSSIP_REJECT},
	    {FL_EPROTO, P2P_GOSSIP_REJECT},     {FL_EDUP, P2P_GOSSIP_IGNORE},
	    {FL_ENONCE, P2P_GOSSIP_IGNORE},     {FL_EFUNDS, P2P_GOSSIP_IGNORE},
	    {FL_ETOOBIG, P2P_GOSSIP_IGNORE},    {FL_ESTATE, P2P_GOSSIP_IGNORE},
	    {FL_EPERM, P2P_GOSSIP_IGNORE},      {FL_ENOTFOUND, P2P_GOSSIP_IGNORE},
	    {FL_EOVERFLOW, P2P_GOSSIP_IGNORE},  {FL_ENOMEM, P2P_GOSSIP_IGNORE},
	    {FL_EDB, P2P_GOSSIP_IGNORE},        {FL_EIO, P2P_GOSSIP_IGNORE},
	    {FL_ECORRUPT, P2P_GOSSIP_IGNORE},   {FL_ETIMEOUT, P2P_GOSSIP_IGNORE},
	    {FL_E_LAST - 1, P2P_GOSSIP_IGNORE}, {1, P2P_GOSSIP_IGNORE},
	};

	for (size_t i = 0; i < FL_ARRAY_LEN(table); i++)
		cr_assert_eq(node_mempool_verdict(table[i].rc), table[i].v, "code %d", table[i].rc);
}

/* Every allocation of an admission failing in turn: each attempt either
 * admits or refuses with FL_ENOMEM, and the pool's numbers always match
 * what it holds (a tx the checker admitted is never lost to a later
 * failure, or the next block would have a nonce gap). */
Test(mempool_admit, allocation_failures_leave_the_pool_consistent)
{
	node_mempool *mp = mph_pool(NULL);
	chain_tx tx, *txs = NULL;
	uint32_t admitted = 0, n;
	int rc = FL_ENOMEM;

	for (uint64_t k = 1; k <= 3; k++) {
		mph_transfer(&tx, MPH_A, MPH_B, 1, k);
		rc = FL_ENOMEM;
		for (unsigned long fail = 1; fail < 200 && rc != FL_OK; fail++) {
			(void)fl_alloc_fail_after(fail);
			rc = node_mempool_add(mp, &tx, NULL, NULL);
			(void)fl_alloc_fail_after(0);
			cr_assert(rc == FL_OK || rc == FL_ENOMEM, "%s", fl_strerror(rc));
			n = mph_check_contents(mp, &txs);
			mph_free_txs(txs, n);
			cr_assert_eq(n, admitted + (rc == FL_OK));
		}
		cr_assert_eq(rc, FL_OK);
		admitted++;
	}
	n = mph_check_contents(mp, &txs);
	cr_assert_eq(n, 3);
	for (uint32_t i = 0; i < n; i++)
		cr_assert_eq(txs[i].nonce, i + 1);
	mph_free_txs(txs, n);
	node_mempool_free(mp);
}
