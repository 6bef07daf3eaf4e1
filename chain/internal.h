/*
 * chain/internal.h — cross-file internals of chain/ (never included from
 * another module). Two layers meet here:
 *
 *   store (store.c, txn.c, apphash.c, lthash.c): the LMDB environment, its
 *   named databases, and transactions that keep the state hash (an LtHash
 *   of the whole state) by folding in what each of them changed;
 *
 *   state machine (records.c, ledger.c, governance.c, profile.c, round.c,
 *   election.c, apply.c, genesis_state.c): typed records on top of a
 *   chain_txn and the rules of every tx kind.
 */
#ifndef FEDLEDGER_CHAIN_INTERNAL_H
#define FEDLEDGER_CHAIN_INTERNAL_H

#include "chain/chain.h"

/* The named databases. Those below CHAIN_DB_STATE_COUNT are state: every
 * element of them is in the state hash. The others are indexes and bookkeeping. */
typedef enum {
	/* state */
	CHAIN_DB_ACCOUNTS = 0, /* pubkey -> chain_account record */
	CHAIN_DB_VALIDATORS,   /* pubkey -> u64 power (only > 0 stored) */
	CHAIN_DB_MEMBERS,      /* pubkey -> member record (height admitted) */
	CHAIN_DB_PROFILES,     /* id -> chain_profile + chain_profile_state */
	CHAIN_DB_ROUNDS,       /* id 0x00 u64be(round) -> chain_round */
	CHAIN_DB_UPDATES,      /* id 0x00 u64be(round) pubkey -> chain_update_record */
	CHAIN_DB_JOINS,        /* id 0x00 pubkey -> round_join record */
	CHAIN_DB_VOTES,        /* kind u8, subject, voter -> u8 choice (pending governance) */
	CHAIN_DB_EVALS,        /* id 0x00 u64be(round) pubkey -> eval record */
	CHAIN_DB_REWARDS,      /* id 0x00 u64be(round) u32be(i) -> chain_reward */
	CHAIN_DB_PROPOSALS,    /* proposer id -> chain_proposal_record (undecided only) */
	/* u64be(expiry height) id -> 1, for the undecided proposals */
	CHAIN_DB_PROPOSAL_EXPIRY,
	/* id -> 1, for every ACTIVE profile (the set the round schedule walks) */
	CHAIN_DB_ACTIVE_PROFILES,
	CHAIN_DB_STATE_META, /* "supply", "deposits", "total_power": state scalars */
	/* u64be(from height) -> chain_validator_set in force from it (valset.c) */
	CHAIN_DB_VALSET_HISTORY,
	/* u64be(in force at) u32be(seq) -> validator update (valset_update.c) */
	CHAIN_DB_VALSET_PENDING,
	CHAIN_DB_BONDS,      /* pubkey -> chain_bond record (absent = no stake) */
	CHAIN_DB_UNBONDING,  /* u64be(release height) pubkey -> 0x01: the release queue */
	CHAIN_DB_STATE_COUNT,
	/* not state */
	CHAIN_DB_META = CHAIN_DB_STATE_COUNT, /* height, hashes, genesis, params */
	CHAIN_DB_BLOCKS,                      /* u64be(height) -> encoded block */
	CHAIN_DB_BLOCK_HASHES,                /* hash -> u64be(height) */
	CHAIN_DB_TXS,                         /* tx hash -> u64be(height) u32be(index) */
	CHAIN_DB_COUNT
} chain_db;

/* Name of each database in the LMDB environment. */
const char *chain_db_name(chain_db db);

/* The map size a store opens with: the request (0 = 1 GiB), but never less
 * than `used` bytes of data plus a quarter of it (at least 256 KiB). */
size_t chain_store_map_size_for(size_t requested, size_t used);
/* The map size now (0 if LMDB cannot say). */
size_t chain_store_mapsize(chain_store *s);
/* If a write found the map full since the last call: grows it (by its own
 * size, 64 MiB to 1 GiB) and returns 1, so the caller retries its txn
 * once. 0 when it was not full or cannot grow now (the calling thread holds
 * a txn or snapshot: growing would wait for itself). Call with no txn open. */
int chain_store_grow_if_full(chain_store *s);

typedef struct chain_txn chain_txn;

/* A snapshot is a read txn (snapshot.c). */
struct chain_snapshot {
	chain_txn *t;
};

/* Begin a transaction. A write transaction records which keys of the state
 * databases (CHAIN_DB_* < CHAIN_DB_STATE_COUNT) it writes, for
 * chain_txn_state_hash. Only one write transaction at a time (LMDB's rule). */
int chain_txn_begin(chain_store *s, int write, chain_txn **out) FL_MUST_CHECK;
/* Store the state hash (a write txn that wrote state), commit (durably,
 * fsync) and free. On error the txn is aborted and freed. */
int chain_txn_commit(chain_txn *t) FL_MUST_CHECK;
void chain_txn_abort(chain_txn *t);

/*
 * Admission txns (overlay.c): a read txn with an in-memory overlay of
 * writes. get/put/del/scan read the overlay over the committed state and
 * write only to the overlay: no LMDB write lock, no change log, never
 * committed (abort it; the overlay outlives it). mark/rollback take back
 * the writes made since the mark; keep makes them permanent in the overlay.
 */
