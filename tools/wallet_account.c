/*
 * tools/wallet_account.c — balance, transfer, bond and unbond: an account
 * as the node sees it, and the txs that move its tokens.
 */
#include "tools/wallet.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static int parse_amount(const wallet *w, const char *text, uint64_t *out)
{
	if (fl_parse_u64(text, out) != FL_OK || *out == 0) {
		tool_error(w->prog,
			   "AMOUNT: must be a whole number of tokens from 1 to 2^64-1, got '%s'",
			   text);
		return -TOOL_EXIT_USAGE;
	}
	return 0;
}

int wallet_cmd_balance(wallet *w, int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-wallet balance [ACCOUNT]\n"
	    "Balance, stake, nonce and standing of ACCOUNT (64 hex digits), or of the key\n"
	    "file's account (which needs the passphrase). An account the chain does not\n"
	    "know yet has balance 0 (\"exists\": false).\n";
	char hex[FL_PUBKEY_HEX_LEN + 1], path[128], err[WALLET_ERR_MAX], b1[24], b2[24], b3[24];
	const char *ops[1];
	size_t n_ops;
	long status = 0;
	fl_pubkey pk;
	fl_seckey sk;
	json_t *acc;
	int rc;

	rc = wallet_parse(w, argc, argv, usage, NULL, 0, NULL, NULL, ops, 0, 1, "ACCOUNT", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	if (n_ops == 1) {
		if ((rc = wallet_parse_account(w, "ACCOUNT", ops[0], &pk)) < 0)
			return -rc;
	} else {
		rc = wallet_unlock(w, &sk, &pk);
		sodium_memzero(&sk, sizeof(sk));
		if (rc != TOOL_EXIT_OK)
			return rc;
	}
	fl_pubkey_to_hex(hex, &pk);
	snprintf(path, sizeof(path), "/v1/accounts/%s", hex);
	acc = wallet_get(w, path, &status, err, sizeof(err));
	if (acc == NULL && status == 404) {
		/* Nobody has sent this account anything yet: not an error. */
		acc = json_pack("{s:s,s:i,s:i,s:i,s:b,s:b}", "id", hex, "balance", 0, "bonded", 0,
				"nonce", 0, "member", 0, "validator", 0);
		if (acc == NULL)
			return wallet_print_json(w, NULL);
		json_object_set_new(acc, "exists", json_false());
	} else if (acc == NULL) {
		tool_error(w->prog, "%s", err);
		return TOOL_EXIT_RUNTIME;
	} else {
		json_object_set_new(acc, "exists", json_true());
	}
	if (w->json)
		return wallet_print_json(w, acc);
	printf("account   %s%s\n", hex,
	       json_is_true(json_object_get(acc, "exists")) ? "" : " (not on chain yet)");
	printf("balance   %s\n", wallet_u64_text(acc, "balance", b1));
	printf("bonded    %s\n", wallet_u64_text(acc, "bonded", b2));
	printf("nonce     %s\n", wallet_u64_text(acc, "nonce", b3));
	printf("member    %s\n", json_is_true(json_object_get(acc, "member")) ? "yes" : "no");
	printf("validator %s\n", json_is_true(json_object_get(acc, "validator")) ? "yes" : "no");
	json_decref(acc);
	return TOOL_EXIT_OK;
}

int wallet_cmd_transfer(wallet *w, int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-wallet transfer TO AMOUNT\n"
	    "Sends AMOUNT tokens (smallest units) to the account TO (64 hex digits) and\n"
	    "waits until a block holds the tx (--no-wait: only until the node admits it).\n";
	const char *ops[2];
	size_t n_ops;
	chain_tx tx;
	int rc;

	rc =
	    wallet_parse(w, argc, argv, usage, NULL, 0, NULL, NULL, ops, 2, 2, "TO AMOUNT", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	memset(&tx, 0, sizeof(tx));
	tx.kind = CHAIN_TX_TRANSFER;
	if ((rc = wallet_parse_account(w, "TO", ops[0], &tx.u.transfer.to)) < 0 ||
	    (rc = parse_amount(w, ops[1], &tx.u.transfer.amount)) < 0)
		return -rc;
	return wallet_tx_run(w, &tx);
}

int wallet_cmd_bond(wallet *w, int argc, char **argv)
{
	static const char usage_bond[] =
	    "usage: fedledger-wallet bond AMOUNT\n"
	    "Moves AMOUNT liquid tokens of the key's account into its bonded stake.\n";
	static const char usage_unbond[] =
	    "usage: fedledger-wallet unbond AMOUNT\n"
	    "Starts unbonding AMOUNT of the account's bonded stake; it is liquid again\n"
	    "after the chain's unbonding_blocks.\n";
	int unbond = strcmp(argv[0], "unbond") == 0;
	const char *ops[1];
	size_t n_ops;
	chain_tx tx;
	int rc;

	rc = wallet_parse(w, argc, argv, unbond ? usage_unbond : usage_bond, NULL, 0, NULL, NULL,
			  ops, 1, 1, "AMOUNT", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	memset(&tx, 0, sizeof(tx));
	tx.kind = unbond ? CHAIN_TX_UNBOND : CHAIN_TX_BOND;
	if ((rc = parse_amount(w, ops[0], &tx.u.stake.amount)) < 0)
		return -rc;
	return wallet_tx_run(w, &tx);
}
