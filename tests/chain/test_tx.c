/*
 * tests/chain/test_tx.c — the tx codec: round trips of every kind, every
 * malformed input refused with its code, signatures, copies, and the
 * allocation torture on decode.
 */
#include "chain/internal.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define TX_NO_LEAKS() cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "leaks: see stderr")
#else
#define TX_NO_LEAKS() ((void)0)
#endif

/* version, kind, sender, nonce: where every body starts. */
#define ENVELOPE (1 + 1 + FL_PUBKEY_LEN + 8)

static int encode_rc(const chain_tx *tx)
{
	fl_writer w;
	int rc;

	fl_writer_init(&w, 0);
	rc = chain_tx_encode(&w, tx);
	fl_writer_free(&w);
	return rc;
}

static int decode_rc(const uint8_t *p, size_t n)
{
	chain_tx tx;
	int rc = chain_tx_decode(&tx, p, n);

	chain_tx_free(&tx);
	return rc;
}

/* Encodes a signed sample of case i. */
static size_t sample_bytes(size_t i, uint8_t **out)
{
	chain_tx tx;
	size_t n;

	cr_assert_eq(chain_sample_signed_tx(&tx, chain_sample_cases[i].kind,
					    chain_sample_cases[i].variant, 1),
		     FL_OK);
	n = chain_sample_tx_bytes(&tx, out);
	chain_tx_free(&tx);
	return n;
}

static size_t kind_bytes(int kind, int variant, uint8_t **out)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++)
		if (chain_sample_cases[i].kind == kind && chain_sample_cases[i].variant == variant)
			return sample_bytes(i, out);
	cr_assert_fail("no sample for kind %d", kind);
	return 0;
}

Test(tx, round_trip_every_kind)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		chain_tx tx, back;
		uint8_t *a, *b;
		size_t na, nb;
		fl_hash h1, h2;

		cr_assert_eq(chain_sample_signed_tx(&tx, chain_sample_cases[i].kind,
						    chain_sample_cases[i].variant, 1),
			     FL_OK);
		na = chain_sample_tx_bytes(&tx, &a);
		cr_assert_eq(chain_tx_decode(&back, a, na), FL_OK, "%s",
			     chain_sample_cases[i].name);
		cr_assert_eq(back.kind, tx.kind);
		cr_assert_eq(back.nonce, tx.nonce);
		cr_assert_eq(fl_pubkey_cmp(&back.sender, &tx.sender), 0);
		nb = chain_sample_tx_bytes(&back, &b);
		cr_assert_eq(na, nb, "%s", chain_sample_cases[i].name);
		cr_assert_arr_eq(a, b, na, "%s: re-encoding differs", chain_sample_cases[i].name);
		cr_assert_eq(chain_tx_hash(&h1, &tx), FL_OK);
		cr_assert_eq(chain_tx_hash(&h2, &back), FL_OK);
		cr_assert_eq(fl_hash_cmp(&h1, &h2), 0);
		fl_sha256(&h2, a, na);
		cr_assert_eq(fl_hash_cmp(&h1, &h2), 0, "the hash is SHA-256 of the encoding");
		cr_assert_eq(chain_tx_verify(&back, CHAIN_SAMPLE_CHAIN_ID), FL_OK);
		fl_free(a);
		fl_free(b);
		chain_tx_free(&tx);
		chain_tx_free(&back);
	}
}

Test(tx, decoded_fields_match)
{
	chain_tx tx, back;
	uint8_t *buf;
	size_t n;

	cr_assert_eq(chain_sample_signed_tx(&tx, CHAIN_TX_AGGREGATE_COMMIT, 0, 1), FL_OK);
	n = chain_sample_tx_bytes(&tx, &buf);
	cr_assert_eq(chain_tx_decode(&back, buf, n), FL_OK);
	cr_assert_str_eq(back.u.aggregate_commit.profile, "mnist");
	cr_assert_eq(back.u.aggregate_commit.round, 3);
	cr_assert_eq(back.u.aggregate_commit.n_entries, 3);
	cr_assert_arr_eq(back.u.aggregate_commit.entries, tx.u.aggregate_commit.entries,
			 3 * sizeof(chain_aggregate_entry));
	cr_assert_eq(back.u.aggregate_commit.eval_accuracy_ppm, 870000);
	cr_assert_eq(memcmp(back.sig.b, tx.sig.b, FL_SIG_LEN), 0);
	fl_free(buf);
	chain_tx_free(&tx);
	chain_tx_free(&back);
}