typedef struct chain_overlay chain_overlay;
int chain_overlay_new(chain_overlay **out) FL_MUST_CHECK;
void chain_overlay_free(chain_overlay *ov);
size_t chain_overlay_size(const chain_overlay *ov); /* keys it holds */
size_t chain_overlay_mark(const chain_overlay *ov);
void chain_overlay_rollback(chain_overlay *ov, size_t mark);
void chain_overlay_keep(chain_overlay *ov);
int chain_txn_begin_overlay(chain_store *s, chain_overlay *ov, chain_txn **out) FL_MUST_CHECK;
/* The admission txn of ck: the state the admitted txs left, for reading
 * (tests compare it with what a block of those txs commits). Owned by ck,
 * valid until chain_mempool_check_end; a write through it would bypass
 * admission. */
chain_txn *chain_mempool_check_txn(chain_mempool_check *ck);

/* *val points into the map and is valid until the next write in this txn or
 * its end: decode it at once. FL_ENOTFOUND when absent. */
int chain_txn_get(chain_txn *t, chain_db db, const void *key, size_t klen, const uint8_t **val,
		  size_t *vlen) FL_MUST_CHECK;
int chain_txn_put(chain_txn *t, chain_db db, const void *key, size_t klen, const void *val,
		  size_t vlen) FL_MUST_CHECK;
/* Deleting an absent key is not an error. */
int chain_txn_del(chain_txn *t, chain_db db, const void *key, size_t klen) FL_MUST_CHECK;

/* Visit every key starting with `prefix` in key order. The callback returns
 * 0 to continue, 1 to stop (not an error), or a negative code to abort the
 * scan with that code. The callback must not write to `db`. */
typedef int (*chain_scan_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
			     size_t vlen);
int chain_txn_scan(chain_txn *t, chain_db db, const void *prefix, size_t plen, chain_scan_fn fn,
		   void *ctx) FL_MUST_CHECK;
/* Store reads made in this txn so far: one per get, one per scan's seek and
 * one per record a scan visits. The measure of work the tests bound (the
 * begin-block step must not grow with what the state merely holds). */
uint64_t chain_txn_reads(const chain_txn *t);

/* The entry with the greatest key <= `key` (byte order), for tables whose
 * keys are heights: *found_key and *val point into the map like
 * chain_txn_get's *val. FL_ENOTFOUND when every key is greater. On an
 * admission txn the overlay's writes count (a delete hides a committed
 * key), as they do for get and scan. */
int chain_txn_get_le(chain_txn *t, chain_db db, const void *key, size_t klen,
		     const uint8_t **found_key, size_t *found_klen, const uint8_t **val,
		     size_t *vlen) FL_MUST_CHECK;

/*
 * The state hash as this txn sees it: the committed value (META
 * state_lthash; zero before the first commit) plus, for each (db, key) the
 * txn wrote, the element with its value now minus the element with its
 * value before the txn (an absent value adds or removes nothing), so a key
 * written many times folds once. Commit stores it. Cached until the next
 * state write.
 */
int chain_txn_state_hash(chain_txn *t, chain_lthash *out) FL_MUST_CHECK;

/* LtHash arithmetic (lthash.c). A hasher holds the OpenSSL contexts that
 * map an element to its vector; one per thread. */
typedef struct chain_lthasher chain_lthasher;
int chain_lthasher_new(chain_lthasher **out) FL_MUST_CHECK;
void chain_lthasher_free(chain_lthasher *h);
/* acc += element (add != 0) or acc -= element. FL_ECRYPTO if OpenSSL fails. */
int chain_lthash_fold(chain_lthasher *h, chain_lthash *acc, int add, uint8_t db, const void *key,
		      size_t klen, const void *val, size_t vlen) FL_MUST_CHECK;
void chain_lthash_to_bytes(uint8_t out[CHAIN_LTHASH_BYTES], const chain_lthash *h);
void chain_lthash_from_bytes(chain_lthash *h, const uint8_t in[CHAIN_LTHASH_BYTES]);

/* Meta keys in CHAIN_DB_META (values in the canonical codec). */
#define CHAIN_META_CHAIN_ID     "chain_id"     /* str */
#define CHAIN_META_HEIGHT       "height"       /* u64 */
#define CHAIN_META_LAST_BLOCK   "last_block"   /* hash */
#define CHAIN_META_APP_HASH     "app_hash"     /* hash */
#define CHAIN_META_STATE_LTHASH "state_lthash" /* CHAIN_LTHASH_BYTES raw */
#define CHAIN_META_BEACON       "beacon"       /* hash */
#define CHAIN_META_LAST_TIME    "last_time_ms" /* u64 */
#define CHAIN_META_GENESIS_HASH "genesis_hash" /* hash */
#define CHAIN_META_PARAMS       "params"       /* chain_params */
/* State scalars in CHAIN_DB_STATE_META. */
#define CHAIN_STATE_SUPPLY      "supply"      /* u64 */
#define CHAIN_STATE_TOTAL_POWER "total_power" /* u64 */
/* Tokens locked by undecided proposals: supply = sum of balances + deposits. */
#define CHAIN_STATE_DEPOSITS "deposits" /* u64 */
/* u64 sums of the bonded amounts and the unbonding entries of CHAIN_DB_BONDS. */
#define CHAIN_STATE_BONDED    "bonded_total"
#define CHAIN_STATE_UNBONDING "unbonding_total"

