/* SHA-256, hex, Merkle roots and the domain hash. */
#include "core/core.h"

#include <criterion/criterion.h>
#include <string.h>

static fl_hash from_hex(const char *hex)
{
	fl_hash h;
	cr_assert_eq(fl_hash_from_hex(&h, hex), FL_OK, "bad test hex %s", hex);
	return h;
}

static void assert_hash_eq(const fl_hash *got, const fl_hash *want)
{
	char g[FL_HASH_HEX_LEN + 1], w[FL_HASH_HEX_LEN + 1];

	fl_hash_to_hex(g, got);
	fl_hash_to_hex(w, want);
	cr_assert_str_eq(g, w);
}

Test(hash, sha256_known_vectors)
{
	fl_hash h, want;

	fl_sha256(&h, "", 0);
	want = from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_hash_eq(&h, &want);
	fl_sha256(&h, "abc", 3);
	want = from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_hash_eq(&h, &want);
	fl_sha256(&h, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
	want = from_hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_hash_eq(&h, &want);
}

Test(hash, incremental_matches_one_shot)
{
	static const char text[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	fl_sha256_ctx *ctx;
	fl_hash a, b;

	cr_assert_eq(fl_sha256_init(&ctx), FL_OK);
	for (size_t i = 0; i < sizeof(text) - 1; i += 5) {
		size_t n = sizeof(text) - 1 - i < 5 ? sizeof(text) - 1 - i : 5;
		fl_sha256_update(ctx, text + i, n);
	}
	fl_sha256_update(ctx, NULL, 0);
	fl_sha256_final(ctx, &a);
	fl_sha256(&b, text, sizeof(text) - 1);
	assert_hash_eq(&a, &b);

	cr_assert_eq(fl_sha256_init(&ctx), FL_OK);
	fl_sha256_update(ctx, "x", 1);
	fl_sha256_ctx_abort(ctx);
	fl_sha256_ctx_abort(NULL);
}

Test(hash, helpers)
{
	fl_hash z, a, b;

	memset(&z, 0, sizeof(z));
	cr_assert(fl_hash_is_zero(&z));
	fl_sha256(&a, "a", 1);
	fl_sha256(&b, "b", 1);
	cr_assert_not(fl_hash_is_zero(&a));
	cr_assert_eq(fl_hash_cmp(&a, &a), 0);
	cr_assert_eq(fl_hash_cmp(&a, &b), -fl_hash_cmp(&b, &a));
	cr_assert_eq(fl_hash_cmp(&z, &a), -1);

	char hex[FL_HASH_HEX_LEN + 1];
	fl_hash back;
	fl_hash_to_hex(hex, &a);
	cr_assert_eq(strlen(hex), 64);
	cr_assert_eq(fl_hash_from_hex(&back, hex), FL_OK);
	cr_assert_eq(fl_hash_cmp(&a, &back), 0);
	cr_assert_eq(fl_hash_from_hex(&back, "00"), FL_EPARSE);
}

Test(hex, round_trip_and_case)
{
	static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char hex[2 * sizeof(bytes) + 1];
	uint8_t back[sizeof(bytes)];

	fl_hex_encode(hex, bytes, sizeof(bytes));
	cr_assert_str_eq(hex, "00017f80abff");
	cr_assert_eq(fl_hex_decode(back, sizeof(back), hex), FL_OK);
	cr_assert_arr_eq(back, bytes, sizeof(bytes));
	cr_assert_eq(fl_hex_decode(back, sizeof(back), "00017F80ABFF"), FL_OK);
	cr_assert_arr_eq(back, bytes, sizeof(bytes));

	fl_hex_encode(hex, NULL, 0);
	cr_assert_str_eq(hex, "");
	cr_assert_eq(fl_hex_decode(back, 0, ""), FL_OK);
}

Test(hex, bad_chars_and_lengths)
{
	uint8_t out[2];

	cr_assert_eq(fl_hex_decode(out, 2, "abc"), FL_EPARSE);
	cr_assert_eq(fl_hex_decode(out, 2, "abcde"), FL_EPARSE);
	cr_assert_eq(fl_hex_decode(out, 2, "abcdef"), FL_EPARSE);
	cr_assert_eq(fl_hex_decode(out, 2, ""), FL_EPARSE);
	cr_assert_eq(fl_hex_decode(out, 2, "abcg"), FL_EPARSE);
	cr_assert_eq(fl_hex_decode(out, 2, "0x12"), FL_EPARSE);
	cr_assert_eq(fl_hex_decode(out, 2, " abc"), FL_EPARSE);
	cr_assert_eq(fl_hex_decode(out, 2, "ab:d"), FL_EPARSE);
	cr_assert_eq(fl_hex_decode(out, 0, "a"), FL_EPARSE);
}

/* RFC 6962 by its definition, spelled out with fl_sha256 for the tests. */
static fl_hash leaf_hash(const fl_hash *leaf)
{
	uint8_t buf[33];
	fl_hash h;

	buf[0] = 0x00;
	memcpy(buf + 1, leaf->b, 32);
	fl_sha256(&h, buf, sizeof(buf));
	return h;
}

static fl_hash node_hash(fl_hash l, fl_hash r)
{
	uint8_t buf[65];
	fl_hash h;

	buf[0] = 0x01;
	memcpy(buf + 1, l.b, 32);
	memcpy(buf + 33, r.b, 32);
	fl_sha256(&h, buf, sizeof(buf));
	return h;
}

static fl_hash reference_root(const fl_hash *leaves, size_t n)
{
	size_t k = 1;

	if (n == 1)
		return leaf_hash(&leaves[0]);
	while (k * 2 < n)
		k *= 2;
	return node_hash(reference_root(leaves, k), reference_root(leaves + k, n - k));
}

static void make_leaves(fl_hash *leaves, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)i;
		fl_sha256(&leaves[i], &b, 1);
	}
}