/* bond and unbond: the envelope, u64le amount, the signature; nothing
 * else, and a zero amount does not decode either. */
Test(tx, stake_layout)
{
	static const int kinds[] = {CHAIN_TX_BOND, CHAIN_TX_UNBOND};

	for (size_t k = 0; k < FL_ARRAY_LEN(kinds); k++) {
		uint8_t *buf, *zero;
		uint64_t amount = 0;
		size_t n = kind_bytes(kinds[k], 0, &buf), m;
		chain_tx tx;

		cr_assert_eq(n, ENVELOPE + 8 + FL_SIG_LEN);
		cr_assert_eq(buf[1], kinds[k]);
		for (int i = 7; i >= 0; i--)
			amount = amount << 8 | buf[ENVELOPE + i];
		cr_assert_eq(amount, kinds[k] == CHAIN_TX_BOND ? 500000 : 125000);
		cr_assert_eq(chain_tx_decode(&tx, buf, n), FL_OK);
		cr_assert_eq(tx.u.stake.amount, amount);
		chain_tx_free(&tx);
		zero = chain_sample_splice(buf, n, ENVELOPE, 8, "\0\0\0\0\0\0\0\0", 8, &m);
		cr_assert_eq(decode_rc(zero, m), FL_EINVAL, "amount 0");
		fl_free(zero);
		fl_free(buf);
	}
}

Test(tx, kind_names)
{
	cr_assert_str_eq(chain_tx_kind_name(CHAIN_TX_TRANSFER), "transfer");
	cr_assert_str_eq(chain_tx_kind_name(CHAIN_TX_AGGREGATE_COMMIT), "aggregate_commit");
	cr_assert_str_eq(chain_tx_kind_name(CHAIN_TX_EVIDENCE), "evidence");
	cr_assert_str_eq(chain_tx_kind_name(CHAIN_TX_BOND), "bond");
	cr_assert_str_eq(chain_tx_kind_name(CHAIN_TX_UNBOND), "unbond");
	cr_assert_null(chain_tx_kind_name(0));
	cr_assert_str_eq(chain_tx_kind_name(CHAIN_TX_VALIDATOR_UPDATE), "validator_update");
	cr_assert_null(chain_tx_kind_name(14));
	cr_assert_null(chain_tx_kind_name(-1));
}

Test(tx, truncated_at_every_prefix)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		uint8_t *buf;
		size_t n = sample_bytes(i, &buf);

		for (size_t len = 0; len < n; len++)
			cr_assert_eq(decode_rc(buf, len), FL_ETRUNC, "%s cut at %zu of %zu",
				     chain_sample_cases[i].name, len, n);
		cr_assert_eq(decode_rc(buf, n), FL_OK);
		fl_free(buf);
	}
}

Test(tx, trailing_byte)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		uint8_t *buf, *longer;
		size_t n = sample_bytes(i, &buf), m;
		fl_reader r;
		chain_tx tx;

		longer = chain_sample_splice(buf, n, n, 0, "\0", 1, &m);
		cr_assert_eq(decode_rc(longer, m), FL_ETRAILING, "%s", chain_sample_cases[i].name);
		/* A reader inside a larger message stops at the tx's end. */
		fl_reader_init(&r, longer, m);
		cr_assert_eq(chain_tx_decode_reader(&tx, &r), FL_OK);
		cr_assert_eq(r.pos, n);
		chain_tx_free(&tx);
		fl_free(longer);
		fl_free(buf);
	}
}

Test(tx, oversized_input)
{
	static uint8_t big[CHAIN_MAX_TX_BYTES + 1];

	cr_assert_eq(decode_rc(big, sizeof(big)), FL_ETOOBIG);
}