int chain_params_encode(fl_writer *w, const chain_params *p) FL_MUST_CHECK;
int chain_params_decode(fl_reader *r, chain_params *p) FL_MUST_CHECK;
/* Ranges of the chain parameters: FL_EINVAL and *field names the first bad
 * one as "params.<name>" (a static string). The decoder runs it too. */
int chain_params_check(const chain_params *p, const char **field) FL_MUST_CHECK;

/* Big-endian helpers for keys (so LMDB's byte order is numeric order). */
void chain_put_be64(uint8_t out[8], uint64_t v);
uint64_t chain_get_be64(const uint8_t in[8]);

/* ------------------------------------------------------------ codecs
 * Shared by the codec files (tx.c, tx_bodies.c, tx_evidence.c, vote.c,
 * block.c, profile_check.c, profile_codec.c). */

/* The smallest possible encoded tx (envelope and signature, empty body):
 * bounds how many txs the remaining bytes of a block can hold. */
#define CHAIN_TX_MIN_BYTES (1 + 1 + FL_PUBKEY_LEN + 8 + FL_SIG_LEN)

/* Body of tx->kind after the envelope. The decoder ends with
 * chain_tx_body_check; the encoder assumes the caller ran it (tx.c does,
 * before writing a byte), so that whatever encodes also decodes. An
 * unknown kind is FL_EVERSION. The evidence functions are the same split. */
int chain_tx_body_encode(fl_writer *w, const chain_tx *tx) FL_MUST_CHECK;
int chain_tx_body_decode(fl_reader *r, chain_tx *tx) FL_MUST_CHECK;
int chain_tx_body_check(const chain_tx *tx) FL_MUST_CHECK;
int chain_evidence_encode(fl_writer *w, const chain_tx_evidence *e) FL_MUST_CHECK;
int chain_evidence_decode(fl_reader *r, chain_tx_evidence *e) FL_MUST_CHECK;
int chain_evidence_check(const chain_tx_evidence *e) FL_MUST_CHECK;
/* validator_update body (records.c): pubkey target, u8 action, u64 power;
 * the same bytes are a scheduled update's record. */
int chain_valset_update_check(const chain_tx_validator_update *u) FL_MUST_CHECK;
int chain_valset_update_write(fl_writer *w, const chain_tx_validator_update *u) FL_MUST_CHECK;
int chain_valset_update_read(fl_reader *r, chain_tx_validator_update *u) FL_MUST_CHECK;

/* Labels: 1..max entries, strictly increasing (FL_ENONCANON otherwise,
 * FL_EINVAL for a bad count). Summary: 0..CHAIN_SUMMARY_MAX entries within
 * +-CHAIN_SUMMARY_ABS_MAX (FL_EINVAL). */
int chain_labels_check(const uint16_t *labels, uint32_t n) FL_MUST_CHECK;
int chain_summary_check(const int32_t *summary, uint32_t n) FL_MUST_CHECK;
void chain_write_summary(fl_writer *w, const int32_t *summary, uint32_t n);
int chain_read_summary(fl_reader *r, int32_t *summary, uint32_t *n) FL_MUST_CHECK;
void chain_write_labels(fl_writer *w, const uint16_t *labels, uint32_t n);
int chain_read_labels(fl_reader *r, uint16_t *labels, uint32_t *n) FL_MUST_CHECK;
/* True for printable ASCII 0x20..0x7e of length min..max (a NUL within max). */
int chain_text_valid(const char *s, size_t min, size_t max);

/* Record a semantic failure in the reader or writer (sticky, like the
 * codec's own errors); returns rc. */
int chain_reader_fail(fl_reader *r, int rc);
int chain_writer_fail(fl_writer *w, int rc);

/* ================================================================
 * State machine: records, typed state access and the rules of every tx
 * kind (records.c, ledger.c, governance.c, profile.c, election.c,
 * round.c, round_tx.c, aggregate.c, evidence.c, valset.c,
 * valset_update.c, apply.c, state.c, genesis_state.c, state_get.c).
 * Owned by the state-machine files; the rules themselves are written down
 * in docs/state-machine.md and docs/rounds.md.
 * ================================================================ */

/* Meta (bookkeeping, not state): the commit that finalised the block at
 * the tip, once the node has stored it (chain_store_put_tip_commit). */
#define CHAIN_META_TIP_COMMIT "tip_commit" /* chain_commit */

/* First byte of a CHAIN_DB_VOTES key. Pending governance votes are
 * deleted when their subject is decided; the evidence kinds stay, so one
 * misbehaviour is punished once. */
