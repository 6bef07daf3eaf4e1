/*
 * tools/wallet_keyfile.c — the wallet's encrypted key file (docs/wallet.md,
 * "Key file"): Argon2id (crypto_pwhash) derives 64 bytes from the
 * passphrase; the first 32 key XChaCha20-Poly1305 over the secret key, the
 * last 32 key a BLAKE2b check of the header. Three layers, so each failure
 * gets its own words: the trailing SHA-256 catches a damaged or edited file
 * before any passphrase is asked for, the check says "wrong passphrase",
 * and the AEAD tag (over the header too) catches an edit that recomputed
 * the checksum.
 */
#include "tools/wallet.h"

#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Offsets of the v1 layout. */
#define KF_MAGIC     0
#define KF_VERSION   8
#define KF_KDF       9
#define KF_CIPHER    10
#define KF_RESERVED  11
#define KF_OPSLIMIT  12
#define KF_MEMLIMIT  20
#define KF_SALT      28
#define KF_NONCE     44
#define KF_PUBKEY    68
#define KF_CHECK     100
#define KF_SEALED    116
#define KF_CHECKSUM  164
#define KF_CHECK_LEN 16
#define KF_SALT_LEN  16
#define KF_NONCE_LEN 24
#define KF_TAG_LEN   16

#define KF_KDF_ARGON2ID13 1
#define KF_CIPHER_XCHACHA 1
static const char kf_magic[8] = {'F', 'L', 'W', 'A', 'L', 'L', 'E', 'T'};

/* What a file may ask of Argon2: libsodium's minimums up to four times
 * its "sensitive" preset, so an edited header can neither make the KDF
 * trivial nor make us allocate terabytes before the check fails. */
#define KF_OPS_MAX (4ull * crypto_pwhash_OPSLIMIT_SENSITIVE)
#define KF_MEM_MAX (4ull * crypto_pwhash_MEMLIMIT_SENSITIVE)

