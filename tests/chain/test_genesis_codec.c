/*
 * tests/chain/test_genesis_codec.c — chain params (defaults, ranges, codec),
 * the genesis checks naming the bad field, the genesis hash, and the
 * big-endian key helpers.
 */
#include "chain/internal.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>
#include <string.h>

Test(genesis_codec, params_default)
{
	chain_params p;
	const char *field = "untouched";

	chain_params_default(&p);
	cr_assert_eq(p.timeout_propose_ms, 1000);
	cr_assert_eq(p.timeout_prevote_ms, 500);
	cr_assert_eq(p.timeout_precommit_ms, 500);
	cr_assert_eq(p.timeout_delta_ms, 250);
	cr_assert_eq(p.max_block_txs, 5000);
	cr_assert_eq(p.max_block_bytes, 4 * 1024 * 1024);
	cr_assert_eq(p.stake_unit, 1000000);
	cr_assert_eq(p.slash_bps, 500);
	cr_assert_eq(p.unbonding_blocks, 100);
	cr_assert_eq(p.proposal_deposit, 1000000);
	cr_assert_eq(p.proposal_ttl_blocks, 1000);
	cr_assert_eq(p.max_open_proposals, 4);
	cr_assert_eq(p.pbts_precision_ms, 500);
	cr_assert_eq(p.pbts_msg_delay_ms, 2000);
	cr_assert_eq(p.block_interval_ms, 1000);
	cr_assert_eq(chain_params_check(&p, &field), FL_OK);
	cr_assert_null(field);
}

Test(genesis_codec, params_round_trip_and_refusals)
{
	chain_params p, back;
	fl_writer w;
	fl_reader r;

	chain_params_default(&p);
	p.slash_bps = 123;
	p.pbts_precision_ms = 7;
	p.pbts_msg_delay_ms = 8;
	p.block_interval_ms = 0;
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_params_encode(&w, &p), FL_OK);
	cr_assert_eq(w.len, 6 * 4 + 8 + 4 + 4 + 8 + 4 + 4 + 3 * 4);
	/* the PBTS fields and the block interval close the encoding (u32 LE) */
	static const uint8_t tail[12] = {7, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0};
	cr_assert_eq(memcmp(w.buf + w.len - 12, tail, 12), 0);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_params_decode(&r, &back), FL_OK);
	cr_assert_eq(fl_reader_finish(&r), FL_OK);
	cr_assert_eq(memcmp(&p, &back, sizeof(p)), 0);
	for (size_t len = 0; len < w.len; len++) {
		fl_reader_init(&r, w.buf, len);
		cr_assert_eq(chain_params_decode(&r, &back), FL_ETRUNC);
	}
	/* stake_unit (the u64 after six u32) zero */
	memset(w.buf + 24, 0, 8);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_params_decode(&r, &back), FL_EINVAL);
	memset(w.buf + 24, 0xff, 8); /* stake_unit valid again */
	/* pbts_precision_ms (the third u32 from the end) zero */
	memset(w.buf + w.len - 12, 0, 4);
	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(chain_params_decode(&r, &back), FL_EINVAL);
	fl_writer_free(&w);
}

typedef struct {
	const char *field;
	void (*change)(chain_params *p);
} params_case;

#define PARAM(fn, stmt)                                                                            \
	static void fn(chain_params *p)                                                            \
	{                                                                                          \
		stmt;                                                                              \
	}
PARAM(p_propose, p->timeout_propose_ms = 0)
PARAM(p_prevote, p->timeout_prevote_ms = 3600001)
PARAM(p_precommit, p->timeout_precommit_ms = 0)
PARAM(p_delta, p->timeout_delta_ms = 0)
PARAM(p_txs, p->max_block_txs = CHAIN_MAX_BLOCK_TXS + 1)
PARAM(p_txs0, p->max_block_txs = 0)
PARAM(p_bytes, p->max_block_bytes = CHAIN_MAX_BLOCK_BYTES + 1)
PARAM(p_bytes_small, p->max_block_bytes = 1000)
PARAM(p_stake, p->stake_unit = 0)
PARAM(p_slash, p->slash_bps = CHAIN_BPS + 1)
PARAM(p_unbond0, p->unbonding_blocks = 0)
PARAM(p_unbond, p->unbonding_blocks = CHAIN_UNBONDING_MAX_BLOCKS + 1)
PARAM(p_ttl0, p->proposal_ttl_blocks = 0)
PARAM(p_ttl, p->proposal_ttl_blocks = CHAIN_SCHEDULE_MAX_BLOCKS + 1)
PARAM(p_open0, p->max_open_proposals = 0)
PARAM(p_open, p->max_open_proposals = CHAIN_MAX_OPEN_PROPOSALS + 1)
PARAM(p_prec0, p->pbts_precision_ms = 0)
PARAM(p_prec, p->pbts_precision_ms = CHAIN_PBTS_PRECISION_MAX_MS + 1)
PARAM(p_delay0, p->pbts_msg_delay_ms = 0)
PARAM(p_delay, p->pbts_msg_delay_ms = CHAIN_PBTS_MSG_DELAY_MAX_MS + 1)
PARAM(p_interval, p->block_interval_ms = CHAIN_BLOCK_INTERVAL_MAX_MS + 1)

