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

/*
 * Parsed public keys. Parsing an x-only key computes a square root (about a
 * tenth of a BIP340 verify), and a node parses the same accounts' keys over
 * and over: every transfer's recipient on every encode, every sender on
 * every verify. A bounded table of 4-way buckets (clock eviction, striped
 * locks) keeps the parsed form of keys that parsed; a key is found only by
 * its full 32 bytes, so the table changes no result. Buckets are chosen by
 * a salted hash so that keys an attacker picks cannot crowd one bucket.
 */
#define PK_WAYS    4
#define PK_BUCKETS 4096 /* 16384 keys, about 1.6 MiB */
#define PK_STRIPES 64

typedef struct {
	uint8_t key[PK_WAYS][FL_PUBKEY_LEN];
	secp256k1_xonly_pubkey parsed[PK_WAYS];
	uint8_t used, hand;
} pk_bucket;

static pk_bucket pk_table[PK_BUCKETS];
static pthread_mutex_t pk_locks[PK_STRIPES];
static uint8_t pk_salt[16];

static size_t pk_bucket_of(const fl_pubkey *pk)
{
	uint8_t buf[sizeof(pk_salt) + FL_PUBKEY_LEN];
	fl_hash h;

	memcpy(buf, pk_salt, sizeof(pk_salt));
	memcpy(buf + sizeof(pk_salt), pk->b, FL_PUBKEY_LEN);
	fl_sha256(&h, buf, sizeof(buf));
	return ((size_t)h.b[0] << 8 | h.b[1]) % PK_BUCKETS;
}

/* secp256k1_xonly_pubkey_parse through the table: 1 if pk is a point. */
static int pubkey_parse(const secp256k1_context *ctx, secp256k1_xonly_pubkey *out,
			const fl_pubkey *pk)
{
	size_t i = pk_bucket_of(pk);
	pthread_mutex_t *mu = &pk_locks[i % PK_STRIPES];
	pk_bucket *b = &pk_table[i];
	int w;

	pthread_mutex_lock(mu);
	for (w = 0; w < PK_WAYS; w++) {
		if ((b->used >> w & 1) && memcmp(b->key[w], pk->b, FL_PUBKEY_LEN) == 0) {
			*out = b->parsed[w];
			pthread_mutex_unlock(mu);
			return 1;
		}
	}
	pthread_mutex_unlock(mu);
	if (!secp256k1_xonly_pubkey_parse(ctx, out, pk->b))
		return 0;
	pthread_mutex_lock(mu);
	for (w = 0; w < PK_WAYS && (b->used >> w & 1); w++)
		;
	if (w == PK_WAYS) {
		w = b->hand;
		b->hand = (uint8_t)((b->hand + 1) % PK_WAYS);
	}
	memcpy(b->key[w], pk->b, FL_PUBKEY_LEN);
	b->parsed[w] = *out;
	b->used |= (uint8_t)(1u << w);
	pthread_mutex_unlock(mu);
	return 1;
}

static void ctx_create(void)
{
	unsigned char seed[32];
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);

	for (size_t i = 0; i < PK_STRIPES; i++)
		pthread_mutex_init(&pk_locks[i], NULL);
	/* Without a salt the table still works; only its spread is weaker. */
	if (fl_random_bytes(pk_salt, sizeof(pk_salt)) != FL_OK)
		memset(pk_salt, 0, sizeof(pk_salt));
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
	return pubkey_parse(ctx, &xonly, pk) ? FL_OK : FL_EINVAL;
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
	if (!pubkey_parse(ctx, &xonly, pk))
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
