/*
 * node/mempool_admit.c — admission (node/mempool.h): the checks that cost
 * nothing come first (encoding, size, duplicates, caps), the signature and
 * the chain's rules last (the checker), so a flood of copies or of txs for
 * a full pool never costs a signature verification.
 *
 * The entry is allocated before the checker runs: once the checker has
 * admitted a tx its overlay holds the tx's writes (the nonce bump, the
 * transfer), and a pool that then failed to queue it would hand out a
 * later tx of that sender without it, a block with a nonce gap.
 */
#include "node/mempool_internal.h"

#include <assert.h>
#include <string.h>

/* A codec failure as the header promises it: the codes of malformed bytes
 * only, so a verdict never takes it for our state. */
static int malformed(int rc, const char **reason)
{
	switch (rc) {
	case FL_ENOMEM:
		*reason = "mempool: out of memory";
		return FL_ENOMEM;
	case FL_ETRUNC:
		*reason = "tx: truncated";
		return rc;
	case FL_ETRAILING:
		*reason = "tx: trailing bytes";
		return rc;
	case FL_ENONCANON:
	case FL_EOVERFLOW: /* a varint past 64 bits */
		*reason = "tx: not canonical";
		return FL_ENONCANON;
	case FL_EVERSION:
		*reason = "tx: unknown version or kind";
		return rc;
	case FL_ETOOBIG: /* a field, a count or the whole tx over its limit */
		*reason = "tx: over a length limit";
		return FL_EINVAL;
	case FL_EINVAL:
		*reason = "tx: field out of range";
		return rc;
	default:
		*reason = "tx: malformed";
		return FL_EINVAL;
	}
}

/* A rule's refusal: the chain's code unless it is one that means
 * malformed bytes here (see the header). */
static int refused_by_rule(int rc)
{
	switch (rc) {
	case FL_EINVAL:
	case FL_EVERSION:
	case FL_ETRUNC:
	case FL_ETRAILING:
	case FL_ENONCANON:
	case FL_ECHAIN:
	case FL_EPROTO:
		return FL_ESTATE;
	default:
		return rc;
	}
}

/* The pool's own checks, then the chain's, then the queueing; `bytes` is
 * tx's canonical encoding and `hash` its hash. */
static int admit(node_mempool *mp, const chain_tx *tx, const uint8_t *bytes, size_t len,
		 const fl_hash *hash, const char **reason)
{
	node__mp_sender *s;
	node__mp_entry *e;
	int rc;

	if (len > mp->cfg.max_tx_bytes || len > mp->cfg.max_bytes) {
		*reason = "mempool: tx too large";
		return FL_ETOOBIG;
	}
	if (len > mp->block_budget) {
		*reason = "mempool: tx larger than a block";
		return FL_ETOOBIG;
	}
	if (node__mp_find(mp, hash) != NULL) {
		*reason = "mempool: duplicate";
		return FL_EDUP;
	}
	s = node__mp_sender_find(mp, &tx->sender);
	if (s != NULL && tx->nonce >= s->first_nonce && tx->nonce - s->first_nonce < s->n) {
		*reason = "mempool: nonce already queued";
		return FL_EDUP;
	}
	if (mp->count >= mp->cfg.max_txs) {
		*reason = "mempool: full";
		return FL_ETOOBIG;
	}
	if (len > mp->cfg.max_bytes - mp->bytes) {
		*reason = "mempool: full (bytes)";
		return FL_ETOOBIG;
	}
	if (s != NULL && s->n >= mp->cfg.max_per_sender) {
		*reason = "mempool: sender has too many queued txs";
		return FL_ETOOBIG;
	}
	if (mp->released) {
		*reason = "mempool: paused for a block";
		return FL_ESTATE;
	}
	if (mp->ck == NULL) {
		/* Only an empty pool has no checker outside a release: at the
		 * start, and after an update whose checker failed to begin. */
		assert(mp->count == 0);
		if ((rc = chain_mempool_check_begin(mp->store, &mp->ck)) != FL_OK) {
			*reason = "mempool: store";
			return refused_by_rule(rc);
		}
	}
	e = fl_malloc(sizeof(*e) + len);
	if (e == NULL) {
		*reason = "mempool: out of memory";
		return FL_ENOMEM;
	}
	rc = chain_mempool_check_tx(mp->ck, tx, reason);
	if (rc != FL_OK) {
		fl_free(e);
		if (*reason == NULL)
			*reason = "tx: rule";
		return rc == FL_ESIG ? rc : refused_by_rule(rc);
	}
	/* From here on nothing can fail: the tables have room for max_txs. */
	memset(e, 0, sizeof(*e));
	e->hash = *hash;
	e->sender = tx->sender;
	e->nonce = tx->nonce;
	e->len = (uint32_t)len;
	memcpy(e->bytes, bytes, len);
	e->prev = mp->tail;
	if (mp->tail != NULL)
		mp->tail->next = e;
	else
		mp->head = e;
	mp->tail = e;
	node__mp_hash_insert(mp, e);
	if (s == NULL)
		s = node__mp_sender_add(mp, &tx->sender, tx->nonce);
	s->n++;
	mp->count++;
	mp->bytes += len;
	*reason = NULL;
	return FL_OK;
}

