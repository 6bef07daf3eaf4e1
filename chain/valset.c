/*
 * chain/valset.c — which validators sign which heights, and commits
 * checked against them:
 *
 *   the history (CHAIN_DB_VALSET_HISTORY): u64be(from height) -> the set in
 *   force from that height until the next entry. Genesis writes height 1;
 *   each block h whose txs (or scheduled updates, valset_update.c) leave
 *   another set behind writes h + 1. So the set of any height, old or next,
 *   is one seek, and a node syncing old blocks checks each commit against
 *   the set that really signed it, not today's;
 *
 *   chain_verify_commit, which block application also uses for a block's
 *   last_commit, and the stored commit of the tip (CHAIN_META_TIP_COMMIT),
 *   which no block carries yet.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* ------------------------------------------------------------- history */

int chain_state_put_validator_set(chain_txn *t, uint64_t height, const chain_validator_set *set)
{
	uint8_t key[8];
	fl_writer w;
	int rc;

	assert(t != NULL && set != NULL && height >= 1);
	chain_put_be64(key, height);
	fl_writer_init(&w, 0);
	if ((rc = chain_validator_set_encode(&w, set)) == FL_OK)
		rc = chain_state_put_encoded(t, CHAIN_DB_VALSET_HISTORY, key, sizeof(key), &w);
	fl_writer_free(&w);
	return rc;
}

int chain_state_get_validator_set(chain_txn *t, uint64_t height, chain_validator_set *out)
{
	const uint8_t *k, *v;
	size_t klen, vlen;
	uint64_t tip = 0;
	uint8_t key[8];
	int rc;

	assert(t != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if ((rc = chain_state_get_u64(t, CHAIN_DB_META, CHAIN_META_HEIGHT, &tip)) != FL_OK)
		return rc;
	/* The set of tip + 1 is what the state holds now; later ones depend on
	 * blocks not yet applied. */
	if (height == 0 || height - 1 > tip)
		return FL_ENOTFOUND;
	chain_put_be64(key, height);
	rc = chain_txn_get_le(t, CHAIN_DB_VALSET_HISTORY, key, sizeof(key), &k, &klen, &v, &vlen);
	/* Genesis writes height 1, so every height from 1 on has an entry. */
	if (rc == FL_ENOTFOUND)
		return FL_ECORRUPT;
	if (rc != FL_OK)
		return rc;
	if (klen != sizeof(key) || chain_validator_set_decode(v, vlen, out) != FL_OK)
		return FL_ECORRUPT;
	return FL_OK;
}

int chain_get_validator_set(chain_store *s, uint64_t height, chain_validator_set *out)
{
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		return rc;
	rc = chain_state_get_validator_set(t, height, out);
	chain_txn_abort(t);
	return rc;
}

/* -------------------------------------------------------------- commits */

int chain_commit_check(chain_txn *t, const char *chain_id, uint64_t height,
		       const fl_hash *block_hash, const chain_commit *c, const uint8_t *verified)
{
	chain_validator_set set;
	uint64_t signed_power = 0;
	uint32_t j = 0;
	int rc;

	assert(t != NULL && chain_id != NULL && block_hash != NULL && c != NULL);
	if (c->height != height || fl_hash_cmp(&c->block_hash, block_hash) != 0 ||
	    c->n_sigs > CHAIN_MAX_VALIDATORS)
		return FL_EINVAL;
	if ((rc = chain_state_get_validator_set(t, height, &set)) != FL_OK)
		return rc;
	for (uint32_t i = 0; i < c->n_sigs; i++) {
		const struct chain_commit_sig *s = &c->sigs[i];
		chain_vote v;

		/* Strictly increasing: a duplicate signer never counts twice. */
		if (i > 0 && fl_pubkey_cmp(&c->sigs[i - 1].validator, &s->validator) >= 0)
			return FL_EINVAL;
		/* Both lists are sorted: one forward walk finds each signer. */
		while (j < set.n && fl_pubkey_cmp(&set.pubkey[j], &s->validator) < 0)
			j++;
		if (j == set.n || fl_pubkey_cmp(&set.pubkey[j], &s->validator) != 0)
			return FL_EPERM;
		/* Verified already (apply's verify threads, chain/verify_pool.c). */
		if (verified != NULL && verified[i]) {
			signed_power += set.power[j];
			continue;
		}
		memset(&v, 0, sizeof(v));
		v.type = CHAIN_VOTE_PRECOMMIT;
		v.height = c->height;
		v.round = c->round;
		v.block_hash = c->block_hash;
		v.validator = s->validator;
		v.sig = s->sig;
		if ((rc = chain_vote_verify(&v, chain_id)) != FL_OK)
			return rc;
		signed_power += set.power[j];
	}
	return chain_over_two_thirds(signed_power, set.total) ? FL_OK : FL_EPERM;
}

int chain_verify_commit(chain_store *s, const char *chain_id, uint64_t height,
			const fl_hash *block_hash, const chain_commit *c)
{
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && chain_id != NULL && block_hash != NULL && c != NULL);
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		return rc;
	rc = chain_commit_check(t, chain_id, height, block_hash, c, NULL);
	chain_txn_abort(t);
	return rc;
}

