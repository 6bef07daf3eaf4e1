/*
 * fuzz_mempool — the node's mempool driven by arbitrary bytes on a small
 * genesis store (a temp dir made once per process, removed at exit). The
 * input is a list of commands: raw bytes offered as a tx, transfers signed
 * here by four funded keys (so admission gets past the signature), their
 * encodings mutated, reaps, releases and updates (with a prefix of the
 * pool as the "block", which is never committed: the store stays at
 * genesis, so every input runs on the same state). Beyond never crashing
 * or leaking, after every command: the pool's count and bytes are what a
 * full reap returns; every reaped tx is contained; a reap is a prefix
 * within its limits; each sender's txs are consecutive nonces in order
 * from 1 and within the per-sender cap; an update's counts add up.
 * The pool is small (16 txs) and the commands few (48), so an input costs
 * at most a few milliseconds.
 */
#include "node/mempool.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_KEYS       4
#define MAX_COMMANDS 48
#define CHAIN_ID     "fuzz-mempool"

static chain_store *store;
static fl_seckey sk[N_KEYS];
static fl_pubkey pk[N_KEYS];
static char dir[] = "/tmp/fedledger-fuzz-mempool-XXXXXX";

static const node_mempool_config small = {
    .max_txs = 16, .max_bytes = 4096, .max_per_sender = 5, .max_tx_bytes = 2048};

static void check(int cond)
{
	if (!cond)
		abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_dir(void)
{
	chain_store_close(store);
	store = NULL;
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	chain_genesis_validator v;
	chain_genesis_balance bal[N_KEYS];
	chain_genesis g;
	char label[32];
	fl_hash h;

	for (int i = 0; i < N_KEYS; i++) {
		snprintf(label, sizeof(label), "fuzz mempool key %d", i);
		fl_sha256(&h, label, strlen(label));
		memcpy(sk[i].b, h.b, FL_SECKEY_LEN);
		check(fl_key_public(&pk[i], &sk[i]) == FL_OK);
	}
	memset(&g, 0, sizeof(g));
	snprintf(g.chain_id, sizeof(g.chain_id), "%s", CHAIN_ID);
	g.genesis_time_ms = 1700000000000ull;
	chain_params_default(&g.params);
	memset(&v, 0, sizeof(v));
	v.pubkey = pk[0];
	v.power = 10;
	snprintf(v.name, sizeof(v.name), "validator");
	g.n_validators = 1;
	g.validators = &v;
	memset(bal, 0, sizeof(bal));
	for (int i = 0; i < N_KEYS; i++) {
		bal[i].account = pk[i];
		bal[i].amount = 1000;
	}
	g.n_balances = N_KEYS;
	g.balances = bal;
	check(mkdtemp(dir) != NULL);
	atexit(remove_dir);
	check(chain_store_open(&store, dir, 16u << 20) == FL_OK);
	check(chain_store_init_genesis(store, &g) == FL_OK);
}

/* The input, read front to back; reads past its end give zeros. */
typedef struct {
	const uint8_t *p;
	size_t n, pos;
} input;

static uint8_t next(input *in)
{
	return in->pos < in->n ? in->p[in->pos++] : 0;
}

static size_t tx_size(const chain_tx *tx)
{
	fl_writer w;
	size_t n;

	fl_writer_init(&w, 0);
	check(chain_tx_encode(&w, tx) == FL_OK);
	n = w.len;
	fl_writer_free(&w);
	return n;
}

static void free_txs(chain_tx *txs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
	fl_free(txs);
}

/* The invariants of the header, on everything the pool holds. */
static void check_pool(node_mempool *mp)
{
	node_mempool_stats st;
	chain_tx *txs = NULL;
	uint32_t n = 0;
	size_t bytes = 0, senders = 0;

	check(node_mempool_reap(mp, UINT32_MAX, SIZE_MAX, &txs, &n) == FL_OK);
	node_mempool_get_stats(mp, &st);
	check(st.count == n && n <= small.max_txs);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t want = 1;
		uint32_t of_sender = 0;
		fl_hash h;

		bytes += tx_size(&txs[i]);
		check(chain_tx_hash(&h, &txs[i]) == FL_OK);
		check(node_mempool_contains(mp, &h));
		/* Nothing is committed: a sender's txs are its nonces 1, 2, …
		 * in admission order. */
		for (uint32_t j = 0; j < i; j++)
			if (fl_pubkey_cmp(&txs[j].sender, &txs[i].sender) == 0)
				want++, of_sender++;
		check(txs[i].nonce == want);
		check(of_sender < small.max_per_sender);
		senders += of_sender == 0;
	}
	check(st.bytes == bytes && bytes <= small.max_bytes);
	check(st.senders == senders);
	free_txs(txs, n);
}

