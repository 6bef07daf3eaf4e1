/*
 * tools/wallet_tx.c — one tx from the wallet to a block: the chain id
 * (GET /status) and the sender's nonce (GET /v1/accounts/{id}) from the
 * node, signed here with chain_tx_sign (the secret key never leaves the
 * process), POSTed as {"tx":"HEX"}, then followed to its block on the
 * node's /v1/events (wallet_events.c), subscribed before the POST since
 * the stream has no replay (docs/http.md §5), with GET /v1/txs/{hash}
 * beside it to notice a tx the node dropped and to carry on if the stream
 * is refused or ends.
 */
#include "tools/wallet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS  200
#define CHECK_MS 1000 /* the GET beside the events stream */
/* A tx the node knows neither in a block nor in its pool for this long was
 * dropped (refused when a block was applied). One miss is not enough: the
 * pool forgets a tx as its block commits. */
#define GONE_MS 2000
/* node/config_fields.c: mempool.max_per_sender's default. */
#define QUEUED_NONCES_MAX 256u

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Chain id and the next nonce of sender, from the node. */
static int read_chain(const wallet *w, const fl_pubkey *sender, char *chain_id, uint64_t *nonce,
		      char *err, size_t errlen)
{
	char path[128], hex[FL_PUBKEY_HEX_LEN + 1];
	json_t *st, *acc;
	const char *id;
	long status = 0;

	if ((st = wallet_get(w, "/status", NULL, err, errlen)) == NULL)
		return FL_EIO;
	id = json_string_value(json_object_get(st, "chain_id"));
	if (id == NULL || !chain_id_valid(id, CHAIN_ID_MAX)) {
		snprintf(err, errlen, "node: /status has no valid chain_id");
		json_decref(st);
		return FL_EPROTO;
	}
	snprintf(chain_id, CHAIN_ID_MAX + 1, "%s", id);
	json_decref(st);

	fl_pubkey_to_hex(hex, sender);
	snprintf(path, sizeof(path), "/v1/accounts/%s", hex);
	acc = wallet_get(w, path, &status, err, errlen);
	if (acc == NULL && status == 404) {
		snprintf(err, errlen,
			 "sender %s has no account on this chain (fund it with a transfer first)",
			 hex);
		return FL_ENOTFOUND;
	}
	if (acc == NULL)
		return FL_EIO;
	if (wallet_json_u64(acc, "nonce", nonce) != FL_OK || *nonce == UINT64_MAX) {
		snprintf(err, errlen, "node: account %s has no valid nonce", hex);
		json_decref(acc);
		return FL_EPROTO;
	}
	(*nonce)++;
	json_decref(acc);
	return FL_OK;
}

