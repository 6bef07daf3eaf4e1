/*
 * tests/chain/test_beacon.c — the beacon cannot be ground. A proposer that
 * re-signs its own precommit or picks another > 2/3 subset for the last
 * commit (each a different commit hash) gets the same beacon, which was
 * not true when the beacon hashed the commit; the proof must be the
 * proposer's, for this chain, height and previous beacon ("vrf"); and the
 * beacon must be the one the proof gives ("beacon").
 */
#include "chain/chain.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

static chain_fixture fx;

static void open_four(void)
{
	fixture_opts o;

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	o.n_members = 1;
	o.balance = 1000000;
	cr_assert_eq(fixture_open(&fx, &o), 0);
	/* a non-empty last commit from here on */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
}

static void close_fixture(void)
{
	fixture_close(&fx);
}

TestSuite(beacon, .init = open_four, .fini = close_fixture);

static chain_info info_now(void)
{
	chain_info info;

	cr_assert_eq(chain_store_info(fx.store, &info), 0);
	return info;
}

static void expect_rejected(chain_block *b, int rc, const char *reason)
{
	chain_info before = info_now(), after;

	cr_assert_eq(fixture_apply(&fx, b), rc, "rc %d (%s), want %d", fx.last_rc,
		     fx.res.reason ? fx.res.reason : "-", rc);
	cr_assert_str_eq(fx.res.reason, reason);
	after = info_now();
	cr_assert_eq(after.height, before.height);
	cr_assert_eq(fl_hash_cmp(&after.beacon, &before.beacon), 0);
}

/* The beacon as it was: SHA256(prev beacon || last_commit_hash). */
static void old_beacon(fl_hash *out, const fl_hash *prev, const fl_hash *last_commit_hash)
{
	uint8_t buf[2 * FL_HASH_LEN];

	memcpy(buf, prev->b, FL_HASH_LEN);
	memcpy(buf + FL_HASH_LEN, last_commit_hash->b, FL_HASH_LEN);
	fl_sha256(out, buf, sizeof(buf));
}

/* Replace validator `who`'s signature in b's commit with a fresh one
 * (BIP340 signing is randomised) and recompute the commit hash. */
static void resign(chain_block *b, uint32_t who)
{
	chain_commit *c = &b->last_commit;
	chain_vote v;
	uint32_t i;

	cr_assert_eq(
	    fixture_vote(&fx, &v, who, CHAIN_VOTE_PRECOMMIT, c->height, c->round, &c->block_hash),
	    0);
	for (i = 0; i < c->n_sigs; i++)
		if (fl_pubkey_cmp(&c->sigs[i].validator, &v.validator) == 0)
			break;
	cr_assert_lt(i, c->n_sigs);
	cr_assert(memcmp(c->sigs[i].sig.b, v.sig.b, FL_SIG_LEN) != 0);
	c->sigs[i].sig = v.sig;
	cr_assert_eq(chain_commit_hash(&b->header.last_commit_hash, c), 0);
}

/* Drop signature i from b's commit and recompute the commit hash. */
static void drop_signature(chain_block *b, uint32_t i)
{
	chain_commit *c = &b->last_commit;

	memmove(&c->sigs[i], &c->sigs[i + 1], (c->n_sigs - i - 1) * sizeof(c->sigs[0]));
	c->n_sigs--;
	cr_assert_eq(chain_commit_hash(&b->header.last_commit_hash, c), 0);
}

static uint32_t proposer_index(const chain_block *b)
{
	int i = fixture_key_index(&fx, &b->header.proposer);

	cr_assert_geq(i, 0);
	return (uint32_t)i;
}

Test(beacon, resigned_or_other_commits_keep_the_beacon)
{
	enum { TRIES = 12 };
	chain_info info = info_now();
	chain_block b;
	chain_block_result res;
	fl_hash beacon, commit_hash[TRIES], old[TRIES];
	fl_vrf_proof proof;

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	cr_assert_eq(b.last_commit.n_sigs, 4);
	beacon = b.header.beacon;
	proof = b.header.vrf_proof;
	for (int i = 0; i < TRIES; i++) {
		chain_block_header again;

		/* the proposer grinds: re-sign its own precommit, or (once)
		 * leave another validator out: 30 of 40 is still > 2/3 */
		if (i == 2) {
			uint32_t k = 0;
			while (fl_pubkey_cmp(&b.last_commit.sigs[k].validator,
					     &b.header.proposer) == 0)
				k++;
			drop_signature(&b, k);
		} else {
			resign(&b, proposer_index(&b));
		}
		commit_hash[i] = b.header.last_commit_hash;
		old_beacon(&old[i], &info.beacon, &commit_hash[i]);
		for (int j = 0; j < i; j++) {
			cr_assert_neq(fl_hash_cmp(&commit_hash[i], &commit_hash[j]), 0,
				      "try %d: a new commit", i);
			cr_assert_neq(fl_hash_cmp(&old[i], &old[j]), 0,
				      "try %d: the old beacon would have moved", i);
		}
		/* the proof and beacon the proposer can make are the same bytes */
		again = b.header;
		cr_assert_eq(
		    chain_header_prove_beacon(&again, &fx.sk[proposer_index(&b)], &info.beacon), 0);
		cr_assert_arr_eq(again.vrf_proof.b, proof.b, FL_VRF_PROOF_LEN, "try %d", i);
		cr_assert_eq(fl_hash_cmp(&again.beacon, &beacon), 0, "try %d", i);
		/* and the chain takes that beacon and no other */
		cr_assert_eq(chain_check_block(fx.store, &b, &res), 0, "try %d: %s", i,
			     res.reason ? res.reason : "-");
		b.header.beacon = old[i];
		cr_assert_eq(chain_check_block(fx.store, &b, &res), FL_EINVAL);
		cr_assert_str_eq(res.reason, "beacon");
		b.header.beacon = beacon;
	}
	cr_assert_eq(fixture_apply(&fx, &b), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	info = info_now();
	cr_assert_eq(fl_hash_cmp(&info.beacon, &beacon), 0);
	chain_block_free(&b);
}

/* What the store keeps is SHA256(previous beacon || VRF output), the output
 * being the proposer's for (chain id, height, previous beacon). */
Test(beacon, stored_beacon_is_the_hash_of_the_vrf_output)
{
	chain_info before = info_now();
	fl_writer w;
	fl_hash out, want;
	chain_block b;

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_beacon_alpha(&w, before.chain_id, before.height + 1, &before.beacon), 0);
	cr_assert_eq(w.len, 1 + strlen(before.chain_id) + 8 + FL_HASH_LEN);
	cr_assert_eq(fl_vrf_verify(&out, &b.header.vrf_proof, &b.header.proposer, w.buf, w.len),
		     FL_OK);
	fl_writer_free(&w);
	chain_beacon_next(&want, &before.beacon, &out);
	cr_assert_eq(fixture_apply(&fx, &b), 0);
	before = info_now();
	cr_assert_eq(fl_hash_cmp(&before.beacon, &want), 0);
	chain_block_free(&b);
}

