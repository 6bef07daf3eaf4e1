/*
 * fuzz_rpc_tx_body — the POST /v1/txs body parser (node_rpc_parse_tx_body)
 * on arbitrary bytes. Checked: it never writes past its buffer (a cap
 * smaller than the input, so ASan sees an overrun), a success decodes
 * exactly what a hex encoding of the result gives back inside
 * {"tx":"…"}, every failure names its reason and leaves *n zero.
 */
#include "node/rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_rpc_tx_body.c:%d: %s\n", __LINE__, #cond);           \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = size / 2, n = 7;
	uint8_t *out = malloc(cap != 0 ? cap : 1);
	const char *why = NULL;
	int rc = node_rpc_parse_tx_body(data, size, out, cap, &n, &why);

	if (rc == FL_OK) {
		/* The canonical body of what came out parses to the same. */
		char *body = malloc(2 * n + 16);
		uint8_t *again = malloc(n != 0 ? n : 1);
		size_t m = 0;

		check(why == NULL && n > 0 && n <= cap);
		strcpy(body, "{\"tx\":\"");
		fl_hex_encode(body + 7, out, n);
		strcat(body, "\"}");
		check(node_rpc_parse_tx_body((const uint8_t *)body, strlen(body), again, n, &m,
					     &why) == FL_OK);
		check(m == n && memcmp(again, out, n) == 0);
		free(again);
		free(body);
	} else {
		check(rc == FL_EPARSE || rc == FL_ETOOBIG);
		check(why != NULL && n == 0);
	}
	free(out);
	return 0;
}
