/*
 * chain/state.c — typed access to the state on a chain_txn: each record
 * under its key, decoded at once (a value from chain_txn_get lives only
 * until the next write). A value that does not decode is FL_ECORRUPT: the
 * store holds only what these functions wrote.
 */
#include "chain/internal.h"

#include <assert.h>
#include <string.h>

typedef int (*record_decode_fn)(const uint8_t *p, size_t n, void *out);

static int get_record(chain_txn *t, chain_db db, const void *key, size_t klen,
		      record_decode_fn decode, void *out)
{
	const uint8_t *v;
	size_t n;
	int rc = chain_txn_get(t, db, key, klen, &v, &n);

	if (rc != FL_OK)
		return rc;
	return decode(v, n, out) == FL_OK ? FL_OK : FL_ECORRUPT;
}

int chain_state_put_encoded(chain_txn *t, chain_db db, const void *key, size_t klen,
			    const fl_writer *w)
{
	assert(w->err == 0);
	return chain_txn_put(t, db, key, klen, w->buf, w->len);
}

/* The decoders take typed pointers; these adapters let get_record stay one
 * function. */
static int dec_account(const uint8_t *p, size_t n, void *o)
{
	return chain_account_record_decode(p, n, o);
}
static int dec_member(const uint8_t *p, size_t n, void *o)
{
	return chain_member_record_decode(p, n, o);
}
static int dec_round(const uint8_t *p, size_t n, void *o)
{
	return chain_round_record_decode(p, n, o);
}
static int dec_update(const uint8_t *p, size_t n, void *o)
{
	return chain_update_record_decode(p, n, o);
}
static int dec_join(const uint8_t *p, size_t n, void *o)
{
	return chain_join_record_decode(p, n, o);
}
static int dec_eval(const uint8_t *p, size_t n, void *o)
{
	return chain_eval_record_decode(p, n, o);
}

/* ------------------------------------------------------------- scalars */

int chain_state_get_u64(chain_txn *t, chain_db db, const char *key, uint64_t *out)
{
	const uint8_t *v;
	size_t n;
	fl_reader r;
	int rc;

	assert(t != NULL && key != NULL && out != NULL);
	*out = 0;
	rc = chain_txn_get(t, db, key, strlen(key), &v, &n);
	if (rc != FL_OK)
		return rc;
	fl_reader_init(&r, v, n);
	fl_read_u64(&r, out);
	return fl_reader_finish(&r) == FL_OK ? FL_OK : FL_ECORRUPT;
}

int chain_state_put_u64(chain_txn *t, chain_db db, const char *key, uint64_t v)
{
	uint8_t b[8];

	assert(t != NULL && key != NULL);
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return chain_txn_put(t, db, key, strlen(key), b, sizeof(b));
}

int chain_state_get_hash(chain_txn *t, const char *key, fl_hash *out)
{
	const uint8_t *v;
	size_t n;
	int rc;

	assert(t != NULL && key != NULL && out != NULL);
	rc = chain_txn_get(t, CHAIN_DB_META, key, strlen(key), &v, &n);
	if (rc != FL_OK)
		return rc;
	if (n != FL_HASH_LEN)
		return FL_ECORRUPT;
	memcpy(out->b, v, FL_HASH_LEN);
	return FL_OK;
}

int chain_state_put_hash(chain_txn *t, const char *key, const fl_hash *h)
{
	assert(t != NULL && key != NULL && h != NULL);
	return chain_txn_put(t, CHAIN_DB_META, key, strlen(key), h->b, FL_HASH_LEN);
}

/* Once the chain id is there, every other value must be too: a missing
 * one is corruption, not "no genesis". */
static int must(int rc)
{
	return rc == FL_ENOTFOUND ? FL_ECORRUPT : rc;
}

