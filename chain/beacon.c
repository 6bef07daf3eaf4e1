/*
 * chain/beacon.c — the randomness beacon (docs/rounds.md, "The beacon").
 * Each block's proposer proves its ECVRF (core/vrf.c) over alpha = (chain
 * id, height, previous beacon), and the block's beacon is
 * SHA256(previous beacon || VRF output). The output is unique for the
 * proposer's key and the height, so nothing else the proposer picks (which
 * signatures go in the last commit, their order, the txs, the time) moves
 * the beacon; it can only withhold its block.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

int chain_beacon_alpha(fl_writer *w, const char *chain_id, uint64_t height,
		       const fl_hash *prev_beacon)
{
	assert(w != NULL && chain_id != NULL && prev_beacon != NULL);
	if (!chain_id_valid(chain_id, CHAIN_ID_MAX))
		return chain_writer_fail(w, FL_EINVAL);
	fl_write_str(w, chain_id, CHAIN_ID_MAX);
	fl_write_u64(w, height);
	fl_write_fixed(w, prev_beacon->b, FL_HASH_LEN);
	return w->err;
}

void chain_beacon_next(fl_hash *out, const fl_hash *prev_beacon, const fl_hash *vrf_output)
{
	uint8_t buf[2 * FL_HASH_LEN];

	assert(out != NULL && prev_beacon != NULL && vrf_output != NULL);
	memcpy(buf, prev_beacon->b, FL_HASH_LEN);
	memcpy(buf + FL_HASH_LEN, vrf_output->b, FL_HASH_LEN);
	fl_sha256(out, buf, sizeof(buf));
}

int chain_header_prove_beacon(chain_block_header *h, const fl_seckey *sk,
			      const fl_hash *prev_beacon)
{
	fl_pubkey pk;
	fl_hash out;
	fl_writer w;
	int rc;

	assert(h != NULL && sk != NULL && prev_beacon != NULL);
	/* A proof under another key than the proposer's would be refused by
	 * every node: say so here, where the mistake is made. */
	if ((rc = fl_key_public(&pk, sk)) != FL_OK)
		return rc;
	if (fl_pubkey_cmp(&pk, &h->proposer) != 0)
		return FL_EINVAL;
	fl_writer_init(&w, 256);
	if ((rc = chain_beacon_alpha(&w, h->chain_id, h->height, prev_beacon)) != FL_OK)
		goto cleanup;
	if ((rc = fl_vrf_prove(&h->vrf_proof, sk, w.buf, w.len)) != FL_OK)
		goto cleanup;
	if ((rc = fl_vrf_proof_to_hash(&out, &h->vrf_proof)) != FL_OK)
		goto cleanup;
	chain_beacon_next(&h->beacon, prev_beacon, &out);

cleanup:
	fl_writer_free(&w);
	return rc;
}

int chain_header_verify_beacon(const chain_block_header *h, const fl_hash *prev_beacon,
			       const char **reason)
{
	fl_hash out, expect;
	fl_writer w;
	int rc;

	assert(h != NULL && prev_beacon != NULL && reason != NULL);
	*reason = "vrf";
	fl_writer_init(&w, 256);
	if ((rc = chain_beacon_alpha(&w, h->chain_id, h->height, prev_beacon)) != FL_OK)
		goto cleanup;
	if ((rc = fl_vrf_verify(&out, &h->vrf_proof, &h->proposer, w.buf, w.len)) != FL_OK)
		goto cleanup;
	*reason = "beacon";
	chain_beacon_next(&expect, prev_beacon, &out);
	if (fl_hash_cmp(&expect, &h->beacon) != 0) {
		rc = FL_EINVAL;
		goto cleanup;
	}
	*reason = NULL;

cleanup:
	fl_writer_free(&w);
	return rc;
}
