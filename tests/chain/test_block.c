/*
 * tests/chain/test_block.c — headers, commits and blocks: round trips,
 * hashes, the tx root and beacon, malformed input refused, and the
 * allocation torture on block decode.
 */
#include "chain/internal.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define BLOCK_NO_LEAKS() cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "leaks: see stderr")
#else
#define BLOCK_NO_LEAKS() ((void)0)
#endif

/* version, chain id "fedledger-test", height, time, 3 hashes, proposer,
 * last_commit_hash, vrf_proof, beacon */
#define HEADER_LEN                                                                                 \
	(1 + 1 + 14 + 8 + 8 + 3 * FL_HASH_LEN + FL_PUBKEY_LEN + FL_HASH_LEN + FL_VRF_PROOF_LEN +   \
	 FL_HASH_LEN)
#define SIG_ENTRY_LEN   (FL_PUBKEY_LEN + FL_SIG_LEN)
#define COMMIT_HEAD_LEN (8 + 4 + FL_HASH_LEN)

static int block_decode_rc(const uint8_t *p, size_t n)
{
	chain_block b;
	int rc = chain_block_decode(&b, p, n);

	chain_block_free(&b);
	return rc;
}

static size_t sample_block_bytes(uint8_t **out)
{
	chain_block b;
	size_t n;

	cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
	n = chain_sample_block_bytes(&b, out);
	chain_block_free(&b);
	return n;
}

Test(block, round_trip_with_txs_and_commit)
{
	chain_block b, back;
	uint8_t *a, *c;
	size_t na, nc;
	fl_hash h1, h2, root;

	cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
	cr_assert_eq(b.n_txs, chain_sample_n_cases);
	cr_assert_eq(b.last_commit.n_sigs, 3);
	na = chain_sample_block_bytes(&b, &a);
	cr_assert_eq(chain_block_decode(&back, a, na), FL_OK);
	cr_assert_eq(back.n_txs, b.n_txs);
	cr_assert_eq(back.header.height, 5);
	cr_assert_str_eq(back.header.chain_id, CHAIN_SAMPLE_CHAIN_ID);
	cr_assert_eq(back.last_commit.height, 4);
	cr_assert_eq(back.last_commit.n_sigs, 3);
	cr_assert_eq(memcmp(&back.last_commit, &b.last_commit, sizeof(b.last_commit)), 0);
	nc = chain_sample_block_bytes(&back, &c);
	cr_assert_eq(na, nc);
	cr_assert_arr_eq(a, c, na, "re-encoding a decoded block differs");
	cr_assert_eq(chain_header_hash(&h1, &b.header), FL_OK);
	cr_assert_eq(chain_header_hash(&h2, &back.header), FL_OK);
	cr_assert_eq(fl_hash_cmp(&h1, &h2), 0);
	/* the header is the block's first bytes and its hash is theirs */
	fl_sha256(&h2, a, HEADER_LEN);
	cr_assert_eq(fl_hash_cmp(&h1, &h2), 0);
	cr_assert_eq(chain_block_tx_root(&root, &back), FL_OK);
	cr_assert_eq(fl_hash_cmp(&root, &back.header.tx_root), 0);
	for (uint32_t i = 0; i < back.n_txs; i++)
		cr_assert_eq(chain_tx_verify(&back.txs[i], CHAIN_SAMPLE_CHAIN_ID), FL_OK);
	fl_free(a);
	fl_free(c);
	chain_block_free(&b);
	chain_block_free(&back);
	chain_block_free(&back); /* twice is safe */
}

Test(block, empty_block_round_trip)
{
	chain_block b, back;
	uint8_t *a, *c;
	size_t na, nc;
	fl_hash root, empty;

	memset(&b, 0, sizeof(b));
	b.header.version = CHAIN_BLOCK_VERSION;
	strcpy(b.header.chain_id, "c");
	b.header.height = 1;
	cr_assert_eq(chain_sample_prove_beacon(&b.header), FL_OK);
	cr_assert_eq(chain_block_tx_root(&root, &b), FL_OK);
	fl_sha256(&empty, "", 0);
	cr_assert_eq(fl_hash_cmp(&root, &empty), 0, "no txs: the root of zero leaves");
	na = chain_sample_block_bytes(&b, &a);
	cr_assert_eq(na, 1 + 2 + 8 + 8 + 5 * FL_HASH_LEN + FL_PUBKEY_LEN + FL_VRF_PROOF_LEN + 1 +
			     COMMIT_HEAD_LEN + 1);
	cr_assert_eq(chain_block_decode(&back, a, na), FL_OK);
	cr_assert_eq(back.n_txs, 0);
	cr_assert_null(back.txs);
	nc = chain_sample_block_bytes(&back, &c);
	cr_assert_eq(na, nc);
	cr_assert_arr_eq(a, c, na);
	fl_free(a);
	fl_free(c);
	chain_block_free(&back);
}

