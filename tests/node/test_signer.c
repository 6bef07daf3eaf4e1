/*
 * tests/node/test_signer.c — the double-sign guard through node/signer.h:
 * the very same digest gets the saved signature back (fl_sign is
 * randomized, so a fresh one would differ), another value or a lower
 * (height, round, step) is refused, the state survives a reopen, a crash's
 * torn temp file loses nothing, and a damaged, foreign or missing state
 * file is refused rather than started from blank. Votes signed here pass
 * chain_vote_verify and chain_verify_commit.
 */
#include "node/signer.h"
#include "node/wal.h"
#include "tests/node/wal_helpers.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[256];
static fl_seckey sk;

static void setup(void)
{
	fl_pubkey pk;

	wh_tmpdir(dir, sizeof(dir));
	wh_path(path, dir, "sign_state");
	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
}

static void teardown(void)
{
	wh_rmtree(dir);
}

TestSuite(signer, .init = setup, .fini = teardown);

static void digest_of(fl_hash *d, const char *label)
{
	fl_sha256(d, label, strlen(label));
}

static node_signer *open_signer(unsigned flags)
{
	node_signer *s;

	cr_assert_eq(node_signer_open(&s, path, &sk, flags), FL_OK);
	return s;
}

Test(signer, the_same_digest_again_gets_the_saved_signature)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	fl_sig a, b;
	fl_hash d;

	digest_of(&d, "block 5");
	cr_assert_eq(node_signer_sign(s, &a, 5, 0, NODE_SIGN_PREVOTE, &d), FL_OK);
	cr_assert_eq(fl_verify(&a, node_signer_pubkey(s), &d), FL_OK);
	cr_assert_eq(node_signer_sign(s, &b, 5, 0, NODE_SIGN_PREVOTE, &d), FL_OK);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	node_signer_close(s);
}

Test(signer, another_value_at_the_same_step_is_refused)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	fl_hash d1, d2;
	fl_sig a, b;

	digest_of(&d1, "block A");
	digest_of(&d2, "block B");
	cr_assert_eq(node_signer_sign(s, &a, 7, 2, NODE_SIGN_PRECOMMIT, &d1), FL_OK);
	memset(&b, 0x5a, sizeof(b));
	cr_assert_eq(node_signer_sign(s, &b, 7, 2, NODE_SIGN_PRECOMMIT, &d2), FL_EPERM);
	/* Nothing given out, nothing changed. */
	for (size_t i = 0; i < sizeof(b.b); i++)
		cr_assert_eq(b.b[i], 0x5a);
	cr_assert_eq(fl_hash_cmp(&node_signer_state(s)->digest, &d1), 0);
	node_signer_close(s);
}

Test(signer, a_lower_height_round_or_step_is_refused)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	fl_hash d;
	fl_sig sig;

	digest_of(&d, "x");
	cr_assert_eq(node_signer_sign(s, &sig, 5, 1, NODE_SIGN_PREVOTE, &d), FL_OK);
	cr_assert_eq(node_signer_sign(s, &sig, 5, 1, NODE_SIGN_PROPOSAL, &d), FL_EPERM);
	cr_assert_eq(node_signer_sign(s, &sig, 5, 0, NODE_SIGN_PRECOMMIT, &d), FL_EPERM);
	cr_assert_eq(node_signer_sign(s, &sig, 4, 9, NODE_SIGN_PRECOMMIT, &d), FL_EPERM);
	/* Forward in step, round and height, each with a value of its own. */
	digest_of(&d, "y");
	cr_assert_eq(node_signer_sign(s, &sig, 5, 1, NODE_SIGN_PRECOMMIT, &d), FL_OK);
	digest_of(&d, "z");
	cr_assert_eq(node_signer_sign(s, &sig, 5, 2, NODE_SIGN_PROPOSAL, &d), FL_OK);
	cr_assert_eq(node_signer_sign(s, &sig, 6, 0, NODE_SIGN_PROPOSAL, &d), FL_OK);
	cr_assert_eq(node_signer_state(s)->height, 6);
	cr_assert_eq(node_signer_state(s)->round, 0);
	cr_assert_eq(node_signer_state(s)->step, NODE_SIGN_PROPOSAL);
	/* Not a step, not a height. */
	cr_assert_eq(node_signer_sign(s, &sig, 7, 0, 0, &d), FL_EINVAL);
	cr_assert_eq(node_signer_sign(s, &sig, 7, 0, 4, &d), FL_EINVAL);
	cr_assert_eq(node_signer_sign(s, &sig, 0, 0, NODE_SIGN_PROPOSAL, &d), FL_EINVAL);
	node_signer_close(s);
}