Test(tx, unknown_kind_and_version)
{
	static const uint8_t bad_kinds[] = {0, 14, 0x7f, 0xff};
	static const uint8_t bad_versions[] = {0, 2, 0xff};
	uint8_t *buf;
	size_t n = kind_bytes(CHAIN_TX_TRANSFER, 0, &buf);
	chain_tx tx;
	fl_writer w;

	for (size_t i = 0; i < sizeof(bad_kinds); i++) {
		buf[1] = bad_kinds[i];
		cr_assert_eq(decode_rc(buf, n), FL_EVERSION, "kind %u", bad_kinds[i]);
	}
	buf[1] = CHAIN_TX_TRANSFER;
	for (size_t i = 0; i < sizeof(bad_versions); i++) {
		buf[0] = bad_versions[i];
		cr_assert_eq(decode_rc(buf, n), FL_EVERSION, "version %u", bad_versions[i]);
	}
	fl_free(buf);

	cr_assert_eq(chain_sample_tx(&tx, CHAIN_TX_TRANSFER, 0), FL_OK);
	tx.kind = 14;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_tx_encode(&w, &tx), FL_EVERSION);
	cr_assert_eq(w.len, 0, "nothing written for a refused tx");
	cr_assert_eq(fl_writer_finish(&w), FL_EVERSION, "the error sticks to the writer");
	fl_writer_free(&w);
}

/* Writes v as a varint into out; returns its length. */
static size_t varint(uint8_t out[10], uint64_t v)
{
	size_t n = 0;

	do {
		out[n] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
		n++;
	} while (v != 0);
	return n;
}

/* Replaces the one-byte count at `off` (asserting it holds `expect`) by the
 * varint v and decodes the result. */
static int decode_with_count(const uint8_t *buf, size_t n, size_t off, uint8_t expect, uint64_t v)
{
	uint8_t enc[10], *mod;
	size_t m, k = varint(enc, v);
	int rc;

	cr_assert_eq(buf[off], expect, "count byte at %zu is %u", off, buf[off]);
	mod = chain_sample_splice(buf, n, off, 1, enc, k, &m);
	rc = decode_rc(mod, m);
	fl_free(mod);
	return rc;
}

/* Where the sample bodies keep their counts (see docs/encoding.md). */
#define AGG_COUNT      (ENVELOPE + 1 + 5 + 8 + 2 * FL_HASH_LEN) /* after "mnist", round, hashes */
#define JOIN_COUNT     (ENVELOPE + 1 + 5 + 8)                   /* after "mnist", n_samples */
#define JOIN_SUMMARY   (JOIN_COUNT + 1 + 3 * 10)                /* after 3 (label, count) pairs */
#define PROPOSE_NAME   (ENVELOPE + 1 + 7 + 1 + 5)               /* after "mnist.b", "mnist" */
#define PROPOSE_LABELS (PROPOSE_NAME + 1 + 26 + 1 + 13)         /* after name, "image/28x28x1" */

Test(tx, oversized_counts)
{
	uint8_t *buf;
	size_t n;

	n = kind_bytes(CHAIN_TX_AGGREGATE_COMMIT, 0, &buf);
	cr_assert_eq(decode_with_count(buf, n, AGG_COUNT, 3, CHAIN_MAX_PARTICIPANTS + 1),
		     FL_ETOOBIG);
	cr_assert_eq(decode_with_count(buf, n, AGG_COUNT, 3, UINT64_MAX), FL_ETOOBIG);
	/* Within the maximum but more than the bytes hold: refused before the
	 * entry array is allocated (any allocation would fail here). */
	{
		uint8_t enc[10], *mod;
		size_t m, k = varint(enc, CHAIN_MAX_PARTICIPANTS);
		mod = chain_sample_splice(buf, n, AGG_COUNT, 1, enc, k, &m);
		fl_alloc_fail_after(1);
		cr_assert_eq(decode_rc(mod, m), FL_ETRUNC);
		fl_alloc_fail_after(0);
		fl_free(mod);
	}
	cr_assert_eq(decode_with_count(buf, n, AGG_COUNT, 3, 0), FL_EINVAL);
	fl_free(buf);

	n = kind_bytes(CHAIN_TX_ROUND_JOIN, 0, &buf);
	cr_assert_eq(decode_with_count(buf, n, JOIN_COUNT, 3, CHAIN_MAX_LABELS + 1), FL_ETOOBIG);
	cr_assert_eq(decode_with_count(buf, n, JOIN_SUMMARY, 2, CHAIN_SUMMARY_MAX + 1), FL_ETOOBIG);
	fl_free(buf);

	n = kind_bytes(CHAIN_TX_PROFILE_PROPOSE, 0, &buf);
	cr_assert_eq(decode_with_count(buf, n, PROPOSE_NAME, 26, CHAIN_NAME_MAX + 1), FL_ETOOBIG);
	cr_assert_eq(decode_with_count(buf, n, PROPOSE_LABELS, 10, CHAIN_MAX_LABELS + 1),
		     FL_ETOOBIG);
	fl_free(buf);

	/* The embedded aggregate tx of evidence: length prefix after the type. */
	n = kind_bytes(CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_BAD_AGGREGATE, &buf);
	{
		uint8_t enc[10], *mod;
		size_t m, k = varint(enc, CHAIN_MAX_EVIDENCE_TX + 1);
		cr_assert_eq(buf[ENVELOPE], CHAIN_EVIDENCE_BAD_AGGREGATE);
		/* the sample's length takes two varint bytes */
		mod = chain_sample_splice(buf, n, ENVELOPE + 1, 2, enc, k, &m);
		cr_assert_eq(decode_rc(mod, m), FL_ETOOBIG);
		fl_free(mod);
	}
	fl_free(buf);
}

