/*
 * tools/wallet.h — what the files of fedledger-wallet share (docs/wallet.md):
 * the options every command takes, the encrypted key file, the passphrase,
 * a libcurl client of the node's HTTP API, and signing, submitting and
 * waiting for a tx. Included by tools/wallet*.c and the wallet's tests only.
 *
 * Errors: functions return 0 or a negative FL_E* code and write one line
 * (no newline) into err naming the field, the file or the node's reason;
 * commands print it through tool_error and return a TOOL_EXIT_* status.
 */
#ifndef FEDLEDGER_TOOLS_WALLET_H
#define FEDLEDGER_TOOLS_WALLET_H

#include "chain/chain.h"
#include "core/core.h"
#include "tools/internal.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WALLET_PROG              "fedledger-wallet"
#define WALLET_DEFAULT_URL       "http://127.0.0.1:26657" /* node/config_fields.c: rpc.listen */
#define WALLET_DEFAULT_KEY       ".fedledger/wallet.key"  /* under $HOME */
#define WALLET_URL_MAX           512
#define WALLET_PATH_MAX          1024
#define WALLET_ERR_MAX           512
#define WALLET_DEFAULT_TIMEOUT_S 30u
#define WALLET_PASS_MAX          1024u /* bytes of a passphrase */
/* A node answer larger than this is refused: a round of CHAIN_MAX_PARTICIPANTS
 * updates is well under 1 MiB of JSON. */
#define WALLET_HTTP_MAX (16u * 1024 * 1024)

/* ------------------------------------------------------------- options */

/* The options every command accepts, before or after the command. */
typedef struct {
	const char *prog; /* "fedledger-wallet transfer", for messages */
	char node[WALLET_URL_MAX];
	char key_path[WALLET_PATH_MAX];
	int json;
	int no_wait;
	uint32_t timeout_s; /* the wait for commit */
} wallet;

/* Defaults: WALLET_DEFAULT_URL, $HOME/WALLET_DEFAULT_KEY, 30 s. */
void wallet_init(wallet *w);

/*
 * Parses argv[1..argc) of one command: the global options (--node, --key,
 * --json, --no-wait, --timeout, --help) and the command's own opts[]. Each
 * of the command's options is handed to on_opt(ctx, opt, value) (NULL when
 * there are none), which returns 0 or -TOOL_EXIT_USAGE. Operands go to
 * ops[], between min_ops and max_ops of them; `operands` names them in the
 * message when some are missing ("TO AMOUNT"). --help prints usage on
 * stdout. Returns 0 to go on, TOOL_EXIT_OK + 100 after --help (callers
 * return TOOL_EXIT_OK), or a TOOL_EXIT_* status after one line on stderr.
 */
#define WALLET_HELP_SHOWN 100
int wallet_parse(wallet *w, int argc, char **argv, const char *usage, const tool_option *opts,
		 size_t n_opts, int (*on_opt)(void *ctx, const tool_option *opt, const char *value),
		 void *ctx, const char **ops, size_t min_ops, size_t max_ops, const char *operands,
		 size_t *n_ops);
/* The global options before the command; *cmd is the index of the
 * command in argv. Same returns as wallet_parse (usage is the tool's). */
int wallet_parse_globals(wallet *w, int argc, char **argv, const char *usage, int *cmd);
/* The global options as they read in every command's usage. */
#define WALLET_GLOBAL_USAGE                                                                        \
	"global options: --node URL (default " WALLET_DEFAULT_URL "), --key FILE (default\n"       \
	"  ~/" WALLET_DEFAULT_KEY "), --json (one JSON object on stdout), --no-wait (return\n"     \
	"  after the node admits a tx), --timeout S (wait for commit, default 30), --help\n"       \
	"Exit: 0 success, 1 runtime failure (node, key file, timeout), 2 usage.\n"

/* Prints o (compact, one line) on stdout and drops the reference. Returns
 * TOOL_EXIT_OK, or TOOL_EXIT_RUNTIME when o is NULL (out of memory). */
int wallet_print_json(const wallet *w, json_t *o);

/* Parses a 64-hex account id; one line naming `what` on failure. */
int wallet_parse_account(const wallet *w, const char *what, const char *text, fl_pubkey *out);
/* A profile id: [a-z0-9._-]{1,32}. */
int wallet_parse_profile_id(const wallet *w, const char *what, const char *text);

/* A u64 of the node's JSON (docs/http.md: an integer, or a decimal string
 * past 2^53): FL_EPARSE when missing or malformed. */
int wallet_json_u64(const json_t *o, const char *key, uint64_t *out) FL_MUST_CHECK;
/* The same as text in buf, "-" when missing. */
const char *wallet_u64_text(const json_t *o, const char *key, char buf[24]);

/* ------------------------------------------------------------ key file */

/*
 * The key file (docs/wallet.md has every byte): the member secret key
 * sealed with XChaCha20-Poly1305 under a key derived from the passphrase
 * by Argon2id, whose parameters and salt travel in the file, plus the public
 * key, a passphrase check and a SHA-256 of the whole file, so that a wrong
 * passphrase and a damaged file are told apart.
 */
#define WALLET_KEYFILE_LEN     196u
#define WALLET_KEYFILE_VERSION 1u

typedef struct {
	uint64_t opslimit;
	uint64_t memlimit; /* bytes */
} wallet_pwhash;

/* "interactive", "moderate", "sensitive": libsodium's presets. */
int wallet_pwhash_preset(wallet_pwhash *out, const char *name) FL_MUST_CHECK;