Test(block, tx_root_is_the_merkle_root_of_tx_hashes)
{
	chain_block b;
	fl_hash leaves[16], want, got;

	cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
	cr_assert(b.n_txs <= 16);
	for (uint32_t i = 0; i < b.n_txs; i++)
		cr_assert_eq(chain_tx_hash(&leaves[i], &b.txs[i]), FL_OK);
	cr_assert_eq(fl_merkle_root(&want, leaves, b.n_txs), FL_OK);
	cr_assert_eq(chain_block_tx_root(&got, &b), FL_OK);
	cr_assert_eq(fl_hash_cmp(&want, &got), 0);
	/* order matters */
	{
		chain_tx t = b.txs[0];
		b.txs[0] = b.txs[1];
		b.txs[1] = t;
	}
	cr_assert_eq(chain_block_tx_root(&got, &b), FL_OK);
	cr_assert_neq(fl_hash_cmp(&want, &got), 0);
	chain_block_free(&b);
}

Test(block, beacon_is_a_hash_chain)
{
	fl_hash prev, output, out, want;
	uint8_t buf[2 * FL_HASH_LEN];

	fl_sha256(&prev, "beacon", 6);
	fl_sha256(&output, "vrf output", 10);
	memcpy(buf, prev.b, FL_HASH_LEN);
	memcpy(buf + FL_HASH_LEN, output.b, FL_HASH_LEN);
	fl_sha256(&want, buf, sizeof(buf));
	chain_beacon_next(&out, &prev, &output);
	cr_assert_eq(fl_hash_cmp(&out, &want), 0);
	chain_beacon_next(&out, &output, &prev);
	cr_assert_neq(fl_hash_cmp(&out, &want), 0, "the order of the inputs matters");
}

/* The proof sits between last_commit_hash and beacon; a header whose proof
 * is not canonical neither encodes nor decodes. */
Test(block, header_refuses_a_noncanonical_vrf_proof)
{
	/* offset of vrf_proof in the header of chain id "fedledger-test" */
	const size_t at = 1 + 1 + strlen(CHAIN_SAMPLE_CHAIN_ID) + 8 + 8 + 3 * FL_HASH_LEN +
			  FL_PUBKEY_LEN + FL_HASH_LEN;
	chain_block b, back;
	chain_block_header h;
	uint8_t *enc, *bad;
	size_t n, bad_n;
	fl_writer w;

	cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
	n = chain_sample_block_bytes(&b, &enc);
	cr_assert_arr_eq(enc + at, b.header.vrf_proof.b, FL_VRF_PROOF_LEN);
	cr_assert_arr_eq(enc + at + FL_VRF_PROOF_LEN, b.header.beacon.b, FL_HASH_LEN);

	static const uint8_t zero[FL_VRF_PROOF_LEN];
	bad = chain_sample_splice(enc, n, at, FL_VRF_PROOF_LEN, zero, sizeof(zero), &bad_n);
	cr_assert_eq(chain_block_decode(&back, bad, bad_n), FL_EINVAL);
	chain_block_free(&back);
	fl_free(bad);
	/* s = 2^256 - 1 >= n */
	uint8_t proof[FL_VRF_PROOF_LEN];
	memcpy(proof, b.header.vrf_proof.b, sizeof(proof));
	memset(proof + 49, 0xff, 32);
	bad = chain_sample_splice(enc, n, at, FL_VRF_PROOF_LEN, proof, sizeof(proof), &bad_n);
	cr_assert_eq(chain_block_decode(&back, bad, bad_n), FL_EINVAL);
	chain_block_free(&back);
	fl_free(bad);

	h = b.header;
	memset(&h.vrf_proof, 0, sizeof(h.vrf_proof));
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_header_encode(&w, &h), FL_EINVAL);
	fl_writer_free(&w);
	fl_free(enc);
	chain_block_free(&b);
}

