/*
 * node/mempool.h — the node's pool of txs waiting for a block (issue 9
 * item 5, docs/mempool.md).
 *
 * A tx is admitted exactly when it would apply in the next block after the
 * txs admitted before it: admission runs the chain's own rules through the
 * chain's overlay checker (chain_mempool_check_*, chain.h), so signature,
 * nonce, balance and every other rule are the chain's, and the signature is
 * verified once (the store's signature cache remembers it for the recheck
 * and for the block). What the pool adds: de-duplication by tx hash and by
 * (sender, nonce), caps by count, bytes and per sender, admission order,
 * the reap for a proposer, the recheck after each block, and the gossip
 * verdict of an admission's result.
 *
 * Admission order is the order of everything the pool hands out. Each tx
 * was checked on top of every tx admitted before it, so any prefix of that
 * order applies as a block: a sender's txs are in nonce order (the checker
 * admits nonce n+1 only after n) and a spend of tokens received in the
 * pool comes after their transfer.
 *
 * Bounds: every queue has one. The pool holds at most max_txs txs, at most
 * max_bytes bytes of their encodings and at most max_per_sender txs of one
 * sender; its index tables are allocated once, at their full size, by
 * node_mempool_new, so admission never grows them. When a cap is reached
 * the pool refuses (FL_ETOOBIG) rather than evicting: an eviction rule is a
 * lever for a flooder, who would push out other senders' txs with its own
 * (and, after an eviction of a sender's nonce n, its queued n+1.. cannot
 * apply any more). A refusal costs an honest sender a retry after the next
 * block empties the pool, and the flooder's own txs, once in, are paid for
 * by the flooder when they are included. The per-sender cap keeps one
 * account from taking the whole pool. Memory: the tables, plus per tx its
 * bytes and about 100 bytes, plus the checker's overlay (which grows with
 * what it admitted, hence the caps).
 *
 * Threads and the store: a node_mempool is used by one thread (the node's
 * loop thread). Its checker holds an LMDB reader (chain.h: the map cannot
 * grow while it is open, and a thread holding one cannot grow it), so the
 * node calls node_mempool_release before it applies a block (on any
 * thread) and node_mempool_update after the block commits (or fails).
 * In between, admission is refused (FL_ESTATE, "mempool: paused for a
 * block"); reap still works.
 *
 * Error codes: every refusal returns a negative FL_E* code and, in
 * *reason, static words the HTTP API can show ("mempool: full", "tx:
 * nonce"). The codes are chosen so that node_mempool_verdict can judge a
 * gossip message by the code alone (see there).
 */
#ifndef FEDLEDGER_NODE_MEMPOOL_H
#define FEDLEDGER_NODE_MEMPOOL_H

#include "chain/chain.h"
#include "p2p/p2p.h"

/* Most txs a pool may be configured for (its tables take 56 bytes a slot,
 * with at most 3/4 of the slots used: 28 MiB at this size). */
#define NODE_MEMPOOL_MAX_TXS_LIMIT (1u << 18)

/*
 * What a block holds besides its txs' encodings, at most: the header (339
 * bytes with the longest chain id), the tx count (3), and a last commit
 * signed by CHAIN_MAX_VALIDATORS validators (12,334). A proposer reaps
 * max_block_bytes minus this, and the block it builds is never over the
 * limit (tests/node/test_mempool_reap.c checks the bound).
 */
#define NODE_MEMPOOL_BLOCK_OVERHEAD 16384u

typedef struct {
	uint32_t max_txs;        /* 1..NODE_MEMPOOL_MAX_TXS_LIMIT; default 20,000 */
	size_t max_bytes;        /* total of the encodings, >= 1; default 16 MiB */
	uint32_t max_per_sender; /* 1..max_txs; default 256 */
	size_t max_tx_bytes;     /* one tx, 1..CHAIN_MAX_TX_BYTES; default CHAIN_MAX_TX_BYTES */
} node_mempool_config;

