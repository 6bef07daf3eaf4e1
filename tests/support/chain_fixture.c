/* tests/support/chain_fixture.c — a chain store with honest blocks (chain_fixture.h). */
#include "tests/support/chain_fixture.h"
#include "tests/support/chain_sample.h"

#include <criterion/criterion.h>

#include "chain/internal.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FX_CHAIN_ID     "fedledger-fixture"
#define FX_GENESIS_TIME 1700000000000ull
#define FX_BLOCK_MS     1000

static void fx_die(const char *what, int rc)
{
	fprintf(stderr, "chain_fixture: %s: %s\n", what, fl_strerror(rc));
	abort();
}

static void derive_key(fl_seckey *sk, fl_pubkey *pk, const char *role, uint32_t i)
{
	char label[64];
	fl_hash h;
	int n = snprintf(label, sizeof(label), "%s %u", role, i);

	fl_sha256(&h, label, (size_t)n);
	memcpy(sk->b, h.b, FL_SECKEY_LEN);
	if (fl_key_public(pk, sk) != 0)
		fx_die("derive_key", FL_EINVAL);
}

static int make_genesis(chain_fixture *fx, const fixture_opts *o)
{
	chain_genesis *g = &fx->genesis;
	uint32_t nv = o->n_validators, nm = o->n_members, no = o->n_outsiders;

	if (nv < 1 || nv + nm + no > FX_MAX_KEYS)
		return FL_EINVAL;
	memset(g, 0, sizeof(*g));
	snprintf(g->chain_id, sizeof(g->chain_id), "%s", FX_CHAIN_ID);
	g->genesis_time_ms = FX_GENESIS_TIME;
	chain_params_default(&g->params);
	fx->n_keys = nv + nm + no;
	for (uint32_t i = 0; i < fx->n_keys; i++) {
		const char *role = i < nv ? "validator" : i < nv + nm ? "member" : "outsider";
		uint32_t idx = i < nv ? i : i < nv + nm ? i - nv : i - nv - nm;
		derive_key(&fx->sk[i], &fx->pk[i], role, idx);
	}
	g->validators = fl_calloc(nv, sizeof(*g->validators));
	g->members = fl_calloc(nm ? nm : 1, sizeof(*g->members));
	g->balances = fl_calloc(fx->n_keys, sizeof(*g->balances));
	if (g->validators == NULL || g->members == NULL || g->balances == NULL)
		return FL_ENOMEM;
	g->n_validators = nv;
	for (uint32_t i = 0; i < nv; i++) {
		g->validators[i].pubkey = fx->pk[i];
		g->validators[i].power = o->powers[i] ? o->powers[i] : 10;
		snprintf(g->validators[i].name, sizeof(g->validators[i].name), "validator %u", i);
	}
	g->n_members = nm;
	for (uint32_t i = 0; i < nm; i++) {
		g->members[i].pubkey = fx->pk[nv + i];
		snprintf(g->members[i].name, sizeof(g->members[i].name), "member %u", i);
	}
	if (o->balance > 0 || o->bonded > 0) {
		g->n_balances = fx->n_keys;
		for (uint32_t i = 0; i < fx->n_keys; i++) {
			g->balances[i].account = fx->pk[i];
			g->balances[i].amount = o->balance;
			g->balances[i].bonded = o->bonded;
		}
	}
	if (o->tweak != NULL)
		o->tweak(g, o->tweak_arg);
	return chain_genesis_hash(&fx->genesis_hash, g);
}

int fixture_open_at(chain_fixture *fx, const fixture_opts *o, const char *dir)
{
	int rc;

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s", dir);
	if ((rc = make_genesis(fx, o)) != 0)
		goto fail;
	if ((rc = chain_store_open(&fx->store, fx->dir, 0)) != 0)
		goto fail;
	rc = chain_store_init_genesis(fx->store, &fx->genesis);
	if (rc == FL_EEXIST)
		rc = FL_OK;
	if (rc != FL_OK)
		goto fail;
	return FL_OK;
fail:
	chain_store_close(fx->store);
	fx->store = NULL;
	chain_genesis_free(&fx->genesis);
	return rc;
}

/* Dirs fixture_open made, removed at exit too: a failed assertion ends a
 * Criterion test without reaching fixture_close. */
static char fx_dirs[8][96];
static int fx_n_dirs;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw);