Test(signer, the_state_survives_a_reopen)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	fl_hash d, other;
	fl_sig a, b;

	digest_of(&d, "vote");
	digest_of(&other, "other vote");
	cr_assert_eq(node_signer_sign(s, &a, 12, 3, NODE_SIGN_PREVOTE, &d), FL_OK);
	node_signer_close(s);

	s = open_signer(0);
	cr_assert_eq(node_signer_state(s)->height, 12);
	cr_assert_eq(node_signer_state(s)->round, 3);
	cr_assert_eq(node_signer_state(s)->step, NODE_SIGN_PREVOTE);
	/* A restart re-sending its vote gets the same signature... */
	cr_assert_eq(node_signer_sign(s, &b, 12, 3, NODE_SIGN_PREVOTE, &d), FL_OK);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	/* ...and cannot be talked into another one. */
	cr_assert_eq(node_signer_sign(s, &b, 12, 3, NODE_SIGN_PREVOTE, &other), FL_EPERM);
	cr_assert_eq(node_signer_sign(s, &b, 12, 2, NODE_SIGN_PRECOMMIT, &other), FL_EPERM);
	node_signer_close(s);
	/* CREATE on an existing state keeps it. */
	s = open_signer(NODE_SIGNER_CREATE);
	cr_assert_eq(node_signer_state(s)->height, 12);
	node_signer_close(s);
}

Test(signer, a_torn_temp_file_from_a_crash_loses_nothing)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	uint8_t *state;
	size_t n;
	char tmp[300];
	fl_hash d;
	fl_sig a, b;

	digest_of(&d, "before the crash");
	cr_assert_eq(node_signer_sign(s, &a, 3, 0, NODE_SIGN_PRECOMMIT, &d), FL_OK);
	node_signer_close(s);
	/* The crash came while the next state was half written to its temp
	 * file, before the rename. */
	state = wh_read_all(path, &n);
	cr_assert_eq(n, NODE_SIGN_STATE_LEN);
	snprintf(tmp, sizeof(tmp), "%s.tmp-Ab3xYz", path);
	wh_write_all(tmp, state, n / 2);
	free(state);

	s = open_signer(0);
	cr_assert_eq(node_signer_state(s)->height, 3);
	cr_assert_eq(node_signer_state(s)->step, NODE_SIGN_PRECOMMIT);
	cr_assert_eq(node_signer_sign(s, &b, 3, 0, NODE_SIGN_PRECOMMIT, &d), FL_OK);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(wh_file_size(tmp), -1, "the stale temp file is removed");
	node_signer_close(s);
}

/* A state file with one change, its CRC made right again so that only the
 * field checks can refuse it. */
static void write_state(const node_sign_state *st, const fl_pubkey *pk)
{
	uint8_t buf[NODE_SIGN_STATE_LEN];

	node_sign_state_encode(buf, pk, st);
	wh_write_all(path, buf, sizeof(buf));
}

static void assert_refused(int want)
{
	node_signer *s = (node_signer *)1;

	cr_assert_eq(node_signer_open(&s, path, &sk, NODE_SIGNER_CREATE), want);
	cr_assert_null(s);
}

