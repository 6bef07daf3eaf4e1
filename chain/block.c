/*
 * chain/block.c — block headers, commits and blocks: their encodings,
 * hashes and the tx root (the beacon is chain/beacon.c). Only the shape and
 * ranges are checked here (a header's VRF proof only for being canonical);
 * whether a block extends the chain is chain_apply_block's.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* Smallest encoded commit (height, round, hash, empty signature list): the
 * bytes a block's txs must leave for it. */
#define COMMIT_MIN_BYTES (8 + 4 + FL_HASH_LEN + 1)

static void write_hash(fl_writer *w, const fl_hash *h)
{
	fl_write_fixed(w, h->b, FL_HASH_LEN);
}

static void read_hash(fl_reader *r, fl_hash *h)
{
	fl_read_fixed(r, h->b, FL_HASH_LEN);
}

/* ----------------------------------------------------------------- header */

static int write_header(fl_writer *w, const chain_block_header *h)
{
	assert(w != NULL && h != NULL);
	if (h->version != CHAIN_BLOCK_VERSION)
		return FL_EVERSION;
	if (!chain_id_valid(h->chain_id, CHAIN_ID_MAX))
		return FL_EINVAL;
	fl_write_u8(w, h->version);
	fl_write_str(w, h->chain_id, CHAIN_ID_MAX);
	fl_write_u64(w, h->height);
	fl_write_u64(w, h->time_ms);
	write_hash(w, &h->prev_hash);
	write_hash(w, &h->tx_root);
	write_hash(w, &h->app_hash);
	fl_write_fixed(w, h->proposer.b, FL_PUBKEY_LEN);
	write_hash(w, &h->last_commit_hash);
	fl_write_vrf_proof(w, &h->vrf_proof);
	write_hash(w, &h->beacon);
	return w->err;
}

int chain_header_encode(fl_writer *w, const chain_block_header *h)
{
	return chain_writer_fail(w, write_header(w, h));
}

int chain_header_decode(fl_reader *r, chain_block_header *h)
{
	int rc;

	assert(r != NULL && h != NULL);
	memset(h, 0, sizeof(*h));
	if ((rc = fl_read_u8(r, &h->version)) != 0)
		return rc;
	if (h->version != CHAIN_BLOCK_VERSION)
		return chain_reader_fail(r, FL_EVERSION);
	if ((rc = fl_read_str(r, h->chain_id, CHAIN_ID_MAX)) != 0)
		return rc;
	if (!chain_id_valid(h->chain_id, CHAIN_ID_MAX))
		return chain_reader_fail(r, FL_EINVAL);
	fl_read_u64(r, &h->height);
	fl_read_u64(r, &h->time_ms);
	read_hash(r, &h->prev_hash);
	read_hash(r, &h->tx_root);
	read_hash(r, &h->app_hash);
	fl_read_fixed(r, h->proposer.b, FL_PUBKEY_LEN);
	read_hash(r, &h->last_commit_hash);
	fl_read_vrf_proof(r, &h->vrf_proof);
	read_hash(r, &h->beacon);
	return r->err;
}

