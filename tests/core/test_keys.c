/* BIP340 keys and signatures, and key files. */
#include "core/core.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* BIP340 test-vectors.csv, index 0: secret key 3, aux_rand 0, message 0. */
#define V0_SECKEY "0000000000000000000000000000000000000000000000000000000000000003"
#define V0_PUBKEY "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9"
#define V0_SIG                                                                                     \
	"E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"                         \
	"25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0"

static void hex_to(void *out, size_t n, const char *hex)
{
	cr_assert_eq(fl_hex_decode(out, n, hex), FL_OK, "bad test hex");
}

Test(keys, bip340_vector_0_verifies)
{
	fl_pubkey pk;
	fl_sig sig;
	fl_hash msg;

	memset(&msg, 0, sizeof(msg));
	cr_assert_eq(fl_pubkey_from_hex(&pk, V0_PUBKEY), FL_OK);
	hex_to(sig.b, sizeof(sig.b), V0_SIG);
	cr_assert_eq(fl_verify(&sig, &pk, &msg), FL_OK);

	msg.b[31] = 1;
	cr_assert_eq(fl_verify(&sig, &pk, &msg), FL_ESIG);
}

Test(keys, bip340_vector_0_pubkey_and_signature)
{
	fl_seckey sk = {{0}};
	fl_pubkey pk, want = {{0}};

	hex_to(sk.b, sizeof(sk.b), V0_SECKEY);
	hex_to(want.b, sizeof(want.b), V0_PUBKEY);
	cr_assert_eq(fl_key_public(&pk, &sk), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&pk, &want), 0);

	/* fl_sign uses fresh aux randomness, so the vector's exact signature is
	 * checked against the library with the vector's aux_rand of zero. */
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	secp256k1_keypair kp;
	uint8_t aux[32] = {0}, msg[32] = {0}, sig[64], want_sig[64];
	cr_assert(secp256k1_keypair_create(ctx, &kp, sk.b));
	cr_assert(secp256k1_schnorrsig_sign32(ctx, sig, msg, &kp, aux));
	hex_to(want_sig, sizeof(want_sig), V0_SIG);
	cr_assert_arr_eq(sig, want_sig, 64);
	secp256k1_context_destroy(ctx);
}

Test(keys, sign_verify_round_trip)
{
	fl_seckey sk;
	fl_pubkey pk, pk2;
	fl_hash msg;
	fl_sig sig, sig2;

	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
	cr_assert_eq(fl_pubkey_check(&pk), FL_OK);
	cr_assert_eq(fl_key_public(&pk2, &sk), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&pk, &pk2), 0);

	fl_domain_hash(&msg, "transfer", "test", "body", 4);
	cr_assert_eq(fl_sign(&sig, &sk, &msg), FL_OK);
	cr_assert_eq(fl_verify(&sig, &pk, &msg), FL_OK);
	/* Fresh aux randomness: a second signature differs and also verifies. */
	cr_assert_eq(fl_sign(&sig2, &sk, &msg), FL_OK);
	cr_assert_neq(memcmp(sig.b, sig2.b, sizeof(sig.b)), 0);
	cr_assert_eq(fl_verify(&sig2, &pk, &msg), FL_OK);
}

Test(keys, flipped_bits_fail)
{
	fl_seckey sk;
	fl_pubkey pk;
	fl_hash msg;
	fl_sig sig;

	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
	fl_sha256(&msg, "m", 1);
	cr_assert_eq(fl_sign(&sig, &sk, &msg), FL_OK);

	for (size_t bit = 0; bit < 8 * FL_SIG_LEN; bit += 7) {
		fl_sig bad = sig;
		bad.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(fl_verify(&bad, &pk, &msg), FL_ESIG, "sig bit %zu", bit);
	}
	for (size_t bit = 0; bit < 8 * FL_HASH_LEN; bit += 5) {
		fl_hash bad = msg;
		bad.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(fl_verify(&sig, &pk, &bad), FL_ESIG, "msg bit %zu", bit);
	}
	for (size_t bit = 0; bit < 8 * FL_PUBKEY_LEN; bit += 5) {
		fl_pubkey bad = pk;
		bad.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(fl_verify(&sig, &bad, &msg), FL_ESIG, "pubkey bit %zu", bit);
	}
}