void node_mempool_config_default(node_mempool_config *cfg);

typedef struct node_mempool node_mempool; /* opaque */

/*
 * A pool over store `s` (which must hold a genesis and outlive the pool),
 * with a copy of *cfg (NULL = defaults). FL_EINVAL for a config out of its
 * ranges, FL_ENOMEM, or the store's code reading its info. The pool has no
 * loop handle and nothing pending, so it is freed at once by
 * node_mempool_free (NULL is a no-op), which ends its checker.
 */
int node_mempool_new(node_mempool **out, chain_store *s,
		     const node_mempool_config *cfg) FL_MUST_CHECK;
void node_mempool_free(node_mempool *mp);

/*
 * Admission of a decoded tx (copied: the caller keeps *tx) or of its
 * encoding (from the network or the HTTP API: decoded with every bound
 * checked, and refused unless it is the tx's one canonical encoding).
 *
 * FL_OK: admitted. Else, in this order of checks:
 *  - malformed: FL_ETRUNC, FL_ETRAILING, FL_ENONCANON, FL_EVERSION or
 *    FL_EINVAL ("tx: truncated", …; a length over its limit is FL_EINVAL
 *    "tx: over a length limit", an over-long varint FL_ENONCANON), so
 *    these codes never mean a full pool or a spent balance;
 *  - FL_ETOOBIG "mempool: tx too large" (over max_tx_bytes or max_bytes) or
 *    "mempool: tx larger than a block" (no block could hold it);
 *  - FL_EDUP "mempool: duplicate" (that hash is queued) or
 *    "mempool: nonce already queued" (another tx of that sender and nonce
 *    is: the first one seen stays, there is no replacement);
 *  - FL_ETOOBIG "mempool: full", "mempool: full (bytes)",
 *    "mempool: sender has too many queued txs";
 *  - FL_ESTATE "mempool: paused for a block" (between release and update);
 *  - the checker: FL_ESIG "tx: signature" (also for a tx signed for another
 *    chain: the chain id is under the signature), or a rule's refusal with
 *    the chain's words ("tx: nonce" FL_ENONCE, "tx: balance too low"
 *    FL_EFUNDS, "tx: unknown sender" FL_ENOTFOUND, …). A rule's refusal
 *    that the chain reports as FL_EINVAL, FL_EVERSION, FL_ETRUNC,
 *    FL_ETRAILING, FL_ENONCANON or FL_ECHAIN is returned as FL_ESTATE
 *    (words kept): those rules read the state, and their codes must not
 *    look like a malformed tx;
 *  - FL_ENOMEM, or the store's code when the checker cannot begin.
 * `hash` (may be NULL) gets the tx hash once the tx has decoded (also on a
 * refusal after that), zero before. `reason` (may be NULL) gets NULL on
 * FL_OK.
 */
int node_mempool_add(node_mempool *mp, const chain_tx *tx, fl_hash *hash,
		     const char **reason) FL_MUST_CHECK;
int node_mempool_add_bytes(node_mempool *mp, const uint8_t *p, size_t n, fl_hash *hash,
			   const char **reason) FL_MUST_CHECK;

/*
 * The gossip verdict of an admission's code (p2p.h, on_gossip), judged by
 * what an honest peer could have relayed:
 *  - ACCEPT: FL_OK, forward it.
 *  - REJECT (drop it, score the peer): FL_ESIG, FL_ETRUNC, FL_ETRAILING,
 *    FL_ENONCANON, FL_EVERSION, FL_EINVAL, FL_ECHAIN, FL_EPROTO. Nothing
 *    about these depends on state or time: a signature verifies or not for
 *    this chain forever, an encoding is canonical or not. An honest peer
 *    checked the same before it forwarded, so a peer that sends one either
 *    made it or relays without checking.
 *  - IGNORE (drop it, no score) for everything else: a duplicate, a nonce
 *    already used or queued, a tx already included, a balance spent, a
 *    full pool or a paused one, a store failure, and any code not listed
 *    above. These depend on our state and timing: a tx valid when an
 *    honest peer relayed it turns stale when a block lands first, and a
 *    peer ahead of us or behind us sees other nonces and balances. If they
 *    scored the peer, a stranger could get honest peers punished by
 *    racing its own txs against a block (or by sending one tx twice).
 *    Unknown codes fall here because punishing by mistake is the costlier
 *    error: an ignored bad tx only costs a check.
 */