int chain_state_info(chain_txn *t, chain_info *out)
{
	const uint8_t *v;
	size_t n;
	fl_reader r;
	int rc;

	assert(t != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	rc = chain_txn_get(t, CHAIN_DB_META, CHAIN_META_CHAIN_ID, strlen(CHAIN_META_CHAIN_ID), &v,
			   &n);
	if (rc != FL_OK)
		return rc;
	fl_reader_init(&r, v, n);
	fl_read_str(&r, out->chain_id, CHAIN_ID_MAX);
	if (fl_reader_finish(&r) != FL_OK || !chain_id_valid(out->chain_id, CHAIN_ID_MAX))
		return FL_ECORRUPT;
	if ((rc = must(chain_state_get_u64(t, CHAIN_DB_META, CHAIN_META_HEIGHT, &out->height))) ||
	    (rc = must(chain_state_get_hash(t, CHAIN_META_LAST_BLOCK, &out->last_block_hash))) ||
	    (rc = must(chain_state_get_hash(t, CHAIN_META_APP_HASH, &out->app_hash))) ||
	    (rc = must(chain_state_get_hash(t, CHAIN_META_BEACON, &out->beacon))) ||
	    (rc = must(chain_state_get_u64(t, CHAIN_DB_META, CHAIN_META_LAST_TIME,
					   &out->last_time_ms))) ||
	    (rc = must(chain_state_get_hash(t, CHAIN_META_GENESIS_HASH, &out->genesis_hash))) ||
	    (rc = must(
		 chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_SUPPLY, &out->supply))) ||
	    (rc = must(chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER,
					   &out->total_power))) ||
	    (rc = must(chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_DEPOSITS,
					   &out->deposits))) ||
	    (rc = must(chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_BONDED,
					   &out->bonded_total))) ||
	    (rc = must(chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_UNBONDING,
					   &out->unbonding_total))))
		goto fail;
	rc = must(
	    chain_txn_get(t, CHAIN_DB_META, CHAIN_META_PARAMS, strlen(CHAIN_META_PARAMS), &v, &n));
	if (rc != FL_OK)
		goto fail;
	fl_reader_init(&r, v, n);
	if (chain_params_decode(&r, &out->params) != FL_OK || fl_reader_finish(&r) != FL_OK) {
		rc = FL_ECORRUPT;
		goto fail;
	}
	return FL_OK;
fail:
	memset(out, 0, sizeof(*out));
	return rc;
}

/* ------------------------------------------------------------ accounts */

int chain_state_get_account(chain_txn *t, const fl_pubkey *pk, chain_account *out)
{
	const uint8_t *v;
	size_t n;
	int rc;

	assert(t != NULL && pk != NULL && out != NULL);
	rc = get_record(t, CHAIN_DB_ACCOUNTS, pk->b, FL_PUBKEY_LEN, dec_account, out);
	if (rc != FL_OK)
		return rc;
	if ((rc = chain_state_get_power(t, pk, &out->power)) != FL_OK)
		return rc;
	rc = chain_txn_get(t, CHAIN_DB_MEMBERS, pk->b, FL_PUBKEY_LEN, &v, &n);
	if (rc != FL_OK && rc != FL_ENOTFOUND)
		return rc;
	out->member = rc == FL_OK;
	return FL_OK;
}

int chain_state_put_account(chain_txn *t, const fl_pubkey *pk, const chain_account *a)
{
	fl_writer w;
	int rc;

	assert(t != NULL && pk != NULL && a != NULL);
	fl_writer_init(&w, 256);
	if ((rc = chain_account_record_encode(&w, a)) == 0)
		rc = chain_state_put_encoded(t, CHAIN_DB_ACCOUNTS, pk->b, FL_PUBKEY_LEN, &w);
	fl_writer_free(&w);
	return rc;
}

/* ---------------------------------------------------------- validators */

static int decode_power(const uint8_t *v, size_t n, uint64_t *power)
{
	fl_reader r;

	fl_reader_init(&r, v, n);
	fl_read_u64(&r, power);
	if (fl_reader_finish(&r) != FL_OK || *power == 0)
		return FL_ECORRUPT;
	return FL_OK;
}

int chain_state_get_power(chain_txn *t, const fl_pubkey *pk, uint64_t *power)
{
	const uint8_t *v;
	size_t n;
	int rc;

	assert(t != NULL && pk != NULL && power != NULL);
	*power = 0;
	rc = chain_txn_get(t, CHAIN_DB_VALIDATORS, pk->b, FL_PUBKEY_LEN, &v, &n);
	if (rc == FL_ENOTFOUND)
		return FL_OK;
	if (rc != FL_OK)
		return rc;
	return decode_power(v, n, power);
}

int chain_state_set_power(chain_txn *t, const fl_pubkey *pk, uint64_t power)
{
	uint64_t old = 0, total = 0;
	uint8_t b[8];
	int rc;

	assert(t != NULL && pk != NULL);
	if ((rc = chain_state_get_power(t, pk, &old)) != FL_OK)
		return rc;
	rc = chain_state_get_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER, &total);
	if (rc != FL_OK && rc != FL_ENOTFOUND)
		return rc;
	if (old > total)
		return FL_ECORRUPT;
	total -= old;
	if (power > UINT64_MAX - total)
		return FL_EOVERFLOW;
	total += power;
	if (power == 0) {
		rc = chain_txn_del(t, CHAIN_DB_VALIDATORS, pk->b, FL_PUBKEY_LEN);
	} else {
		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(power >> (8 * i));
		rc = chain_txn_put(t, CHAIN_DB_VALIDATORS, pk->b, FL_PUBKEY_LEN, b, sizeof(b));
	}
	if (rc != FL_OK)
		return rc;
	return chain_state_put_u64(t, CHAIN_DB_STATE_META, CHAIN_STATE_TOTAL_POWER, total);
}

