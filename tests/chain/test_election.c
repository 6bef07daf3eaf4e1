/*
 * tests/chain/test_election.c — chain_elect and chain_election_weight: the
 * documented hash stream recomputed here independently, determinism,
 * argument checks, sampling without replacement, and stake weighting by a
 * chi-square test over 20000 beacons (which must also reject a wrong
 * expectation, or it would prove nothing).
 */
#include "chain/chain.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void key_of(fl_pubkey *pk, uint8_t seed)
{
	fl_seckey sk;

	memset(sk.b, seed, sizeof(sk.b));
	cr_assert_eq(fl_key_public(pk, &sk), 0);
}

static int cand_cmp(const void *a, const void *b)
{
	return fl_pubkey_cmp(&((const chain_candidate *)a)->id, &((const chain_candidate *)b)->id);
}

/* n candidates with the given weights, sorted by id (weights follow). */
static void make_cands(chain_candidate *c, const uint64_t *weights, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		key_of(&c[i].id, (uint8_t)(i + 1));
		c[i].weight = weights[i];
	}
	qsort(c, n, sizeof(*c), cand_cmp);
}

static void beacon_of(fl_hash *b, uint32_t i)
{
	uint8_t buf[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};

	fl_sha256(b, buf, sizeof(buf));
}

/* The first pick as docs/state-machine.md states it, written again from
 * the text: SHA256("fedledger/v1/elect" || beacon || profile || 0x00 ||
 * u64le round || u32le 0 || u32le attempt), first 8 bytes LE, rejection
 * above floor(2^64/total)*total, then cumulative weights. */
static size_t reference_first_pick(const chain_candidate *c, size_t n, const fl_hash *beacon,
				   const char *profile, uint64_t round)
{
	unsigned __int128 span = (unsigned __int128)1 << 64;
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += c[i].weight;
	for (uint32_t attempt = 0;; attempt++) {
		uint8_t buf[256];
		size_t len = 0, plen = strlen(profile);
		fl_hash h;
		uint64_t v = 0, cum = 0;

		memcpy(buf, "fedledger/v1/elect", 18);
		len = 18;
		memcpy(buf + len, beacon->b, 32);
		len += 32;
		memcpy(buf + len, profile, plen);
		len += plen;
		buf[len++] = 0;
		for (int k = 0; k < 8; k++)
			buf[len++] = (uint8_t)(round >> (8 * k));
		for (int k = 0; k < 4; k++)
			buf[len++] = 0;
		for (int k = 0; k < 4; k++)
			buf[len++] = (uint8_t)(attempt >> (8 * k));
		fl_sha256(&h, buf, len);
		for (int k = 7; k >= 0; k--)
			v = (v << 8) | h.b[k];
		if ((unsigned __int128)v >= span / total * total)
			continue;
		for (size_t i = 0; i < n; i++) {
			cum += c[i].weight;
			if (v % total < cum)
				return i;
		}
	}
}

Test(election, matches_the_documented_stream)
{
	const uint64_t w[5] = {7, 1, 300, 22, 5};
	chain_candidate c[5];
	fl_pubkey out[4];
	uint32_t n = 0;

	make_cands(c, w, 5);
	for (uint32_t i = 0; i < 200; i++) {
		fl_hash beacon;
		size_t want;

		beacon_of(&beacon, i);
		want = reference_first_pick(c, 5, &beacon, "mnist", 3 + i);
		cr_assert_eq(chain_elect(out, &n, 1, c, 5, &beacon, "mnist", 3 + i), 0);
		cr_assert_eq(n, 1);
		cr_assert_eq(fl_pubkey_cmp(&out[0], &c[want].id), 0, "beacon %u", i);
	}
}

