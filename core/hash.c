/*
 * core/hash.c — SHA-256 through OpenSSL's EVP interface (SHA-NI where the
 * CPU has it), and the small fl_hash helpers.
 *
 * The void functions here cannot report an error: OpenSSL's SHA-256 fails
 * only when it cannot allocate its context, and a hash we could not compute
 * must never be mistaken for a computed one, so such a failure aborts.
 */
#include "core/core.h"

#include <assert.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fl_sha256_ctx {
	EVP_MD_CTX *md;
};

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

/* Fetching once spares OpenSSL 3 an implicit provider lookup per digest,
 * which dominates the cost of hashing small Merkle nodes. */
static void md_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md_get(void)
{
	pthread_once(&md_once, md_fetch);
	return sha256_md != NULL ? sha256_md : EVP_sha256();
}

static void crypto_die(const char *what)
{
	fprintf(stderr, "fedledger: fatal: OpenSSL %s failed\n", what);
	abort();
}

int fl_sha256_init(fl_sha256_ctx **out)
{
	fl_sha256_ctx *ctx = NULL;
	int rc;

	assert(out != NULL);
	*out = NULL;
	ctx = fl_calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return FL_ENOMEM;
	ctx->md = EVP_MD_CTX_new();
	if (ctx->md == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	if (EVP_DigestInit_ex(ctx->md, md_get(), NULL) != 1) {
		rc = FL_ECRYPTO;
		goto cleanup;
	}
	*out = ctx;
	return FL_OK;

cleanup:
	fl_sha256_ctx_abort(ctx);
	return rc;
}

void fl_sha256_update(fl_sha256_ctx *ctx, const void *data, size_t n)
{
	assert(ctx != NULL && (data != NULL || n == 0));
	if (n > 0 && EVP_DigestUpdate(ctx->md, data, n) != 1)
		crypto_die("EVP_DigestUpdate");
}

void fl_sha256_final(fl_sha256_ctx *ctx, fl_hash *out)
{
	assert(ctx != NULL && out != NULL);
	if (EVP_DigestFinal_ex(ctx->md, out->b, NULL) != 1)
		crypto_die("EVP_DigestFinal_ex");
	fl_sha256_ctx_abort(ctx);
}

void fl_sha256_ctx_abort(fl_sha256_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->md);
	fl_free(ctx);
}

/* One digest over several pieces, with a stack-owned EVP context. */
static void sha256_parts(fl_hash *out, const void *const *parts, const size_t *lens, size_t count)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_DigestInit_ex(md, md_get(), NULL) != 1)
		crypto_die("EVP_DigestInit_ex");
	for (size_t i = 0; i < count; i++) {
		if (lens[i] > 0 && EVP_DigestUpdate(md, parts[i], lens[i]) != 1)
			crypto_die("EVP_DigestUpdate");
	}
	if (EVP_DigestFinal_ex(md, out->b, NULL) != 1)
		crypto_die("EVP_DigestFinal_ex");
	EVP_MD_CTX_free(md);
}

void fl_sha256(fl_hash *out, const void *data, size_t n)
{
	assert(out != NULL && (data != NULL || n == 0));
	sha256_parts(out, &data, &n, 1);
}

int fl_hash_is_zero(const fl_hash *h)
{
	uint8_t acc = 0;

	assert(h != NULL);
	for (size_t i = 0; i < FL_HASH_LEN; i++)
		acc |= h->b[i];
	return acc == 0;
}

int fl_hash_cmp(const fl_hash *a, const fl_hash *b)
{
	assert(a != NULL && b != NULL);
	int c = memcmp(a->b, b->b, FL_HASH_LEN);
	return (c > 0) - (c < 0);
}

void fl_hash_to_hex(char out[FL_HASH_HEX_LEN + 1], const fl_hash *h)
{
	assert(h != NULL);
	fl_hex_encode(out, h->b, FL_HASH_LEN);
}

int fl_hash_from_hex(fl_hash *out, const char *hex)
{
	assert(out != NULL);
	return fl_hex_decode(out->b, FL_HASH_LEN, hex);
}

void fl_domain_hash(fl_hash *out, const char *kind, const char *chain_id, const void *body,
		    size_t n)
{
	static const char prefix[] = "fedledger/v1/";
	static const uint8_t nul = 0;

	assert(out != NULL && kind != NULL && chain_id != NULL && (body != NULL || n == 0));
	const void *parts[] = {prefix, kind, &nul, chain_id, &nul, body};
	const size_t lens[] = {sizeof(prefix) - 1, strlen(kind), 1, strlen(chain_id), 1, n};
	sha256_parts(out, parts, lens, FL_ARRAY_LEN(parts));
}