Test(block, header_hash_covers_every_field)
{
	chain_block b;
	fl_hash h0, h;
	chain_block_header hd;

	cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
	cr_assert_eq(chain_header_hash(&h0, &b.header), FL_OK);
#define DIFFERS(stmt)                                                                              \
	do {                                                                                       \
		hd = b.header;                                                                     \
		stmt;                                                                              \
		cr_assert_eq(chain_header_hash(&h, &hd), FL_OK, "%s", #stmt);                      \
		cr_assert_neq(fl_hash_cmp(&h, &h0), 0, "%s", #stmt);                               \
	} while (0)
	DIFFERS(hd.chain_id[0] = 'g');
	DIFFERS(hd.height++);
	DIFFERS(hd.time_ms++);
	DIFFERS(hd.prev_hash.b[0] ^= 1);
	DIFFERS(hd.tx_root.b[1] ^= 1);
	DIFFERS(hd.app_hash.b[2] ^= 1);
	DIFFERS(hd.proposer.b[3] ^= 1);
	DIFFERS(hd.last_commit_hash.b[4] ^= 1);
	DIFFERS(hd.vrf_proof.b[40] ^= 1);
	DIFFERS(hd.beacon.b[5] ^= 1);
#undef DIFFERS
	hd = b.header;
	hd.version = 2;
	cr_assert_eq(chain_header_hash(&h, &hd), FL_EVERSION);
	hd = b.header;
	strcpy(hd.chain_id, "Bad Id");
	cr_assert_eq(chain_header_hash(&h, &hd), FL_EINVAL);
	chain_block_free(&b);
}

Test(block, truncated_at_every_prefix)
{
	uint8_t *buf;
	size_t n = sample_block_bytes(&buf);

	for (size_t len = 0; len < n; len++) {
		int rc = block_decode_rc(buf, len);
		/* a cut inside the tx list can leave too few bytes for the
		 * count, which is refused as truncation before reading on */
		cr_assert_eq(rc, FL_ETRUNC, "cut at %zu of %zu: %d", len, n, rc);
	}
	cr_assert_eq(block_decode_rc(buf, n), FL_OK);
	fl_free(buf);
}

Test(block, trailing_byte)
{
	uint8_t *buf, *longer;
	size_t n = sample_block_bytes(&buf), m;

	longer = chain_sample_splice(buf, n, n, 0, "\x00", 1, &m);
	cr_assert_eq(block_decode_rc(longer, m), FL_ETRAILING);
	fl_free(longer);
	fl_free(buf);
}

Test(block, header_version_and_chain_id)
{
	uint8_t *buf;
	size_t n = sample_block_bytes(&buf);

	buf[0] = 2;
	cr_assert_eq(block_decode_rc(buf, n), FL_EVERSION);
	buf[0] = CHAIN_BLOCK_VERSION;
	buf[2] = 'F'; /* "fedledger-test" -> "Fedledger-test" */
	cr_assert_eq(block_decode_rc(buf, n), FL_EINVAL);
	buf[2] = 0x7f;
	cr_assert_eq(block_decode_rc(buf, n), FL_ENONCANON);
	fl_free(buf);
}

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

Test(block, tx_count_bounded_before_allocation)
{
	uint8_t *buf, *mod, enc[10];
	size_t n = sample_block_bytes(&buf), m, k;

	cr_assert_eq(buf[HEADER_LEN], chain_sample_n_cases);
	k = varint(enc, CHAIN_MAX_BLOCK_TXS + 1);
	mod = chain_sample_splice(buf, n, HEADER_LEN, 1, enc, k, &m);
	cr_assert_eq(block_decode_rc(mod, m), FL_ETOOBIG);
	fl_free(mod);

	/* within the maximum but more than the bytes can hold: refused with
	 * no allocation at all (every allocation would fail here) */
	k = varint(enc, CHAIN_MAX_BLOCK_TXS);
	mod = chain_sample_splice(buf, n, HEADER_LEN, 1, enc, k, &m);
	fl_alloc_fail_after(1);
	cr_assert_eq(block_decode_rc(mod, m), FL_ETRUNC);
	fl_alloc_fail_after(0);
	fl_free(mod);

	/* one more tx than there is: the commit is read as a tx */
	k = varint(enc, chain_sample_n_cases + 1);
	mod = chain_sample_splice(buf, n, HEADER_LEN, 1, enc, k, &m);
	cr_assert_lt(block_decode_rc(mod, m), 0);
	fl_free(mod);
	fl_free(buf);
}

Test(block, oversized_block)
{
	uint8_t *big = fl_calloc(CHAIN_MAX_BLOCK_BYTES + 1, 1);
	chain_block b;
	fl_writer w;

	cr_assert_not_null(big);
	cr_assert_eq(block_decode_rc(big, CHAIN_MAX_BLOCK_BYTES + 1), FL_ETOOBIG);
	fl_free(big);

	cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
	b.n_txs = CHAIN_MAX_BLOCK_TXS + 1; /* refused before reading txs[] */
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_block_encode(&w, &b), FL_ETOOBIG);
	fl_writer_free(&w);
	b.n_txs = (uint32_t)chain_sample_n_cases;
	chain_block_free(&b);
}

/* A block of many large txs crosses CHAIN_MAX_BLOCK_BYTES on encode. */
Test(block, encode_refuses_over_max_bytes)
{
	chain_block b;
	chain_tx big;
	chain_aggregate_entry *entries;
	fl_writer w;
	uint32_t need;

	/* an aggregate of CHAIN_MAX_PARTICIPANTS entries: ~18 KiB */
	cr_assert_eq(chain_sample_tx(&big, CHAIN_TX_AGGREGATE_COMMIT, 0), FL_OK);
	entries = fl_calloc(CHAIN_MAX_PARTICIPANTS, sizeof(*entries));
	cr_assert_not_null(entries);
	for (uint32_t i = 0; i < CHAIN_MAX_PARTICIPANTS; i++) {
		entries[i].participant.b[0] = (uint8_t)(i >> 8);
		entries[i].participant.b[1] = (uint8_t)i;
		entries[i].weight = i;
	}
	fl_free(big.u.aggregate_commit.entries);
	big.u.aggregate_commit.entries = entries;
	big.u.aggregate_commit.n_entries = CHAIN_MAX_PARTICIPANTS;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_tx_encode(&w, &big), FL_OK);
	need = (uint32_t)(CHAIN_MAX_BLOCK_BYTES / w.len + 1);
	fl_writer_free(&w);
	cr_assert_leq(need, CHAIN_MAX_BLOCK_TXS);

	memset(&b, 0, sizeof(b));
	b.header.version = CHAIN_BLOCK_VERSION;
	strcpy(b.header.chain_id, "c");
	cr_assert_eq(chain_sample_prove_beacon(&b.header), FL_OK);
	b.txs = fl_calloc(need, sizeof(*b.txs));
	cr_assert_not_null(b.txs);
	for (uint32_t i = 0; i < need; i++)
		b.txs[i] = big; /* shallow: freed once below */
	b.n_txs = need - 1;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_block_encode(&w, &b), FL_OK, "one tx fewer fits");
	fl_writer_free(&w);
	b.n_txs = need;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_block_encode(&w, &b), FL_ETOOBIG);
	cr_assert_eq(fl_writer_finish(&w), FL_ETOOBIG);
	fl_writer_free(&w);
	fl_free(b.txs);
	chain_tx_free(&big);
}

