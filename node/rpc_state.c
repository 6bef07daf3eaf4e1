/*
 * node/rpc_state.c — GET /v1/accounts/{id}, /v1/validators[?height=H] and
 * /v1/blobs/{hash}: an account with its stake and standing, the validator
 * set of a height, and a blob from the node's store.
 */
#include "node/rpc_internal.h"

#include <string.h>

/* An account and where it stands, from one snapshot. */
typedef struct {
	chain_account acc;
	chain_bond bond;
	int validator;
	uint64_t power;
} account_view;

static int read_account(node_rpc *r, const fl_pubkey *id, account_view *v)
{
	chain_genesis_validator *vals = NULL;
	chain_snapshot *snap = NULL;
	size_t n = 0;
	int rc;

	if ((rc = chain_snapshot_begin(r->store, &snap)) != FL_OK)
		return rc;
	if ((rc = chain_snap_get_account(snap, id, &v->acc)) != FL_OK ||
	    (rc = chain_snap_get_bond(snap, id, &v->bond)) != FL_OK ||
	    (rc = chain_snap_get_validators(snap, &vals, &n)) != FL_OK)
		goto cleanup;
	/* The set in force for the next block is what "validator" means now. */
	for (size_t i = 0; i < n; i++)
		if (fl_pubkey_cmp(&vals[i].pubkey, id) == 0) {
			v->validator = 1;
			v->power = vals[i].power;
		}

cleanup:
	chain_snapshot_end(snap);
	fl_free(vals);
	return rc;
}

static json_t *account_json(const fl_pubkey *id, const account_view *v)
{
	json_t *o = json_object(), *unb = json_array();
	int ok = 1;

	for (uint32_t i = 0; unb != NULL && i < v->bond.n_unbonding && i < CHAIN_MAX_UNBONDING;
	     i++) {
		json_t *e = json_object();
		int eok = 1;

		node__rpc_set(e, "release_height",
			      node__rpc_u64(v->bond.unbonding[i].release_height), &eok);
		node__rpc_set(e, "amount", node__rpc_u64(v->bond.unbonding[i].amount), &eok);
		node__rpc_append(unb, node__rpc_done(e, eok), &ok);
	}
	node__rpc_set(o, "id", node__rpc_key(id), &ok);
	node__rpc_set(o, "name", json_string(v->acc.name), &ok);
	node__rpc_set(o, "balance", node__rpc_u64(v->acc.balance), &ok);
	node__rpc_set(o, "nonce", node__rpc_u64(v->acc.nonce), &ok);
	node__rpc_set(o, "bonded", node__rpc_u64(v->bond.bonded), &ok);
	node__rpc_set(o, "unbonding", unb, &ok);
	node__rpc_set(o, "member", json_boolean(v->acc.member), &ok);
	node__rpc_set(o, "validator", json_boolean(v->validator), &ok);
	node__rpc_set(o, "power", node__rpc_u64(v->power), &ok);
	node__rpc_set(o, "jailed", json_boolean(v->acc.jailed), &ok);
	node__rpc_set(o, "reputation", json_integer(v->acc.reputation), &ok);
	return node__rpc_done(o, ok);
}

int node__rpc_account(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	node_rpc *r = ctx;
	const char *s = node_http_param(req, "id");
	account_view v;
	fl_pubkey id;
	int rc;

	if (strlen(s) != FL_PUBKEY_HEX_LEN)
		return node__rpc_bad(ex, "id: must be 64 hex digits (an account's public key)");
	rc = fl_pubkey_from_hex(&id, s);
	if (rc == FL_EPARSE)
		return node__rpc_bad(ex, "id: must be 64 hex digits (an account's public key)");
	if (rc != FL_OK)
		return node__rpc_bad(ex, "id: not a public key (no such curve point)");
	memset(&v, 0, sizeof(v));
	if ((rc = read_account(r, &id, &v)) != FL_OK)
		return node__rpc_fail(ex, rc, "no such account");
	return node__rpc_ok(ex, account_json(&id, &v));
}

/* ----------------------------------------------------------- validators */

