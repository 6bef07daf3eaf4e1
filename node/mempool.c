/*
 * node/mempool.c — the pool's life (config, new, free, release), its
 * gossip verdict and its numbers. Admission is node/mempool_admit.c, the
 * reap and the recheck after a block node/mempool_update.c.
 */
#include "node/mempool_internal.h"

#include <assert.h>
#include <string.h>

void node_mempool_config_default(node_mempool_config *cfg)
{
	assert(cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));
	/* Two full blocks at the default block limit: the pool can refill
	 * one block while the one reaped from it is decided. */
	cfg->max_txs = 2 * CHAIN_MAX_BLOCK_TXS;
	cfg->max_bytes = 16u << 20;
	cfg->max_per_sender = 256;
	cfg->max_tx_bytes = CHAIN_MAX_TX_BYTES;
}

static int config_check(const node_mempool_config *cfg)
{
	if (cfg->max_txs < 1 || cfg->max_txs > NODE_MEMPOOL_MAX_TXS_LIMIT)
		return FL_EINVAL;
	if (cfg->max_bytes < 1 || cfg->max_per_sender < 1 || cfg->max_per_sender > cfg->max_txs)
		return FL_EINVAL;
	if (cfg->max_tx_bytes < 1 || cfg->max_tx_bytes > CHAIN_MAX_TX_BYTES)
		return FL_EINVAL;
	return FL_OK;
}

int node_mempool_new(node_mempool **out, chain_store *s, const node_mempool_config *cfg)
{
	node_mempool *mp = NULL;
	chain_info info;
	int rc;

	assert(out != NULL && s != NULL);
	*out = NULL;
	mp = fl_calloc(1, sizeof(*mp));
	if (mp == NULL)
		return FL_ENOMEM;
	mp->store = s;
	if (cfg != NULL)
		mp->cfg = *cfg;
	else
		node_mempool_config_default(&mp->cfg);
	if ((rc = config_check(&mp->cfg)) != FL_OK)
		goto fail;
	if ((rc = chain_store_info(s, &info)) != FL_OK)
		goto fail;
	/* The block limits are genesis parameters: no tx changes them. */
	mp->block_budget = info.params.max_block_bytes > NODE_MEMPOOL_BLOCK_OVERHEAD
			       ? info.params.max_block_bytes - NODE_MEMPOOL_BLOCK_OVERHEAD
			       : 0;
	if (sodium_init() < 0) {
		rc = FL_ECRYPTO;
		goto fail;
	}
	if ((rc = node__mp_index_init(mp)) != FL_OK)
		goto fail;
	*out = mp;
	return FL_OK;
fail:
	node_mempool_free(mp);
	return rc;
}

void node_mempool_free(node_mempool *mp)
{
	node__mp_entry *e, *next;

	if (mp == NULL)
		return;
	chain_mempool_check_end(mp->ck);
	for (e = mp->head; e != NULL; e = next) {
		next = e->next;
		fl_free(e);
	}
	node__mp_index_free(mp);
	fl_free(mp);
}

void node_mempool_release(node_mempool *mp)
{
	assert(mp != NULL);
	chain_mempool_check_end(mp->ck);
	mp->ck = NULL;
	mp->released = 1;
}

p2p_gossip_verdict node_mempool_verdict(int rc)
{
	switch (rc) {
	case FL_OK:
		return P2P_GOSSIP_ACCEPT;
	/* Properties of the bytes alone (see the header): a relay of one is
	 * no accident. */
	case FL_ESIG:
	case FL_ETRUNC:
	case FL_ETRAILING:
	case FL_ENONCANON:
	case FL_EVERSION:
	case FL_EINVAL:
	case FL_ECHAIN:
	case FL_EPROTO:
		return P2P_GOSSIP_REJECT;
	/* FL_EDUP, FL_ENONCE, FL_EFUNDS, FL_ETOOBIG, FL_ESTATE, FL_EPERM,
	 * FL_ENOTFOUND, FL_EOVERFLOW, FL_ENOMEM, FL_EDB, …: our state and
	 * timing, not the peer's fault. */
	default:
		return P2P_GOSSIP_IGNORE;
	}
}

int node_mempool_contains(const node_mempool *mp, const fl_hash *hash)
{
	assert(mp != NULL && hash != NULL);
	return node__mp_find(mp, hash) != NULL;
}

int node_mempool_get_bytes(const node_mempool *mp, const fl_hash *hash, const uint8_t **p,
			   size_t *n)
{
	const node__mp_entry *e;

	assert(mp != NULL && hash != NULL && p != NULL && n != NULL);
	if ((e = node__mp_find(mp, hash)) == NULL) {
		*p = NULL;
		*n = 0;
		return FL_ENOTFOUND;
	}
	*p = e->bytes;
	*n = e->len;
	return FL_OK;
}

void node_mempool_get_stats(const node_mempool *mp, node_mempool_stats *out)
{
	assert(mp != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	out->count = mp->count;
	out->bytes = mp->bytes;
	out->senders = mp->n_senders;
	out->admitted = mp->admitted;
	out->refused = mp->refused;
	out->removed = mp->removed;
}
