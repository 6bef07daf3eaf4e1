/*
 * tests/core/test_sigcache.c — the verified-signature cache: a hit is exactly
 * the triple that verified; another message, key or signature next to a
 * cached one is verified (and refused) as if there were no cache; failures
 * are never remembered; the table stays within its bound; and threads share
 * it.
 */
#include "core/core.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	fl_seckey sk;
	fl_pubkey pk;
	fl_hash msg;
	fl_sig sig;
} signed_msg;

static void make_signed(signed_msg *s, uint32_t i)
{
	char label[32];
	int n = snprintf(label, sizeof(label), "sigcache %u", i);

	fl_sha256(&s->msg, label, (size_t)n);
	cr_assert_eq(fl_key_generate(&s->sk, &s->pk), FL_OK);
	cr_assert_eq(fl_sign(&s->sig, &s->sk, &s->msg), FL_OK);
}

Test(sigcache, hit_only_for_the_triple_that_verified)
{
	fl_sigcache *c = NULL;
	signed_msg a, b;
	fl_hash msg2;
	fl_sig sig2;

	make_signed(&a, 1);
	make_signed(&b, 2);
	cr_assert_eq(fl_sigcache_new(&c, 0), FL_OK);
	cr_assert_eq(fl_sigcache_contains(c, &a.msg, &a.pk, &a.sig), 0);
	cr_assert_eq(fl_verify_cached(c, &a.sig, &a.pk, &a.msg), FL_OK);
	cr_assert_eq(fl_sigcache_contains(c, &a.msg, &a.pk, &a.sig), 1);
	cr_assert_eq(fl_verify_cached(c, &a.sig, &a.pk, &a.msg), FL_OK);

	/* The cached signature over another body (message), under another
	 * key, or a flipped signature next to the cached one: all refused. */
	msg2 = a.msg;
	msg2.b[0] ^= 1;
	cr_assert_eq(fl_verify_cached(c, &a.sig, &a.pk, &msg2), FL_ESIG);
	cr_assert_eq(fl_verify_cached(c, &a.sig, &b.pk, &a.msg), FL_ESIG);
	sig2 = a.sig;
	sig2.b[63] ^= 0x80;
	cr_assert_eq(fl_verify_cached(c, &sig2, &a.pk, &a.msg), FL_ESIG);
	/* Another signer's valid signature over the same message. */
	cr_assert_eq(fl_verify_cached(c, &b.sig, &a.pk, &a.msg), FL_ESIG);
	/* A failure is not remembered: refused again, never contained. */
	cr_assert_eq(fl_verify_cached(c, &sig2, &a.pk, &a.msg), FL_ESIG);
	cr_assert_eq(fl_sigcache_contains(c, &a.msg, &a.pk, &sig2), 0);
	cr_assert_eq(fl_sigcache_contains(c, &msg2, &a.pk, &a.sig), 0);
	/* A second valid signature (BIP340 signs with fresh randomness) is a
	 * new triple: verified, then cached on its own. */
	cr_assert_eq(fl_sign(&sig2, &a.sk, &a.msg), FL_OK);
	cr_assert_eq(fl_sigcache_contains(c, &a.msg, &a.pk, &sig2), 0);
	cr_assert_eq(fl_verify_cached(c, &sig2, &a.pk, &a.msg), FL_OK);
	cr_assert_eq(fl_sigcache_contains(c, &a.msg, &a.pk, &sig2), 1);
	fl_sigcache_free(c);
}

/* A lookup-only verify: a hit is a hit, a miss verifies and adds nothing,
 * a bad signature is refused. */