Test(block, commit_sorted_without_duplicates)
{
	chain_commit c, back;
	fl_hash bh;
	fl_writer w;
	fl_reader r;
	size_t e0 = COMMIT_HEAD_LEN + 1, e1 = e0 + SIG_ENTRY_LEN;
	uint8_t t[SIG_ENTRY_LEN];

	fl_sha256(&bh, "b", 1);
	cr_assert_eq(chain_sample_commit(&c, 9, &bh, 4), FL_OK);
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_commit_encode(&w, &c), FL_OK);
	cr_assert_eq(w.len, COMMIT_HEAD_LEN + 1 + 4 * SIG_ENTRY_LEN);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_commit_decode(&r, &back), FL_OK);
	cr_assert_eq(fl_reader_finish(&r), FL_OK);
	cr_assert_eq(memcmp(&back, &c, sizeof(c)), 0);
	/* each signature is a PRECOMMIT vote of its validator */
	for (uint32_t i = 0; i < back.n_sigs; i++) {
		chain_vote v = {.type = CHAIN_VOTE_PRECOMMIT,
				.height = 9,
				.round = back.round,
				.block_hash = bh,
				.validator = back.sigs[i].validator,
				.sig = back.sigs[i].sig};
		cr_assert_eq(chain_vote_verify(&v, CHAIN_SAMPLE_CHAIN_ID), FL_OK);
	}
	/* every prefix is truncated */
	for (size_t len = 0; len < w.len; len++) {
		fl_reader_init(&r, w.buf, len);
		cr_assert_eq(chain_commit_decode(&r, &back), FL_ETRUNC, "cut at %zu", len);
	}
	/* swapped entries */
	memcpy(t, w.buf + e0, SIG_ENTRY_LEN);
	memcpy(w.buf + e0, w.buf + e1, SIG_ENTRY_LEN);
	memcpy(w.buf + e1, t, SIG_ENTRY_LEN);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_commit_decode(&r, &back), FL_ENONCANON);
	/* the same validator twice */
	memcpy(w.buf + e1, w.buf + e0, FL_PUBKEY_LEN);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_commit_decode(&r, &back), FL_EDUP);
	/* more signatures than validators */
	w.buf[COMMIT_HEAD_LEN] = 0x81; /* 129 */
	{
		uint8_t *mod;
		size_t m;
		mod = chain_sample_splice(w.buf, w.len, COMMIT_HEAD_LEN + 1, 0, "\x01", 1, &m);
		fl_reader_init(&r, mod, m);
		cr_assert_eq(chain_commit_decode(&r, &back), FL_ETOOBIG);
		fl_free(mod);
	}
	fl_writer_free(&w);

	/* the encoder refuses the same */
	back = c;
	back.sigs[1].validator = back.sigs[0].validator;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_commit_encode(&w, &back), FL_EDUP);
	fl_writer_free(&w);
	back = c;
	back.n_sigs = CHAIN_MAX_VALIDATORS + 1;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_commit_encode(&w, &back), FL_ETOOBIG);
	fl_writer_free(&w);
}

