/*
 * chain/tx.c — the transaction envelope: encode/decode dispatch, hash,
 * sighash, signing, verification, deep copy and free. The bodies of each
 * kind are in tx_bodies.c and tx_evidence.c.
 *
 * Encoding rules for every chain codec (the wire layouts are in
 * docs/encoding.md):
 *   - core's fl_writer/fl_reader only: little-endian fixed-width integers,
 *     counts and lengths as shortest-form varints, strings with fl_write_str
 *     and the per-field maximum from chain.h, arrays as a count (read with
 *     fl_read_count and the array's maximum) then the elements, hashes, keys
 *     and signatures as fixed bytes;
 *   - the version byte must be CHAIN_TX_VERSION and the kind a known one
 *     (FL_EVERSION otherwise); any other enum out of its set is FL_EINVAL;
 *   - ids match chain_id_valid; label sets are strictly increasing,
 *     aggregate entries sorted by participant and commit signatures by
 *     validator, without duplicates (FL_ENONCANON for an unsorted list,
 *     FL_EDUP for a repeated key);
 *   - evidence encodes only the fields of its type;
 *   - a decoder zeroes its output first (so chain_tx_free is always safe),
 *     reads the fields, then runs the same range checks that the encoder
 *     runs before writing; so whatever encodes decodes, and re-encoding a
 *     decoded tx gives back the identical bytes;
 *   - an encoded tx is at most CHAIN_MAX_TX_BYTES (FL_ETOOBIG).
 *
 * The signature covers fl_domain_hash("tx", chain_id, encoding without the
 * signature): a tx signed for one chain never verifies on another. The tx
 * hash is SHA-256 of the whole encoding.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

static const char *const kind_names[] = {
    [CHAIN_TX_TRANSFER] = "transfer",
    [CHAIN_TX_MEMBER_ADD] = "member_add",
    [CHAIN_TX_MEMBER_REMOVE] = "member_remove",
    [CHAIN_TX_PROFILE_PROPOSE] = "profile_propose",
    [CHAIN_TX_PROFILE_VOTE] = "profile_vote",
    [CHAIN_TX_ROUND_JOIN] = "round_join",
    [CHAIN_TX_UPDATE_COMMIT] = "update_commit",
    [CHAIN_TX_AGGREGATE_COMMIT] = "aggregate_commit",
    [CHAIN_TX_EVAL_REPORT] = "eval_report",
    [CHAIN_TX_EVIDENCE] = "evidence",
    [CHAIN_TX_BOND] = "bond",
    [CHAIN_TX_UNBOND] = "unbond",
    [CHAIN_TX_VALIDATOR_UPDATE] = "validator_update",
};

const char *chain_tx_kind_name(int kind)
{
	if (kind < 0 || (size_t)kind >= FL_ARRAY_LEN(kind_names))
		return NULL;
	return kind_names[kind];
}

/* Everything the signature covers. */
static int encode_unsigned(fl_writer *w, const chain_tx *tx)
{
	int rc;

	if (chain_tx_kind_name(tx->kind) == NULL)
		return FL_EVERSION;
	if ((rc = chain_tx_body_check(tx)) != 0)
		return rc;
	fl_write_u8(w, CHAIN_TX_VERSION);
	fl_write_u8(w, tx->kind);
	fl_write_fixed(w, tx->sender.b, FL_PUBKEY_LEN);
	fl_write_u64(w, tx->nonce);
	return chain_tx_body_encode(w, tx);
}

static int write_tx(fl_writer *w, const chain_tx *tx)
{
	size_t start;
	int rc;

	assert(w != NULL && tx != NULL);
	if (w->err != 0)
		return w->err;
	start = w->len;
	if ((rc = encode_unsigned(w, tx)) != 0)
		return rc;
	if ((rc = fl_write_fixed(w, tx->sig.b, FL_SIG_LEN)) != 0)
		return rc;
	if (w->len - start > CHAIN_MAX_TX_BYTES)
		return FL_ETOOBIG;
	return FL_OK;
}

int chain_tx_encode(fl_writer *w, const chain_tx *tx)
{
	return chain_writer_fail(w, write_tx(w, tx));
}

int chain_tx_decode_reader(chain_tx *tx, fl_reader *r)
{
	uint8_t version = 0, kind = 0;
	size_t start;
	int rc;

	assert(tx != NULL && r != NULL);
	memset(tx, 0, sizeof(*tx));
	start = r->pos;
	fl_read_u8(r, &version);
	if ((rc = fl_read_u8(r, &kind)) != 0)
		return rc;
	if (version != CHAIN_TX_VERSION || chain_tx_kind_name(kind) == NULL)
		return chain_reader_fail(r, FL_EVERSION);
	tx->kind = kind;
	fl_read_fixed(r, tx->sender.b, FL_PUBKEY_LEN);
	if ((rc = fl_read_u64(r, &tx->nonce)) != 0)
		return rc;
	if ((rc = chain_tx_body_decode(r, tx)) != 0)
		return chain_reader_fail(r, rc);
	if ((rc = fl_read_fixed(r, tx->sig.b, FL_SIG_LEN)) != 0)
		return rc;
	if (r->pos - start > CHAIN_MAX_TX_BYTES)
		return chain_reader_fail(r, FL_ETOOBIG);
	return FL_OK;
}