enum {
	CHAIN_VOTES_MEMBER_ADD = 1,    /* member, voter -> 1 */
	CHAIN_VOTES_MEMBER_REMOVE = 2, /* member, voter -> 1 */
	CHAIN_VOTES_PROFILE = 3,       /* phase, id 0x00, voter -> choice */
	CHAIN_VOTES_DOUBLE_SIGN = 4,   /* culprit, u64be height, u32be round -> 1 */
	CHAIN_VOTES_BAD_AGGREGATE = 5, /* culprit, u64be round, id 0x00, voter -> 1 */
	CHAIN_VOTES_BAD_AGG_DONE = 6,  /* culprit, u64be round, id 0x00 -> 1 */
	/* A validator_update vote is two keys: by subject for the tally, by
	 * voter to bound and age each voter's open votes. The subject is
	 * target, u8 action, u64be power. */
	CHAIN_VOTES_VALSET = 7,          /* subject, voter -> 1 */
	CHAIN_VOTES_VALSET_BY_VOTER = 8, /* voter, subject -> u64 height of the vote */
};

/* Phases of a profile's vote (the byte after CHAIN_VOTES_PROFILE). */
enum { CHAIN_PROFILE_PHASE_APPROVE = 1, CHAIN_PROFILE_PHASE_RETIRE = 2 };

/* Longest key the state machine builds (votes on a bad aggregate). */
#define CHAIN_KEY_MAX (1 + FL_PUBKEY_LEN + 8 + CHAIN_PROFILE_ID_MAX + 1 + FL_PUBKEY_LEN)

/* ------------------------------------------------------------- records */

typedef struct {
	uint64_t height; /* admitted at (0 = genesis) */
	char name[CHAIN_NAME_MAX + 1];
} chain_member_record;

/* A member's declaration for a profile's rounds (round_join). */
typedef struct {
	uint64_t height; /* of the latest join: a re-join replaces the record */
	uint64_t n_samples;
	uint32_t n_labels;
	uint16_t labels[CHAIN_MAX_LABELS];
	uint64_t label_counts[CHAIN_MAX_LABELS];
	uint32_t n_summary;
	int32_t summary[CHAIN_SUMMARY_MAX];
} chain_join_record;

typedef struct {
	fl_hash model;
	uint64_t n_samples;
	uint64_t metric_value;
	uint64_t height;
} chain_eval_record;

/* An undecided profile proposal (CHAIN_DB_PROPOSALS): what its proposer
 * locked, returned or burned when it is decided, and the height at whose
 * start it expires (its key in CHAIN_DB_PROPOSAL_EXPIRY). */
typedef struct {
	uint64_t deposit;
	uint64_t expires;
} chain_proposal_record;

/*
 * Record codecs. The account record holds balance, nonce, jailed,
 * reputation and name; power lives in CHAIN_DB_VALIDATORS and membership in
 * CHAIN_DB_MEMBERS, so the decoder leaves those two fields zero. Decoders
 * are bounded and reject trailing bytes like every other chain decoder.
 */
int chain_account_record_encode(fl_writer *w, const chain_account *a) FL_MUST_CHECK;
int chain_account_record_decode(const uint8_t *p, size_t n, chain_account *a) FL_MUST_CHECK;
int chain_member_record_encode(fl_writer *w, const chain_member_record *m) FL_MUST_CHECK;
int chain_member_record_decode(const uint8_t *p, size_t n, chain_member_record *m) FL_MUST_CHECK;
int chain_profile_record_encode(fl_writer *w, const chain_profile *def,
				const chain_profile_state *st) FL_MUST_CHECK;
int chain_profile_record_decode(const uint8_t *p, size_t n, chain_profile *def,
				chain_profile_state *st) FL_MUST_CHECK;
int chain_round_record_encode(fl_writer *w, const chain_round *r) FL_MUST_CHECK;
int chain_round_record_decode(const uint8_t *p, size_t n, chain_round *r) FL_MUST_CHECK;
int chain_update_record_encode(fl_writer *w, const chain_update_record *u) FL_MUST_CHECK;
int chain_update_record_decode(const uint8_t *p, size_t n, chain_update_record *u) FL_MUST_CHECK;
int chain_join_record_encode(fl_writer *w, const chain_join_record *j) FL_MUST_CHECK;
int chain_join_record_decode(const uint8_t *p, size_t n, chain_join_record *j) FL_MUST_CHECK;
int chain_eval_record_encode(fl_writer *w, const chain_eval_record *e) FL_MUST_CHECK;
int chain_eval_record_decode(const uint8_t *p, size_t n, chain_eval_record *e) FL_MUST_CHECK;
int chain_proposal_record_encode(fl_writer *w, const chain_proposal_record *p) FL_MUST_CHECK;
int chain_proposal_record_decode(const uint8_t *p, size_t n,
				 chain_proposal_record *out) FL_MUST_CHECK;
int chain_reward_record_encode(fl_writer *w, const chain_reward *r) FL_MUST_CHECK;
int chain_reward_record_decode(const uint8_t *p, size_t n, chain_reward *r) FL_MUST_CHECK;
/* Amounts > 0, release heights strictly increasing, bonded plus entries
 * within 64 bits; an all-zero bond is never stored (FL_EINVAL). */
int chain_bond_record_encode(fl_writer *w, const chain_bond *b) FL_MUST_CHECK;
int chain_bond_record_decode(const uint8_t *p, size_t n, chain_bond *b) FL_MUST_CHECK;
int chain_validator_set_encode(fl_writer *w, const chain_validator_set *v) FL_MUST_CHECK;
int chain_validator_set_decode(const uint8_t *p, size_t n, chain_validator_set *v) FL_MUST_CHECK;
/* A scheduled update (CHAIN_DB_VALSET_PENDING): the tx body's bytes,
 * checked like the body. */