static void fx_remove_dirs(void)
{
	for (int i = 0; i < fx_n_dirs; i++)
		if (fx_dirs[i][0] != '\0')
			nftw(fx_dirs[i], rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	fx_n_dirs = 0;
}

static void fx_register_dir(const char *dir)
{
	static int registered;

	if (!registered && atexit(fx_remove_dirs) == 0)
		registered = 1;
	if (fx_n_dirs < (int)FL_ARRAY_LEN(fx_dirs))
		snprintf(fx_dirs[fx_n_dirs++], sizeof(fx_dirs[0]), "%s", dir);
}

int fixture_open(chain_fixture *fx, const fixture_opts *o)
{
	char dir[] = "/tmp/fedledger-fx-XXXXXX";
	int rc;

	if (mkdtemp(dir) == NULL)
		return FL_EIO;
	fx_register_dir(dir);
	rc = fixture_open_at(fx, o, dir);
	fx->own_dir = 1;
	if (rc != FL_OK)
		fixture_close(fx);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fixture_close(chain_fixture *fx)
{
	chain_store_close(fx->store);
	fx->store = NULL;
	chain_genesis_free(&fx->genesis);
	if (fx->own_dir && fx->dir[0] != '\0')
		nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	fx->dir[0] = '\0';
}

void fixture_detach(chain_fixture *fx)
{
	chain_store_close(fx->store);
	fx->store = NULL;
}

int fixture_attach(chain_fixture *fx)
{
	return chain_store_open(&fx->store, fx->dir, 0);
}

int fixture_reopen(chain_fixture *fx)
{
	fixture_detach(fx);
	return fixture_attach(fx);
}

int fixture_key_index(const chain_fixture *fx, const fl_pubkey *pk)
{
	for (uint32_t i = 0; i < fx->n_keys; i++)
		if (fl_pubkey_cmp(&fx->pk[i], pk) == 0)
			return (int)i;
	return -1;
}

/* ----------------------------------------------------------------- reads */

uint64_t fixture_height(chain_fixture *fx)
{
	chain_info info;
	int rc = chain_store_info(fx->store, &info);

	if (rc != 0)
		fx_die("info", rc);
	return info.height;
}

uint64_t fixture_balance_of(chain_fixture *fx, const fl_pubkey *pk)
{
	chain_account a;
	int rc = chain_get_account(fx->store, pk, &a);

	if (rc == FL_ENOTFOUND)
		return 0;
	if (rc != 0)
		fx_die("get_account", rc);
	return a.balance;
}

uint64_t fixture_balance(chain_fixture *fx, uint32_t who)
{
	return fixture_balance_of(fx, &fx->pk[who]);
}

static int sum_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	uint64_t *sum = ctx;
	chain_account a;

	(void)key;
	(void)klen;
	if (chain_account_record_decode(val, vlen, &a) != 0)
		return FL_ECORRUPT;
	if (a.balance > UINT64_MAX - *sum)
		return FL_EOVERFLOW;
	*sum += a.balance;
	return 0;
}

uint64_t fixture_sum_balances(chain_fixture *fx)
{
	chain_txn *t = NULL;
	uint64_t sum = 0;
	int rc = chain_txn_begin(fx->store, 0, &t);

	if (rc == 0)
		rc = chain_txn_scan(t, CHAIN_DB_ACCOUNTS, NULL, 0, sum_one, &sum);
	chain_txn_abort(t);
	if (rc != 0)
		fx_die("sum_balances", rc);
	return sum;
}

uint64_t fixture_sum_held(chain_fixture *fx)
{
	chain_info info;
	uint64_t sum = fixture_sum_balances(fx), stake = fixture_sum_stake(fx);
	int rc = chain_store_info(fx->store, &info);

	if (rc != 0)
		fx_die("info", rc);
	if (info.deposits > UINT64_MAX - sum || stake > UINT64_MAX - sum - info.deposits)
		fx_die("sum_held", FL_EOVERFLOW);
	return sum + info.deposits + stake;
}

chain_bond fixture_bond(chain_fixture *fx, uint32_t who)
{
	chain_bond b;
	int rc = chain_get_bond(fx->store, &fx->pk[who], &b);

	if (rc != 0)
		fx_die("get_bond", rc);
	return b;
}

static int stake_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	uint64_t *sum = ctx;
	chain_bond b;

	(void)key;
	(void)klen;
	if (chain_bond_record_decode(val, vlen, &b) != 0)
		return FL_ECORRUPT;
	for (uint32_t i = 0; i <= b.n_unbonding; i++) {
		uint64_t v = i < b.n_unbonding ? b.unbonding[i].amount : b.bonded;
		if (v > UINT64_MAX - *sum)
			return FL_EOVERFLOW;
		*sum += v;
	}
	return 0;
}