Test(signer, a_malformed_state_file_is_refused)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	node_sign_state st;
	uint8_t *good;
	size_t n;
	fl_pubkey pk;
	fl_hash d;
	fl_sig sig;

	digest_of(&d, "v");
	cr_assert_eq(node_signer_sign(s, &sig, 9, 1, NODE_SIGN_PREVOTE, &d), FL_OK);
	st = *node_signer_state(s);
	pk = *node_signer_pubkey(s);
	node_signer_close(s);
	good = wh_read_all(path, &n);

	/* Bytes: empty, short, long, each bit of a few fields. */
	wh_write_all(path, good, 0);
	assert_refused(FL_ECORRUPT);
	wh_write_all(path, good, n - 1);
	assert_refused(FL_ECORRUPT);
	uint8_t longer[NODE_SIGN_STATE_LEN + 1];
	memcpy(longer, good, n);
	longer[n] = 0;
	wh_write_all(path, longer, sizeof(longer));
	assert_refused(FL_ECORRUPT);
	for (size_t off = 0; off < n; off += 7) {
		wh_write_all(path, good, n);
		wh_flip_bit(path, (long)off, (int)(off % 8));
		assert_refused(FL_ECORRUPT);
	}
	/* Fields out of range behind a valid CRC. */
	node_sign_state bad = st;
	bad.step = 4;
	write_state(&bad, &pk);
	assert_refused(FL_ECORRUPT);
	bad = st;
	bad.height = 0;
	write_state(&bad, &pk);
	assert_refused(FL_ECORRUPT);
	memset(&bad, 0, sizeof(bad));
	bad.round = 1; /* "nothing signed" but not all zero */
	write_state(&bad, &pk);
	assert_refused(FL_ECORRUPT);
	/* Whole, but a signature that is not this digest's. */
	bad = st;
	bad.digest.b[0] ^= 1;
	write_state(&bad, &pk);
	assert_refused(FL_ECORRUPT);
	/* Whole and signed, by another key. */
	fl_seckey sk2;
	fl_pubkey pk2;
	cr_assert_eq(fl_key_generate(&sk2, &pk2), FL_OK);
	bad = st;
	cr_assert_eq(fl_sign(&bad.sig, &sk2, &bad.digest), FL_OK);
	write_state(&bad, &pk2);
	assert_refused(FL_EPERM);
	/* The good bytes still open. */
	wh_write_all(path, good, n);
	s = open_signer(0);
	cr_assert_eq(node_signer_state(s)->height, 9);
	node_signer_close(s);
	free(good);
}

Test(signer, a_missing_state_is_refused_unless_asked_to_create)
{
	node_signer *s = (node_signer *)1;

	cr_assert_eq(node_signer_open(&s, path, &sk, 0), FL_ENOTFOUND);
	cr_assert_null(s);
	s = open_signer(NODE_SIGNER_CREATE);
	cr_assert_eq(node_signer_state(s)->step, 0);
	cr_assert_eq(node_signer_state(s)->height, 0);
	node_signer_close(s);
	cr_assert_eq(wh_file_size(path), (long)NODE_SIGN_STATE_LEN);
}

Test(signer, one_process_at_a_time)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE), *s2 = (node_signer *)1;

	cr_assert_eq(node_signer_open(&s2, path, &sk, 0), FL_EEXIST);
	cr_assert_null(s2);
	node_signer_close(s);
}

Test(signer, a_failed_save_gives_nothing_out_and_stops_signing)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	char inside[300];
	fl_hash d;
	fl_sig sig;

	/* The state's name taken by a non-empty directory: the rename fails,
	 * whatever the permissions (the tests may run as root). */
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(inside, sizeof(inside), "%s/x", path);
	wh_write_all(inside, "x", 1);
	digest_of(&d, "v");
	memset(&sig, 0, sizeof(sig));
	cr_assert_neq(node_signer_sign(s, &sig, 1, 0, NODE_SIGN_PROPOSAL, &d), FL_OK);
	cr_assert(fl_verify(&sig, node_signer_pubkey(s), &d) != FL_OK, "no signature leaked");
	cr_assert_eq(node_signer_state(s)->step, 0);
	cr_assert_eq(node_signer_sign(s, &sig, 2, 0, NODE_SIGN_PROPOSAL, &d), FL_ESTATE);
	node_signer_close(s);
	unlink(inside);
	rmdir(path);
}

Test(signer, every_failed_allocation_in_open_is_clean)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	fl_hash d;
	fl_sig sig;
	int rc = FL_ENOMEM;

	digest_of(&d, "v");
	cr_assert_eq(node_signer_sign(s, &sig, 4, 0, NODE_SIGN_PREVOTE, &d), FL_OK);
	node_signer_close(s);
	for (unsigned long n = 1; n < 100 && rc == FL_ENOMEM; n++) {
		fl_alloc_fail_after(n);
		rc = node_signer_open(&s, path, &sk, 0);
		fl_alloc_fail_after(0);
	}
	cr_assert_eq(rc, FL_OK);
	cr_assert_eq(node_signer_state(s)->height, 4);
	node_signer_close(s);
}

