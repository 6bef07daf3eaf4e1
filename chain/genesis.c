/*
 * chain/genesis.c — chain parameters (defaults, ranges, encoding) and the
 * genesis document's encoding, hash and free. The genesis hash is the
 * prev_hash of block 1, so every field that shapes the initial state is in
 * the encoding, in the order the genesis lists it.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

/* Consensus timeouts beyond an hour would stall a network, not pace it. */
#define TIMEOUT_MAX_MS 3600000u
/* A block must hold at least a header and a full commit of the largest
 * validator set (~12 KiB); 64 KiB leaves room for txs. */
#define BLOCK_BYTES_MIN (64u * 1024)

void chain_params_default(chain_params *p)
{
	assert(p != NULL);
	memset(p, 0, sizeof(*p));
	p->timeout_propose_ms = 1000;
	p->timeout_prevote_ms = 500;
	p->timeout_precommit_ms = 500;
	p->timeout_delta_ms = 250;
	p->max_block_txs = 5000;
	p->max_block_bytes = 4 * 1024 * 1024;
	p->stake_unit = 1000000;
	p->slash_bps = 500;
	p->unbonding_blocks = 100;
	p->proposal_deposit = 1000000;
	p->proposal_ttl_blocks = 1000;
	p->max_open_proposals = 4;
	p->pbts_precision_ms = 500;
	p->pbts_msg_delay_ms = 2000;
	p->block_interval_ms = 1000;
}

static int bad(const char **field, const char *name)
{
	*field = name;
	return FL_EINVAL;
}

int chain_params_check(const chain_params *p, const char **field)
{
	const char *unused;

	assert(p != NULL);
	if (field == NULL)
		field = &unused;
	*field = NULL;
	if (p->timeout_propose_ms < 1 || p->timeout_propose_ms > TIMEOUT_MAX_MS)
		return bad(field, "params.timeout_propose_ms");
	if (p->timeout_prevote_ms < 1 || p->timeout_prevote_ms > TIMEOUT_MAX_MS)
		return bad(field, "params.timeout_prevote_ms");
	if (p->timeout_precommit_ms < 1 || p->timeout_precommit_ms > TIMEOUT_MAX_MS)
		return bad(field, "params.timeout_precommit_ms");
	/* Timeouts must grow per view, or a partition can stall rounds forever. */
	if (p->timeout_delta_ms < 1 || p->timeout_delta_ms > TIMEOUT_MAX_MS)
		return bad(field, "params.timeout_delta_ms");
	if (p->max_block_txs < 1 || p->max_block_txs > CHAIN_MAX_BLOCK_TXS)
		return bad(field, "params.max_block_txs");
	if (p->max_block_bytes < BLOCK_BYTES_MIN || p->max_block_bytes > CHAIN_MAX_BLOCK_BYTES)
		return bad(field, "params.max_block_bytes");
	if (p->stake_unit == 0)
		return bad(field, "params.stake_unit");
	if (p->slash_bps > CHAIN_BPS)
		return bad(field, "params.slash_bps");
	if (p->unbonding_blocks < 1 || p->unbonding_blocks > CHAIN_UNBONDING_MAX_BLOCKS)
		return bad(field, "params.unbonding_blocks");
	if (p->proposal_ttl_blocks < 1 || p->proposal_ttl_blocks > CHAIN_SCHEDULE_MAX_BLOCKS)
		return bad(field, "params.proposal_ttl_blocks");
	if (p->max_open_proposals < 1 || p->max_open_proposals > CHAIN_MAX_OPEN_PROPOSALS)
		return bad(field, "params.max_open_proposals");
	if (p->pbts_precision_ms < 1 || p->pbts_precision_ms > CHAIN_PBTS_PRECISION_MAX_MS)
		return bad(field, "params.pbts_precision_ms");
	if (p->pbts_msg_delay_ms < 1 || p->pbts_msg_delay_ms > CHAIN_PBTS_MSG_DELAY_MAX_MS)
		return bad(field, "params.pbts_msg_delay_ms");
	/* 0 is allowed: the next height starts as soon as the commit is in. */
	if (p->block_interval_ms > CHAIN_BLOCK_INTERVAL_MAX_MS)
		return bad(field, "params.block_interval_ms");
	return FL_OK;
}