uint64_t fixture_sum_stake(chain_fixture *fx)
{
	chain_txn *t = NULL;
	uint64_t sum = 0;
	int rc = chain_txn_begin(fx->store, 0, &t);

	if (rc == 0)
		rc = chain_txn_scan(t, CHAIN_DB_BONDS, NULL, 0, stake_one, &sum);
	chain_txn_abort(t);
	if (rc != 0)
		fx_die("sum_stake", rc);
	return sum;
}

/* ----------------------------------------------------------------- signing */

int fixture_sign_nonce(chain_fixture *fx, chain_tx *tx, uint32_t who, uint64_t nonce)
{
	if (who >= fx->n_keys)
		return FL_EINVAL;
	tx->nonce = nonce;
	return chain_tx_sign(tx, fx->genesis.chain_id, &fx->sk[who]);
}

int fixture_sign(chain_fixture *fx, chain_tx *tx, uint32_t who)
{
	chain_account a;
	uint64_t nonce = 0;
	int rc;

	if (who >= fx->n_keys)
		return FL_EINVAL;
	rc = chain_get_account(fx->store, &fx->pk[who], &a);
	if (rc == FL_OK)
		nonce = a.nonce;
	else if (rc != FL_ENOTFOUND)
		return rc;
	rc = fixture_sign_nonce(fx, tx, who, nonce + fx->pending[who] + 1);
	if (rc == FL_OK)
		fx->pending[who]++;
	return rc;
}

int fixture_transfer(chain_fixture *fx, chain_tx *tx, uint32_t from, uint32_t to, uint64_t amount)
{
	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_TRANSFER;
	tx->u.transfer.to = fx->pk[to];
	tx->u.transfer.amount = amount;
	return fixture_sign(fx, tx, from);
}

int fixture_vote(chain_fixture *fx, chain_vote *v, uint32_t who, uint8_t type, uint64_t height,
		 uint32_t round, const fl_hash *block_hash)
{
	memset(v, 0, sizeof(*v));
	v->type = type;
	v->height = height;
	v->round = round;
	v->block_hash = *block_hash;
	return chain_vote_sign(v, fx->genesis.chain_id, &fx->sk[who]);
}

/* ---------------------------------------------------------------- blocks */

int fixture_commit(chain_fixture *fx, uint64_t height, const fl_hash *block_hash,
		   const uint32_t *who, uint32_t n, chain_commit *c)
{
	memset(c, 0, sizeof(*c));
	if (n > CHAIN_MAX_VALIDATORS)
		return FL_EINVAL;
	c->height = height;
	c->block_hash = *block_hash;
	for (uint32_t i = 0; i < n; i++) {
		chain_vote v;
		uint32_t at = 0;
		int rc = fixture_vote(fx, &v, who[i], CHAIN_VOTE_PRECOMMIT, height, 0, block_hash);

		if (rc != 0)
			return rc;
		/* Insertion keeps the validator order the encoding wants. */
		while (at < c->n_sigs && fl_pubkey_cmp(&c->sigs[at].validator, &v.validator) < 0)
			at++;
		memmove(&c->sigs[at + 1], &c->sigs[at], (c->n_sigs - at) * sizeof(c->sigs[0]));
		c->sigs[at].validator = v.validator;
		c->sigs[at].sig = v.sig;
		c->n_sigs++;
	}
	return FL_OK;
}

/* Every key of the set in force at the tip (the store's validator-set
 * history), in validator order. */
int fixture_tip_commit(chain_fixture *fx, chain_commit *c)
{
	chain_validator_set set;
	uint32_t who[CHAIN_MAX_VALIDATORS], n = 0;
	chain_info info;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = chain_store_info(fx->store, &info)) != 0)
		return rc;
	if (info.height == 0)
		return FL_OK;
	if ((rc = chain_get_validator_set(fx->store, info.height, &set)) != 0)
		return rc;
	for (uint32_t i = 0; i < set.n; i++) {
		int k = fixture_key_index(fx, &set.pubkey[i]);

		if (k >= 0)
			who[n++] = (uint32_t)k;
	}
	return fixture_commit(fx, info.height, &info.last_block_hash, who, n, c);
}