Test(keys, invalid_secret_and_pubkey)
{
	fl_seckey zero, order;
	fl_pubkey pk;
	fl_sig sig;
	fl_hash msg;

	memset(&zero, 0, sizeof(zero));
	cr_assert_eq(fl_key_public(&pk, &zero), FL_EINVAL);
	memset(&msg, 0, sizeof(msg));
	cr_assert_eq(fl_sign(&sig, &zero, &msg), FL_EINVAL);
	/* The group order n is not a valid secret key either. */
	hex_to(order.b, sizeof(order.b),
	       "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
	cr_assert_eq(fl_key_public(&pk, &order), FL_EINVAL);

	/* x = p (field size) is not a field element: from BIP340 vector 14. */
	cr_assert_eq(fl_pubkey_from_hex(&pk, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
					     "FFFEFFFFFC30"),
		     FL_EINVAL);
	cr_assert_eq(fl_pubkey_from_hex(&pk, "zz"), FL_EPARSE);
	/* Vector 5's key is not on the curve. */
	cr_assert_eq(fl_pubkey_from_hex(&pk, "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4"
					     "FAA04A2D4A34"),
		     FL_EINVAL);

	char hex[FL_PUBKEY_HEX_LEN + 1];
	cr_assert_eq(fl_pubkey_from_hex(&pk, V0_PUBKEY), FL_OK);
	fl_pubkey_to_hex(hex, &pk);
	cr_assert_str_eq(hex, "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9");
}

/* ------------------------------------------------------------- key files */

static char tmpdir[64];

/* Called at the top and bottom of each test rather than as Criterion
 * .init/.fini, which cppcheck cannot parse without Criterion's headers. */
static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/fl-keys-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

static void path_in_tmp(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
}

Test(keyfile, save_load_round_trip)
{
	char path[128];
	fl_seckey sk, back;
	fl_pubkey pk, pk_back;
	struct stat st;

	make_tmpdir();
	path_in_tmp(path, sizeof(path), "node.key");
	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
	cr_assert_eq(fl_key_save(path, &sk, 0), FL_OK);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 85);

	cr_assert_eq(fl_key_load(path, &back, &pk_back), FL_OK);
	cr_assert_arr_eq(back.b, sk.b, sizeof(sk.b));
	cr_assert_eq(fl_pubkey_cmp(&pk, &pk_back), 0);

	/* The documented format, byte for byte. */
	char text[128], hex[65];
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	fl_hex_encode(hex, sk.b, 32);
	char want[128];
	snprintf(want, sizeof(want), "fedledger-seckey-v1 %s\n", hex);
	cr_assert_str_eq(text, want);

	/* No temp files left behind. */
	char probe[160];
	snprintf(probe, sizeof(probe), "test $(ls -A '%s' | wc -l) -eq 1", tmpdir);
	cr_assert_eq(system(probe), 0);
	remove_tmpdir();
}

Test(keyfile, refuses_overwrite)
{
	char path[128];
	fl_seckey a, b, back;
	fl_pubkey pa, pb;

	make_tmpdir();
	path_in_tmp(path, sizeof(path), "node.key");
	cr_assert_eq(fl_key_generate(&a, &pa), FL_OK);
	cr_assert_eq(fl_key_generate(&b, &pb), FL_OK);
	cr_assert_eq(fl_key_save(path, &a, 0), FL_OK);
	cr_assert_eq(fl_key_save(path, &b, 0), FL_EEXIST);
	cr_assert_eq(fl_key_load(path, &back, NULL), FL_OK);
	cr_assert_arr_eq(back.b, a.b, 32);

	char probe[160];
	snprintf(probe, sizeof(probe), "test $(ls -A '%s' | wc -l) -eq 1", tmpdir);
	cr_assert_eq(system(probe), 0);

	cr_assert_eq(fl_key_save(path, &b, 1), FL_OK);
	cr_assert_eq(fl_key_load(path, &back, NULL), FL_OK);
	cr_assert_arr_eq(back.b, b.b, 32);
	remove_tmpdir();
}