/* ----------------------------------------------------------- tip commit */

int chain_state_put_tip_commit(chain_txn *t, const chain_commit *c)
{
	const char *key = CHAIN_META_TIP_COMMIT;
	chain_info info;
	fl_writer w;
	int rc;

	assert(t != NULL && c != NULL);
	fl_writer_init(&w, 0);
	if ((rc = chain_state_info(t, &info)) != FL_OK)
		goto cleanup;
	if (info.height == 0) {
		rc = FL_ESTATE;
		goto cleanup;
	}
	if ((rc = chain_commit_check(t, info.chain_id, info.height, &info.last_block_hash, c,
				     NULL)) ||
	    (rc = chain_commit_encode(&w, c)) ||
	    (rc = chain_state_put_encoded(t, CHAIN_DB_META, key, strlen(key), &w)))
		goto cleanup;

cleanup:
	fl_writer_free(&w);
	return rc;
}

int chain_store_put_tip_commit(chain_store *s, const chain_commit *c)
{
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && c != NULL);
	if ((rc = chain_txn_begin(s, 1, &t)) != FL_OK)
		goto cleanup;
	if ((rc = chain_state_put_tip_commit(t, c)) != FL_OK)
		goto cleanup;
	rc = chain_txn_commit(t);
	t = NULL;

cleanup:
	chain_txn_abort(t);
	return rc;
}

static int decode_commit(const uint8_t *p, size_t n, chain_commit *out)
{
	fl_reader r;

	fl_reader_init(&r, p, n);
	if (chain_commit_decode(&r, out) != FL_OK || fl_reader_finish(&r) != FL_OK)
		return FL_ECORRUPT;
	return FL_OK;
}

/* The next block's last_commit: the block decodes whole (it is stored
 * canonical), which keeps one decoder for blocks. */
static int commit_from_next_block(chain_txn *t, uint64_t height, chain_commit *out)
{
	const uint8_t *v;
	uint8_t key[8];
	chain_block b;
	size_t n;
	int rc;

	chain_put_be64(key, height + 1);
	if ((rc = chain_txn_get(t, CHAIN_DB_BLOCKS, key, sizeof(key), &v, &n)) != FL_OK)
		return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
	rc = chain_block_decode(&b, v, n);
	if (rc == FL_OK)
		*out = b.last_commit;
	chain_block_free(&b);
	return rc == FL_OK ? FL_OK : FL_ECORRUPT;
}

/* The commit of `height` as t sees it (chain_get_commit). */
static int state_get_commit(chain_txn *t, uint64_t height, chain_commit *out)
{
	const char *key = CHAIN_META_TIP_COMMIT;
	const uint8_t *v;
	uint64_t tip = 0;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = chain_state_get_u64(t, CHAIN_DB_META, CHAIN_META_HEIGHT, &tip)) != FL_OK)
		goto cleanup;
	if (height == 0 || height > tip) {
		rc = FL_ENOTFOUND;
		goto cleanup;
	}
	if (height < tip) {
		rc = commit_from_next_block(t, height, out);
		goto cleanup;
	}
	if ((rc = chain_txn_get(t, CHAIN_DB_META, key, strlen(key), &v, &n)) != FL_OK)
		goto cleanup;
	if ((rc = decode_commit(v, n, out)) != FL_OK)
		goto cleanup;
	/* One stored before the latest block is that block's predecessor's. */
	if (out->height != tip)
		rc = FL_ENOTFOUND;

cleanup:
	if (rc != FL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

int chain_get_commit(chain_store *s, uint64_t height, chain_commit *out)
{
	chain_txn *t = NULL;
	int rc;

	assert(s != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if ((rc = chain_txn_begin(s, 0, &t)) != FL_OK)
		return rc;
	rc = state_get_commit(t, height, out);
	chain_txn_abort(t);
	return rc;
}

int chain_snap_get_commit(chain_snapshot *snap, uint64_t height, chain_commit *out)
{
	assert(snap != NULL && out != NULL);
	return state_get_commit(snap->t, height, out);
}

int chain_snap_get_validator_set(chain_snapshot *snap, uint64_t height, chain_validator_set *out)
{
	assert(snap != NULL && out != NULL);
	return chain_state_get_validator_set(snap->t, height, out);
}