/* The set of `height` (0 = the next block's), with the accounts' names. */
static int read_validators(node_rpc *r, uint64_t *height, chain_validator_set *set,
			   char (*names)[CHAIN_NAME_MAX + 1])
{
	chain_snapshot *snap = NULL;
	chain_info info;
	int rc;

	if ((rc = chain_snapshot_begin(r->store, &snap)) != FL_OK)
		return rc;
	if (*height == 0) {
		if ((rc = chain_snap_info(snap, &info)) != FL_OK)
			goto cleanup;
		*height = info.height + 1;
	}
	if ((rc = chain_snap_get_validator_set(snap, *height, set)) != FL_OK)
		goto cleanup;
	for (uint32_t i = 0; i < set->n; i++) {
		chain_account acc;

		names[i][0] = '\0';
		/* A validator of an old set may have no account any more. */
		if ((rc = chain_snap_get_account(snap, &set->pubkey[i], &acc)) == FL_OK)
			memcpy(names[i], acc.name, sizeof(names[i]));
		else if (rc != FL_ENOTFOUND)
			goto cleanup;
	}
	rc = FL_OK;

cleanup:
	chain_snapshot_end(snap);
	return rc;
}

static json_t *validators_json(uint64_t height, const chain_validator_set *set,
			       const char (*names)[CHAIN_NAME_MAX + 1])
{
	json_t *o = json_object(), *vals = json_array();
	int ok = 1;

	for (uint32_t i = 0; vals != NULL && i < set->n; i++) {
		json_t *v = json_object();
		int vok = 1;

		node__rpc_set(v, "pubkey", node__rpc_key(&set->pubkey[i]), &vok);
		node__rpc_set(v, "power", node__rpc_u64(set->power[i]), &vok);
		if (names[i][0] != '\0')
			node__rpc_set(v, "name", json_string(names[i]), &vok);
		node__rpc_append(vals, node__rpc_done(v, vok), &ok);
	}
	node__rpc_set(o, "height", node__rpc_u64(height), &ok);
	node__rpc_set(o, "total_power", node__rpc_u64(set->total), &ok);
	node__rpc_set(o, "validators", vals, &ok);
	return node__rpc_done(o, ok);
}

int node__rpc_validators(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	node_rpc *r = ctx;
	char(*names)[CHAIN_NAME_MAX + 1];
	chain_validator_set set;
	uint64_t height = 0;
	char arg[32];
	int rc;

	rc = node_http_query(req, "height", arg, sizeof(arg));
	if (rc == FL_OK) {
		if (fl_parse_u64(arg, &height) != FL_OK)
			return node__rpc_bad(ex, "height: must be a decimal height");
		if (height == 0)
			return node__rpc_fail(ex, FL_ENOTFOUND, "no validator set at height 0");
	} else if (rc != FL_ENOTFOUND) {
		return node__rpc_bad(ex, "height: must be a decimal height");
	}
	/* 8 KiB of names: the heap's, not the loop's stack. */
	if ((names = fl_calloc(CHAIN_MAX_VALIDATORS, sizeof(*names))) == NULL)
		return node__rpc_fail(ex, FL_ENOMEM, NULL);
	rc = read_validators(r, &height, &set, names);
	if (rc == FL_OK)
		rc = node__rpc_ok(
		    ex, validators_json(height, &set, (const char(*)[CHAIN_NAME_MAX + 1]) names));
	else
		rc = node__rpc_fail(ex, rc,
				    "no validator set at that height (beyond the next block)");
	fl_free(names);
	return rc;
}

/* ---------------------------------------------------------------- blobs */

int node__rpc_blob(void *ctx, node_http_exchange *ex, const node_http_request *req)
{
	node_rpc *r = ctx;
	uint8_t *p = NULL;
	size_t n = 0;
	fl_hash h;
	int rc;

	/* Only a decoded hash names a file (node/blobstore.h). */
	if (node__rpc_parse_hash(node_http_param(req, "hash"), &h) != FL_OK)
		return node__rpc_bad(ex, "hash: must be 64 hex digits");
	rc = node_blobstore_get(r->blobs, &h, &p, &n);
	if (rc == FL_ECORRUPT)
		return node_http_respond_error(ex, 500, "blob_corrupt",
					       "the stored blob no longer matches its hash");
	if (rc != FL_OK)
		return node__rpc_fail(ex, rc, "no blob of that hash");
	rc = node_http_respond(ex, 200, "application/octet-stream", p, n);
	fl_free(p);
	return rc;
}