Test(keyfile, refuses_group_or_other_access)
{
	char path[128];
	fl_seckey sk, back;
	fl_pubkey pk;

	make_tmpdir();
	path_in_tmp(path, sizeof(path), "node.key");
	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
	cr_assert_eq(fl_key_save(path, &sk, 0), FL_OK);
	cr_assert_eq(chmod(path, 0644), 0);
	memset(&back, 0xaa, sizeof(back));
	cr_assert_eq(fl_key_load(path, &back, NULL), FL_EPERM);
	/* Nothing of the key reaches the caller on refusal. */
	static const uint8_t zero[32];
	cr_assert_arr_eq(back.b, zero, 32);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(fl_key_load(path, &back, NULL), FL_EPERM);
	cr_assert_eq(chmod(path, 0400), 0);
	cr_assert_eq(fl_key_load(path, &back, NULL), FL_OK);
	remove_tmpdir();
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(keyfile, malformed_files)
{
	static const char *const bad[] = {
	    "",
	    "fedledger-seckey-v1 0000000000000000000000000000000000000000000000000000000000000003",
	    "fedledger-seckey-v1 "
	    "0000000000000000000000000000000000000000000000000000000000000003\n\n",
	    "fedledger-seckey-v2 "
	    "0000000000000000000000000000000000000000000000000000000000000003\n",
	    "fedledger-seckey-v1 "
	    "000000000000000000000000000000000000000000000000000000000000000g\n",
	    "fedledger-seckey-v1  "
	    "000000000000000000000000000000000000000000000000000000000000003\n",
	};
	char path[128];
	fl_seckey sk;

	make_tmpdir();
	path_in_tmp(path, sizeof(path), "bad.key");
	for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
		write_file(path, bad[i], 0600);
		cr_assert_eq(fl_key_load(path, &sk, NULL), FL_EPARSE, "case %zu", i);
	}
	write_file(path,
		   "fedledger-seckey-v1 "
		   "0000000000000000000000000000000000000000000000000000000000000000\n",
		   0600);
	cr_assert_eq(fl_key_load(path, &sk, NULL), FL_EINVAL);
	write_file(path,
		   "fedledger-seckey-v1 "
		   "0000000000000000000000000000000000000000000000000000000000000003\n",
		   0600);
	fl_pubkey pk, want;
	cr_assert_eq(fl_key_load(path, &sk, &pk), FL_OK);
	cr_assert_eq(fl_pubkey_from_hex(&want, V0_PUBKEY), FL_OK);
	cr_assert_eq(fl_pubkey_cmp(&pk, &want), 0);

	path_in_tmp(path, sizeof(path), "missing.key");
	cr_assert_eq(fl_key_load(path, &sk, NULL), FL_ENOTFOUND);
	remove_tmpdir();
}

/* Parsed keys are kept in a table (keys.c): a kept key answers only for
 * its own 32 bytes, a key that is not a point is refused every time, and
 * more keys than the table holds still check and verify right. */
Test(keys, parsed_key_table_changes_no_answer)
{
	enum { N = 20000 };
	fl_pubkey near, pk;
	fl_seckey sk;
	fl_hash msg;
	fl_sig sig;
	int invalid = 0;

	cr_assert_eq(fl_key_generate(&sk, &pk), FL_OK);
	cr_assert_eq(fl_pubkey_check(&pk), FL_OK);
	fl_sha256(&msg, "t", 1);
	cr_assert_eq(fl_sign(&sig, &sk, &msg), FL_OK);
	/* Neighbours of a kept key: about half are not points, each time. */
	for (size_t bit = 0; bit < 8 * FL_PUBKEY_LEN; bit++) {
		near = pk;
		near.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (fl_pubkey_check(&near) != FL_OK) {
			invalid++;
			cr_assert_eq(fl_pubkey_check(&near), FL_EINVAL);
			cr_assert_eq(fl_verify(&sig, &near, &msg), FL_ESIG);
		}
	}
	cr_assert_gt(invalid, 0);
	/* Past the table's 16384 keys, the first one is still answered right. */
	for (uint32_t i = 0; i < N; i++) {
		fl_hash h;

		fl_sha256(&h, &i, sizeof(i));
		memcpy(near.b, h.b, FL_PUBKEY_LEN);
		(void)!fl_pubkey_check(&near);
	}
	cr_assert_eq(fl_verify(&sig, &pk, &msg), FL_OK);
	cr_assert_eq(fl_pubkey_check(&pk), FL_OK);
}