static void check_refusal(int rc, const char *reason)
{
	p2p_gossip_verdict v = node_mempool_verdict(rc);

	check(rc <= 0);
	check((rc == FL_OK) == (reason == NULL));
	check((rc == FL_OK) == (v == P2P_GOSSIP_ACCEPT));
}

static void signed_transfer(input *in, chain_tx *tx)
{
	uint8_t who = next(in);

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_TRANSFER;
	tx->u.transfer.to = pk[(who >> 4) % N_KEYS];
	tx->u.transfer.amount = 1 + (uint64_t)next(in) * 4; /* up to past the balance */
	tx->nonce = next(in) % 8;
	check(chain_tx_sign(tx, CHAIN_ID, &sk[who % N_KEYS]) == FL_OK);
}

static void add_bytes(node_mempool *mp, const uint8_t *p, size_t n)
{
	const char *reason = NULL;
	int rc = node_mempool_add_bytes(mp, p, n, NULL, &reason);

	check_refusal(rc, reason);
}

/* The pool's first k txs as a block that landed (never committed here). */
static void update(node_mempool *mp, uint32_t k)
{
	node_mempool_update_result r;
	node_mempool_stats before, after;
	chain_block b;
	int rc;

	memset(&b, 0, sizeof(b));
	node_mempool_get_stats(mp, &before);
	check(node_mempool_reap(mp, k, SIZE_MAX, &b.txs, &b.n_txs) == FL_OK);
	rc = node_mempool_update(mp, k > 0 ? &b : NULL, &r);
	chain_block_free(&b);
	check(rc == FL_OK);
	node_mempool_get_stats(mp, &after);
	check(r.kept == after.count);
	check(before.count == after.count + r.included + r.stale + r.failed + r.gapped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	input in = {data, size, 0};
	node_mempool *mp = NULL;
	chain_tx tx, *txs;
	uint32_t n;

	if (store == NULL)
		setup();
	check(node_mempool_new(&mp, store, &small) == FL_OK);
	for (int c = 0; c < MAX_COMMANDS && in.pos < in.n; c++) {
		uint8_t op = next(&in);
		const char *reason = NULL;

		switch (op % 6) {
		case 0: { /* raw bytes */
			size_t len = next(&in);

			len = len <= in.n - in.pos ? len : in.n - in.pos;
			add_bytes(mp, in.p + in.pos, len);
			in.pos += len;
			break;
		}
		case 1: { /* a signed transfer, maybe forged */
			uint8_t forge = next(&in);
			int rc;

			signed_transfer(&in, &tx);
			if (forge & 1)
				tx.sig.b[forge % FL_SIG_LEN] ^= 1;
			rc = node_mempool_add(mp, &tx, NULL, &reason);
			check_refusal(rc, reason);
			chain_tx_free(&tx);
			break;
		}
		case 2: { /* a signed transfer's encoding, cut or changed */
			uint8_t at = next(&in), val = next(&in), cut = next(&in);
			fl_writer w;

			signed_transfer(&in, &tx);
			fl_writer_init(&w, 0);
			check(chain_tx_encode(&w, &tx) == FL_OK);
			if (op & 0x80)
				w.buf[at % w.len] = val;
			add_bytes(mp, w.buf, cut < w.len ? w.len - cut % 8 : w.len);
			fl_writer_free(&w);
			chain_tx_free(&tx);
			break;
		}
		case 3: { /* a reap within limits */
			uint32_t max_txs = next(&in) % 8;
			size_t max_bytes = (size_t)next(&in) * 8, sum = 0;

			check(node_mempool_reap(mp, max_txs, max_bytes, &txs, &n) == FL_OK);
			check(n <= max_txs);
			for (uint32_t i = 0; i < n; i++)
				sum += tx_size(&txs[i]);
			check(sum <= max_bytes);
			free_txs(txs, n);
			break;
		}
		case 4:
			update(mp, next(&in) % 4);
			break;
		default:
			node_mempool_release(mp);
			break;
		}
		check_pool(mp);
	}
	node_mempool_free(mp);
	return 0;
}