int chain_valset_update_record_decode(const uint8_t *p, size_t n,
				      chain_tx_validator_update *u) FL_MUST_CHECK;

/* ---------------------------------------------------------------- keys */

/* Each writes a key into out (CHAIN_KEY_MAX bytes) and returns its length. */
size_t chain_key_profile_prefix(uint8_t *out, const char *id);        /* id 0x00 */
size_t chain_key_round(uint8_t *out, const char *id, uint64_t round); /* id 0x00 u64be */
size_t chain_key_round_member(uint8_t *out, const char *id, uint64_t round,
			      const fl_pubkey *pk); /* id 0x00 u64be pubkey */
void chain_put_be32(uint8_t out[4], uint32_t v);
uint32_t chain_get_be32(const uint8_t in[4]);

/* -------------------------------------------------- typed state access
 * All return FL_ENOTFOUND when absent and FL_ECORRUPT when a stored value
 * does not decode. Puts write exactly one record. */

/* Fills power (0 = not a validator) and member from their databases too. */
int chain_state_get_account(chain_txn *t, const fl_pubkey *pk, chain_account *out) FL_MUST_CHECK;
/* Writes the account record; ignores a->power and a->member (see above). */
int chain_state_put_account(chain_txn *t, const fl_pubkey *pk,
			    const chain_account *a) FL_MUST_CHECK;
/* Admitted and not jailed: only such an account joins rounds, commits
 * updates, coordinates, is paid a reward, proposes profiles or reports. */
static inline int chain_account_in_good_standing(const chain_account *a)
{
	return a->member && !a->jailed;
}
/* A fresh account: zero balance and nonce, starting reputation. */
void chain_account_init(chain_account *a, const char *name);
int chain_state_get_power(chain_txn *t, const fl_pubkey *pk, uint64_t *power) FL_MUST_CHECK;
/* Sets a validator's power (0 removes it) and keeps total_power equal to
 * the sum of CHAIN_DB_VALIDATORS. */
int chain_state_set_power(chain_txn *t, const fl_pubkey *pk, uint64_t power) FL_MUST_CHECK;
int chain_state_get_validators(chain_txn *t, chain_validator_set *out) FL_MUST_CHECK;
int chain_state_get_member(chain_txn *t, const fl_pubkey *pk,
			   chain_member_record *out) FL_MUST_CHECK;
int chain_state_put_member(chain_txn *t, const fl_pubkey *pk,
			   const chain_member_record *m) FL_MUST_CHECK;
int chain_state_del_member(chain_txn *t, const fl_pubkey *pk) FL_MUST_CHECK;
/* def or st may be NULL when the caller needs only the other. */
int chain_state_get_profile(chain_txn *t, const char *id, chain_profile *def,
			    chain_profile_state *st) FL_MUST_CHECK;
int chain_state_put_profile(chain_txn *t, const chain_profile *def,
			    const chain_profile_state *st) FL_MUST_CHECK;
/* Adds id to (active != 0) or removes it from CHAIN_DB_ACTIVE_PROFILES: done
 * by every transition into or out of ACTIVE. */
int chain_state_set_active(chain_txn *t, const char *id, int active) FL_MUST_CHECK;
int chain_state_get_round(chain_txn *t, const char *id, uint64_t round,
			  chain_round *out) FL_MUST_CHECK;
int chain_state_put_round(chain_txn *t, const chain_round *r) FL_MUST_CHECK;
int chain_state_get_update(chain_txn *t, const char *id, uint64_t round, const fl_pubkey *pk,
			   chain_update_record *out) FL_MUST_CHECK;
int chain_state_put_update(chain_txn *t, const char *id, uint64_t round,
			   const chain_update_record *u) FL_MUST_CHECK;
int chain_state_get_join(chain_txn *t, const char *id, const fl_pubkey *pk,
			 chain_join_record *out) FL_MUST_CHECK;
int chain_state_put_join(chain_txn *t, const char *id, const fl_pubkey *pk,
			 const chain_join_record *j) FL_MUST_CHECK;
int chain_state_get_eval(chain_txn *t, const char *id, uint64_t round, const fl_pubkey *pk,
			 chain_eval_record *out) FL_MUST_CHECK;
int chain_state_put_eval(chain_txn *t, const char *id, uint64_t round, const fl_pubkey *pk,
			 const chain_eval_record *e) FL_MUST_CHECK;
int chain_state_put_reward(chain_txn *t, const char *id, uint64_t round, uint32_t index,
			   const chain_reward *r) FL_MUST_CHECK;
/* u64 and hash values of CHAIN_DB_META / CHAIN_DB_STATE_META keys. */
int chain_state_get_u64(chain_txn *t, chain_db db, const char *key, uint64_t *out) FL_MUST_CHECK;
int chain_state_put_u64(chain_txn *t, chain_db db, const char *key, uint64_t v) FL_MUST_CHECK;
int chain_state_get_hash(chain_txn *t, const char *key, fl_hash *out) FL_MUST_CHECK;
int chain_state_put_hash(chain_txn *t, const char *key, const fl_hash *h) FL_MUST_CHECK;
/* Puts the finished bytes of w (w->err must be 0) under key. */
int chain_state_put_encoded(chain_txn *t, chain_db db, const void *key, size_t klen,
			    const fl_writer *w) FL_MUST_CHECK;
