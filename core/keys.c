/*
 * core/keys.c — secp256k1 BIP340 keys and signatures (libsecp256k1), and
 * secret-key files.
 *
 * One context serves the whole process: created and randomised once, then
 * only read, which libsecp256k1 documents as safe from any thread. Every
 * keypair and secret buffer is wiped before it leaves scope.
 */
#include "core/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static secp256k1_context *secp_ctx;

static void ctx_create(void)
{
	unsigned char seed[32];
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);

	if (ctx == NULL)
		return;
	/* Randomisation blinds the signing computation against side channels;
	 * a context we could not blind is not used at all. */
	if (fl_random_bytes(seed, sizeof(seed)) != FL_OK ||
	    !secp256k1_context_randomize(ctx, seed)) {
		secp256k1_context_destroy(ctx);
		ctx = NULL;
	}
	fl_wipe(seed, sizeof(seed));
	secp_ctx = ctx;
}

const secp256k1_context *fl_secp256k1_context(void)
{
	pthread_once(&ctx_once, ctx_create);
	return secp_ctx;
}

/* Fills pk from a keypair; wipes nothing (the caller owns kp). */
static int keypair_pubkey(const secp256k1_context *ctx, fl_pubkey *pk, const secp256k1_keypair *kp)
{
	secp256k1_xonly_pubkey xonly;

	if (!secp256k1_keypair_xonly_pub(ctx, &xonly, NULL, kp) ||
	    !secp256k1_xonly_pubkey_serialize(ctx, pk->b, &xonly))
		return FL_ECRYPTO;
	return FL_OK;
}

int fl_key_public(fl_pubkey *pk, const fl_seckey *sk)
{
	const secp256k1_context *ctx = fl_secp256k1_context();
	secp256k1_keypair kp;
	int rc;

	assert(pk != NULL && sk != NULL);
	if (ctx == NULL)
		return FL_ECRYPTO;
	if (!secp256k1_keypair_create(ctx, &kp, sk->b)) {
		rc = FL_EINVAL;
		goto cleanup;
	}
	rc = keypair_pubkey(ctx, pk, &kp);

cleanup:
	fl_wipe(&kp, sizeof(kp));
	return rc;
}

int fl_key_generate(fl_seckey *sk, fl_pubkey *pk)
{
	int rc;

	assert(sk != NULL && pk != NULL);
	/* A uniform 32-byte string is a valid scalar except with probability
	 * about 2^-128; retrying keeps the result uniform. */
	for (;;) {
		if ((rc = fl_random_bytes(sk->b, sizeof(sk->b))) != FL_OK)
			break;
		rc = fl_key_public(pk, sk);
		if (rc != FL_EINVAL)
			break;
	}
	if (rc != FL_OK)
		fl_wipe(sk, sizeof(*sk));
	return rc;
}

int fl_pubkey_check(const fl_pubkey *pk)
{
	const secp256k1_context *ctx = fl_secp256k1_context();
	secp256k1_xonly_pubkey xonly;

	assert(pk != NULL);
	if (ctx == NULL)
		return FL_ECRYPTO;
	return secp256k1_xonly_pubkey_parse(ctx, &xonly, pk->b) ? FL_OK : FL_EINVAL;
}

int fl_pubkey_cmp(const fl_pubkey *a, const fl_pubkey *b)
{
	assert(a != NULL && b != NULL);
	int c = memcmp(a->b, b->b, FL_PUBKEY_LEN);
	return (c > 0) - (c < 0);
}

void fl_pubkey_to_hex(char out[FL_PUBKEY_HEX_LEN + 1], const fl_pubkey *pk)
{
	assert(pk != NULL);
	fl_hex_encode(out, pk->b, FL_PUBKEY_LEN);
}

