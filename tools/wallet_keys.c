/*
 * tools/wallet_keys.c — keygen (a fresh key, or a fedledgerd home's
 * keys/member.key imported, so a validator's account can vote from the
 * wallet) and address.
 */
#include "tools/wallet.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	const char *import;
	int force;
	wallet_pwhash pwhash;
	const char *prog;
} keygen_opts;

enum { KG_IMPORT = 1, KG_FORCE, KG_PWHASH };

static int keygen_opt(void *ctx, const tool_option *opt, const char *value)
{
	keygen_opts *k = ctx;

	switch (opt->id) {
	case KG_IMPORT:
		k->import = value;
		break;
	case KG_FORCE:
		k->force = 1;
		break;
	case KG_PWHASH:
		if (wallet_pwhash_preset(&k->pwhash, value) != FL_OK) {
			tool_error(k->prog,
				   "--pwhash: must be interactive, moderate or sensitive, got '%s'",
				   value);
			return -TOOL_EXIT_USAGE;
		}
		break;
	}
	return 0;
}

int wallet_cmd_keygen(wallet *w, int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-wallet keygen [--import FILE] [--force]\n"
	    "                               [--pwhash interactive|moderate|sensitive]\n"
	    "Writes a new secret key to the key file (--key), encrypted with the passphrase\n"
	    "($FEDLEDGER_PASSPHRASE, else asked twice on the terminal). --import FILE takes\n"
	    "the key of a fedledgerd home (HOME/keys/member.key) instead. --force replaces an\n"
	    "existing key file. --pwhash sets the Argon2id cost (default interactive).\n";
	static const tool_option opts[] = {
	    {"import", 1, KG_IMPORT}, {"force", 0, KG_FORCE}, {"pwhash", 1, KG_PWHASH}};
	char pass[WALLET_PASS_MAX + 1], err[WALLET_ERR_MAX], hex[FL_PUBKEY_HEX_LEN + 1];
	keygen_opts k = {.prog = w->prog};
	const char *ops[1];
	size_t n_ops, len = 0;
	fl_seckey sk;
	fl_pubkey pk;
	int rc;

	if (wallet_pwhash_preset(&k.pwhash, "interactive") != FL_OK)
		return TOOL_EXIT_RUNTIME; /* a name of its own table: never */
	rc = wallet_parse(w, argc, argv, usage, opts, FL_ARRAY_LEN(opts), keygen_opt, &k, ops, 0, 0,
			  "", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	memset(&sk, 0, sizeof(sk));
	/* The key first, then the passphrase: a bad --import fails at once. */
	if (k.import != NULL) {
		rc = fl_key_load(k.import, &sk, &pk);
		if (rc != FL_OK) {
			tool_error(w->prog, "--import: %s: %s%s", k.import, fl_strerror(rc),
				   rc == FL_EPERM ? " (the key file must be mode 0600)" : "");
			return TOOL_EXIT_RUNTIME;
		}
	} else if ((rc = fl_key_generate(&sk, &pk)) != FL_OK) {
		tool_error(w->prog, "cannot make a key: %s", fl_strerror(rc));
		return TOOL_EXIT_RUNTIME;
	}
	if (!k.force && access(w->key_path, F_OK) == 0) {
		tool_error(w->prog,
			   "%s: already exists; not overwriting a key (--force replaces it)",
			   w->key_path);
		rc = TOOL_EXIT_RUNTIME;
		goto cleanup;
	}
	if ((rc = wallet_passphrase(pass, &len, 1, err, sizeof(err))) != FL_OK ||
	    (rc = wallet_keyfile_save(w->key_path, &sk, pass, len, &k.pwhash, k.force, err,
				      sizeof(err))) != FL_OK) {
		tool_error(w->prog, "%s", err);
		rc = TOOL_EXIT_RUNTIME;
		goto cleanup;
	}
	fl_pubkey_to_hex(hex, &pk);
	if (w->json)
		rc = wallet_print_json(w, json_pack("{s:s,s:s,s:b}", "address", hex, "key_file",
						    w->key_path, "imported", k.import != NULL));
	else {
		printf("%s\n", hex);
		fprintf(stderr, "%s: key written to %s\n", w->prog, w->key_path);
		rc = TOOL_EXIT_OK;
	}

cleanup:
	sodium_memzero(pass, sizeof(pass));
	sodium_memzero(&sk, sizeof(sk));
	return rc;
}

int wallet_cmd_address(wallet *w, int argc, char **argv)
{
	static const char usage[] =
	    "usage: fedledger-wallet address\n"
	    "Prints the account id (public key, hex) of the key file, after checking the\n"
	    "file with the passphrase.\n";
	char hex[FL_PUBKEY_HEX_LEN + 1];
	const char *ops[1];
	size_t n_ops;
	fl_seckey sk;
	fl_pubkey pk;
	int rc;

	rc = wallet_parse(w, argc, argv, usage, NULL, 0, NULL, NULL, ops, 0, 0, "", &n_ops);
	if (rc != 0)
		return rc == WALLET_HELP_SHOWN ? TOOL_EXIT_OK : rc;
	/* Unlocked, not just read: an address printed from an edited file
	 * would send funds to someone else's account. */
	rc = wallet_unlock(w, &sk, &pk);
	sodium_memzero(&sk, sizeof(sk));
	if (rc != TOOL_EXIT_OK)
		return rc;
	fl_pubkey_to_hex(hex, &pk);
	if (w->json)
		return wallet_print_json(w, json_pack("{s:s}", "address", hex));
	printf("%s\n", hex);
	return TOOL_EXIT_OK;
}
