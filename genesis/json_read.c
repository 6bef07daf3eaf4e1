/*
 * genesis/json_read.c — genesis.json into a chain_genesis (docs/genesis.md
 * has the schema). Strict: unknown fields, wrong types and out-of-range
 * values are errors naming their JSON path; profiles are read by
 * json_profile.c; the rules across entries are genesis_check's (check.c).
 */
#include "genesis/internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const char *const genesis_keys[] = {"chain_id", "genesis_time_ms", "params",   "validators",
					   "members",  "balances",        "profiles", NULL};
static const char *const params_keys[] = {
    "timeout_propose_ms", "timeout_prevote_ms", "timeout_precommit_ms", "timeout_delta_ms",
    "max_block_txs",      "max_block_bytes",    "stake_unit",           "slash_bps",
    "unbonding_blocks",   "proposal_deposit",   "proposal_ttl_blocks",  "max_open_proposals",
    "pbts_precision_ms",  "pbts_msg_delay_ms",  "block_interval_ms",    NULL};
static const char *const validator_keys[] = {"pubkey", "power", "name", NULL};
static const char *const member_keys[] = {"pubkey", "name", NULL};
static const char *const balance_keys[] = {"account", "amount", "bonded", NULL};

/* The ranges of chain_params_check, repeated here to give a reason. */
#define TIMEOUT_MAX_MS  3600000u
#define BLOCK_BYTES_MIN (64u * 1024)

static int read_params(gj_ctx *c, const json_t *v, chain_params *p)
{
	int rc;

	if ((rc = gj_object(c, v, params_keys)) < 0 ||
	    (rc = gj_u32(c, v, "timeout_propose_ms", 0, 1, TIMEOUT_MAX_MS,
			 &p->timeout_propose_ms)) < 0 ||
	    (rc = gj_u32(c, v, "timeout_prevote_ms", 0, 1, TIMEOUT_MAX_MS,
			 &p->timeout_prevote_ms)) < 0 ||
	    (rc = gj_u32(c, v, "timeout_precommit_ms", 0, 1, TIMEOUT_MAX_MS,
			 &p->timeout_precommit_ms)) < 0 ||
	    (rc = gj_u32(c, v, "timeout_delta_ms", 0, 1, TIMEOUT_MAX_MS, &p->timeout_delta_ms)) <
		0 ||
	    (rc = gj_u32(c, v, "max_block_txs", 0, 1, CHAIN_MAX_BLOCK_TXS, &p->max_block_txs)) <
		0 ||
	    (rc = gj_u32(c, v, "max_block_bytes", 0, BLOCK_BYTES_MIN, CHAIN_MAX_BLOCK_BYTES,
			 &p->max_block_bytes)) < 0 ||
	    (rc = gj_u64(c, v, "stake_unit", 0, 1, UINT64_MAX, &p->stake_unit)) < 0 ||
	    (rc = gj_u32(c, v, "slash_bps", 0, 0, CHAIN_BPS, &p->slash_bps)) < 0 ||
	    (rc = gj_u32(c, v, "unbonding_blocks", 0, 1, CHAIN_UNBONDING_MAX_BLOCKS,
			 &p->unbonding_blocks)) < 0 ||
	    (rc = gj_u64(c, v, "proposal_deposit", 0, 0, UINT64_MAX, &p->proposal_deposit)) < 0 ||
	    (rc = gj_u32(c, v, "proposal_ttl_blocks", 0, 1, CHAIN_SCHEDULE_MAX_BLOCKS,
			 &p->proposal_ttl_blocks)) < 0 ||
	    (rc = gj_u32(c, v, "max_open_proposals", 0, 1, CHAIN_MAX_OPEN_PROPOSALS,
			 &p->max_open_proposals)) < 0 ||
	    (rc = gj_u32(c, v, "pbts_precision_ms", 0, 1, CHAIN_PBTS_PRECISION_MAX_MS,
			 &p->pbts_precision_ms)) < 0 ||
	    (rc = gj_u32(c, v, "pbts_msg_delay_ms", 0, 1, CHAIN_PBTS_MSG_DELAY_MAX_MS,
			 &p->pbts_msg_delay_ms)) < 0 ||
	    (rc = gj_u32(c, v, "block_interval_ms", 0, 0, CHAIN_BLOCK_INTERVAL_MAX_MS,
			 &p->block_interval_ms)) < 0)
		return rc;
	return FL_OK;
}

static int read_validator(gj_ctx *c, const json_t *v, chain_genesis_validator *out)
{
	int rc;

	if ((rc = gj_object(c, v, validator_keys)) < 0 ||
	    (rc = gj_pubkey(c, v, "pubkey", &out->pubkey)) < 0 ||
	    (rc = gj_u64(c, v, "power", 1, 1, UINT64_MAX, &out->power)) < 0 ||
	    (rc = gj_str(c, v, "name", 0, CHAIN_NAME_MAX, out->name)) < 0)
		return rc;
	return FL_OK;
}

static int read_member(gj_ctx *c, const json_t *v, chain_genesis_member *out)
{
	int rc;

	if ((rc = gj_object(c, v, member_keys)) < 0 ||
	    (rc = gj_pubkey(c, v, "pubkey", &out->pubkey)) < 0 ||
	    (rc = gj_str(c, v, "name", 0, CHAIN_NAME_MAX, out->name)) < 0)
		return rc;
	return FL_OK;
}

static int read_balance(gj_ctx *c, const json_t *v, chain_genesis_balance *out)
{
	int rc;

	if ((rc = gj_object(c, v, balance_keys)) < 0 ||
	    (rc = gj_pubkey(c, v, "account", &out->account)) < 0 ||
	    (rc = gj_u64(c, v, "amount", 1, 0, UINT64_MAX, &out->amount)) < 0 ||
	    (rc = gj_u64(c, v, "bonded", 0, 0, UINT64_MAX, &out->bonded)) < 0)
		return rc;
	return FL_OK;
}