p2p_gossip_verdict node_mempool_verdict(int rc);

/*
 * The first txs in admission order, up to max_txs of them and max_bytes of
 * their encodings, left in the pool: for a proposer, which passes its
 * block limits (params.max_block_txs and params.max_block_bytes minus
 * NODE_MEMPOOL_BLOCK_OVERHEAD). It stops at the first tx that does not
 * fit rather than skipping it, since a later tx may need it (the sender's
 * next nonce, the tokens it received). *txs gets a fresh array of decoded
 * copies (NULL when *n is 0), which can be a chain_block's txs as is (or
 * freed by chain_tx_free on each and fl_free on the array). FL_ENOMEM
 * (nothing allocated left behind).
 */
int node_mempool_reap(node_mempool *mp, uint32_t max_txs, size_t max_bytes, chain_tx **txs,
		      uint32_t *n) FL_MUST_CHECK;

/* Ends the checker (and its LMDB reader) before the node applies a block;
 * admission is refused until node_mempool_update. Idempotent. */
void node_mempool_release(node_mempool *mp);

/* What an update removed (each tx counted once). */
typedef struct {
	uint32_t included; /* its hash is in the block */
	uint32_t stale;    /* its nonce is used: another tx of that nonce landed */
	uint32_t failed;   /* no longer applies (a balance spent, a round closed, …) */
	uint32_t gapped;   /* a later tx of a sender whose tx failed: a nonce gap now */
	uint32_t kept;     /* still queued, admitted again on the new state */
} node_mempool_update_result;

/*
 * After a block commits: removes the block's txs by hash (b may be NULL:
 * after sync applied several blocks, or a block failed, the recheck alone
 * does what follows), ends the checker, begins a new one on the committed
 * state and admits the remaining txs into it again in admission order. A tx
 * whose nonce is now used is removed (stale); one that no longer applies is
 * dropped with every later tx of its sender (which would now have a nonce
 * gap; a tx whose recheck runs out of memory counts as failed). Also ends
 * a release. `res` (may be NULL) gets the counts.
 * FL_OK, or the code of a checker that could not begin (the store's, or
 * FL_ENOMEM): then every tx is dropped (counted as failed), since none of
 * them is checked on the new state; the next admission tries to begin a
 * checker again.
 */
int node_mempool_update(node_mempool *mp, const chain_block *b,
			node_mempool_update_result *res) FL_MUST_CHECK;

/* 1 if a tx of this hash is queued. */
int node_mempool_contains(const node_mempool *mp, const fl_hash *hash);
/* The canonical encoding of the queued tx of this hash (for GET
 * /v1/txs/{hash}): *p points into the pool, valid until the next call that
 * changes it (add, update). FL_ENOTFOUND when none is queued. */
int node_mempool_get_bytes(const node_mempool *mp, const fl_hash *hash, const uint8_t **p,
			   size_t *n) FL_MUST_CHECK;

/* For /metrics and /status. Counters count since node_mempool_new. */
typedef struct {
	size_t count;      /* txs queued */
	size_t bytes;      /* sum of their encodings */
	size_t senders;    /* distinct senders queued */
	uint64_t admitted; /* txs admitted */
	uint64_t refused;  /* admissions refused, any reason */
	uint64_t removed;  /* by updates, any reason */
} node_mempool_stats;

void node_mempool_get_stats(const node_mempool *mp, node_mempool_stats *out);

#endif
