/*
 * tools/testnet_accounts.c — the funded accounts of `fedledger-testnet init
 * --accounts N`: N fresh keys, each funded in the genesis, and
 * DIR/accounts.keys (0600) holding one line per account,
 * "<public key hex> <secret key hex>\n", so load generators
 * (fedledger-bench node) and wallets can sign as them. Test networks only:
 * the secrets sit in one plain file.
 */
#include "tools/testnet.h"

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_LEN (2 * FL_PUBKEY_LEN + 1 + 2 * FL_SECKEY_LEN + 1)

static int keys_path(char *out, size_t outlen, const char *dir)
{
	int n = snprintf(out, outlen, "%s/accounts.keys", dir);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int testnet_accounts_make(const char *dir, uint32_t n, json_t *balances, char *err, size_t errlen)
{
	char path[TESTNET_PATH_MAX], hex[2 * FL_PUBKEY_LEN + 1];
	size_t len = (size_t)n * LINE_LEN;
	char *text = NULL;
	int rc = -1;

	if (n > TESTNET_MAX_ACCOUNTS || keys_path(path, sizeof path, dir) != 0) {
		snprintf(err, errlen, "--accounts: at most %u", TESTNET_MAX_ACCOUNTS);
		return -1;
	}
	text = malloc(len + 1);
	if (!text) {
		snprintf(err, errlen, "--accounts: out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		fl_seckey sk;
		fl_pubkey pk;
		char *line = text + (size_t)i * LINE_LEN;

		if (fl_key_generate(&sk, &pk) != FL_OK) {
			snprintf(err, errlen, "--accounts: key generation failed");
			goto cleanup;
		}
		fl_pubkey_to_hex(hex, &pk);
		memcpy(line, hex, 2 * FL_PUBKEY_LEN);
		line[2 * FL_PUBKEY_LEN] = ' ';
		fl_hex_encode(line + 2 * FL_PUBKEY_LEN + 1, sk.b, FL_SECKEY_LEN);
		line[LINE_LEN - 1] = '\n';
		fl_wipe(&sk, sizeof sk);
		if (json_array_append_new(balances,
					  json_pack("{s:s,s:I}", "account", hex, "amount",
						    (json_int_t)TESTNET_ACCOUNT_AMOUNT)) != 0) {
			snprintf(err, errlen, "--accounts: out of memory");
			goto cleanup;
		}
	}
	if (fl_file_write_atomic(path, text, len, 0600) != FL_OK) {
		snprintf(err, errlen, "%s: cannot write", path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	fl_wipe(text, len);
	free(text);
	return rc;
}

int testnet_accounts_load(const char *dir, testnet_account **out, uint32_t *n, char *err,
			  size_t errlen)
{
	char path[TESTNET_PATH_MAX], field[2 * FL_SECKEY_LEN + 1];
	uint8_t *text = NULL;
	size_t len = 0;
	testnet_account *acc = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (keys_path(path, sizeof path, dir) != 0 ||
	    fl_file_read(path, &text, &len, (size_t)TESTNET_MAX_ACCOUNTS * LINE_LEN) != FL_OK) {
		snprintf(err, errlen, "%s/accounts.keys: cannot read (made by init --accounts N)",
			 dir);
		return -1;
	}
	if (len == 0 || len % LINE_LEN != 0) {
		snprintf(err, errlen, "%s: not whole lines of \"PUBKEY SECKEY\"", path);
		goto cleanup;
	}
	uint32_t count = (uint32_t)(len / LINE_LEN);
	acc = calloc(count, sizeof *acc);
	if (!acc) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto cleanup;
	}
	for (uint32_t i = 0; i < count; i++) {
		const char *line = (const char *)text + (size_t)i * LINE_LEN;
		fl_pubkey derived;

		if (line[2 * FL_PUBKEY_LEN] != ' ' || line[LINE_LEN - 1] != '\n') {
			snprintf(err, errlen, "%s: line %u: not \"PUBKEY SECKEY\"", path, i + 1);
			goto cleanup;
		}
		memcpy(field, line, 2 * FL_PUBKEY_LEN);
		field[2 * FL_PUBKEY_LEN] = '\0';
		if (fl_pubkey_from_hex(&acc[i].pk, field) != FL_OK) {
			snprintf(err, errlen, "%s: line %u: bad public key", path, i + 1);
			goto cleanup;
		}
		memcpy(field, line + 2 * FL_PUBKEY_LEN + 1, 2 * FL_SECKEY_LEN);
		field[2 * FL_SECKEY_LEN] = '\0';
		if (fl_hex_decode(acc[i].sk.b, FL_SECKEY_LEN, field) != FL_OK ||
		    fl_key_public(&derived, &acc[i].sk) != FL_OK ||
		    memcmp(derived.b, acc[i].pk.b, FL_PUBKEY_LEN) != 0) {
			snprintf(err, errlen, "%s: line %u: the secret key does not match", path,
				 i + 1);
			goto cleanup;
		}
	}
	*out = acc;
	*n = count;
	acc = NULL;
	rc = 0;
cleanup:
	fl_wipe(field, sizeof field);
	if (text)
		fl_wipe(text, len);
	free(text);
	free(acc);
	return rc;
}