Test(tx, non_canonical_forms)
{
	static const uint8_t overlong_seven[] = {0x87, 0x00};
	uint8_t *buf, *mod;
	size_t n, m;

	/* profile_vote: the id's length 7 written in two bytes */
	n = kind_bytes(CHAIN_TX_PROFILE_VOTE, 0, &buf);
	cr_assert_eq(buf[ENVELOPE], 7);
	mod = chain_sample_splice(buf, n, ENVELOPE, 1, overlong_seven, 2, &m);
	cr_assert_eq(decode_rc(mod, m), FL_ENONCANON);
	fl_free(mod);
	/* a control character in a string */
	buf[ENVELOPE + 1] = 0x01;
	cr_assert_eq(decode_rc(buf, n), FL_ENONCANON);
	/* printable but not an id */
	buf[ENVELOPE + 1] = 'M';
	cr_assert_eq(decode_rc(buf, n), FL_EINVAL);
	buf[ENVELOPE + 1] = 'm';
	cr_assert_eq(decode_rc(buf, n), FL_OK);
	/* an enum value out of its set */
	buf[n - FL_SIG_LEN - 1] = 3;
	cr_assert_eq(decode_rc(buf, n), FL_EINVAL);
	fl_free(buf);
}

static void swap_blocks(uint8_t *p, size_t a, size_t b, size_t len)
{
	uint8_t t[256];

	cr_assert(len <= sizeof(t));
	memcpy(t, p + a, len);
	memcpy(p + a, p + b, len);
	memcpy(p + b, t, len);
}

Test(tx, unsorted_labels)
{
	uint8_t *buf;
	size_t n;

	n = kind_bytes(CHAIN_TX_ROUND_JOIN, 0, &buf);
	swap_blocks(buf, JOIN_COUNT + 1, JOIN_COUNT + 11, 10);
	cr_assert_eq(decode_rc(buf, n), FL_ENONCANON);
	swap_blocks(buf, JOIN_COUNT + 1, JOIN_COUNT + 11, 10);
	cr_assert_eq(decode_rc(buf, n), FL_OK);
	/* a repeated label */
	memcpy(buf + JOIN_COUNT + 11, buf + JOIN_COUNT + 1, 2);
	cr_assert_eq(decode_rc(buf, n), FL_ENONCANON);
	fl_free(buf);

	n = kind_bytes(CHAIN_TX_PROFILE_PROPOSE, 0, &buf);
	swap_blocks(buf, PROPOSE_LABELS + 1, PROPOSE_LABELS + 3, 2);
	cr_assert_eq(decode_rc(buf, n), FL_ENONCANON);
	fl_free(buf);
}

#define ENTRY_LEN (FL_PUBKEY_LEN + FL_HASH_LEN + 8)

Test(tx, unsorted_or_duplicate_entries)
{
	uint8_t *buf;
	size_t n = kind_bytes(CHAIN_TX_AGGREGATE_COMMIT, 0, &buf);
	size_t e0 = AGG_COUNT + 1, e1 = e0 + ENTRY_LEN;

	swap_blocks(buf, e0, e1, ENTRY_LEN);
	cr_assert_eq(decode_rc(buf, n), FL_ENONCANON);
	swap_blocks(buf, e0, e1, ENTRY_LEN);
	cr_assert_eq(decode_rc(buf, n), FL_OK);
	memcpy(buf + e1, buf + e0, FL_PUBKEY_LEN);
	cr_assert_eq(decode_rc(buf, n), FL_EDUP);
	fl_free(buf);
}

#define VOTE_LEN (1 + 8 + 4 + FL_HASH_LEN + FL_PUBKEY_LEN + FL_SIG_LEN)

