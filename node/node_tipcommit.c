/*
 * node/node_tipcommit.c — the commit of the tip, rebuilt from the WAL when
 * the store lacks it. A store written before blocks and their commits were
 * stored in one transaction (chain_apply_block_commit) may have lost it in
 * a crash between the two writes; without it the node cannot build the
 * next block nor prove its tip. The precommits that decided the tip are in
 * the WAL's records of that height (peers' votes and this node's own): a
 * round whose precommits for the tip's hash hold more than 2/3 makes the
 * commit, and chain_store_put_tip_commit verifies it in full before it
 * keeps it, so nothing here has to be trusted.
 */
#include "node/node_internal.h"

#include <string.h>

#define LOG "node"

/* Precommits kept from the WAL: a few rounds' worth of a full set. */
#define TIP_VOTES_MAX (4 * CHAIN_MAX_VALIDATORS)

typedef struct {
	uint64_t height;
	fl_hash hash;
	chain_vote *votes;
	size_t n;
} tip_votes;

/* Keeps each precommit of (height, hash): VOTE events (u64 now_ms, then
 * the vote) and this node's own votes (the vote alone). */
static int collect_cb(void *arg, const node_wal_record *rec)
{
	tip_votes *tv = arg;
	uint64_t now_ms;
	chain_vote v;
	fl_reader r;

	if (rec->type != NODE_CONS_EV_VOTE && rec->type != NODE__WAL_OWN_VOTE)
		return FL_OK;
	fl_reader_init(&r, rec->payload, rec->len);
	if (rec->type == NODE_CONS_EV_VOTE && fl_read_u64(&r, &now_ms) != FL_OK)
		return FL_OK;
	if (chain_vote_decode(&r, &v) != FL_OK || fl_reader_finish(&r) != FL_OK)
		return FL_OK;
	if (v.type != CHAIN_VOTE_PRECOMMIT || v.height != tv->height ||
	    fl_hash_cmp(&v.block_hash, &tv->hash) != 0 || tv->n == TIP_VOTES_MAX)
		return FL_OK;
	tv->votes[tv->n++] = v;
	return FL_OK;
}

/* The commit of one round from the kept votes: signers sorted, each once. */
static void commit_of_round(const tip_votes *tv, uint32_t round, chain_commit *c)
{
	memset(c, 0, sizeof(*c));
	c->height = tv->height;
	c->round = round;
	c->block_hash = tv->hash;
	for (size_t i = 0; i < tv->n; i++) {
		const chain_vote *v = &tv->votes[i];
		uint32_t at = 0;

		if (v->round != round)
			continue;
		while (at < c->n_sigs && fl_pubkey_cmp(&c->sigs[at].validator, &v->validator) < 0)
			at++;
		if ((at < c->n_sigs && fl_pubkey_cmp(&c->sigs[at].validator, &v->validator) == 0) ||
		    c->n_sigs == CHAIN_MAX_VALIDATORS)
			continue;
		memmove(&c->sigs[at + 1], &c->sigs[at], (c->n_sigs - at) * sizeof(c->sigs[0]));
		c->sigs[at].validator = v->validator;
		c->sigs[at].sig = v->sig;
		c->n_sigs++;
	}
}

static int round_seen_before(const tip_votes *tv, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (tv->votes[k].round == tv->votes[i].round)
			return 1;
	return 0;
}

/*
 * At start, before replay: if the store's tip has no commit, rebuild it
 * from the WAL's records of the tip's height. Finding none is not an error
 * (a warning says what it costs); a store or WAL read error is returned.
 */
int node__tip_commit_recover(node *n)
{
	tip_votes tv;
	chain_commit *c = NULL;
	int rc;

	memset(&tv, 0, sizeof(tv));
	if (n->info.height == 0)
		return FL_OK;
	if ((c = fl_malloc(sizeof(*c))) == NULL)
		return FL_ENOMEM;
	if ((rc = chain_get_commit(n->store, n->info.height, c)) != FL_ENOTFOUND)
		goto cleanup; /* held (FL_OK), or a store error */
	tv.height = n->info.height;
	tv.hash = n->info.last_block_hash;
	if ((tv.votes = fl_calloc(TIP_VOTES_MAX, sizeof(*tv.votes))) == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	/* FL_ESTATE: it stopped at a later height's marker; FL_ENOTFOUND: that
	 * height's records were pruned or never written. */
	rc = node_wal_replay(n->wal, tv.height, collect_cb, &tv);
	if (rc != FL_OK && rc != FL_ESTATE && rc != FL_ENOTFOUND)
		goto cleanup;
	rc = FL_ENOTFOUND;
	for (size_t i = 0; i < tv.n && rc != FL_OK; i++) {
		if (round_seen_before(&tv, i))
			continue;
		commit_of_round(&tv, tv.votes[i].round, c);
		rc = chain_store_put_tip_commit(n->store, c);
	}
	if (rc == FL_OK)
		fl_log(FL_LOG_INFO, LOG,
		       "height %llu: the store had no commit of its tip; rebuilt from the WAL "
		       "(round %u, %u signatures)",
		       (unsigned long long)tv.height, c->round, c->n_sigs);
	else
		fl_log(FL_LOG_WARN, LOG,
		       "height %llu: the store has no commit of its tip and the WAL none that "
		       "verifies: this node cannot build height %llu nor serve its tip until a "
		       "peer's block carries it",
		       (unsigned long long)tv.height, (unsigned long long)tv.height + 1);
	rc = FL_OK;

cleanup:
	fl_free(tv.votes);
	fl_free(c);
	return rc;
}