Test(election, rejection_step_is_exercised)
{
	/* total = 2^63 + 1: almost half of all values are rejected, so the
	 * attempt counter matters on many beacons; the reference agrees. */
	const uint64_t w[2] = {(1ull << 62) + 1, 1ull << 62};
	chain_candidate c[2];
	fl_pubkey out[1];
	uint32_t n = 0, first = 0;

	make_cands(c, w, 2);
	for (uint32_t i = 0; i < 100; i++) {
		fl_hash beacon;
		size_t want;

		beacon_of(&beacon, i);
		want = reference_first_pick(c, 2, &beacon, "p", 1);
		cr_assert_eq(chain_elect(out, &n, 1, c, 2, &beacon, "p", 1), 0);
		cr_assert_eq(fl_pubkey_cmp(&out[0], &c[want].id), 0);
		first += want == 0;
	}
	cr_assert(first > 20 && first < 80, "first picked %u of 100", first);
}

Test(election, deterministic_and_input_sensitive)
{
	const uint64_t w[6] = {10, 20, 30, 40, 50, 60};
	chain_candidate c[6];
	fl_pubkey a[4], b[4];
	uint32_t na = 0, nb = 0, differ = 0;
	fl_hash beacon;

	make_cands(c, w, 6);
	beacon_of(&beacon, 77);
	cr_assert_eq(chain_elect(a, &na, 4, c, 6, &beacon, "mnist", 1), 0);
	cr_assert_eq(chain_elect(b, &nb, 4, c, 6, &beacon, "mnist", 1), 0);
	cr_assert_eq(na, 4);
	cr_assert_eq(nb, 4);
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
	/* Distinct picks, each a candidate. */
	for (uint32_t i = 0; i < 4; i++) {
		int found = 0;
		for (uint32_t j = 0; j < i; j++)
			cr_assert_neq(fl_pubkey_cmp(&a[i], &a[j]), 0);
		for (size_t j = 0; j < 6; j++)
			found |= fl_pubkey_cmp(&a[i], &c[j].id) == 0;
		cr_assert(found);
	}
	/* Another round, profile or beacon changes some draw among many. */
	for (uint32_t r = 2; r < 40; r++) {
		cr_assert_eq(chain_elect(b, &nb, 4, c, 6, &beacon, "mnist", r), 0);
		differ += memcmp(a, b, sizeof(a)) != 0;
	}
	cr_assert(differ > 30, "only %u of 38 rounds drew differently", differ);
}