/* Seals sk with pass into out. FL_ECRYPTO when Argon2 cannot run (memory). */
int wallet_keyfile_seal(uint8_t out[WALLET_KEYFILE_LEN], const fl_seckey *sk, const char *pass,
			size_t pass_len, const wallet_pwhash *params, char *err,
			size_t errlen) FL_MUST_CHECK;
/*
 * The header of a file: FL_ECORRUPT (not a key file, wrong length,
 * checksum mismatch, limits out of range) or FL_EVERSION; *pk and *params
 * set on success. Runs no KDF, so it is cheap and needs no passphrase.
 */
int wallet_keyfile_check(const uint8_t *file, size_t n, fl_pubkey *pk, wallet_pwhash *params,
			 char *err, size_t errlen) FL_MUST_CHECK;
/* Opens a sealed file: wallet_keyfile_check, then FL_EPERM for a wrong
 * passphrase, FL_ESIG when the passphrase is right but the ciphertext or
 * the key inside does not authenticate (tampered). *sk is wiped on error. */
int wallet_keyfile_open(fl_seckey *sk, fl_pubkey *pk, const uint8_t *file, size_t n,
			const char *pass, size_t pass_len, char *err, size_t errlen) FL_MUST_CHECK;

/* Seal and write path atomically with mode 0600; FL_EEXIST unless
 * overwrite. The directory is made (0700) when it is missing. */
int wallet_keyfile_save(const char *path, const fl_seckey *sk, const char *pass, size_t pass_len,
			const wallet_pwhash *params, int overwrite, char *err,
			size_t errlen) FL_MUST_CHECK;
/* ---------------------------------------------------------- passphrase */

/*
 * The passphrase: $FEDLEDGER_PASSPHRASE when set, otherwise typed on
 * /dev/tty with echo off (twice when confirm is set). FL_EINVAL for an empty
 * or overlong one, FL_EIO with no terminal to ask on. out holds
 * WALLET_PASS_MAX + 1 bytes; wipe it after use.
 */
int wallet_passphrase(char *out, size_t *len, int confirm, char *err, size_t errlen) FL_MUST_CHECK;

/* Reads the passphrase and opens w's key file: prints the error itself and
 * returns a TOOL_EXIT_* status (0 on success). */
int wallet_unlock(const wallet *w, fl_seckey *sk, fl_pubkey *pk);

/* ---------------------------------------------------------------- http */

/*
 * One request to w->node + path (body: JSON text for POST, NULL for GET).
 * *status is the HTTP status and *out the answer parsed as a JSON object
 * (NULL when the body is empty or not a JSON object). Returns 0 when the
 * node answered at all, or FL_EIO / FL_ETIMEOUT / FL_ETOOBIG with err set.
 */
int wallet_http(const wallet *w, const char *method, const char *path, const char *body,
		long *status, json_t **out, char *err, size_t errlen) FL_MUST_CHECK;
/*
 * GET path expecting 200: the object, or NULL with err set to the node's
 * own reason ("node: 404 not_found: no such account"). *status may be NULL.
 */
json_t *wallet_get(const wallet *w, const char *path, long *status, char *err, size_t errlen);
/* err = "node: STATUS CODE: MESSAGE" from an answer {"error":{…}}. */
void wallet_node_error(char *err, size_t errlen, long status, const json_t *answer);

/* ------------------------------------------------------------- events */

/*
 * A subscription to GET /v1/events, read without blocking (curl multi).
 * open returns once the node has answered 200, so that a tx POSTed after it
 * cannot commit unseen; FL_EIO (err set) when the node refuses or does not
 * answer in 5 s. close is safe on NULL.
 */
typedef struct wallet_events wallet_events;
int wallet_events_open(wallet_events **out, const wallet *w, char *err,
		       size_t errlen) FL_MUST_CHECK;
/* The tx whose "tx" event ends the wait. */
void wallet_events_want(wallet_events *e, const fl_hash *tx);
/* Reads events for up to wait_ms: 1 with *height set once the wanted tx
 * was in a block, 0 while not yet, FL_EIO when the stream has ended. *tip
 * is the latest block height seen (0 before the first block event). */
int wallet_events_wait(wallet_events *e, int wait_ms, uint64_t *height,
		       uint64_t *tip) FL_MUST_CHECK;
void wallet_events_close(wallet_events *e);

/* -------------------------------------------------------------- txs */

/*
 * Unlocks the key file (passphrase), then signs tx (kind and body set by
 * the caller) after filling the
 * nonce (the account's + 1) and the chain id from the node, POSTs it, then
 * unless --no-wait waits until it is in a block (the "tx" event of
 * /v1/events, subscribed before the POST, with GET /v1/txs/{hash} each
 * second besides, and alone when the stream is refused or ends), at most
 * --timeout seconds, with a progress line on stderr when it is a terminal.
 * Prints the outcome (text, or one JSON object with --json) and returns a
 * TOOL_EXIT_* status.
 */
int wallet_tx_run(const wallet *w, chain_tx *tx);

/* ------------------------------------------------------------ commands */

int wallet_cmd_keygen(wallet *w, int argc, char **argv);
int wallet_cmd_address(wallet *w, int argc, char **argv);
int wallet_cmd_balance(wallet *w, int argc, char **argv);
int wallet_cmd_transfer(wallet *w, int argc, char **argv);
int wallet_cmd_bond(wallet *w, int argc, char **argv); /* bond and unbond */
int wallet_cmd_profile(wallet *w, int argc, char **argv);
int wallet_cmd_rounds(wallet *w, int argc, char **argv);

#endif