Test(tx, evidence_rules)
{
	chain_tx tx;
	uint8_t *buf;
	size_t n;

	/* double sign: the pair in block-hash order, one encoding per pair */
	n = kind_bytes(CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN, &buf);
	cr_assert_eq(n, ENVELOPE + 1 + 2 * VOTE_LEN + FL_SIG_LEN);
	swap_blocks(buf, ENVELOPE + 1, ENVELOPE + 1 + VOTE_LEN, VOTE_LEN);
	cr_assert_eq(decode_rc(buf, n), FL_ENONCANON);
	swap_blocks(buf, ENVELOPE + 1, ENVELOPE + 1 + VOTE_LEN, VOTE_LEN);
	buf[ENVELOPE] = 3;
	cr_assert_eq(decode_rc(buf, n), FL_EINVAL, "unknown evidence type");
	fl_free(buf);

	cr_assert_eq(chain_sample_tx(&tx, CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN), FL_OK);
	tx.u.evidence.vote_b.block_hash = tx.u.evidence.vote_a.block_hash;
	cr_assert_eq(encode_rc(&tx), FL_EINVAL, "same block: no equivocation");
	chain_tx_free(&tx);

	cr_assert_eq(chain_sample_tx(&tx, CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN), FL_OK);
	tx.u.evidence.vote_b.height++;
	cr_assert_eq(encode_rc(&tx), FL_EINVAL, "votes of different heights");
	chain_tx_free(&tx);

	cr_assert_eq(chain_sample_tx(&tx, CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_DOUBLE_SIGN), FL_OK);
	chain_sample_key(NULL, &tx.u.evidence.vote_b.validator, 9);
	cr_assert_eq(encode_rc(&tx), FL_EINVAL, "votes of different validators");
	chain_tx_free(&tx);

	/* bad aggregate: the embedded tx must be an aggregate_commit that
	 * disagrees with the recomputed model */
	cr_assert_eq(chain_sample_tx(&tx, CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_BAD_AGGREGATE), FL_OK);
	{
		chain_tx inner;
		cr_assert_eq(chain_tx_decode(&inner, tx.u.evidence.aggregate_tx,
					     tx.u.evidence.aggregate_tx_len),
			     FL_OK);
		tx.u.evidence.recomputed_model = inner.u.aggregate_commit.new_model;
		chain_tx_free(&inner);
	}
	cr_assert_eq(encode_rc(&tx), FL_EINVAL, "recomputed equals committed");
	chain_tx_free(&tx);

	cr_assert_eq(chain_sample_tx(&tx, CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_BAD_AGGREGATE), FL_OK);
	tx.u.evidence.aggregate_tx[1] = CHAIN_TX_TRANSFER;
	cr_assert_eq(encode_rc(&tx), FL_EINVAL, "embedded tx of another kind");
	chain_tx_free(&tx);

	cr_assert_eq(chain_sample_tx(&tx, CHAIN_TX_EVIDENCE, CHAIN_EVIDENCE_BAD_AGGREGATE), FL_OK);
	tx.u.evidence.aggregate_tx_len--;
	cr_assert_eq(encode_rc(&tx), FL_EINVAL, "embedded tx truncated");
	chain_tx_free(&tx);
}