/* The set in force at `height` (valset.c): the history entry with the
 * greatest from-height <= height. FL_ENOTFOUND for height 0 and past the
 * next block (tip + 1), whose set nobody knows yet. */
int chain_state_get_validator_set(chain_txn *t, uint64_t height,
				  chain_validator_set *out) FL_MUST_CHECK;
/* Records that `set` is in force from `height` on. */
int chain_state_put_validator_set(chain_txn *t, uint64_t height,
				  const chain_validator_set *set) FL_MUST_CHECK;
/* chain_verify_commit inside t (chain.h states the checks and codes).
 * verified (may be NULL): per signature of c, 1 if it was verified already. */
int chain_commit_check(chain_txn *t, const char *chain_id, uint64_t height,
		       const fl_hash *block_hash, const chain_commit *c,
		       const uint8_t *verified) FL_MUST_CHECK;
/* chain_store_put_tip_commit inside t: c must be the commit of the tip t
 * sees (after a block's writes, that block). */
int chain_state_put_tip_commit(chain_txn *t, const chain_commit *c) FL_MUST_CHECK;
/* chain_store_info, read inside t (so it matches what t sees). FL_ENOTFOUND
 * before a genesis. */
int chain_state_info(chain_txn *t, chain_info *out) FL_MUST_CHECK;

/* ----------------------------------------------------------- execution */

/* ---------------------------------------------- prepared blocks (block_prep.c)
 * What apply needs of a block's bytes, computed once per block: its
 * encoding, each tx's hash and sighash from one encoding of the tx, the tx
 * root, the commit's vote digests; verify_pool.c prepares the txs and then
 * fills sig_ok and commit_ok on the verify threads, from before the write
 * transaction opens (apply.c reads sig_ok only after the txs have run). */

typedef struct {
	fl_writer enc; /* the tx's encoding, until assembled into the block's */
	int enc_rc;    /* why the tx does not encode, else 0 */
	fl_hash sighash;
	uint8_t sighash_ok; /* the tx encodes and the header's chain id is valid */
	uint8_t sig_ok;     /* its signature verified (or was in the cache) */
} chain_tx_prep;

typedef struct {
	fl_writer enc;   /* the block's encoding; valid when enc_rc == 0 */
	int enc_rc;      /* why the block does not encode (check 13) */
	int root_rc;     /* why a tx does not encode (check 6), else 0 */
	fl_hash tx_root; /* when root_rc == 0 */
	int id_ok;       /* the header's chain id is valid (sighashes computed) */
	uint32_t n_txs;
	fl_hash *tx_hash;   /* n_txs, owned */
	chain_tx_prep *txs; /* n_txs, owned */
	uint32_t n_sigs;    /* of the last commit, at most CHAIN_MAX_VALIDATORS */
	fl_hash vote_digest[CHAIN_MAX_VALIDATORS];
	uint8_t vote_ok[CHAIN_MAX_VALIDATORS];   /* the digest was computed */
	uint8_t commit_ok[CHAIN_MAX_VALIDATORS]; /* the precommit verified */
	/* The checks in flight (verify_pool.c): tx i's preparation is item
	 * i, commit signatures are items n_txs..n_txs+n_sigs-1, tx i's
	 * signature is item n_txs + n_sigs + i. */
	struct chain_prep_checks *checks;
} chain_block_prep;

/* A block's preparation in three steps. prepare: the arrays and the
 * commit's vote digests. prep_tx: tx i's encoding, hash and sighash (under
 * b's own chain id), run by the checks (chain_block_prep_txs_wait waits
 * for all of them). assemble: the block's bytes and the tx root. Only
 * FL_ENOMEM fails them: a block that does not encode is recorded in
 * enc_rc / root_rc for the check that reports it. chain_block_prep_free
 * also after a failure (it ends checks still in flight). */
int chain_block_prepare(chain_block_prep *p, const chain_block *b) FL_MUST_CHECK;
void chain_block_prep_tx(chain_block_prep *p, const chain_block *b, uint32_t i);
int chain_block_prep_assemble(chain_block_prep *p, const chain_block *b) FL_MUST_CHECK;
void chain_block_prep_free(chain_block_prep *p);

/*
 * p's signature checks through the store's cache: begin starts them on up
 * to `threads` threads (0 = the store's setting) and returns at once
 * (remember: what verifies is added to the cache; apply, whose signatures
 * are never checked again, only looks up); tx_ok
 * and commit_ok wait for one result (the caller verifies in the meantime,
 * so with one thread each check runs when first asked for); end (cancel: 0
 * = finish every check, 1 = drop the unstarted ones) waits for the
 * workers. Begin fails only with FL_ENOMEM; end is safe after any begin.
 */
int chain_block_prep_checks_begin(chain_store *s, chain_block_prep *p, const chain_block *b,
				  unsigned threads, int remember) FL_MUST_CHECK;