_Static_assert(KF_SALT_LEN == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(KF_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(KF_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(KF_SEALED + FL_SECKEY_LEN + KF_TAG_LEN == KF_CHECKSUM, "layout");
_Static_assert(KF_CHECKSUM + FL_HASH_LEN == WALLET_KEYFILE_LEN, "layout");

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int wallet_pwhash_preset(wallet_pwhash *out, const char *name)
{
	if (strcmp(name, "interactive") == 0) {
		out->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		out->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	} else if (strcmp(name, "moderate") == 0) {
		out->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
		out->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
	} else if (strcmp(name, "sensitive") == 0) {
		out->opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
		out->memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
	} else {
		return FL_EINVAL;
	}
	return FL_OK;
}

/* keys[0..32) the AEAD key, keys[32..64) the check key. */
static int derive(uint8_t keys[64], const uint8_t *file, const char *pass, size_t pass_len,
		  char *err, size_t errlen)
{
	if (crypto_pwhash(keys, 64, pass, pass_len, file + KF_SALT, get_u64(file + KF_OPSLIMIT),
			  (size_t)get_u64(file + KF_MEMLIMIT), crypto_pwhash_ALG_ARGON2ID13) != 0) {
		snprintf(err, errlen, "Argon2id could not run (out of memory for %llu bytes?)",
			 (unsigned long long)get_u64(file + KF_MEMLIMIT));
		return FL_ECRYPTO;
	}
	return FL_OK;
}

/* Over what the KDF reads (magic to salt): an edit there cannot be told
 * from a wrong passphrase, since it changes the derived keys. The nonce,
 * public key and ciphertext are left to the AEAD tag, so their edits are
 * named as tampering. */
static void header_check(uint8_t out[KF_CHECK_LEN], const uint8_t *file, const uint8_t keys[64])
{
	crypto_generichash(out, KF_CHECK_LEN, file, KF_NONCE, keys + 32, 32);
}

int wallet_keyfile_seal(uint8_t out[WALLET_KEYFILE_LEN], const fl_seckey *sk, const char *pass,
			size_t pass_len, const wallet_pwhash *params, char *err, size_t errlen)
{
	uint8_t keys[64];
	fl_pubkey pk;
	fl_hash sum;
	int rc;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: cannot initialise");
		return FL_ECRYPTO;
	}
	if ((rc = fl_key_public(&pk, sk)) != FL_OK) {
		snprintf(err, errlen, "not a valid secret key");
		return rc;
	}
	if (params->opslimit < crypto_pwhash_OPSLIMIT_MIN || params->opslimit > KF_OPS_MAX ||
	    params->memlimit < crypto_pwhash_MEMLIMIT_MIN || params->memlimit > KF_MEM_MAX) {
		snprintf(err, errlen, "Argon2id parameters out of range");
		return FL_EINVAL;
	}
	memset(out, 0, WALLET_KEYFILE_LEN);
	memcpy(out + KF_MAGIC, kf_magic, sizeof(kf_magic));
	out[KF_VERSION] = WALLET_KEYFILE_VERSION;
	out[KF_KDF] = KF_KDF_ARGON2ID13;
	out[KF_CIPHER] = KF_CIPHER_XCHACHA;
	put_u64(out + KF_OPSLIMIT, params->opslimit);
	put_u64(out + KF_MEMLIMIT, params->memlimit);
	randombytes_buf(out + KF_SALT, KF_SALT_LEN);
	randombytes_buf(out + KF_NONCE, KF_NONCE_LEN);
	memcpy(out + KF_PUBKEY, pk.b, FL_PUBKEY_LEN);
	if ((rc = derive(keys, out, pass, pass_len, err, errlen)) != FL_OK)
		goto cleanup;
	header_check(out + KF_CHECK, out, keys);
	/* The header is associated data: no byte of it can change unnoticed. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + KF_SEALED, NULL, sk->b, FL_SECKEY_LEN, out,
						   KF_SEALED, NULL, out + KF_NONCE, keys);
	fl_sha256(&sum, out, KF_CHECKSUM);
	memcpy(out + KF_CHECKSUM, sum.b, FL_HASH_LEN);
	rc = FL_OK;

cleanup:
	sodium_memzero(keys, sizeof(keys));
	return rc;
}

int wallet_keyfile_check(const uint8_t *file, size_t n, fl_pubkey *pk, wallet_pwhash *params,
			 char *err, size_t errlen)
{
	uint64_t ops, mem;
	fl_hash sum;

	if (n < sizeof(kf_magic) || memcmp(file, kf_magic, sizeof(kf_magic)) != 0) {
		snprintf(err, errlen, "not a fedledger-wallet key file (no FLWALLET magic)");
		return FL_ECORRUPT;
	}
	if (n > KF_VERSION && file[KF_VERSION] != WALLET_KEYFILE_VERSION) {
		snprintf(err, errlen, "key file version %u is not supported (this wallet reads %u)",
			 (unsigned)file[KF_VERSION], WALLET_KEYFILE_VERSION);
		return FL_EVERSION;
	}
	if (n != WALLET_KEYFILE_LEN) {
		snprintf(err, errlen, "damaged key file: %zu bytes, a version 1 file has %u", n,
			 WALLET_KEYFILE_LEN);
		return FL_ECORRUPT;
	}
	fl_sha256(&sum, file, KF_CHECKSUM);
	if (sodium_memcmp(sum.b, file + KF_CHECKSUM, FL_HASH_LEN) != 0) {
		snprintf(err, errlen, "damaged or tampered key file: checksum mismatch");
		return FL_ECORRUPT;
	}
	if (file[KF_KDF] != KF_KDF_ARGON2ID13 || file[KF_CIPHER] != KF_CIPHER_XCHACHA ||
	    file[KF_RESERVED] != 0) {
		snprintf(err, errlen, "key file names an unknown KDF or cipher");
		return FL_EVERSION;
	}
	ops = get_u64(file + KF_OPSLIMIT);
	mem = get_u64(file + KF_MEMLIMIT);
	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > KF_OPS_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > KF_MEM_MAX) {
		snprintf(err, errlen,
			 "key file: Argon2id opslimit %llu / memlimit %llu out of range",
			 (unsigned long long)ops, (unsigned long long)mem);
		return FL_ECORRUPT;
	}
	memcpy(pk->b, file + KF_PUBKEY, FL_PUBKEY_LEN);
	if (fl_pubkey_check(pk) != FL_OK) {
		snprintf(err, errlen, "key file: the public key is not a curve point");
		return FL_ECORRUPT;
	}
	if (params != NULL) {
		params->opslimit = ops;
		params->memlimit = mem;
	}
	return FL_OK;
}

int wallet_keyfile_open(fl_seckey *sk, fl_pubkey *pk, const uint8_t *file, size_t n,
			const char *pass, size_t pass_len, char *err, size_t errlen)
{
	uint8_t keys[64], check[KF_CHECK_LEN];
	fl_pubkey derived;
	int rc;

	memset(sk, 0, sizeof(*sk));
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: cannot initialise");
		return FL_ECRYPTO;
	}
	if ((rc = wallet_keyfile_check(file, n, pk, NULL, err, errlen)) != FL_OK)
		return rc;
	if ((rc = derive(keys, file, pass, pass_len, err, errlen)) != FL_OK)
		goto cleanup;
	header_check(check, file, keys);
	if (sodium_memcmp(check, file + KF_CHECK, KF_CHECK_LEN) != 0) {
		snprintf(err, errlen, "wrong passphrase");
		rc = FL_EPERM;
		goto cleanup;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(sk->b, NULL, NULL, file + KF_SEALED,
						       FL_SECKEY_LEN + KF_TAG_LEN, file, KF_SEALED,
						       file + KF_NONCE, keys) != 0) {
		snprintf(err, errlen, "tampered key file: the sealed key does not authenticate");
		rc = FL_ESIG;
		goto cleanup;
	}
	if (fl_key_public(&derived, sk) != FL_OK || fl_pubkey_cmp(&derived, pk) != 0) {
		snprintf(err, errlen,
			 "tampered key file: the key inside is not the file's account");
		rc = FL_ESIG;
		goto cleanup;
	}
	rc = FL_OK;

cleanup:
	sodium_memzero(keys, sizeof(keys));
	if (rc != FL_OK)
		sodium_memzero(sk, sizeof(*sk));
	return rc;
}

/* Makes the key's directory (one level, 0700) when it is missing, so the
 * default ~/.fedledger/ needs no setup. */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char buf[WALLET_PATH_MAX];
	struct stat st;
	const char *dir;

	if (strlen(path) >= sizeof(buf)) {
		snprintf(err, errlen, "%s: path too long", path);
		return FL_EINVAL;
	}
	memcpy(buf, path, strlen(path) + 1);
	dir = dirname(buf);
	if (stat(dir, &st) == 0)
		return FL_OK;
	if (mkdir(dir, 0700) != 0) {
		snprintf(err, errlen, "%s: cannot make the directory: %s", dir, strerror(errno));
		return FL_EIO;
	}
	return FL_OK;
}

int wallet_keyfile_save(const char *path, const fl_seckey *sk, const char *pass, size_t pass_len,
			const wallet_pwhash *params, int overwrite, char *err, size_t errlen)
{
	uint8_t file[WALLET_KEYFILE_LEN];
	char why[WALLET_ERR_MAX];
	int rc;

	if (!overwrite && access(path, F_OK) == 0) {
		snprintf(err, errlen,
			 "%s: already exists; not overwriting a key (--force replaces it)", path);
		return FL_EEXIST;
	}
	if ((rc = make_parent(path, err, errlen)) != FL_OK)
		return rc;
	if ((rc = wallet_keyfile_seal(file, sk, pass, pass_len, params, why, sizeof(why))) !=
	    FL_OK) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto cleanup;
	}
	if ((rc = fl_file_write_atomic(path, file, sizeof(file), 0600)) != FL_OK)
		snprintf(err, errlen, "%s: cannot write: %s", path, fl_strerror(rc));

cleanup:
	sodium_memzero(file, sizeof(file));
	return rc;
}
