/*
 * fuzz_cons_proposal — node_cons_proposal_decode on arbitrary bytes: never
 * crash, and whatever decodes re-encodes to exactly the input.
 */
#include "node/consensus.h"

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
	node_cons_proposal p;
	fl_writer w;

	if (node_cons_proposal_decode(&p, data, size) != FL_OK)
		return 0;
	check(p.pol_round >= -1 && (p.pol_round < 0 || (uint32_t)p.pol_round < p.round));
	fl_writer_init(&w, 0);
	check(node_cons_proposal_encode(&w, &p) == FL_OK);
	check(w.len == size && memcmp(w.buf, data, size) == 0);
	fl_writer_free(&w);
	return 0;
}