/* Waits for every tx's preparation, running unclaimed ones on this thread. */
void chain_block_prep_txs_wait(chain_block_prep *p);
/* Whether every check is done already (no wait). */
int chain_block_prep_checks_done(const chain_block_prep *p);
/* Also after end without cancel: the result then is simply read. */
int chain_block_prep_tx_ok(chain_block_prep *p, uint32_t i);
int chain_block_prep_commit_ok(chain_block_prep *p, uint32_t k);
void chain_block_prep_checks_end(chain_block_prep *p, int cancel);

/* The pool (verify_pool.c): workers that run fn(ctx, slot, i) over a
 * batch of items claimed from a shared counter. One batch at a time. slot
 * names the thread (0 the caller, 1.. a worker; below
 * chain_verify_pool_slots) so that fn can keep per-thread state. */
#define CHAIN_MAX_VERIFY_THREADS 64
typedef struct chain_verify_pool chain_verify_pool;
typedef void (*chain_pool_fn)(void *ctx, unsigned slot, size_t i);
int chain_verify_pool_new(chain_verify_pool **out, unsigned threads) FL_MUST_CHECK;
void chain_verify_pool_free(chain_verify_pool *p);
unsigned chain_verify_pool_slots(const chain_verify_pool *p);
/* fn over items 0..n-1 on up to `threads` threads, the caller among them;
 * returns once all have run. p NULL, or busy with another batch: all on
 * the caller, in order. Only speed may depend on which thread ran what. */
void chain_verify_pool_run(chain_verify_pool *p, unsigned threads, chain_pool_fn fn, void *ctx,
			   size_t n);

/* The store's signature cache (never NULL on an open store). */
fl_sigcache *chain_store_sigcache(chain_store *s);
/* chain_tx_verify / chain_vote_verify through a signature cache (NULL = none). */
int chain_tx_verify_cached(const chain_tx *tx, const char *chain_id,
			   fl_sigcache *cache) FL_MUST_CHECK;
int chain_vote_verify_cached(const chain_vote *v, const char *chain_id,
			     fl_sigcache *cache) FL_MUST_CHECK;
/* What a vote's signature covers: fl_domain_hash("vote", chain_id, sign bytes). */
int chain_vote_digest(fl_hash *out, const char *chain_id, const chain_vote *v) FL_MUST_CHECK;
/* A tx's sighash from its whole encoding (the signature is its last
 * FL_SIG_LEN bytes): what chain_tx_sighash computes, without encoding. */
void chain_tx_sighash_of_encoding(fl_hash *out, const char *chain_id, const uint8_t *enc,
				  size_t n);

/* What every rule sees: the txn of the block and the block's context. */
typedef struct {
	chain_txn *t;
	char chain_id[CHAIN_ID_MAX + 1];
	chain_params params;
	uint64_t height; /* of the block being applied */
	fl_hash beacon;  /* of that block */
	/* Signature checks (outside consensus: they only save work). */
	fl_sigcache *sigcache;    /* verified triples; may be NULL */
	const chain_tx_prep *known; /* of the tx chain_exec_tx runs, if prepared */
	/* known's signature is judged by the caller after the rules (apply.c:
	 * the txs run while the verify threads check them). */
	int sig_later;
} chain_exec;

/* 128-bit intermediates for power thresholds and reward shares. */
__extension__ typedef unsigned __int128 chain_u128;

/* part > 2/3 of total, exactly: part*3 > total*2. */
static inline int chain_over_two_thirds(uint64_t part, uint64_t total)
{
	return (chain_u128)part * 3 > (chain_u128)total * 2;
}

/* part >= 1/3 of total, exactly: part*3 >= total. */
static inline int chain_at_least_one_third(uint64_t part, uint64_t total)
{
	return (chain_u128)part * 3 >= (chain_u128)total;
}

/* floor(a*b/c) for c > 0 where the result fits (b <= c, say). */
static inline uint64_t chain_mul_div(uint64_t a, uint64_t b, uint64_t c)
{
	return (uint64_t)((chain_u128)a * b / c);
}

/* Ledger (ledger.c): the only ways balances change. Supply in
 * CHAIN_DB_STATE_META stays the sum of all balances plus the deposits. */
int chain_ledger_transfer(chain_txn *t, const fl_pubkey *from, const fl_pubkey *to,
			  uint64_t amount) FL_MUST_CHECK;
int chain_ledger_mint(chain_txn *t, const fl_pubkey *to, uint64_t amount) FL_MUST_CHECK;
/* Burns min(amount, balance); *burned (may be NULL) says how much. */
int chain_ledger_burn(chain_txn *t, const fl_pubkey *from, uint64_t amount,
		      uint64_t *burned) FL_MUST_CHECK;
/* Deposits: lock moves amount from a balance into CHAIN_STATE_DEPOSITS
 * (FL_EFUNDS if the balance is short); unlock moves it back to an account;
 * burn_deposit destroys it (deposits and supply shrink). */
int chain_ledger_lock(chain_txn *t, const fl_pubkey *from, uint64_t amount) FL_MUST_CHECK;
int chain_ledger_unlock(chain_txn *t, const fl_pubkey *to, uint64_t amount) FL_MUST_CHECK;
int chain_ledger_burn_deposit(chain_txn *t, uint64_t amount) FL_MUST_CHECK;