Test(tx, body_ranges)
{
	chain_tx tx;
	fl_writer w;

#define REFUSED(kind, variant, change, code)                                                       \
	do {                                                                                       \
		cr_assert_eq(chain_sample_tx(&tx, kind, variant), FL_OK);                          \
		change;                                                                            \
		fl_writer_init(&w, 0);                                                             \
		cr_assert_eq(chain_tx_encode(&w, &tx), code, "%s", #change);                       \
		fl_writer_free(&w);                                                                \
		chain_tx_free(&tx);                                                                \
	} while (0)

	REFUSED(CHAIN_TX_TRANSFER, 0, tx.u.transfer.amount = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_TRANSFER, 0, memset(tx.u.transfer.to.b, 0xff, FL_PUBKEY_LEN), FL_EINVAL);
	REFUSED(CHAIN_TX_MEMBER_ADD, 0, memset(tx.u.member.member.b, 0xff, FL_PUBKEY_LEN),
		FL_EINVAL);
	REFUSED(CHAIN_TX_MEMBER_ADD, 0, tx.u.member.name[0] = '\t', FL_EINVAL);
	REFUSED(CHAIN_TX_PROFILE_PROPOSE, 0, tx.u.profile_propose.lr_ppm = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_PROFILE_VOTE, 0, tx.u.profile_vote.choice = 3, FL_EINVAL);
	REFUSED(CHAIN_TX_PROFILE_VOTE, 0, tx.u.profile_vote.profile[0] = '\0', FL_EINVAL);
	REFUSED(CHAIN_TX_ROUND_JOIN, 0, tx.u.round_join.n_samples++, FL_EINVAL);
	REFUSED(CHAIN_TX_ROUND_JOIN, 0, tx.u.round_join.n_labels = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_ROUND_JOIN, 0, tx.u.round_join.labels[2] = 0, FL_ENONCANON);
	REFUSED(CHAIN_TX_ROUND_JOIN, 0, tx.u.round_join.summary[0] = INT32_MIN, FL_EINVAL);
	REFUSED(CHAIN_TX_ROUND_JOIN, 0,
		(tx.u.round_join.label_counts[0] = UINT64_MAX, tx.u.round_join.n_samples = 200),
		FL_EINVAL);
	REFUSED(CHAIN_TX_UPDATE_COMMIT, 0, tx.u.update_commit.round = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_UPDATE_COMMIT, 0, tx.u.update_commit.n_samples = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_UPDATE_COMMIT, 0, tx.u.update_commit.train_accuracy_ppm = CHAIN_PPM + 1,
		FL_EINVAL);
	REFUSED(CHAIN_TX_AGGREGATE_COMMIT, 0, tx.u.aggregate_commit.n_entries = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_AGGREGATE_COMMIT, 0,
		tx.u.aggregate_commit.n_entries = CHAIN_MAX_PARTICIPANTS + 1, FL_EINVAL);
	REFUSED(CHAIN_TX_AGGREGATE_COMMIT, 0, tx.u.aggregate_commit.round = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_AGGREGATE_COMMIT, 0,
		tx.u.aggregate_commit.entries[2] = tx.u.aggregate_commit.entries[1], FL_EDUP);
	REFUSED(CHAIN_TX_AGGREGATE_COMMIT, 0,
		tx.u.aggregate_commit.eval_accuracy_ppm = CHAIN_PPM + 1, FL_EINVAL);
	REFUSED(CHAIN_TX_EVAL_REPORT, 0, tx.u.eval_report.n_samples = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_EVAL_REPORT, 0, strcpy(tx.u.eval_report.profile, "a b"), FL_EINVAL);
	REFUSED(CHAIN_TX_EVIDENCE, 0, tx.u.evidence.type = 3, FL_EINVAL);
	REFUSED(CHAIN_TX_EVIDENCE, 0, tx.u.evidence.vote_a.type = 9, FL_EINVAL);
	REFUSED(CHAIN_TX_VALIDATOR_UPDATE, 0, tx.u.validator_update.action = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_VALIDATOR_UPDATE, 0, tx.u.validator_update.action = 5, FL_EINVAL);
	REFUSED(CHAIN_TX_VALIDATOR_UPDATE, 0, tx.u.validator_update.power = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_VALIDATOR_UPDATE, 0,
		tx.u.validator_update.power = CHAIN_MAX_VALIDATOR_POWER + 1, FL_EINVAL);
	REFUSED(CHAIN_TX_VALIDATOR_UPDATE, 0, tx.u.validator_update.action = CHAIN_VALSET_REMOVE,
		FL_EINVAL); /* power 25 */
	REFUSED(CHAIN_TX_VALIDATOR_UPDATE, 0,
		(tx.u.validator_update.action = CHAIN_VALSET_SET_POWER,
		 tx.u.validator_update.power = 0),
		FL_EINVAL);
	REFUSED(CHAIN_TX_VALIDATOR_UPDATE, 0,
		memset(tx.u.validator_update.target.b, 0xff, FL_PUBKEY_LEN), FL_EINVAL);
	REFUSED(CHAIN_TX_BOND, 0, tx.u.stake.amount = 0, FL_EINVAL);
	REFUSED(CHAIN_TX_UNBOND, 0, tx.u.stake.amount = 0, FL_EINVAL);
#undef REFUSED
}

Test(tx, sign_and_verify)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		chain_tx tx;
		fl_pubkey pk;

		cr_assert_eq(chain_sample_signed_tx(&tx, chain_sample_cases[i].kind,
						    chain_sample_cases[i].variant, 5),
			     FL_OK);
		chain_sample_key(NULL, &pk, 5);
		cr_assert_eq(fl_pubkey_cmp(&tx.sender, &pk), 0, "sign sets the sender");
		cr_assert_eq(chain_tx_verify(&tx, CHAIN_SAMPLE_CHAIN_ID), FL_OK, "%s",
			     chain_sample_cases[i].name);
		chain_tx_free(&tx);
	}
}

