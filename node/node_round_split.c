/*
 * node/node_round_split.c — automatic specialisation (design.md §5.6;
 * Sattler, Müller, Samek, "Clustered Federated Learning", 2019): when a
 * round's updates form two clear clusters (node_round_clusters, on the
 * pool), the coordinator proposes two child profiles, one per cluster: the
 * parent's network, hyper-parameters and schedule, its model (an activated
 * child whose network is its parent's starts from the parent's current
 * model, chain/profile.c), and the labels the cluster's members declared
 * in their joins. The validators vote on them like on any proposal; once
 * one is active, a member whose config.json names data for the parent
 * joins the child too when its share has samples of the child's labels
 * (node_round.c), which is how the cluster's members are offered it.
 *
 * Bounds: no proposal while the profile has a child proposed or active
 * (whoever proposed it), one per parent profile and node run, two txs; the
 * proposal's deposit and the proposer's cap of open proposals are the
 * chain's limits.
 */
#include "node/node_round_internal.h"

#include <stdio.h>
#include <string.h>

#define LOG "rounds"

/* The union of the labels the given side's participants joined with; *members
 * how many they are. */
static uint32_t side_labels(node *n, const node__profile *p, const node__rjob *j, uint8_t side,
			    uint16_t *labels, uint32_t *members)
{
	static uint8_t has[65536]; /* label ids are 16 bits; the loop's only */
	size_t used = 0;
	uint32_t count = 0;

	memset(has, 0, sizeof(has));
	for (size_t i = 0; i < j->n_in; i++) {
		chain_tx_round_join join;

		if (j->status[i] != NODE_ROUND_IN_OK)
			continue;
		if (j->sides[used++] != side ||
		    chain_get_join(n->store, p->id, &j->in[i].participant, &join, NULL) != FL_OK)
			continue;
		(*members)++;
		for (uint32_t l = 0; l < join.n_labels && l < CHAIN_MAX_LABELS; l++)
			has[join.labels[l]] = 1;
	}
	for (uint32_t v = 0; v < sizeof(has) && count < CHAIN_MAX_LABELS; v++)
		if (has[v])
			labels[count++] = (uint16_t)v;
	return count;
}

/* Whether the profile has a child proposed or running already (this
 * node's or another coordinator's split of an earlier round). */
static int has_child(node *n, const char *id)
{
	char (*ids)[CHAIN_PROFILE_ID_MAX + 1] = NULL;
	size_t n_ids = 0;
	int found = 0;

	if (chain_list_profiles(n->store, &ids, &n_ids) != FL_OK)
		return 1; /* cannot tell: propose nothing */
	for (size_t i = 0; i < n_ids && !found; i++) {
		chain_profile def;
		chain_profile_state st;

		found = chain_get_profile(n->store, ids[i], &def, &st) == FL_OK &&
			strcmp(def.parent, id) == 0 &&
			(st.status == CHAIN_PROFILE_PROPOSED || st.status == CHAIN_PROFILE_ACTIVE);
	}
	fl_free(ids);
	return found;
}

void node__round_propose_split(node *n, node__profile *p, const node__rjob *j)
{
	uint16_t labels[2][CHAIN_MAX_LABELS];
	uint32_t n_labels[2], members[2] = {0, 0};
	chain_tx tx;

	if (j->sides == NULL || p->def.parent[0] != '\0')
		return; /* a child is not split again by this node: one level */
	if (has_child(n, p->id)) {
		fl_log(FL_LOG_INFO, LOG, "%s round %llu: a split of it is already proposed", p->id,
		       (unsigned long long)j->round);
		return;
	}
	for (uint8_t s = 0; s < 2; s++)
		n_labels[s] = side_labels(n, p, j, s, labels[s], &members[s]);
	if (n_labels[0] == 0 || n_labels[1] == 0 ||
	    (n_labels[0] == n_labels[1] &&
	     memcmp(labels[0], labels[1], n_labels[0] * sizeof(labels[0][0])) == 0)) {
		fl_log(FL_LOG_INFO, LOG,
		       "%s round %llu: the clusters declare the same labels: no split proposed",
		       p->id, (unsigned long long)j->round);
		return;
	}
	for (uint8_t s = 0; s < 2; s++) {
		chain_profile *c;
		chain_profile_state st;
		char id[CHAIN_PROFILE_ID_MAX + 1];
		int len = snprintf(id, sizeof(id), "%.24s.r%llu%c", p->id,
				   (unsigned long long)(j->round % 1000000), 'a' + s);

		if (len <= 0 || (size_t)len >= sizeof(id) ||
		    !chain_id_valid(id, CHAIN_PROFILE_ID_MAX) ||
		    chain_get_profile(n->store, id, NULL, &st) == FL_OK)
			continue;
		memset(&tx, 0, sizeof(tx));
		tx.kind = CHAIN_TX_PROFILE_PROPOSE;
		c = &tx.u.profile_propose;
		*c = p->def;
		memcpy(c->id, id, sizeof(c->id));
		memcpy(c->parent, p->id, sizeof(c->parent));
		char name[CHAIN_NAME_MAX + 64];
		snprintf(name, sizeof(name), "%.40s, cluster %c of round %llu", p->def.name,
			 'a' + s, (unsigned long long)(j->round % 1000000));
		memcpy(c->name, name, CHAIN_NAME_MAX);
		c->name[CHAIN_NAME_MAX] = '\0';
		c->n_labels = n_labels[s];
		memcpy(c->labels, labels[s], n_labels[s] * sizeof(labels[s][0]));
		c->n_summary = 0; /* the parent's sketch is not the cluster's */
		/* A cluster is a part of the parent's members: a child that
		 * waited for as many as the parent would never run. */
		if (members[s] > 0 && c->min_participants > members[s])
			c->min_participants = members[s];
		if (node__submit_own_tx(n, &tx, NULL, "profile_propose") == FL_OK)
			fl_log(
			    FL_LOG_INFO, LOG,
			    "%s round %llu: proposed child profile %s for cluster %c (%u labels)",
			    p->id, (unsigned long long)j->round, id, 'a' + s, n_labels[s]);
		chain_tx_free(&tx);
	}
}