static int counted(node_mempool *mp, int rc)
{
	if (rc == FL_OK)
		mp->admitted++;
	else
		mp->refused++;
	return rc;
}

int node_mempool_add(node_mempool *mp, const chain_tx *tx, fl_hash *hash, const char **reason)
{
	const char *why = NULL;
	fl_writer w;
	fl_hash h;
	int rc;

	assert(mp != NULL && tx != NULL);
	memset(&h, 0, sizeof(h));
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if ((rc = chain_tx_encode(&w, tx)) != FL_OK) {
		rc = malformed(rc, &why);
		goto cleanup;
	}
	fl_sha256(&h, w.buf, w.len);
	rc = admit(mp, tx, w.buf, w.len, &h, &why);
cleanup:
	fl_writer_free(&w);
	if (hash != NULL)
		*hash = h;
	if (reason != NULL)
		*reason = why;
	return counted(mp, rc);
}

int node_mempool_add_bytes(node_mempool *mp, const uint8_t *p, size_t n, fl_hash *hash,
			   const char **reason)
{
	const char *why = NULL;
	fl_writer w;
	chain_tx tx;
	fl_hash h;
	int rc;

	assert(mp != NULL && (p != NULL || n == 0));
	memset(&h, 0, sizeof(h));
	memset(&tx, 0, sizeof(tx));
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if (n > CHAIN_MAX_TX_BYTES) {
		rc = malformed(FL_ETOOBIG, &why);
		goto cleanup;
	}
	/* A queued hash means these very bytes are queued (and were canonical
	 * then): a copy costs one SHA-256, no decode. */
	fl_sha256(&h, p, n);
	if (node__mp_find(mp, &h) != NULL) {
		why = "mempool: duplicate";
		rc = FL_EDUP;
		goto cleanup;
	}
	if ((rc = chain_tx_decode(&tx, p, n)) != FL_OK) {
		rc = malformed(rc, &why);
		memset(&h, 0, sizeof(h));
		goto cleanup;
	}
	/* The hash a block will give this tx is the hash of its canonical
	 * encoding: queue nothing else under it. The codec promises one
	 * encoding per tx; this holds it to that here too. */
	if ((rc = chain_tx_encode(&w, &tx)) != FL_OK) {
		rc = malformed(rc, &why);
		memset(&h, 0, sizeof(h));
		goto cleanup;
	}
	if (w.len != n || memcmp(w.buf, p, n) != 0) {
		rc = malformed(FL_ENONCANON, &why);
		memset(&h, 0, sizeof(h));
		goto cleanup;
	}
	rc = admit(mp, &tx, p, n, &h, &why);
cleanup:
	chain_tx_free(&tx);
	fl_writer_free(&w);
	if (hash != NULL)
		*hash = h;
	if (reason != NULL)
		*reason = why;
	return counted(mp, rc);
}
