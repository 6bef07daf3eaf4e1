/*
 * fuzz_vrf — a VRF proof read from arbitrary bytes, then verified under the
 * next 32 bytes as a key for the rest as alpha: never crash; a proof that
 * decodes re-encodes to exactly its 81 bytes and has an output; one that
 * does not decode fails the canonical check and never verifies; a proof
 * that verifies gives the output proof_to_hash gives.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fl_vrf_proof proof, raw;
	fl_pubkey pk;
	fl_reader r;
	fl_writer w;
	fl_hash out, h;
	int decoded, rc;

	fl_reader_init(&r, data, size);
	decoded = fl_read_vrf_proof(&r, &proof) == FL_OK;
	if (size < FL_VRF_PROOF_LEN) {
		check(!decoded && r.err == FL_ETRUNC);
		return 0;
	}
	memcpy(raw.b, data, FL_VRF_PROOF_LEN);
	if (decoded) {
		check(memcmp(proof.b, data, FL_VRF_PROOF_LEN) == 0);
		fl_writer_init(&w, 0);
		check(fl_write_vrf_proof(&w, &proof) == FL_OK);
		check(w.len == FL_VRF_PROOF_LEN && memcmp(w.buf, data, FL_VRF_PROOF_LEN) == 0);
		fl_writer_free(&w);
		check(fl_vrf_proof_to_hash(&h, &proof) == FL_OK);
	} else {
		check(r.err == FL_EINVAL && fl_vrf_proof_check(&raw) == FL_EINVAL);
	}
	if (size < FL_VRF_PROOF_LEN + FL_PUBKEY_LEN)
		return 0;
	memcpy(pk.b, data + FL_VRF_PROOF_LEN, FL_PUBKEY_LEN);
	size_t n = size - FL_VRF_PROOF_LEN - FL_PUBKEY_LEN;
	rc = fl_vrf_verify(&out, &raw, &pk, data + FL_VRF_PROOF_LEN + FL_PUBKEY_LEN, n);
	if (n > FL_VRF_ALPHA_MAX) {
		check(rc == FL_ETOOBIG);
	} else if (!decoded) {
		check(rc == FL_ESIG);
	} else {
		check(rc == FL_OK || rc == FL_ESIG);
		if (rc == FL_OK)
			check(memcmp(out.b, h.b, FL_HASH_LEN) == 0);
	}
	return 0;
}