Test(sigcache, lookup_verifies_without_adding)
{
	fl_sigcache *c = NULL;
	signed_msg a, b;
	fl_sig bad;

	make_signed(&a, 3);
	make_signed(&b, 4);
	cr_assert_eq(fl_sigcache_new(&c, 0), FL_OK);
	cr_assert_eq(fl_verify_lookup(c, &a.sig, &a.pk, &a.msg), FL_OK);
	cr_assert_eq(fl_sigcache_contains(c, &a.msg, &a.pk, &a.sig), 0);
	cr_assert_eq(fl_verify_cached(c, &b.sig, &b.pk, &b.msg), FL_OK);
	cr_assert_eq(fl_verify_lookup(c, &b.sig, &b.pk, &b.msg), FL_OK);
	cr_assert_eq(fl_sigcache_contains(c, &b.msg, &b.pk, &b.sig), 1);
	bad = a.sig;
	bad.b[10] ^= 1;
	cr_assert_eq(fl_verify_lookup(c, &bad, &a.pk, &a.msg), FL_ESIG);
	cr_assert_eq(fl_verify_lookup(NULL, &a.sig, &a.pk, &a.msg), FL_OK);
	cr_assert_eq(fl_verify_lookup(NULL, &bad, &a.pk, &a.msg), FL_ESIG);
	fl_sigcache_free(c);
}

Test(sigcache, salted_per_cache)
{
	fl_sigcache *c1 = NULL, *c2 = NULL;
	signed_msg a;

	make_signed(&a, 3);
	cr_assert_eq(fl_sigcache_new(&c1, 64), FL_OK);
	cr_assert_eq(fl_sigcache_new(&c2, 64), FL_OK);
	cr_assert_eq(fl_verify_cached(c1, &a.sig, &a.pk, &a.msg), FL_OK);
	cr_assert_eq(fl_sigcache_contains(c1, &a.msg, &a.pk, &a.sig), 1);
	cr_assert_eq(fl_sigcache_contains(c2, &a.msg, &a.pk, &a.sig), 0);
	/* No cache at all is plain fl_verify. */
	cr_assert_eq(fl_verify_cached(NULL, &a.sig, &a.pk, &a.msg), FL_OK);
	fl_sigcache_free(c1);
	fl_sigcache_free(c2);
	fl_sigcache_free(NULL);
}

Test(sigcache, bounded)
{
	enum { N = 200, CAP = 16 };
	static signed_msg s[N];
	fl_sigcache *c = NULL;
	size_t held = 0;

	cr_assert_eq(fl_sigcache_new(&c, CAP), FL_OK);
	for (uint32_t i = 0; i < N; i++) {
		make_signed(&s[i], 100 + i);
		cr_assert_eq(fl_verify_cached(c, &s[i].sig, &s[i].pk, &s[i].msg), FL_OK);
	}
	for (uint32_t i = 0; i < N; i++)
		held += (size_t)fl_sigcache_contains(c, &s[i].msg, &s[i].pk, &s[i].sig);
	cr_assert_leq(held, CAP, "%zu entries held, at most %d", held, CAP);
	cr_assert_gt(held, 0);
	/* The newest one is always there: an insert never fails. */
	cr_assert_eq(fl_sigcache_contains(c, &s[N - 1].msg, &s[N - 1].pk, &s[N - 1].sig), 1);
	fl_sigcache_free(c);
	c = NULL;
	cr_assert_eq(fl_sigcache_new(&c, ((size_t)1 << 26) + 1), FL_ETOOBIG);
	cr_assert_null(c);
}

typedef struct {
	fl_sigcache *c;
	const signed_msg *s;
	size_t n;
	int bad;
} share_job;

static void *share_thread(void *arg)
{
	share_job *j = arg;

	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < j->n; i++)
			if (fl_verify_cached(j->c, &j->s[i].sig, &j->s[i].pk, &j->s[i].msg) != FL_OK)
				j->bad++;
	return NULL;
}

Test(sigcache, shared_by_threads)
{
	enum { N = 64 };
	static signed_msg s[N];
	share_job jobs[4];
	pthread_t th[4];
	fl_sigcache *c = NULL;

	for (uint32_t i = 0; i < N; i++)
		make_signed(&s[i], 1000 + i);
	cr_assert_eq(fl_sigcache_new(&c, 0), FL_OK);
	for (int k = 0; k < 4; k++) {
		jobs[k] = (share_job){c, s, N, 0};
		cr_assert_eq(pthread_create(&th[k], NULL, share_thread, &jobs[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		cr_assert_eq(jobs[k].bad, 0);
	}
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(fl_sigcache_contains(c, &s[i].msg, &s[i].pk, &s[i].sig), 1);
	fl_sigcache_free(c);
}
