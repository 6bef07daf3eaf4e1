/*
 * chain/election.c — the coordinator draw (design.md §5): weighted sampling
 * without replacement from a hash stream seeded by the opening block's
 * beacon. Every node computes the same draw from the same state, and the
 * rejection step keeps it free of modulo bias, so a candidate's chance of
 * being drawn first is exactly weight / total weight.
 *
 * Draw i, attempt a: v = first 8 bytes, little-endian, of
 *   SHA256("fedledger/v1/elect" || beacon || profile || 0x00 ||
 *          u64le round || u32le i || u32le a)
 * v is rejected (a+1) when v >= floor(2^64 / total) * total; otherwise the
 * pick is the first remaining candidate whose cumulative weight exceeds
 * v mod total. The pick leaves the pool and the next draw begins.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

#define ELECT_TAG "fedledger/v1/elect"

static void put_le(uint8_t *out, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t draw_value(const fl_hash *beacon, const char *profile, size_t plen, uint64_t round,
			   uint32_t i, uint32_t attempt)
{
	uint8_t buf[sizeof(ELECT_TAG) - 1 + FL_HASH_LEN + CHAIN_PROFILE_ID_MAX + 1 + 8 + 4 + 4];
	size_t n = 0;
	fl_hash h;
	uint64_t v = 0;

	memcpy(buf, ELECT_TAG, sizeof(ELECT_TAG) - 1);
	n += sizeof(ELECT_TAG) - 1;
	memcpy(buf + n, beacon->b, FL_HASH_LEN);
	n += FL_HASH_LEN;
	memcpy(buf + n, profile, plen);
	n += plen;
	buf[n++] = 0;
	put_le(buf + n, round, 8);
	n += 8;
	put_le(buf + n, i, 4);
	n += 4;
	put_le(buf + n, attempt, 4);
	n += 4;
	fl_sha256(&h, buf, n);
	for (int b = 7; b >= 0; b--)
		v = (v << 8) | h.b[b];
	return v;
}

int chain_elect(fl_pubkey *out, uint32_t *n_out, uint32_t k, const chain_candidate *cands,
		size_t n_cands, const fl_hash *beacon, const char *profile, uint64_t round)
{
	size_t taken_idx[CHAIN_MAX_COORDINATORS];
	uint64_t total = 0;
	size_t plen;

	assert(out != NULL && n_out != NULL && beacon != NULL && profile != NULL);
	assert(cands != NULL || n_cands == 0);
	*n_out = 0;
	plen = strnlen(profile, CHAIN_PROFILE_ID_MAX + 1);
	if (k > CHAIN_MAX_COORDINATORS || plen == 0 || plen > CHAIN_PROFILE_ID_MAX)
		return FL_EINVAL;
	/* The draw reads the pool in order: only one order may be valid. */
	for (size_t i = 0; i < n_cands; i++) {
		if (cands[i].weight == 0)
			return FL_EINVAL;
		if (i > 0 && fl_pubkey_cmp(&cands[i - 1].id, &cands[i].id) >= 0)
			return FL_EINVAL;
		if (cands[i].weight > UINT64_MAX - total)
			return FL_EOVERFLOW;
		total += cands[i].weight;
	}
	if (k > n_cands)
		k = (uint32_t)n_cands;
	for (uint32_t i = 0; i < k; i++) {
		/* rem = 2^64 mod total, without 2^64. The accepted values are
		 * [0, 2^64 - rem) = [0, floor(2^64/total)*total): a whole number
		 * of copies of [0, total), so v mod total is uniform. */
		uint64_t rem = (UINT64_MAX % total + 1) % total;
		uint64_t last_ok = UINT64_MAX - rem;
		uint64_t v = 0, pick, cum = 0;
		uint32_t attempt = 0;
		size_t c = 0;

		for (;;) {
			v = draw_value(beacon, profile, plen, round, i, attempt);
			if (v <= last_ok)
				break;
			/* Each attempt is rejected with probability < 1/2. */
			if (attempt == UINT32_MAX)
				return FL_ECRYPTO;
			attempt++;
		}
		pick = v % total;
		for (c = 0; c < n_cands; c++) {
			int gone = 0;
			for (uint32_t j = 0; j < i; j++)
				gone |= taken_idx[j] == c;
			if (gone)
				continue;
			cum += cands[c].weight;
			if (pick < cum)
				break;
		}
		assert(c < n_cands);
		taken_idx[i] = c;
		out[i] = cands[c].id;
		total -= cands[c].weight;
		*n_out = i + 1;
	}
	return FL_OK;
}

/* (bonded / stake_unit) * reputation: stake counts in whole units, so dust
 * does not move the draw, and less than one unit bonded (in particular none)
 * is weight 0, which is not a candidate: a seat in the draw costs stake that
 * a misdeed as coordinator can burn. A liquid balance counts for nothing. */
uint64_t chain_election_weight(uint64_t bonded, uint32_t reputation, uint64_t stake_unit)
{
	uint64_t units;

	assert(stake_unit > 0);
	units = bonded / stake_unit;
	if (reputation != 0 && units > UINT64_MAX / reputation)
		return UINT64_MAX;
	return units * reputation;
}