/*
 * Reads the array at key into a fresh array of `size`-byte entries, one call
 * of fn per entry. The allocation is bounded by max (and the array exists in
 * the input, which is bounded by GENESIS_MAX_BYTES).
 */
static int read_list(gj_ctx *c, const json_t *root, const char *key, int required, size_t max,
		     size_t size, int (*fn)(gj_ctx *, const json_t *, void *), void **out,
		     uint32_t *count)
{
	const json_t *v;
	size_t mark, n, i;
	uint8_t *arr;
	int rc;

	if ((rc = gj_enter(c, root, key, required, &v, &mark)) <= 0)
		return rc;
	if ((rc = gj_val_array(c, v, max, &n)) < 0)
		return rc;
	if (n > 0) {
		arr = fl_calloc(n, size);
		if (arr == NULL)
			return gj_fail(c, FL_ENOMEM, "%s", fl_strerror(FL_ENOMEM));
		*out = arr;
		*count = (uint32_t)n;
		for (i = 0; i < n; i++) {
			size_t m = gj_push_index(c, i);
			if ((rc = fn(c, json_array_get(v, i), arr + i * size)) < 0)
				return rc;
			gj_pop(c, m);
		}
	}
	gj_pop(c, mark);
	return FL_OK;
}

static int read_validator_any(gj_ctx *c, const json_t *v, void *out)
{
	return read_validator(c, v, out);
}

static int read_member_any(gj_ctx *c, const json_t *v, void *out)
{
	return read_member(c, v, out);
}

static int read_balance_any(gj_ctx *c, const json_t *v, void *out)
{
	return read_balance(c, v, out);
}

static int read_profile_any(gj_ctx *c, const json_t *v, void *out)
{
	return genesis_profile_read(c, v, out);
}

static int read_genesis(gj_ctx *c, const json_t *root, chain_genesis *g)
{
	const json_t *v;
	size_t mark;
	int rc;

	if ((rc = gj_object(c, root, genesis_keys)) < 0)
		return rc;
	if ((rc = gj_str(c, root, "chain_id", 1, CHAIN_ID_MAX, g->chain_id)) < 0)
		return rc;
	if (!chain_id_valid(g->chain_id, CHAIN_ID_MAX)) {
		gj_push_key(c, "chain_id");
		return gj_fail(c, FL_EINVAL, "must be 1 to %d of [a-z0-9._-]", CHAIN_ID_MAX);
	}
	if ((rc = gj_u64(c, root, "genesis_time_ms", 1, 0, CHAIN_GENESIS_TIME_MAX_MS,
			  &g->genesis_time_ms)) < 0)
		return rc;

	chain_params_default(&g->params);
	if ((rc = gj_enter(c, root, "params", 0, &v, &mark)) < 0)
		return rc;
	if (rc == 1) {
		if ((rc = read_params(c, v, &g->params)) < 0)
			return rc;
		gj_pop(c, mark);
	}

	if ((rc = read_list(c, root, "validators", 1, CHAIN_MAX_VALIDATORS,
			    sizeof(chain_genesis_validator), read_validator_any,
			    (void **)&g->validators, &g->n_validators)) < 0 ||
	    (rc =
		 read_list(c, root, "members", 0, GENESIS_MAX_MEMBERS, sizeof(chain_genesis_member),
			   read_member_any, (void **)&g->members, &g->n_members)) < 0 ||
	    (rc = read_list(c, root, "balances", 0, GENESIS_MAX_BALANCES,
			    sizeof(chain_genesis_balance), read_balance_any, (void **)&g->balances,
			    &g->n_balances)) < 0 ||
	    (rc = read_list(c, root, "profiles", 0, GENESIS_MAX_PROFILES, sizeof(chain_profile),
			    read_profile_any, (void **)&g->profiles, &g->n_profiles)) < 0)
		return rc;
	return FL_OK;
}

int genesis_parse_string(const char *name, const char *text, size_t len, chain_genesis *out,
			 char *err, size_t errlen)
{
	json_t *root;
	gj_ctx c;
	int rc;

	assert(name != NULL && out != NULL && (text != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	root = genesis_json_loads(name, text, len, err, errlen);
	if (root == NULL)
		return FL_EPARSE;
	gj_init(&c, name, "", err, errlen);
	rc = read_genesis(&c, root, out);
	json_decref(root);
	return rc;
}

int genesis_load_string(const char *name, const char *text, size_t len, chain_genesis *out,
			char *err, size_t errlen)
{
	int rc = genesis_parse_string(name, text, len, out, err, errlen);

	if (rc < 0)
		return rc;
	return genesis_check(out, 0, name, err, errlen);
}

int genesis_parse_file(const char *path, chain_genesis *out, char *err, size_t errlen)
{
	uint8_t *text = NULL;
	size_t n;
	int rc;

	assert(path != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	rc = fl_file_read(path, &text, &n, GENESIS_MAX_BYTES);
	if (rc < 0) {
		gj_errorf(err, errlen, "%s: cannot read: %s", path, fl_strerror(rc));
		return rc;
	}
	rc = genesis_parse_string(path, (const char *)text, n, out, err, errlen);
	fl_free(text);
	return rc;
}

int genesis_load_file(const char *path, chain_genesis *out, char *err, size_t errlen)
{
	int rc = genesis_parse_file(path, out, err, errlen);

	if (rc < 0)
		return rc;
	return genesis_check(out, 0, path, err, errlen);
}