static const params_case params_cases[] = {
    {"params.timeout_propose_ms", p_propose},
    {"params.timeout_prevote_ms", p_prevote},
    {"params.timeout_precommit_ms", p_precommit},
    {"params.timeout_delta_ms", p_delta},
    {"params.max_block_txs", p_txs},
    {"params.max_block_txs", p_txs0},
    {"params.max_block_bytes", p_bytes},
    {"params.max_block_bytes", p_bytes_small},
    {"params.stake_unit", p_stake},
    {"params.slash_bps", p_slash},
    {"params.unbonding_blocks", p_unbond0},
    {"params.unbonding_blocks", p_unbond},
    {"params.proposal_ttl_blocks", p_ttl0},
    {"params.proposal_ttl_blocks", p_ttl},
    {"params.max_open_proposals", p_open0},
    {"params.max_open_proposals", p_open},
    {"params.pbts_precision_ms", p_prec0},
    {"params.pbts_precision_ms", p_prec},
    {"params.pbts_msg_delay_ms", p_delay0},
    {"params.pbts_msg_delay_ms", p_delay},
    {"params.block_interval_ms", p_interval},
};

Test(genesis_codec, params_check_names_the_field)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(params_cases); i++) {
		chain_params p;
		const char *field = NULL;
		fl_writer w;

		chain_params_default(&p);
		params_cases[i].change(&p);
		cr_assert_eq(chain_params_check(&p, &field), FL_EINVAL);
		cr_assert_str_eq(field, params_cases[i].field);
		fl_writer_init(&w, 0);
		cr_assert_eq(chain_params_encode(&w, &p), FL_EINVAL);
		fl_writer_free(&w);
	}
}

/* chain_genesis_check names a bad parameter as chain_params_check does. */
Test(genesis_codec, genesis_check_names_the_param)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(params_cases); i++) {
		chain_genesis g;
		const char *field = NULL;

		cr_assert_eq(chain_sample_genesis(&g), FL_OK);
		params_cases[i].change(&g.params);
		cr_assert_eq(chain_genesis_check(&g, &field), FL_EINVAL, "%s",
			     params_cases[i].field);
		cr_assert_str_eq(field, params_cases[i].field);
		chain_genesis_free(&g);
	}
}

Test(genesis_codec, sample_passes_and_hashes)
{
	chain_genesis g;
	const char *field = "untouched";
	fl_hash h1, h2;
	fl_writer w;

	cr_assert_eq(chain_sample_genesis(&g), FL_OK);
	cr_assert_eq(chain_genesis_check(&g, &field), FL_OK);
	cr_assert_null(field);
	cr_assert_eq(chain_genesis_hash(&h1, &g), FL_OK);
	fl_writer_init(&w, 0);
	cr_assert_eq(chain_genesis_encode(&w, &g), FL_OK);
	fl_sha256(&h2, w.buf, w.len);
	fl_writer_free(&w);
	cr_assert_eq(fl_hash_cmp(&h1, &h2), 0, "the hash of the canonical encoding");
	cr_assert_eq(chain_genesis_hash(&h2, &g), FL_OK);
	cr_assert_eq(fl_hash_cmp(&h1, &h2), 0, "deterministic");
	chain_genesis_free(&g);
	chain_genesis_free(&g); /* twice is safe */
}

typedef struct {
	const char *field;
	void (*change)(chain_genesis *g);
} genesis_case;

#define GEN(fn, stmt)                                                                              \
	static void fn(chain_genesis *g)                                                           \
	{                                                                                          \
		stmt;                                                                              \
	}