int fixture_double_sign(chain_fixture *fx, chain_tx *tx, uint32_t culprit, uint64_t height,
			uint32_t round, const char *tag)
{
	chain_tx_evidence *e = &tx->u.evidence;
	char s[64];
	fl_hash a, b;
	int rc;

	memset(tx, 0, sizeof(*tx));
	tx->kind = CHAIN_TX_EVIDENCE;
	e->type = CHAIN_EVIDENCE_DOUBLE_SIGN;
	snprintf(s, sizeof(s), "%s a", tag);
	fl_sha256(&a, s, strlen(s));
	snprintf(s, sizeof(s), "%s b", tag);
	fl_sha256(&b, s, strlen(s));
	if (fl_hash_cmp(&a, &b) > 0) {
		fl_hash t = a;
		a = b;
		b = t;
	}
	if ((rc = fixture_vote(fx, &e->vote_a, culprit, CHAIN_VOTE_PRECOMMIT, height, round, &a)))
		return rc;
	return fixture_vote(fx, &e->vote_b, culprit, CHAIN_VOTE_PRECOMMIT, height, round, &b);
}

/* Round robin over the validators in force that the fixture holds keys of. */
static int pick_proposer(chain_fixture *fx, uint64_t height, fl_pubkey *out)
{
	chain_genesis_validator *vals = NULL;
	size_t n = 0, known = 0;
	int rc = chain_get_validators(fx->store, &vals, &n);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		known += fixture_key_index(fx, &vals[i].pubkey) >= 0;
	rc = FL_ENOTFOUND;
	for (size_t i = 0, k = 0; known > 0 && i < n; i++) {
		if (fixture_key_index(fx, &vals[i].pubkey) < 0)
			continue;
		if (k++ == height % known) {
			*out = vals[i].pubkey;
			rc = FL_OK;
			break;
		}
	}
	fl_free(vals);
	return rc;
}

int fixture_build_block(chain_fixture *fx, const chain_tx *txs, uint32_t n, chain_block *b)
{
	chain_block_header *h = &b->header;
	chain_info info;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = chain_store_info(fx->store, &info)) != 0)
		return rc;
	if (n > 0) {
		b->txs = fl_calloc(n, sizeof(*b->txs));
		if (b->txs == NULL)
			return FL_ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		if ((rc = chain_tx_copy(&b->txs[i], &txs[i])) != 0)
			goto fail;
		b->n_txs = i + 1;
	}
	h->version = CHAIN_BLOCK_VERSION;
	memcpy(h->chain_id, info.chain_id, sizeof(h->chain_id));
	h->height = info.height + 1;
	h->time_ms = info.last_time_ms + FX_BLOCK_MS;
	h->prev_hash = info.last_block_hash;
	h->app_hash = info.app_hash;
	if ((rc = chain_block_tx_root(&h->tx_root, b)) != 0)
		goto fail;
	if ((rc = fixture_tip_commit(fx, &b->last_commit)) != 0)
		goto fail;
	if (info.height > 0 && (rc = chain_commit_hash(&h->last_commit_hash, &b->last_commit)) != 0)
		goto fail;
	if ((rc = pick_proposer(fx, h->height, &h->proposer)) != 0)
		goto fail;
	if ((rc = chain_header_prove_beacon(h, &fx->sk[fixture_key_index(fx, &h->proposer)],
					    &info.beacon)) != 0)
		goto fail;
	return FL_OK;
fail:
	chain_block_free(b);
	return rc;
}

int fixture_apply(chain_fixture *fx, const chain_block *b)
{
	memset(fx->pending, 0, sizeof(fx->pending));
	fx->last_rc = chain_apply_block(fx->store, b, &fx->res);
	return fx->last_rc;
}

int fixture_next_block(chain_fixture *fx, const chain_tx *txs, uint32_t n)
{
	chain_block b;
	int rc = fixture_build_block(fx, txs, n, &b);

	if (rc != 0) {
		memset(fx->pending, 0, sizeof(fx->pending));
		return rc;
	}
	rc = fixture_apply(fx, &b);
	chain_block_free(&b);
	return rc;
}

int fixture_advance_to(chain_fixture *fx, uint64_t height)
{
	int rc = 0;

	while (rc == 0 && fixture_height(fx) < height)
		rc = fixture_next_block(fx, NULL, 0);
	return rc;
}

void fixture_short_round_profile(chain_genesis *g, void *arg)
{
	chain_profile *p = fl_calloc(1, sizeof(*p));

	cr_assert_not_null(p);
	cr_assert_not_null(arg);
	chain_sample_profile(p, "mnist");
	p->window_blocks = 3;
	p->deadline_blocks = 2;
	p->min_participants = 2;
	p->reward_per_round = *(const uint64_t *)arg;
	p->coordinator_share_bps = 2000;
	p->max_samples_weight = 1000;
	g->profiles = p;
	g->n_profiles = 1;
}