static int write_params(fl_writer *w, const chain_params *p)
{
	const char *field;
	int rc;

	assert(w != NULL && p != NULL);
	if ((rc = chain_params_check(p, &field)) != 0)
		return rc;
	fl_write_u32(w, p->timeout_propose_ms);
	fl_write_u32(w, p->timeout_prevote_ms);
	fl_write_u32(w, p->timeout_precommit_ms);
	fl_write_u32(w, p->timeout_delta_ms);
	fl_write_u32(w, p->max_block_txs);
	fl_write_u32(w, p->max_block_bytes);
	fl_write_u64(w, p->stake_unit);
	fl_write_u32(w, p->slash_bps);
	fl_write_u32(w, p->unbonding_blocks);
	fl_write_u64(w, p->proposal_deposit);
	fl_write_u32(w, p->proposal_ttl_blocks);
	fl_write_u32(w, p->max_open_proposals);
	fl_write_u32(w, p->pbts_precision_ms);
	fl_write_u32(w, p->pbts_msg_delay_ms);
	return fl_write_u32(w, p->block_interval_ms);
}

int chain_params_encode(fl_writer *w, const chain_params *p)
{
	return chain_writer_fail(w, write_params(w, p));
}

int chain_params_decode(fl_reader *r, chain_params *p)
{
	const char *field;
	int rc;

	assert(r != NULL && p != NULL);
	memset(p, 0, sizeof(*p));
	fl_read_u32(r, &p->timeout_propose_ms);
	fl_read_u32(r, &p->timeout_prevote_ms);
	fl_read_u32(r, &p->timeout_precommit_ms);
	fl_read_u32(r, &p->timeout_delta_ms);
	fl_read_u32(r, &p->max_block_txs);
	fl_read_u32(r, &p->max_block_bytes);
	fl_read_u64(r, &p->stake_unit);
	fl_read_u32(r, &p->slash_bps);
	fl_read_u32(r, &p->unbonding_blocks);
	fl_read_u64(r, &p->proposal_deposit);
	fl_read_u32(r, &p->proposal_ttl_blocks);
	fl_read_u32(r, &p->max_open_proposals);
	fl_read_u32(r, &p->pbts_precision_ms);
	fl_read_u32(r, &p->pbts_msg_delay_ms);
	if ((rc = fl_read_u32(r, &p->block_interval_ms)) != 0)
		return rc;
	return chain_reader_fail(r, chain_params_check(p, &field));
}

void chain_genesis_free(chain_genesis *g)
{
	if (g == NULL)
		return;
	fl_free(g->validators);
	fl_free(g->members);
	fl_free(g->balances);
	fl_free(g->profiles);
	memset(g, 0, sizeof(*g));
}

static int write_genesis(fl_writer *w, const chain_genesis *g)
{
	int rc;

	assert(w != NULL && g != NULL);
	if (!chain_id_valid(g->chain_id, CHAIN_ID_MAX))
		return FL_EINVAL;
	fl_write_str(w, g->chain_id, CHAIN_ID_MAX);
	fl_write_u64(w, g->genesis_time_ms);
	if ((rc = chain_params_encode(w, &g->params)) != 0)
		return rc;
	fl_write_varint(w, g->n_validators);
	for (uint32_t i = 0; i < g->n_validators; i++) {
		fl_write_fixed(w, g->validators[i].pubkey.b, FL_PUBKEY_LEN);
		fl_write_u64(w, g->validators[i].power);
		fl_write_str(w, g->validators[i].name, CHAIN_NAME_MAX);
	}
	fl_write_varint(w, g->n_members);
	for (uint32_t i = 0; i < g->n_members; i++) {
		fl_write_fixed(w, g->members[i].pubkey.b, FL_PUBKEY_LEN);
		fl_write_str(w, g->members[i].name, CHAIN_NAME_MAX);
	}
	fl_write_varint(w, g->n_balances);
	for (uint32_t i = 0; i < g->n_balances; i++) {
		fl_write_fixed(w, g->balances[i].account.b, FL_PUBKEY_LEN);
		fl_write_u64(w, g->balances[i].amount);
		fl_write_u64(w, g->balances[i].bonded);
	}
	fl_write_varint(w, g->n_profiles);
	for (uint32_t i = 0; i < g->n_profiles; i++)
		if ((rc = chain_profile_encode(w, &g->profiles[i])) != 0)
			return rc;
	return w->err;
}

int chain_genesis_encode(fl_writer *w, const chain_genesis *g)
{
	return chain_writer_fail(w, write_genesis(w, g));
}

int chain_genesis_hash(fl_hash *out, const chain_genesis *g)
{
	fl_writer w;
	int rc;

	assert(out != NULL && g != NULL);
	fl_writer_init(&w, 0);
	if ((rc = chain_genesis_encode(&w, g)) == 0)
		fl_sha256(out, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}
