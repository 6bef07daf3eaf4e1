/*
 * node/round_cluster.c — clustered FL's split test (Sattler, Müller, Samek,
 * "Clustered Federated Learning", 2019; node/round_work.h): the updates'
 * pairwise cosine similarities, agglomerated by complete linkage until two
 * clusters are left, and whether that split is clear. A coordinator's
 * proposal only, never consensus: doubles are fine.
 */
#include "node/round_work_internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* cos(a, b); a zero update has no direction, so it is like nothing. */
static double cosine(const fl_update *a, const fl_update *b, const double *norm, size_t i, size_t j)
{
	double dot = 0;

	if (norm[i] == 0 || norm[j] == 0)
		return 0;
	for (size_t k = 0; k < a->n; k++)
		dot += (double)a->q[k] * (double)b->q[k];
	return dot / (norm[i] * norm[j]);
}

/*
 * Agglomerates by complete linkage on similarity: the link of two clusters
 * is the least similarity between their members (Lance–Williams: merging A
 * and B gives link(A∪B, C) = min(link(A, C), link(B, C))), and the two most
 * linked clusters merge first, ties to the lowest indices, until two are
 * left. root[i] is the cluster (its lowest member) of update i.
 */
static void complete_linkage(double *link, size_t n, size_t *root)
{
	for (size_t i = 0; i < n; i++)
		root[i] = i;
	for (size_t clusters = n; clusters > 2; clusters--) {
		size_t bi = 0, bj = 0;
		double best = -HUGE_VAL;

		for (size_t i = 0; i < n; i++) {
			if (root[i] != i)
				continue;
			for (size_t j = i + 1; j < n; j++)
				if (root[j] == j && link[i * n + j] > best) {
					best = link[i * n + j];
					bi = i;
					bj = j;
				}
		}
		for (size_t k = 0; k < n; k++) {
			if (root[k] == k && k != bi && k != bj) {
				double m = fmin(link[bi * n + k], link[bj * n + k]);

				link[bi * n + k] = link[k * n + bi] = m;
			}
			if (root[k] == bj)
				root[k] = bi;
		}
	}
}

int node_round_clusters(const fl_update *const *updates, size_t n, uint8_t *side, int *clear,
			double *max_cross)
{
	double *sim = NULL, *link = NULL, *norm = NULL;
	double cross = -HUGE_VAL, within[2] = {HUGE_VAL, HUGE_VAL};
	size_t *root = NULL, count[2] = {0, 0};
	int rc = FL_ENOMEM;

	assert(updates != NULL && side != NULL && clear != NULL);
	*clear = 0;
	if (max_cross != NULL)
		*max_cross = 0;
	/* The pairwise matrix is n²: bounded like an aggregation's inputs. */
	if (n < 2 || n > FL_AGG_MAX_INPUTS)
		return FL_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (updates[i]->n != updates[0]->n || updates[i]->n == 0 ||
		    !fl_spec_equal(&updates[i]->spec, &updates[0]->spec))
			return FL_EINVAL;
	sim = fl_calloc(n * n, sizeof(*sim));
	link = fl_calloc(n * n, sizeof(*link));
	norm = fl_calloc(n, sizeof(*norm));
	root = fl_calloc(n, sizeof(*root));
	if (sim == NULL || link == NULL || norm == NULL || root == NULL)
		goto cleanup;

	for (size_t i = 0; i < n; i++) {
		double s = 0;

		for (size_t k = 0; k < updates[i]->n; k++)
			s += (double)updates[i]->q[k] * (double)updates[i]->q[k];
		norm[i] = sqrt(s);
	}
	for (size_t i = 0; i < n; i++) {
		sim[i * n + i] = 1;
		for (size_t j = i + 1; j < n; j++)
			sim[i * n + j] = sim[j * n + i] =
			    cosine(updates[i], updates[j], norm, i, j);
	}
	memcpy(link, sim, n * n * sizeof(*sim));
	complete_linkage(link, n, root);

	/* updates[0] is in the cluster rooted at 0: side 0. */
	for (size_t i = 0; i < n; i++) {
		side[i] = root[i] != 0;
		count[side[i]]++;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			double s = sim[i * n + j];

			if (side[i] != side[j])
				cross = fmax(cross, s);
			else
				within[side[i]] = fmin(within[side[i]], s);
		}
	if (max_cross != NULL)
		*max_cross = cross;
	*clear = count[0] >= NODE_ROUND_CLUSTER_MIN && count[1] >= NODE_ROUND_CLUSTER_MIN &&
		 cross < NODE_ROUND_CLUSTER_CROSS_MAX && within[0] > cross && within[1] > cross;
	rc = FL_OK;
cleanup:
	fl_free(sim);
	fl_free(link);
	fl_free(norm);
	fl_free(root);
	return rc;
}
