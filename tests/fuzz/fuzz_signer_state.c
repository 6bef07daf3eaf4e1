/*
 * fuzz_signer_state — the signer's state file bytes (node/signer.h):
 * node_sign_state_decode on arbitrary bytes, copied into a buffer of
 * exactly their size so ASan sees a read past the end.
 *
 * The decoder must accept exactly what the encoder writes: on FL_OK the
 * input is 154 bytes, the fields are in range (step 0..3, "nothing
 * signed" all zero, height >= 1 otherwise) and encoding what was decoded
 * gives back the very bytes; on failure it is FL_ECORRUPT with the outputs
 * zeroed, so a caller cannot start from half a state.
 */
#include "node/signer.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1), out[NODE_SIGN_STATE_LEN];
	node_sign_state st;
	fl_pubkey pk;
	int rc;

	check(buf != NULL);
	if (size > 0)
		memcpy(buf, data, size);
	rc = node_sign_state_decode(buf, size, &pk, &st);
	if (rc != FL_OK) {
		check(rc == FL_ECORRUPT);
		check(all_zero(&st, sizeof(st)) && all_zero(&pk, sizeof(pk)));
		free(buf);
		return 0;
	}
	check(size == NODE_SIGN_STATE_LEN);
	check(st.step <= NODE_SIGN_PRECOMMIT);
	if (st.step == 0)
		check(st.height == 0 && st.round == 0 && all_zero(&st.digest, sizeof(st.digest)) &&
		      all_zero(&st.sig, sizeof(st.sig)));
	else
		check(st.height >= 1);
	node_sign_state_encode(out, &pk, &st);
	check(memcmp(out, buf, NODE_SIGN_STATE_LEN) == 0);
	free(buf);
	return 0;
}