Test(block, commit_hash)
{
	chain_commit c;
	fl_hash bh, h1, h2;
	fl_writer w;

	fl_sha256(&bh, "b", 1);
	cr_assert_eq(chain_sample_commit(&c, 9, &bh, 2), FL_OK);
	cr_assert_eq(chain_commit_hash(&h1, &c), FL_OK);
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_commit_encode(&w, &c), FL_OK);
	fl_sha256(&h2, w.buf, w.len);
	fl_writer_free(&w);
	cr_assert_eq(fl_hash_cmp(&h1, &h2), 0);
	c.round++;
	cr_assert_eq(chain_commit_hash(&h2, &c), FL_OK);
	cr_assert_neq(fl_hash_cmp(&h1, &h2), 0);
}

Test(block, decode_alloc_torture)
{
	uint8_t *buf;
	size_t n = sample_block_bytes(&buf);
	unsigned long at;
	int rc = FL_ENOMEM;

	for (at = 1; at < 1000 && rc != FL_OK; at++) {
		chain_block b;
		fl_alloc_fail_after(at);
		rc = chain_block_decode(&b, buf, n);
		fl_alloc_fail_after(0);
		cr_assert(rc == FL_OK || rc == FL_ENOMEM, "rc %d at allocation %lu", rc, at);
		chain_block_free(&b);
	}
	cr_assert_eq(rc, FL_OK);
	cr_assert_gt(at, 3, "the sample block allocates: the torture must have failed some");
	fl_free(buf);
	BLOCK_NO_LEAKS();
}

Test(block, tx_root_out_of_memory)
{
	chain_block b;
	fl_hash root;

	cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
	for (unsigned long at = 1; at < 100; at++) {
		int rc;
		fl_alloc_fail_after(at);
		rc = chain_block_tx_root(&root, &b);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
	}
	chain_block_free(&b);
	BLOCK_NO_LEAKS();
}