Test(election, arguments)
{
	const uint64_t w[3] = {1, 2, 3};
	chain_candidate c[3], tmp;
	fl_pubkey out[4];
	uint32_t n = 9;
	fl_hash beacon;

	make_cands(c, w, 3);
	beacon_of(&beacon, 1);
	/* More seats than candidates: everyone, once. */
	cr_assert_eq(chain_elect(out, &n, 4, c, 3, &beacon, "p", 1), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(chain_elect(out, &n, 0, c, 3, &beacon, "p", 1), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(chain_elect(out, &n, 2, NULL, 0, &beacon, "p", 1), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(chain_elect(out, &n, 5, c, 3, &beacon, "p", 1), FL_EINVAL);
	cr_assert_eq(chain_elect(out, &n, 1, c, 3, &beacon, "", 1), FL_EINVAL);
	/* Unsorted, duplicate, zero weight. */
	tmp = c[0];
	c[0] = c[1];
	c[1] = tmp;
	cr_assert_eq(chain_elect(out, &n, 1, c, 3, &beacon, "p", 1), FL_EINVAL);
	c[1] = c[0];
	cr_assert_eq(chain_elect(out, &n, 1, c, 3, &beacon, "p", 1), FL_EINVAL);
	make_cands(c, w, 3);
	c[2].weight = 0;
	cr_assert_eq(chain_elect(out, &n, 1, c, 3, &beacon, "p", 1), FL_EINVAL);
	c[2].weight = UINT64_MAX;
	cr_assert_eq(chain_elect(out, &n, 1, c, 3, &beacon, "p", 1), FL_EOVERFLOW);
	/* A single candidate of the largest weight is fine. */
	cr_assert_eq(chain_elect(out, &n, 1, &c[2], 1, &beacon, "p", 1), 0);
	cr_assert_eq(n, 1);
}

/* Pearson's statistic of observed counts against expected ones. */
static double chi_square(const unsigned *obs, const double *expect, int k)
{
	double x = 0;

	for (int i = 0; i < k; i++) {
		double d = (double)obs[i] - expect[i];
		x += d * d / expect[i];
	}
	return x;
}

Test(election, first_pick_follows_stake)
{
	const uint64_t w[4] = {1, 2, 3, 4};
	const int draws = 20000;
	const double critical = 16.27; /* chi-square, 3 d.o.f., p = 0.999 */
	chain_candidate c[4];
	unsigned obs[4] = {0};
	double expect[4], uniform[4];
	uint64_t weight_of[4];

	make_cands(c, w, 4);
	for (int i = 0; i < 4; i++) {
		weight_of[i] = c[i].weight; /* sorting moved the weights */
		expect[i] = draws * (double)weight_of[i] / 10.0;
		uniform[i] = draws / 4.0;
	}
	for (int i = 0; i < draws; i++) {
		fl_hash beacon;
		fl_pubkey out[1];
		uint32_t n = 0;

		beacon_of(&beacon, (uint32_t)i);
		cr_assert_eq(chain_elect(out, &n, 1, c, 4, &beacon, "mnist", 1), 0);
		for (int j = 0; j < 4; j++)
			obs[j] += fl_pubkey_cmp(&out[0], &c[j].id) == 0;
	}
	cr_assert_eq(obs[0] + obs[1] + obs[2] + obs[3], (unsigned)draws);
	cr_assert_lt(chi_square(obs, expect, 4), critical, "chi2 %.2f: %u %u %u %u",
		     chi_square(obs, expect, 4), obs[0], obs[1], obs[2], obs[3]);
	/* The same statistic must throw out a wrong model of the draw. */
	cr_assert_gt(chi_square(obs, uniform, 4), critical);
}

Test(election, later_picks_without_replacement)
{
	/* Weights 1 and 1000: the heavy one is first almost always, and the
	 * light one then always second. */
	const uint64_t w[2] = {1, 1000};
	chain_candidate c[2];
	unsigned heavy_first = 0;

	make_cands(c, w, 2);
	for (uint32_t i = 0; i < 2000; i++) {
		fl_hash beacon;
		fl_pubkey out[2];
		uint32_t n = 0;

		beacon_of(&beacon, i);
		cr_assert_eq(chain_elect(out, &n, 2, c, 2, &beacon, "p", 9), 0);
		cr_assert_eq(n, 2);
		cr_assert_neq(fl_pubkey_cmp(&out[0], &out[1]), 0);
		heavy_first += c[0].weight == 1000 ? fl_pubkey_cmp(&out[0], &c[0].id) == 0
						   : fl_pubkey_cmp(&out[0], &c[1].id) == 0;
	}
	/* Expected 2000*1000/1001 = 1998; binomial sd ~1.4. */
	cr_assert_geq(heavy_first, 1990);
}

Test(election, weight_formula)
{
	/* Whole stake units of the bond times reputation; below one unit
	 * (in particular nothing bonded) the weight is 0: no candidate. */
	cr_assert_eq(chain_election_weight(0, 500, 1000), 0);
	cr_assert_eq(chain_election_weight(999, 500, 1000), 0);
	cr_assert_eq(chain_election_weight(1000, 500, 1000), 500);
	cr_assert_eq(chain_election_weight(2999, 500, 1000), 2 * 500);
	cr_assert_eq(chain_election_weight(3000, 500, 1000), 3 * 500);
	cr_assert_eq(chain_election_weight(3000, 1, 1), 3000);
	cr_assert_eq(chain_election_weight(UINT64_MAX, 1, 1), UINT64_MAX);
	cr_assert_eq(chain_election_weight(UINT64_MAX / 100, 1000, 1), UINT64_MAX);
}
