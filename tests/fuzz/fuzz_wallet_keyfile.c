/*
 * fuzz_wallet_keyfile — the wallet's key file reader (tools/wallet.h) on
 * arbitrary bytes. Input bytes 0..164 are the file's body; the trailing
 * SHA-256 is computed here on half of the runs, so the fuzzer explores the
 * header checks past the checksum instead of stopping at it. Checked: a
 * file passes wallet_keyfile_check only with the exact length, magic,
 * version, ids and Argon2 limits in range; when the limits are cheap the
 * file is opened too, and a sealed key the fuzzer did not seal never opens
 * (the secret key is left zero).
 */
#include "tools/wallet.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_wallet_keyfile.c:%d: %s\n", __LINE__, #cond);        \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t file[WALLET_KEYFILE_LEN + 8];
	char err[WALLET_ERR_MAX];
	wallet_pwhash params;
	size_t n = size < sizeof(file) ? size : sizeof(file);
	fl_seckey sk;
	fl_pubkey pk;
	int rc;

	memcpy(file, data, n);
	if (n == WALLET_KEYFILE_LEN && (data[0] & 1) == 0) {
		fl_hash h;

		fl_sha256(&h, file, WALLET_KEYFILE_LEN - FL_HASH_LEN);
		memcpy(file + WALLET_KEYFILE_LEN - FL_HASH_LEN, h.b, FL_HASH_LEN);
	}
	err[0] = '\0';
	rc = wallet_keyfile_check(file, n, &pk, &params, err, sizeof(err));
	if (rc != FL_OK) {
		check(err[0] != '\0');
		return 0;
	}
	check(n == WALLET_KEYFILE_LEN && memcmp(file, "FLWALLET", 8) == 0);
	check(file[8] == WALLET_KEYFILE_VERSION);
	check(params.opslimit >= crypto_pwhash_OPSLIMIT_MIN);
	check(params.memlimit >= crypto_pwhash_MEMLIMIT_MIN);
	/* Argon2 at the fuzzer's limits only when they are cheap. */
	if (params.opslimit <= 2 && params.memlimit <= 64 * 1024) {
		memset(&sk, 0xaa, sizeof(sk));
		rc = wallet_keyfile_open(&sk, &pk, file, n, "fuzz", 4, err, sizeof(err));
		check(rc == FL_EPERM || rc == FL_ESIG || rc == FL_ECRYPTO);
		for (size_t i = 0; i < sizeof(sk.b); i++)
			check(sk.b[i] == 0);
	}
	return 0;
}