Test(tx, forged_signatures_refused)
{
	chain_tx tx;
	fl_seckey other;
	fl_hash msg;
	fl_pubkey sender;

	cr_assert_eq(chain_sample_signed_tx(&tx, CHAIN_TX_TRANSFER, 0, 1), FL_OK);
	cr_assert_eq(chain_tx_verify(&tx, CHAIN_SAMPLE_CHAIN_ID), FL_OK);
	/* any flipped bit */
	for (size_t bit = 0; bit < 8 * FL_SIG_LEN; bit += 37) {
		tx.sig.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(chain_tx_verify(&tx, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG, "bit %zu", bit);
		tx.sig.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* another chain */
	cr_assert_eq(chain_tx_verify(&tx, "fedledger-other"), FL_ESIG);
	cr_assert_eq(chain_tx_verify(&tx, "Not An Id"), FL_EINVAL);
	/* a field changed after signing */
	tx.nonce++;
	cr_assert_eq(chain_tx_verify(&tx, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG);
	tx.nonce--;
	/* signed by another key in the sender's name */
	sender = tx.sender;
	chain_sample_key(&other, NULL, 2);
	cr_assert_eq(chain_tx_sighash(&msg, CHAIN_SAMPLE_CHAIN_ID, &tx), FL_OK);
	cr_assert_eq(fl_sign(&tx.sig, &other, &msg), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&tx.sender, &sender), 0);
	cr_assert_eq(chain_tx_verify(&tx, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG);
	/* a sender that is not a curve point */
	memset(tx.sender.b, 0xff, FL_PUBKEY_LEN);
	cr_assert_eq(chain_tx_verify(&tx, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG);
	chain_tx_free(&tx);
}

Test(tx, sighash_covers_all_but_the_signature)
{
	chain_tx tx;
	fl_hash s1, s2, h1, h2;
	uint8_t *buf;
	size_t n;

	cr_assert_eq(chain_sample_signed_tx(&tx, CHAIN_TX_UPDATE_COMMIT, 0, 1), FL_OK);
	cr_assert_eq(chain_tx_sighash(&s1, CHAIN_SAMPLE_CHAIN_ID, &tx), FL_OK);
	cr_assert_eq(chain_tx_hash(&h1, &tx), FL_OK);
	/* the domain hash over the encoding without its signature */
	n = chain_sample_tx_bytes(&tx, &buf);
	fl_domain_hash(&s2, "tx", CHAIN_SAMPLE_CHAIN_ID, buf, n - FL_SIG_LEN);
	cr_assert_eq(fl_hash_cmp(&s1, &s2), 0);
	fl_free(buf);
	tx.sig.b[0] ^= 1;
	cr_assert_eq(chain_tx_sighash(&s2, CHAIN_SAMPLE_CHAIN_ID, &tx), FL_OK);
	cr_assert_eq(chain_tx_hash(&h2, &tx), FL_OK);
	cr_assert_eq(fl_hash_cmp(&s1, &s2), 0, "the sighash does not cover the signature");
	cr_assert_neq(fl_hash_cmp(&h1, &h2), 0, "the tx hash does");
	cr_assert_eq(chain_tx_sighash(&s2, "fedledger-other", &tx), FL_OK);
	cr_assert_neq(fl_hash_cmp(&s1, &s2), 0, "the sighash covers the chain id");
	chain_tx_free(&tx);
}

Test(tx, copy_is_deep)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		chain_tx tx, copy;
		uint8_t *a, *b;
		size_t na, nb;

		cr_assert_eq(chain_sample_signed_tx(&tx, chain_sample_cases[i].kind,
						    chain_sample_cases[i].variant, 1),
			     FL_OK);
		cr_assert_eq(chain_tx_copy(&copy, &tx), FL_OK);
		na = chain_sample_tx_bytes(&tx, &a);
		chain_tx_free(&tx);
		/* the copy outlives the original */
		nb = chain_sample_tx_bytes(&copy, &b);
		cr_assert_eq(na, nb);
		cr_assert_arr_eq(a, b, na);
		chain_tx_free(&copy);
		chain_tx_free(&copy); /* freeing twice is safe */
		fl_free(a);
		fl_free(b);
	}
}

Test(tx, copy_out_of_memory)
{
	chain_tx tx, copy;

	cr_assert_eq(chain_sample_tx(&tx, CHAIN_TX_AGGREGATE_COMMIT, 0), FL_OK);
	fl_alloc_fail_after(1);
	cr_assert_eq(chain_tx_copy(&copy, &tx), FL_ENOMEM);
	fl_alloc_fail_after(0);
	cr_assert_null(copy.u.aggregate_commit.entries);
	chain_tx_free(&copy);
	chain_tx_free(&tx);
	TX_NO_LEAKS();
}

/* curl's torture: fail the nth allocation for n = 1, 2, … until the decode
 * succeeds; every failure must be FL_ENOMEM and leave nothing behind. */
Test(tx, decode_alloc_torture)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		uint8_t *buf;
		size_t n = sample_bytes(i, &buf);
		unsigned long at;
		int rc = FL_ENOMEM;

		for (at = 1; at < 100 && rc != FL_OK; at++) {
			chain_tx tx;
			fl_alloc_fail_after(at);
			rc = chain_tx_decode(&tx, buf, n);
			fl_alloc_fail_after(0);
			cr_assert(rc == FL_OK || rc == FL_ENOMEM, "%s: rc %d at %lu",
				  chain_sample_cases[i].name, rc, at);
			chain_tx_free(&tx);
		}
		cr_assert_eq(rc, FL_OK, "%s", chain_sample_cases[i].name);
		fl_free(buf);
	}
	TX_NO_LEAKS();
}

