/*
 * fl/rng.c — the engine's random numbers: xoshiro256** seeded through
 * splitmix64 (Blackman & Vigna). Portable integer arithmetic, so a seed gives
 * the same stream on every machine; the samplers on top use only IEEE double
 * operations whose results C and IEEE 754 pin down (+ − × ÷ sqrt, log).
 */
#include "fl/fl.h"

#include <assert.h>
#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void fl_rng_seed(fl_rng *rng, uint64_t seed)
{
	uint64_t x = seed;

	assert(rng != NULL);
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

void fl_rng_derive(fl_rng *rng, uint64_t seed, uint64_t a, uint64_t b)
{
	/* Mixing each part through splitmix64 keeps nearby (a, b) pairs from
	 * giving correlated streams. */
	uint64_t x = seed;
	uint64_t k = splitmix64(&x);

	x = k ^ a;
	k = splitmix64(&x);
	x = k ^ b;
	fl_rng_seed(rng, splitmix64(&x));
}

uint64_t fl_rng_next(fl_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t fl_rng_below(fl_rng *rng, uint32_t n)
{
	/* Lemire's multiply-shift with rejection: unbiased, usually one draw. */
	uint64_t m;
	uint32_t low, threshold;

	assert(n > 0);
	m = (uint64_t)(uint32_t)(fl_rng_next(rng) >> 32) * n;
	low = (uint32_t)m;
	if (low < n) {
		threshold = (uint32_t)(-n) % n;
		while (low < threshold) {
			m = (uint64_t)(uint32_t)(fl_rng_next(rng) >> 32) * n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

double fl_rng_uniform(fl_rng *rng)
{
	return (double)(fl_rng_next(rng) >> 11) * 0x1.0p-53;
}

double fl_rng_gauss(fl_rng *rng)
{
	/* Marsaglia's polar method; the spare value is dropped so the stream
	 * position depends only on how many normals were drawn. */
	double u, v, s;

	do {
		u = 2.0 * fl_rng_uniform(rng) - 1.0;
		v = 2.0 * fl_rng_uniform(rng) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	return u * sqrt(-2.0 * log(s) / s);
}

double fl_rng_gamma(fl_rng *rng, double shape)
{
	/* Marsaglia & Tsang (2000); shape < 1 through the boost
	 * Gamma(a) = Gamma(a + 1) · U^(1/a). */
	double d, c, x, v, u;

	assert(shape > 0.0);
	if (shape < 1.0) {
		double g = fl_rng_gamma(rng, shape + 1.0);

		do
			u = fl_rng_uniform(rng);
		while (u == 0.0);
		return g * pow(u, 1.0 / shape);
	}
	d = shape - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		do {
			x = fl_rng_gauss(rng);
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		u = fl_rng_uniform(rng);
		if (u < 1.0 - 0.0331 * (x * x) * (x * x))
			return d * v;
		if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v;
	}
}
