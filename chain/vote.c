/*
 * chain/vote.c — consensus votes: the bytes a validator signs, signing and
 * verification, and the vote's encoding (sign bytes then the signature).
 * Commits and double-sign evidence carry these signatures.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

static int vote_type_valid(uint8_t type)
{
	return type == CHAIN_VOTE_PREVOTE || type == CHAIN_VOTE_PRECOMMIT;
}

static int write_vote_sign_bytes(fl_writer *w, const chain_vote *v)
{
	assert(w != NULL && v != NULL);
	if (!vote_type_valid(v->type))
		return FL_EINVAL;
	fl_write_u8(w, v->type);
	fl_write_u64(w, v->height);
	fl_write_u32(w, v->round);
	fl_write_fixed(w, v->block_hash.b, FL_HASH_LEN);
	return fl_write_fixed(w, v->validator.b, FL_PUBKEY_LEN);
}

int chain_vote_sign_bytes(fl_writer *w, const chain_vote *v)
{
	return chain_writer_fail(w, write_vote_sign_bytes(w, v));
}

int chain_vote_digest(fl_hash *out, const char *chain_id, const chain_vote *v)
{
	fl_writer w;
	int rc;

	if (!chain_id_valid(chain_id, CHAIN_ID_MAX))
		return FL_EINVAL;
	fl_writer_init(&w, 256);
	if ((rc = chain_vote_sign_bytes(&w, v)) == 0)
		fl_domain_hash(out, "vote", chain_id, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

int chain_vote_sign(chain_vote *v, const char *chain_id, const fl_seckey *sk)
{
	fl_hash msg;
	int rc;

	assert(v != NULL && chain_id != NULL && sk != NULL);
	if ((rc = fl_key_public(&v->validator, sk)) != 0)
		return rc;
	if ((rc = chain_vote_digest(&msg, chain_id, v)) != 0)
		return rc;
	return fl_sign(&v->sig, sk, &msg);
}

int chain_vote_verify_cached(const chain_vote *v, const char *chain_id, fl_sigcache *cache)
{
	fl_hash msg;
	int rc;

	assert(v != NULL && chain_id != NULL);
	if ((rc = chain_vote_digest(&msg, chain_id, v)) != 0)
		return rc;
	/* fl_verify refuses a validator key that is not a point (FL_ESIG). */
	return fl_verify_cached(cache, &v->sig, &v->validator, &msg);
}

int chain_vote_verify(const chain_vote *v, const char *chain_id)
{
	return chain_vote_verify_cached(v, chain_id, NULL);
}

static int write_vote(fl_writer *w, const chain_vote *v)
{
	int rc;

	assert(w != NULL && v != NULL);
	if ((rc = chain_vote_sign_bytes(w, v)) != 0)
		return rc;
	return fl_write_fixed(w, v->sig.b, FL_SIG_LEN);
}

int chain_vote_encode(fl_writer *w, const chain_vote *v)
{
	return chain_writer_fail(w, write_vote(w, v));
}

int chain_vote_decode(fl_reader *r, chain_vote *v)
{
	int rc;

	assert(r != NULL && v != NULL);
	memset(v, 0, sizeof(*v));
	fl_read_u8(r, &v->type);
	fl_read_u64(r, &v->height);
	fl_read_u32(r, &v->round);
	fl_read_fixed(r, v->block_hash.b, FL_HASH_LEN);
	fl_read_fixed(r, v->validator.b, FL_PUBKEY_LEN);
	if ((rc = fl_read_fixed(r, v->sig.b, FL_SIG_LEN)) != 0)
		return rc;
	if (!vote_type_valid(v->type))
		return chain_reader_fail(r, FL_EINVAL);
	return FL_OK;
}