/* Signs and encodes tx as hex into *hex (fl_free it). */
static int sign_encode(chain_tx *tx, const char *chain_id, const fl_seckey *sk, fl_hash *h,
		       char **hex, char *err, size_t errlen)
{
	fl_writer wr;
	int rc;

	*hex = NULL;
	if ((rc = chain_tx_sign(tx, chain_id, sk)) != FL_OK ||
	    (rc = chain_tx_hash(h, tx)) != FL_OK) {
		snprintf(err, errlen, "cannot sign the tx: %s", fl_strerror(rc));
		return rc;
	}
	fl_writer_init(&wr, CHAIN_MAX_TX_BYTES);
	if ((rc = chain_tx_encode(&wr, tx)) == FL_OK)
		rc = fl_writer_finish(&wr);
	if (rc != FL_OK) {
		snprintf(err, errlen, "cannot encode the tx: %s", fl_strerror(rc));
		goto cleanup;
	}
	if ((*hex = fl_malloc(2 * wr.len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = FL_ENOMEM;
		goto cleanup;
	}
	fl_hex_encode(*hex, wr.buf, wr.len);

cleanup:
	fl_writer_free(&wr);
	return rc;
}

static int post(const wallet *w, const char *hex, const fl_hash *h, char *err, size_t errlen)
{
	char want[FL_HASH_HEX_LEN + 1];
	const char *got;
	json_t *body, *answer = NULL;
	char *text;
	long status = 0;
	int rc;

	if ((body = json_pack("{s:s}", "tx", hex)) == NULL ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		snprintf(err, errlen, "out of memory");
		return FL_ENOMEM;
	}
	json_decref(body);
	rc = wallet_http(w, "POST", "/v1/txs", text, &status, &answer, err, errlen);
	free(text);
	if (rc != FL_OK)
		return rc;
	if (status != 202) {
		wallet_node_error(err, errlen, status, answer);
		json_decref(answer);
		/* The node's words (node/mempool_admit.c) for a nonce an earlier
		 * tx of ours holds in the pool: the caller takes the next. */
		return status == 409 && strstr(err, "nonce already queued") != NULL ? FL_ENONCE
										    : FL_EPERM;
	}
	fl_hash_to_hex(want, h);
	got = json_string_value(json_object_get(answer, "hash"));
	/* The node hashes what it decoded: another hash would mean it read
	 * other bytes than we signed. */
	if (got == NULL || strcmp(got, want) != 0) {
		snprintf(err, errlen, "node: admitted the tx under hash %s, ours is %s",
			 got != NULL ? got : "(none)", want);
		rc = FL_EPROTO;
	}
	json_decref(answer);
	return rc;
}

static void progress(int on, const char *hash, uint64_t elapsed_ms, unsigned tick, uint64_t tip)
{
	static const char spin[] = "|/-\\";

	if (!on)
		return;
	fprintf(stderr, "\rwaiting for tx %.16s... to commit %c %llu.%llus", hash, spin[tick % 4],
		(unsigned long long)(elapsed_ms / 1000),
		(unsigned long long)(elapsed_ms / 100 % 10));
	if (tip > 0)
		fprintf(stderr, ", chain at height %llu", (unsigned long long)tip);
	fputs(" ", stderr);
	fflush(stderr);
}

/* One GET /v1/txs/{hash}: 1 with *height when committed, 0 while pending,
 * FL_ENOTFOUND when the node does not know it, another code on failure. */
static int check_tx(const wallet *w, const char *path, uint64_t *height, char *err, size_t errlen)
{
	json_t *o = NULL;
	long status = 0;
	int rc;

	if ((rc = wallet_http(w, "GET", path, NULL, &status, &o, err, errlen)) != FL_OK)
		return rc;
	if (status == 200 && wallet_json_u64(o, "height", height) == FL_OK)
		rc = 1;
	else if (status == 200)
		rc = 0;
	else if (status == 404)
		rc = FL_ENOTFOUND;
	else {
		wallet_node_error(err, errlen, status, o);
		rc = FL_EIO;
	}
	json_decref(o);
	return rc;
}

/*
 * Waits until the tx is in a block: *height its height. Events (when ev is
 * set) end the wait as the block commits; the GET each CHECK_MS (each
 * POLL_MS without events) finds a tx the node dropped, and carries on
 * alone when the stream ends. Takes ev (closes it).
 */
static int wait_commit(const wallet *w, wallet_events *ev, const fl_hash *h, uint64_t *height,
		       char *err, size_t errlen)
{
	char hex[FL_HASH_HEX_LEN + 1], path[128];
	uint64_t start = now_ms(), deadline = start + (uint64_t)w->timeout_s * 1000u;
	uint64_t last_check = 0, gone_since = 0, tip = 0;
	int show = isatty(STDERR_FILENO), rc;
	unsigned tick = 0;

	fl_hash_to_hex(hex, h);
	snprintf(path, sizeof(path), "/v1/txs/%s", hex);
	for (;;) {
		uint64_t now;

		progress(show, hex, now_ms() - start, tick++, tip);
		if (ev != NULL) {
			rc = wallet_events_wait(ev, POLL_MS, height, &tip);
			if (rc == 1)
				break;
			if (rc < 0) {
				wallet_events_close(ev);
				ev = NULL;
			}
		}
		now = now_ms();
		if (ev == NULL || now - last_check >= CHECK_MS) {
			last_check = now;
			rc = check_tx(w, path, height, err, errlen);
			if (rc == 1)
				break;
			if (rc == FL_ENOTFOUND) {
				gone_since = gone_since != 0 ? gone_since : now;
			} else if (rc < 0) {
				break;
			} else {
				gone_since = 0;
			}
			if (gone_since != 0 && now - gone_since >= GONE_MS) {
				snprintf(err, errlen,
					 "tx %s left the node's mempool without reaching a block "
					 "(refused when a block was built)",
					 hex);
				rc = FL_ENOTFOUND;
				break;
			}
		}
		if (now_ms() >= deadline) {
			snprintf(err, errlen,
				 "tx %s not committed within %us (still pending; --timeout waits "
				 "longer)",
				 hex, w->timeout_s);
			rc = FL_ETIMEOUT;
			break;
		}
		if (ev == NULL)
			usleep(POLL_MS * 1000);
	}
	wallet_events_close(ev);
	if (show)
		fputs("\r\033[K", stderr);
	return rc == 1 ? FL_OK : rc;
}

static int tx_run(const wallet *w, chain_tx *tx, const fl_seckey *sk)
{
	char chain_id[CHAIN_ID_MAX + 1], err[WALLET_ERR_MAX], hash[FL_HASH_HEX_LEN + 1];
	char sender[FL_PUBKEY_HEX_LEN + 1];
	const char *kind = chain_tx_kind_name(tx->kind);
	wallet_events *ev = NULL;
	uint64_t height = 0;
	char *hex = NULL;
	fl_pubkey pk;
	fl_hash h;
	int rc;

	if (fl_key_public(&pk, sk) != FL_OK) {
		tool_error(w->prog, "the key file holds no valid secret key");
		return TOOL_EXIT_RUNTIME;
	}
	if ((rc = read_chain(w, &pk, chain_id, &tx->nonce, err, sizeof(err))) != FL_OK)
		goto cleanup;
	/* Subscribed before the POST, so the block that holds the tx cannot
	 * pass unseen; without a stream the wait polls. */
	if (!w->no_wait && wallet_events_open(&ev, w, err, sizeof(err)) != FL_OK)
		ev = NULL;
	/* The account's nonce counts committed txs only: txs of ours still
	 * queued (sent with --no-wait) hold the next ones, so step past them,
	 * at most as many as the pool keeps per sender by default. */
	for (unsigned tries = 0;; tries++) {
		fl_free(hex);
		hex = NULL;
		if ((rc = sign_encode(tx, chain_id, sk, &h, &hex, err, sizeof(err))) != FL_OK)
			goto cleanup;
		if (ev != NULL)
			wallet_events_want(ev, &h);
		rc = post(w, hex, &h, err, sizeof(err));
		if (rc != FL_ENONCE || tries == QUEUED_NONCES_MAX || tx->nonce == UINT64_MAX)
			break;
		tx->nonce++;
	}
	if (rc != FL_OK)
		goto cleanup;
	fl_hash_to_hex(hash, &h);
	if (!w->no_wait) {
		rc = wait_commit(w, ev, &h, &height, err, sizeof(err));
		ev = NULL;
	}

cleanup:
	wallet_events_close(ev);
	fl_free(hex);
	if (rc != FL_OK) {
		tool_error(w->prog, "%s", err);
		return TOOL_EXIT_RUNTIME;
	}
	fl_pubkey_to_hex(sender, &tx->sender);
	if (w->json) {
		json_t *o =
		    json_pack("{s:s,s:s,s:s,s:I,s:b}", "hash", hash, "kind", kind, "sender", sender,
			      "nonce", (json_int_t)tx->nonce, "committed", !w->no_wait);

		if (o != NULL && !w->no_wait &&
		    json_object_set_new(o, "height", json_integer((json_int_t)height)) != 0) {
			json_decref(o);
			o = NULL;
		}
		return wallet_print_json(w, o);
	}
	if (w->no_wait)
		printf("%s\n", hash);
	else
		printf("%s tx %s committed at height %llu\n", kind, hash,
		       (unsigned long long)height);
	return TOOL_EXIT_OK;
}

int wallet_tx_run(const wallet *w, chain_tx *tx)
{
	fl_seckey sk;
	fl_pubkey pk;
	int rc = wallet_unlock(w, &sk, &pk);

	if (rc == TOOL_EXIT_OK)
		rc = tx_run(w, tx, &sk);
	fl_wipe(&sk, sizeof(sk));
	return rc;
}
