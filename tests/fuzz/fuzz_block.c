/*
 * fuzz_block — chain_block_decode on arbitrary bytes: never crash or leak,
 * and whatever decodes re-encodes to exactly the input; its header hash,
 * commit hash and tx root can be computed.
 */
#include "chain/chain.h"

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
	chain_block b;
	fl_writer w;
	fl_hash h;

	if (chain_block_decode(&b, data, size) == FL_OK) {
		fl_writer_init(&w, 0);
		check(chain_block_encode(&w, &b) == FL_OK);
		check(w.len == size && memcmp(w.buf, data, size) == 0);
		fl_writer_free(&w);
		check(chain_header_hash(&h, &b.header) == FL_OK);
		check(chain_commit_hash(&h, &b.last_commit) == FL_OK);
		check(chain_block_tx_root(&h, &b) == FL_OK);
	}
	chain_block_free(&b);
	return 0;
}