static int collect_validator(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
			     size_t vlen)
{
	chain_validator_set *set = ctx;
	uint64_t power;

	if (klen != FL_PUBKEY_LEN || set->n == CHAIN_MAX_VALIDATORS)
		return FL_ECORRUPT;
	if (decode_power(val, vlen, &power) != FL_OK || power > UINT64_MAX - set->total)
		return FL_ECORRUPT;
	memcpy(set->pubkey[set->n].b, key, FL_PUBKEY_LEN);
	set->power[set->n++] = power;
	set->total += power;
	return 0;
}

int chain_state_get_validators(chain_txn *t, chain_validator_set *out)
{
	assert(t != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	return chain_txn_scan(t, CHAIN_DB_VALIDATORS, NULL, 0, collect_validator, out);
}

/* ------------------------------------------------------------- members */

int chain_state_get_member(chain_txn *t, const fl_pubkey *pk, chain_member_record *out)
{
	assert(t != NULL && pk != NULL && out != NULL);
	return get_record(t, CHAIN_DB_MEMBERS, pk->b, FL_PUBKEY_LEN, dec_member, out);
}

int chain_state_put_member(chain_txn *t, const fl_pubkey *pk, const chain_member_record *m)
{
	fl_writer w;
	int rc;

	assert(t != NULL && pk != NULL && m != NULL);
	fl_writer_init(&w, 256);
	if ((rc = chain_member_record_encode(&w, m)) == 0)
		rc = chain_state_put_encoded(t, CHAIN_DB_MEMBERS, pk->b, FL_PUBKEY_LEN, &w);
	fl_writer_free(&w);
	return rc;
}

int chain_state_del_member(chain_txn *t, const fl_pubkey *pk)
{
	assert(t != NULL && pk != NULL);
	return chain_txn_del(t, CHAIN_DB_MEMBERS, pk->b, FL_PUBKEY_LEN);
}

/* ------------------------------------------------------------ profiles */

int chain_state_get_profile(chain_txn *t, const char *id, chain_profile *def,
			    chain_profile_state *st)
{
	chain_profile def_tmp;
	chain_profile_state st_tmp;
	const uint8_t *v;
	size_t n;
	int rc;

	assert(t != NULL && id != NULL);
	if (!chain_id_valid(id, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	rc = chain_txn_get(t, CHAIN_DB_PROFILES, id, strlen(id), &v, &n);
	if (rc != FL_OK)
		return rc;
	rc = chain_profile_record_decode(v, n, def != NULL ? def : &def_tmp,
					 st != NULL ? st : &st_tmp);
	return rc == FL_OK ? FL_OK : FL_ECORRUPT;
}

int chain_state_put_profile(chain_txn *t, const chain_profile *def, const chain_profile_state *st)
{
	fl_writer w;
	int rc;

	assert(t != NULL && def != NULL && st != NULL);
	if (!chain_id_valid(def->id, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	fl_writer_init(&w, 0);
	if ((rc = chain_profile_record_encode(&w, def, st)) == 0)
		rc = chain_state_put_encoded(t, CHAIN_DB_PROFILES, def->id, strlen(def->id), &w);
	fl_writer_free(&w);
	return rc;
}

int chain_state_set_active(chain_txn *t, const char *id, int active)
{
	assert(t != NULL && id != NULL);
	if (!chain_id_valid(id, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	if (active)
		return chain_txn_put(t, CHAIN_DB_ACTIVE_PROFILES, id, strlen(id), "\x01", 1);
	return chain_txn_del(t, CHAIN_DB_ACTIVE_PROFILES, id, strlen(id));
}

/* -------------------------------------------------------------- rounds */

int chain_state_get_round(chain_txn *t, const char *id, uint64_t round, chain_round *out)
{
	uint8_t key[CHAIN_KEY_MAX];

	assert(t != NULL && id != NULL && out != NULL);
	if (!chain_id_valid(id, CHAIN_PROFILE_ID_MAX))
		return FL_EINVAL;
	return get_record(t, CHAIN_DB_ROUNDS, key, chain_key_round(key, id, round), dec_round, out);
}

int chain_state_put_round(chain_txn *t, const chain_round *r)
{
	uint8_t key[CHAIN_KEY_MAX];
	fl_writer w;
	int rc;

	assert(t != NULL && r != NULL);
	fl_writer_init(&w, 1024);
	if ((rc = chain_round_record_encode(&w, r)) == 0)
		rc = chain_state_put_encoded(t, CHAIN_DB_ROUNDS, key,
					     chain_key_round(key, r->profile, r->round), &w);
	fl_writer_free(&w);
	return rc;
}

/* ------------------------------------------- per-round and per-member rows */

int chain_state_get_update(chain_txn *t, const char *id, uint64_t round, const fl_pubkey *pk,
			   chain_update_record *out)
{
	uint8_t key[CHAIN_KEY_MAX];

	assert(t != NULL && id != NULL && pk != NULL && out != NULL);
	return get_record(t, CHAIN_DB_UPDATES, key, chain_key_round_member(key, id, round, pk),
			  dec_update, out);
}

int chain_state_put_update(chain_txn *t, const char *id, uint64_t round,
			   const chain_update_record *u)
{
	uint8_t key[CHAIN_KEY_MAX];
	fl_writer w;
	int rc;

	assert(t != NULL && id != NULL && u != NULL);
	fl_writer_init(&w, 256);
	if ((rc = chain_update_record_encode(&w, u)) == 0)
		rc = chain_state_put_encoded(
		    t, CHAIN_DB_UPDATES, key,
		    chain_key_round_member(key, id, round, &u->participant), &w);
	fl_writer_free(&w);
	return rc;
}

static size_t join_key(uint8_t *key, const char *id, const fl_pubkey *pk)
{
	size_t n = chain_key_profile_prefix(key, id);

	memcpy(key + n, pk->b, FL_PUBKEY_LEN);
	return n + FL_PUBKEY_LEN;
}

int chain_state_get_join(chain_txn *t, const char *id, const fl_pubkey *pk, chain_join_record *out)
{
	uint8_t key[CHAIN_KEY_MAX];

	assert(t != NULL && id != NULL && pk != NULL && out != NULL);
	return get_record(t, CHAIN_DB_JOINS, key, join_key(key, id, pk), dec_join, out);
}

int chain_state_put_join(chain_txn *t, const char *id, const fl_pubkey *pk,
			 const chain_join_record *j)
{
	uint8_t key[CHAIN_KEY_MAX];
	fl_writer w;
	int rc;

	assert(t != NULL && id != NULL && pk != NULL && j != NULL);
	fl_writer_init(&w, 2048);
	if ((rc = chain_join_record_encode(&w, j)) == 0)
		rc = chain_state_put_encoded(t, CHAIN_DB_JOINS, key, join_key(key, id, pk), &w);
	fl_writer_free(&w);
	return rc;
}

int chain_state_get_eval(chain_txn *t, const char *id, uint64_t round, const fl_pubkey *pk,
			 chain_eval_record *out)
{
	uint8_t key[CHAIN_KEY_MAX];

	assert(t != NULL && id != NULL && pk != NULL && out != NULL);
	return get_record(t, CHAIN_DB_EVALS, key, chain_key_round_member(key, id, round, pk),
			  dec_eval, out);
}

int chain_state_put_eval(chain_txn *t, const char *id, uint64_t round, const fl_pubkey *pk,
			 const chain_eval_record *e)
{
	uint8_t key[CHAIN_KEY_MAX];
	fl_writer w;
	int rc;

	assert(t != NULL && id != NULL && pk != NULL && e != NULL);
	fl_writer_init(&w, 256);
	if ((rc = chain_eval_record_encode(&w, e)) == 0)
		rc = chain_state_put_encoded(t, CHAIN_DB_EVALS, key,
					     chain_key_round_member(key, id, round, pk), &w);
	fl_writer_free(&w);
	return rc;
}

int chain_state_put_reward(chain_txn *t, const char *id, uint64_t round, uint32_t index,
			   const chain_reward *r)
{
	uint8_t key[CHAIN_KEY_MAX];
	size_t klen;
	fl_writer w;
	int rc;

	assert(t != NULL && id != NULL && r != NULL);
	klen = chain_key_round(key, id, round);
	chain_put_be32(key + klen, index);
	klen += 4;
	fl_writer_init(&w, 256);
	if ((rc = chain_reward_record_encode(&w, r)) == 0)
		rc = chain_state_put_encoded(t, CHAIN_DB_REWARDS, key, klen, &w);
	fl_writer_free(&w);
	return rc;
}