GEN(g_chain_id, strcpy(g->chain_id, "Fedledger"))
GEN(g_params, g->params.stake_unit = 0)
GEN(g_time_max, g->genesis_time_ms = UINT64_MAX)
GEN(g_time_10000, g->genesis_time_ms = CHAIN_GENESIS_TIME_MAX_MS + 1)
GEN(g_no_validators, g->n_validators = 0)
GEN(g_power, g->validators[2].power = 0)
GEN(g_power_overflow, g->validators[3].power = UINT64_MAX - 20)
GEN(g_validator_key, memset(g->validators[1].pubkey.b, 0xff, FL_PUBKEY_LEN))
GEN(g_validator_name, g->validators[0].name[0] = '\x01')
GEN(g_validator_dup, g->validators[3].pubkey = g->validators[1].pubkey)
GEN(g_member_dup_validator, g->members[0].pubkey = g->validators[2].pubkey)
GEN(g_member_dup, g->members[1].pubkey = g->members[0].pubkey)
GEN(g_member_key, memset(g->members[1].pubkey.b, 0xff, FL_PUBKEY_LEN))
GEN(g_balance_dup, g->balances[4].account = g->balances[1].account)
GEN(g_balance_key, memset(g->balances[0].account.b, 0xff, FL_PUBKEY_LEN))
GEN(g_balance_zero, g->balances[2].amount = 0)
GEN(g_supply_overflow, g->balances[5].amount = UINT64_MAX - 1000)
/* Bonded stake is supply too: amounts that fit, bonded on top that does not. */
GEN(g_bonded_overflow, g->balances[5].bonded = UINT64_MAX - 1000)
GEN(g_bonded_overflow_alone,
    (g->balances[0].bonded = UINT64_MAX / 2, g->balances[1].bonded = UINT64_MAX / 2))
GEN(g_profile_field, g->profiles[1].lr_ppm = 0)
GEN(g_profile_model, g->profiles[0].model.sizes[1] = 0)
GEN(g_profile_dup, (strcpy(g->profiles[1].id, "mnist"), g->profiles[1].parent[0] = '\0'))
GEN(g_profile_parent_unknown, strcpy(g->profiles[1].parent, "cifar"))
GEN(g_profile_parent_later,
    (strcpy(g->profiles[0].parent, "mnist.a"), g->profiles[1].parent[0] = '\0'))

static const genesis_case genesis_cases[] = {
    {"genesis_time_ms", g_time_max},
    {"genesis_time_ms", g_time_10000},
    {"chain_id", g_chain_id},
    {"params.stake_unit", g_params},
    {"validators", g_no_validators},
    {"validators[2].power", g_power},
    {"validators[3].power", g_power_overflow},
    {"validators[1].pubkey", g_validator_key},
    {"validators[0].name", g_validator_name},
    {"validators[3].pubkey", g_validator_dup},
    {"members[0].pubkey", g_member_dup_validator},
    {"members[1].pubkey", g_member_dup},
    {"members[1].pubkey", g_member_key},
    {"balances[4].account", g_balance_dup},
    {"balances[0].account", g_balance_key},
    {"balances[2].amount", g_balance_zero},
    {"balances[5].amount", g_supply_overflow},
    {"balances[5].bonded", g_bonded_overflow},
    {"balances[1].bonded", g_bonded_overflow_alone},
    {"profiles[1].lr_ppm", g_profile_field},
    {"profiles[0].model.sizes[1]", g_profile_model},
    {"profiles[1].id", g_profile_dup},
    {"profiles[1].parent", g_profile_parent_unknown},
    {"profiles[0].parent", g_profile_parent_later},
};

Test(genesis_codec, check_names_the_bad_field)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(genesis_cases); i++) {
		chain_genesis g;
		const char *field = NULL;

		cr_assert_eq(chain_sample_genesis(&g), FL_OK);
		genesis_cases[i].change(&g);
		cr_assert_eq(chain_genesis_check(&g, &field), FL_EINVAL, "case %zu (%s)", i,
			     genesis_cases[i].field);
		cr_assert_not_null(field);
		cr_assert_str_eq(field, genesis_cases[i].field, "case %zu", i);
		chain_genesis_free(&g);
	}
}

/* An entry may be all stake and no liquid balance; nothing at all is refused. */
Test(genesis_codec, bonded_only_balance)
{
	chain_genesis g;
	const char *field = NULL;

	cr_assert_eq(chain_sample_genesis(&g), FL_OK);
	g.balances[2].amount = 0;
	g.balances[2].bonded = 5;
	cr_assert_eq(chain_genesis_check(&g, &field), FL_OK, "%s", field ? field : "-");
	g.balances[2].bonded = 0;
	cr_assert_eq(chain_genesis_check(&g, &field), FL_EINVAL);
	cr_assert_str_eq(field, "balances[2].amount");
	chain_genesis_free(&g);
}