Test(signer, signed_votes_pass_chain_vote_verify)
{
	node_signer *s = open_signer(NODE_SIGNER_CREATE);
	chain_vote v, again;

	memset(&v, 0, sizeof(v));
	v.type = CHAIN_VOTE_PREVOTE;
	v.height = 3;
	v.round = 1;
	digest_of(&v.block_hash, "block");
	cr_assert_eq(node_signer_sign_vote(s, &v, "fedledger-test"), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&v.validator, node_signer_pubkey(s)), 0);
	cr_assert_eq(chain_vote_verify(&v, "fedledger-test"), FL_OK);
	cr_assert_eq(chain_vote_verify(&v, "another-chain"), FL_ESIG);
	cr_assert_eq(node_signer_state(s)->step, NODE_SIGN_PREVOTE);
	/* Re-sent: the same bytes, the same signature. */
	again = v;
	memset(&again.sig, 0, sizeof(again.sig));
	cr_assert_eq(node_signer_sign_vote(s, &again, "fedledger-test"), FL_OK);
	cr_assert_eq(memcmp(&again.sig, &v.sig, sizeof(v.sig)), 0);
	/* A nil prevote at the same step is another value. */
	memset(&again.block_hash, 0, sizeof(again.block_hash));
	cr_assert_eq(node_signer_sign_vote(s, &again, "fedledger-test"), FL_EPERM);
	/* The precommit that follows. */
	v.type = CHAIN_VOTE_PRECOMMIT;
	cr_assert_eq(node_signer_sign_vote(s, &v, "fedledger-test"), FL_OK);
	cr_assert_eq(chain_vote_verify(&v, "fedledger-test"), FL_OK);
	v.type = 9;
	cr_assert_eq(node_signer_sign_vote(s, &v, "fedledger-test"), FL_EINVAL);
	v.type = CHAIN_VOTE_PRECOMMIT;
	v.height = 4;
	cr_assert_eq(node_signer_sign_vote(s, &v, "Bad Chain"), FL_EINVAL);
	node_signer_close(s);
}

Test(signer, a_commit_of_signed_precommits_passes_chain_verify_commit)
{
	fixture_opts o;
	chain_fixture fx;
	chain_commit c;
	char key_path[300];

	memset(&o, 0, sizeof(o));
	o.n_validators = 4;
	cr_assert_eq(fixture_open(&fx, &o), FL_OK);
	cr_assert_eq(fixture_next_block(&fx, NULL, 0), FL_OK);
	cr_assert_eq(fixture_tip_commit(&fx, &c), FL_OK);
	cr_assert_eq(c.n_sigs, 4);
	/* Each validator's precommit again, through its own signer. */
	for (uint32_t i = 0; i < c.n_sigs; i++) {
		int who = fixture_key_index(&fx, &c.sigs[i].validator);
		node_signer *s;
		chain_vote v;

		cr_assert_geq(who, 0);
		snprintf(key_path, sizeof(key_path), "%s/state-%u", dir, i);
		cr_assert_eq(node_signer_open(&s, key_path, &fx.sk[who], NODE_SIGNER_CREATE),
			     FL_OK);
		memset(&v, 0, sizeof(v));
		v.type = CHAIN_VOTE_PRECOMMIT;
		v.height = c.height;
		v.round = c.round;
		v.block_hash = c.block_hash;
		cr_assert_eq(node_signer_sign_vote(s, &v, fx.genesis.chain_id), FL_OK);
		cr_assert_eq(fl_pubkey_cmp(&v.validator, &c.sigs[i].validator), 0);
		c.sigs[i].sig = v.sig;
		node_signer_close(s);
	}
	cr_assert_eq(
	    chain_verify_commit(fx.store, fx.genesis.chain_id, c.height, &c.block_hash, &c), FL_OK);
	c.sigs[2].sig.b[5] ^= 1;
	cr_assert_eq(
	    chain_verify_commit(fx.store, fx.genesis.chain_id, c.height, &c.block_hash, &c),
	    FL_ESIG);
	fixture_close(&fx);
}