int chain_header_hash(fl_hash *out, const chain_block_header *h)
{
	fl_writer w;
	int rc;

	assert(out != NULL && h != NULL);
	fl_writer_init(&w, 1024);
	if ((rc = chain_header_encode(&w, h)) == 0)
		fl_sha256(out, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

/* ----------------------------------------------------------------- commit */

/* Sorted by validator, one signature each: a commit has one encoding and a
 * validator's power is counted once. */
static int check_commit_sigs(const chain_commit *c)
{
	if (c->n_sigs > CHAIN_MAX_VALIDATORS)
		return FL_ETOOBIG;
	for (uint32_t i = 1; i < c->n_sigs; i++) {
		int d = fl_pubkey_cmp(&c->sigs[i - 1].validator, &c->sigs[i].validator);
		if (d == 0)
			return FL_EDUP;
		if (d > 0)
			return FL_ENONCANON;
	}
	return FL_OK;
}

static int write_commit(fl_writer *w, const chain_commit *c)
{
	int rc;

	assert(w != NULL && c != NULL);
	if ((rc = check_commit_sigs(c)) != 0)
		return rc;
	fl_write_u64(w, c->height);
	fl_write_u32(w, c->round);
	write_hash(w, &c->block_hash);
	fl_write_varint(w, c->n_sigs);
	for (uint32_t i = 0; i < c->n_sigs; i++) {
		fl_write_fixed(w, c->sigs[i].validator.b, FL_PUBKEY_LEN);
		fl_write_fixed(w, c->sigs[i].sig.b, FL_SIG_LEN);
	}
	return w->err;
}

int chain_commit_encode(fl_writer *w, const chain_commit *c)
{
	return chain_writer_fail(w, write_commit(w, c));
}

int chain_commit_decode(fl_reader *r, chain_commit *c)
{
	size_t n = 0;
	int rc;

	assert(r != NULL && c != NULL);
	memset(c, 0, sizeof(*c));
	fl_read_u64(r, &c->height);
	fl_read_u32(r, &c->round);
	read_hash(r, &c->block_hash);
	if ((rc = fl_read_count(r, &n, CHAIN_MAX_VALIDATORS)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		fl_read_fixed(r, c->sigs[i].validator.b, FL_PUBKEY_LEN);
		fl_read_fixed(r, c->sigs[i].sig.b, FL_SIG_LEN);
	}
	if ((rc = r->err) != 0)
		return rc;
	c->n_sigs = (uint32_t)n;
	return chain_reader_fail(r, check_commit_sigs(c));
}

int chain_commit_hash(fl_hash *out, const chain_commit *c)
{
	fl_writer w;
	int rc;

	assert(out != NULL && c != NULL);
	fl_writer_init(&w, 64 * 1024);
	if ((rc = chain_commit_encode(&w, c)) == 0)
		fl_sha256(out, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

/* ------------------------------------------------------------------ block */

static int write_block(fl_writer *w, const chain_block *b)
{
	size_t start;
	int rc;

	assert(w != NULL && b != NULL && (b->txs != NULL || b->n_txs == 0));
	if (w->err != 0)
		return w->err;
	if (b->n_txs > CHAIN_MAX_BLOCK_TXS)
		return FL_ETOOBIG;
	start = w->len;
	if ((rc = chain_header_encode(w, &b->header)) != 0)
		return rc;
	fl_write_varint(w, b->n_txs);
	for (uint32_t i = 0; i < b->n_txs; i++)
		if ((rc = chain_tx_encode(w, &b->txs[i])) != 0)
			return rc;
	if ((rc = chain_commit_encode(w, &b->last_commit)) != 0)
		return rc;
	if (w->len - start > CHAIN_MAX_BLOCK_BYTES)
		return FL_ETOOBIG;
	return FL_OK;
}

int chain_block_encode(fl_writer *w, const chain_block *b)
{
	return chain_writer_fail(w, write_block(w, b));
}

int chain_block_decode(chain_block *b, const uint8_t *p, size_t n)
{
	fl_reader r;
	size_t count = 0;
	int rc;

	assert(b != NULL && (p != NULL || n == 0));
	memset(b, 0, sizeof(*b));
	if (n > CHAIN_MAX_BLOCK_BYTES)
		return FL_ETOOBIG;
	fl_reader_init(&r, p, n);
	if ((rc = chain_header_decode(&r, &b->header)) != 0)
		return rc;
	if ((rc = fl_read_count(&r, &count, CHAIN_MAX_BLOCK_TXS)) != 0)
		return rc;
	/* Every tx takes at least CHAIN_TX_MIN_BYTES and the commit follows
	 * them: a count the remaining bytes cannot hold is refused before the
	 * array is allocated. */
	if (fl_reader_remaining(&r) < COMMIT_MIN_BYTES ||
	    count > (fl_reader_remaining(&r) - COMMIT_MIN_BYTES) / CHAIN_TX_MIN_BYTES)
		return chain_reader_fail(&r, FL_ETRUNC);
	if (count > 0) {
		b->txs = fl_calloc(count, sizeof(*b->txs));
		if (b->txs == NULL)
			return FL_ENOMEM;
		b->n_txs = (uint32_t)count;
	}
	for (size_t i = 0; i < count; i++)
		if ((rc = chain_tx_decode_reader(&b->txs[i], &r)) != 0)
			return rc;
	if ((rc = chain_commit_decode(&r, &b->last_commit)) != 0)
		return rc;
	return fl_reader_finish(&r);
}

void chain_block_free(chain_block *b)
{
	if (b == NULL)
		return;
	for (uint32_t i = 0; i < b->n_txs && b->txs != NULL; i++)
		chain_tx_free(&b->txs[i]);
	fl_free(b->txs);
	b->txs = NULL;
	b->n_txs = 0;
}

int chain_block_tx_root(fl_hash *out, const chain_block *b)
{
	fl_hash *leaves = NULL;
	int rc = FL_OK;

	assert(out != NULL && b != NULL && (b->txs != NULL || b->n_txs == 0));
	if (b->n_txs > 0) {
		leaves = fl_calloc(b->n_txs, sizeof(*leaves));
		if (leaves == NULL)
			return FL_ENOMEM;
	}
	for (uint32_t i = 0; i < b->n_txs; i++)
		if ((rc = chain_tx_hash(&leaves[i], &b->txs[i])) != 0)
			goto cleanup;
	rc = fl_merkle_root(out, leaves, b->n_txs);
cleanup:
	fl_free(leaves);
	return rc;
}