int chain_tx_decode(chain_tx *tx, const uint8_t *p, size_t n)
{
	fl_reader r;
	int rc;

	assert(tx != NULL && (p != NULL || n == 0));
	memset(tx, 0, sizeof(*tx));
	/* Refuse before reading a byte: no tx is this long. */
	if (n > CHAIN_MAX_TX_BYTES)
		return FL_ETOOBIG;
	fl_reader_init(&r, p, n);
	if ((rc = chain_tx_decode_reader(tx, &r)) != 0)
		return rc;
	return fl_reader_finish(&r);
}

void chain_tx_free(chain_tx *tx)
{
	if (tx == NULL)
		return;
	if (tx->kind == CHAIN_TX_AGGREGATE_COMMIT)
		fl_free(tx->u.aggregate_commit.entries);
	else if (tx->kind == CHAIN_TX_EVIDENCE)
		fl_free(tx->u.evidence.aggregate_tx);
	memset(tx, 0, sizeof(*tx));
}

int chain_tx_hash(fl_hash *out, const chain_tx *tx)
{
	fl_writer w;
	int rc;

	assert(out != NULL && tx != NULL);
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if ((rc = chain_tx_encode(&w, tx)) == 0)
		fl_sha256(out, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

int chain_tx_sighash(fl_hash *out, const char *chain_id, const chain_tx *tx)
{
	fl_writer w;
	int rc;

	assert(out != NULL && chain_id != NULL && tx != NULL);
	if (!chain_id_valid(chain_id, CHAIN_ID_MAX))
		return FL_EINVAL;
	fl_writer_init(&w, CHAIN_MAX_TX_BYTES);
	if ((rc = encode_unsigned(&w, tx)) == 0)
		fl_domain_hash(out, "tx", chain_id, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

int chain_tx_sign(chain_tx *tx, const char *chain_id, const fl_seckey *sk)
{
	fl_hash msg;
	int rc;

	assert(tx != NULL && chain_id != NULL && sk != NULL);
	if ((rc = fl_key_public(&tx->sender, sk)) != 0)
		return rc;
	if ((rc = chain_tx_sighash(&msg, chain_id, tx)) != 0)
		return rc;
	return fl_sign(&tx->sig, sk, &msg);
}

void chain_tx_sighash_of_encoding(fl_hash *out, const char *chain_id, const uint8_t *enc, size_t n)
{
	assert(out != NULL && chain_id != NULL && enc != NULL && n >= FL_SIG_LEN);
	fl_domain_hash(out, "tx", chain_id, enc, n - FL_SIG_LEN);
}

int chain_tx_verify_cached(const chain_tx *tx, const char *chain_id, fl_sigcache *cache)
{
	fl_hash msg;
	int rc;

	assert(tx != NULL && chain_id != NULL);
	if ((rc = chain_tx_sighash(&msg, chain_id, tx)) != 0)
		return rc;
	/* fl_verify refuses a sender that is not a curve point (FL_ESIG): no
	 * separate check, which would parse the key a second time. */
	return fl_verify_cached(cache, &tx->sig, &tx->sender, &msg);
}

int chain_tx_verify(const chain_tx *tx, const char *chain_id)
{
	return chain_tx_verify_cached(tx, chain_id, NULL);
}

static void *dup_bytes(const void *p, size_t n)
{
	void *d = fl_malloc(n);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

int chain_tx_copy(chain_tx *dst, const chain_tx *src)
{
	assert(dst != NULL && src != NULL && dst != src);
	memcpy(dst, src, sizeof(*dst));
	if (src->kind == CHAIN_TX_AGGREGATE_COMMIT && src->u.aggregate_commit.entries != NULL) {
		const chain_tx_aggregate_commit *a = &src->u.aggregate_commit;
		dst->u.aggregate_commit.entries =
		    dup_bytes(a->entries, (size_t)a->n_entries * sizeof(a->entries[0]));
		if (dst->u.aggregate_commit.entries == NULL)
			goto nomem;
	} else if (src->kind == CHAIN_TX_EVIDENCE && src->u.evidence.aggregate_tx != NULL) {
		const chain_tx_evidence *e = &src->u.evidence;
		dst->u.evidence.aggregate_tx = dup_bytes(e->aggregate_tx, e->aggregate_tx_len);
		if (dst->u.evidence.aggregate_tx == NULL)
			goto nomem;
	}
	return FL_OK;
nomem:
	/* dst shares nothing with src yet: clearing it is enough. */
	memset(dst, 0, sizeof(*dst));
	return FL_ENOMEM;
}