/* The txs and the time are the proposer's choice too: they do not move it. */
Test(beacon, txs_and_time_do_not_move_the_beacon)
{
	chain_block a, b;
	chain_tx tx;

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &a), 0);
	cr_assert_eq(fixture_transfer(&fx, &tx, 4, 0, 5), 0);
	cr_assert_eq(fixture_build_block(&fx, &tx, 1, &b), 0);
	b.header.time_ms += 777;
	cr_assert_eq(fl_hash_cmp(&a.header.beacon, &b.header.beacon), 0);
	cr_assert_eq(fixture_apply(&fx, &b), 0, "%s", fx.res.reason ? fx.res.reason : "-");
	chain_tx_free(&tx);
	chain_block_free(&a);
	chain_block_free(&b);
}

/* Re-proves b's header as if it were `h` and puts that proof and beacon
 * back into b. */
static void prove_as(chain_block *b, chain_block_header h, uint32_t who, const fl_hash *prev)
{
	h.proposer = fx.pk[who];
	cr_assert_eq(chain_header_prove_beacon(&h, &fx.sk[who], prev), 0);
	b->header.vrf_proof = h.vrf_proof;
	b->header.beacon = h.beacon;
}

Test(beacon, proof_of_another_key_height_chain_or_beacon_refused)
{
	chain_info info = info_now();
	uint32_t who, other;
	chain_block b;
	fl_hash prev;

	/* another validator's proof (with the beacon it gives) */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	who = proposer_index(&b);
	other = (who + 1) % 4;
	prove_as(&b, b.header, other, &info.beacon);
	expect_rejected(&b, FL_ESIG, "vrf");
	/* ... which is valid when that validator is the proposer */
	b.header.proposer = fx.pk[other];
	cr_assert_eq(chain_check_block(fx.store, &b, &fx.res), 0, "%s",
		     fx.res.reason ? fx.res.reason : "-");
	chain_block_free(&b);

	/* a member's key that is not the proposer's */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	prove_as(&b, b.header, 4, &info.beacon);
	expect_rejected(&b, FL_ESIG, "vrf");
	chain_block_free(&b);

	/* the proposer's own proof for the next height, or the previous one */
	for (int d = -1; d <= 1; d += 2) {
		chain_block_header h;

		cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
		h = b.header;
		h.height = (uint64_t)((int64_t)h.height + d);
		prove_as(&b, h, proposer_index(&b), &info.beacon);
		expect_rejected(&b, FL_ESIG, "vrf");
		chain_block_free(&b);
	}

	/* for another chain, or over another previous beacon */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	{
		chain_block_header h = b.header;
		strcpy(h.chain_id, "other-chain");
		prove_as(&b, h, proposer_index(&b), &info.beacon);
	}
	expect_rejected(&b, FL_ESIG, "vrf");
	chain_block_free(&b);
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	prev = info.beacon;
	prev.b[0] ^= 1;
	prove_as(&b, b.header, proposer_index(&b), &prev);
	expect_rejected(&b, FL_ESIG, "vrf");
	chain_block_free(&b);

	/* an all-zero proof (what a header without one would carry) */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	memset(&b.header.vrf_proof, 0, sizeof(b.header.vrf_proof));
	expect_rejected(&b, FL_ESIG, "vrf");
	chain_block_free(&b);

	/* the right proof with a beacon it does not give */
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.beacon.b[31] ^= 0x80;
	expect_rejected(&b, FL_EINVAL, "beacon");
	chain_block_free(&b);
	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	b.header.beacon = info.beacon;
	expect_rejected(&b, FL_EINVAL, "beacon");
	chain_block_free(&b);

	/* the honest block still applies */
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), 0);
}

Test(beacon, prove_refuses_a_key_that_is_not_the_proposer)
{
	chain_info info = info_now();
	chain_block b;
	chain_block_header h;

	cr_assert_eq(fixture_build_block(&fx, NULL, 0, &b), 0);
	h = b.header;
	cr_assert_eq(
	    chain_header_prove_beacon(&h, &fx.sk[(proposer_index(&b) + 1) % 4], &info.beacon),
	    FL_EINVAL);
	chain_block_free(&b);
}
