/*
 * fuzz_genesis — genesis_load_string on arbitrary bytes. Beyond "never
 * crash", it checks the property the loader exists for: a genesis that
 * loads writes back to text that loads to the same genesis hash, and that
 * text is a fixed point of writing.
 */
#include "genesis/genesis.h"

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
	char err[GENESIS_ERR_MAX];
	chain_genesis a, b;
	fl_hash ha, hb;
	char *text, *again;

	if (genesis_load_string("fuzz.json", (const char *)data, size, &a, err, sizeof(err)) != 0) {
		/* Every failure says something, on one line. */
		check(err[0] != '\0' && strchr(err, '\n') == NULL);
		chain_genesis_free(&a);
		return 0;
	}
	text = genesis_to_string(&a);
	check(text != NULL);
	check(genesis_load_string("again.json", text, strlen(text), &b, err, sizeof(err)) == 0);
	check(chain_genesis_hash(&ha, &a) == 0 && chain_genesis_hash(&hb, &b) == 0);
	check(fl_hash_cmp(&ha, &hb) == 0);
	again = genesis_to_string(&b);
	check(again != NULL && strcmp(again, text) == 0);
	fl_free(again);
	fl_free(text);
	chain_genesis_free(&a);
	chain_genesis_free(&b);
	return 0;
}