Test(merkle, known_structure)
{
	fl_hash l[5], root, want;

	make_leaves(l, 5);

	cr_assert_eq(fl_merkle_root(&root, NULL, 0), FL_OK);
	fl_sha256(&want, "", 0);
	assert_hash_eq(&root, &want);

	cr_assert_eq(fl_merkle_root(&root, l, 1), FL_OK);
	want = leaf_hash(&l[0]);
	assert_hash_eq(&root, &want);

	cr_assert_eq(fl_merkle_root(&root, l, 2), FL_OK);
	want = node_hash(leaf_hash(&l[0]), leaf_hash(&l[1]));
	assert_hash_eq(&root, &want);

	/* Three leaves: the split is 2 + 1, the third leaf is not duplicated. */
	cr_assert_eq(fl_merkle_root(&root, l, 3), FL_OK);
	want = node_hash(node_hash(leaf_hash(&l[0]), leaf_hash(&l[1])), leaf_hash(&l[2]));
	assert_hash_eq(&root, &want);

	/* Five leaves: 4 + 1. */
	cr_assert_eq(fl_merkle_root(&root, l, 5), FL_OK);
	want = node_hash(node_hash(node_hash(leaf_hash(&l[0]), leaf_hash(&l[1])),
				   node_hash(leaf_hash(&l[2]), leaf_hash(&l[3]))),
			 leaf_hash(&l[4]));
	assert_hash_eq(&root, &want);
}

Test(merkle, matches_recursive_definition)
{
	fl_hash l[70], root, want;

	make_leaves(l, FL_ARRAY_LEN(l));
	for (size_t n = 1; n <= FL_ARRAY_LEN(l); n++) {
		cr_assert_eq(fl_merkle_root(&root, l, n), FL_OK);
		want = reference_root(l, n);
		cr_assert_eq(fl_hash_cmp(&root, &want), 0, "n = %zu", n);
	}
}

Test(merkle, no_duplicate_last_leaf_collision)
{
	/* Bitcoin's tree gives [a,b,c] and [a,b,c,c] the same root (CVE-2012-2459). */
	fl_hash l[4], r3, r4;

	make_leaves(l, 3);
	l[3] = l[2];
	cr_assert_eq(fl_merkle_root(&r3, l, 3), FL_OK);
	cr_assert_eq(fl_merkle_root(&r4, l, 4), FL_OK);
	cr_assert_neq(fl_hash_cmp(&r3, &r4), 0);
}

Test(hash, domain_hash_layout)
{
	static const uint8_t body[] = {1, 2, 3};
	static const char expect_pre[] = "fedledger/v1/transfer\0testnet-1\0";
	uint8_t buf[sizeof(expect_pre) - 1 + sizeof(body)];
	fl_hash got, want;

	memcpy(buf, expect_pre, sizeof(expect_pre) - 1);
	memcpy(buf + sizeof(expect_pre) - 1, body, sizeof(body));
	fl_sha256(&want, buf, sizeof(buf));
	fl_domain_hash(&got, "transfer", "testnet-1", body, sizeof(body));
	assert_hash_eq(&got, &want);

	/* Moving a byte between kind and chain id changes the hash. */
	fl_hash other;
	fl_domain_hash(&other, "transfert", "estnet-1", body, sizeof(body));
	cr_assert_neq(fl_hash_cmp(&got, &other), 0);
	fl_domain_hash(&other, "transfer", "testnet-1", NULL, 0);
	cr_assert_neq(fl_hash_cmp(&got, &other), 0);
}