Test(tx, vote_sign_verify_and_codec)
{
	chain_vote v = {.type = CHAIN_VOTE_PREVOTE, .height = 12, .round = 2}, back;
	fl_seckey sk;
	fl_writer w;
	fl_reader r;
	fl_hash digest;

	fl_sha256(&v.block_hash, "block", 5);
	chain_sample_key(&sk, NULL, 3);
	cr_assert_eq(chain_vote_sign(&v, CHAIN_SAMPLE_CHAIN_ID, &sk), FL_OK);
	cr_assert_eq(chain_vote_verify(&v, CHAIN_SAMPLE_CHAIN_ID), FL_OK);
	cr_assert_eq(chain_vote_verify(&v, "fedledger-other"), FL_ESIG);

	/* signed over the domain hash of the sign bytes */
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_vote_sign_bytes(&w, &v), FL_OK);
	cr_assert_eq(w.len, 1 + 8 + 4 + FL_HASH_LEN + FL_PUBKEY_LEN);
	fl_domain_hash(&digest, "vote", CHAIN_SAMPLE_CHAIN_ID, w.buf, w.len);
	cr_assert_eq(fl_verify(&v.sig, &v.validator, &digest), FL_OK);
	fl_writer_free(&w);

	fl_writer_init(&w, 0);
	cr_assert_eq(chain_vote_encode(&w, &v), FL_OK);
	cr_assert_eq(w.len, VOTE_LEN);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_vote_decode(&r, &back), FL_OK);
	cr_assert_eq(fl_reader_finish(&r), FL_OK);
	cr_assert_eq(memcmp(&back.sig, &v.sig, sizeof(v.sig)), 0);
	cr_assert_eq(chain_vote_verify(&back, CHAIN_SAMPLE_CHAIN_ID), FL_OK);
	for (size_t len = 0; len < w.len; len++) {
		fl_reader_init(&r, w.buf, len);
		cr_assert_eq(chain_vote_decode(&r, &back), FL_ETRUNC);
	}
	w.buf[0] = 3;
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_vote_decode(&r, &back), FL_EINVAL, "unknown vote type");
	fl_writer_free(&w);

	/* any changed field breaks the signature */
	back = v;
	back.round++;
	cr_assert_eq(chain_vote_verify(&back, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG);
	back = v;
	back.type = CHAIN_VOTE_PRECOMMIT;
	cr_assert_eq(chain_vote_verify(&back, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG);
	back = v;
	back.block_hash.b[31] ^= 1;
	cr_assert_eq(chain_vote_verify(&back, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG);
	back = v;
	back.sig.b[5] ^= 0x10;
	cr_assert_eq(chain_vote_verify(&back, CHAIN_SAMPLE_CHAIN_ID), FL_ESIG);
	v.type = 0;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_vote_encode(&w, &v), FL_EINVAL);
	fl_writer_free(&w);
}