/* Undecided proposals (proposal.c). open: at most params.max_open_proposals
 * per proposer, the deposit locked, the record and its expiry key written
 * (expiry at height + params.proposal_ttl_blocks). close: both deleted and
 * the deposit returned to the proposer (on activation) or burned (rejection,
 * expiry). begin_block: every proposal whose expiry is this height expires
 * (chain_profile_expire), visiting those only. */
int chain_proposal_open(chain_exec *x, const fl_pubkey *proposer, const char *id,
			const char **reason) FL_MUST_CHECK;
enum { CHAIN_DEPOSIT_RETURN = 1, CHAIN_DEPOSIT_BURN = 2 };
int chain_proposal_close(chain_exec *x, const fl_pubkey *proposer, const char *id,
			 int outcome) FL_MUST_CHECK;
int chain_proposals_begin_block(chain_exec *x) FL_MUST_CHECK;
/* PROPOSED -> EXPIRED: the approval votes deleted, the deposit burned
 * (profile.c). */
int chain_profile_expire(chain_exec *x, const char *id) FL_MUST_CHECK;

/* Governance votes (governance.c): sum of the current power of the voters
 * under `prefix` (a key without the trailing voter) whose stored choice is
 * `choice` (any choice when choice < 0), and deletion of them all. */
int chain_votes_tally(chain_txn *t, const uint8_t *prefix, size_t plen, int choice,
		      uint64_t *power) FL_MUST_CHECK;
int chain_votes_clear(chain_txn *t, const uint8_t *prefix, size_t plen) FL_MUST_CHECK;

/* Jail, drop power to 0, burn params.slash_bps of the bonded plus
 * unbonding stake (evidence.c). */
int chain_punish(chain_exec *x, const fl_pubkey *culprit) FL_MUST_CHECK;

/* Bonded stake (stake.c). get: a zero bond when none is stored. put:
 * writes the record, or deletes it when the bond is all zero; the caller
 * keeps the release queue and the totals. */
int chain_state_get_bond(chain_txn *t, const fl_pubkey *pk, chain_bond *out) FL_MUST_CHECK;
int chain_state_put_bond(chain_txn *t, const fl_pubkey *pk, const chain_bond *b) FL_MUST_CHECK;
/* Sum of b's unbonding entries (fits: the record codec checks it). */
uint64_t chain_bond_unbonding_sum(const chain_bond *b);
/* Moves `amount` of pk's liquid balance into its bond (genesis, bond tx):
 * FL_EFUNDS, FL_EOVERFLOW; bonded_total follows. */
int chain_stake_bond(chain_txn *t, const fl_pubkey *pk, uint64_t amount) FL_MUST_CHECK;
/* The start-of-block step: every unbonding entry whose release height is
 * x->height turns liquid. Costs O(entries due), whatever the queue holds. */
int chain_stake_begin_block(chain_exec *x) FL_MUST_CHECK;
/* Burns floor((bonded + unbonding) * bps / CHAIN_BPS) of pk's stake,
 * bonded first, then the entries soonest to release; the supply shrinks
 * by exactly *burned (may be NULL). */
int chain_stake_slash(chain_txn *t, const fl_pubkey *pk, uint32_t bps,
		      uint64_t *burned) FL_MUST_CHECK;

/* Opens, closes and fails rounds at the start of a block (round.c),
 * visiting the profiles of CHAIN_DB_ACTIVE_PROFILES only. */
int chain_rounds_begin_block(chain_exec *x) FL_MUST_CHECK;
/* The whole start-of-block step, before a block's txs (apply.c): expiring
 * proposals, then the round schedule. */
int chain_begin_block(chain_exec *x) FL_MUST_CHECK;
/* Fails the profile's OPEN/AGGREGATING round, if any (on retirement). */
int chain_round_abandon(chain_exec *x, const char *id, uint64_t round) FL_MUST_CHECK;

/* The rule of each tx kind, after signature and nonce (apply.c checked
 * them). 0 or an FL_E* code with *reason a static string. */
typedef int (*chain_rule_fn)(chain_exec *x, const chain_tx *tx, const char **reason);
int chain_rule_transfer(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;
int chain_rule_member(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;
int chain_rule_profile_propose(chain_exec *x, const chain_tx *tx,
			       const char **reason) FL_MUST_CHECK;
int chain_rule_profile_vote(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;
int chain_rule_round_join(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;
int chain_rule_update_commit(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;
int chain_rule_aggregate_commit(chain_exec *x, const chain_tx *tx,
				const char **reason) FL_MUST_CHECK;
int chain_rule_eval_report(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;
int chain_rule_evidence(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;
int chain_rule_validator_update(chain_exec *x, const chain_tx *tx,
				const char **reason) FL_MUST_CHECK;

/* After a block's txs (valset_update.c): the updates scheduled to be in
 * force at the next height are applied, so the state the block leaves is
 * the set that proposes and signs that height. */
int chain_valset_end_block(chain_exec *x) FL_MUST_CHECK;
int chain_rule_bond(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;
int chain_rule_unbond(chain_exec *x, const chain_tx *tx, const char **reason) FL_MUST_CHECK;

/* Envelope (signature, known sender, nonce = max(nonce, pending)+1), the
 * nonce bump, then the kind's rule. */
int chain_exec_tx(chain_exec *x, const chain_tx *tx, uint64_t pending_nonce,
		  const char **reason) FL_MUST_CHECK;

#endif