Test(genesis_codec, many_members_checked_quickly)
{
	chain_genesis g;
	const char *field;
	chain_genesis_member *members;
	const uint32_t n = 20000;

	cr_assert_eq(chain_sample_genesis(&g), FL_OK);
	members = fl_calloc(n, sizeof(*members));
	cr_assert_not_null(members);
	/* valid points: multiples of the generator from distinct scalars */
	for (uint32_t i = 0; i < n; i++) {
		fl_seckey sk;
		memset(sk.b, 0, sizeof(sk.b));
		sk.b[28] = 1;
		sk.b[29] = (uint8_t)(i >> 16);
		sk.b[30] = (uint8_t)(i >> 8);
		sk.b[31] = (uint8_t)i;
		cr_assert_eq(fl_key_public(&members[i].pubkey, &sk), FL_OK);
	}
	fl_free(g.members);
	g.members = members;
	g.n_members = n;
	cr_assert_eq(chain_genesis_check(&g, &field), FL_OK);
	/* a duplicate far down the list is found, at its later position */
	g.members[n - 7].pubkey = g.members[12].pubkey;
	cr_assert_eq(chain_genesis_check(&g, &field), FL_EINVAL);
	cr_assert_str_eq(field, "members[19993].pubkey");
	chain_genesis_free(&g);
}

Test(genesis_codec, hash_covers_every_part)
{
	chain_genesis g;
	fl_hash h0, h;

	cr_assert_eq(chain_sample_genesis(&g), FL_OK);
	cr_assert_eq(chain_genesis_hash(&h0, &g), FL_OK);
#define DIFFERS(change, undo)                                                                      \
	do {                                                                                       \
		change;                                                                            \
		cr_assert_eq(chain_genesis_hash(&h, &g), FL_OK, "%s", #change);                    \
		cr_assert_neq(fl_hash_cmp(&h, &h0), 0, "%s", #change);                             \
		undo;                                                                              \
	} while (0)
	DIFFERS(g.chain_id[0] = 'g', g.chain_id[0] = 'f');
	DIFFERS(g.genesis_time_ms++, g.genesis_time_ms--);
	DIFFERS(g.params.slash_bps++, g.params.slash_bps--);
	DIFFERS(g.params.unbonding_blocks++, g.params.unbonding_blocks--);
	DIFFERS(g.params.proposal_deposit++, g.params.proposal_deposit--);
	DIFFERS(g.params.proposal_ttl_blocks++, g.params.proposal_ttl_blocks--);
	DIFFERS(g.params.max_open_proposals++, g.params.max_open_proposals--);
	DIFFERS(g.params.pbts_precision_ms++, g.params.pbts_precision_ms--);
	DIFFERS(g.params.pbts_msg_delay_ms++, g.params.pbts_msg_delay_ms--);
	DIFFERS(g.params.block_interval_ms++, g.params.block_interval_ms--);
	DIFFERS(g.validators[1].power++, g.validators[1].power--);
	DIFFERS(g.validators[1].name[0] = 'V', g.validators[1].name[0] = 'v');
	DIFFERS(g.n_validators--, g.n_validators++);
	DIFFERS(g.members[1].name[0] = 'M', g.members[1].name[0] = 'm');
	DIFFERS(g.n_members--, g.n_members++);
	DIFFERS(g.balances[5].amount++, g.balances[5].amount--);
	DIFFERS(g.balances[5].bonded++, g.balances[5].bonded--);
	DIFFERS(g.n_balances--, g.n_balances++);
	DIFFERS(g.profiles[1].reward_per_round++, g.profiles[1].reward_per_round--);
	DIFFERS(g.n_profiles--, g.n_profiles++);
#undef DIFFERS
	cr_assert_eq(chain_genesis_hash(&h, &g), FL_OK);
	cr_assert_eq(fl_hash_cmp(&h, &h0), 0, "every change undone");
	strcpy(g.chain_id, "Not Valid");
	cr_assert_eq(chain_genesis_hash(&h, &g), FL_EINVAL);
	chain_genesis_free(&g);
}

Test(genesis_codec, check_out_of_memory)
{
	chain_genesis g;
	const char *field;

	cr_assert_eq(chain_sample_genesis(&g), FL_OK);
	for (unsigned long at = 1; at < 20; at++) {
		int rc;
		fl_alloc_fail_after(at);
		rc = chain_genesis_check(&g, &field);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
	}
	chain_genesis_free(&g);
}

Test(genesis_codec, be64_helpers)
{
	uint8_t b[8];
	uint8_t want[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

	chain_put_be64(b, 0x0123456789abcdefull);
	cr_assert_arr_eq(b, want, 8);
	cr_assert_eq(chain_get_be64(b), 0x0123456789abcdefull);
	chain_put_be64(b, 0);
	cr_assert_eq(chain_get_be64(b), 0);
	chain_put_be64(b, UINT64_MAX);
	cr_assert_eq(chain_get_be64(b), UINT64_MAX);
	/* byte order is numeric order */
	{
		uint8_t lo[8], hi[8];
		chain_put_be64(lo, 255);
		chain_put_be64(hi, 256);
		cr_assert_lt(memcmp(lo, hi, 8), 0);
	}
}
