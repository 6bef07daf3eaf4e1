/*
 * fuzz_tx — chain_tx_decode on arbitrary bytes. Beyond "never crash or
 * leak", it checks the property the codec promises: whatever decodes
 * re-encodes to exactly the input (one encoding per tx), and so does a deep
 * copy of it; hashing and the sighash work on anything that decoded.
 */
#include "chain/chain.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

/* Encodes tx and aborts unless the bytes are exactly data[0..size). */
static void check_encodes_to(const chain_tx *tx, const uint8_t *data, size_t size)
{
	fl_writer w;

	fl_writer_init(&w, 0);
	check(chain_tx_encode(&w, tx) == FL_OK);
	check(w.len == size && memcmp(w.buf, data, size) == 0);
	fl_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chain_tx tx, copy;
	fl_hash h;

	if (chain_tx_decode(&tx, data, size) == FL_OK) {
		check_encodes_to(&tx, data, size);
		check(chain_tx_copy(&copy, &tx) == FL_OK);
		chain_tx_free(&tx);
		check_encodes_to(&copy, data, size);
		check(chain_tx_hash(&h, &copy) == FL_OK);
		check(chain_tx_sighash(&h, "fuzz", &copy) == FL_OK);
		chain_tx_free(&copy);
	}
	chain_tx_free(&tx);
	return 0;
}