int fl_pubkey_from_hex(fl_pubkey *out, const char *hex)
{
	int rc;

	assert(out != NULL);
	if ((rc = fl_hex_decode(out->b, FL_PUBKEY_LEN, hex)) != FL_OK)
		return rc;
	if ((rc = fl_pubkey_check(out)) != FL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

int fl_sign(fl_sig *sig, const fl_seckey *sk, const fl_hash *msg)
{
	const secp256k1_context *ctx = fl_secp256k1_context();
	secp256k1_keypair kp;
	unsigned char aux[32];
	int rc;

	assert(sig != NULL && sk != NULL && msg != NULL);
	if (ctx == NULL)
		return FL_ECRYPTO;
	if (!secp256k1_keypair_create(ctx, &kp, sk->b)) {
		rc = FL_EINVAL;
		goto cleanup;
	}
	/* BIP340 recommends fresh auxiliary randomness: it protects the nonce
	 * against fault and differential side-channel attacks. */
	if ((rc = fl_random_bytes(aux, sizeof(aux))) != FL_OK)
		goto cleanup;
	rc = secp256k1_schnorrsig_sign32(ctx, sig->b, msg->b, &kp, aux) ? FL_OK : FL_ECRYPTO;

cleanup:
	if (rc != FL_OK)
		memset(sig, 0, sizeof(*sig));
	fl_wipe(&kp, sizeof(kp));
	fl_wipe(aux, sizeof(aux));
	return rc;
}

int fl_verify(const fl_sig *sig, const fl_pubkey *pk, const fl_hash *msg)
{
	const secp256k1_context *ctx = fl_secp256k1_context();
	secp256k1_xonly_pubkey xonly;

	assert(sig != NULL && pk != NULL && msg != NULL);
	if (ctx == NULL)
		return FL_ECRYPTO;
	/* A key that is not a point cannot have signed anything. */
	if (!secp256k1_xonly_pubkey_parse(ctx, &xonly, pk->b))
		return FL_ESIG;
	if (!secp256k1_schnorrsig_verify(ctx, sig->b, msg->b, FL_HASH_LEN, &xonly))
		return FL_ESIG;
	return FL_OK;
}

/* ------------------------------------------------------------- key files */

#define KEY_FILE_TAG     "fedledger-seckey-v1 "
#define KEY_FILE_TAG_LEN (sizeof(KEY_FILE_TAG) - 1)
#define KEY_FILE_LEN     (KEY_FILE_TAG_LEN + 2 * FL_SECKEY_LEN + 1)

int fl_key_save(const char *path, const fl_seckey *sk, int overwrite)
{
	char text[KEY_FILE_LEN + 1];
	fl_pubkey pk;
	int rc;

	assert(path != NULL && sk != NULL);
	/* Refuse to write a key that could never be loaded back. */
	if ((rc = fl_key_public(&pk, sk)) != FL_OK)
		return rc;
	memcpy(text, KEY_FILE_TAG, KEY_FILE_TAG_LEN);
	fl_hex_encode(text + KEY_FILE_TAG_LEN, sk->b, FL_SECKEY_LEN);
	text[KEY_FILE_LEN - 1] = '\n';
	text[KEY_FILE_LEN] = '\0';
	rc = fl_file_write_atomic_ex(path, text, KEY_FILE_LEN, 0600, overwrite);
	fl_wipe(text, sizeof(text));
	return rc;
}

int fl_key_load(const char *path, fl_seckey *sk, fl_pubkey *pk)
{
	/* One byte more than a key file holds, to notice a longer file. */
	char text[KEY_FILE_LEN + 2];
	size_t len = 0;
	struct stat st;
	fl_pubkey pub;
	int fd, rc;

	assert(path != NULL && sk != NULL);
	memset(sk, 0, sizeof(*sk));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? FL_ENOTFOUND : FL_EIO;
	/* fstat on the open descriptor: the checked file is the file we read. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = FL_EIO;
		goto cleanup;
	}
	/* Like ssh with its identity files: a key others can read is no longer
	 * secret, and one others can write may have been swapped. */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = FL_EPERM;
		goto cleanup;
	}
	while (len < sizeof(text) - 1) {
		ssize_t got = read(fd, text + len, sizeof(text) - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = FL_EIO;
			goto cleanup;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	text[len] = '\0';
	if (len != KEY_FILE_LEN || memcmp(text, KEY_FILE_TAG, KEY_FILE_TAG_LEN) != 0 ||
	    text[KEY_FILE_LEN - 1] != '\n') {
		rc = FL_EPARSE;
		goto cleanup;
	}
	text[KEY_FILE_LEN - 1] = '\0';
	if ((rc = fl_hex_decode(sk->b, FL_SECKEY_LEN, text + KEY_FILE_TAG_LEN)) != FL_OK)
		goto cleanup;
	if ((rc = fl_key_public(&pub, sk)) != FL_OK)
		goto cleanup;
	if (pk != NULL)
		*pk = pub;

cleanup:
	if (rc != FL_OK)
		fl_wipe(sk, sizeof(*sk));
	fl_wipe(text, sizeof(text));
	close(fd);
	return rc;
}
