/*
 * node/cons_msg.c — consensus messages other than votes (those are
 * chain_vote): the proposal's sign bytes, encoding, signature; a commit's
 * signatures rebuilt as votes; the timeouts taken from chain_params.
 */
#include "node/consensus.h"

#include <assert.h>
#include <string.h>

/* u64 + u32 + i64 + hash + u64 + pubkey + sig */
#define PROPOSAL_BYTES (8 + 4 + 8 + FL_HASH_LEN + 8 + FL_PUBKEY_LEN + FL_SIG_LEN)

static int pol_valid(const node_cons_proposal *p)
{
	return p->pol_round >= -1 && (p->pol_round < 0 || (uint32_t)p->pol_round < p->round);
}

int node_cons_proposal_sign_bytes(fl_writer *w, const node_cons_proposal *p)
{
	assert(w != NULL && p != NULL);
	if (!pol_valid(p))
		return FL_EINVAL;
	fl_write_u64(w, p->height);
	fl_write_u32(w, p->round);
	fl_write_i64(w, p->pol_round);
	fl_write_fixed(w, p->block_hash.b, FL_HASH_LEN);
	fl_write_u64(w, p->time_ms);
	return fl_write_fixed(w, p->proposer.b, FL_PUBKEY_LEN);
}

int node_cons_proposal_encode(fl_writer *w, const node_cons_proposal *p)
{
	int rc;

	if ((rc = node_cons_proposal_sign_bytes(w, p)) != 0)
		return rc;
	return fl_write_fixed(w, p->sig.b, FL_SIG_LEN);
}

int node_cons_proposal_decode(node_cons_proposal *p, const uint8_t *bytes, size_t n)
{
	fl_reader r;
	int64_t pol = 0;
	int rc;

	assert(p != NULL && (bytes != NULL || n == 0));
	memset(p, 0, sizeof(*p));
	fl_reader_init(&r, bytes, n);
	fl_read_u64(&r, &p->height);
	fl_read_u32(&r, &p->round);
	fl_read_i64(&r, &pol);
	fl_read_fixed(&r, p->block_hash.b, FL_HASH_LEN);
	fl_read_u64(&r, &p->time_ms);
	fl_read_fixed(&r, p->proposer.b, FL_PUBKEY_LEN);
	fl_read_fixed(&r, p->sig.b, FL_SIG_LEN);
	if ((rc = fl_reader_finish(&r)) != 0)
		return rc;
	if (pol < -1 || pol > INT32_MAX)
		return FL_EINVAL;
	p->pol_round = (int32_t)pol;
	return pol_valid(p) ? FL_OK : FL_EINVAL;
}

int node_cons_proposal_digest(fl_hash *out, const char *chain_id, const node_cons_proposal *p)
{
	fl_writer w;
	int rc;

	if (!chain_id_valid(chain_id, CHAIN_ID_MAX))
		return FL_EINVAL;
	fl_writer_init(&w, PROPOSAL_BYTES);
	if ((rc = node_cons_proposal_sign_bytes(&w, p)) == 0 && (rc = fl_writer_finish(&w)) == 0)
		fl_domain_hash(out, "proposal", chain_id, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

int node_cons_proposal_sign(node_cons_proposal *p, const char *chain_id, const fl_seckey *sk)
{
	fl_hash msg;
	int rc;

	assert(p != NULL && chain_id != NULL && sk != NULL);
	if ((rc = fl_key_public(&p->proposer, sk)) != 0)
		return rc;
	if ((rc = node_cons_proposal_digest(&msg, chain_id, p)) != 0)
		return rc;
	return fl_sign(&p->sig, sk, &msg);
}

int node_cons_proposal_verify(const node_cons_proposal *p, const char *chain_id)
{
	fl_hash msg;
	int rc;

	assert(p != NULL && chain_id != NULL);
	if ((rc = node_cons_proposal_digest(&msg, chain_id, p)) != 0)
		return rc;
	return fl_verify(&p->sig, &p->proposer, &msg);
}

void node_cons_commit_vote(chain_vote *out, const chain_commit *cm, uint32_t i)
{
	assert(out != NULL && cm != NULL && i < cm->n_sigs);
	memset(out, 0, sizeof(*out));
	out->type = CHAIN_VOTE_PRECOMMIT;
	out->height = cm->height;
	out->round = cm->round;
	out->block_hash = cm->block_hash;
	out->validator = cm->sigs[i].validator;
	out->sig = cm->sigs[i].sig;
}

void node_cons_config_from_params(node_cons_config *cfg, const chain_params *params)
{
	assert(cfg != NULL && params != NULL);
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_propose_ms = params->timeout_propose_ms;
	cfg->timeout_prevote_ms = params->timeout_prevote_ms;
	cfg->timeout_precommit_ms = params->timeout_precommit_ms;
	cfg->timeout_delta_ms = params->timeout_delta_ms;
	cfg->pbts_precision_ms = params->pbts_precision_ms;
	cfg->pbts_msg_delay_ms = params->pbts_msg_delay_ms;
}
