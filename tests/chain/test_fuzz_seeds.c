/*
 * tests/chain/test_fuzz_seeds.c — the checked-in seeds of fuzz_tx and
 * fuzz_block (tests/fuzz/corpus/) are valid, canonical encodings, one per
 * sample case, so the fuzzers start from inputs that reach deep into the
 * decoders. Run from the repository root (as tests/run.sh does).
 *
 * FEDLEDGER_WRITE_SEEDS=1 (re)writes them from tests/support/chain_sample.c
 * first: do that when an encoding changes, then review and commit them.
 */
#include "chain/chain.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TX_SEEDS    "tests/fuzz/corpus/fuzz_tx"
#define BLOCK_SEEDS "tests/fuzz/corpus/fuzz_block"

static int writing(void)
{
	const char *v = getenv("FEDLEDGER_WRITE_SEEDS");

	return v != NULL && strcmp(v, "1") == 0;
}

static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(fl_file_write_atomic(path, p, n, 0644), FL_OK, "%s", path);
}

static size_t read_seed(const char *dir, const char *name, uint8_t **p)
{
	char path[256];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(fl_file_read(path, p, &n, CHAIN_MAX_BLOCK_BYTES), FL_OK,
		     "%s missing (FEDLEDGER_WRITE_SEEDS=1 writes it)", path);
	return n;
}

Test(fuzz_seeds, tx_seeds_are_canonical)
{
	for (size_t i = 0; i < chain_sample_n_cases; i++) {
		chain_tx tx;
		uint8_t *buf, *again;
		size_t n;

		if (writing()) {
			cr_assert_eq(chain_sample_signed_tx(&tx, chain_sample_cases[i].kind,
							    chain_sample_cases[i].variant, 1),
				     FL_OK);
			n = chain_sample_tx_bytes(&tx, &buf);
			write_seed(TX_SEEDS, chain_sample_cases[i].name, buf, n);
			fl_free(buf);
			chain_tx_free(&tx);
		}
		n = read_seed(TX_SEEDS, chain_sample_cases[i].name, &buf);
		cr_assert_eq(chain_tx_decode(&tx, buf, n), FL_OK, "%s", chain_sample_cases[i].name);
		cr_assert_eq(tx.kind, chain_sample_cases[i].kind);
		cr_assert_eq(chain_tx_verify(&tx, CHAIN_SAMPLE_CHAIN_ID), FL_OK);
		cr_assert_eq(chain_sample_tx_bytes(&tx, &again), n);
		cr_assert_arr_eq(again, buf, n);
		fl_free(again);
		fl_free(buf);
		chain_tx_free(&tx);
	}
}

static void check_block_seed(const char *name)
{
	chain_block b;
	uint8_t *buf, *again;
	size_t n = read_seed(BLOCK_SEEDS, name, &buf);

	cr_assert_eq(chain_block_decode(&b, buf, n), FL_OK, "%s", name);
	cr_assert_eq(chain_sample_block_bytes(&b, &again), n);
	cr_assert_arr_eq(again, buf, n);
	fl_free(again);
	fl_free(buf);
	chain_block_free(&b);
}

Test(fuzz_seeds, block_seeds_are_canonical)
{
	if (writing()) {
		chain_block b;
		uint8_t *buf;
		size_t n;

		cr_assert_eq(chain_sample_block(&b, 5), FL_OK);
		n = chain_sample_block_bytes(&b, &buf);
		write_seed(BLOCK_SEEDS, "every_kind", buf, n);
		fl_free(buf);
		chain_block_free(&b);

		/* the first block after genesis: no txs, empty commit */
		memset(&b, 0, sizeof(b));
		b.header.version = CHAIN_BLOCK_VERSION;
		strcpy(b.header.chain_id, CHAIN_SAMPLE_CHAIN_ID);
		b.header.height = 1;
		cr_assert_eq(chain_sample_prove_beacon(&b.header), FL_OK);
		cr_assert_eq(chain_block_tx_root(&b.header.tx_root, &b), FL_OK);
		n = chain_sample_block_bytes(&b, &buf);
		write_seed(BLOCK_SEEDS, "empty", buf, n);
		fl_free(buf);
	}
	check_block_seed("every_kind");
	check_block_seed("empty");
}
